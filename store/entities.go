package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// CreateCooperative stores a new cooperative. An empty ID is filled with
// one derived from the name; CreatedAt is set to now.
func (db *DB) CreateCooperative(c *trace.Cooperative) error {
	c.CreatedAt = db.opts.Now().UTC()
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCoops)
		if c.ID == "" {
			c.ID = uniqueID(b, slugID(c.Name, 24))
		}
		if err := c.Validate(); err != nil {
			return err
		}
		if why := reservedCoopID(c.ID); why != "" {
			return &trace.FieldError{Field: "id", Reason: why}
		}
		if b.Get([]byte(c.ID)) != nil {
			return fmt.Errorf("cooperative %s already exists: %w", c.ID, trace.ErrConflict)
		}
		return putJSON(b, c.ID, c)
	})
}

// UpdateCooperative replaces a stored cooperative (for example to add a key).
func (db *DB) UpdateCooperative(c *trace.Cooperative) error {
	if err := c.Validate(); err != nil {
		return err
	}
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketCoops)
		if b.Get([]byte(c.ID)) == nil {
			return fmt.Errorf("cooperative %s: %w", c.ID, trace.ErrNotFound)
		}
		return putJSON(b, c.ID, c)
	})
}

// Cooperative returns one cooperative.
func (db *DB) Cooperative(id string) (*trace.Cooperative, error) {
	var c trace.Cooperative
	return &c, db.get(bucketCoops, id, "cooperative", &c)
}

// Cooperatives returns every cooperative, ordered by id.
func (db *DB) Cooperatives() ([]*trace.Cooperative, error) {
	var out []*trace.Cooperative
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketCoops).ForEach(func(k, v []byte) error {
			var c trace.Cooperative
			if err := json.Unmarshal(v, &c); err != nil {
				return fmt.Errorf("cooperative %s: %w", k, err)
			}
			out = append(out, &c)
			return nil
		})
	})
	return out, err
}

// CreateProduct stores a new product of an existing cooperative. A GTIN
// must be unique across products.
func (db *DB) CreateProduct(p *trace.Product) error {
	p.CreatedAt = db.opts.Now().UTC()
	return db.update(func(tx *bolt.Tx) error {
		b := tx.Bucket(bucketProducts)
		if p.ID == "" {
			p.ID = uniqueID(b, slugID(p.NameVI, 24))
		}
		if err := p.Validate(); err != nil {
			return err
		}
		if tx.Bucket(bucketCoops).Get([]byte(p.CooperativeID)) == nil {
			return fmt.Errorf("cooperative %s: %w", p.CooperativeID, trace.ErrNotFound)
		}
		if b.Get([]byte(p.ID)) != nil {
			return fmt.Errorf("product %s already exists: %w", p.ID, trace.ErrConflict)
		}
		if p.GTIN != "" {
			err := b.ForEach(func(k, v []byte) error {
				var other trace.Product
				if err := json.Unmarshal(v, &other); err != nil {
					return err
				}
				if other.GTIN == p.GTIN {
					return fmt.Errorf("GTIN %s is already used by product %s: %w", p.GTIN, other.ID, trace.ErrConflict)
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return putJSON(b, p.ID, p)
	})
}

// Product returns one product.
func (db *DB) Product(id string) (*trace.Product, error) {
	var p trace.Product
	return &p, db.get(bucketProducts, id, "product", &p)
}

// Products returns the products of a cooperative (all products when
// cooperativeID is empty), ordered by id.
func (db *DB) Products(cooperativeID string) ([]*trace.Product, error) {
	var out []*trace.Product
	err := db.bolt.View(func(tx *bolt.Tx) error {
		return tx.Bucket(bucketProducts).ForEach(func(k, v []byte) error {
			var p trace.Product
			if err := json.Unmarshal(v, &p); err != nil {
				return fmt.Errorf("product %s: %w", k, err)
			}
			if cooperativeID == "" || p.CooperativeID == cooperativeID {
				out = append(out, &p)
			}
			return nil
		})
	})
	return out, err
}

// lotKey is the unique key of a batch's lot: by GTIN when the product has
// one (so a Digital Link finds it), else within the cooperative's product.
func lotKey(p *trace.Product, lot string) []byte {
	if p.GTIN != "" {
		return []byte(p.GTIN + "/" + lot)
	}
	return []byte("~" + p.CooperativeID + "/" + p.ID + "/" + lot)
}

// CreateBatch stores a new batch of an existing product of the same
// cooperative; its lot must be new for that product. It goes through the
// group committer, like every write that changes chains or lots.
func (db *DB) CreateBatch(bt *trace.Batch) error {
	_, err := db.Apply(context.Background(), Change{NewBatches: []*trace.Batch{bt}})
	if err != nil {
		var fe *trace.FieldError
		var ve *trace.ValidationError
		if errors.As(err, &ve) || errors.As(err, &fe) {
			// Name the batch's own fields, not its place in the change.
			return trace.TrimFieldPrefix("batches[0].", err)
		}
	}
	return err
}

// Batch returns one batch.
func (db *DB) Batch(id string) (*trace.Batch, error) {
	var bt trace.Batch
	return &bt, db.get(bucketBatches, id, "batch", &bt)
}

// BatchByLot finds the batch of a GTIN-14 and lot, as a Digital Link names it.
func (db *DB) BatchByLot(gtin14, lot string) (*trace.Batch, error) {
	var bt trace.Batch
	err := db.bolt.View(func(tx *bolt.Tx) error {
		id := tx.Bucket(bucketLots).Get([]byte(gtin14 + "/" + lot))
		if id == nil {
			return fmt.Errorf("lot %s of GTIN %s: %w", lot, gtin14, trace.ErrNotFound)
		}
		return getJSON(tx.Bucket(bucketBatches), string(id), "batch", &bt)
	})
	return &bt, err
}

// BatchPage is one page of a batch listing.
type BatchPage struct {
	Batches []*trace.Batch
	Next    string // id to pass as after for the next page; empty at the end
}

// Batches lists batches by id, those of one cooperative when cooperativeID
// is not empty, starting after the id after, at most limit of them.
func (db *DB) Batches(cooperativeID, after string, limit int) (*BatchPage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	page := &BatchPage{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketBatches).Cursor()
		var k, v []byte
		if after == "" {
			k, v = c.First()
		} else {
			k, v = c.Seek([]byte(after))
			if k != nil && string(k) == after {
				k, v = c.Next()
			}
		}
		for ; k != nil; k, v = c.Next() {
			var bt trace.Batch
			if err := json.Unmarshal(v, &bt); err != nil {
				return fmt.Errorf("batch %s: %w", k, err)
			}
			if cooperativeID != "" && bt.CooperativeID != cooperativeID {
				continue
			}
			if len(page.Batches) == limit {
				page.Next = page.Batches[limit-1].ID
				return nil
			}
			page.Batches = append(page.Batches, &bt)
		}
		return nil
	})
	return page, err
}

func (db *DB) get(bucket []byte, id, what string, v any) error {
	return db.bolt.View(func(tx *bolt.Tx) error { return getJSON(tx.Bucket(bucket), id, what, v) })
}

func getJSON(b *bolt.Bucket, id, what string, v any) error {
	raw := b.Get([]byte(id))
	if raw == nil {
		return fmt.Errorf("%s %s: %w", what, id, trace.ErrNotFound)
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%s %s: stored record is damaged: %w", what, id, err)
	}
	return nil
}

func putJSON(b *bolt.Bucket, id string, v any) error {
	raw, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return b.Put([]byte(id), raw)
}

// uniqueID returns base, or base with a numeric suffix, that is not yet a
// key of b. An empty base becomes a random id.
func uniqueID(b *bolt.Bucket, base string) string {
	if base == "" {
		base = NewID()
	}
	id := base
	for i := 2; b.Get([]byte(id)) != nil; i++ {
		id = fmt.Sprintf("%s-%d", base, i)
	}
	return id
}
