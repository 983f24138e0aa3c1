package tlog

import (
	"bytes"
	"crypto/sha256"
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	sumdb "golang.org/x/mod/sumdb/tlog"
)

func TestTilePath(t *testing.T) {
	tests := []struct {
		tile Tile
		path string
	}{
		{Tile{Level: 0, Index: 0, Width: 256}, "tile/0/000"},
		{Tile{Level: 0, Index: 5, Width: 256}, "tile/0/005"},
		{Tile{Level: 1, Index: 1234067, Width: 256}, "tile/1/x001/x234/067"},
		{Tile{Level: 2, Index: 1000, Width: 17}, "tile/2/x001/000.p/17"},
		{Tile{Level: 63, Index: 999, Width: 1}, "tile/63/999.p/1"},
		{Tile{Index: 273, Width: 112, Entries: true}, "tile/entries/273.p/112"},
		{Tile{Index: 1234067, Width: 256, Entries: true}, "tile/entries/x001/x234/067"},
		{Tile{Index: 1<<64 - 1, Width: 255}, "tile/0/x018/x446/x744/x073/x709/x551/615.p/255"},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			if got := tt.tile.Path(); got != tt.path {
				t.Errorf("Path() = %q", got)
			}
			got, err := ParseTilePath(tt.path)
			if err != nil || got != tt.tile {
				t.Errorf("ParseTilePath = %+v, %v", got, err)
			}
		})
	}
	for _, bad := range []string{
		"", "tile/", "tile/0", "tile/0/", "tile/00/000", "tile/64/000", "tile/-1/000",
		"tile/0/5", "tile/0/0005", "tile/0/x000/005", "tile/0/x001/05", "tile/0/001/002",
		"tile/0/x001", "tile/0/000.p/0", "tile/0/000.p/256", "tile/0/000.p/05", "tile/0/000.p/",
		"tile/0/000.p/1/", "/tile/0/000", "tile/data/000", "tile/entries/000.p/300",
		"tile/0/x018/x446/x744/x073/x709/x551/616", "tile/0/00a", "tile/0/000.P/5", "tile/0/000/",
		"tile/8/0/000",
	} {
		if _, err := ParseTilePath(bad); !errors.Is(err, ErrBadTilePath) {
			t.Errorf("ParseTilePath(%q) err = %v", bad, err)
		}
	}
}

// TestTilePathsMatchSumdb compares paths with golang.org/x/mod/sumdb/tlog,
// whose paths carry the tile height as an extra element ("tile/8/...") and
// call entry bundles "data".
func TestTilePathsMatchSumdb(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 4))
	for i := 0; i < 2000; i++ {
		n := rng.Int64N(1 << uint(rng.IntN(40)+1))
		w := 1 + rng.IntN(256)
		l := rng.IntN(8)
		entries := rng.IntN(4) == 0
		st := sumdb.Tile{H: 8, L: l, N: n, W: w}
		if entries {
			st.L = -1
		}
		ours := Tile{Level: l, Index: uint64(n), Width: w, Entries: entries}
		if entries {
			ours.Level = 0
		}
		want := strings.Replace(strings.Replace(st.Path(), "tile/8/", "tile/", 1), "tile/data/", "tile/entries/", 1)
		if got := ours.Path(); got != want {
			t.Fatalf("Path() = %q, sumdb %q", got, want)
		}
		back, err := sumdb.ParseTilePath(strings.Replace(strings.Replace(ours.Path(), "tile/entries/", "tile/data/", 1), "tile/", "tile/8/", 1))
		if err != nil || back != st {
			t.Fatalf("sumdb.ParseTilePath(our path) = %v, %v", back, err)
		}
	}
	// Hashes read out of our tiles with sumdb's HashFromTile agree with
	// sumdb's stored hashes.
	s := newMemStore()
	ref := &sumdbLog{}
	for i := 0; i < 70000; i++ {
		h := syntheticLeaf(uint64(i))
		ref.add(t, h)
		if i%1000 == 999 {
			var batch []Hash
			for j := i - 999; j <= i; j++ {
				batch = append(batch, syntheticLeaf(uint64(j)))
			}
			s.appendLeaves(t, batch)
		}
	}
	for k := 0; k < 500; k++ {
		idx := rng.Int64N(sumdb.StoredHashCount(70000))
		tl := sumdb.TileForIndex(8, idx)
		data, _ := s.ReadTile(tl.L, uint64(tl.N))
		got, err := sumdb.HashFromTile(tl, data, idx)
		if err != nil {
			t.Fatal(err)
		}
		if want := ref.hashes[idx]; got != want {
			t.Fatalf("HashFromTile(%s, %d) differs from sumdb", tl.Path(), idx)
		}
	}
}

func TestEntryBundles(t *testing.T) {
	entries := [][]byte{{}, []byte("a"), bytes.Repeat([]byte{1}, MaxEntrySize)}
	b, err := EncodeBundle(entries)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b[:5], []byte{0, 0, 0, 1, 'a'}) {
		t.Errorf("encoding starts % x", b[:5])
	}
	got, err := ParseBundle(b)
	if err != nil || len(got) != 3 || !bytes.Equal(got[2], entries[2]) {
		t.Fatalf("ParseBundle = %d entries, %v", len(got), err)
	}
	if _, err := EncodeBundle([][]byte{make([]byte, MaxEntrySize+1)}); !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("oversized entry: %v", err)
	}
	for _, bad := range [][]byte{{0}, {0, 2, 'a'}, append(b, 0)} {
		if _, err := ParseBundle(bad); !errors.Is(err, ErrBadBundle) {
			t.Errorf("ParseBundle(% x) err = %v", bad, err)
		}
	}
	var tooMany []byte
	for i := 0; i < 257; i++ {
		tooMany, _ = AppendBundleEntry(tooMany, nil)
	}
	if _, err := ParseBundle(tooMany); !errors.Is(err, ErrBadBundle) {
		t.Error("257-entry bundle accepted")
	}

	// AppendEntries across bundle boundaries gives the same bundles as one
	// encoding of everything, and leaf hashes of the entries.
	s := newMemStore()
	var all [][]byte
	for _, k := range []int{1, 254, 1, 300, 0, 700} {
		var batch [][]byte
		for i := 0; i < k; i++ {
			batch = append(batch, testEntry(len(all)+i))
		}
		all = append(all, batch...)
		s.appendEntries(t, batch)
	}
	if len(s.bundles) != (len(all)+255)/256 {
		t.Fatalf("%d bundles for %d entries", len(s.bundles), len(all))
	}
	for idx, data := range s.bundles {
		lo := int(idx) * 256
		want, _ := EncodeBundle(all[lo:min(lo+256, len(all))])
		if !bytes.Equal(data, want) {
			t.Errorf("bundle %d differs", idx)
		}
		// Every entry hashes to its level 0 tile hash, as tlog-tiles
		// requires.
		es, _ := ParseBundle(data)
		tile := s.tiles[[2]uint64{0, idx}]
		for i, e := range es {
			if LeafHash(e) != Hash(tile[i*HashSize:]) {
				t.Fatalf("entry %d does not hash to its tile hash", lo+i)
			}
		}
	}
	if _, _, err := AppendEntries(s, uint64(len(all)), [][]byte{make([]byte, MaxEntrySize+1)}); !errors.Is(err, ErrEntryTooLarge) {
		t.Errorf("AppendEntries oversized: %v", err)
	}
	if _, _, err := AppendEntries(newMemStore(), 3, [][]byte{nil}); !errors.Is(err, ErrMissingTile) {
		t.Errorf("AppendEntries with missing bundle: %v", err)
	}
}

// A bundle's tile of level 0 holds the leaf hashes of its entries.
func TestBundleTile(t *testing.T) {
	entries := [][]byte{[]byte("a"), {}, bytes.Repeat([]byte{7}, 300)}
	b, err := EncodeBundle(entries)
	if err != nil {
		t.Fatal(err)
	}
	tile, err := BundleTile(b)
	if err != nil {
		t.Fatal(err)
	}
	var want []byte
	for _, e := range entries {
		h := sha256.Sum256(append([]byte{0}, e...)) // RFC 6962 leaf hash
		want = append(want, h[:]...)
	}
	if !bytes.Equal(tile, want) {
		t.Errorf("tile %x, want %x", tile, want)
	}
	if tile, err := BundleTile(nil); tile != nil || err != nil {
		t.Errorf("no bundle: %x, %v", tile, err)
	}
	if _, err := BundleTile([]byte{0, 5, 1}); err == nil {
		t.Error("a truncated bundle made a tile")
	}
}
