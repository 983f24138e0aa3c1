package pg

import (
	"context"
	"errors"
	"runtime"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// A request is one write queued for the committer.
type request struct {
	ctx     context.Context
	batch   string // the batch whose head it builds on, "" for none
	prepare store.Prepare
	plan    *store.Plan
	result  any
	err     error
	done    chan struct{}
}

// backend gives the Engine this store's reads outside any group and its
// committer.
type backend struct{ db *DB }

var _ store.Backend = backend{}

func (b backend) committed() *committed { return &committed{db: b.db, q: b.db.pool} }

func (b backend) LoadHead(id string) store.LoadedHead { return b.committed().LoadHead(id) }
func (b backend) EventBatch(h trace.Hash) (string, string, error) {
	return b.committed().EventBatch(h)
}
func (b backend) NewestRecord(kind trace.RecordKind, id string) (*store.StoredRecord, error) {
	return b.committed().NewestRecord(kind, id)
}
func (b backend) ReadLotBalance(id string) (*trace.LotBalance, *store.Damage, error) {
	return b.committed().ReadLotBalance(id)
}
func (b backend) Exists(kind store.Entity, id string) (bool, error) {
	return b.committed().Exists(kind, id)
}
func (b backend) GTINOwner(gtin string) (string, error)     { return b.committed().GTINOwner(gtin) }
func (b backend) Product(id string) (*trace.Product, error) { return b.db.Product(id) }
func (b backend) LotOwner(lk string) (string, string, error) {
	return b.committed().LotOwner(lk)
}
func (b backend) Cooperative(id string) (*trace.Cooperative, error) { return b.db.Cooperative(id) }
func (b backend) Batch(id string) (*trace.Batch, error)             { return b.db.Batch(id) }
func (b backend) AddCooperativeKey(id string, pub []byte, first bool) (*trace.Cooperative, bool, error) {
	return b.db.AddCooperativeKey(id, pub, first)
}

// Submit queues a request for the committer and waits until it is
// committed, or refused.
func (b backend) Submit(ctx context.Context, batch string, prepare store.Prepare) (any, error) {
	db := b.db
	if err := db.writable(); err != nil {
		return nil, err
	}
	req := &request{ctx: ctx, batch: batch, prepare: prepare, done: make(chan struct{})}
	db.closeMu.RLock()
	if db.closed {
		db.closeMu.RUnlock()
		return nil, store.ErrClosed
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

// committer commits groups: one request, then whatever is queued behind
// it, in one transaction; what arrives meanwhile is the next group.
func (db *DB) committer() {
	defer close(db.stopped)
	signJobs := make(chan func(), 4*db.opts.MaxGroup)
	defer close(signJobs)
	for i := 0; i < 2*runtime.GOMAXPROCS(0); i++ {
		go func() {
			for job := range signJobs {
				job()
			}
		}()
	}
	for {
		var g []*request
		select {
		case r := <-db.reqs:
			g = append(g, r)
		case <-db.stop:
			// Commit what was queued before Close, then stop.
			for {
				select {
				case r := <-db.reqs:
					db.commitGroup(db.fill([]*request{r}), signJobs)
				default:
					return
				}
			}
		}
		db.commitGroup(db.fill(g), signJobs)
	}
}

// fill adds what is queued to a group, up to MaxGroup.
func (db *DB) fill(g []*request) []*request {
	for len(g) < db.opts.MaxGroup {
		select {
		case r := <-db.reqs:
			g = append(g, r)
		default:
			return g
		}
	}
	return g
}

func (db *DB) refuse(r *request, err error) {
	r.err = err
	db.statsMu.Lock()
	db.stats.Rejected++
	db.statsMu.Unlock()
	close(r.done)
}

// commitGroup places, signs and writes a group in one transaction that
// holds the log's state row and the rows of the batches it touches.
func (db *DB) commitGroup(g []*request, signJobs chan<- func()) {
	ctx, cancel := db.ctx()
	defer cancel()
	placed, events, err := db.groupTx(ctx, g, signJobs)
	if len(placed) == 0 {
		return
	}
	if err != nil {
		err = db.fail("store: commit", err)
		var ro *store.ReadOnlyError
		if !errors.As(err, &ro) {
			db.log.Error("store: commit failed; the whole group is refused", "error", err, "group", len(placed))
		}
		for _, r := range placed {
			db.refuse(r, err)
		}
		return
	}
	db.statsMu.Lock()
	db.stats.Commits++
	db.stats.Appends += uint64(events)
	db.stats.Requests += uint64(len(placed))
	if len(placed) > db.stats.MaxGroupSeen {
		db.stats.MaxGroupSeen = len(placed)
	}
	db.statsMu.Unlock()
	db.changed()
	for _, f := range db.onCommit {
		f(store.CommitInfo{Events: len(placed)})
	}
	for _, r := range placed {
		r.result = r.plan.Result
		close(r.done)
	}
}

// groupTx runs a group's transaction. Requests refused while placing are
// answered at once; it returns those placed, which the transaction's
// outcome answers.
//
// The transaction takes two round trips: the first begins it, locks the
// log's state row and the rows of the group's batches (in that order, as
// every node does) and reads what placing and appending need (the log's
// size, its edge tiles and bundle, the batches' heads); the second, once
// the group is placed and signed, writes everything and commits. Writes
// queued meanwhile join the group; only those to batches not read yet,
// and a plan that reads what the group did not name (a transformation's
// inputs), add a round trip.
func (db *DB) groupTx(ctx context.Context, g []*request, signJobs chan<- func()) (placed []*request, events int, err error) {
	conn, err := db.pool.Acquire(ctx)
	if err != nil {
		return g, 0, err
	}
	defer conn.Release()
	open := true
	defer func() {
		if open {
			// A connection left in a transaction is closed by the pool
			// on release; a rollback keeps it.
			rctx, cancel := db.ctx()
			conn.Exec(rctx, "ROLLBACK")
			cancel()
		}
	}()
	var batches []string
	seen := map[string]bool{}
	for _, r := range g {
		if r.batch != "" && !seen[r.batch] {
			seen[r.batch] = true
			batches = append(batches, r.batch)
		}
	}
	c := &committed{db: db, ctx: ctx, q: conn, heads: map[string]store.LoadedHead{}}
	tc := &tileCache{ctx: ctx, q: conn, tiles: map[[2]uint64][]byte{}, bundles: map[uint64][]byte{}}
	st, readOnly, err := begin(ctx, conn, c, tc, batches)
	if err != nil {
		return g, 0, err
	}
	if readOnly != nil {
		db.readOnly.CompareAndSwap(nil, readOnly)
		return g, 0, db.readOnly.Load()
	}
	// Writes that arrived while the log's row was awaited (another node
	// held it) join the group: with several nodes, a group holds what
	// its node received during the others' commits. Their batches not
	// read yet are read and locked in one more round trip.
	first := len(g)
	g = db.fill(g)
	var more []string
	for _, r := range g[first:] {
		if r.batch != "" && !seen[r.batch] {
			seen[r.batch] = true
			more = append(more, r.batch)
		}
	}
	if err := c.loadHeads(more, true); err != nil {
		return g, 0, err
	}
	pl := store.NewPlanner(c, db.log)
	for i, r := range g {
		if err := r.ctx.Err(); err != nil {
			db.refuse(r, err)
			continue
		}
		p, err := r.prepare(pl)
		if c.failed != nil {
			// The transaction is aborted: nothing more can be read or
			// written in it.
			return append(placed, g[i:]...), 0, c.failed
		}
		if err != nil {
			db.refuse(r, err)
			continue
		}
		r.plan = p
		placed = append(placed, r)
	}
	if len(placed) == 0 {
		return nil, 0, nil
	}
	// Sign every plan, in parallel: the signatures cover the places just
	// fixed, so they are made while the rows are held.
	var wg sync.WaitGroup
	plans := make([]*store.Plan, len(placed))
	for i, r := range placed {
		plans[i] = r.plan
		events += len(r.plan.Events)
		if r.plan.Sign != nil {
			wg.Add(1)
			sign := r.plan.Sign
			signJobs <- func() { defer wg.Done(); sign() }
		}
	}
	wg.Wait()
	items := store.NumberLog(plans, st.size)
	s := &sink{db: db, ctx: ctx, tx: conn, coops: map[string]*trace.Cooperative{}, products: map[string]*trace.Product{},
		batches: map[string]*pendingBatch{}, heads: map[string]headRow{}, recordHeads: map[string]headRow{}}
	// This node's copies of what the group changes are dropped once the
	// transaction is over, before any writer is answered; after an error
	// too, since COMMIT may have been applied.
	defer func() { db.docs.drop(s.changedDocs()) }()
	for _, p := range plans {
		if err := p.Write(s); err != nil {
			return placed, 0, err
		}
	}
	if s.failed != nil {
		return placed, 0, s.failed
	}
	logWrites, err := appendLog(tc, st.size, items)
	if err != nil {
		return placed, 0, err
	}
	next := logState{size: st.size + uint64(len(items)), recalls: st.recalls + uint64(len(s.recalls)), records: st.records + uint64(len(s.records))}
	if err := s.flushAndCommit(items, st.size, logWrites, next); err != nil {
		return placed, 0, err
	}
	open = false
	return placed, events, nil
}

// SQL of a group's first round trip, after BEGIN and the lock of the
// log's state row, which the statements after it see as it is once
// locked. The edge tiles of the log are those at the right edge of each
// level that has nodes (their index and the one before, as tlog.Append
// reads them); the edge bundle is the partial one, if any.
const (
	lockLogState = `SELECT size, recalls, records, read_only FROM log_state WHERE id = 0 FOR UPDATE`
	edgeTiles    = `SELECT t.level, t.idx, t.data FROM log_state s
		CROSS JOIN generate_series(0, 7) AS l(level)
		CROSS JOIN LATERAL (SELECT (s.size >> ($1 * l.level)) / $2 AS idx) e
		JOIN LATERAL (SELECT level, idx, data FROM log_tiles t
			WHERE t.level = l.level AND t.idx BETWEEN e.idx - 1 AND e.idx) t ON true
		WHERE s.id = 0 AND (s.size >> ($1 * l.level)) > 0`
	edgeBundle = `SELECT b.data FROM log_state s JOIN log_bundles b ON b.idx = s.size / $1
		WHERE s.id = 0 AND s.size % $1 <> 0`
)

// begin starts a group's transaction on conn and reads, in one round
// trip, the log's state, its edge tiles and bundle (into tc) and the
// heads of batches (into c), locking the log's row and the batches'.
func begin(ctx context.Context, conn *pgxpool.Conn, c *committed, tc *tileCache, batches []string) (st logState, readOnly *store.ReadOnlyError, err error) {
	b := &pgx.Batch{}
	b.Queue(`BEGIN ISOLATION LEVEL READ COMMITTED`)
	b.Queue(lockLogState)
	b.Queue(edgeTiles, tlog.TileHeight, tlog.TileWidth)
	b.Queue(edgeBundle, tlog.TileWidth)
	if len(batches) > 0 {
		b.Queue(headsQuery(true), batches)
	}
	br := conn.SendBatch(ctx, b)
	defer func() {
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
	}()
	if _, err := br.Exec(); err != nil {
		return st, nil, err
	}
	var ro *string
	if err := br.QueryRow().Scan(&st.size, &st.recalls, &st.records, &ro); err != nil {
		return st, nil, err
	}
	if ro != nil {
		readOnly = parseReadOnly(*ro)
	}
	rows, err := br.Query()
	if err != nil {
		return st, nil, err
	}
	if err := tc.readEdge(rows, st.size); err != nil {
		return st, nil, err
	}
	var bundle []byte
	if err := br.QueryRow().Scan(&bundle); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return st, nil, err
	}
	if st.size%tlog.TileWidth != 0 {
		tc.bundles[st.size/tlog.TileWidth] = bundle
	}
	if len(batches) > 0 {
		rows, err := br.Query()
		if err != nil {
			return st, nil, err
		}
		if err := c.readHeads(rows, batches); err != nil {
			return st, nil, err
		}
	}
	return st, readOnly, nil
}

type logState struct {
	size, recalls, records uint64
}

type headRow struct {
	n uint64
	h trace.Hash
}

// appendLog computes the entry bundles and hash tiles a group's entries
// change, from the log's edge read by begin.
func appendLog(r *tileCache, size uint64, items []store.LogItem) ([]tlog.TileData, error) {
	if len(items) == 0 {
		return nil, nil
	}
	entries := make([][]byte, len(items))
	for i, it := range items {
		entries[i] = it.Entry
	}
	bundles, leaves, err := tlog.AppendEntries(r, size, entries)
	if err != nil {
		return nil, err
	}
	tiles, _, err := tlog.Append(r, size, leaves)
	if err != nil {
		return nil, err
	}
	return append(bundles, tiles...), nil
}

// tileCache reads tiles and bundles in a transaction; those at the edge
// of the tree were read ahead (readEdge), and none lies beyond it.
type tileCache struct {
	ctx     context.Context
	q       querier
	size    uint64 // the log's size when the edge was read
	edge    bool   // whether it was
	tiles   map[[2]uint64][]byte
	bundles map[uint64][]byte
}

// readEdge keeps the edge tiles of a log of the given size, read by the
// query edgeTiles; those it did not return are absent.
func (r *tileCache) readEdge(rows pgx.Rows, size uint64) error {
	defer rows.Close()
	for rows.Next() {
		var level int16
		var idx int64
		var data []byte
		if err := rows.Scan(&level, &idx, &data); err != nil {
			return err
		}
		r.tiles[[2]uint64{uint64(level), uint64(idx)}] = data
	}
	if err := rows.Err(); err != nil {
		return err
	}
	for level := 0; size>>(tlog.TileHeight*uint(level)) > 0; level++ {
		idx := (size >> (tlog.TileHeight * uint(level))) / tlog.TileWidth
		for _, i := range []uint64{idx, idx - 1} {
			k := [2]uint64{uint64(level), i}
			if _, ok := r.tiles[k]; !ok && i <= idx {
				r.tiles[k] = nil // known absent
			}
		}
	}
	r.size, r.edge = size, true
	return nil
}

// beyondEdge reports whether a tile lies past the log's right edge,
// where nothing is stored yet.
func (r *tileCache) beyondEdge(level int, index uint64) bool {
	if !r.edge {
		return false
	}
	n := r.size >> (tlog.TileHeight * uint(level))
	return n == 0 || index > n/tlog.TileWidth
}

func (r *tileCache) ReadTile(level int, index uint64) ([]byte, error) {
	k := [2]uint64{uint64(level), index}
	if d, ok := r.tiles[k]; ok {
		return d, nil
	}
	if r.beyondEdge(level, index) {
		return nil, nil
	}
	var data []byte
	err := r.q.QueryRow(r.ctx, `SELECT data FROM log_tiles WHERE level = $1 AND idx = $2`, level, int64(index)).Scan(&data)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	r.tiles[k] = data
	return data, nil
}

func (r *tileCache) ReadBundle(index uint64) ([]byte, error) {
	if d, ok := r.bundles[index]; ok {
		return d, nil
	}
	if r.edge && index >= (r.size+tlog.TileWidth-1)/tlog.TileWidth {
		return nil, nil
	}
	var data []byte
	err := r.q.QueryRow(r.ctx, `SELECT data FROM log_bundles WHERE idx = $1`, int64(index)).Scan(&data)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, err
	}
	r.bundles[index] = data
	return data, nil
}

// parseReadOnly reads a reason stored in log_state.read_only: the reason,
// a newline, what to do.
func parseReadOnly(s string) *store.ReadOnlyError {
	reason, remedy, _ := cutLine(s)
	return &store.ReadOnlyError{Reason: reason, Remedy: remedy}
}

func cutLine(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func formatReadOnly(e *store.ReadOnlyError) string { return e.Reason + "\n" + e.Remedy }
