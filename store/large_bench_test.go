package store

import (
	"context"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// The benchmarks in this file measure the store as it is after years of
// use: a file grown to many events over many lots. They are slow (growing
// 10^6 events takes a few minutes on two cores), so they run their own
// interleaved rounds inside one benchmark iteration: run them with
// -benchtime 1x. Environment:
//
//	TRUYXUAT_BENCH_EVENTS  events of the large store (default 1000000)
//	TRUYXUAT_BENCH_ROUNDS  interleaved rounds (default 7)
//	TRUYXUAT_BENCH_APPENDS appends per round and store (default 4000)

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// eventsPerLot is how many events a grown lot has (its facts record and
// 19 more), about what a lot of rice collects from sowing to shipping.
const eventsPerLot = 20

// grownStore is a store filled by growStore.
type grownStore struct {
	db      *DB
	f       *fixture
	batches []string // every lot, in the order they were opened
	open    []string // the lots still open when it was grown
}

// growStore fills db with about n events the way a cooperative's lots
// collect them: activeLots lots are open at a time, each event goes to one
// of them picked at random, and a lot that has its eventsPerLot events (its
// facts record first) is closed and a new one opened. The events are
// recorded through Apply in changes of 1,000 (new lots and events), four
// changes at a time so that they are group-committed.
func growStore(tb testing.TB, db *DB, n int) *grownStore {
	tb.Helper()
	f := newFixture(tb, db, "HTX Grow")
	g := &grownStore{db: db, f: f}
	const activeLots, perChange = 500, 1000
	type lot struct {
		id   string
		next int // events it has
	}
	rng := rand.New(rand.NewPCG(uint64(n), 7))
	var active []*lot
	opened := 0
	// Changes are made in order here and committed by four goroutines:
	// each change's events follow those of the changes before it, so
	// the changes are sent one after the other per lot; a change waits
	// for the ones before it that touch the same lots by being sent in
	// order on one channel and applied in that order by one writer per
	// stripe of lots.
	changes := make([]chan Change, 4)
	errs := make(chan error, len(changes))
	var wg sync.WaitGroup
	for i := range changes {
		changes[i] = make(chan Change, 2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ch := range changes[i] {
				if _, err := db.Apply(context.Background(), ch); err != nil {
					errs <- err
					for range changes[i] {
					}
					return
				}
			}
		}()
	}
	stripe := func(id string) int { return int(id[0]) % len(changes) }
	total := 0
	for total < n {
		// One change per stripe, each with only lots of its stripe.
		var chs [4]Change
		for k := 0; k < perChange*len(changes) && total < n; k++ {
			for len(active) < activeLots {
				bt := &trace.Batch{ID: NewID(), CooperativeID: f.coop.ID, ProductID: f.prod.ID,
					Lot: fmt.Sprintf("G%d", opened), Quantity: trace.Quantity{Value: "1250", Unit: "KGM"}, HarvestDate: "2025-08-15"}
				opened++
				s := stripe(bt.ID)
				chs[s].NewBatches = append(chs[s].NewBatches, bt)
				g.batches = append(g.batches, bt.ID)
				active = append(active, &lot{id: bt.ID, next: 1})
				total++
			}
			i := rng.IntN(len(active))
			l := active[i]
			s := stripe(l.id)
			chs[s].Events = append(chs[s].Events, AppendRequest{Event: f.eventOf(l.id, l.next), Signer: f.signer, KeyID: "key-grow"})
			l.next++
			total++
			if l.next == eventsPerLot {
				active[i] = active[len(active)-1]
				active = active[:len(active)-1]
			}
		}
		for s, ch := range chs {
			if len(ch.NewBatches)+len(ch.Events) > 0 {
				changes[s] <- ch
			}
		}
	}
	for _, c := range changes {
		close(c)
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		tb.Fatal(err)
	}
	for _, l := range active {
		g.open = append(g.open, l.id)
	}
	return g
}

// eventOf is event i of another batch of the fixture's cooperative.
func (f *fixture) eventOf(batch string, i int) *trace.Event {
	e := f.event(i)
	e.Batch = batch
	return e
}

// appendRandom appends n events with the given number of writers, each
// to a lot picked at random among lots, and returns events per second and the bytes
// of pages its commits wrote per event (bbolt's page allocations: every
// page a commit writes, the freelist's included, but not the meta page).
func (g *grownStore) appendRandom(tb testing.TB, lots []string, writers, n int, seed uint64) (float64, float64) {
	tb.Helper()
	before := g.db.bolt.Stats().TxStats
	var next atomic.Int64
	var wg sync.WaitGroup
	var failed atomic.Value
	start := time.Now()
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				i := next.Add(1)
				if i > int64(n) {
					return
				}
				b := lots[rng.IntN(len(lots))]
				if _, err := g.db.Append(context.Background(), AppendRequest{Event: g.f.eventOf(b, int(i)), Signer: g.f.signer, KeyID: "key-bench"}); err != nil {
					failed.Store(err)
					return
				}
			}
		}()
	}
	wg.Wait()
	rate := float64(n) / time.Since(start).Seconds()
	if err, _ := failed.Load().(error); err != nil {
		tb.Fatal(err)
	}
	after := g.db.bolt.Stats().TxStats
	written := after.Sub(&before)
	return rate, float64(written.GetPageAlloc()) / float64(n)
}

// fileStats describes how a store's file holds its events.
type fileStats struct {
	events    uint64
	fileBytes int64
	buckets   map[string]bolt.BucketStats
	freePages int
}

func statFile(tb testing.TB, db *DB) fileStats {
	tb.Helper()
	fs := fileStats{buckets: map[string]bolt.BucketStats{}}
	err := db.bolt.View(func(tx *bolt.Tx) error {
		fs.events = logSize(tx)
		fs.fileBytes = tx.Size()
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			fs.buckets[string(name)] = b.Stats()
			return nil
		})
	})
	if err != nil {
		tb.Fatal(err)
	}
	fs.freePages = db.bolt.Stats().FreePageN
	return fs
}

// String is a short table: bytes per event, then per bucket the bytes of
// its pages per event and how full its leaf pages are.
func (fs fileStats) String() string {
	var sb strings.Builder
	fmt.Fprintf(&sb, "%d entries, file %d bytes, %.0f bytes per entry, %d free pages\n", fs.events, fs.fileBytes,
		float64(fs.fileBytes)/float64(fs.events), fs.freePages)
	names := make([]string, 0, len(fs.buckets))
	for n := range fs.buckets {
		names = append(names, n)
	}
	slices.Sort(names)
	var alloc, inuse int
	for _, n := range names {
		s := fs.buckets[n]
		a := s.LeafAlloc + s.BranchAlloc
		if a < 1<<20 {
			continue
		}
		alloc += s.LeafAlloc
		inuse += s.LeafInuse
		fmt.Fprintf(&sb, "  %-10s %8d keys %7.1f bytes/entry, leaf pages %3.0f%% full, %d overflow pages\n", n, s.KeyN,
			float64(a)/float64(fs.events), 100*float64(s.LeafInuse)/float64(s.LeafAlloc), s.LeafOverflowN)
	}
	if alloc > 0 {
		fmt.Fprintf(&sb, "  leaf pages of those buckets %.0f%% full\n", 100*float64(inuse)/float64(alloc))
	}
	return sb.String()
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	if len(s) == 0 {
		return 0
	}
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

func loadAvg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}

// copyDir copies a closed store's directory (the file, its keys and its
// published checkpoint).
func copyDir(tb testing.TB, from, to string) {
	tb.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		dst := filepath.Join(to, rel)
		if d.IsDir() {
			return os.MkdirAll(dst, 0o700)
		}
		in, err := os.Open(p)
		if err != nil {
			return err
		}
		defer in.Close()
		out, err := os.OpenFile(dst, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o600)
		if err != nil {
			return err
		}
		if _, err := io.Copy(out, in); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
	if err != nil {
		tb.Fatal(err)
	}
}

// BenchmarkLargeStore grows a store to 10^4 and one to
// TRUYXUAT_BENCH_EVENTS events, reports how many bytes of file each event
// takes and how long the large file takes to open, then appends at 64
// writers to random lots of each (the lots still open, then any lot), in
// interleaved rounds: the small store starts every round as a fresh copy
// of its 10^4 events, the large one goes on growing (by a small share of
// its size).
func BenchmarkLargeStore(b *testing.B) {
	large := envInt("TRUYXUAT_BENCH_EVENTS", 1_000_000)
	rounds := envInt("TRUYXUAT_BENCH_ROUNDS", 7)
	appends := envInt("TRUYXUAT_BENCH_APPENDS", 4000)
	const writers = 64

	// The small store, kept closed as a template.
	tmpl := filepath.Join(b.TempDir(), "small")
	sdb, err := Open(filepath.Join(tmpl, "truyxuat.db"), Options{})
	if err != nil {
		b.Fatal(err)
	}
	small := growStore(b, sdb, 10_000)
	b.Logf("small store: %s", statFile(b, sdb))
	if err := sdb.Close(); err != nil {
		b.Fatal(err)
	}

	dir := b.TempDir()
	path := filepath.Join(dir, "truyxuat.db")
	ldb, err := Open(path, Options{})
	if err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	big := growStore(b, ldb, large)
	grew := time.Since(start)
	ls := statFile(b, ldb)
	b.Logf("large store grown in %v (%.0f entries/s): %s", grew.Round(time.Second), float64(ls.events)/grew.Seconds(), ls)
	b.ReportMetric(float64(ls.fileBytes)/float64(ls.events), "bytes/entry")

	// Opening the large file: bbolt reads its freelist, or rebuilds it
	// when it is not stored.
	if err := ldb.Close(); err != nil {
		b.Fatal(err)
	}
	var opens []float64
	for i := 0; i < 3; i++ {
		t0 := time.Now()
		db, err := Open(path, Options{})
		if err != nil {
			b.Fatal(err)
		}
		opens = append(opens, time.Since(t0).Seconds()*1000)
		if err := db.Close(); err != nil {
			b.Fatal(err)
		}
	}
	b.Logf("open of the large store: %.1f ms (median of 3)", median(opens))
	b.ReportMetric(median(opens), "open-ms")
	if ldb, err = Open(path, Options{}); err != nil {
		b.Fatal(err)
	}
	defer ldb.Close()
	big.db = ldb
	big.f.db = ldb

	merges0 := ldb.merges.Load()
	// Two workloads, each in interleaved rounds. "open lots": appends to
	// the lots still open when the stores were grown (500 in both), as a
	// cooperative records this season's steps: the stores differ only in
	// what they hold from before. "any lot": appends to any lot ever
	// opened (500 in the small store, 50,000 in one of 10^6 events), a
	// harsher load that also measures lots the store has not touched
	// since it opened.
	type workload struct {
		name                 string
		smallLots, largeLots []string
		rs, rl, ratios       []float64
		sws, lws             []float64
	}
	works := []*workload{
		{name: "open lots", smallLots: small.open, largeLots: big.open},
		{name: "any lot", smallLots: small.batches, largeLots: big.batches},
	}
	for r := 0; r < rounds; r++ {
		for _, w := range works {
			rdir := filepath.Join(b.TempDir(), "small")
			copyDir(b, tmpl, rdir)
			sdb, err := Open(filepath.Join(rdir, "truyxuat.db"), Options{})
			if err != nil {
				b.Fatal(err)
			}
			small.db, small.f.db = sdb, sdb
			var s, l, sw, lw float64
			if r%2 == 0 {
				s, sw = small.appendRandom(b, w.smallLots, writers, appends, uint64(r))
				l, lw = big.appendRandom(b, w.largeLots, writers, appends, uint64(r))
			} else {
				l, lw = big.appendRandom(b, w.largeLots, writers, appends, uint64(r))
				s, sw = small.appendRandom(b, w.smallLots, writers, appends, uint64(r))
			}
			if err := sdb.Close(); err != nil {
				b.Fatal(err)
			}
			w.sws, w.lws = append(w.sws, sw), append(w.lws, lw)
			w.rs, w.rl, w.ratios = append(w.rs, s), append(w.rl, l), append(w.ratios, l/s)
			b.Logf("round %d, %s (%d and %d lots): 10^4 %.0f events/s (%.0f page bytes written per event), %d: %.0f events/s (%.0f), ratio %.2f (load %s)",
				r+1, w.name, len(w.smallLots), len(w.largeLots), s, sw, ls.events, l, lw, l/s, loadAvg())
		}
	}
	for _, w := range works {
		b.Logf("%s: medians of %d rounds at %d writers: 10^4 %.0f events/s, large %.0f events/s, median ratio %.2f; page bytes per event %.0f and %.0f; load average %s",
			w.name, rounds, writers, median(w.rs), median(w.rl), median(w.ratios), median(w.sws), median(w.lws), loadAvg())
	}
	open := works[0]
	b.ReportMetric(median(open.rs), "small-events/s")
	b.ReportMetric(median(open.rl), "large-events/s")
	b.ReportMetric(median(open.ratios), "large/small")
	b.ReportMetric(median(open.sws), "small-written-B/event")
	b.ReportMetric(median(open.lws), "large-written-B/event")
	b.ReportMetric(median(works[1].ratios), "anylot-large/small")
	// The tail of the event-hash index is merged into it once it is an
	// eighth of the index: the rounds may or may not hold a merge. One
	// merge of the tail as it is now says what merges cost per event.
	mergesInRounds := ldb.merges.Load() - merges0
	tailLen := ldb.tail.len()
	before := ldb.bolt.Stats().TxStats
	t0 := time.Now()
	ldb.mergeTail()
	after := ldb.bolt.Stats().TxStats
	written := after.Sub(&before)
	from := ldb.tail.from.Load()
	// A merge rewrites about the pages the index has whatever the
	// tail's length: spread over the events between two merges.
	every := mergeEvery(from)
	b.Logf("merges of the tail during the rounds: %d; a merge of the %d events of the tail now: %v, %d page bytes written; a merge every %d events: %.0f page bytes per event",
		mergesInRounds, tailLen, time.Since(t0).Round(time.Millisecond), written.GetPageAlloc(), every,
		float64(written.GetPageAlloc())/float64(every))
	b.ReportMetric(float64(written.GetPageAlloc())/float64(every), "merge-B/event")
	b.Logf("large store after the rounds: %s", statFile(b, ldb))
}
