package pg

import (
	"encoding/json"
	"sync"

	"github.com/truyxuat/truyxuat/trace"
)

// Every append reads its lot and its cooperative before it is queued (who
// may write to the lot, which keys sign for the cooperative), and those
// records rarely change. docCache keeps this node's copies of the
// cooperatives, products and batches it read, so that an append costs no
// query before its group's transaction (which reads and locks the lot's
// row again, and decides).
//
// A copy is dropped when this node commits a change to it, after COMMIT
// and before the writer is answered, and when another node's
// notification names it. Copies are kept only while the node listens
// for notifications: when it stops listening it drops them all and
// reads the database each time until it listens again. A read that
// began before a change was heard is not kept (the epoch). So another
// node's change reaches this node's copies as fast as its history caches
// learn of it (store.Store.Generation): the time a notification takes.
type docCache struct {
	mu    sync.Mutex
	epoch uint64 // advanced by every drop
	m     map[docKey]any
}

type docKind byte

const (
	docCooperative docKind = 'c'
	docProduct     docKind = 'p'
	docBatch       docKind = 'b'
)

type docKey struct {
	kind docKind
	id   string
}

// maxDocs bounds the cache; past it the cache starts again.
const maxDocs = 20_000

// changedDocs names the records a commit changed, as its notification
// carries them.
type changedDocs struct {
	Cooperatives []string `json:"c,omitempty"`
	Products     []string `json:"p,omitempty"`
	Batches      []string `json:"b,omitempty"`
}

func (d changedDocs) empty() bool {
	return len(d.Cooperatives) == 0 && len(d.Products) == 0 && len(d.Batches) == 0
}

// maxNotifyDocs bounds the ids a notification names (PostgreSQL takes
// payloads under 8000 bytes); a commit that changed more says "all".
const maxNotifyDocs = 4000

// commitPayload is the text after a node's name in a commit's
// notification: "commit" and the records it changed as JSON, or "commit
// *" when it changed too many to name. A bare "commit" (as nodes that
// name nothing send) means any record may have changed.
func commitPayload(d changedDocs) string {
	if d.empty() {
		return "commit {}"
	}
	b, _ := json.Marshal(d)
	if len(b) > maxNotifyDocs {
		return "commit *"
	}
	return "commit " + string(b)
}

// parseCommitPayload reads what commitPayload wrote; all says that any
// record may have changed.
func parseCommitPayload(what string) (d changedDocs, all bool) {
	rest, ok := cutPrefix(what, "commit ")
	if !ok || rest == "*" {
		return d, true
	}
	if err := json.Unmarshal([]byte(rest), &d); err != nil {
		return d, true
	}
	return d, false
}

func cutPrefix(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && s[:len(prefix)] == prefix {
		return s[len(prefix):], true
	}
	return s, false
}

// begin returns the epoch a read starts in.
func (c *docCache) begin() uint64 {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.epoch
}

func (c *docCache) get(k docKey) (any, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	v, ok := c.m[k]
	return v, ok
}

// put keeps what a read that began in epoch found, unless something was
// dropped since.
func (c *docCache) put(epoch uint64, k docKey, v any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.epoch != epoch {
		return
	}
	if c.m == nil || len(c.m) >= maxDocs {
		c.m = map[docKey]any{}
	}
	c.m[k] = v
}

func (c *docCache) drop(d changedDocs) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	for _, id := range d.Cooperatives {
		delete(c.m, docKey{docCooperative, id})
	}
	for _, id := range d.Products {
		delete(c.m, docKey{docProduct, id})
	}
	for _, id := range d.Batches {
		delete(c.m, docKey{docBatch, id})
	}
}

func (c *docCache) dropAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.epoch++
	c.m = nil
}

// cachedDoc returns a copy of the record kept for k, or reads it and
// keeps a copy while the node listens.
func cachedDoc[T any](db *DB, kind docKind, id string, clone func(*T) *T, read func() (*T, error)) (*T, error) {
	k := docKey{kind, id}
	if !db.listening.Load() {
		return read()
	}
	if v, ok := db.docs.get(k); ok {
		return clone(v.(*T)), nil
	}
	epoch := db.docs.begin()
	v, err := read()
	if err != nil {
		return nil, err
	}
	if db.listening.Load() {
		db.docs.put(epoch, k, clone(v))
	}
	return v, nil
}

var (
	cloneCooperative = (*trace.Cooperative).Clone
	cloneProduct     = (*trace.Product).Clone
	cloneBatch       = (*trace.Batch).Clone
)
