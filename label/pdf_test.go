package label

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
)

// TestPDFPresetsScan prints a full sheet of every preset, each label with
// its own link, renders the pages at 300 dpi and checks that zbarimg reads
// every label's link and nothing else, and that the text is there.
func TestPDFPresetsScan(t *testing.T) {
	for _, layout := range SheetLayouts() {
		t.Run(layout.Name, func(t *testing.T) {
			tmpl := rice(t)
			if layout.Name == "a4-5x13" || layout.Name == "a4-4x10" {
				tmpl = small(t)
				tmpl.Lot = "ST25/08&A+1"
			}
			var uris []string
			per := layout.Columns * layout.Rows
			var b bytes.Buffer
			calls := 0
			job := Job{Count: per, Item: serialItems(t, tmpl, &uris), Progress: func(done, total int) {
				calls++
				if done != calls || total != per {
					t.Errorf("progress(%d, %d) at call %d", done, total, calls)
				}
			}}
			if err := WritePDF(&b, layout, job); err != nil {
				t.Fatal(err)
			}
			if calls != per {
				t.Errorf("progress called %d times, want %d", calls, per)
			}
			pages := pdfPages(t, b.Bytes())
			if len(pages) != 1 {
				t.Fatalf("%d pages, want 1", len(pages))
			}
			checkPage(t, pages[0], layout, uris)
			text := pdfText(t, b.Bytes(), 1)
			for _, want := range []string{tmpl.Product, tmpl.Cooperative, "Lô: " + tmpl.Lot, "Thu hoạch: 15/08/2025", "Quét mã để truy xuất", "Số sê-ri: S0"} {
				if n := strings.Count(text, want); n != per {
					t.Errorf("%q appears %d times in the text, want %d", want, n, per)
				}
			}
			if tmpl.OCOPStars > 0 {
				for _, want := range []string{"OCOP", "VietGAP · GlobalG.A.P."} {
					if n := strings.Count(text, want); n != per {
						t.Errorf("%q appears %d times, want %d", want, n, per)
					}
				}
			}
		})
	}
}

func TestPDFText(t *testing.T) {
	c := rice(t)
	c.Product = "Gạo ST25 Sóc Trăng"
	c.Cooperative = "Hợp tác xã Nông nghiệp Mỹ Xuyên"
	c.Certifications = []string{"VietGAP", "GlobalG.A.P.", "Hữu cơ"}
	var b bytes.Buffer
	layout, err := SheetLayoutByName("a4-2x7")
	if err != nil {
		t.Fatal(err)
	}
	if err := WritePDF(&b, layout, Job{Count: 1, Item: Repeat(c)}); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, b.Bytes(), 1)
	for _, want := range []string{"Gạo ST25 Sóc Trăng", "ST25 fragrant rice", "Hợp tác xã Nông nghiệp Mỹ Xuyên", "Lô: ST25/08&A+1",
		"Thu hoạch: 15/08/2025", "OCOP", "VietGAP · GlobalG.A.P. · Hữu cơ", "Quét mã để truy xuất", "Scan to trace"} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q lacks %q", text, want)
		}
	}
	pages := pdfPages(t, b.Bytes())
	if got := zbar(t, pages[0]); len(got) != 1 || got[0] != c.URI {
		t.Errorf("zbarimg read %q, want %q", got, c.URI)
	}
}

// TestPDFDecomposedInput feeds Vietnamese typed as letters plus combining
// marks; the PDF must hold the composed letters.
func TestPDFDecomposedInput(t *testing.T) {
	c := small(t)
	c.Product = "Ga\u0323o ST25 So\u0301c Tra\u0306ng"            // Gạo ST25 Sóc Trăng
	c.Cooperative = "Ho\u031B\u0323p ta\u0301c xa\u0303 Mi\u0303" // Hợp tác xã Mĩ
	var b bytes.Buffer
	layout, _ := SheetLayoutByName("a4-3x7")
	if err := WritePDF(&b, layout, Job{Count: 1, Item: Repeat(c)}); err != nil {
		t.Fatal(err)
	}
	text := pdfText(t, b.Bytes(), 1)
	for _, want := range []string{"Gạo ST25 Sóc Trăng", "Hợp tác xã Mĩ"} {
		if !strings.Contains(text, want) {
			t.Errorf("text %q lacks %q", text, want)
		}
	}
}

// TestPDFPagesAndSkip runs past one sheet, starting part-way into a
// part-used first sheet, and checks each page's codes.
func TestPDFPagesAndSkip(t *testing.T) {
	layout, _ := SheetLayoutByName("a4-3x8")
	var uris []string
	var b bytes.Buffer
	if err := WritePDF(&b, layout, Job{Count: 30, Skip: 5, Item: serialItems(t, rice(t), &uris)}); err != nil {
		t.Fatal(err)
	}
	pages := pdfPages(t, b.Bytes())
	if len(pages) != 2 {
		t.Fatalf("%d pages, want 2", len(pages))
	}
	// 24 positions a sheet, the first 5 skipped.
	checkPage(t, pages[0], layout, append(make([]string, 5), uris[:19]...))
	checkPage(t, pages[1], layout, uris[19:])
}

// checkPage checks that each label position of a rendered page scans as
// exactly the link it should hold; an empty want is an empty position.
func checkPage(t *testing.T, page string, layout SheetLayout, want []string) {
	t.Helper()
	got := pageLabels(t, page, layout)
	for pos, g := range got {
		w := ""
		if pos < len(want) {
			w = want[pos]
		}
		switch {
		case w == "" && len(g) != 0:
			t.Errorf("position %d should be empty, read %q", pos, g)
		case w != "" && (len(g) != 1 || g[0] != w):
			t.Errorf("position %d: zbarimg read %q, want %q", pos, g, w)
		}
	}
}

func TestPDFErrors(t *testing.T) {
	signed := rice(t)
	signed.URI = testBase + "/01/08931234567897/10/ST25%2F08%26A%2B1/21/ABCDEFGHJKLM?7007=250815&422=704&s=" + strings.Repeat("A", 86)
	preset := func(name string) SheetLayout {
		l, err := SheetLayoutByName(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	custom := SheetLayout{Name: "tem-nho", Columns: 4, Rows: 12, LabelWidth: 48, LabelHeight: 24, MarginLeft: 9, MarginTop: 4.5, PitchX: 48, PitchY: 24, Padding: 1}
	tests := []struct {
		name   string
		layout SheetLayout
		job    Job
		want   []string
	}{
		{"count 0", preset("a4-3x8"), Job{Count: 0, Item: Repeat(rice(t))}, []string{"count", "1 to 100000"}},
		{"count too big", preset("a4-3x8"), Job{Count: MaxCount + 1, Item: Repeat(rice(t))}, []string{"100001", "1 to 100000"}},
		{"no items", preset("a4-3x8"), Job{Count: 1}, []string{"Job.Item"}},
		{"bad level", preset("a4-3x8"), Job{Count: 1, Item: Repeat(rice(t)), Level: "Z"}, []string{"use L, M, Q or H"}},
		{"skip a whole sheet", preset("a4-3x8"), Job{Count: 1, Skip: 24, Item: Repeat(rice(t))}, []string{"skip 0 to 23"}},
		{"signed link on a small label", preset("a4-4x10"), Job{Count: 1, Item: Repeat(signed)},
			[]string{"a4-4x10", "version", "0.40 mm", "larger label such as a4-3x8", "error correction L", "leave out the signature"}},
		{"signed link on the smallest label", preset("a4-5x13"), Job{Count: 1, Item: Repeat(signed)}, []string{"a4-5x13", "below the 0.40 mm"}},
		{"too much text", preset("a4-5x13"), Job{Count: 1, Item: Repeat(func() Content {
			c := small(t)
			c.Product = "Gạo thơm ST25 đặc sản Sóc Trăng loại một túi năm ký"
			c.Certifications = []string{"VietGAP", "GlobalG.A.P.", "Hữu cơ", "HACCP", "Rainforest Alliance", "ISO 22000"}
			c.OCOPStars = 5
			return c
		}())}, []string{"text does not fit", "larger label"}},
		{"label too small for any QR", SheetLayout{Name: "tiny", Columns: 1, Rows: 1, LabelWidth: 25, LabelHeight: 12}, Job{Count: 1, Item: Repeat(small(t))},
			[]string{"tiny", "at least 16 mm", "larger label"}},
		{"grid off the page", SheetLayout{Name: "wide", Columns: 4, Rows: 1, LabelWidth: 60, LabelHeight: 30}, Job{Count: 1, Item: Repeat(small(t))},
			[]string{"wide", "4 columns end at 240.0 mm", "210 mm page width"}},
		{"overlapping pitch", SheetLayout{Columns: 2, Rows: 2, LabelWidth: 60, LabelHeight: 30, PitchX: 50}, Job{Count: 1, Item: Repeat(small(t))},
			[]string{"custom 60x30 mm", "overlap"}},
		{"item error", custom, Job{Count: 3, Item: func(i int) (Content, error) {
			if i == 2 {
				return Content{}, errors.New("database gone")
			}
			return small(t), nil
		}}, []string{"label 3", "database gone"}},
		{"bad content", custom, Job{Count: 1, Item: Repeat(Content{URI: testBase + "/b/x", Product: "Gạo", Cooperative: "HTX", Lot: "L1", OCOPStars: 2})},
			[]string{"label 1", "ocop_stars", "3, 4 or 5"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			err := WritePDF(&b, tc.layout, tc.job)
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if tc.name != "item error" && !errors.Is(err, trace.ErrInvalid) {
				t.Errorf("error %v does not wrap trace.ErrInvalid", err)
			}
			if b.Len() != 0 {
				t.Errorf("%d bytes written despite the error", b.Len())
			}
		})
	}
	if _, err := SheetLayoutByName("a4-9x9"); err == nil || !strings.Contains(err.Error(), "a4-3x8, a4-4x10") {
		t.Errorf("unknown preset: %v", err)
	}
	var b bytes.Buffer
	if err := WritePDF(&b, custom, Job{Count: 2, Item: Repeat(small(t))}); err != nil {
		t.Errorf("custom layout: %v", err)
	}
}
