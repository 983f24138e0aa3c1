package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// testVkeys are two verifier keys of one test log.
var testVkeys = func() [2]string {
	var out [2]string
	for i, typ := range []tlog.SignatureType{tlog.TypeEd25519, tlog.TypeMLDSA44} {
		k, err := tlog.GenerateKey(strings.NewReader(strings.Repeat("k", 32)), "trace.example.vn/log", typ)
		if err != nil {
			panic(err)
		}
		out[i] = k.Public().String()
	}
	return out
}()

// testConfig is the configuration a test server starts with.
func testConfig(dir string) *Config {
	return &Config{Data: dir, Addr: "127.0.0.1:0", LogLevel: "warn", LogFormat: "text", BodyLimit: 1 << 20,
		RequestTimeout: 30 * time.Second, ShutdownTimeout: 5 * time.Second,
		CheckpointInterval: 50 * time.Millisecond, Lang: "vi", WitnessAddr: "127.0.0.1:0"}
}

// startServer runs the real program with cfg until the test ends.
func startServer(t *testing.T, cfg *Config, demo bool) (*Main, *DemoOutput) {
	t.Helper()
	m, stdout := runMain(t, cfg, demo)
	var out DemoOutput
	if demo {
		if err := json.Unmarshal(stdout.Bytes(), &out); err != nil {
			t.Fatalf("demo output: %v", err)
		}
	}
	return m, &out
}

// runMain runs the real program with cfg until the test ends, once it
// answers /healthz, and returns what it printed on stdout.
func runMain(t testing.TB, cfg *Config, demo bool) (*Main, *bytes.Buffer) {
	t.Helper()
	var stdout bytes.Buffer
	m := &Main{Config: cfg, Stdout: &stdout, Stderr: io.Discard, Demo: demo}
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("run: %v", err)
		}
		m.Close()
	})
	waitFor(t, "the server to answer", func() bool {
		res, err := http.Get("http://" + m.Addr() + "/healthz")
		if err != nil {
			return false
		}
		res.Body.Close()
		return true
	})
	return m, &stdout
}

func waitFor(t testing.TB, what string, ok func() bool) {
	t.Helper()
	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if ok() {
			return
		}
	}
	t.Fatalf("timed out waiting for %s", what)
}

func get(t *testing.T, url string) (int, []byte) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// checkpointOf fetches /log/checkpoint and parses it (unverified).
func checkpointOf(t *testing.T, base string) (tlog.Checkpoint, []byte) {
	t.Helper()
	code, b := get(t, base+"/log/checkpoint")
	if code != 200 {
		return tlog.Checkpoint{}, nil
	}
	n, err := tlog.ParseNote(b)
	if err != nil {
		t.Fatal(err)
	}
	c, err := tlog.ParseCheckpoint(n.Text)
	if err != nil {
		t.Fatal(err)
	}
	return c, b
}

// waitCheckpoint waits until the published checkpoint covers size entries.
func waitCheckpoint(t *testing.T, base string, size uint64) (tlog.Checkpoint, []byte) {
	t.Helper()
	var c tlog.Checkpoint
	var b []byte
	waitFor(t, "a checkpoint", func() bool {
		c, b = checkpointOf(t, base)
		return b != nil && c.Size >= size
	})
	return c, b
}

func logSize(t *testing.T, m *Main) uint64 {
	n, err := m.DB.LogSize()
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// run runs the program's command line in-process.
func run(args ...string) (string, error) {
	var out bytes.Buffer
	root := newRootCmd(&out, io.Discard)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

func appendEvent(t *testing.T, base, key, batch, step string) {
	t.Helper()
	if code := call(t, "POST", base+"/api/v1/batches/"+batch+"/events", key, map[string]any{"biz_step": step}, nil); code != 201 {
		t.Fatalf("append %s: %d", step, code)
	}
}

// TestLogKeysAndOrigin: first start makes the two key files (0600) named
// after the origin derived from the public URL; the checkpoint has two
// signature lines that independent verifiers accept; a changed origin is
// refused with a clear message.
func TestLogKeysAndOrigin(t *testing.T) {
	dir := t.TempDir()
	cfg := testConfig(dir)
	cfg.PublicURL = "https://trace.example.vn"
	m, _ := startServer(t, cfg, true)
	if m.LogKeys.Origin() != "trace.example.vn/log" {
		t.Fatalf("origin %q", m.LogKeys.Origin())
	}
	for _, f := range []string{store.LogEd25519KeyFile, store.LogMLDSA44KeyFile} {
		fi, err := os.Stat(filepath.Join(dir, "keys", f))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key file %s: %v %v", f, fi, err)
		}
	}
	base := "http://" + m.Addr()
	_, raw := waitCheckpoint(t, base, logSize(t, m))
	if n := strings.Count(string(raw), "\u2014 trace.example.vn/log "); n != 2 {
		t.Fatalf("%d log signature lines:\n%s", n, raw)
	}
	pub := m.LogKeys.Public()
	ed, _ := note.NewVerifier(pub[0].String())
	if _, err := note.Open(raw, note.VerifierList(ed)); err != nil {
		t.Errorf("sumdb/note: %v", err)
	}
	ml, _ := fnote.NewMLDSAVerifier(pub[1].String())
	if _, err := note.Open(raw, note.VerifierList(ml)); err != nil {
		t.Errorf("ML-DSA-44: %v", err)
	}
	// truyxuat keys, from the data directory and from the server, agree
	// and print no secret.
	local, err := run("keys", "--data", dir, "--public-url", "https://trace.example.vn")
	if err != nil {
		t.Fatal(err)
	}
	remote, err := run("keys", "--server", base)
	if err != nil {
		t.Fatal(err)
	}
	if local != remote || !strings.Contains(local, "log "+pub[1].String()+" https://trace.example.vn/log/\n") || strings.Contains(local, "PRIVATE") {
		t.Errorf("keys:\n%s\n---\n%s", local, remote)
	}

	// Another origin over the same data directory is refused.
	_, err = store.OpenLogKeys(filepath.Join(dir, "keys"), "other.example.vn/log", true)
	if err == nil || !strings.Contains(err.Error(), `set log_origin (TRUYXUAT_LOG_ORIGIN) to "trace.example.vn/log"`) {
		t.Errorf("changed origin: %v", err)
	}
}

// TestVerifyAndAudit: truyxuat verify passes on a demo batch by URL and
// fails, naming the event, on an edited saved bundle and on a wrong
// pinned key; truyxuat audit passes, passes again after the log grew, and
// detects a second server whose log differs under the same keys.
func TestVerifyAndAudit(t *testing.T) {
	dirA := t.TempDir()
	cfg := testConfig(dirA)
	cfg.LogOrigin = "audit.example.vn/log"
	a, demo := startServer(t, cfg, true)
	baseA := "http://" + a.Addr()
	waitCheckpoint(t, baseA, logSize(t, a))
	trust := filepath.Join(t.TempDir(), "trust.policy")
	out, err := run("keys", "--server", baseA)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(trust, []byte(out), 0o600)

	b := demo.Batches[0]
	appendEvent(t, baseA, demo.Cooperatives[0].APIKey, b.ID, "storing") // newer than the checkpoint: verify waits
	out, err = run("verify", "--trust", trust, baseA+b.URL)
	if err != nil || !strings.Contains(out, "HỢP LỆ") {
		t.Fatalf("verify: %v\n%s", err, out)
	}
	out, err = run("verify", "--trust", trust, "--lang", "en", "--server", baseA, b.ID)
	if err != nil || !strings.Contains(out, "VALID: ") || !strings.Contains(out, "Ed25519 and ML-DSA-44") {
		t.Fatalf("verify --lang en: %v\n%s", err, out)
	}

	// A saved bundle verifies offline; edited, it fails naming the event.
	_, hist := get(t, baseA+b.URL)
	saved := filepath.Join(t.TempDir(), "history.json")
	os.WriteFile(saved, hist, 0o600)
	if out, err := run("verify", "--trust", trust, "--file", saved); err != nil {
		t.Fatalf("verify --file: %v\n%s", err, out)
	}
	var h struct {
		Events []struct {
			Hash      string `json:"hash"`
			BizStep   string `json:"biz_step"`
			Canonical string `json:"canonical"`
		} `json:"events"`
	}
	json.Unmarshal(hist, &h)
	edits := map[string]string{
		"readable field": strings.Replace(string(hist), `"biz_step":"`+h.Events[1].BizStep+`"`, `"biz_step":"destroying"`, 1),
		"canonical bytes": strings.Replace(string(hist), h.Events[1].Canonical, base64.StdEncoding.EncodeToString(
			bytes.Replace(mustB64(t, h.Events[1].Canonical), []byte(h.Events[1].BizStep), []byte("destroying"), 1)), 1),
	}
	for name, edited := range edits {
		if edited == string(hist) {
			t.Fatalf("%s: nothing edited", name)
		}
		os.WriteFile(saved, []byte(edited), 0o600)
		out, err := run("verify", "--trust", trust, "--file", saved)
		if err == nil || !strings.Contains(out, "KHÔNG HỢP LỆ: sự kiện #1 ("+h.Events[1].Hash) || !strings.Contains(err.Error(), "#1") {
			t.Errorf("%s: %v\n%s", name, err, out)
		}
	}
	// A wrong pinned log key.
	os.WriteFile(saved, hist, 0o600)
	other, _ := store.OpenLogKeys(t.TempDir(), "audit.example.vn/log", true)
	pub := other.Public()
	out, err = run("verify", "--log-key", pub[0].String(), "--log-key", pub[1].String(), "--file", saved)
	if err == nil || !strings.Contains(out, "checkpoint") {
		t.Errorf("wrong pinned key: %v\n%s", err, out)
	}
	if _, err := run("verify", "--file", saved); err == nil || !strings.Contains(err.Error(), "--trust") {
		t.Errorf("no pinned key: %v", err)
	}

	// Audit: a first run, then a run after the log grew.
	state := t.TempDir()
	out, err = run("audit", "--server", baseA, "--state", state, "--trust", trust)
	if err != nil || !strings.Contains(out, "HỢP LỆ") {
		t.Fatalf("audit: %v\n%s", err, out)
	}
	for i := 0; i < 300; i++ {
		appendEvent(t, baseA, demo.Cooperatives[0].APIKey, b.ID, "storing")
	}
	waitCheckpoint(t, baseA, logSize(t, a))
	out, err = run("audit", "--server", baseA, "--state", state, "--lang", "en") // keys from the state
	if err != nil || !strings.Contains(out, "Consistent with the previous audit") {
		t.Fatalf("second audit: %v\n%s", err, out)
	}

	// Server B holds the same keys and origin, but another history: the
	// audit with A's state refuses it.
	dirB := t.TempDir()
	os.MkdirAll(filepath.Join(dirB, "keys"), 0o700)
	for _, f := range []string{store.LogEd25519KeyFile, store.LogMLDSA44KeyFile} {
		k, _ := os.ReadFile(filepath.Join(dirA, "keys", f))
		os.WriteFile(filepath.Join(dirB, "keys", f), k, 0o600)
	}
	cfgB := testConfig(dirB)
	cfgB.LogOrigin = cfg.LogOrigin
	bsrv, demoB := startServer(t, cfgB, true)
	baseB := "http://" + bsrv.Addr()
	for logSize(t, bsrv) <= logSize(t, a) {
		appendEvent(t, baseB, demoB.Cooperatives[0].APIKey, demoB.Batches[0].ID, "storing")
	}
	waitCheckpoint(t, baseB, logSize(t, bsrv))
	out, err = run("audit", "--server", baseB, "--state", state, "--trust", trust)
	if err == nil || !strings.Contains(out, "lịch sử đã bị viết lại") {
		t.Errorf("rewritten log: %v\n%s", err, out)
	}
}

func mustB64(t *testing.T, s string) []byte {
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// startWitness runs a witness of the given log keys on port 0.
func startWitness(t *testing.T, logKeys []tlog.VerifierKey) *WitnessServer {
	t.Helper()
	cfg := testConfig(t.TempDir())
	cfg.WitnessName = "witness.example.vn"
	for _, k := range logKeys {
		cfg.LogKeys = append(cfg.LogKeys, k.String())
	}
	w := &WitnessServer{Config: cfg, Stdout: io.Discard, Stderr: io.Discard}
	if err := w.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- w.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("witness: %v", err)
		}
		w.Close()
	})
	return w
}

// TestWitnessCosigns runs a witness beside the server: the published
// checkpoint ends up cosigned, meets the policy's quorum, and follows the
// log as it grows; the witness refuses a stale size (409), a bad
// consistency proof (422), a bad signature (403) and an unknown log (404).
func TestWitnessCosigns(t *testing.T) {
	dir := t.TempDir()
	origin := "witnessed.example.vn/log"
	lk, err := store.OpenLogKeys(filepath.Join(dir, "keys"), origin, true)
	if err != nil {
		t.Fatal(err)
	}
	w := startWitness(t, lk.Public())
	wurl := "http://" + w.Addr()
	policy := filepath.Join(t.TempDir(), "witnesses.policy")
	os.WriteFile(policy, []byte("# test\nwitness w1 "+w.VerifierKey().String()+"\nquorum w1\n"), 0o600)
	cfg := testConfig(dir)
	cfg.LogOrigin, cfg.WitnessPolicy, cfg.Witnesses = origin, policy, []string{"w1=" + wurl}
	m, demo := startServer(t, cfg, true)
	base := "http://" + m.Addr()

	// Until the witness has cosigned one, the newest checkpoint is served;
	// from then on, the newest cosigned one.
	var c tlog.Checkpoint
	var raw []byte
	waitFor(t, "a cosigned checkpoint", func() bool {
		c, raw = checkpointOf(t, base)
		return strings.Contains(string(raw), "\u2014 witness.example.vn ") && c.Size == logSize(t, m)
	})
	pol, _ := tlog.ParsePolicy([]byte("witness w1 " + w.VerifierKey().String() + "\nquorum w1\n"))
	anchor := &trustAnchor{origin: origin, keys: lk.Public(), policy: pol}
	cv, _ := anchor.verifier()
	if _, _, err := cv.Open(raw); err != nil {
		t.Fatalf("quorum: %v", err)
	}
	wv, err := fnote.NewVerifierForCosignatureV1(w.VerifierKey().String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(raw, note.VerifierList(wv)); err != nil {
		t.Errorf("formats/note cosignature/v1: %v", err)
	}
	// The log grows; the witness follows with consistency proofs.
	appendEvent(t, base, demo.Cooperatives[0].APIKey, demo.Batches[0].ID, "storing")
	c2, raw2 := waitCheckpoint(t, base, c.Size+1)
	if !strings.Contains(string(raw2), "\u2014 witness.example.vn ") {
		t.Fatalf("a newer checkpoint served before it was cosigned:\n%s", raw2)
	}
	if _, _, err := cv.Open(raw2); err != nil {
		t.Fatalf("second checkpoint: %v", err)
	}
	head, _, ok, _ := w.State.Latest(origin)
	if !ok || head.Size != c2.Size || head.Root != c2.Root {
		t.Errorf("witness state %+v, checkpoint %d", head, c2.Size)
	}
	// The verify command enforces the quorum from the trust file.
	trust := filepath.Join(t.TempDir(), "trust")
	out, _ := run("keys", "--server", base)
	os.WriteFile(trust, []byte(out), 0o600)
	if !strings.Contains(out, "quorum w1") {
		t.Fatalf("trust file:\n%s", out)
	}
	out, err = run("verify", "--trust", trust, base+demo.Batches[1].URL)
	if err != nil || !strings.Contains(out, "w1") {
		t.Errorf("verify with quorum: %v\n%s", err, out)
	}

	post := func(body []byte) (int, string, string) {
		res, err := http.Post(wurl+"/add-checkpoint", "text/plain", bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		b, _ := io.ReadAll(res.Body)
		return res.StatusCode, res.Header.Get("Content-Type"), string(b)
	}
	// Stale: old size 0, but the witness has cosigned c2.
	code, ct, body := post((&tlog.AddCheckpointRequest{OldSize: 0, Checkpoint: raw2}).Bytes())
	if code != 409 || ct != tlog.SizeContentType || body != strconv.FormatUint(c2.Size, 10)+"\n" {
		t.Errorf("stale: %d %q %q", code, ct, body)
	}
	// A bigger tree whose proof does not verify.
	fake, _ := lk.Sign(c2.Size+5, tlog.LeafHash([]byte("x")))
	code, _, body = post((&tlog.AddCheckpointRequest{OldSize: c2.Size, Proof: []tlog.Hash{tlog.LeafHash(nil)}, Checkpoint: fake}).Bytes())
	if code != 422 {
		t.Errorf("bad proof: %d %s", code, body)
	}
	// Signed by a key the witness does not trust for the origin.
	other, _ := store.OpenLogKeys(t.TempDir(), origin, true)
	forged, _ := other.Sign(c2.Size+5, tlog.LeafHash([]byte("x")))
	code, _, body = post((&tlog.AddCheckpointRequest{OldSize: c2.Size, Checkpoint: forged}).Bytes())
	if code != 403 {
		t.Errorf("bad signature: %d %s", code, body)
	}
	// A broken signature from the trusted key.
	n, _ := tlog.ParseNote(raw2)
	n.Sigs[0].Sig[10] ^= 1
	code, _, body = post((&tlog.AddCheckpointRequest{OldSize: c2.Size, Checkpoint: n.Bytes()}).Bytes())
	if code != 403 {
		t.Errorf("broken signature: %d %s", code, body)
	}
	unknown, _ := store.OpenLogKeys(t.TempDir(), "unknown.example.vn/log", true)
	u, _ := unknown.Sign(1, tlog.LeafHash(nil))
	if code, _, body = post((&tlog.AddCheckpointRequest{OldSize: 0, Checkpoint: u}).Bytes()); code != 404 {
		t.Errorf("unknown log: %d %s", code, body)
	}
	// Nothing refused moved the witness.
	if h2, _, _, _ := w.State.Latest(origin); h2 != head {
		t.Errorf("refused requests changed the witness state")
	}

	// A log that forgot what the witness cosigned (a restart) starts from
	// old size 0; the witness answers 409 with its size and the log
	// retries with a proof from there.
	cp := &checkpointer{db: m.DB, keys: lk, client: http.DefaultClient}
	wc := &witnessClient{witnessTarget: witnessTarget{name: "w1", url: wurl}}
	answer, err := cp.addCheckpoint(context.Background(), wc, c2.Size, raw2)
	if err != nil || wc.old != c2.Size || !strings.HasPrefix(string(answer), "\u2014 witness.example.vn ") {
		t.Errorf("after a 409: %v, old %d, answer %q", err, wc.old, answer)
	}
}

// TestConfigExample: config.example.yaml lists every setting with its
// default value.
func TestConfigExample(t *testing.T) {
	example, err := filepath.Abs("../../config.example.yaml")
	if err != nil {
		t.Fatal(err)
	}
	text, err := os.ReadFile(example)
	if err != nil {
		t.Fatal(err)
	}
	for k := range defaults {
		if !strings.Contains("\n"+string(text), "\n"+k+":") {
			t.Errorf("config.example.yaml does not list %s", k)
		}
	}
	t.Chdir(t.TempDir())
	fromFile, err := configFor(t, "--config", example)
	if err != nil {
		t.Fatal(err)
	}
	builtin, err := configFor(t)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(fromFile, builtin) {
		t.Errorf("config.example.yaml gives\n%+v\ndefaults are\n%+v", fromFile, builtin)
	}
}
