package label

import (
	"fmt"
	"runtime"
	"sync"

	"github.com/truyxuat/truyxuat/trace"
)

// MaxCount is the most labels one run prints.
const MaxCount = 100000

// Job is one print run. Labels are produced one at a time from Item, so a
// run never holds more than the label being drawn (and, for PDF, the pages
// fpdf keeps until it writes the file).
type Job struct {
	// Count is the number of labels, 1 to MaxCount.
	Count int
	// Item returns the content of label i (0-based). It is called once
	// per label, in order, from one goroutine (not necessarily the
	// caller's), and never after the writer returns. Repeat and Serials
	// make common ones.
	Item func(i int) (Content, error)
	// Level is the QR error-correction level; empty means M.
	Level ECLevel
	// Progress, when set, is called after each label is drawn with the
	// number done so far and Count. The PDF writer then still has to
	// write the file.
	Progress func(done, total int)
	// Skip leaves the first Skip positions of the first sheet empty, so a
	// part-used sheet can go back in the printer. PDF only.
	Skip int
}

func (j *Job) check() error {
	if j.Count < 1 || j.Count > MaxCount {
		return fieldErr("count", fmt.Sprintf("%d labels is out of range: print 1 to %d labels in one run", j.Count, MaxCount))
	}
	if j.Item == nil {
		return fieldErr("item", "no label content: set Job.Item (see Repeat and Serials)")
	}
	if _, _, err := j.Level.normalize(); err != nil {
		return err
	}
	if j.Skip < 0 {
		return fieldErr("skip", fmt.Sprintf("cannot skip %d labels", j.Skip))
	}
	return nil
}

// item fetches, checks and normalises label i.
func (j *Job) item(i int) (Content, error) {
	c, err := j.Item(i)
	if err != nil {
		return Content{}, fmt.Errorf("label %d: %w", i+1, err)
	}
	n, err := c.normalized()
	if err != nil {
		return Content{}, fmt.Errorf("label %d: %w", i+1, err)
	}
	return n, nil
}

// prepared is one label ready to draw: its content and QR code. same means
// the QR code is the previous label's.
type prepared struct {
	c     Content
	qr    *QR
	extra []byte // what the writer's hook made of qr
	same  bool
	err   error
}

// prepareWindow bounds how many labels are fetched ahead of the one being
// drawn, and so the memory a run holds for them.
const prepareWindow = 64

// prepare fetches the labels in order on one goroutine and encodes their QR
// codes on as many workers as there are CPUs (each with its own encoder),
// since encoding is most of the work of a run with per-unit serials.
// hook, if set, runs on the worker after each new QR code (the PDF writer
// compresses the symbol there). Labels come out of the returned channel in
// order. stop ends the run early and returns once no goroutine of it is
// left; call it in any case.
func (j *Job) prepare(hook func(*QR) ([]byte, error)) (labels <-chan chan prepared, stop func()) {
	order := make(chan chan prepared, prepareWindow)
	work := make(chan func(), prepareWindow)
	done := make(chan struct{})
	var wg sync.WaitGroup
	for range max(1, runtime.GOMAXPROCS(0)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for f := range work {
				f()
			}
		}()
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		defer close(order)
		defer close(work)
		prevURI := ""
		for i := 0; i < j.Count; i++ {
			slot := make(chan prepared, 1)
			select {
			case order <- slot:
			case <-done:
				return
			}
			c, err := j.item(i)
			if err != nil {
				slot <- prepared{err: err}
				return
			}
			if c.URI == prevURI {
				slot <- prepared{c: c, same: true}
				continue
			}
			prevURI = c.URI
			label := i + 1
			task := func() {
				qr, err := EncodeQR(c.URI, j.Level)
				var extra []byte
				if err == nil && hook != nil {
					extra, err = hook(qr)
				}
				if err != nil {
					err = fmt.Errorf("label %d: %w", label, err)
				}
				slot <- prepared{c: c, qr: qr, extra: extra, err: err}
			}
			select {
			case work <- task:
			case <-done:
				return
			}
		}
	}()
	var once sync.Once
	return order, func() {
		once.Do(func() { close(done) })
		wg.Wait()
	}
}

func (j *Job) progress(done int) {
	if j.Progress != nil {
		j.Progress(done, j.Count)
	}
}

// Repeat returns an Item function that prints c on every label.
func Repeat(c Content) func(int) (Content, error) {
	return func(int) (Content, error) { return c, nil }
}

// Serials returns an Item function that prints tmpl on every label with a
// fresh random serial number (GS1 AI 21, see NewSerial) in both the text
// and the QR code: link, with the serial added, rendered on base. link
// must have a GTIN. Any signature in link (AddSignature) stays valid, as it
// does not cover the serial.
func Serials(base string, link trace.DigitalLink, tmpl Content) func(int) (Content, error) {
	return func(int) (Content, error) {
		if link.GTIN == "" {
			return Content{}, fieldErr("serial", "serial numbers (AI 21) need a GTIN (AI 01) in the link")
		}
		s, err := NewSerial()
		if err != nil {
			return Content{}, err
		}
		l := link
		l.Serial = s
		uri, err := l.URI(base)
		if err != nil {
			return Content{}, err
		}
		c := tmpl
		c.URI = uri
		c.Serial = s
		return c, nil
	}
}
