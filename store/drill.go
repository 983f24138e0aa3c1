package store

import (
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
