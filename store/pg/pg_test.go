package pg_test

import (
	"context"
	"path/filepath"
	"strings"
	"testing"
	"time"

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
