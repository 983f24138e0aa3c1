package label

import (
	"fmt"
	"image"
	"image/color"
	"math"

	"golang.org/x/image/font/sfnt"
	"golang.org/x/image/math/fixed"
	"golang.org/x/image/vector"
)

// Thermal labels are drawn as one 1-bit bitmap: the QR code with whole
// dots per module, and the text rasterised from the embedded font, since
// printer-resident fonts lack Vietnamese letters.

// rollPlan is the geometry of one roll label at one resolution, in dots.
type rollPlan struct {
	layout  RollLayout
	dpi     int
	w, h    int     // label size in dots
	room    float64 // mm for the QR code, see qrRoom
	rowSize int     // bytes per bitmap row
}

func newRollPlan(layout RollLayout, dpi int) (*rollPlan, error) {
	if err := layout.Validate(dpi); err != nil {
		return nil, err
	}
	l := layout.withDefaults(dpi)
	room, err := qrRoom(l.Width, l.Height, l.Padding)
	if err != nil {
		return nil, fieldErr("layout", err.Error())
	}
	p := &rollPlan{layout: l, dpi: dpi, w: mmToDots(l.Width, dpi), h: mmToDots(l.Height, dpi), room: room}
	p.rowSize = (p.w + 7) / 8
	return p, nil
}

func mmToDots(mm float64, dpi int) int { return int(math.Round(mm * float64(dpi) / 25.4)) }

func (p *rollPlan) dotsPerMM() float64 { return float64(p.dpi) / 25.4 }

// modules returns the legal module sizes for qr in whole dots (as mm),
// largest first, or an error saying why the symbol cannot be printed on
// this roll.
func (p *rollPlan) modules(qr *QR) ([]float64, error) {
	ms := rollModules(p.room, qr.size, p.dpi)
	if len(ms) > 0 {
		return ms, nil
	}
	dpmm := p.dotsPerMM()
	hi := math.Floor(p.room*dpmm+mmEpsilon) / float64(qr.size)
	mm := math.Floor(hi) / dpmm
	minDots := math.Ceil(math.Max(MinModuleMM*dpmm, MinQRWidthMM*dpmm/float64(qr.size)) - mmEpsilon)
	need := minDots * float64(qr.size) / dpmm
	return nil, tooSmall(fmt.Sprintf("%s at %d dpi", p.layout.name(), p.dpi), qr, p.room, mm, need, rollsFor(qr, p.dpi))
}

// rollsFor lists up to three preset rolls, at dpi or higher, that can hold qr.
func rollsFor(qr *QR, dpi int) []string {
	var out []string
	for _, d := range supportedDPI {
		for _, r := range rollPresets {
			if d < dpi || len(out) == 3 {
				continue
			}
			if p, err := newRollPlan(r, d); err == nil && rollModules(p.room, qr.size, d) != nil {
				out = append(out, fmt.Sprintf("%s at %d dpi", r.Name, d))
			}
		}
	}
	return out
}

// rasterizer draws labels of one roll plan. It is not safe for concurrent
// use.
type rasterizer struct {
	plan  *rollPlan
	z     *vector.Rasterizer
	alpha *image.Alpha
	buf   sfnt.Buffer
	tf    textFitter
	bits  []byte // rowSize*h bytes, rows of dots, most significant bit first, 1 = black
}

func newRasterizer(p *rollPlan) *rasterizer {
	return &rasterizer{
		plan:  p,
		z:     vector.NewRasterizer(p.w, p.h),
		alpha: image.NewAlpha(image.Rect(0, 0, p.w, p.h)),
		bits:  make([]byte, p.rowSize*p.h),
	}
}

// draw renders c, whose QR code is qr, into r.bits.
func (r *rasterizer) draw(c *Content, qr *QR) error {
	p := r.plan
	modules, err := p.modules(qr)
	if err != nil {
		return err
	}
	dpmm := p.dotsPerMM()
	qx := mmToDots(p.layout.Padding, p.dpi)
	f, err := r.tf.fitLabel(c, qr.size, p.layout.Width, p.layout.Height, p.layout.Padding, float64(qx)/dpmm, modules, p.layout.MinFontSize, p.layout.MaxFontSize)
	if err != nil {
		return err
	}
	module := int(math.Round(f.module * dpmm))
	qy := (p.h - module*qr.size) / 2

	r.z.Reset(p.w, p.h)
	for _, ln := range f.lines {
		if err := r.text(ln, dpmm); err != nil {
			return err
		}
		if ln.stars > 0 {
			centres, rad := ln.starCentres()
			for _, ct := range centres {
				pts := starPoints(ct[0]*dpmm, ct[1]*dpmm, rad*dpmm)
				r.z.MoveTo(float32(pts[0][0]), float32(pts[0][1]))
				for _, pt := range pts[1:] {
					r.z.LineTo(float32(pt[0]), float32(pt[1]))
				}
				r.z.ClosePath()
			}
		}
	}
	clear(r.alpha.Pix)
	r.z.Draw(r.alpha, r.alpha.Bounds(), image.Opaque, image.Point{})
	// Threshold the anti-aliased text at half coverage.
	for y := 0; y < p.h; y++ {
		src := r.alpha.Pix[y*r.alpha.Stride : y*r.alpha.Stride+p.w]
		dst := r.bits[y*p.rowSize : (y+1)*p.rowSize]
		clear(dst)
		for x, a := range src {
			if a >= 0x80 {
				dst[x>>3] |= 0x80 >> (x & 7)
			}
		}
	}
	// The QR code: whole dots per module, quiet zone cleared.
	for y := 0; y < qr.size; y++ {
		row := qr.dark[y*qr.size : (y+1)*qr.size]
		for dy := 0; dy < module; dy++ {
			dst := r.bits[(qy+y*module+dy)*p.rowSize:]
			for x, dark := range row {
				for dx := qx + x*module; dx < qx+(x+1)*module; dx++ {
					if dark {
						dst[dx>>3] |= 0x80 >> (dx & 7)
					} else {
						dst[dx>>3] &^= 0x80 >> (dx & 7)
					}
				}
			}
		}
	}
	return nil
}

// text adds the outline of one line to the rasteriser.
func (r *rasterizer) text(ln textLine, dpmm float64) error {
	ppemF := ln.size * float64(r.plan.dpi) / 72
	ppem := fixed.Int26_6(math.Round(ppemF * 64))
	penX := ln.textX() * dpmm
	baseY := ln.y * dpmm
	for _, ch := range ln.text {
		f := faceOf(ch, ln.bold)
		if f == nil {
			continue // checked in Content.normalized; spaces have glyphs
		}
		segs, err := f.font.LoadGlyph(&r.buf, f.glyph[ch-f.lo], ppem, nil)
		if err != nil {
			return fmt.Errorf("label: glyph %q: %w", ch, err)
		}
		ox, oy := float32(penX), float32(baseY)
		for _, s := range segs {
			a := s.Args
			switch s.Op {
			case sfnt.SegmentOpMoveTo:
				r.z.MoveTo(ox+fx(a[0].X), oy+fx(a[0].Y))
			case sfnt.SegmentOpLineTo:
				r.z.LineTo(ox+fx(a[0].X), oy+fx(a[0].Y))
			case sfnt.SegmentOpQuadTo:
				r.z.QuadTo(ox+fx(a[0].X), oy+fx(a[0].Y), ox+fx(a[1].X), oy+fx(a[1].Y))
			case sfnt.SegmentOpCubeTo:
				r.z.CubeTo(ox+fx(a[0].X), oy+fx(a[0].Y), ox+fx(a[1].X), oy+fx(a[1].Y), ox+fx(a[2].X), oy+fx(a[2].Y))
			}
		}
		r.z.ClosePath()
		penX += f.adv(ch) * ppemF
	}
	return nil
}

func fx(v fixed.Int26_6) float32 { return float32(v) / 64 }

// image returns the current label as a two-colour image (for previews and
// tests).
func (r *rasterizer) image() *image.Paletted {
	p := r.plan
	img := image.NewPaletted(image.Rect(0, 0, p.w, p.h), color.Palette{color.White, color.Black})
	for y := 0; y < p.h; y++ {
		for x := 0; x < p.w; x++ {
			if r.bits[y*p.rowSize+x>>3]&(0x80>>(x&7)) != 0 {
				img.Pix[y*img.Stride+x] = 1
			}
		}
	}
	return img
}

// pack returns the label as rows of bits, most significant bit first, with
// blackBit for black dots; the pad bits at the end of a row are white.
func (r *rasterizer) pack(dst []byte, blackBit bool) []byte {
	dst = append(dst[:0], r.bits...)
	if !blackBit {
		for i := range dst {
			dst[i] = ^dst[i]
		}
	}
	return dst
}
