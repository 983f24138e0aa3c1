package label

import (
	_ "embed"
	"fmt"
	"strings"
	"sync"
	"unicode/utf8"

	"golang.org/x/image/font"
	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
)

// The embedded fonts are subsets of Noto Sans (SIL Open Font License 1.1,
// see fonts/OFL.txt and fonts/README.md) holding Latin and every Vietnamese
// letter with its tone marks.
var (
	//go:embed fonts/NotoSans-Regular-vi.ttf
	fontRegularTTF []byte
	//go:embed fonts/NotoSans-Bold-vi.ttf
	fontBoldTTF []byte
)

// face is a parsed embedded font with its advance widths, read once. An
// sfnt.Font is safe for concurrent use when each goroutine has its own
// sfnt.Buffer; the advance table is read-only after loading.
type face struct {
	font    *sfnt.Font
	upem    float64
	advance []float64 // by rune, in em; 0 for runes without a glyph
	glyph   []sfnt.GlyphIndex
}

// maxRune bounds the runes the embedded fonts cover (the đồng sign, U+20AB,
// and № are the highest).
const maxRune = 0x2200

func (f *face) has(r rune) bool { return r >= 0 && r < maxRune && f.glyph[r] != 0 }

var loadFaces = sync.OnceValues(func() ([2]*face, error) {
	var out [2]*face
	for i, ttf := range [][]byte{fontRegularTTF, fontBoldTTF} {
		f, err := sfnt.Parse(ttf)
		if err != nil {
			return out, fmt.Errorf("label: embedded font: %w", err)
		}
		fc := &face{font: f, upem: float64(f.UnitsPerEm()), advance: make([]float64, maxRune), glyph: make([]sfnt.GlyphIndex, maxRune)}
		var b sfnt.Buffer
		ppem := fixed.Int26_6(f.UnitsPerEm()) << 6
		for r := rune(0x20); r < maxRune; r++ {
			g, err := f.GlyphIndex(&b, r)
			if err != nil || g == 0 {
				continue
			}
			adv, err := f.GlyphAdvance(&b, g, ppem, font.HintingNone)
			if err != nil {
				return out, fmt.Errorf("label: embedded font: %w", err)
			}
			fc.advance[r] = float64(adv) / 64 / fc.upem
			fc.glyph[r] = g
		}
		out[i] = fc
	}
	return out, nil
})

// faceFor returns the regular or bold face.
func faceFor(bold bool) *face {
	fs, err := loadFaces()
	if err != nil {
		// The fonts are compiled in and tested; failing to parse them is
		// a build defect, not an input error.
		panic(err)
	}
	if bold {
		return fs[1]
	}
	return fs[0]
}

// widthEm returns the advance width of s in em (no kerning: neither fpdf
// nor the thermal rasteriser applies it).
func (f *face) widthEm(s string) float64 {
	w := 0.0
	for _, r := range s {
		if r >= 0 && r < maxRune {
			w += f.advance[r]
		}
	}
	return w
}

// widthMM returns the width of s set at size points, in millimetres.
func (f *face) widthMM(s string, size float64) float64 {
	return f.widthEm(s) * size * mmPerPt
}

const mmPerPt = 25.4 / 72

// checkGlyphs returns an error naming the first character of s that the
// embedded fonts cannot draw.
func checkGlyphs(field, s string) error {
	reg := faceFor(false)
	for i, r := range s {
		if r == utf8.RuneError {
			return fieldErr(field, fmt.Sprintf("is not valid UTF-8 (byte %d)", i+1))
		}
		if r < 0x20 || r == 0x7f {
			return fieldErr(field, fmt.Sprintf("contains the control character %U", r))
		}
		if !reg.has(r) {
			return fieldErr(field, fmt.Sprintf("character %q (%U) cannot be printed: the label font covers Vietnamese and Latin letters, digits and common punctuation", r, r))
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
