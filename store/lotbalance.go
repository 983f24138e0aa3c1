package store

import (
	"bytes"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// A lot's balance over its life (trace.LotBalance) is recomputed from the
// signed chains whenever a transformation takes from the lot: the lot's
// own chain (what it held) and the chain of every lot made directly from
// it (what was taken), found through the lineage index. There is no
// stored running total to go stale or be damaged. Only the
// transformation events of those chains are decoded, and each is checked
// as it is read: its record decodes to an event of that place in that
// chain, and the chain binds it (the next event links to its hash, or it
// is the batch's head). Transformations are rare next to other events;
// BENCHMARKS.md has the cost.

// transformationMark is in the canonical bytes of every
// TransformationEvent; events without it need not be decoded.
var transformationMark = []byte(`"` + string(trace.TransformationEvent) + `"`)

// HasTransformationMark reports whether an event's canonical bytes may be
// a TransformationEvent's: a store reading the events a lot balance needs
// reads only those.
func HasTransformationMark(body []byte) bool { return bytes.Contains(body, transformationMark) }

// MarkedEvent is a stored event of a chain whose bytes hold the
// transformation mark, with what binds it into its chain: the next
// event's bytes, or, for the last event, the batch's head.
type MarkedEvent struct {
	Seq      uint64
	Body     []byte     // its canonical bytes
	Next     []byte     // the next event's canonical bytes; nil for the last event
	HeadLen  uint64     // the batch's head, read with it
	HeadHash trace.Hash //
}

// ChainReader is what ComputeLotBalance reads of the committed chains.
type ChainReader interface {
	// LotBatch returns a stored batch.
	LotBatch(id string) (*trace.Batch, error)
	// FirstEvent returns the canonical bytes of a batch's event 0 (nil
	// when it has none or they cannot be read).
	FirstEvent(batchID string) []byte
	// Marked returns the events of a batch's chain with the
	// transformation mark, in order, or the damage found reading them.
	Marked(batchID string) ([]MarkedEvent, *Damage, error)
	// MadeFrom returns the batches the lineage index says were made
	// directly from a batch, in the index's order.
	MadeFrom(batchID string) ([]string, error)
}

// ComputeLotBalance computes a lot's balance from the chains r reads. A
// record that cannot be read or is not bound into its chain, or a lineage
// entry that no chain bears out, is returned as damage.
func ComputeLotBalance(r ChainReader, batchID string) (*trace.LotBalance, *Damage, error) {
	bt, err := r.LotBatch(batchID)
	if err != nil {
		return nil, nil, err
	}
	lb := trace.NewLotBalance(bt)
	if first := r.FirstEvent(batchID); first != nil {
		// A chain that starts with the lot's facts is opened by the
		// transformation after them.
		if e, err := trace.Decode(first); err == nil && trace.IsLotFacts(e) {
			lb.OpensAt = 1
		}
	}
	own, dmg, err := chainTransformations(r, batchID)
	if err != nil || dmg != nil {
		return nil, dmg, err
	}
	for _, st := range own {
		lb.Add(st.Event, st.Hash)
	}
	made, err := r.MadeFrom(batchID)
	if err != nil {
		return nil, nil, err
	}
	for _, m := range made {
		chain, dmg, err := chainTransformations(r, m)
		if err != nil || dmg != nil {
			return nil, dmg, err
		}
		found := false
		for _, st := range chain {
			if takesFrom(st.Event, batchID) {
				lb.Add(st.Event, st.Hash)
				found = true
			}
		}
		if !found {
			return nil, &Damage{batchID, "lineage index", fmt.Sprintf("the index says batch %s was made from it, but no event of batch %s takes from it", m, m)}, nil
		}
	}
	return lb, nil, nil
}

// chainTransformations returns the TransformationEvents of a batch's
// chain, each checked against the chain, or the damage found.
func chainTransformations(r ChainReader, batchID string) ([]*StoredEvent, *Damage, error) {
	marked, dmg, err := r.Marked(batchID)
	if err != nil || dmg != nil {
		return nil, dmg, err
	}
	var out []*StoredEvent
	fail := func(format string, args ...any) ([]*StoredEvent, *Damage, error) {
		return nil, &Damage{batchID, "chain", fmt.Sprintf(format, args...)}, nil
	}
	for _, m := range marked {
		e, err := trace.Decode(m.Body)
		if err != nil {
			return fail("event record %d holds no valid event: %v", m.Seq, err)
		}
		if e.Batch != batchID || e.Seq != m.Seq {
			return fail("the event stored as number %d says it is number %d of batch %s", m.Seq, e.Seq, e.Batch)
		}
		if e.Type != trace.TransformationEvent {
			continue
		}
		h := trace.HashEvent(m.Body)
		if m.Next != nil {
			ne, err := trace.Decode(m.Next)
			if err != nil {
				return fail("event record %d holds no valid event: %v", m.Seq+1, err)
			}
			if ne.Prev != h {
				return fail("event %d hashes to %s, but event %d links to %s", m.Seq, h, m.Seq+1, ne.Prev)
			}
		} else if m.HeadLen != m.Seq+1 || m.HeadHash != h {
			return fail("event %d is the last, with hash %s, but the head says %d events ending in %s", m.Seq, h, m.HeadLen, m.HeadHash)
		}
		out = append(out, &StoredEvent{SignedEvent: &trace.SignedEvent{Event: e, Body: m.Body, Hash: h}})
	}
	return out, nil, nil
}

// takesFrom reports whether e is a transformation with batch among its inputs.
func takesFrom(e *trace.Event, batch string) bool {
	if e.Type != trace.TransformationEvent {
		return false
	}
	for _, in := range e.Inputs {
		if in.Batch == batch {
			return true
		}
	}
	return false
}

// LotBalance computes a lot's balance over its life from the signed
// chains, as the sequencer does before a transformation takes from it.
// A chain it reads that is damaged is reported as a *DamagedError.
func (db *DB) LotBalance(batchID string) (*trace.LotBalance, error) {
	var lb *trace.LotBalance
	var dmg *Damage
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		lb, dmg, err = ComputeLotBalance(boltChains{tx, db.tail}, batchID)
		return err
	})
	return LotBalanceResult(batchID, lb, dmg, err)
}

// LotBalanceResult is Store.LotBalance's answer for what
// ComputeLotBalance returned.
func LotBalanceResult(batchID string, lb *trace.LotBalance, dmg *Damage, err error) (*trace.LotBalance, error) {
	if err != nil {
		return nil, fmt.Errorf("store: balance of lot %s: %w", batchID, err)
	}
	if dmg != nil {
		return nil, fmt.Errorf("store: balance of lot %s: %w", batchID, &DamagedError{Batch: dmg.Batch, Record: dmg.Record, Detail: dmg.Detail,
			Refused: "transformations taking from batch " + batchID + " are refused"})
	}
	return lb, nil
}

// boltChains reads the chains a lot balance needs from a transaction.
type boltChains struct {
	tx   *bolt.Tx
	tail *logTail
}

func (c boltChains) LotBatch(id string) (*trace.Batch, error) {
	var bt trace.Batch
	return &bt, getJSON(c.tx.Bucket(bucketBatches), id, "batch", &bt)
}

func (c boltChains) FirstEvent(batchID string) []byte {
	if index, ok := (chainView{c.tx, c.tail}).index(batchID, 0); ok {
		if first, err := eventAt(c.tx, index); err == nil && first != nil {
			return first.Body
		}
	}
	return nil
}

func (c boltChains) Marked(batchID string) ([]MarkedEvent, *Damage, error) {
	var out []MarkedEvent
	events := c.tx.Bucket(bucketEvents)
	var chain []uint64
	cv := chainView{c.tx, c.tail}
	if err := cv.each(batchID, 0, func(_, index uint64) error { chain = append(chain, index); return nil }); err != nil {
		return nil, &Damage{batchID, "chain", err.Error()}, nil
	}
	for seq, index := range chain {
		v := events.Get(u64(index))
		if !HasTransformationMark(recordBody(v)) {
			continue
		}
		st, err := decodeRecord(c.tx, index, v)
		if err != nil {
			return nil, &Damage{batchID, "chain", fmt.Sprintf("event record %d cannot be read: %v", seq, err)}, nil
		}
		m := MarkedEvent{Seq: uint64(seq), Body: st.Body}
		if seq+1 < len(chain) {
			m.Next = bytes.Clone(recordBody(events.Get(u64(chain[seq+1]))))
			if m.Next == nil {
				m.Next = []byte{}
			}
		} else {
			m.HeadLen, m.HeadHash = cv.head(batchID)
		}
		out = append(out, m)
	}
	return out, nil, nil
}

func (c boltChains) MadeFrom(batchID string) ([]string, error) {
	var out []string
	cur := c.tx.Bucket(bucketLineage).Cursor()
	prefix := linKey('d', batchID, "")
	for k, _ := cur.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = cur.Next() {
		out = append(out, string(k[len(prefix):]))
	}
	return out, nil
}
