package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// checkpointer signs a checkpoint of the log whenever events were committed
// since the last one, at most once per interval, and has every configured
// witness cosign the newest checkpoint.
//
// It signs only through store.DB.CheckpointLog, which signs the root of
// what is already durably committed and never a second root for a size
// already signed, also across restarts.
type checkpointer struct {
	db        store.Store
	keys      *store.LogKeys
	interval  time.Duration
	log       *slog.Logger
	client    *http.Client
	witnesses []*witnessClient

	dirty atomic.Bool // events committed since the last checkpoint
	size  uint64      // the newest checkpoint's size and note
	note  []byte

	readOnlySaid bool // the read-only store was reported once
}

// witnessClient is the checkpointer's view of one witness.
type witnessClient struct {
	witnessTarget
	verifier tlog.Verifier
	// old is the size the witness last cosigned, as far as we know (0 if
	// unknown: it answers 409 with the right one).
	old uint64
	// done is 1 + the size of the checkpoint it last cosigned for us.
	done    uint64
	retryAt time.Time
	backoff time.Duration
}

func newCheckpointer(db store.Store, keys *store.LogKeys, interval time.Duration, ws *witnessSetup, logger *slog.Logger) (*checkpointer, error) {
	c := &checkpointer{db: db, keys: keys, interval: interval, log: logger,
		client: &http.Client{Timeout: 15 * time.Second}}
	for _, t := range ws.targets {
		v, err := t.key.Verifier()
		if err != nil {
			return nil, fmt.Errorf("witness %s: %w", t.name, err)
		}
		c.witnesses = append(c.witnesses, &witnessClient{witnessTarget: t, verifier: v})
	}
	c.dirty.Store(true)
	db.OnCommit(func(store.CommitInfo) { c.dirty.Store(true) })
	return c, nil
}

// run signs and witnesses until ctx is done.
func (c *checkpointer) run(ctx context.Context) {
	t := time.NewTicker(c.interval)
	defer t.Stop()
	for {
		c.step(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// step signs a new checkpoint if events were committed and sends the
// newest checkpoint to the witnesses that have not cosigned it yet.
func (c *checkpointer) step(ctx context.Context) {
	if c.dirty.Swap(false) || c.note == nil {
		if err := c.sign(); err != nil {
			c.dirty.Store(true)
			switch {
			case errors.Is(err, store.ErrClosed):
			case errors.Is(err, store.ErrNotSigner):
				// Another node holds the lease and signs; this one
				// serves what it signed.
				c.log.Debug("log checkpoint: another node signs", "error", err)
			case errors.Is(err, store.ErrReadOnly):
				// Whoever made the store read-only said why; say once
				// that no checkpoint will be signed.
				if !c.readOnlySaid {
					c.readOnlySaid = true
					c.log.Warn("the log signs no checkpoints and sends none to witnesses while the service is read-only")
				}
			default:
				c.log.Error("log checkpoint failed", "error", err)
			}
			return
		}
	}
	c.witness(ctx)
}

// sign checkpoints everything committed so far.
func (c *checkpointer) sign() error {
	size, note, err := c.db.CheckpointLog(c.keys.Sign)
	if err != nil {
		return err
	}
	if size != c.size || c.note == nil {
		c.log.Debug("log checkpoint", "size", size)
	}
	c.size, c.note = size, note
	return nil
}

// witness sends the newest checkpoint to every witness that has not
// cosigned it, in parallel, and stores the cosignatures it gets.
func (c *checkpointer) witness(ctx context.Context) {
	now := time.Now()
	var due []*witnessClient
	for _, w := range c.witnesses {
		if w.done != c.size+1 && !now.Before(w.retryAt) {
			due = append(due, w)
		}
	}
	if len(due) == 0 {
		return
	}
	size, note := c.size, c.note
	answers := make([][]byte, len(due))
	errs := make([]error, len(due))
	var wg sync.WaitGroup
	for i, w := range due {
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i], errs[i] = c.addCheckpoint(ctx, w, size, note)
		}()
	}
	wg.Wait()
	merged := note
	for i, w := range due {
		err := errs[i]
		if err == nil {
			var m []byte
			if m, err = tlog.AddCosignatures(merged, answers[i], w.verifier); err == nil {
				if !bytes.Equal(m, merged) {
					merged = m
				} else {
					err = errors.New("the answer has no cosignature from the witness's key in the policy")
				}
			}
		}
		if err != nil {
			if w.backoff = min(max(2*w.backoff, time.Second), time.Minute); ctx.Err() == nil {
				c.log.Warn("witness did not cosign the checkpoint", "witness", w.name, "url", w.url, "size", size, "error", err, "retry_in", w.backoff)
			}
			w.retryAt = time.Now().Add(w.backoff)
			continue
		}
		w.done, w.backoff, w.retryAt = size+1, 0, time.Time{}
		c.log.Debug("witness cosigned the checkpoint", "witness", w.name, "size", size)
	}
	if !bytes.Equal(merged, note) {
		if err := c.db.UpdateCheckpoint(size, merged); err != nil {
			c.log.Error("storing cosignatures failed", "size", size, "error", err)
			return
		}
		c.note = merged
	}
}

// addCheckpoint runs the C2SP tlog-witness add-checkpoint exchange with
// one witness: a consistency proof from the size it last cosigned; on
// 409 the witness says which size that is, and the request is sent again.
func (c *checkpointer) addCheckpoint(ctx context.Context, w *witnessClient, size uint64, note []byte) ([]byte, error) {
	for attempt := 0; attempt < 3; attempt++ {
		old := w.old
		if old > size {
			// The witness cosigned a larger checkpoint than any this data
			// file holds: it is older than what was published.
			n, _ := c.db.LogSize()
			c.stop(store.BehindError("the data file", n, old, "cosigned by witness "+w.name))
			return nil, fmt.Errorf("the witness has cosigned size %d, larger than this log's %d: the service is now read-only", old, size)
		}
		var proof []tlog.Hash
		if err := c.db.ViewLog(func(v store.LogView) error {
			var err error
			proof, err = tlog.ProveConsistency(v, old, size)
			return err
		}); err != nil {
			return nil, err
		}
		body := (&tlog.AddCheckpointRequest{OldSize: old, Proof: proof, Checkpoint: note}).Bytes()
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url+"/add-checkpoint", bytes.NewReader(body))
		if err != nil {
			return nil, err
		}
		req.Header.Set("Content-Type", "text/plain; charset=utf-8")
		res, err := c.client.Do(req)
		if err != nil {
			return nil, err
		}
		answer, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		res.Body.Close()
		if err != nil {
			return nil, err
		}
		switch {
		case res.StatusCode == http.StatusOK:
			w.old = size
			return answer, nil
		case res.StatusCode == http.StatusConflict && strings.HasPrefix(res.Header.Get("Content-Type"), tlog.SizeContentType):
			n, err := strconv.ParseUint(strings.TrimSuffix(string(answer), "\n"), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("409 with a malformed size %q", answer)
			}
			if n == old {
				c.stop(store.ConflictError("the data file", n, "cosigned by witness "+w.name))
				return nil, fmt.Errorf("the witness holds another tree head of size %d than this log: the service is now read-only", n)
			}
			w.old = n
		case res.StatusCode == http.StatusUnprocessableEntity && old > 0:
			// The witness holds size old and our proof from old does not
			// reach its root: this log's tree at old is not the one it
			// cosigned.
			c.stop(store.ConflictError("the data file", old, "cosigned by witness "+w.name))
			return nil, fmt.Errorf("%s: %s: the service is now read-only", res.Status, strings.TrimSpace(string(answer)))
		default:
			return nil, fmt.Errorf("%s: %s", res.Status, strings.TrimSpace(string(answer)))
		}
	}
	return nil, errors.New("the witness keeps answering 409")
}

// stop makes the service read-only because a witness holds a checkpoint
// this data file contradicts, and says so once.
func (c *checkpointer) stop(why *store.ReadOnlyError) {
	if c.db.ReadOnly() != nil {
		return
	}
	c.db.SetReadOnly(why)
	c.log.Error("the service is read-only: it records nothing and signs no checkpoints",
		"reason", why.Reason, "what_to_do", why.Remedy)
}
