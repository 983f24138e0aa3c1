// Command truyxuat-load drives a running truyxuat over HTTP, from its own
// process, the way clients meet it, and reports requests per second and
// latency percentiles. It is for benchmarks on one machine: it only talks
// to the address it is given, sends a bounded number of requests and
// stops.
//
//	truyxuat-load -mode append  -setup demo.json [-client plain|gzip|default] [-clients 64] [-requests 4000]
//	truyxuat-load -mode history -setup demo.json [-client gzip] [-etag]
//	truyxuat-load -mode page    -setup demo.json
//	truyxuat-load -mode get -url http://127.0.0.1:8090/  (any URL, e.g. the echo baseline)
//	truyxuat-load -mode echo -listen 127.0.0.1:8090      (serve the trivial baseline handler)
//
// -setup is the JSON that `truyxuat serve --demo` prints: the
// cooperatives' API keys and the batches' public paths. Appends go, client
// i to batch i modulo the number of batches, with the key of the batch's
// cooperative, as JSON (Content-Type: application/json); a read fetches
// a batch's public path as JSON (history) or HTML (page).
//
// -client says what the HTTP client accepts: "plain" sends no
// Accept-Encoding and gets identity bodies, "gzip" sends Accept-Encoding:
// gzip and reads the compressed bytes as they come, "default" is Go's
// default transport (which asks for gzip and decompresses).
//
// With -json the result is one JSON object on standard output. Each
// result gives the generator's own processor time per request, which on
// one machine is taken from the server it measures; -cpuprofile FILE
// writes where that time went.
package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// Setup is the part of `truyxuat serve --demo`'s output that the load needs.
type Setup struct {
	Cooperatives []struct {
		ID     string `json:"id"`
		APIKey string `json:"api_key"`
	} `json:"cooperatives"`
	Batches []SetupBatch `json:"batches"`
}

// SetupBatch is a demo batch: its id, its cooperative and its public path.
type SetupBatch struct {
	ID          string `json:"id"`
	Cooperative string `json:"cooperative"`
	URL         string `json:"url"`
}

// Result is what one run measured.
type Result struct {
	Mode      string         `json:"mode"`
	Client    string         `json:"client"`
	Clients   int            `json:"clients"`
	Requests  int            `json:"requests"`
	Seconds   float64        `json:"seconds"`
	PerSecond float64        `json:"per_second"`
	P50ms     float64        `json:"p50_ms"`
	P99ms     float64        `json:"p99_ms"`
	Status    map[string]int `json:"status"`
	BodyBytes int64          `json:"body_bytes"`
	// CPUPerRequest is this generator's own processor time (user and
	// system) per request counted, in microseconds: on one machine it is
	// taken from the server measured.
	CPUPerRequest float64 `json:"cpu_us_per_request"`
}

// maxRequests bounds a run, whatever the flags say.
const maxRequests = 1_000_000

func main() {
	mode := flag.String("mode", "", "append, history, page, get or echo")
	server := flag.String("server", "http://127.0.0.1:8080", "base URL of the truyxuat service (loopback)")
	setupFile := flag.String("setup", "", "JSON printed by `truyxuat serve --demo`")
	target := flag.String("url", "", "URL fetched by -mode get")
	client := flag.String("client", "plain", "plain, gzip or default (see above)")
	clients := flag.Int("clients", 64, "concurrent clients, each with its own connection")
	requests := flag.Int("requests", 4000, "requests in all")
	warmup := flag.Int("warmup", 0, "requests sent first and not counted")
	etag := flag.Bool("etag", false, "reads: send If-None-Match with the ETag a batch was last served with")
	listen := flag.String("listen", "127.0.0.1:8090", "-mode echo: address to serve on")
	asJSON := flag.Bool("json", false, "print the result as JSON")
	cpuProfile := flag.String("cpuprofile", "", "write this generator's CPU profile of the counted requests to the file")
	flag.Parse()

	if *mode == "echo" {
		if err := serveEcho(*listen); err != nil {
			fail(err)
		}
		return
	}
	if *clients < 1 || *clients > 4096 {
		fail(fmt.Errorf("-clients must be between 1 and 4096"))
	}
	if *requests < 1 || *requests+*warmup > maxRequests {
		fail(fmt.Errorf("-requests (with -warmup) must be between 1 and %d", maxRequests))
	}
	if err := checkLoopback(*server); err != nil {
		fail(err)
	}
	var setup Setup
	if *setupFile != "" {
		b, err := os.ReadFile(*setupFile)
		if err != nil {
			fail(err)
		}
		if err := json.Unmarshal(b, &setup); err != nil {
			fail(fmt.Errorf("%s: %w", *setupFile, err))
		}
	}
	l := &load{server: strings.TrimRight(*server, "/"), setup: &setup, client: *client, etag: *etag, url: *target}
	op, err := l.op(*mode)
	if err != nil {
		fail(err)
	}
	hc, err := httpClient(*client, *clients)
	if err != nil {
		fail(err)
	}
	if *warmup > 0 {
		run(hc, *clients, *warmup, op)
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			fail(err)
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			fail(err)
		}
		defer f.Close()
	}
	cpu0 := processorTime()
	res := run(hc, *clients, *requests, op)
	pprof.StopCPUProfile()
	if res.Requests > 0 {
		res.CPUPerRequest = (processorTime() - cpu0).Seconds() / float64(res.Requests) * 1e6
	}
	res.Mode, res.Client = *mode, *client
	if *asJSON {
		json.NewEncoder(os.Stdout).Encode(res)
	} else {
		fmt.Printf("%s (%s client): %d requests from %d clients in %.2f s: %.0f requests/s, p50 %.2f ms, p99 %.2f ms, statuses %v, %d body bytes, %.0f µs of this generator's processor time per request\n",
			res.Mode, res.Client, res.Requests, res.Clients, res.Seconds, res.PerSecond, res.P50ms, res.P99ms, res.Status, res.BodyBytes, res.CPUPerRequest)
	}
	for code, n := range res.Status {
		if code[0] != '2' && code != "304" && n > 0 {
			os.Exit(1)
		}
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "truyxuat-load:", err)
	os.Exit(2)
}

// checkLoopback refuses any server that is not on this machine.
func checkLoopback(server string) error {
	u, err := http.NewRequest(http.MethodGet, server, nil)
	if err != nil {
		return err
	}
	host := u.URL.Hostname()
	if host == "localhost" {
		return nil
	}
	if ip := net.ParseIP(host); ip != nil && ip.IsLoopback() {
		return nil
	}
	return fmt.Errorf("%s is not a loopback address: truyxuat-load only loads this machine", server)
}

func httpClient(kind string, clients int) (*http.Client, error) {
	tr := &http.Transport{MaxIdleConns: clients, MaxIdleConnsPerHost: clients, IdleConnTimeout: time.Minute}
	switch kind {
	case "plain", "gzip":
		// Bodies are read as they come: no decompression on our side.
		tr.DisableCompression = true
	case "default":
		tr = http.DefaultTransport.(*http.Transport).Clone()
		tr.MaxIdleConns, tr.MaxIdleConnsPerHost = clients, clients
	default:
		return nil, fmt.Errorf("-client must be plain, gzip or default, not %q", kind)
	}
	return &http.Client{Transport: tr, Timeout: time.Minute}, nil
}

// load builds each request of a run.
type load struct {
	server string
	setup  *Setup
	client string
	etag   bool
	url    string
	etags  sync.Map // URL → last ETag
}

// An op sends request number i of client c and returns the status code
// and the number of body bytes read.
type op func(hc *http.Client, c, i int) (int, int64, error)

func (l *load) op(mode string) (op, error) {
	switch mode {
	case "append":
		keys := map[string]string{}
		for _, c := range l.setup.Cooperatives {
			keys[c.ID] = c.APIKey
		}
		if len(l.setup.Batches) == 0 || len(keys) == 0 {
			return nil, fmt.Errorf("-mode append needs -setup with cooperatives and batches")
		}
		return func(hc *http.Client, c, i int) (int, int64, error) {
			b := l.setup.Batches[c%len(l.setup.Batches)]
			body := fmt.Sprintf(`{"biz_step":"storing","note":"kiểm tra kho lần %d"}`, i)
			req, err := http.NewRequest(http.MethodPost, l.server+"/api/v1/batches/"+b.ID+"/events", strings.NewReader(body))
			if err != nil {
				return 0, 0, err
			}
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Authorization", "Bearer "+keys[b.Cooperative])
			return l.do(hc, req)
		}, nil
	case "history", "page":
		if len(l.setup.Batches) == 0 {
			return nil, fmt.Errorf("-mode %s needs -setup with batches", mode)
		}
		accept := "application/json"
		if mode == "page" {
			accept = "text/html"
		}
		return func(hc *http.Client, c, i int) (int, int64, error) {
			u := l.server + l.setup.Batches[i%len(l.setup.Batches)].URL
			req, err := http.NewRequest(http.MethodGet, u, nil)
			if err != nil {
				return 0, 0, err
			}
			req.Header.Set("Accept", accept)
			return l.do(hc, req)
		}, nil
	case "get":
		if l.url == "" {
			return nil, fmt.Errorf("-mode get needs -url")
		}
		if err := checkLoopback(l.url); err != nil {
			return nil, err
		}
		return func(hc *http.Client, c, i int) (int, int64, error) {
			req, err := http.NewRequest(http.MethodGet, l.url, nil)
			if err != nil {
				return 0, 0, err
			}
			req.Header.Set("Accept", "application/json")
			return l.do(hc, req)
		}, nil
	}
	return nil, fmt.Errorf("-mode must be append, history, page, get or echo, not %q", mode)
}

// do sends req with the client's encoding and conditional headers and
// reads the whole body.
func (l *load) do(hc *http.Client, req *http.Request) (int, int64, error) {
	if l.client == "gzip" {
		req.Header.Set("Accept-Encoding", "gzip")
	}
	key := req.URL.String()
	if l.etag && req.Method == http.MethodGet {
		if v, ok := l.etags.Load(key); ok {
			req.Header.Set("If-None-Match", v.(string))
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, 0, err
	}
	n, err := io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if err != nil {
		return 0, 0, err
	}
	if l.etag {
		if et := resp.Header.Get("ETag"); et != "" {
			l.etags.Store(key, et)
		}
	}
	return resp.StatusCode, n, nil
}

// run sends n requests from the given number of clients and measures them.
func run(hc *http.Client, clients, n int, f op) Result {
	var next atomic.Int64
	lat := make([][]time.Duration, clients)
	status := make([]map[int]int, clients)
	var bodyBytes atomic.Int64
	var firstErr atomic.Value
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	var wg sync.WaitGroup
	start := time.Now()
	for c := 0; c < clients; c++ {
		status[c] = map[int]int{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				t0 := time.Now()
				code, nb, err := f(hc, c, i)
				lat[c] = append(lat[c], time.Since(t0))
				if err != nil {
					firstErr.CompareAndSwap(nil, err)
					status[c][0]++
					continue
				}
				status[c][code]++
				bodyBytes.Add(nb)
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	all := slices.Concat(lat...)
	slices.Sort(all)
	res := Result{Clients: clients, Requests: len(all), Seconds: elapsed.Seconds(), Status: map[string]int{}, BodyBytes: bodyBytes.Load()}
	if len(all) > 0 {
		res.PerSecond = float64(len(all)) / elapsed.Seconds()
		res.P50ms = ms(all[len(all)/2])
		res.P99ms = ms(all[min(len(all)-1, len(all)*99/100)])
	}
	for _, m := range status {
		for code, k := range m {
			name := fmt.Sprint(code)
			if code == 0 {
				name = "error"
			}
			res.Status[name] += k
		}
	}
	if err, _ := firstErr.Load().(error); err != nil {
		fmt.Fprintln(os.Stderr, "truyxuat-load: first error:", err)
	}
	return res
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// processorTime is the user and system time this process has used so far.
func processorTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
