package label

import (
	"bytes"
	"errors"
	"fmt"
	"image"
	"image/color"
	"image/png"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	qrcode "github.com/skip2/go-qrcode"
	"github.com/truyxuat/truyxuat/trace"
)

func TestEncodeQR(t *testing.T) {
	long := testBase + "/01/08931234567897/10/ABCDEFGHIJKLMNOPQRST/21/ABCDEFGHIJKLMNOPQRST?7007=250815250820&s=" + strings.Repeat("A", 86)
	tests := []struct {
		name    string
		content string
		level   ECLevel
		wantErr string
	}{
		{"short link, default level is M", testBase + "/b/st25k7", "", ""},
		{"Digital Link at M", testURI(t, "ST25/08&A+1"), ECMedium, ""},
		{"same at L", testURI(t, "ST25/08&A+1"), ECLow, ""},
		{"same at Q", testURI(t, "ST25/08&A+1"), ECQuartile, ""},
		{"same at H", testURI(t, "ST25/08&A+1"), ECHigh, ""},
		{"signed link with serial", long, ECMedium, ""},
		{"unknown level", testBase, "X", "unknown QR error-correction level"},
		{"empty", "", "", "empty"},
		{"not ASCII", testBase + "/b/lô", "", "not printable ASCII"},
		{"newline", testBase + "\n", "", "not printable ASCII"},
		{"too long", testBase + "/" + strings.Repeat("x", 3000), ECHigh, "do not fit"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			q, err := EncodeQR(tc.content, tc.level)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !errors.Is(err, trace.ErrInvalid) {
					t.Fatalf("error = %v, want one mentioning %q that wraps trace.ErrInvalid", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			// The smallest version that fits: one less does not.
			_, rl, _ := tc.level.normalize()
			if _, err := qrcode.NewWithForcedVersion(tc.content, q.Version(), rl); err != nil {
				t.Errorf("version %d does not hold the content: %v", q.Version(), err)
			}
			if q.Version() > 1 {
				if _, err := qrcode.NewWithForcedVersion(tc.content, q.Version()-1, rl); err == nil {
					t.Errorf("version %d chosen, but %d holds the content", q.Version(), q.Version()-1)
				}
			}
			if q.Size() != 17+4*q.Version()+2*QuietZone {
				t.Errorf("size %d for version %d", q.Size(), q.Version())
			}
			if q.Content() != tc.content {
				t.Errorf("content changed")
			}
			if want := ECMedium; tc.level == "" && q.Level() != want {
				t.Errorf("level %s, want %s", q.Level(), want)
			}
			for i := 0; i < q.Size(); i++ {
				for _, p := range [][2]int{{i, 0}, {0, i}, {i, q.Size() - 1}, {q.Size() - 1, i}, {i, QuietZone - 1}, {QuietZone - 1, i}} {
					if q.Dark(p[0], p[1]) {
						t.Fatalf("module %v in the quiet zone is dark", p)
					}
				}
			}
			// The finder pattern's corner module is dark.
			if !q.Dark(QuietZone, QuietZone) {
				t.Error("top-left finder pattern missing")
			}
		})
	}
}

// phoneURIs are real links a label may carry, with reserved characters.
func phoneURIs(t *testing.T) []string {
	d := testLink(t, "ST25/08&A+1")
	d.Serial = "K7+Z/9&Q"
	withSerial, err := d.URI(testBase)
	if err != nil {
		t.Fatal(err)
	}
	return []string{
		testURI(t, "ST25/08&A+1"),
		testURI(t, "TL2025-0815"),
		withSerial,
		testBase + "/b/st25k7",
		"https://id.example.vn/01/05412345000013/10/ABC%26%2B123?3103=000189&3923=2172",
	}
}

func TestPNGDecodes(t *testing.T) {
	for _, uri := range phoneURIs(t) {
		for _, level := range []ECLevel{ECLow, ECMedium, ECHigh} {
			for _, scale := range []int{3, 8} {
				t.Run(fmt.Sprintf("%s/%s/x%d", uri, level, scale), func(t *testing.T) {
					q, err := EncodeQR(uri, level)
					if err != nil {
						t.Fatal(err)
					}
					var b bytes.Buffer
					if err := q.WritePNG(&b, scale); err != nil {
						t.Fatal(err)
					}
					img, err := png.Decode(bytes.NewReader(b.Bytes()))
					if err != nil {
						t.Fatal(err)
					}
					if got := img.Bounds().Dx(); got != q.Size()*scale || img.Bounds().Dy() != got {
						t.Fatalf("PNG is %v, want %d px square (whole pixels per module)", img.Bounds(), q.Size()*scale)
					}
					checkWholeModules(t, img, q, scale)
					p := filepath.Join(t.TempDir(), "qr.png")
					if err := os.WriteFile(p, b.Bytes(), 0o644); err != nil {
						t.Fatal(err)
					}
					if got := zbar(t, p); len(got) != 1 || got[0] != uri {
						t.Fatalf("zbarimg read %q, want %q", got, uri)
					}
				})
			}
		}
	}
}

// checkWholeModules checks that each module is a solid scale×scale square.
func checkWholeModules(t *testing.T, img image.Image, q *QR, scale int) {
	t.Helper()
	for y := 0; y < img.Bounds().Dy(); y++ {
		for x := 0; x < img.Bounds().Dx(); x++ {
			g := color.GrayModel.Convert(img.At(x, y)).(color.Gray).Y
			if dark := g < 128; dark != q.Dark(x/scale, y/scale) {
				t.Fatalf("pixel %d,%d does not match module %d,%d", x, y, x/scale, y/scale)
			}
		}
	}
}

// rasterSVG is a tiny rasteriser for the SVG this package writes: a
// viewBox, a white rectangle and one path of "Mx yhWvHh-Wz" rectangles. It
// fails on anything else, so the test also pins the format down.
func rasterSVG(t *testing.T, svg string, scale int) *image.Gray {
	t.Helper()
	vb := regexp.MustCompile(`viewBox="0 0 (\d+) (\d+)"`).FindStringSubmatch(svg)
	d := regexp.MustCompile(`<path fill="#000" d="([^"]*)"/>`).FindStringSubmatch(svg)
	if vb == nil || d == nil || vb[1] != vb[2] {
		t.Fatalf("unexpected SVG:\n%s", svg)
	}
	n, _ := strconv.Atoi(vb[1])
	img := image.NewGray(image.Rect(0, 0, n*scale, n*scale))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	rect := regexp.MustCompile(`^M(\d+) (\d+)h(\d+)v(\d+)h-(\d+)z`)
	rest := d[1]
	for rest != "" {
		m := rect.FindStringSubmatch(rest)
		if m == nil || m[3] != m[5] {
			t.Fatalf("unexpected path data at %.40q", rest)
		}
		rest = rest[len(m[0]):]
		v := make([]int, 4)
		for i := range v {
			v[i], _ = strconv.Atoi(m[i+1])
		}
		for y := v[1] * scale; y < (v[1]+v[3])*scale; y++ {
			for x := v[0] * scale; x < (v[0]+v[2])*scale; x++ {
				img.Pix[y*img.Stride+x] = 0
			}
		}
	}
	return img
}

func TestSVGDecodes(t *testing.T) {
	for _, uri := range phoneURIs(t) {
		t.Run(uri, func(t *testing.T) {
			q, err := EncodeQR(uri, "")
			if err != nil {
				t.Fatal(err)
			}
			var b bytes.Buffer
			if err := q.WriteSVG(&b, 4); err != nil {
				t.Fatal(err)
			}
			svg := b.String()
			if strings.Count(svg, "<path") != 1 {
				t.Errorf("want exactly one path, got %d", strings.Count(svg, "<path"))
			}
			// Merged runs keep it small: far fewer rectangles than dark modules.
			dark := 0
			for y := 0; y < q.Size(); y++ {
				for x := 0; x < q.Size(); x++ {
					if q.Dark(x, y) {
						dark++
					}
				}
			}
			if rects := strings.Count(svg, "M"); rects*2 > dark {
				t.Errorf("%d rectangles for %d dark modules: runs are not merged", rects, dark)
			}
			img := rasterSVG(t, svg, 4)
			checkWholeModules(t, img, q, 4)
			if got := zbarImage(t, img); len(got) != 1 || got[0] != uri {
				t.Fatalf("zbarimg read %q from the rasterised SVG, want %q", got, uri)
			}
			t.Run("rsvg-convert", func(t *testing.T) {
				dir := t.TempDir()
				in, out := filepath.Join(dir, "qr.svg"), filepath.Join(dir, "qr.png")
				if err := os.WriteFile(in, b.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				run(t, "rsvg-convert", "-b", "white", "-o", out, in)
				if got := zbar(t, out); len(got) != 1 || got[0] != uri {
					t.Fatalf("zbarimg read %q from rsvg-convert's rendering, want %q", got, uri)
				}
			})
		})
	}
}

func TestImageScale(t *testing.T) {
	q, err := EncodeQR(testBase, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []int{0, -1, 100000} {
		if _, err := q.Image(s); err == nil {
			t.Errorf("scale %d accepted", s)
		}
	}
	if err := q.WriteSVG(&bytes.Buffer{}, 0); err == nil {
		t.Error("SVG scale 0 accepted")
	}
}
