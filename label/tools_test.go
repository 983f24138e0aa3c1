package label

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"image"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/trace"
)

// Tests here check labels the way a phone would: external decoders
// (zbarimg from zbar-tools, pdftoppm and pdftotext from poppler-utils,
// rsvg-convert from librsvg2-bin) read what this package wrote. Without a
// tool the test is skipped, except in CI (CI=true), where it fails.

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (Debian: apt-get install zbar-tools poppler-utils librsvg2-bin): %v", name, err)
		}
		t.Skipf("%s not installed (Debian: apt-get install zbar-tools poppler-utils librsvg2-bin); skipping", name)
	}
	return p
}

func run(t testing.TB, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(needTool(t, name), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}

// zbar decodes every QR code in the image files and returns their contents,
// sorted. zbarimg exits 4 when it finds nothing, which is reported as no
// symbols rather than an error.
func zbar(t testing.TB, files ...string) []string {
	t.Helper()
	args := append([]string{"--raw", "-q", "-Sdisable", "-Sqrcode.enable"}, files...)
	cmd := exec.Command(needTool(t, "zbarimg"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 4 {
		return nil
	}
	if err != nil {
		t.Fatalf("zbarimg: %v\n%s", err, stderr.String())
	}
	var got []string
	for _, l := range strings.Split(strings.TrimRight(string(out), "\n"), "\n") {
		if l != "" {
			got = append(got, l)
		}
	}
	slices.Sort(got)
	return got
}

// zbarEach decodes each image file on its own, in one zbarimg run, and
// returns what it read in each, by file.
func zbarEach(t testing.TB, files []string) map[string][]string {
	t.Helper()
	args := append([]string{"--xml", "-q", "-Sdisable", "-Sqrcode.enable"}, files...)
	cmd := exec.Command(needTool(t, "zbarimg"), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if ee, ok := err.(*exec.ExitError); ok && ee.ExitCode() == 4 {
		err = nil // nothing found anywhere
	}
	if err != nil {
		t.Fatalf("zbarimg: %v\n%s", err, stderr.String())
	}
	var doc struct {
		Sources []struct {
			Href    string `xml:"href,attr"`
			Symbols []struct {
				Type string `xml:"type,attr"`
				Data string `xml:"data"`
			} `xml:"index>symbol"`
		} `xml:"source"`
	}
	if err := xml.Unmarshal(out, &doc); err != nil {
		t.Fatalf("zbarimg --xml: %v\n%s", err, out)
	}
	got := map[string][]string{}
	for _, s := range doc.Sources {
		for _, sym := range s.Symbols {
			got[s.Href] = append(got[s.Href], sym.Data)
		}
	}
	return got
}

// pageLabels cuts each label of a sheet out of a 300 dpi page rendering,
// as a phone framing one sticker would see it, and decodes each alone.
// It returns what was read at each position.
func pageLabels(t testing.TB, page string, layout SheetLayout) [][]string {
	t.Helper()
	img := readPGM(t, page)
	l := layout.withDefaults()
	px := func(mm float64) int { return int(mm * 300 / 25.4) }
	dir := t.TempDir()
	var files []string
	for pos := 0; pos < l.Columns*l.Rows; pos++ {
		x0 := l.MarginLeft + float64(pos%l.Columns)*l.PitchX
		y0 := l.MarginTop + float64(pos/l.Columns)*l.PitchY
		crop := img.SubImage(image.Rect(px(x0), px(y0), px(x0+l.LabelWidth), px(y0+l.LabelHeight))).(*image.Gray)
		p := filepath.Join(dir, fmt.Sprintf("label-%03d.pgm", pos))
		writePGM(t, p, crop)
		files = append(files, p)
	}
	byFile := zbarEach(t, files)
	out := make([][]string, len(files))
	for i, p := range files {
		out[i] = byFile[p]
	}
	return out
}

// zbarImage writes img as PGM and decodes it.
func zbarImage(t testing.TB, img *image.Gray) []string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "qr.pgm")
	writePGM(t, p, img)
	return zbar(t, p)
}

func writePNGFile(t testing.TB, path string, img image.Image) {
	t.Helper()
	var b bytes.Buffer
	if err := png.Encode(&b, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// writePGM writes a binary PGM, which zbarimg reads and which costs
// nothing to write (images are large and the race detector slow).
func writePGM(t testing.TB, path string, img *image.Gray) {
	t.Helper()
	r := img.Bounds()
	b := make([]byte, 0, 20+r.Dx()*r.Dy())
	b = fmt.Appendf(b, "P5\n%d %d\n255\n", r.Dx(), r.Dy())
	for y := r.Min.Y; y < r.Max.Y; y++ {
		off := img.PixOffset(r.Min.X, y)
		b = append(b, img.Pix[off:off+r.Dx()]...)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}

// readPGM reads a binary PGM as pdftoppm -gray writes it.
func readPGM(t testing.TB, path string) *image.Gray {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var w, h, maxv int
	var n int
	if _, err := fmt.Sscanf(string(data[:min(len(data), 40)]), "P5\n%d %d\n%d\n", &w, &h, &maxv); err != nil || maxv != 255 {
		t.Fatalf("%s: not an 8-bit PGM: %v", path, err)
	}
	// The header is three lines.
	for i, lines := 0, 0; i < len(data) && lines < 3; i++ {
		if data[i] == '\n' {
			lines++
			n = i + 1
		}
	}
	if len(data)-n != w*h {
		t.Fatalf("%s: %d bytes of pixels for %dx%d", path, len(data)-n, w, h)
	}
	return &image.Gray{Pix: data[n:], Stride: w, Rect: image.Rect(0, 0, w, h)}
}

// pdfPages renders every page of a PDF at 300 dpi in grey and returns the
// PGM files.
func pdfPages(t testing.TB, pdf []byte) []string {
	t.Helper()
	dir := t.TempDir()
	in := filepath.Join(dir, "in.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	run(t, "pdftoppm", "-r", "300", "-gray", in, filepath.Join(dir, "page"))
	pages, err := filepath.Glob(filepath.Join(dir, "page-*.pgm"))
	if err != nil {
		t.Fatal(err)
	}
	// pdftoppm zero-pads page numbers to a common width, so names sort.
	slices.Sort(pages)
	return pages
}

// pdfText returns the text of a PDF page (1-based) with runs of white
// space folded to one space.
func pdfText(t testing.TB, pdf []byte, page int) string {
	t.Helper()
	in := filepath.Join(t.TempDir(), "in.pdf")
	if err := os.WriteFile(in, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	p := strconv.Itoa(page)
	out := run(t, "pdftotext", "-enc", "UTF-8", "-f", p, "-l", p, in, "-")
	return strings.Join(strings.Fields(string(out)), " ")
}

// Links used across the tests: real Digital Links whose lots hold the
// reserved characters '/', '&' and '+'.
const testBase = "https://trace.example.vn"

func testLink(t testing.TB, lot string) trace.DigitalLink {
	t.Helper()
	d, err := trace.DigitalLinkFromAIs([]trace.AIValue{
		{AI: "01", Value: "08931234567897"},
		{AI: "10", Value: lot},
		{AI: "7007", Value: "250815"},
		{AI: "422", Value: "704"},
	})
	if err != nil {
		t.Fatal(err)
	}
	return d
}

func testURI(t testing.TB, lot string) string {
	t.Helper()
	u, err := testLink(t, lot).URI(testBase)
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// rice is a label with every field filled.
func rice(t testing.TB) Content {
	return Content{
		URI:            testURI(t, "ST25/08&A+1"),
		Product:        "Gạo ST25 Sóc Trăng",
		ProductLang:    "ST25 fragrant rice",
		Cooperative:    "Hợp tác xã Mỹ Xuyên",
		Lot:            "ST25/08&A+1",
		Harvest:        time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC),
		OCOPStars:      4,
		Certifications: []string{"VietGAP", "GlobalG.A.P."},
	}
}

// small is a label that fits the smallest presets: a short link and the
// required fields only.
func small(t testing.TB) Content {
	uri, err := trace.BatchLinkURI(testBase, "st25k7")
	if err != nil {
		t.Fatal(err)
	}
	return Content{
		URI:         uri,
		Product:     "Gạo ST25",
		Cooperative: "HTX Mỹ Xuyên",
		Lot:         "ST25-0815",
		Harvest:     time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC),
	}
}

// serialItems gives label i the URI of lot-with-serial i and records the
// URIs it handed out.
func serialItems(t testing.TB, tmpl Content, got *[]string) func(int) (Content, error) {
	link := testLink(t, tmpl.Lot)
	return func(i int) (Content, error) {
		l := link
		l.Serial = fmt.Sprintf("S%04d/+&", i)
		uri, err := l.URI(testBase)
		if err != nil {
			return Content{}, err
		}
		c := tmpl
		c.URI, c.Serial = uri, l.Serial
		*got = append(*got, uri)
		return c, nil
	}
}

// bitsImage turns a 1-bit row-major bitmap into an image, scaled by scale
// and with a white border of border dots, as a scanner would see paper.
func bitsImage(data []byte, rowBytes, w, h int, blackBit bool, scale, border int) *image.Gray {
	img := image.NewGray(image.Rect(0, 0, (w+2*border)*scale, (h+2*border)*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	row := make([]byte, (w+2*border)*scale)
	for y := 0; y < h; y++ {
		for i := range row {
			row[i] = 0xff
		}
		for x := 0; x < w; x++ {
			if (data[y*rowBytes+x/8]&(0x80>>(x%8)) != 0) == blackBit {
				for dx := 0; dx < scale; dx++ {
					row[(x+border)*scale+dx] = 0
				}
			}
		}
		for dy := 0; dy < scale; dy++ {
			copy(img.Pix[((y+border)*scale+dy)*img.Stride:], row)
		}
	}
	return img
}
