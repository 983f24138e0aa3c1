package store

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"

	bolt "go.etcd.io/bbolt"
)

// The store runs bbolt without writing its freelist in every commit
// (NoFreelistSync; see Open) and writes it once more when it closes. A file
// whose service stopped without closing it has no freelist, and bbolt
// rebuilds one when it opens it by walking every page — in a goroutine of
// its own, where a damaged page is a panic that takes the process down
// instead of an error. Such a file is walked first, here, where a damaged
// page is an error that names it.

// freelistSynced reports whether the newest meta page of the bbolt file at
// path records a freelist. It reads bbolt's meta pages (pages 0 and 1:
// a 16-byte page header, then magic, version, page size and flags as
// uint32s, the root bucket (16 bytes), the freelist's page id, the high
// water mark and the transaction id as uint64s, little-endian).
func freelistSynced(path string) (bool, error) {
	f, err := os.Open(path)
	if err != nil {
		return false, err
	}
	defer f.Close()
	const magic = 0xED0CDAED
	read := func(off int64) (pageSize uint32, freelist, txid uint64, ok bool) {
		var m [72]byte
		if _, err := f.ReadAt(m[:], off); err != nil {
			return 0, 0, 0, false
		}
		le := binary.LittleEndian
		if le.Uint32(m[16:]) != magic {
			return 0, 0, 0, false
		}
		return le.Uint32(m[24:]), le.Uint64(m[48:]), le.Uint64(m[64:]), true
	}
	ps, fl0, tx0, ok0 := read(0)
	if !ok0 {
		return false, errors.New("its first page is not a bbolt meta page")
	}
	_, fl1, tx1, ok1 := read(int64(ps))
	if ok1 && tx1 > tx0 {
		return fl1 != ^uint64(0), nil
	}
	return fl0 != ^uint64(0), nil
}

// walkPages reads every page of every bucket tx sees, turning bbolt's
// panic on a damaged page into an error.
func walkPages(tx *bolt.Tx) (err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("a page cannot be read: %v", r)
		}
	}()
	var walk func(b *bolt.Bucket) error
	walk = func(b *bolt.Bucket) error {
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					return walk(nb)
				}
			}
			return nil
		})
	}
	return tx.ForEach(func(_ []byte, b *bolt.Bucket) error { return walk(b) })
}

// walkUnsynced walks the pages of the closed file at path if it has no
// freelist, before bbolt rebuilds one (see above).
func walkUnsynced(path string) error {
	synced, err := freelistSynced(path)
	if err != nil || synced {
		if errors.Is(err, io.EOF) {
			err = nil
		}
		return nil
	}
	b, err := openReadOnly(path)
	if err != nil {
		return nil // opening it properly says why
	}
	defer b.Close()
	return b.View(walkPages)
}
