package store

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
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
			rec := encodeRecord(st)
			// The same bytes an append writes: a record of the same size
			// under the next key of the chain, the index entry under a
			// random 32-byte hash (made before the timer starts) and the head.
			hashes := make([][32]byte, b.N+1)
			rng := rand.New(rand.NewPCG(1, 2))
			for i := range hashes {
				for j := 0; j < 32; j += 8 {
					binary.LittleEndian.PutUint64(hashes[i][j:], rng.Uint64())
				}
			}
			var seq atomic.Uint64
			defer reportGroups(b, db)
			runWriters(b, writers, func(int) error {
				_, err := db.submit(context.Background(), func(*seqState) (*pending, error) {
					n := seq.Add(1)
					key := eventKey(f.batch.ID, n)
					h := hashes[n]
					return &pending{write: func(tx *bolt.Tx) error {
						if err := tx.Bucket(bucketEvents).Put(key, rec); err != nil {
							return err
						}
						if err := tx.Bucket(bucketEventHash).Put(h[:], key); err != nil {
							return err
						}
						return writeHead(tx, f.batch.ID, n, h)
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

// reportGroups reports the mean number of events per committed group.
func reportGroups(b *testing.B, db *DB) {
	s := db.Stats()
	if s.Commits > 0 {
		b.ReportMetric(float64(s.Appends)/float64(s.Commits), "events/commit")
	}
}
