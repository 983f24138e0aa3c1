package main

import (
	"errors"
	"fmt"

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
