package main

import (
	"encoding/json"
	"fmt"
	"net/url"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/api"
)

// addAPIKeyCmds adds `keys create|list|revoke`, which manage API keys on a
// running server, under `keys` (which on its own prints the log's keys).
func addAPIKeyCmds(keys *cobra.Command) {
	create := &cobra.Command{
		Use:   "create NAME [--role cooperative|inspector|admin] [--cooperative ID] [--inspector ID]",
		Short: "Create an API key for one person; prints it as JSON with its secret, shown this once",
		Long: `Create an API key for one person or device, so that every write says who
made it and one key can be revoked without disturbing the others. An admin key
creates keys of any role; a cooperative's key creates cooperative keys for its
own cooperative only (--role and --cooperative then default to its own).
The secret is printed once; the server keeps only its hash. NAME says whose key
it is, e.g. "Nguyễn Văn An, thủ kho".`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			req := api.CreateAPIKeyRequest{Name: args[0]}
			req.Role, _ = cmd.Flags().GetString("role")
			req.CooperativeID, _ = cmd.Flags().GetString("cooperative")
			req.InspectorID, _ = cmd.Flags().GetString("inspector")
			if req.Name == "" {
				return fmt.Errorf("%w: say whose key it is: keys create NAME", errUsage)
			}
			body, _ := json.Marshal(req)
			var out api.CreateAPIKeyResponse
			if err := newClient(cfg).do("POST", "/api/v1/keys", body, &out); err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	addClientFlags(create)
	create.Flags().String("role", "", "cooperative, inspector or admin (default cooperative for a cooperative's key)")
	create.Flags().String("cooperative", "", "the cooperative of a cooperative key")
	create.Flags().String("inspector", "", "the registered inspector of an inspector key")

	list := &cobra.Command{
		Use:   "list [--cooperative ID]",
		Short: "List API keys (an admin sees all, a cooperative its own); never their secrets",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			path := "/api/v1/keys"
			if coop, _ := cmd.Flags().GetString("cooperative"); coop != "" {
				path += "?cooperative=" + url.QueryEscape(coop)
			}
			var out struct {
				Keys []api.APIKeyInfo `json:"keys"`
			}
			if err := newClient(cfg).do("GET", path, nil, &out); err != nil {
				return err
			}
			tw := tabwriter.NewWriter(cmd.OutOrStdout(), 0, 4, 2, ' ', 0)
			fmt.Fprintln(tw, "ID\tROLE\tOF\tNAME\tCREATED\tREVOKED")
			for _, k := range out.Keys {
				of := k.CooperativeID
				if k.InspectorID != "" {
					of = k.InspectorID
				}
				revoked := ""
				if k.RevokedAt != nil {
					revoked = k.RevokedAt.Format(time.DateTime)
				}
				fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\n", k.ID, k.Role, dash(of), k.Name, k.CreatedAt.Format(time.DateTime), dash(revoked))
			}
			return tw.Flush()
		},
	}
	addClientFlags(list)
	list.Flags().String("cooperative", "", "only this cooperative's keys (admin)")

	revoke := &cobra.Command{
		Use:   "revoke KEY-ID",
		Short: "Revoke an API key: it stops working at once",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			var out api.APIKeyInfo
			if err := newClient(cfg).do("DELETE", "/api/v1/keys/"+url.PathEscape(args[0]), nil, &out); err != nil {
				return err
			}
			when := ""
			if out.RevokedAt != nil {
				when = out.RevokedAt.Format(time.RFC3339)
			}
			_, err = fmt.Fprintf(cmd.OutOrStdout(), "revoked %s (%s, %s) at %s\n", out.ID, out.Name, out.Role, when)
			return err
		},
	}
	addClientFlags(revoke)
	keys.AddCommand(create, list, revoke)
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
