// Command truyxuat runs the truyxuat traceability service and its tools.
//
//	truyxuat serve [--demo]     run the service (data in ./data, on 127.0.0.1:8080)
//	truyxuat demo --data DIR    fill an empty data directory with demo data
//	truyxuat history URL|ID     fetch a batch's history and verify it locally
//	truyxuat event append       record an event on a running server
//	truyxuat event keygen|sign|submit  sign events with the cooperative's own key
//	truyxuat keys               print the log's keys and witness policy (a trust file)
//	truyxuat keys create|list|revoke   manage API keys on a running server
//	truyxuat inspect            run the record-keeping checks and print the findings
//	truyxuat verify URL|--file  verify a history and its log proofs against pinned keys
//	truyxuat audit              fetch the whole log, recompute it, check it only grew
//	truyxuat witness            run a C2SP tlog-witness that cosigns log checkpoints
//	truyxuat backup FILE        write a checked copy of the data file (from a running service with --key)
//	truyxuat restore FILE       put a backup back in place of the data file (service stopped)
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := newRootCmd(os.Stdout, os.Stderr).ExecuteContext(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "truyxuat:", err)
		os.Exit(1)
	}
}

func newRootCmd(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "truyxuat",
		Short:         "Traceability for Vietnamese agricultural cooperatives",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	pf := root.PersistentFlags()
	pf.String("config", "", "config file (YAML; default ./truyxuat.yaml if present; env TRUYXUAT_CONFIG)")
	pf.String("data", defaults["data"].(string), "data directory (env TRUYXUAT_DATA)")
	pf.String("log-level", "info", "log level: debug, info, warn, error (env TRUYXUAT_LOG_LEVEL)")
	pf.String("log-format", "text", "log format: text or json (env TRUYXUAT_LOG_FORMAT)")
	root.AddCommand(newServeCmd(), newDemoCmd(), newHistoryCmd(), newEventCmd(), newExportCmd(), newLabelCmd())
	root.AddCommand(newKeysCmd(), newVerifyCmd(), newAuditCmd(), newWitnessCmd())
	root.AddCommand(newInspectCmd(), newBackupCmd(), newRestoreCmd(), newMigrateSchemaCmd(), newMigrateCmd())
	return root
}

func newLogger(c *Config, w io.Writer) *slog.Logger {
	var level slog.Level
	_ = level.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: level}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

// errUsage marks a mistake in how a command was called.
var errUsage = errors.New("usage")
