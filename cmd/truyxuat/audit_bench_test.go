package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// auditFixture is a server whose log holds n entries, built once per
// process (building 10^5 signed events takes a while).
type auditFixture struct {
	url   string
	size  uint64
	trust *trustAnchor
}

var (
	auditFixtures   = map[int]*auditFixture{}
	auditFixturesMu sync.Mutex
	auditFixtureDBs []*store.DB
	auditFixtureDir []string
)

// removeAuditFixtures deletes the fixtures once every test and benchmark
// of the process has run.
func removeAuditFixtures() {
	for _, db := range auditFixtureDBs {
		db.Close()
	}
	for _, d := range auditFixtureDir {
		os.RemoveAll(d)
	}
}

func newAuditFixture(b *testing.B, n int) *auditFixture {
	auditFixturesMu.Lock()
	defer auditFixturesMu.Unlock()
	if f, ok := auditFixtures[n]; ok {
		return f
	}
	// The directory outlives this benchmark run (and is reused by the
	// next -count); TestMain removes it at the end.
	dir, err := os.MkdirTemp("", "truyxuat-audit-bench-")
	if err != nil {
		b.Fatal(err)
	}
	auditFixtureDir = append(auditFixtureDir, dir)
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(filepath.Join(dir, "truyxuat.db"), store.Options{Logger: logger})
	if err != nil {
		b.Fatal(err)
	}
	auditFixtureDBs = append(auditFixtureDBs, db)
	keys, err := store.OpenKeyDir(filepath.Join(dir, "keys"))
	if err != nil {
		b.Fatal(err)
	}
	lk, err := store.OpenLogKeys(filepath.Join(dir, "keys"), "bench.example.vn/log", true)
	if err != nil {
		b.Fatal(err)
	}
	coop := &trace.Cooperative{Name: "HTX Hòa Tú", Province: "Sóc Trăng"}
	if err := db.CreateCooperative(coop); err != nil {
		b.Fatal(err)
	}
	signer, _ := keys.Signer(coop.ID)
	coop.PublicKeys = [][]byte{signer.PublicKey()}
	db.UpdateCooperative(coop)
	prod := &trace.Product{CooperativeID: coop.ID, NameVI: "Gạo ST25", Category: "rice"}
	if err := db.CreateProduct(prod); err != nil {
		b.Fatal(err)
	}
	const batches = 128
	var ids []string
	for i := 0; i < batches; i++ {
		bt := &trace.Batch{CooperativeID: coop.ID, ProductID: prod.ID, Lot: fmt.Sprintf("B-%03d", i), Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
		if err := db.CreateBatch(bt); err != nil {
			b.Fatal(err)
		}
		ids = append(ids, bt.ID)
	}
	var wg sync.WaitGroup
	for w := 0; w < batches; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < n; i += batches {
				et, off := trace.FormatEventTime(time.Date(2025, 8, 15, 6, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second))
				ev := &trace.Event{Type: trace.ObjectEvent, Cooperative: coop.ID, Batch: ids[w], Action: "OBSERVE",
					BizStep: "storing", EventTime: et, EventTimeZoneOffset: off}
				if _, err := db.Append(context.Background(), store.AppendRequest{Event: ev, Signer: signer}); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	size, _, err := db.CheckpointLog(lk.Sign)
	if err != nil || size != uint64(n) {
		b.Fatalf("checkpoint %d: %v", size, err)
	}
	pub := lk.Public()
	srv := httptest.NewServer(api.New(api.Config{PublicURL: "http://bench.example.vn",
		Log: api.LogInfo{Origin: lk.Origin(), Ed25519Key: pub[0].String(), MLDSAKey: pub[1].String()}}, db, keys, logger).Handler())
	f := &auditFixture{url: srv.URL, size: size, trust: &trustAnchor{origin: lk.Origin(), keys: pub}}
	auditFixtures[n] = f
	return f
}

// BenchmarkAudit measures `truyxuat audit` over a real server's log:
// fetching every entry bundle and hash tile over HTTP, recomputing the
// tree and checking it against the signed checkpoint.
func BenchmarkAudit(b *testing.B) {
	for _, n := range []int{100_000} {
		for _, parallel := range []int{1, 8} {
			b.Run(fmt.Sprintf("entries=%d/parallel=%d", n, parallel), func(b *testing.B) {
				f := newAuditFixture(b, n)
				b.ResetTimer()
				for b.Loop() {
					a := newAuditor(f.url, parallel)
					res, err := a.run(context.Background(), newPrinter(io.Discard, "en"), f.trust, b.TempDir())
					if err != nil || res.Checkpoint.Size != f.size {
						b.Fatalf("audit: %v", err)
					}
				}
				b.ReportMetric(float64(f.size)*float64(b.N)/b.Elapsed().Seconds(), "entries/s")
			})
		}
	}
}
