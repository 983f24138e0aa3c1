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

// The sequencer places each request with its Planner (see Engine) and
// gathers the plans into a group; a plan's Sign runs on a pool of signing
// workers, its Write in the group's transaction (boltSink).

type commitReq struct {
	ctx     context.Context
	hint    *headHint // the head of the batch it writes, read by the caller
	prepare Prepare
	p       *Plan
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
func (db *DB) submit(ctx context.Context, prepare Prepare) (any, error) {
	return db.submitHinted(ctx, nil, prepare)
}

// submitHinted is submit with the head of the batch the request writes
// to, read and checked by the caller (headHint), or nil.
func (db *DB) submitHinted(ctx context.Context, hint *headHint, prepare Prepare) (any, error) {
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
	st := db.newPlanner()
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
func (db *DB) sequencer(st *Planner, signJobs chan<- func()) {
	for {
		db.resetIfNeeded(st)
		db.pruneHashes(st)
		g := &group{ready: make(chan struct{}, 1), epoch: st.epoch}
		select {
		case r := <-db.reqs:
			// A commit may have failed while the sequencer waited: the
			// group is still empty, so it can start from the file.
			if db.resetIfNeeded(st) {
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
func (db *DB) resetIfNeeded(st *Planner) bool {
	if !db.resetNeeded.Swap(false) {
		return false
	}
	st.epoch++
	db.epoch.Store(st.epoch)
	db.loaded.Clear()
	st.reset()
	return true
}

// newPlanner is the sequencer's Planner: it reads the file, takes the
// heads the callers of appends read (headHint) and marks the heads it
// holds, so that later callers need not read them.
func (db *DB) newPlanner() *Planner {
	pl := NewPlanner(boltBackend{db}, db.log)
	pl.loaded = func(batch string) { db.loaded.Store(batch, struct{}{}) }
	return pl
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
func (db *DB) prepareInto(st *Planner, g *group, r *commitReq, signJobs chan<- func()) {
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
	if p.Sign != nil {
		g.signing.Add(1)
		signJobs <- func() {
			p.Sign()
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
func (db *DB) committer(st *Planner) {
	var failedEpoch uint64
	failed := false
	for g := range db.toCommit {
		var err error
		var logEnd uint64
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
				plans := make([]*Plan, len(g.reqs))
				for i, r := range g.reqs {
					plans[i] = r.p
				}
				items := NumberLog(plans, logSize(tx))
				sink := boltSink{tx}
				for _, p := range plans {
					if err := p.Write(sink); err != nil {
						return err
					}
				}
				// Every event and record is also an entry of the
				// transparency log, in the same transaction.
				if err := logAppend(tx, items); err != nil {
					return err
				}
				// The events are found by hash through the tail until
				// they are merged into the index.
				for _, p := range plans {
					for _, se := range p.Events {
						db.tail.add(se.Event.Batch, se.Event.Seq, se.LogIndex, se.Hash)
					}
				}
				logEnd = logSize(tx)
				return nil
			})
		}
		if err != nil {
			for _, r := range g.reqs {
				if r.p != nil {
					db.tail.drop(r.p.Events)
				}
			}
			db.log.Error("store: commit failed; the whole group is refused", "error", err, "group", len(g.reqs))
			failed, failedEpoch = true, g.epoch
			db.resetNeeded.Store(true)
			for _, r := range g.reqs {
				r.result, r.err = nil, fmt.Errorf("store: commit: %w", err)
			}
		} else {
			for _, r := range g.reqs {
				r.result = r.p.Result
			}
		}
		events := 0
		for _, r := range g.reqs {
			events += len(r.p.Events)
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
		// A merge of the tail runs before the group is acknowledged, so
		// that nothing is written after an acknowledged append but what
		// the next appends write.
		if err == nil {
			if from := db.tail.from.Load(); logEnd-from >= mergeEvery(from) && logEnd >= db.mergeRetry {
				if !db.mergeTail() {
					// Not again before the tail has grown by as much.
					db.mergeRetry = logEnd + mergeEvery(from)
				}
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
// not right. The log's buckets, the events and the tail are keyed by log
// index: a page once split never takes another key, so with the default
// every page of them would stay half empty. (The event-hash index and the
// chains, keyed by hash and by batch, are written by merges of the tail,
// which keep bbolt's default: pages split full would take a key again and
// be split again, leaving many nearly empty.)
var fillPercent = []struct {
	bucket []byte
	fill   float64
}{
	{bucketLogEvents, 1}, {bucketLogTiles, 1}, {bucketLogBundles, 1}, {bucketEvents, 1}, {bucketRecent, 1},
}

// fillPages sets the fill of each bucket in fillPercent for a write
// transaction (bbolt does not keep it in the file).
func fillPages(tx *bolt.Tx) {
	for _, f := range fillPercent {
		tx.Bucket(f.bucket).FillPercent = f.fill
	}
}

// mergeTail merges the tail into the event-hash index and the chains in a
// transaction of its own (see logTail) and says whether it did. A merge
// that fails is logged and tried again once the tail has grown by as much
// again (or when the store closes); until then the tail's events are
// found through it.
func (db *DB) mergeTail() bool {
	var n int
	var mark uint64
	err := db.bolt.Update(func(tx *bolt.Tx) error {
		var err error
		n, err = mergeTail(tx)
		mark = logSize(tx)
		return err
	})
	if err != nil {
		db.log.Error("store: merging new events into their chains and the event-hash index failed; they are found through the tail until a merge succeeds", "error", err)
		return false
	}
	db.tail.merged(mark)
	db.merges.Add(1)
	db.mergedEvents.Add(uint64(n))
	return true
}

// forget drops committed events from the sequencer's pending-hash set.
func (db *DB) forget(g *group) {
	db.pendingMu.Lock()
	for _, r := range g.reqs {
		for _, se := range r.p.Events {
			db.committedHashes = append(db.committedHashes, se.Hash)
		}
	}
	db.pendingMu.Unlock()
}

// pruneHashes removes committed hashes from st (on the sequencer).
func (db *DB) pruneHashes(st *Planner) {
	db.pendingMu.Lock()
	done := db.committedHashes
	db.committedHashes = nil
	db.pendingMu.Unlock()
	for _, h := range done {
		delete(st.hashes, h)
		delete(st.transforms, h)
	}
}

func loadHead(b *bolt.DB, tail *logTail, batchID string) LoadedHead {
	var lh LoadedHead
	lh.Err = b.View(func(tx *bolt.Tx) error {
		var bt trace.Batch
		if err := getJSON(tx.Bucket(bucketBatches), batchID, "batch", &bt); err != nil {
			return err
		}
		lh.Coop = bt.CooperativeID
		var hd head
		hd, lh.Differs = checkedHead(tx, tail, &bt)
		lh.Len, lh.Hash = hd.n, hd.h
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
	LoadedHead
}

// headHint reads and checks a batch's head for the sequencer, or returns
// nil when the sequencer already has it.
func (db *DB) headHint(batchID string) *headHint {
	if _, ok := db.loaded.Load(batchID); ok {
		return nil
	}
	h := &headHint{batch: batchID, epoch: db.epoch.Load()}
	h.LoadedHead = loadHead(db.bolt, db.tail, batchID)
	return h
}
