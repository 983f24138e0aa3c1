package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// The registry's signed records (trace.Record): every revision of a
// cooperative's profile and of its products, signed by the cooperative
// and appended to the transparency log in the same commit as the working
// copy it describes:
//
//	records     kind "/" id ‖ 0x00 ‖ uint64 revision → record
//	recordheads kind "/" id → uint64 revisions ‖ newest hash
//	recordhash  record hash → records key
//	meta        "records" → uint64 revisions ever written (for caches)
//
// A record is stored as an event is (see the package documentation), its
// body being the record's canonical bytes. The working copies in coops and
// products stay what queries read; a reader that shows them as the
// cooperative's word checks them against the newest signed revision.
var (
	bucketRecords     = []byte("records")
	bucketRecordHeads = []byte("recordheads")
	bucketRecordHash  = []byte("recordhash")
)

func init() { allBuckets = append(allBuckets, bucketRecords, bucketRecordHeads, bucketRecordHash) }

// StoredRecord is a signed registry record with what the store recorded about it.
type StoredRecord struct {
	*trace.SignedRecord
	ReceivedAt time.Time
	KeyID      string
	LogIndex   uint64
	LogEntry   []byte
}

func recordName(kind trace.RecordKind, id string) []byte {
	return []byte(string(kind) + "/" + id)
}

func recordKey(kind trace.RecordKind, id string, seq uint64) []byte {
	k := append(recordName(kind, id), 0)
	return binary.BigEndian.AppendUint64(k, seq)
}

func readRecordHead(tx *bolt.Tx, kind trace.RecordKind, id string) head {
	v := tx.Bucket(bucketRecordHeads).Get(recordName(kind, id))
	var hd head
	if len(v) == 40 {
		hd.n = binary.BigEndian.Uint64(v[:8])
		copy(hd.h[:], v[8:])
	}
	return hd
}

func encodeStoredRecord(sr *StoredRecord) []byte {
	return encodeParts(sr.Body, sr.Signature, sr.Signer, sr.KeyID, sr.ReceivedAt, sr.LogIndex)
}

func decodeStoredRecord(v []byte) (*StoredRecord, error) {
	p, err := decodeParts(v)
	if err != nil {
		return nil, err
	}
	sr := &StoredRecord{SignedRecord: &trace.SignedRecord{Body: p.body, Hash: trace.HashEvent(p.body), Signature: p.sig, Signer: p.signer},
		KeyID: p.keyID, ReceivedAt: p.receivedAt, LogIndex: p.logIndex}
	sr.LogEntry = sr.SignedRecord.LogEntry()
	return sr, nil
}

// writeRecord stores a signed revision, its hash index and the entry's new
// head, and counts it in the records generation.
func writeRecord(tx *bolt.Tx, sr *StoredRecord) error {
	r := sr.Record
	key := recordKey(r.Kind, r.ID, r.Seq)
	if err := tx.Bucket(bucketRecords).Put(key, encodeStoredRecord(sr)); err != nil {
		return err
	}
	if err := tx.Bucket(bucketRecordHash).Put(sr.Hash[:], key); err != nil {
		return err
	}
	hv := binary.BigEndian.AppendUint64(make([]byte, 0, 40), r.Seq+1)
	if err := tx.Bucket(bucketRecordHeads).Put(recordName(r.Kind, r.ID), append(hv, sr.Hash[:]...)); err != nil {
		return err
	}
	meta := tx.Bucket(bucketMeta)
	var n uint64
	if v := meta.Get([]byte("records")); len(v) == 8 {
		n = binary.BigEndian.Uint64(v)
	}
	return meta.Put([]byte("records"), u64(n+1))
}

// latestRecordTx reads the newest revision of an entry and checks it
// against the entry's head: its bytes hash to the head's hash, and it is
// the revision the head counts. It returns nil when the entry has none.
func latestRecordTx(tx *bolt.Tx, kind trace.RecordKind, id string) (*StoredRecord, error) {
	hd := readRecordHead(tx, kind, id)
	if hd.n == 0 {
		if tx.Bucket(bucketRecordHeads).Get(recordName(kind, id)) != nil {
			return nil, recordDamaged(kind, id, "its head is unreadable")
		}
		return nil, nil
	}
	v := tx.Bucket(bucketRecords).Get(recordKey(kind, id, hd.n-1))
	if v == nil {
		return nil, recordDamaged(kind, id, "its newest revision %d is missing", hd.n-1)
	}
	sr, err := decodeStoredRecord(v)
	if err != nil {
		return nil, recordDamaged(kind, id, "revision %d: %v", hd.n-1, err)
	}
	return CheckNewestRecord(kind, id, hd.n, hd.h, sr)
}

// CheckNewestRecord checks the newest stored revision of a registry entry
// (number length-1, as the entry's head says, with hash last) and decodes
// it: its bytes hash to the head's hash and it is the revision the head
// counts, of that entry. A revision that fails is a *DamagedError.
func CheckNewestRecord(kind trace.RecordKind, id string, length uint64, last trace.Hash, sr *StoredRecord) (*StoredRecord, error) {
	if sr.Hash != last {
		return nil, recordDamaged(kind, id, "revision %d hashes to %s, but its head says %s", length-1, sr.Hash, last)
	}
	r, err := trace.DecodeRecord(sr.Body)
	if err != nil {
		return nil, recordDamaged(kind, id, "revision %d: %v", length-1, err)
	}
	if r.Kind != kind || r.ID != id || r.Seq != length-1 {
		return nil, recordDamaged(kind, id, "the newest revision is %s %s revision %d", r.Kind, r.ID, r.Seq)
	}
	sr.Record = r
	return sr, nil
}

// RecordDamaged is the error for a registry record that fails its own
// checks (see CheckNewestRecord).
func RecordDamaged(kind trace.RecordKind, id, detail string) error {
	return recordDamaged(kind, id, "%s", detail)
}

// LatestRecord returns the newest signed revision of a registry entry, or
// an error wrapping trace.ErrNotFound when it has none (an entry made
// before records were signed, not yet re-signed).
func (db *DB) LatestRecord(kind trace.RecordKind, id string) (*StoredRecord, error) {
	var sr *StoredRecord
	err := db.bolt.View(func(tx *bolt.Tx) error {
		var err error
		sr, err = latestRecordTx(tx, kind, id)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("store: %w", err)
	}
	if sr == nil {
		return nil, fmt.Errorf("store: %s %s has no signed record: %w", kind, id, trace.ErrNotFound)
	}
	return sr, nil
}

// Records returns every signed revision of a registry entry, oldest first,
// after checking their bytes, numbering and links (trace.VerifyRecords
// without keys) and that the newest is the entry's head.
func (db *DB) Records(kind trace.RecordKind, id string) ([]*StoredRecord, error) {
	var out []*StoredRecord
	var hd head
	err := db.bolt.View(func(tx *bolt.Tx) error {
		hd = readRecordHead(tx, kind, id)
		prefix := append(recordName(kind, id), 0)
		c := tx.Bucket(bucketRecords).Cursor()
		for k, v := c.Seek(prefix); k != nil && bytes.HasPrefix(k, prefix); k, v = c.Next() {
			sr, err := decodeStoredRecord(v)
			if err != nil {
				return fmt.Errorf("record %x: %w", k, err)
			}
			out = append(out, sr)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: records of %s %s: %w", kind, id, err)
	}
	return VerifiedRecords(kind, id, out, hd.n, hd.h)
}

// VerifiedRecords checks every stored revision of a registry entry, read
// oldest first with the entry's head, as Records does: their bytes,
// numbering and links (trace.VerifyRecords without keys), and that the
// newest is the head.
func VerifiedRecords(kind trace.RecordKind, id string, out []*StoredRecord, length uint64, newest trace.Hash) ([]*StoredRecord, error) {
	hd := head{n: length, h: newest}
	signed := make([]*trace.SignedRecord, len(out))
	for i, sr := range out {
		signed[i] = sr.SignedRecord
	}
	if err := trace.VerifyRecords(kind, id, signed, nil); err != nil {
		return out, fmt.Errorf("store: records of %s %s: %w", kind, id, err)
	}
	var last trace.Hash
	if len(out) > 0 {
		last = out[len(out)-1].Hash
	}
	if uint64(len(out)) != hd.n || last != hd.h {
		return out, fmt.Errorf("store: records of %s %s: %w", kind, id, &trace.VerifyError{Index: len(out) - 1, Hash: last.String(),
			Reason: trace.ReasonBrokenLink, Record: string(kind) + " " + id,
			Detail: fmt.Sprintf("the recorded head is revision %d %s, but the revisions end at %d", hd.n, hd.h, len(out))})
	}
	return out, nil
}

// RecordGeneration counts the registry revisions ever written; a cache of
// anything that shows a profile is stale when it changes.
func (v *boltView) RecordGeneration() uint64 {
	if b := v.tx.Bucket(bucketMeta).Get([]byte("records")); len(b) == 8 {
		return binary.BigEndian.Uint64(b)
	}
	return 0
}

// prepareRecord places the next revision of an entry: it numbers it after
// the entry's head (committed or placed), leaves the signature to a worker
// and returns the stored form to write.
func (en *Engine) prepareRecord(pl *Planner, kind trace.RecordKind, id, coop string, fields map[string]string, signer *trace.Signer, keyID string) (*StoredRecord, func(), error) {
	hd, err := pl.recordHead(kind, id)
	if err != nil {
		return nil, nil, err
	}
	now := en.opts.Now()
	rec := &trace.Record{Kind: kind, ID: id, Cooperative: coop, Seq: hd.n, Prev: hd.h, Fields: fields}
	rec.Time, _ = trace.FormatEventTime(now.In(en.opts.Location).Truncate(time.Second))
	sr, err := trace.PrepareRecord(rec)
	if err != nil {
		return nil, nil, err
	}
	pl.records[string(recordName(kind, id))] = head{n: hd.n + 1, h: sr.Hash}
	stored := &StoredRecord{SignedRecord: sr, ReceivedAt: now.UTC(), KeyID: keyID}
	return stored, func() { signer.SealRecord(sr) }, nil
}

// recordDamaged is the error for a registry record that fails its own
// checks: a head that is not its last revision, a revision that does not
// decode. Writes that build on it are refused.
func recordDamaged(kind trace.RecordKind, id, format string, args ...any) error {
	return &DamagedError{Record: "signed record of " + string(kind) + " " + id, Detail: fmt.Sprintf(format, args...),
		Refused: "changes to it and new lots that quote it are refused"}
}

// CheckRecord compares a working copy's fields with its newest signed
// revision. It returns the record (nil when the entry has none yet) and a
// *trace.VerifyError naming the first field that differs.
func CheckRecord(sr *StoredRecord, fields map[string]string, prefix string) error {
	if sr == nil {
		return nil
	}
	if f, want, got := trace.DiffFields(sr.Record.Fields, fields); f != "" {
		return &trace.VerifyError{Index: int(sr.Record.Seq), Hash: sr.Hash.String(), Reason: trace.ReasonMismatch,
			Record: string(sr.Record.Kind) + " " + sr.Record.ID, Field: prefix + f,
			Detail: fmt.Sprintf("the stored copy says %q, the signed record says %q", got, want)}
	}
	return nil
}

// signMissingRecords gives every cooperative and product that has no
// signed record yet (they were made before records were signed) its first
// revision, from the working copy as it is now. It runs once per entry, on
// the first start that knows records.
func (db *DB) signMissingRecords(ctx context.Context) error {
	type entry struct {
		kind trace.RecordKind
		id   string
	}
	var todo []entry
	err := db.bolt.View(func(tx *bolt.Tx) error {
		heads := tx.Bucket(bucketRecordHeads)
		for _, b := range []struct {
			kind   trace.RecordKind
			bucket []byte
		}{{trace.KindCooperative, bucketCoops}, {trace.KindProduct, bucketProducts}} {
			err := tx.Bucket(b.bucket).ForEach(func(k, _ []byte) error {
				if heads.Get(recordName(b.kind, string(k))) == nil {
					todo = append(todo, entry{b.kind, string(k)})
				}
				return nil
			})
			if err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil || len(todo) == 0 {
		return err
	}
	for _, e := range todo {
		var err error
		switch e.kind {
		case trace.KindCooperative:
			err = db.resignCooperative(ctx, e.id)
		case trace.KindProduct:
			err = db.resignProduct(ctx, e.id)
		}
		if err != nil {
			return fmt.Errorf("sign the record of %s %s: %w", e.kind, e.id, err)
		}
	}
	db.log.Info("store: signed the first record of cooperatives and products made before records were signed", "records", len(todo))
	return nil
}

func (en *Engine) resignCooperative(ctx context.Context, id string) error {
	c, err := en.be.Cooperative(id)
	if err != nil {
		return err
	}
	signer, err := en.SignerFor(id)
	if err != nil {
		return err
	}
	_, err = en.be.Submit(ctx, "", func(pl *Planner) (*Plan, error) {
		hd, err := pl.recordHead(trace.KindCooperative, id)
		if err != nil || hd.n > 0 {
			return nil, errOrNothing(err)
		}
		sr, sign, err := en.prepareRecord(pl, trace.KindCooperative, id, id, trace.CooperativeRecordFields(c), signer, "")
		if err != nil {
			return nil, err
		}
		return &Plan{Sign: sign, Records: []*StoredRecord{sr}, Write: func(s Sink) error { return s.PutRecord(sr) }}, nil
	})
	if err == errNothingToWrite {
		err = nil
	}
	return err
}

func (en *Engine) resignProduct(ctx context.Context, id string) error {
	p, err := en.be.Product(id)
	if err != nil {
		return err
	}
	signer, err := en.SignerFor(p.CooperativeID)
	if err != nil {
		return err
	}
	_, err = en.be.Submit(ctx, "", func(pl *Planner) (*Plan, error) {
		hd, err := pl.recordHead(trace.KindProduct, id)
		if err != nil || hd.n > 0 {
			return nil, errOrNothing(err)
		}
		sr, sign, err := en.prepareRecord(pl, trace.KindProduct, id, p.CooperativeID, trace.ProductRecordFields(p), signer, "")
		if err != nil {
			return nil, err
		}
		return &Plan{Sign: sign, Records: []*StoredRecord{sr}, Write: func(s Sink) error { return s.PutRecord(sr) }}, nil
	})
	if err == errNothingToWrite {
		err = nil
	}
	return err
}

// errOrNothing is err, or errNothingToWrite when there is none: a
// request that finds nothing to do ends without a plan.
func errOrNothing(err error) error {
	if err == nil {
		return errNothingToWrite
	}
	return err
}
