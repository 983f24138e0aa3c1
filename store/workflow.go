package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// Lineage and recalls:
//
//	lineage  "d" ‖ input ‖ 0x00 ‖ output → ""   (downstream)
//	         "u" ‖ output ‖ 0x00 ‖ input → ""   (upstream)
//	recalls  batch id ‖ 0x00 ‖ event hash → ""
//	meta     "recalls" → uint64 count of recall events
//
// Both are written in the transaction that commits the event, so they are
// exactly as durable as the chain they index.
var (
	bucketLineage = []byte("lineage")
	bucketRecalls = []byte("recalls")
)

func init() { allBuckets = append(allBuckets, bucketLineage, bucketRecalls) }

// indexEvent updates the lineage and recall indexes for a committed event.
func indexEvent(tx *bolt.Tx, e *trace.Event, h trace.Hash) error {
	if e.Type == trace.TransformationEvent {
		lin := tx.Bucket(bucketLineage)
		for _, in := range e.Inputs {
			if err := lin.Put(linKey('d', in.Batch, e.Batch), nil); err != nil {
				return err
			}
			if err := lin.Put(linKey('u', e.Batch, in.Batch), nil); err != nil {
				return err
			}
		}
	}
	if e.Disposition == "recalled" {
		k := append(append([]byte(e.Batch), 0), h[:]...)
		if err := tx.Bucket(bucketRecalls).Put(k, nil); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		var n uint64
		if v := meta.Get([]byte("recalls")); len(v) == 8 {
			n = binary.BigEndian.Uint64(v)
		}
		return meta.Put([]byte("recalls"), u64(n+1))
	}
	return nil
}

func linKey(dir byte, a, b string) []byte {
	k := append([]byte{dir}, a...)
	k = append(k, 0)
	return append(k, b...)
}

// Lineage is the batches a batch came from and went into, transitively.
type Lineage struct {
	Upstream   []string // every batch it was made from, nearest first
	Downstream []string // every batch made from it, nearest first
}

// maxLineage bounds a walk so a pathological graph cannot stall a read.
const maxLineage = 10000

// Lineage walks the transformation graph from a batch both ways: "one
// step back, one step forward", and on to every farm plot and every lot.
func (db *DB) Lineage(batchID string) (*Lineage, error) {
	l := &Lineage{}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketBatches).Get([]byte(batchID)) == nil {
			return fmt.Errorf("batch %s: %w", batchID, trace.ErrNotFound)
		}
		l.Upstream = walk(tx, 'u', batchID)
		l.Downstream = walk(tx, 'd', batchID)
		return nil
	})
	return l, err
}

func walk(tx *bolt.Tx, dir byte, from string) []string {
	c := tx.Bucket(bucketLineage).Cursor()
	seen := map[string]bool{from: true}
	queue := []string{from}
	var out []string
	for len(queue) > 0 && len(out) < maxLineage {
		cur := queue[0]
		queue = queue[1:]
		prefix := append(append([]byte{dir}, cur...), 0)
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			next := string(k[len(prefix):])
			if !seen[next] {
				seen[next] = true
				out = append(out, next)
				queue = append(queue, next)
			}
		}
	}
	return out
}

// Recall is a recall event of a batch.
type Recall struct {
	Batch string     // the batch the recall was recorded on
	Event trace.Hash // the recall event
}

// Recalls returns the recall events that apply to a batch: its own and
// those of every batch upstream of it, so a recall reaches every lot made
// from the recalled one.
func (db *DB) Recalls(batchID string) ([]Recall, error) {
	var out []Recall
	err := db.bolt.View(func(tx *bolt.Tx) error {
		c := tx.Bucket(bucketRecalls).Cursor()
		for _, b := range append([]string{batchID}, walk(tx, 'u', batchID)...) {
			prefix := append([]byte(b), 0)
			for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
				var h trace.Hash
				copy(h[:], k[len(prefix):])
				out = append(out, Recall{Batch: b, Event: h})
			}
		}
		return nil
	})
	return out, err
}

// RecallCount is the number of recall events ever recorded; cached views of
// histories use it to notice a recall upstream.
func (db *DB) RecallCount() (uint64, error) {
	var n uint64
	err := db.ViewLog(func(v LogView) error { n = v.RecallCount(); return nil })
	return n, err
}

// RecallCount is DB.RecallCount as this view sees it.
func (v *boltView) RecallCount() uint64 {
	if b := v.tx.Bucket(bucketMeta).Get([]byte("recalls")); len(b) == 8 {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// Change is a set of writes that succeed or fail as a whole: new batches,
// then events (which may be on the new batches).
type Change struct {
	NewBatches []*trace.Batch
	Events     []AppendRequest
}

// Apply commits a change atomically through the group committer: either
// every new batch and every event is stored, or nothing is. Events on new
// batches start their chains; events on existing ones extend them.
func (en *Engine) Apply(ctx context.Context, ch Change) ([]*StoredEvent, error) {
	for _, r := range ch.Events {
		if r.Presigned == nil && (r.Event == nil || r.Signer == nil) {
			return nil, errors.New("store: apply: every event needs an event and a signer, or a presigned event")
		}
	}
	now := en.opts.Now()
	signers := map[string]*trace.Signer{}
	for _, bt := range ch.NewBatches {
		bt.CreatedAt = now.UTC()
		if bt.ID == "" {
			bt.ID = NewID()
		}
		if _, ok := signers[bt.CooperativeID]; !ok {
			s, err := en.SignerFor(bt.CooperativeID)
			if err != nil {
				return nil, fmt.Errorf("store: %w", err)
			}
			signers[bt.CooperativeID] = s
		}
	}
	at := now.In(en.opts.Location).Truncate(time.Second)
	res, err := en.be.Submit(ctx, "", func(pl *Planner) (*Plan, error) { return en.prepareChange(pl, ch, signers, at) })
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return res.([]*StoredEvent), nil
}

// prepareChange places every part of a change; if any part is refused,
// it undoes what the earlier parts did to the Planner's view, so the
// change leaves no trace.
func (en *Engine) prepareChange(st *Planner, ch Change, signers map[string]*trace.Signer, at time.Time) (p *Plan, err error) {
	type saved struct {
		coop    string
		hd      head
		present bool
	}
	before := map[string]saved{}
	remember := func(batch string) {
		if _, ok := before[batch]; ok {
			return
		}
		coop, present := st.batches[batch]
		before[batch] = saved{coop: coop, hd: st.heads[batch], present: present}
	}
	var added []trace.Hash
	var newLots []string
	defer func() {
		if err == nil {
			return
		}
		for b, s := range before {
			if s.present {
				st.batches[b], st.heads[b] = s.coop, s.hd
			} else {
				delete(st.batches, b)
				delete(st.heads, b)
			}
		}
		for _, h := range added {
			delete(st.hashes, h)
			delete(st.transforms, h)
		}
		for _, l := range newLots {
			delete(st.lots, l)
		}
	}()

	var writes []func(Sink) error
	var signs []func()
	var facts []*StoredEvent
	for i, bt := range ch.NewBatches {
		lk, prod, err := st.checkNewBatch(bt)
		if err != nil {
			return nil, prefixErr(fmt.Sprintf("batches[%d]", i), err)
		}
		remember(bt.ID)
		st.batches[bt.ID] = bt.CooperativeID
		st.heads[bt.ID] = head{}
		// Appends to it need not read its head (headHint). If the change
		// is refused, the mark only makes the sequencer read the file.
		st.markLoaded(bt.ID)
		st.lots[lk] = bt.ID
		newLots = append(newLots, lk)
		bt := bt
		writes = append(writes, func(s Sink) error { return s.PutBatch(bt, lk) })
		// The lot's facts, as the cooperative declares them, are the
		// first event of its chain.
		fe := trace.FactsOf(bt, prod).Event(bt.CooperativeID, bt.ID, true, at)
		part, err := en.prepareAppend(st, AppendRequest{Event: fe, Signer: signers[bt.CooperativeID], KeyID: bt.CreatedBy, lotFacts: true})
		if err != nil {
			return nil, prefixErr(fmt.Sprintf("batches[%d]", i), err)
		}
		for _, se := range part.Events {
			added = append(added, se.Hash)
		}
		signs = append(signs, part.Sign)
		writes = append(writes, part.Write)
		facts = append(facts, part.Events...)
	}
	var stored []*StoredEvent
	for i, r := range ch.Events {
		b := r.Event
		if r.Presigned != nil {
			b = r.Presigned.Event
		}
		if _, _, err := st.head(b.Batch); err == nil {
			remember(b.Batch)
		}
		part, err := en.prepareAppend(st, r)
		if err != nil {
			return nil, prefixErr(fmt.Sprintf("events[%d]", i), err)
		}
		for _, se := range part.Events {
			added = append(added, se.Hash)
		}
		if part.Sign != nil {
			signs = append(signs, part.Sign)
		}
		writes = append(writes, part.Write)
		stored = append(stored, part.Events...)
	}
	p = &Plan{Result: stored, Events: append(facts, stored...)}
	if len(signs) > 0 {
		p.Sign = func() {
			for _, s := range signs {
				s()
			}
		}
	}
	p.Write = func(s Sink) error {
		for _, w := range writes {
			if err := w(s); err != nil {
				return err
			}
		}
		return nil
	}
	return p, nil
}

// checkNewBatch checks a batch that a change creates and returns its lot
// key and its product (checked against the product's signed record, since
// the lot's facts will quote it).
func (pl *Planner) checkNewBatch(bt *trace.Batch) (string, *trace.Product, error) {
	if err := bt.Validate(); err != nil {
		return "", nil, err
	}
	p, err := pl.src.Product(bt.ProductID)
	if err != nil {
		return "", nil, err
	}
	sr, err := pl.src.NewestRecord(trace.KindProduct, p.ID)
	if err != nil {
		return "", nil, err
	}
	if err := CheckRecord(sr, trace.ProductRecordFields(p), "product."); err != nil {
		return "", nil, &DamagedError{Record: "product " + p.ID, Detail: fmt.Sprintf("its stored copy differs from its signed record (%v)", err), Refused: "new lots of it are refused"}
	}
	if p.CooperativeID != bt.CooperativeID {
		return "", nil, fmt.Errorf("product %s belongs to another cooperative: %w", p.ID, trace.ErrForbidden)
	}
	if err := checkMemberIn(pl.src, bt.CooperativeID, bt.Member); err != nil {
		return "", nil, err
	}
	if taken, err := pl.src.Exists(EntityBatch, bt.ID); err != nil {
		return "", nil, err
	} else if taken {
		return "", nil, fmt.Errorf("batch %s already exists: %w", bt.ID, trace.ErrConflict)
	}
	lk := LotKey(p, bt.Lot)
	other, differs, err := pl.src.LotOwner(lk)
	if err != nil {
		return "", nil, err
	}
	if differs != "" {
		err := pl.damaged(other, "lot index", "%s", differs)
		err.Refused = fmt.Sprintf("new batches with lot %s of product %s are refused", bt.Lot, bt.ProductID)
		return "", nil, err
	}
	if other != "" {
		return "", nil, fmt.Errorf("lot %s of product %s is already batch %s: %w", bt.Lot, p.ID, other, trace.ErrConflict)
	}
	if other, ok := pl.lots[lk]; ok {
		return "", nil, fmt.Errorf("lot %s is already batch %s: %w", bt.Lot, other, trace.ErrConflict)
	}
	if _, ok := pl.batches[bt.ID]; ok {
		return "", nil, fmt.Errorf("batch %s already exists: %w", bt.ID, trace.ErrConflict)
	}
	return lk, p, nil
}

// prefixErr names the part of a change an error belongs to.
func prefixErr(prefix string, err error) error {
	if named := trace.PrefixFields(prefix, err); named != err {
		return named
	}
	return fmt.Errorf("%s: %w", prefix, err)
}
