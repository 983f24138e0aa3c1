package api

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/legacy"

	"github.com/truyxuat/truyxuat/store"
)

// testEnv is a real server over a real bbolt file, with a client that
// checks every request and response against openapi.yaml.
type testEnv struct {
	t        testing.TB
	db       *store.DB
	server   *Server
	srv      *httptest.Server
	router   routers.Router
	adminKey string
}

func newEnv(t testing.TB, opts ...func(*Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "truyxuat.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := store.OpenKeyDir(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	cfg := Config{PublicURL: "https://trace.example.vn"}
	for _, o := range opts {
		o(&cfg)
	}
	s := New(cfg, db, keys, logger)
	srv := httptest.NewServer(s.Handler())
	e := &testEnv{t: t, db: db, srv: srv}
	t.Cleanup(func() {
		// The test may have restarted the server on the same file.
		e.srv.Close()
		if err := e.db.Check(); err != nil {
			t.Errorf("tx.Check: %v", err)
		}
		e.db.Close()
	})
	admin, err := db.CreateAPIKey(&store.APIKey{Name: "admin", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(openAPISpec)
	if err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("openapi.yaml is not valid: %v", err)
	}
	doc.Servers = nil // match requests to the test server by path alone
	router, err := legacy.NewRouter(doc)
	if err != nil {
		t.Fatal(err)
	}
	e.router, e.adminKey, e.server = router, admin, s
	return e
}

var rawTransport = &http.Transport{DisableCompression: true}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// send is do for bodies that are not JSON: raw bytes with the given
// headers. Requests and responses are validated against openapi.yaml as
// do validates them (binary bodies by their content type only).
func (e *testEnv) send(method, path, key string, header map[string]string, body []byte, checkRequest bool) *response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	route, params, err := e.router.FindRoute(req)
	if err != nil {
		e.t.Fatalf("%s %s is not in openapi.yaml: %v", method, path, err)
	}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: &openapi3filter.Options{AuthenticationFunc: openapi3filter.NoopAuthenticationFunc, MultiError: true}}
	if checkRequest {
		req.Body = io.NopCloser(bytes.NewReader(body))
		if err := openapi3filter.ValidateRequest(context.Background(), in); err != nil {
			e.t.Fatalf("request %s %s does not match openapi.yaml: %v", method, path, err)
		}
		req.Body = io.NopCloser(bytes.NewReader(body))
	}
	// What the client asked for is what it gets: no compression added
	// or removed on the way.
	res, err := rawTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	plain := out
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(bytes.NewReader(out))
		if err != nil {
			e.t.Fatalf("gzip body: %v", err)
		}
		if plain, err = io.ReadAll(zr); err != nil {
			e.t.Fatalf("gzip body: %v", err)
		}
	}
	rin := &openapi3filter.ResponseValidationInput{RequestValidationInput: in, Status: res.StatusCode,
		Header: res.Header, Options: &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}}
	rin.SetBodyBytes(plain)
	if err := openapi3filter.ValidateResponse(context.Background(), rin); err != nil {
		e.t.Fatalf("response to %s %s (%d) does not match openapi.yaml: %v\n%.300s", method, path, res.StatusCode, err, out)
	}
	return &response{status: res.StatusCode, header: res.Header, body: out}
}

// do sends a request and validates it and its response against the spec.
// Requests that are deliberately invalid skip the request check (the
// response is always checked).
func (e *testEnv) do(method, path, key string, body any, checkRequest bool) *response {
	e.t.Helper()
	var raw []byte
	switch b := body.(type) {
	case nil:
	case string:
		raw = []byte(b)
	default:
		var err error
		if raw, err = json.Marshal(b); err != nil {
			e.t.Fatal(err)
		}
	}
	header := map[string]string{"Accept": "application/json"}
	if body != nil {
		header["Content-Type"] = "application/json"
	}
	return e.send(method, path, key, header, raw, checkRequest)
}

func (e *testEnv) expect(r *response, status int) {
	e.t.Helper()
	if r.status != status {
		e.t.Fatalf("status %d, want %d: %s", r.status, status, r.body)
	}
	if status >= 400 && r.header.Get("Content-Type") != "application/problem+json" {
		e.t.Fatalf("error with content type %q", r.header.Get("Content-Type"))
	}
}

// seed creates a cooperative, a product with a GTIN and a batch.
func (e *testEnv) seed(name, gtin, lot string) (coopKey string, coop Cooperative, batch Batch) {
	e.t.Helper()
	r := e.do("POST", "/api/v1/cooperatives", e.adminKey, CreateCooperativeRequest{Name: name, Province: "Sóc Trăng"}, true)
	e.expect(r, 201)
	var cc CreateCooperativeResponse
	r.decode(e.t, &cc)
	r = e.do("POST", "/api/v1/products", cc.APIKey.Secret, CreateProductRequest{GTIN: gtin, NameVI: "Gạo ST25", NameEN: "ST25 rice", Category: "rice", OCOPStars: 4}, true)
	e.expect(r, 201)
	var p Product
	r.decode(e.t, &p)
	r = e.do("POST", "/api/v1/batches", cc.APIKey.Secret, map[string]any{
		"product_id": p.ID, "lot": lot, "quantity": map[string]any{"value": 1250, "unit": "KGM"},
		"harvest_date": "2025-08-15", "plot": map[string]any{"name": "Ruộng số 7", "lat": 9.56, "lon": 105.98}}, true)
	e.expect(r, 201)
	r.decode(e.t, &batch)
	return cc.APIKey.Secret, cc.Cooperative, batch
}

func TestBatchLifecycle(t *testing.T) {
	e := newEnv(t)
	key, coop, batch := e.seed("HTX Nông nghiệp Mỹ Xuyên", "8931234567897", "ST25-2025-08")
	if batch.GTIN != "08931234567897" || batch.Path != "/01/08931234567897/10/ST25-2025-08" {
		t.Fatalf("batch %+v", batch)
	}
	steps := []map[string]any{
		{"biz_step": "commissioning", "disposition": "active", "event_time": "2025-08-15T06:30:00+07:00",
			"quantity":       map[string]any{"value": "1250", "unit": "KGM"},
			"ilmd":           map[string]any{"harvest_date": "2025-08-15", "country_of_origin": "VN"},
			"certifications": []any{map[string]any{"scheme": "vietgap", "id": "VG-0123"}},
			"note":           "Thu hoạch bằng máy gặt đập liên hợp"},
		{"biz_step": "https://trace.example.vn/voc/bizstep/drying", "event_time": "2025-08-16T08:00:00+07:00",
			"data": map[string]any{"moisture_percent": "14"}},
		{"biz_step": "packing", "event_time": "2025-08-17T09:00:00+07:00"},
		{"biz_step": "shipping", "disposition": "in_transit"},
	}
	var last Event
	for i, step := range steps {
		r := e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, step, true)
		e.expect(r, 201)
		r.decode(t, &last)
		// The lot's signed facts are event 0.
		if last.Seq != uint64(i+1) {
			t.Fatalf("event %d has seq %d", i, last.Seq)
		}
	}
	// The public Digital Link serves the whole signed history.
	r := e.do("GET", batch.Path, "", nil, true)
	e.expect(r, 200)
	var h History
	r.decode(t, &h)
	if len(h.Events) != 5 || !h.Verified || h.Cooperative.ID != coop.ID || h.Batch.Head != last.Hash {
		t.Fatalf("history: %d events, verified %v, head %s", len(h.Events), h.Verified, h.Batch.Head)
	}
	if h.Events[0].BizStep != "creating_class_instance" || h.Events[1].Action != "ADD" || h.Events[2].Action != "OBSERVE" || h.Events[4].EventTimeZoneOffset != "+07:00" {
		t.Errorf("defaults: %+v", h.Events)
	}
	if h.ProductRecord == nil || h.CooperativeRecord == nil || len(h.Unsigned) != 0 {
		t.Errorf("signed records %v %v, unsigned %v", h.ProductRecord, h.CooperativeRecord, h.Unsigned)
	}
	// The served history verifies, and any edit of it does not.
	raw := r.body
	r = e.do("POST", "/api/v1/verify", "", string(raw), true)
	e.expect(r, 200)
	tampered := []struct {
		name, from, to string
		index          int
	}{
		{"readable note", "Thu hoạch bằng máy", "Thu hoạch bằng tay", 1},
		{"event hash", h.Events[3].Hash, strings.Repeat("0", 64), 3},
	}
	for _, tc := range tampered {
		t.Run(tc.name, func(t *testing.T) {
			mod := strings.Replace(string(raw), tc.from, tc.to, 1)
			if mod == string(raw) {
				t.Fatal("nothing replaced")
			}
			r := e.do("POST", "/api/v1/verify", "", mod, true)
			e.expect(r, 422)
			var p Problem
			r.decode(t, &p)
			if p.Verification == nil || p.Verification.EventIndex != tc.index {
				t.Errorf("problem %+v", p)
			}
		})
	}
	// Canonical bytes edited and re-encoded: the signature no longer fits.
	var h2 History
	json.Unmarshal(raw, &h2)
	body, _ := base64.StdEncoding.DecodeString(h2.Events[4].Canonical)
	h2.Events[4].Canonical = base64.StdEncoding.EncodeToString(bytes.Replace(body, []byte("in_transit"), []byte("in_progress"), 1))
	r = e.do("POST", "/api/v1/verify", "", h2, true)
	e.expect(r, 422)

	// The event can be fetched by its hash and the batch by its id.
	e.expect(e.do("GET", "/api/v1/events/"+last.Hash, "", nil, true), 200)
	e.expect(e.do("GET", "/api/v1/batches/"+batch.ID, "", nil, true), 200)
	r = e.do("GET", "/api/v1/batches?cooperative="+coop.ID+"&limit=10", "", nil, true)
	e.expect(r, 200)
}

func TestRefusals(t *testing.T) {
	e := newEnv(t)
	keyA, _, batchA := e.seed("HTX A", "8931234567897", "LOT-A")
	keyB, _, _ := e.seed("HTX B", "", "LOT-B")
	ok := map[string]any{"biz_step": "storing"}
	tests := []struct {
		name, method, path, key string
		body                    any
		status                  int
		contains                string
		validRequest            bool
	}{
		{"no key", "POST", "/api/v1/batches/" + batchA.ID + "/events", "", ok, 401, "API key", true},
		{"unknown key", "POST", "/api/v1/batches/" + batchA.ID + "/events", "txk_nope", ok, 401, "unknown", true},
		{"another cooperative's batch", "POST", "/api/v1/batches/" + batchA.ID + "/events", keyB, ok, 403, "writes for cooperative", true},
		{"cooperative key creating cooperatives", "POST", "/api/v1/cooperatives", keyA, CreateCooperativeRequest{Name: "X", Province: "Y"}, 403, "", true},
		{"harvesting is not CBV", "POST", "/api/v1/batches/" + batchA.ID + "/events", keyA, map[string]any{"biz_step": "harvesting"}, 422, "commissioning", true},
		{"unknown field", "POST", "/api/v1/batches/" + batchA.ID + "/events", keyA, map[string]any{"biz_step": "storing", "colour": "red"}, 400, "", false},
		{"bad JSON", "POST", "/api/v1/batches/" + batchA.ID + "/events", keyA, "{", 400, "not valid JSON", false},
		{"event time without offset", "POST", "/api/v1/batches/" + batchA.ID + "/events", keyA, map[string]any{"biz_step": "storing", "event_time": "2025-08-15 06:30"}, 422, "RFC 3339", true},
		{"unknown batch", "POST", "/api/v1/batches/nope/events", keyA, ok, 404, "", true},
		{"Vietnamese lot", "POST", "/api/v1/batches", keyA, map[string]any{"product_id": batchA.ProductID, "lot": "LÔ1", "quantity": map[string]any{"value": 1, "unit": "KGM"}}, 422, "diacritics", true},
		{"duplicate lot", "POST", "/api/v1/batches", keyA, map[string]any{"product_id": batchA.ProductID, "lot": "LOT-A", "quantity": map[string]any{"value": 1, "unit": "KGM"}}, 409, "already", true},
		{"bad GTIN", "POST", "/api/v1/products", keyA, CreateProductRequest{GTIN: "8931234567890", NameVI: "X", Category: "rice"}, 422, "check digit", true},
		{"bad Digital Link", "GET", "/01/8931234567897/10/LOT-A", "", nil, 400, "14 digits", false},
		{"unknown lot", "GET", "/01/08931234567897/10/NOPE", "", nil, 404, "", true},
		{"oversized body", "POST", "/api/v1/batches/" + batchA.ID + "/events", keyA, map[string]any{"biz_step": "storing", "note": strings.Repeat("x", 2<<20)}, 413, "", false},
		{"note too long", "POST", "/api/v1/batches/" + batchA.ID + "/events", keyA, map[string]any{"biz_step": "storing", "note": strings.Repeat("x", 2001)}, 422, "2000", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := e.do(tt.method, tt.path, tt.key, tt.body, tt.validRequest)
			e.expect(r, tt.status)
			if !strings.Contains(string(r.body), tt.contains) {
				t.Errorf("problem %s does not say %q", r.body, tt.contains)
			}
		})
	}
	// Nothing refused was recorded.
	r := e.do("GET", "/api/v1/batches/"+batchA.ID, "", nil, true)
	var h History
	r.decode(t, &h)
	if len(h.Events) != 1 {
		t.Errorf("refused writes left %d events beside the lot's facts", len(h.Events)-1)
	}
}

func TestServiceEndpoints(t *testing.T) {
	e := newEnv(t)
	e.expect(e.do("GET", "/healthz", "", nil, true), 200)
	r := e.do("GET", "/api/v1/openapi.yaml", "", nil, true)
	e.expect(r, 200)
	res, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.Contains(string(b), "truyxuat_http_requests_total") || !strings.Contains(string(b), "truyxuat_store_events_appended_total") {
		t.Errorf("metrics lack truyxuat series:\n%.500s", b)
	}
	if rid := r.header.Get("X-Request-Id"); rid == "" {
		t.Error("no request id header")
	}
}

// TestResolverKeepsEncodedData follows a lot whose code ends in '/' (GS1
// character set 82 has it) from the API through its printed label to the
// resolver, and checks that no path is ever rebuilt from its decoded form:
// %2F stays part of the lot, and a literal trailing slash is refused.
func TestResolverKeepsEncodedData(t *testing.T) {
	e := newEnv(t)
	key, _, slashed := e.seed("HTX A", "8931234567897", "TL3777/")
	e.expect(e.do("POST", "/api/v1/batches/"+slashed.ID+"/events", key, map[string]any{"biz_step": "commissioning"}, true), 201)
	r := e.do("POST", "/api/v1/batches", key, map[string]any{"product_id": slashed.ProductID, "lot": "ST25-2508-A",
		"quantity": map[string]any{"value": 100, "unit": "KGM"}, "harvest_date": "2025-08-20"}, true)
	e.expect(r, 201)
	var plain Batch
	r.decode(t, &plain)
	e.expect(e.do("POST", "/api/v1/batches/"+plain.ID+"/events", key, map[string]any{"biz_step": "commissioning"}, true), 201)
	if want := "/01/08931234567897/10/TL3777%2F"; slashed.Path != want {
		t.Fatalf("batch path %s, want %s", slashed.Path, want)
	}
	resolve := func(path string) (int, History, string) {
		t.Helper()
		// Sent byte for byte, even a malformed escape.
		req, err := http.NewRequest("GET", e.srv.URL, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.URL.Opaque, req.URL.RawQuery, _ = strings.Cut(path, "?")
		req.Header.Set("Accept", "application/json")
		res, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		body, _ := io.ReadAll(res.Body)
		var h History
		if res.StatusCode == 200 {
			if err := json.Unmarshal(body, &h); err != nil {
				t.Fatalf("%s: %v", path, err)
			}
		}
		return res.StatusCode, h, string(body)
	}

	// The link the label prints, made by the code that makes labels, and
	// as a phone reads it from the printed QR code.
	var h History
	e.do("GET", "/api/v1/batches/"+slashed.ID, "", nil, true).decode(t, &h)
	content, _, err := LabelContent(&h, "https://trace.example.vn", "")
	if err != nil {
		t.Fatal(err)
	}
	uri := content.URI
	if !strings.HasPrefix(uri, "https://trace.example.vn/01/08931234567897/10/TL3777%2F?") {
		t.Fatalf("label link %s", uri)
	}
	t.Run("scanned label", func(t *testing.T) {
		zbar := needTool(t, "zbarimg")
		r := e.do("GET", "/api/v1/batches/"+slashed.ID+"/labels?format=png", key, nil, true)
		e.expect(r, 200)
		png := filepath.Join(t.TempDir(), "label.png")
		if err := os.WriteFile(png, r.body, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := exec.Command(zbar, "--raw", "-q", png).Output()
		if got := strings.TrimSpace(string(out)); err != nil || got != uri {
			t.Errorf("zbarimg read %q (%v), want %q", got, err, uri)
		}
	})
	for _, path := range []string{strings.TrimPrefix(uri, "https://trace.example.vn"), slashed.Path, "/b/" + slashed.ID} {
		status, h, body := resolve(path)
		if status != 200 || h.Batch.ID != slashed.ID || h.Batch.Lot != "TL3777/" {
			t.Errorf("%s: %d batch %q lot %q %.200s", path, status, h.Batch.ID, h.Batch.Lot, body)
		}
	}

	for _, tc := range []struct {
		path   string
		status int
	}{
		{"/01/08931234567897/10/ST25-2508-A", 200},
		// A different lot, ST25-2508-A/, which does not exist.
		{"/01/08931234567897/10/ST25-2508-A%2F", 404},
		{"/01/08931234567897/10/ST25-2508-A%2f", 404},
		{"/01/08931234567897/10/TL3777", 404},
		// A literal trailing slash is malformed, never trimmed.
		{"/01/08931234567897/10/ST25-2508-A/", 400},
		{"/01/08931234567897/10/TL3777%2F/", 400},
		{"/b/" + plain.ID + "/", 400},
		{"/b/" + plain.ID + "%2F", 400},
		// Valid GS1 Digital Links that name nothing truyxuat keeps.
		{"/01/08931234567897/235/TPX-1", 404},
		{"/01/08931234567897?17=251231", 404},
		// Invalid ones.
		{"/01/08931234567897/10/ST25-2508-A?17=251315", 400},
		{"/01/08931234567897/10/ST25-2508-A?999=1", 400},
		{"/01/08931234567897/10/ST25-2508-A%2", 400},
	} {
		status, h, body := resolve(tc.path)
		if status != tc.status {
			t.Errorf("%s: %d, want %d: %.200s", tc.path, status, tc.status, body)
		}
		if status == 200 && h.Batch.ID != plain.ID {
			t.Errorf("%s answered batch %s, want %s", tc.path, h.Batch.ID, plain.ID)
		}
	}
	// Other routes keep tolerating a trailing slash, with their data intact.
	if r := e.do("GET", "/api/v1/batches/"+slashed.ID+"/", "", nil, false); r.status != 200 || !strings.Contains(string(r.body), `"lot":"TL3777/"`) {
		t.Errorf("API path with a trailing slash: %d %.200s", r.status, r.body)
	}
}
