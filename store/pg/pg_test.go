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
