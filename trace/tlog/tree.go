package tlog

import (
	"errors"
	"fmt"
	"math/bits"
)

// TileReader gives access to a log's stored hash tiles.
//
// ReadTile returns the latest stored bytes of the hash tile at (level,
// index): a full tile of 8192 bytes or a partial tile of 32·W bytes. It
// returns nil (or an empty slice) and a nil error if the tile is not stored.
// The caller does not modify the returned bytes.
type TileReader interface {
	ReadTile(level int, index uint64) ([]byte, error)
}

// TileReaderFunc adapts a function to the TileReader interface.
type TileReaderFunc func(level int, index uint64) ([]byte, error)

// ReadTile calls f(level, index).
func (f TileReaderFunc) ReadTile(level int, index uint64) ([]byte, error) { return f(level, index) }

// TileData is a tile together with its bytes, as returned by [Append] and
// [AppendEntries] for the caller to store.
type TileData struct {
	Tile
	Data []byte
}

// ErrMissingTile is returned (wrapped) when a tile needed for a computation
// is absent or shorter than the tree size requires.
var ErrMissingTile = errors.New("tlog: tile missing or too short")

// ErrBadSize is returned (wrapped) when a size or index is out of range.
var ErrBadSize = errors.New("tlog: size or index out of range")

// Append appends leaf hashes to the log of the given size whose tiles r
// reads, and returns the tiles to store and the root hash of the new tree.
//
// The returned tiles are every hash tile whose contents change, at every
// level, each with its complete new bytes: tiles that became full (8192
// bytes) and the new partial tiles at the right edge. Storing each of them
// under (Level, Index), replacing what was there, brings the store to the new
// size. Append reads at most one tile per level for the append itself and one
// more per unchanged level for the root, so its cost is O(k + log n) for k
// leaves; it never scans the log.
//
// Stored edge tiles wider than size implies (left by an interrupted earlier
// append) are truncated to the width size implies and overwritten.
func Append(r TileReader, size uint64, leaves []Hash) ([]TileData, Hash, error) {
	newSize := size + uint64(len(leaves))
	if newSize < size {
		return nil, Hash{}, fmt.Errorf("%w: tree size overflows", ErrBadSize)
	}
	var writes []TileData
	pending := leaves
	count := size // number of hashes at the current level before the append
	for level := 0; len(pending) > 0; level++ {
		index := count / TileWidth
		width := int(count % TileWidth)
		cur := make([]byte, 0, FullTileSize)
		if width > 0 {
			data, err := r.ReadTile(level, index)
			if err != nil {
				return nil, Hash{}, err
			}
			if len(data) < width*HashSize {
				return nil, Hash{}, fmt.Errorf("%w: tile %v has %d bytes, tree size %d needs %d",
					ErrMissingTile, Tile{Level: level, Index: index, Width: width}, len(data), size, width*HashSize)
			}
			cur = append(cur, data[:width*HashSize]...)
		}
		var next []Hash
		for _, h := range pending {
			cur = append(cur, h[:]...)
			if len(cur) == FullTileSize {
				writes = append(writes, TileData{Tile{Level: level, Index: index, Width: TileWidth}, cur})
				next = append(next, subtreeHash(cur))
				index++
				cur = make([]byte, 0, FullTileSize)
			}
		}
		if len(cur) > 0 {
			writes = append(writes, TileData{Tile{Level: level, Index: index, Width: len(cur) / HashSize}, cur})
		}
		pending = next
		count /= TileWidth
	}
	root, err := RootAt(overlay{r, writes}, newSize)
	if err != nil {
		return nil, Hash{}, err
	}
	return writes, root, nil
}

// overlay reads tiles from pending writes first, then from the store.
type overlay struct {
	r      TileReader
	writes []TileData
}

func (o overlay) ReadTile(level int, index uint64) ([]byte, error) {
	// Writes are few per level; search from the end (edge tiles last).
	for i := len(o.writes) - 1; i >= 0; i-- {
		if w := o.writes[i]; w.Level == level && w.Index == index {
			return w.Data, nil
		}
	}
	return o.r.ReadTile(level, index)
}

// BundleReader gives access to a log's stored entry bundles. ReadBundle
// returns the latest stored bytes of entry bundle index, or nil if absent.
type BundleReader interface {
	ReadBundle(index uint64) ([]byte, error)
}

// AppendEntries appends entries to the entry bundles of a log of the given
// size. It returns the bundles to store (full and partial, each with its
// complete new bytes, Entries set) and the entries' leaf hashes, ready for
// [Append]. It reads at most the one partial bundle at the edge.
func AppendEntries(r BundleReader, size uint64, entries [][]byte) ([]TileData, []Hash, error) {
	if size+uint64(len(entries)) < size {
		return nil, nil, fmt.Errorf("%w: tree size overflows", ErrBadSize)
	}
	if len(entries) == 0 {
		return nil, []Hash{}, nil
	}
	index := size / TileWidth
	width := int(size % TileWidth)
	var cur []byte
	if width > 0 {
		data, err := r.ReadBundle(index)
		if err != nil {
			return nil, nil, err
		}
		old, err := ParseBundle(data)
		if err != nil {
			return nil, nil, err
		}
		if len(old) < width {
			return nil, nil, fmt.Errorf("%w: entry bundle %d has %d entries, tree size %d needs %d",
				ErrMissingTile, index, len(old), size, width)
		}
		n := 0
		for _, e := range old[:width] {
			n += 2 + len(e)
		}
		cur = append(cur, data[:n]...)
	}
	var writes []TileData
	hashes := make([]Hash, len(entries))
	for i, e := range entries {
		var err error
		if cur, err = AppendBundleEntry(cur, e); err != nil {
			return nil, nil, err
		}
		hashes[i] = LeafHash(e)
		width++
		if width == TileWidth {
			writes = append(writes, TileData{Tile{Index: index, Width: TileWidth, Entries: true}, cur})
			index++
			width = 0
			cur = nil
		}
	}
	if width > 0 {
		writes = append(writes, TileData{Tile{Index: index, Width: width, Entries: true}, cur})
	}
	return writes, hashes, nil
}

// subtreeHash returns the Merkle tree hash of the 2^k hashes in data.
func subtreeHash(data []byte) Hash {
	n := len(data) / HashSize
	if n == 1 {
		return Hash(data)
	}
	var buf [TileWidth / 2]Hash
	level := buf[:n/2]
	for i := range level {
		level[i] = NodeHash(Hash(data[2*i*HashSize:]), Hash(data[(2*i+1)*HashSize:]))
	}
	for len(level) > 1 {
		for i := 0; i < len(level)/2; i++ {
			level[i] = NodeHash(level[2*i], level[2*i+1])
		}
		level = level[:len(level)/2]
	}
	return level[0]
}

// hashReader computes node hashes from tiles, reading each tile at most once.
type hashReader struct {
	r     TileReader
	tiles map[[2]uint64][]byte
}

func newHashReader(r TileReader) *hashReader {
	return &hashReader{r: r, tiles: make(map[[2]uint64][]byte, 8)}
}

// node returns the hash of the complete subtree of height h (2^h leaves)
// whose leftmost leaf is index·2^h.
func (hr *hashReader) node(h uint, index uint64) (Hash, error) {
	level := h / TileHeight
	sub := h % TileHeight
	first := index << sub // first hash of the level-`level` tile row covered
	tileIndex := first / TileWidth
	off := int(first % TileWidth)
	end := off + 1<<sub
	key := [2]uint64{uint64(level), tileIndex}
	data, ok := hr.tiles[key]
	if !ok {
		var err error
		data, err = hr.r.ReadTile(int(level), tileIndex)
		if err != nil {
			return Hash{}, err
		}
		if len(data)%HashSize != 0 || len(data) > FullTileSize {
			return Hash{}, fmt.Errorf("%w: tile %d/%d has %d bytes", ErrMissingTile, level, tileIndex, len(data))
		}
		hr.tiles[key] = data
	}
	if len(data) < end*HashSize {
		return Hash{}, fmt.Errorf("%w: tile %v holds %d hashes, need %d",
			ErrMissingTile, Tile{Level: int(level), Index: tileIndex, Width: TileWidth}, len(data)/HashSize, end)
	}
	return subtreeHash(data[off*HashSize : end*HashSize]), nil
}

// rangeHash returns the Merkle tree hash of entries [lo, hi), where lo is a
// multiple of the smallest power of two ≥ hi-lo (every range an RFC 6962
// proof or root mentions has this form).
func (hr *hashReader) rangeHash(lo, hi uint64) (Hash, error) {
	var parts [64]Hash
	n := 0
	for lo < hi {
		h := uint(bits.Len64(hi-lo) - 1)
		if lo != 0 {
			h = min(h, uint(bits.TrailingZeros64(lo)))
		}
		p, err := hr.node(h, lo>>h)
		if err != nil {
			return Hash{}, err
		}
		parts[n] = p
		n++
		lo += 1 << h
	}
	return foldRight(parts[:n]), nil
}

// RootAt returns the root hash of the tree of the given size, which must not
// exceed the size of the stored tree. It reads at most one tile per level.
func RootAt(r TileReader, size uint64) (Hash, error) {
	if size == 0 {
		return EmptyRoot(), nil
	}
	return newHashReader(r).rangeHash(0, size)
}

// largestPow2Below returns the largest power of two strictly smaller than n
// (n ≥ 2).
func largestPow2Below(n uint64) uint64 {
	return 1 << (bits.Len64(n-1) - 1)
}

// ProveInclusion returns the RFC 6962 §2.1.1 inclusion proof of entry index
// in the tree of the given size (which must not exceed the stored size),
// listed from the leaf's sibling up to the root's child. It reads O(log n)
// tiles.
func ProveInclusion(r TileReader, index, size uint64) ([]Hash, error) {
	if index >= size {
		return nil, fmt.Errorf("%w: index %d not in tree of size %d", ErrBadSize, index, size)
	}
	var ranges [][2]uint64
	lo, hi := uint64(0), size
	for hi-lo > 1 {
		k := largestPow2Below(hi - lo)
		if index < lo+k {
			ranges = append(ranges, [2]uint64{lo + k, hi})
			hi = lo + k
		} else {
			ranges = append(ranges, [2]uint64{lo, lo + k})
			lo += k
		}
	}
	return hashRanges(r, ranges)
}

// ProveConsistency returns the RFC 6962 §2.1.2 consistency proof from the
// tree of size oldSize to the tree of size newSize (which must not exceed
// the stored size). The proof is empty when oldSize is 0 or equals newSize.
// It reads O(log n) tiles.
func ProveConsistency(r TileReader, oldSize, newSize uint64) ([]Hash, error) {
	if oldSize > newSize {
		return nil, fmt.Errorf("%w: old size %d exceeds new size %d", ErrBadSize, oldSize, newSize)
	}
	if oldSize == 0 || oldSize == newSize {
		return []Hash{}, nil
	}
	var ranges [][2]uint64
	lo, hi, m := uint64(0), newSize, oldSize
	complete := true // the old tree is a complete subtree seen so far
	for m != hi-lo {
		k := largestPow2Below(hi - lo)
		if m <= k {
			ranges = append(ranges, [2]uint64{lo + k, hi})
			hi = lo + k
		} else {
			ranges = append(ranges, [2]uint64{lo, lo + k})
			lo += k
			m -= k
			complete = false
		}
	}
	if !complete {
		ranges = append(ranges, [2]uint64{lo, hi})
	}
	return hashRanges(r, ranges)
}

// hashRanges hashes ranges listed from the root down and returns them from
// the bottom up.
func hashRanges(r TileReader, ranges [][2]uint64) ([]Hash, error) {
	hr := newHashReader(r)
	proof := make([]Hash, len(ranges))
	for i, rg := range ranges {
		h, err := hr.rangeHash(rg[0], rg[1])
		if err != nil {
			return nil, err
		}
		proof[len(ranges)-1-i] = h
	}
	return proof, nil
}
