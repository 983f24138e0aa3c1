package pg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// Reads answer from the pool, each in one statement (or in one
// repeatable-read transaction where it takes several), so that what they
// return is one state of the database. They check what they read as the
// embedded store does (the same functions of package store).

// Cooperative returns one cooperative.
func (db *DB) Cooperative(id string) (*trace.Cooperative, error) {
	return cachedDoc(db, docCooperative, id, cloneCooperative, func() (c *trace.Cooperative, err error) {
		err = db.read("", func(ctx context.Context, q querier) error {
			c, err = getCooperative(ctx, q, id)
			return err
		})
		return c, err
	})
}

// Cooperatives returns every cooperative, ordered by id.
func (db *DB) Cooperatives() ([]*trace.Cooperative, error) {
	var out []*trace.Cooperative
	err := db.read("", func(ctx context.Context, q querier) error {
		return eachDoc(ctx, q, `SELECT id, doc::text FROM cooperatives ORDER BY id`, "cooperative", func() any {
			c := &trace.Cooperative{}
			out = append(out, c)
			return c
		})
	})
	return out, err
}

// CooperativeByGLN finds the cooperative with a GLN.
func (db *DB) CooperativeByGLN(gln string) (*trace.Cooperative, error) {
	var c *trace.Cooperative
	err := db.read("", func(ctx context.Context, q querier) error {
		var id string
		err := q.QueryRow(ctx, `SELECT id FROM cooperatives WHERE gln = $1 ORDER BY id LIMIT 1`, gln).Scan(&id)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("cooperative with GLN %s: %w", gln, trace.ErrNotFound)
		}
		if err != nil {
			return err
		}
		c, err = getCooperative(ctx, q, id)
		return err
	})
	return c, err
}

// Product returns one product.
func (db *DB) Product(id string) (*trace.Product, error) {
	return cachedDoc(db, docProduct, id, cloneProduct, func() (p *trace.Product, err error) {
		err = db.read("", func(ctx context.Context, q querier) error {
			p, err = getProduct(ctx, q, id)
			return err
		})
		return p, err
	})
}

// Products returns the products of a cooperative (all when cooperativeID
// is empty), ordered by id.
func (db *DB) Products(cooperativeID string) ([]*trace.Product, error) {
	var out []*trace.Product
	err := db.read("", func(ctx context.Context, q querier) error {
		next := func() any {
			p := &trace.Product{}
			out = append(out, p)
			return p
		}
		if cooperativeID == "" {
			return eachDoc(ctx, q, `SELECT id, doc::text FROM products ORDER BY id`, "product", next)
		}
		return eachDoc(ctx, q, `SELECT id, doc::text FROM products WHERE cooperative_id = $1 ORDER BY id`, "product", next, cooperativeID)
	})
	return out, err
}

// Batch returns one batch.
func (db *DB) Batch(id string) (*trace.Batch, error) {
	return cachedDoc(db, docBatch, id, cloneBatch, func() (bt *trace.Batch, err error) {
		err = db.read("", func(ctx context.Context, q querier) error {
			bt, err = getBatch(ctx, q, id)
			return err
		})
		return bt, err
	})
}

// BatchByLot finds the batch of a GTIN-14 and lot, as a Digital Link names it.
func (db *DB) BatchByLot(gtin14, lot string) (*trace.Batch, error) {
	var bt trace.Batch
	err := db.read("", func(ctx context.Context, q querier) error {
		var id, doc string
		err := q.QueryRow(ctx, `SELECT id, doc::text FROM batches WHERE lot_key = $1`, gtin14+"/"+lot).Scan(&id, &doc)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("lot %s of GTIN %s: %w", lot, gtin14, trace.ErrNotFound)
		}
		if err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(doc), &bt); err != nil {
			return fmt.Errorf("batch %s: stored record is damaged: %w", id, err)
		}
		return nil
	})
	return &bt, err
}

// Batches lists batches by id, those of one cooperative when cooperativeID
// is not empty, starting after the id after, at most limit of them.
func (db *DB) Batches(cooperativeID, after string, limit int) (*store.BatchPage, error) {
	if limit <= 0 || limit > 1000 {
		limit = 100
	}
	page := &store.BatchPage{}
	err := db.read("", func(ctx context.Context, q querier) error {
		return eachDoc(ctx, q, `SELECT id, doc::text FROM batches WHERE id > $1 AND ($2 = '' OR cooperative_id = $2) ORDER BY id LIMIT $3`,
			"batch", func() any {
				bt := &trace.Batch{}
				page.Batches = append(page.Batches, bt)
				return bt
			}, after, cooperativeID, limit+1)
	})
	if err != nil {
		return nil, err
	}
	if len(page.Batches) > limit {
		page.Batches = page.Batches[:limit]
		page.Next = page.Batches[limit-1].ID
	}
	return page, nil
}

// eachDoc decodes the documents a query returns (id, doc) into what next
// gives for each.
func eachDoc(ctx context.Context, q querier, sql, what string, next func() any, args ...any) error {
	rows, err := q.Query(ctx, sql, args...)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var id, doc string
		if err := rows.Scan(&id, &doc); err != nil {
			return err
		}
		if err := json.Unmarshal([]byte(doc), next()); err != nil {
			return fmt.Errorf("%s %s: %w", what, id, err)
		}
	}
	return rows.Err()
}

// Head returns the number of events of a batch and the hash of its last one.
func (db *DB) Head(batchID string) (uint64, trace.Hash, error) {
	var n uint64
	var h trace.Hash
	err := db.read("", func(ctx context.Context, q querier) error {
		var err error
		n, h, err = readHead(ctx, q, batchID)
		return err
	})
	return n, h, err
}

func readHead(ctx context.Context, q querier, batchID string) (uint64, trace.Hash, error) {
	var length int64
	var head []byte
	var h trace.Hash
	err := q.QueryRow(ctx, `SELECT length, head FROM batches WHERE id = $1`, batchID).Scan(&length, &head)
	if errors.Is(err, pgx.ErrNoRows) {
		return 0, h, fmt.Errorf("batch %s: %w", batchID, trace.ErrNotFound)
	}
	if err != nil {
		return 0, h, err
	}
	copy(h[:], head)
	return uint64(length), h, nil
}

// History returns every event of a batch in order, after checking the
// chain again (store.VerifiedHistory).
func (db *DB) History(batchID string) ([]*store.StoredEvent, error) {
	out, length, head, err := db.events(batchID, 0)
	if err != nil {
		return nil, fmt.Errorf("store: history of batch %s: %w", batchID, err)
	}
	return store.VerifiedHistory(batchID, out, length, head)
}

// HistoryFrom returns the events of a batch from number from on, checked
// as store.VerifiedHistoryFrom checks them.
func (db *DB) HistoryFrom(batchID string, from uint64, prev trace.Hash) ([]*store.StoredEvent, error) {
	out, length, head, err := db.events(batchID, from)
	if err != nil {
		return nil, fmt.Errorf("store: history of batch %s: %w", batchID, err)
	}
	return store.VerifiedHistoryFrom(batchID, from, prev, out, length, head)
}

// events reads a batch's head and its events from number from on, in one
// statement.
func (db *DB) events(batchID string, from uint64) (out []*store.StoredEvent, length uint64, head trace.Hash, err error) {
	err = db.read("", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT b.length, b.head, e.seq, e.body, e.signature, e.signer, e.key_id, e.received_ns, e.log_index
			FROM batches b LEFT JOIN events e ON e.batch_id = b.id AND e.seq >= $2
			WHERE b.id = $1 ORDER BY e.seq`, batchID, int64(from))
		if err != nil {
			return err
		}
		defer rows.Close()
		found := false
		for rows.Next() {
			found = true
			var n int64
			var h []byte
			var seq *int64
			var r recordRow
			if err := rows.Scan(&n, &h, &seq, &r.body, &r.sig, &r.signer, &r.keyID, &r.receivedNS, &r.logIndex); err != nil {
				return err
			}
			length = uint64(n)
			copy(head[:], h)
			if seq != nil {
				out = append(out, r.event())
			}
		}
		if err := rows.Err(); err != nil {
			return err
		}
		if !found {
			return fmt.Errorf("batch %s: %w", batchID, trace.ErrNotFound)
		}
		return nil
	})
	return out, length, head, err
}

// EventByHash finds an event by its hash.
func (db *DB) EventByHash(h trace.Hash) (*store.StoredEvent, error) {
	var st *store.StoredEvent
	err := db.read("store", func(ctx context.Context, q querier) error {
		var r recordRow
		err := q.QueryRow(ctx, `SELECT body, signature, signer, key_id, received_ns, log_index FROM events WHERE hash = $1`, h[:]).
			Scan(&r.body, &r.sig, &r.signer, &r.keyID, &r.receivedNS, &r.logIndex)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("event %s: %w", h, trace.ErrNotFound)
		}
		if err != nil {
			return err
		}
		st = r.event()
		return nil
	})
	if err != nil {
		return nil, err
	}
	return store.VerifiedEvent(h, st)
}

// maxLineage bounds a walk so a pathological graph cannot stall a read,
// as in the embedded store.
const maxLineage = 10000

// Lineage walks the transformation graph from a batch both ways.
func (db *DB) Lineage(batchID string) (*store.Lineage, error) {
	l := &store.Lineage{}
	err := db.view(func(ctx context.Context, q querier) error {
		if _, _, err := readHead(ctx, q, batchID); err != nil {
			return err
		}
		var err error
		if l.Upstream, err = walk(ctx, q, true, batchID); err != nil {
			return err
		}
		l.Downstream, err = walk(ctx, q, false, batchID)
		return err
	})
	return l, err
}

// walk visits the lineage index breadth first, nearest first, each lot's
// neighbours in id order: the embedded store's order.
func walk(ctx context.Context, q querier, up bool, from string) ([]string, error) {
	sql := `SELECT input, output FROM lineage WHERE input = ANY($1) ORDER BY input, output`
	if up {
		sql = `SELECT output, input FROM lineage WHERE output = ANY($1) ORDER BY output, input`
	}
	seen := map[string]bool{from: true}
	frontier := []string{from}
	var out []string
	for len(frontier) > 0 && len(out) < maxLineage {
		rows, err := q.Query(ctx, sql, frontier)
		if err != nil {
			return nil, err
		}
		next := map[string][]string{}
		for rows.Next() {
			var a, b string
			if err := rows.Scan(&a, &b); err != nil {
				rows.Close()
				return nil, err
			}
			next[a] = append(next[a], b)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, err
		}
		var level []string
		for _, cur := range frontier {
			for _, n := range next[cur] {
				if !seen[n] && len(out) < maxLineage {
					seen[n] = true
					out = append(out, n)
					level = append(level, n)
				}
			}
		}
		frontier = level
	}
	return out, nil
}

// Recalls returns the recall events that apply to a batch: its own and
// those of every batch upstream of it.
func (db *DB) Recalls(batchID string) ([]store.Recall, error) {
	var out []store.Recall
	err := db.view(func(ctx context.Context, q querier) error {
		up, err := walk(ctx, q, true, batchID)
		if err != nil {
			return err
		}
		all := append([]string{batchID}, up...)
		rows, err := q.Query(ctx, `SELECT batch_id, event FROM recalls WHERE batch_id = ANY($1)`, all)
		if err != nil {
			return err
		}
		defer rows.Close()
		found := map[string][]trace.Hash{}
		for rows.Next() {
			var b string
			var h []byte
			if err := rows.Scan(&b, &h); err != nil {
				return err
			}
			var hh trace.Hash
			copy(hh[:], h)
			found[b] = append(found[b], hh)
		}
		if err := rows.Err(); err != nil {
			return err
		}
		for _, b := range all {
			hs := found[b]
			sort.Slice(hs, func(i, j int) bool { return bytes.Compare(hs[i][:], hs[j][:]) < 0 })
			for _, h := range hs {
				out = append(out, store.Recall{Batch: b, Event: h})
			}
		}
		return nil
	})
	return out, err
}

// LotBalance computes a lot's balance over its life from the signed chains.
func (db *DB) LotBalance(batchID string) (*trace.LotBalance, error) {
	var lb *trace.LotBalance
	var dmg *store.Damage
	err := db.view(func(ctx context.Context, q querier) error {
		var err error
		lb, dmg, err = store.ComputeLotBalance(chains{ctx, q}, batchID)
		return err
	})
	return store.LotBalanceResult(batchID, lb, dmg, err)
}

// CheckLot checks, before the cooperative's key signs a label of a batch,
// that the lot index gives the batch's lot to this batch.
func (db *DB) CheckLot(batchID string) error {
	var detail string
	err := db.view(func(ctx context.Context, q querier) error {
		bt, err := getBatch(ctx, q, batchID)
		if err != nil {
			return err
		}
		p, err := getProduct(ctx, q, bt.ProductID)
		if err != nil {
			return err
		}
		var owner string
		err = q.QueryRow(ctx, `SELECT id FROM batches WHERE lot_key = $1`, store.LotKey(p, bt.Lot)).Scan(&owner)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return err
		}
		if owner != batchID {
			detail = fmt.Sprintf("the batch record says lot %q of product %s, but the lot index gives that lot to batch %q", bt.Lot, p.ID, owner)
		}
		return nil
	})
	if err != nil || detail == "" {
		return err
	}
	derr := &store.DamagedError{Batch: batchID, Record: "lot index", Detail: detail, Refused: "signed labels of batch " + batchID + " are refused"}
	db.log.Error("store: damaged data; refusing to sign on top of it", "batch", batchID, "record", derr.Record, "differs", detail)
	return derr
}

// LatestRecord returns the newest signed revision of a registry entry.
func (db *DB) LatestRecord(kind trace.RecordKind, id string) (*store.StoredRecord, error) {
	sr, err := backend{db}.NewestRecord(kind, id)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if sr == nil {
		return nil, fmt.Errorf("store: %s %s has no signed record: %w", kind, id, trace.ErrNotFound)
	}
	return sr, nil
}

// Records returns every signed revision of a registry entry, oldest first,
// checked as store.VerifiedRecords checks them.
func (db *DB) Records(kind trace.RecordKind, id string) ([]*store.StoredRecord, error) {
	var out []*store.StoredRecord
	var length uint64
	var head trace.Hash
	err := db.read("", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT h.length, h.head, r.body, r.signature, r.signer, r.key_id, r.received_ns, r.log_index
			FROM (VALUES ($1::text, $2::text)) AS k(kind, id)
			LEFT JOIN record_heads h ON h.kind = k.kind AND h.id = k.id
			LEFT JOIN records r ON r.kind = k.kind AND r.id = k.id
			ORDER BY r.seq`, string(kind), id)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var n *int64
			var h []byte
			var r recordRow
			if err := rows.Scan(&n, &h, &r.body, &r.sig, &r.signer, &r.keyID, &r.receivedNS, &r.logIndex); err != nil {
				return err
			}
			if n != nil {
				length = uint64(*n)
				copy(head[:], h)
			}
			if r.body != nil {
				out = append(out, r.stored())
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: records of %s %s: %w", kind, id, err)
	}
	return store.VerifiedRecords(kind, id, out, length, head)
}

// Entries returns the newest revision of each entry of a kind of a
// cooperative's registry, ordered by id; removed entries too when
// withRemoved.
func (db *DB) Entries(kind trace.RecordKind, coop string, withRemoved bool) ([]*store.StoredRecord, error) {
	var out []*store.StoredRecord
	err := db.read("", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT i.id, h.length, h.head, r.body, r.signature, r.signer, r.key_id, r.received_ns, r.log_index
			FROM registry_index i
			LEFT JOIN record_heads h ON h.kind = i.kind AND h.id = i.id
			LEFT JOIN records r ON r.kind = i.kind AND r.id = i.id AND r.seq = h.length - 1
			WHERE i.cooperative_id = $1 AND i.kind = $2 ORDER BY i.id`, coop, string(kind))
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var id string
			var n *int64
			var h []byte
			var r recordRow
			if err := rows.Scan(&id, &n, &h, &r.body, &r.sig, &r.signer, &r.keyID, &r.receivedNS, &r.logIndex); err != nil {
				return err
			}
			if n == nil {
				return store.RecordDamaged(kind, id, "the registry index names it, but it has no revision")
			}
			sr, err := newestRecord(kind, id, *n, h, &r)
			if err != nil {
				return err
			}
			if sr.Record.Cooperative != coop {
				return store.RecordDamaged(kind, id, fmt.Sprintf("the registry index files it under cooperative %s, but it is signed for %s", coop, sr.Record.Cooperative))
			}
			if withRemoved || !sr.Record.Removed() {
				out = append(out, sr)
			}
		}
		return rows.Err()
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s entries of %s: %w", kind, coop, err)
	}
	return out, nil
}

// Entry returns the newest revision of one registry entry of a kind.
func (db *DB) Entry(kind trace.RecordKind, id string) (*store.StoredRecord, error) {
	for _, k := range trace.ListKinds {
		if k == kind {
			return db.LatestRecord(kind, id)
		}
	}
	return nil, fmt.Errorf("store: %s is not a registry list: %w", kind, trace.ErrInvalid)
}

// CertificatesOn lists a cooperative's current certificate records with
// their state on a day (store.CertificatesOnDay).
func (db *DB) CertificatesOn(coop, product, day string) ([]store.CertificateOn, error) {
	certs, err := db.Entries(trace.KindCertificate, coop, false)
	if err != nil {
		return nil, err
	}
	return store.CertificatesOnDay(certs, product, day), nil
}

// view runs f in one repeatable-read, read-only transaction: one state of
// the database for every statement.
func (db *DB) view(f func(ctx context.Context, q querier) error) error {
	ctx, cancel := db.ctx()
	defer cancel()
	return db.fail("", pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly},
		func(tx pgx.Tx) error { return f(ctx, tx) }))
}
