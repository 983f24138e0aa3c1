package label

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
)

// WriteZPL writes job for a Zebra (ZPL II) printer of the given resolution
// (203, 300 or 600 dpi) loaded with layout's roll.
//
// Each distinct label is one ^GFA graphic field covering the whole label,
// in ZPL's ASCII hex with its run-length compression, so that Vietnamese
// text prints with the embedded font and the QR code is exactly the
// symbol that was checked; consecutive identical labels are sent once
// with ^PQ. The printer's media settings (gap or mark sensing, direct or
// transfer) are left as configured. Output is buffered: an error on the
// first label leaves w untouched; after a later error, discard what was
// written.
func WriteZPL(w io.Writer, layout RollLayout, dpi int, job Job) error {
	return writeThermal(w, layout, dpi, job, zplWriter{})
}

// WriteTSPL writes job for a TSC (TSPL/TSPL2) printer, or one of the many
// that speak TSPL, of the given resolution loaded with layout's roll.
//
// The job starts with SIZE, GAP, DIRECTION 1 and REFERENCE; each distinct
// label is then CLS, one BITMAP covering the whole label (binary, 0 bits
// print) and PRINT 1,<copies>.
func WriteTSPL(w io.Writer, layout RollLayout, dpi int, job Job) error {
	return writeThermal(w, layout, dpi, job, tsplWriter{})
}

type thermalFormat interface {
	header(w *bufio.Writer, p *rollPlan)
	label(w *bufio.Writer, p *rollPlan, r *rasterizer, copies int, scratch []byte) []byte
}

func writeThermal(w io.Writer, layout RollLayout, dpi int, job Job, f thermalFormat) error {
	if err := checkDPI(dpi); err != nil {
		return err
	}
	if err := job.check(); err != nil {
		return err
	}
	if job.Skip != 0 {
		return fieldErr("skip", "skipping labels applies to sheets, not rolls")
	}
	p, err := newRollPlan(layout, dpi)
	if err != nil {
		return err
	}
	r := newRasterizer(p)
	bw := bufio.NewWriterSize(w, 64<<10)
	labels, stop := job.prepare(nil)
	defer stop()
	var (
		pending Content
		copies  int
		qr      *QR
		scratch []byte
	)
	flush := func() {
		if copies > 0 {
			scratch = f.label(bw, p, r, copies, scratch)
		}
	}
	for i := 0; i < job.Count; i++ {
		slot, ok := <-labels
		if !ok {
			return fmt.Errorf("label: internal error: run ended after %d labels", i)
		}
		pr := <-slot
		if pr.err != nil {
			return pr.err
		}
		c := pr.c
		if !pr.same {
			qr = pr.qr
		}
		if copies > 0 && sameContent(&pending, &c) {
			copies++
			job.progress(i + 1)
			continue
		}
		if i == 0 {
			f.header(bw, p)
		}
		flush()
		// Draw now, so an error is reported for the label that caused it.
		if err := r.draw(&c, qr); err != nil {
			return fmt.Errorf("label %d: %w", i+1, err)
		}
		pending, copies = c, 1
		job.progress(i + 1)
	}
	flush()
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("label: writing: %w", err)
	}
	return nil
}

type zplWriter struct{}

func (zplWriter) header(*bufio.Writer, *rollPlan) {}

func (zplWriter) label(w *bufio.Writer, p *rollPlan, r *rasterizer, copies int, scratch []byte) []byte {
	data := r.pack(scratch, true)
	total := strconv.Itoa(len(data))
	w.WriteString("^XA\n^PW" + strconv.Itoa(p.w) + "\n^LL" + strconv.Itoa(p.h) + "\n^LH0,0\n")
	w.WriteString("^FO0,0^GFA," + total + "," + total + "," + strconv.Itoa(p.rowSize) + ",")
	zplCompress(w, data, p.rowSize)
	w.WriteString("^FS\n^PQ" + strconv.Itoa(copies) + "\n^XZ\n")
	return data
}

// zplCompress writes bitmap rows as ZPL II compressed ASCII hex: a run of
// n equal hex digits becomes a count (G–Y for 1–19, g–z for 20–400 in
// steps of 20) followed by the digit; ',' fills the rest of a row with 0;
// ':' repeats the previous row.
func zplCompress(w *bufio.Writer, data []byte, rowSize int) {
	const hexDigits = "0123456789ABCDEF"
	hexRow := make([]byte, 2*rowSize)
	var prev []byte
	for off := 0; off < len(data); off += rowSize {
		row := data[off : off+rowSize]
		if prev != nil && string(prev) == string(row) {
			w.WriteByte(':')
			continue
		}
		prev = row
		for i, b := range row {
			hexRow[2*i] = hexDigits[b>>4]
			hexRow[2*i+1] = hexDigits[b&15]
		}
		end := len(hexRow)
		for end > 0 && hexRow[end-1] == '0' {
			end--
		}
		for i := 0; i < end; {
			j := i + 1
			for j < end && hexRow[j] == hexRow[i] {
				j++
			}
			zplRun(w, j-i, hexRow[i])
			i = j
		}
		if end < len(hexRow) {
			w.WriteByte(',')
		}
	}
}

// zplRun writes n copies of the hex digit c.
func zplRun(w *bufio.Writer, n int, c byte) {
	for n > 0 {
		k := min(n, 400)
		n -= k
		if k < 3 {
			for range k {
				w.WriteByte(c)
			}
			continue
		}
		if k >= 20 {
			w.WriteByte(byte('g' + k/20 - 1))
		}
		if k%20 > 0 {
			w.WriteByte(byte('G' + k%20 - 1))
		}
		w.WriteByte(c)
	}
}

type tsplWriter struct{}

func (tsplWriter) header(w *bufio.Writer, p *rollPlan) {
	l := p.layout
	w.WriteString("SIZE " + fmtNum(l.Width) + " mm," + fmtNum(l.Height) + " mm\r\n")
	w.WriteString("GAP " + fmtNum(l.Gap) + " mm,0 mm\r\n")
	w.WriteString("DIRECTION 1\r\nREFERENCE 0,0\r\n")
}

func (tsplWriter) label(w *bufio.Writer, p *rollPlan, r *rasterizer, copies int, scratch []byte) []byte {
	data := r.pack(scratch, false)
	w.WriteString("CLS\r\nBITMAP 0,0," + strconv.Itoa(p.rowSize) + "," + strconv.Itoa(p.h) + ",0,")
	w.Write(data)
	w.WriteString("\r\nPRINT 1," + strconv.Itoa(copies) + "\r\n")
	return data
}
