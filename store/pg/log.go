package pg

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// What a node's messages call the database and where the published
// checkpoint is known from.
const (
	theDatabase   = "the database"
	inTheDatabase = "the newest published checkpoint, recorded in the database"
	remedyOther   = "The database does not hold the log that published that checkpoint. Put back the database of this log, or a copy of it that holds what was published " +
		"(PostgreSQL's own point-in-time recovery); until then every node answers reads only, and none signs a second root for a size already published"
)

// logView is a consistent read of the log: one repeatable-read
// transaction (store.LogView). Its first error of the database is
// returned by ViewLog.
type logView struct {
	ctx                    context.Context
	q                      querier
	size, recalls, records uint64
	err                    error
}

var _ store.LogView = (*logView)(nil)

func (v *logView) fail(err error) {
	if err != nil && !errors.Is(err, pgx.ErrNoRows) && v.err == nil {
		v.err = err
	}
}

func (v *logView) Size() uint64             { return v.size }
func (v *logView) RecallCount() uint64      { return v.recalls }
func (v *logView) RecordGeneration() uint64 { return v.records }

func (v *logView) ReadTile(level int, index uint64) ([]byte, error) {
	var data []byte
	err := v.q.QueryRow(v.ctx, `SELECT data FROM log_tiles WHERE level = $1 AND idx = $2`, level, int64(index)).Scan(&data)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		v.fail(err)
		return nil, err
	}
	return data, nil
}

func (v *logView) ReadBundle(index uint64) ([]byte, error) {
	var data []byte
	err := v.q.QueryRow(v.ctx, `SELECT data FROM log_bundles WHERE idx = $1`, int64(index)).Scan(&data)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		v.fail(err)
		return nil, err
	}
	return data, nil
}

func (v *logView) EventIndex(h trace.Hash) (uint64, bool) {
	var idx int64
	err := v.q.QueryRow(v.ctx, `SELECT log_index FROM events WHERE hash = $1`, h[:]).Scan(&idx)
	v.fail(err)
	return uint64(idx), err == nil
}

func (v *logView) EventAt(index uint64) (trace.Hash, bool) {
	var h trace.Hash
	var b []byte
	err := v.q.QueryRow(v.ctx, `SELECT hash FROM log_entries WHERE idx = $1`, int64(index)).Scan(&b)
	v.fail(err)
	if err != nil || len(b) != len(h) {
		return h, false
	}
	copy(h[:], b)
	return h, true
}

func (v *logView) Checkpoint(size uint64) []byte {
	var note []byte
	v.fail(v.q.QueryRow(v.ctx, `SELECT note FROM checkpoints WHERE size = $1`, int64(size)).Scan(&note))
	return note
}

func (v *logView) LatestCheckpoint() (uint64, []byte) {
	var size int64
	var note []byte
	err := v.q.QueryRow(v.ctx, `SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1`).Scan(&size, &note)
	v.fail(err)
	if err != nil {
		return 0, nil
	}
	return uint64(size), note
}

func (v *logView) CheckpointBefore(size uint64) (uint64, []byte, bool) {
	var s int64
	var note []byte
	err := v.q.QueryRow(v.ctx, `SELECT size, note FROM checkpoints WHERE size < $1 ORDER BY size DESC LIMIT 1`, int64(size)).Scan(&s, &note)
	v.fail(err)
	if err != nil {
		return 0, nil, false
	}
	return uint64(s), note, true
}

func (v *logView) Head(batchID string) (uint64, trace.Hash, error) {
	n, h, err := readHead(v.ctx, v.q, batchID)
	if err != nil && !errors.Is(err, trace.ErrNotFound) {
		v.fail(err)
	}
	return n, h, err
}

// ViewLog runs f with a consistent view of the log.
func (db *DB) ViewLog(f func(v store.LogView) error) error {
	ctx, cancel := db.ctx()
	defer cancel()
	return db.fail("", pgx.BeginTxFunc(ctx, db.pool, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly}, func(tx pgx.Tx) error {
		v := &logView{ctx: ctx, q: tx}
		var size, recalls, records int64
		if err := tx.QueryRow(ctx, `SELECT size, recalls, records FROM log_state WHERE id = 0`).Scan(&size, &recalls, &records); err != nil {
			return err
		}
		v.size, v.recalls, v.records = uint64(size), uint64(recalls), uint64(records)
		if err := f(v); err != nil {
			if v.err != nil {
				return v.err
			}
			return err
		}
		return v.err
	}))
}

// LogSize returns the number of entries committed to the log.
func (db *DB) LogSize() (uint64, error) {
	var n int64
	err := db.read("", func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `SELECT size FROM log_state WHERE id = 0`).Scan(&n)
	})
	return uint64(n), err
}

// CheckpointLog signs a checkpoint of everything committed so far, unless
// the newest stored checkpoint already covers it, stores it and returns
// the newest checkpoint's size and note.
//
// One node signs at a time: the transaction takes (or renews) the lease
// first; a node that finds another's lease live returns an error wrapping
// store.ErrNotSigner. It then locks the newest published checkpoint and
// compares the log with it and with the newest stored checkpoint: a log
// behind them or at odds with them makes every node read-only instead.
// The root signed is of entries already committed.
func (db *DB) CheckpointLog(sign store.Checkpointer) (uint64, []byte, error) {
	if err := db.writable(); err != nil {
		return 0, nil, fmt.Errorf("store: checkpoint: %w", err)
	}
	var size uint64
	var note []byte
	var problem *store.ReadOnlyError
	err := db.write("store: checkpoint", func(ctx context.Context, tx pgx.Tx) error {
		var holder string
		var live bool
		if err := tx.QueryRow(ctx, `SELECT holder, expires > now() FROM checkpoint_lease WHERE id = 0 FOR UPDATE`).Scan(&holder, &live); err != nil {
			return err
		}
		if live && holder != db.node {
			return fmt.Errorf("%w: node %s holds the lease", store.ErrNotSigner, holder)
		}
		if _, err := tx.Exec(ctx, `UPDATE checkpoint_lease SET holder = $1, expires = now() + $2::interval WHERE id = 0`,
			db.node, fmt.Sprintf("%d milliseconds", db.opts.LeaseTTL.Milliseconds())); err != nil {
			return err
		}
		pub, err := readPublished(ctx, tx, true)
		if err != nil {
			return err
		}
		v := &logView{ctx: ctx, q: tx}
		var n int64
		var readOnly *string
		if err := tx.QueryRow(ctx, `SELECT size, read_only FROM log_state WHERE id = 0`).Scan(&n, &readOnly); err != nil {
			return err
		}
		if readOnly != nil {
			return parseReadOnly(*readOnly)
		}
		v.size = uint64(n)
		if pub != nil {
			if problem = store.ComparePublished(theDatabase, v, pub, inTheDatabase); problem != nil {
				return notUnlessRead(&problem, v)
			}
		}
		last, lastNote := v.LatestCheckpoint()
		if v.err != nil {
			return v.err
		}
		if lastNote != nil {
			// The newest stored checkpoint too must be this log's, at
			// its size.
			cp, err := store.PublishedFromNote(lastNote)
			if err != nil {
				return fmt.Errorf("the newest stored checkpoint: %w", err)
			}
			if problem = store.ComparePublished(theDatabase, v, cp, "the newest stored checkpoint"); problem != nil {
				return notUnlessRead(&problem, v)
			}
			if last >= v.size {
				size, note = last, lastNote
				return nil
			}
		}
		root, err := tlog.RootAt(v, v.size)
		if err != nil {
			return err
		}
		if note, err = sign(v.size, root); err != nil {
			return err
		}
		size = v.size
		next, err := store.PublishedFromNote(note)
		if err != nil {
			return fmt.Errorf("the signed checkpoint: %w", err)
		}
		if next.Size != size || next.Root != root {
			return fmt.Errorf("the signer signed size %d, root %s instead of size %d, root %s", next.Size, next.Root, size, root)
		}
		if pub == nil || size > pub.Size {
			if pub != nil {
				next.CosignedSize, next.Cosigned = pub.CosignedSize, pub.Cosigned
			}
			if err := writePublished(ctx, tx, next); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `INSERT INTO checkpoints (size, note) VALUES ($1, $2)`, int64(size), note); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, db.channel, db.node+" checkpoint")
		return err
	})
	if problem != nil {
		problem.Remedy = remedyOther
		db.SetReadOnly(problem)
	}
	if err != nil {
		return 0, nil, err
	}
	db.changed()
	return size, note, nil
}

// UpdateCheckpoint replaces the stored note of a size with one that has
// the same checkpoint text (with witness cosignatures added). The newest
// such note is also kept as the newest cosigned published checkpoint.
func (db *DB) UpdateCheckpoint(size uint64, note []byte) error {
	defer db.changed()
	return db.write("store", func(ctx context.Context, tx pgx.Tx) error {
		var old []byte
		err := tx.QueryRow(ctx, `SELECT note FROM checkpoints WHERE size = $1 FOR UPDATE`, int64(size)).Scan(&old)
		if errors.Is(err, pgx.ErrNoRows) {
			return fmt.Errorf("no checkpoint of size %d", size)
		}
		if err != nil {
			return err
		}
		oldNote, err := tlog.ParseNote(old)
		if err != nil {
			return err
		}
		newNote, err := tlog.ParseNote(note)
		if err != nil {
			return err
		}
		if oldNote.Text != newNote.Text {
			return store.ErrCheckpointConflict
		}
		pub, err := readPublished(ctx, tx, true)
		if err != nil {
			return err
		}
		if pub != nil && size >= pub.CosignedSize && size <= pub.Size && len(newNote.Sigs) > len(oldNote.Sigs) {
			if _, err := tx.Exec(ctx, `UPDATE log_published SET cosigned_size = $1, cosigned = $2 WHERE id = 0`, int64(size), string(note)); err != nil {
				return err
			}
		}
		if _, err := tx.Exec(ctx, `UPDATE checkpoints SET note = $2 WHERE size = $1`, int64(size), note); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT pg_notify($1, $2)`, db.channel, db.node+" checkpoint")
		return err
	})
}

// Published returns the newest checkpoint the log published (ok false
// before the first checkpoint).
func (db *DB) Published() (store.Published, bool, error) {
	var pub *store.Published
	err := db.read("", func(ctx context.Context, q querier) error {
		var err error
		pub, err = readPublished(ctx, q, false)
		return err
	})
	if err != nil || pub == nil {
		return store.Published{}, false, err
	}
	return *pub, true, nil
}

func readPublished(ctx context.Context, q querier, lock bool) (*store.Published, error) {
	sql := `SELECT origin, size, root, checkpoint, cosigned_size, cosigned FROM log_published WHERE id = 0`
	if lock {
		sql += ` FOR UPDATE`
	}
	var pub store.Published
	var size, cosigned int64
	var root []byte
	err := q.QueryRow(ctx, sql).Scan(&pub.Origin, &size, &root, &pub.Checkpoint, &cosigned, &pub.Cosigned)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	pub.Size, pub.CosignedSize = uint64(size), uint64(cosigned)
	copy(pub.Root[:], root)
	return &pub, nil
}

func writePublished(ctx context.Context, q querier, pub *store.Published) error {
	_, err := q.Exec(ctx, `INSERT INTO log_published (id, origin, size, root, checkpoint, cosigned_size, cosigned) VALUES (0, $1, $2, $3, $4, $5, $6)
		ON CONFLICT (id) DO UPDATE SET origin = EXCLUDED.origin, size = EXCLUDED.size, root = EXCLUDED.root, checkpoint = EXCLUDED.checkpoint,
			cosigned_size = EXCLUDED.cosigned_size, cosigned = EXCLUDED.cosigned`,
		pub.Origin, int64(pub.Size), pub.Root[:], pub.Checkpoint, int64(pub.CosignedSize), pub.Cosigned)
	return err
}

// notUnlessRead returns the divergence *problem found, unless reading the
// log failed meanwhile (the database went away): a log that could not be
// read is not a log at odds with its checkpoint, and the read's error is
// returned instead, with *problem cleared.
func notUnlessRead(problem **store.ReadOnlyError, v *logView) error {
	if v.err != nil {
		*problem = nil
		return v.err
	}
	return *problem
}

// openReadOnly reads whether the service is read-only (a reason every
// node shares), and compares the log with the newest published
// checkpoint: a log behind it or at odds with it makes this node
// read-only. A published checkpoint missing while checkpoints are stored
// (a copied store) is written from the newest.
func (db *DB) openReadOnly(ctx context.Context) error {
	var readOnly *string
	if err := db.pool.QueryRow(ctx, `SELECT read_only FROM log_state WHERE id = 0`).Scan(&readOnly); err != nil {
		return db.fail("pg: open", err)
	}
	if readOnly != nil {
		db.readOnly.Store(parseReadOnly(*readOnly))
		return nil
	}
	var problem *store.ReadOnlyError
	err := pgx.BeginFunc(ctx, db.pool, func(tx pgx.Tx) error {
		pub, err := readPublished(ctx, tx, true)
		if err != nil {
			return err
		}
		v := &logView{ctx: ctx, q: tx}
		var n int64
		if err := tx.QueryRow(ctx, `SELECT size FROM log_state WHERE id = 0`).Scan(&n); err != nil {
			return err
		}
		v.size = uint64(n)
		if pub != nil {
			problem = store.ComparePublished(theDatabase, v, pub, inTheDatabase)
			return v.err
		}
		if _, note := v.LatestCheckpoint(); note != nil {
			latest, err := store.PublishedFromNote(note)
			if err != nil {
				return fmt.Errorf("the newest stored checkpoint: %w", err)
			}
			return writePublished(ctx, tx, latest)
		}
		return v.err
	})
	if err != nil {
		return db.fail("pg: open", err)
	}
	if problem != nil {
		problem.Remedy = remedyOther
		db.readOnly.Store(problem)
	}
	return nil
}

// ReadOnly returns why the store accepts no writes, or nil if it does.
func (db *DB) ReadOnly() *store.ReadOnlyError { return db.readOnly.Load() }

// SetReadOnly stops the service accepting writes and signing checkpoints,
// on every node: the reason is kept in the database (the first one), and
// the other nodes are told. The checkpointer calls it when a witness
// reports a checkpoint this log does not hold. An operator who has put
// things right clears it with
// UPDATE log_state SET read_only = NULL and restarts the nodes.
func (db *DB) SetReadOnly(e *store.ReadOnlyError) {
	if !db.readOnly.CompareAndSwap(nil, e) {
		return
	}
	err := db.write("", func(ctx context.Context, tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `UPDATE log_state SET read_only = $1 WHERE id = 0 AND read_only IS NULL`, formatReadOnly(e)); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `SELECT pg_notify($1, $2)`, db.channel, db.node+" read-only")
		return err
	})
	if err != nil {
		db.log.Error("pg: could not tell the other nodes that the service is read-only; each finds it at its next write", "error", err)
	}
}

// refreshReadOnly reads the shared read-only reason (after another node
// set it).
func (db *DB) refreshReadOnly() {
	var readOnly *string
	err := db.read("", func(ctx context.Context, q querier) error {
		return q.QueryRow(ctx, `SELECT read_only FROM log_state WHERE id = 0`).Scan(&readOnly)
	})
	if err == nil && readOnly != nil {
		db.readOnly.CompareAndSwap(nil, parseReadOnly(*readOnly))
	}
}

func (db *DB) writable() error {
	if e := db.readOnly.Load(); e != nil {
		return e
	}
	return nil
}

// startListener listens for the other nodes' notifications until Close.
func (db *DB) startListener() {
	ctx, cancel := context.WithCancel(context.Background())
	db.listenCancel, db.listenDone = cancel, make(chan struct{})
	go db.listen(ctx)
}

func (db *DB) listen(ctx context.Context) {
	defer close(db.listenDone)
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		heard, err := db.listenOnce(ctx)
		db.listening.Store(false)
		db.docs.dropAll()
		if ctx.Err() != nil {
			return
		}
		if heard {
			backoff = 100 * time.Millisecond
		}
		db.log.Warn("pg: not listening for the other nodes' changes; readers check the database each time until it listens again",
			"error", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 2*time.Second)
	}
}

// listenOnce listens on a connection of its own until it fails; heard
// says whether it got as far as listening.
func (db *DB) listenOnce(ctx context.Context) (heard bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, db.pool.Config().ConnConfig.Copy())
	if err != nil {
		return false, err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{db.channel}.Sanitize()); err != nil {
		return false, err
	}
	db.listening.Store(true)
	// What others did while this node did not listen is unknown: caches
	// check again, keys are read again.
	db.docs.dropAll()
	db.othersChanged()
	db.forgetKeys()
	db.refreshReadOnly()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return true, err
		}
		node, what, _ := strings.Cut(n.Payload, " ")
		if node == db.node {
			continue
		}
		switch what {
		case "keys":
			db.forgetKeys()
			db.changed()
		case "read-only":
			db.refreshReadOnly()
			db.changed()
		case "checkpoint":
			db.othersChanged()
		default:
			// A commit names the records it changed; anything else
			// (an import, a node that names nothing) may have changed any.
			if d, all := parseCommitPayload(what); all {
				db.docs.dropAll()
			} else {
				db.docs.drop(d)
			}
			db.othersChanged()
		}
	}
}

// othersChanged tells this node's readers and observers that another
// node committed.
func (db *DB) othersChanged() {
	db.changed()
	for _, f := range db.onCommit {
		f(store.CommitInfo{})
	}
}
