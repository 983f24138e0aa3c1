package tlog

import (
	"encoding/binary"
	"fmt"
	"testing"
)

// memStore is an in-memory tile and bundle store keyed like a real store
// would be: one value per (level, index), overwritten on every append.
type memStore struct {
	tiles   map[[2]uint64][]byte
	bundles map[uint64][]byte
	size    uint64
	root    Hash
	reads   int
}

func newMemStore() *memStore {
	return &memStore{tiles: map[[2]uint64][]byte{}, bundles: map[uint64][]byte{}, root: EmptyRoot()}
}

func (s *memStore) ReadTile(level int, index uint64) ([]byte, error) {
	s.reads++
	return s.tiles[[2]uint64{uint64(level), index}], nil
}

func (s *memStore) ReadBundle(index uint64) ([]byte, error) {
	return s.bundles[index], nil
}

func (s *memStore) store(writes []TileData) {
	for _, w := range writes {
		if w.Entries {
			s.bundles[w.Index] = w.Data
		} else {
			s.tiles[[2]uint64{uint64(w.Level), w.Index}] = w.Data
		}
	}
}

// appendEntries appends entries the way a store would: bundles, then tiles.
func (s *memStore) appendEntries(tb testing.TB, entries [][]byte) {
	tb.Helper()
	bundles, hashes, err := AppendEntries(s, s.size, entries)
	if err != nil {
		tb.Fatal(err)
	}
	tiles, root, err := Append(s, s.size, hashes)
	if err != nil {
		tb.Fatal(err)
	}
	s.store(bundles)
	s.store(tiles)
	s.size += uint64(len(entries))
	s.root = root
}

// appendLeaves appends leaf hashes only.
func (s *memStore) appendLeaves(tb testing.TB, leaves []Hash) {
	tb.Helper()
	tiles, root, err := Append(s, s.size, leaves)
	if err != nil {
		tb.Fatal(err)
	}
	s.store(tiles)
	s.size += uint64(len(leaves))
	s.root = root
}

func testEntry(i int) []byte {
	return fmt.Appendf(nil, "truyxuat event %d", i)
}

// syntheticLeaf is a cheap distinct leaf hash for large benchmark trees.
func syntheticLeaf(i uint64) Hash {
	var h Hash
	binary.BigEndian.PutUint64(h[:], i)
	binary.BigEndian.PutUint64(h[24:], ^i)
	return h
}

// naiveRoot computes MTH(D[lo:hi]) straight from RFC 6962's definition.
func naiveRoot(leaves []Hash) Hash {
	switch len(leaves) {
	case 0:
		return EmptyRoot()
	case 1:
		return leaves[0]
	}
	k := int(largestPow2Below(uint64(len(leaves))))
	return NodeHash(naiveRoot(leaves[:k]), naiveRoot(leaves[k:]))
}
