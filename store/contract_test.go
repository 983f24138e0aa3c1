package store_test

import (
	"path/filepath"
	"testing"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/store/storetest"
)

// The embedded store passes the contract every store passes.
func TestContract(t *testing.T) {
	storetest.Run(t, storetest.Backend{
		New: func(t testing.TB) string { return t.TempDir() },
		Open: func(t testing.TB, dir string) store.Store {
			db, err := store.Open(filepath.Join(dir, "truyxuat.db"), store.Options{})
			if err != nil {
				t.Fatal(err)
			}
			return db
		},
	})
}
