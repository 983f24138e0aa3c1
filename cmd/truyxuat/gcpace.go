package main

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
)

// The service's live heap is small (tens of MB: decoded records, cached
// histories), and every request allocates: with Go's default GOGC=100 the
// collector runs each time that much is allocated again, which under a
// stream of appends is many times a second and a fifth of the service's
// processor time. The service therefore lets the heap grow to a floor
// before collecting: while the live heap is under half of it, the GC
// percent is raised so that the next collection starts at the floor;
// above that, Go's default applies. The heap is never bigger than
// max(floor, twice the live heap) — at most the floor more than with
// the default. An operator who sets GOGC or GOMEMLIMIT keeps the
// runtime's own pacing.

// heapFloor is the heap size below which the service does not collect.
const heapFloor = 128 << 20

// gcPercentFor is the GC percent that puts the next collection at floor
// for a live heap of live bytes, and never below Go's default of 100.
func gcPercentFor(live, floor uint64) int {
	const maxPercent = 10_000
	if live == 0 {
		return maxPercent
	}
	if live >= floor/2 {
		return 100
	}
	return int(min((floor-live)*100/live, maxPercent))
}

// gcPacer sets the GC percent after each collection from the live heap
// that collection found.
type gcPacer struct {
	floor   uint64
	mu      sync.Mutex // orders adjustments against stop
	percent int
	sample  []metrics.Sample
	stopped bool
}

// gcSentinel is garbage as soon as it is made: its finalizer runs after
// the next collection, adjusts the percent and makes the next sentinel.
type gcSentinel struct {
	p *gcPacer
	_ [16]byte // not a tiny allocation, whose finalizer may never run
}

// paceGC starts the pacing unless the environment sets GOGC or
// GOMEMLIMIT, and returns the function that stops it.
func paceGC(floor uint64) (stop func()) {
	if os.Getenv("GOGC") != "" || os.Getenv("GOMEMLIMIT") != "" {
		return func() {}
	}
	p := &gcPacer{floor: floor, percent: 100, sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}}}
	p.adjust()
	p.arm()
	return func() {
		p.mu.Lock()
		defer p.mu.Unlock()
		if !p.stopped {
			p.stopped = true
			debug.SetGCPercent(100)
		}
	}
}

func (p *gcPacer) arm() {
	runtime.SetFinalizer(&gcSentinel{p: p}, func(s *gcSentinel) {
		if s.p.adjust() {
			s.p.arm()
		}
	})
}

// adjust sets the percent for the live heap of the last collection (it
// changes the runtime's setting only when the percent moved by more than
// a tenth) and says whether the pacing goes on.
func (p *gcPacer) adjust() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopped {
		return false
	}
	metrics.Read(p.sample)
	if p.sample[0].Value.Kind() != metrics.KindUint64 {
		return false
	}
	pct := gcPercentFor(p.sample[0].Value.Uint64(), p.floor)
	if d := pct - p.percent; d*10 > p.percent || -d*10 > p.percent {
		debug.SetGCPercent(pct)
		p.percent = pct
	}
	return true
}
