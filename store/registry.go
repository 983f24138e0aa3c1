package store

import (
	"bytes"
	"context"
	"fmt"
	"sort"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// A cooperative's registry lists (trace.ListKinds: members, plots,
// certificates, listings). Unlike a cooperative's profile and its
// products, an entry of a list has no working copy: its newest signed
// revision is what it says. An index finds a cooperative's entries:
//
//	registryindex  cooperative "/" kind "/" id → empty
//
// written with an entry's first revision. An entry keeps its cooperative
// for good. Removing it signs a revision with "removed" set; readers that
// list what is current leave such entries out.
var bucketRegistryIndex = []byte("registryindex")

func init() { allBuckets = append(allBuckets, bucketRegistryIndex) }

func registryIndexKey(coop string, kind trace.RecordKind, id string) []byte {
	return []byte(coop + "/" + string(kind) + "/" + id)
}

func isListKind(kind trace.RecordKind) bool {
	for _, k := range trace.ListKinds {
		if k == kind {
			return true
		}
	}
	return false
}

// EntryWrite is one change to a registry list: the whole new set of an
// entry's fields. Create makes a new entry: with ID, that id (which must
// be free), else an id derived from IDHint (a name) and made unique.
// Without Create, the entry ID must exist.
type EntryWrite struct {
	Kind   trace.RecordKind
	ID     string
	Create bool
	IDHint string
	Fields map[string]string
}

// PutEntries signs each change as the next revision of its entry (the
// first, for a new one) of a cooperative's registry lists, all in one
// commit or none: an import is all or nothing. A change to an entry of
// another cooperative is refused (trace.ErrForbidden); a change that
// changes nothing is left out. It returns the stored revisions, in the
// order of the changes (nil for one left out).
func (en *Engine) PutEntries(ctx context.Context, coop string, writes []EntryWrite, by string) ([]*StoredRecord, error) {
	if len(writes) == 0 {
		return nil, nil
	}
	if ok, err := en.be.Exists(EntityCooperative, coop); err != nil {
		return nil, err
	} else if !ok {
		return nil, fmt.Errorf("cooperative %s: %w", coop, trace.ErrNotFound)
	}
	signer, err := en.SignerFor(coop)
	if err != nil {
		return nil, err
	}
	// Ids and the entries they change, read before the sequencer so that
	// it only numbers what is already checked.
	seen := map[string]int{}
	for i := range writes {
		w := &writes[i]
		if !isListKind(w.Kind) {
			return nil, fmt.Errorf("store: %s is not a registry list: %w", w.Kind, trace.ErrInvalid)
		}
		if w.ID == "" {
			continue
		}
		if !trace.ValidID(w.ID) {
			return nil, &trace.FieldError{Field: "id", Reason: fmt.Sprintf("%q is not an identifier: use 1 to %d lowercase letters, digits and '-'", w.ID, trace.MaxIDLen)}
		}
		if j, dup := seen[string(w.Kind)+"/"+w.ID]; dup {
			return nil, &trace.FieldError{Field: fmt.Sprintf("[%d].id", i), Reason: fmt.Sprintf("the same %s as change %d", w.Kind, j+1)}
		}
		seen[string(w.Kind)+"/"+w.ID] = i
	}
	out := make([]*StoredRecord, len(writes))
	_, err = en.be.Submit(ctx, "", func(st *Planner) (*Plan, error) {
		type planned struct {
			i    int
			name string
			hd   head
			sr   *StoredRecord
		}
		var plan []planned
		taken := map[string]bool{}
		for i := range writes {
			w := writes[i]
			id := w.ID
			if id == "" {
				var err error
				if id, err = st.freeEntryID(w.Kind, w.IDHint, taken); err != nil {
					return nil, err
				}
			}
			taken[string(w.Kind)+"/"+id] = true
			hd, err := st.recordHead(w.Kind, id)
			if err != nil {
				return nil, err
			}
			switch {
			case w.Create && hd.n > 0:
				return nil, fmt.Errorf("%s %s already exists: %w", w.Kind, id, trace.ErrConflict)
			case !w.Create && hd.n == 0:
				return nil, fmt.Errorf("%s %s: %w", w.Kind, id, trace.ErrNotFound)
			case hd.n > 0:
				cur, err := st.pendingOrLatest(w.Kind, id)
				if err != nil {
					return nil, err
				}
				if cur.Cooperative != coop {
					return nil, fmt.Errorf("%s %s belongs to cooperative %s: %w", w.Kind, id, cur.Cooperative, trace.ErrForbidden)
				}
				if f, _, _ := trace.DiffFields(cur.Fields, w.Fields); f == "" {
					continue
				}
			}
			rec := &trace.Record{Kind: w.Kind, ID: id, Cooperative: coop, Seq: hd.n, Prev: hd.h, Fields: w.Fields}
			rec.Time, _ = trace.FormatEventTime(en.opts.Now().In(en.opts.Location).Truncate(1e9))
			sr, err := trace.PrepareRecord(rec)
			if err != nil {
				if len(writes) > 1 {
					return nil, trace.PrefixFields(fmt.Sprintf("[%d]", i), err)
				}
				return nil, err
			}
			plan = append(plan, planned{i: i, name: string(recordName(w.Kind, id)), hd: head{n: hd.n + 1, h: sr.Hash},
				sr: &StoredRecord{SignedRecord: sr, ReceivedAt: en.opts.Now().UTC(), KeyID: by}})
		}
		p := &Plan{}
		for _, pl := range plan {
			st.records[pl.name] = pl.hd
			st.entries[pl.name] = pl.sr.Record
			out[pl.i] = pl.sr
			p.Records = append(p.Records, pl.sr)
		}
		if len(plan) == 0 {
			return nil, errNothingToWrite
		}
		recs := p.Records
		p.Sign = func() {
			for _, sr := range recs {
				signer.SealRecord(sr.SignedRecord)
			}
		}
		p.Write = func(s Sink) error {
			for _, sr := range recs {
				if err := s.PutRecord(sr); err != nil {
					return err
				}
				if sr.Record.Seq == 0 {
					if err := s.IndexEntry(coop, sr.Record.Kind, sr.Record.ID); err != nil {
						return err
					}
				}
			}
			return nil
		}
		return p, nil
	})
	if err == errNothingToWrite {
		err = nil
	}
	if err != nil {
		return nil, err
	}
	return out, nil
}

// errNothingToWrite ends a submission whose changes all change nothing.
var errNothingToWrite = fmt.Errorf("store: nothing to write")

// PutEntry is PutEntries for one entry; it returns its newest revision
// (the stored one when nothing changed).
func (en *Engine) PutEntry(ctx context.Context, coop string, w EntryWrite, by string) (*StoredRecord, error) {
	out, err := en.PutEntries(ctx, coop, []EntryWrite{w}, by)
	if err != nil {
		return nil, err
	}
	if out[0] != nil {
		return out[0], nil
	}
	return en.latestRecord(w.Kind, w.ID)
}

// latestRecord is Store.LatestRecord: the newest revision, or an error
// wrapping trace.ErrNotFound.
func (en *Engine) latestRecord(kind trace.RecordKind, id string) (*StoredRecord, error) {
	sr, err := en.be.NewestRecord(kind, id)
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if sr == nil {
		return nil, fmt.Errorf("store: %s %s has no signed record: %w", kind, id, trace.ErrNotFound)
	}
	return sr, nil
}

// RemoveEntry signs a revision of a registry entry that keeps its fields
// and says it was removed on day (YYYY-MM-DD).
func (en *Engine) RemoveEntry(ctx context.Context, kind trace.RecordKind, id, day, by string) (*StoredRecord, error) {
	if !isListKind(kind) {
		return nil, fmt.Errorf("store: %s is not a registry list: %w", kind, trace.ErrInvalid)
	}
	sr, err := en.latestRecord(kind, id)
	if err != nil {
		return nil, err
	}
	if sr.Record.Removed() {
		return sr, nil
	}
	f := map[string]string{}
	for k, v := range sr.Record.Fields {
		f[k] = v
	}
	f["removed"] = day
	return en.PutEntry(ctx, sr.Record.Cooperative, EntryWrite{Kind: kind, ID: id, Fields: f}, by)
}

// freeEntryID makes an id for a new entry from a name: its slug, with a
// number after it when taken (stored, pending or earlier in the change).
func (st *Planner) freeEntryID(kind trace.RecordKind, hint string, taken map[string]bool) (string, error) {
	base := slugID(hint, 24)
	if base == "" {
		base = string(kind)
	}
	for i := 1; ; i++ {
		id := base
		if i > 1 {
			id = fmt.Sprintf("%s-%d", base, i)
		}
		if taken[string(kind)+"/"+id] {
			continue
		}
		hd, err := st.recordHead(kind, id)
		if err != nil {
			return "", err
		}
		if hd.n == 0 {
			return id, nil
		}
	}
}

// Entries returns the newest revision of each entry of a kind of a
// cooperative's registry, ordered by id; removed entries too when
// withRemoved. Each is checked against its head as LatestRecord checks.
func (db *DB) Entries(kind trace.RecordKind, coop string, withRemoved bool) ([]*StoredRecord, error) {
	var out []*StoredRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		prefix := []byte(coop + "/" + string(kind) + "/")
		c := tx.Bucket(bucketRegistryIndex).Cursor()
		for k, _ := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, _ = c.Next() {
			id := string(k[len(prefix):])
			sr, err := latestRecordTx(tx, kind, id)
			if err != nil {
				return err
			}
			if sr == nil {
				return recordDamaged(kind, id, "the registry index names it, but it has no revision")
			}
			if sr.Record.Cooperative != coop {
				return recordDamaged(kind, id, "the registry index files it under cooperative %s, but it is signed for %s", coop, sr.Record.Cooperative)
			}
			if withRemoved || !sr.Record.Removed() {
				out = append(out, sr)
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: %s entries of %s: %w", kind, coop, err)
	}
	return out, nil
}

// Entry returns the newest revision of one registry entry of a kind.
func (db *DB) Entry(kind trace.RecordKind, id string) (*StoredRecord, error) {
	if !isListKind(kind) {
		return nil, fmt.Errorf("store: %s is not a registry list: %w", kind, trace.ErrInvalid)
	}
	sr, err := db.LatestRecord(kind, id)
	if err != nil {
		return nil, err
	}
	return sr, nil
}

// Fold writes s for a search that ignores case and Vietnamese diacritics:
// "Hòa Tú" and "hoa tu" fold to the same.
func Fold(s string) string { return strings.ToLower(foldVietnamese(s)) }

// CooperativeByGLN finds the cooperative with a GLN (a Digital Link's
// /414/ key names a cooperative's location by it).
func (db *DB) CooperativeByGLN(gln string) (*trace.Cooperative, error) {
	coops, err := db.Cooperatives()
	if err != nil {
		return nil, err
	}
	for _, c := range coops {
		if c.GLN == gln {
			return c, nil
		}
	}
	return nil, fmt.Errorf("cooperative with GLN %s: %w", gln, trace.ErrNotFound)
}

// CertificatesOn lists a cooperative's current certificate records with
// their state on a day (trace.CertificateStatus), those whose scope
// names the product (an empty scope names every product) when product is
// not empty: what a lot's page shows for its harvest date.
func (db *DB) CertificatesOn(coop, product, day string) ([]CertificateOn, error) {
	certs, err := db.Entries(trace.KindCertificate, coop, false)
	if err != nil {
		return nil, err
	}
	return CertificatesOnDay(certs, product, day), nil
}

// CertificatesOnDay is Store.CertificatesOn over a cooperative's current
// certificate records.
func CertificatesOnDay(certs []*StoredRecord, product, day string) []CertificateOn {
	var out []CertificateOn
	for _, sr := range certs {
		f := sr.Record.Fields
		if product != "" && !trace.InScope(f["products"], product) {
			continue
		}
		out = append(out, CertificateOn{Record: sr, Status: trace.CertificateStatus(f, day)})
	}
	sort.SliceStable(out, func(i, j int) bool {
		if (out[i].Status == trace.CertValid) != (out[j].Status == trace.CertValid) {
			return out[i].Status == trace.CertValid
		}
		return strings.Compare(out[i].Record.Record.Fields["valid_to"], out[j].Record.Record.Fields["valid_to"]) > 0
	})
	return out
}

// CertificateOn is a certificate record and its state on a day.
type CertificateOn struct {
	Record *StoredRecord
	Status string // trace.CertValid, CertExpired or CertNotYet
}
