package api

import (
	"bufio"
	"bytes"
	"context"
	stdjson "encoding/json"
	"errors"
	"image"
	"image/jpeg"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// Fuzz targets for what the API reads from the network beyond JSON
// syntax (FuzzDecodeJSON): a client's event fields turned into an event,
// any request a client may send without a key, and uploaded files.

// FuzzEventFieldsDomain: whatever event fields decodeJSON accepts either
// become an event of the batch or are refused field by field; an event
// that validates encodes, and survives the trip a client makes — shown as
// the API shows events, sent back, recorded again — to the same bytes.
func FuzzEventFieldsDomain(f *testing.F) {
	for _, s := range []string{
		`{"biz_step":"commissioning","quantity":{"value":"1250","unit":"KGM"},"ilmd":{"harvest_date":"2025-08-15","country_of_origin":"VN"}}`,
		`{"biz_step":"storing","event_time":"2025-08-15T06:30:00+07:00"}`,
		`{"biz_step":"storing","event_time":"2025-08-15T06:30:00Z"}`,
		`{"biz_step":"storing","event_time_zone_offset":"+05:45"}`,
		`{"biz_step":"storing","event_time":"2025-08-15T06:30:00+07:00","event_time_zone_offset":"+08:00"}`,
		`{"biz_step":"storing","event_time_zone_offset":"+07:17"}`,
		`{"biz_step":"spraying","data":{"product":"Filia 525SE","phi_days":"14"},"note":"Phun thuốc \ud83c\udf3e"}`,
		`{"type":"TransformationEvent","biz_step":"https://trace.example.vn/voc/bizstep/milling","inputs":[{"batch":"st25-a","hash":"` + strings.Repeat("ab", 32) + `","quantity":{"value":"600","unit":"KGM"}}],"outputs":[{"batch":"st25-mix","quantity":{"value":"590","unit":"KGM"}}],"loss":{"value":"10","unit":"KGM"}}`,
		`{"type":"AggregationEvent","action":"ADD","biz_step":"packing","parent_id":"https://trace.example.vn/00/389312340000000012"}`,
		`{"biz_step":"inspecting","disposition":"conformant","certifications":[{"scheme":"vietgap","id":"VG-0123"}],"read_point":"https://trace.example.vn/414/8931234000011","biz_location":"https://trace.example.vn/414/8931234000011"}`,
		`{"biz_step":"storing","attachments":[{"sha256":"` + strings.Repeat("0", 64) + `","media_type":"image/jpeg","name":"kho.jpg"}]}`,
		`{"biz_step":"storing","attachments":[{"sha256":"xyz","media_type":"image/jpeg"}],"inputs":[{"batch":"a","hash":"1"}]}`,
		`{"biz_step":"storing","quantity":{"value":"1e3","unit":"KGM"}}`,
		`{"biz_step":"storing","ilmd":{}}`,
	} {
		f.Add([]byte(s))
	}
	e := echo.New()
	batch := &trace.Batch{ID: "st25-2508", CooperativeID: "htx-hoa-tu", ProductID: "gao-st25", Lot: "ST25-2508",
		Quantity: trace.Quantity{Value: "1250", Unit: "KGM"}}
	ict := time.FixedZone("ICT", 7*3600)
	now := time.Date(2025, 8, 15, 6, 30, 5, 123456789, ict)
	read := func(body []byte) (*EventFields, error) {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var fields EventFields
		return &fields, decodeJSON(e.NewContext(req, httptest.NewRecorder()), &fields)
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		fields, err := read(body)
		if err != nil {
			return
		}
		ev, err := fields.domain(batch, now)
		if err != nil {
			var ve *trace.ValidationError
			if !errors.As(err, &ve) || len(ve.Fields) == 0 {
				t.Fatalf("domain: error %v (%T) lists no fields", err, err)
			}
			for _, fe := range ve.Fields {
				if fe.Field == "" || fe.Reason == "" {
					t.Fatalf("domain: problem %+v", fe)
				}
			}
			return
		}
		if ev.Cooperative != batch.CooperativeID || ev.Batch != batch.ID || ev.Seq != 0 || !ev.Prev.IsZero() {
			t.Fatalf("the event is not the batch's: %+v", ev)
		}
		if fields.EventTime == "" {
			// Now, to the second, written in the offset asked for or the
			// server's own.
			tm, err := trace.ParseEventTime(ev.EventTime, ev.EventTimeZoneOffset)
			if err != nil || !tm.Equal(now.Truncate(time.Second)) {
				t.Fatalf("no time given: the event's is %s %s (%v)", ev.EventTime, ev.EventTimeZoneOffset, err)
			}
			if want := fields.EventTimeZoneOffset; want != "" && ev.EventTimeZoneOffset != want {
				t.Fatalf("offset %s asked for, %s given", want, ev.EventTimeZoneOffset)
			}
		}
		if err := ev.Validate(); err != nil {
			return
		}
		se, err := trace.Prepare(ev)
		if err != nil {
			t.Fatalf("a valid event does not encode: %v", err)
		}
		shown := toEvent(&store.StoredEvent{SignedEvent: se})
		sent, err := stdjson.Marshal(shown.EventFields)
		if err != nil {
			t.Fatal(err)
		}
		back, err := read(sent)
		if err != nil {
			t.Fatalf("the fields the API shows, %s, are refused: %v", sent, err)
		}
		again, err := back.domain(batch, now.Add(time.Hour))
		if err != nil {
			t.Fatalf("the fields the API shows, %s, make no event: %v", sent, err)
		}
		if b, err := again.Encode(); err != nil || !bytes.Equal(b, se.Body) {
			t.Fatalf("sent back as %s, the event encodes as\n%s\nwant\n%s (%v)", sent, b, se.Body, err)
		}
	})
}

// errorLog counts the records logged at Error level: a panic, a failed
// error page, a request that failed on the server.
type errorLog struct {
	mu   sync.Mutex
	msgs []string
}

// errorAnsweredTwice is what handleError logs when it is handed an error
// whose answer was already sent. With echo's request logger set to handle
// errors, every error reaches it twice (from the logger, then from echo),
// so the line follows every 4xx; it says nothing about the request.
const errorAnsweredTwice = "request failed after its response started"

func (h *errorLog) Enabled(_ context.Context, l slog.Level) bool { return l >= slog.LevelError }
func (h *errorLog) Handle(_ context.Context, r slog.Record) error {
	if r.Message == errorAnsweredTwice {
		return nil
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	msg := r.Message
	r.Attrs(func(a slog.Attr) bool {
		msg += " " + a.String()
		return true
	})
	h.msgs = append(h.msgs, msg)
	return nil
}
func (h *errorLog) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h *errorLog) WithGroup(string) slog.Handler      { return h }

func (h *errorLog) take() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := h.msgs
	h.msgs = nil
	return out
}

// fuzzMethods are the methods FuzzPublicRequest sends.
var fuzzMethods = []string{http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions}

// FuzzPublicRequest sends the server any request a client without a key
// could send, as net/http would hand it over: no answer is a 5xx, nothing
// is logged as an error, and a Digital Link is answered as GS1 resolvers
// must (400 for bad syntax, 404 for a valid link of something not kept).
// The server has a log with a checkpoint and a batch with a history, so
// the resolver, the consumer page, the linkset, EPCIS export, the log's
// tiles and proofs and POST /api/v1/verify all do their work.
func FuzzPublicRequest(f *testing.F) {
	le := newLogEnv(f, 12, "")
	le.checkpoint()
	logged := &errorLog{}
	le.server.log = slog.New(logged)
	bt := le.batch
	dl := "/01/" + bt.GTIN + "/10/" + url.PathEscape(bt.Lot)
	r := le.fetch(dl, map[string]string{"Accept": "application/json"})
	if r.status != 200 {
		f.Fatalf("history: %d %s", r.status, r.body)
	}
	history := r.body
	tampered := bytes.Replace(history, []byte(`"biz_step":"storing"`), []byte(`"biz_step":"packing"`), 1)
	const html, json, linkset = "text/html", "application/json", "application/linkset+json"
	for _, s := range []struct {
		method         uint8
		target, accept string
		body           []byte
	}{
		{0, dl, html, nil}, {0, dl, json, nil}, {0, dl, linkset, nil}, {1, dl, html, nil},
		{0, dl + "?linkType=linkset", "*/*", nil}, {0, dl + "?linkType=gs1:pip&7007=250815", html, nil},
		{0, dl + "/21/ABC", html, nil}, {0, dl + "/", html, nil}, {0, "/01/08931234567890/10/X", html, nil},
		{0, "/414/8931234000011", json, nil}, {0, "/00/389312340000000012", json, nil}, {0, "/8004/0614141000000", json, nil},
		{0, "/b/" + bt.ID, html, nil}, {0, "/b/" + bt.ID + "/", html, nil}, {0, "/b/%41", json, nil},
		{0, "/api/v1/batches/" + bt.ID, json, nil}, {0, "/api/v1/batches?cooperative=" + bt.CooperativeID + "&limit=2", json, nil},
		{0, "/api/v1/batches/" + bt.ID + "/lineage", json, nil}, {0, "/api/v1/batches/" + bt.ID + "/next-step", json, nil},
		{0, "/api/v1/cooperatives/" + bt.CooperativeID + "/records", json, nil}, {0, "/api/v1/products/" + bt.ProductID, json, nil},
		{0, "/api/v1/events/" + bt.Head, json, nil}, {0, "/api/v1/events/" + bt.Head + "/proof", json, nil},
		{0, "/api/v1/epcis/events?batch=" + bt.ID, "application/ld+json", nil}, {0, "/api/v1/epcis/events?cursor=x.1.2", json, nil},
		{0, "/log/checkpoint", "*/*", nil}, {0, "/log/tile/0/000.p/12", "*/*", nil}, {0, "/log/tile/entries/000.p/12", "*/*", nil},
		{0, "/api/v1/log/proof/inclusion?index=3&size=12", json, nil}, {0, "/api/v1/log/proof/consistency?old=3&new=12", json, nil},
		{0, "/.well-known/gs1resolver", json, nil}, {0, "/.well-known/truyxuat.json", json, nil},
		{0, "/api/v1/templates", json, nil}, {0, "/api/v1/inspectors", json, nil}, {0, "/static/verify.js", "*/*", nil},
		{0, "/attachments/" + strings.Repeat("0", 64) + "?w=320", "image/*", nil}, {0, "/app/login", html, nil},
		{0, "/healthz", json, nil}, {3, dl, "*/*", nil},
		{2, "/api/v1/verify", json, history}, {2, "/api/v1/verify", json, tampered}, {2, "/api/v1/verify", json, []byte(`{"batch":{"id":"x"}}`)},
	} {
		f.Add(s.method, s.target, s.accept, "vi,en;q=0.8", s.body)
	}
	keys := map[string]bool{}
	for _, k := range trace.DigitalLinkKeys() {
		keys[k] = true
	}
	handler := le.srv.Config.Handler
	f.Fuzz(func(t *testing.T, method uint8, target, accept, lang string, body []byte) {
		m := fuzzMethods[int(method)%len(fuzzMethods)]
		raw := m + " " + target + " HTTP/1.1\r\nHost: trace.example.vn\r\nAccept: " + accept + "\r\nAccept-Language: " + lang + "\r\n"
		if m == http.MethodPost {
			raw += "Content-Type: application/json\r\n"
		}
		if strings.ContainsAny(target, " \r\n") || !headerValue(accept) || !headerValue(lang) {
			return // net/http refuses such a request before any handler
		}
		req, err := http.ReadRequest(bufio.NewReader(strings.NewReader(raw + "\r\n")))
		if err != nil {
			return
		}
		req.Body = http.NoBody
		if len(body) > 0 {
			req.Body, req.ContentLength = readCloser{bytes.NewReader(body)}, int64(len(body))
		}
		req.RemoteAddr = "192.0.2.7:41234"
		logged.take()
		rec := httptest.NewRecorder()
		handler.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s: %d %s", m, target, rec.Code, rec.Body.String())
		}
		if msgs := logged.take(); len(msgs) > 0 {
			t.Fatalf("%s %s (%d) logged errors: %q", m, target, rec.Code, msgs)
		}
		// Digital Links: the resolver's answers (GET and HEAD on a route
		// of a primary key, as the router matches the escaped path).
		esc := req.URL.EscapedPath()
		first, _, nested := strings.Cut(strings.TrimPrefix(esc, "/"), "/")
		if m != http.MethodGet && m != http.MethodHead || !nested || !keys[first] {
			return
		}
		_, err = trace.ParseDigitalLinkPath(esc, req.URL.RawQuery)
		switch {
		case errors.Is(err, trace.ErrUnsupported):
			if rec.Code != http.StatusNotFound {
				t.Fatalf("%s names something not kept, answered %d", target, rec.Code)
			}
		case err != nil:
			if rec.Code != http.StatusBadRequest {
				t.Fatalf("malformed Digital Link %s (%v) answered %d", target, err, rec.Code)
			}
		}
	})
}

// headerValue reports whether net/http's server would take s as a header
// value: no control characters but tab.
func headerValue(s string) bool {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }

// fuzzMaxPixels is the pixel limit of the server FuzzInspectAttachment
// runs: small, so that what it lets through stays small in memory.
const fuzzMaxPixels = 1 << 20

// attachmentSeeds are uploads of every accepted type and broken ones:
// truncated, mislabeled, headers claiming a huge image, a rotated photo.
func attachmentSeeds(f *testing.F) {
	img := gradient(40, 30)
	jpg, png := jpegBytes(f, img), pngBytes(f, img)
	webpData, err := os.ReadFile(filepath.Join("testdata", "photo.webp"))
	if err != nil {
		f.Fatal(err)
	}
	var tall bytes.Buffer
	if err := jpeg.Encode(&tall, image.NewGray(image.Rect(0, 0, 9, 700)), nil); err != nil {
		f.Fatal(err)
	}
	for _, s := range []struct {
		data     []byte
		declared string
	}{
		{jpg, "image/jpeg"}, {png, "image/png"}, {webpData, "image/webp"}, {[]byte(tinyPDF), "application/pdf"},
		{withOrientation(jpg, 6), "image/jpg"}, {withOrientation(jpg, 3), ""}, {withOrientation(jpg, 9), "application/octet-stream"},
		{tall.Bytes(), ""}, {jpg, "image/png"}, {png, "text/plain; charset=utf-8"},
		{jpg[:len(jpg)/2], ""}, {png[:len(png)-20], ""}, {webpData[:len(webpData)/3], ""}, {[]byte(tinyPDF)[:30], ""},
		{pngHeaderOnly(16384, 16384), ""}, {pngHeaderOnly(1025, 1024), ""}, {pngHeaderOnly(0, 5), ""},
		{[]byte("GIF89a\x01\x00\x01\x00"), "image/gif"}, {[]byte("<svg xmlns='http://www.w3.org/2000/svg'/>"), "image/svg+xml"},
		{nil, ""},
	} {
		f.Add(s.data, s.declared)
	}
}

// FuzzInspectAttachment checks uploads by their content as the server
// does, and makes the consumer page's rendition of what it accepts. An
// accepted file is of the type its first bytes say and the client did not
// contradict; an image is within the pixel limit, decodes to the size its
// header claims (so the limit bounds what decoding allocates) and resizes
// to a JPEG of the requested width; memory stays within a bound set by
// the limit, not by what a header claims.
func FuzzInspectAttachment(f *testing.F) {
	attachmentSeeds(f)
	s := &Server{cfg: Config{AttachmentMaxPixels: fuzzMaxPixels}}
	// Decoding and resizing a fuzzMaxPixels image takes some tens of
	// bytes a pixel at most (16-bit RGBA, the rendition, the JPEG coder).
	const memoryBound = 64*fuzzMaxPixels + 16<<20
	f.Fuzz(func(t *testing.T, data []byte, declared string) {
		if len(data) > 4<<20 {
			return
		}
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		defer func() {
			runtime.ReadMemStats(&after)
			if used := after.TotalAlloc - before.TotalAlloc; used > memoryBound+uint64(16*len(data)) {
				t.Fatalf("a %d-byte upload took %d MiB", len(data), used>>20)
			}
		}()
		info, err := s.inspectAttachment(context.Background(), "body", declared, data)
		if err != nil {
			var fe *trace.FieldError
			var he *echo.HTTPError
			if !errors.As(err, &fe) && !(errors.As(err, &he) && he.Code == http.StatusUnsupportedMediaType) {
				t.Fatalf("refusal %v (%T) is neither a field error nor 415", err, err)
			}
			return
		}
		mt := sniff(data)
		if info.MediaType != mt || mt == "" {
			t.Fatalf("accepted as %q, content sniffs as %q", info.MediaType, mt)
		}
		if d := declaredType(declared); d != "" && d != mt {
			t.Fatalf("accepted %s sent as %q", mt, declared)
		}
		if mt == "application/pdf" {
			return
		}
		w, h := info.Width, info.Height
		if w <= 0 || h <= 0 || w > MaxImageSide || h > MaxImageSide || int64(w)*int64(h) > fuzzMaxPixels {
			t.Fatalf("accepted a %d×%d image", w, h)
		}
		img, err := decodeImage(data, mt)
		if err != nil {
			t.Fatalf("accepted an image that does not decode: %v", err)
		}
		if b := img.Bounds(); b.Dx() != w || b.Dy() != h {
			t.Fatalf("the header says %d×%d, the image is %d×%d", w, h, b.Dx(), b.Dy())
		}
		width := AttachmentWidths[len(data)%len(AttachmentWidths)]
		out, err := resizeToJPEG(data, mt, width)
		if err != nil {
			t.Fatalf("an accepted image does not resize: %v", err)
		}
		cfg, err := jpeg.DecodeConfig(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("the rendition is not a JPEG: %v", err)
		}
		shown := w
		if mt == "image/jpeg" && exifOrientation(data) >= 5 {
			shown = h
		}
		if cfg.Width != min(width, shown) || cfg.Height < 1 {
			t.Fatalf("a %d×%d image at width %d is %d×%d", w, h, width, cfg.Width, cfg.Height)
		}
	})
}
