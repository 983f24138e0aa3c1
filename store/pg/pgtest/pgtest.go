// Package pgtest gives tests a PostgreSQL schema of their own in the
// database named by TRUYXUAT_TEST_DATABASE_URL (as .ci/postgres sets it),
// dropped when the test ends, so that tests may run in parallel. Without
// that variable a test that needs PostgreSQL is skipped with a message,
// and fails when CI=true.
package pgtest

import (
	"context"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/truyxuat/truyxuat/store"
)

// EnvURL is the variable naming the test database.
const EnvURL = "TRUYXUAT_TEST_DATABASE_URL"

// Base returns the test database's URL, or skips t (fails it under CI).
func Base(t testing.TB) string {
	t.Helper()
	u := os.Getenv(EnvURL)
	if u == "" {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is not set: CI runs the PostgreSQL tests (.ci/postgres starts a throwaway cluster)", EnvURL)
		}
		t.Skipf("%s is not set: skipping the PostgreSQL test (run it under .ci/postgres)", EnvURL)
	}
	return u
}

// URL makes a new schema in the test database and returns a URL whose
// connections use it (search_path). The schema is dropped when the test
// and its cleanups end.
func URL(t testing.TB) string {
	t.Helper()
	base := Base(t)
	schema := "t_" + store.NewID()
	exec(t, base, "CREATE SCHEMA "+schema)
	t.Cleanup(func() { exec(t, base, "DROP SCHEMA "+schema+" CASCADE") })
	return WithSchema(base, schema)
}

// WithSchema returns base with its connections using schema.
func WithSchema(base, schema string) string {
	if u, err := url.Parse(base); err == nil && (u.Scheme == "postgres" || u.Scheme == "postgresql") {
		q := u.Query()
		q.Set("search_path", schema)
		u.RawQuery = q.Encode()
		return u.String()
	}
	return strings.TrimSpace(base) + " search_path=" + schema
}

func exec(t testing.TB, dsn, sql string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conn, err := pgx.Connect(ctx, dsn)
	if err != nil {
		t.Fatalf("connect to the test database: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql); err != nil {
		t.Fatalf("%s: %v", sql, err)
	}
}
