package label

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
)

// thermalLabel is one label as a test reads it back from printer commands.
type thermalLabel struct {
	w, h     int // dots
	rowBytes int
	data     []byte // rowBytes*h bytes
	copies   int
	blackBit bool
}

var zplLabelRE = regexp.MustCompile(`^\^XA\n\^PW(\d+)\n\^LL(\d+)\n\^LH0,0\n\^FO0,0\^GFA,(\d+),(\d+),(\d+),([0-9A-Za-z,:!]*)\^FS\n\^PQ(\d+)\n\^XZ\n`)

// parseZPL reads back what WriteZPL wrote, checking the structure.
func parseZPL(t *testing.T, out []byte) []thermalLabel {
	t.Helper()
	for i, c := range out {
		if c >= 0x7f || (c < 0x20 && c != '\n') {
			t.Fatalf("byte %d of the ZPL is %#x: ZPL output must be printable ASCII", i, c)
		}
	}
	var labels []thermalLabel
	rest := string(out)
	for rest != "" {
		m := zplLabelRE.FindStringSubmatch(rest)
		if m == nil {
			t.Fatalf("unexpected ZPL at %.80q", rest)
		}
		rest = rest[len(m[0]):]
		n := func(i int) int { v, _ := strconv.Atoi(m[i]); return v }
		l := thermalLabel{w: n(1), h: n(2), rowBytes: n(5), copies: n(7), blackBit: true}
		if n(3) != n(4) || n(3) != l.rowBytes*l.h {
			t.Fatalf("^GFA byte counts %s,%s for %d rows of %d bytes", m[3], m[4], l.h, l.rowBytes)
		}
		if l.rowBytes != (l.w+7)/8 {
			t.Fatalf("%d bytes a row for a %d-dot label width", l.rowBytes, l.w)
		}
		l.data = zplDecompress(t, m[6], l.rowBytes, l.h)
		labels = append(labels, l)
	}
	return labels
}

// zplDecompress expands ZPL II compressed ASCII hex (the scheme of the ZPL
// programming guide: G–Y repeat 1–19, g–z repeat 20–400, ',' zero-fills
// the row, '!' one-fills it, ':' repeats the row above).
func zplDecompress(t *testing.T, s string, rowBytes, rows int) []byte {
	t.Helper()
	rowHex := 2 * rowBytes
	var hex []byte
	count := 0
	rowStart := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'G' && c <= 'Y':
			count += int(c-'G') + 1
		case c >= 'g' && c <= 'z':
			count += (int(c-'g') + 1) * 20
		case c == ',' || c == '!':
			fill := byte('0')
			if c == '!' {
				fill = 'F'
			}
			for len(hex)-rowStart < rowHex {
				hex = append(hex, fill)
			}
			count = 0
		case c == ':':
			if rowStart == 0 || len(hex) != rowStart {
				t.Fatalf("':' not at the start of a row (offset %d)", i)
			}
			hex = append(hex, hex[rowStart-rowHex:rowStart]...)
		case c >= '0' && c <= '9' || c >= 'A' && c <= 'F':
			if count == 0 {
				count = 1
			}
			if len(hex)-rowStart+count > rowHex {
				t.Fatalf("a run crosses the end of a row (offset %d)", i)
			}
			for range count {
				hex = append(hex, c)
			}
			count = 0
		default:
			t.Fatalf("unexpected %q in ^GFA data", c)
		}
		if len(hex)-rowStart == rowHex {
			rowStart = len(hex)
		}
	}
	if len(hex) != rowHex*rows {
		t.Fatalf("^GFA data expands to %d hex digits, want %d", len(hex), rowHex*rows)
	}
	out := make([]byte, rowBytes*rows)
	for i := range out {
		v, err := strconv.ParseUint(string(hex[2*i:2*i+2]), 16, 8)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = byte(v)
	}
	return out
}

var tsplBitmapRE = regexp.MustCompile(`^CLS\r\nBITMAP 0,0,(\d+),(\d+),0,`)
var tsplPrintRE = regexp.MustCompile(`^\r\nPRINT 1,(\d+)\r\n`)

// parseTSPL reads back what WriteTSPL wrote, checking the structure.
func parseTSPL(t *testing.T, out []byte, layout RollLayout) []thermalLabel {
	t.Helper()
	header := fmt.Sprintf("SIZE %s mm,%s mm\r\nGAP %s mm,0 mm\r\nDIRECTION 1\r\nREFERENCE 0,0\r\n",
		fmtNum(layout.Width), fmtNum(layout.Height), fmtNum(layout.withDefaults(203).Gap))
	if !bytes.HasPrefix(out, []byte(header)) {
		t.Fatalf("TSPL starts %.100q, want %q", out, header)
	}
	rest := out[len(header):]
	var labels []thermalLabel
	for len(rest) > 0 {
		m := tsplBitmapRE.FindSubmatch(rest)
		if m == nil {
			t.Fatalf("unexpected TSPL at %.60q", rest)
		}
		rest = rest[len(m[0]):]
		wb, _ := strconv.Atoi(string(m[1]))
		h, _ := strconv.Atoi(string(m[2]))
		if len(rest) < wb*h {
			t.Fatalf("BITMAP promises %d bytes, %d left", wb*h, len(rest))
		}
		l := thermalLabel{w: wb * 8, h: h, rowBytes: wb, data: rest[:wb*h]}
		rest = rest[wb*h:]
		p := tsplPrintRE.FindSubmatch(rest)
		if p == nil {
			t.Fatalf("no PRINT after the bitmap: %.40q", rest)
		}
		rest = rest[len(p[0]):]
		l.copies, _ = strconv.Atoi(string(p[1]))
		labels = append(labels, l)
	}
	return labels
}

func dots(mm float64, dpi int) int { return int(math.Round(mm * float64(dpi) / 25.4)) }

// TestThermalScan prints each roll preset at 203 and 300 dpi in both
// languages, reads the commands back, checks sizes against the roll and
// resolution, and decodes every label's bitmap with zbarimg.
func TestThermalScan(t *testing.T) {
	dl := func(t testing.TB) Content {
		c := small(t)
		c.Lot = "ST25/08&A+1"
		c.URI = testURI(t, c.Lot)
		return c
	}
	// Labels 0 and 1 differ; labels 2 and 3 are the same.
	serials := func(t testing.TB, tmpl Content, uris *[]string) func(int) (Content, error) {
		next := serialItems(t, tmpl, uris)
		return func(i int) (Content, error) { return next(min(i, 2)) }
	}
	lots := func(t testing.TB, tmpl Content, uris *[]string) func(int) (Content, error) {
		return func(i int) (Content, error) {
			c := tmpl
			c.Lot = fmt.Sprintf("ST25/08&A+%d", min(i, 2))
			c.URI = testURI(t, c.Lot)
			*uris = append(*uris, c.URI)
			return c, nil
		}
	}
	shorts := func(t testing.TB, tmpl Content, uris *[]string) func(int) (Content, error) {
		return func(i int) (Content, error) {
			c := tmpl
			c.URI = fmt.Sprintf("%s/b/st25k%d", testBase, min(i, 2))
			*uris = append(*uris, c.URI)
			return c, nil
		}
	}
	cases := []struct {
		roll    string
		dpi     int
		content func(testing.TB) Content
		items   func(testing.TB, Content, *[]string) func(int) (Content, error)
	}{
		{"roll-50x30", 203, rice, lots},
		{"roll-50x30", 300, rice, serials},
		{"roll-40x30", 203, dl, lots},
		{"roll-40x30", 300, rice, lots},
		{"roll-35x22", 203, small, shorts},
		{"roll-35x22", 300, dl, lots},
		{"roll-35x22", 600, dl, lots},
	}
	for _, tc := range cases {
		for _, lang := range []string{"zpl", "tspl"} {
			t.Run(fmt.Sprintf("%s/%d/%s", tc.roll, tc.dpi, lang), func(t *testing.T) {
				layout, err := RollLayoutByName(tc.roll)
				if err != nil {
					t.Fatal(err)
				}
				var uris []string
				items := tc.items(t, tc.content(t), &uris)
				var out bytes.Buffer
				write := WriteZPL
				if lang == "tspl" {
					write = WriteTSPL
				}
				if err := write(&out, layout, tc.dpi, Job{Count: 4, Item: items}); err != nil {
					t.Fatal(err)
				}
				var labels []thermalLabel
				if lang == "zpl" {
					labels = parseZPL(t, out.Bytes())
				} else {
					labels = parseTSPL(t, out.Bytes(), layout)
				}
				if len(labels) != 3 || labels[0].copies != 1 || labels[1].copies != 1 || labels[2].copies != 2 {
					t.Fatalf("got %d label formats; want 3, the last printed twice", len(labels))
				}
				wantW, wantH := dots(layout.Width, tc.dpi), dots(layout.Height, tc.dpi)
				for i, l := range labels {
					if lang == "zpl" && l.w != wantW {
						t.Errorf("^PW %d, want %d dots for %g mm at %d dpi", l.w, wantW, layout.Width, tc.dpi)
					}
					if l.rowBytes != (wantW+7)/8 || l.h != wantH || len(l.data) != l.rowBytes*wantH {
						t.Errorf("bitmap %d rows of %d bytes (%d bytes), want %d rows of %d bytes for %g×%g mm at %d dpi",
							l.h, l.rowBytes, len(l.data), wantH, (wantW+7)/8, layout.Width, layout.Height, tc.dpi)
					}
					img := bitsImage(l.data, l.rowBytes, wantW, l.h, l.blackBit, 2, 8)
					if got := zbarImage(t, img); len(got) != 1 || got[0] != uris[i] {
						t.Errorf("label %d: zbarimg read %q, want %q", i, got, uris[i])
					}
					if inkRight(l, wantW) < 200 {
						t.Errorf("label %d: almost no ink right of the QR code: the text is missing", i)
					}
				}
			})
		}
	}
}

// inkRight counts black dots in the right third of a label, where the text
// is.
func inkRight(l thermalLabel, w int) int {
	n := 0
	for y := 0; y < l.h; y++ {
		for x := w * 2 / 3; x < w; x++ {
			if (l.data[y*l.rowBytes+x/8]&(0x80>>(x%8)) != 0) == l.blackBit {
				n++
			}
		}
	}
	return n
}

func TestThermalRepeatIsOneFormat(t *testing.T) {
	layout, _ := RollLayoutByName("roll-50x30")
	var out bytes.Buffer
	n := 0
	if err := WriteZPL(&out, layout, 203, Job{Count: 500, Item: Repeat(rice(t)), Progress: func(done, total int) { n = done }}); err != nil {
		t.Fatal(err)
	}
	labels := parseZPL(t, out.Bytes())
	if len(labels) != 1 || labels[0].copies != 500 {
		t.Fatalf("%d formats, want one printed 500 times", len(labels))
	}
	if n != 500 {
		t.Errorf("progress reached %d, want 500", n)
	}
	// Compression: far fewer characters than plain hex of the bitmap.
	if plain := 2 * len(labels[0].data); out.Len()*3 > plain {
		t.Errorf("ZPL is %d bytes for %d bytes of plain hex: compression is not working", out.Len(), plain)
	}
}

func TestThermalErrors(t *testing.T) {
	signed := rice(t)
	signed.URI = testBase + "/01/08931234567897/10/ST25%2F08%26A%2B1/21/ABCDEFGHJKLM?7007=250815&422=704&s=" + strings.Repeat("A", 86)
	roll := func(name string) RollLayout {
		l, err := RollLayoutByName(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	tests := []struct {
		name   string
		layout RollLayout
		dpi    int
		job    Job
		want   []string
	}{
		{"dpi", roll("roll-50x30"), 250, Job{Count: 1, Item: Repeat(rice(t))}, []string{"250 dpi", "203, 300 or 600"}},
		{"count", roll("roll-50x30"), 203, Job{Count: 100001, Item: Repeat(rice(t))}, []string{"1 to 100000"}},
		{"skip", roll("roll-50x30"), 203, Job{Count: 1, Skip: 1, Item: Repeat(rice(t))}, []string{"sheets, not rolls"}},
		{"Digital Link on the smallest roll at 203 dpi", roll("roll-35x22"), 203, Job{Count: 1, Item: Repeat(rice(t))},
			[]string{"roll-35x22 at 203 dpi", "0.38 mm", "below the 0.40 mm", "roll-50x30 at 203 dpi", "error correction L", "/b/"}},
		{"signed link", roll("roll-40x30"), 203, Job{Count: 1, Item: Repeat(signed)}, []string{"roll-40x30 at 203 dpi", "roll-50x30 at 300 dpi", "leave out the signature"}},
		{"custom roll too narrow", RollLayout{Name: "tem-25", Width: 25, Height: 15}, 203, Job{Count: 1, Item: Repeat(small(t))}, []string{"tem-25", "at least 16 mm"}},
		{"negative gap", RollLayout{Width: 50, Height: 30, Gap: -1}, 203, Job{Count: 1, Item: Repeat(small(t))}, []string{"gap -1 mm"}},
	}
	for _, tc := range tests {
		for _, write := range []func(*bytes.Buffer, RollLayout, int, Job) error{
			func(b *bytes.Buffer, l RollLayout, d int, j Job) error { return WriteZPL(b, l, d, j) },
			func(b *bytes.Buffer, l RollLayout, d int, j Job) error { return WriteTSPL(b, l, d, j) },
		} {
			t.Run(tc.name, func(t *testing.T) {
				var b bytes.Buffer
				err := write(&b, tc.layout, tc.dpi, tc.job)
				if err == nil {
					t.Fatal("no error")
				}
				if !errors.Is(err, trace.ErrInvalid) {
					t.Errorf("%v does not wrap trace.ErrInvalid", err)
				}
				for _, w := range tc.want {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				if b.Len() != 0 {
					t.Errorf("%d bytes written before the error on the first label", b.Len())
				}
			})
		}
	}
	if _, err := RollLayoutByName("roll-100x150"); err == nil || !strings.Contains(err.Error(), "roll-50x30") {
		t.Errorf("unknown roll: %v", err)
	}
}

func TestZPLRunLengths(t *testing.T) {
	for _, n := range []int{1, 2, 3, 19, 20, 21, 39, 40, 45, 399, 400, 401, 1234} {
		var b bytes.Buffer
		w := bufio.NewWriter(&b)
		zplRun(w, n, 'F')
		w.Flush()
		rowBytes := (n + 1) / 2
		hex := b.String()
		if n%2 == 1 {
			hex += "0"
		}
		got := zplDecompress(t, hex, rowBytes, 1)
		want := bytes.Repeat([]byte{0xFF}, n/2)
		if n%2 == 1 {
			want = append(want, 0xF0)
		}
		if !bytes.Equal(got, want) {
			t.Errorf("run of %d: %q expands to %x", n, b.String(), got)
		}
	}
}

// TestRunsAreStreamed checks that a run asks for labels only a bounded
// window ahead of drawing them, so a long run never holds all its items,
// and stops asking once it fails.
func TestRunsAreStreamed(t *testing.T) {
	roll, _ := RollLayoutByName("roll-50x30")
	sheet, _ := SheetLayoutByName("a4-4x10")
	writers := map[string]func(io.Writer, Job) error{
		"zpl":  func(w io.Writer, j Job) error { return WriteZPL(w, roll, 203, j) },
		"tspl": func(w io.Writer, j Job) error { return WriteTSPL(w, roll, 203, j) },
		"pdf":  func(w io.Writer, j Job) error { return WritePDF(w, sheet, j) },
	}
	for name, write := range writers {
		t.Run(name, func(t *testing.T) {
			var fetched atomic.Int64
			lead := int64(0)
			base := small(t)
			job := Job{
				Count: 300,
				Item: func(i int) (Content, error) {
					fetched.Add(1)
					c := base
					c.URI = fmt.Sprintf("%s/b/k%d", testBase, i)
					return c, nil
				},
				Progress: func(done, total int) { lead = max(lead, fetched.Load()-int64(done)) },
			}
			if err := write(io.Discard, job); err != nil {
				t.Fatal(err)
			}
			if limit := int64(prepareWindow + runtime.GOMAXPROCS(0) + 2); lead > limit {
				t.Errorf("fetched up to %d labels ahead of drawing, want at most %d", lead, limit)
			}
			if fetched.Load() != 300 {
				t.Errorf("Item called %d times, want 300", fetched.Load())
			}

			// A failing label ends the run, and Item is not called after.
			fetched.Store(0)
			job.Item = func(i int) (Content, error) {
				fetched.Add(1)
				if i == 100 {
					return Content{}, errors.New("no more")
				}
				return base, nil
			}
			job.Progress = nil
			if err := write(io.Discard, job); err == nil || !strings.Contains(err.Error(), "label 101: no more") {
				t.Errorf("error = %v", err)
			}
			after := fetched.Load()
			if after != 101 {
				t.Errorf("Item called %d times for a run that failed at label 101", after)
			}
		})
	}
}
