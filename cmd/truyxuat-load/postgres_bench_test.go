package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"

	"github.com/truyxuat/truyxuat/store/pg/pgtest"
)

// BenchmarkPostgresNodes measures, in one run, durable appends and public
// history reads over HTTP at 64 clients on the embedded store (one node)
// and on PostgreSQL with one, two and three truyxuat nodes sharing one
// database, the clients split evenly over the nodes, one load generator
// per node running at once. It needs a PostgreSQL database
// (TRUYXUAT_TEST_DATABASE_URL, as .ci/postgres sets it; each setting gets
// a schema of its own) and is skipped without one:
//
//	.ci/postgres go test -run '^$' -bench PostgresNodes -benchtime 1x ./cmd/truyxuat-load/
//
// TRUYXUAT_BENCH_REQUESTS sets the appends of a setting (default 4000;
// reads are 10 times as many).
func BenchmarkPostgresNodes(b *testing.B) {
	pgtest.Base(b)
	n := envInt("TRUYXUAT_BENCH_REQUESTS", 4000)
	settings := []struct {
		name  string
		nodes int
		pg    bool
	}{{"bbolt", 1, false}, {"postgres", 1, true}, {"postgres", 2, true}, {"postgres", 3, true}}
	for _, s := range settings {
		bases, setup := startNodes(b, s.nodes, s.pg)
		ap := driveNodes(b, bases, setup, "append", n, 200)
		rd := driveNodes(b, bases, setup, "history", 10*n, 640)
		b.Logf("%s, %d node(s), 64 clients: appends %.0f/s (p99 %.0f ms), history reads %.0f/s (p99 %.0f ms); load average %s",
			s.name, s.nodes, ap.PerSecond, ap.P99ms, rd.PerSecond, rd.P99ms, loadAvg())
		b.ReportMetric(ap.PerSecond, fmt.Sprintf("%s-%d-appends/s", s.name, s.nodes))
		b.ReportMetric(rd.PerSecond, fmt.Sprintf("%s-%d-reads/s", s.name, s.nodes))
	}
}

// startNodes starts n truyxuat servers: on the embedded store (n must be
// 1), or on a fresh PostgreSQL schema sharing one master key and log
// origin, the first with --demo. It returns their base URLs and the demo's
// output file.
func startNodes(b *testing.B, n int, onPostgres bool) ([]string, string) {
	b.Helper()
	shared := b.TempDir()
	setup := filepath.Join(shared, "demo.json")
	var common []string
	if onPostgres {
		common = []string{"--database-url", pgtest.URL(b), "--master-key-file", filepath.Join(shared, "master.key"),
			"--log-origin", "bench.example.vn/log"}
	}
	var bases []string
	for i := 0; i < n; i++ {
		addr := freeAddr(b)
		args := append([]string{"serve", "--data", filepath.Join(b.TempDir(), "data"), "--addr", addr, "--log-level", "warn"}, common...)
		cmd := exec.Command(bin(b, "truyxuat"), args...)
		if i == 0 {
			out, err := os.Create(setup)
			if err != nil {
				b.Fatal(err)
			}
			defer out.Close()
			cmd.Args = append(cmd.Args, "--demo")
			cmd.Stdout = out
		}
		cmd.Stderr = os.Stderr
		if err := cmd.Start(); err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() {
			cmd.Process.Signal(os.Interrupt)
			cmd.Wait()
		})
		bases = append(bases, "http://"+addr)
		// The first node makes the master key and the demo data before
		// the others start.
		waitUp(b, bases[i]+"/healthz")
	}
	return bases, setup
}

// driveNodes runs one load generator per node at once, 64 clients and
// the requests split between them, and sums what they did.
func driveNodes(b *testing.B, bases []string, setup, mode string, requests, warmup int) Result {
	b.Helper()
	load := bin(b, "truyxuat-load")
	results := make([]Result, len(bases))
	errs := make([]error, len(bases))
	var wg sync.WaitGroup
	for i, base := range bases {
		wg.Add(1)
		go func() {
			defer wg.Done()
			results[i], errs[i] = runLoad(load, "-mode", mode, "-server", base, "-setup", setup, "-client", "plain",
				"-clients", fmt.Sprint(64/len(bases)), "-requests", fmt.Sprint(requests/len(bases)), "-warmup", fmt.Sprint(warmup/len(bases)))
		}()
	}
	wg.Wait()
	var sum Result
	var longest float64
	for i, r := range results {
		if errs[i] != nil {
			b.Fatal(errs[i])
		}
		for status, count := range r.Status {
			if status != "200" && status != "201" && status != "304" {
				b.Fatalf("%s on %s: %d answers %s", mode, bases[i], count, status)
			}
		}
		sum.Requests += r.Requests
		longest = max(longest, r.Seconds)
		sum.P99ms = max(sum.P99ms, r.P99ms)
	}
	sum.Seconds = longest
	if longest > 0 {
		sum.PerSecond = float64(sum.Requests) / longest
	}
	return sum
}
