package api

import (
	"io"
	"net/http"
	"strings"
	"testing"
)

// TestConditionalHistory: a history and its page carry a strong ETag of
// their state, a Cache-Control a CDN can use, one Vary and a length; the
// same URL revalidated answers 304 until the history changes.
func TestConditionalHistory(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning"}, true), 201)

	for _, tc := range []struct {
		name   string
		header map[string]string
		vary   string
	}{
		{"json", map[string]string{"Accept": "application/json"}, "Accept, Accept-Encoding"},
		{"json gzip", map[string]string{"Accept": "application/json", "Accept-Encoding": "gzip"}, "Accept, Accept-Encoding"},
		{"page", map[string]string{"Accept": "text/html"}, "Accept, Accept-Encoding, Accept-Language, Cookie"},
		{"page gzip", map[string]string{"Accept": "text/html", "Accept-Encoding": "gzip"}, "Accept, Accept-Encoding, Accept-Language, Cookie"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := fetchRaw(t, e.srv.URL+batch.Path, tc.header)
			if r.status != 200 {
				t.Fatalf("status %d", r.status)
			}
			etag := r.header.Get("ETag")
			if !strings.HasPrefix(etag, `"`) || r.header.Get("Cache-Control") != historyCacheControl ||
				r.header.Get("Content-Length") == "" || len(r.header.Values("Vary")) != 1 || r.header.Get("Vary") != tc.vary {
				t.Fatalf("headers %v", r.header)
			}
			if gz := tc.header["Accept-Encoding"] == "gzip"; gz != (r.header.Get("Content-Encoding") == "gzip") || gz != strings.HasSuffix(etag, `-gz"`) {
				t.Errorf("encoding %q with ETag %s", r.header.Get("Content-Encoding"), etag)
			}
			again := map[string]string{"If-None-Match": etag}
			for k, v := range tc.header {
				again[k] = v
			}
			r = fetchRaw(t, e.srv.URL+batch.Path, again)
			if r.status != http.StatusNotModified || len(r.body) != 0 || r.header.Get("ETag") != etag {
				t.Fatalf("revalidation: %d %v", r.status, r.header)
			}
			// A new event is a new state.
			e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "storing"}, true), 201)
			r = fetchRaw(t, e.srv.URL+batch.Path, again)
			if r.status != http.StatusOK || r.header.Get("ETag") == etag {
				t.Errorf("after a new event: %d, ETag %s", r.status, r.header.Get("ETag"))
			}
		})
	}
}

// TestGrownHistoryAndRestatedFacts: a cached history that grows is
// extended with its new events, verified, and a restatement of the lot's
// facts reaches the page by its Digital Link at once.
func TestGrownHistoryAndRestatedFacts(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	for i := 0; i < 3; i++ {
		e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "storing"}, true), 201)
		h, _ := e.history(batch.ID)
		if !h.Verified || len(h.Events) != 2+i {
			t.Fatalf("after %d events: %d, verified %v", i+1, len(h.Events), h.Verified)
		}
	}
	r := e.do("GET", batch.Path, "", nil, true)
	e.expect(r, 200)
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/facts", key, map[string]any{"quantity": map[string]any{"value": "1100", "unit": "KGM"},
		"harvest_date": "2025-08-15", "plot": map[string]any{"name": "Ruộng số 7", "lat": 9.56, "lon": 105.98}}, true), 201)
	r = e.do("GET", batch.Path, "", nil, true)
	e.expect(r, 200)
	var h History
	r.decode(t, &h)
	if !h.Verified || h.Batch.Quantity.Value != "1100" || len(h.Events) != 5 {
		t.Fatalf("after restating the facts: %d events, quantity %s", len(h.Events), h.Batch.Quantity.Value)
	}
	res, page := get(t, e.srv.URL+batch.Path, map[string]string{"Accept": "text/html"})
	if res.StatusCode != 200 || !strings.Contains(page, "1.100 kg") {
		t.Errorf("page after restating the facts: %d", res.StatusCode)
	}
}

// fetchRaw gets a URL as a client that sends exactly the given headers and
// decodes nothing.
func fetchRaw(t *testing.T, url string, header map[string]string) *response {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := rawTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return &response{status: res.StatusCode, header: res.Header, body: body}
}
