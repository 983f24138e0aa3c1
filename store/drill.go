package store

import (
	"bytes"
	"encoding/json"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
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
		index, ok := chainView{tx, loadTail(tx)}.index(batchID, seq)
		if !ok {
			return fmt.Errorf("store: alter event: batch %s has no event %d", batchID, seq)
		}
		st, err := eventAt(tx, index)
		if err != nil {
			return err
		}
		if st == nil {
			return fmt.Errorf("store: alter event: no event is stored at log index %d", index)
		}
		st.Body = edit(st.Body)
		rec, err := encodeRecord(tx, st)
		if err != nil {
			return err
		}
		return tx.Bucket(bucketEvents).Put(u64(index), rec)
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

// AlterHead rewrites the stored head record of a batch (its length and
// last hash) in a closed data file, for drills and tests that show a
// damaged head is caught before anything is signed on top of it; the
// service never calls it. edit gets the record's bytes (nil when there is
// none) and returns the new ones; nil deletes the record.
func AlterHead(path, batchID string, edit func(head []byte) []byte) error {
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return fmt.Errorf("store: alter head: %w", err)
	}
	defer b.Close()
	return b.Update(func(tx *bolt.Tx) error {
		bucket := tx.Bucket(bucketChains)
		v := edit(bytes.Clone(bucket.Get([]byte(batchID))))
		if v == nil {
			return bucket.Delete([]byte(batchID))
		}
		return bucket.Put([]byte(batchID), v)
	})
}

// PlantEvents writes batches and signed events into a closed data file as
// the committer would (records, indexes, heads, transparency log), but
// without the sequencer's checks: as records written before a check
// existed, or around it. It exists for drills and tests that show
// inspectors' checks find such records; the service never calls it.
// Each event must extend its batch's chain.
func PlantEvents(path string, batches []*trace.Batch, events []*trace.SignedEvent) error {
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		return fmt.Errorf("store: plant events: %w", err)
	}
	defer b.Close()
	return b.Update(func(tx *bolt.Tx) error {
		now := time.Now().UTC()
		for _, bt := range batches {
			var p trace.Product
			if err := getJSON(tx.Bucket(bucketProducts), bt.ProductID, "product", &p); err != nil {
				return err
			}
			bt.CreatedAt = now
			if err := tx.Bucket(bucketLots).Put(lotKey(&p, bt.Lot), []byte(bt.ID)); err != nil {
				return err
			}
			if err := putJSON(tx.Bucket(bucketBatches), bt.ID, bt); err != nil {
				return err
			}
		}
		tail := loadTail(tx)
		for _, se := range events {
			if n, h := (chainView{tx, tail}).head(se.Event.Batch); se.Event.Seq != n || se.Event.Prev != h {
				return fmt.Errorf("store: plant events: event %d of batch %s does not extend its chain of %d events", se.Event.Seq, se.Event.Batch, n)
			}
			st := &StoredEvent{SignedEvent: se, ReceivedAt: now, KeyID: "planted", LogIndex: logSize(tx)}
			if err := writeEvent(tx, st); err != nil {
				return err
			}
			st.LogEntry = trace.LogEntry(se)
			if err := logAppend(tx, []LogItem{{Hash: st.Hash, Entry: st.LogEntry}}); err != nil {
				return err
			}
			tail.add(se.Event.Batch, se.Event.Seq, st.LogIndex, st.Hash)
		}
		_, err := mergeTail(tx)
		return err
	})
}
