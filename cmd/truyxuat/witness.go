package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

func newWitnessCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "witness --trust FILE | --log-key VKEY...",
		Short: "Run a C2SP tlog-witness that cosigns the checkpoints of truyxuat logs",
		Long: `Run a transparency log witness (C2SP tlog-witness) for an oversight agency.
It answers POST /add-checkpoint: it checks the log's signatures against the log
keys it is given (--trust FILE from 'truyxuat keys', or --log-key VKEY, once per
key; several logs may be given), checks the consistency proof from the tree it
last cosigned for that log, and cosigns with its own Ed25519 key
(cosignature/v1). It never cosigns a tree inconsistent with one it cosigned.

Its key (mode 0600) and its state (the last tree cosigned per log, in a bbolt
file) live in <data>/witness/. On start it prints its verifier key: put it in
the log's witness policy as "witness <name> <vkey> <URL>".`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			w := &WitnessServer{Config: cfg, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr()}
			if err := w.Open(); err != nil {
				return err
			}
			defer w.Close()
			return w.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.String("listen", defaults["witness_addr"].(string), "listen address (env TRUYXUAT_WITNESS_ADDR)")
	f.String("name", "", "the witness's key name on first start, e.g. witness.example.vn (env TRUYXUAT_WITNESS_NAME; default <hostname>/witness)")
	f.String("trust", "", "trust file naming a log's keys, from 'truyxuat keys' (env TRUYXUAT_TRUST)")
	f.StringArray("log-key", nil, "a log's verifier key; repeat for each key and each log (env TRUYXUAT_LOG_KEYS)")
	return cmd
}

// WitnessServer is a running witness: its key, state and HTTP server.
type WitnessServer struct {
	Config *Config
	Stdout io.Writer // the witness's verifier key
	Stderr io.Writer // logs
	Logger *slog.Logger

	Key     *tlog.PrivateKey
	State   *store.WitnessDB
	witness *tlog.Witness

	listener net.Listener
	server   *http.Server
}

// Open loads (or creates) the witness's key and state and listens.
func (w *WitnessServer) Open() error {
	if w.Logger == nil {
		w.Logger = newLogger(w.Config, w.Stderr)
	}
	logs, err := w.trustedLogs()
	if err != nil {
		return err
	}
	dir := filepath.Join(w.Config.Data, "witness")
	keyFile := filepath.Join(dir, "witness.key")
	name := w.Config.WitnessName
	if _, err := os.Stat(keyFile); errors.Is(err, os.ErrNotExist) && name == "" {
		host, err := os.Hostname()
		if err != nil || !tlog.ValidKeyName(host+"/witness") {
			return errors.New("witness: set a witness name with --name (env TRUYXUAT_WITNESS_NAME)")
		}
		name = host + "/witness"
	}
	if w.Key, err = store.OpenCosignerKey(keyFile, name); err != nil {
		return err
	}
	if w.State, err = store.OpenWitnessDB(filepath.Join(dir, "witness.db")); err != nil {
		return err
	}
	w.witness = &tlog.Witness{Cosigners: []tlog.Signer{w.Key.Signer(nil)}, Logs: logs}
	if w.listener, err = net.Listen("tcp", w.Config.WitnessAddr); err != nil {
		w.State.Close()
		return fmt.Errorf("listen on %s: %w", w.Config.WitnessAddr, err)
	}
	return nil
}

// trustedLogs groups the configured log keys by origin.
func (w *WitnessServer) trustedLogs() (map[string][]tlog.Verifier, error) {
	var keys []tlog.VerifierKey
	for _, k := range w.Config.LogKeys {
		vk, err := tlog.ParseVerifierKey(k)
		if err != nil {
			return nil, err
		}
		keys = append(keys, vk)
	}
	if w.Config.Trust != "" {
		c := *w.Config
		c.LogKeys, c.WitnessPolicy = nil, ""
		a, err := c.loadTrust()
		if err != nil {
			return nil, err
		}
		keys = append(keys, a.keys...)
	}
	if len(keys) == 0 {
		return nil, errors.New("witness: no log to witness: pass --trust FILE (from 'truyxuat keys') or --log-key VKEY")
	}
	logs := map[string][]tlog.Verifier{}
	for _, k := range keys {
		if k.Type != tlog.TypeEd25519 && k.Type != tlog.TypeMLDSA44 {
			return nil, fmt.Errorf("witness: log key %s is a %v key, not a log key", k, k.Type)
		}
		v, err := k.Verifier()
		if err != nil {
			return nil, err
		}
		dup := false
		for _, o := range logs[k.Name] {
			dup = dup || o.KeyHash() == v.KeyHash()
		}
		if !dup {
			logs[k.Name] = append(logs[k.Name], v)
		}
	}
	return logs, nil
}

// Addr is the address the witness listens on.
func (w *WitnessServer) Addr() string { return w.listener.Addr().String() }

// VerifierKey is the witness's public key, for log witness policies.
func (w *WitnessServer) VerifierKey() tlog.VerifierKey { return w.Key.Public() }

// Handler serves the C2SP tlog-witness API.
func (w *WitnessServer) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /add-checkpoint", w.addCheckpoint)
	mux.HandleFunc("GET /{$}", func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprintf(rw, "truyxuat witness\nwitness %s\n", w.Key.Public())
	})
	return mux
}

func (w *WitnessServer) addCheckpoint(rw http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(http.MaxBytesReader(rw, r.Body, 1<<20))
	if err != nil {
		http.Error(rw, "request body too large or unreadable", http.StatusRequestEntityTooLarge)
		return
	}
	res, err := w.State.AddCheckpoint(w.witness, body)
	var we *tlog.WitnessError
	switch {
	case errors.As(err, &we):
		ct := "text/plain; charset=utf-8"
		if we.Status == http.StatusConflict {
			ct = tlog.SizeContentType
		}
		w.Logger.Info("add-checkpoint refused", "status", we.Status, "error", we.Err, "remote", r.RemoteAddr)
		rw.Header().Set("Content-Type", ct)
		rw.WriteHeader(we.Status)
		rw.Write(we.Body())
	case err != nil:
		w.Logger.Error("add-checkpoint failed", "error", err)
		http.Error(rw, "internal error", http.StatusInternalServerError)
	default:
		w.Logger.Info("cosigned", "origin", res.Checkpoint.Origin, "size", res.Checkpoint.Size)
		rw.Header().Set("Content-Type", "text/plain; charset=utf-8")
		rw.Write(res.Cosignatures)
	}
}

// Run serves until ctx is done.
func (w *WitnessServer) Run(ctx context.Context) error {
	origins := make([]string, 0, len(w.witness.Logs))
	for o := range w.witness.Logs {
		origins = append(origins, o)
	}
	sort.Strings(origins)
	fmt.Fprintf(w.Stdout, "witness %s\n", w.Key.Public())
	w.Logger.Info("witness is serving", "addr", w.Addr(), "name", w.Key.Name(), "logs", origins)
	w.server = &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second, ReadTimeout: 30 * time.Second,
		WriteTimeout: 30 * time.Second, ErrorLog: slog.NewLogLogger(w.Logger.Handler(), slog.LevelWarn)}
	return serveUntil(ctx, w.server, w.listener, 5*time.Second, w.Logger)
}

// Close releases the listener and the state file.
func (w *WitnessServer) Close() error {
	if w.listener != nil {
		w.listener.Close()
	}
	if w.State != nil {
		return w.State.Close()
	}
	return nil
}
