package store

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// Every record a new signature builds on is checked against the signed
// events before anything is signed: a batch's head (its length and last
// hash, which become the next event's seq and prev) against the last
// stored event of its chain, an entry of the event-hash index (which
// places a transformation's inputs) against the record it points to, and
// an entry of the lot index against the batch it names. In memory the
// sequencer's view is authoritative once checked, so the check runs when
// a record is first read from the file, not on every append.

// ErrDamaged marks a stored record that does not agree with the signed
// events it must agree with. Writes that would build on it are refused,
// and nothing is signed, until an operator repairs the data file; reads
// of other batches and writes to them go on.
var ErrDamaged = errors.New("stored data is damaged")

// DamagedError names the batch whose stored records disagree, the record
// and how.
type DamagedError struct {
	Batch  string // the batch whose records disagree
	Record string // which record: "head", "event index", "lot index", …
	Detail string // what differs
	// Refused says what is refused; empty means writes to the batch.
	Refused string
}

func (e *DamagedError) Error() string {
	what := "the stored " + e.Record
	refused := e.Refused
	if e.Batch != "" {
		what += " of batch " + e.Batch
		if refused == "" {
			refused = "writes to batch " + e.Batch + " are refused"
		}
	}
	if refused == "" {
		refused = "writes that build on it are refused"
	}
	return fmt.Sprintf("%s is damaged: %s; %s until an operator repairs the data file", what, e.Detail, refused)
}

// Unwrap lets errors.Is(err, ErrDamaged) match.
func (e *DamagedError) Unwrap() error { return ErrDamaged }

// damaged logs a damaged record and returns the error that refuses the
// write built on it.
func (db *DB) damaged(batch, record, format string, args ...any) error {
	err := &DamagedError{Batch: batch, Record: record, Detail: fmt.Sprintf(format, args...)}
	db.log.Error("store: damaged data; refusing to sign on top of it",
		"batch", batch, "record", record, "differs", err.Detail)
	return err
}

// checkedHead reads a batch's head and checks it against the last stored
// event of its chain: that record decodes, hashes to the head's hash,
// says it is event length-1 of this batch and of the batch's cooperative,
// links to the record before it, and is the one the event-hash index
// names for its hash. A batch without events has no head record, or a
// zero one. It returns what differs, or "" when the head is sound.
func checkedHead(tx *bolt.Tx, tail *logTail, bt *trace.Batch) (head, string) {
	var hd head
	cv := chainView{tx, tail}
	raw, _ := cv.headRecord(bt.ID)
	switch len(raw) {
	case 0:
		if raw != nil {
			return head{}, "the head record is empty"
		}
	case 40:
		hd.n = binary.BigEndian.Uint64(raw[:8])
		copy(hd.h[:], raw[8:])
	default:
		return head{}, fmt.Sprintf("the head record has %d bytes, not 40", len(raw))
	}
	seq, index, ok, differs := cv.last(bt.ID)
	switch {
	case differs != "":
		return head{}, differs
	case !ok:
		return checkHead(bt, hd, nil)
	}
	events := tx.Bucket(bucketEvents)
	v := events.Get(u64(index))
	if v == nil {
		return head{}, fmt.Sprintf("the chain puts event %d at log index %d, where no event is stored", seq, index)
	}
	body := recordBody(v)
	if body == nil {
		return head{}, fmt.Sprintf("the last event record (number %d) cannot be read", seq)
	}
	end := &ChainEnd{Seq: seq, Body: body}
	if seq > 0 {
		if pi, ok := cv.index(bt.ID, seq-1); ok {
			if before := events.Get(u64(pi)); before != nil {
				end.PrevBody = recordBody(before)
				if end.PrevBody == nil {
					end.PrevBody = []byte{}
				}
			}
		}
	}
	at, ok := tail.lookupEvent(tx, trace.HashEvent(body))
	end.Indexed = ok && at == index
	return checkHead(bt, hd, end)
}

// ChainEnd is the last stored event of a batch's chain as a store read
// it, to check the batch's head against (CheckHead).
type ChainEnd struct {
	Seq      uint64 // its number, as the store keys it
	Body     []byte // its canonical bytes
	PrevBody []byte // the canonical bytes of the event before it; nil when missing
	// Indexed says that the store's event-hash index leads to it.
	Indexed bool
}

// CheckHead checks a batch's head — its length and last hash, which
// become the next event's seq and prev — against the last stored event of
// its chain (nil when the batch has none): that event's bytes are an
// event of this batch and its cooperative at that number, hash to the
// head's hash, link to the event before it, and are what the event-hash
// index leads to. It returns what differs, or "" when the head is sound.
func CheckHead(bt *trace.Batch, length uint64, last trace.Hash, end *ChainEnd) string {
	_, differs := checkHead(bt, head{n: length, h: last}, end)
	return differs
}

func checkHead(bt *trace.Batch, hd head, end *ChainEnd) (head, string) {
	if end == nil {
		if hd != (head{}) {
			return head{}, fmt.Sprintf("the head says %d events ending in %s, but the batch has no stored events", hd.n, hd.h)
		}
		return hd, ""
	}
	seq := end.Seq
	e, err := trace.Decode(end.Body)
	if err != nil {
		return head{}, fmt.Sprintf("the last event record (number %d) holds no valid event: %v", seq, err)
	}
	if e.Batch != bt.ID || e.Seq != seq {
		return head{}, fmt.Sprintf("the event stored as number %d says it is number %d of batch %s", seq, e.Seq, e.Batch)
	}
	if e.Cooperative != bt.CooperativeID {
		return head{}, fmt.Sprintf("the batch record names cooperative %s, but its events are of cooperative %s", bt.CooperativeID, e.Cooperative)
	}
	h := trace.HashEvent(end.Body)
	if hd.n != seq+1 || hd.h != h {
		return head{}, fmt.Sprintf("the head says %d events ending in %s, but the last stored event is number %d with hash %s", hd.n, hd.h, seq, h)
	}
	if seq > 0 {
		if end.PrevBody == nil {
			return head{}, fmt.Sprintf("event %d is missing", seq-1)
		}
		if ph := trace.HashEvent(end.PrevBody); ph != e.Prev {
			return head{}, fmt.Sprintf("the last event links to %s, but event %d hashes to %s", e.Prev, seq-1, ph)
		}
	}
	if !end.Indexed {
		return head{}, fmt.Sprintf("the event index does not lead to the last event %s", h)
	}
	return hd, ""
}

// checkedEventKey follows the event-hash index for h and checks that the
// record it leads to hashes to h. It returns the record's batch, or ""
// when h is not indexed, and what differs when the entry is damaged.
func checkedEventKey(tx *bolt.Tx, tail *logTail, h trace.Hash) (batch string, differs string) {
	index, ok := tail.lookupEvent(tx, h)
	if !ok {
		return "", ""
	}
	v := tx.Bucket(bucketEvents).Get(u64(index))
	if v == nil {
		return "", fmt.Sprintf("the index leads event %s to log index %d, where no event is stored", h, index)
	}
	body := recordBody(v)
	e, err := trace.Decode(body)
	if err != nil {
		return "", fmt.Sprintf("the index leads event %s to log index %d, whose record holds no event: %v", h, index, err)
	}
	return e.Batch, IndexedEventDiffers(h, e.Seq, body)
}

// IndexedEventDiffers checks the event the event-hash index leads a hash
// to (number seq of its batch): its bytes must hash to it. It returns
// what differs, or "".
func IndexedEventDiffers(h trace.Hash, seq uint64, body []byte) string {
	if got := trace.HashEvent(body); got != h {
		return fmt.Sprintf("the index leads event %s to event %d, whose bytes hash to %s", h, seq, got)
	}
	return ""
}

// recordBody returns the event bytes of a record without copying them,
// or nil if the record cannot be read.
func recordBody(v []byte) []byte {
	if len(v) < 1 || (v[0] != eventRecordVersion && v[0] != recordVersion) {
		return nil
	}
	n, k := binary.Uvarint(v[1:])
	if k <= 0 || uint64(len(v)-1-k) < n {
		return nil
	}
	return v[1+k : 1+k+int(n)]
}

// checkedLot checks an entry of the lot index: the batch it names exists
// and is that lot of that product. It returns what differs, or "".
func checkedLot(tx *bolt.Tx, lk, batchID string) string {
	raw := tx.Bucket(bucketBatches).Get([]byte(batchID))
	if raw == nil {
		return fmt.Sprintf("the lot index gives lot key %q to batch %q, which does not exist", lk, batchID)
	}
	var bt trace.Batch
	if err := json.Unmarshal(raw, &bt); err != nil {
		return fmt.Sprintf("the batch record the lot index names cannot be read: %v", err)
	}
	var p trace.Product
	if err := getJSON(tx.Bucket(bucketProducts), bt.ProductID, "product", &p); err != nil {
		return fmt.Sprintf("the lot index names a batch whose product cannot be read: %v", err)
	}
	return LotEntryDiffers(lk, &bt, &p)
}

// LotEntryDiffers checks an entry of the lot index, which gives lot key
// lk to batch bt, of product p: bt must be that lot of that product. It
// returns what differs, or "".
func LotEntryDiffers(lk string, bt *trace.Batch, p *trace.Product) string {
	if got := LotKey(p, bt.Lot); got != lk {
		return fmt.Sprintf("the lot index gives lot key %q to batch %s, which is lot %q of product %s", lk, bt.ID, bt.Lot, p.ID)
	}
	return ""
}

// CheckLot checks, before the cooperative's key signs a label of a batch,
// that the lot index gives the batch's lot (and product) to this batch:
// a label signature covers the GTIN and lot read from the batch's and its
// product's records. A mismatch is a *DamagedError.
func (db *DB) CheckLot(batchID string) error {
	var detail string
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var bt trace.Batch
		if err := getJSON(tx.Bucket(bucketBatches), batchID, "batch", &bt); err != nil {
			return err
		}
		var p trace.Product
		if err := getJSON(tx.Bucket(bucketProducts), bt.ProductID, "product", &p); err != nil {
			return err
		}
		lk := lotKey(&p, bt.Lot)
		if got := tx.Bucket(bucketLots).Get(lk); string(got) != batchID {
			detail = fmt.Sprintf("the batch record says lot %q of product %s, but the lot index gives that lot to batch %q", bt.Lot, p.ID, got)
		}
		return nil
	})
	if err != nil || detail == "" {
		return err
	}
	derr := db.damaged(batchID, "lot index", "%s", detail)
	derr.(*DamagedError).Refused = "signed labels of batch " + batchID + " are refused"
	return derr
}
