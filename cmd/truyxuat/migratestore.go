package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/store/pg"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// migrateStore copies the embedded store of cfg's data directory into the
// empty PostgreSQL database at to, then reads the copy back through a
// newly opened store and compares it with the original, printing what it
// found to out.
func migrateStore(ctx context.Context, cfg *Config, to string, out io.Writer, logger *slog.Logger) error {
	if !strings.HasPrefix(to, "postgres://") && !strings.HasPrefix(to, "postgresql://") {
		return fmt.Errorf("migrate: --to must be a PostgreSQL URL such as postgres://truyxuat@db.example.vn/truyxuat, got %s", redactURL(to))
	}
	where := "PostgreSQL " + redactURL(to)
	path := dataFile(cfg.Data)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("migrate: there is no embedded store at %s: set --data to the data directory to copy", path)
	}
	keyDir := filepath.Join(cfg.Data, "keys")
	keys, err := store.OpenKeyDir(keyDir)
	if err != nil {
		return err
	}
	src, err := store.Open(path, store.Options{Logger: logger, Keys: keys})
	if err != nil {
		return fmt.Errorf("migrate: %w", err)
	}
	defer src.Close()
	if ro := src.ReadOnly(); ro != nil {
		return fmt.Errorf("migrate: %s refuses writes (%w): put it right before copying it", path, ro)
	}
	if err := pg.CheckEmpty(ctx, to); err != nil {
		return fmt.Errorf("migrate: %s: %w", where, err)
	}
	masterKey := cfg.masterKeyFile()
	dst, err := pg.Open(ctx, to, pg.Options{MasterKeyFile: masterKey, CreateMasterKey: true, Logger: logger})
	if err != nil {
		return fmt.Errorf("migrate: %s: %w", where, err)
	}
	var rep *pg.ImportReport
	err = src.Export(func(x *store.Export) error {
		var err error
		rep, err = dst.Import(ctx, x, keys)
		return err
	})
	dst.Close()
	if err != nil {
		return fmt.Errorf("migrate: copy %s into %s: %w", path, where, err)
	}
	fmt.Fprintf(out, "copied %s and %s into %s\n", path, keyDir, where)

	// Read the copy back through a store of its own, as a node would.
	dst, err = pg.Open(ctx, to, pg.Options{MasterKeyFile: masterKey, NoMigrate: true, Logger: logger})
	if err != nil {
		return fmt.Errorf("migrate: open the copy: %w", err)
	}
	defer dst.Close()
	if err := compareCopy(src, dst, keys, keyDir, rep, out); err != nil {
		return fmt.Errorf("migrate: the copy in %s differs from %s: %w", where, path, err)
	}
	fmt.Fprintf(out, "the copy is identical. Every node needs the master key file %s (mode 0600) and database_url; start them with it.\n", masterKey)
	return nil
}

// compareCopy proves the copy identical to the original and prints what
// it compared.
func compareCopy(src *store.DB, dst *pg.DB, keys *store.KeyDir, keyDir string, rep *pg.ImportReport, out io.Writer) error {
	// The log: the same size, the same root recomputed from each side's
	// tiles, the same checkpoints, each signing the root the copy has.
	size, err := src.LogSize()
	if err != nil {
		return err
	}
	if n, err := dst.LogSize(); err != nil || n != size {
		return fmt.Errorf("the log has %d entries, the copy's %d (%v)", size, n, err)
	}
	var root tlog.Hash
	checkpoints := 0
	err = src.ViewLog(func(sv store.LogView) error {
		return dst.ViewLog(func(dv store.LogView) error {
			var err error
			if root, err = tlog.RootAt(sv, size); err != nil {
				return fmt.Errorf("the original's log root: %w", err)
			}
			if r, err := tlog.RootAt(dv, size); err != nil || r != root {
				return fmt.Errorf("the log's root at size %d is %s, the copy's %s (%v)", size, root, r, err)
			}
			for s, note := dv.LatestCheckpoint(); note != nil; {
				if !bytes.Equal(note, sv.Checkpoint(s)) {
					return fmt.Errorf("the checkpoint of size %d differs", s)
				}
				n, err := tlog.ParseNote(note)
				if err != nil {
					return fmt.Errorf("the checkpoint of size %d: %w", s, err)
				}
				c, err := tlog.ParseCheckpoint(n.Text)
				if err != nil {
					return fmt.Errorf("the checkpoint of size %d: %w", s, err)
				}
				if r, err := tlog.RootAt(dv, s); err != nil || r != c.Root || c.Size != s {
					return fmt.Errorf("the checkpoint of size %d signs root %s, but the copy's log has %s there (%v)", s, c.Root, r, err)
				}
				checkpoints++
				var ok bool
				if s, note, ok = dv.CheckpointBefore(s); !ok {
					break
				}
			}
			return nil
		})
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  log: %d entries, root %s at size %d on both; %d checkpoints identical, each signing the copy's root\n", size, root, size, checkpoints)
	if sp, ok := src.Published(); ok {
		dp, dok, err := dst.Published()
		if err != nil || !dok || !reflect.DeepEqual(sp, dp) {
			return fmt.Errorf("the published checkpoint differs (%v)", err)
		}
		fmt.Fprintf(out, "  published checkpoint: size %d, the same\n", sp.Size)
	}

	// Every lot's history verifies on the copy, with the same events.
	lots, events := 0, 0
	for after := ""; ; {
		page, err := src.Batches("", after, 500)
		if err != nil {
			return err
		}
		for _, bt := range page.Batches {
			want, err := src.History(bt.ID)
			if err != nil {
				return fmt.Errorf("the original's history of lot %s: %w", bt.ID, err)
			}
			got, err := dst.History(bt.ID)
			if err != nil {
				return fmt.Errorf("the history of lot %s on the copy: %w", bt.ID, err)
			}
			if err := sameEvents(want, got); err != nil {
				return fmt.Errorf("lot %s: %w", bt.ID, err)
			}
			lots++
			events += len(got)
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	fmt.Fprintf(out, "  lots: %d, every history verifies on the copy with the same %d events\n", lots, events)

	// The registry's revisions, entry by entry.
	revisions, err := compareRegistry(src, dst)
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "  registry: %d signed revisions, the same on both\n", revisions)

	// The count of each kind.
	got, err := dst.Counts()
	if err != nil {
		return err
	}
	if got != rep.Counts {
		return fmt.Errorf("counts differ: original %+v, copy %+v", rep.Counts, got)
	}
	c := got
	fmt.Fprintf(out, "  counts, equal: %d cooperatives, %d products, %d lots, %d events, %d registry revisions, %d inspectors, "+
		"%d log entries, %d tiles, %d bundles, %d checkpoints, %d API keys, %d people, %d sessions, %d idempotency keys, %d attachments (%d renditions)\n",
		c.Cooperatives, c.Products, c.Batches, c.Events, c.Records, c.Inspectors, c.LogEntries, c.Tiles, c.Bundles, c.Checkpoints,
		c.APIKeys, c.Users, c.Sessions, c.Idempotency, c.Attachments, c.Variants)

	// The keys open on the copy and are the same keys.
	if err := compareKeys(keys, keyDir, dst); err != nil {
		return err
	}
	fmt.Fprintf(out, "  keys: %d, sealed in the database, each the same as in the keys directory\n", rep.Keys)
	return nil
}

func sameEvents(want, got []*store.StoredEvent) error {
	if len(want) != len(got) {
		return fmt.Errorf("%d events, the copy %d", len(want), len(got))
	}
	for i := range want {
		w, g := want[i], got[i]
		if w.Hash != g.Hash || !bytes.Equal(w.Body, g.Body) || !bytes.Equal(w.Signature, g.Signature) || !bytes.Equal(w.Signer, g.Signer) ||
			w.LogIndex != g.LogIndex || w.KeyID != g.KeyID || !w.ReceivedAt.Equal(g.ReceivedAt) {
			return fmt.Errorf("event %d differs on the copy", i)
		}
	}
	return nil
}

// compareRegistry compares every revision of each cooperative's profile,
// its products and its registry lists.
func compareRegistry(src *store.DB, dst *pg.DB) (int, error) {
	n := 0
	same := func(kind trace.RecordKind, id string) error {
		want, err := src.Records(kind, id)
		if err != nil {
			return fmt.Errorf("the original's %s %s: %w", kind, id, err)
		}
		got, err := dst.Records(kind, id)
		if err != nil {
			return fmt.Errorf("%s %s on the copy: %w", kind, id, err)
		}
		if len(want) != len(got) {
			return fmt.Errorf("%s %s has %d revisions, the copy %d", kind, id, len(want), len(got))
		}
		for i := range want {
			if want[i].Hash != got[i].Hash || !bytes.Equal(want[i].Signature, got[i].Signature) || want[i].LogIndex != got[i].LogIndex {
				return fmt.Errorf("revision %d of %s %s differs on the copy", i, kind, id)
			}
		}
		n += len(got)
		return nil
	}
	coops, err := src.Cooperatives()
	if err != nil {
		return 0, err
	}
	for _, c := range coops {
		if err := same(trace.KindCooperative, c.ID); err != nil {
			return 0, err
		}
		products, err := src.Products(c.ID)
		if err != nil {
			return 0, err
		}
		for _, p := range products {
			if err := same(trace.KindProduct, p.ID); err != nil {
				return 0, err
			}
		}
		for _, kind := range trace.ListKinds {
			entries, err := src.Entries(kind, c.ID, true)
			if err != nil {
				return 0, err
			}
			for _, e := range entries {
				if err := same(kind, e.Record.ID); err != nil {
					return 0, err
				}
			}
		}
	}
	return n, nil
}

// compareKeys checks that every key of the directory opens on the copy
// as the same key.
func compareKeys(keys *store.KeyDir, keyDir string, dst *pg.DB) error {
	err := keys.Export(func(k store.ExportedKey) error {
		switch {
		case k.Signer != nil:
			s, err := dst.Keys().Signer(k.Name)
			if err != nil || !bytes.Equal(s.PublicKey(), k.Signer.PublicKey()) {
				return fmt.Errorf("the signing key %s differs on the copy (%v)", k.Name, err)
			}
		case k.Secret != nil:
			s, err := dst.Keys().Secret(k.Name)
			if err != nil || !bytes.Equal(s, k.Secret) {
				return fmt.Errorf("the secret %s differs on the copy (%v)", k.Name, err)
			}
		}
		return nil
	})
	if err != nil {
		return err
	}
	want, err := store.OpenLogKeys(keyDir, "", false)
	if errors.Is(err, store.ErrNoLogKeys) {
		return nil
	}
	if err != nil {
		return err
	}
	got, err := dst.LogKeys("", false)
	if err != nil || got.Origin() != want.Origin() || !reflect.DeepEqual(got.Public(), want.Public()) {
		return fmt.Errorf("the log's keys differ on the copy (%v)", err)
	}
	return nil
}
