package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// A file of schema version 1 kept events under their batch and number:
//
//	heads       batch id → uint64 length ‖ head hash
//	events      batch id ‖ 0x00 ‖ uint64 seq → event record (version 2,
//	            with its signer's key and its log index)
//	eventhash   event hash → events key
//
// Open converts such a file in place to version 2 (see layout.go) before
// anything else reads it, in transactions of at most migrateStep entries.
// Each transaction records how far the conversion got ("migrate" in meta)
// with what it wrote, so a conversion cut short (a crash, kill -9, a full
// disk) goes on from there the next time the file is opened; the old
// buckets are deleted, and the schema version set to 2, in the last one.
// Nothing signed changes: an event's bytes, signature, signer, key id,
// receive time and log index are carried over as they are, and the log's
// buckets (entries, bundles, checkpoints, tiles of levels 1 and up) are
// not touched; tiles of level 0, computed from their bundles in version
// 2, are deleted.
var (
	legacyHeads     = []byte("heads")
	legacyEvents    = []byte("events")
	legacyEventHash = []byte("eventhash")
)

// migrateStep is the most entries one transaction of the conversion
// writes.
var migrateStep = 5000

// migrated is called after each transaction of a conversion commits, with
// the progress it recorded; an error stops the conversion there, as a
// crash would (for tests).
var migrated func(progress []byte) error

// The conversion's phases, the first byte of meta "migrate"; the rest is
// where the phase got to.
const (
	phaseEvents  = 'e' // the log's entries in order: event records and chains; then a uint64 index
	phaseHashes  = 'h' // the event-hash index in hash order; then the last hash done
	phaseHeads   = 'd' // the heads in batch order; then the last batch done
	phaseTiles   = 't' // the stored hash tiles of level 0 deleted (computed from their bundles)
	phaseCleanup = 'c' // the old buckets deleted, the version set
)

var keyMigrate = []byte("migrate")

// migrateLayout converts a file of schema version 1 to version 2, going
// on from where an earlier conversion stopped. log gets a line per phase.
func migrateLayout(b *bolt.DB, log *slog.Logger) error {
	for {
		var phase byte
		var at []byte
		if err := b.View(func(tx *bolt.Tx) error {
			v := tx.Bucket(bucketMeta).Get(keyMigrate)
			if len(v) > 0 {
				phase, at = v[0], bytes.Clone(v[1:])
			}
			return nil
		}); err != nil {
			return err
		}
		if phase == 0 {
			phase = phaseEvents
			log.Info("store: converting the data file to schema version 2 (events kept by their log index)", "file", b.Path())
		}
		var done bool
		var progress []byte
		err := b.Update(func(tx *bolt.Tx) error {
			var next []byte
			var err error
			switch phase {
			case phaseEvents:
				next, err = migrateEvents(tx, at)
			case phaseHashes:
				next, err = migrateHashes(tx, at)
			case phaseHeads:
				next, err = migrateHeads(tx, at)
			case phaseTiles:
				next, err = migrateTiles(tx)
			case phaseCleanup:
				done = true
				return migrateCleanup(tx)
			default:
				return fmt.Errorf("the conversion's progress record names phase %q, which this truyxuat does not know", phase)
			}
			if err != nil {
				return err
			}
			if next == nil {
				// The phase is done: the next one starts.
				switch phase {
				case phaseEvents:
					next = []byte{phaseHashes}
				case phaseHashes:
					next = []byte{phaseHeads}
				case phaseHeads:
					next = []byte{phaseTiles}
				case phaseTiles:
					next = []byte{phaseCleanup}
				}
			} else {
				next = append([]byte{phase}, next...)
			}
			progress = next
			return tx.Bucket(bucketMeta).Put(keyMigrate, next)
		})
		if err == nil && migrated != nil {
			err = migrated(progress)
		}
		if err != nil {
			return fmt.Errorf("converting the data file to schema version 2 (it goes on from where it stopped when truyxuat opens the file again; if this repeats, put back a backup with truyxuat restore): %w", err)
		}
		if done {
			log.Info("store: the data file is converted to schema version 2", "file", b.Path())
			return nil
		}
	}
}

// migrateEvents converts up to migrateStep log entries from index at on:
// each event's record is rewritten under its log index and added to its
// batch's chain. It returns the next index, or nil when the log is done.
func migrateEvents(tx *bolt.Tx, at []byte) ([]byte, error) {
	var from uint64
	if len(at) == 8 {
		from = binary.BigEndian.Uint64(at)
	}
	size := logSize(tx)
	old, oldHash := tx.Bucket(legacyEvents), tx.Bucket(legacyEventHash)
	if old == nil || oldHash == nil {
		return nil, errors.New("the file has schema version 1 but no events or eventhash bucket")
	}
	entries, events := tx.Bucket(bucketLogEvents), tx.Bucket(bucketEvents)
	// Keyed by log index, written in order: pages split full.
	events.FillPercent = 1
	i := from
	for ; i < size && i < from+uint64(migrateStep); i++ {
		h := entries.Get(u64(i))
		if len(h) != 32 {
			return nil, fmt.Errorf("log entry %d names no hash", i)
		}
		key := oldHash.Get(h)
		if key == nil {
			continue // a registry record's entry
		}
		v := old.Get(key)
		if v == nil {
			return nil, fmt.Errorf("log entry %d: the event-hash index leads to event record %x, which is not stored", i, key)
		}
		p, err := decodeParts(v)
		if err != nil {
			return nil, fmt.Errorf("event record %x: %w", key, err)
		}
		if p.logIndex != i {
			return nil, fmt.Errorf("event record %x names log index %d, but it is log entry %d", key, p.logIndex, i)
		}
		if len(key) < 9 {
			return nil, fmt.Errorf("event record key %x is malformed", key)
		}
		batch, seq := string(key[:len(key)-9]), binary.BigEndian.Uint64(key[len(key)-8:])
		st := &StoredEvent{SignedEvent: &trace.SignedEvent{Body: p.body, Signature: p.sig, Signer: p.signer},
			KeyID: p.keyID, ReceivedAt: p.receivedAt, LogIndex: i}
		rec, err := encodeRecord(tx, st)
		if err != nil {
			return nil, err
		}
		if err := events.Put(u64(i), rec); err != nil {
			return nil, err
		}
		if err := appendChain(tx, batch, seq, i); err != nil {
			return nil, fmt.Errorf("event record %x: %w", key, err)
		}
	}
	if i >= size {
		return nil, nil
	}
	return u64(i), nil
}

// migrateHashes files up to migrateStep entries of the old event-hash
// index, in hash order, under their events' log indexes. It returns the
// last hash done, or nil when the index is done.
func migrateHashes(tx *bolt.Tx, at []byte) ([]byte, error) {
	old, c := tx.Bucket(legacyEvents), tx.Bucket(legacyEventHash).Cursor()
	if at == nil {
		// Every stored event must have been a log entry. (Stats counts
		// committed pages: the events phase is committed by now.)
		if n, m := old.Stats().KeyN, tx.Bucket(bucketEvents).Stats().KeyN; n != m {
			return nil, fmt.Errorf("%d event records are stored, but only %d of them are entries of the log", n, m)
		}
	}
	k, v := c.First()
	if at != nil {
		if k, v = c.Seek(at); k != nil && bytes.Equal(k, at) {
			k, v = c.Next()
		}
	}
	var last []byte
	for n := 0; k != nil && n < migrateStep; k, v = c.Next() {
		rec := old.Get(v)
		if rec == nil {
			return nil, fmt.Errorf("the event-hash index leads %x to event record %x, which is not stored", k, v)
		}
		p, err := decodeParts(rec)
		if err != nil {
			return nil, fmt.Errorf("event record %x: %w", v, err)
		}
		if err := tx.Bucket(bucketEventHash).Put(k, u64(p.logIndex)); err != nil {
			return nil, err
		}
		last = bytes.Clone(k)
		n++
	}
	if k == nil {
		return nil, nil
	}
	return last, nil
}

// migrateHeads copies up to migrateStep heads, as they are, beside their
// batches' chains. It returns the last batch done, or nil when all are.
func migrateHeads(tx *bolt.Tx, at []byte) ([]byte, error) {
	c := tx.Bucket(legacyHeads).Cursor()
	k, v := c.First()
	if at != nil {
		if k, v = c.Seek(at); k != nil && bytes.Equal(k, at) {
			k, v = c.Next()
		}
	}
	var last []byte
	for n := 0; k != nil && n < migrateStep; k, v = c.Next() {
		if err := tx.Bucket(bucketChains).Put(k, bytes.Clone(v)); err != nil {
			return nil, err
		}
		last = bytes.Clone(k)
		n++
	}
	if k == nil {
		return nil, nil
	}
	return last, nil
}

// migrateTiles deletes up to migrateStep stored hash tiles of level 0,
// which version 2 computes from their bundles. It returns nil when none
// is left, else where it stopped.
func migrateTiles(tx *bolt.Tx) ([]byte, error) {
	b := tx.Bucket(bucketLogTiles)
	var keys [][]byte
	c := b.Cursor()
	for k, _ := c.Seek([]byte{0}); k != nil && k[0] == 0 && len(keys) < migrateStep; k, _ = c.Next() {
		keys = append(keys, bytes.Clone(k))
	}
	for _, k := range keys {
		if err := b.Delete(k); err != nil {
			return nil, err
		}
	}
	if len(keys) < migrateStep {
		return nil, nil
	}
	return keys[len(keys)-1], nil
}

// migrateCleanup deletes the old buckets and sets the schema version.
func migrateCleanup(tx *bolt.Tx) error {
	for _, name := range [][]byte{legacyEvents, legacyEventHash, legacyHeads} {
		if err := tx.DeleteBucket(name); err != nil && !errors.Is(err, bolt.ErrBucketNotFound) {
			return err
		}
	}
	meta := tx.Bucket(bucketMeta)
	if err := meta.Delete(keyMigrate); err != nil {
		return err
	}
	// Every event is in its chain and the event-hash index: the tail
	// starts at the end of the log.
	if err := meta.Put(keyMerged, u64(logSize(tx))); err != nil {
		return err
	}
	return meta.Put([]byte("schema"), []byte(schemaVersion))
}

// upgradedCopy returns a file of the current schema version with what the
// closed file at path holds: path itself when it has that version, else a
// converted copy beside it, which done removes.
func upgradedCopy(path string) (string, func(), error) {
	b, err := openReadOnly(path)
	if err != nil {
		return "", nil, err
	}
	var version string
	b.View(func(tx *bolt.Tx) error {
		if meta := tx.Bucket(bucketMeta); meta != nil {
			version = string(meta.Get([]byte("schema")))
		}
		return nil
	})
	b.Close()
	if version != "1" {
		return path, func() {}, nil
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*.converting")
	if err != nil {
		return "", nil, fmt.Errorf("store: %w", err)
	}
	done := func() { os.Remove(tmp.Name()) }
	in, err := os.Open(path)
	if err == nil {
		_, err = io.Copy(tmp, in)
		in.Close()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = convertFile(tmp.Name())
	}
	if err != nil {
		done()
		return "", nil, fmt.Errorf("store: converting a copy of %s to schema version %s: %w", path, schemaVersion, err)
	}
	return tmp.Name(), done, nil
}

// convertFile converts the closed file at path to the current schema
// version, creating the buckets that version adds.
func convertFile(path string) error {
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return err
	}
	defer b.Close()
	if err := b.Update(createBuckets); err != nil {
		return err
	}
	return migrateLayout(b, slog.New(slog.NewTextHandler(io.Discard, nil)))
}

// createBuckets creates every bucket the current version has.
func createBuckets(tx *bolt.Tx) error {
	for _, name := range allBuckets {
		if _, err := tx.CreateBucketIfNotExists(name); err != nil {
			return err
		}
	}
	return nil
}
