package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

func newAuditCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "audit --server URL",
		Short: "Fetch the whole transparency log from its tiles, recompute it and check it never changed",
		Long: `Audit a truyxuat server's transparency log: fetch its checkpoint and check its
Ed25519 and ML-DSA-44 signatures (and the witness quorum, if a policy is
given); fetch every entry bundle and recompute the Merkle tree, which must
have the checkpoint's root; check every hash tile the server serves against
the recomputed tree; and check that the tree is an extension of the one this
command saw on its last run (its state, per log, in --state; default
<user config dir>/truyxuat/audit). A rewritten or rolled-back history fails.

Pin the log's keys with --trust FILE (from 'truyxuat keys') or --log-key VKEY.
Without them, the keys saved by the previous audit are used; on a first audit
without them, the keys the server publishes are trusted and saved. The report
is in Vietnamese, or English with --lang en; any failure exits non-zero.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			trust, err := cfg.loadTrust()
			if err != nil {
				return err
			}
			stateDir := cfg.AuditState
			if stateDir == "" {
				d, err := os.UserConfigDir()
				if err != nil {
					return fmt.Errorf("no --state directory and no user config directory: %w", err)
				}
				stateDir = filepath.Join(d, "truyxuat", "audit")
			}
			parallel, _ := cmd.Flags().GetInt("parallel")
			a := newAuditor(cfg.Server, parallel)
			_, err = a.run(cmd.Context(), newPrinter(cmd.OutOrStdout(), cfg.Lang), trust, stateDir)
			return err
		},
	}
	f := cmd.Flags()
	f.String("server", defaults["server"].(string), "truyxuat server URL (env TRUYXUAT_SERVER)")
	f.String("trust", "", "trust file with the log's keys and witness policy, from 'truyxuat keys' (env TRUYXUAT_TRUST)")
	f.StringArray("log-key", nil, "a log verifier key to pin; give both the Ed25519 and the ML-DSA-44 key (env TRUYXUAT_LOG_KEYS)")
	f.String("witness-policy", "", "a C2SP tlog-policy whose witness quorum the checkpoint must meet (env TRUYXUAT_WITNESS_POLICY)")
	f.String("state", "", "directory of the audit state, one file per log (env TRUYXUAT_AUDIT_STATE; default <user config dir>/truyxuat/audit)")
	f.String("lang", defaults["lang"].(string), "report language: vi or en (env TRUYXUAT_LANG)")
	f.Int("parallel", 8, "concurrent tile requests")
	return cmd
}

// auditState is what an audit remembers about a log for the next one.
type auditState struct {
	Origin     string    `json:"origin"`
	LogKeys    []string  `json:"log_keys"`
	Size       uint64    `json:"size"`
	Root       tlog.Hash `json:"root"`
	Checkpoint string    `json:"checkpoint"`
	Server     string    `json:"server"`
	CheckedAt  time.Time `json:"checked_at"`
}

func statePath(dir, origin string) string {
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' {
			return r
		}
		return '_'
	}, origin)
	return filepath.Join(dir, name+".json")
}

func loadAuditState(p string) (*auditState, error) {
	b, err := os.ReadFile(p)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var s auditState
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("audit state %s is damaged: %v", p, err)
	}
	return &s, nil
}

// save writes the state atomically and syncs it.
func (s *auditState) save(p string) error {
	if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
		return err
	}
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(p), ".audit-*")
	if err != nil {
		return err
	}
	_, err = tmp.Write(append(b, '\n'))
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
	}
	return err
}

// auditor fetches a log's resources from a truyxuat server.
type auditor struct {
	server   string
	client   *http.Client
	parallel int
}

func newAuditor(server string, parallel int) *auditor {
	parallel = max(parallel, 1)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = parallel
	return &auditor{server: strings.TrimRight(server, "/"), parallel: parallel,
		client: &http.Client{Timeout: 60 * time.Second, Transport: tr}}
}

func (a *auditor) get(ctx context.Context, path string) ([]byte, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, a.server+path, nil)
	if err != nil {
		return nil, err
	}
	res, err := a.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(io.LimitReader(res.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	if res.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", a.server+path, res.Status)
	}
	return b, nil
}

// auditResult is what an audit found.
type auditResult struct {
	Checkpoint tlog.Checkpoint
	Bundles    int
	Tiles      int
}

// run audits the log and prints the report.
func (a *auditor) run(ctx context.Context, p *printer, trust *trustAnchor, stateDir string) (*auditResult, error) {
	if ctx == nil {
		ctx = context.Background()
	}
	start := time.Now()
	note, err := a.get(ctx, "/log/checkpoint")
	if err != nil {
		return nil, err
	}
	// The origin the server claims only picks the state file; the keys
	// that verify the checkpoint are pinned, or come from that state.
	claimed := ""
	if n, err := tlog.ParseNote(note); err == nil {
		if c, err := tlog.ParseCheckpoint(n.Text); err == nil {
			claimed = c.Origin
		}
	}
	origin := claimed
	if trust != nil {
		origin = trust.origin
	}
	p.line("audit_log", origin, a.server)
	sp := statePath(stateDir, origin)
	old, err := loadAuditState(sp)
	if err != nil {
		return nil, err
	}
	if trust == nil {
		trust = &trustAnchor{origin: origin}
		var keys []string
		if old != nil {
			keys = old.LogKeys
			p.line("audit_state", sp)
		} else {
			var wk api.WellKnown
			b, err := a.get(ctx, "/.well-known/truyxuat.json")
			if err == nil {
				err = json.Unmarshal(b, &wk)
			}
			if err != nil {
				return nil, fmt.Errorf("reading the server's log keys: %w", err)
			}
			keys = wk.LogKeys
			var ids []string
			for _, k := range keys {
				if vk, err := tlog.ParseVerifierKey(k); err == nil {
					ids = append(ids, fmt.Sprintf("%s+%08x", vk.Name, vk.KeyHash()))
				}
			}
			p.line("audit_tofu", strings.Join(ids, ", "))
		}
		for _, k := range keys {
			vk, err := tlog.ParseVerifierKey(k)
			if err != nil {
				return nil, err
			}
			trust.keys = append(trust.keys, vk)
		}
		if len(trust.keys) == 0 {
			return nil, errNoTrust
		}
	}
	cv, err := trust.verifier()
	if err != nil {
		return nil, err
	}
	c, _, err := cv.Open(note)
	if err != nil {
		return nil, p.fail(fmt.Sprintf("checkpoint: %v", err))
	}
	p.line("checkpoint_ok", c.Origin, c.Size)
	var oldSize uint64
	if old != nil {
		oldSize = old.Size
		if old.Size > c.Size {
			return nil, p.fail(p.msg("audit_shrunk", old.Size, c.Size))
		}
	}
	res := &auditResult{Checkpoint: c}
	root, oldRoot, err := a.recompute(ctx, p, c.Size, oldSize, res)
	if err != nil {
		return nil, err
	}
	if root != c.Root {
		return nil, p.fail(p.msg("audit_root", root, c.Root))
	}
	p.line("audit_tree", c.Size, res.Bundles)
	p.line("audit_tiles", res.Tiles)
	if old != nil {
		if oldRoot != old.Root {
			return nil, p.fail(p.msg("audit_rewrite", old.Size, oldRoot, old.Root))
		}
		p.line("audit_consist", old.Size, old.CheckedAt.Local().Format(time.DateTime))
	}
	st := &auditState{Origin: c.Origin, Size: c.Size, Root: c.Root, Checkpoint: string(note), Server: a.server, CheckedAt: time.Now().UTC()}
	for _, k := range trust.keys {
		st.LogKeys = append(st.LogKeys, k.String())
	}
	if err := st.save(sp); err != nil {
		return nil, fmt.Errorf("saving the audit state: %w", err)
	}
	if old == nil {
		p.line("audit_first", sp)
	}
	p.line("audit_ok", c.Origin, c.Size, float64(c.Size)/time.Since(start).Seconds())
	return res, nil
}

// memTiles holds the recomputed tree's tiles.
type memTiles map[[2]uint64][]byte

func (m memTiles) ReadTile(level int, index uint64) ([]byte, error) {
	return m[[2]uint64{uint64(level), index}], nil
}

func (m memTiles) store(tiles []tlog.TileData) {
	for _, t := range tiles {
		m[[2]uint64{uint64(t.Level), t.Index}] = t.Data
	}
}

// bundle is one fetched entry bundle with the level-0 hash tile that
// should hash its entries.
type bundle struct {
	entries [][]byte
	tile    []byte
	err     error
}

// recompute fetches every entry bundle of a tree of the given size (and
// the level-0 tiles beside them, in parallel), rebuilds the tree, compares
// every served hash tile with it, and returns its root and the root of its
// first oldSize entries.
func (a *auditor) recompute(ctx context.Context, p *printer, size, oldSize uint64, res *auditResult) (root, oldRoot tlog.Hash, err error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	n := (size + tlog.TileWidth - 1) / tlog.TileWidth
	width := func(k uint64) int {
		if k == n-1 && size%tlog.TileWidth != 0 {
			return int(size % tlog.TileWidth)
		}
		return tlog.TileWidth
	}
	results := make([]chan bundle, n)
	for i := range results {
		results[i] = make(chan bundle, 1)
	}
	parallel := max(a.parallel, 1)
	window := make(chan struct{}, 2*parallel) // bundles fetched but not yet hashed
	jobs := make(chan uint64)
	go func() {
		defer close(jobs)
		for k := uint64(0); k < n; k++ {
			select {
			case window <- struct{}{}:
			case <-ctx.Done():
				return
			}
			select {
			case jobs <- k:
			case <-ctx.Done():
				return
			}
		}
	}()
	for range parallel {
		go func() {
			for k := range jobs {
				w := width(k)
				var b bundle
				data, err := a.get(ctx, "/log/"+tlog.Tile{Index: k, Width: w, Entries: true}.Path())
				if err == nil {
					b.entries, err = tlog.ParseBundle(data)
				}
				if err == nil {
					b.tile, err = a.get(ctx, "/log/"+tlog.Tile{Level: 0, Index: k, Width: w}.Path())
				}
				b.err = err
				results[k] <- b
			}
		}()
	}
	mem := memTiles{}
	var cur uint64
	root = tlog.EmptyRoot()
	if oldSize == 0 {
		oldRoot = tlog.EmptyRoot()
	}
	for k := uint64(0); k < n; k++ {
		var b bundle
		select {
		case b = <-results[k]:
		case <-ctx.Done():
			return root, oldRoot, ctx.Err()
		}
		<-window
		if b.err != nil {
			return root, oldRoot, b.err
		}
		path := tlog.Tile{Index: k, Width: width(k), Entries: true}.Path()
		if len(b.entries) != width(k) {
			return root, oldRoot, p.fail(fmt.Sprintf("%s: %d entries, want %d", path, len(b.entries), width(k)))
		}
		leaves := make([]tlog.Hash, len(b.entries))
		for i, e := range b.entries {
			if len(e) != 32 {
				return root, oldRoot, p.fail(fmt.Sprintf("%s: entry %d has %d bytes; truyxuat's entries have 32", path, cur+uint64(i), len(e)))
			}
			leaves[i] = tlog.LeafHash(e)
		}
		// Split the bundle where the previous audit's tree ended, to get
		// that tree's root from the entries fetched now.
		if oldSize > cur && oldSize <= cur+uint64(len(leaves)) {
			cut := oldSize - cur
			tiles, _, err := tlog.Append(mem, cur, leaves[:cut])
			if err != nil {
				return root, oldRoot, err
			}
			mem.store(tiles)
			if oldRoot, err = tlog.RootAt(mem, oldSize); err != nil {
				return root, oldRoot, err
			}
			cur, leaves = oldSize, leaves[cut:]
		}
		if len(leaves) > 0 {
			tiles, r, err := tlog.Append(mem, cur, leaves)
			if err != nil {
				return root, oldRoot, err
			}
			mem.store(tiles)
			cur += uint64(len(leaves))
			root = r
		} else {
			root = oldRoot
		}
		want, _ := tlog.TilePrefix(mem[[2]uint64{0, k}], width(k))
		if !bytes.Equal(b.tile, want) {
			return root, oldRoot, p.fail(p.msg("audit_tile_bad", tlog.Tile{Index: k, Width: width(k)}.Path()))
		}
		res.Bundles++
		res.Tiles++
		if width(k) == tlog.TileWidth {
			// A full level-0 tile is never read again: the level above
			// holds its hash.
			delete(mem, [2]uint64{0, k})
		}
	}
	// The hash tiles above level 0, full and partial.
	var upper []tlog.Tile
	for level := 1; size>>(tlog.TileHeight*uint(level)) > 0; level++ {
		full := size >> (tlog.TileHeight * uint(level+1))
		for i := uint64(0); i < full; i++ {
			upper = append(upper, tlog.Tile{Level: level, Index: i, Width: tlog.TileWidth})
		}
	}
	for _, t := range tlog.TilesForSize(size) {
		if !t.Entries && t.Level > 0 {
			upper = append(upper, t)
		}
	}
	for _, t := range upper {
		got, err := a.get(ctx, "/log/"+t.Path())
		if err != nil {
			return root, oldRoot, err
		}
		want, _ := tlog.TilePrefix(mem[[2]uint64{uint64(t.Level), t.Index}], t.Width)
		if want == nil || !bytes.Equal(got, want) {
			return root, oldRoot, p.fail(p.msg("audit_tile_bad", t.Path()))
		}
		res.Tiles++
	}
	return root, oldRoot, nil
}
