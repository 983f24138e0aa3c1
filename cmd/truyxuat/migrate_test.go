package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/store/pg"
	"github.com/truyxuat/truyxuat/store/pg/pgtest"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// TestMigrateToPostgres: the demo's embedded store, served once so that
// its log has a checkpoint, with an attachment, a session and an
// idempotency key added, is copied by truyxuat migrate into an empty
// PostgreSQL database. A truyxuat on that database then serves the same
// checkpoint and every lot's history, verified, with the same events at
// the same log indexes; the copied keys, attachment, session and
// idempotency key work there. A second migrate into the same database is
// refused, saying why.
func TestMigrateToPostgres(t *testing.T) {
	url := pgtest.URL(t)
	dir := t.TempDir()
	const origin = "migrate.example.vn/log"

	// The embedded store, as serve --demo leaves it.
	cfg := serveConfig(dir)
	cfg.LogOrigin = origin
	var stdout bytes.Buffer
	m := &Main{Config: cfg, Stdout: &stdout, Stderr: &bytes.Buffer{}, Demo: true}
	if err := m.Open(); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- m.Run(ctx) }()
	waitFor(t, "the server to answer", func() bool {
		res, err := http.Get("http://" + m.Addr() + "/healthz")
		if err == nil {
			res.Body.Close()
		}
		return err == nil
	})
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	m.Close()
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil || len(demo.Batches) < 10 {
		t.Fatalf("demo output: %v", err)
	}

	src, err := store.Open(dataFile(dir), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	photo := bytes.Repeat([]byte("\x89PNG\r\n\x1a\n"), 8)
	att, _, err := src.PutAttachment(store.AttachmentInfo{MediaType: "image/png"}, photo)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.PutAttachmentVariant(att.SHA256, "w640", []byte("smaller")); err != nil {
		t.Fatal(err)
	}
	users, err := src.Users()
	if err != nil || len(users) == 0 {
		t.Fatalf("demo people: %v", err)
	}
	session, _, err := src.CreateSession(users[0].Username)
	if err != nil {
		t.Fatal(err)
	}
	first, err := src.History(demo.Batches[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	if err := src.PutIdempotentEvent("retry-1", first[0].Hash); err != nil {
		t.Fatal(err)
	}
	size, err := src.LogSize()
	if err != nil {
		t.Fatal(err)
	}
	var wantCheckpoint []byte
	var wantRoot tlog.Hash
	if err := src.ViewLog(func(v store.LogView) error {
		var s uint64
		s, wantCheckpoint = v.LatestCheckpoint()
		if s != size {
			t.Fatalf("the demo's last checkpoint is of size %d, its log %d", s, size)
		}
		wantRoot, err = tlog.RootAt(v, size)
		return err
	}); err != nil {
		t.Fatal(err)
	}
	histories := map[string][]*store.StoredEvent{}
	for _, b := range demo.Batches {
		if histories[b.ID], err = src.History(b.ID); err != nil {
			t.Fatal(err)
		}
	}
	src.Close()

	out, err := run("migrate", "--data", dir, "--to", url)
	if err != nil || !strings.Contains(out, "the copy is identical") || !strings.Contains(out, "root "+wantRoot.String()) {
		t.Fatalf("migrate: %v\n%s", err, out)
	}
	t.Logf("migrate:\n%s", out)

	// A truyxuat on the copy, with the master key migrate made.
	node := serveConfig(t.TempDir())
	node.DatabaseURL, node.MasterKeyFile, node.LogOrigin = url, filepath.Join(dir, "master.key"), origin
	nm, _ := runMain(t, node, false)
	base := "http://" + nm.Addr()
	cp, note := waitCheckpoint(t, base, size)
	if cp.Size != size || cp.Root != wantRoot || !bytes.Equal(note, wantCheckpoint) {
		t.Errorf("the copy serves checkpoint %d %s, want the original's %d %s", cp.Size, cp.Root, size, wantRoot)
	}
	for id, want := range histories {
		var h struct {
			Verified bool        `json:"verified"`
			Events   []api.Event `json:"events"`
		}
		if code := call(t, "GET", base+"/api/v1/batches/"+id, "", nil, &h); code != 200 || !h.Verified {
			t.Fatalf("history of %s on the copy: status %d, verified %v", id, code, h.Verified)
		}
		if len(h.Events) != len(want) {
			t.Fatalf("lot %s: %d events on the copy, %d in the original", id, len(h.Events), len(want))
		}
		for i, ev := range h.Events {
			if ev.Hash != want[i].Hash.String() || ev.LogIndex == nil || *ev.LogIndex != want[i].LogIndex {
				t.Errorf("lot %s, event %d: %s at %v on the copy, %s at %d in the original", id, i, ev.Hash, ev.LogIndex, want[i].Hash, want[i].LogIndex)
			}
		}
	}
	dst, err := pg.Open(context.Background(), url, pg.Options{MasterKeyFile: node.MasterKeyFile})
	if err != nil {
		t.Fatal(err)
	}
	defer dst.Close()
	if k, err := dst.Authenticate(demo.AdminKey); err != nil || k.Role != store.RoleAdmin {
		t.Errorf("the admin key on the copy: %v", err)
	}
	if data, err := dst.AttachmentData(att.SHA256); err != nil || !bytes.Equal(data, photo) {
		t.Errorf("the attachment on the copy: %v", err)
	}
	if v, err := dst.AttachmentVariant(att.SHA256, "w640"); err != nil || string(v) != "smaller" {
		t.Errorf("the attachment's rendition on the copy: %q %v", v, err)
	}
	if s, err := dst.SessionFor(session, time.Hour, 24*time.Hour); err != nil || s.Username != users[0].Username {
		t.Errorf("the session on the copy: %v", err)
	}
	if h, ok, err := dst.IdempotentEvent("retry-1"); err != nil || !ok || h != first[0].Hash {
		t.Errorf("the idempotency key on the copy: %v %v", ok, err)
	}

	// Once more into the same database: refused, saying why.
	_, err = run("migrate", "--data", dir, "--to", url)
	if !errors.Is(err, pg.ErrNotEmpty) || !strings.Contains(err.Error(), "empty database") {
		t.Errorf("second migrate: %v", err)
	}
	if _, err := run("migrate", "--data", t.TempDir(), "--to", url); err == nil || !strings.Contains(err.Error(), "no embedded store") {
		t.Errorf("migrate of an empty data directory: %v", err)
	}
}

// serveConfig is the configuration of a test server on dir.
func serveConfig(dir string) *Config {
	cfg := &Config{}
	cfg.Data = dir
	cfg.Addr = "127.0.0.1:0"
	cfg.LogLevel, cfg.LogFormat = "info", "text"
	cfg.BodyLimit, cfg.RequestTimeout, cfg.ShutdownTimeout = 1<<20, 30*time.Second, 5*time.Second
	cfg.AttachmentLimit, cfg.LabelErrorCorrection = 10<<20, "M"
	return cfg
}
