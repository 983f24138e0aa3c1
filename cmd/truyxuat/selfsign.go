package main

import (
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// A cooperative that wants no one else, not even the server, to hold the
// key its events are signed with keeps an Ed25519 seed on its own machine
// (event keygen), registers the public key (POST
// /api/v1/cooperatives/{id}/public-keys), signs events there (event sign)
// and submits them (event submit).

func addSelfSignCmds(event *cobra.Command) {
	keygen := &cobra.Command{
		Use:   "keygen -o SEED-FILE",
		Short: "Make an Ed25519 signing key in a new file (mode 0600) and print its public key",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			file, _ := cmd.Flags().GetString("output")
			if file == "" {
				return fmt.Errorf("%w: -o SEED-FILE is required", errUsage)
			}
			s, err := trace.GenerateSigner(rand.Reader)
			if err != nil {
				return err
			}
			if err := store.WriteSeedFile(file, s); err != nil {
				return err
			}
			pub := base64.StdEncoding.EncodeToString(s.PublicKey())
			fmt.Fprintf(cmd.ErrOrStderr(), "Key %s written to %s (keep it safe; it never needs to leave this machine).\n"+
				"Register the public key for your cooperative before signing with it:\n"+
				"  curl -H \"Authorization: Bearer $KEY\" -d '{\"public_key\":\"%s\"}' <server>/api/v1/cooperatives/<id>/public-keys\n",
				trace.KeyID(s.PublicKey()), file, pub)
			_, err = fmt.Fprintln(cmd.OutOrStdout(), pub)
			return err
		},
	}
	keygen.Flags().StringP("output", "o", "", "the seed file to create (refused if it exists)")

	sign := &cobra.Command{
		Use:   "sign --seed-file F --batch ID --file EVENT.json [--cooperative ID --seq N --prev HASH | --server URL]",
		Short: "Sign an event on this machine; writes the signed event (JSON) to standard output",
		Long: `Sign an event with your own key, on this machine. EVENT.json has the fields of
POST /api/v1/batches/{id}/events (biz_step, event_time, note, data, …); an
empty event_time is now in +07:00. The event's place in the batch's chain
comes from the server's head with --server (read only, no key needed), or,
fully offline, from --cooperative, --seq (the number of events the batch has)
and --prev (the hash of its last event; none for the first event). Submit the
output with 'truyxuat event submit'. If the batch grew meanwhile the server
refuses it (409): fetch the head and sign again.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			f := cmd.Flags()
			seedFile, _ := f.GetString("seed-file")
			batchID, _ := f.GetString("batch")
			file, _ := f.GetString("file")
			if seedFile == "" || batchID == "" || file == "" {
				return fmt.Errorf("%w: --seed-file, --batch and --file are required", errUsage)
			}
			signer, err := store.ReadSeedFile(seedFile)
			if err != nil {
				return err
			}
			raw, err := readInput(cmd, file)
			if err != nil {
				return err
			}
			var fields api.EventFields
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&fields); err != nil {
				return fmt.Errorf("%s: not an event (JSON as for POST /api/v1/batches/{id}/events): %v", file, err)
			}
			bt := &trace.Batch{ID: batchID}
			var seq uint64
			var prev trace.Hash
			offline := f.Changed("seq") || f.Changed("prev") || f.Changed("cooperative")
			switch {
			case f.Changed("server") && offline:
				return fmt.Errorf("%w: give either --server or --cooperative, --seq and --prev", errUsage)
			case f.Changed("server"):
				cfg, err := loadConfig(cmd)
				if err != nil {
					return err
				}
				c := newClient(cfg)
				c.key = "" // the head is public; the key is not needed to read it
				var h api.History
				if err := c.do("GET", "/api/v1/batches/"+url.PathEscape(batchID), nil, &h); err != nil {
					return err
				}
				bt.CooperativeID, seq = h.Batch.CooperativeID, h.Batch.Events
				if h.Batch.Head != "" {
					if prev, err = trace.ParseHash(h.Batch.Head); err != nil {
						return fmt.Errorf("the server's head: %v", err)
					}
				}
			default:
				bt.CooperativeID, _ = f.GetString("cooperative")
				if bt.CooperativeID == "" || !f.Changed("seq") {
					return fmt.Errorf("%w: without --server, give --cooperative, --seq and (after the first event) --prev", errUsage)
				}
				seq, _ = f.GetUint64("seq")
				if p, _ := f.GetString("prev"); p != "" {
					if prev, err = trace.ParseHash(p); err != nil {
						return fmt.Errorf("--prev: %v", err)
					}
				}
				if seq > 0 && prev.IsZero() {
					return fmt.Errorf("%w: event %d follows event %d; give its hash with --prev", errUsage, seq, seq-1)
				}
				if seq == 0 && !prev.IsZero() {
					return fmt.Errorf("%w: the first event of a batch (--seq 0) has no --prev", errUsage)
				}
			}
			e, err := fields.NewEvent(bt, time.Now().In(ict))
			if err != nil {
				return err
			}
			e.Seq, e.Prev = seq, prev
			se, err := signer.Sign(e)
			if err != nil {
				return err
			}
			out := api.SignedEventRequest{
				Canonical: base64.StdEncoding.EncodeToString(se.Body),
				Signature: base64.StdEncoding.EncodeToString(se.Signature),
				Signer:    base64.StdEncoding.EncodeToString(se.Signer),
			}
			fmt.Fprintf(cmd.ErrOrStderr(), "signed event %d of batch %s (%s) with key %s\n", e.Seq, e.Batch, se.Hash, trace.KeyID(se.Signer))
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	sf := sign.Flags()
	sf.String("seed-file", "", "your key, from 'truyxuat event keygen'")
	sf.String("batch", "", "batch id")
	sf.String("file", "", "event JSON file, or - for standard input")
	sf.String("cooperative", "", "the batch's cooperative (offline)")
	sf.Uint64("seq", 0, "the event's number in the batch: how many events it has now (offline)")
	sf.String("prev", "", "hash of the batch's last event (offline)")
	sf.String("server", defaults["server"].(string), "read the batch's cooperative and head from this server (env TRUYXUAT_SERVER)")

	submit := &cobra.Command{
		Use:   "submit SIGNED.json",
		Short: "Submit an event signed with 'truyxuat event sign'",
		Args:  cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			raw, err := readInput(cmd, args[0])
			if err != nil {
				return err
			}
			var req api.SignedEventRequest
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.DisallowUnknownFields()
			if err := dec.Decode(&req); err != nil {
				return fmt.Errorf("%s: not a signed event from 'truyxuat event sign': %v", args[0], err)
			}
			se, err := req.Open()
			if err != nil {
				return fmt.Errorf("%s: %w", args[0], err)
			}
			body, _ := json.Marshal(req)
			var out map[string]any
			if err := newClient(cfg).do("POST", "/api/v1/batches/"+url.PathEscape(se.Event.Batch)+"/events/signed", body, &out); err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	addClientFlags(submit)
	event.AddCommand(keygen, sign, submit)
}

// readInput reads a file, or standard input for "-".
func readInput(cmd *cobra.Command, file string) ([]byte, error) {
	if file == "-" {
		return io.ReadAll(io.LimitReader(cmd.InOrStdin(), 1<<20))
	}
	return os.ReadFile(file)
}
