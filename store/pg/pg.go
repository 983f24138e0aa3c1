// Package pg keeps truyxuat's data in PostgreSQL, so that any number of
// truyxuat nodes can serve one service: it implements store.Store with
// the same write rules as the embedded bbolt store (store.Engine) and
// passes the same contract tests (store/storetest).
//
// # Several nodes, one service
//
// Each node group-commits: a committer goroutine takes one request, then
// everything queued behind it (up to MaxGroup) and, once the log's row is
// locked, everything queued while it waited for that (another node's
// commit), and places, signs and writes them in one transaction; requests
// that arrive later form the next group. There is no timer, so a lone
// request never waits. The
// transaction first locks the log's state row (SELECT … FOR UPDATE) and
// the rows of the batches it touches, then reads their heads, so nodes
// append one group at a time: a batch gets one chain (no two events with
// one number or one predecessor, also enforced by the table's keys) and
// the transparency log one sequence, its tiles appended in the same
// transaction as the events. The committer acknowledges a request only
// after COMMIT returned, with synchronous_commit on: an acknowledged event
// is on the database's disk.
//
// Checkpoints are signed by one node at a time: the holder of a lease row
// (holder, expiry), taken or renewed in the transaction that signs, which
// also locks the newest published checkpoint and refuses to sign a root at
// odds with it.
//
// Every committed group sends a notification (LISTEN/NOTIFY); each node
// listens, so that its Generation, by which the API knows without a query
// that nothing a reader cached has changed, moves with every node's
// writes. While a node cannot listen, its Generation changes on every
// call: readers then check the database each time.
//
// # Secrets
//
// The signing keys of cooperatives, inspectors and the log, and the
// workspace's cookie secret, are kept in the database sealed with
// XChaCha20-Poly1305 under a 32-byte master key that every node holds as
// a file of mode 0600 (see OpenMasterKey). A key made on one node is
// usable by every other; the database alone (a dump, a replica) opens
// none of them.
//
// # Failures
//
// An error of the connection (PostgreSQL restarting, a failover, a
// network cut, a query that took too long) is returned wrapping
// store.ErrUnavailable: nothing of that request was committed, unless the
// connection broke during COMMIT itself, and the request may be sent
// again. The pool reconnects on its own.
package pg

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"os"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/truyxuat/truyxuat/store"
)

// Options tune a DB. MasterKeyFile is required.
type Options struct {
	// MasterKeyFile is the file of the master key that seals the keys
	// kept in the database (see OpenMasterKey). Every node needs the
	// same one.
	MasterKeyFile string
	// CreateMasterKey makes the master key file if it is missing and
	// the database holds no sealed keys yet (the first node of a new
	// service).
	CreateMasterKey bool
	// NoMigrate refuses a database whose schema is behind instead of
	// migrating it (truyxuat migrate-schema migrates).
	NoMigrate bool
	// MaxGroup is the most requests committed in one transaction (default 256).
	MaxGroup int
	// MaxConns bounds the connection pool (default 4 + 2 per processor).
	MaxConns int32
	// QueryTimeout bounds each read and each group's transaction (default 15s).
	QueryTimeout time.Duration
	// LeaseTTL is how long the checkpoint-signing lease lasts after its
	// holder last renewed it (default 10s).
	LeaseTTL time.Duration
	// Node names this node in the lease and in logs (default host and
	// process id).
	Node string
	// Logger receives the store's own log lines (default slog.Default()).
	Logger *slog.Logger
	// Now and Location are as in store.Options.
	Now      func() time.Time
	Location *time.Location
}

// DB is truyxuat's store on PostgreSQL. It is safe for concurrent use.
type DB struct {
	*store.Engine
	pool    *pgxpool.Pool
	opts    Options
	log     *slog.Logger
	keys    *KeyStore
	node    string
	channel string // the notification channel of this database schema

	generation atomic.Uint64
	listening  atomic.Bool
	docs       docCache // see docCache

	keyCache sync.Map // SHA-256 of a live API key's secret → *store.APIKey
	keyMu    sync.Mutex
	keyEpoch atomic.Uint64

	reqs     chan *request
	stop     chan struct{}
	stopped  chan struct{}
	closeMu  sync.RWMutex
	closed   bool
	stats    store.Stats
	statsMu  sync.Mutex
	onCommit []func(store.CommitInfo)

	readOnly atomic.Pointer[store.ReadOnlyError]

	listenCancel context.CancelFunc
	listenDone   chan struct{}

	throttle *throttle // see SignInThrottle
}

var _ store.Store = (*DB)(nil)

// Open connects to the database at url (a PostgreSQL URL or key=value
// string; search_path picks the schema), applies the migrations this
// truyxuat has that the database lacks (unless NoMigrate), opens the
// sealed keys with the master key and starts the committer and the
// listener.
func Open(ctx context.Context, url string, opts Options) (*DB, error) {
	if opts.MaxGroup <= 0 {
		opts.MaxGroup = 256
	}
	if opts.Logger == nil {
		opts.Logger = slog.Default()
	}
	if opts.QueryTimeout <= 0 {
		opts.QueryTimeout = 15 * time.Second
	}
	if opts.LeaseTTL <= 0 {
		opts.LeaseTTL = 10 * time.Second
	}
	if opts.MaxConns <= 0 {
		opts.MaxConns = int32(4 + 2*runtime.GOMAXPROCS(0))
	}
	if opts.Node == "" {
		host, _ := os.Hostname()
		opts.Node = fmt.Sprintf("%s-%d-%s", host, os.Getpid(), store.NewID()[:6])
	}
	if opts.MasterKeyFile == "" {
		return nil, errors.New("pg: a master key file is required")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// The message may quote the URL: never its password.
		return nil, fmt.Errorf("pg: the database URL is not valid: %s", redact(err.Error(), cfg))
	}
	cfg.MaxConns = opts.MaxConns
	cfg.HealthCheckPeriod = 5 * time.Second
	if cfg.ConnConfig.RuntimeParams == nil {
		cfg.ConnConfig.RuntimeParams = map[string]string{}
	}
	// Durability is PostgreSQL's: an acknowledged commit is on its disk.
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "on"
	cfg.ConnConfig.RuntimeParams["application_name"] = "truyxuat"
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("pg: %w", err)
	}
	db := &DB{pool: pool, opts: opts, log: opts.Logger, node: opts.Node,
		reqs: make(chan *request, 4*opts.MaxGroup), stop: make(chan struct{}), stopped: make(chan struct{})}
	db.throttle = &throttle{db: db}
	if err := db.open(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	db.Engine = store.NewEngine(backend{db}, db.keys, store.Options{Logger: opts.Logger, Now: opts.Now, Location: opts.Location})
	db.startListener()
	go db.committer()
	return db, nil
}

func (db *DB) open(ctx context.Context) error {
	if err := db.pool.Ping(ctx); err != nil {
		return db.fail("pg: connect", err)
	}
	if db.opts.NoMigrate {
		if err := checkSchema(ctx, db.pool); err != nil {
			return err
		}
	} else {
		res, err := Migrate(ctx, db.pool)
		if err != nil {
			return db.fail("", err)
		}
		if res.To != res.From {
			db.log.Info("pg: the database's schema was migrated", "from", res.From, "to", res.To)
		}
	}
	var schema string
	if err := db.pool.QueryRow(ctx, `SELECT current_schema()`).Scan(&schema); err != nil {
		return db.fail("pg: connect", err)
	}
	// A channel name is an identifier of at most 63 bytes.
	sum := sha256.Sum256([]byte(schema))
	db.channel = "truyxuat_" + hex.EncodeToString(sum[:8])
	var err error
	if db.keys, err = openKeyStore(ctx, db.pool, db.opts.MasterKeyFile, db.opts.CreateMasterKey); err != nil {
		return err
	}
	return db.openReadOnly(ctx)
}

// Close stops the committer after the requests already queued are
// committed, stops listening and closes the pool.
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
	if db.listenCancel != nil {
		db.listenCancel()
		<-db.listenDone
	}
	db.pool.Close()
	return nil
}

// Node is this node's name, as the checkpoint lease records it.
func (db *DB) Node() string { return db.node }

// Keys returns the sealed keys (the store.Keys every node shares).
func (db *DB) Keys() store.Keys { return db.keys }

// LogKeys opens the log's signing keys, sealed in the database: as
// store.OpenLogKeys opens them from a key directory, creating them (once,
// whichever node is first) with create.
func (db *DB) LogKeys(origin string, create bool) (*store.LogKeys, error) {
	return store.LoadLogKeys(db.keys, origin, create)
}

// Stats returns a snapshot of the committer's counters (this node's).
func (db *DB) Stats() store.Stats {
	db.statsMu.Lock()
	defer db.statsMu.Unlock()
	return db.stats
}

// OnCommit registers f to be called after each group this node commits,
// and whenever another node tells of a commit. f must be quick and must
// not write. Register observers before the first append.
func (db *DB) OnCommit(f func(store.CommitInfo)) { db.onCommit = append(db.onCommit, f) }

// Generation changes whenever anything a reader may have cached changed,
// on this node or another. While the node cannot listen for the others'
// notifications, it changes on every call.
func (db *DB) Generation() uint64 {
	if !db.listening.Load() {
		return db.generation.Add(1)
	}
	return db.generation.Load()
}

func (db *DB) changed() { db.generation.Add(1) }

// Snapshot is not a PostgreSQL store's: the database is backed up with
// PostgreSQL's tools.
func (db *DB) Snapshot() (*store.Snapshot, error) {
	return nil, fmt.Errorf("a copy of the data file: %w: the service keeps its data in PostgreSQL; back it up with pg_dump or pg_basebackup (see the README, \"Running more than one node\")", store.ErrUnsupported)
}

// ctx is the context of one read or one group's transaction.
func (db *DB) ctx() (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.Background(), db.opts.QueryTimeout)
}

// fail prefixes err and, if it is the connection's (see unavailable),
// makes it wrap store.ErrUnavailable.
func (db *DB) fail(op string, err error) error {
	if err == nil {
		return nil
	}
	if unavailable(err) && !errors.Is(err, store.ErrUnavailable) {
		err = fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	if op == "" {
		return err
	}
	return fmt.Errorf("%s: %w", op, err)
}

// unavailable reports whether err is the database being out of reach
// rather than an answer: a connection that failed or broke, a server
// shutting down or starting, too many connections, a timeout, a
// transaction to try again.
func unavailable(err error) bool {
	if err == nil {
		return false
	}
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		switch {
		case strings.HasPrefix(pe.Code, "08"), strings.HasPrefix(pe.Code, "53"),
			pe.Code == "57P01", pe.Code == "57P02", pe.Code == "57P03",
			pe.Code == "40001", pe.Code == "40P01", pe.Code == "55P03":
			return true
		}
		return false
	}
	var ce *pgconn.ConnectError
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, net.ErrClosed), errors.As(err, &ce), errors.As(err, &ne),
		pgconn.Timeout(err), pgconn.SafeToRetry(err):
		return true
	}
	msg := err.Error()
	for _, s := range []string{"conn closed", "broken pipe", "connection reset", "connection refused", "unexpected EOF", "closed pool"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// redact removes the password of cfg from a message.
func redact(msg string, cfg *pgxpool.Config) string {
	if cfg != nil && cfg.ConnConfig.Password != "" {
		msg = strings.ReplaceAll(msg, cfg.ConnConfig.Password, "xxxxx")
	}
	return msg
}

// querier is a pool or a transaction.
type querier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
	QueryRow(ctx context.Context, sql string, args ...any) pgx.Row
}

// read runs f with the pool and a context bounded by QueryTimeout.
func (db *DB) read(op string, f func(ctx context.Context, q querier) error) error {
	ctx, cancel := db.ctx()
	defer cancel()
	return db.fail(op, f(ctx, db.pool))
}

// write runs f in a transaction of its own (for what does not go
// through the committer: keys, people, sessions, attachments…).
func (db *DB) write(op string, f func(ctx context.Context, tx pgx.Tx) error) error {
	ctx, cancel := db.ctx()
	defer cancel()
	return db.fail(op, pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error { return f(ctx, tx) }))
}
