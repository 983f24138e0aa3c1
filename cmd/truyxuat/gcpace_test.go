package main

import (
	"runtime/debug"
	"testing"
)

func TestGCPercentFor(t *testing.T) {
	const mb = 1 << 20
	for _, tc := range []struct {
		live, floor uint64
		want        int
	}{
		{14 * mb, 128 * mb, 814},  // the next collection at 128 MB
		{32 * mb, 128 * mb, 300},  // 32 MB × 4 = 128 MB
		{64 * mb, 128 * mb, 100},  // half the floor: Go's default
		{900 * mb, 128 * mb, 100}, // a big heap: Go's default, never less
		{1024, 128 * mb, 10_000},  // a tiny heap: bounded
		{0, 128 * mb, 10_000},
	} {
		if got := gcPercentFor(tc.live, tc.floor); got != tc.want {
			t.Errorf("gcPercentFor(%d, %d) = %d, want %d", tc.live, tc.floor, got, tc.want)
		}
	}
}

// TestPaceGC checks that pacing raises the percent for a heap under the
// floor, puts Go's default back when stopped, and leaves an operator's
// GOGC alone.
func TestPaceGC(t *testing.T) {
	old := debug.SetGCPercent(100)
	defer debug.SetGCPercent(old)

	t.Setenv("GOGC", "")
	t.Setenv("GOMEMLIMIT", "")
	stop := paceGC(1 << 40) // far above any test's live heap
	if got := debug.SetGCPercent(100); got <= 100 {
		t.Errorf("with a live heap far under the floor the GC percent is %d, want more than 100", got)
	}
	stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("after stop the GC percent is %d, want 100", got)
	}

	debug.SetGCPercent(70)
	t.Setenv("GOGC", "70")
	stop = paceGC(1 << 40)
	if got := debug.SetGCPercent(70); got != 70 {
		t.Errorf("with GOGC=70 set the GC percent is %d, want the operator's 70", got)
	}
	stop()
	if got := debug.SetGCPercent(70); got != 70 {
		t.Errorf("stopping pacing that never started changed the GC percent to %d", got)
	}
}
