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
// one derived from the name; CreatedAt is set to now. The store makes the
// signing key it holds for the cooperative, registers its public key
// first, and signs the cooperative's profile as its first registry record
// in the same commit.
func (en *Engine) CreateCooperative(c *trace.Cooperative) error {
	c.CreatedAt = en.opts.Now().UTC()
	if c.ID == "" {
		var err error
		if c.ID, err = en.uniqueID(EntityCooperative, slugID(c.Name, 24)); err != nil {
			return err
		}
	}
	if err := c.Validate(); err != nil {
		return err
	}
	if why := reservedCoopID(c.ID); why != "" {
		return &trace.FieldError{Field: "id", Reason: why}
	}
	signer, err := en.keys.Signer(c.ID)
	if err != nil {
		return err
	}
	keys := [][]byte{signer.PublicKey()}
	for _, k := range c.PublicKeys {
		if !trace.HasKey(keys, k) {
			keys = append(keys, k)
		}
	}
	c.PublicKeys = keys
	_, err = en.be.Submit(context.Background(), "", func(pl *Planner) (*Plan, error) {
		if taken, err := pl.exists(EntityCooperative, c.ID); err != nil {
			return nil, err
		} else if taken {
			return nil, fmt.Errorf("cooperative %s already exists: %w", c.ID, trace.ErrConflict)
		}
		sr, sign, err := en.prepareRecord(pl, trace.KindCooperative, c.ID, c.ID, trace.CooperativeRecordFields(c), signer, "")
		if err != nil {
			return nil, err
		}
		pl.ids[string(EntityCooperative)+"/"+c.ID] = true
		return &Plan{Sign: sign, Records: []*StoredRecord{sr}, Write: func(s Sink) error {
			if err := s.PutCooperative(c); err != nil {
				return err
			}
			return s.PutRecord(sr)
		}}, nil
	})
	return err
}

// UpdateCooperative changes a cooperative's profile (name, province, GLN
// and the rest of its Profile) to c's and signs the new profile as the next revision of its record; a
// profile that did not change writes nothing. Its keys are not changed
// here (see AddCooperativeKey).
func (en *Engine) UpdateCooperative(c *trace.Cooperative) error {
	return en.UpdateCooperativeBy(c, "")
}

// UpdateCooperativeBy is UpdateCooperative recording who made the change
// (an API key or workspace user id).
func (en *Engine) UpdateCooperativeBy(c *trace.Cooperative, by string) error {
	old, err := en.be.Cooperative(c.ID)
	if err != nil {
		return err
	}
	c.PublicKeys, c.CreatedAt = old.PublicKeys, old.CreatedAt
	if err := c.Validate(); err != nil {
		return err
	}
	signer, err := en.SignerFor(c.ID)
	if err != nil {
		return err
	}
	fields := trace.CooperativeRecordFields(c)
	if unchanged, err := en.recordUnchanged(trace.KindCooperative, c.ID, trace.CooperativeRecordFields(old), fields); err != nil || unchanged {
		return err
	}
	_, err = en.be.Submit(context.Background(), "", func(pl *Planner) (*Plan, error) {
		sr, sign, err := en.prepareRecord(pl, trace.KindCooperative, c.ID, c.ID, fields, signer, by)
		if err != nil {
			return nil, err
		}
		return &Plan{Sign: sign, Records: []*StoredRecord{sr}, Write: func(s Sink) error {
			if err := s.UpdateCooperativeProfile(c); err != nil {
				return err
			}
			return s.PutRecord(sr)
		}}, nil
	})
	return err
}

// recordUnchanged reports whether an update changes nothing: the new
// fields are the working copy's and its newest signed revision's.
func (en *Engine) recordUnchanged(kind trace.RecordKind, id string, old, fields map[string]string) (bool, error) {
	if f, _, _ := trace.DiffFields(old, fields); f != "" {
		return false, nil
	}
	sr, err := en.be.NewestRecord(kind, id)
	if err != nil || sr == nil {
		return false, err
	}
	f, _, _ := trace.DiffFields(sr.Record.Fields, fields)
	return f == "", nil
}

func (db *DB) exists(bucket []byte, id string) bool {
	found := false
	db.bolt.View(func(tx *bolt.Tx) error {
		found = tx.Bucket(bucket).Get([]byte(id)) != nil
		return nil
	})
	return found
}

// Cooperative returns one cooperative.
func (db *DB) Cooperative(id string) (c *trace.Cooperative, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		c, err = db.decoded.coops.get(tx.Bucket(bucketCoops), id, "cooperative")
		return err
	})
	return c, err
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

// CreateProduct stores a new product of an existing cooperative and
// signs it as the product's first registry record in the same commit. A
// GTIN must be unique across products.
func (en *Engine) CreateProduct(p *trace.Product) error {
	p.CreatedAt = en.opts.Now().UTC()
	if p.ID == "" {
		var err error
		if p.ID, err = en.uniqueID(EntityProduct, slugID(p.NameVI, 24)); err != nil {
			return err
		}
	}
	if err := p.Validate(); err != nil {
		return err
	}
	if ok, err := en.be.Exists(EntityCooperative, p.CooperativeID); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("cooperative %s: %w", p.CooperativeID, trace.ErrNotFound)
	}
	signer, err := en.SignerFor(p.CooperativeID)
	if err != nil {
		return err
	}
	_, err = en.be.Submit(context.Background(), "", func(pl *Planner) (*Plan, error) {
		if taken, err := pl.exists(EntityProduct, p.ID); err != nil {
			return nil, err
		} else if taken {
			return nil, fmt.Errorf("product %s already exists: %w", p.ID, trace.ErrConflict)
		}
		if err := pl.checkGTINFree(p); err != nil {
			return nil, err
		}
		sr, sign, err := en.prepareRecord(pl, trace.KindProduct, p.ID, p.CooperativeID, trace.ProductRecordFields(p), signer, p.CreatedBy)
		if err != nil {
			return nil, err
		}
		pl.ids[string(EntityProduct)+"/"+p.ID] = true
		if p.GTIN != "" {
			pl.gtins[p.GTIN] = p.ID
		}
		return &Plan{Sign: sign, Records: []*StoredRecord{sr}, Write: func(s Sink) error {
			if err := s.PutProduct(p); err != nil {
				return err
			}
			return s.PutRecord(sr)
		}}, nil
	})
	return err
}

// checkGTINFree refuses a GTIN that another product, stored or placed, has.
func (pl *Planner) checkGTINFree(p *trace.Product) error {
	if p.GTIN == "" {
		return nil
	}
	if other, ok := pl.gtins[p.GTIN]; ok && other != p.ID {
		return fmt.Errorf("GTIN %s is already used by product %s: %w", p.GTIN, other, trace.ErrConflict)
	}
	other, err := pl.src.GTINOwner(p.GTIN)
	if err != nil {
		return err
	}
	if other != "" && other != p.ID {
		return fmt.Errorf("GTIN %s is already used by product %s: %w", p.GTIN, other, trace.ErrConflict)
	}
	return nil
}

// UpdateProduct changes a product's names, category, OCOP rating and
// content (descriptions, photos, …) and signs them as the next revision of its record; nothing is written when
// nothing changed. Its cooperative and GTIN never change: lots are known
// by their GTIN.
func (en *Engine) UpdateProduct(p *trace.Product, by string) error {
	old, err := en.be.Product(p.ID)
	if err != nil {
		return err
	}
	if p.CooperativeID != old.CooperativeID {
		return fmt.Errorf("product %s belongs to cooperative %s: %w", p.ID, old.CooperativeID, trace.ErrForbidden)
	}
	if p.GTIN != old.GTIN {
		return &trace.FieldError{Field: "gtin", Reason: fmt.Sprintf("a product's GTIN cannot change (it is %s): labels and lots are known by it; make a new product instead", old.GTIN)}
	}
	p.CreatedAt, p.CreatedBy = old.CreatedAt, old.CreatedBy
	if err := p.Validate(); err != nil {
		return err
	}
	signer, err := en.SignerFor(p.CooperativeID)
	if err != nil {
		return err
	}
	fields := trace.ProductRecordFields(p)
	if unchanged, err := en.recordUnchanged(trace.KindProduct, p.ID, trace.ProductRecordFields(old), fields); err != nil || unchanged {
		return err
	}
	_, err = en.be.Submit(context.Background(), "", func(pl *Planner) (*Plan, error) {
		sr, sign, err := en.prepareRecord(pl, trace.KindProduct, p.ID, p.CooperativeID, fields, signer, by)
		if err != nil {
			return nil, err
		}
		return &Plan{Sign: sign, Records: []*StoredRecord{sr}, Write: func(s Sink) error {
			if err := s.PutProduct(p); err != nil {
				return err
			}
			return s.PutRecord(sr)
		}}, nil
	})
	return err
}

// Product returns one product.
func (db *DB) Product(id string) (p *trace.Product, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		p, err = db.decoded.products.get(tx.Bucket(bucketProducts), id, "product")
		return err
	})
	return p, err
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

// LotKey is the unique key of a batch's lot: by GTIN when the product has
// one (so a Digital Link finds it), else within the cooperative's product.
func LotKey(p *trace.Product, lot string) string {
	if p.GTIN != "" {
		return p.GTIN + "/" + lot
	}
	return "~" + p.CooperativeID + "/" + p.ID + "/" + lot
}

func lotKey(p *trace.Product, lot string) []byte { return []byte(LotKey(p, lot)) }

// CreateBatch stores a new batch of an existing product of the same
// cooperative; its lot must be new for that product. It goes through the
// group committer, like every write that changes chains or lots.
func (en *Engine) CreateBatch(bt *trace.Batch) error {
	_, err := en.Apply(context.Background(), Change{NewBatches: []*trace.Batch{bt}})
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
func (db *DB) Batch(id string) (bt *trace.Batch, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		bt, err = db.decoded.batches.get(tx.Bucket(bucketBatches), id, "batch")
		return err
	})
	return bt, err
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
