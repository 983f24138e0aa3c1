package store

import (
	"bytes"
	"sync"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// Every append reads its lot and its cooperative, and a cooperative's
// record (its keys and whole profile) costs more to decode from JSON than
// the rest of the request. decoded remembers, for each entity read, the
// stored bytes and what they decoded to: a read still looks the entity up
// in its transaction, and decodes only when the bytes differ from those
// remembered. Nothing is invalidated by hand, so nothing can go stale;
// callers get a copy they may change.
type decoded[T any] struct {
	mu    sync.Mutex
	m     map[string]decodedEntry[T]
	clone func(*T) *T
}

type decodedEntry[T any] struct {
	raw []byte
	v   *T
}

// maxDecoded bounds each cache; past it the cache starts again.
const maxDecoded = 20_000

// get reads id from b into a fresh *T.
func (d *decoded[T]) get(b *bolt.Bucket, id, what string) (*T, error) {
	raw := b.Get([]byte(id))
	if raw == nil {
		return nil, getJSON(b, id, what, nil) // the not-found error
	}
	d.mu.Lock()
	e, ok := d.m[id]
	d.mu.Unlock()
	if ok && bytes.Equal(e.raw, raw) {
		return d.clone(e.v), nil
	}
	v := new(T)
	if err := getJSON(b, id, what, v); err != nil {
		return nil, err
	}
	d.mu.Lock()
	if d.m == nil || len(d.m) >= maxDecoded {
		d.m = map[string]decodedEntry[T]{}
	}
	d.m[id] = decodedEntry[T]{raw: bytes.Clone(raw), v: d.clone(v)}
	d.mu.Unlock()
	return v, nil
}

// entityCaches are the decoded caches of a store.
type entityCaches struct {
	coops    decoded[trace.Cooperative]
	products decoded[trace.Product]
	batches  decoded[trace.Batch]
}

func newEntityCaches() *entityCaches {
	return &entityCaches{
		coops:    decoded[trace.Cooperative]{clone: (*trace.Cooperative).Clone},
		products: decoded[trace.Product]{clone: (*trace.Product).Clone},
		batches:  decoded[trace.Batch]{clone: (*trace.Batch).Clone},
	}
}
