package pg

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// sink gathers what a group's plans write (store.Sink) and writes it at
// the end, one statement per table, all sent at once (flush). The few
// rows a plan changes rather than adds (a cooperative's profile, a lot's
// facts) are read first, in the transaction.
type sink struct {
	db  *DB
	ctx context.Context
	tx  groupConn

	newCoops    []string                      // ids of cooperatives to insert, in order
	coops       map[string]*trace.Cooperative // every cooperative written, as it will be
	coopUpdates []string                      // ids of stored cooperatives to update
	products    map[string]*trace.Product
	productIDs  []string
	batches     map[string]*pendingBatch
	batchIDs    []string
	events      []*store.StoredEvent
	heads       map[string]headRow // batch → its new head
	lineage     [][2]string
	recalls     []*store.StoredEvent
	records     []*store.StoredRecord
	recordHeads map[string]headRow // kind "\x00" id → new head
	index       [][3]string

	failed error
}

var _ store.Sink = (*sink)(nil)

type pendingBatch struct {
	bt      *trace.Batch
	lotKey  string // set for a new batch
	isNew   bool
	changed bool // a stored batch whose facts changed
}

func (s *sink) PutCooperative(c *trace.Cooperative) error {
	s.newCoops = append(s.newCoops, c.ID)
	s.coops[c.ID] = c
	return nil
}

func (s *sink) UpdateCooperativeProfile(c *trace.Cooperative) error {
	stored, ok := s.coops[c.ID]
	if !ok {
		var err error
		if stored, err = s.lockedCooperative(c.ID); err != nil {
			return err
		}
		s.coops[c.ID] = stored
		s.coopUpdates = append(s.coopUpdates, c.ID)
	}
	stored.Name, stored.Province, stored.GLN, stored.Profile = c.Name, c.Province, c.GLN, c.Profile
	return nil
}

// lockedCooperative reads a stored cooperative and holds its row, which
// AddCooperativeKey also changes.
func (s *sink) lockedCooperative(id string) (*trace.Cooperative, error) {
	var doc string
	if err := s.tx.QueryRow(s.ctx, `SELECT doc::text FROM cooperatives WHERE id = $1 FOR UPDATE`, id).Scan(&doc); err != nil {
		return nil, s.fail(fmt.Errorf("cooperative %s: %w", id, err))
	}
	var c trace.Cooperative
	if err := json.Unmarshal([]byte(doc), &c); err != nil {
		return nil, fmt.Errorf("cooperative %s: stored record is damaged: %w", id, err)
	}
	return &c, nil
}

func (s *sink) PutProduct(p *trace.Product) error {
	if _, ok := s.products[p.ID]; !ok {
		s.productIDs = append(s.productIDs, p.ID)
	}
	s.products[p.ID] = p
	return nil
}

func (s *sink) PutBatch(bt *trace.Batch, lk string) error {
	s.batches[bt.ID] = &pendingBatch{bt: bt, lotKey: lk, isNew: true}
	s.batchIDs = append(s.batchIDs, bt.ID)
	return nil
}

func (s *sink) PutEvent(st *store.StoredEvent) error {
	e := st.Event
	s.events = append(s.events, st)
	s.heads[e.Batch] = headRow{n: e.Seq + 1, h: st.Hash}
	if e.Type == trace.TransformationEvent {
		for _, in := range e.Inputs {
			s.lineage = append(s.lineage, [2]string{in.Batch, e.Batch})
		}
	}
	if e.Disposition == "recalled" {
		s.recalls = append(s.recalls, st)
	}
	if trace.IsLotFacts(e) {
		return s.writeFacts(e)
	}
	return nil
}

// writeFacts brings a batch's working copy in line with a facts record
// written in the same transaction.
func (s *sink) writeFacts(e *trace.Event) error {
	f, err := trace.LotFactsOf(e)
	if err != nil {
		return err
	}
	pb, ok := s.batches[e.Batch]
	if !ok {
		bt, err := getBatch(s.ctx, s.tx, e.Batch)
		if err != nil {
			return s.fail(err)
		}
		pb = &pendingBatch{bt: bt}
		s.batches[e.Batch] = pb
		s.batchIDs = append(s.batchIDs, e.Batch)
	}
	bt := pb.bt
	if bt.ProductID != f.Product || bt.Lot != f.Lot {
		return &store.DamagedError{Batch: bt.ID, Record: "batch record", Detail: fmt.Sprintf("it is lot %s of product %s, but its facts record names lot %s of product %s", bt.Lot, bt.ProductID, f.Lot, f.Product)}
	}
	bt.Quantity, bt.HarvestDate, bt.Plot, bt.Certifications, bt.Member = f.Quantity, f.HarvestDate, f.Plot, f.Certifications, f.Member
	pb.changed = !pb.isNew
	return nil
}

func (s *sink) PutRecord(sr *store.StoredRecord) error {
	r := sr.Record
	s.records = append(s.records, sr)
	s.recordHeads[string(r.Kind)+"\x00"+r.ID] = headRow{n: r.Seq + 1, h: sr.Hash}
	return nil
}

func (s *sink) IndexEntry(coop string, kind trace.RecordKind, id string) error {
	s.index = append(s.index, [3]string{coop, string(kind), id})
	return nil
}

// fail keeps an error of the database, which aborts the transaction.
func (s *sink) fail(err error) error {
	if isSQL(sqlErr(err)) && s.failed == nil {
		s.failed = err
	}
	return err
}

// groupConn is the connection of a group's transaction.
type groupConn interface {
	querier
	SendBatch(ctx context.Context, b *pgx.Batch) pgx.BatchResults
}

// flushAndCommit writes everything gathered, the log's new entries and
// tiles and its new state, tells the other nodes, and commits, in one
// round trip.
func (s *sink) flushAndCommit(items []store.LogItem, size uint64, logWrites []tlog.TileData, next logState) error {
	b := &pgx.Batch{}
	if len(s.newCoops) > 0 {
		var ids, glns, docs []string
		for _, id := range s.newCoops {
			c := s.coops[id]
			ids, glns, docs = append(ids, id), append(glns, c.GLN), append(docs, mustJSON(c))
		}
		b.Queue(`INSERT INTO cooperatives (id, gln, doc) SELECT id, gln, doc::jsonb FROM unnest($1::text[], $2::text[], $3::text[]) AS t(id, gln, doc)`, ids, glns, docs)
	}
	for _, id := range s.coopUpdates {
		c := s.coops[id]
		b.Queue(`UPDATE cooperatives SET gln = $2, doc = $3::jsonb WHERE id = $1`, id, c.GLN, mustJSON(c))
	}
	if len(s.productIDs) > 0 {
		var ids, coops, docs []string
		var gtins []*string
		for _, id := range s.productIDs {
			p := s.products[id]
			ids, coops, docs = append(ids, id), append(coops, p.CooperativeID), append(docs, mustJSON(p))
			gtins = append(gtins, nullString(p.GTIN))
		}
		b.Queue(`INSERT INTO products (id, cooperative_id, gtin, doc)
			SELECT id, coop, gtin, doc::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[]) AS t(id, coop, gtin, doc)
			ON CONFLICT (id) DO UPDATE SET doc = EXCLUDED.doc`, ids, coops, gtins, docs)
	}
	var newIDs, newCoops, newProducts, newLots, newDocs []string
	for _, id := range s.batchIDs {
		pb := s.batches[id]
		switch {
		case pb.isNew:
			newIDs, newCoops, newProducts = append(newIDs, id), append(newCoops, pb.bt.CooperativeID), append(newProducts, pb.bt.ProductID)
			newLots, newDocs = append(newLots, pb.lotKey), append(newDocs, mustJSON(pb.bt))
		case pb.changed:
			b.Queue(`UPDATE batches SET doc = $2::jsonb WHERE id = $1`, id, mustJSON(pb.bt))
		}
	}
	if len(newIDs) > 0 {
		b.Queue(`INSERT INTO batches (id, cooperative_id, product_id, lot_key, doc)
			SELECT id, coop, product, lot, doc::jsonb FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[]) AS t(id, coop, product, lot, doc)`,
			newIDs, newCoops, newProducts, newLots, newDocs)
	}
	if len(s.events) > 0 {
		n := len(s.events)
		batch, keyIDs := make([]string, n), make([]string, n)
		seq, received, logIdx := make([]int64, n), make([]int64, n), make([]int64, n)
		prev, hash, body, sig, signer := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		for i, st := range s.events {
			batch[i], seq[i], prev[i], hash[i] = st.Event.Batch, int64(st.Event.Seq), st.Event.Prev[:], st.Hash[:]
			body[i], sig[i], signer[i], keyIDs[i] = st.Body, st.Signature, st.Signer, st.KeyID
			received[i], logIdx[i] = st.ReceivedAt.UnixNano(), int64(st.LogIndex)
		}
		b.Queue(`INSERT INTO events (batch_id, seq, prev, hash, body, signature, signer, key_id, received_ns, log_index)
			SELECT * FROM unnest($1::text[], $2::bigint[], $3::bytea[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[], $8::text[], $9::bigint[], $10::bigint[])`,
			batch, seq, prev, hash, body, sig, signer, keyIDs, received, logIdx)
		var ids []string
		var lens []int64
		var heads [][]byte
		for id, h := range s.heads {
			ids, lens, heads = append(ids, id), append(lens, int64(h.n)), append(heads, h.h[:])
		}
		b.Queue(`UPDATE batches SET length = t.length, head = t.head FROM unnest($1::text[], $2::bigint[], $3::bytea[]) AS t(id, length, head) WHERE batches.id = t.id`, ids, lens, heads)
	}
	if len(s.lineage) > 0 {
		var in, out []string
		for _, l := range s.lineage {
			in, out = append(in, l[0]), append(out, l[1])
		}
		b.Queue(`INSERT INTO lineage (input, output) SELECT * FROM unnest($1::text[], $2::text[]) ON CONFLICT DO NOTHING`, in, out)
	}
	if len(s.recalls) > 0 {
		var ids []string
		var hashes [][]byte
		for _, st := range s.recalls {
			ids, hashes = append(ids, st.Event.Batch), append(hashes, st.Hash[:])
		}
		b.Queue(`INSERT INTO recalls (batch_id, event) SELECT * FROM unnest($1::text[], $2::bytea[]) ON CONFLICT DO NOTHING`, ids, hashes)
	}
	if len(s.records) > 0 {
		n := len(s.records)
		kind, id, keyIDs := make([]string, n), make([]string, n), make([]string, n)
		seq, received, logIdx := make([]int64, n), make([]int64, n), make([]int64, n)
		hash, body, sig, signer := make([][]byte, n), make([][]byte, n), make([][]byte, n), make([][]byte, n)
		for i, sr := range s.records {
			kind[i], id[i], seq[i], hash[i] = string(sr.Record.Kind), sr.Record.ID, int64(sr.Record.Seq), sr.Hash[:]
			body[i], sig[i], signer[i], keyIDs[i] = sr.Body, sr.Signature, sr.Signer, sr.KeyID
			received[i], logIdx[i] = sr.ReceivedAt.UnixNano(), int64(sr.LogIndex)
		}
		b.Queue(`INSERT INTO records (kind, id, seq, hash, body, signature, signer, key_id, received_ns, log_index)
			SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[], $5::bytea[], $6::bytea[], $7::bytea[], $8::text[], $9::bigint[], $10::bigint[])`,
			kind, id, seq, hash, body, sig, signer, keyIDs, received, logIdx)
		var hk, hid []string
		var hn []int64
		var hh [][]byte
		for k, h := range s.recordHeads {
			kk, ii, _ := cutZero(k)
			hk, hid, hn, hh = append(hk, kk), append(hid, ii), append(hn, int64(h.n)), append(hh, h.h[:])
		}
		b.Queue(`INSERT INTO record_heads (kind, id, length, head) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bytea[])
			ON CONFLICT (kind, id) DO UPDATE SET length = EXCLUDED.length, head = EXCLUDED.head`, hk, hid, hn, hh)
	}
	if len(s.index) > 0 {
		var coop, kind, id []string
		for _, e := range s.index {
			coop, kind, id = append(coop, e[0]), append(kind, e[1]), append(id, e[2])
		}
		b.Queue(`INSERT INTO registry_index (cooperative_id, kind, id) SELECT * FROM unnest($1::text[], $2::text[], $3::text[]) ON CONFLICT DO NOTHING`, coop, kind, id)
	}
	if len(items) > 0 {
		idx := make([]int64, len(items))
		hashes := make([][]byte, len(items))
		for i, it := range items {
			idx[i], hashes[i] = int64(size)+int64(i), it.Hash[:]
		}
		b.Queue(`INSERT INTO log_entries (idx, hash) SELECT * FROM unnest($1::bigint[], $2::bytea[])`, idx, hashes)
		var levels []int16
		var tidx, bidx []int64
		var tdata, bdata [][]byte
		for _, t := range logWrites {
			if t.Entries {
				bidx, bdata = append(bidx, int64(t.Index)), append(bdata, t.Data)
			} else {
				levels, tidx, tdata = append(levels, int16(t.Level)), append(tidx, int64(t.Index)), append(tdata, t.Data)
			}
		}
		if len(bidx) > 0 {
			b.Queue(`INSERT INTO log_bundles (idx, data) SELECT * FROM unnest($1::bigint[], $2::bytea[])
				ON CONFLICT (idx) DO UPDATE SET data = EXCLUDED.data`, bidx, bdata)
		}
		if len(tidx) > 0 {
			b.Queue(`INSERT INTO log_tiles (level, idx, data) SELECT * FROM unnest($1::smallint[], $2::bigint[], $3::bytea[])
				ON CONFLICT (level, idx) DO UPDATE SET data = EXCLUDED.data`, levels, tidx, tdata)
		}
	}
	b.Queue(`UPDATE log_state SET size = $1, recalls = $2, records = $3 WHERE id = 0`, int64(next.size), int64(next.recalls), int64(next.records))
	b.Queue(`SELECT pg_notify($1, $2)`, s.db.channel, s.db.node+" "+commitPayload(s.changedDocs()))
	b.Queue(`COMMIT`)
	return s.tx.SendBatch(s.ctx, b).Close()
}

// changedDocs names the cooperatives, products and batches whose records
// the group writes (new ones too: a node may have read that one was not
// there).
func (s *sink) changedDocs() changedDocs {
	var d changedDocs
	d.Cooperatives = append(d.Cooperatives, s.newCoops...)
	d.Cooperatives = append(d.Cooperatives, s.coopUpdates...)
	d.Products = append(d.Products, s.productIDs...)
	for _, id := range s.batchIDs {
		if pb := s.batches[id]; pb.isNew || pb.changed {
			d.Batches = append(d.Batches, id)
		}
	}
	return d
}

func cutZero(s string) (string, string, bool) {
	for i := 0; i < len(s); i++ {
		if s[i] == 0 {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

func nullString(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

// mustJSON encodes a document the way the embedded store does.
func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("pg: encode %T: %v", v, err))
	}
	return string(b)
}
