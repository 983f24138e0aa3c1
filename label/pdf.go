package label

import (
	"bytes"
	"compress/zlib"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"sync"

	"codeberg.org/go-pdf/fpdf"
)

const ptPerMM = 72 / 25.4

// WritePDF writes job as sheets of sticker labels laid out by layout (a
// preset from SheetLayoutByName or a custom one) to w.
//
// Each label has the QR code on the left, quiet zone included, drawn as
// vector rectangles so it stays sharp at any printer resolution, and the
// text on the right in the embedded Noto Sans. Print at 100% ("actual
// size"), not "fit to page", or the labels will not line up with the sheet.
//
// fpdf holds the pages in memory until it writes the file, about 2 KB
// per label plus 1.5 KB per distinct QR code. Nothing is written to w if any
// label fails.
func WritePDF(w io.Writer, layout SheetLayout, job Job) error {
	if err := layout.Validate(); err != nil {
		return err
	}
	if err := job.check(); err != nil {
		return err
	}
	l := layout.withDefaults()
	perPage := l.Columns * l.Rows
	if job.Skip >= perPage {
		return fieldErr("skip", fmt.Sprintf("a %s sheet has %d labels; skip 0 to %d of them", l.name(), perPage, perPage-1))
	}
	room, err := qrRoom(l.LabelWidth, l.LabelHeight, l.Padding)
	if err != nil {
		return fieldErr("layout", err.Error())
	}

	pdf := fpdf.NewCustom(&fpdf.InitType{
		OrientationStr: "P",
		UnitStr:        "mm",
		Size:           fpdf.SizeType{Wd: l.PageWidth, Ht: l.PageHeight},
	})
	pdf.SetMargins(0, 0, 0)
	pdf.SetAutoPageBreak(false, 0)
	pdf.SetCompression(true)
	pdf.SetCreator("truyxuat", false)
	pdf.SetTitle("Nhãn truy xuất "+l.name(), true)
	pdf.AddUTF8FontFromBytes(fontFamily, "", fontRegularTTF)
	pdf.AddUTF8FontFromBytes(fontFamily, "B", fontBoldTTF)
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("label: pdf: %w", err)
	}

	labels, stop := job.prepare(qrFormStream)
	defer stop()
	var (
		prev    Content
		f       fit // of prev
		haveFit bool
		qr      *QR
		modules []float64 // legal module sizes for qr, largest first
		forms   = newQRForms(pdf)
		form    string // name of qr's form XObject
		tf      textFitter
		text    = pdfLines{pdf: pdf}
	)
	for i := 0; i < job.Count; i++ {
		slot, ok := <-labels
		if !ok {
			return fmt.Errorf("label: internal error: run ended after %d labels", i)
		}
		p := <-slot
		if p.err != nil {
			return p.err
		}
		c := p.c
		if !p.same {
			if qr == nil || p.qr.size != qr.size {
				haveFit = false
				if modules = sheetModules(room, p.qr.size); modules == nil {
					module := room / float64(p.qr.size)
					need := math.Max(float64(p.qr.size)*MinModuleMM, MinQRWidthMM)
					return fmt.Errorf("label %d: %w", i+1, tooSmall(l.name(), p.qr, room, module, need, sheetsFor(p.qr)))
				}
			}
			qr = p.qr
			form = forms.add(qr, p.extra)
		}
		pos := (i + job.Skip) % perPage
		if i == 0 || pos == 0 {
			pdf.AddPage()
		}
		x0 := l.MarginLeft + float64(pos%l.Columns)*l.PitchX
		y0 := l.MarginTop + float64(pos/l.Columns)*l.PitchY
		if !haveFit || !sameContent(&prev, &c) {
			if f, err = tf.fitLabel(&c, qr.size, l.LabelWidth, l.LabelHeight, l.Padding, l.Padding, modules, l.MinFontSize, l.MaxFontSize); err != nil {
				return fmt.Errorf("label %d: %w", i+1, err)
			}
			prev, haveFit = c, true
		}
		// The form is one unit per module with its origin at the bottom
		// left; scale it to the module size and put it in place.
		m := fmtNum(f.module * ptPerMM)
		bottom := l.PageHeight - y0 - f.qrY - f.module*float64(qr.size)
		pdf.RawWriteStr("q " + m + " 0 0 " + m + " " + fmtNum((x0+f.qrX)*ptPerMM) + " " + fmtNum(bottom*ptPerMM) + " cm " + form + " Do Q")
		text.draw(f.lines, x0, y0, l.PageHeight)
		if err := pdf.Error(); err != nil {
			return fmt.Errorf("label %d: pdf: %w", i+1, err)
		}
		job.progress(i + 1)
	}
	if err := pdf.Output(w); err != nil {
		return fmt.Errorf("label: writing pdf: %w", err)
	}
	return nil
}

// qrForms stores each distinct QR symbol once, as a PDF form XObject of
// vector rectangles (one unit per module), and names it for pages to draw
// with Do. Labels that share a link share the object; each costs a short
// operator on its page, and the symbol is stored compressed rather than in
// the page, which fpdf keeps uncompressed until the end. fpdf has no API of
// its own for form XObjects, so they go through its object import
// (ImportObjects and ImportTemplates, meant for gofpdi), which writes them
// as given and lists them in the page resources.
type qrForms struct {
	pdf   *fpdf.Fpdf
	names map[string]string // content → name
}

func newQRForms(pdf *fpdf.Fpdf) *qrForms {
	return &qrForms{pdf: pdf, names: map[string]string{}}
}

// add registers qr with its compressed content stream (qrFormStream).
func (q *qrForms) add(qr *QR, stream []byte) string {
	if name, ok := q.names[qr.content]; ok {
		return name
	}
	n := strconv.Itoa(qr.size)
	key := "truyxuat-qr-" + strconv.Itoa(len(q.names))
	name := "/QR" + strconv.Itoa(len(q.names))
	obj := make([]byte, 0, len(stream)+128)
	obj = append(obj, "<</Type /XObject /Subtype /Form /BBox [0 0 "+n+" "+n+"] /Filter /FlateDecode /Length "+strconv.Itoa(len(stream))+">>\nstream\n"...)
	obj = append(obj, stream...)
	obj = append(obj, "\nendstream\nendobj"...)
	q.pdf.ImportObjects(map[string][]byte{key: obj})
	q.pdf.ImportTemplates(map[string]string{name: key})
	q.names[qr.content] = name
	return name
}

// qrFormStream returns the zlib-compressed content stream of qr's form
// XObject. It runs on the QR workers.
func qrFormStream(qr *QR) ([]byte, error) {
	var ops, z bytes.Buffer
	// Module rows run downwards; the form's space runs upwards.
	ops.WriteString("0 g 1 0 0 -1 0 " + strconv.Itoa(qr.size) + " cm\n")
	pdfQROps(&ops, qr)
	zw, _ := zlibPool.Get().(*zlib.Writer)
	if zw == nil {
		var err error
		if zw, err = zlib.NewWriterLevel(&z, zlib.BestSpeed); err != nil {
			return nil, err
		}
	} else {
		zw.Reset(&z)
	}
	defer zlibPool.Put(zw)
	zw.Write(ops.Bytes())
	if err := zw.Close(); err != nil {
		return nil, err
	}
	return z.Bytes(), nil
}

// zlibPool keeps compressors, which take about a megabyte each, for reuse.
var zlibPool sync.Pool

// pdfQROps writes the content-stream operators that fill qr's dark
// modules, in module units with y pointing down. Runs are merged into
// rectangles to keep the stream small.
func pdfQROps(b *bytes.Buffer, qr *QR) {
	var num []byte
	for _, r := range qr.rects() {
		num = num[:0]
		for k, v := range r {
			if k > 0 {
				num = append(num, ' ')
			}
			num = strconv.AppendInt(num, int64(v), 10)
		}
		b.Write(num)
		b.WriteString(" re\n")
	}
	b.WriteString("f")
}

// pdfLines draws label text. The Noto Sans faces are in every document;
// the CJK font is added the first time a line needs it, so a document
// without Chinese does not carry it (fpdf embeds a subset of each font
// with the characters used).
type pdfLines struct {
	pdf   *fpdf.Fpdf
	added map[string]bool // families added beyond Noto Sans
}

func (t *pdfLines) draw(lines []textLine, x0, y0, pageH float64) {
	pdf := t.pdf
	for _, ln := range lines {
		x := x0 + ln.textX()
		for _, sp := range spans(ln.text, ln.bold) {
			if sp.face.family != fontFamily && !t.added[sp.face.family] {
				pdf.AddUTF8FontFromBytes(sp.face.family, sp.face.style, sp.face.ttf)
				if t.added == nil {
					t.added = map[string]bool{}
				}
				t.added[sp.face.family] = true
			}
			pdf.SetFont(sp.face.family, sp.face.style, ln.size)
			pdf.Text(x, y0+ln.y, sp.text)
			x += widthMM(sp.text, ln.bold, ln.size)
		}
		if ln.stars > 0 {
			centres, r := ln.starCentres()
			var b strings.Builder
			b.WriteString("q 0 g")
			for _, c := range centres {
				for j, p := range starPoints(x0+c[0], y0+c[1], r) {
					op := " l"
					if j == 0 {
						op = " m"
					}
					b.WriteString(" " + fmtNum(p[0]*ptPerMM) + " " + fmtNum((pageH-p[1])*ptPerMM) + op)
				}
				b.WriteString(" h")
			}
			b.WriteString(" f Q")
			pdf.RawWriteStr(b.String())
		}
	}
}

// sheetsFor lists preset sheets whose labels can hold qr.
func sheetsFor(qr *QR) []string {
	var out []string
	for _, p := range sheetPresets {
		room, err := qrRoom(p.LabelWidth, p.LabelHeight, p.Padding)
		if err == nil && sheetModules(room, qr.size) != nil {
			out = append(out, p.Name)
		}
	}
	return out
}
