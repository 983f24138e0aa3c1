package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store/pg/pgtest"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// nodes is a service of several truyxuat processes on one PostgreSQL.
type nodes struct {
	mu    sync.Mutex
	bases []string
	procs []*child
	args  []string // each node's arguments but its data directory
	dirs  []string
}

func startNodes(t *testing.T, url string, n int) (*nodes, *DemoOutput) {
	t.Helper()
	shared := t.TempDir()
	ns := &nodes{args: []string{"--database-url", url, "--master-key-file", filepath.Join(shared, "master.key"),
		"--log-origin", "nodes.example.vn/log", "--checkpoint-interval", "100ms", "--log-level", "info"}}
	var demo DemoOutput
	for i := 0; i < n; i++ {
		ns.dirs = append(ns.dirs, t.TempDir())
		args := append([]string{"--data", ns.dirs[i]}, ns.args...)
		if i == 0 {
			// The first node makes the master key and the demo data.
			args = append(args, "--demo")
		}
		c := startChild(t, args...)
		if i == 0 {
			if err := json.Unmarshal(c.stdout, &demo); err != nil {
				t.Fatalf("demo output: %v: %q", err, c.stdout)
			}
		}
		ns.procs, ns.bases = append(ns.procs, c), append(ns.bases, c.base)
	}
	return ns, &demo
}

func (ns *nodes) base(i int) string {
	ns.mu.Lock()
	defer ns.mu.Unlock()
	return ns.bases[i%len(ns.bases)]
}

// kill ends node i with SIGKILL.
func (ns *nodes) kill(t *testing.T, i int) {
	t.Helper()
	ns.mu.Lock()
	c := ns.procs[i]
	ns.mu.Unlock()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c.cmd.Wait()
}

// restart starts node i again on its data directory.
func (ns *nodes) restart(t *testing.T, i int) {
	t.Helper()
	c := startChild(t, append([]string{"--data", ns.dirs[i]}, ns.args...)...)
	ns.mu.Lock()
	ns.procs[i], ns.bases[i] = c, c.base
	ns.mu.Unlock()
}

// load is concurrent writers appending to shared lots through the nodes.
type load struct {
	mu      sync.Mutex
	acked   map[string]api.Event // hash → the event as acknowledged
	refused map[string]int       // "status Retry-After" → count
	count   atomic.Int64
}

func newLoad() *load { return &load{acked: map[string]api.Event{}, refused: map[string]int{}} }

var loadClient = &http.Client{Timeout: 60 * time.Second}

// append sends one event; it returns whether it was acknowledged.
func (l *load) append(base, key, batch string, note string) bool {
	body := strings.NewReader(fmt.Sprintf(`{"biz_step":"storing","note":%q}`, note))
	req, _ := http.NewRequest("POST", base+"/api/v1/batches/"+batch+"/events", body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := loadClient.Do(req)
	if err != nil {
		// The node is down (killed): nothing was acknowledged.
		l.mu.Lock()
		l.refused["no answer"]++
		l.mu.Unlock()
		return false
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusCreated {
		l.mu.Lock()
		l.refused[fmt.Sprintf("%d Retry-After=%q", res.StatusCode, res.Header.Get("Retry-After"))]++
		l.mu.Unlock()
		return false
	}
	var ev api.Event
	if err := json.Unmarshal(raw, &ev); err != nil || ev.Hash == "" {
		l.mu.Lock()
		l.refused["201 without an event"]++
		l.mu.Unlock()
		return false
	}
	l.mu.Lock()
	l.acked[ev.Hash] = ev
	l.mu.Unlock()
	l.count.Add(1)
	return true
}

// cleanLots are up to n demo lots of the first cooperative with no
// planted problem.
func cleanLots(demo *DemoOutput, n int) []string {
	var out []string
	for _, b := range demo.Batches {
		if b.Cooperative == demo.Cooperatives[0].ID && b.Problem == "" && len(out) < n {
			out = append(out, b.ID)
		}
	}
	return out
}

// checkAcked checks, on one node, that every lot's history verifies and
// holds every acknowledged event, each once.
func checkAcked(t *testing.T, base string, lots []string, l *load) {
	t.Helper()
	found := map[string]bool{}
	for _, id := range lots {
		var h struct {
			Verified bool        `json:"verified"`
			Events   []api.Event `json:"events"`
		}
		if code := call(t, "GET", base+"/api/v1/batches/"+id, "", nil, &h); code != 200 || !h.Verified {
			t.Fatalf("history of %s: status %d, verified %v", id, code, h.Verified)
		}
		for i, ev := range h.Events {
			if ev.Seq != uint64(i) {
				t.Fatalf("lot %s: event %d is number %d", id, i, ev.Seq)
			}
			if found[ev.Hash] {
				t.Fatalf("event %s twice", ev.Hash)
			}
			found[ev.Hash] = true
		}
	}
	for h, ev := range l.acked {
		if !found[h] {
			t.Errorf("acknowledged event %s (lot %s, number %d) is missing", h, ev.Batch, ev.Seq)
		}
	}
}

// checkpoints gathers every checkpoint any node publishes until stop.
type checkpoints struct {
	mu    sync.Mutex
	notes map[string][]byte // checkpoint text → note
}

func watchCheckpoints(ns *nodes, n int, stop <-chan struct{}) (*checkpoints, *sync.WaitGroup) {
	cps := &checkpoints{notes: map[string][]byte{}}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			for i := 0; i < n; i++ {
				res, err := http.Get(ns.base(i) + "/log/checkpoint")
				if err != nil {
					continue
				}
				b, _ := io.ReadAll(res.Body)
				res.Body.Close()
				if note, err := tlog.ParseNote(b); err == nil && res.StatusCode == 200 {
					cps.mu.Lock()
					cps.notes[note.Text] = b
					cps.mu.Unlock()
				}
			}
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
			}
		}
	}()
	return cps, &wg
}

// checkConsistent checks every gathered checkpoint's signatures and that
// a consistency proof (from the node at base, checked with
// transparency-dev/merkle) links it to the final one; two checkpoints of
// one size must have one root.
func checkConsistent(t *testing.T, base string, cps *checkpoints, final tlog.Checkpoint) {
	t.Helper()
	var wk api.WellKnown
	if code := call(t, "GET", base+"/.well-known/truyxuat.json", "", nil, &wk); code != 200 {
		t.Fatalf("well-known: %d", code)
	}
	anchor := &trustAnchor{origin: wk.LogOrigin}
	for _, k := range wk.LogKeys {
		vk, err := tlog.ParseVerifierKey(k)
		if err != nil {
			t.Fatal(err)
		}
		anchor.keys = append(anchor.keys, vk)
	}
	cv, err := anchor.verifier()
	if err != nil {
		t.Fatal(err)
	}
	roots := map[uint64]tlog.Hash{}
	for text, note := range cps.notes {
		if _, _, err := cv.Open(note); err != nil {
			t.Fatalf("checkpoint: %v\n%s", err, note)
		}
		c, err := tlog.ParseCheckpoint(text)
		if err != nil {
			t.Fatal(err)
		}
		if r, ok := roots[c.Size]; ok && r != c.Root {
			t.Fatalf("two roots signed for size %d", c.Size)
		}
		roots[c.Size] = c.Root
		if c.Size > final.Size {
			t.Fatalf("a checkpoint of %d entries beyond the final %d", c.Size, final.Size)
		}
		if c.Size == final.Size {
			if c.Root != final.Root {
				t.Fatalf("two roots for size %d", c.Size)
			}
			continue
		}
		var cp api.ConsistencyProof
		if code := call(t, "GET", fmt.Sprintf("%s/api/v1/log/proof/consistency?from=%d&to=%d", base, c.Size, final.Size), "", nil, &cp); code != 200 {
			t.Fatalf("consistency proof %d→%d: %d", c.Size, final.Size, code)
		}
		raw := make([][]byte, len(cp.Proof))
		for i, h := range cp.Proof {
			raw[i] = mustB64(t, h)
		}
		if err := proof.VerifyConsistency(rfc6962.DefaultHasher, c.Size, final.Size, raw, c.Root[:], final.Root[:]); err != nil {
			t.Fatalf("checkpoint %d is not consistent with the final %d: %v", c.Size, final.Size, err)
		}
	}
}

// waitCovered waits until the published checkpoint covers every
// acknowledged event and returns it.
func waitCovered(t *testing.T, base string, l *load) (tlog.Checkpoint, []byte) {
	t.Helper()
	var need uint64
	for _, ev := range l.acked {
		if ev.LogIndex == nil {
			t.Fatalf("acknowledged event %s has no log index", ev.Hash)
		}
		need = max(need, *ev.LogIndex+1)
	}
	return waitCheckpoint(t, base, need)
}

// TestSeveralNodesOnPostgres runs three truyxuat processes on one
// PostgreSQL database with 64 concurrent writers spread over them,
// appending to shared lots, and kills one node with SIGKILL in the middle
// of the load, then starts it again. Afterwards every acknowledged event
// is in its lot's verified history, the audit passes from the first
// checkpoint to the last, and every checkpoint any node published is
// consistent with the last.
func TestSeveralNodesOnPostgres(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program in other processes")
	}
	url := pgtest.URL(t)
	const n = 3
	ns, demo := startNodes(t, url, n)
	lots := cleanLots(demo, 4)
	if len(lots) < 2 {
		t.Fatalf("the demo has %d clean lots of its first cooperative", len(lots))
	}
	key := demo.Cooperatives[0].APIKey
	// The audit's first run, from the first checkpoint.
	waitCheckpoint(t, ns.base(0), 1)
	state := t.TempDir()
	if out, err := run("audit", "--server", ns.base(1), "--state", state, "--lang", "en"); err != nil {
		t.Fatalf("first audit: %v\n%s", err, out)
	}
	stop := make(chan struct{})
	cps, watching := watchCheckpoints(ns, n, stop)

	const writers, each = 64, 8
	l := newLoad()
	var restarted atomic.Bool
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Each writer keeps writing until the killed node is back,
			// so that the load spans the kill and the restart.
			for i := 0; i < 8*each && (i < each || !restarted.Load()); i++ {
				if !l.append(ns.base(w), key, lots[(w+i)%len(lots)], fmt.Sprintf("người ghi %d, lần %d", w, i)) {
					time.Sleep(20 * time.Millisecond)
				}
			}
		}()
	}
	// Mid-load: kill the third node, then start it again.
	waitFor(t, "a quarter of the load", func() bool { return l.count.Load() >= writers*each/4 })
	ns.kill(t, 2)
	killedAt := l.count.Load()
	ns.restart(t, 2)
	restarted.Store(true)
	wg.Wait()
	if l.count.Load() <= killedAt {
		t.Fatal("nothing was acknowledged after the kill")
	}
	final, _ := waitCovered(t, ns.base(1), l)
	close(stop)
	watching.Wait()
	t.Logf("%d acknowledged, refused: %v, %d checkpoints seen, final size %d", len(l.acked), l.refused, len(cps.notes), final.Size)
	for what := range l.refused {
		if what != "no answer" && !strings.HasPrefix(what, "503 ") {
			t.Errorf("a writer was refused with %s", what)
		}
	}
	checkAcked(t, ns.base(0), lots, l)
	checkConsistent(t, ns.base(2), cps, final)
	// The audit's second run: the log the nodes share is an extension of
	// the one it saw first.
	out, err := run("audit", "--server", ns.base(2), "--state", state, "--lang", "en")
	if err != nil || !strings.Contains(out, "Consistent with the previous audit") {
		t.Fatalf("audit after the load: %v\n%s", err, out)
	}
}

// TestPostgresRestartUnderLoad restarts PostgreSQL (a cluster of the
// test's own) while writers append through two nodes: what cannot be
// committed is answered 503 with Retry-After, never anything else; the
// nodes recover on their own; nothing acknowledged is lost.
func TestPostgresRestartUnderLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program in other processes")
	}
	cluster := pgtest.NewCluster(t)
	const n = 2
	ns, demo := startNodes(t, cluster.URL, n)
	lots := cleanLots(demo, 3)
	key := demo.Cooperatives[0].APIKey
	const writers, each = 16, 10
	l := newLoad()
	var restarted atomic.Bool
	var after atomic.Int64 // acknowledged after the restart
	var wg sync.WaitGroup
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// Until the restart is over and this writer was acknowledged
			// again (the service recovered), within a bound.
			mine := 0
			for i := 0; i < 2000 && (i < each || !restarted.Load() || mine == 0); i++ {
				ok := l.append(ns.base(w), key, lots[(w+i)%len(lots)], fmt.Sprintf("người ghi %d, lần %d", w, i))
				switch {
				case ok && restarted.Load():
					mine++
					after.Add(1)
				case !ok:
					time.Sleep(50 * time.Millisecond)
				}
			}
		}()
	}
	waitFor(t, "some of the load", func() bool { return l.count.Load() >= writers*each/4 })
	cluster.Restart(t)
	restarted.Store(true)
	wg.Wait()
	t.Logf("%d acknowledged (%d after the restart), refused: %v", len(l.acked), after.Load(), l.refused)
	if after.Load() < writers {
		t.Fatalf("only %d appends were acknowledged after the restart", after.Load())
	}
	for what := range l.refused {
		if !strings.HasPrefix(what, "503 ") || strings.HasSuffix(what, `Retry-After=""`) {
			t.Errorf("during the restart a writer was answered %s, not 503 with Retry-After", what)
		}
	}
	checkAcked(t, ns.base(1), lots, l)
	waitCovered(t, ns.base(0), l)
}

// TestMigrateSchema: truyxuat migrate-schema brings an empty database to
// this truyxuat's schema, then has nothing to do; without database_url it
// says what to set.
func TestMigrateSchema(t *testing.T) {
	url := pgtest.URL(t)
	out, err := run("migrate-schema", "--database-url", url)
	if err != nil || !strings.Contains(out, "migrated from version 0 to") {
		t.Fatalf("first run: %v\n%s", err, out)
	}
	out, err = run("migrate-schema", "--database-url", url)
	if err != nil || !strings.Contains(out, "nothing to do") {
		t.Fatalf("second run: %v\n%s", err, out)
	}
	t.Setenv("TRUYXUAT_DATABASE_URL", "")
	if _, err := run("migrate-schema"); err == nil || !strings.Contains(err.Error(), "database_url") {
		t.Errorf("without a database: %v", err)
	}
	if _, err := run("migrate-schema", "--database-url", "mysql://db.example.vn/truyxuat"); err == nil || !strings.Contains(err.Error(), "PostgreSQL URL") {
		t.Errorf("not a PostgreSQL URL: %v", err)
	}
}
