package pg

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// Inspectors, the public keys of cooperatives, attachments and scans.

// CreateInspector stores a new inspector. An empty ID is filled with one
// derived from the name; CreatedAt is set to now.
func (db *DB) CreateInspector(in *trace.Inspector) error {
	in.CreatedAt = db.now().UTC()
	if err := db.writable(); err != nil {
		return err
	}
	return db.write("", func(ctx context.Context, tx pgx.Tx) error {
		if in.ID == "" {
			base := store.SlugID(in.Name, store.MaxInspectorIDLen-3)
			if base == "" {
				base = store.NewID()
			}
			in.ID = base
			for i := 2; ; i++ {
				ok, err := exists(ctx, tx, "inspectors", in.ID)
				if err != nil {
					return err
				}
				if !ok {
					break
				}
				in.ID = fmt.Sprintf("%s-%d", base, i)
			}
		}
		if err := in.Validate(); err != nil {
			return err
		}
		if len(in.ID) > store.MaxInspectorIDLen {
			return &trace.FieldError{Field: "id", Reason: fmt.Sprintf("an inspector id has at most %d characters", store.MaxInspectorIDLen)}
		}
		tag, err := tx.Exec(ctx, `INSERT INTO inspectors (id, doc) VALUES ($1, $2::jsonb) ON CONFLICT (id) DO NOTHING`, in.ID, mustJSON(in))
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("inspector %s already exists: %w", in.ID, trace.ErrConflict)
		}
		return nil
	})
}

// Inspector returns one inspector.
func (db *DB) Inspector(id string) (*trace.Inspector, error) {
	var in trace.Inspector
	err := db.read("", func(ctx context.Context, q querier) error {
		return getDoc(ctx, q, "inspectors", "inspector", id, &in)
	})
	return &in, err
}

// Inspectors returns every inspector, ordered by id.
func (db *DB) Inspectors() ([]*trace.Inspector, error) {
	var out []*trace.Inspector
	err := db.read("", func(ctx context.Context, q querier) error {
		return eachDoc(ctx, q, `SELECT id, doc::text FROM inspectors ORDER BY id`, "inspector", func() any {
			in := &trace.Inspector{}
			out = append(out, in)
			return in
		})
	})
	return out, err
}

// AddInspectorKey registers a public key for an inspector. It reports
// whether the key was new.
func (db *DB) AddInspectorKey(id string, pub []byte) (*trace.Inspector, bool, error) {
	var in trace.Inspector
	added := false
	if err := db.writable(); err != nil {
		return nil, false, err
	}
	err := db.write("", func(ctx context.Context, tx pgx.Tx) error {
		if err := lockedDoc(ctx, tx, "inspectors", "inspector", id, &in); err != nil {
			return err
		}
		if trace.HasKey(in.PublicKeys, pub) {
			return nil
		}
		in.PublicKeys = append(in.PublicKeys, bytes.Clone(pub))
		if err := in.Validate(); err != nil {
			return err
		}
		added = true
		_, err := tx.Exec(ctx, `UPDATE inspectors SET doc = $2::jsonb WHERE id = $1`, id, mustJSON(&in))
		return err
	})
	return &in, added, err
}

// AddCooperativeKey registers a public key for a cooperative, after its
// other keys (or before them with first). It reports whether the key was new.
func (db *DB) AddCooperativeKey(id string, pub []byte, first bool) (*trace.Cooperative, bool, error) {
	var c trace.Cooperative
	added := false
	if err := db.writable(); err != nil {
		return nil, false, err
	}
	err := db.write("", func(ctx context.Context, tx pgx.Tx) error {
		if err := lockedDoc(ctx, tx, "cooperatives", "cooperative", id, &c); err != nil {
			return err
		}
		if trace.HasKey(c.PublicKeys, pub) {
			return nil
		}
		if first {
			c.PublicKeys = append([][]byte{bytes.Clone(pub)}, c.PublicKeys...)
		} else {
			c.PublicKeys = append(c.PublicKeys, bytes.Clone(pub))
		}
		if err := c.Validate(); err != nil {
			return err
		}
		added = true
		if _, err := tx.Exec(ctx, `UPDATE cooperatives SET doc = $2::jsonb WHERE id = $1`, id, mustJSON(&c)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, db.channel, db.node+" "+commitPayload(changedDocs{Cooperatives: []string{id}}))
		return err
	})
	// Dropped even after an error: COMMIT may have been applied.
	db.docs.drop(changedDocs{Cooperatives: []string{id}})
	if err == nil && added {
		db.changed()
	}
	return &c, added, err
}

// lockedDoc reads a row's document and holds the row.
func lockedDoc(ctx context.Context, tx pgx.Tx, table, what, id string, v any) error {
	var doc string
	err := tx.QueryRow(ctx, `SELECT doc::text FROM `+table+` WHERE id = $1 FOR UPDATE`, id).Scan(&doc)
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("%s %s: %w", what, id, trace.ErrNotFound)
	}
	if err != nil {
		return err
	}
	if err := json.Unmarshal([]byte(doc), v); err != nil {
		return fmt.Errorf("%s %s: stored record is damaged: %w", what, id, err)
	}
	return nil
}

// PutAttachment stores data under its SHA-256; content already stored is
// kept as it is (created false, the stored description returned).
func (db *DB) PutAttachment(info store.AttachmentInfo, data []byte) (*store.AttachmentInfo, bool, error) {
	if err := store.PrepareAttachment(&info, data, db.now()); err != nil {
		return nil, false, err
	}
	if err := db.writable(); err != nil {
		return nil, false, err
	}
	var stored *store.AttachmentInfo
	created := false
	err := db.write(fmt.Sprintf("store: attachment %s", info.SHA256), func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO attachments (sha256, info, data) VALUES ($1, $2::jsonb, $3) ON CONFLICT (sha256) DO NOTHING`,
			info.SHA256[:], mustJSON(&info), data)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 1 {
			stored, created = &info, true
			return nil
		}
		stored, err = attachmentInfo(ctx, tx, info.SHA256)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return stored, created, nil
}

func attachmentInfo(ctx context.Context, q querier, h trace.Hash) (*store.AttachmentInfo, error) {
	var raw string
	err := q.QueryRow(ctx, `SELECT info::text FROM attachments WHERE sha256 = $1`, h[:]).Scan(&raw)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("attachment %s: %w", h, trace.ErrNotFound)
	}
	if err != nil {
		return nil, err
	}
	return store.DecodeAttachmentInfo(h, []byte(raw))
}

// Attachment returns the description of a stored attachment.
func (db *DB) Attachment(h trace.Hash) (info *store.AttachmentInfo, err error) {
	err = db.read("", func(ctx context.Context, q querier) error {
		info, err = attachmentInfo(ctx, q, h)
		return err
	})
	return info, err
}

// Attachments returns the descriptions of those of hs that are stored.
func (db *DB) Attachments(hs ...trace.Hash) (map[trace.Hash]*store.AttachmentInfo, error) {
	out := make(map[trace.Hash]*store.AttachmentInfo, len(hs))
	if len(hs) == 0 {
		return out, nil
	}
	keys := make([][]byte, len(hs))
	for i := range hs {
		keys[i] = hs[i][:]
	}
	err := db.read("", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT sha256, info::text FROM attachments WHERE sha256 = ANY($1)`, keys)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var k []byte
			var raw string
			if err := rows.Scan(&k, &raw); err != nil {
				return err
			}
			var h trace.Hash
			copy(h[:], k)
			info, err := store.DecodeAttachmentInfo(h, []byte(raw))
			if err != nil {
				return err
			}
			out[h] = info
		}
		return rows.Err()
	})
	return out, err
}

// AttachmentData returns a stored attachment's bytes.
func (db *DB) AttachmentData(h trace.Hash) ([]byte, error) {
	var data []byte
	err := db.read("", func(ctx context.Context, q querier) error {
		err := q.QueryRow(ctx, `SELECT data FROM attachments WHERE sha256 = $1`, h[:]).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("attachment %s: %w", h, trace.ErrNotFound)
		}
		return err
	})
	return data, err
}

// AttachmentVariant returns a stored rendition of an attachment (nil, nil
// when there is none yet).
func (db *DB) AttachmentVariant(h trace.Hash, name string) ([]byte, error) {
	if err := store.CheckVariantName(name); err != nil {
		return nil, err
	}
	var data []byte
	err := db.read("", func(ctx context.Context, q querier) error {
		err := q.QueryRow(ctx, `SELECT data FROM attachment_variants WHERE sha256 = $1 AND name = $2`, h[:], name).Scan(&data)
		if errors.Is(err, pgx.ErrNoRows) {
			return nil
		}
		return err
	})
	return data, err
}

// PutAttachmentVariant stores a rendition of a stored attachment,
// replacing any earlier one of the same name.
func (db *DB) PutAttachmentVariant(h trace.Hash, name string, data []byte) error {
	if err := store.CheckVariantName(name); err != nil {
		return err
	}
	if len(data) == 0 {
		return fmt.Errorf("store: variant %s of attachment %s is empty", name, h)
	}
	return db.write("", func(ctx context.Context, tx pgx.Tx) error {
		tag, err := tx.Exec(ctx, `INSERT INTO attachment_variants (sha256, name, data) SELECT $1, $2, $3 WHERE EXISTS (SELECT 1 FROM attachments WHERE sha256 = $1)
			ON CONFLICT (sha256, name) DO UPDATE SET data = EXCLUDED.data`, h[:], name, data)
		if err != nil {
			return err
		}
		if tag.RowsAffected() == 0 {
			return fmt.Errorf("attachment %s: %w", h, trace.ErrNotFound)
		}
		return nil
	})
}

// AddScans adds counts of scans in one transaction.
func (db *DB) AddScans(counts map[store.ScanKey]uint64) error {
	if len(counts) == 0 {
		return nil
	}
	if err := db.writable(); err != nil {
		return err
	}
	var dBatch, dDay, sBatch, sSerial, sDay []string
	var dN, sN []int64
	for k, n := range counts {
		if !trace.ValidID(k.Batch) || len(k.Day) != 8 || len(k.Serial) > store.MaxSerialLen {
			continue
		}
		dBatch, dDay, dN = append(dBatch, k.Batch), append(dDay, k.Day), append(dN, int64(n))
		if k.Serial != "" {
			sBatch, sSerial, sDay, sN = append(sBatch, k.Batch), append(sSerial, k.Serial), append(sDay, k.Day), append(sN, int64(n))
		}
	}
	return db.write("", func(ctx context.Context, tx pgx.Tx) error {
		// The same day may come once per serial: sum before adding.
		if _, err := tx.Exec(ctx, `INSERT INTO scans_daily (batch_id, day, count)
			SELECT batch_id, day, sum(n) FROM unnest($1::text[], $2::text[], $3::bigint[]) AS t(batch_id, day, n) GROUP BY batch_id, day
			ON CONFLICT (batch_id, day) DO UPDATE SET count = scans_daily.count + EXCLUDED.count`, dBatch, dDay, dN); err != nil {
			return err
		}
		if len(sBatch) == 0 {
			return nil
		}
		_, err := tx.Exec(ctx, `INSERT INTO scans_serial (batch_id, serial, count, first_day, last_day)
			SELECT batch_id, serial, sum(n), min(day), max(day) FROM unnest($1::text[], $2::text[], $3::text[], $4::bigint[]) AS t(batch_id, serial, day, n)
			GROUP BY batch_id, serial
			ON CONFLICT (batch_id, serial) DO UPDATE SET count = scans_serial.count + EXCLUDED.count,
				first_day = least(scans_serial.first_day, EXCLUDED.first_day), last_day = greatest(scans_serial.last_day, EXCLUDED.last_day)`,
			sBatch, sSerial, sDay, sN)
		return err
	})
}

// Scans returns the scan counts of a lot.
func (db *DB) Scans(batchID string) (*store.LotScans, error) {
	out := &store.LotScans{}
	err := db.view(func(ctx context.Context, q querier) error {
		if _, _, err := readHead(ctx, q, batchID); err != nil {
			return err
		}
		rows, err := q.Query(ctx, `SELECT day, count FROM scans_daily WHERE batch_id = $1 ORDER BY day`, batchID)
		if err != nil {
			return err
		}
		for rows.Next() {
			var d string
			var n int64
			if err := rows.Scan(&d, &n); err != nil {
				rows.Close()
				return err
			}
			out.Total += uint64(n)
			out.Days = append(out.Days, store.DayScans{Day: dashDay(d), Count: uint64(n)})
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		rows, err = q.Query(ctx, `SELECT serial, count, first_day, last_day FROM scans_serial WHERE batch_id = $1 ORDER BY serial`, batchID)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var s store.SerialScans
			var n int64
			if err := rows.Scan(&s.Serial, &n, &s.First, &s.Last); err != nil {
				return err
			}
			s.Count, s.First, s.Last = uint64(n), dashDay(s.First), dashDay(s.Last)
			out.Serials = append(out.Serials, s)
		}
		return rows.Err()
	})
	sort.SliceStable(out.Serials, func(i, j int) bool { return out.Serials[i].Count > out.Serials[j].Count })
	return out, err
}

func dashDay(d string) string {
	if len(d) != 8 || strings.ContainsFunc(d, func(r rune) bool { return r < '0' || r > '9' }) {
		return d
	}
	return d[:4] + "-" + d[4:6] + "-" + d[6:]
}
