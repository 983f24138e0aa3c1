package store

import (
	"fmt"
	"testing"
	"time"
)

// TestMemoryThrottle checks the buckets' arithmetic and that memory is bounded
// by evicting the oldest buckets, never by forgetting everything.
func TestMemoryThrottle(t *testing.T) {
	t0 := time.Date(2025, 8, 15, 8, 0, 0, 0, time.UTC)
	k := func(s string) ThrottleKey { return ThrottleKey{s, 2} }
	l := &MemoryThrottle{}
	wait := func(now time.Time, keys ...ThrottleKey) time.Duration {
		d, err := l.Wait(now, keys...)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	for i, want := range []time.Duration{0, 30 * time.Second, time.Minute, 2 * time.Minute, 4 * time.Minute, 8 * time.Minute, 15 * time.Minute, 15 * time.Minute} {
		l.Fail(t0, k("u:a"))
		if got := wait(t0, k("u:a"), k("ip:x")); got != want {
			t.Errorf("after %d failures: wait %v, want %v", i+1, got, want)
		}
	}
	if got := wait(t0.Add(10*time.Minute), k("u:a")); got != 5*time.Minute {
		t.Errorf("10 minutes on: %v", got)
	}
	// A day after the last failure the bucket starts again.
	l.Fail(t0.Add(ThrottleForget+time.Minute), k("u:a"))
	if got := wait(t0.Add(ThrottleForget+time.Minute), k("u:a")); got != 0 {
		t.Errorf("a day later one failure waits %v", got)
	}
	l.Reset("u:a")
	if l.Len() != 0 {
		t.Errorf("%d buckets after reset", l.Len())
	}

	// Bounded: the bucket failed longest ago goes first.
	l = &MemoryThrottle{Max: 3}
	at := func(s int) time.Time { return t0.Add(time.Duration(s) * time.Second) }
	l.Fail(at(0), k("a"))
	l.Fail(at(1), k("b"), k("a")) // a failed again: b is now the oldest
	l.Fail(at(2), k("c"))
	l.Fail(at(2), k("c"))
	l.Fail(at(3), k("d"))
	if l.Len() != 3 || l.Has("b") || !l.Has("a") || !l.Has("c") || !l.Has("d") {
		t.Fatalf("after a fourth bucket: %d kept, b kept %v", l.Len(), l.Has("b"))
	}
	if got := wait(at(2), k("c")); got != 30*time.Second {
		t.Errorf("a bucket that stayed lost its count: wait %v", got)
	}
	// A flood of new names keeps the memory bounded and the newest counts.
	for i := range 1000 {
		l.Fail(at(4), k(fmt.Sprint("flood-", i)))
	}
	if l.Len() != 3 {
		t.Errorf("%d buckets kept, at most 3", l.Len())
	}
	// Buckets a day has passed over go even under the bound.
	l.Fail(at(5).Add(ThrottleForget), k("late"))
	if l.Len() != 1 {
		t.Errorf("%d buckets kept after a day", l.Len())
	}
}
