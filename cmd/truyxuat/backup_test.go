package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
)

// stopChild stops a served program with SIGTERM and waits for it.
func stopChild(t *testing.T, c *child) {
	t.Helper()
	c.cmd.Process.Signal(syscall.SIGTERM)
	if err := c.cmd.Wait(); err != nil {
		t.Fatalf("graceful stop: %v", err)
	}
}

// TestBackupAndRestore runs the real program: backups of a running
// service through its API (the data file itself is locked), then, with the
// service stopped, a restore of the older backup, which is refused until
// the operator insists, after which the service answers reads but refuses
// writes and signs nothing; then a restore of the newer backup, after
// which the log grows on from what it had published.
func TestBackupAndRestore(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program in other processes")
	}
	dir := t.TempDir()
	backups := t.TempDir()
	origin := "backup.example.vn/log"
	c1 := startChild(t, "--data", dir, "--log-origin", origin, "--checkpoint-interval", "50ms", "--demo")
	var demo DemoOutput
	if err := json.Unmarshal(c1.stdout, &demo); err != nil {
		t.Fatalf("demo output: %v", err)
	}
	key, batch := demo.Cooperatives[0].APIKey, demo.Batches[0]
	cp, _ := waitCheckpoint(t, c1.base, 1)

	older := filepath.Join(backups, "older.db")
	out, err := run("backup", "--server", c1.base, "--key", demo.AdminKey, older)
	if err != nil || !strings.Contains(out, "backup written and checked: "+older) {
		t.Fatalf("backup through the service: %v\n%s", err, out)
	}
	rep, err := store.CheckFile(older)
	if err != nil || rep.LogSize < cp.Size || rep.Origin != origin {
		t.Fatalf("the older backup: %+v %v", rep, err)
	}
	// The data file is the running service's: a direct copy is refused, saying what to do.
	if _, err := run("backup", "--data", dir, filepath.Join(backups, "direct.db")); !errors.Is(err, store.ErrInUse) || !strings.Contains(err.Error(), "--server") {
		t.Fatalf("direct backup of a running service's data file: %v", err)
	}
	if _, err := run("backup", "--server", c1.base, "--key", key, filepath.Join(backups, "coop.db")); err == nil || !strings.Contains(err.Error(), "403") {
		t.Fatalf("backup with a cooperative's key: %v", err)
	}

	for i := 0; i < 5; i++ {
		appendEvent(t, c1.base, key, batch.ID, "storing")
	}
	published, _ := waitCheckpoint(t, c1.base, rep.LogSize+5)
	newer := filepath.Join(backups, "newer.db")
	if out, err := run("backup", "--server", c1.base, "--key", demo.AdminKey, newer); err != nil {
		t.Fatalf("second backup: %v\n%s", err, out)
	}
	stopChild(t, c1)

	// The older copy is behind what was published: refused, then put back on demand.
	_, err = run("restore", "--data", dir, older)
	if !errors.Is(err, store.ErrBehindPublished) || !strings.Contains(err.Error(), "--allow-older") ||
		!strings.Contains(err.Error(), fmt.Sprint(published.Size)) {
		t.Fatalf("restore of the older backup: %v", err)
	}
	out, err = run("restore", "--data", dir, "--allow-older", older)
	if err != nil || !strings.Contains(out, "warning: this copy holds") || !strings.Contains(out, ".before-restore-") {
		t.Fatalf("restore --allow-older: %v\n%s", err, out)
	}
	c2 := startChild(t, "--data", dir, "--log-origin", origin, "--checkpoint-interval", "50ms")
	var p api.Problem
	if code := call(t, "POST", c2.base+"/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "storing"}, &p); code != 503 ||
		p.Type != "https://truyxuat.vn/problems/read-only" || !strings.Contains(p.Detail, fmt.Sprint(published.Size)) {
		t.Fatalf("write to the older copy: %d %+v", code, p)
	}
	if code, _ := get(t, c2.base+batch.URL); code != 200 {
		t.Errorf("read from the older copy: %d", code)
	}
	if code, _ := get(t, c2.base+"/healthz"); code != 503 {
		t.Errorf("healthz of a read-only service: %d", code)
	}
	if cp, _ := checkpointOf(t, c2.base); cp.Size != rep.Checkpoint {
		t.Errorf("the read-only service serves checkpoint %d, the older copy's newest is %d", cp.Size, rep.Checkpoint)
	}
	stopChild(t, c2)
	if pub, err := readPublishedFile(dir); err != nil || pub.Size != published.Size || pub.Root != published.Root {
		t.Fatalf("%s after the read-only run: %+v %v", store.PublishedFile, pub, err)
	}

	// The newer copy holds everything published: the log grows on from it.
	if out, err := run("restore", "--data", dir, newer); err != nil {
		t.Fatalf("restore of the newer backup: %v\n%s", err, out)
	}
	c3 := startChild(t, "--data", dir, "--log-origin", origin, "--checkpoint-interval", "50ms")
	appendEvent(t, c3.base, key, batch.ID, "shipping")
	grown, _ := waitCheckpoint(t, c3.base, published.Size+1)
	var cons api.ConsistencyProof
	if code := call(t, "GET", fmt.Sprintf("%s/api/v1/log/proof/consistency?from=%d&to=%d", c3.base, published.Size, grown.Size), "", nil, &cons); code != 200 {
		t.Fatalf("consistency proof: %d", code)
	}
	raw := make([][]byte, len(cons.Proof))
	for i, h := range cons.Proof {
		raw[i] = mustB64(t, h)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, published.Size, grown.Size, raw, published.Root[:], grown.Root[:]); err != nil {
		t.Fatalf("the log after the restore does not extend what it published: %v", err)
	}
	stopChild(t, c3)
	// Every data file that was replaced is still there.
	if m, _ := filepath.Glob(filepath.Join(dir, "truyxuat.db.before-restore-*")); len(m) != 2 {
		t.Errorf("data files set aside: %v", m)
	}
}

func readPublishedFile(dir string) (*store.Published, error) {
	b, err := os.ReadFile(filepath.Join(dir, store.PublishedFile))
	if err != nil {
		return nil, err
	}
	var p store.Published
	return &p, json.Unmarshal(b, &p)
}

// TestBackupOfStoppedService: without --key the copy is made from the
// data directory; a restore of it while nothing was published since
// changes nothing but the file.
func TestBackupOfStoppedService(t *testing.T) {
	dir := t.TempDir()
	if _, err := run("demo", "--data", dir); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "b.db")
	out, err := run("backup", "--data", dir, file)
	if err != nil || !strings.Contains(out, "batches") || !strings.Contains(out, "sha256") {
		t.Fatalf("backup of a stopped service: %v\n%s", err, out)
	}
	if fi, err := os.Stat(file); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("backup file: %v %v", fi, err)
	}
	out, err = run("restore", "--data", dir, file)
	if err != nil || !strings.Contains(out, "restored") {
		t.Fatalf("restore: %v\n%s", err, out)
	}
	if _, err := run("restore", "--data", dir, filepath.Join(dir, "truyxuat.db")); err == nil {
		t.Error("restoring the data file onto itself was accepted")
	}
}

// serveUntilStopped runs the real program with cfg until stop is called.
func serveUntilStopped(t *testing.T, cfg *Config, demo bool) (m *Main, out *DemoOutput, stop func()) {
	t.Helper()
	var stdout bytes.Buffer
	m = &Main{Config: cfg, Stdout: &stdout, Stderr: io.Discard, Demo: demo}
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	stopped := false
	stop = func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		m.Close()
	}
	t.Cleanup(stop)
	waitFor(t, "the server to answer", func() bool {
		res, err := http.Get("http://" + m.Addr() + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return true
	})
	out = &DemoOutput{}
	if demo {
		if err := json.Unmarshal(stdout.Bytes(), out); err != nil {
			t.Fatalf("demo output: %v", err)
		}
	}
	return m, out, stop
}

// TestWitnessStopsRolledBackLog: the whole data directory, its
// published-checkpoint file included, is put back from an older copy, so
// only the witness knows what the log published. At its first answer the
// service becomes read-only and says why.
func TestWitnessStopsRolledBackLog(t *testing.T) {
	dir := t.TempDir()
	origin := "rollback.example.vn/log"
	lk, err := store.OpenLogKeys(filepath.Join(dir, "keys"), origin, true)
	if err != nil {
		t.Fatal(err)
	}
	w := startWitness(t, lk.Public())
	policy := filepath.Join(t.TempDir(), "witnesses.policy")
	os.WriteFile(policy, []byte("witness w1 "+w.VerifierKey().String()+"\nquorum w1\n"), 0o600)
	cfg := testConfig(dir)
	cfg.LogOrigin, cfg.WitnessPolicy, cfg.Witnesses = origin, policy, []string{"w1=http://" + w.Addr()}
	cosigned := func(m *Main) bool {
		head, _, ok, _ := w.State.Latest(origin)
		return ok && head.Size == logSize(t, m)
	}

	m, demo, stop := serveUntilStopped(t, cfg, true)
	waitFor(t, "the witness to cosign", func() bool { return cosigned(m) })
	stop()
	old := t.TempDir()
	for _, f := range []string{"truyxuat.db", store.PublishedFile} {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(filepath.Join(old, f), b, 0o600)
	}

	m, _, stop = serveUntilStopped(t, cfg, false)
	base := "http://" + m.Addr()
	for i := 0; i < 3; i++ {
		appendEvent(t, base, demo.Cooperatives[0].APIKey, demo.Batches[0].ID, "storing")
	}
	waitFor(t, "the witness to cosign the larger log", func() bool { return cosigned(m) })
	published := logSize(t, m)
	stop()
	for _, f := range []string{"truyxuat.db", store.PublishedFile} {
		b, _ := os.ReadFile(filepath.Join(old, f))
		os.WriteFile(filepath.Join(dir, f), b, 0o600)
	}

	m, _, _ = serveUntilStopped(t, cfg, false)
	base = "http://" + m.Addr()
	waitFor(t, "the witness's answer", func() bool { return m.DB.ReadOnly() != nil })
	ro := m.DB.ReadOnly()
	if !ro.Behind() || !strings.Contains(ro.Reason, "witness w1") || !strings.Contains(ro.Reason, fmt.Sprint(published)) {
		t.Fatalf("read-only: %v", ro)
	}
	var p api.Problem
	if code := call(t, "POST", base+"/api/v1/batches/"+demo.Batches[0].ID+"/events", demo.Cooperatives[0].APIKey,
		map[string]any{"biz_step": "storing"}, &p); code != 503 || !strings.Contains(p.Detail, "witness w1") {
		t.Fatalf("write after the witness's answer: %d %+v", code, p)
	}
}

// TestLostLogKeysAreNotReplaced: a data file with signed checkpoints put
// back without its key directory does not start with new log keys, whose
// checkpoints no verifier would accept; it says to put the keys back.
func TestLostLogKeysAreNotReplaced(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.LogOrigin = "lost.example.vn/log"
	m, _, stop := serveUntilStopped(t, cfg, true)
	waitCheckpoint(t, "http://"+m.Addr(), 1)
	stop()
	for _, f := range []string{store.LogEd25519KeyFile, store.LogMLDSA44KeyFile} {
		os.Remove(filepath.Join(dir, "keys", f))
	}
	m = &Main{Config: cfg, Stdout: io.Discard, Stderr: io.Discard}
	err := m.Open()
	m.Close()
	if !errors.Is(err, store.ErrNoLogKeys) || !strings.Contains(err.Error(), "key backup") {
		t.Fatalf("start without the log's keys: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "keys", store.LogEd25519KeyFile)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("a new log key was made: %v", err)
	}
}
