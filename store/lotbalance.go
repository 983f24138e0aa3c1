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

// damage is a record found damaged while reading for a write.
type damage struct{ batch, record, detail string }

// transformationMark is in the canonical bytes of every
// TransformationEvent; events without it need not be decoded.
var transformationMark = []byte(`"` + string(trace.TransformationEvent) + `"`)

// chainTransformations returns the TransformationEvents of a batch's
// chain, each checked against the chain, or the damage found.
func chainTransformations(tx *bolt.Tx, batchID string) ([]*StoredEvent, *damage) {
	var out []*StoredEvent
	events := tx.Bucket(bucketEvents)
	prefix := append([]byte(batchID), 0)
	fail := func(format string, args ...any) ([]*StoredEvent, *damage) {
		return nil, &damage{batchID, "chain", fmt.Sprintf(format, args...)}
	}
	c := events.Cursor()
	for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
		if !bytes.Contains(recordBody(v), transformationMark) {
			continue
		}
		_, seq := splitEventKey(k)
		st, err := decodeRecord(v)
		if err != nil {
			return fail("event record %d cannot be read: %v", seq, err)
		}
		e, err := trace.Decode(st.Body)
		if err != nil {
			return fail("event record %d holds no valid event: %v", seq, err)
		}
		if e.Batch != batchID || e.Seq != seq {
			return fail("the event stored as number %d says it is number %d of batch %s", seq, e.Seq, e.Batch)
		}
		if e.Type != trace.TransformationEvent {
			continue
		}
		if next := events.Get(eventKey(batchID, seq+1)); next != nil {
			ne, err := trace.Decode(recordBody(next))
			if err != nil {
				return fail("event record %d holds no valid event: %v", seq+1, err)
			}
			if ne.Prev != st.Hash {
				return fail("event %d hashes to %s, but event %d links to %s", seq, st.Hash, seq+1, ne.Prev)
			}
		} else if n, h := readHead(tx, batchID); n != seq+1 || h != st.Hash {
			return fail("event %d is the last, with hash %s, but the head says %d events ending in %s", seq, st.Hash, n, h)
		}
		st.Event = e
		out = append(out, st)
	}
	return out, nil
}

// readLotBalance computes a lot's balance from the chains in the file.
// A record that cannot be read or is not bound into its chain, or a
// lineage entry that no chain bears out, is returned as damage.
func readLotBalance(tx *bolt.Tx, batchID string) (*trace.LotBalance, *damage, error) {
	var bt trace.Batch
	if err := getJSON(tx.Bucket(bucketBatches), batchID, "batch", &bt); err != nil {
		return nil, nil, err
	}
	lb := trace.NewLotBalance(&bt)
	if v := tx.Bucket(bucketEvents).Get(eventKey(batchID, 0)); v != nil {
		// A chain that starts with the lot's facts is opened by the
		// transformation after them.
		if first, err := decodeRecord(v); err == nil {
			if e, err := trace.Decode(first.Body); err == nil && trace.IsLotFacts(e) {
				lb.OpensAt = 1
			}
		}
	}
	own, dmg := chainTransformations(tx, batchID)
	if dmg != nil {
		return nil, dmg, nil
	}
	for _, st := range own {
		lb.Add(st.Event, st.Hash)
	}
	c := tx.Bucket(bucketLineage).Cursor()
	prefix := linKey('d', batchID, "")
	for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
		made := string(k[len(prefix):])
		chain, dmg := chainTransformations(tx, made)
		if dmg != nil {
			return nil, dmg, nil
		}
		found := false
		for _, st := range chain {
			if takesFrom(st.Event, batchID) {
				lb.Add(st.Event, st.Hash)
				found = true
			}
		}
		if !found {
			return nil, &damage{batchID, "lineage index", fmt.Sprintf("the index says batch %s was made from it, but no event of batch %s takes from it", made, made)}, nil
		}
	}
	return lb, nil, nil
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
	var dmg *damage
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		lb, dmg, err = readLotBalance(tx, batchID)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: balance of lot %s: %w", batchID, err)
	}
	if dmg != nil {
		return nil, fmt.Errorf("store: balance of lot %s: %w", batchID, &DamagedError{Batch: dmg.batch, Record: dmg.record, Detail: dmg.detail,
			Refused: "transformations taking from batch " + batchID + " are refused"})
	}
	return lb, nil
}

// lotBalance is a lot's balance as the sequencer sees it: the chains in
// the file, the transformations prepared but not yet committed, and own,
// the earlier events of the request being prepared. A transformation
// that is both committed and still pending is counted once (LotBalance
// counts each transformation once).
func (st *seqState) lotBalance(batchID string, own []*trace.SignedEvent) (*trace.LotBalance, error) {
	var lb *trace.LotBalance
	var dmg *damage
	err := st.db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		lb, dmg, err = readLotBalance(tx, batchID)
		return err
	})
	if err != nil {
		return nil, err
	}
	if dmg != nil {
		err := st.db.damaged(dmg.batch, dmg.record, "%s", dmg.detail)
		err.(*DamagedError).Refused = "transformations taking from batch " + batchID + " are refused"
		return nil, err
	}
	for h, e := range st.transforms {
		lb.Add(e, h)
	}
	for _, se := range own {
		lb.Add(se.Event, se.Hash)
	}
	return lb, nil
}

// checkDraws refuses a transformation that would take more from one of
// its input lots than the lot has left over its life, with a
// *trace.OverdrawError naming the lot, what it held, what was taken and
// what is asked.
func (st *seqState) checkDraws(e *trace.Event, own []*trace.SignedEvent) error {
	if e.Type != trace.TransformationEvent {
		return nil
	}
	done := map[string]bool{}
	for i, in := range e.Inputs {
		if done[in.Batch] || in.Quantity == nil {
			continue
		}
		done[in.Batch] = true
		lb, err := st.lotBalance(in.Batch, own)
		if err != nil {
			return fmt.Errorf("inputs[%d]: %w", i, err)
		}
		if err := lb.Check(e); err != nil {
			return err
		}
	}
	return nil
}
