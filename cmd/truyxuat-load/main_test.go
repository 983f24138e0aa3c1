package main

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

func TestOnlyLoopbackServersAreLoaded(t *testing.T) {
	for _, u := range []string{"http://127.0.0.1:8080", "http://localhost:8080/", "http://[::1]:8080", "http://127.1.2.3"} {
		if err := checkLoopback(u); err != nil {
			t.Errorf("%s: %v", u, err)
		}
	}
	for _, u := range []string{"http://10.0.0.1:8080", "http://192.168.1.10", "https://example.com", "http://[2001:db8::1]:80"} {
		if err := checkLoopback(u); err == nil {
			t.Errorf("%s was accepted", u)
		}
	}
}

// A run counts every request once, by status, and with -etag sends back
// the ETag it was given, so an unchanged history is answered 304.
func TestRunCountsStatusesAndSendsETags(t *testing.T) {
	var conditional atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Accept") != "application/json" {
			t.Errorf("Accept %q", r.Header.Get("Accept"))
		}
		if r.Header.Get("Accept-Encoding") != "gzip" {
			t.Errorf("Accept-Encoding %q", r.Header.Get("Accept-Encoding"))
		}
		etag := `"` + strings.TrimPrefix(r.URL.Path, "/") + `"`
		w.Header().Set("ETag", etag)
		if r.Header.Get("If-None-Match") == etag {
			conditional.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		io.WriteString(w, `{"events":[]}`)
	}))
	defer srv.Close()
	setup := &Setup{Batches: []SetupBatch{{ID: "a", URL: "/a"}, {ID: "b", URL: "/b"}}}
	l := &load{server: srv.URL, setup: setup, client: "gzip", etag: true}
	op, err := l.op("history")
	if err != nil {
		t.Fatal(err)
	}
	hc, err := httpClient("gzip", 4)
	if err != nil {
		t.Fatal(err)
	}
	res := run(hc, 4, 100, op)
	if res.Requests != 100 || res.Status["200"]+res.Status["304"] != 100 {
		t.Fatalf("%d requests, statuses %v", res.Requests, res.Status)
	}
	if res.Status["304"] == 0 || int64(res.Status["304"]) != conditional.Load() {
		t.Errorf("statuses %v, %d answered 304 by the server", res.Status, conditional.Load())
	}
	if res.PerSecond <= 0 || res.P99ms < res.P50ms {
		t.Errorf("rate %v, p50 %v, p99 %v", res.PerSecond, res.P50ms, res.P99ms)
	}
}
