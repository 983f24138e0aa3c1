package store

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	bolt "go.etcd.io/bbolt"
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
			rec := encodeRecord(st)
			var seq atomic.Uint64
			runWriters(b, writers, func(int) error {
				_, err := db.submit(context.Background(), func(*seqState) (*pending, error) {
					n := seq.Add(1)
					key := eventKey("baseline", n)
					var h [32]byte
					copy(h[:], key)
					return &pending{write: func(tx *bolt.Tx) error {
						if err := tx.Bucket(bucketEvents).Put(key, rec); err != nil {
							return err
						}
						if err := tx.Bucket(bucketEventHash).Put(h[:], key); err != nil {
							return err
						}
						return writeHead(tx, "baseline", n, h)
					}}, nil
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
