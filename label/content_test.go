package label

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/trace"
)

func TestContentValidate(t *testing.T) {
	ok := small(t)
	tests := []struct {
		name   string
		edit   func(*Content)
		want   string // "" for valid
		fields string
	}{
		{"valid", func(*Content) {}, "", ""},
		{"full", func(c *Content) { *c = rice(t) }, "", ""},
		{"no URI", func(c *Content) { c.URI = "" }, "required", "uri"},
		{"relative URI", func(c *Content) { c.URI = "/b/st25k7" }, "https://", "uri"},
		{"URI with Vietnamese", func(c *Content) { c.URI = testBase + "/b/lô" }, "not printable ASCII", "uri"},
		{"URI with space", func(c *Content) { c.URI = testBase + "/b/a b" }, "not printable ASCII", "uri"},
		{"no product", func(c *Content) { c.Product = "  " }, "required", "product"},
		{"no cooperative", func(c *Content) { c.Cooperative = "" }, "required", "cooperative"},
		{"no lot", func(c *Content) { c.Lot = "" }, "required", "lot"},
		{"emoji", func(c *Content) { c.Product = "Xoài 🥭" }, "cannot be printed", "product"},
		{"Chinese", func(c *Content) { c.Cooperative = "合作社" }, "cannot be printed", "cooperative"},
		{"control character", func(c *Content) { c.Product = "Gạo\x07" }, "control character", "product"},
		{"long name", func(c *Content) { c.Product = strings.Repeat("a", MaxTextLen+1) }, "at most", "product"},
		{"OCOP 2", func(c *Content) { c.OCOPStars = 2 }, "3, 4 or 5", "ocop_stars"},
		{"OCOP 6", func(c *Content) { c.OCOPStars = 6 }, "3, 4 or 5", "ocop_stars"},
		{"too many marks", func(c *Content) { c.Certifications = strings.Split("a b c d e f g", " ") }, "at most 6", "certifications"},
		{"bad mark", func(c *Content) { c.Certifications = []string{"VietGAP", "✓"} }, "cannot be printed", "certifications[1]"},
		{"end before start", func(c *Content) { c.HarvestEnd = c.Harvest.AddDate(0, 0, -1) }, "before", "harvest_end"},
		{"end without start", func(c *Content) { c.Harvest = time.Time{}; c.HarvestEnd = time.Now() }, "without", "harvest_end"},
		{"bad serial", func(c *Content) { c.Serial = "SỐ1" }, "Vietnamese", "serial"},
		{"lot differs from the link", func(c *Content) { *c = rice(t); c.Lot = "ST25/08&A+2" }, "differs from the lot", "lot"},
		{"serial differs from the link", func(c *Content) {
			*c = rice(t)
			d := testLink(t, c.Lot)
			d.Serial = "K7"
			c.URI, _ = d.URI(testBase)
			c.Serial = "K8"
		}, "differs from the serial", "serial"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := ok
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *trace.FieldError
			if err == nil || !errors.As(err, &fe) || !strings.Contains(err.Error(), tc.want) || fe.Field != tc.fields {
				t.Fatalf("error %v; want field %q mentioning %q", err, tc.fields, tc.want)
			}
		})
	}
}

func TestComposeVietnamese(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Ga\u0323o", "Gạo"},
		{"Tra\u0306ng", "Trăng"},
		{"Ho\u031B\u0323p", "Hợp"},             // horn then dot (NFD order)
		{"Ho\u0323\u031Bp", "Hợp"},             // dot then horn
		{"truy xua\u0302\u0301t", "truy xuất"}, // circumflex then acute
		{"NGU\u031B\u0300I", "NGỪI"},
		{"E\u0302\u0323", "Ệ"},
		{"a\u0323\u0302", "ậ"},
		{"y\u0303", "ỹ"},
		{"đã có sẵn", "đã có sẵn"},
		{"x\u0301", "x\u0301"}, // no precomposed letter: left as is
	}
	for _, tc := range tests {
		if got := composeVietnamese(tc.in); got != tc.want {
			t.Errorf("composeVietnamese(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	// Every Vietnamese letter the tables produce is in the font.
	for _, r := range viBases + viGrave + viAcute + viTilde + viHook + viDot + "đĐ" {
		if err := checkGlyphs("t", string(r), false); err != nil {
			t.Errorf("%q: %v", r, err)
		}
	}
}

func TestHarvestText(t *testing.T) {
	d := func(y, m, day int) time.Time { return time.Date(y, time.Month(m), day, 0, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		c    Content
		want string
	}{
		{Content{}, ""},
		{Content{Harvest: d(2025, 8, 5)}, "05/08/2025"},
		{Content{Harvest: d(2025, 8, 5), HarvestEnd: d(2025, 8, 5)}, "05/08/2025"},
		{Content{Harvest: d(2025, 8, 5), HarvestEnd: d(2025, 8, 20)}, "05/08/2025–20/08/2025"},
	} {
		if got := tc.c.harvestText(); got != tc.want {
			t.Errorf("harvestText = %q, want %q", got, tc.want)
		}
	}
}

func TestLayoutText(t *testing.T) {
	c := rice(t)
	n, err := c.normalized()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("roomy column gets the largest size", func(t *testing.T) {
		lines, err := layoutText(&n, 0, 0, 80, 60, 5, 9, false)
		if err != nil {
			t.Fatal(err)
		}
		if lines[0].text != "Gạo ST25 Sóc Trăng" || !lines[0].bold || lines[0].size < 9 {
			t.Errorf("first line %+v", lines[0])
		}
		last := lines[len(lines)-1]
		if last.text != "Scan to trace" || last.y > 60 {
			t.Errorf("last line %+v: the scan hint belongs at the foot", last)
		}
	})
	t.Run("lines stay inside the column", func(t *testing.T) {
		lines, err := layoutText(&n, 3, 2, 22, 25, 5, 9, true)
		if err != nil {
			t.Fatal(err)
		}
		prev := 0.0
		for _, l := range lines {
			if right := l.textX() + widthMM(l.text, l.bold, l.size); right > 3+22+1e-6 {
				t.Errorf("%q ends at %.2f mm, past the column", l.text, right)
			}
			if l.y <= prev || l.y > 2+25 {
				t.Errorf("%q baseline at %.2f mm", l.text, l.y)
			}
			prev = l.y
		}
	})
	t.Run("codes break anywhere, names are cut short only as a last resort", func(t *testing.T) {
		m := n
		m.Lot = "ABCDEFGHIJKLMNOPQRST"
		m.Product = "Gạo thơm đặc sản Sóc Trăng túi năm ký xuất khẩu loại một"
		m.Certifications, m.OCOPStars = nil, 0
		lines, err := layoutText(&m, 0, 0, 14, 30, 5, 9, true)
		if err != nil {
			t.Fatal(err)
		}
		var text []string
		for _, l := range lines {
			text = append(text, l.text)
		}
		all := strings.Join(text, "|")
		if !strings.Contains(strings.ReplaceAll(all, "|", ""), "ABCDEFGHIJKLMNOPQRST") {
			t.Errorf("lot lost: %s", all)
		}
		if !strings.Contains(all, "…") {
			t.Errorf("long product name not cut short: %s", all)
		}
		if _, err := layoutText(&m, 0, 0, 14, 30, 5, 9, false); err == nil {
			t.Error("strict layout cut text short")
		}
	})
	t.Run("least important lines left out", func(t *testing.T) {
		// A 40×30 mm roll at 203 dpi leaves about 16.5×27 mm for text.
		c := Content{URI: "https://truyxuat.vn/01/08936040001012/10/ST25-2508-A", Product: "Gạo ST25 Hòa Tú", ProductLang: "ST25 fragrant rice",
			Cooperative: "Hợp tác xã Nông nghiệp Hòa Tú", Lot: "ST25-2508-A", Harvest: time.Date(2025, 8, 12, 0, 0, 0, 0, time.UTC),
			OCOPStars: 4, Certifications: []string{"VietGAP"}}
		lines, err := layoutText(&c, 0, 0, 16.5, 27, 6, 10, true)
		if err != nil {
			t.Fatal(err)
		}
		var text []string
		for _, l := range lines {
			text = append(text, l.text)
		}
		all := strings.Join(text, " ")
		for _, want := range []string{"Gạo ST25", "Hòa Tú", "ST25-2508-A", "VietGAP", "OCOP"} {
			if !strings.Contains(all, want) {
				t.Errorf("%q left out: %s", want, all)
			}
		}
		if strings.Contains(all, "Scan to trace") || strings.Contains(all, "ST25 fragrant") {
			t.Errorf("the least important lines kept: %s", all)
		}
	})
	t.Run("too small", func(t *testing.T) {
		_, err := layoutText(&n, 0, 0, 10, 8, 5, 9, true)
		var fe *trace.FieldError
		if err == nil || !strings.Contains(err.Error(), "does not fit") || !errors.Is(err, ErrTextDoesNotFit) || !errors.As(err, &fe) || fe.Field != "layout" {
			t.Errorf("error = %v", err)
		}
	})
}

func TestLayouts(t *testing.T) {
	for _, l := range SheetLayouts() {
		if err := l.Validate(); err != nil {
			t.Errorf("preset %s: %v", l.Name, err)
		}
	}
	for _, l := range RollLayouts() {
		for _, dpi := range []int{203, 300, 600} {
			if err := l.Validate(dpi); err != nil {
				t.Errorf("preset %s at %d dpi: %v", l.Name, dpi, err)
			}
		}
	}
	// A custom layout from a configuration file.
	var custom SheetLayout
	cfg := `{"name":"tanex-a4-27","columns":3,"rows":9,"label_width_mm":63.5,"label_height_mm":29.6,
		"margin_left_mm":7.25,"margin_top_mm":15.3,"pitch_x_mm":66,"pitch_y_mm":29.6,"padding_mm":1.5}`
	if err := json.Unmarshal([]byte(cfg), &custom); err != nil {
		t.Fatal(err)
	}
	if err := custom.Validate(); err != nil {
		t.Errorf("custom layout: %v", err)
	}
	// Presets returned are copies.
	ls := SheetLayouts()
	ls[0].Columns = 99
	if l, _ := SheetLayoutByName(ls[0].Name); l.Columns == 99 {
		t.Error("SheetLayouts exposes the presets")
	}
}
