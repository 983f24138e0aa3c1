package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// The transparency log lives in the same file as the events and is
// appended in the same group-commit transaction:
//
//	logmeta     "size" → uint64 tree size
//	logtiles    level byte ‖ uint64 index → latest bytes of that hash tile,
//	            levels 1 and up (see levelZeroTile)
//	logbundles  uint64 index → latest bytes of that entry bundle
//	logevents   uint64 log index → event or registry record hash
//	checkpoints uint64 size → signed checkpoint note (with any cosignatures)
//
// Tiles are stored as C2SP tlog-tiles defines them (height 8), so proofs
// and roots take O(log n) reads and the tiles can be served as they are.
var (
	bucketLogMeta     = []byte("logmeta")
	bucketLogTiles    = []byte("logtiles")
	bucketLogBundles  = []byte("logbundles")
	bucketLogEvents   = []byte("logevents")
	bucketCheckpoints = []byte("checkpoints")
)

func init() {
	allBuckets = append(allBuckets, bucketLogMeta, bucketLogTiles, bucketLogBundles,
		bucketLogEvents, bucketCheckpoints)
}

// ErrCheckpointConflict is returned when a checkpoint would contradict one
// already stored for the same size.
var ErrCheckpointConflict = errors.New("store: a different checkpoint for this size is already stored")

func u64(n uint64) []byte { return binary.BigEndian.AppendUint64(nil, n) }

func tileKey(level int, index uint64) []byte {
	return binary.BigEndian.AppendUint64([]byte{byte(level)}, index)
}

func logSize(tx *bolt.Tx) uint64 {
	v := tx.Bucket(bucketLogMeta).Get([]byte("size"))
	if len(v) != 8 {
		return 0
	}
	return binary.BigEndian.Uint64(v)
}

// txTiles reads tiles and bundles inside a transaction, copying the bytes
// out of bbolt's memory.
type txTiles struct{ tx *bolt.Tx }

func (r txTiles) ReadTile(level int, index uint64) ([]byte, error) {
	if level == 0 {
		return levelZeroTile(r.tx.Bucket(bucketLogBundles).Get(u64(index)))
	}
	return bytes.Clone(r.tx.Bucket(bucketLogTiles).Get(tileKey(level, index))), nil
}

// levelZeroTile computes a hash tile of level 0 from the entry bundle of
// the same index (tlog.BundleTile). Such tiles are not stored: each would
// take three pages of the file (8 KB and bbolt's headers) to hold what
// the bundle already says, about 40 bytes per log entry. A read costs a
// SHA-256 of each entry.
func levelZeroTile(bundle []byte) ([]byte, error) {
	tile, err := tlog.BundleTile(bundle)
	if err != nil {
		return nil, fmt.Errorf("store: entry bundle: %w", err)
	}
	return tile, nil
}

func (r txTiles) ReadBundle(index uint64) ([]byte, error) {
	return bytes.Clone(r.tx.Bucket(bucketLogBundles).Get(u64(index))), nil
}

// LogItem is one entry a group adds to the log: an event's or a
// registry record's, in the order of the log.
type LogItem struct {
	Hash  trace.Hash // the event's or record's hash
	Entry []byte     // its log entry
}

// NumberLog gives the events and records of a group's plans their log
// indexes, in order from size (each plan's events, then its records), sets
// their log entries and returns the group's log items. It runs in the
// group's transaction before the plans write: an event's stored record
// holds its log index.
func NumberLog(plans []*Plan, size uint64) []LogItem {
	var items []LogItem
	next := size
	for _, p := range plans {
		for _, se := range p.Events {
			se.LogIndex, se.LogEntry = next, trace.LogEntry(se.SignedEvent)
			next++
			items = append(items, LogItem{Hash: se.Hash, Entry: se.LogEntry})
		}
		for _, sr := range p.Records {
			sr.LogIndex, sr.LogEntry = next, sr.SignedRecord.LogEntry()
			next++
			items = append(items, LogItem{Hash: sr.Hash, Entry: sr.LogEntry})
		}
	}
	return items
}

// logAppend adds a group's entries to the log inside its transaction.
func logAppend(tx *bolt.Tx, items []LogItem) error {
	if len(items) == 0 {
		return nil
	}
	size := logSize(tx)
	entries := make([][]byte, len(items))
	for i, it := range items {
		entries[i] = it.Entry
	}
	r := txTiles{tx}
	bundles, leaves, err := tlog.AppendEntries(r, size, entries)
	if err != nil {
		return err
	}
	tiles, _, err := tlog.Append(r, size, leaves)
	if err != nil {
		return err
	}
	for _, b := range bundles {
		if err := tx.Bucket(bucketLogBundles).Put(u64(b.Index), b.Data); err != nil {
			return err
		}
	}
	for _, t := range tiles {
		if t.Level == 0 {
			continue // computed from its bundle when read
		}
		if err := tx.Bucket(bucketLogTiles).Put(tileKey(t.Level, t.Index), t.Data); err != nil {
			return err
		}
	}
	le := tx.Bucket(bucketLogEvents)
	for i, it := range items {
		if err := le.Put(u64(size+uint64(i)), it.Hash[:]); err != nil {
			return err
		}
	}
	return tx.Bucket(bucketLogMeta).Put([]byte("size"), u64(size+uint64(len(items))))
}

// LogSize returns the number of entries committed to the log.
func (db *DB) LogSize() (uint64, error) {
	var n uint64
	err := db.bolt.View(func(tx *bolt.Tx) error { n = logSize(tx); return nil })
	return n, err
}

// boltView is the bbolt store's LogView: a read transaction.
type boltView struct {
	tx   *bolt.Tx
	size uint64
	tail *logTail
}

// Size returns the number of entries of the log as the view sees it.
func (v *boltView) Size() uint64 { return v.size }

// ReadTile returns the latest stored bytes of a hash tile (tlog.TileReader).
func (v *boltView) ReadTile(level int, index uint64) ([]byte, error) {
	return txTiles{v.tx}.ReadTile(level, index)
}

// ReadBundle returns the latest stored bytes of an entry bundle (tlog.BundleReader).
func (v *boltView) ReadBundle(index uint64) ([]byte, error) {
	return txTiles{v.tx}.ReadBundle(index)
}

// EventIndex returns the log index of an event (kept in its record).
func (v *boltView) EventIndex(h trace.Hash) (uint64, bool) {
	return v.tail.lookupEvent(v.tx, h)
}

// EventAt returns the hash of the event at a log index.
func (v *boltView) EventAt(index uint64) (trace.Hash, bool) {
	var h trace.Hash
	b := v.tx.Bucket(bucketLogEvents).Get(u64(index))
	if len(b) != 32 {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

// Checkpoint returns the stored signed checkpoint of a size, or nil.
func (v *boltView) Checkpoint(size uint64) []byte {
	return bytes.Clone(v.tx.Bucket(bucketCheckpoints).Get(u64(size)))
}

// LatestCheckpoint returns the size and note of the newest stored
// checkpoint (0 and nil when none is stored yet).
func (v *boltView) LatestCheckpoint() (uint64, []byte) {
	k, val := v.tx.Bucket(bucketCheckpoints).Cursor().Last()
	if k == nil {
		return 0, nil
	}
	return binary.BigEndian.Uint64(k), bytes.Clone(val)
}

// ViewLog runs f with a consistent view of the log.
func (db *DB) ViewLog(f func(v LogView) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		return f(&boltView{tx: tx, size: logSize(tx), tail: db.tail})
	})
}

// Checkpointer signs checkpoints of the committed log.
type Checkpointer func(size uint64, root tlog.Hash) (note []byte, err error)

// CheckpointLog signs a checkpoint of everything committed so far, unless
// the newest stored checkpoint already covers it, stores it and returns
// the newest checkpoint's size and note. It runs in a write transaction, so
// the root it signs is of entries already durable, and no two checkpoints
// can be signed for one size.
//
// A new checkpoint is written to the published-checkpoint file, and synced,
// before its transaction commits, so no one can be served a checkpoint
// larger than the file records. Before signing, the log is compared with
// that file again: a log behind it or at odds with it makes the store
// read-only instead (the error wraps ErrReadOnly).
func (db *DB) CheckpointLog(sign Checkpointer) (uint64, []byte, error) {
	if err := db.writable(); err != nil {
		return 0, nil, fmt.Errorf("store: checkpoint: %w", err)
	}
	var size uint64
	var note []byte
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		v := &boltView{tx: tx, size: logSize(tx), tail: db.tail}
		db.pubMu.Lock()
		pub := db.pub
		db.pubMu.Unlock()
		if pub != nil {
			if problem := ComparePublished(theDataFile, v, pub, inPublishedFile); problem != nil {
				db.SetReadOnly(problem)
				return problem
			}
		}
		last, lastNote := v.LatestCheckpoint()
		if lastNote != nil && last >= v.size {
			size, note = last, lastNote
			return nil
		}
		root, err := tlog.RootAt(v, v.size)
		if err != nil {
			return err
		}
		note, err = sign(v.size, root)
		if err != nil {
			return err
		}
		size = v.size
		next, err := PublishedFromNote(note)
		if err != nil {
			return fmt.Errorf("the signed checkpoint: %w", err)
		}
		if next.Size != size || next.Root != root {
			return fmt.Errorf("the signer signed size %d, root %s instead of size %d, root %s", next.Size, next.Root, size, root)
		}
		if pub == nil || size > pub.Size {
			if pub != nil {
				next.CosignedSize, next.Cosigned = pub.CosignedSize, pub.Cosigned
			}
			if err := writePublished(db.pubPath, next); err != nil {
				return err
			}
			db.pubMu.Lock()
			db.pub = next
			db.pubMu.Unlock()
		}
		return tx.Bucket(bucketCheckpoints).Put(u64(size), note)
	})
	if err != nil {
		return 0, nil, fmt.Errorf("store: checkpoint: %w", err)
	}
	db.changed()
	return size, note, nil
}

// UpdateCheckpoint replaces the stored note of a size with one that has the
// same checkpoint text (for example with witness cosignatures added). The
// newest such note is also kept in the published-checkpoint file.
func (db *DB) UpdateCheckpoint(size uint64, note []byte) error {
	defer db.changed()
	return db.bolt.Update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCheckpoints)
		old := b.Get(u64(size))
		if old == nil {
			return fmt.Errorf("store: no checkpoint of size %d", size)
		}
		oldNote, err := tlog.ParseNote(old)
		if err != nil {
			return err
		}
		newNote, err := tlog.ParseNote(note)
		if err != nil {
			return err
		}
		if oldNote.Text != newNote.Text {
			return ErrCheckpointConflict
		}
		db.pubMu.Lock()
		pub := db.pub
		db.pubMu.Unlock()
		if pub != nil && size >= pub.CosignedSize && size <= pub.Size && len(newNote.Sigs) > len(oldNote.Sigs) {
			next := *pub
			next.CosignedSize, next.Cosigned = size, string(note)
			if err := writePublished(db.pubPath, &next); err != nil {
				return err
			}
			db.pubMu.Lock()
			db.pub = &next
			db.pubMu.Unlock()
		}
		return b.Put(u64(size), note)
	})
}

// Head returns a batch's length and head hash as this view sees them.
func (v *boltView) Head(batchID string) (uint64, trace.Hash, error) {
	if v.tx.Bucket(bucketBatches).Get([]byte(batchID)) == nil {
		return 0, trace.Hash{}, fmt.Errorf("batch %s: %w", batchID, trace.ErrNotFound)
	}
	n, h := chainView{v.tx, v.tail}.head(batchID)
	return n, h, nil
}
