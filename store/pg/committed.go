package pg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// committed reads the committed state for the write rules
// (store.Committed): in a group's transaction, which holds the log's state
// row and the rows of the batches whose heads it read, or from the pool,
// for the checks made before a request is queued.
type committed struct {
	db    *DB
	ctx   context.Context // the group's; nil for reads from the pool
	q     querier
	heads map[string]store.LoadedHead // read in the group's transaction
	// failed is the first error of the transaction, which aborts it.
	failed error
}

var _ store.Committed = (*committed)(nil)

// run runs f with the transaction's context, or a fresh one for the pool.
// An error of the database aborts the transaction: it is kept in failed.
func (c *committed) run(f func(ctx context.Context, q querier) error) error {
	if c.ctx == nil {
		ctx, cancel := c.db.ctx()
		defer cancel()
		return c.db.fail("", f(ctx, c.q))
	}
	err := f(c.ctx, c.q)
	if err != nil && c.failed == nil && isSQL(err) {
		c.failed = err
	}
	return c.db.fail("", err)
}

// sqlError marks an error that came from the database (not a decoding or
// a check), which aborts a transaction.
type sqlError struct{ error }

func (e sqlError) Unwrap() error { return e.error }

func isSQL(err error) bool {
	var se sqlError
	return errors.As(err, &se)
}

func sqlErr(err error) error {
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		return err
	}
	return sqlError{err}
}

// loadHeads reads, and in a transaction locks, the rows of batches and
// their heads, each checked against the last stored event of its chain
// (store.CheckHead).
func (c *committed) loadHeads(ids []string, lock bool) error {
	if len(ids) == 0 {
		return nil
	}
	return c.run(func(ctx context.Context, db querier) error {
		rows, err := db.Query(ctx, headsQuery(lock), ids)
		if err != nil {
			return sqlErr(err)
		}
		return c.readHeads(rows, ids)
	})
}

// headsQuery reads batches' rows and the ends of their chains, given
// their ids; with lock, it locks the rows in the order of their ids.
func headsQuery(lock bool) string {
	q := `SELECT b.id, b.doc::text, b.length, b.head, l.seq, l.body, l.hash, p.body
		FROM batches b
		LEFT JOIN LATERAL (SELECT seq, body, hash FROM events e WHERE e.batch_id = b.id ORDER BY seq DESC LIMIT 1) l ON true
		LEFT JOIN events p ON p.batch_id = b.id AND p.seq = l.seq - 1
		WHERE b.id = ANY($1)`
	if lock {
		q += ` ORDER BY b.id FOR UPDATE OF b`
	}
	return q
}

// readHeads keeps the heads that rows of headsQuery hold, each checked
// (store.CheckHead); an id without a row is a batch not found.
func (c *committed) readHeads(rows pgx.Rows, ids []string) error {
	defer rows.Close()
	found := map[string]store.LoadedHead{}
	for rows.Next() {
		var id, doc string
		var length int64
		var head, lastBody, lastHash, prevBody []byte
		var lastSeq *int64
		if err := rows.Scan(&id, &doc, &length, &head, &lastSeq, &lastBody, &lastHash, &prevBody); err != nil {
			return sqlErr(err)
		}
		found[id] = checkedHead(id, doc, length, head, lastSeq, lastBody, lastHash, prevBody)
	}
	if err := rows.Err(); err != nil {
		return sqlErr(err)
	}
	if c.heads == nil {
		c.heads = map[string]store.LoadedHead{}
	}
	for _, id := range ids {
		lh, ok := found[id]
		if !ok {
			lh.Err = fmt.Errorf("batch %s: %w", id, trace.ErrNotFound)
		}
		c.heads[id] = lh
	}
	return nil
}

func checkedHead(id, doc string, length int64, head []byte, lastSeq *int64, lastBody, lastHash, prevBody []byte) store.LoadedHead {
	var lh store.LoadedHead
	var bt trace.Batch
	if err := json.Unmarshal([]byte(doc), &bt); err != nil {
		lh.Err = fmt.Errorf("batch %s: stored record is damaged: %w", id, err)
		return lh
	}
	lh.Coop = bt.CooperativeID
	var hd trace.Hash
	switch {
	case head == nil:
	case len(head) != len(hd):
		lh.Differs = fmt.Sprintf("the head record has %d bytes, not 32", len(head))
		return lh
	default:
		copy(hd[:], head)
	}
	var end *store.ChainEnd
	if lastSeq != nil {
		end = &store.ChainEnd{Seq: uint64(*lastSeq), Body: lastBody, PrevBody: prevBody,
			Indexed: bytes.Equal(lastHash, hashOf(lastBody))}
	}
	if lh.Differs = store.CheckHead(&bt, uint64(length), hd, end); lh.Differs == "" {
		lh.Len, lh.Hash = uint64(length), hd
	}
	return lh
}

func hashOf(body []byte) []byte {
	h := trace.HashEvent(body)
	return h[:]
}

func (c *committed) LoadHead(id string) store.LoadedHead {
	if lh, ok := c.heads[id]; ok {
		return lh
	}
	if err := c.loadHeads([]string{id}, c.ctx != nil); err != nil {
		return store.LoadedHead{Err: err}
	}
	return c.heads[id]
}

func (c *committed) EventBatch(h trace.Hash) (batch, differs string, err error) {
	err = c.run(func(ctx context.Context, q querier) error {
		var seq int64
		var body []byte
		err := q.QueryRow(ctx, `SELECT batch_id, seq, body FROM events WHERE hash = $1`, h[:]).Scan(&batch, &seq, &body)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return sqlErr(err)
		}
		differs = store.IndexedEventDiffers(h, uint64(seq), body)
		return nil
	})
	return batch, differs, err
}

func (c *committed) NewestRecord(kind trace.RecordKind, id string) (sr *store.StoredRecord, err error) {
	err = c.run(func(ctx context.Context, q querier) error {
		var length int64
		var head []byte
		var rec recordRow
		err := q.QueryRow(ctx, `SELECT h.length, h.head, r.body, r.signature, r.signer, r.key_id, r.received_ns, r.log_index
			FROM record_heads h LEFT JOIN records r ON r.kind = h.kind AND r.id = h.id AND r.seq = h.length - 1
			WHERE h.kind = $1 AND h.id = $2`, string(kind), id).
			Scan(&length, &head, &rec.body, &rec.sig, &rec.signer, &rec.keyID, &rec.receivedNS, &rec.logIndex)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return sqlErr(err)
		}
		sr, err = newestRecord(kind, id, length, head, &rec)
		return err
	})
	return sr, err
}

// newestRecord checks an entry's newest revision against its head.
func newestRecord(kind trace.RecordKind, id string, length int64, head []byte, rec *recordRow) (*store.StoredRecord, error) {
	var hd trace.Hash
	if length <= 0 || len(head) != len(hd) {
		return nil, store.RecordDamaged(kind, id, "its head is unreadable")
	}
	copy(hd[:], head)
	if rec.body == nil {
		return nil, store.RecordDamaged(kind, id, fmt.Sprintf("its newest revision %d is missing", length-1))
	}
	return store.CheckNewestRecord(kind, id, uint64(length), hd, rec.stored())
}

// recordRow is a row of records (or events) as read.
type recordRow struct {
	body, sig, signer []byte
	keyID             *string
	receivedNS        *int64
	logIndex          *int64
}

func (r *recordRow) stored() *store.StoredRecord {
	sr := &store.StoredRecord{SignedRecord: &trace.SignedRecord{Body: r.body, Hash: trace.HashEvent(r.body), Signature: r.sig, Signer: r.signer}}
	if r.keyID != nil {
		sr.KeyID = *r.keyID
	}
	if r.receivedNS != nil {
		sr.ReceivedAt = time.Unix(0, *r.receivedNS).UTC()
	}
	if r.logIndex != nil {
		sr.LogIndex = uint64(*r.logIndex)
	}
	sr.LogEntry = sr.SignedRecord.LogEntry()
	return sr
}

func (r *recordRow) event() *store.StoredEvent {
	se := &trace.SignedEvent{Body: r.body, Hash: trace.HashEvent(r.body), Signature: r.sig, Signer: r.signer}
	st := &store.StoredEvent{SignedEvent: se}
	if r.keyID != nil {
		st.KeyID = *r.keyID
	}
	if r.receivedNS != nil {
		st.ReceivedAt = time.Unix(0, *r.receivedNS).UTC()
	}
	if r.logIndex != nil {
		st.LogIndex = uint64(*r.logIndex)
	}
	st.LogEntry = trace.LogEntry(se)
	return st
}

func (c *committed) ReadLotBalance(id string) (lb *trace.LotBalance, dmg *store.Damage, err error) {
	err = c.run(func(ctx context.Context, q querier) error {
		var err error
		lb, dmg, err = store.ComputeLotBalance(chains{ctx, q}, id)
		return err
	})
	return lb, dmg, err
}

func (c *committed) Exists(kind store.Entity, id string) (bool, error) {
	table := map[store.Entity]string{store.EntityCooperative: "cooperatives", store.EntityProduct: "products", store.EntityBatch: "batches"}[kind]
	if table == "" {
		return false, fmt.Errorf("pg: no table of %s", kind)
	}
	found := false
	err := c.run(func(ctx context.Context, q querier) error {
		err := q.QueryRow(ctx, `SELECT true FROM `+table+` WHERE id = $1`, id).Scan(&found)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return sqlErr(err)
	})
	return found, err
}

func (c *committed) GTINOwner(gtin string) (owner string, err error) {
	err = c.run(func(ctx context.Context, q querier) error {
		err := q.QueryRow(ctx, `SELECT id FROM products WHERE gtin = $1 ORDER BY id LIMIT 1`, gtin).Scan(&owner)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return sqlErr(err)
	})
	return owner, err
}

func (c *committed) Product(id string) (p *trace.Product, err error) {
	err = c.run(func(ctx context.Context, q querier) error {
		p, err = getProduct(ctx, q, id)
		return err
	})
	return p, err
}

func (c *committed) LotOwner(lk string) (batchID, differs string, err error) {
	err = c.run(func(ctx context.Context, q querier) error {
		var bdoc string
		var pdoc *string
		err := q.QueryRow(ctx, `SELECT b.id, b.doc::text, p.doc::text FROM batches b LEFT JOIN products p ON p.id = b.product_id WHERE b.lot_key = $1`, lk).
			Scan(&batchID, &bdoc, &pdoc)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		if err != nil {
			return sqlErr(err)
		}
		var bt trace.Batch
		var p trace.Product
		switch {
		case json.Unmarshal([]byte(bdoc), &bt) != nil:
			differs = "the batch record the lot index names cannot be read"
		case pdoc == nil:
			differs = fmt.Sprintf("the lot index names a batch whose product cannot be read: product %s: %v", bt.ProductID, trace.ErrNotFound)
		case json.Unmarshal([]byte(*pdoc), &p) != nil:
			differs = "the lot index names a batch whose product cannot be read"
		default:
			differs = store.LotEntryDiffers(lk, &bt, &p)
		}
		return nil
	})
	return batchID, differs, err
}

// chains reads the chains a lot balance needs (store.ChainReader).
type chains struct {
	ctx context.Context
	q   querier
}

func (c chains) LotBatch(id string) (*trace.Batch, error) { return getBatch(c.ctx, c.q, id) }

func (c chains) FirstEvent(id string) []byte {
	var body []byte
	if err := c.q.QueryRow(c.ctx, `SELECT body FROM events WHERE batch_id = $1 AND seq = 0`, id).Scan(&body); err != nil {
		return nil
	}
	return body
}

func (c chains) Marked(id string) ([]store.MarkedEvent, *store.Damage, error) {
	rows, err := c.q.Query(c.ctx, `SELECT e.seq, e.body, n.body, b.length, b.head
		FROM events e JOIN batches b ON b.id = e.batch_id
		LEFT JOIN events n ON n.batch_id = e.batch_id AND n.seq = e.seq + 1
		WHERE e.batch_id = $1 AND position($2::bytea IN e.body) > 0
		ORDER BY e.seq`, id, []byte(`"`+string(trace.TransformationEvent)+`"`))
	if err != nil {
		return nil, nil, sqlErr(err)
	}
	defer rows.Close()
	var out []store.MarkedEvent
	for rows.Next() {
		var m store.MarkedEvent
		var seq, length int64
		var head []byte
		if err := rows.Scan(&seq, &m.Body, &m.Next, &length, &head); err != nil {
			return nil, nil, sqlErr(err)
		}
		m.Seq, m.HeadLen = uint64(seq), uint64(length)
		copy(m.HeadHash[:], head)
		out = append(out, m)
	}
	return out, nil, sqlErr(rows.Err())
}

func (c chains) MadeFrom(id string) ([]string, error) {
	return queryStrings(c.ctx, c.q, `SELECT output FROM lineage WHERE input = $1 ORDER BY output`, id)
}

func queryStrings(ctx context.Context, q querier, sql string, args ...any) ([]string, error) {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return nil, sqlErr(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, sqlErr(err)
		}
		out = append(out, s)
	}
	return out, sqlErr(rows.Err())
}

// getDoc reads the JSON document of a row by id into v; what names it in
// errors ("batch" → "batch X: not found").
func getDoc(ctx context.Context, q querier, table, what, id string, v any) error {
	var doc string
	err := q.QueryRow(ctx, `SELECT doc::text FROM `+table+` WHERE id = $1`, id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s %s: %w", what, id, trace.ErrNotFound)
	}
	if err != nil {
		return sqlErr(err)
	}
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("%s %s: stored record is damaged: %w", what, id, err)
	}
	return nil
}

func getBatch(ctx context.Context, q querier, id string) (*trace.Batch, error) {
	var bt trace.Batch
	return &bt, getDoc(ctx, q, "batches", "batch", id, &bt)
}

func getProduct(ctx context.Context, q querier, id string) (*trace.Product, error) {
	var p trace.Product
	return &p, getDoc(ctx, q, "products", "product", id, &p)
}

func getCooperative(ctx context.Context, q querier, id string) (*trace.Cooperative, error) {
	var c trace.Cooperative
	return &c, getDoc(ctx, q, "cooperatives", "cooperative", id, &c)
}
