package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/api"
)

// configFor runs loadConfig as the serve command would, with args.
func configFor(t *testing.T, args ...string) (*Config, error) {
	t.Helper()
	var got *Config
	root := newRootCmd(io.Discard, io.Discard)
	for _, c := range root.Commands() {
		if c.Name() == "serve" {
			c.RunE = func(cmd *cobra.Command, _ []string) error {
				var err error
				got, err = loadConfig(cmd)
				return err
			}
		}
	}
	root.SetArgs(append([]string{"serve"}, args...))
	err := root.Execute()
	return got, err
}

func TestConfigDefaults(t *testing.T) {
	t.Chdir(t.TempDir())
	c, err := configFor(t)
	if err != nil {
		t.Fatal(err)
	}
	if c.Data != "./data" || c.Addr != "127.0.0.1:8080" || c.PublicURL != "" || c.RequestTimeout != 30*time.Second {
		t.Errorf("defaults: %+v", c)
	}
}

// TestConfigEveryKeyFromEnvironment sets each key through its TRUYXUAT_*
// variable and checks it reaches the decoded struct.
func TestConfigEveryKeyFromEnvironment(t *testing.T) {
	t.Chdir(t.TempDir())
	values := map[string]string{
		"data": "/srv/truyxuat", "database_url": "postgres://truyxuat@db.example.vn/truyxuat", "master_key_file": "/etc/truyxuat/master.key",
		"addr": "0.0.0.0:9000", "public_url": "https://trace.example.vn",
		"log_level": "debug", "log_format": "json", "body_limit": "2048", "request_timeout": "5s",
		"shutdown_timeout": "3s", "server": "https://api.example.vn", "key": "txk_test",
		"log_origin": "trace.example.vn/log", "checkpoint_interval": "250ms", "witness_policy": "/etc/truyxuat/witnesses.policy",
		"witnesses": "w1=https://w1.example.vn, w2=https://w2.example.vn/sub/", "log_keys": testVkeys[0] + "," + testVkeys[1],
		"trust": "/etc/truyxuat/trust.policy", "audit_state": "/var/lib/truyxuat-audit", "lang": "en",
		"witness_addr": "0.0.0.0:8090", "witness_name": "witness.example.vn",
		"attachment_limit": "5242880", "label_error_correction": "q", "label_layouts": "/etc/truyxuat/labels.json",
		"trusted_proxy_header": "x-real-ip", "trusted_proxies": "10.0.0.0/8, 192.0.2.7,2001:db8::/32",
	}
	if len(values) != len(defaults) {
		t.Fatalf("test covers %d keys, config has %d", len(values), len(defaults))
	}
	for k, v := range values {
		t.Setenv("TRUYXUAT_"+strings.ToUpper(k), v)
	}
	c, err := configFor(t)
	if err != nil {
		t.Fatal(err)
	}
	want := Config{Data: "/srv/truyxuat", DatabaseURL: "postgres://truyxuat@db.example.vn/truyxuat", MasterKeyFile: "/etc/truyxuat/master.key", Addr: "0.0.0.0:9000", PublicURL: "https://trace.example.vn",
		LogLevel: "debug", LogFormat: "json", BodyLimit: 2048, RequestTimeout: 5 * time.Second,
		ShutdownTimeout: 3 * time.Second, Server: "https://api.example.vn", Key: "txk_test",
		LogOrigin: "trace.example.vn/log", CheckpointInterval: 250 * time.Millisecond, WitnessPolicy: "/etc/truyxuat/witnesses.policy",
		Witnesses: []string{"w1=https://w1.example.vn", "w2=https://w2.example.vn/sub/"}, LogKeys: testVkeys[:],
		Trust: "/etc/truyxuat/trust.policy", AuditState: "/var/lib/truyxuat-audit", Lang: "en",
		WitnessAddr: "0.0.0.0:8090", WitnessName: "witness.example.vn",
		AttachmentLimit: 5 << 20, LabelErrorCorrection: "Q", LabelLayouts: "/etc/truyxuat/labels.json",
		TrustedProxyHeader: "X-Real-IP", TrustedProxies: []string{"10.0.0.0/8", "192.0.2.7/32", "2001:db8::/32"}}
	if !reflect.DeepEqual(*c, want) {
		t.Errorf("got  %+v\nwant %+v", *c, want)
	}
}

func TestConfigPrecedence(t *testing.T) {
	dir := t.TempDir()
	t.Chdir(dir)
	file := filepath.Join(dir, "truyxuat.yaml")
	os.WriteFile(file, []byte("addr: 127.0.0.1:7000\ndata: /from/file\npublic_url: https://file.example.vn\n"), 0o600)
	t.Setenv("TRUYXUAT_DATA", "/from/env")
	c, err := configFor(t, "--public-url", "https://flag.example.vn")
	if err != nil {
		t.Fatal(err)
	}
	if c.Addr != "127.0.0.1:7000" || c.Data != "/from/env" || c.PublicURL != "https://flag.example.vn" {
		t.Errorf("precedence: %+v", c)
	}
	os.WriteFile(file, []byte("adress: 1\n"), 0o600)
	if _, err := configFor(t); err == nil || !strings.Contains(err.Error(), "unknown setting") {
		t.Errorf("typo in config file: %v", err)
	}
	os.Remove(file)
	for _, bad := range [][]string{{"--public-url", "trace.example.vn"}, {"--log-level", "loud"}, {"--body-limit", "10"},
		{"--trusted-proxy-header", "Forwarded"}, {"--trusted-proxy", "proxy.example.vn"}} {
		if _, err := configFor(t, bad...); err == nil {
			t.Errorf("%v accepted", bad)
		}
	}
}

// startMain runs the real program on port 0 in a temporary directory.
func startMain(t testing.TB, demo bool) (*Main, *bytes.Buffer) {
	t.Helper()
	return startMainWithOutput(t, t.TempDir(), demo)
}

// startMainAt runs the real program on port 0 over an existing data directory.
func startMainAt(t *testing.T, dir string, demo bool) *Main {
	t.Helper()
	m, _ := startMainWithOutput(t, dir, demo)
	return m
}

func startMainWithOutput(t testing.TB, dir string, demo bool) (*Main, *bytes.Buffer) {
	t.Helper()
	cfg := &Config{}
	cfg.Data = dir
	cfg.Addr = "127.0.0.1:0"
	cfg.LogLevel, cfg.LogFormat = "info", "text"
	cfg.BodyLimit, cfg.RequestTimeout, cfg.ShutdownTimeout = 1<<20, 30*time.Second, 5*time.Second
	cfg.AttachmentLimit, cfg.LabelErrorCorrection = 10<<20, "M"
	return runMain(t, cfg, demo)
}

func call(t *testing.T, method, url, key string, body any, out any) int {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		r = bytes.NewReader(b)
	}
	req, _ := http.NewRequest(method, url, r)
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	raw, _ := io.ReadAll(res.Body)
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			t.Fatalf("%s %s: %v: %s", method, url, err, raw)
		}
	}
	return res.StatusCode
}

// TestEndToEnd does what a new user does: start the demo, create a batch,
// append events, read the history, verify it, and see a tampered history
// rejected.
func TestEndToEnd(t *testing.T) {
	m, stdout := startMain(t, true)
	var demo DemoOutput
	// The demo JSON is written before the server starts serving.
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatalf("demo output %q: %v", stdout.String(), err)
	}
	if len(demo.Cooperatives) < 3 || len(demo.Batches) < 10 || !strings.HasPrefix(demo.AdminKey, "txk_") {
		t.Fatalf("demo: %d cooperatives, %d batches", len(demo.Cooperatives), len(demo.Batches))
	}
	base := "http://" + m.Addr()
	provinces := map[string]bool{}
	for _, b := range demo.Batches {
		var h struct {
			Verified    bool `json:"verified"`
			Cooperative struct {
				Province string `json:"province"`
			} `json:"cooperative"`
			Events []json.RawMessage `json:"events"`
		}
		if code := call(t, "GET", base+b.URL, "", nil, &h); code != 200 || !h.Verified || len(h.Events) != b.Events {
			t.Errorf("demo batch %s: status %d, verified %v, %d events", b.URL, code, h.Verified, len(h.Events))
		}
		provinces[h.Cooperative.Province] = true
	}
	if len(provinces) < 3 {
		t.Errorf("demo cooperatives come from %d provinces", len(provinces))
	}

	key := demo.Cooperatives[0].APIKey
	var product struct{ ID string }
	if code := call(t, "POST", base+"/api/v1/products", key, map[string]any{"gtin": "8936040001993", "name_vi": "Gạo ST25 túi 1 kg", "category": "Lúa gạo"}, &product); code != 201 {
		t.Fatalf("create product: %d", code)
	}
	var batch struct{ ID, URL, Path string }
	if code := call(t, "POST", base+"/api/v1/batches", key, map[string]any{"product_id": product.ID, "lot": "E2E-01",
		"quantity": map[string]any{"value": 100, "unit": "KGM"}, "harvest_date": "2025-08-15"}, &batch); code != 201 {
		t.Fatalf("create batch: %d", code)
	}
	for _, step := range []string{"commissioning", "packing", "shipping"} {
		if code := call(t, "POST", base+"/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": step}, nil); code != 201 {
			t.Fatalf("append %s: %d", step, code)
		}
	}
	req, _ := http.NewRequest("GET", base+batch.Path, nil)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	hist, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if !strings.HasPrefix(batch.URL, base+"/01/08936040001993/10/E2E-01") {
		t.Errorf("batch url %s", batch.URL)
	}

	// The command-line verifier agrees, and refuses a rewritten history.
	var out bytes.Buffer
	root := newRootCmd(&out, io.Discard)
	root.SetArgs([]string{"history", "--server", base, batch.ID})
	if err := root.Execute(); err != nil {
		t.Fatalf("truyxuat history: %v\n%s", err, out.String())
	}
	var h api.History
	json.Unmarshal(hist, &h)
	body, _ := base64.StdEncoding.DecodeString(h.Events[2].Canonical)
	h.Events[2].Canonical = base64.StdEncoding.EncodeToString(bytes.Replace(body, []byte("packing"), []byte("storing"), 1))
	if err := verifyWire(io.Discard, &h, nil); err == nil || !strings.Contains(err.Error(), "event 2") {
		t.Errorf("tampered history: %v", err)
	}

	// The server's verify endpoint rejects an edited history too.
	mod := strings.Replace(string(hist), `"biz_step":"packing"`, `"biz_step":"storing"`, 1)
	req, _ = http.NewRequest("POST", base+"/api/v1/verify", strings.NewReader(mod))
	req.Header.Set("Content-Type", "application/json")
	res, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	problem, _ := io.ReadAll(res.Body)
	res.Body.Close()
	if res.StatusCode != 422 || !strings.Contains(string(problem), `"event_index":2`) {
		t.Errorf("verify tampered: %d %s", res.StatusCode, problem)
	}

	// Another cooperative's key cannot write to this batch.
	if code := call(t, "POST", base+"/api/v1/batches/"+batch.ID+"/events", demo.Cooperatives[1].APIKey, map[string]any{"biz_step": "storing"}, nil); code != 403 {
		t.Errorf("cross-cooperative write: %d", code)
	}
}

func TestDemoCommandRefusesNonEmptyData(t *testing.T) {
	dir := t.TempDir()
	var out bytes.Buffer
	root := newRootCmd(&out, io.Discard)
	root.SetArgs([]string{"demo", "--data", dir})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var demo DemoOutput
	if err := json.Unmarshal(out.Bytes(), &demo); err != nil || len(demo.Batches) < 10 {
		t.Fatalf("demo output: %v", err)
	}
	for _, c := range demo.Cooperatives {
		fi, err := os.Stat(filepath.Join(dir, "keys", c.ID+".key"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("key file of %s: %v %v", c.ID, fi, err)
		}
	}
	root = newRootCmd(io.Discard, io.Discard)
	root.SetArgs([]string{"demo", "--data", dir})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "already holds data") {
		t.Errorf("second demo: %v", err)
	}
}

func TestLabelLayoutsFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "good.json")
	os.WriteFile(good, []byte(`{"sheets":[{"name":"tanex-3x8","columns":3,"rows":8,"label_width_mm":70,"label_height_mm":37}],
		"rolls":[{"name":"roll-60x40","width_mm":60,"height_mm":40}]}`), 0o600)
	c := &Config{LabelLayouts: good}
	l, err := c.labelLayouts()
	if err != nil || len(l.Sheets) != 1 || l.Sheets[0].Name != "tanex-3x8" || len(l.Rolls) != 1 {
		t.Fatalf("layouts %+v: %v", l, err)
	}
	for name, body := range map[string]string{
		"typo":     `{"sheets":[{"name":"x","colums":3}]}`,
		"too many": `{"sheets":[{"name":"x","columns":30,"rows":8,"label_width_mm":70,"label_height_mm":37}]}`,
	} {
		p := filepath.Join(dir, "bad.json")
		os.WriteFile(p, []byte(body), 0o600)
		if _, err := (&Config{LabelLayouts: p}).labelLayouts(); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}
