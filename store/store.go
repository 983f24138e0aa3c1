package store

import (
	"context"
	"crypto/rand"
	"encoding/base32"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

const schemaVersion = "2"

var (
	bucketMeta      = []byte("meta")
	bucketCoops     = []byte("coops")
	bucketProducts  = []byte("products")
	bucketBatches   = []byte("batches")
	bucketLots      = []byte("lots")
	bucketAPIKeys   = []byte("apikeys")
	bucketAPIKeyIDs = []byte("apikeyids")
)

var allBuckets = [][]byte{bucketMeta, bucketCoops, bucketProducts, bucketBatches, bucketLots,
	bucketAPIKeys, bucketAPIKeyIDs}

// Options tune a DB. The zero value is what production uses.
type Options struct {
	// MaxGroup is the most appends committed in one transaction (default 256).
	MaxGroup int
	// Logger receives the store's own log lines (default slog.Default()).
	Logger *slog.Logger
	// Timeout is how long Open waits for the file lock (default 5s).
	Timeout time.Duration
	// Now returns the time recorded as an event's receive time (default time.Now).
	Now func() time.Time
	// Keys holds the signing keys the server keeps for cooperatives, with
	// which the store signs what it records on their behalf: a lot's
	// facts, their registry records (default: the directory "keys" beside
	// the file).
	Keys Keys
	// Location is the time zone of the times the store writes into signed
	// records (default UTC+7, Vietnam).
	Location *time.Location
	// PublishedPath is the file that remembers the newest checkpoint the
	// log published (default PublishedFile beside the bbolt file).
	PublishedPath string
}

// DB is truyxuat's store in one bbolt file. It is safe for concurrent
// use. Its write rules are the Engine's, which every Store shares.
type DB struct {
	*Engine
	bolt *bolt.DB
	opts Options
	log  *slog.Logger

	generation atomic.Uint64 // see Generation
	decoded    *entityCaches // see decoded

	keyCache sync.Map      // SHA-256 of a live API key's secret → *APIKey
	keyMu    sync.Mutex    // orders caching a key against revocations
	keyEpoch atomic.Uint64 // revocations so far

	reqs     chan *commitReq
	stop     chan struct{}
	stopped  chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	stats    Stats
	statsMu  sync.Mutex
	onCommit []func(CommitInfo)

	toCommit        chan *group
	idle            chan struct{} // holds a token while the committer is free
	resetNeeded     atomic.Bool
	epoch           atomic.Uint64 // the sequencer's resets, for headHint
	loaded          sync.Map      // batch id → struct{}: heads the sequencer holds
	pendingMu       sync.Mutex
	committedHashes []trace.Hash

	readOnly atomic.Pointer[ReadOnlyError] // why writes are refused; nil while they are not
	pubPath  string                        // the published-checkpoint file
	pubMu    sync.Mutex
	pub      *Published // its contents; changed only in write transactions

	throttle MemoryThrottle // see SignInThrottle

	tail         *logTail      // the events not yet merged into their chains and the event-hash index (layout.go)
	merges       atomic.Uint64 // tail merges so far
	mergedEvents atomic.Uint64 // events they merged
	mergeRetry   uint64        // the log size before which a failed merge is not tried again (the committer's)
}

// Open opens or creates the bbolt file at path and starts the sequencer.
// It compares the log with the published-checkpoint file beside it and
// opens the store read-only (see ReadOnly) if the log is behind it or
// differs from it.
func Open(path string, opts Options) (*DB, error) {
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.Timeout <= 0 {
		opts.Timeout = 5 * time.Second
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	if opts.Location == nil {
		opts.Location = time.FixedZone("ICT", 7*3600)
	}
	if opts.Keys == nil {
		k, err := OpenKeyDir(filepath.Join(filepath.Dir(path), "keys"))
		if err != nil {
			return nil, fmt.Errorf("store: open %s: %w", path, err)
		}
		opts.Keys = k
	}
	if opts.PublishedPath == "" {
		opts.PublishedPath = PublishedPath(path)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	// The freelist is not written by every commit (NoFreelistSync, with
	// bbolt's map freelist, as etcd runs it): each merge of the tail
	// (layout.go) rewrites the pages of the event-hash index, and the
	// thousands of pages it frees would be written in every commit until
	// new events use them up. Close writes it; after a crash bbolt
	// rebuilds it when it opens the file (0.7 s at 10^6 events; see
	// BENCHMARKS.md), once the file's pages are walked (freelist.go).
	if err := walkUnsynced(path); err != nil {
		return nil, fmt.Errorf("store: open %s: the data file is damaged (%v); check it with truyxuat backup --data and put back a backup with truyxuat restore", path, err)
	}
	b, err := bolt.Open(path, 0o600, &bolt.Options{Timeout: opts.Timeout, NoFreelistSync: true, FreelistType: bolt.FreelistMapType})
	if err != nil {
		if errors.Is(err, bolt.ErrTimeout) {
			return nil, fmt.Errorf("store: open %s: the file is locked by another truyxuat process", path)
		}
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	convert := false
	err = b.Update(func(tx *bolt.Tx) error {
		if err := createBuckets(tx); err != nil {
			return err
		}
		meta := tx.Bucket(bucketMeta)
		switch v := meta.Get([]byte("schema")); {
		case v == nil:
			return meta.Put([]byte("schema"), []byte(schemaVersion))
		case string(v) == "1":
			// An earlier layout: converted in place (migrate.go).
			convert = true
		case string(v) != schemaVersion:
			return fmt.Errorf("data file has schema version %s; this truyxuat reads versions 1 (which it converts) and %s", v, schemaVersion)
		}
		return nil
	})
	if err == nil && convert {
		err = migrateLayout(b, opts.Logger)
	}
	if err != nil {
		b.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db := &DB{
		decoded: newEntityCaches(),
		bolt:    b,
		opts:    opts,
		log:     opts.Logger,
		reqs:    make(chan *commitReq, 4*opts.MaxGroup),
		stop:    make(chan struct{}),
		stopped: make(chan struct{}),
		pubPath: opts.PublishedPath,
	}
	db.Engine = NewEngine(boltBackend{db}, opts.Keys, opts)
	b.View(func(tx *bolt.Tx) error { db.tail = loadTail(tx); return nil })
	if err := db.openPublished(); err != nil {
		b.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	db.startPipeline()
	if db.ReadOnly() != nil {
		// Nothing is signed by a store that refuses writes.
		return db, nil
	}
	if err := db.signMissingRecords(context.Background()); err != nil {
		db.Close()
		return nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	return db, nil
}

// Close stops the sequencer after the requests already queued are committed
// and closes the file.
func (db *DB) Close() error {
	db.closeMu.Lock()
	if db.closed {
		db.closeMu.Unlock()
		return nil
	}
	db.closed = true
	db.closeMu.Unlock()
	close(db.stop)
	<-db.stopped
	// A closed file keeps no tail: its chains, heads and event-hash
	// index hold every event. Its last transaction writes the freelist.
	if err := db.bolt.Update(func(tx *bolt.Tx) error {
		db.bolt.NoFreelistSync = false
		n, err := mergeTail(tx)
		if err == nil && n == 0 {
			// Nothing to merge: a write all the same, for the freelist.
			err = tx.Bucket(bucketMeta).Put(keyMerged, u64(mergedMark(tx)))
		}
		return err
	}); err != nil {
		db.log.Error("store: closing: merging the tail or writing the freelist failed; the next start rebuilds them", "error", err)
	}
	if err := db.bolt.Close(); err != nil {
		return fmt.Errorf("store: close: %w", err)
	}
	return nil
}

// update runs f in a write transaction unless the store is read-only.
// Every write of records goes through it or through the committer; only
// sign-in sessions and caches are written regardless.
func (db *DB) update(f func(tx *bolt.Tx) error) error {
	if err := db.writable(); err != nil {
		return err
	}
	return db.bolt.Update(f)
}

// Path returns the bbolt file's path.
func (db *DB) Path() string { return db.bolt.Path() }

// Check runs bbolt's consistency check over the whole file.
func (db *DB) Check() error {
	return db.bolt.View(func(tx *bolt.Tx) error {
		var errs []error
		for err := range tx.Check() {
			errs = append(errs, err)
		}
		return errors.Join(errs...)
	})
}

var idEncoding = base32.NewEncoding("abcdefghijklmnopqrstuvwxyz234567").WithPadding(base32.NoPadding)

// NewID returns a random identifier of 16 lowercase letters and digits (80 bits).
func NewID() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic("store: crypto/rand failed: " + err.Error())
	}
	return idEncoding.EncodeToString(b)
}

// slugID turns a name into an identifier prefix ("HTX Mỹ Xuyên" → "htx-my-xuyen")
// for readable ids; it keeps ASCII letters and digits only.
func slugID(name string, max int) string {
	var sb strings.Builder
	dash := false
	for _, r := range strings.ToLower(foldVietnamese(name)) {
		switch {
		case r >= 'a' && r <= 'z' || r >= '0' && r <= '9':
			sb.WriteRune(r)
			dash = false
		case !dash && sb.Len() > 0:
			sb.WriteByte('-')
			dash = true
		}
		if sb.Len() >= max {
			break
		}
	}
	return strings.Trim(sb.String(), "-")
}

// foldVietnamese removes Vietnamese diacritics (đ → d, ộ → o, …).
func foldVietnamese(s string) string {
	var sb strings.Builder
	for _, r := range s {
		if f, ok := vnFold[r]; ok {
			sb.WriteRune(f)
		} else {
			sb.WriteRune(r)
		}
	}
	return sb.String()
}

var vnFold = func() map[rune]rune {
	m := map[rune]rune{}
	groups := map[rune]string{
		'a': "àáảãạăằắẳẵặâầấẩẫậ", 'A': "ÀÁẢÃẠĂẰẮẲẴẶÂẦẤẨẪẬ",
		'e': "èéẻẽẹêềếểễệ", 'E': "ÈÉẺẼẸÊỀẾỂỄỆ",
		'i': "ìíỉĩị", 'I': "ÌÍỈĨỊ",
		'o': "òóỏõọôồốổỗộơờớởỡợ", 'O': "ÒÓỎÕỌÔỒỐỔỖỘƠỜỚỞỠỢ",
		'u': "ùúủũụưừứửữự", 'U': "ÙÚỦŨỤƯỪỨỬỮỰ",
		'y': "ỳýỷỹỵ", 'Y': "ỲÝỶỸỴ",
		'd': "đ", 'D': "Đ",
	}
	for base, chars := range groups {
		for _, r := range chars {
			m[r] = base
		}
	}
	return m
}()

// SlugID turns a name into an identifier prefix of at most max
// characters ("HTX Mỹ Xuyên" → "htx-my-xuyen"), as the store derives ids.
func SlugID(name string, max int) string { return slugID(name, max) }

// FoldVietnamese removes Vietnamese diacritics from s, e.g. to suggest a
// GS1-valid lot code from a Vietnamese one.
func FoldVietnamese(s string) string { return foldVietnamese(s) }

// Stats are counters of the sequencer.
type Stats struct {
	Commits      uint64 // transactions committed
	Appends      uint64 // events appended
	Requests     uint64 // write requests committed (an atomic change is one)
	Rejected     uint64 // append requests refused (validation, conflicts)
	MaxGroupSeen int    // largest group committed
}

// Stats returns a snapshot of the sequencer's counters.
func (db *DB) Stats() Stats {
	db.statsMu.Lock()
	defer db.statsMu.Unlock()
	return db.stats
}
