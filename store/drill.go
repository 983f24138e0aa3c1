package store

import (
	"encoding/json"
	"fmt"

	bolt "go.etcd.io/bbolt"
)

// AlterEvent rewrites the stored bytes of one event in a closed data file,
// as an attacker with access to the disk could, without re-signing
// anything. It exists for tamper drills and tests that show readers and
// verifiers catch such a change; the service never calls it. edit gets the
// event's canonical bytes and returns the new ones.
func AlterEvent(path, batchID string, seq uint64, edit func(body []byte) []byte) error {
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return fmt.Errorf("store: alter event: %w", err)
	}
	defer b.Close()
	return b.Update(func(tx *bolt.Tx) error {
		bucket := tx.Bucket(bucketEvents)
		key := eventKey(batchID, seq)
		v := bucket.Get(key)
		if v == nil {
			return fmt.Errorf("store: alter event: batch %s has no event %d", batchID, seq)
		}
		st, err := decodeRecord(v)
		if err != nil {
			return err
		}
		st.Body = edit(st.Body)
		return bucket.Put(key, encodeRecord(st))
	})
}

// AlterRecord edits the stored working copy of a cooperative, a product or
// a batch (kind "cooperative", "product" or "batch") in a closed data file,
// as someone with access to the disk could, without signing anything. It
// exists for tamper drills and tests; the service never calls it.
func AlterRecord(path, kind, id string, edit func(fields map[string]any)) error {
	buckets := map[string][]byte{"cooperative": bucketCoops, "product": bucketProducts, "batch": bucketBatches}
	name, ok := buckets[kind]
	if !ok {
		return fmt.Errorf("store: alter record: unknown kind %q", kind)
	}
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return fmt.Errorf("store: alter record: %w", err)
	}
	defer b.Close()
	return b.Update(func(tx *bolt.Tx) error {
		bucket := tx.Bucket(name)
		v := bucket.Get([]byte(id))
		if v == nil {
			return fmt.Errorf("store: alter record: no %s %s", kind, id)
		}
		var fields map[string]any
		if err := json.Unmarshal(v, &fields); err != nil {
			return err
		}
		edit(fields)
		raw, err := json.Marshal(fields)
		if err != nil {
			return err
		}
		return bucket.Put([]byte(id), raw)
	})
}
