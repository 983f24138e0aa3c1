package app

import (
	"bytes"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
)

// testEnv is a real server with the workspace mounted, on a store in a
// temporary directory. The JSON API's own tests (package api) check its
// requests and answers against openapi.yaml; these tests use it only to
// set up what the workspace works on.
type testEnv struct {
	t        testing.TB
	db       *store.DB
	server   *api.Server
	ws       *Workspace
	srv      *httptest.Server
	adminKey string
}

// needTool finds an external tool; without it the test is skipped, except
// in CI (CI=true), where it fails.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s is not installed; skipping", name)
	}
	return p
}

func newEnv(t testing.TB, opts ...func(*api.Config)) *testEnv {
	t.Helper()
	dir := t.TempDir()
	db, err := store.Open(filepath.Join(dir, "truyxuat.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	keys, err := store.OpenKeyDir(filepath.Join(dir, "keys"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := api.Config{PublicURL: "https://trace.example.vn"}
	for _, o := range opts {
		o(&cfg)
	}
	s := api.New(cfg, db, keys, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ws, err := Mount(s)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(s.Handler())
	t.Cleanup(func() {
		srv.Close()
		if err := db.Check(); err != nil {
			t.Errorf("tx.Check: %v", err)
		}
		db.Close()
	})
	admin, err := db.CreateAPIKey(&store.APIKey{Name: "admin", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	return &testEnv{t: t, db: db, server: s, ws: ws, srv: srv, adminKey: admin}
}

type response struct {
	status int
	header http.Header
	body   []byte
}

func (r *response) decode(t testing.TB, v any) {
	t.Helper()
	if err := json.Unmarshal(r.body, v); err != nil {
		t.Fatalf("decode %s: %v", r.body, err)
	}
}

// send makes a request with raw bytes and the given headers.
func (e *testEnv) send(method, path, key string, header map[string]string, body []byte) *response {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, bytes.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer res.Body.Close()
	out, _ := io.ReadAll(res.Body)
	return &response{status: res.StatusCode, header: res.Header, body: out}
}

// do sends a JSON request to the API and wants the status given.
func (e *testEnv) do(method, path, key string, body any, status int) *response {
	e.t.Helper()
	var raw []byte
	header := map[string]string{"Accept": "application/json"}
	if body != nil {
		var err error
		if raw, err = json.Marshal(body); err != nil {
			e.t.Fatal(err)
		}
		header["Content-Type"] = "application/json"
	}
	r := e.send(method, path, key, header, raw)
	if r.status != status {
		e.t.Fatalf("%s %s: status %d, want %d: %s", method, path, r.status, status, r.body)
	}
	return r
}

// seed creates a cooperative, a product with a GTIN and a batch.
func (e *testEnv) seed(name, gtin, lot string) (coopKey string, coop api.Cooperative, batch api.Batch) {
	e.t.Helper()
	var cc api.CreateCooperativeResponse
	e.do("POST", "/api/v1/cooperatives", e.adminKey, api.CreateCooperativeRequest{Name: name, Province: "Sóc Trăng"}, 201).decode(e.t, &cc)
	var p api.Product
	e.do("POST", "/api/v1/products", cc.APIKey.Secret, api.CreateProductRequest{GTIN: gtin, NameVI: "Gạo ST25", NameEN: "ST25 rice", Category: "rice", OCOPStars: 4}, 201).decode(e.t, &p)
	e.do("POST", "/api/v1/batches", cc.APIKey.Secret, map[string]any{
		"product_id": p.ID, "lot": lot, "quantity": map[string]any{"value": 1250, "unit": "KGM"},
		"harvest_date": "2025-08-15", "plot": map[string]any{"name": "Ruộng số 7", "lat": 9.56, "lon": 105.98}}, 201).decode(e.t, &batch)
	return cc.APIKey.Secret, cc.Cooperative, batch
}

func (e *testEnv) history(batchID string) (*api.History, []byte) {
	e.t.Helper()
	r := e.do("GET", "/api/v1/batches/"+batchID, "", nil, 200)
	var h api.History
	r.decode(e.t, &h)
	return &h, r.body
}

// newInspector registers an inspector through the API.
func (e *testEnv) newInspector(name string) api.CreateInspectorResponse {
	e.t.Helper()
	var res api.CreateInspectorResponse
	e.do("POST", "/api/v1/inspectors", e.adminKey, api.CreateInspectorRequest{Name: name, Agency: "Chi cục Quản lý Chất lượng Nông lâm sản và Thủy sản Sóc Trăng"}, 201).decode(e.t, &res)
	return res
}
