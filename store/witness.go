package store

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace/tlog"
)

// WitnessDB is a witness's durable state: per log origin, the tree head it
// last cosigned and that checkpoint. It is a bbolt file of its own, apart
// from any log's data:
//
//	witnessed  origin → uint64 size ‖ root[32] ‖ signed checkpoint note
type WitnessDB struct {
	bolt *bolt.DB
}

var bucketWitnessed = []byte("witnessed")

// OpenWitnessDB opens or creates a witness's state file.
func OpenWitnessDB(path string) (*WitnessDB, error) {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: 5 * time.Second})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("store: open %s: the file is locked by another process", path)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	if err := b.Update(func(tx *bolt.Tx) error {
		_, err := tx.CreateBucketIfNotExists(bucketWitnessed)
		return err
	}); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return &WitnessDB{bolt: b}, nil
}

// Close closes the file.
func (w *WitnessDB) Close() error { return w.bolt.Close() }

func readWitnessed(tx *bolt.Tx, origin string) (tlog.TreeHead, []byte, bool) {
	v := tx.Bucket(bucketWitnessed).Get([]byte(origin))
	if len(v) < 8+tlog.HashSize {
		return tlog.TreeHead{}, nil, false
	}
	var h tlog.TreeHead
	h.Size = binary.BigEndian.Uint64(v)
	copy(h.Root[:], v[8:8+tlog.HashSize])
	return h, bytes.Clone(v[8+tlog.HashSize:]), true
}

// AddCheckpoint handles one add-checkpoint request body with w, as one
// atomic step: it reads the latest cosigned tree head of the checkpoint's
// origin, lets w decide, and, if w cosigns, stores the new head (synced to
// disk) before returning. Rejections are *tlog.WitnessError and change
// nothing.
func (db *WitnessDB) AddCheckpoint(w *tlog.Witness, body []byte) (*tlog.Cosigned, error) {
	var res *tlog.Cosigned
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		latest := func(origin string) (tlog.TreeHead, bool, error) {
			h, _, ok := readWitnessed(tx, origin)
			return h, ok, nil
		}
		var err error
		if res, err = w.AddCheckpoint(body, latest); err != nil {
			return err
		}
		v := binary.BigEndian.AppendUint64(nil, res.Checkpoint.Size)
		v = append(v, res.Checkpoint.Root[:]...)
		v = append(v, res.Note...)
		return tx.Bucket(bucketWitnessed).Put([]byte(res.Checkpoint.Origin), v)
	})
	if err != nil {
		return nil, err
	}
	return res, nil
}

// Latest returns the tree head last cosigned for origin and the checkpoint
// note it was submitted as (ok false if none).
func (db *WitnessDB) Latest(origin string) (head tlog.TreeHead, note []byte, ok bool, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		head, note, ok = readWitnessed(tx, origin)
		return nil
	})
	return head, note, ok, err
}
