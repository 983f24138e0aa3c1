package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/api/app"
	"github.com/truyxuat/truyxuat/label"
	"github.com/truyxuat/truyxuat/store"
)

func newServeCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Run the service",
		Long: `Run the truyxuat service. With no configuration it keeps its data in ./data
and listens on 127.0.0.1:8080. On first start it creates an admin API key and
prints it once. With --demo it first fills an empty data directory with demo
data and prints the demo's keys and batches as JSON on stdout.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			defer paceGC(heapFloor)()
			demo, _ := cmd.Flags().GetBool("demo")
			m := &Main{Config: cfg, Stdout: cmd.OutOrStdout(), Stderr: cmd.ErrOrStderr(), Demo: demo}
			if err := m.Open(); err != nil {
				return err
			}
			defer m.Close()
			return m.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.String("addr", defaults["addr"].(string), "listen address (env TRUYXUAT_ADDR)")
	f.String("public-url", "", "public base URL labels and links are built on, e.g. https://trace.example.vn (env TRUYXUAT_PUBLIC_URL; default http://<addr>)")
	f.Int64("body-limit", defaults["body_limit"].(int64), "largest request body in bytes (env TRUYXUAT_BODY_LIMIT)")
	f.Duration("request-timeout", defaults["request_timeout"].(time.Duration), "time limit for one request (env TRUYXUAT_REQUEST_TIMEOUT)")
	f.Duration("shutdown-timeout", defaults["shutdown_timeout"].(time.Duration), "time to finish requests on shutdown (env TRUYXUAT_SHUTDOWN_TIMEOUT)")
	f.Int64("attachment-limit", defaults["attachment_limit"].(int64), "largest photo or certificate upload in bytes (env TRUYXUAT_ATTACHMENT_LIMIT)")
	f.String("label-ec", "M", "QR error correction of labels: L, M, Q or H (env TRUYXUAT_LABEL_ERROR_CORRECTION)")
	f.String("label-layouts", "", "JSON file of custom label sheets and rolls (env TRUYXUAT_LABEL_LAYOUTS)")
	f.String("trusted-proxy-header", "", "behind a reverse proxy: X-Forwarded-For or X-Real-IP, the header naming the client's address (env TRUYXUAT_TRUSTED_PROXY_HEADER)")
	f.StringArray("trusted-proxy", nil, "an address or range of the reverse proxy whose header is believed; repeatable (env TRUYXUAT_TRUSTED_PROXIES, comma-separated; default 127.0.0.0/8 and ::1/128)")
	f.Bool("demo", false, "fill an empty data directory with demo data first")
	addStoreFlags(cmd)
	addLogFlags(cmd)
	return cmd
}

// Main is the running program: configuration, store, keys and HTTP server.
// Tests start it on port 0 in a temporary directory.
type Main struct {
	Config *Config
	Stdout io.Writer // where the demo's JSON goes
	Stderr io.Writer // logs and the one-time admin key
	Demo   bool

	DB      store.Store
	Keys    store.Keys
	LogKeys *store.LogKeys // the transparency log's signing keys
	Logger  *slog.Logger

	logKeys func(origin string, create bool) (*store.LogKeys, error)
	where   string // the store, for messages

	witnesses    *witnessSetup
	checkpointer *checkpointer

	listener net.Listener
	server   *http.Server
}

// Open opens the store and key directory and listens on the configured
// address (so that Addr is known before Run).
func (m *Main) Open() error {
	m.Logger = newLogger(m.Config, m.Stderr)
	st, err := openStore(context.Background(), m.Config, m.Logger, true)
	if err != nil {
		return err
	}
	m.DB, m.Keys, m.logKeys, m.where = st.DB, st.Keys, st.LogKeys, st.Where
	if ro := m.DB.ReadOnly(); ro != nil {
		m.Logger.Error("the service is read-only: it answers reads, but records nothing and signs no checkpoints",
			"reason", ro.Reason, "what_to_do", ro.Remedy)
	}
	m.listener, err = net.Listen("tcp", m.Config.Addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", m.Config.Addr, err)
	}
	if err := m.openLog(); err != nil {
		m.Close()
		return err
	}
	return nil
}

// Addr is the address the server listens on.
func (m *Main) Addr() string { return m.listener.Addr().String() }

// PublicURL is the base URL links are built on.
func (m *Main) PublicURL() string { return m.Config.publicURL(m.Addr()) }

// Run seeds demo data if asked, makes the first admin key if there is
// none, and serves until ctx is done; then it shuts down gracefully.
func (m *Main) Run(ctx context.Context) error {
	if m.Demo {
		coops, err := m.DB.Cooperatives()
		if err != nil {
			return err
		}
		if len(coops) > 0 || m.DB.ReadOnly() != nil {
			m.Logger.Info("demo data not loaded: the data directory already has cooperatives", "data", m.Config.Data)
		} else {
			out, err := seedDemo(ctx, m.DB, m.Keys, m.PublicURL())
			if err != nil {
				return fmt.Errorf("demo: %w", err)
			}
			enc := json.NewEncoder(m.Stdout)
			enc.SetIndent("", "  ")
			if err := enc.Encode(out); err != nil {
				return err
			}
		}
	}
	if err := ensureAdminKey(m.DB, m.Stderr); err != nil {
		return err
	}
	stopCheckpointer := m.startCheckpointer()
	defer stopCheckpointer()
	layouts, err := m.Config.labelLayouts()
	if err != nil {
		return err
	}
	srv := api.New(api.Config{
		PublicURL:            m.PublicURL(),
		BodyLimit:            m.Config.BodyLimit,
		RequestTimeout:       m.Config.RequestTimeout,
		Log:                  m.logInfo(),
		AttachmentLimit:      m.Config.AttachmentLimit,
		LabelErrorCorrection: label.ECLevel(m.Config.LabelErrorCorrection),
		SheetLayouts:         layouts.Sheets,
		RollLayouts:          layouts.Rolls,
		TrustedProxyHeader:   m.Config.TrustedProxyHeader,
		TrustedProxies:       m.Config.trustedProxies(),
	}, m.DB, m.Keys, m.Logger)
	// The workspace (/app/) is the same service's web app for people.
	if _, err := app.Mount(srv); err != nil {
		return err
	}
	m.server = &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       m.Config.RequestTimeout + 10*time.Second,
		WriteTimeout:      m.Config.RequestTimeout + 10*time.Second,
		IdleTimeout:       2 * time.Minute,
		MaxHeaderBytes:    64 << 10,
		ErrorLog:          slog.NewLogLogger(m.Logger.Handler(), slog.LevelWarn),
	}
	m.Logger.Info("truyxuat is serving", "addr", m.Addr(), "public_url", m.PublicURL(), "store", m.where)
	err = serveUntil(ctx, m.server, m.listener, m.Config.ShutdownTimeout, m.Logger)
	srv.FlushScans()
	return err
}

// serveUntil serves on ln until ctx is done, then shuts the server down,
// giving requests in flight the grace period before cutting them off.
func serveUntil(ctx context.Context, srv *http.Server, ln net.Listener, grace time.Duration, log *slog.Logger) error {
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down", "timeout", grace)
	sctx, cancel := context.WithTimeout(context.Background(), grace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		// Requests still running after the grace period are cut off.
		log.Warn("shutdown: closing connections still open after the grace period", "error", err)
		srv.Close()
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

// Close releases the listener and the store.
func (m *Main) Close() error {
	if m.listener != nil {
		m.listener.Close()
	}
	if m.DB != nil {
		return m.DB.Close()
	}
	return nil
}

// dataFile is the bbolt file of a data directory.
func dataFile(dir string) string { return filepath.Join(dir, "truyxuat.db") }

// ensureAdminKey makes the first admin key and prints it once.
func ensureAdminKey(db store.Store, w io.Writer) error {
	ok, err := db.HasAdminKey()
	if err != nil || ok || db.ReadOnly() != nil {
		return err
	}
	secret, err := db.CreateAPIKey(&store.APIKey{Name: "admin", Role: store.RoleAdmin})
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nAdmin API key (shown once, keep it safe):\n\n    %s\n\n", secret)
	return nil
}
