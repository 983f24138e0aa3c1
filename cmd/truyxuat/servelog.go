package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// openLog loads (on first start: creates) the log's signing keys, checks
// that the log's stored checkpoints are of the configured origin, reads
// the witness policy and prepares the checkpointer.
func (m *Main) openLog() error {
	origin, err := m.Config.logOrigin(m.PublicURL())
	if err != nil {
		return err
	}
	var stored string
	if err := m.DB.ViewLog(func(v store.LogView) error {
		_, note := v.LatestCheckpoint()
		if note == nil {
			return nil
		}
		n, err := tlog.ParseNote(note)
		if err != nil {
			return err
		}
		c, err := tlog.ParseCheckpoint(n.Text)
		stored = c.Origin
		return err
	}); err != nil {
		return fmt.Errorf("log: %w", err)
	}
	if stored != "" && stored != origin {
		return fmt.Errorf("log: the stored checkpoints are of origin %q, not %q: set log_origin to %q", stored, origin, stored)
	}
	// A log that has signed checkpoints keeps its keys: new ones would
	// sign checkpoints no verifier accepts.
	keys, err := m.logKeys(origin, stored == "")
	if errors.Is(err, store.ErrNoLogKeys) {
		if m.Config.usesPostgres() {
			return fmt.Errorf("log: the database holds checkpoints signed by the log's keys, but not the keys: "+
				"restore the database's sealed_keys table from your backup (%w)", err)
		}
		keyDir := filepath.Join(m.Config.Data, "keys")
		return fmt.Errorf("log: the data file holds checkpoints signed by the log's keys, but %s does not have them: "+
			"put the keys directory back from your key backup (%w)", keyDir, err)
	}
	if err != nil {
		return err
	}
	ws, err := m.Config.loadWitnesses()
	if err != nil {
		return err
	}
	interval := m.Config.CheckpointInterval
	if interval <= 0 {
		interval = defaults["checkpoint_interval"].(time.Duration)
	}
	cp, err := newCheckpointer(m.DB, keys, interval, ws, m.Logger)
	if err != nil {
		return err
	}
	m.LogKeys, m.witnesses, m.checkpointer = keys, ws, cp
	if ws.policy != nil {
		for _, w := range ws.policy.Witnesses {
			if !ws.has(w.Name) {
				m.Logger.Warn("witness has no URL: its cosignatures will not be requested", "witness", w.Name)
			}
		}
	}
	return nil
}

func (ws *witnessSetup) has(name string) bool {
	for _, t := range ws.targets {
		if t.name == name {
			return true
		}
	}
	return false
}

// logInfo is the log's public identity for the API.
func (m *Main) logInfo() api.LogInfo {
	pub := m.LogKeys.Public()
	return api.LogInfo{Origin: m.LogKeys.Origin(), Ed25519Key: pub[0].String(), MLDSAKey: pub[1].String(), WitnessPolicy: m.witnesses.text}
}

// startCheckpointer runs the checkpointer until the returned function is
// called; that function waits for it to stop and signs a last checkpoint
// of everything committed.
func (m *Main) startCheckpointer() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		m.checkpointer.run(ctx)
	}()
	m.Logger.Info("transparency log", "origin", m.LogKeys.Origin(), "checkpoint_interval", m.checkpointer.interval,
		"witnesses", len(m.checkpointer.witnesses))
	return func() {
		cancel()
		<-done
		if err := m.checkpointer.sign(); err != nil && !errors.Is(err, store.ErrReadOnly) && !errors.Is(err, store.ErrNotSigner) {
			m.Logger.Error("last log checkpoint failed", "error", err)
		}
	}
}

// addLogFlags adds serve's flags for the transparency log.
func addLogFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.String("log-origin", "", "the log's origin, for good (env TRUYXUAT_LOG_ORIGIN; default <public URL host>/log)")
	f.Duration("checkpoint-interval", defaults["checkpoint_interval"].(time.Duration), "how often to sign a checkpoint of new events (env TRUYXUAT_CHECKPOINT_INTERVAL)")
	f.String("witness-policy", "", "C2SP tlog-policy file naming the witnesses and their quorum (env TRUYXUAT_WITNESS_POLICY)")
	f.StringArray("witness", nil, "a witness's submission URL as <name>=<URL>, the name as in the policy; repeatable (env TRUYXUAT_WITNESSES, comma-separated)")
}
