package store

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// Export is a read-only, consistent view of everything an embedded store
// holds, for copying it into another store (truyxuat migrate): every
// method reads the file as it was when the view began. Signed bytes are
// handed out exactly as stored, with their chain numbers and log
// indexes; the view checks what it decodes but never re-encodes it.
// Everything it returns is a copy, valid after the view ends.
type Export struct {
	tx   *bolt.Tx
	pub  *Published
	tail *logTail
}

// Export runs f with an Export of the store, in one read transaction.
func (db *DB) Export(f func(x *Export) error) error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		x := &Export{tx: tx, tail: db.tail}
		if pub, ok := db.Published(); ok {
			x.pub = &pub
		}
		return f(x)
	})
}

// ExportedBatch is a batch with its lot index key and its chain's head.
type ExportedBatch struct {
	Batch  *trace.Batch
	LotKey string // the lot index: gtin14 "/" lot, or "~" cooperative "/" product "/" lot
	Length uint64 // events in its chain
	Head   trace.Hash
}

// ExportedHead is the head of a registry entry's chain of revisions.
type ExportedHead struct {
	Kind   trace.RecordKind
	ID     string
	Length uint64
	Head   trace.Hash
}

// ExportedAPIKey is an API key as stored: its description and the
// SHA-256 of its secret (the secret itself is never kept).
type ExportedAPIKey struct {
	Key        *APIKey
	SecretHash []byte
}

// ExportedSession is a sign-in session, under the SHA-256 of its cookie's
// secret (SessionKey).
type ExportedSession struct {
	ID      []byte
	Session *Session
}

// ExportedScans are a lot's scan counts as stored.
type ExportedScans struct {
	Batch  string
	Daily  map[string]uint64 // YYYYMMDD → count
	Serial []ExportedSerialScans
}

// ExportedSerialScans counts the scans of one serialised label.
type ExportedSerialScans struct {
	Serial      string
	Count       uint64
	First, Last string // YYYYMMDD
}

// Counts are how many things of each kind a store holds, as truyxuat
// migrate compares them between the original and its copy.
type Counts struct {
	Cooperatives, Products, Batches, Events, Records, Inspectors int
	LogEntries, Tiles, Bundles, Checkpoints                      int
	APIKeys, Users, Sessions, Idempotency                        int
	Attachments, Variants                                        int
}

// LogState is the log's size and the counters kept beside it.
type LogState struct {
	Size    uint64 // entries in the transparency log
	Recalls uint64 // recall events ever recorded
	Records uint64 // registry revisions ever written
}

// Published is the newest checkpoint the log published and the newest
// its witnesses cosigned, or nil before the first checkpoint.
func (x *Export) Published() *Published { return x.pub }

// LogState returns the log's size and counters.
func (x *Export) LogState() LogState {
	meta := x.tx.Bucket(bucketMeta)
	return LogState{Size: logSize(x.tx), Recalls: readU64(meta.Get([]byte("recalls"))), Records: readU64(meta.Get([]byte("records")))}
}

// each runs f over a bucket's keys and values, copied.
func (x *Export) each(bucket []byte, f func(k, v []byte) error) error {
	return x.tx.Bucket(bucket).ForEach(func(k, v []byte) error {
		return f(bytes.Clone(k), bytes.Clone(v))
	})
}

func eachJSON[T any](x *Export, bucket []byte, what string, f func(*T) error) error {
	return x.each(bucket, func(k, v []byte) error {
		var t T
		if err := json.Unmarshal(v, &t); err != nil {
			return fmt.Errorf("store: export: %s %s: stored record is damaged: %w", what, k, err)
		}
		return f(&t)
	})
}

// Cooperatives calls f with each cooperative, in id order.
func (x *Export) Cooperatives(f func(*trace.Cooperative) error) error {
	return eachJSON(x, bucketCoops, "cooperative", f)
}

// Products calls f with each product, in id order.
func (x *Export) Products(f func(*trace.Product) error) error {
	return eachJSON(x, bucketProducts, "product", f)
}

// Inspectors calls f with each inspector, in id order.
func (x *Export) Inspectors(f func(*trace.Inspector) error) error {
	return eachJSON(x, bucketInspectors, "inspector", f)
}

// Batches calls f with each batch, its lot key and its chain's head, in
// id order.
func (x *Export) Batches(f func(ExportedBatch) error) error {
	lotKeys := map[string]string{}
	if err := x.each(bucketLots, func(k, v []byte) error { lotKeys[string(v)] = string(k); return nil }); err != nil {
		return err
	}
	return eachJSON(x, bucketBatches, "batch", func(bt *trace.Batch) error {
		lk, ok := lotKeys[bt.ID]
		if !ok {
			return fmt.Errorf("store: export: batch %s has no entry in the lot index", bt.ID)
		}
		n, h := chainView{x.tx, x.tail}.head(bt.ID)
		return f(ExportedBatch{Batch: bt, LotKey: lk, Length: n, Head: h})
	})
}

// Events calls f with each stored event, batch by batch in chain order,
// decoded and checked against its stored hash.
func (x *Export) Events(f func(*StoredEvent) error) error {
	cv := chainView{x.tx, x.tail}
	c := x.tx.Bucket(bucketBatches).Cursor()
	for k, _ := c.First(); k != nil; k, _ = c.Next() {
		batch := string(k)
		err := cv.each(batch, 0, func(seq, index uint64) error {
			st, err := eventAt(x.tx, index)
			if err == nil && st == nil {
				err = fmt.Errorf("no event is stored at log index %d", index)
			}
			if err != nil {
				return fmt.Errorf("store: export: event %d of batch %s: %w", seq, batch, err)
			}
			if st.Event, err = trace.Decode(st.Body); err != nil {
				return fmt.Errorf("store: export: event %d of batch %s: %w", seq, batch, err)
			}
			if st.Event.Batch != batch || st.Event.Seq != seq {
				return fmt.Errorf("store: export: the event stored as number %d of batch %s is number %d of %s", seq, batch, st.Event.Seq, st.Event.Batch)
			}
			fillLog(x.tx, st)
			return f(st)
		})
		if err != nil {
			return err
		}
	}
	return nil
}

// Lineage calls f with each transformation's input and output batch.
func (x *Export) Lineage(f func(input, output string) error) error {
	c := x.tx.Bucket(bucketLineage).Cursor()
	prefix := []byte{'d'}
	for k, _ := c.Seek(prefix); k != nil && k[0] == 'd'; k, _ = c.Next() {
		in, out, ok := bytes.Cut(k[1:], []byte{0})
		if !ok {
			return fmt.Errorf("store: export: lineage key %x is damaged", k)
		}
		if err := f(string(in), string(out)); err != nil {
			return err
		}
	}
	return nil
}

// Recalls calls f with each recall event's batch and hash.
func (x *Export) Recalls(f func(batch string, event trace.Hash) error) error {
	return x.each(bucketRecalls, func(k, _ []byte) error {
		if len(k) < 33 || k[len(k)-33] != 0 {
			return fmt.Errorf("store: export: recall key %x is damaged", k)
		}
		var h trace.Hash
		copy(h[:], k[len(k)-32:])
		return f(string(k[:len(k)-33]), h)
	})
}

// Records calls f with each registry revision, entry by entry in order,
// decoded and checked against its stored hash.
func (x *Export) Records(f func(*StoredRecord) error) error {
	return x.each(bucketRecords, func(k, v []byte) error {
		sr, err := decodeStoredRecord(v)
		if err != nil {
			return fmt.Errorf("store: export: registry record %q: %w", k, err)
		}
		if sr.Record, err = trace.DecodeRecord(sr.Body); err != nil {
			return fmt.Errorf("store: export: registry record %q: %w", k, err)
		}
		if !bytes.Equal(k, recordKey(sr.Record.Kind, sr.Record.ID, sr.Record.Seq)) {
			return fmt.Errorf("store: export: the registry record stored as %q is revision %d of %s %s", k, sr.Record.Seq, sr.Record.Kind, sr.Record.ID)
		}
		return f(sr)
	})
}

// RecordHeads calls f with the head of each registry entry.
func (x *Export) RecordHeads(f func(ExportedHead) error) error {
	return x.each(bucketRecordHeads, func(k, v []byte) error {
		kind, id, ok := strings.Cut(string(k), "/")
		if !ok || len(v) != 40 {
			return fmt.Errorf("store: export: registry head %q is damaged", k)
		}
		hd := ExportedHead{Kind: trace.RecordKind(kind), ID: id, Length: binary.BigEndian.Uint64(v[:8])}
		copy(hd.Head[:], v[8:])
		return f(hd)
	})
}

// RegistryIndex calls f with each entry of the cooperatives' registry lists.
func (x *Export) RegistryIndex(f func(coop string, kind trace.RecordKind, id string) error) error {
	return x.each(bucketRegistryIndex, func(k, _ []byte) error {
		parts := bytes.SplitN(k, []byte{'/'}, 3)
		if len(parts) != 3 {
			return fmt.Errorf("store: export: registry index key %q is damaged", k)
		}
		return f(string(parts[0]), trace.RecordKind(parts[1]), string(parts[2]))
	})
}

// LogEntries calls f with the hash of the event or registry revision at
// each log index, in order.
func (x *Export) LogEntries(f func(index uint64, h trace.Hash) error) error {
	return x.each(bucketLogEvents, func(k, v []byte) error {
		if len(k) != 8 || len(v) != 32 {
			return fmt.Errorf("store: export: log entry %x is damaged", k)
		}
		return f(binary.BigEndian.Uint64(k), trace.Hash(v))
	})
}

// Tiles calls f with the bytes of each hash tile: those of level 0
// computed from their bundles, the others as stored.
func (x *Export) Tiles(f func(level int, index uint64, data []byte) error) error {
	err := x.each(bucketLogBundles, func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("store: export: bundle key %x is damaged", k)
		}
		tile, err := levelZeroTile(v)
		if err != nil {
			return fmt.Errorf("store: export: bundle %x: %w", k, err)
		}
		return f(0, binary.BigEndian.Uint64(k), tile)
	})
	if err != nil {
		return err
	}
	return x.each(bucketLogTiles, func(k, v []byte) error {
		if len(k) != 9 {
			return fmt.Errorf("store: export: tile key %x is damaged", k)
		}
		if k[0] == 0 {
			return nil // a file converted from version 1 may still hold them
		}
		return f(int(k[0]), binary.BigEndian.Uint64(k[1:]), v)
	})
}

// Bundles calls f with the stored bytes of each entry bundle.
func (x *Export) Bundles(f func(index uint64, data []byte) error) error {
	return x.each(bucketLogBundles, func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("store: export: bundle key %x is damaged", k)
		}
		return f(binary.BigEndian.Uint64(k), v)
	})
}

// Checkpoints calls f with each stored signed checkpoint, by size.
func (x *Export) Checkpoints(f func(size uint64, note []byte) error) error {
	return x.each(bucketCheckpoints, func(k, v []byte) error {
		if len(k) != 8 {
			return fmt.Errorf("store: export: checkpoint key %x is damaged", k)
		}
		return f(binary.BigEndian.Uint64(k), v)
	})
}

// APIKeys calls f with each API key.
func (x *Export) APIKeys(f func(ExportedAPIKey) error) error {
	return x.each(bucketAPIKeys, func(k, v []byte) error {
		var key APIKey
		if err := json.Unmarshal(v, &key); err != nil {
			return fmt.Errorf("store: export: API key: stored record is damaged: %w", err)
		}
		return f(ExportedAPIKey{Key: &key, SecretHash: k})
	})
}

// Users calls f with each person, in username order.
func (x *Export) Users(f func(*User) error) error { return eachJSON(x, bucketUsers, "user", f) }

// Sessions calls f with each sign-in session.
func (x *Export) Sessions(f func(ExportedSession) error) error {
	return x.each(bucketSessions, func(k, v []byte) error {
		var s Session
		if err := json.Unmarshal(v, &s); err != nil {
			return fmt.Errorf("store: export: session: stored record is damaged: %w", err)
		}
		return f(ExportedSession{ID: k, Session: &s})
	})
}

// Idempotency calls f with each idempotency key and its event's hash.
func (x *Export) Idempotency(f func(key string, event trace.Hash) error) error {
	return x.each(bucketIdem, func(k, v []byte) error {
		if len(v) != 32 {
			return fmt.Errorf("store: export: idempotency key %q is damaged", k)
		}
		return f(string(k), trace.Hash(v))
	})
}

// Attachments calls f with each attachment's description and bytes,
// checked against its SHA-256.
func (x *Export) Attachments(f func(info *AttachmentInfo, data []byte) error) error {
	data := x.tx.Bucket(bucketAttachments)
	return x.each(bucketAttachMeta, func(k, v []byte) error {
		if len(k) != 32 {
			return fmt.Errorf("store: export: attachment key %x is damaged", k)
		}
		h := trace.Hash(k)
		info, err := decodeAttachInfo(h, v)
		if err != nil {
			return fmt.Errorf("store: export: %w", err)
		}
		b := bytes.Clone(data.Get(k))
		if trace.Hash(sha256.Sum256(b)) != h {
			return fmt.Errorf("store: export: attachment %s: its bytes do not match its SHA-256", h)
		}
		return f(info, b)
	})
}

// AttachmentVariants calls f with each stored rendition of an attachment.
func (x *Export) AttachmentVariants(f func(h trace.Hash, name string, data []byte) error) error {
	return x.each(bucketAttachVariants, func(k, v []byte) error {
		if len(k) <= 32 {
			return fmt.Errorf("store: export: attachment variant key %x is damaged", k)
		}
		return f(trace.Hash(k[:32]), string(k[32:]), v)
	})
}

// Scans calls f with each lot's scan counts.
func (x *Export) Scans(f func(ExportedScans) error) error {
	byBatch := map[string]*ExportedScans{}
	var order []string
	get := func(b string) *ExportedScans {
		s, ok := byBatch[b]
		if !ok {
			s = &ExportedScans{Batch: b, Daily: map[string]uint64{}}
			byBatch[b] = s
			order = append(order, b)
		}
		return s
	}
	err := x.each(bucketScans, func(k, v []byte) error {
		batch, rest, ok := bytes.Cut(k[1:], []byte{0})
		if len(k) < 2 || !ok {
			return fmt.Errorf("store: export: scan key %q is damaged", k)
		}
		switch {
		case k[0] == 'd' && len(v) == 8:
			get(string(batch)).Daily[string(rest)] = binary.BigEndian.Uint64(v)
		case k[0] == 's' && len(v) == 24:
			s := get(string(batch))
			s.Serial = append(s.Serial, ExportedSerialScans{Serial: string(rest), Count: binary.BigEndian.Uint64(v), First: string(v[8:16]), Last: string(v[16:24])})
		default:
			return fmt.Errorf("store: export: scan count %q is damaged", k)
		}
		return nil
	})
	if err != nil {
		return err
	}
	for _, b := range order {
		if err := f(*byBatch[b]); err != nil {
			return err
		}
	}
	return nil
}

// Counts counts what the view holds.
func (x *Export) Counts() Counts {
	n := func(b []byte) int { return x.tx.Bucket(b).Stats().KeyN }
	return Counts{
		Cooperatives: n(bucketCoops), Products: n(bucketProducts), Batches: n(bucketBatches),
		Events: n(bucketEvents), Records: n(bucketRecords), Inspectors: n(bucketInspectors),
		LogEntries: n(bucketLogEvents), Tiles: n(bucketLogBundles) + storedTilesAbove0(x.tx), Bundles: n(bucketLogBundles), Checkpoints: n(bucketCheckpoints),
		APIKeys: n(bucketAPIKeys), Users: n(bucketUsers), Sessions: n(bucketSessions), Idempotency: n(bucketIdem),
		Attachments: n(bucketAttachMeta), Variants: n(bucketAttachVariants),
	}
}

// ExportedKey is one secret of a key directory: a signing key (Signer),
// a secret (Secret), or one of the log's keys (LogKey, its text).
type ExportedKey struct {
	Name   string
	Signer *trace.Signer
	Secret []byte
	LogKey []byte
}

// Export calls f with each key the directory holds, checked as it is when
// used: signing keys (<name>.key), secrets (<name>.secret) and the log's
// keys (LogEd25519KeyFile, LogMLDSA44KeyFile). Other files are refused,
// so that nothing is left behind unnoticed.
func (k *KeyDir) Export(f func(ExportedKey) error) error {
	entries, err := os.ReadDir(k.dir)
	if err != nil {
		return fmt.Errorf("store: key directory: %w", err)
	}
	for _, e := range entries {
		name, p := e.Name(), filepath.Join(k.dir, e.Name())
		var ek ExportedKey
		switch {
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".tmp"):
			continue // a write that never finished (writeFileAtomic)
		case e.IsDir():
			return fmt.Errorf("store: key directory: %s is a directory", p)
		case name == LogEd25519KeyFile || name == LogMLDSA44KeyFile:
			text, err := keyFiles(k.dir).ReadLogKey(name)
			if err != nil {
				return fmt.Errorf("store: key directory: %w", err)
			}
			ek = ExportedKey{Name: name, LogKey: text}
		case strings.HasSuffix(name, ".key") && trace.ValidID(strings.TrimSuffix(name, ".key")):
			s, err := readKeyFile(p)
			if err != nil {
				return fmt.Errorf("store: key directory: %w", err)
			}
			ek = ExportedKey{Name: strings.TrimSuffix(name, ".key"), Signer: s}
		case strings.HasSuffix(name, ".secret") && trace.ValidID(strings.TrimSuffix(name, ".secret")):
			b, err := readSecretFile(p)
			if err != nil {
				return fmt.Errorf("store: key directory: %w", err)
			}
			ek = ExportedKey{Name: strings.TrimSuffix(name, ".secret"), Secret: b}
		default:
			return fmt.Errorf("store: key directory: %s is not a file truyxuat keeps keys in", p)
		}
		if err := f(ek); err != nil {
			return err
		}
	}
	return nil
}

// storedTilesAbove0 counts the stored hash tiles of levels 1 and up.
func storedTilesAbove0(tx *bolt.Tx) int {
	n := 0
	c := tx.Bucket(bucketLogTiles).Cursor()
	for k, _ := c.Seek([]byte{1}); k != nil; k, _ = c.Next() {
		n++
	}
	return n
}
