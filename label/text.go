package label

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Text layout shared by the PDF and thermal writers: which lines a label
// shows, at what size, wrapped to the text column. Sizes are in points and
// positions in millimetres from the label's top-left corner.

const (
	lineHeightEm = 1.2  // baseline to baseline
	ascentEm     = 0.96 // line top to baseline; room for stacked Vietnamese marks
	blockGapEm   = 0.15 // extra space between blocks
	fontStep     = 0.25 // points
	ellipsis     = "…"
)

// block is one item of text: a name, the lot, the date …
type block struct {
	text     string
	bold     bool
	rel      float64 // size relative to the base size
	maxLines int
	anywhere bool // a code: may break between any two characters
	trunc    bool // may be cut short with … when nothing else fits
	optional bool // may be left out when nothing else fits
	drop     int  // with optional: the order lines are left out in, lowest first
	stars    int  // OCOP stars drawn before the text
	bottom   bool // set at the foot of the column
}

// textLine is one laid-out line.
type textLine struct {
	text     string
	bold     bool
	size     float64 // points
	x, y     float64 // start of the baseline, mm
	stars    int
	starSize float64 // mm, outer diameter
	starStep float64 // mm, distance between star centres
}

// blocks lists what c shows, top to bottom.
func blocks(c *Content) []block {
	second, ok := secondLanguages[c.Lang]
	if !ok {
		second = secondLanguages[English]
	}
	bs := []block{{text: c.Product, bold: true, rel: 1.15, maxLines: 2, trunc: true}}
	if c.ProductLang != "" {
		bs = append(bs, block{text: c.ProductLang, rel: second.nameRel, maxLines: 1, trunc: true, optional: true, drop: 2})
	}
	bs = append(bs, block{text: c.Cooperative, rel: 0.9, maxLines: 2, trunc: true, optional: true, drop: 4})
	bs = append(bs, block{text: textLot + c.Lot, maxLines: 3, anywhere: true})
	if h := c.harvestText(); h != "" {
		bs = append(bs, block{text: textHarvest + h, maxLines: 2, optional: true, drop: 5})
	}
	if c.Serial != "" {
		bs = append(bs, block{text: textSerial + c.Serial, rel: 0.9, maxLines: 2, anywhere: true})
	}
	if c.OCOPStars > 0 {
		bs = append(bs, block{text: textOCOP, bold: true, maxLines: 1, stars: c.OCOPStars})
	}
	if len(c.Certifications) > 0 {
		// Marks are never cut short: half a certification is a false one.
		bs = append(bs, block{text: strings.Join(c.Certifications, certSep), bold: true, rel: 0.9, maxLines: 2})
	}
	bs = append(bs,
		block{text: textScanVI, bold: true, rel: 0.9, maxLines: 2, bottom: true, optional: true, drop: 3},
		block{text: second.scan, rel: second.scanRel, maxLines: 1, bottom: true, optional: true, drop: 1})
	for i := range bs {
		if bs[i].rel == 0 {
			bs[i].rel = 1
		}
	}
	return bs
}

// layoutText fits c's text into a w×h mm column at x, y, trying sizes from
// maxPt down to minPt. When lenient, it may at minPt also cut long names
// short with … and leave out the least important lines, one by one.
func layoutText(c *Content, x, y, w, h, minPt, maxPt float64, lenient bool) ([]textLine, error) {
	return (*textFitter)(nil).layout(c, x, y, w, h, minPt, maxPt, lenient)
}

// textFitter lays out label text and remembers how each block wrapped, as
// the labels of a run mostly repeat the same blocks at the same sizes
// (with serial numbers, only the serial changes). The zero value and nil
// work; it is not safe for concurrent use.
type textFitter struct {
	memo map[wrapKey]wrapResult
}

type wrapKey struct {
	b       block
	size, w float64
	last    bool
}

type wrapResult struct {
	lines []string
	ok    bool
}

func (tf *textFitter) wrap(b block, size, w float64, last bool) ([]string, bool) {
	if tf == nil {
		return wrapBlock(b, size, w, last)
	}
	k := wrapKey{b, size, w, last}
	if r, ok := tf.memo[k]; ok {
		return r.lines, r.ok
	}
	if tf.memo == nil || len(tf.memo) >= 1<<14 {
		tf.memo = make(map[wrapKey]wrapResult)
	}
	lines, ok := wrapBlock(b, size, w, last)
	tf.memo[k] = wrapResult{lines, ok}
	return lines, ok
}

func (tf *textFitter) layout(c *Content, x, y, w, h, minPt, maxPt float64, lenient bool) ([]textLine, error) {
	bs := blocks(c)
	// Whether the text fits only gets easier as the size shrinks (greedy
	// wrapping never needs more lines for smaller text), so search the
	// sizes maxPt, maxPt-fontStep, … minPt by bisection for the largest
	// that fits.
	n := int(math.Floor((maxPt-minPt)/fontStep + 1e-9))
	sizeAt := func(k int) float64 { return maxPt - float64(k)*fontStep }
	if lines, ok := tf.fitBlocks(bs, sizeAt(n), w, h, false); ok {
		lo, hi := 0, n // the answer is in [lo, hi]; hi fits
		best := lines
		for lo < hi {
			mid := (lo + hi) / 2
			if l, ok := tf.fitBlocks(bs, sizeAt(mid), w, h, false); ok {
				hi, best = mid, l
			} else {
				lo = mid + 1
			}
		}
		return place(best, x, y, h), nil
	}
	for lenient {
		lines, ok := tf.fitBlocks(bs, minPt, w, h, true)
		if ok {
			return place(lines, x, y, h), nil
		}
		// Leave out the least important line left: "Scan to trace" (or
		// its Chinese), the name in the second language, "Quét mã…" (the
		// code speaks for itself), the
		// cooperative (its page names it), the harvest date (the code
		// holds it). The product, lot, serial and marks stay.
		i := -1
		for j, b := range bs {
			if b.optional && (i < 0 || b.drop < bs[i].drop) {
				i = j
			}
		}
		if i < 0 {
			break
		}
		bs = append(bs[:i:i], bs[i+1:]...)
	}
	return nil, fitErr(ErrTextDoesNotFit, "layout", fmt.Sprintf("the text does not fit in the %.1f×%.1f mm beside the QR code even at %g pt: use a larger label, or shorten the product or cooperative name, or print fewer certification marks", w, h, minPt))
}

// wrapped is a block broken into lines at one size.
type wrapped struct {
	b     block
	size  float64
	lines []string
}

func (tf *textFitter) fitBlocks(bs []block, base, w, h float64, last bool) ([]wrapped, bool) {
	var out []wrapped
	total := 0.0
	for i, b := range bs {
		size := base * b.rel
		lines, ok := tf.wrap(b, size, w, last)
		if !ok {
			return nil, false
		}
		out = append(out, wrapped{b, size, lines})
		total += float64(len(lines)) * size * lineHeightEm * mmPerPt
		if i > 0 {
			total += base * blockGapEm * mmPerPt
		}
	}
	// The last line's descent is inside lineHeightEm; allow for the first
	// line's ascent being a little taller than a line.
	return out, total <= h+mmEpsilon
}

// wrapBlock breaks b into at most b.maxLines lines of width w. Lines break
// at spaces, and between Chinese characters, which have none (see
// pieces); a word wider than the line is broken between characters only
// for codes, or at the last resort. With last set, a block that may be
// cut short is.
func wrapBlock(b block, size, w float64, last bool) ([]string, bool) {
	prefix := 0.0
	if b.stars > 0 {
		prefix = starsWidthEm(b.stars) * size * mmPerPt
	}
	fits := func(s string, first bool) bool {
		p := 0.0
		if first {
			p = prefix
		}
		return p+widthMM(s, b.bold, size) <= w+mmEpsilon
	}
	var lines []string
	cur := ""
	for _, pc := range pieces(b.text) {
		word := pc.text
		sep := ""
		if cur != "" && pc.space {
			sep = " "
		}
		if try := cur + sep + word; fits(try, len(lines) == 0) {
			cur = try
			continue
		}
		alone := fits(word, len(lines) == 0 && cur == "")
		if cur != "" && (alone || !b.anywhere) {
			lines = append(lines, cur)
			cur, sep = "", ""
			if fits(word, false) {
				cur = word
				continue
			}
		}
		// The word is wider than a line: break it between characters, for
		// a code right after what the line already holds.
		if !b.anywhere && !last {
			return nil, false
		}
		rest := word
		for rest != "" {
			lead := cur + sep
			first := len(lines) == 0
			n := 0
			for i := range rest {
				if i > 0 && !fits(lead+rest[:i], first) {
					break
				}
				n = i
			}
			if fits(lead+rest, first) {
				n = len(rest)
			}
			if n == 0 {
				if cur != "" {
					lines = append(lines, cur)
					cur, sep = "", ""
					continue
				}
				return nil, false // not even one character fits
			}
			if n == len(rest) {
				cur = lead + rest
				break
			}
			lines = append(lines, lead+rest[:n])
			cur, sep, rest = "", "", rest[n:]
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	if len(lines) <= b.maxLines {
		return lines, true
	}
	if !last || !b.trunc {
		return nil, false
	}
	lines = lines[:b.maxLines]
	end := lines[b.maxLines-1]
	for end != "" && !fits(end+ellipsis, b.maxLines == 1) {
		_, sz := utf8.DecodeLastRuneInString(end)
		end = strings.TrimRight(end[:len(end)-sz], " ")
	}
	lines[b.maxLines-1] = end + ellipsis
	return lines, true
}

// piece is what line breaking keeps whole: a word of Latin or Vietnamese
// text, or one Chinese character with any punctuation that must stay with
// it. space is whether a space separates it from the piece before.
type piece struct {
	text  string
	space bool
}

// pieces splits text where a line may break: at spaces, and on either side
// of a Chinese (or other wide) character, except before closing
// punctuation such as 。，） and after opening punctuation such as （《,
// which stay with their neighbours as Chinese typesetting requires.
func pieces(text string) []piece {
	var out []piece
	for _, word := range strings.Fields(text) {
		space := len(out) > 0
		start := 0
		var prev rune
		for i, r := range word {
			if i > 0 && (isWide(prev) || isWide(r)) && !noLineStart(r) && !noLineEnd(prev) {
				out = append(out, piece{word[start:i], space})
				start, space = i, false
			}
			prev = r
		}
		out = append(out, piece{word[start:], space})
	}
	return out
}

// isWide reports whether r is a Chinese character, kana, or CJK or
// fullwidth punctuation: text set without spaces, which may break on
// either side of each character.
func isWide(r rune) bool {
	return r >= 0x2E80 && r <= 0x9FFF || r >= 0xF900 && r <= 0xFAFF || r >= 0xFE30 && r <= 0xFE4F || r >= 0xFF00 && r <= 0xFFEF
}

// noLineStart reports whether r may not begin a line: closing brackets
// and quotes, and punctuation such as 、。，：；！？ and the ellipsis.
func noLineStart(r rune) bool {
	return unicode.In(r, unicode.Pe, unicode.Pf, unicode.Po) || r == '々' || r == 'ー' || r == '～'
}

// noLineEnd reports whether r may not end a line: opening brackets and
// quotes.
func noLineEnd(r rune) bool { return unicode.In(r, unicode.Ps, unicode.Pi) }

// place assigns positions: blocks from the top, bottom blocks from the foot.
func place(ws []wrapped, x, y, h float64) []textLine {
	var out []textLine
	top := y
	var foot []wrapped
	for i, wb := range ws {
		if wb.b.bottom {
			foot = append(foot, wb)
			continue
		}
		if i > 0 {
			top += ws[0].size / ws[0].b.rel * blockGapEm * mmPerPt
		}
		out = append(out, lineOf(wb, x, &top)...)
	}
	// Bottom blocks: measure, then set them so the last ends at y+h.
	height := 0.0
	for i, wb := range foot {
		height += float64(len(wb.lines)) * wb.size * lineHeightEm * mmPerPt
		if i > 0 {
			height += wb.size * blockGapEm * mmPerPt
		}
	}
	bot := max(y+h-height, top)
	for i, wb := range foot {
		if i > 0 {
			bot += wb.size * blockGapEm * mmPerPt
		}
		out = append(out, lineOf(wb, x, &bot)...)
	}
	return out
}

func lineOf(wb wrapped, x float64, top *float64) []textLine {
	var out []textLine
	em := wb.size * mmPerPt
	for i, s := range wb.lines {
		l := textLine{text: s, bold: wb.b.bold, size: wb.size, x: x, y: *top + ascentEm*em}
		if i == 0 && wb.b.stars > 0 {
			l.stars = wb.b.stars
			l.starSize = starEm * em
			l.starStep = starStepEm * em
		}
		out = append(out, l)
		*top += lineHeightEm * em
	}
	return out
}

// OCOP stars: drawn, not typed, as the fonts have no star glyph.
const (
	starEm     = 0.78 // outer diameter
	starStepEm = 0.88
)

func starsWidthEm(n int) float64 { return float64(n)*starStepEm + 0.2 }

// textX returns where the line's text starts, after any stars.
func (l textLine) textX() float64 {
	if l.stars == 0 {
		return l.x
	}
	return l.x + starsWidthEm(l.stars)*l.size*mmPerPt
}

// starCentres returns the centres of the line's stars and their radius.
func (l textLine) starCentres() (centres [][2]float64, r float64) {
	em := l.size * mmPerPt
	for i := 0; i < l.stars; i++ {
		centres = append(centres, [2]float64{l.x + (float64(i)+0.5)*l.starStep, l.y - 0.36*em})
	}
	return centres, l.starSize / 2
}

// starPoints returns the ten corners of a five-pointed star with its centre
// at cx, cy and outer radius r, in a y-down coordinate system.
func starPoints(cx, cy, r float64) [10][2]float64 {
	var p [10][2]float64
	inner := r * 0.382
	for i := range 10 {
		rad := r
		if i%2 == 1 {
			rad = inner
		}
		a := (float64(i)*36 - 90) * math.Pi / 180
		p[i] = [2]float64{cx + rad*math.Cos(a), cy + rad*math.Sin(a)}
	}
	return p
}

// fmtNum writes a PDF number: up to 3 decimals, no trailing zeros.
func fmtNum(v float64) string {
	s := strconv.FormatFloat(v, 'f', 3, 64)
	s = strings.TrimRight(s, "0")
	s = strings.TrimSuffix(s, ".")
	if s == "-0" || s == "" {
		return "0"
	}
	return s
}
