package store

import (
	"context"
	"encoding/json"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// boltBackend gives the Engine the bbolt file: its reads of the committed
// state, each in a read transaction, and the sequencer (submit).
type boltBackend struct{ db *DB }

var _ Backend = boltBackend{}

func (b boltBackend) LoadHead(batchID string) LoadedHead {
	return loadHead(b.db.bolt, b.db.tail, batchID)
}

func (b boltBackend) EventBatch(h trace.Hash) (batch, differs string, err error) {
	err = b.db.bolt.View(func(tx *bolt.Tx) error {
		batch, differs = checkedEventKey(tx, b.db.tail, h)
		return nil
	})
	return batch, differs, err
}

func (b boltBackend) NewestRecord(kind trace.RecordKind, id string) (*StoredRecord, error) {
	var sr *StoredRecord
	err := b.db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		sr, err = latestRecordTx(tx, kind, id)
		return err
	})
	return sr, err
}

func (b boltBackend) ReadLotBalance(batchID string) (*trace.LotBalance, *Damage, error) {
	var lb *trace.LotBalance
	var dmg *Damage
	err := b.db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		lb, dmg, err = ComputeLotBalance(boltChains{tx, b.db.tail}, batchID)
		return err
	})
	return lb, dmg, err
}

var entityBuckets = map[Entity][]byte{EntityCooperative: bucketCoops, EntityProduct: bucketProducts, EntityBatch: bucketBatches}

func (b boltBackend) Exists(kind Entity, id string) (bool, error) {
	return b.db.exists(entityBuckets[kind], id), nil
}

func (b boltBackend) GTINOwner(gtin string) (string, error) {
	owner := ""
	err := b.db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketProducts).ForEach(func(k, v []byte) error {
			var p trace.Product
			if err := json.Unmarshal(v, &p); err != nil {
				return err
			}
			if p.GTIN == gtin && owner == "" {
				owner = p.ID
			}
			return nil
		})
	})
	return owner, err
}

func (b boltBackend) Product(id string) (*trace.Product, error) { return b.db.Product(id) }

func (b boltBackend) LotOwner(lk string) (batchID, differs string, err error) {
	err = b.db.bolt.View(func(tx *bolt.Tx) error {
		if other := tx.Bucket(bucketLots).Get([]byte(lk)); other != nil {
			batchID = string(other)
			differs = checkedLot(tx, lk, batchID)
		}
		return nil
	})
	return batchID, differs, err
}

func (b boltBackend) Cooperative(id string) (*trace.Cooperative, error) { return b.db.Cooperative(id) }

func (b boltBackend) Batch(id string) (*trace.Batch, error) { return b.db.Batch(id) }

func (b boltBackend) AddCooperativeKey(id string, pub []byte, first bool) (*trace.Cooperative, bool, error) {
	return b.db.AddCooperativeKey(id, pub, first)
}

// Submit queues a request for the sequencer. The head of the batch it
// builds on is read here, by the caller, when the sequencer does not hold
// it yet (headHint).
func (b boltBackend) Submit(ctx context.Context, batch string, prepare Prepare) (any, error) {
	if batch != "" {
		return b.db.submitHinted(ctx, b.db.headHint(batch), prepare)
	}
	return b.db.submit(ctx, prepare)
}

// boltSink writes a group's plans in its transaction.
type boltSink struct{ tx *bolt.Tx }

func (s boltSink) PutCooperative(c *trace.Cooperative) error {
	return putJSON(s.tx.Bucket(bucketCoops), c.ID, c)
}

func (s boltSink) UpdateCooperativeProfile(c *trace.Cooperative) error {
	var stored trace.Cooperative
	if err := getJSON(s.tx.Bucket(bucketCoops), c.ID, "cooperative", &stored); err != nil {
		return err
	}
	stored.Name, stored.Province, stored.GLN, stored.Profile = c.Name, c.Province, c.GLN, c.Profile
	return putJSON(s.tx.Bucket(bucketCoops), c.ID, &stored)
}

func (s boltSink) PutProduct(p *trace.Product) error {
	return putJSON(s.tx.Bucket(bucketProducts), p.ID, p)
}

func (s boltSink) PutBatch(bt *trace.Batch, lk string) error {
	if err := s.tx.Bucket(bucketLots).Put([]byte(lk), []byte(bt.ID)); err != nil {
		return err
	}
	return putJSON(s.tx.Bucket(bucketBatches), bt.ID, bt)
}

func (s boltSink) PutEvent(st *StoredEvent) error { return writeEvent(s.tx, st) }

func (s boltSink) PutRecord(sr *StoredRecord) error { return writeRecord(s.tx, sr) }

func (s boltSink) IndexEntry(coop string, kind trace.RecordKind, id string) error {
	return s.tx.Bucket(bucketRegistryIndex).Put(registryIndexKey(coop, kind, id), nil)
}
