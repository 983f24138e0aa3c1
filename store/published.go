package store

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/truyxuat/truyxuat/trace/tlog"
)

// A transparency log must never sign two roots for one size. The bbolt
// file alone cannot promise that: put back an older copy of it and the log
// would sign checkpoint 537 after 1784 was published, then, growing again,
// different roots for sizes already published. So the log also remembers,
// outside the bbolt file, the newest checkpoint it ever signed: a small
// JSON file beside it (PublishedFile), written and synced before the
// checkpoint is committed, and so before anyone can be served it.
//
// When the store is opened, its log is compared with that file. A log
// with fewer entries than the published checkpoint, or with another root
// at its size, makes the store read-only (DB.ReadOnly): it answers reads,
// but accepts no writes and signs no checkpoints, until the operator puts
// back a data file that holds what was published.

// theDataFile names the data file in messages.
const theDataFile = "the data file"

// inPublishedFile says where a published checkpoint is known from.
const inPublishedFile = "recorded in " + PublishedFile

// PublishedFile is the name of the published-checkpoint file, in the
// directory of the bbolt file.
const PublishedFile = "log-published.json"

// Published is the newest checkpoint the log signed, and the newest one
// that came back with witness cosignatures.
type Published struct {
	Origin string    `json:"origin"`
	Size   uint64    `json:"size"`
	Root   tlog.Hash `json:"root"`
	// Checkpoint is the signed checkpoint note of Size.
	Checkpoint string `json:"checkpoint"`
	// CosignedSize and Cosigned are the newest checkpoint with witness
	// cosignatures (none: 0 and empty).
	CosignedSize uint64 `json:"cosigned_size,omitempty"`
	Cosigned     string `json:"cosigned,omitempty"`
}

// PublishedFromNote reads the checkpoint of a signed note.
func PublishedFromNote(note []byte) (*Published, error) {
	n, err := tlog.ParseNote(note)
	if err != nil {
		return nil, err
	}
	c, err := tlog.ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	return &Published{Origin: c.Origin, Size: c.Size, Root: c.Root, Checkpoint: string(note)}, nil
}

// readPublished reads and checks a published-checkpoint file.
func readPublished(p string) (*Published, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	var pub Published
	if err := json.Unmarshal(b, &pub); err != nil {
		return nil, fmt.Errorf("%s is damaged: %v", filepath.Base(p), err)
	}
	c, err := PublishedFromNote([]byte(pub.Checkpoint))
	if err != nil {
		return nil, fmt.Errorf("%s is damaged: its checkpoint: %v", filepath.Base(p), err)
	}
	if c.Origin != pub.Origin || c.Size != pub.Size || c.Root != pub.Root {
		return nil, fmt.Errorf("%s is damaged: its origin, size and root are not its checkpoint's", filepath.Base(p))
	}
	if pub.Cosigned != "" {
		cc, err := PublishedFromNote([]byte(pub.Cosigned))
		if err != nil || cc.Origin != pub.Origin || cc.Size != pub.CosignedSize || cc.Size > pub.Size {
			return nil, fmt.Errorf("%s is damaged: its cosigned checkpoint does not belong with its checkpoint", filepath.Base(p))
		}
	}
	return &pub, nil
}

// writePublished writes the file atomically and syncs it.
func writePublished(p string, pub *Published) error {
	b, err := json.MarshalIndent(pub, "", "  ")
	if err != nil {
		return err
	}
	if err := writeFileAtomic(p, append(b, '\n')); err != nil {
		return fmt.Errorf("store: %s: %w", filepath.Base(p), err)
	}
	return nil
}

// ErrReadOnly is wrapped by every error of a store that accepts no
// writes; errors.As finds the *ReadOnlyError that says why.
var ErrReadOnly = errors.New("store: read-only")

// ReadOnlyError says why the store accepts no writes and signs no
// checkpoints, and what its operator can do about it. Neither part names
// a path of the machine: clients are shown them.
type ReadOnlyError struct {
	Reason string // what is wrong
	Remedy string // what to do
	behind bool
}

// Behind reports whether the log is only behind what was published (a
// newer copy of the same log fixes it), not at odds with it.
func (e *ReadOnlyError) Behind() bool { return e.behind }

func (e *ReadOnlyError) Error() string {
	return "store: read-only: " + e.Reason + ". " + e.Remedy
}

func (e *ReadOnlyError) Unwrap() error { return ErrReadOnly }

// What an operator can do about each kind of problem.
const (
	remedyBehind = "Signing checkpoints or recording events now would give sizes already published a different root, which a transparency log must never do. " +
		"Stop the service, put back a backup that holds at least %d log entries (truyxuat restore FILE) and start it again; until then the service answers reads only"
	remedyOther = "This is not the data file that published that checkpoint. Stop the service and put back the data file of this log, or its newest backup (truyxuat restore FILE); " +
		"until then the service answers reads only, and it never signs a second root for a size already published"
	remedyDamaged = "Put back the " + PublishedFile + " of this data directory. Removing it makes the service trust the data file as it is, " +
		"so do that only if you know the data file holds everything the log published"
)

// BehindError says that the log in what (the data file, a backup) has
// fewer entries than a checkpoint the log published (known from where).
func BehindError(what string, size, published uint64, where string) *ReadOnlyError {
	reason := fmt.Sprintf("the log in %s has %d entries, but the log has already published a checkpoint of %d entries (%s)", what, size, published, where)
	if what == theDataFile {
		reason += ": the data file is older than what was published, for example put back from an older backup"
	}
	return &ReadOnlyError{
		Reason: reason,
		Remedy: fmt.Sprintf(remedyBehind, published),
		behind: true,
	}
}

// divergedError says that the log in what has another root at a
// published size than the one published (known from where).
func divergedError(what string, size uint64, root, published tlog.Hash, where string) *ReadOnlyError {
	return &ReadOnlyError{
		Reason: fmt.Sprintf("the log in %s has root %s at size %d, but the log published root %s for that size (%s)", what, root, size, published, where),
		Remedy: remedyOther,
	}
}

// ConflictError says that the log in what has another root at a size
// than the one published for it (known from where, such as a witness that
// cosigned that size), when the published root itself is not at hand.
func ConflictError(what string, size uint64, where string) *ReadOnlyError {
	return &ReadOnlyError{
		Reason: fmt.Sprintf("the log in %s has another root at size %d than the one the log published for that size (%s)", what, size, where),
		Remedy: remedyOther,
	}
}

// ComparePublished checks the log in what (v) against the published
// checkpoint (known from where): it must hold at least as many entries,
// with the published root at its size, in a log of the same origin.
func ComparePublished(what string, v LogView, pub *Published, where string) *ReadOnlyError {
	if _, note := v.LatestCheckpoint(); note != nil {
		if c, err := PublishedFromNote(note); err == nil && c.Origin != pub.Origin {
			return &ReadOnlyError{
				Reason: fmt.Sprintf("%s holds the log %q, but the published checkpoint (%s) is of the log %q", what, c.Origin, where, pub.Origin),
				Remedy: remedyOther,
			}
		}
	}
	if v.Size() < pub.Size {
		return BehindError(what, v.Size(), pub.Size, where)
	}
	root, err := tlog.RootAt(v, pub.Size)
	if err != nil {
		return &ReadOnlyError{
			Reason: fmt.Sprintf("the log in %s cannot be read at the published size %d: %v", what, pub.Size, err),
			Remedy: remedyOther,
		}
	}
	if root != pub.Root {
		return divergedError(what, pub.Size, root, pub.Root, where)
	}
	return nil
}

// openPublished compares the log with the published-checkpoint file when
// the store is opened. A store without the file (a new store, or one made
// before the file existed) writes it from its newest checkpoint; a file
// older than the store's newest checkpoint is brought up to it.
func (db *DB) openPublished() error {
	pub, err := readPublished(db.pubPath)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		pub = nil
	case err != nil:
		db.readOnly.Store(&ReadOnlyError{Reason: err.Error(), Remedy: remedyDamaged})
		return nil
	}
	var latest *Published
	var problem *ReadOnlyError
	err = db.ViewLog(func(v LogView) error {
		if pub != nil {
			problem = ComparePublished(theDataFile, v, pub, inPublishedFile)
		}
		if _, note := v.LatestCheckpoint(); note != nil {
			var err error
			if latest, err = PublishedFromNote(note); err != nil {
				return fmt.Errorf("the newest stored checkpoint: %w", err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	db.pub = pub
	if problem != nil {
		db.readOnly.Store(problem)
		return nil
	}
	if latest != nil && (pub == nil || latest.Size > pub.Size) {
		if pub != nil {
			latest.CosignedSize, latest.Cosigned = pub.CosignedSize, pub.Cosigned
		}
		if err := writePublished(db.pubPath, latest); err != nil {
			return err
		}
		db.pub = latest
	}
	return nil
}

// ReadOnly returns why the store accepts no writes, or nil if it does.
func (db *DB) ReadOnly() *ReadOnlyError { return db.readOnly.Load() }

// SetReadOnly stops the store accepting writes and signing checkpoints,
// for good (until it is opened again), for the reason given; the first
// reason is kept. The checkpointer calls it when a witness reports a
// checkpoint this log's data file does not hold.
func (db *DB) SetReadOnly(e *ReadOnlyError) {
	db.readOnly.CompareAndSwap(nil, e)
}

// writable returns the read-only error, if any.
func (db *DB) writable() error {
	if e := db.readOnly.Load(); e != nil {
		return e
	}
	return nil
}

// Published returns the newest checkpoint the log published, as recorded
// in PublishedFile (ok false before the first checkpoint).
func (db *DB) Published() (pub Published, ok bool) {
	db.pubMu.Lock()
	defer db.pubMu.Unlock()
	if db.pub == nil {
		return Published{}, false
	}
	return *db.pub, true
}

// PublishedPath returns the path of the published-checkpoint file of the
// bbolt file at dbPath.
func PublishedPath(dbPath string) string {
	return filepath.Join(filepath.Dir(dbPath), PublishedFile)
}
