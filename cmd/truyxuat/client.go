package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/api"
)

// client talks to a running truyxuat server.
type client struct {
	server string
	key    string
	http   *http.Client
}

func newClient(cfg *Config) *client {
	return &client{server: strings.TrimRight(cfg.Server, "/"), key: cfg.Key, http: &http.Client{Timeout: 60 * time.Second}}
}

func addClientFlags(cmd *cobra.Command) {
	cmd.Flags().String("server", defaults["server"].(string), "truyxuat server URL (env TRUYXUAT_SERVER)")
	cmd.Flags().String("key", "", "API key (env TRUYXUAT_KEY)")
}

// do sends a request and decodes a JSON answer into out; problem answers
// become errors that carry the server's explanation.
func (c *client) do(method, path string, body []byte, out any) error {
	url := path
	if !strings.HasPrefix(path, "http://") && !strings.HasPrefix(path, "https://") {
		url = c.server + path
	}
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	res, err := c.http.Do(req)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(res.Body, 64<<20))
	if err != nil {
		return err
	}
	if res.StatusCode >= 300 {
		return problemError(method, url, res, raw)
	}
	if out == nil {
		return nil
	}
	return json.Unmarshal(raw, out)
}

// problemError turns an error answer into an error that carries the
// server's explanation (an RFC 9457 problem's title, detail and fields).
func problemError(method, url string, res *http.Response, raw []byte) error {
	var p struct {
		Title  string `json:"title"`
		Detail string `json:"detail"`
		Errors []struct {
			Field  string `json:"field"`
			Detail string `json:"detail"`
		} `json:"errors"`
	}
	if json.Unmarshal(raw, &p) == nil && p.Title != "" {
		msg := fmt.Sprintf("%s %s: %d %s: %s", method, url, res.StatusCode, p.Title, p.Detail)
		for _, f := range p.Errors {
			msg += fmt.Sprintf("\n  %s: %s", f.Field, f.Detail)
		}
		return errors.New(msg)
	}
	return fmt.Errorf("%s %s: %s", method, url, res.Status)
}

func newHistoryCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "history URL|BATCH-ID",
		Short: "Fetch a batch's history and verify its chain and signatures here",
		Long: `Fetch a batch's signed history from a server (by its public URL, a Digital
Link, or its batch id) and verify every event's bytes, hash, link and signature
on this machine, against the cooperative's published keys (and those of the
inspectors who signed inspections in it). Exits non-zero and names the event if
anything fails. --keys pins the keys instead of trusting the ones the server
publishes.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			c := newClient(cfg)
			path := args[0]
			if !strings.Contains(path, "/") {
				path = "/api/v1/batches/" + path
			}
			var h api.History
			if err := c.do("GET", path, nil, &h); err != nil {
				return err
			}
			pinned, _ := cmd.Flags().GetStringSlice("keys")
			return verifyWire(cmd.OutOrStdout(), &h, pinned)
		},
	}
	addClientFlags(cmd)
	cmd.Flags().StringSlice("keys", nil, "base64 Ed25519 public keys to trust for the cooperative (default: the keys the server publishes)")
	return cmd
}

// verifyWire checks a fetched history's chain, signatures and readable
// fields (api.VerifyBundle, without the log: `truyxuat verify` adds it) and
// prints a short report.
func verifyWire(w io.Writer, h *api.History, pinned []string) error {
	var keys [][]byte
	for _, k := range pinned {
		b, err := base64.StdEncoding.DecodeString(k)
		if err != nil {
			return fmt.Errorf("key %q is not base64", k)
		}
		keys = append(keys, b)
	}
	fmt.Fprintf(w, "%s — lô %s — %s\n", h.Product.NameVI, h.Batch.Lot, h.Cooperative.Name)
	res, err := api.VerifyBundle(h, api.BundleCheck{CooperativeKeys: keys})
	if err != nil {
		fmt.Fprintf(w, "KHÔNG HỢP LỆ / FAILED: %v\n", err)
		return fmt.Errorf("history of batch %s failed verification: %w", h.Batch.ID, err)
	}
	for _, ev := range h.Events {
		fmt.Fprintf(w, "  #%d  %s  %s  %s…\n", ev.Seq, ev.EventTime, ev.BizStep, ev.Hash[:16])
	}
	if len(res.Unsigned) > 0 {
		fmt.Fprintf(w, "KHÔNG CÓ CHỮ KÝ / NOT SIGNED: %s\n", strings.Join(res.Unsigned, ", "))
	}
	fmt.Fprintf(w, "HỢP LỆ / OK: %d events, chain, Ed25519 signatures and the lot's, product's and cooperative's fields verified\n", len(h.Events))
	return nil
}

func newEventCmd() *cobra.Command {
	cmd := &cobra.Command{Use: "event", Short: "Record events on a running server, or sign them with your own key"}
	appendCmd := &cobra.Command{
		Use:   "append --batch ID --file EVENT.json",
		Short: "Append an event (JSON as in POST /api/v1/batches/{id}/events) to a batch",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			batch, _ := cmd.Flags().GetString("batch")
			file, _ := cmd.Flags().GetString("file")
			if batch == "" || file == "" {
				return fmt.Errorf("%w: --batch and --file are required", errUsage)
			}
			var body []byte
			if file == "-" {
				body, err = io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
			} else {
				body, err = os.ReadFile(file)
			}
			if err != nil {
				return err
			}
			var out map[string]any
			if err := newClient(cfg).do("POST", "/api/v1/batches/"+batch+"/events", body, &out); err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	addClientFlags(appendCmd)
	appendCmd.Flags().String("batch", "", "batch id")
	appendCmd.Flags().String("file", "", "event JSON file, or - for standard input")
	cmd.AddCommand(appendCmd)
	addSelfSignCmds(cmd)
	return cmd
}
