package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"hash/crc32"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"io"
	"math/rand/v2"
	"mime/multipart"
	"net/http"
	"net/textproto"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"

	"golang.org/x/image/webp"

	"github.com/truyxuat/truyxuat/trace"
)

// upload sends a file as the raw body with a Content-Type.
func (e *testEnv) upload(key, contentType string, data []byte, checkRequest bool) *response {
	e.t.Helper()
	h := map[string]string{"Accept": "application/json"}
	if contentType != "" {
		h["Content-Type"] = contentType
	}
	return e.send("POST", "/api/v1/attachments", key, h, data, checkRequest)
}

// uploadForm sends a file as a browser form does: multipart/form-data
// with the file in a field (with a file name and a part type).
func (e *testEnv) uploadForm(key, field, filename, partType string, data []byte, checkRequest bool) *response {
	e.t.Helper()
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	h := textproto.MIMEHeader{}
	h.Set("Content-Disposition", `form-data; name="`+field+`"; filename="`+filename+`"`)
	h.Set("Content-Type", partType)
	w, _ := mw.CreatePart(h)
	w.Write(data)
	mw.Close()
	return e.send("POST", "/api/v1/attachments", key,
		map[string]string{"Content-Type": mw.FormDataContentType(), "Accept": "application/json"}, buf.Bytes(), checkRequest)
}

func (e *testEnv) fetch(path string, header map[string]string) *response {
	e.t.Helper()
	return e.send("GET", path, "", header, nil, true)
}

// gradient is an opaque image whose left half is reddish and right half bluish.
func gradient(w, h int) image.Image {
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			c := color.RGBA{220, 40, uint8(y * 255 / h), 255}
			if x >= w/2 {
				c = color.RGBA{30, uint8(y * 255 / h), 220, 255}
			}
			img.SetRGBA(x, y, c)
		}
	}
	return img
}

func jpegBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := jpeg.Encode(&buf, img, &jpeg.Options{Quality: 90}); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func pngBytes(t testing.TB, img image.Image) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// withOrientation inserts an EXIF APP1 segment with an orientation tag
// after a JPEG's SOI marker, as a phone camera writes it.
func withOrientation(jpg []byte, orientation uint16) []byte {
	tiff := []byte("MM\x00\x2a\x00\x00\x00\x08")
	tiff = binary.BigEndian.AppendUint16(tiff, 1)                         // one entry
	tiff = binary.BigEndian.AppendUint16(tiff, 0x0112)                    // Orientation
	tiff = binary.BigEndian.AppendUint16(tiff, 3)                         // SHORT
	tiff = binary.BigEndian.AppendUint32(tiff, 1)                         // count
	tiff = append(binary.BigEndian.AppendUint16(tiff, orientation), 0, 0) // value, padded
	tiff = binary.BigEndian.AppendUint32(tiff, 0)                         // no next IFD
	payload := append([]byte("Exif\x00\x00"), tiff...)
	seg := binary.BigEndian.AppendUint16([]byte{0xff, 0xe1}, uint16(len(payload)+2))
	seg = append(seg, payload...)
	out := append([]byte{}, jpg[:2]...)
	out = append(out, seg...)
	return append(out, jpg[2:]...)
}

// pngHeaderOnly is a PNG signature and an IHDR chunk claiming w×h pixels,
// with no image data: a decompression bomb's header.
func pngHeaderOnly(w, h uint32) []byte {
	ihdr := binary.BigEndian.AppendUint32([]byte("IHDR"), w)
	ihdr = binary.BigEndian.AppendUint32(ihdr, h)
	ihdr = append(ihdr, 8, 6, 0, 0, 0)
	out := append([]byte{}, pngSignature...)
	out = binary.BigEndian.AppendUint32(out, 13)
	out = append(out, ihdr...)
	return binary.BigEndian.AppendUint32(out, crc32.ChecksumIEEE(ihdr))
}

const tinyPDF = "%PDF-1.4\n1 0 obj\n<< /Type /Catalog >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n"

func sha(b []byte) string {
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:])
}

func decodeSize(t *testing.T, b []byte) (int, int) {
	t.Helper()
	cfg, format, err := image.DecodeConfig(bytes.NewReader(b))
	if err != nil || format != "jpeg" {
		t.Fatalf("not a JPEG (%s): %v", format, err)
	}
	return cfg.Width, cfg.Height
}

func TestAttachmentUploadAndServe(t *testing.T) {
	e := newEnv(t)
	key, _, _ := e.seed("HTX Ảnh", "", "LOT-1")
	webpData, err := os.ReadFile("testdata/photo.webp")
	if err != nil {
		t.Fatal(err)
	}
	if cfg, err := webp.DecodeConfig(bytes.NewReader(webpData)); err != nil || cfg.Width != 400 || cfg.Height != 240 {
		t.Fatalf("testdata/photo.webp: %+v, %v", cfg, err)
	}
	jpg := jpegBytes(t, gradient(1600, 1200))
	pngData := pngBytes(t, gradient(300, 200))
	tests := []struct {
		name, mediaType string
		data            []byte
		width, height   int
		send            func([]byte) *response
	}{
		{"JPEG as image/jpeg", "image/jpeg", jpg, 1600, 1200, func(b []byte) *response { return e.upload(key, "image/jpeg", b, true) }},
		{"PNG from a phone form", "image/png", pngData, 300, 200, func(b []byte) *response { return e.uploadForm(key, "file", "IMG_0001.png", "image/png", b, true) }},
		{"WebP with no type", "image/webp", webpData, 400, 240, func(b []byte) *response { return e.upload(key, "application/octet-stream", b, true) }},
		{"PDF", "application/pdf", []byte(tinyPDF), 0, 0, func(b []byte) *response { return e.upload(key, "application/pdf", b, true) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.send(tt.data)
			e.expect(r, 201)
			var up AttachmentUpload
			r.decode(t, &up)
			want := AttachmentUpload{SHA256: sha(tt.data), MediaType: tt.mediaType, Size: int64(len(tt.data)),
				URL: "https://trace.example.vn/attachments/" + sha(tt.data), Width: tt.width, Height: tt.height}
			if up != want {
				t.Fatalf("upload answered %+v, want %+v", up, want)
			}
			if loc := r.header.Get("Location"); loc != "/attachments/"+up.SHA256 {
				t.Errorf("Location %q", loc)
			}

			// Stored once: the same bytes again answer 200 with the same hash.
			r = tt.send(tt.data)
			e.expect(r, 200)
			var again AttachmentUpload
			r.decode(t, &again)
			if again != want {
				t.Errorf("second upload answered %+v", again)
			}

			// Asked for gzip, which would only waste time on these.
			r = e.fetch("/attachments/"+up.SHA256, map[string]string{"Accept-Encoding": "gzip"})
			e.expect(r, 200)
			if !bytes.Equal(r.body, tt.data) {
				t.Fatalf("served %d bytes, not the %d uploaded", len(r.body), len(tt.data))
			}
			ext := extension(tt.mediaType)
			// A PDF is a sandboxed download; images are shown inline.
			disposition, csp := "inline", ""
			if tt.mediaType == "application/pdf" {
				disposition, csp = "attachment", "sandbox"
			}
			for h, v := range map[string]string{
				"Content-Type":            tt.mediaType,
				"Content-Length":          strconv.Itoa(len(tt.data)),
				"ETag":                    `"` + up.SHA256 + `"`,
				"Cache-Control":           "public, max-age=31536000, immutable",
				"X-Content-Type-Options":  "nosniff",
				"Content-Disposition":     disposition + `; filename="` + up.SHA256[:16] + ext + `"`,
				"Content-Security-Policy": csp,
			} {
				if got := r.header.Get(h); got != v {
					t.Errorf("%s: %q, want %q", h, got, v)
				}
			}
			if r.header.Get("Content-Encoding") != "" {
				t.Errorf("attachment served with Content-Encoding %s", r.header.Get("Content-Encoding"))
			}
		})
	}
	info, err := e.db.Attachment(trace.Hash(sha256.Sum256(jpg)))
	if err != nil || info.CooperativeID == "" || info.KeyID == "" || info.UploadedAt.IsZero() {
		t.Errorf("upload record %+v, %v", info, err)
	}
}

// TestAttachmentLargerThanBodyLimit checks that the upload route has its
// own limit, not the server-wide 1 MiB one.
func TestAttachmentLargerThanBodyLimit(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX Ảnh", "", "LOT-1")
	rng := rand.New(rand.NewPCG(1, 2))
	noise := image.NewNRGBA(image.Rect(0, 0, 800, 500))
	for i := range noise.Pix {
		noise.Pix[i] = byte(rng.Uint32())
	}
	data := pngBytes(t, noise)
	if len(data) <= 1<<20 {
		t.Fatalf("the test image is only %d bytes", len(data))
	}
	e.expect(e.upload(key, "image/png", data, true), 201)
	// Other routes keep the server-wide limit.
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, strings.Repeat(" ", 1<<20+1), false), 413)
}

func TestAttachmentRefusals(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.AttachmentLimit = 64 << 10; c.AttachmentMaxPixels = 4_000_000 })
	key, _, _ := e.seed("HTX Ảnh", "", "LOT-1")
	jpg := jpegBytes(t, gradient(200, 150))
	pngData := pngBytes(t, gradient(20, 10))
	rng := rand.New(rand.NewPCG(3, 4))
	big := make([]byte, 100<<10)
	for i := range big {
		big[i] = byte(rng.Uint32())
	}
	big = append(append([]byte{}, pngSignature...), big...)
	text := []byte("Đây không phải là ảnh, chỉ là một tệp văn bản.\n")
	gif := []byte("GIF89a\x01\x00\x01\x00\x80\x00\x00\xff\xff\xff\x00\x00\x00!\xf9\x04\x01\x00\x00\x00\x00,\x00\x00\x00\x00\x01\x00\x01\x00\x00\x02\x02D\x01\x00;")
	tests := []struct {
		name     string
		send     func() *response
		status   int
		contains []string
	}{
		{"no key", func() *response { return e.upload("", "image/jpeg", jpg, true) }, 401, nil},
		{"larger than the limit", func() *response { return e.upload(key, "image/png", big, true) }, 413, []string{"64 KiB"}},
		{"larger than the limit, in a form", func() *response { return e.uploadForm(key, "file", "big.png", "image/png", big, true) }, 413, []string{"64 KiB"}},
		{"PNG declared as JPEG", func() *response { return e.upload(key, "image/jpeg", pngData, true) }, 422, []string{"mislabeled", "image/png", "image/jpeg"}},
		{"PNG sent from a form as JPEG", func() *response { return e.uploadForm(key, "file", "photo.jpg", "image/jpeg", pngData, true) }, 422, []string{"mislabeled", `"file"`}},
		{"text file named photo.jpg", func() *response {
			return e.uploadForm(key, "file", "photo.jpg", "application/octet-stream", text, true)
		}, 415,
			[]string{"text/plain", "image/jpeg, image/png, image/webp, application/pdf"}},
		{"text sent as a JPEG", func() *response { return e.upload(key, "image/jpeg", text, true) }, 415, []string{"not a JPEG, PNG or WebP image or a PDF"}},
		{"GIF", func() *response { return e.upload(key, "image/gif", gif, false) }, 415, []string{"image/gif"}},
		{"truncated JPEG", func() *response { return e.upload(key, "image/jpeg", jpg[:len(jpg)/2], true) }, 422, []string{"damaged or cut off"}},
		{"PNG signature and nothing else", func() *response { return e.upload(key, "image/png", pngSignature, true) }, 422, []string{"header cannot be read"}},
		{"decompression bomb", func() *response { return e.upload(key, "image/png", pngHeaderOnly(30000, 30000), true) }, 422, []string{"30000×30000"}},
		{"too many pixels", func() *response { return e.upload(key, "image/png", pngHeaderOnly(4000, 3000), true) }, 422, []string{"4.0 megapixels"}},
		{"PDF cut off", func() *response { return e.upload(key, "application/pdf", []byte(tinyPDF[:40]), true) }, 422, []string{"%%EOF"}},
		{"empty body", func() *response { return e.upload(key, "image/jpeg", nil, false) }, 400, []string{"empty"}},
		{"form without a file field", func() *response { return e.uploadForm(key, "photo", "a.jpg", "image/jpeg", jpg, false) }, 422, []string{`"file"`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := tt.send()
			e.expect(r, tt.status)
			for _, s := range tt.contains {
				if !strings.Contains(string(r.body), s) {
					t.Errorf("problem %s does not say %q", r.body, s)
				}
			}
		})
	}
	found, err := e.db.Attachments(trace.Hash(sha256.Sum256(jpg)), trace.Hash(sha256.Sum256(pngData)), trace.Hash(sha256.Sum256(text)))
	if err != nil || len(found) != 0 {
		t.Errorf("refused uploads were stored: %v, %v", found, err)
	}

	e.expect(e.fetch("/attachments/"+strings.Repeat("ab", 32), nil), 404)
	e.expect(e.send("GET", "/attachments/not-a-hash", "", nil, nil, false), 422)
}

func TestAttachmentResized(t *testing.T) {
	e := newEnv(t)
	key, _, _ := e.seed("HTX Ảnh", "", "LOT-1")
	webpData, _ := os.ReadFile("testdata/photo.webp")
	transparent := image.NewNRGBA(image.Rect(0, 0, 800, 400)) // fully transparent: white once flattened
	small := jpegBytes(t, gradient(100, 50))
	files := map[string][]byte{
		"jpeg":        jpegBytes(t, gradient(1360, 1020)),
		"png":         pngBytes(t, transparent),
		"webp":        webpData,
		"small":       small,
		"turned":      withOrientation(jpegBytes(t, gradient(400, 200)), 6),
		"turned-back": withOrientation(jpegBytes(t, gradient(400, 200)), 8),
		"pdf":         []byte(tinyPDF),
	}
	hashes := map[string]string{}
	for name, data := range files {
		r := e.upload(key, "", data, false)
		if r.status != 201 {
			t.Fatalf("upload %s: %d %s", name, r.status, r.body)
		}
		hashes[name] = sha(data)
	}
	tests := []struct {
		file    string
		w       int
		wantW   int
		wantH   int
		cached  bool // a rendition is stored
		same    bool // the original bytes are served
		topLeft color.RGBA
	}{
		{"jpeg", 640, 640, 480, true, false, color.RGBA{220, 40, 0, 255}},
		{"jpeg", 320, 320, 240, true, false, color.RGBA{220, 40, 0, 255}},
		{"jpeg", 160, 160, 120, true, false, color.RGBA{}},
		{"png", 160, 160, 80, true, false, color.RGBA{255, 255, 255, 255}},
		{"webp", 1280, 400, 240, true, false, color.RGBA{}},   // never enlarged
		{"small", 640, 100, 50, false, true, color.RGBA{}},    // a small JPEG as it is
		{"turned", 160, 160, 320, true, false, color.RGBA{}},  // 400×200 turned upright is 200×400
		{"turned", 1280, 400, 200, false, true, color.RGBA{}}, // as it is: browsers turn it by its EXIF
		{"turned-back", 160, 160, 320, true, false, color.RGBA{}},
	}
	for _, tt := range tests {
		path := "/attachments/" + hashes[tt.file] + "?w=" + strconv.Itoa(tt.w)
		for round := 0; round < 2; round++ { // made, then from the store
			r := e.fetch(path, nil)
			e.expect(r, 200)
			if ct := r.header.Get("Content-Type"); ct != "image/jpeg" {
				t.Fatalf("%s: Content-Type %s", path, ct)
			}
			if et := r.header.Get("ETag"); et != `"`+hashes[tt.file]+"-w"+strconv.Itoa(tt.w)+`"` {
				t.Errorf("%s: ETag %s", path, et)
			}
			if cc := r.header.Get("Cache-Control"); cc != attachmentCacheControl {
				t.Errorf("%s: Cache-Control %s", path, cc)
			}
			if w, h := decodeSize(t, r.body); w != tt.wantW || h != tt.wantH {
				t.Fatalf("%s: %d×%d, want %d×%d", path, w, h, tt.wantW, tt.wantH)
			}
			if tt.same != bytes.Equal(r.body, files[tt.file]) {
				t.Errorf("%s: original bytes served: %v", path, !tt.same)
			}
			img, _ := jpeg.Decode(bytes.NewReader(r.body))
			if tt.topLeft != (color.RGBA{}) && !near(img.At(2, 2), tt.topLeft) {
				t.Errorf("%s: top left pixel %v, want about %v", path, img.At(2, 2), tt.topLeft)
			}
			if (tt.file == "turned" || tt.file == "turned-back") && !tt.same {
				// Stored with red on the left, blue on the right: turned a
				// quarter clockwise (6), red is on top; anticlockwise (8),
				// blue is.
				top, bottom := img.At(img.Bounds().Dx()/2, 5), img.At(img.Bounds().Dx()/2, img.Bounds().Dy()-5)
				red, blue := color.RGBA{220, 40, 128, 255}, color.RGBA{30, 128, 220, 255}
				if tt.file == "turned-back" {
					red, blue = blue, red
				}
				if !nearRB(top, red) || !nearRB(bottom, blue) {
					t.Errorf("%s: top %v and bottom %v are not turned upright", path, top, bottom)
				}
			}
		}
		h, _ := trace.ParseHash(hashes[tt.file])
		stored, err := e.db.AttachmentVariant(h, "w"+strconv.Itoa(tt.w))
		if err != nil || (stored != nil) != tt.cached {
			t.Errorf("%s: rendition stored %v (%v), want %v", path, stored != nil, err, tt.cached)
		}
	}

	// Many shoppers at once get the same rendition.
	var wg sync.WaitGroup
	bodies := make([][]byte, 6)
	for i := range bodies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := http.Get(e.srv.URL + "/attachments/" + hashes["jpeg"] + "?w=1280")
			if err != nil {
				t.Error(err)
				return
			}
			defer res.Body.Close()
			bodies[i], _ = io.ReadAll(res.Body)
		}()
	}
	wg.Wait()
	for i := range bodies {
		if !bytes.Equal(bodies[i], bodies[0]) || len(bodies[i]) == 0 {
			t.Fatalf("concurrent renditions differ (%d and %d bytes)", len(bodies[i]), len(bodies[0]))
		}
	}

	for _, path := range []string{
		"/attachments/" + hashes["jpeg"] + "?w=500",
		"/attachments/" + hashes["jpeg"] + "?w=big",
		"/attachments/" + hashes["pdf"] + "?w=320",
	} {
		r := e.send("GET", path, "", nil, nil, false)
		e.expect(r, 422)
		if !strings.Contains(string(r.body), `"w"`) {
			t.Errorf("%s: %s", path, r.body)
		}
	}
}

func near(c color.Color, want color.RGBA) bool {
	r, g, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { return int(x>>8)-int(y) < 24 && int(y)-int(x>>8) < 24 }
	return d(r, want.R) && d(g, want.G) && d(b, want.B)
}

// nearRB compares only red and blue, which tell the halves apart.
func nearRB(c color.Color, want color.RGBA) bool {
	r, _, b, _ := c.RGBA()
	d := func(x uint32, y uint8) bool { return int(x>>8)-int(y) < 40 && int(y)-int(x>>8) < 40 }
	return d(r, want.R) && d(b, want.B)
}

func TestAttachmentConditionalRequests(t *testing.T) {
	e := newEnv(t)
	key, _, _ := e.seed("HTX Ảnh", "", "LOT-1")
	data := jpegBytes(t, gradient(800, 600))
	e.expect(e.upload(key, "image/jpeg", data, true), 201)
	h := sha(data)
	tests := []struct {
		path, ifNoneMatch string
		status            int
	}{
		{"/attachments/" + h, `"` + h + `"`, 304},
		{"/attachments/" + h, `W/"` + h + `"`, 304},
		{"/attachments/" + h, `"other", "` + h + `"`, 304},
		{"/attachments/" + h, `*`, 304},
		{"/attachments/" + h, `"` + h + `-w320"`, 200},
		{"/attachments/" + h + "?w=320", `"` + h + `-w320"`, 304},
		{"/attachments/" + h + "?w=320", `"` + h + `"`, 200},
	}
	for _, tt := range tests {
		r := e.fetch(tt.path, map[string]string{"If-None-Match": tt.ifNoneMatch})
		if r.status != tt.status {
			t.Errorf("%s If-None-Match %s: %d, want %d", tt.path, tt.ifNoneMatch, r.status, tt.status)
		}
		if tt.status == 304 && (len(r.body) != 0 || r.header.Get("ETag") == "") {
			t.Errorf("%s: 304 with %d bytes, ETag %q", tt.path, len(r.body), r.header.Get("ETag"))
		}
	}
	res, err := http.Head(e.srv.URL + "/attachments/" + h)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 200 || res.ContentLength != int64(len(data)) || res.Header.Get("ETag") != `"`+h+`"` {
		t.Errorf("HEAD: %d, length %d, ETag %s", res.StatusCode, res.ContentLength, res.Header.Get("ETag"))
	}
	// An error is not cached.
	r := e.send("GET", "/attachments/"+strings.Repeat("ab", 32), "", nil, nil, true)
	if r.status != 404 || strings.Contains(r.header.Get("Cache-Control"), "immutable") || r.header.Get("ETag") != "" {
		t.Errorf("404 with Cache-Control %q, ETag %q", r.header.Get("Cache-Control"), r.header.Get("ETag"))
	}
	// A range of a large scan, for a PDF viewer.
	r = e.fetch("/attachments/"+h, map[string]string{"Range": "bytes=0-99"})
	if r.status != 206 || !bytes.Equal(r.body, data[:100]) {
		t.Errorf("range: %d, %d bytes", r.status, len(r.body))
	}
}

func TestEventAttachments(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX Ảnh", "8931234567897", "LOT-1")
	photo := jpegBytes(t, gradient(1000, 750))
	e.expect(e.upload(key, "image/jpeg", photo, true), 201)
	scan := []byte(tinyPDF)
	e.expect(e.upload(key, "application/pdf", scan, true), 201)
	unknown := strings.Repeat("0f", 32)
	events := "/api/v1/batches/" + batch.ID + "/events"

	r := e.do("POST", events, key, map[string]any{"biz_step": "commissioning", "attachments": []any{
		map[string]any{"sha256": sha(photo), "media_type": "image/jpeg"},
		map[string]any{"sha256": unknown, "media_type": "image/jpeg"},
		map[string]any{"sha256": sha(scan), "media_type": "image/png"},
	}}, true)
	e.expect(r, 422)
	var p Problem
	r.decode(t, &p)
	want := []FieldProblem{
		{Field: "attachments[1].sha256", Detail: "no attachment " + unknown + " is stored here; upload the file with POST /api/v1/attachments first"},
		{Field: "attachments[2].media_type", Detail: "attachment " + sha(scan) + " is application/pdf, not image/png"},
	}
	if len(p.Errors) != len(want) || p.Errors[0] != want[0] || p.Errors[1] != want[1] {
		t.Fatalf("problem fields %+v, want %+v", p.Errors, want)
	}

	r = e.do("POST", events, key, map[string]any{"biz_step": "commissioning", "attachments": []any{
		map[string]any{"sha256": sha(photo), "media_type": "image/jpeg", "name": "Ruộng lúa"},
		map[string]any{"sha256": sha(scan), "media_type": "application/pdf", "name": "VietGAP"},
	}}, true)
	e.expect(r, 201)

	// The consumer page shows the photo, resized, and not the scan.
	res, page := get(t, e.srv.URL+batch.Path, map[string]string{"Accept": "text/html"})
	if res.StatusCode != 200 {
		t.Fatalf("page: %d", res.StatusCode)
	}
	src := "/attachments/" + sha(photo)
	wantImg := `<img data-sha256="` + sha(photo) + `" src="` + src + `?w=640" srcset="` + src + `?w=320 320w, ` + src + `?w=640 640w" sizes="320px" loading="lazy"`
	if !strings.Contains(page, wantImg) {
		t.Errorf("page has no %s", wantImg)
	}
	if strings.Contains(page, `<img data-sha256="`+sha(scan)) {
		t.Error("page shows the PDF as a photo")
	}
	// What the page asks for is there.
	for _, w := range []string{"320", "640"} {
		r := e.fetch(src+"?w="+w, nil)
		e.expect(r, 200)
		if gotW, _ := decodeSize(t, r.body); strconv.Itoa(gotW) != w {
			t.Errorf("?w=%s is %d wide", w, gotW)
		}
	}
}
