package label

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/trace"
)

// Labels with Simplified Chinese as the second language, for lots sold to
// China.

const (
	scanZH  = "扫码溯源"
	riceZH  = "越南ST25香米"
	shortZH = "香米"
)

// riceChinese is the full rice label with Chinese as its second language.
func riceChinese(t testing.TB) Content {
	c := rice(t)
	c.Lang, c.ProductLang = Chinese, riceZH
	return c
}

// smallChinese is a label for the smallest rolls: a short link, a short
// cooperative name and a Chinese product name.
func smallChinese(t testing.TB) Content {
	c := small(t)
	c.Lang, c.ProductLang = Chinese, riceZH
	return c
}

func TestParseLanguage(t *testing.T) {
	for in, want := range map[string]Language{"": English, "en": English, "EN": English, " zh ": Chinese, "zh": Chinese} {
		got, err := ParseLanguage(in)
		if err != nil || got != want {
			t.Errorf("ParseLanguage(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"fr", "zh-TW", "cn", "中文", strings.Repeat("x", 1000)} {
		_, err := ParseLanguage(in)
		var fe *trace.FieldError
		if err == nil || !errors.As(err, &fe) || fe.Field != "lang" || !errors.Is(err, trace.ErrInvalid) ||
			!strings.Contains(err.Error(), "use en (English) or zh (Simplified Chinese)") {
			t.Errorf("ParseLanguage(%.20q) = %v; want a lang field error saying what to use", in, err)
			continue
		}
		if len(err.Error()) > 200 {
			t.Errorf("ParseLanguage of %d bytes: the error repeats all of it (%d bytes)", len(in), len(err.Error()))
		}
	}
	if got := Languages(); len(got) != 2 || got[0] != English || got[1] != Chinese {
		t.Errorf("Languages() = %q", got)
	}
}

func TestContentLanguage(t *testing.T) {
	tests := []struct {
		name        string
		edit        func(*Content)
		want, field string // want "" for valid
	}{
		{"Chinese name", func(c *Content) { c.Lang, c.ProductLang = Chinese, "越南ST25香米（五公斤）" }, "", ""},
		{"Chinese label without a Chinese name", func(c *Content) { c.Lang = Chinese }, "", ""},
		{"English by default", func(c *Content) { c.ProductLang = "ST25 rice" }, "", ""},
		{"Chinese in the English name", func(c *Content) { c.ProductLang = "香米" }, "cannot be printed", "product_en"},
		{"Chinese in the Vietnamese name", func(c *Content) { c.Lang, c.Product = Chinese, "香米" }, "cannot be printed", "product"},
		{"Chinese cooperative", func(c *Content) { c.Lang, c.Cooperative = Chinese, "合作社" }, "cannot be printed", "cooperative"},
		{"Traditional character outside GB 2312", func(c *Content) { c.Lang, c.ProductLang = Chinese, "越南香米（五斤裝）" }, "U+88DD", "product_zh"},
		{"emoji in the Chinese name", func(c *Content) { c.Lang, c.ProductLang = Chinese, "香米🍚" }, "GB 2312", "product_zh"},
		{"long Chinese name", func(c *Content) { c.Lang, c.ProductLang = Chinese, strings.Repeat("米", MaxTextLen+1) }, "at most", "product_zh"},
		{"unknown language", func(c *Content) { c.Lang = "fr" }, "unknown second language", "lang"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := small(t)
			tc.edit(&c)
			err := c.Validate()
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			var fe *trace.FieldError
			if err == nil || !errors.As(err, &fe) || fe.Field != tc.field || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("error %v; want field %q mentioning %q", err, tc.field, tc.want)
			}
		})
	}
}

func TestPieces(t *testing.T) {
	tests := []struct {
		in   string
		want string // pieces joined by |, a leading _ for a space before
	}{
		{"Gạo ST25 Sóc Trăng", "Gạo|_ST25|_Sóc|_Trăng"},
		{"扫码溯源", "扫|码|溯|源"},
		{"越南ST25香米", "越|南|ST25|香|米"},
		{"ST25 香米", "ST25|_香|米"},
		// Closing punctuation stays with the character before it,
		// opening punctuation with the one after.
		{"香米（五公斤）。好", "香|米|（五|公|斤）。|好"},
		{"《越南》香米，五公斤", "《越|南》|香|米，|五|公|斤"},
	}
	for _, tc := range tests {
		var parts []string
		for _, p := range pieces(tc.in) {
			s := p.text
			if p.space {
				s = "_" + s
			}
			parts = append(parts, s)
		}
		if got := strings.Join(parts, "|"); got != tc.want {
			t.Errorf("pieces(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestWrapChinese(t *testing.T) {
	const name = "越南湄公河三角洲有机香米"
	size := 8.0
	w := widthMM("越南湄公河", false, size) + 0.01 // five characters a line
	t.Run("breaks between characters", func(t *testing.T) {
		lines, ok := wrapBlock(block{text: name, rel: 1, maxLines: 3}, size, w, false)
		if !ok {
			t.Fatal("did not fit in three lines")
		}
		if got := strings.Join(lines, "|"); got != "越南湄公河|三角洲有机|香米" {
			t.Errorf("lines %s", got)
		}
	})
	t.Run("Vietnamese still breaks at spaces", func(t *testing.T) {
		w := widthMM("Quét mã để truy", true, size) + 0.01
		lines, ok := wrapBlock(block{text: textScanVI, bold: true, rel: 1, maxLines: 2}, size, w, false)
		if !ok || strings.Join(lines, "|") != "Quét mã để truy|xuất" {
			t.Errorf("lines %q, %v", lines, ok)
		}
		// A word wider than the line is not broken inside it.
		if lines, ok := wrapBlock(block{text: "Nghiệp", rel: 1, maxLines: 3}, size, widthMM("Ngh", false, size), false); ok {
			t.Errorf("a Vietnamese word broken between letters: %q", lines)
		}
	})
	t.Run("mixed text breaks at both", func(t *testing.T) {
		w := widthMM("ST25 越南", false, size) + 0.01
		lines, ok := wrapBlock(block{text: "ST25 越南香米", rel: 1, maxLines: 2}, size, w, false)
		if !ok || strings.Join(lines, "|") != "ST25 越南|香米" {
			t.Errorf("lines %q, %v", lines, ok)
		}
	})
	t.Run("cut short between characters", func(t *testing.T) {
		lines, ok := wrapBlock(block{text: name, rel: 1, maxLines: 1, trunc: true}, size, w, true)
		if !ok || len(lines) != 1 || !strings.HasSuffix(lines[0], ellipsis) || !strings.HasPrefix(name, strings.TrimSuffix(lines[0], ellipsis)) ||
			widthMM(lines[0], false, size) > w+mmEpsilon {
			t.Errorf("lines %q, %v", lines, ok)
		}
	})
}

// rollFit lays out c as a roll label would be printed.
func rollFit(t *testing.T, c Content, roll string, dpi int) (fit, *rollPlan, error) {
	t.Helper()
	layout, err := RollLayoutByName(roll)
	if err != nil {
		t.Fatal(err)
	}
	p, err := newRollPlan(layout, dpi)
	if err != nil {
		t.Fatal(err)
	}
	n, err := c.normalized()
	if err != nil {
		t.Fatal(err)
	}
	qr, err := EncodeQR(n.URI, ECMedium)
	if err != nil {
		t.Fatal(err)
	}
	modules, err := p.modules(qr)
	if err != nil {
		return fit{}, p, err
	}
	l := p.layout
	f, err := (&textFitter{}).fitLabel(&n, qr.size, l.Width, l.Height, l.Padding, float64(mmToDots(l.Padding, dpi))/p.dotsPerMM(), modules, l.MinFontSize, l.MaxFontSize)
	return f, p, err
}

func joinLines(lines []textLine) string {
	var s []string
	for _, l := range lines {
		s = append(s, l.text)
	}
	return strings.Join(s, " ")
}

// optionalShown lists which optional lines a layout kept, in the order
// they are left out: the Chinese scan hint, the Chinese name, the
// Vietnamese scan hint, the cooperative, the harvest date.
func optionalShown(c Content, lines []textLine) []bool {
	all := joinLines(lines)
	return []bool{strings.Contains(all, scanZH), strings.Contains(all, c.ProductLang),
		strings.Contains(all, textScanVI), strings.Contains(all, c.Cooperative), strings.Contains(all, textHarvest)}
}

// checkDropOrder fails unless the lines left out are the least important
// ones: once a line is shown, every more important one is.
func checkDropOrder(t *testing.T, shown []bool) {
	t.Helper()
	for i := range shown {
		if shown[i] && !all(shown[i:]) {
			t.Errorf("optional lines shown %v: a more important line was left out before a less important one", shown)
			return
		}
	}
}

func all(bs []bool) bool {
	for _, b := range bs {
		if !b {
			return false
		}
	}
	return true
}

// TestChineseFitsRolls lays out Chinese labels on the small rolls: the
// lines stay inside the text column and the label, the required text is
// there, and optional lines go in order.
func TestChineseFitsRolls(t *testing.T) {
	for _, tc := range []struct {
		roll    string
		dpi     int
		content func(testing.TB) Content
		want    []string // lines that must be there
	}{
		// The common case: a short link and names on the 40×30 roll keep
		// every line, Chinese included, at 203 dpi.
		{"roll-40x30", 203, smallChinese, []string{"Gạo ST25", riceZH, "HTX Mỹ Xuyên", "ST25-0815", "15/08/2025", "Quét mã để", scanZH}},
		{"roll-40x30", 300, riceChinese, []string{"Gạo ST25", riceZH, "ST25/08&A+1", "OCOP", "VietGAP", scanZH}},
		{"roll-35x22", 203, smallChinese, []string{"Gạo ST25", "ST25-0815"}},
		{"roll-35x22", 300, smallChinese, []string{"Gạo ST25", riceZH, "ST25-0815"}},
		{"roll-50x30", 203, riceChinese, []string{"Gạo ST25 Sóc Trăng", riceZH, "Quét mã để truy xuất", scanZH}},
	} {
		t.Run(fmt.Sprintf("%s/%d", tc.roll, tc.dpi), func(t *testing.T) {
			c := tc.content(t)
			f, p, err := rollFit(t, c, tc.roll, tc.dpi)
			if err != nil {
				t.Fatal(err)
			}
			l := p.layout
			textX := f.qrX + f.module*float64(mustQRSize(t, c.URI))
			for _, ln := range f.lines {
				if right := ln.textX() + widthMM(ln.text, ln.bold, ln.size); ln.x < textX-mmEpsilon || right > l.Width-l.Padding+mmEpsilon {
					t.Errorf("%q spans %.2f–%.2f mm, outside the column %.2f–%.2f", ln.text, ln.x, right, textX, l.Width-l.Padding)
				}
				if ln.y > l.Height-l.Padding+mmEpsilon || ln.y-ascentEm*ln.size*mmPerPt < l.Padding-mmEpsilon {
					t.Errorf("%q has its baseline at %.2f mm on a %g mm label", ln.text, ln.y, l.Height)
				}
				if ln.size < l.MinFontSize*0.9-mmEpsilon {
					t.Errorf("%q set at %.2f pt, below the minimum %g pt", ln.text, ln.size, l.MinFontSize)
				}
			}
			got := joinLines(f.lines)
			for _, w := range tc.want {
				if !strings.Contains(got, w) {
					t.Errorf("%q left out: %s", w, got)
				}
			}
			checkDropOrder(t, optionalShown(c, f.lines))
		})
	}
}

func mustQRSize(t *testing.T, uri string) int {
	t.Helper()
	qr, err := EncodeQR(uri, ECMedium)
	if err != nil {
		t.Fatal(err)
	}
	return qr.size
}

// TestChineseDropOrder shrinks the room for a Chinese label step by step:
// "扫码溯源" goes first, then the Chinese name, then the lines English
// labels leave out after theirs.
func TestChineseDropOrder(t *testing.T) {
	c := Content{URI: testBase + "/b/st25k7", Product: "Gạo ST25", Lang: Chinese, ProductLang: shortZH, Cooperative: "HTX Hòa Tú",
		Lot: "ST25-0815", Harvest: time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC)}
	n, err := c.normalized()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for h := 40.0; h > 5; h -= 0.25 {
		lines, err := layoutText(&n, 0, 0, 16, h, 6, 10, true)
		if err != nil {
			break
		}
		shown := optionalShown(n, lines)
		checkDropOrder(t, shown)
		seen[fmt.Sprint(shown)] = true
	}
	for _, want := range [][]bool{
		{true, true, true, true, true},
		{false, true, true, true, true},   // 扫码溯源 left out first
		{false, false, true, true, true},  // then the Chinese name
		{false, false, false, true, true}, // then "Quét mã để truy xuất"
	} {
		if !seen[fmt.Sprint(want)] {
			t.Errorf("no room gave the optional lines %v; got %v", want, seen)
		}
	}
}

// inkIn counts the black dots of a thermal label in a box, in mm.
func inkIn(l thermalLabel, dpmm, x0, y0, x1, y1 float64) (ink, area int) {
	for y := int(y0 * dpmm); y < int(y1*dpmm) && y < l.h; y++ {
		for x := int(x0 * dpmm); x < int(x1*dpmm); x++ {
			area++
			if (l.data[y*l.rowBytes+x/8]&(0x80>>(x%8)) != 0) == l.blackBit {
				ink++
			}
		}
	}
	return ink, area
}

// TestChineseThermal prints Chinese labels as ZPL and TSPL on the small
// rolls, reads the bitmaps back, decodes the QR code with zbarimg from a
// PNG of each, and checks that the Chinese lines are drawn where the
// layout put them.
func TestChineseThermal(t *testing.T) {
	for _, tc := range []struct {
		roll    string
		dpi     int
		content func(testing.TB) Content
		zhLines int // Chinese lines that fit
	}{
		{"roll-40x30", 203, smallChinese, 2},
		{"roll-40x30", 300, riceChinese, 2},
		{"roll-35x22", 300, smallChinese, 1}, // the name; "扫码溯源" is left out
		{"roll-50x30", 203, riceChinese, 2},
	} {
		for _, format := range []string{"zpl", "tspl"} {
			t.Run(fmt.Sprintf("%s/%d/%s", tc.roll, tc.dpi, format), func(t *testing.T) {
				c := tc.content(t)
				layout, _ := RollLayoutByName(tc.roll)
				var out bytes.Buffer
				write := WriteZPL
				if format == "tspl" {
					write = WriteTSPL
				}
				if err := write(&out, layout, tc.dpi, Job{Count: 1, Item: Repeat(c)}); err != nil {
					t.Fatal(err)
				}
				var labels []thermalLabel
				if format == "zpl" {
					labels = parseZPL(t, out.Bytes())
				} else {
					labels = parseTSPL(t, out.Bytes(), layout)
				}
				if len(labels) != 1 {
					t.Fatalf("%d labels, want 1", len(labels))
				}
				lb := labels[0]
				w := dots(layout.Width, tc.dpi)
				p := filepath.Join(t.TempDir(), "label.png")
				writePNGFile(t, p, bitsImage(lb.data, lb.rowBytes, w, lb.h, lb.blackBit, 2, 8))
				if got := zbar(t, p); len(got) != 1 || got[0] != c.URI {
					t.Errorf("zbarimg read %q, want %q", got, c.URI)
				}
				f, plan, err := rollFit(t, c, tc.roll, tc.dpi)
				if err != nil {
					t.Fatal(err)
				}
				dpmm := plan.dotsPerMM()
				found := 0
				for _, ln := range f.lines {
					if ln.text != scanZH && ln.text != riceZH {
						continue
					}
					found++
					em := ln.size * mmPerPt
					x0, x1 := ln.textX(), ln.textX()+widthMM(ln.text, false, ln.size)
					// The Chinese characters of the line, at its end.
					cjkStart := x1 - widthMM(strings.TrimPrefix(ln.text, "越南ST25"), false, ln.size)
					if ln.text == scanZH {
						cjkStart = x0
					}
					ink, area := inkIn(lb, dpmm, cjkStart, ln.y-0.85*em, x1, ln.y+0.1*em)
					if ink*100 < area*15 {
						t.Errorf("%q: %d of %d dots black where its Chinese characters belong: not drawn", ln.text, ink, area)
					}
				}
				if found != tc.zhLines {
					t.Errorf("%d Chinese lines laid out, want %d: %s", found, tc.zhLines, joinLines(f.lines))
				}
			})
		}
	}
}

// TestChinesePDF prints a sheet of Chinese labels: pdftotext finds the
// Chinese name and "扫码溯源" on every label, pdffonts finds the Chinese
// font embedded, zbarimg reads every code from the rendered page; a sheet
// without Chinese does not carry the font.
func TestChinesePDF(t *testing.T) {
	for _, name := range []string{"a4-3x8", "a4-4x10"} {
		t.Run(name, func(t *testing.T) {
			layout, _ := SheetLayoutByName(name)
			tmpl := riceChinese(t)
			if name == "a4-4x10" {
				tmpl = smallChinese(t)
				tmpl.Lot = "ST25/08&A+1"
			}
			per := layout.Columns * layout.Rows
			var uris []string
			var b bytes.Buffer
			if err := WritePDF(&b, layout, Job{Count: per, Item: serialItems(t, tmpl, &uris)}); err != nil {
				t.Fatal(err)
			}
			text := pdfText(t, b.Bytes(), 1)
			for _, want := range []string{riceZH, scanZH, "Quét mã để truy xuất", tmpl.Product} {
				if n := strings.Count(text, want); n != per {
					t.Errorf("%q appears %d times in the text, want %d", want, n, per)
				}
			}
			if strings.Contains(text, "Scan to trace") {
				t.Error("a Chinese label says Scan to trace")
			}
			in := filepath.Join(t.TempDir(), "zh.pdf")
			if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			if fonts := string(run(t, "pdffonts", in)); !strings.Contains(strings.ToLower(fonts), "droidsansfallback") {
				t.Errorf("pdffonts lists no Chinese font:\n%s", fonts)
			}
			pages := pdfPages(t, b.Bytes())
			checkPage(t, pages[0], layout, uris)
		})
	}
	t.Run("no Chinese, no Chinese font", func(t *testing.T) {
		layout, _ := SheetLayoutByName("a4-3x8")
		var b bytes.Buffer
		if err := WritePDF(&b, layout, Job{Count: 3, Item: Repeat(rice(t))}); err != nil {
			t.Fatal(err)
		}
		in := filepath.Join(t.TempDir(), "en.pdf")
		if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
		if fonts := string(run(t, "pdffonts", in)); strings.Contains(strings.ToLower(fonts), "droidsansfallback") || !strings.Contains(strings.ToLower(fonts), "notosans") {
			t.Errorf("pdffonts of an English label:\n%s", fonts)
		}
	})
	t.Run("no Chinese name", func(t *testing.T) {
		c := rice(t)
		c.Lang, c.ProductLang = Chinese, ""
		layout, _ := SheetLayoutByName("a4-2x7")
		var b bytes.Buffer
		if err := WritePDF(&b, layout, Job{Count: 1, Item: Repeat(c)}); err != nil {
			t.Fatal(err)
		}
		text := pdfText(t, b.Bytes(), 1)
		if !strings.Contains(text, scanZH) || strings.Contains(text, "ST25 fragrant") || strings.Contains(text, "Scan to trace") {
			t.Errorf("text %q", text)
		}
	})
}
