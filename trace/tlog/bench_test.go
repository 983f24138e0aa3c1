package tlog

import (
	"fmt"
	"testing"
)

var benchStores = map[uint64]*memStore{}

// benchStore returns an in-memory store of n synthetic leaves, built with
// Append in batches of 4096.
func benchStore(b *testing.B, n uint64) *memStore {
	if s, ok := benchStores[n]; ok {
		return s
	}
	s := newMemStore()
	batch := make([]Hash, 0, 4096)
	for i := uint64(0); i < n; i++ {
		batch = append(batch, syntheticLeaf(i))
		if len(batch) == cap(batch) || i == n-1 {
			s.appendLeaves(b, batch)
			batch = batch[:0]
		}
	}
	benchStores[n] = s
	return s
}

var benchSizes = []uint64{1000, 1000000}

func BenchmarkProveInclusion(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := ProveInclusion(s, uint64(i)*7919%n, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyInclusion(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			const k = 64
			type tc struct {
				index uint64
				proof []Hash
			}
			var cases []tc
			for j := uint64(0); j < k; j++ {
				idx := j * 7919 % n
				p, err := ProveInclusion(s, idx, n)
				if err != nil {
					b.Fatal(err)
				}
				cases = append(cases, tc{idx, p})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c := cases[i%k]
				if err := VerifyInclusion(syntheticLeaf(c.index), c.index, n, c.proof, s.root); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkProveConsistency(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				m := 1 + uint64(i)*7919%(n-1)
				if _, err := ProveConsistency(s, m, n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkVerifyConsistency(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			const k = 64
			type tc struct {
				m     uint64
				root  Hash
				proof []Hash
			}
			var cases []tc
			for j := uint64(0); j < k; j++ {
				m := 1 + j*7919%(n-1)
				p, err := ProveConsistency(s, m, n)
				if err != nil {
					b.Fatal(err)
				}
				r, err := RootAt(s, m)
				if err != nil {
					b.Fatal(err)
				}
				cases = append(cases, tc{m, r, p})
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				c := cases[i%k]
				if err := VerifyConsistency(c.m, n, c.proof, c.root, s.root); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkRootAt(b *testing.B) {
	for _, n := range benchSizes {
		b.Run(fmt.Sprintf("n=%d", n), func(b *testing.B) {
			s := benchStore(b, n)
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := RootAt(s, 1+uint64(i)*7919%n); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkAppend appends a batch to a log of 10^6 leaves without storing
// the result, so every iteration starts from the same state; leaves/s is
// the append throughput (hashing of tiles and root included, entry hashing
// excluded).
func BenchmarkAppend(b *testing.B) {
	s := benchStore(b, 1000000)
	for _, k := range []int{1, 256, 4096} {
		b.Run(fmt.Sprintf("n=1000000/batch=%d", k), func(b *testing.B) {
			leaves := make([]Hash, k)
			for i := range leaves {
				leaves[i] = syntheticLeaf(1<<40 + uint64(i))
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, _, err := Append(s, s.size, leaves); err != nil {
					b.Fatal(err)
				}
			}
			b.ReportMetric(float64(k)*float64(b.N)/b.Elapsed().Seconds(), "leaves/s")
		})
	}
}

func BenchmarkCheckpointSignatures(b *testing.B) {
	l := newTestLog(b)
	c := l.grow(b, 10)
	b.Run("sign/Ed25519+ML-DSA-44", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, err := SignCheckpoint(c, l.edSig, l.mlSig); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("open/Ed25519+ML-DSA-44", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			if _, _, _, err := OpenCheckpoint(l.checkpointNote, testOrigin, []Verifier{l.edVer, l.mlVer}); err != nil {
				b.Fatal(err)
			}
		}
	})
}
