package store

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// ErrClosed is returned for writes after Close.
var ErrClosed = errors.New("store: closed")

// Appends flow through two goroutines:
//
//   - the sequencer takes requests in arrival order and prepares each one
//     against its in-memory view of the chains (checks, seq and prev,
//     canonical bytes, hash), hands its signature to a pool of signing
//     workers, and gathers prepared requests into a group;
//   - the committer writes a group in one bbolt transaction, syncs it and
//     only then acknowledges every caller in it.
//
// While the committer syncs one group, the sequencer keeps adding whatever
// arrives to the next group (up to MaxGroup); as soon as the committer is
// free, that group is closed and passed on once its signatures are done.
// A lone request finds the committer free and is passed on at once:
// nothing waits on a timer.

// A prepareFunc runs on the sequencer, one request at a time, in order. It
// checks the request against st and, if it is accepted, returns what to
// write; it may also return a sign function that the workers run in
// parallel before the group is committed.
type prepareFunc func(st *seqState) (*pending, error)

// pending is a prepared request.
type pending struct {
	sign    func()                  // optional; runs on a signing worker
	write   func(tx *bolt.Tx) error // runs in the group's transaction
	result  any                     // handed to the caller once committed
	events  []*StoredEvent          // the events it writes, in order, for the log
	records []*StoredRecord         // the registry records it writes, after its events, for the log
}

type commitReq struct {
	ctx     context.Context
	hint    *headHint // the head of the batch it writes, read by the caller
	prepare prepareFunc
	p       *pending
	result  any
	err     error
	done    chan struct{}
}

type group struct {
	reqs    []*commitReq
	signing atomic.Int64  // signatures not yet done
	ready   chan struct{} // poked when signing reaches zero
	epoch   uint64
}

// seqState is the sequencer's view of the chains: the committed state
// plus every group that is prepared but not yet committed. Only the
// sequencer goroutine touches it.
type seqState struct {
	db      *DB
	heads   map[string]head          // batch id → length and head hash
	batches map[string]string        // batch id → cooperative id
	hashes  map[trace.Hash]string    // event hash → batch id, for events not yet committed
	lots    map[string]string        // lot key → batch id, for batches not yet committed
	records map[string]head          // kind "/" id → revisions and newest hash, as checked or pending
	ids     map[string]bool          // bucket "/" id of cooperatives and products not yet committed
	gtins   map[string]string        // GTIN → product id, for products not yet committed
	entries map[string]*trace.Record // kind "/" id → newest registry list record, as pending or written through the sequencer
	// transforms are the transformations not yet committed, by event
	// hash, for the balances of the lots they take from.
	transforms map[trace.Hash]*trace.Event
	// epoch counts the resets after a failed commit; hint is the head
	// read by the caller of the request being prepared.
	epoch uint64
	hint  *headHint
}

type head struct {
	n uint64
	h trace.Hash
}

// CommitInfo describes one committed group, for observers (metrics, the
// transparency log's checkpointer).
type CommitInfo struct {
	Events int // requests committed in the group
}

// OnCommit registers f to be called, on the committer goroutine, after
// each group is durably committed. f must be quick and must not write.
// Register observers before the first append.
func (db *DB) OnCommit(f func(CommitInfo)) { db.onCommit = append(db.onCommit, f) }

// submit queues a request and waits until it is committed and synced, or refused.
func (db *DB) submit(ctx context.Context, prepare prepareFunc) (any, error) {
	return db.submitHinted(ctx, nil, prepare)
}

// submitHinted is submit with the head of the batch the request writes
// to, read and checked by the caller (headHint), or nil.
func (db *DB) submitHinted(ctx context.Context, hint *headHint, prepare prepareFunc) (any, error) {
	if err := db.writable(); err != nil {
		return nil, err
	}
	req := &commitReq{ctx: ctx, hint: hint, prepare: prepare, done: make(chan struct{})}
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return nil, ErrClosed
	}
	select {
	case db.reqs <- req:
		db.closeMu.RUnlock()
	case <-ctx.Done():
		db.closeMu.RUnlock()
		return nil, ctx.Err()
	}
	// Once queued, the request is committed or refused whatever the
	// context says: the caller must learn which.
	<-req.done
	return req.result, req.err
}

func (db *DB) startPipeline() {
	st := &seqState{db: db, heads: map[string]head{}, batches: map[string]string{}, hashes: map[trace.Hash]string{}, lots: map[string]string{},
		records: map[string]head{}, ids: map[string]bool{}, gtins: map[string]string{}, transforms: map[trace.Hash]*trace.Event{},
		entries: map[string]*trace.Record{}}
	db.toCommit = make(chan *group)
	db.idle = make(chan struct{}, 1)
	db.idle <- struct{}{}
	signJobs := make(chan func(), 4*db.opts.MaxGroup)
	// Twice as many signing workers as processors: they compete for the
	// processors with every waiting writer's goroutine, and the group can
	// only be committed once its last signature is done.
	workers := 2 * runtime.GOMAXPROCS(0)
	var wg sync.WaitGroup
	for i := 0; i < workers; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range signJobs {
				job()
			}
		}()
	}
	committerDone := make(chan struct{})
	go func() {
		defer close(committerDone)
		db.committer(st)
	}()
	go func() {
		db.sequencer(st, signJobs)
		close(signJobs)
		wg.Wait()
		close(db.toCommit)
		<-committerDone
		close(db.stopped)
	}()
}

// sequencer prepares requests in arrival order and gathers them into
// groups. A group stays open while the committer is busy with the one
// before it; the moment the committer is free (its idle token), the group
// is closed, its signatures finished and it is handed over.
func (db *DB) sequencer(st *seqState, signJobs chan<- func()) {
	for {
		st.resetIfNeeded()
		st.pruneHashes()
		g := &group{ready: make(chan struct{}, 1), epoch: st.epoch}
		select {
		case r := <-db.reqs:
			// A commit may have failed while the sequencer waited: the
			// group is still empty, so it can start from the file.
			if st.resetIfNeeded() {
				g.epoch = st.epoch
			}
			db.prepareInto(st, g, r, signJobs)
		case <-db.stop:
			// Commit what was queued before Close, then stop.
			for {
				select {
				case r := <-db.reqs:
					db.prepareInto(st, g, r, signJobs)
				default:
					<-db.idle
					db.handOver(g)
					<-db.idle
					return
				}
			}
		}
	collect:
		for len(g.reqs) < db.opts.MaxGroup {
			select {
			case r := <-db.reqs:
				db.prepareInto(st, g, r, signJobs)
			case <-db.idle:
				break collect
			}
		}
		if len(g.reqs) >= db.opts.MaxGroup {
			<-db.idle
		}
		db.handOver(g)
	}
}

// resetIfNeeded starts the sequencer's view again from the file after a
// commit failed (the view may hold events that were never written), and
// says whether it did.
func (st *seqState) resetIfNeeded() bool {
	db := st.db
	if !db.resetNeeded.Swap(false) {
		return false
	}
	st.epoch++
	db.epoch.Store(st.epoch)
	db.loaded.Clear()
	clear(st.heads)
	clear(st.batches)
	clear(st.hashes)
	clear(st.lots)
	clear(st.records)
	clear(st.ids)
	clear(st.gtins)
	clear(st.transforms)
	clear(st.entries)
	return true
}

// handOver waits for a group's signatures and passes it to the committer,
// whose idle token the caller holds. An empty group (every request was
// refused while preparing) gives the token back instead.
func (db *DB) handOver(g *group) {
	if len(g.reqs) == 0 {
		db.idle <- struct{}{}
		return
	}
	for g.signing.Load() != 0 {
		<-g.ready
	}
	db.toCommit <- g
}

// prepareInto prepares r and adds it to g, or refuses it at once.
func (db *DB) prepareInto(st *seqState, g *group, r *commitReq, signJobs chan<- func()) {
	if err := r.ctx.Err(); err != nil {
		db.refuse(r, err)
		return
	}
	st.hint = r.hint
	p, err := r.prepare(st)
	st.hint = nil
	if err != nil {
		db.refuse(r, err)
		return
	}
	r.p = p
	g.reqs = append(g.reqs, r)
	if p.sign != nil {
		g.signing.Add(1)
		signJobs <- func() {
			p.sign()
			if g.signing.Add(-1) == 0 {
				select {
				case g.ready <- struct{}{}:
				default:
				}
			}
		}
	}
}

func (db *DB) refuse(r *commitReq, err error) {
	r.err = err
	db.statsMu.Lock()
	db.stats.Rejected++
	db.statsMu.Unlock()
	close(r.done)
}

// committer writes each group in one transaction, syncs, then acknowledges.
func (db *DB) committer(st *seqState) {
	var failedEpoch uint64
	failed := false
	for g := range db.toCommit {
		var err error
		if failed && g.epoch <= failedEpoch {
			err = errors.New("an earlier commit failed; this group was prepared on top of it")
		} else if ro := db.readOnly.Load(); ro != nil {
			// The store became read-only while the group was prepared.
			err = ro
		} else {
			err = db.bolt.Update(func(tx *bolt.Tx) error {
				fillPages(tx)
				// Number the group's events in the log first: each
				// event's record holds its log index.
				var items []logItem
				next := logSize(tx)
				for _, r := range g.reqs {
					for _, se := range r.p.events {
						se.LogIndex = next
						next++
						items = append(items, logItem{hash: se.Hash, entry: trace.LogEntry(se.SignedEvent), set: &se.LogEntry})
					}
					for _, sr := range r.p.records {
						sr.LogIndex = next
						next++
						items = append(items, logItem{hash: sr.Hash, entry: sr.SignedRecord.LogEntry(), set: &sr.LogEntry})
					}
				}
				for _, r := range g.reqs {
					if err := r.p.write(tx); err != nil {
						return err
					}
				}
				// Every event and record is also an entry of the
				// transparency log, in the same transaction.
				return logAppend(tx, items)
			})
		}
		if err != nil {
			db.log.Error("store: commit failed; the whole group is refused", "error", err, "group", len(g.reqs))
			failed, failedEpoch = true, g.epoch
			db.resetNeeded.Store(true)
			for _, r := range g.reqs {
				r.result, r.err = nil, fmt.Errorf("store: commit: %w", err)
			}
		} else {
			for _, r := range g.reqs {
				r.result = r.p.result
			}
		}
		events := 0
		for _, r := range g.reqs {
			events += len(r.p.events)
		}
		db.statsMu.Lock()
		if err == nil {
			db.stats.Commits++
			db.stats.Appends += uint64(events)
			db.stats.Requests += uint64(len(g.reqs))
		} else {
			db.stats.Rejected += uint64(len(g.reqs))
		}
		if len(g.reqs) > db.stats.MaxGroupSeen {
			db.stats.MaxGroupSeen = len(g.reqs)
		}
		db.statsMu.Unlock()
		if err == nil {
			db.changed()
			for _, f := range db.onCommit {
				f(CommitInfo{Events: len(g.reqs)})
			}
		}
		db.forget(g)
		for _, r := range g.reqs {
			close(r.done)
		}
		db.idle <- struct{}{}
	}
}

// fillPercent is how full bbolt fills a page when it splits a node of a
// bucket the committer writes to, where bbolt's default (half full) is
// not right. The log's buckets are keyed by log index: a page once split
// never takes another key, so with the default every page of them would
// stay half empty. An event's key is its lot's id then its number: a new
// event comes last among its lot's, and most pages hold lots that take no
// more events, so pages split full stay nearly full (measured with lots
// recorded side by side: 77% against 51%). The event-hash index is keyed
// by hash, so its keys land anywhere: pages split full would take a key
// again and be split again, leaving many nearly empty (19% full,
// measured), so it keeps the default.
var fillPercent = []struct {
	bucket []byte
	fill   float64
}{
	{bucketLogEvents, 1}, {bucketLogTiles, 1}, {bucketLogBundles, 1}, {bucketEvents, 1},
}

// fillPages sets the fill of each bucket in fillPercent for a write
// transaction (bbolt does not keep it in the file).
func fillPages(tx *bolt.Tx) {
	for _, f := range fillPercent {
		tx.Bucket(f.bucket).FillPercent = f.fill
	}
}

// forget drops committed events from the sequencer's pending-hash set.
func (db *DB) forget(g *group) {
	db.pendingMu.Lock()
	for _, r := range g.reqs {
		for _, se := range r.p.events {
			db.committedHashes = append(db.committedHashes, se.Hash)
		}
	}
	db.pendingMu.Unlock()
}

// pruneHashes removes committed hashes from st (on the sequencer).
func (st *seqState) pruneHashes() {
	st.db.pendingMu.Lock()
	done := st.db.committedHashes
	st.db.committedHashes = nil
	st.db.pendingMu.Unlock()
	for _, h := range done {
		delete(st.hashes, h)
		delete(st.transforms, h)
	}
}

// head returns a batch's length and head, from memory or the file. A head
// read from the file is first checked against the last stored event of
// its chain (checkedHead); a damaged one refuses the write, and is read
// and checked again on the next write to that batch. The caller of an
// append reads and checks its batch's head itself when the sequencer has
// not loaded it yet (headHint), so that this work, a read transaction and
// a hash per batch, is done in parallel and not here, one at a time.
func (st *seqState) head(batchID string) (string, head, error) {
	coop, ok := st.batches[batchID]
	if ok {
		return coop, st.heads[batchID], nil
	}
	var lh loadedHead
	if h := st.hint; h != nil && h.batch == batchID && h.epoch == st.epoch {
		lh = h.loadedHead
	} else {
		lh = loadHead(st.db.bolt, batchID)
	}
	if lh.err != nil {
		return "", head{}, lh.err
	}
	if lh.differs != "" {
		return "", head{}, st.db.damaged(batchID, "head", "%s", lh.differs)
	}
	st.batches[batchID] = lh.coop
	st.heads[batchID] = lh.hd
	st.db.loaded.Store(batchID, struct{}{})
	return lh.coop, lh.hd, nil
}

// loadedHead is a batch's cooperative and head as read from the file,
// with what checkedHead found wrong with it.
type loadedHead struct {
	coop    string
	hd      head
	differs string
	err     error
}

func loadHead(b *bolt.DB, batchID string) loadedHead {
	var lh loadedHead
	lh.err = b.View(func(tx *bolt.Tx) error {
		var bt trace.Batch
		if err := getJSON(tx.Bucket(bucketBatches), batchID, "batch", &bt); err != nil {
			return err
		}
		lh.coop = bt.CooperativeID
		lh.hd, lh.differs = checkedHead(tx, &bt)
		return nil
	})
	return lh
}

// headHint is a batch's head read by the caller of an append before it
// queues it. The sequencer takes it in place of reading the file only if
// it has not loaded that batch's head itself and has not been reset since
// the hint was read (the epoch is read before the hint's transaction
// begins). Then the file's head is the batch's head: every write to a
// batch is prepared on the sequencer, which loads the batch's head first
// and keeps it until a reset, and a reset refuses every group prepared
// before it that was not yet committed.
type headHint struct {
	batch string
	epoch uint64
	loadedHead
}

// headHint reads and checks a batch's head for the sequencer, or returns
// nil when the sequencer already has it.
func (db *DB) headHint(batchID string) *headHint {
	if _, ok := db.loaded.Load(batchID); ok {
		return nil
	}
	h := &headHint{batch: batchID, epoch: db.epoch.Load()}
	h.loadedHead = loadHead(db.bolt, batchID)
	return h
}

// eventBatch returns the batch of an event hash, committed or pending. A
// committed one is found through the event-hash index, whose entry must
// lead to a record with that hash.
func (st *seqState) eventBatch(h trace.Hash) (string, bool, error) {
	if b, ok := st.hashes[h]; ok {
		return b, true, nil
	}
	var batch, differs string
	st.db.bolt.View(func(tx *bolt.Tx) error {
		batch, differs = checkedEventKey(tx, h)
		return nil
	})
	if differs != "" {
		return "", false, st.db.damaged(batch, "event index", "%s", differs)
	}
	return batch, batch != "", nil
}
