package api

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	stdjson "encoding/json"
	"net/http/httptest"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/trace"
)

// TestHostileJSON: bodies that Go's encoding/json would quietly repair
// (bad UTF-8 and lone surrogates become U+FFFD, the last of two members
// of one name wins) are refused, saying what and where, and nothing is
// stored.
func TestHostileJSON(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	events := "/api/v1/batches/" + batch.ID + "/events"
	tests := []struct {
		name, body string
		status     int
		says       []string
	}{
		{"Latin-1 bytes in a note", "{\"biz_step\":\"storing\",\"note\":\"Gi\xe1 l\xfaa\"}", 400,
			[]string{"not valid UTF-8", "0xE1", "offset 32"}},
		{"a cut UTF-8 sequence", "{\"biz_step\":\"storing\",\"note\":\"L\xc3\"}", 400, []string{"not valid UTF-8", "offset 31"}},
		{"a lone high surrogate", `{"biz_step":"storing","note":"a\ud800b"}`, 400, []string{"surrogate", "in note"}},
		{"a lone low surrogate", `{"biz_step":"storing","note":"\udc00"}`, 400, []string{"surrogate", "in note"}},
		{"a high surrogate before a letter", `{"biz_step":"storing","note":"\ud800\u0041"}`, 400, []string{"surrogate"}},
		{"a surrogate in a member name", `{"biz_step":"storing","data":{"k\udfff":"1"}}`, 400, []string{"surrogate"}},
		{"a member twice", `{"biz_step":"storing","biz_step":"recalled"}`, 400, []string{`member "biz_step" appears twice in the body`, "at byte 22"}},
		{"a member twice in a nested object", `{"biz_step":"storing","quantity":{"value":1,"unit":"KGM","unit":"TNE"}}`, 400,
			[]string{`member "unit" appears twice in quantity`}},
		{"a data field twice", `{"biz_step":"storing","data":{"moisture":"14","moisture":"18"}}`, 400, []string{`member "moisture" appears twice in data`}},
		{"a member twice in an array's object", `{"biz_step":"storing","certifications":[{"scheme":"vietgap","id":"A"},{"scheme":"vietgap","id":"B","id":"C"}]}`, 400,
			[]string{`member "id" appears twice in certifications[1]`}},
		{"a member in other letter case", `{"biz_step":"storing","Biz_Step":"recalled"}`, 400, []string{`member "Biz_Step"`, "does not take"}},
		{"a second JSON value", `{"biz_step":"storing"} {"biz_step":"recalled"}`, 400, []string{"after its JSON value", "at byte 23"}},
		{"cut short", `{"biz_step":"stor`, 400, []string{"ends too soon"}},
		{"a number for a string", `{"biz_step":5}`, 422, []string{"biz_step: must be a JSON string, got number"}},
		{"a negative quantity", `{"biz_step":"storing","quantity":{"value":"-1","unit":"KGM"}}`, 422, []string{"quantity.value: ", "must not be negative"}},
		{"an array for the body", `[{"biz_step":"storing"}]`, 400, []string{"must be a JSON object, got array"}},
	}
	header := map[string]string{"Content-Type": "application/json", "Accept": "application/json"}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.send("POST", events, key, header, []byte(tt.body), false)
			e.expect(r, tt.status)
			saysAll(t, r, tt.says...)
		})
	}
	// EPCIS capture reads its documents as strictly.
	for name, doc := range map[string]string{
		"a member twice":   `{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"EPCISDocument","type":"EPCISQueryDocument"}`,
		"a lone surrogate": `{"@context":["https://ref.gs1.org/standards/epcis/epcis-context.jsonld"],"type":"EPCISDocument","note":"\ud834"}`,
	} {
		t.Run("capture with "+name, func(t *testing.T) {
			e.expect(e.capture(key, []byte(doc), false), 400)
		})
	}
	// A real surrogate pair is a character like any other.
	r := e.send("POST", events, key, header, []byte(`{"biz_step":"storing","note":"Kho lúa \ud83c\udf3e"}`), true)
	e.expect(r, 201)
	var ev Event
	r.decode(t, &ev)
	if ev.Note != "Kho lúa 🌾" {
		t.Errorf("note stored as %q", ev.Note)
	}
	var h History
	e.do("GET", "/api/v1/batches/"+batch.ID, "", nil, true).decode(t, &h)
	if len(h.Events) != 2 { // the lot's facts and the one accepted
		t.Errorf("refused bodies left %d events", len(h.Events)-2)
	}
}

// TestJSONRoutesTakeOnlyJSON: a JSON route refuses a body sent as
// anything but application/json (curl -d sends a form) with 415, naming
// what it takes.
func TestJSONRoutesTakeOnlyJSON(t *testing.T) {
	e := newEnv(t)
	key, coop, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	events := "/api/v1/batches/" + batch.ID + "/events"
	routes := []struct{ name, path, body string }{
		{"event", events, `{"biz_step":"storing"}`},
		{"product", "/api/v1/products", `{"name_vi":"Gạo","category":"rice"}`},
		{"key", "/api/v1/keys", `{"name":"Chị Lan","role":"cooperative","cooperative_id":"` + coop.ID + `"}`},
		{"verify", "/api/v1/verify", `{}`},
		{"capture", "/api/v1/epcis/capture", `{}`},
	}
	for _, rt := range routes {
		for _, ct := range []string{"", "application/x-www-form-urlencoded", "text/plain", "multipart/form-data; boundary=x",
			"application/json; charset=iso-8859-1", "application/jsonx", "application/problem+json"} {
			t.Run(rt.name+" as "+ct, func(t *testing.T) {
				h := map[string]string{"Accept": "application/json"}
				if ct != "" {
					h["Content-Type"] = ct
				}
				r := e.send("POST", rt.path, key, h, []byte(rt.body), false)
				e.expect(r, 415)
				if !strings.Contains(r.header.Get("Accept"), "application/json") {
					t.Errorf("415 with Accept %q", r.header.Get("Accept"))
				}
				saysAll(t, r, "send it as application/json")
			})
		}
	}
	// JSON-LD is for EPCIS capture only.
	r := e.send("POST", events, key, map[string]string{"Content-Type": "application/ld+json"}, []byte(`{"biz_step":"storing"}`), false)
	e.expect(r, 415)
	r = e.send("POST", "/api/v1/epcis/capture", key, map[string]string{"Content-Type": "application/ld+json; charset=utf-8"}, []byte(`[]`), false)
	e.expect(r, 422)

	var h History
	e.do("GET", "/api/v1/batches/"+batch.ID, "", nil, true).decode(t, &h)
	if len(h.Events) != 1 { // the lot's facts
		t.Fatalf("refused bodies left %d events", len(h.Events)-1)
	}
	for i, ct := range []string{"application/json", "application/json; charset=utf-8", "Application/JSON; Charset=\"UTF-8\""} {
		r := e.send("POST", events, key, map[string]string{"Content-Type": ct}, []byte(`{"biz_step":"storing"}`), i < 2)
		e.expect(r, 201)
	}
}

// saysAll checks that a problem's detail and field errors (as
// "field: detail") say each of the texts.
func saysAll(t *testing.T, r *response, texts ...string) {
	t.Helper()
	var p Problem
	r.decode(t, &p)
	all := p.Detail
	for _, f := range p.Errors {
		all += "\n" + f.Field + ": " + f.Detail
	}
	for _, s := range texts {
		if !strings.Contains(all, s) {
			t.Errorf("problem does not say %q: %s", s, all)
		}
	}
}

// TestBidiControlsRefusedByAPI: names, notes and key names with a
// bidirectional control are refused naming the character, also in an
// event the cooperative signed itself.
func TestBidiControlsRefusedByAPI(t *testing.T) {
	e := newEnv(t)
	key, coop, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	r := e.do("POST", "/api/v1/products", key, CreateProductRequest{NameVI: "Gạo \u202eST25", Category: "rice"}, true)
	e.expect(r, 422)
	saysAll(t, r, "name_vi: contains U+202E RIGHT-TO-LEFT OVERRIDE (character 5)")
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "storing", "note": "Liều \u2067 2 lít/ha"}, true)
	e.expect(r, 422)
	saysAll(t, r, "note: contains U+2067 RIGHT-TO-LEFT ISOLATE")
	r = e.do("POST", "/api/v1/keys", key, map[string]any{"name": "Chị Lan\u202c", "role": "cooperative", "cooperative_id": coop.ID}, true)
	e.expect(r, 422)
	saysAll(t, r, "name: contains U+202C POP DIRECTIONAL FORMATTING")

	// Bytes signed by a client of its own, which did not check.
	own, _ := trace.GenerateSigner(rand.Reader)
	e.expect(e.do("POST", "/api/v1/cooperatives/"+coop.ID+"/public-keys", key,
		RegisterPublicKeyRequest{PublicKey: base64.StdEncoding.EncodeToString(own.PublicKey())}, true), 201)
	req := signFor(t, own, batch, EventFields{BizStep: "storing", EventTime: "2025-08-15T06:30:00+07:00", Note: "Liều XXX02 lít/ha"}, 0, "")
	body, _ := base64.StdEncoding.DecodeString(req.Canonical)
	body = bytes.Replace(body, []byte("XXX"), []byte("\u202e"), 1)
	req.Canonical = base64.StdEncoding.EncodeToString(body)
	req.Signature = base64.StdEncoding.EncodeToString(ed25519.Sign(ed25519.NewKeyFromSeed(own.Seed()), body))
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/events/signed", key, req, true)
	e.expect(r, 422)
	saysAll(t, r, "note: contains U+202E")

	var h History
	e.do("GET", "/api/v1/batches/"+batch.ID, "", nil, true).decode(t, &h)
	if len(h.Events) != 1 { // the lot's facts
		t.Fatalf("refused events left %d events", len(h.Events)-1)
	}
}

// TestEventTimeZoneOffset: the offset is checked whether or not a time
// is given, is never silently replaced, and must agree with the time.
func TestEventTimeZoneOffset(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	events := "/api/v1/batches/" + batch.ID + "/events"
	tests := []struct {
		name, time, offset string
		status             int
		field, says        string
	}{
		{"an offset that is not ±hh:mm, without a time", "", "+7", 422, "event_time_zone_offset", "±hh:mm"},
		{"an offset no zone has, without a time", "", "+25:00", 422, "event_time_zone_offset", "-12:00 to +14:00"},
		{"minus zero, without a time", "", "-00:00", 422, "event_time_zone_offset", "+00:00"},
		{"an offset no zone has, with a time in it", "2025-08-15T06:30:00+15:00", "+15:00", 422, "event_time_zone_offset", "-12:00 to +14:00"},
		{"a time and an offset that disagree", "2025-08-15T06:30:00+07:00", "+08:00", 422, "eventTimeZoneOffset", "does not match the offset +07:00"},
		{"a malformed offset with a time", "2025-08-15T06:30:00+07:00", "7", 422, "event_time_zone_offset", "±hh:mm"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			wellFormed := len(tt.offset) == 6 // the schema checks ±hh:mm
			r := e.do("POST", events, key, EventFields{BizStep: "storing", EventTime: tt.time, EventTimeZoneOffset: tt.offset}, wellFormed)
			e.expect(r, tt.status)
			saysAll(t, r, tt.field+": ", tt.says)
		})
	}
	for _, tt := range []struct{ time, offset, wantTimeSuffix, wantOffset string }{
		{"", "-03:30", "-03:30", "-03:30"}, // now, written in the offset given
		{"", "+05:45", "+05:45", "+05:45"},
		{"", "", "+07:00", "+07:00"}, // the server's zone
		{"2025-08-15T06:30:00+07:00", "+07:00", "2025-08-15T06:30:00+07:00", "+07:00"},
		{"2025-08-14T23:30:00Z", "", "2025-08-14T23:30:00+00:00", "+00:00"},
	} {
		r := e.do("POST", events, key, EventFields{BizStep: "storing", EventTime: tt.time, EventTimeZoneOffset: tt.offset}, true)
		e.expect(r, 201)
		var ev Event
		r.decode(t, &ev)
		if !strings.HasSuffix(ev.EventTime, tt.wantTimeSuffix) || ev.EventTimeZoneOffset != tt.wantOffset {
			t.Errorf("time %q offset %q recorded as %s %s", tt.time, tt.offset, ev.EventTime, ev.EventTimeZoneOffset)
		}
	}
}

// TestQuantityBounds: a quantity above its unit's bound is refused, saying
// the bound in that unit; the bound itself is accepted.
func TestQuantityBounds(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	r := e.do("POST", "/api/v1/batches", key, map[string]any{"product_id": batch.ProductID, "lot": "LOT-B",
		"quantity": map[string]any{"value": "12500000", "unit": "KGM"}}, true)
	e.expect(r, 422)
	saysAll(t, r, "quantity.value: must be at most 10,000,000 KGM (kg)")
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"quantity": map[string]any{"value": "999999999999999999", "unit": "H87"}}, true)
	e.expect(r, 422)
	saysAll(t, r, "quantity.value: must be at most 100,000,000 H87 (piece)")
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"quantity": map[string]any{"value": "10000.5", "unit": "TNE"}}, true)
	e.expect(r, 422)
	saysAll(t, r, "quantity.value: must be at most 10,000 TNE (tonne)")
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"quantity": map[string]any{"value": "10000", "unit": "TNE"}}, true)
	e.expect(r, 201)
}

// TestBearerScheme: the auth scheme is matched in any letter case and
// followed by one or more spaces (RFC 9110 §11.4); anything else is 401.
func TestBearerScheme(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	events := "/api/v1/batches/" + batch.ID + "/events"
	for i, auth := range []string{"Bearer " + key, "bearer " + key, "BEARER " + key, "bEaReR " + key, "Bearer   " + key} {
		r := e.send("POST", events, "", map[string]string{"Authorization": auth, "Content-Type": "application/json"},
			[]byte(`{"biz_step":"storing","note":"lần `+string(rune('1'+i))+`"}`), true)
		e.expect(r, 201)
	}
	for auth, says := range map[string]string{
		"":                          "no Authorization header",
		"Basic " + key:              `scheme is "Basic"`,
		"Bearer":                    "no token after Bearer",
		"Bearer    ":                "no token after Bearer",
		"Bearer" + key:              "not Bearer",
		"Bearer\t" + key:            "not Bearer",
		"Bearer " + key + " x":      "characters a token may not have",
		"Bearer " + key + ",realm=": "characters a token may not have",
		"Bearer =abc":               "characters a token may not have",
		"Bearer txk_nope":           "unknown",
	} {
		h := map[string]string{"Content-Type": "application/json"}
		if auth != "" {
			h["Authorization"] = auth
		}
		r := e.send("POST", events, "", h, []byte(`{"biz_step":"storing"}`), true)
		e.expect(r, 401)
		saysAll(t, r, says)
		if !strings.HasPrefix(r.header.Get("WWW-Authenticate"), "Bearer ") {
			t.Errorf("%q: WWW-Authenticate %q", auth, r.header.Get("WWW-Authenticate"))
		}
	}
}

// TestPDFAttachmentsSandboxed: a PDF, which may carry scripts, is served
// as a sandboxed download however it is asked for; images stay inline for
// the consumer page.
func TestPDFAttachmentsSandboxed(t *testing.T) {
	e := newEnv(t)
	key, _, _ := e.seed("HTX A", "", "LOT-A")
	pdf := []byte("%PDF-1.4\n1 0 obj\n<< /Type /Catalog /OpenAction << /S /JavaScript /JS (app.alert(document.cookie)) >> >>\nendobj\ntrailer\n<< /Root 1 0 R >>\n%%EOF\n")
	e.expect(e.upload(key, "application/pdf", pdf, true), 201)
	path := "/attachments/" + sha(pdf)
	for name, h := range map[string]map[string]string{
		"whole":        nil,
		"a range":      {"Range": "bytes=0-15"},
		"not modified": {"If-None-Match": `"` + sha(pdf) + `"`},
		"as a page":    {"Accept": "text/html"},
	} {
		r := e.fetch(path, h)
		if r.status >= 400 {
			t.Fatalf("%s: %d", name, r.status)
		}
		if csp := r.header.Get("Content-Security-Policy"); csp != "sandbox" {
			t.Errorf("%s: Content-Security-Policy %q", name, csp)
		}
		if d := r.header.Get("Content-Disposition"); !strings.HasPrefix(d, "attachment;") {
			t.Errorf("%s: Content-Disposition %q", name, d)
		}
	}
	img := pngBytes(t, gradient(40, 30))
	e.expect(e.upload(key, "image/png", img, true), 201)
	r := e.fetch("/attachments/"+sha(img), nil)
	if d := r.header.Get("Content-Disposition"); r.status != 200 || !strings.HasPrefix(d, "inline;") || r.header.Get("Content-Security-Policy") != "" {
		t.Errorf("image: %d, %q, CSP %q", r.status, d, r.header.Get("Content-Security-Policy"))
	}
}

// FuzzDecodeJSON: whatever decodeJSON accepts, Go's encoding/json reads
// the same way, so nothing accepted was quietly repaired (U+FFFD for bad
// bytes, the last of two members); and nothing makes it panic.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{
		`{"biz_step":"storing","note":"Kho lúa \ud83c\udf3e","data":{"k":"v"}}`,
		`{"biz_step":"storing","biz_step":"x"}`, `{"note":"\ud800"}`, "{\"note\":\"\xff\"}",
		`{"quantity":{"value":"1.5","unit":"KGM"},"certifications":[{"scheme":"vietgap","id":"A"}]}`,
		`{"Note":"x"}`, `[]`, `{} {}`, `{"inputs":[{"batch":"a","hash":"` + strings.Repeat("0", 64) + `"}]}`,
	} {
		f.Add([]byte(s))
	}
	e := echo.New()
	f.Fuzz(func(t *testing.T, body []byte) {
		req := httptest.NewRequest("POST", "/", bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		var got EventFields
		if decodeJSON(e.NewContext(req, httptest.NewRecorder()), &got) != nil {
			return
		}
		if !utf8.Valid(body) {
			t.Fatalf("accepted invalid UTF-8: %q", body)
		}
		var std EventFields
		if err := stdjson.Unmarshal(body, &std); err != nil {
			t.Fatalf("accepted %q, which encoding/json refuses: %v", body, err)
		}
		if !reflect.DeepEqual(got, std) {
			t.Fatalf("%q read as %+v, by encoding/json as %+v", body, got, std)
		}
	})
}
