package main

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/store"
)

func newBackupCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "backup FILE",
		Short: "Write a checked copy of the data file, from a running service or the data directory",
		Long: `Write a consistent copy of the store to FILE: the one bbolt data file, with
every cooperative, product, batch and event, the transparency log and its
checkpoints, and the hashes of API keys and passwords, as it was at one
moment while writes went on. Then open the copy and check it: bbolt's check
of every page, every batch's chain and head, every event's log entry, the
log's tiles and the newest checkpoint's root. FILE is replaced only by a copy
that passed; the copy has mode 0600.

While the service runs its data file is locked: with --key (an admin API key)
the running service at --server makes the copy and sends it, and it is
checked here too. Without --key the copy is made from the data directory
(--data), which works only while the service is stopped.

The signing keys are not in the copy: they are files in <data>/keys. Keep a
copy of that directory too (it changes when a cooperative or an inspector is
added), somewhere only you can read. Never copy log-published.json back from
a backup: it is how the service knows what its log already published.

A daily backup, from cron:

  15 2 * * * TRUYXUAT_KEY=txk_... truyxuat backup --server http://127.0.0.1:8080 /var/backups/truyxuat/truyxuat-$(date +\%F).db`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			var rep *store.BackupReport
			if cfg.Key != "" || cmd.Flags().Changed("server") {
				rep, err = fetchBackup(cmd.Context(), newClient(cfg), args[0])
			} else {
				rep, err = store.BackupDataFile(dataFile(cfg.Data), args[0])
				if errors.Is(err, store.ErrInUse) {
					return fmt.Errorf("%w; while it runs, have it make the copy: truyxuat backup --server URL --key ADMIN-KEY %s", err, args[0])
				}
			}
			if err != nil {
				return err
			}
			printBackupReport(cmd.OutOrStdout(), "backup written and checked", rep)
			return nil
		},
	}
	addClientFlags(cmd)
	return cmd
}

// printBackupReport says what a checked copy holds.
func printBackupReport(w io.Writer, what string, rep *store.BackupReport) {
	fmt.Fprintf(w, "%s: %s\n", what, rep.Path)
	if rep.SHA256 != "" {
		fmt.Fprintf(w, "  %d bytes, sha256 %s\n", rep.Bytes, rep.SHA256)
	} else {
		fmt.Fprintf(w, "  %d bytes\n", rep.Bytes)
	}
	fmt.Fprintf(w, "  %d cooperatives, %d products, %d batches, %d events\n", rep.Cooperatives, rep.Products, rep.Batches, rep.Events)
	fmt.Fprintf(w, "  log: %d entries, root %s", rep.LogSize, rep.LogRoot)
	if rep.Checkpoint > 0 {
		fmt.Fprintf(w, "; newest checkpoint %d (%s)", rep.Checkpoint, rep.Origin)
	}
	fmt.Fprintln(w)
}

// fetchBackup downloads a copy from a running service, checks its length
// and Content-Digest, and makes it a checked backup at path.
func fetchBackup(ctx context.Context, c *client, path string) (*store.BackupReport, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	url := c.server + "/api/v1/admin/backup"
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	if c.key != "" {
		req.Header.Set("Authorization", "Bearer "+c.key)
	}
	// The service writes the copy before it answers, and a large copy
	// takes time to send: no overall timeout, a generous one for the
	// answer to begin.
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.ResponseHeaderTimeout = 30 * time.Minute
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		raw, _ := io.ReadAll(io.LimitReader(res.Body, 1<<20))
		return nil, problemError("GET", url, res, raw)
	}
	if res.ContentLength <= 0 {
		return nil, fmt.Errorf("GET %s: the answer does not say how long the copy is", url)
	}
	digest, ok := parseSHA256Digest(res.Header.Get("Content-Digest"))
	if !ok {
		return nil, fmt.Errorf("GET %s: the answer has no sha-256 Content-Digest to check the copy with", url)
	}
	return store.WriteBackup(path, func(w io.Writer) error {
		sum := sha256.New()
		n, err := io.Copy(io.MultiWriter(w, sum), io.LimitReader(res.Body, res.ContentLength+1))
		if err != nil {
			return fmt.Errorf("receiving the copy: %w", err)
		}
		if n != res.ContentLength {
			return fmt.Errorf("the copy has %d bytes, but the service announced %d", n, res.ContentLength)
		}
		if !bytes.Equal(sum.Sum(nil), digest) {
			return errors.New("the copy received is not the one the service sent: its SHA-256 differs from the Content-Digest")
		}
		return nil
	})
}

// parseSHA256Digest reads the sha-256 value of an RFC 9530 Content-Digest.
func parseSHA256Digest(h string) ([]byte, bool) {
	for _, item := range strings.Split(h, ",") {
		k, v, ok := strings.Cut(strings.TrimSpace(item), "=")
		if !ok || k != "sha-256" || len(v) < 2 || v[0] != ':' || v[len(v)-1] != ':' {
			continue
		}
		b, err := base64.StdEncoding.DecodeString(v[1 : len(v)-1])
		if err == nil && len(b) == sha256.Size {
			return b, true
		}
	}
	return nil, false
}

func newRestoreCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "restore FILE",
		Short: "Put a backup back in place of the data file (with the service stopped)",
		Long: `Put the backup FILE back as the data file of the data directory (--data).
Stop the service first. The backup is copied beside the data file and checked
as 'truyxuat backup' checks it; its transparency log is compared with the
newest checkpoint the log has published (recorded in <data>/log-published.json,
which the service writes before it publishes any checkpoint):

  - a backup whose log has another root at a published size is not a copy of
    this log and is refused;
  - a backup whose log has fewer entries than a published checkpoint is
    refused, unless --allow-older is given (see below).

Then the current data file is renamed to truyxuat.db.before-restore-<time>
(never deleted), the copy takes its place and the directory is synced. The
keys in <data>/keys are not touched: if they were lost too, put them back from
your key backup before starting the service.

--allow-older puts back a backup older than what was published, when no newer
copy exists. The service then answers reads, but records nothing and signs no
checkpoints until a copy holding everything published is put back: recording
on from an older copy would give sizes the log already published a different
root, which a transparency log must never do.`,
		Args: cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			older, _ := cmd.Flags().GetBool("allow-older")
			dst := dataFile(cfg.Data)
			res, err := store.Restore(args[0], dst, store.RestoreOptions{AllowOlder: older})
			if errors.Is(err, store.ErrBehindPublished) {
				return fmt.Errorf("%w.\nPut back a newer backup, one holding at least %d log entries. If none exists, "+
					"--allow-older puts this one back anyway: the service will then answer reads but record nothing and "+
					"sign no checkpoints until a copy holding at least %d entries is put back, since recording on from an "+
					"older copy would give sizes the log already published a different root", err, res.Published, res.Published)
			}
			if err != nil {
				return err
			}
			w := cmd.OutOrStdout()
			printBackupReport(w, "restored", res.Backup)
			fmt.Fprintf(w, "  now the data file: %s\n", dst)
			if res.Aside != "" {
				fmt.Fprintf(w, "  the data file it replaced is kept as %s; remove it once the service runs well\n", res.Aside)
			}
			if res.Behind {
				fmt.Fprintf(w, "warning: this copy holds %d log entries, but the log has published a checkpoint of %d: "+
					"the service will answer reads only until a copy holding at least %d entries is put back\n",
					res.Backup.LogSize, res.Published, res.Published)
			}
			if _, err := os.Stat(filepath.Join(cfg.Data, "keys", store.LogEd25519KeyFile)); err != nil && res.Backup.Checkpoint > 0 {
				fmt.Fprintf(w, "warning: %s has no log signing keys: put the keys directory back from your key backup before starting the service\n",
					filepath.Join(cfg.Data, "keys"))
			}
			return nil
		},
	}
	cmd.Flags().Bool("allow-older", false, "put back a backup older than what the log published; the service will then answer reads only (see above)")
	return cmd
}
