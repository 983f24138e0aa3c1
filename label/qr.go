package label

import (
	"bufio"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"io"
	"strconv"
	"sync"

	qrcode "github.com/skip2/go-qrcode"
)

// ECLevel is a QR error-correction level: "L" (about 7% of the symbol can
// be lost), "M" (15%), "Q" (25%) or "H" (30%). The empty level means M,
// which survives scuffed and wrinkled bags while keeping the symbol small.
type ECLevel string

// The QR error-correction levels.
const (
	ECLow      ECLevel = "L"
	ECMedium   ECLevel = "M"
	ECQuartile ECLevel = "Q"
	ECHigh     ECLevel = "H"
)

func (l ECLevel) normalize() (ECLevel, qrcode.RecoveryLevel, error) {
	switch l {
	case "", ECMedium:
		return ECMedium, qrcode.Medium, nil
	case ECLow:
		return ECLow, qrcode.Low, nil
	case ECQuartile:
		return ECQuartile, qrcode.High, nil // go-qrcode calls Q "High"
	case ECHigh:
		return ECHigh, qrcode.Highest, nil
	}
	return "", 0, fieldErr("level", fmt.Sprintf("unknown QR error-correction level %q: use L, M, Q or H", string(l)))
}

// QuietZone is the blank margin around every QR symbol, in modules. The
// QR specification requires four; phones fail more often with less.
const QuietZone = 4

// QR is an encoded QR symbol, quiet zone included. It is immutable and may
// be shared once built.
type QR struct {
	content string
	level   ECLevel
	version int
	size    int    // modules per side, quiet zone included
	dark    []bool // size*size, row by row
}

// EncodeQR encodes content, which must be printable ASCII (a
// percent-encoded URI), in the smallest QR version that holds it at level.
func EncodeQR(content string, level ECLevel) (*QR, error) {
	lvl, rl, err := level.normalize()
	if err != nil {
		return nil, err
	}
	if content == "" {
		return nil, fieldErr("uri", "QR content is empty")
	}
	for i := 0; i < len(content); i++ {
		if content[i] < 0x20 || content[i] >= 0x7f {
			return nil, fieldErr("uri", fmt.Sprintf("byte %d (%q) is not printable ASCII: QR content must be a percent-encoded URI", i+1, content[i]))
		}
	}
	// A fresh encoder per symbol: go-qrcode's QRCode is not safe to share
	// and Bitmap may be called only once on it.
	q, err := qrcode.New(content, rl)
	if err != nil {
		return nil, fieldErr("uri", fmt.Sprintf("%d bytes do not fit in a QR code at level %s: %v", len(content), lvl, err))
	}
	bm := q.Bitmap()
	n := len(bm)
	if n != 17+4*q.VersionNumber+2*QuietZone {
		return nil, fmt.Errorf("label: QR encoder returned a %d-module bitmap for version %d", n, q.VersionNumber)
	}
	out := &QR{content: content, level: lvl, version: q.VersionNumber, size: n, dark: make([]bool, n*n)}
	for y, row := range bm {
		if len(row) != n {
			return nil, fmt.Errorf("label: QR encoder returned a ragged bitmap")
		}
		copy(out.dark[y*n:], row)
	}
	// The quiet zone must be blank; check rather than trust.
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			if out.dark[y*n+x] && (x < QuietZone || y < QuietZone || x >= n-QuietZone || y >= n-QuietZone) {
				return nil, fmt.Errorf("label: QR encoder drew inside the quiet zone")
			}
		}
	}
	return out, nil
}

// Content returns the encoded text.
func (q *QR) Content() string { return q.content }

// Level returns the error-correction level.
func (q *QR) Level() ECLevel { return q.level }

// Version returns the QR version, 1 to 40 (21 to 177 modules).
func (q *QR) Version() int { return q.version }

// Size returns the number of modules per side, quiet zone included.
func (q *QR) Size() int { return q.size }

// Dark reports whether the module at column x, row y is dark. Coordinates
// outside the symbol are light.
func (q *QR) Dark(x, y int) bool {
	if x < 0 || y < 0 || x >= q.size || y >= q.size {
		return false
	}
	return q.dark[y*q.size+x]
}

// runs calls fn for each horizontal run of dark modules.
func (q *QR) runs(fn func(x, y, w int)) {
	for y := 0; y < q.size; y++ {
		row := q.dark[y*q.size : (y+1)*q.size]
		for x := 0; x < q.size; {
			if !row[x] {
				x++
				continue
			}
			start := x
			for x < q.size && row[x] {
				x++
			}
			fn(start, y, x-start)
		}
	}
}

// rects returns the dark modules as rectangles {x, y, w, h}: horizontal runs,
// merged with identical runs in the rows below.
func (q *QR) rects() [][4]int {
	var out [][4]int
	open := map[[2]int]int{} // run (x, w) ending in the previous row → index in out
	prevY := -1
	next := map[[2]int]int{}
	q.runs(func(x, y, w int) {
		if y != prevY {
			open, next = next, open
			clear(next)
			if y != prevY+1 {
				clear(open)
			}
			prevY = y
		}
		key := [2]int{x, w}
		if i, ok := open[key]; ok {
			out[i][3]++
			next[key] = i
			return
		}
		next[key] = len(out)
		out = append(out, [4]int{x, y, w, 1})
	})
	return out
}

// Image returns the symbol at scale pixels per module (a whole number, so
// modules are never resampled unevenly), as a two-colour image.
func (q *QR) Image(scale int) (*image.Paletted, error) {
	if scale < 1 || q.size*scale > 20000 {
		return nil, fieldErr("scale", fmt.Sprintf("pixels per module must be between 1 and %d, got %d", 20000/q.size, scale))
	}
	px := q.size * scale
	img := image.NewPaletted(image.Rect(0, 0, px, px), color.Palette{color.White, color.Black})
	for y := 0; y < q.size; y++ {
		for x := 0; x < q.size; x++ {
			if !q.dark[y*q.size+x] {
				continue
			}
			for dy := 0; dy < scale; dy++ {
				row := img.Pix[(y*scale+dy)*img.Stride:]
				for dx := 0; dx < scale; dx++ {
					row[x*scale+dx] = 1
				}
			}
		}
	}
	return img, nil
}

// WritePNG writes the symbol as a 1-bit PNG at scale pixels per module.
// Eight pixels per module suits screens; printing needs the physical size
// of a module, which the PDF and thermal writers handle.
func (q *QR) WritePNG(w io.Writer, scale int) error {
	img, err := q.Image(scale)
	if err != nil {
		return err
	}
	return pngEncoder.Encode(w, img)
}

// pngEncoder reuses its compressor between images (about a megabyte each).
var pngEncoder = png.Encoder{BufferPool: &pngPool{}}

type pngPool struct{ p sync.Pool }

func (p *pngPool) Get() *png.EncoderBuffer {
	b, _ := p.p.Get().(*png.EncoderBuffer)
	return b
}

func (p *pngPool) Put(b *png.EncoderBuffer) { p.p.Put(b) }

// WriteSVG writes the symbol as SVG: a white square and one path holding
// every run of dark modules, in a viewBox of one unit per module, drawn
// scale pixels per module by default. Modules stay crisp at any zoom.
func (q *QR) WriteSVG(w io.Writer, scale int) error {
	if scale < 1 {
		return fieldErr("scale", fmt.Sprintf("pixels per module must be at least 1, got %d", scale))
	}
	bw := bufio.NewWriter(w)
	n := strconv.Itoa(q.size)
	px := strconv.Itoa(q.size * scale)
	bw.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	bw.WriteString(`<svg xmlns="http://www.w3.org/2000/svg" width="` + px + `" height="` + px +
		`" viewBox="0 0 ` + n + ` ` + n + `" shape-rendering="crispEdges">` + "\n")
	bw.WriteString(`<rect width="` + n + `" height="` + n + `" fill="#fff"/>` + "\n")
	bw.WriteString(`<path fill="#000" d="`)
	var buf []byte
	for _, r := range q.rects() {
		buf = buf[:0]
		buf = append(buf, 'M')
		buf = strconv.AppendInt(buf, int64(r[0]), 10)
		buf = append(buf, ' ')
		buf = strconv.AppendInt(buf, int64(r[1]), 10)
		buf = append(buf, 'h')
		buf = strconv.AppendInt(buf, int64(r[2]), 10)
		buf = append(buf, 'v')
		buf = strconv.AppendInt(buf, int64(r[3]), 10)
		buf = append(buf, 'h', '-')
		buf = strconv.AppendInt(buf, int64(r[2]), 10)
		buf = append(buf, 'z')
		bw.Write(buf)
	}
	bw.WriteString(`"/>` + "\n</svg>\n")
	return bw.Flush()
}
