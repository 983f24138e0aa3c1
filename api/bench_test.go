package api

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/labstack/echo/v4"
)

// BenchmarkConsumer measures the server side of a scan: the consumer page
// and the JSON history of a 20-event batch, under 64 concurrent clients
// over real HTTP connections, beside a trivial echo handler measured the
// same way in the same run. It reports requests per second and the median
// and 99th-percentile latency.
func BenchmarkConsumer(b *testing.B) {
	env := newBenchEnv(b)
	trivial := echo.New()
	trivial.GET("/hello", func(c echo.Context) error { return c.String(http.StatusOK, "hello") })
	trivialSrv := httptest.NewServer(trivial)
	b.Cleanup(trivialSrv.Close)

	cases := []struct {
		name, url, accept string
	}{
		{"trivial", trivialSrv.URL + "/hello", "*/*"},
		{"page", env.srv.URL + env.path, "text/html"},
		{"json", env.srv.URL + env.path, "application/json"},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) { runClients(b, 64, c.url, c.accept) })
	}
}

// runClients spreads b.N GET requests over n concurrent clients.
func runClients(b *testing.B, n int, url, accept string) {
	tr := &http.Transport{MaxIdleConnsPerHost: n, MaxConnsPerHost: n}
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	lat := make([]time.Duration, b.N)
	var next int64
	var mu sync.Mutex
	var wg sync.WaitGroup
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				mu.Lock()
				k := next
				next++
				mu.Unlock()
				if k >= int64(b.N) {
					return
				}
				req, _ := http.NewRequest("GET", url, nil)
				req.Header.Set("Accept", accept)
				req.Header.Set("Accept-Encoding", "gzip")
				start := time.Now()
				res, err := client.Do(req)
				if err != nil {
					b.Error(err)
					return
				}
				io.Copy(io.Discard, res.Body)
				res.Body.Close()
				lat[k] = time.Since(start)
				if res.StatusCode != 200 {
					b.Errorf("%s: status %d", url, res.StatusCode)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
}

type benchEnv struct {
	srv  *httptest.Server
	path string
}

// newBenchEnv is a server with one 20-event batch.
func newBenchEnv(b *testing.B) *benchEnv {
	e := newEnv(b)
	key, _, batch := e.seed("HTX Bench", "8931234567897", "BENCH-20")
	for i := 0; i < 20; i++ {
		r := e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{
			"biz_step": "storing", "event_time": fmt.Sprintf("2025-08-%02dT08:00:00+07:00", i+1),
			"note": fmt.Sprintf("Kiểm tra kho lần %d, nhiệt độ 28°C, độ ẩm 65%%", i+1)}, false)
		if r.status != 201 {
			b.Fatalf("append: %d %s", r.status, r.body)
		}
	}
	return &benchEnv{srv: e.srv, path: batch.Path}
}
