package main

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/trace"
)

func newVerifyCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "verify URL|BATCH-ID | --file HISTORY.json",
		Short: "Verify a batch's history and its place in the transparency log, trusting nothing the server says",
		Long: `Verify a batch's signed history on this machine: fetched from a server (by its
public URL, its GS1 Digital Link or its batch id) or read from a saved file
(--file, offline). It checks every event's canonical bytes, hash, chain link
and Ed25519 signature, that the readable fields say what was signed, the
checkpoint's Ed25519 and ML-DSA-44 signatures against the log keys you pin
(--trust FILE from 'truyxuat keys', or --log-key VKEY), the witness quorum if
the trust file or --witness-policy sets one, and every event's inclusion proof
against the checkpoint. It exits non-zero naming the event and the reason on
any failure. The report is in Vietnamese, or English with --lang en.

The cooperative's keys, and those of the inspectors who signed inspections in
the history, are taken from the history unless --keys pins every key to accept.`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			file, _ := cmd.Flags().GetString("file")
			if (file == "") == (len(args) == 0) {
				return fmt.Errorf("%w: give a URL or batch id, or --file", errUsage)
			}
			trust, err := cfg.loadTrust()
			if err != nil {
				return err
			}
			if trust == nil {
				return errNoTrust
			}
			pinned, _ := cmd.Flags().GetStringSlice("keys")
			var coopKeys [][]byte
			for _, k := range pinned {
				b, err := base64.StdEncoding.DecodeString(k)
				if err != nil {
					return fmt.Errorf("--keys: %q is not base64", k)
				}
				coopKeys = append(coopKeys, b)
			}
			p := newPrinter(cmd.OutOrStdout(), cfg.Lang)
			fetch := func() (*api.History, error) {
				b, err := os.ReadFile(file)
				if err != nil {
					return nil, err
				}
				var h api.History
				if err := json.Unmarshal(b, &h); err != nil {
					return nil, fmt.Errorf("%s is not a history (JSON): %v", file, err)
				}
				return &h, nil
			}
			wait := 0
			if file == "" {
				path := args[0]
				if !strings.Contains(path, "/") {
					path = "/api/v1/batches/" + path
				}
				c := newClient(cfg)
				fetch = func() (*api.History, error) {
					var h api.History
					return &h, c.do("GET", path, nil, &h)
				}
				wait, _ = cmd.Flags().GetInt("wait")
			}
			return verifyBundle(p, fetch, trust, coopKeys, wait)
		},
	}
	addClientFlags(cmd)
	f := cmd.Flags()
	f.String("file", "", "a saved history (the JSON of a batch's public URL) to verify offline")
	f.String("trust", "", "trust file with the log's keys and witness policy, from 'truyxuat keys' (env TRUYXUAT_TRUST)")
	f.StringArray("log-key", nil, "a log verifier key to pin; give both the Ed25519 and the ML-DSA-44 key (env TRUYXUAT_LOG_KEYS)")
	f.String("witness-policy", "", "a C2SP tlog-policy whose witness quorum the checkpoint must meet (env TRUYXUAT_WITNESS_POLICY)")
	f.StringSlice("keys", nil, "base64 Ed25519 public keys to trust, the cooperative's and any inspectors' (default: the keys in the history)")
	f.String("lang", defaults["lang"].(string), "report language: vi or en (env TRUYXUAT_LANG)")
	f.Int("wait", 5, "seconds to wait for events newer than the checkpoint to be logged (URL only)")
	return cmd
}

// verifyBundle fetches a history (again, while events are newer than its
// checkpoint and wait allows) and verifies it, printing the report.
func verifyBundle(p *printer, fetch func() (*api.History, error), trust *trustAnchor, coopKeys [][]byte, wait int) error {
	cv, err := trust.verifier()
	if err != nil {
		return err
	}
	deadline := time.Now().Add(time.Duration(wait) * time.Second)
	for {
		h, err := fetch()
		if err != nil {
			return err
		}
		res, err := api.VerifyBundle(h, api.BundleCheck{CooperativeKeys: coopKeys, Log: cv})
		if err == nil && len(res.Pending) > 0 && time.Now().Before(deadline) {
			p.line("waiting", len(res.Pending))
			time.Sleep(time.Second)
			continue
		}
		p.line("batch", h.Batch.Lot, h.Product.NameVI, h.Cooperative.Name)
		var ve *trace.VerifyError
		var ce *api.CheckpointError
		switch {
		case errors.As(err, &ve):
			return p.fail(p.msg("event_failed", ve.Index, ve.Hash, p.reason(ve.Reason), ve.Detail))
		case errors.As(err, &ce):
			return p.fail(ce.Error())
		case err != nil:
			return p.fail(err.Error())
		}
		if len(res.Pending) > 0 {
			i := res.Pending[0]
			return p.fail(p.msg("pending", i, h.Events[i].Hash))
		}
		for i, ev := range h.Events {
			fmt.Fprintln(p.w, p.msg("event_ok", i, ev.EventTime, ev.BizStep, ev.Hash[:16], *ev.LogIndex))
		}
		p.line("facts_ok")
		if len(res.Unsigned) > 0 {
			p.line("unsigned", p.facts(res.Unsigned))
		}
		if res.Checkpoint != nil {
			p.line("checkpoint_ok", res.Checkpoint.Origin, res.Checkpoint.Size)
			if trust.policy != nil && trust.policy.Quorum != "none" {
				p.line("witnesses_ok", strings.Join(res.Cosigners, ", "))
			} else {
				p.line("no_witnesses")
			}
		}
		p.line("verified", len(h.Events))
		return nil
	}
}
