package store

import (
	"context"
	crand "crypto/rand"
	"encoding/binary"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/transparency-dev/tessera"
	"github.com/transparency-dev/tessera/storage/posix"
	"golang.org/x/mod/sumdb/note"

	"github.com/truyxuat/truyxuat/trace"
)

// BenchmarkTessera puts store.Append beside Tessera's POSIX log (the
// storage/posix driver) in the same run: Tessera batches for up to 2 ms,
// its entries are 32 bytes (the size of one of our log entries), it has
// no antispam, and each writer waits for its own entry to be sequenced
// and integrated (its IndexFuture) before adding the next, as each of ours
// waits for its append to be committed and synced. Both logs live in the
// same temporary directory's file system. Writers append to one lot each
// (at most 64 lots). The rounds are interleaved, the side that goes first
// alternating; TRUYXUAT_BENCH_ROUNDS sets their number (default 7).
// Run with -benchtime 1x.
func BenchmarkTessera(b *testing.B) {
	rounds := envInt("TRUYXUAT_BENCH_ROUNDS", 7)
	for _, tc := range []struct{ writers, ops int }{{1, 400}, {64, 16000}, {256, 32000}} {
		b.Run(fmt.Sprintf("writers=%d", tc.writers), func(b *testing.B) {
			db := openTest(b)
			f := newFixture(b, db, "HTX Bench")
			lots := []string{f.batch.ID}
			for len(lots) < min(tc.writers, 64) {
				bt := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: fmt.Sprintf("T-%d", len(lots)),
					Quantity: trace.Quantity{Value: "1250", Unit: "KGM"}, HarvestDate: "2025-08-15"}
				if err := db.CreateBatch(bt); err != nil {
					b.Fatal(err)
				}
				lots = append(lots, bt.ID)
			}
			add := openTessera(b)
			var seq atomic.Int64
			ours := func() float64 {
				return runFor(b, tc.writers, tc.ops, func(w int) error {
					i := int(seq.Add(1))
					_, err := db.Append(context.Background(), AppendRequest{Event: f.eventOf(lots[w%len(lots)], i), Signer: f.signer, KeyID: "key-bench"})
					return err
				})
			}
			theirs := func() float64 {
				return runFor(b, tc.writers, tc.ops, func(int) error {
					entry := make([]byte, 32)
					binary.BigEndian.PutUint64(entry, uint64(seq.Add(1)))
					crand.Read(entry[8:])
					_, err := add(context.Background(), tessera.NewEntry(entry))()
					return err
				})
			}
			var ss, ts, ratios, written []float64
			for r := 0; r < rounds; r++ {
				var o, t float64
				before := db.bolt.Stats().TxStats
				if r%2 == 0 {
					o, t = ours(), theirs()
				} else {
					t = theirs()
					o = ours()
				}
				after := db.bolt.Stats().TxStats
				d := after.Sub(&before)
				written = append(written, float64(d.GetPageAlloc())/float64(tc.ops))
				ss, ts, ratios = append(ss, o), append(ts, t), append(ratios, o/t)
				b.Logf("round %d: store %.0f events/s, tessera %.0f entries/s, ratio %.2f (load %s)", r+1, o, t, o/t, loadAvg())
			}
			b.Logf("medians of %d rounds at %d writers: store %.0f events/s, tessera %.0f entries/s, median ratio %.2f; load average %s",
				rounds, tc.writers, median(ss), median(ts), median(ratios), loadAvg())
			b.ReportMetric(median(ss), "store-events/s")
			b.ReportMetric(median(ts), "tessera-entries/s")
			b.ReportMetric(median(ratios), "store/tessera")
			b.ReportMetric(median(written), "store-written-B/event")
		})
	}
}

// openTessera starts a Tessera POSIX log in a temporary directory and
// returns its Add; the log is shut down when the benchmark ends.
func openTessera(b *testing.B) tessera.AddFn {
	b.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	driver, err := posix.New(ctx, posix.Config{Path: filepath.Join(b.TempDir(), "tessera")})
	if err != nil {
		b.Fatal(err)
	}
	skey, _, err := note.GenerateKey(crand.Reader, "bench.truyxuat.example/tessera")
	if err != nil {
		b.Fatal(err)
	}
	signer, err := note.NewSigner(skey)
	if err != nil {
		b.Fatal(err)
	}
	opts := tessera.NewAppendOptions().
		WithCheckpointSigner(signer).
		WithCheckpointInterval(time.Second).
		WithBatching(256, 2*time.Millisecond)
	a, shutdown, _, err := tessera.NewAppender(ctx, driver, opts)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		sctx, scancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer scancel()
		if err := shutdown(sctx); err != nil {
			b.Logf("tessera shutdown: %v", err)
		}
		cancel()
	})
	return a.Add
}

// runFor runs ops operations spread over writers goroutines (op is given
// the writer's number) and returns operations per second.
func runFor(b *testing.B, writers, ops int, op func(w int) error) float64 {
	b.Helper()
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for next.Add(1) <= int64(ops) {
				if err := op(w); err != nil {
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
	return float64(ops) / time.Since(start).Seconds()
}
