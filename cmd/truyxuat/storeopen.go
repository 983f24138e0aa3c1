package main

import (
	"context"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/store/pg"
)

// openedStore is the store the configuration chooses, with the keys the
// service signs with.
type openedStore struct {
	DB   store.Store
	Keys store.Keys
	// LogKeys opens the transparency log's signing keys (creating them
	// with create).
	LogKeys func(origin string, create bool) (*store.LogKeys, error)
	// Where names the store for messages, never with a password.
	Where string
}

// usesPostgres says whether the configuration keeps the data in PostgreSQL.
func (c *Config) usesPostgres() bool { return strings.TrimSpace(c.DatabaseURL) != "" }

// masterKeyFile is the master key file of the PostgreSQL store.
func (c *Config) masterKeyFile() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.Data, "master.key")
}

// openStore opens the store the configuration names: PostgreSQL at
// database_url, or the embedded file in the data directory. create lets
// the first node of a new PostgreSQL service make the master key file.
func openStore(ctx context.Context, cfg *Config, logger *slog.Logger, create bool) (*openedStore, error) {
	if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
		return nil, fmt.Errorf("data directory: %w", err)
	}
	if cfg.usesPostgres() {
		db, err := pg.Open(ctx, cfg.DatabaseURL, pg.Options{MasterKeyFile: cfg.masterKeyFile(), CreateMasterKey: create, Logger: logger})
		if err != nil {
			return nil, err
		}
		return &openedStore{DB: db, Keys: db.Keys(), LogKeys: db.LogKeys, Where: "PostgreSQL " + redactURL(cfg.DatabaseURL)}, nil
	}
	keyDir := filepath.Join(cfg.Data, "keys")
	keys, err := store.OpenKeyDir(keyDir)
	if err != nil {
		return nil, err
	}
	db, err := store.Open(dataFile(cfg.Data), store.Options{Logger: logger, Keys: keys})
	if err != nil {
		return nil, err
	}
	return &openedStore{DB: db, Keys: keys, Where: dataFile(cfg.Data),
		LogKeys: func(origin string, create bool) (*store.LogKeys, error) {
			return store.OpenLogKeys(keyDir, origin, create)
		}}, nil
}

// redactURL is a database URL without its password, for messages.
func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		// A key=value string: say only that it is one.
		return "(connection string)"
	}
	if _, ok := u.User.Password(); ok {
		u.User = url.UserPassword(u.User.Username(), "xxxxx")
	}
	q := u.Query()
	if q.Has("password") {
		q.Set("password", "xxxxx")
		u.RawQuery = q.Encode()
	}
	return u.String()
}

// addStoreFlags adds the flags that choose the store.
func addStoreFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("database-url", "", "keep the data in PostgreSQL at this URL, e.g. postgres://truyxuat@db.example.vn/truyxuat (env TRUYXUAT_DATABASE_URL; default: the embedded file in the data directory)")
	f.String("master-key-file", "", "with PostgreSQL: the master key file every node holds, which seals the keys kept in the database (env TRUYXUAT_MASTER_KEY_FILE; default <data>/master.key)")
}
