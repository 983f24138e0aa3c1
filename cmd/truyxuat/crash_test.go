package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// runMainEnv makes the test binary run the program itself (for the crash
// test, which kills a real process).
const runMainEnv = "TRUYXUAT_TEST_RUN_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(runMainEnv) == "1" {
		main()
		os.Exit(0)
	}
	code := m.Run()
	removeAuditFixtures()
	os.Exit(code)
}

// child is the program running in another process.
type child struct {
	cmd    *exec.Cmd
	base   string
	stdout []byte
}

var servingAddr = regexp.MustCompile(`msg="truyxuat is serving" addr=(\S+)`)

// startChild runs `truyxuat serve args...` in a new process and waits
// until it serves.
func startChild(t *testing.T, args ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], append([]string{"serve", "--addr", "127.0.0.1:0", "--log-format", "text"}, args...)...)
	cmd.Env = append(os.Environ(), runMainEnv+"=1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	// The demo's JSON comes on stdout before the server starts serving.
	outc := make(chan []byte, 1)
	go func() {
		var raw json.RawMessage
		if json.NewDecoder(stdout).Decode(&raw) == nil {
			outc <- raw
		}
		io.Copy(io.Discard, stdout)
	}()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			if m := servingAddr.FindStringSubmatch(sc.Text()); m != nil {
				addr <- m[1]
			}
		}
	}()
	select {
	case a := <-addr:
		c.base = "http://" + a
	case <-time.After(2 * time.Minute):
		// Only a bound on a hang: a race-detector build seeding the demo
		// on a busy machine may take most of a minute.
		t.Fatal("the program did not start serving")
	}
	for _, a := range args {
		if a == "--demo" {
			select {
			case c.stdout = <-outc:
			case <-time.After(10 * time.Second):
				t.Fatal("no demo output")
			}
		}
	}
	return c
}

// TestCrashBetweenCommitAndCheckpoint kills the program (SIGKILL) after
// events were committed but before a checkpoint covers them, restarts it,
// and checks that the next checkpoint is consistent with the last one
// published before the crash.
func TestCrashBetweenCommitAndCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("starts the program in other processes")
	}
	dir := t.TempDir()
	origin := "crash.example.vn/log"
	// A long interval: only the checkpoint made at start is published.
	c1 := startChild(t, "--data", dir, "--log-origin", origin, "--checkpoint-interval", "1h", "--demo")
	var demo DemoOutput
	if err := json.Unmarshal(c1.stdout, &demo); err != nil {
		t.Fatalf("demo output: %v: %q", err, c1.stdout)
	}
	cp1, note1 := waitCheckpoint(t, c1.base, 1)
	for i := 0; i < 5; i++ {
		appendEvent(t, c1.base, demo.Cooperatives[0].APIKey, demo.Batches[0].ID, "storing")
	}
	// Committed (acknowledged) but not in any checkpoint yet.
	if cp, _ := checkpointOf(t, c1.base); cp.Size != cp1.Size {
		t.Fatalf("checkpoint moved to %d before the crash", cp.Size)
	}
	if err := c1.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	c1.cmd.Wait()

	c2 := startChild(t, "--data", dir, "--log-origin", origin, "--checkpoint-interval", "50ms")
	cp2, note2 := waitCheckpoint(t, c2.base, cp1.Size+5)
	if cp2.Size != cp1.Size+5 {
		t.Fatalf("after the restart the log has %d entries, want %d", cp2.Size, cp1.Size+5)
	}
	// Both checkpoints carry valid signatures of the same keys.
	var wk api.WellKnown
	if code := call(t, "GET", c2.base+"/.well-known/truyxuat.json", "", nil, &wk); code != 200 {
		t.Fatalf("well-known: %d", code)
	}
	anchor := &trustAnchor{origin: origin}
	for _, k := range wk.LogKeys {
		vk, _ := tlog.ParseVerifierKey(k)
		anchor.keys = append(anchor.keys, vk)
	}
	cv, _ := anchor.verifier()
	for _, n := range [][]byte{note1, note2} {
		if _, _, err := cv.Open(n); err != nil {
			t.Fatalf("checkpoint: %v\n%s", err, n)
		}
	}
	// A consistency proof from the server links them, checked with
	// transparency-dev/merkle against the signed roots.
	var cp api.ConsistencyProof
	if code := call(t, "GET", fmt.Sprintf("%s/api/v1/log/proof/consistency?from=%d&to=%d", c2.base, cp1.Size, cp2.Size), "", nil, &cp); code != 200 {
		t.Fatalf("consistency proof: %d", code)
	}
	raw := make([][]byte, len(cp.Proof))
	for i, h := range cp.Proof {
		raw[i] = mustB64(t, h)
	}
	if err := proof.VerifyConsistency(rfc6962.DefaultHasher, cp1.Size, cp2.Size, raw, cp1.Root[:], cp2.Root[:]); err != nil {
		t.Fatalf("the checkpoint after the crash is not consistent with the one before: %v", err)
	}
	// The checkpoint published before the crash is still the one stored
	// for its size: no second root was signed for it.
	code, b := get(t, fmt.Sprintf("%s/api/v1/log/proof/inclusion?index=0&size=%d", c2.base, cp1.Size))
	var ip api.InclusionProof
	json.Unmarshal(b, &ip)
	if code != 200 || ip.Root != cp1.Root.String() {
		t.Errorf("root of size %d after the restart: %s", cp1.Size, b)
	}
	c2.cmd.Process.Signal(syscall.SIGTERM)
	if err := c2.cmd.Wait(); err != nil {
		t.Errorf("graceful stop: %v", err)
	}
}
