package api

import (
	"crypto/sha256"
	"encoding/base64"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/store"
)

// TestAdminBackup: only an admin key gets the copy; its length and
// Content-Digest match the body, and the body is a data file that passes
// the store's checks with everything recorded so far.
func TestAdminBackup(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	for _, step := range []string{"commissioning", "packing"} {
		e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": step}, true), 201)
	}
	e.expect(e.send("GET", backupPath, "", nil, nil, true), 401)
	e.expect(e.send("GET", backupPath, key, nil, nil, true), 403)
	r := e.send("GET", backupPath, e.adminKey, nil, nil, true)
	e.expect(r, 200)
	if n, _ := strconv.Atoi(r.header.Get("Content-Length")); n != len(r.body) || n == 0 {
		t.Fatalf("Content-Length %q, body %d bytes", r.header.Get("Content-Length"), len(r.body))
	}
	sum := sha256.Sum256(r.body)
	if want := "sha-256=:" + base64.StdEncoding.EncodeToString(sum[:]) + ":"; r.header.Get("Content-Digest") != want {
		t.Errorf("Content-Digest %q, want %q", r.header.Get("Content-Digest"), want)
	}
	if r.header.Get("Content-Encoding") != "" || !strings.Contains(r.header.Get("Content-Disposition"), ".db") {
		t.Errorf("headers %v", r.header)
	}
	p := filepath.Join(t.TempDir(), "backup.db")
	if err := os.WriteFile(p, r.body, 0o600); err != nil {
		t.Fatal(err)
	}
	rep, err := store.CheckFile(p)
	// Two events after the lot's facts, and the cooperative's and product's records.
	if err != nil || rep.Events != 3 || rep.Records != 2 || rep.LogSize != 5 || rep.Batches != 1 {
		t.Fatalf("the copy: %+v %v", rep, err)
	}
	// The snapshot beside the data file is gone.
	if m, _ := filepath.Glob(filepath.Join(filepath.Dir(e.db.Path()), ".snapshot-*")); len(m) != 0 {
		t.Errorf("snapshots left: %v", m)
	}
}

// TestReadOnlyService: once the store is read-only (here as after an
// older copy of the data file was put back), every write is answered 503
// with a problem saying what happened and what to do, reads are served,
// /healthz fails, a clerk is told in Vietnamese and the admin's screen
// says why.
func TestReadOnlyService(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning"}, true), 201)
	if err := e.db.CreateUser(&store.User{Username: "thuky", Name: "Thư ký", Role: store.RoleCooperative, CooperativeID: batch.CooperativeID}, "mat-khau-123"); err != nil {
		t.Fatal(err)
	}
	if err := e.db.CreateUser(&store.User{Username: "quantri", Name: "Admin", Role: store.RoleAdmin}, "mat-khau-789"); err != nil {
		t.Fatal(err)
	}
	e.db.SetReadOnly(store.BehindError("the data file", 537, 1784, "recorded in "+store.PublishedFile))

	writes := []struct {
		name, method, path, key string
		body                    any
	}{
		{"event", "POST", "/api/v1/batches/" + batch.ID + "/events", key, map[string]any{"biz_step": "packing"}},
		{"batch", "POST", "/api/v1/batches", key, map[string]any{"product_id": batch.ProductID, "lot": "LOT-B", "quantity": map[string]any{"value": 1, "unit": "KGM"}}},
		{"cooperative", "POST", "/api/v1/cooperatives", e.adminKey, CreateCooperativeRequest{Name: "HTX B", Province: "Sóc Trăng"}},
		{"key", "POST", "/api/v1/keys", e.adminKey, CreateAPIKeyRequest{Name: "thủ kho", Role: "cooperative", CooperativeID: batch.CooperativeID}},
	}
	for _, w := range writes {
		t.Run(w.name, func(t *testing.T) {
			r := e.do(w.method, w.path, w.key, w.body, true)
			e.expect(r, 503)
			var p Problem
			r.decode(t, &p)
			if p.Type != ProblemBase+"read-only" || !strings.Contains(p.Detail, "1784") || !strings.Contains(p.Detail, "truyxuat restore") {
				t.Errorf("problem %+v", p)
			}
		})
	}
	r := e.do("GET", batch.Path, "", nil, true)
	e.expect(r, 200)
	var h History
	r.decode(t, &h)
	if len(h.Events) != 2 || !h.Verified {
		t.Errorf("history while read-only: %d events, verified %v", len(h.Events), h.Verified)
	}
	e.expect(e.do("GET", "/healthz", "", nil, true), 503)

}
