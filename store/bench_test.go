package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
)

// BenchmarkAppend measures events appended per second through the store
// (validation, canonical encoding, hashing, Ed25519 signing, chain checks,
// group commit and fsync) with 1, 8 and 64 concurrent writers, beside a
// baseline that writes records of the same size through the same group
// committer with the same durability but does no hashing or signing.
func BenchmarkAppend(b *testing.B) {
	for _, writers := range []int{1, 8, 64} {
		b.Run(fmt.Sprintf("store/writers=%d", writers), func(b *testing.B) {
			db := openTest(b)
			f := newFixture(b, db, "HTX Bench")
			defer reportGroups(b, db)
			runWriters(b, writers, func(i int) error {
				_, err := db.Append(context.Background(), AppendRequest{Event: f.event(i), Signer: f.signer})
				return err
			})
		})
		b.Run(fmt.Sprintf("baseline/writers=%d", writers), func(b *testing.B) {
			db := openTest(b)
			f := newFixture(b, db, "HTX Bench")
			st, err := db.Append(context.Background(), AppendRequest{Event: f.event(0), Signer: f.signer})
			if err != nil {
				b.Fatal(err)
			}
			// The same bytes an append writes — the event record, its hash
			// index, the batch head and the transparency log's entries and
			// tiles — through the same committer, but with everything that
			// needs hashing or signing an event made before the timer
			// starts: each write is a copy of a signed event under the next
			// chain position with a random 32-byte hash.
			events := make([]*StoredEvent, b.N+1)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range events {
				e := *st.Event
				e.Batch, e.Seq = "baseline", uint64(i)
				se := *st.SignedEvent
				se.Event = &e
				for j := 0; j < 32; j += 8 {
					binary.LittleEndian.PutUint64(se.Hash[j:], rng.Uint64())
				}
				events[i] = &StoredEvent{SignedEvent: &se, ReceivedAt: st.ReceivedAt}
			}
			var seq atomic.Uint64
			defer reportGroups(b, db)
			runWriters(b, writers, func(int) error {
				_, err := db.submit(context.Background(), func(*Planner) (*Plan, error) {
					ev := events[seq.Add(1)]
					return &Plan{Events: []*StoredEvent{ev}, Write: func(s Sink) error { return s.PutEvent(ev) }}, nil
				})
				return err
			})
		})
	}
}

// runWriters spreads b.N operations over the given number of goroutines
// and reports events per second.
func runWriters(b *testing.B, writers int, op func(i int) error) {
	b.ReportAllocs()
	var next atomic.Int64
	var wg sync.WaitGroup
	b.ResetTimer()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1)
				if i > int64(b.N) {
					return
				}
				if err := op(int(i)); err != nil {
					b.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	b.StopTimer()
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// reportGroups reports the mean number of requests per committed group.
func reportGroups(b *testing.B, db *DB) {
	s := db.Stats()
	if s.Commits > 0 {
		b.ReportMetric(float64(s.Requests)/float64(s.Commits), "writes/commit")
	}
}

// BenchmarkLotBalance measures what the sequencer reads before a
// transformation takes from a lot: the lot's chain and the chain of every
// lot made from it, each verified (decoded, hashed, linked), here lots
// made from it by 1, 10 and 50 transformations, each output with a
// 10-event history.
func BenchmarkLotBalance(b *testing.B) {
	for _, made := range []int{1, 10, 50} {
		b.Run(fmt.Sprintf("made=%d", made), func(b *testing.B) {
			db := openTest(b)
			f := newFixture(b, db, "HTX Bench")
			head := f.append(b, 0).Hash
			for i := 0; i < made; i++ {
				outs, err := f.take(fmt.Sprintf("2025-08-20T10:%02d:%02d+07:00", i/60, i%60), []draw{{f.batch, head, "1"}}, "1")
				if err != nil {
					b.Fatal(err)
				}
				of := &fixture{db: db, coop: f.coop, prod: f.prod, batch: outs[0], signer: f.signer}
				for j := 1; j < 10; j++ {
					of.append(b, j)
				}
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				lb, err := db.LotBalance(f.batch.ID)
				if err != nil || len(lb.Out) != made {
					b.Fatalf("%d draws, %v", len(lb.Out), err)
				}
			}
		})
	}
}
