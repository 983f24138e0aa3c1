package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// A backup is a copy of the whole bbolt file as it was at one moment,
// made by a bbolt read transaction (Tx.WriteTo): appends go on while it is
// written. The signing keys are not in it: they are files in the key
// directory beside the bbolt file.

// ErrInUse is returned (wrapped) when a data file that must be closed is
// open in a running truyxuat.
var ErrInUse = errors.New("store: the data file is in use by a running truyxuat")

// BackupReport is what a checked copy holds.
type BackupReport struct {
	Path   string
	Bytes  int64
	SHA256 string // hex; empty when the file was only checked

	Cooperatives int
	Products     int
	Batches      int
	Events       int // events of every batch: one log entry each
	Records      int // signed registry revisions: one log entry each

	LogSize    uint64
	LogRoot    tlog.Hash
	Origin     string // the log's origin, from its newest checkpoint
	Checkpoint uint64 // size of the newest stored checkpoint (0: none)
}

// Backup writes a consistent copy of the whole store to w and returns the
// number of bytes written. A slow w keeps a read transaction open, which
// delays a writer that must grow the file: to send a copy over a network,
// take a Snapshot first.
func (db *DB) Backup(w io.Writer) (int64, error) {
	var n int64
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		n, err = tx.WriteTo(w)
		return err
	})
	if err != nil {
		return n, fmt.Errorf("store: backup: %w", err)
	}
	return n, nil
}

// BackupFile writes a checked copy of the store to path (see WriteBackup).
func (db *DB) BackupFile(path string) (*BackupReport, error) {
	if sameFile(path, db.Path()) {
		return nil, fmt.Errorf("store: backup: %s is the data file itself", path)
	}
	return WriteBackup(path, func(w io.Writer) error {
		_, err := db.Backup(w)
		return err
	})
}

// BackupDataFile writes a checked copy of the bbolt file at src, which no
// running truyxuat may have open (else the error wraps ErrInUse), to path.
func BackupDataFile(src, path string) (*BackupReport, error) {
	if sameFile(path, src) {
		return nil, fmt.Errorf("store: backup: %s is the data file itself", path)
	}
	b, err := openReadOnly(src)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	return WriteBackup(path, func(w io.Writer) error {
		return b.View(func(tx *bolt.Tx) error {
			_, err := tx.WriteTo(w)
			return err
		})
	})
}

// WriteBackup makes path a checked backup: write sends the copy's bytes
// into a temporary file beside path, which is synced, checked (CheckFile)
// and only then renamed to path, replacing any file of that name, and the
// directory synced. A copy that fails is removed and never replaces path.
func WriteBackup(path string, write func(w io.Writer) error) (*BackupReport, error) {
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return nil, fmt.Errorf("store: backup: %s is a directory; name the backup file", path)
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return nil, fmt.Errorf("store: backup: %w", err)
	}
	defer os.Remove(tmp.Name())
	sum := sha256.New()
	cw := &countWriter{w: io.MultiWriter(tmp, sum)}
	err = write(cw)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return nil, fmt.Errorf("store: backup: writing the copy: %w", err)
	}
	rep, err := CheckFile(tmp.Name())
	if err != nil {
		return nil, fmt.Errorf("store: backup: the copy fails its check, so it was not kept: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return nil, fmt.Errorf("store: backup: %w", err)
	}
	if err := syncDir(filepath.Dir(path)); err != nil {
		return nil, fmt.Errorf("store: backup: %w", err)
	}
	rep.Path, rep.Bytes, rep.SHA256 = path, cw.n, hex.EncodeToString(sum.Sum(nil))
	return rep, nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// Snapshot is a copy of the store in a temporary file beside it, to be
// sent somewhere at any pace without holding a read transaction. Close
// removes it.
type Snapshot struct {
	*os.File
	Size   int64
	SHA256 [sha256.Size]byte

	unlinked bool
}

// Snapshot writes a copy of the store to a temporary file beside the data
// file and returns it open for reading from its start. Where the system
// allows it, the file's name is removed at once, so that nothing is left
// behind even if the process dies while the copy is sent.
func (db *DB) Snapshot() (*Snapshot, error) {
	f, err := os.CreateTemp(filepath.Dir(db.Path()), ".snapshot-*.db.tmp")
	if err != nil {
		return nil, fmt.Errorf("store: snapshot: %w", err)
	}
	s := &Snapshot{File: f, unlinked: os.Remove(f.Name()) == nil}
	sum := sha256.New()
	n, err := db.Backup(io.MultiWriter(f, sum))
	if err == nil {
		_, err = f.Seek(0, io.SeekStart)
	}
	if err != nil {
		s.Close()
		return nil, fmt.Errorf("store: snapshot: %w", err)
	}
	s.Size = n
	copy(s.SHA256[:], sum.Sum(nil))
	return s, nil
}

// Close closes and removes the snapshot's file.
func (s *Snapshot) Close() error {
	err := s.File.Close()
	if s.unlinked {
		return err
	}
	if rerr := os.Remove(s.Name()); err == nil {
		err = rerr
	}
	return err
}

// openReadOnly opens a closed bbolt file for reading.
func openReadOnly(path string) (*bolt.DB, error) {
	if _, err := os.Stat(path); err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true, Timeout: time.Second})
	if errors.Is(err, bolt.ErrTimeout) {
		return nil, fmt.Errorf("%w: %s", ErrInUse, path)
	}
	if err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return b, nil
}

func sameFile(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// CheckFile opens a closed data file read-only and checks it as a whole:
// bbolt's own consistency check of every page, then truyxuat's: every
// batch's chain (bytes, hashes, order, links) ends at its recorded head;
// every event is exactly one log entry, at the index its record names;
// every entry bundle and hash tile holds what the events imply; and the
// newest stored checkpoint is of a size the log has, with its root.
// Signatures are not checked: `truyxuat audit` and `verify` do that.
// A file of an earlier schema version is checked as a copy converted to
// the current one (as Open would convert it); the file itself is left as
// it is.
func CheckFile(path string) (*BackupReport, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("store: check: %w", err)
	}
	b, err := openReadOnly(path)
	if err != nil {
		return nil, err
	}
	defer b.Close()
	rep := &BackupReport{Path: path, Bytes: fi.Size()}
	earlier := false
	synced, _ := freelistSynced(path)
	err = b.View(func(tx *bolt.Tx) error {
		if !synced {
			// bbolt's check rebuilds the freelist first (freelist.go).
			if err := walkPages(tx); err != nil {
				return fmt.Errorf("bbolt's consistency check failed: %w", err)
			}
		}
		var errs []error
		for err := range tx.Check() {
			// Drain the channel: its producer stops only at the end.
			if len(errs) < 5 {
				errs = append(errs, err)
			}
		}
		if len(errs) > 0 {
			return fmt.Errorf("bbolt's consistency check failed: %w", errors.Join(errs...))
		}
		if meta := tx.Bucket(bucketMeta); meta != nil && string(meta.Get([]byte("schema"))) == "1" {
			earlier = true
			return nil
		}
		return checkContents(tx, rep)
	})
	if err == nil && earlier {
		err = checkConverted(path, rep)
	}
	if err != nil {
		return nil, fmt.Errorf("store: check %s: %w", path, err)
	}
	return rep, nil
}

// checkConverted runs truyxuat's checks on a copy of a file of schema
// version 1 converted to the current version.
func checkConverted(path string, rep *BackupReport) error {
	current, done, err := upgradedCopy(path)
	if err != nil {
		return err
	}
	defer done()
	b, err := openReadOnly(current)
	if err != nil {
		return err
	}
	defer b.Close()
	return b.View(func(tx *bolt.Tx) error { return checkContents(tx, rep) })
}

// checkContents runs truyxuat's checks over a read transaction.
func checkContents(tx *bolt.Tx, rep *BackupReport) error {
	for _, name := range allBuckets {
		if tx.Bucket(name) == nil {
			return fmt.Errorf("not a truyxuat data file: it has no %q bucket", name)
		}
	}
	if v := tx.Bucket(bucketMeta).Get([]byte("schema")); string(v) != schemaVersion {
		return fmt.Errorf("the data file has schema version %q; this truyxuat reads version %s", v, schemaVersion)
	}
	rep.Cooperatives = tx.Bucket(bucketCoops).Stats().KeyN
	rep.Products = tx.Bucket(bucketProducts).Stats().KeyN
	rep.Batches = tx.Bucket(bucketBatches).Stats().KeyN
	v := &boltView{tx: tx, size: logSize(tx), tail: loadTail(tx)}
	rep.LogSize = v.size
	if err := checkRecords(tx, v, rep); err != nil {
		return err
	}
	if err := checkChains(tx, v, rep); err != nil {
		return err
	}
	if err := checkLog(tx, v); err != nil {
		return err
	}
	root, err := tlog.RootAt(v, v.size)
	if err != nil {
		return fmt.Errorf("the log's root: %w", err)
	}
	rep.LogRoot = root
	size, note := v.LatestCheckpoint()
	if note == nil {
		return nil
	}
	cp, err := PublishedFromNote(note)
	if err != nil {
		return fmt.Errorf("the newest stored checkpoint: %w", err)
	}
	if cp.Size != size || size > v.size {
		return fmt.Errorf("the newest stored checkpoint is of size %d, stored as %d, in a log of %d entries", cp.Size, size, v.size)
	}
	if r, err := tlog.RootAt(v, size); err != nil || r != cp.Root {
		return fmt.Errorf("the newest stored checkpoint (size %d) has root %s, but the log's root at that size is %s (%v)", size, cp.Root, r, err)
	}
	rep.Origin, rep.Checkpoint = cp.Origin, size
	return nil
}

// checkRecords checks the signed registry records: every entry's
// revisions decode, hash, number and link in order (trace.VerifyRecords
// without keys), end at the entry's head, and each is the log entry its
// index says.
func checkRecords(tx *bolt.Tx, v *boltView, rep *BackupReport) error {
	recs, index := tx.Bucket(bucketRecords), tx.Bucket(bucketRecordHash)
	return tx.Bucket(bucketRecordHeads).ForEach(func(name, _ []byte) error {
		kind, id, ok := strings.Cut(string(name), "/")
		if !ok {
			return fmt.Errorf("registry record head %q is malformed", name)
		}
		var revs []*trace.SignedRecord
		prefix := append(bytes.Clone(name), 0)
		c := recs.Cursor()
		for k, val := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, val = c.Next() {
			sr, err := decodeStoredRecord(val)
			if err != nil {
				return fmt.Errorf("%s %s: record %x: %w", kind, id, k, err)
			}
			if !bytes.Equal(index.Get(sr.Hash[:]), k) {
				return fmt.Errorf("%s %s: revision %s is not indexed by its hash", kind, id, sr.Hash)
			}
			if h, ok := v.EventAt(sr.LogIndex); sr.LogIndex >= v.size || !ok || h != sr.Hash {
				return fmt.Errorf("%s %s: revision %s names log index %d, which is not its entry in a log of %d", kind, id, sr.Hash, sr.LogIndex, v.size)
			}
			revs = append(revs, sr.SignedRecord)
		}
		if err := trace.VerifyRecords(trace.RecordKind(kind), id, revs, nil); err != nil {
			return err
		}
		if hd := readRecordHead(tx, trace.RecordKind(kind), id); len(revs) == 0 || hd.n != uint64(len(revs)) || hd.h != revs[len(revs)-1].Hash {
			return fmt.Errorf("%s %s: its recorded head does not end its %d revisions", kind, id, len(revs))
		}
		rep.Records += len(revs)
		return nil
	})
}

// checkChains walks every batch's chain (the chains bucket, batch by
// batch, in sequence), checks each chain and head, that each event is
// indexed by its hash and is the log entry at its index, and that every
// stored event belongs to one chain.
func checkChains(tx *bolt.Tx, v *boltView, rep *BackupReport) error {
	heads := map[string]bool{}
	seen := map[uint64]bool{}
	cv := chainView{tx, v.tail}
	check := func(batch string) error {
		var chain []*trace.SignedEvent
		err := cv.each(batch, 0, func(seq, index uint64) error {
			st, err := eventAt(tx, index)
			if err == nil && st == nil {
				err = errors.New("no event is stored there")
			}
			if err != nil {
				return fmt.Errorf("batch %s: event %d (log index %d): %w", batch, seq, index, err)
			}
			if seen[index] {
				return fmt.Errorf("batch %s: event %d is at log index %d, which another chain holds too", batch, seq, index)
			}
			seen[index] = true
			if at, ok := v.tail.lookupEvent(tx, st.Hash); !ok || at != index {
				return fmt.Errorf("batch %s: event %s is not indexed by its hash", batch, st.Hash)
			}
			if h, ok := v.EventAt(index); index >= v.size || !ok || h != st.Hash {
				return fmt.Errorf("batch %s: event %s is at log index %d, which is not its entry in a log of %d", batch, st.Hash, index, v.size)
			}
			chain = append(chain, st.SignedEvent)
			rep.Events++
			return nil
		})
		if err != nil {
			return err
		}
		if len(chain) == 0 {
			if n, _ := cv.head(batch); n > 0 {
				return fmt.Errorf("batch %s has a head of %d events but no events", batch, n)
			}
			return nil
		}
		if err := trace.VerifyChain(batch, chain); err != nil {
			return fmt.Errorf("batch %s: %w", batch, err)
		}
		n, h := cv.head(batch)
		if last := chain[len(chain)-1].Hash; n != uint64(len(chain)) || h != last {
			return fmt.Errorf("batch %s: its recorded head is event %d %s, but its chain has %d events ending in %s", batch, n, h, len(chain), last)
		}
		heads[batch] = true
		return nil
	}
	if err := tx.Bucket(bucketBatches).ForEach(func(k, _ []byte) error { return check(string(k)) }); err != nil {
		return err
	}
	if n := tx.Bucket(bucketEvents).Stats().KeyN; n != len(seen) {
		return fmt.Errorf("%d event records are stored, but the chains hold %d", n, len(seen))
	}
	// Chains and heads of batches that do not exist.
	return tx.Bucket(bucketChains).ForEach(func(k, _ []byte) error {
		batch := k
		if i := bytes.IndexByte(k, 0); i >= 0 {
			batch = k[:i]
		}
		if !heads[string(batch)] && tx.Bucket(bucketBatches).Get(batch) == nil {
			return fmt.Errorf("events of batch %s, which does not exist", batch)
		}
		return nil
	})
}

// checkLog recomputes every entry from the event at its index and checks
// the stored entry bundles and hash tiles, level by level, against them.
// It holds one tile in memory at a time.
func checkLog(tx *bolt.Tx, v *boltView) error {
	tiles := txTiles{tx}
	for k := uint64(0); k*tlog.TileWidth < v.size; k++ {
		width := int(min(tlog.TileWidth, v.size-k*tlog.TileWidth))
		entries := make([][]byte, width)
		leaves := make([]byte, 0, width*tlog.HashSize)
		for j := range entries {
			i := k*tlog.TileWidth + uint64(j)
			h, ok := v.EventAt(i)
			if !ok {
				return fmt.Errorf("log entry %d names no event", i)
			}
			if st, err := eventAt(tx, i); err != nil || st != nil {
				if err != nil || st.Hash != h {
					return fmt.Errorf("log entry %d names event %s, but the event stored at that index cannot be read or is another (%v)", i, h, err)
				}
				entries[j] = trace.LogEntry(st.SignedEvent)
			} else {
				// Not an event: a signed registry record.
				sr, err := decodeStoredRecord(tx.Bucket(bucketRecords).Get(tx.Bucket(bucketRecordHash).Get(h[:])))
				if err != nil || sr.Hash != h || sr.LogIndex != i {
					return fmt.Errorf("log entry %d names %s, which is neither an event nor a registry record of that index", i, h)
				}
				entries[j] = sr.LogEntry
			}
			leaf := tlog.LeafHash(entries[j])
			leaves = append(leaves, leaf[:]...)
		}
		bundle, err := tlog.EncodeBundle(entries)
		if err != nil {
			return err
		}
		stored, _ := tiles.ReadBundle(k)
		if !bytes.HasPrefix(stored, bundle) {
			return fmt.Errorf("entry bundle %d does not hold the entries of its events", k)
		}
		if err := checkTile(tiles, 0, k, width, leaves); err != nil {
			return err
		}
	}
	for level := 1; ; level++ {
		count := v.size >> (tlog.TileHeight * uint(level))
		if count == 0 {
			return nil
		}
		for k := uint64(0); k*tlog.TileWidth < count; k++ {
			width := int(min(tlog.TileWidth, count-k*tlog.TileWidth))
			want := make([]byte, 0, width*tlog.HashSize)
			for j := 0; j < width; j++ {
				below, _ := tiles.ReadTile(level-1, k*tlog.TileWidth+uint64(j))
				if len(below) < tlog.FullTileSize {
					return fmt.Errorf("hash tile %d/%d is missing or short", level-1, k*tlog.TileWidth+uint64(j))
				}
				hs := make([]tlog.Hash, tlog.TileWidth)
				for i := range hs {
					hs[i] = tlog.Hash(below[i*tlog.HashSize:])
				}
				root := tlog.RootFromLeaves(hs)
				want = append(want, root[:]...)
			}
			if err := checkTile(tiles, level, k, width, want); err != nil {
				return err
			}
		}
	}
}

func checkTile(tiles txTiles, level int, index uint64, width int, want []byte) error {
	stored, _ := tiles.ReadTile(level, index)
	if got, ok := tlog.TilePrefix(stored, width); !ok || !bytes.Equal(got, want) {
		return fmt.Errorf("hash tile %d/%d does not hold the hashes of the tiles and entries below it", level, index)
	}
	return nil
}
