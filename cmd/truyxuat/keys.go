package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
)

func newKeysCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "keys [--server URL]",
		Short: "Print the log's origin, verifier keys and witness policy as a trust file",
		Long: `Print what a verifier pins to check the transparency log: its origin, its
Ed25519 and ML-DSA-44 verifier keys and its witness policy, as a C2SP
tlog-policy file (a "trust file"). Save it and pass it to
truyxuat verify --trust FILE and truyxuat audit --trust FILE.

Without --server the keys are read from the data directory (--data) and the
policy from --witness-policy; with --server, from the running server's
/.well-known/truyxuat.json. Only public keys are ever printed.

API keys are managed with 'truyxuat keys create|list|revoke' on a running
server (--server, --key).`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			var origin, logURL, policy string
			var keys []string
			if cmd.Flags().Changed("server") {
				var wk api.WellKnown
				if err := newClient(cfg).do("GET", "/.well-known/truyxuat.json", nil, &wk); err != nil {
					return err
				}
				origin, keys, logURL, policy = wk.LogOrigin, wk.LogKeys, wk.LogURL, wk.WitnessPolicy
			} else {
				open := func(origin string, create bool) (*store.LogKeys, error) {
					return store.OpenLogKeys(filepath.Join(cfg.Data, "keys"), origin, create)
				}
				if cfg.usesPostgres() {
					// The log's keys are sealed in the database.
					st, err := openStore(cmd.Context(), cfg, newLogger(cfg, cmd.ErrOrStderr()), false)
					if err != nil {
						return err
					}
					defer st.DB.Close()
					open = st.LogKeys
				}
				lk, err := open(cfg.LogOrigin, false)
				if err != nil {
					return err
				}
				origin = lk.Origin()
				for _, k := range lk.Public() {
					keys = append(keys, k.String())
				}
				logURL = cfg.publicURL(cfg.Addr) + "/log/"
				if cfg.WitnessPolicy != "" {
					b, err := os.ReadFile(cfg.WitnessPolicy)
					if err != nil {
						return fmt.Errorf("witness policy: %w", err)
					}
					policy = string(b)
				}
			}
			_, err = fmt.Fprint(cmd.OutOrStdout(), trustFile(origin, keys, logURL, policy))
			return err
		},
	}
	f := cmd.Flags()
	f.String("server", defaults["server"].(string), "read the keys from this running server instead of the data directory (env TRUYXUAT_SERVER)")
	f.String("witness-policy", "", "the witness policy file the server uses (env TRUYXUAT_WITNESS_POLICY)")
	f.String("addr", defaults["addr"].(string), "the server's listen address, for the log URL when no public URL is set")
	f.String("public-url", "", "the server's public base URL, for the log URL (env TRUYXUAT_PUBLIC_URL)")
	f.String("log-origin", "", "the log's origin, to check the keys against (env TRUYXUAT_LOG_ORIGIN)")
	addStoreFlags(cmd)
	addAPIKeyCmds(cmd)
	return cmd
}
