package store

import (
	"fmt"
	"log/slog"

	"github.com/truyxuat/truyxuat/trace"
)

// The write rules — what an append, a new batch, a registry revision may
// build on, and where in its chain each lands — are one piece of code that
// every implementation of Store runs (Engine). A group committer hands
// each queued request to a Planner, which places it against the committed
// state (Committed) plus the requests placed before it in the same or an
// earlier group not yet committed, and returns a Plan: what to sign, what
// to write (through a Sink, in the group's transaction) and which events
// and records become entries of the transparency log.
//
// The embedded store keeps one Planner for good: its sequencer places
// the next group while the previous one commits. The PostgreSQL store
// makes one per group, inside the group's transaction, after locking the
// log's head, so that nodes sharing one database place writes one group
// at a time.

// Committed is the committed state as the write rules read it. Reads that
// find a stored record at odds with the signed events it must agree with
// say what differs instead of failing, so that the write built on it is
// refused as damaged (ErrDamaged) and nothing is signed.
type Committed interface {
	// LoadHead reads a batch's cooperative and head and checks the head
	// against the last stored event of its chain (CheckHead).
	LoadHead(batchID string) LoadedHead
	// EventBatch returns the batch of an event by its hash ("" when no
	// such event is stored), checking that the stored event hashes to it.
	EventBatch(h trace.Hash) (batch, differs string, err error)
	// NewestRecord returns the newest signed revision of a registry
	// entry, checked against the entry's head (CheckNewestRecord), or nil
	// when the entry has none.
	NewestRecord(kind trace.RecordKind, id string) (*StoredRecord, error)
	// ReadLotBalance computes a lot's balance over its life from the
	// committed chains (ComputeLotBalance); a chain or lineage entry found
	// damaged is returned as *Damage.
	ReadLotBalance(batchID string) (*trace.LotBalance, *Damage, error)
	// Exists reports whether a cooperative, product or batch is stored.
	Exists(kind Entity, id string) (bool, error)
	// GTINOwner returns the product that has a GTIN ("" when none has).
	GTINOwner(gtin string) (string, error)
	// Product returns a stored product (an error wrapping
	// trace.ErrNotFound when there is none).
	Product(id string) (*trace.Product, error)
	// LotOwner returns the batch the lot index gives a lot key to (""
	// when it is free) and, if that batch is not that lot (CheckLot),
	// what differs.
	LotOwner(lotKey string) (batchID, differs string, err error)
}

// Entity names a kind of stored record for Committed.Exists.
type Entity string

// The entities Committed.Exists knows.
const (
	EntityCooperative Entity = "cooperative"
	EntityProduct     Entity = "product"
	EntityBatch       Entity = "batch"
)

// LoadedHead is a batch's cooperative and head as read from the committed
// state, with what the check of the head found wrong with it.
type LoadedHead struct {
	Coop    string     // the batch's cooperative
	Len     uint64     // the number of events of its chain
	Hash    trace.Hash // the hash of the last one (zero without events)
	Differs string     // what disagrees, or "" when the head is sound
	Err     error      // reading failed (wraps trace.ErrNotFound for no such batch)
}

// Damage is a stored record found damaged while reading for a write.
type Damage struct {
	Batch, Record, Detail string
}

// Sink writes what a group's plans store, inside the group's transaction,
// in the order the plans call it.
type Sink interface {
	// PutCooperative stores a new cooperative.
	PutCooperative(c *trace.Cooperative) error
	// UpdateCooperativeProfile sets the stored cooperative's name,
	// province, GLN and profile to c's, keeping the rest (its keys).
	UpdateCooperativeProfile(c *trace.Cooperative) error
	// PutProduct stores a product, new or changed.
	PutProduct(p *trace.Product) error
	// PutBatch stores a new batch and gives it its lot key.
	PutBatch(bt *trace.Batch, lotKey string) error
	// PutEvent stores an event (its LogIndex set): its record, its hash,
	// the lineage and recall indexes, its batch's new head and, for a
	// lot's facts record, the batch's facts.
	PutEvent(st *StoredEvent) error
	// PutRecord stores a registry revision (its LogIndex set) and its
	// entry's new head.
	PutRecord(sr *StoredRecord) error
	// IndexEntry files a new entry of a registry list under its
	// cooperative.
	IndexEntry(coop string, kind trace.RecordKind, id string) error
}

// Plan is a placed request: what to sign, what to write, and the events
// and registry records that become log entries, in this order: its events,
// then its records.
type Plan struct {
	Sign    func()           // optional; may run on another goroutine before Write
	Write   func(Sink) error // runs in the group's transaction
	Result  any              // handed to the caller once committed
	Events  []*StoredEvent
	Records []*StoredRecord
}

// Prepare places one request with a Planner.
type Prepare func(pl *Planner) (*Plan, error)

// Planner is the write rules' view of the chains: the committed state
// plus every request placed but not yet committed. It is used by one
// goroutine at a time.
type Planner struct {
	src Committed
	log *slog.Logger

	heads   map[string]head          // batch id → length and head hash
	batches map[string]string        // batch id → cooperative id
	hashes  map[trace.Hash]string    // event hash → batch id, for events not yet committed
	lots    map[string]string        // lot key → batch id, for batches not yet committed
	records map[string]head          // kind "/" id → revisions and newest hash, as checked or pending
	ids     map[string]bool          // entity "/" id of cooperatives and products not yet committed
	gtins   map[string]string        // GTIN → product id, for products not yet committed
	entries map[string]*trace.Record // kind "/" id → newest registry list record, as pending or committed
	// transforms are the transformations not yet committed, by event
	// hash, for the balances of the lots they take from.
	transforms map[trace.Hash]*trace.Event

	// The embedded store's own: the head of the batch of the request
	// being placed, read by its caller (headHint), the resets so far, and
	// what to tell when the Planner holds a batch's head.
	hint   *headHint
	epoch  uint64
	loaded func(batch string)
}

type head struct {
	n uint64
	h trace.Hash
}

// NewPlanner returns a Planner reading the committed state from src.
func NewPlanner(src Committed, log *slog.Logger) *Planner {
	if log == nil {
		log = slog.Default()
	}
	return &Planner{src: src, log: log, heads: map[string]head{}, batches: map[string]string{}, hashes: map[trace.Hash]string{},
		lots: map[string]string{}, records: map[string]head{}, ids: map[string]bool{}, gtins: map[string]string{},
		transforms: map[trace.Hash]*trace.Event{}, entries: map[string]*trace.Record{}}
}

// reset forgets everything placed: the committed state is read again.
func (pl *Planner) reset() {
	clear(pl.heads)
	clear(pl.batches)
	clear(pl.hashes)
	clear(pl.lots)
	clear(pl.records)
	clear(pl.ids)
	clear(pl.gtins)
	clear(pl.transforms)
	clear(pl.entries)
}

// damaged logs a damaged record and returns the error that refuses the
// write built on it.
func (pl *Planner) damaged(batch, record, format string, args ...any) *DamagedError {
	return logDamaged(pl.log, batch, record, fmt.Sprintf(format, args...))
}

func logDamaged(log *slog.Logger, batch, record, detail string) *DamagedError {
	err := &DamagedError{Batch: batch, Record: record, Detail: detail}
	log.Error("store: damaged data; refusing to sign on top of it",
		"batch", batch, "record", record, "differs", detail)
	return err
}

// head returns a batch's cooperative, length and head: placed, or read
// and checked from the committed state (a damaged one refuses the write,
// and is read and checked again on the next write to that batch).
func (pl *Planner) head(batchID string) (string, head, error) {
	if coop, ok := pl.batches[batchID]; ok {
		return coop, pl.heads[batchID], nil
	}
	var lh LoadedHead
	if h := pl.hint; h != nil && h.batch == batchID && h.epoch == pl.epoch {
		lh = h.LoadedHead
	} else {
		lh = pl.src.LoadHead(batchID)
	}
	if lh.Err != nil {
		return "", head{}, lh.Err
	}
	if lh.Differs != "" {
		return "", head{}, pl.damaged(batchID, "head", "%s", lh.Differs)
	}
	pl.batches[batchID] = lh.Coop
	pl.heads[batchID] = head{n: lh.Len, h: lh.Hash}
	pl.markLoaded(batchID)
	return lh.Coop, head{n: lh.Len, h: lh.Hash}, nil
}

func (pl *Planner) markLoaded(batchID string) {
	if pl.loaded != nil {
		pl.loaded(batchID)
	}
}

// eventBatch returns the batch of an event hash, placed or committed.
func (pl *Planner) eventBatch(h trace.Hash) (string, bool, error) {
	if b, ok := pl.hashes[h]; ok {
		return b, true, nil
	}
	batch, differs, err := pl.src.EventBatch(h)
	if err != nil {
		return "", false, err
	}
	if differs != "" {
		return "", false, pl.damaged(batch, "event index", "%s", differs)
	}
	return batch, batch != "", nil
}

// exists reports whether a cooperative or product is stored or placed.
func (pl *Planner) exists(kind Entity, id string) (bool, error) {
	if pl.ids[string(kind)+"/"+id] {
		return true, nil
	}
	return pl.src.Exists(kind, id)
}

// recordHead returns an entry's number of revisions and newest hash as
// the Planner sees it: committed, plus any placed.
func (pl *Planner) recordHead(kind trace.RecordKind, id string) (head, error) {
	name := string(recordName(kind, id))
	if hd, ok := pl.records[name]; ok {
		return hd, nil
	}
	sr, err := pl.src.NewestRecord(kind, id)
	if err != nil {
		return head{}, err
	}
	var hd head
	if sr != nil {
		hd = head{n: sr.Record.Seq + 1, h: sr.Hash}
	}
	pl.records[name] = hd
	return hd, nil
}

// pendingOrLatest returns an entry's newest record as the Planner sees
// it: placed in a group not yet committed, else committed.
func (pl *Planner) pendingOrLatest(kind trace.RecordKind, id string) (*trace.Record, error) {
	if r, ok := pl.entries[string(recordName(kind, id))]; ok {
		return r, nil
	}
	sr, err := pl.src.NewestRecord(kind, id)
	if err != nil {
		return nil, err
	}
	if sr == nil {
		return nil, fmt.Errorf("%s %s: %w", kind, id, trace.ErrNotFound)
	}
	return sr.Record, nil
}

// lotBalance is a lot's balance as the Planner sees it: the committed
// chains, the transformations placed but not yet committed, and own, the
// earlier events of the request being placed. A transformation that is
// both committed and still placed is counted once (LotBalance counts each
// transformation once).
func (pl *Planner) lotBalance(batchID string, own []*trace.SignedEvent) (*trace.LotBalance, error) {
	lb, dmg, err := pl.src.ReadLotBalance(batchID)
	if err != nil {
		return nil, err
	}
	if dmg != nil {
		err := pl.damaged(dmg.Batch, dmg.Record, "%s", dmg.Detail)
		err.Refused = "transformations taking from batch " + batchID + " are refused"
		return nil, err
	}
	for h, e := range pl.transforms {
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
func (pl *Planner) checkDraws(e *trace.Event, own []*trace.SignedEvent) error {
	if e.Type != trace.TransformationEvent {
		return nil
	}
	done := map[string]bool{}
	for i, in := range e.Inputs {
		if done[in.Batch] || in.Quantity == nil {
			continue
		}
		done[in.Batch] = true
		lb, err := pl.lotBalance(in.Batch, own)
		if err != nil {
			return fmt.Errorf("inputs[%d]: %w", i, err)
		}
		if err := lb.Check(e); err != nil {
			return err
		}
	}
	return nil
}
