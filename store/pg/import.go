package pg

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// ErrNotEmpty is returned (wrapped, saying what the database holds) by
// Import into a database that already holds a store.
var ErrNotEmpty = errors.New("pg: the database already holds data")

// ImportReport says what Import copied.
type ImportReport struct {
	Counts store.Counts
	Log    store.LogState
	Keys   int // keys sealed under the master key
}

// Import copies an embedded store into this database, which must hold
// nothing yet: everything x holds — the signed bytes of events and
// registry revisions as they were signed, with their chain numbers and
// log indexes, the log's tiles, bundles and checkpoints, the published
// checkpoint, and the rest — and the keys of its key directory, sealed
// under this database's master key. All of it is written in one
// transaction: a failed import leaves the database empty. The rows are
// written as this store writes them, so that the copy reads as if it had
// been made here.
func (db *DB) Import(ctx context.Context, x *store.Export, keys *store.KeyDir) (*ImportReport, error) {
	rep := &ImportReport{Counts: x.Counts(), Log: x.LogState()}
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		// The log's state row is what every appending node locks first.
		if _, err := tx.Exec(ctx, `SELECT size FROM log_state WHERE id = 0 FOR UPDATE`); err != nil {
			return err
		}
		if err := checkEmpty(ctx, tx); err != nil {
			return err
		}
		im := &importer{ctx: ctx, tx: tx}
		if err := im.copyAll(x); err != nil {
			return err
		}
		n, err := im.copyKeys(db.keys, keys)
		if err != nil {
			return err
		}
		rep.Keys = n
		if _, err := tx.Exec(ctx, `UPDATE log_state SET size = $1, recalls = $2, records = $3 WHERE id = 0`,
			int64(rep.Log.Size), int64(rep.Log.Recalls), int64(rep.Log.Records)); err != nil {
			return err
		}
		if pub := x.Published(); pub != nil {
			if err := writePublished(ctx, tx, pub); err != nil {
				return err
			}
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, db.channel, db.node+" import")
		return err
	})
	if err != nil {
		return nil, db.fail("pg: import", err)
	}
	db.docs.dropAll()
	db.changed()
	return rep, nil
}

// checkEmpty refuses a database that holds any of a store's data.
func checkEmpty(ctx context.Context, q querier) error {
	var size int64
	var coops, users, keys, sealed, attachments int
	err := q.QueryRow(ctx, `SELECT (SELECT size FROM log_state WHERE id = 0),
		(SELECT count(*) FROM cooperatives), (SELECT count(*) FROM users), (SELECT count(*) FROM api_keys),
		(SELECT count(*) FROM sealed_keys WHERE name <> $1), (SELECT count(*) FROM attachments)`, checkName).
		Scan(&size, &coops, &users, &keys, &sealed, &attachments)
	if err != nil {
		return err
	}
	var other bool
	if err := q.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM inspectors) OR EXISTS (SELECT 1 FROM checkpoints) OR EXISTS (SELECT 1 FROM log_published)
		OR EXISTS (SELECT 1 FROM idempotency) OR EXISTS (SELECT 1 FROM sessions) OR EXISTS (SELECT 1 FROM scans_daily)`).Scan(&other); err != nil {
		return err
	}
	if size == 0 && coops+users+keys+sealed+attachments == 0 && !other {
		return nil
	}
	return fmt.Errorf("%w (a log of %d entries, %d cooperatives, %d people, %d API keys, %d sealed keys, %d attachments): "+
		"a store is copied only into a new, empty database, so that nothing in it is mixed with or lost under the copy", ErrNotEmpty,
		size, coops, users, keys, sealed, attachments)
}

// CheckEmpty migrates the database's schema and refuses it, with
// ErrNotEmpty, if it holds any data: the check truyxuat migrate makes
// before it opens the database with a master key.
func CheckEmpty(ctx context.Context, url string) error {
	if _, err := MigrateURL(ctx, url); err != nil {
		return err
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		return failUnavailable(fmt.Errorf("pg: connect: %w", err))
	}
	defer conn.Close(ctx)
	return checkEmpty(ctx, conn)
}

// importer copies rows in bulk (COPY), a few thousand at a time.
type importer struct {
	ctx context.Context
	tx  pgx.Tx
}

const copyChunk = 4096

type copier struct {
	im    *importer
	table string
	cols  []string
	rows  [][]any
}

func (im *importer) copier(table string, cols ...string) *copier {
	return &copier{im: im, table: table, cols: cols}
}

func (c *copier) add(row ...any) error {
	c.rows = append(c.rows, row)
	if len(c.rows) >= copyChunk {
		return c.flush()
	}
	return nil
}

func (c *copier) flush() error {
	if len(c.rows) == 0 {
		return nil
	}
	_, err := c.im.tx.CopyFrom(c.im.ctx, pgx.Identifier{c.table}, c.cols, pgx.CopyFromRows(c.rows))
	c.rows = c.rows[:0]
	if err != nil {
		return fmt.Errorf("copy into %s: %w", c.table, err)
	}
	return nil
}

// doc is a document as the store writes it.
func doc(v any) (json.RawMessage, error) { return json.Marshal(v) }

// copyTable runs each (which calls add for every row) and flushes.
func (im *importer) copyTable(c *copier, each func(add func(row ...any) error) error) error {
	if err := each(c.add); err != nil {
		return err
	}
	return c.flush()
}

func (im *importer) copyAll(x *store.Export) error {
	steps := []struct {
		c    *copier
		each func(add func(row ...any) error) error
	}{
		{im.copier("cooperatives", "id", "gln", "doc"), func(add func(...any) error) error {
			return x.Cooperatives(func(c *trace.Cooperative) error {
				d, err := doc(c)
				if err != nil {
					return err
				}
				return add(c.ID, c.GLN, d)
			})
		}},
		{im.copier("products", "id", "cooperative_id", "gtin", "doc"), func(add func(...any) error) error {
			return x.Products(func(p *trace.Product) error {
				d, err := doc(p)
				if err != nil {
					return err
				}
				return add(p.ID, p.CooperativeID, nullString(p.GTIN), d)
			})
		}},
		{im.copier("inspectors", "id", "doc"), func(add func(...any) error) error {
			return x.Inspectors(func(in *trace.Inspector) error {
				d, err := doc(in)
				if err != nil {
					return err
				}
				return add(in.ID, d)
			})
		}},
		{im.copier("batches", "id", "cooperative_id", "product_id", "lot_key", "doc", "length", "head"), func(add func(...any) error) error {
			return x.Batches(func(b store.ExportedBatch) error {
				d, err := doc(b.Batch)
				if err != nil {
					return err
				}
				var head []byte
				if b.Length > 0 {
					head = b.Head[:]
				}
				return add(b.Batch.ID, b.Batch.CooperativeID, b.Batch.ProductID, b.LotKey, d, int64(b.Length), head)
			})
		}},
		{im.copier("events", "batch_id", "seq", "prev", "hash", "body", "signature", "signer", "key_id", "received_ns", "log_index"), func(add func(...any) error) error {
			return x.Events(func(st *store.StoredEvent) error {
				e := st.Event
				return add(e.Batch, int64(e.Seq), e.Prev[:], st.Hash[:], st.Body, st.Signature, st.Signer, st.KeyID, st.ReceivedAt.UnixNano(), int64(st.LogIndex))
			})
		}},
		{im.copier("lineage", "input", "output"), func(add func(...any) error) error {
			return x.Lineage(func(in, out string) error { return add(in, out) })
		}},
		{im.copier("recalls", "batch_id", "event"), func(add func(...any) error) error {
			return x.Recalls(func(batch string, h trace.Hash) error { return add(batch, h[:]) })
		}},
		{im.copier("records", "kind", "id", "seq", "hash", "body", "signature", "signer", "key_id", "received_ns", "log_index"), func(add func(...any) error) error {
			return x.Records(func(sr *store.StoredRecord) error {
				r := sr.Record
				return add(string(r.Kind), r.ID, int64(r.Seq), sr.Hash[:], sr.Body, sr.Signature, sr.Signer, sr.KeyID, sr.ReceivedAt.UnixNano(), int64(sr.LogIndex))
			})
		}},
		{im.copier("record_heads", "kind", "id", "length", "head"), func(add func(...any) error) error {
			return x.RecordHeads(func(h store.ExportedHead) error { return add(string(h.Kind), h.ID, int64(h.Length), h.Head[:]) })
		}},
		{im.copier("registry_index", "cooperative_id", "kind", "id"), func(add func(...any) error) error {
			return x.RegistryIndex(func(coop string, kind trace.RecordKind, id string) error { return add(coop, string(kind), id) })
		}},
		{im.copier("log_entries", "idx", "hash"), func(add func(...any) error) error {
			return x.LogEntries(func(i uint64, h trace.Hash) error { return add(int64(i), h[:]) })
		}},
		{im.copier("log_tiles", "level", "idx", "data"), func(add func(...any) error) error {
			return x.Tiles(func(level int, i uint64, data []byte) error { return add(int16(level), int64(i), data) })
		}},
		{im.copier("log_bundles", "idx", "data"), func(add func(...any) error) error {
			return x.Bundles(func(i uint64, data []byte) error { return add(int64(i), data) })
		}},
		{im.copier("checkpoints", "size", "note"), func(add func(...any) error) error {
			return x.Checkpoints(func(size uint64, note []byte) error { return add(int64(size), note) })
		}},
		{im.copier("api_keys", "id", "secret_hash", "cooperative_id", "doc"), func(add func(...any) error) error {
			return x.APIKeys(func(k store.ExportedAPIKey) error {
				d, err := doc(k.Key)
				if err != nil {
					return err
				}
				return add(k.Key.ID, k.SecretHash, k.Key.CooperativeID, d)
			})
		}},
		{im.copier("users", "username", "doc"), func(add func(...any) error) error {
			return x.Users(func(u *store.User) error {
				d, err := doc(u)
				if err != nil {
					return err
				}
				return add(u.Username, d)
			})
		}},
		{im.copier("sessions", "id", "username", "doc"), func(add func(...any) error) error {
			return x.Sessions(func(s store.ExportedSession) error {
				d, err := doc(s.Session)
				if err != nil {
					return err
				}
				return add(s.ID, s.Session.Username, d)
			})
		}},
		{im.copier("idempotency", "key", "event"), func(add func(...any) error) error {
			return x.Idempotency(func(key string, h trace.Hash) error { return add(key, h[:]) })
		}},
		{im.copier("attachments", "sha256", "info", "data"), func(add func(...any) error) error {
			return x.Attachments(func(info *store.AttachmentInfo, data []byte) error {
				d, err := doc(info)
				if err != nil {
					return err
				}
				return add(info.SHA256[:], d, data)
			})
		}},
		{im.copier("attachment_variants", "sha256", "name", "data"), func(add func(...any) error) error {
			return x.AttachmentVariants(func(h trace.Hash, name string, data []byte) error { return add(h[:], name, data) })
		}},
	}
	for _, s := range steps {
		if err := im.copyTable(s.c, s.each); err != nil {
			return err
		}
	}
	daily := im.copier("scans_daily", "batch_id", "day", "count")
	serial := im.copier("scans_serial", "batch_id", "serial", "count", "first_day", "last_day")
	err := x.Scans(func(s store.ExportedScans) error {
		for day, n := range s.Daily {
			if err := daily.add(s.Batch, day, int64(n)); err != nil {
				return err
			}
		}
		for _, sc := range s.Serial {
			if err := serial.add(s.Batch, sc.Serial, int64(sc.Count), sc.First, sc.Last); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	if err := daily.flush(); err != nil {
		return err
	}
	return serial.flush()
}

// copyKeys seals every key of dir under the master key, with the names
// the KeyStore reads them by.
func (im *importer) copyKeys(ks *KeyStore, dir *store.KeyDir) (int, error) {
	if dir == nil {
		return 0, nil
	}
	c := im.copier("sealed_keys", "name", "sealed")
	n := 0
	err := dir.Export(func(k store.ExportedKey) error {
		var name string
		var secret []byte
		switch {
		case k.Signer != nil:
			name, secret = "signer/"+k.Name, k.Signer.Seed()
		case k.Secret != nil:
			name, secret = "secret/"+k.Name, k.Secret
		case k.LogKey != nil:
			name, secret = "log/"+k.Name, k.LogKey
		default:
			return fmt.Errorf("key %s: nothing to copy", k.Name)
		}
		if strings.HasPrefix(name, "check/") {
			return fmt.Errorf("key %s: a reserved name", k.Name)
		}
		sealed, err := ks.seal(name, secret)
		if err != nil {
			return err
		}
		n++
		return c.add(name, sealed)
	})
	if err != nil {
		return 0, err
	}
	return n, c.flush()
}

// Counts counts what the database holds, as store.Export.Counts counts
// an embedded store.
func (db *DB) Counts() (store.Counts, error) {
	var c store.Counts
	err := db.read("pg: count", func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `SELECT
			(SELECT count(*) FROM cooperatives), (SELECT count(*) FROM products), (SELECT count(*) FROM batches),
			(SELECT count(*) FROM events), (SELECT count(*) FROM records), (SELECT count(*) FROM inspectors),
			(SELECT count(*) FROM log_entries), (SELECT count(*) FROM log_tiles), (SELECT count(*) FROM log_bundles),
			(SELECT count(*) FROM checkpoints), (SELECT count(*) FROM api_keys), (SELECT count(*) FROM users),
			(SELECT count(*) FROM sessions), (SELECT count(*) FROM idempotency), (SELECT count(*) FROM attachments),
			(SELECT count(*) FROM attachment_variants)`).Scan(
			&c.Cooperatives, &c.Products, &c.Batches, &c.Events, &c.Records, &c.Inspectors,
			&c.LogEntries, &c.Tiles, &c.Bundles, &c.Checkpoints, &c.APIKeys, &c.Users,
			&c.Sessions, &c.Idempotency, &c.Attachments, &c.Variants)
	})
	return c, err
}
