package pg

import (
	"context"
	"embed"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// The schema is a numbered list of migrations, embedded in the binary
// (migrations/NNNN_name.sql). Applied ones are rows of schema_version; a
// database with a version this truyxuat does not know is refused, so an
// older node never writes to a newer schema.

//go:embed migrations/*.sql
var migrationFiles embed.FS

type migration struct {
	version int
	name    string
	sql     string
}

func migrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFiles, "migrations")
	if err != nil {
		return nil, err
	}
	var out []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil || v <= 0 {
			return nil, fmt.Errorf("pg: migration file %s is not NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile("migrations/" + e.Name())
		if err != nil {
			return nil, err
		}
		out = append(out, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].version < out[j].version })
	for i, m := range out {
		if m.version != i+1 {
			return nil, fmt.Errorf("pg: migrations are not numbered 1, 2, 3…: %d is number %d", m.version, i+1)
		}
	}
	return out, nil
}

// SchemaVersion is the schema this truyxuat writes.
func SchemaVersion() int {
	ms, err := migrations()
	if err != nil {
		panic(err)
	}
	return len(ms)
}

// MigrationResult says what Migrate did.
type MigrationResult struct {
	From, To int // schema version before and after
}

// Migrate brings the database's schema (in the connection's current
// schema, see search_path) up to this truyxuat's, each migration in the
// same transaction as its row in schema_version, several nodes starting
// at once taking turns. A database whose schema is newer than this
// truyxuat's is refused.
func Migrate(ctx context.Context, pool *pgxpool.Pool) (MigrationResult, error) {
	ms, err := migrations()
	if err != nil {
		return MigrationResult{}, err
	}
	var res MigrationResult
	err = pgx.BeginFunc(ctx, pool, func(tx pgx.Tx) error {
		// One migrating node at a time, per schema.
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock(hashtext('truyxuat schema ' || current_schema()))`); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (
			version    integer PRIMARY KEY,
			name       text NOT NULL,
			applied_at timestamptz NOT NULL DEFAULT now())`); err != nil {
			return err
		}
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&res.From); err != nil {
			return err
		}
		res.To = res.From
		if res.From > len(ms) {
			return newerSchema(res.From, len(ms))
		}
		for _, m := range ms[res.From:] {
			if _, err := tx.Exec(ctx, m.sql); err != nil {
				return fmt.Errorf("migration %d (%s): %w", m.version, m.name, err)
			}
			if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version, name) VALUES ($1, $2)`, m.version, m.name); err != nil {
				return err
			}
			res.To = m.version
		}
		return nil
	})
	if err != nil {
		return MigrationResult{}, fmt.Errorf("pg: migrate the schema: %w", err)
	}
	return res, nil
}

// checkSchema refuses a database whose schema is not this truyxuat's.
func checkSchema(ctx context.Context, pool *pgxpool.Pool) error {
	var v int
	err := pool.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&v)
	if err != nil {
		return fmt.Errorf("pg: the database has no truyxuat schema (run truyxuat migrate-schema): %w", err)
	}
	switch want := SchemaVersion(); {
	case v > want:
		return newerSchema(v, want)
	case v < want:
		return fmt.Errorf("pg: the database has schema version %d, this truyxuat writes version %d: run truyxuat migrate-schema", v, want)
	}
	return nil
}

func newerSchema(have, know int) error {
	return fmt.Errorf("the database has schema version %d, newer than this truyxuat knows (%d): a newer truyxuat migrated it; run that version", have, know)
}

// MigrateURL connects to the database at url and migrates its schema
// (truyxuat migrate-schema): as Migrate, without opening a store.
func MigrateURL(ctx context.Context, url string) (MigrationResult, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		return MigrationResult{}, fmt.Errorf("pg: the database URL is not valid: %s", redact(err.Error(), cfg))
	}
	cfg.MaxConns = 1
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return MigrationResult{}, fmt.Errorf("pg: %w", err)
	}
	defer pool.Close()
	return Migrate(ctx, pool)
}
