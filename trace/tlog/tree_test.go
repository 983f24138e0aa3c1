package tlog

import (
	"bytes"
	"errors"
	"math/rand/v2"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	sumdb "golang.org/x/mod/sumdb/tlog"
)

// sumdbLog keeps the same log in golang.org/x/mod/sumdb/tlog's own storage
// layout, computed by its own code, as an independent reference.
type sumdbLog struct {
	hashes []sumdb.Hash
	n      int64
}

func (l *sumdbLog) add(tb testing.TB, leaf Hash) {
	tb.Helper()
	hs, err := sumdb.StoredHashesForRecordHash(l.n, sumdb.Hash(leaf), l)
	if err != nil {
		tb.Fatal(err)
	}
	l.hashes = append(l.hashes, hs...)
	l.n++
}

func (l *sumdbLog) ReadHashes(indexes []int64) ([]sumdb.Hash, error) {
	out := make([]sumdb.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = l.hashes[x]
	}
	return out, nil
}

// sumdbTiles serves our stored tiles through sumdb/tlog's TileReader
// interface, so that sumdb's TileHashReader authenticates them against a
// tree hash before using them.
type sumdbTiles struct{ s *memStore }

func (sumdbTiles) Height() int { return TileHeight }

func (t sumdbTiles) ReadTiles(tiles []sumdb.Tile) ([][]byte, error) {
	out := make([][]byte, len(tiles))
	for i, tl := range tiles {
		data, _ := t.s.ReadTile(tl.L, uint64(tl.N))
		p, ok := TilePrefix(data, tl.W)
		if !ok {
			return nil, errors.New("tile too short: " + tl.Path())
		}
		out[i] = p
	}
	return out, nil
}

func (sumdbTiles) SaveTiles([]sumdb.Tile, [][]byte) {}

func hashesToBytes(hs []Hash) [][]byte {
	out := make([][]byte, len(hs))
	for i := range hs {
		out[i] = hs[i][:]
	}
	return out
}

func TestEmptyAndLeafHashes(t *testing.T) {
	if got, want := EmptyRoot(), Hash(rfc6962.DefaultHasher.EmptyRoot()); got != want {
		t.Errorf("EmptyRoot = %v, want %v", got, want)
	}
	for _, e := range [][]byte{nil, {}, []byte("a"), bytes.Repeat([]byte{7}, 1000)} {
		if got, want := LeafHash(e), Hash(rfc6962.DefaultHasher.HashLeaf(e)); got != want {
			t.Errorf("LeafHash(%q) = %v, want %v", e, got, want)
		}
		if got, want := LeafHash(e), Hash(sumdb.RecordHash(e)); got != want {
			t.Errorf("LeafHash(%q) = %v, sumdb %v", e, got, want)
		}
	}
	a, b := LeafHash([]byte("a")), LeafHash([]byte("b"))
	if got, want := NodeHash(a, b), Hash(rfc6962.DefaultHasher.HashChildren(a[:], b[:])); got != want {
		t.Errorf("NodeHash = %v, want %v", got, want)
	}
	r, err := RootAt(newMemStore(), 0)
	if err != nil || r != EmptyRoot() {
		t.Errorf("RootAt(empty, 0) = %v, %v", r, err)
	}
}

// TestTreeAgainstReferences grows a log to 300 entries in random batch
// sizes and checks, against sumdb/tlog and transparency-dev/merkle, the root
// after every batch, the root of every size, every inclusion proof of every
// size, and the bytes of every tile.
func TestTreeAgainstReferences(t *testing.T) {
	const maxSize = 300
	rng := rand.New(rand.NewPCG(1, 2))
	s := newMemStore()
	ref := &sumdbLog{}
	var leaves []Hash
	for s.size < maxSize {
		k := min(1+rng.IntN(40), maxSize-int(s.size))
		if rng.IntN(5) == 0 {
			k = 1
		}
		var entries [][]byte
		for i := 0; i < k; i++ {
			e := testEntry(int(s.size) + i)
			entries = append(entries, e)
			leaves = append(leaves, LeafHash(e))
			ref.add(t, LeafHash(e))
		}
		s.appendEntries(t, entries)
		want, err := sumdb.TreeHash(int64(s.size), ref)
		if err != nil {
			t.Fatal(err)
		}
		if s.root != Hash(want) {
			t.Fatalf("root after append to size %d = %v, sumdb TreeHash %v", s.size, s.root, want)
		}
	}

	for n := uint64(0); n <= maxSize; n++ {
		root, err := RootAt(s, n)
		if err != nil {
			t.Fatal(err)
		}
		want, _ := sumdb.TreeHash(int64(n), ref)
		if root != Hash(want) || root != naiveRoot(leaves[:n]) || root != RootFromLeaves(leaves[:n]) {
			t.Fatalf("RootAt(%d) = %v, sumdb %v", n, root, want)
		}
		if n == 0 {
			continue
		}
		// sumdb's TileHashReader authenticates our tiles against the tree
		// hash for size n before answering.
		thr := sumdb.TileHashReader(sumdb.Tree{N: int64(n), Hash: sumdb.Hash(root)}, sumdbTiles{s})
		if th, err := sumdb.TreeHash(int64(n), thr); err != nil || Hash(th) != root {
			t.Fatalf("sumdb TreeHash over our tiles at %d = %v, %v", n, th, err)
		}
		for i := uint64(0); i < n; i++ {
			p, err := ProveInclusion(s, i, n)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyInclusion(rfc6962.DefaultHasher, i, n, leaves[i][:], hashesToBytes(p), root[:]); err != nil {
				t.Fatalf("merkle VerifyInclusion(%d, %d): %v", i, n, err)
			}
			sp := make(sumdb.RecordProof, len(p))
			for j := range p {
				sp[j] = sumdb.Hash(p[j])
			}
			if err := sumdb.CheckRecord(sp, int64(n), sumdb.Hash(root), int64(i), sumdb.Hash(leaves[i])); err != nil {
				t.Fatalf("sumdb CheckRecord(%d, %d): %v", i, n, err)
			}
			if err := VerifyInclusion(leaves[i], i, n, p, root); err != nil {
				t.Fatalf("VerifyInclusion(%d, %d): %v", i, n, err)
			}
			if i%37 == 0 {
				rp, err := sumdb.ProveRecord(int64(n), int64(i), thr)
				if err != nil {
					t.Fatal(err)
				}
				for j := range rp {
					if Hash(rp[j]) != p[j] {
						t.Fatalf("proof(%d, %d)[%d] differs from sumdb ProveRecord", i, n, j)
					}
				}
			}
		}
	}

	// Every stored tile equals sumdb's tile data for the final size.
	for key, data := range s.tiles {
		tl := sumdb.Tile{H: TileHeight, L: int(key[0]), N: int64(key[1]), W: len(data) / HashSize}
		want, err := sumdb.ReadTileData(tl, ref)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(data, want) {
			t.Errorf("tile %s differs from sumdb ReadTileData", tl.Path())
		}
	}
	for _, tl := range sumdb.NewTiles(TileHeight, 0, maxSize) {
		if _, ok := s.tiles[[2]uint64{uint64(tl.L), uint64(tl.N)}]; !ok {
			t.Errorf("sumdb expects tile %s, not stored", tl.Path())
		}
	}
	if len(s.tiles) != len(sumdb.NewTiles(TileHeight, 0, maxSize)) {
		t.Errorf("stored %d tiles, sumdb NewTiles lists %d", len(s.tiles), len(sumdb.NewTiles(TileHeight, 0, maxSize)))
	}
}

func TestConsistencyAgainstReferences(t *testing.T) {
	const maxSize = 64
	s := newMemStore()
	ref := &sumdbLog{}
	roots := []Hash{EmptyRoot()}
	for i := 0; i < maxSize; i++ {
		h := LeafHash(testEntry(i))
		ref.add(t, h)
		s.appendLeaves(t, []Hash{h})
		roots = append(roots, s.root)
	}
	for n := uint64(0); n <= maxSize; n++ {
		for m := uint64(0); m <= n; m++ {
			p, err := ProveConsistency(s, m, n)
			if err != nil {
				t.Fatal(err)
			}
			if err := proof.VerifyConsistency(rfc6962.DefaultHasher, m, n, hashesToBytes(p), roots[m][:], roots[n][:]); err != nil {
				t.Fatalf("merkle VerifyConsistency(%d, %d): %v", m, n, err)
			}
			if err := VerifyConsistency(m, n, p, roots[m], roots[n]); err != nil {
				t.Fatalf("VerifyConsistency(%d, %d): %v", m, n, err)
			}
			if m > 0 {
				tp, err := sumdb.ProveTree(int64(n), int64(m), ref)
				if err != nil {
					t.Fatal(err)
				}
				if len(tp) != len(p) {
					t.Fatalf("consistency(%d, %d) has %d hashes, sumdb ProveTree %d", m, n, len(p), len(tp))
				}
				for j := range tp {
					if Hash(tp[j]) != p[j] {
						t.Fatalf("consistency(%d, %d)[%d] differs from sumdb ProveTree", m, n, j)
					}
				}
				if err := sumdb.CheckTree(tp, int64(n), sumdb.Hash(roots[n]), int64(m), sumdb.Hash(roots[m])); err != nil {
					t.Fatalf("sumdb CheckTree(%d, %d): %v", m, n, err)
				}
			}
			// Tampering with any hash, or with a root, must fail.
			if len(p) > 0 {
				bad := append([]Hash(nil), p...)
				bad[len(bad)/2][0] ^= 1
				if VerifyConsistency(m, n, bad, roots[m], roots[n]) == nil {
					t.Fatalf("tampered consistency proof (%d, %d) verified", m, n)
				}
				if VerifyConsistency(m, n, p[:len(p)-1], roots[m], roots[n]) == nil {
					t.Fatalf("truncated consistency proof (%d, %d) verified", m, n)
				}
				if VerifyConsistency(m, n, append(p, p[0]), roots[m], roots[n]) == nil {
					t.Fatalf("extended consistency proof (%d, %d) verified", m, n)
				}
			}
			if m > 0 && m < n && VerifyConsistency(m, n, p, roots[m-1], roots[n]) == nil {
				t.Fatalf("consistency (%d, %d) verified with the wrong old root", m, n)
			}
		}
	}
}

func TestInclusionRejects(t *testing.T) {
	s := newMemStore()
	var leaves []Hash
	for i := 0; i < 20; i++ {
		leaves = append(leaves, LeafHash(testEntry(i)))
	}
	s.appendLeaves(t, leaves)
	p, err := ProveInclusion(s, 5, 20)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name  string
		leaf  Hash
		index uint64
		size  uint64
		proof []Hash
	}{
		{"wrong leaf", leaves[6], 5, 20, p},
		{"wrong index", leaves[5], 4, 20, p},
		{"wrong size", leaves[5], 5, 16, p},
		{"index beyond size", leaves[5], 20, 20, p},
		{"short proof", leaves[5], 5, 20, p[:len(p)-1]},
		{"long proof", leaves[5], 5, 20, append(append([]Hash(nil), p...), p[0])},
		{"no proof", leaves[5], 5, 20, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := VerifyInclusion(tt.leaf, tt.index, tt.size, tt.proof, s.root); err == nil {
				t.Error("verified")
			}
		})
	}
	if _, err := ProveInclusion(s, 20, 20); !errors.Is(err, ErrBadSize) {
		t.Errorf("ProveInclusion(20, 20) error = %v, want ErrBadSize", err)
	}
	if _, err := ProveInclusion(s, 3, 21); !errors.Is(err, ErrMissingTile) {
		t.Errorf("ProveInclusion beyond stored size error = %v, want ErrMissingTile", err)
	}
	if _, err := ProveConsistency(s, 5, 4); !errors.Is(err, ErrBadSize) {
		t.Errorf("ProveConsistency(5, 4) error = %v, want ErrBadSize", err)
	}
}

func TestAppendTileLayout(t *testing.T) {
	// The C2SP tlog-tiles example: a tree of size 70,000 has 273 full level
	// 0 tiles, a partial level 0 tile of width 112, a full level 1 tile, a
	// partial level 1 tile of width 17 and a partial level 2 tile of width 1.
	s := newMemStore()
	leaves := make([]Hash, 70000)
	for i := range leaves {
		leaves[i] = syntheticLeaf(uint64(i))
	}
	s.appendLeaves(t, leaves[:1000])
	s.appendLeaves(t, leaves[1000:])
	widths := map[int][]int{}
	for key, data := range s.tiles {
		widths[int(key[0])] = append(widths[int(key[0])], len(data)/HashSize)
	}
	count := func(level, width int) int {
		n := 0
		for _, w := range widths[level] {
			if w == width {
				n++
			}
		}
		return n
	}
	if len(widths[0]) != 274 || count(0, 256) != 273 || count(0, 112) != 1 {
		t.Errorf("level 0 widths wrong: %d tiles", len(widths[0]))
	}
	if len(widths[1]) != 2 || count(1, 256) != 1 || count(1, 17) != 1 {
		t.Errorf("level 1 widths = %v", widths[1])
	}
	if len(widths[2]) != 1 || count(2, 1) != 1 {
		t.Errorf("level 2 widths = %v", widths[2])
	}
	if len(widths) != 3 {
		t.Errorf("levels = %d, want 3", len(widths))
	}
	if want := RootFromLeaves(leaves); s.root != want {
		t.Errorf("root = %v, want %v", s.root, want)
	}
	want := []Tile{
		{Level: 0, Index: 273, Width: 112},
		{Level: 1, Index: 1, Width: 17},
		{Level: 2, Index: 0, Width: 1},
	}
	got := TilesForSize(70000)
	if len(got) != 4 || got[0] != (Tile{Index: 273, Width: 112, Entries: true}) {
		t.Fatalf("TilesForSize(70000) = %v", got)
	}
	for i := range want {
		if got[i+1] != want[i] {
			t.Errorf("TilesForSize(70000)[%d] = %v, want %v", i+1, got[i+1], want[i])
		}
	}
	// A tree of size 256 is one full level 0 tile and a level 1 tile of width 1.
	if got := TilesForSize(256); len(got) != 1 || got[0] != (Tile{Level: 1, Index: 0, Width: 1}) {
		t.Errorf("TilesForSize(256) = %v", got)
	}
}

// TestAppendReadsFewTiles checks that Append and the proofs read O(log n)
// tiles, not a number growing with n.
func TestAppendReadsFewTiles(t *testing.T) {
	s := newMemStore()
	leaves := make([]Hash, 200000)
	for i := range leaves {
		leaves[i] = syntheticLeaf(uint64(i))
	}
	s.appendLeaves(t, leaves)
	s.reads = 0
	s.appendLeaves(t, []Hash{syntheticLeaf(1 << 40)})
	if s.reads > 6 {
		t.Errorf("Append of 1 leaf to 200000 read %d tiles", s.reads)
	}
	s.reads = 0
	if _, err := ProveInclusion(s, 12345, s.size); err != nil {
		t.Fatal(err)
	}
	if s.reads > 6 {
		t.Errorf("ProveInclusion read %d tiles", s.reads)
	}
	s.reads = 0
	if _, err := ProveConsistency(s, 123457, s.size); err != nil {
		t.Fatal(err)
	}
	if s.reads > 9 {
		t.Errorf("ProveConsistency read %d tiles", s.reads)
	}
}

func TestAppendRepairsOverwideEdge(t *testing.T) {
	// A store that wrote tiles for size 10 but recorded size 5 (an
	// interrupted append) must end up with the same tiles as a clean one.
	clean, dirty := newMemStore(), newMemStore()
	var leaves []Hash
	for i := 0; i < 10; i++ {
		leaves = append(leaves, LeafHash(testEntry(i)))
	}
	clean.appendLeaves(t, leaves[:5])
	dirty.appendLeaves(t, leaves[:5])
	dirty.appendLeaves(t, []Hash{{1}, {2}, {3}, {4}, {5}})
	dirty.size = 5
	clean.appendLeaves(t, leaves[5:])
	dirty.appendLeaves(t, leaves[5:])
	if clean.root != dirty.root || !bytes.Equal(clean.tiles[[2]uint64{0, 0}], dirty.tiles[[2]uint64{0, 0}]) {
		t.Error("append over an over-wide edge tile differs from a clean append")
	}
	// A store missing the edge tile is an error, not a silent reset.
	broken := newMemStore()
	if _, _, err := Append(broken, 5, leaves[5:]); !errors.Is(err, ErrMissingTile) {
		t.Errorf("Append with missing edge tile error = %v, want ErrMissingTile", err)
	}
}
