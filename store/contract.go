package store

import (
	"context"
	"errors"
	"time"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// Store is what the service keeps, as the API, the workspace and the
// command line use it. Two implementations keep it: *DB, the embedded
// bbolt file (the default: one binary, no server to run), and
// store/pg's, on PostgreSQL, which any number of truyxuat nodes share.
// Both pass the same contract tests (store/storetest).
//
// Every write that changes a chain or the registry goes through a group
// committer and is durable when it returns: the event (or record), its
// place in its chain and its transparency-log entry are committed in one
// transaction, or nothing is. The shared types (StoredEvent, APIKey, User,
// the errors…) belong to this package; no type of bbolt or of the
// PostgreSQL driver crosses this interface.
type Store interface {
	// Cooperatives, products, inspectors.
	CreateCooperative(c *trace.Cooperative) error
	UpdateCooperativeBy(c *trace.Cooperative, by string) error
	Cooperative(id string) (*trace.Cooperative, error)
	Cooperatives() ([]*trace.Cooperative, error)
	CooperativeByGLN(gln string) (*trace.Cooperative, error)
	AddCooperativeKey(id string, pub []byte, first bool) (*trace.Cooperative, bool, error)
	CreateProduct(p *trace.Product) error
	UpdateProduct(p *trace.Product, by string) error
	Product(id string) (*trace.Product, error)
	Products(cooperativeID string) ([]*trace.Product, error)
	CreateInspector(in *trace.Inspector) error
	Inspector(id string) (*trace.Inspector, error)
	Inspectors() ([]*trace.Inspector, error)
	AddInspectorKey(id string, pub []byte) (*trace.Inspector, bool, error)
	// SignerFor is the signing key the service holds for a cooperative.
	SignerFor(coopID string) (*trace.Signer, error)

	// Batches and their chains.
	CreateBatch(bt *trace.Batch) error
	Batch(id string) (*trace.Batch, error)
	BatchByLot(gtin14, lot string) (*trace.Batch, error)
	Batches(cooperativeID, after string, limit int) (*BatchPage, error)
	Append(ctx context.Context, req AppendRequest) (*StoredEvent, error)
	AppendAll(ctx context.Context, reqs []AppendRequest) ([]*StoredEvent, error)
	Apply(ctx context.Context, ch Change) ([]*StoredEvent, error)
	RestateFacts(ctx context.Context, batchID string, f *trace.LotFacts, keyID string) (*StoredEvent, error)
	Head(batchID string) (uint64, trace.Hash, error)
	History(batchID string) ([]*StoredEvent, error)
	HistoryFrom(batchID string, from uint64, prev trace.Hash) ([]*StoredEvent, error)
	EventByHash(h trace.Hash) (*StoredEvent, error)
	Lineage(batchID string) (*Lineage, error)
	Recalls(batchID string) ([]Recall, error)
	LotBalance(batchID string) (*trace.LotBalance, error)
	CheckLot(batchID string) error

	// The registry's signed records.
	LatestRecord(kind trace.RecordKind, id string) (*StoredRecord, error)
	Records(kind trace.RecordKind, id string) ([]*StoredRecord, error)
	Entries(kind trace.RecordKind, coop string, withRemoved bool) ([]*StoredRecord, error)
	Entry(kind trace.RecordKind, id string) (*StoredRecord, error)
	PutEntries(ctx context.Context, coop string, writes []EntryWrite, by string) ([]*StoredRecord, error)
	PutEntry(ctx context.Context, coop string, w EntryWrite, by string) (*StoredRecord, error)
	RemoveEntry(ctx context.Context, kind trace.RecordKind, id, day, by string) (*StoredRecord, error)
	CertificatesOn(coop, product, day string) ([]CertificateOn, error)

	// The transparency log.
	ViewLog(f func(v LogView) error) error
	LogSize() (uint64, error)
	CheckpointLog(sign Checkpointer) (uint64, []byte, error)
	UpdateCheckpoint(size uint64, note []byte) error

	// API keys, people, sessions, idempotency keys.
	CreateAPIKey(k *APIKey) (secret string, err error)
	Authenticate(secret string) (*APIKey, error)
	APIKey(id string) (*APIKey, error)
	APIKeys(cooperativeID string) ([]*APIKey, error)
	RevokeAPIKey(id string) (*APIKey, error)
	HasAdminKey() (bool, error)
	CreateUser(u *User, password string) error
	User(username string) (*User, error)
	Users() ([]*User, error)
	CheckPassword(username, password string) (*User, error)
	SetUserDisabled(username string, disabled bool) error
	// SetPassword gives a person a new password and ends every session
	// of theirs.
	SetPassword(username, password string) error
	CreateSession(username string) (string, *Session, error)
	SessionFor(secret string, idle, maxAge time.Duration) (*Session, error)
	EndSession(secret string) error
	RevokeSessions(username string) (int, error)
	SessionCounts() (map[string]int, error)
	IdempotentEvent(key string) (trace.Hash, bool, error)
	PutIdempotentEvent(key string, h trace.Hash) error
	// SignInThrottle is the workspace's sign-in throttle, shared by every
	// node of the service.
	SignInThrottle() Throttle

	// Attachments and scans.
	PutAttachment(info AttachmentInfo, data []byte) (stored *AttachmentInfo, created bool, err error)
	Attachment(h trace.Hash) (*AttachmentInfo, error)
	Attachments(hs ...trace.Hash) (map[trace.Hash]*AttachmentInfo, error)
	AttachmentData(h trace.Hash) ([]byte, error)
	AttachmentVariant(h trace.Hash, name string) ([]byte, error)
	PutAttachmentVariant(h trace.Hash, name string, data []byte) error
	AddScans(counts map[ScanKey]uint64) error
	Scans(batchID string) (*LotScans, error)

	// The running store.
	//
	// Generation changes whenever anything a reader may have cached
	// changed, on this node or (PostgreSQL) on another.
	Generation() uint64
	// OnCommit registers an observer of committed groups (before the
	// first append).
	OnCommit(f func(CommitInfo))
	Stats() Stats
	ReadOnly() *ReadOnlyError
	SetReadOnly(e *ReadOnlyError)
	// Snapshot is a consistent copy of the whole store for
	// GET /api/v1/admin/backup. A store that is not one file answers
	// ErrUnsupported, saying which tool backs it up.
	Snapshot() (*Snapshot, error)
	Close() error
}

// LogView is a consistent read of the transparency log: every method sees
// the log as it was when the view began, so a proof and the size it is for
// agree. It is a tlog.TileReader and tlog.BundleReader.
type LogView interface {
	// Size is the number of entries of the log.
	Size() uint64
	// ReadTile returns the latest stored bytes of a hash tile.
	ReadTile(level int, index uint64) ([]byte, error)
	// ReadBundle returns the latest stored bytes of an entry bundle.
	ReadBundle(index uint64) ([]byte, error)
	// EventIndex returns the log index of an event.
	EventIndex(h trace.Hash) (uint64, bool)
	// EventAt returns the hash of the event or registry record at a log index.
	EventAt(index uint64) (trace.Hash, bool)
	// Checkpoint returns the stored signed checkpoint of a size, or nil.
	Checkpoint(size uint64) []byte
	// LatestCheckpoint returns the size and note of the newest stored
	// checkpoint (0 and nil when none is stored yet).
	LatestCheckpoint() (uint64, []byte)
	// CheckpointBefore returns the newest stored checkpoint whose size is
	// below size, with ok false if there is none.
	CheckpointBefore(size uint64) (uint64, []byte, bool)
	// Head returns a batch's length and head hash.
	Head(batchID string) (uint64, trace.Hash, error)
	// RecallCount is the number of recall events ever recorded.
	RecallCount() uint64
	// RecordGeneration counts the registry revisions ever written.
	RecordGeneration() uint64
}

// Keys are the secrets the service holds and every node must be able to
// use: the signing keys it keeps for cooperatives and inspectors, and
// secrets that key its own MACs. *KeyDir keeps them as files (mode 0600);
// store/pg keeps them in PostgreSQL, encrypted under a master key.
type Keys interface {
	// Signer returns the key stored under name, creating it on first use.
	Signer(name string) (*trace.Signer, error)
	// Secret returns the random secret stored under name (SecretSize
	// bytes), creating it on first use.
	Secret(name string) ([]byte, error)
}

var (
	_ Store             = (*DB)(nil)
	_ LogView           = (*boltView)(nil)
	_ Keys              = (*KeyDir)(nil)
	_ tlog.TileReader   = LogView(nil)
	_ tlog.BundleReader = LogView(nil)
)

// ErrUnsupported is returned (wrapped, with what to use instead) by an
// operation one implementation of Store has no meaning for, such as a
// copy of the bbolt file from the PostgreSQL store.
var ErrUnsupported = errors.New("store: not supported by this store")

// ErrUnavailable is wrapped by the errors of a store that cannot reach
// its database for now (a PostgreSQL restart, a failover, a network cut):
// nothing of the request was committed, and the same request may be sent
// again in a moment.
var ErrUnavailable = errors.New("store: the database is unavailable for now")

// ErrNotSigner is returned (wrapped) by CheckpointLog on a node that does
// not sign the log's checkpoints now: with several nodes on one database,
// one at a time does (it holds the lease), and the others serve what it
// signed.
var ErrNotSigner = errors.New("store: another node signs the log's checkpoints")
