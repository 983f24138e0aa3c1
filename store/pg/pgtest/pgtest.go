// Package pgtest gives tests a PostgreSQL schema of their own in the
// database named by TRUYXUAT_TEST_DATABASE_URL (as .ci/postgres sets it),
// dropped when the test ends, so that tests may run in parallel. Without
// that variable a test that needs PostgreSQL is skipped with a message,
// and fails when CI=true.
package pgtest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	osexec "os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
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

// Cluster is a PostgreSQL cluster of a test's own (NewCluster), which the
// test may restart without disturbing other tests.
type Cluster struct {
	URL    string // the database "truyxuat"
	dir    string
	as     []string // runs a command as the cluster's owner
	pgCtl  string
	logTo  string
	stopMu sync.Mutex
}

// NewCluster starts a throwaway cluster (initdb into a temporary
// directory, as the unprivileged user postgres when run as root, on a
// loopback port), stopped and removed when the test ends. Without
// PostgreSQL's programs the test is skipped with a message, and fails
// when CI=true.
func NewCluster(t testing.TB) *Cluster {
	t.Helper()
	find := func(name string) string {
		if p, err := osexec.LookPath(name); err == nil {
			return p
		}
		m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name)
		if len(m) > 0 {
			return m[len(m)-1]
		}
		return ""
	}
	initdb, pgCtl := find("initdb"), find("pg_ctl")
	if initdb == "" || pgCtl == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("initdb and pg_ctl are not installed: CI runs the PostgreSQL tests (apt-get install postgresql)")
		}
		t.Skip("initdb and pg_ctl are not installed: skipping a test that restarts PostgreSQL")
	}
	dir, err := os.MkdirTemp("", "truyxuat-pgtest.")
	if err != nil {
		t.Fatal(err)
	}
	c := &Cluster{dir: dir, pgCtl: pgCtl, logTo: filepath.Join(dir, "server.log")}
	if os.Geteuid() == 0 {
		// PostgreSQL refuses to run as root.
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the user postgres: %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		if err := os.Chown(dir, uid, -1); err != nil {
			t.Fatal(err)
		}
		c.as = []string{"runuser", "-u", "postgres", "--"}
	}
	t.Cleanup(func() {
		c.run("-D", filepath.Join(dir, "data"), "-m", "immediate", "stop")
		os.RemoveAll(dir)
	})
	out, err := c.cmd(initdb, "-D", filepath.Join(dir, "data"), "-U", "truyxuat", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8").CombinedOutput()
	if err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	conf := fmt.Sprintf("listen_addresses = '127.0.0.1'\nport = %d\nunix_socket_directories = '%s'\nmax_connections = 200\n", port, dir)
	f, err := os.OpenFile(filepath.Join(dir, "data", "postgresql.conf"), os.O_APPEND|os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString(conf)
	f.Close()
	if out, err := c.run("-D", filepath.Join(dir, "data"), "-l", c.logTo, "-w", "start"); err != nil {
		t.Fatalf("pg_ctl start: %v\n%s", err, out)
	}
	admin := fmt.Sprintf("postgres://truyxuat@127.0.0.1:%d/postgres?sslmode=disable", port)
	exec(t, admin, "CREATE DATABASE truyxuat")
	c.URL = fmt.Sprintf("postgres://truyxuat@127.0.0.1:%d/truyxuat?sslmode=disable", port)
	return c
}

func (c *Cluster) cmd(name string, args ...string) *osexec.Cmd {
	argv := append(append(append([]string{}, c.as...), name), args...)
	cmd := osexec.Command(argv[0], argv[1:]...)
	// Run in the cluster's directory, which the postgres user can reach
	// (the test's own may be a root-only temporary directory).
	cmd.Dir = c.dir
	return cmd
}

func (c *Cluster) run(args ...string) ([]byte, error) {
	return c.cmd(c.pgCtl, args...).CombinedOutput()
}

// Restart stops the cluster (fast: open connections are cut) and starts
// it again.
func (c *Cluster) Restart(t testing.TB) {
	t.Helper()
	c.stopMu.Lock()
	defer c.stopMu.Unlock()
	if out, err := c.run("-D", filepath.Join(c.dir, "data"), "-l", c.logTo, "-m", "fast", "-w", "restart"); err != nil {
		t.Fatalf("pg_ctl restart: %v\n%s", err, out)
	}
}
