package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/store/pg"
)

func newMigrateSchemaCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate-schema",
		Short: "Bring the PostgreSQL database's schema up to this truyxuat's",
		Long: `Apply to the PostgreSQL database at database_url the schema migrations this
truyxuat has and the database lacks, each in one transaction with its entry in
the schema_version table. A database migrated by a newer truyxuat is refused:
run that version. Nodes also migrate on start; run this first to migrate
before a rolling upgrade, while the older nodes keep serving (each migration
only adds to the schema).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			if !cfg.usesPostgres() {
				return errors.New("migrate-schema: set database_url (TRUYXUAT_DATABASE_URL or --database-url): the embedded store needs no migration")
			}
			res, err := pg.MigrateURL(cmd.Context(), cfg.DatabaseURL)
			if err != nil {
				return err
			}
			if res.From == res.To {
				fmt.Fprintf(cmd.OutOrStdout(), "the schema is at version %d, this truyxuat's: nothing to do\n", res.To)
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "the schema was migrated from version %d to %d\n", res.From, res.To)
			}
			return nil
		},
	}
	addStoreFlags(cmd)
	return cmd
}

func newMigrateCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "migrate --to postgres://…",
		Short: "Copy the embedded store into an empty PostgreSQL database and prove the copy identical",
		Long: `Copy the data directory's store (its bbolt file, its published checkpoint and
the keys in its keys directory) into an empty PostgreSQL database, for running
truyxuat on several nodes. Events and registry revisions keep their signed bytes,
their numbers in their chains and their places in the transparency log; the
log's tiles, bundles and checkpoints are copied as they are. The keys are sealed
in the database under the master key (--master-key-file, default
<data>/master.key, made if missing): copy that file to every node.

Everything is written in one transaction; a database that already holds data
is refused. Then the copy is read back and compared with the original: the
same log root at the same size, every stored checkpoint's root recomputed from
the copy's tiles, every lot's history verifying with the same events, every
registry entry's revisions, and the count of each kind of thing. Stop truyxuat
on the data directory first: the file is opened for itself alone.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			to, _ := cmd.Flags().GetString("to")
			if strings.TrimSpace(to) == "" {
				return errors.New("migrate: --to names the PostgreSQL database to copy into, e.g. --to postgres://truyxuat@db.example.vn/truyxuat")
			}
			return migrateStore(cmd.Context(), cfg, to, cmd.OutOrStdout(), newLogger(cfg, cmd.ErrOrStderr()))
		},
	}
	cmd.Flags().String("to", "", "the empty PostgreSQL database to copy into (a postgres:// URL)")
	cmd.Flags().String("master-key-file", "", "the master key file that seals the copied keys in the database (env TRUYXUAT_MASTER_KEY_FILE; default <data>/master.key, made if missing)")
	return cmd
}
