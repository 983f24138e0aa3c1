package pg

import (
	"context"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
)

// throttle keeps the sign-in throttle's buckets in the signin_throttle
// table, so that every node counts the same failures: a guesser whose
// attempts a load balancer spreads over the nodes meets one throttle. The
// arithmetic is store.ThrottleBucket's, as in the embedded store.
type throttle struct {
	db    *DB
	fails atomic.Uint64 // failures counted by this node, for eviction
}

var _ store.Throttle = (*throttle)(nil)

// SignInThrottle returns the sign-in throttle every node shares.
func (db *DB) SignInThrottle() store.Throttle { return db.throttle }

func bucketOf(n int, last, until int64) store.ThrottleBucket {
	return store.ThrottleBucket{N: n, Last: time.Unix(0, last), Until: time.Unix(0, until)}
}

// Wait says how long the attempt must still wait.
func (t *throttle) Wait(now time.Time, keys ...store.ThrottleKey) (time.Duration, error) {
	names := make([]string, len(keys))
	for i, k := range keys {
		names[i] = k.Key
	}
	var d time.Duration
	err := t.db.read("store: sign-in throttle", func(ctx context.Context, q querier) error {
		rows, err := q.Query(ctx, `SELECT n, last_ns, until_ns FROM signin_throttle WHERE key = ANY($1)`, names)
		if err != nil {
			return err
		}
		var n int
		var last, until int64
		_, err = pgx.ForEachRow(rows, []any{&n, &last, &until}, func() error {
			d = max(d, bucketOf(n, last, until).Wait(now))
			return nil
		})
		return err
	})
	return d, err
}

// Fail counts a failed attempt in each of its buckets, each row locked
// while it is counted, so that nodes counting at once lose no failure.
func (t *throttle) Fail(now time.Time, keys ...store.ThrottleKey) error {
	evict := t.fails.Add(1)%256 == 0
	return t.db.write("store: sign-in throttle", func(ctx context.Context, tx pgx.Tx) error {
		for _, k := range keys {
			if _, err := tx.Exec(ctx, `INSERT INTO signin_throttle (key, n, last_ns, until_ns) VALUES ($1, 0, 0, 0) ON CONFLICT (key) DO NOTHING`, k.Key); err != nil {
				return err
			}
			var n int
			var last, until int64
			if err := tx.QueryRow(ctx, `SELECT n, last_ns, until_ns FROM signin_throttle WHERE key = $1 FOR UPDATE`, k.Key).Scan(&n, &last, &until); err != nil {
				return err
			}
			b := bucketOf(n, last, until).Failed(now, k.Free)
			if _, err := tx.Exec(ctx, `UPDATE signin_throttle SET n = $2, last_ns = $3, until_ns = $4 WHERE key = $1`,
				k.Key, b.N, b.Last.UnixNano(), b.Until.UnixNano()); err != nil {
				return err
			}
		}
		// Buckets a day has passed over go at once; beyond the bound,
		// the least recently failed go, checked now and then.
		if _, err := tx.Exec(ctx, `DELETE FROM signin_throttle WHERE last_ns < $1`, now.Add(-store.ThrottleForget).UnixNano()); err != nil {
			return err
		}
		if evict {
			_, err := tx.Exec(ctx, `DELETE FROM signin_throttle WHERE key IN
				(SELECT key FROM signin_throttle ORDER BY last_ns DESC OFFSET $1)`, store.ThrottleMaxBuckets)
			return err
		}
		return nil
	})
}

// Reset forgets a bucket.
func (t *throttle) Reset(key string) error {
	return t.db.write("store: sign-in throttle", func(ctx context.Context, tx pgx.Tx) error {
		_, err := tx.Exec(ctx, `DELETE FROM signin_throttle WHERE key = $1`, key)
		return err
	})
}
