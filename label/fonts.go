package label

import (
	"bytes"
	"compress/gzip"
	_ "embed"
	"fmt"
	"io"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The embedded fonts: subsets of Noto Sans (SIL Open Font License 1.1, see
// fonts/OFL.txt) holding Latin and every Vietnamese letter with its tone
// marks, in two weights; and a subset of Droid Sans Fallback (Apache
// License 2.0, see fonts/LICENSE-Apache-2.0.txt) holding the Chinese
// characters of GB 2312 and CJK punctuation, in one weight, gzipped, as it
// is the larger by far and only labels with Chinese text need it. See
// fonts/README.md for how they were made.
var (
	//go:embed fonts/NotoSans-Regular-vi.ttf
	fontRegularTTF []byte
	//go:embed fonts/NotoSans-Bold-vi.ttf
	fontBoldTTF []byte
	//go:embed fonts/DroidSansFallback-zh.ttf.gz
	fontCJKGzip []byte
)

// face is a parsed embedded font with its advance widths, read once. An
// sfnt.Font is safe for concurrent use when each goroutine has its own
// sfnt.Buffer; the tables are read-only after loading.
type face struct {
	font    *sfnt.Font
	upem    float64
	lo      rune              // the first rune of the tables below
	advance []float64         // by rune-lo, in em; 0 for runes without a glyph
	glyph   []sfnt.GlyphIndex // by rune-lo; 0 for none
	ttf     []byte            // the font file, for embedding in PDFs
	family  string            // the font's name in a PDF
	style   string            // "" or "B", the weight in a PDF
}

// The ranges of runes the embedded fonts cover: the Noto Sans subsets end
// with the đồng sign (U+20AB) and №; the CJK subset runs from the
// ideographic space (U+3000) to the fullwidth won sign (U+FFE6).
const (
	maxRune    = 0x2200
	cjkMinRune = 0x3000
	cjkMaxRune = 0x10000
)

func (f *face) has(r rune) bool {
	return r >= f.lo && int(r-f.lo) < len(f.glyph) && f.glyph[r-f.lo] != 0
}

// adv returns r's advance width in em (0 for a rune f lacks).
func (f *face) adv(r rune) float64 {
	if r < f.lo || int(r-f.lo) >= len(f.advance) {
		return 0
	}
	return f.advance[r-f.lo]
}

// parseFace reads a font and the glyphs and advances of runes lo to hi-1.
func parseFace(ttf []byte, lo, hi rune, family, style string) (*face, error) {
	f, err := sfnt.Parse(ttf)
	if err != nil {
		return nil, fmt.Errorf("label: embedded font: %w", err)
	}
	fc := &face{font: f, upem: float64(f.UnitsPerEm()), lo: lo, advance: make([]float64, hi-lo),
		glyph: make([]sfnt.GlyphIndex, hi-lo), ttf: ttf, family: family, style: style}
	var b sfnt.Buffer
	ppem := fixed.Int26_6(f.UnitsPerEm()) << 6
	for r := max(lo, 0x20); r < hi; r++ {
		g, err := f.GlyphIndex(&b, r)
		if err != nil || g == 0 {
			continue
		}
		adv, err := f.GlyphAdvance(&b, g, ppem, font.HintingNone)
		if err != nil {
			return nil, fmt.Errorf("label: embedded font: %w", err)
		}
		fc.advance[r-lo] = float64(adv) / 64 / fc.upem
		fc.glyph[r-lo] = g
	}
	return fc, nil
}

// PDF font names.
const (
	fontFamily    = "NotoSansVI"
	cjkFontFamily = "DroidSansFallbackZH"
)

var loadFaces = sync.OnceValues(func() ([2]*face, error) {
	var out [2]*face
	for i, ttf := range [][]byte{fontRegularTTF, fontBoldTTF} {
		fc, err := parseFace(ttf, 0, maxRune, fontFamily, []string{"", "B"}[i])
		if err != nil {
			return out, err
		}
		out[i] = fc
	}
	return out, nil
})

// loadCJK unpacks and parses the CJK font on first use, so that a run
// without Chinese text never holds its megabyte.
var loadCJK = sync.OnceValues(func() (*face, error) {
	zr, err := gzip.NewReader(bytes.NewReader(fontCJKGzip))
	if err != nil {
		return nil, fmt.Errorf("label: embedded font: %w", err)
	}
	ttf, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("label: embedded font: %w", err)
	}
	return parseFace(ttf, cjkMinRune, cjkMaxRune, cjkFontFamily, "")
})

// mustFace turns a failure to load an embedded font into a panic: the
// fonts are compiled in and tested, so it is a build defect, not an input
// error.
func mustFace[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

// faceFor returns the regular or bold Noto Sans face.
func faceFor(bold bool) *face {
	fs := mustFace(loadFaces())
	if bold {
		return fs[1]
	}
	return fs[0]
}

// cjkFace returns the CJK face, loading it on first use.
func cjkFace() *face { return mustFace(loadCJK()) }

// faceOf returns the face that draws r in text of the given weight: Noto
// Sans for Latin and Vietnamese, else the CJK font (which has one weight:
// Chinese in a bold line is set regular); nil when no embedded font has r.
func faceOf(r rune, bold bool) *face {
	if f := faceFor(bold); f.has(r) {
		return f
	}
	if r >= cjkMinRune && r < cjkMaxRune {
		if f := cjkFace(); f.has(r) {
			return f
		}
	}
	return nil
}

// span is a run of text set in one face.
type span struct {
	text string
	face *face
}

// spans splits s into runs of the same face, for writers that switch
// fonts between Vietnamese and Chinese. Runes no face has (checked away in
// Content.normalized) are dropped.
func spans(s string, bold bool) []span {
	var out []span
	start := 0
	var cur *face
	for i, r := range s {
		f := faceOf(r, bold)
		if f == cur {
			continue
		}
		if cur != nil && i > start {
			out = append(out, span{s[start:i], cur})
		}
		start, cur = i, f
	}
	if cur != nil && len(s) > start {
		out = append(out, span{s[start:], cur})
	}
	return out
}

// widthEm returns the advance width of s in em, each character in the
// face that draws it (no kerning: neither fpdf nor the thermal rasteriser
// applies it).
func widthEm(s string, bold bool) float64 {
	w := 0.0
	for _, r := range s {
		if f := faceOf(r, bold); f != nil {
			w += f.adv(r)
		}
	}
	return w
}

// widthMM returns the width of s set at size points, in millimetres.
func widthMM(s string, bold bool, size float64) float64 {
	return widthEm(s, bold) * size * mmPerPt
}

const mmPerPt = 25.4 / 72

// checkGlyphs returns an error naming the first character of s that the
// embedded fonts cannot draw. Chinese characters are accepted only where
// cjk is set: in the product's Chinese name, not in the Vietnamese text,
// which a Vietnamese-first label keeps Vietnamese.
func checkGlyphs(field, s string, cjk bool) error {
	for i, r := range s {
		if r == utf8.RuneError {
			return fieldErr(field, fmt.Sprintf("is not valid UTF-8 (byte %d)", i+1))
		}
		if r < 0x20 || r == 0x7f {
			return fieldErr(field, fmt.Sprintf("contains the control character %U", r))
		}
		// Text that may not hold Chinese is checked against Noto Sans
		// alone, so that checking it never unpacks the Chinese font.
		if reg := faceFor(false); !reg.has(r) && (!cjk || faceOf(r, false) == nil) {
			covers := "Vietnamese and Latin letters, digits and common punctuation"
			if cjk {
				covers = "Vietnamese and Latin letters, the Chinese characters of GB 2312, digits and common punctuation"
			}
			return fieldErr(field, fmt.Sprintf("character %q (%U) cannot be printed: the label fonts cover %s", r, r, covers))
		}
	}
	return nil
}

// Vietnamese letters can arrive decomposed (base letter followed by
// combining marks), as some keyboards and "Unicode tổ hợp" settings type
// them. The fonts have precomposed glyphs only, so text is composed first.
const (
	viBases   = "aăâeêioôơuưyAĂÂEÊIOÔƠUƯY"
	viGrave   = "àằầèềìòồờùừỳÀẰẦÈỀÌÒỒỜÙỪỲ"
	viAcute   = "áắấéếíóốớúứýÁẮẤÉẾÍÓỐỚÚỨÝ"
	viTilde   = "ãẵẫẽễĩõỗỡũữỹÃẴẪẼỄĨÕỖỠŨỮỸ"
	viHook    = "ảẳẩẻểỉỏổởủửỷẢẲẨẺỂỈỎỔỞỦỬỶ"
	viDot     = "ạặậẹệịọộợụựỵẠẶẬẸỆỊỌỘỢỤỰỴ"
	viBreve   = "ăĂ"
	viCircum  = "âêôÂÊÔ"
	viHornish = "ơưƠƯ"
)

var viCompose = sync.OnceValue(func() map[[2]rune]rune {
	m := map[[2]rune]rune{}
	bases := []rune(viBases)
	for mark, row := range map[rune]string{0x300: viGrave, 0x301: viAcute, 0x303: viTilde, 0x309: viHook, 0x323: viDot} {
		for i, r := range []rune(row) {
			m[[2]rune{bases[i], mark}] = r
		}
	}
	for _, p := range []struct {
		base, out string
		mark      rune
	}{{"aA", viBreve, 0x306}, {"aeoAEO", viCircum, 0x302}, {"ouOU", viHornish, 0x31B}} {
		out := []rune(p.out)
		for i, b := range []rune(p.base) {
			m[[2]rune{b, p.mark}] = out[i]
		}
	}
	m[[2]rune{'d', 0x335}] = 'đ' // rare, but seen in the wild
	m[[2]rune{'D', 0x335}] = 'Đ'
	return m
})

// composeVietnamese replaces a Latin letter followed by combining marks
// with the precomposed letter where one exists. Marks may come in any order
// (U+0323 sorts before U+0302 in NFD).
func composeVietnamese(s string) string {
	if !strings.ContainsFunc(s, isCombining) {
		return s
	}
	m := viCompose()
	rs := []rune(s)
	out := make([]rune, 0, len(rs))
	for i := 0; i < len(rs); i++ {
		r := rs[i]
		j := i + 1
		for j < len(rs) && isCombining(rs[j]) {
			j++
		}
		marks := rs[i+1 : j]
		var rest []rune
		// Shape marks (breve, circumflex, horn) first, then the tone.
		for pass := 0; pass < 2; pass++ {
			for _, mk := range marks {
				shape := mk == 0x306 || mk == 0x302 || mk == 0x31B || mk == 0x335
				if (pass == 0) != shape {
					continue
				}
				if c, ok := m[[2]rune{r, mk}]; ok {
					r = c
				} else {
					rest = append(rest, mk)
				}
			}
		}
		out = append(out, r)
		out = append(out, rest...)
		i = j - 1
	}
	return string(out)
}

func isCombining(r rune) bool { return r >= 0x300 && r <= 0x36F }

// NotoSans returns the embedded Noto Sans subsets (regular and bold, SIL
// Open Font License 1.1) for other PDFs truyxuat writes in Vietnamese,
// such as the farm diary.
func NotoSans() (regular, bold []byte) { return fontRegularTTF, fontBoldTTF }
