package tlog

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

const (
	// TileHeight is the height of every tile: a tile holds the hashes of
	// 2^TileHeight consecutive nodes of one level.
	TileHeight = 8
	// TileWidth is the number of hashes in a full tile.
	TileWidth = 1 << TileHeight
	// FullTileSize is the size in bytes of a full hash tile.
	FullTileSize = TileWidth * HashSize
	// MaxTileLevel is the largest tile level a path may name.
	MaxTileLevel = 63
	// MaxEntrySize is the largest entry an entry bundle can hold.
	MaxEntrySize = 1<<16 - 1
)

// Tile names a hash tile or an entry bundle of a tiled log (C2SP tlog-tiles).
//
// For a hash tile, hash i (0 ≤ i < Width) of the tile at Level L and Index N
// is the Merkle tree hash of the entries
// [(N·256+i)·256^L, (N·256+i+1)·256^L). For an entry bundle (Entries set,
// Level 0) entry i is log entry N·256+i. Width is 256 for a full tile and
// 1–255 for a partial one.
type Tile struct {
	Level   int
	Index   uint64
	Width   int
	Entries bool
}

// Path returns the tile's path relative to the log prefix:
// "tile/<L>/<N>[.p/<W>]" or "tile/entries/<N>[.p/<W>]". N is written in
// groups of three digits, every group but the last prefixed with "x"
// (1234067 → "x001/x234/067").
func (t Tile) Path() string {
	var b strings.Builder
	b.WriteString("tile/")
	if t.Entries {
		b.WriteString("entries")
	} else {
		b.WriteString(strconv.Itoa(t.Level))
	}
	b.WriteByte('/')
	b.WriteString(formatTileIndex(t.Index))
	if t.Width != TileWidth {
		b.WriteString(".p/")
		b.WriteString(strconv.Itoa(t.Width))
	}
	return b.String()
}

func (t Tile) String() string { return t.Path() }

func formatTileIndex(n uint64) string {
	groups := []string{fmt.Sprintf("%03d", n%1000)}
	for n >= 1000 {
		n /= 1000
		groups = append(groups, fmt.Sprintf("x%03d", n%1000))
	}
	for i, j := 0, len(groups)-1; i < j; i, j = i+1, j-1 {
		groups[i], groups[j] = groups[j], groups[i]
	}
	return strings.Join(groups, "/")
}

// ErrBadTilePath is returned (wrapped) by ParseTilePath.
var ErrBadTilePath = errors.New("tlog: malformed tile path")

// ParseTilePath parses a path produced by [Tile.Path]. It rejects every
// non-canonical spelling: a level with leading zeros or above 63, index groups
// that are not exactly three digits or whose "x" prefixes are wrong, an
// index with a leading all-zero "x000" group, a width outside 1–255 or with
// leading zeros, and anything before "tile/" or after the width.
func ParseTilePath(path string) (Tile, error) {
	bad := func() (Tile, error) { return Tile{}, fmt.Errorf("%w: %q", ErrBadTilePath, path) }
	rest, ok := strings.CutPrefix(path, "tile/")
	if !ok {
		return bad()
	}
	levelStr, rest, ok := strings.Cut(rest, "/")
	if !ok {
		return bad()
	}
	var t Tile
	if levelStr == "entries" {
		t.Entries = true
	} else {
		l, ok := parseDecimal(levelStr)
		if !ok || l > MaxTileLevel {
			return bad()
		}
		t.Level = int(l)
	}
	t.Width = TileWidth
	if i := strings.Index(rest, ".p/"); i >= 0 {
		w, ok := parseDecimal(rest[i+len(".p/"):])
		if !ok || w < 1 || w >= TileWidth {
			return bad()
		}
		t.Width = int(w)
		rest = rest[:i]
	}
	groups := strings.Split(rest, "/")
	var n uint64
	for i, g := range groups {
		last := i == len(groups)-1
		if !last {
			if !strings.HasPrefix(g, "x") {
				return bad()
			}
			g = g[1:]
		}
		if len(g) != 3 || !isDigits(g) {
			return bad()
		}
		d, _ := strconv.ParseUint(g, 10, 64)
		if n > (1<<64-1-d)/1000 {
			return bad()
		}
		n = n*1000 + d
	}
	t.Index = n
	if t.Path() != path {
		return bad()
	}
	return t, nil
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// parseDecimal parses a canonical unsigned decimal: digits only, no sign, no
// leading zeros (except "0" itself), fitting in a uint64.
func parseDecimal(s string) (uint64, bool) {
	if !isDigits(s) || (len(s) > 1 && s[0] == '0') {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 64)
	return n, err == nil
}

// TilePrefix returns the first width hashes of stored tile data, which is how
// a partial tile for an older tree size is served from the latest stored
// bytes of that tile. It reports false if data holds fewer hashes.
func TilePrefix(data []byte, width int) ([]byte, bool) {
	if width < 1 || width > TileWidth || len(data) < width*HashSize {
		return nil, false
	}
	return data[:width*HashSize], true
}

// TilesForSize lists the partial tiles (hash tiles at every level and the
// entry bundle) that describe a tree of the given size: the resources a log
// must be able to serve alongside a checkpoint of that size, beyond the
// full tiles. Full tiles are never listed.
func TilesForSize(size uint64) []Tile {
	var tiles []Tile
	if w := size % TileWidth; w != 0 {
		tiles = append(tiles, Tile{Index: size / TileWidth, Width: int(w), Entries: true})
	}
	for level := 0; level < 8; level++ {
		count := size >> (TileHeight * uint(level))
		if count == 0 {
			break
		}
		if w := count % TileWidth; w != 0 {
			tiles = append(tiles, Tile{Level: level, Index: count / TileWidth, Width: int(w)})
		}
	}
	return tiles
}

// ErrEntryTooLarge is returned when an entry does not fit an entry bundle.
var ErrEntryTooLarge = errors.New("tlog: entry longer than 65535 bytes")

// AppendBundleEntry appends one entry to an entry bundle: a big-endian
// uint16 length followed by the entry's bytes.
func AppendBundleEntry(bundle, entry []byte) ([]byte, error) {
	if len(entry) > MaxEntrySize {
		return bundle, ErrEntryTooLarge
	}
	bundle = binary.BigEndian.AppendUint16(bundle, uint16(len(entry)))
	return append(bundle, entry...), nil
}

// EncodeBundle encodes entries as an entry bundle.
func EncodeBundle(entries [][]byte) ([]byte, error) {
	n := 0
	for _, e := range entries {
		n += 2 + len(e)
	}
	b := make([]byte, 0, n)
	for _, e := range entries {
		var err error
		if b, err = AppendBundleEntry(b, e); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// ErrBadBundle is returned when entry bundle bytes are malformed.
var ErrBadBundle = errors.New("tlog: malformed entry bundle")

// ParseBundle decodes an entry bundle. The entries alias data. It fails on a
// truncated entry and on more than 256 entries.
func ParseBundle(data []byte) ([][]byte, error) {
	var entries [][]byte
	for len(data) > 0 {
		if len(data) < 2 || len(entries) == TileWidth {
			return nil, ErrBadBundle
		}
		n := int(binary.BigEndian.Uint16(data))
		if len(data) < 2+n {
			return nil, ErrBadBundle
		}
		entries = append(entries, data[2:2+n:2+n])
		data = data[2+n:]
	}
	return entries, nil
}

// BundleTile returns the hash tile of level 0 with the index of an entry
// bundle: the leaf hashes of its entries, as many as it has (nil for a
// nil bundle). A store may keep bundles only and compute these tiles.
func BundleTile(bundle []byte) ([]byte, error) {
	if bundle == nil {
		return nil, nil
	}
	entries, err := ParseBundle(bundle)
	if err != nil {
		return nil, err
	}
	tile := make([]byte, 0, len(entries)*HashSize)
	for _, e := range entries {
		h := LeafHash(e)
		tile = append(tile, h[:]...)
	}
	return tile, nil
}
