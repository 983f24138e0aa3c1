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

// AppendRequest asks the store to add one event to the end of its batch's chain.
type AppendRequest struct {
	// Event is the event to append. The store sets Seq and Prev from the
	// batch's head unless Presigned is set.
	Event *trace.Event
	// Signer signs the event once its place in the chain is known. It must
	// be a key of the event's cooperative.
	Signer *trace.Signer
	// Presigned is an event the cooperative signed itself; its Seq and Prev
	// must match the batch's head, or the append is refused with
	// trace.ErrConflict. Event and Signer are then ignored.
	Presigned *trace.SignedEvent
	// KeyID names the API key that made the write.
	KeyID string

	// lotFacts marks the store's own facts records (the first event of a
	// new batch, a restatement of its facts): the only way one is written.
	lotFacts bool
}

// StoredEvent is a signed event with what the store recorded about it.
type StoredEvent struct {
	*trace.SignedEvent
	ReceivedAt time.Time // when the store committed it
	KeyID      string    // the API key that wrote it
	LogIndex   uint64    // its index in the transparency log
	LogEntry   []byte    // its log entry (trace.LogEntry)
}

// Append adds an event to its batch's chain through the group committer
// and returns it once it is durably stored.
func (en *Engine) Append(ctx context.Context, req AppendRequest) (*StoredEvent, error) {
	if req.Presigned == nil && (req.Event == nil || req.Signer == nil) {
		return nil, errors.New("store: append: an event and a signer, or a presigned event, are required")
	}
	batch := ""
	if req.Presigned != nil {
		batch = req.Presigned.Event.Batch
	} else {
		batch = req.Event.Batch
	}
	res, err := en.be.Submit(ctx, batch, func(pl *Planner) (*Plan, error) { return en.prepareAppend(pl, req) })
	if err != nil {
		return nil, fmt.Errorf("store: append to batch %s: %w", batch, err)
	}
	return res.(*StoredEvent), nil
}

// prepareAppend places an event: it checks the event against the chain
// as it will be once everything before it is committed, fixes its place
// (seq and prev) and its bytes, and leaves the signature to a worker.
func (en *Engine) prepareAppend(pl *Planner, req AppendRequest) (*Plan, error) {
	e := req.Event
	if req.Presigned != nil {
		e = req.Presigned.Event
	}
	coop, hd, err := pl.head(e.Batch)
	if err != nil {
		return nil, err
	}
	if err := checkFactsRule(e, req.lotFacts, hd); err != nil {
		return nil, err
	}
	if e.Cooperative != coop {
		return nil, fmt.Errorf("batch %s belongs to cooperative %s, not %s: %w", e.Batch, coop, e.Cooperative, trace.ErrForbidden)
	}
	for i, in := range e.Inputs {
		if in.Batch == e.Batch {
			return nil, &trace.FieldError{Field: fmt.Sprintf("inputs[%d].batch", i), Reason: "a batch cannot be an input of itself"}
		}
		// The input's head is checked like the event's own: the
		// transformation is signed on top of it.
		if _, _, err := pl.head(in.Batch); err != nil {
			return nil, fmt.Errorf("inputs[%d]: %w", i, err)
		}
		if b, ok, err := pl.eventBatch(in.Hash); err != nil {
			return nil, fmt.Errorf("inputs[%d]: %w", i, err)
		} else if !ok {
			return nil, fmt.Errorf("inputs[%d]: event %s of batch %s: %w", i, in.Hash, in.Batch, trace.ErrNotFound)
		} else if b != in.Batch {
			return nil, &trace.FieldError{Field: fmt.Sprintf("inputs[%d].hash", i), Reason: fmt.Sprintf("event %s is not an event of batch %s", in.Hash, in.Batch)}
		}
	}
	if err := pl.checkDraws(e, nil); err != nil {
		return nil, err
	}
	p := &Plan{}
	var se *trace.SignedEvent
	if req.Presigned != nil {
		se = req.Presigned
		if e.Seq != hd.n || e.Prev != hd.h {
			return nil, fmt.Errorf("the event was signed as number %d after %s, but the batch has %d events ending in %s; fetch the head and sign again: %w",
				e.Seq, e.Prev, hd.n, hd.h, trace.ErrConflict)
		}
	} else {
		e.Seq, e.Prev = hd.n, hd.h
		if se, err = trace.Prepare(e); err != nil {
			return nil, err
		}
		signer := req.Signer
		p.Sign = func() { signer.Seal(se) }
	}
	stored := &StoredEvent{SignedEvent: se, ReceivedAt: en.opts.Now().UTC(), KeyID: req.KeyID}
	pl.heads[e.Batch] = head{n: e.Seq + 1, h: se.Hash}
	pl.hashes[se.Hash] = e.Batch
	if e.Type == trace.TransformationEvent {
		pl.transforms[se.Hash] = e
	}
	p.Result = stored
	p.Events = []*StoredEvent{stored}
	p.Write = func(s Sink) error { return s.PutEvent(stored) }
	return p, nil
}

// Head returns the number of events of a batch and the hash of its last one.
func (db *DB) Head(batchID string) (uint64, trace.Hash, error) {
	var n uint64
	var h trace.Hash
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketBatches).Get([]byte(batchID)) == nil {
			return fmt.Errorf("batch %s: %w", batchID, trace.ErrNotFound)
		}
		n, h = chainView{tx, db.tail}.head(batchID)
		return nil
	})
	return n, h, err
}

// History returns every event of a batch in order, after checking the chain
// again (trace.VerifyChain). A chain that fails the check is returned with
// an error wrapping trace.ErrVerification, so the caller can show what was
// read and why it is not trusted.
func (db *DB) History(batchID string) ([]*StoredEvent, error) {
	out, length, head, err := db.readChain(batchID, 0)
	if err != nil {
		return nil, err
	}
	return VerifiedHistory(batchID, out, length, head)
}

// VerifiedHistory checks a batch's stored events, read in order with its
// recorded head (length and last hash), as History does: the chain
// (trace.VerifyChain) and that it ends at the head. A chain that fails is
// returned with an error wrapping trace.ErrVerification.
func VerifiedHistory(batchID string, out []*StoredEvent, length uint64, head trace.Hash) ([]*StoredEvent, error) {
	signed := make([]*trace.SignedEvent, len(out))
	for i, st := range out {
		signed[i] = st.SignedEvent
	}
	if err := trace.VerifyChain(batchID, signed); err != nil {
		return out, fmt.Errorf("store: history of batch %s: %w", batchID, err)
	}
	// The head kept beside the chain catches a change to the last event,
	// which no later link covers.
	var last trace.Hash
	if len(out) > 0 {
		last = out[len(out)-1].Hash
	}
	if uint64(len(out)) != length || last != head {
		return out, fmt.Errorf("store: history of batch %s: %w", batchID, &trace.VerifyError{
			Index: len(out) - 1, Hash: last.String(), Reason: trace.ReasonBrokenLink,
			Detail: fmt.Sprintf("the batch's recorded head is event %d %s, but its chain ends at event %d", length, head, len(out))})
	}
	return out, nil
}

// HistoryFrom returns the events of a batch from number from on, for a
// reader that holds (and has checked) the events before it, ending in
// prev: each new event's bytes, hash, number and link are checked as
// History checks them, the first against prev, and the last against the
// batch's recorded head. A grown chain then costs only its new events.
func (db *DB) HistoryFrom(batchID string, from uint64, prev trace.Hash) ([]*StoredEvent, error) {
	out, length, head, err := db.readChain(batchID, from)
	if err != nil {
		return nil, err
	}
	return VerifiedHistoryFrom(batchID, from, prev, out, length, head)
}

// VerifiedHistoryFrom checks the events of a batch from number from on,
// read in order with its recorded head, as HistoryFrom does: the first
// against prev, each against the one before, the last against the head.
func VerifiedHistoryFrom(batchID string, from uint64, prev trace.Hash, out []*StoredEvent, length uint64, head trace.Hash) ([]*StoredEvent, error) {
	for i, st := range out {
		fail := func(r trace.VerifyReason, format string, args ...any) error {
			return fmt.Errorf("store: history of batch %s: %w", batchID, &trace.VerifyError{Index: int(from) + i, Hash: st.Hash.String(), Reason: r, Detail: fmt.Sprintf(format, args...)})
		}
		e, err := trace.Decode(st.Body)
		if err != nil {
			return nil, fail(trace.ReasonMalformed, "%v", err)
		}
		if e.Batch != batchID || e.Seq != from+uint64(i) {
			return nil, fail(trace.ReasonWrongOrder, "the event says it is number %d of batch %s", e.Seq, e.Batch)
		}
		if e.Prev != prev {
			return nil, fail(trace.ReasonBrokenLink, "the event links to %s, but the event before it is %s", e.Prev, prev)
		}
		st.Event = e
		prev = st.Hash
	}
	if end := from + uint64(len(out)); end != length || prev != head {
		return nil, fmt.Errorf("store: history of batch %s: %w", batchID, &trace.VerifyError{
			Index: int(end) - 1, Hash: prev.String(), Reason: trace.ReasonBrokenLink,
			Detail: fmt.Sprintf("the batch's recorded head is event %d %s, but its chain ends at event %d", length, head, end)})
	}
	return out, nil
}

// EventByHash finds an event by its hash.
func (db *DB) EventByHash(h trace.Hash) (*StoredEvent, error) {
	var st *StoredEvent
	err := db.bolt.View(func(tx *bolt.Tx) error {
		index, ok := db.tail.lookupEvent(tx, h)
		if !ok {
			return fmt.Errorf("event %s: %w", h, trace.ErrNotFound)
		}
		var err error
		st, err = eventAt(tx, index)
		switch {
		case err != nil:
			return err
		case st == nil:
			return fmt.Errorf("event %s: index points to a missing record: %w", h, trace.ErrVerification)
		}
		fillLog(tx, st)
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	return VerifiedEvent(h, st)
}

// VerifiedEvent checks an event found by its hash h, as EventByHash does:
// its bytes decode and hash to h.
func VerifiedEvent(h trace.Hash, st *StoredEvent) (*StoredEvent, error) {
	e, err := trace.Decode(st.Body)
	if err != nil || trace.HashEvent(st.Body) != h {
		return nil, fmt.Errorf("store: event %s: stored bytes do not match: %w", h, trace.ErrVerification)
	}
	st.Event = e
	return st, nil
}

const recordVersion = 2

// encodeParts writes a stored registry record (and, in files of schema
// version 1, an event's):
// version byte 2, then body, signature, signer and the API key id, each as
// a uvarint length and bytes, then the receive time as big-endian Unix
// nanoseconds and the log index as a big-endian uint64.
func encodeParts(body, sig, signer []byte, keyID string, receivedAt time.Time, logIndex uint64) []byte {
	b := make([]byte, 0, len(body)+len(sig)+len(signer)+len(keyID)+24)
	b = append(b, recordVersion)
	for _, f := range [][]byte{body, sig, signer, []byte(keyID)} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(receivedAt.UnixNano()))
	return binary.BigEndian.AppendUint64(b, logIndex)
}

type parts struct {
	body, sig, signer []byte
	keyID             string
	receivedAt        time.Time
	logIndex          uint64
}

// decodeParts parses what encodeParts wrote, copying every byte out of
// bbolt's memory.
func decodeParts(v []byte) (*parts, error) {
	if len(v) < 1 || v[0] != recordVersion {
		return nil, errors.New("unknown record version")
	}
	rest := v[1:]
	var fields [4][]byte
	for i := range fields {
		n, k := binary.Uvarint(rest)
		if k <= 0 || uint64(len(rest)-k) < n {
			return nil, errors.New("truncated record")
		}
		fields[i] = bytes.Clone(rest[k : k+int(n)])
		rest = rest[k+int(n):]
	}
	if len(rest) != 16 {
		return nil, errors.New("bad record length")
	}
	return &parts{body: fields[0], sig: fields[1], signer: fields[2], keyID: string(fields[3]),
		receivedAt: time.Unix(0, int64(binary.BigEndian.Uint64(rest[:8]))).UTC(),
		logIndex:   binary.BigEndian.Uint64(rest[8:])}, nil
}

// fillLog sets an event's log entry; its log index is in its record.
func fillLog(_ *bolt.Tx, st *StoredEvent) {
	st.LogEntry = trace.LogEntry(st.SignedEvent)
}

// writeEvent stores a prepared event: its record, its entry in the tail
// (which gives it its place in its chain, its batch's new head and its
// hash), and the lineage and recall indexes.
func writeEvent(tx *bolt.Tx, st *StoredEvent) error {
	e := st.Event
	rec, err := encodeRecord(tx, st)
	if err != nil {
		return err
	}
	if err := tx.Bucket(bucketEvents).Put(u64(st.LogIndex), rec); err != nil {
		return err
	}
	// Its chain and the event-hash index take it when the tail is
	// merged (layout.go).
	if err := tx.Bucket(bucketRecent).Put(u64(st.LogIndex), recentValue(e.Batch, e.Seq)); err != nil {
		return err
	}
	if err := indexEvent(tx, e, st.Hash); err != nil {
		return err
	}
	if trace.IsLotFacts(e) {
		if err := writeFacts(tx, e); err != nil {
			return err
		}
	}
	return nil
}

// checkFactsRule keeps a lot's facts records to the store's own making: a
// new batch starts with one, a restatement goes through RestateFacts, and
// no other write may use their business step.
func checkFactsRule(e *trace.Event, lotFacts bool, hd head) error {
	if !lotFacts {
		if e.BizStep == trace.BizStepLotFacts {
			return &trace.FieldError{Field: "biz_step", Reason: fmt.Sprintf("%s records a lot's facts; it is written when the lot is created, and a correction of its quantity, harvest date, plot or certificates goes through POST /api/v1/batches/{id}/facts", trace.BizStepLotFacts)}
		}
		return nil
	}
	if !trace.IsLotFacts(e) {
		return errors.New("store: a facts record must be a creating_class_instance event naming its product and lot")
	}
	if _, err := trace.LotFactsOf(e); err != nil {
		return err
	}
	if (hd.n == 0) != (e.Action == "ADD") {
		return errors.New("store: a lot's first event is its registration (ADD), later facts are restatements (OBSERVE)")
	}
	return nil
}

// writeFacts brings a batch's working copy in line with a facts record
// committed in the same transaction.
func writeFacts(tx *bolt.Tx, e *trace.Event) error {
	f, err := trace.LotFactsOf(e)
	if err != nil {
		return err
	}
	b := tx.Bucket(bucketBatches)
	var bt trace.Batch
	if err := getJSON(b, e.Batch, "batch", &bt); err != nil {
		return err
	}
	if bt.ProductID != f.Product || bt.Lot != f.Lot {
		return &DamagedError{Batch: bt.ID, Record: "batch record", Detail: fmt.Sprintf("it is lot %s of product %s, but its facts record names lot %s of product %s", bt.Lot, bt.ProductID, f.Lot, f.Product)}
	}
	bt.Quantity, bt.HarvestDate, bt.Plot, bt.Certifications, bt.Member = f.Quantity, f.HarvestDate, f.Plot, f.Certifications, f.Member
	return putJSON(b, bt.ID, &bt)
}

// RestateFacts records a correction of a lot's facts — its declared
// quantity, harvest date, plot or certificates — as a new facts record of
// its chain, signed with the cooperative's key the server holds, and
// updates the batch to match in the same commit. The product and the lot
// code cannot change.
func (en *Engine) RestateFacts(ctx context.Context, batchID string, f *trace.LotFacts, keyID string) (*StoredEvent, error) {
	bt, err := en.be.Batch(batchID)
	if err != nil {
		return nil, err
	}
	p, err := en.be.Product(bt.ProductID)
	if err != nil {
		return nil, err
	}
	cur := trace.FactsOf(bt, p)
	switch {
	case f.Product != "" && f.Product != cur.Product:
		return nil, &trace.FieldError{Field: "product_id", Reason: "a lot's product cannot change; record a transformation into a new lot instead"}
	case f.Lot != "" && f.Lot != cur.Lot:
		return nil, &trace.FieldError{Field: "lot", Reason: "a lot's code cannot change: its labels carry it"}
	}
	f.Product, f.Lot, f.GTIN = cur.Product, cur.Lot, cur.GTIN
	if f.ProductName == "" {
		f.ProductName, f.ProductNameEN = cur.ProductName, cur.ProductNameEN
	}
	check := &trace.Batch{ID: bt.ID, CooperativeID: bt.CooperativeID, ProductID: bt.ProductID, Lot: bt.Lot,
		Quantity: f.Quantity, HarvestDate: f.HarvestDate, Plot: f.Plot, Certifications: f.Certifications, Member: f.Member}
	if err := check.Validate(); err != nil {
		return nil, err
	}
	if err := en.checkMember(bt.CooperativeID, f.Member); err != nil {
		return nil, err
	}
	signer, err := en.SignerFor(bt.CooperativeID)
	if err != nil {
		return nil, err
	}
	e := f.Event(bt.CooperativeID, bt.ID, false, en.opts.Now().In(en.opts.Location).Truncate(time.Second))
	return en.Append(ctx, AppendRequest{Event: e, Signer: signer, KeyID: keyID, lotFacts: true})
}

// readChain reads a batch's stored events from number from on, in order,
// with its recorded head, in one read transaction; History and HistoryFrom
// check what it read.
func (db *DB) readChain(batchID string, from uint64) (out []*StoredEvent, length uint64, head trace.Hash, err error) {
	err = db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketBatches).Get([]byte(batchID)) == nil {
			return fmt.Errorf("batch %s: %w", batchID, trace.ErrNotFound)
		}
		cv := chainView{tx, db.tail}
		length, head = cv.head(batchID)
		return cv.each(batchID, from, func(seq, index uint64) error {
			st, err := eventAt(tx, index)
			if err == nil && st == nil {
				err = errors.New("no event is stored there")
			}
			if err != nil {
				return fmt.Errorf("event %d (log index %d): %w", seq, index, err)
			}
			fillLog(tx, st)
			out = append(out, st)
			return nil
		})
	})
	if err != nil {
		return nil, 0, trace.Hash{}, fmt.Errorf("store: history of batch %s: %w", batchID, err)
	}
	return out, length, head, nil
}
