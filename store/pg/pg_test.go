package pg_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/store/pg"
	"github.com/truyxuat/truyxuat/store/pg/pgtest"
	"github.com/truyxuat/truyxuat/store/storetest"
)

// open opens a store at where: a master key file, a tab, a database URL.
func open(t testing.TB, where string) *pg.DB {
	t.Helper()
	keyFile, url, _ := strings.Cut(where, "\t")
	// The lease outlasts the test: the node that signs first keeps
	// signing, whatever the machine's load.
	db, err := pg.Open(context.Background(), url, pg.Options{MasterKeyFile: keyFile, CreateMasterKey: true, LeaseTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

func newWhere(t testing.TB) string {
	return filepath.Join(t.TempDir(), "master.key") + "\t" + pgtest.URL(t)
}

// The PostgreSQL store passes the contract every store passes.
func TestContract(t *testing.T) {
	pgtest.Base(t)
	storetest.Run(t, storetest.Backend{
		New:   newWhere,
		Open:  func(t testing.TB, where string) store.Store { return open(t, where) },
		Nodes: true,
	})
}

// A database migrated by a newer truyxuat is refused, by Open and by
// migrate-schema, saying what to do.
func TestNewerSchemaIsRefused(t *testing.T) {
	url := pgtest.URL(t)
	ctx := context.Background()
	res, err := pg.MigrateURL(ctx, url)
	if err != nil || res.From != 0 || res.To != pg.SchemaVersion() {
		t.Fatalf("first migration %+v: %v", res, err)
	}
	if res, err := pg.MigrateURL(ctx, url); err != nil || res.From != res.To {
		t.Fatalf("second migration %+v: %v", res, err)
	}
	conn, err := pgx.Connect(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, `INSERT INTO schema_version (version, name) VALUES ($1, 'from the future')`, pg.SchemaVersion()+1); err != nil {
		t.Fatal(err)
	}
	if _, err := pg.MigrateURL(ctx, url); err == nil || !strings.Contains(err.Error(), "newer than this truyxuat knows") {
		t.Errorf("migrating a newer schema: %v", err)
	}
	_, err = pg.Open(ctx, url, pg.Options{MasterKeyFile: filepath.Join(t.TempDir(), "master.key"), CreateMasterKey: true})
	if err == nil || !strings.Contains(err.Error(), "newer than this truyxuat knows") {
		t.Errorf("opening a newer schema: %v", err)
	}
}

// TestSignInThrottleShared: two nodes on one database share the sign-in
// throttle. Failures counted through node A hold back an attempt on node
// B, counts made on both add up, and a reset on B frees the account on A.
func TestSignInThrottleShared(t *testing.T) {
	where := newWhere(t)
	a, b := open(t, where), open(t, where)
	defer a.Close()
	defer b.Close()
	t0 := time.Date(2025, 8, 15, 8, 0, 0, 0, time.UTC)
	account := store.ThrottleKey{Key: "u:ketoan", Free: 3}
	address := store.ThrottleKey{Key: "ip:203.0.113.7", Free: 100}
	for range 2 {
		if err := a.SignInThrottle().Fail(t0, account, address); err != nil {
			t.Fatal(err)
		}
	}
	if d, err := b.SignInThrottle().Wait(t0, account, address); err != nil || d != 0 {
		t.Fatalf("after 2 failures of 3 free, node B waits %v (%v)", d, err)
	}
	// The third failure, through B, is the account's third: both nodes
	// now hold the account back for 30 seconds, not the address.
	if err := b.SignInThrottle().Fail(t0, account, address); err != nil {
		t.Fatal(err)
	}
	for name, n := range map[string]*pg.DB{"A": a, "B": b} {
		if d, err := n.SignInThrottle().Wait(t0.Add(10*time.Second), account, address); err != nil || d != 20*time.Second {
			t.Errorf("node %s: wait %v (%v), want 20s", name, d, err)
		}
		if d, err := n.SignInThrottle().Wait(t0, address); err != nil || d != 0 {
			t.Errorf("node %s: the address waits %v (%v)", name, d, err)
		}
	}
	// Concurrent failures on both nodes are each counted.
	done := make(chan error, 8)
	for i := range 8 {
		n := a
		if i%2 == 1 {
			n = b
		}
		go func() { done <- n.SignInThrottle().Fail(t0, account) }()
	}
	for range 8 {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
	// 11 failures, 3 free: the longest wait.
	if d, err := a.SignInThrottle().Wait(t0, account); err != nil || d != store.ThrottleMaxWait {
		t.Errorf("after 11 failures: wait %v (%v), want %v", d, err, store.ThrottleMaxWait)
	}
	if err := b.SignInThrottle().Reset(account.Key); err != nil {
		t.Fatal(err)
	}
	if d, err := a.SignInThrottle().Wait(t0, account); err != nil || d != 0 {
		t.Errorf("after a reset on B, node A waits %v (%v)", d, err)
	}
	// A day after its last failure a bucket is forgotten.
	later := t0.Add(store.ThrottleForget + time.Minute)
	if err := a.SignInThrottle().Fail(later, store.ThrottleKey{Key: "u:other", Free: 3}); err != nil {
		t.Fatal(err)
	}
	if d, err := b.SignInThrottle().Wait(later, address); err != nil || d != 0 {
		t.Errorf("a day later the address waits %v (%v)", d, err)
	}
}
