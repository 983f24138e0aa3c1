package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// These benchmarks run the real binaries: `go build ./cmd/truyxuat` and
// this load generator, each in its own process, over loopback HTTP. They
// run their own interleaved rounds inside one iteration: use -benchtime
// 1x. TRUYXUAT_BENCH_ROUNDS sets the rounds (default 7),
// TRUYXUAT_BENCH_REQUESTS the requests of a round (default 4000 appends,
// 10 times as many reads).

func envInt(name string, def int) int {
	var n int
	if _, err := fmt.Sscan(os.Getenv(name), &n); err == nil && n > 0 {
		return n
	}
	return def
}

// binDir holds the binaries the benchmarks build, removed by TestMain.
var binDir string

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// binaries builds truyxuat and truyxuat-load once per benchmark binary.
var binaries = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "truyxuat-bench-bin")
	if err != nil {
		return "", err
	}
	binDir = dir
	for _, pkg := range []string{"../truyxuat", "."} {
		cmd := exec.Command("go", "build", "-o", dir, pkg)
		if out, err := cmd.CombinedOutput(); err != nil {
			return "", fmt.Errorf("go build %s: %v\n%s", pkg, err, out)
		}
	}
	return dir, nil
})

func bin(b *testing.B, name string) string {
	b.Helper()
	dir, err := binaries()
	if err != nil {
		b.Skipf("cannot build the binaries: %v", err)
	}
	return filepath.Join(dir, name)
}

func freeAddr(b *testing.B) string {
	b.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// startServer starts `truyxuat serve --demo` on a fresh data directory and
// returns its base URL, the demo's output file and the server's process id.
func startServer(b *testing.B) (string, string, int) {
	b.Helper()
	dir := b.TempDir()
	addr := freeAddr(b)
	setup := filepath.Join(dir, "demo.json")
	out, err := os.Create(setup)
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(bin(b, "truyxuat"), "serve", "--demo", "--data", filepath.Join(dir, "data"), "--addr", addr, "--log-level", "warn")
	cmd.Stdout = out
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
		out.Close()
	})
	base := "http://" + addr
	waitUp(b, base+"/healthz")
	return base, setup, cmd.Process.Pid
}

// cpuSeconds returns the processor time (user and system) a process has
// used so far, from /proc/PID/stat, or 0 where that cannot be read.
func cpuSeconds(pid int) float64 {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0
	}
	// The fields after the command name, which is in parentheses.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 {
		return 0
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 13 {
		return 0
	}
	var utime, stime float64
	fmt.Sscan(f[11], &utime)
	fmt.Sscan(f[12], &stime)
	return (utime + stime) / 100 // clock ticks of 1/100 s on Linux
}

// startEcho starts this program's trivial echo handler in its own process
// and returns its URL and process id.
func startEcho(b *testing.B) (string, int) {
	b.Helper()
	addr := freeAddr(b)
	cmd := exec.Command(bin(b, "truyxuat-load"), "-mode", "echo", "-listen", addr)
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	})
	waitUp(b, "http://"+addr+"/")
	return "http://" + addr + "/", cmd.Process.Pid
}

func waitUp(b *testing.B, url string) {
	b.Helper()
	for i := 0; i < 300; i++ {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	b.Fatalf("%s did not answer within 30 s", url)
}

// drive runs the load generator once and returns its result.
func drive(b *testing.B, args ...string) Result {
	b.Helper()
	r, err := runLoad(bin(b, "truyxuat-load"), args...)
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// runLoad runs the load generator at path once and returns its result.
func runLoad(path string, args ...string) (Result, error) {
	cmd := exec.Command(path, append(args, "-json")...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	var r Result
	if err := cmd.Run(); err != nil {
		return r, fmt.Errorf("truyxuat-load %s: %v\n%s%s", strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	if err := json.Unmarshal(stdout.Bytes(), &r); err != nil {
		return r, fmt.Errorf("truyxuat-load %s: %v: %s", strings.Join(args, " "), err, stdout.String())
	}
	return r, nil
}

// storeCounters reads the events appended and the groups committed from
// the server's /metrics, or zeros where they cannot be read.
func storeCounters(base string) (events, commits float64) {
	resp, err := http.Get(base + "/metrics")
	if err != nil {
		return 0, 0
	}
	defer resp.Body.Close()
	var buf bytes.Buffer
	buf.ReadFrom(resp.Body)
	for _, line := range strings.Split(buf.String(), "\n") {
		name, value, ok := strings.Cut(line, " ")
		if !ok {
			continue
		}
		switch name {
		case "truyxuat_store_events_appended_total":
			fmt.Sscan(value, &events)
		case "truyxuat_store_commits_total":
			fmt.Sscan(value, &commits)
		}
	}
	return events, commits
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Join(strings.Fields(string(b))[:3], " ")
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// inProcess is a store opened in this process with the same shape as
// the demo's: one cooperative's key signing appends to 15 lots.
type inProcess struct {
	db     *store.DB
	coop   string
	signer *trace.Signer
	lots   []string
	n      atomic.Int64
}

func openInProcess(b *testing.B) *inProcess {
	b.Helper()
	dir := b.TempDir()
	db, err := store.Open(filepath.Join(dir, "truyxuat.db"), store.Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { db.Close() })
	coop := &trace.Cooperative{Name: "HTX Đo tải", Province: "Sóc Trăng"}
	if err := db.CreateCooperative(coop); err != nil {
		b.Fatal(err)
	}
	keys, err := store.OpenKeyDir(filepath.Join(dir, "keys"))
	if err != nil {
		b.Fatal(err)
	}
	signer, err := keys.Signer(coop.ID)
	if err != nil {
		b.Fatal(err)
	}
	prod := &trace.Product{CooperativeID: coop.ID, NameVI: "Gạo ST25", Category: "rice"}
	if err := db.CreateProduct(prod); err != nil {
		b.Fatal(err)
	}
	p := &inProcess{db: db, coop: coop.ID, signer: signer}
	for i := 0; i < 15; i++ {
		bt := &trace.Batch{CooperativeID: coop.ID, ProductID: prod.ID, Lot: fmt.Sprintf("ST25-%02d", i),
			Quantity: trace.Quantity{Value: "1250", Unit: "KGM"}, HarvestDate: "2025-08-15"}
		if err := db.CreateBatch(bt); err != nil {
			b.Fatal(err)
		}
		p.lots = append(p.lots, bt.ID)
	}
	return p
}

var ict = time.FixedZone("ICT", 7*3600)

// appendAll appends n events from the given number of writers, writer w
// to lot w modulo 15, and returns events per second.
func (p *inProcess) appendAll(b *testing.B, writers, n int) float64 {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(n) {
				et, off := trace.FormatEventTime(time.Now().In(ict))
				e := &trace.Event{Type: trace.ObjectEvent, Cooperative: p.coop, Batch: p.lots[w%len(p.lots)], Action: "OBSERVE",
					BizStep: "storing", EventTime: et, EventTimeZoneOffset: off, Note: fmt.Sprintf("kiểm tra kho lần %d", p.n.Add(1))}
				if _, err := p.db.Append(context.Background(), store.AppendRequest{Event: e, Signer: p.signer, KeyID: "key-bench"}); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	return float64(n) / time.Since(start).Seconds()
}

// BenchmarkAppendHTTP puts durable appends over HTTP to the real binary,
// from 64 clients of the load generator in its own process (one that does
// not accept gzip, and Go's default client), beside store.Append with 64
// writers in this process, in interleaved rounds whose order rotates.
func BenchmarkAppendHTTP(b *testing.B) {
	rounds := envInt("TRUYXUAT_BENCH_ROUNDS", 7)
	n := envInt("TRUYXUAT_BENCH_REQUESTS", 4000)
	base, setup, pid := startServer(b)
	p := openInProcess(b)
	args := func(client string) []string {
		return []string{"-mode", "append", "-server", base, "-setup", setup, "-clients", "64", "-requests", fmt.Sprint(n), "-client", client}
	}
	// Warm both up once.
	drive(b, args("plain")...)
	p.appendAll(b, 64, n/4)
	var ins, plain, def, rPlain, rDef, cpuIn, cpuPlain, cpuDef, gIn, gPlain, gDef, genPlain, genDef []float64
	self := os.Getpid()
	perEvent := func(pid int, f func()) float64 {
		c0 := cpuSeconds(pid)
		f()
		return (cpuSeconds(pid) - c0) / float64(n) * 1e6
	}
	// groupSize is the mean number of events per committed group during f.
	groupSize := func(counters func() (float64, float64), f func()) float64 {
		e0, c0 := counters()
		f()
		e1, c1 := counters()
		if c1 <= c0 {
			return 0
		}
		return (e1 - e0) / (c1 - c0)
	}
	inStats := func() (float64, float64) {
		st := p.db.Stats()
		return float64(st.Appends), float64(st.Commits)
	}
	serverStats := func() (float64, float64) { return storeCounters(base) }
	for r := 0; r < rounds; r++ {
		var s, hp, hd float64
		steps := []func(){
			func() {
				gIn = append(gIn, groupSize(inStats, func() {
					cpuIn = append(cpuIn, perEvent(self, func() { s = p.appendAll(b, 64, n) }))
				}))
			},
			func() {
				gPlain = append(gPlain, groupSize(serverStats, func() {
					cpuPlain = append(cpuPlain, perEvent(pid, func() {
						res := drive(b, args("plain")...)
						hp, genPlain = res.PerSecond, append(genPlain, res.CPUPerRequest)
					}))
				}))
			},
			func() {
				gDef = append(gDef, groupSize(serverStats, func() {
					cpuDef = append(cpuDef, perEvent(pid, func() {
						res := drive(b, args("default")...)
						hd, genDef = res.PerSecond, append(genDef, res.CPUPerRequest)
					}))
				}))
			},
		}
		for k := range steps {
			steps[(k+r)%len(steps)]()
		}
		ins, plain, def = append(ins, s), append(plain, hp), append(def, hd)
		rPlain, rDef = append(rPlain, hp/s), append(rDef, hd/s)
		b.Logf("round %d: store.Append %.0f/s, HTTP plain %.0f/s (%.2f), HTTP Go default client %.0f/s (%.2f); load %s", r+1, s, hp, hp/s, hd, hd/s, loadAvg())
	}
	b.Logf("medians of %d rounds, 64 writers: store.Append %.0f events/s; HTTP without gzip %.0f (median ratio %.2f); HTTP with Go's default client %.0f (median ratio %.2f); load average %s",
		rounds, median(ins), median(plain), median(rPlain), median(def), median(rDef), loadAvg())
	b.ReportMetric(median(ins), "store-events/s")
	b.ReportMetric(median(plain), "http-plain-events/s")
	b.ReportMetric(median(def), "http-default-events/s")
	b.ReportMetric(median(rPlain), "plain/store")
	b.ReportMetric(median(rDef), "default/store")
	b.Logf("processor time per event (median): store.Append in this process %.0f µs; the server, HTTP without gzip %.0f µs, with Go's default client %.0f µs",
		median(cpuIn), median(cpuPlain), median(cpuDef))
	b.Logf("the load generator's own processor time per request (median): without gzip %.0f µs, Go's default client %.0f µs", median(genPlain), median(genDef))
	b.Logf("events per committed group (median): store.Append %.1f; HTTP without gzip %.1f, with Go's default client %.1f",
		median(gIn), median(gPlain), median(gDef))
}

// BenchmarkReadHTTP puts the public history (JSON, gzip), the same with
// If-None-Match, and the consumer page, served by the real binary to 64
// clients of the load generator, beside the generator's trivial echo v4
// JSON handler in a process of its own, in interleaved rounds.
func BenchmarkReadHTTP(b *testing.B) {
	rounds := envInt("TRUYXUAT_BENCH_ROUNDS", 7)
	n := 10 * envInt("TRUYXUAT_BENCH_REQUESTS", 4000)
	const warmup = 640
	base, setup, pid := startServer(b)
	echoURL, echoPid := startEcho(b)
	common := []string{"-server", base, "-setup", setup, "-clients", "64", "-requests", fmt.Sprint(n), "-client", "gzip", "-warmup", fmt.Sprint(warmup)}
	kinds := []struct {
		name string
		args []string
	}{
		{"echo", []string{"-mode", "get", "-url", echoURL}},
		{"history", []string{"-mode", "history"}},
		{"history-etag", []string{"-mode", "history", "-etag"}},
		{"page", []string{"-mode", "page"}},
	}
	rates := map[string][]float64{}
	ratios := map[string][]float64{}
	p99 := map[string][]float64{}
	cpu := map[string][]float64{}
	for r := 0; r < rounds; r++ {
		got := map[string]float64{}
		for k := range kinds {
			kind := kinds[(k+r)%len(kinds)]
			server := pid
			if kind.name == "echo" {
				server = echoPid
			}
			c0 := cpuSeconds(server)
			res := drive(b, append(slices.Clone(common), kind.args...)...)
			cpu[kind.name] = append(cpu[kind.name], (cpuSeconds(server)-c0)/float64(res.Requests+warmup)*1e6)
			got[kind.name] = res.PerSecond
			rates[kind.name] = append(rates[kind.name], res.PerSecond)
			p99[kind.name] = append(p99[kind.name], res.P99ms)
		}
		line := fmt.Sprintf("round %d: echo %.0f/s", r+1, got["echo"])
		for _, k := range kinds[1:] {
			ratios[k.name] = append(ratios[k.name], got[k.name]/got["echo"])
			line += fmt.Sprintf(", %s %.0f/s (%.2f)", k.name, got[k.name], got[k.name]/got["echo"])
		}
		b.Logf("%s; load %s", line, loadAvg())
	}
	for _, k := range kinds {
		b.Logf("%s: median %.0f requests/s, p99 %.1f ms, median ratio to echo %.2f, server processor time %.0f µs per request",
			k.name, median(rates[k.name]), median(p99[k.name]), median(ratios[k.name]), median(cpu[k.name]))
		b.ReportMetric(median(rates[k.name]), k.name+"-req/s")
		if k.name != "echo" {
			b.ReportMetric(median(ratios[k.name]), k.name+"/echo")
		}
	}
	b.Logf("load average %s", loadAvg())
}
