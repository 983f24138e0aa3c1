package api

import (
	"bytes"
	"io"
	"log/slog"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/store"
)

// restart stops the server and closes the store, runs damage on the
// closed data file (as a disk or an intruder would change it), and
// serves the same file again.
func (e *testEnv) restart(damage func(path string) error) {
	e.t.Helper()
	path := e.db.Path()
	e.srv.Close()
	if err := e.db.Close(); err != nil {
		e.t.Fatal(err)
	}
	if err := damage(path); err != nil {
		e.t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(io.Discard, nil))
	db, err := store.Open(path, store.Options{Logger: logger})
	if err != nil {
		e.t.Fatal(err)
	}
	keys, err := store.OpenKeyDir(filepath.Join(filepath.Dir(path), "keys"))
	if err != nil {
		e.t.Fatal(err)
	}
	s := New(Config{PublicURL: "https://trace.example.vn"}, db, keys, logger)
	e.db, e.srv = db, httptest.NewServer(s.Handler())
}

func TestDamagedHeadIsRefusedWith500(t *testing.T) {
	e := newEnv(t)
	key, _, a := e.seed("HTX A", "8931234567897", "LOT-A")
	keyB, _, b := e.seed("HTX B", "8931234567880", "LOT-B")
	for i, at := range []string{"2025-08-15T06:30:00+07:00", "2025-08-16T06:30:00+07:00"} {
		e.expect(e.do("POST", "/api/v1/batches/"+a.ID+"/events", key, map[string]any{"biz_step": "storing", "event_time": at,
			"note": strings.Repeat("x", i+1)}, true), 201)
	}
	e.expect(e.do("POST", "/api/v1/batches/"+b.ID+"/events", keyB, map[string]any{"biz_step": "storing"}, true), 201)
	// One flipped byte in A's stored head.
	e.restart(func(path string) error {
		return store.AlterHead(path, a.ID, func(h []byte) []byte {
			h[39] ^= 0x40
			return h
		})
	})
	size, _ := e.db.LogSize()
	r := e.do("POST", "/api/v1/batches/"+a.ID+"/events", key, map[string]any{"biz_step": "storing"}, true)
	e.expect(r, 500)
	var p Problem
	r.decode(t, &p)
	if p.Type != ProblemBase+"damaged" || !strings.Contains(p.Detail, "batch "+a.ID) || !strings.Contains(p.Detail, "refused until an operator repairs") {
		t.Errorf("problem for a damaged head: %+v", p)
	}
	// A transformation from it is refused the same way.
	r = e.do("POST", "/api/v1/transformations", key, map[string]any{"kind": "process", "biz_step": "https://truyxuat.vn/voc/bizstep/milling",
		"inputs":  []any{map[string]any{"batch": a.ID, "quantity": map[string]any{"value": 100, "unit": "KGM"}}},
		"outputs": []any{map[string]any{"lot": "LOT-A-XAY", "quantity": map[string]any{"value": 100, "unit": "KGM"}}}}, true)
	e.expect(r, 500)
	if !bytes.Contains(r.body, []byte(a.ID)) {
		t.Errorf("transformation on a damaged head: %s", r.body)
	}
	if after, _ := e.db.LogSize(); after != size {
		t.Errorf("log grew from %d to %d on refused writes", size, after)
	}
	// Another batch takes writes as before.
	e.expect(e.do("POST", "/api/v1/batches/"+b.ID+"/events", keyB, map[string]any{"biz_step": "storing"}, true), 201)
	if after, _ := e.db.LogSize(); after != size+1 {
		t.Errorf("log size %d, want %d", after, size+1)
	}
}
