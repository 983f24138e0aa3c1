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
func (db *DB) Append(ctx context.Context, req AppendRequest) (*StoredEvent, error) {
	if req.Presigned == nil && (req.Event == nil || req.Signer == nil) {
		return nil, errors.New("store: append: an event and a signer, or a presigned event, are required")
	}
	batch := ""
	if req.Presigned != nil {
		batch = req.Presigned.Event.Batch
	} else {
		batch = req.Event.Batch
	}
	res, err := db.submit(ctx, func(st *seqState) (*pending, error) { return db.prepareAppend(st, req) })
	if err != nil {
		return nil, fmt.Errorf("store: append to batch %s: %w", batch, err)
	}
	return res.(*StoredEvent), nil
}

// prepareAppend runs on the sequencer: it checks the event against the
// chain as it will be once everything before it is committed, fixes its
// place (seq and prev) and its bytes, and leaves the signature to a worker.
func (db *DB) prepareAppend(st *seqState, req AppendRequest) (*pending, error) {
	e := req.Event
	if req.Presigned != nil {
		e = req.Presigned.Event
	}
	coop, hd, err := st.head(e.Batch)
	if err != nil {
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
		if _, _, err := st.head(in.Batch); err != nil {
			return nil, fmt.Errorf("inputs[%d]: %w", i, err)
		}
		if b, ok, err := st.eventBatch(in.Hash); err != nil {
			return nil, fmt.Errorf("inputs[%d]: %w", i, err)
		} else if !ok {
			return nil, fmt.Errorf("inputs[%d]: event %s of batch %s: %w", i, in.Hash, in.Batch, trace.ErrNotFound)
		} else if b != in.Batch {
			return nil, &trace.FieldError{Field: fmt.Sprintf("inputs[%d].hash", i), Reason: fmt.Sprintf("event %s is not an event of batch %s", in.Hash, in.Batch)}
		}
	}
	if err := st.checkDraws(e, nil); err != nil {
		return nil, err
	}
	p := &pending{}
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
		p.sign = func() { signer.Seal(se) }
	}
	stored := &StoredEvent{SignedEvent: se, ReceivedAt: db.opts.Now().UTC(), KeyID: req.KeyID}
	st.heads[e.Batch] = head{n: e.Seq + 1, h: se.Hash}
	st.hashes[se.Hash] = e.Batch
	if e.Type == trace.TransformationEvent {
		st.transforms[se.Hash] = e
	}
	p.result = stored
	p.events = []*StoredEvent{stored}
	p.write = func(tx *bolt.Tx) error { return writeEvent(tx, stored) }
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
		n, h = readHead(tx, batchID)
		return nil
	})
	return n, h, err
}

// History returns every event of a batch in order, after checking the chain
// again (trace.VerifyChain). A chain that fails the check is returned with
// an error wrapping trace.ErrVerification, so the caller can show what was
// read and why it is not trusted.
func (db *DB) History(batchID string) ([]*StoredEvent, error) {
	var out []*StoredEvent
	var length uint64
	var head trace.Hash
	err := db.bolt.View(func(tx *bolt.Tx) error {
		if tx.Bucket(bucketBatches).Get([]byte(batchID)) == nil {
			return fmt.Errorf("batch %s: %w", batchID, trace.ErrNotFound)
		}
		length, head = readHead(tx, batchID)
		prefix := append([]byte(batchID), 0)
		c := tx.Bucket(bucketEvents).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			st, err := decodeRecord(v)
			if err != nil {
				return fmt.Errorf("event record %x: %w", k, err)
			}
			fillLog(tx, st)
			out = append(out, st)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: history of batch %s: %w", batchID, err)
	}
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

// EventByHash finds an event by its hash.
func (db *DB) EventByHash(h trace.Hash) (*StoredEvent, error) {
	var st *StoredEvent
	err := db.bolt.View(func(tx *bolt.Tx) error {
		key := tx.Bucket(bucketEventHash).Get(h[:])
		if key == nil {
			return fmt.Errorf("event %s: %w", h, trace.ErrNotFound)
		}
		v := tx.Bucket(bucketEvents).Get(key)
		if v == nil {
			return fmt.Errorf("event %s: index points to a missing record: %w", h, trace.ErrVerification)
		}
		var err error
		if st, err = decodeRecord(v); err == nil {
			fillLog(tx, st)
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	e, err := trace.Decode(st.Body)
	if err != nil || trace.HashEvent(st.Body) != h {
		return nil, fmt.Errorf("store: event %s: stored bytes do not match: %w", h, trace.ErrVerification)
	}
	st.Event = e
	return st, nil
}

func eventKey(batchID string, seq uint64) []byte {
	k := make([]byte, 0, len(batchID)+9)
	k = append(k, batchID...)
	k = append(k, 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

func splitEventKey(k []byte) (string, uint64) {
	if len(k) < 9 {
		return "", 0
	}
	return string(k[:len(k)-9]), binary.BigEndian.Uint64(k[len(k)-8:])
}

func readHead(tx *bolt.Tx, batchID string) (uint64, trace.Hash) {
	var h trace.Hash
	v := tx.Bucket(bucketHeads).Get([]byte(batchID))
	if len(v) != 40 {
		return 0, h
	}
	copy(h[:], v[8:])
	return binary.BigEndian.Uint64(v[:8]), h
}

func writeHead(tx *bolt.Tx, batchID string, n uint64, h trace.Hash) error {
	v := binary.BigEndian.AppendUint64(make([]byte, 0, 40), n)
	return tx.Bucket(bucketHeads).Put([]byte(batchID), append(v, h[:]...))
}

const recordVersion = 2

func encodeRecord(st *StoredEvent) []byte {
	b := make([]byte, 0, len(st.Body)+len(st.Signature)+len(st.Signer)+len(st.KeyID)+24)
	b = append(b, recordVersion)
	for _, f := range [][]byte{st.Body, st.Signature, st.Signer, []byte(st.KeyID)} {
		b = binary.AppendUvarint(b, uint64(len(f)))
		b = append(b, f...)
	}
	b = binary.BigEndian.AppendUint64(b, uint64(st.ReceivedAt.UnixNano()))
	return binary.BigEndian.AppendUint64(b, st.LogIndex)
}

// decodeRecord parses an event record, copying every byte out of bbolt's
// memory. It does not decode the event body: History and EventByHash do.
func decodeRecord(v []byte) (*StoredEvent, error) {
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
	se := &trace.SignedEvent{Body: fields[0], Hash: trace.HashEvent(fields[0]), Signature: fields[1], Signer: fields[2]}
	return &StoredEvent{
		SignedEvent: se,
		KeyID:       string(fields[3]),
		ReceivedAt:  time.Unix(0, int64(binary.BigEndian.Uint64(rest[:8]))).UTC(),
		LogIndex:    binary.BigEndian.Uint64(rest[8:]),
	}, nil
}

// fillLog sets an event's log entry; its log index is in its record.
func fillLog(_ *bolt.Tx, st *StoredEvent) {
	st.LogEntry = trace.LogEntry(st.SignedEvent)
}

// writeEvent stores a prepared event: its record, its hash index, the
// lineage and recall indexes, and its batch's new head.
func writeEvent(tx *bolt.Tx, st *StoredEvent) error {
	e := st.Event
	key := eventKey(e.Batch, e.Seq)
	if err := tx.Bucket(bucketEvents).Put(key, encodeRecord(st)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketEventHash).Put(st.Hash[:], key); err != nil {
		return err
	}
	if err := indexEvent(tx, e, st.Hash); err != nil {
		return err
	}
	return writeHead(tx, e.Batch, e.Seq+1, st.Hash)
}
