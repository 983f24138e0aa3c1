package store

import (
	"container/list"
	"sync"
	"time"
)

// The workspace's sign-in throttle counts failed sign-ins in buckets
// (one per account, per client address, per known device; api/app says
// which). Each bucket lets some failures through, then makes every
// further attempt wait, from ThrottleFirstWait doubling up to
// ThrottleMaxWait, and is forgotten ThrottleForget after its last failure.
// With several nodes on one database the buckets live in the database, so
// that a guesser spread over the nodes meets one throttle.
const (
	ThrottleFirstWait = 30 * time.Second
	ThrottleMaxWait   = 15 * time.Minute
	ThrottleForget    = 24 * time.Hour
	// ThrottleMaxBuckets bounds the buckets kept: when a new one is
	// needed beyond it, the one whose last failure is oldest goes.
	ThrottleMaxBuckets = 100_000
)

// ThrottleKey names a bucket and how many failures it lets through.
type ThrottleKey struct {
	Key  string
	Free int
}

// Throttle keeps the sign-in throttle's buckets.
type Throttle interface {
	// Wait says how long an attempt counted in keys must still wait:
	// the longest wait of its buckets.
	Wait(now time.Time, keys ...ThrottleKey) (time.Duration, error)
	// Fail counts a failed attempt in each of its buckets.
	Fail(now time.Time, keys ...ThrottleKey) error
	// Reset forgets a bucket (after a successful sign-in).
	Reset(key string) error
}

// ThrottleBucket is one bucket's state.
type ThrottleBucket struct {
	N     int       // failures counted
	Last  time.Time // the last of them
	Until time.Time // no attempt before this
}

// Failed returns the bucket after one more failure at now, in a bucket
// that lets free failures through.
func (b ThrottleBucket) Failed(now time.Time, free int) ThrottleBucket {
	if now.Sub(b.Last) > ThrottleForget {
		b = ThrottleBucket{}
	}
	b.N++
	b.Last = now
	if over := b.N - free; over >= 0 {
		wait := ThrottleMaxWait
		if over < 5 { // 30 s · 2⁵ is past the longest wait
			wait = min(ThrottleFirstWait<<over, ThrottleMaxWait)
		}
		b.Until = now.Add(wait)
	}
	return b
}

// Wait is how long an attempt at now must still wait for this bucket.
func (b ThrottleBucket) Wait(now time.Time) time.Duration {
	if b.Until.After(now) && now.Sub(b.Last) <= ThrottleForget {
		return b.Until.Sub(now)
	}
	return 0
}

// MemoryThrottle keeps the buckets in this process's memory, the least
// recently failed evicted first beyond Max (ThrottleMaxBuckets when 0):
// the embedded store's, whose one process is the whole service. Memory
// is bounded and nothing is ever cleared all at once.
type MemoryThrottle struct {
	Max   int
	mu    sync.Mutex
	index map[string]*list.Element
	order list.List // of *memBucket, the least recently failed at the back
}

type memBucket struct {
	key string
	ThrottleBucket
}

var _ Throttle = (*MemoryThrottle)(nil)

// Wait says how long the attempt must still wait.
func (l *MemoryThrottle) Wait(now time.Time, keys ...ThrottleKey) (time.Duration, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	var d time.Duration
	for _, k := range keys {
		if el := l.index[k.Key]; el != nil {
			d = max(d, el.Value.(*memBucket).Wait(now))
		}
	}
	return d, nil
}

// Fail counts a failed attempt in each of its buckets.
func (l *MemoryThrottle) Fail(now time.Time, keys ...ThrottleKey) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.index == nil {
		l.index = map[string]*list.Element{}
	}
	for _, k := range keys {
		el := l.index[k.Key]
		if el == nil {
			el = l.order.PushFront(&memBucket{key: k.Key})
			l.index[k.Key] = el
		} else {
			l.order.MoveToFront(el)
		}
		b := el.Value.(*memBucket)
		b.ThrottleBucket = b.Failed(now, k.Free)
	}
	l.evict(now)
	return nil
}

// evict drops buckets a day has passed over, then the least recently
// failed ones while there are too many.
func (l *MemoryThrottle) evict(now time.Time) {
	limit := l.Max
	if limit <= 0 {
		limit = ThrottleMaxBuckets
	}
	for el := l.order.Back(); el != nil; el = l.order.Back() {
		b := el.Value.(*memBucket)
		if l.order.Len() <= limit && now.Sub(b.Last) <= ThrottleForget {
			return
		}
		l.order.Remove(el)
		delete(l.index, b.key)
	}
}

// Reset forgets a bucket.
func (l *MemoryThrottle) Reset(key string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if el := l.index[key]; el != nil {
		l.order.Remove(el)
		delete(l.index, key)
	}
	return nil
}

// Len reports how many buckets are kept.
func (l *MemoryThrottle) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.order.Len()
}

// Keys returns the keys of the buckets kept, the most recently failed first.
func (l *MemoryThrottle) Keys() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []string
	for el := l.order.Front(); el != nil; el = el.Next() {
		out = append(out, el.Value.(*memBucket).key)
	}
	return out
}

// Has reports whether a bucket is kept.
func (l *MemoryThrottle) Has(key string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.index[key] != nil
}

// SignInThrottle returns the sign-in throttle: in memory, since one
// process holds the file.
func (db *DB) SignInThrottle() Throttle { return &db.throttle }
