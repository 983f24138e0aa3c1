package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// Cache lifetimes of the log's resources.
const (
	checkpointCacheControl = "public, max-age=2"
	fullTileCacheControl   = "public, max-age=31536000, immutable"
	// A partial tile of a given width never changes either, but may
	// be dropped once the full tile exists.
	partialTileCacheControl = "public, max-age=3600"
)

// logState is what the server knows about its log: the verifiers and
// witness policy parsed from Config.Log, and its published checkpoints.
type logState struct {
	once   sync.Once
	keys   []tlog.VerifierKey // the log's verifier keys, Ed25519 first
	logs   []tlog.Verifier
	policy *tlog.Policy // nil without a witness policy
	err    error        // why Config.Log could not be parsed

	// cosigned is 1 + the size of the newest checkpoint known to meet the
	// witness quorum (0: none yet). Checkpoints only gain cosignatures,
	// so it only grows.
	cosigned atomic.Uint64
}

// logInfo parses Config.Log once.
func (s *Server) logInfo() *logState {
	l := &s.logState
	l.once.Do(func() {
		for _, vk := range []string{s.cfg.Log.Ed25519Key, s.cfg.Log.MLDSAKey} {
			if vk == "" {
				continue
			}
			k, err := tlog.ParseVerifierKey(vk)
			if err == nil {
				var v tlog.Verifier
				if v, err = k.Verifier(); err == nil {
					l.keys, l.logs = append(l.keys, k), append(l.logs, v)
				}
			}
			if err != nil {
				l.err = fmt.Errorf("log key %q: %w", vk, err)
			}
		}
		if s.cfg.Log.WitnessPolicy != "" {
			p, err := tlog.ParsePolicy([]byte(s.cfg.Log.WitnessPolicy))
			if err != nil {
				l.err = err
			}
			l.policy = p
		}
		if l.err != nil {
			s.log.Error("the log's configuration is invalid", "error", l.err)
		}
	})
	return l
}

// logRoutes registers the log's routes: the C2SP tlog-tiles resources
// under /log/, proofs under /api/v1/log/ and /api/v1/events/{hash}/proof,
// and /.well-known/truyxuat.json.
func (s *Server) logRoutes() {
	e := s.echo
	e.GET("/log/checkpoint", s.logCheckpoint)
	e.GET("/log/tile/*", s.logTile)
	e.GET("/.well-known/truyxuat.json", s.wellKnown)
	e.GET("/api/v1/log/proof/inclusion", s.inclusionProof)
	e.GET("/api/v1/log/proof/consistency", s.consistencyProof)
	e.GET("/api/v1/events/:hash/proof", s.eventProof)
}

// publishedCheckpoint returns the checkpoint the server publishes in v:
// the newest stored one, or, under a witness policy with a quorum, the
// newest one whose cosignatures meet it (the newest of all if none does
// yet). It returns a nil note when no checkpoint is stored.
func (s *Server) PublishedCheckpoint(v store.LogView) (uint64, []byte) {
	size, note := v.LatestCheckpoint()
	l := s.logInfo()
	if note == nil || l.policy == nil || l.policy.Quorum == "none" {
		return size, note
	}
	newest, newestNote := size, note
	known := s.logState.cosigned.Load()
	// Walk back from the newest, but not forever: a witness outage
	// leaves a run of checkpoints without cosignatures.
	for i := 0; i < 64; i++ {
		if known > 0 && size+1 <= known {
			break
		}
		if s.meetsQuorum(note) {
			s.logState.cosigned.CompareAndSwap(known, size+1)
			return size, note
		}
		var ok bool
		if size, note, ok = v.CheckpointBefore(size); !ok {
			break
		}
	}
	if known > 0 {
		if n := v.Checkpoint(known - 1); n != nil {
			return known - 1, n
		}
	}
	return newest, newestNote
}

func (s *Server) meetsQuorum(note []byte) bool {
	n, err := tlog.ParseNote(note)
	if err != nil {
		return false
	}
	l := s.logInfo()
	return l.policy.Check(n, l.logs...) == nil
}

// logCheckpoint serves GET /log/checkpoint: the published checkpoint, a
// C2SP signed note with the log's two signatures and any cosignatures.
func (s *Server) logCheckpoint(c echo.Context) error {
	var note []byte
	if err := s.db.ViewLog(func(v store.LogView) error {
		_, note = s.PublishedCheckpoint(v)
		return nil
	}); err != nil {
		return err
	}
	if note == nil {
		c.Response().Header().Set("Retry-After", "1")
		return echo.NewHTTPError(http.StatusNotFound, "the log has no signed checkpoint yet; try again in a second")
	}
	c.Response().Header().Set(echo.HeaderCacheControl, checkpointCacheControl)
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", note)
}

// logTile serves GET /log/tile/<L>/<N>[.p/<W>] and
// /log/tile/entries/<N>[.p/<W>]. A tile is served once the log holds
// every hash (or entry) it consists of.
func (s *Server) logTile(c echo.Context) error {
	t, err := tlog.ParseTilePath("tile/" + c.Param("*"))
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "not a tile path: tiles are tile/<L>/<N>[.p/<W>] and tile/entries/<N>[.p/<W>], N in x-prefixed groups of three digits (C2SP tlog-tiles)")
	}
	var data []byte
	err = s.db.ViewLog(func(v store.LogView) error {
		if t.Entries {
			stored, err := v.ReadBundle(t.Index)
			if err != nil {
				return err
			}
			entries, err := tlog.ParseBundle(stored)
			if err != nil {
				return fmt.Errorf("entry bundle %d: %w", t.Index, err)
			}
			if len(entries) < t.Width {
				return nil
			}
			data, err = tlog.EncodeBundle(entries[:t.Width])
			return err
		}
		stored, err := v.ReadTile(t.Level, t.Index)
		if err != nil {
			return err
		}
		if p, ok := tlog.TilePrefix(stored, t.Width); ok {
			data = p
		}
		return nil
	})
	if err != nil {
		return err
	}
	if data == nil {
		return echo.NewHTTPError(http.StatusNotFound, "the log does not have this tile (yet)")
	}
	if t.Width == tlog.TileWidth {
		c.Response().Header().Set(echo.HeaderCacheControl, fullTileCacheControl)
	} else {
		c.Response().Header().Set(echo.HeaderCacheControl, partialTileCacheControl)
	}
	return c.Blob(http.StatusOK, echo.MIMEOctetStream, data)
}

// WellKnown is /.well-known/truyxuat.json: what a verifier pins to check
// this server's log.
type WellKnown struct {
	LogOrigin string   `json:"log_origin"`
	LogKeys   []string `json:"log_keys"` // vkeys: Ed25519, then ML-DSA-44
	LogURL    string   `json:"log_url"`  // the tlog-tiles prefix
	// WitnessPolicy is the C2SP tlog-policy file naming the witnesses
	// that cosign the log's checkpoints and their quorum.
	WitnessPolicy string `json:"witness_policy,omitempty"`
}

func (s *Server) wellKnown(c echo.Context) error {
	l := s.logInfo()
	if s.cfg.Log.Origin == "" || len(l.keys) == 0 {
		return echo.NewHTTPError(http.StatusNotFound, "this server publishes no log keys")
	}
	info := WellKnown{LogOrigin: s.cfg.Log.Origin, LogURL: s.cfg.PublicURL + "/log/", WitnessPolicy: s.cfg.Log.WitnessPolicy}
	for _, k := range l.keys {
		info.LogKeys = append(info.LogKeys, k.String())
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
	return c.JSON(http.StatusOK, info)
}

// InclusionProof is the answer of GET /api/v1/log/proof/inclusion.
type InclusionProof struct {
	Index uint64 `json:"index"`
	Size  uint64 `json:"size"`
	// Root is the root hash of the tree of Size entries (base64).
	Root string `json:"root"`
	// Entry is the 32-byte log entry at Index (base64); its leaf hash
	// is SHA-256(0x00 ‖ entry).
	Entry string `json:"entry"`
	// Event is the hash of the event the entry records.
	Event string `json:"event,omitempty"`
	// Proof lists the RFC 6962 inclusion proof (base64), the leaf's
	// sibling first.
	Proof []string `json:"proof"`
}

// ConsistencyProof is the answer of GET /api/v1/log/proof/consistency.
type ConsistencyProof struct {
	From     uint64   `json:"from"`
	To       uint64   `json:"to"`
	FromRoot string   `json:"from_root"`
	ToRoot   string   `json:"to_root"`
	Proof    []string `json:"proof"`
}

func hashStrings(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = h.String()
	}
	return out
}

// uintParam reads an optional non-negative integer query parameter.
func uintParam(c echo.Context, name string) (uint64, bool, error) {
	s := c.QueryParam(name)
	if s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, false, &trace.FieldError{Field: name, Reason: "must be a non-negative integer"}
	}
	return n, true, nil
}

// sizeParam reads a tree size parameter; without one it is the published
// checkpoint's size.
func (s *Server) sizeParam(c echo.Context, v store.LogView, name string) (uint64, error) {
	size, ok, err := uintParam(c, name)
	if err != nil {
		return 0, err
	}
	if !ok {
		var note []byte
		if size, note = s.PublishedCheckpoint(v); note == nil {
			size = v.Size()
		}
	}
	if size > v.Size() {
		return 0, &trace.FieldError{Field: name, Reason: fmt.Sprintf("the log has %d entries", v.Size())}
	}
	return size, nil
}

func (s *Server) inclusionProof(c echo.Context) error {
	index, ok, err := uintParam(c, "index")
	if err != nil {
		return err
	}
	if !ok {
		return &trace.FieldError{Field: "index", Reason: "is required"}
	}
	var res InclusionProof
	err = s.db.ViewLog(func(v store.LogView) error {
		size, err := s.sizeParam(c, v, "size")
		if err != nil {
			return err
		}
		if index >= size {
			return &trace.FieldError{Field: "index", Reason: fmt.Sprintf("must be below the tree size %d", size)}
		}
		proof, err := tlog.ProveInclusion(v, index, size)
		if err != nil {
			return err
		}
		root, err := tlog.RootAt(v, size)
		if err != nil {
			return err
		}
		entry, err := readEntry(v, index)
		if err != nil {
			return err
		}
		res = InclusionProof{Index: index, Size: size, Root: root.String(),
			Entry: base64.StdEncoding.EncodeToString(entry), Proof: hashStrings(proof)}
		if h, ok := v.EventAt(index); ok {
			res.Event = h.String()
		}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// readEntry returns the log entry at index from its entry bundle.
func readEntry(v store.LogView, index uint64) ([]byte, error) {
	b, err := v.ReadBundle(index / tlog.TileWidth)
	if err != nil {
		return nil, err
	}
	entries, err := tlog.ParseBundle(b)
	if err != nil {
		return nil, err
	}
	if i := int(index % tlog.TileWidth); i < len(entries) {
		return entries[i], nil
	}
	return nil, fmt.Errorf("log entry %d: %w", index, trace.ErrNotFound)
}

func (s *Server) consistencyProof(c echo.Context) error {
	from, ok, err := uintParam(c, "from")
	if err != nil {
		return err
	}
	if !ok {
		return &trace.FieldError{Field: "from", Reason: "is required"}
	}
	var res ConsistencyProof
	err = s.db.ViewLog(func(v store.LogView) error {
		to, err := s.sizeParam(c, v, "to")
		if err != nil {
			return err
		}
		if from > to {
			return &trace.FieldError{Field: "from", Reason: fmt.Sprintf("must not exceed to (%d)", to)}
		}
		proof, err := tlog.ProveConsistency(v, from, to)
		if err != nil {
			return err
		}
		fromRoot, err := tlog.RootAt(v, from)
		if err != nil {
			return err
		}
		toRoot, err := tlog.RootAt(v, to)
		if err != nil {
			return err
		}
		res = ConsistencyProof{From: from, To: to, FromRoot: fromRoot.String(), ToRoot: toRoot.String(), Proof: hashStrings(proof)}
		return nil
	})
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, res)
}

// errNotYetLogged is answered when an event is newer than the published
// checkpoint.
var errNotYetLogged = errors.New("the event is not yet covered by a signed checkpoint; try again in a second")

// eventProof serves GET /api/v1/events/{hash}/proof: a C2SP tlog-proof of
// the event's log entry (trace.LogEntry) against the published checkpoint.
func (s *Server) eventProof(c echo.Context) error {
	h, err := trace.ParseHash(c.Param("hash"))
	if err != nil {
		return &trace.FieldError{Field: "hash", Reason: err.Error()}
	}
	var proof *tlog.Proof
	err = s.db.ViewLog(func(v store.LogView) error {
		index, ok := v.EventIndex(h)
		if !ok {
			return fmt.Errorf("event %s: %w", h, trace.ErrNotFound)
		}
		size, note := s.PublishedCheckpoint(v)
		if note == nil || index >= size {
			c.Response().Header().Set("Retry-After", "1")
			return echo.NewHTTPError(http.StatusNotFound, errNotYetLogged.Error())
		}
		var err error
		proof, err = tlog.NewProof(v, index, note, nil)
		return err
	})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
	return c.Blob(http.StatusOK, "text/plain; charset=utf-8", proof.Bytes())
}

// addLogProofs adds the published checkpoint to a history and, for every
// event and registry record it covers, the inclusion proof against it. The
// log indexes come from earlier reads, so every one of them is below the
// log size this view sees, and the proofs match the checkpoint.
func (s *Server) addLogProofs(h *History, events []*store.StoredEvent, records []*store.StoredRecord) error {
	return s.db.ViewLog(func(v store.LogView) error {
		size, note := s.PublishedCheckpoint(v)
		if note == nil {
			return nil
		}
		h.Checkpoint = string(note)
		prove := func(index uint64, entry []byte) ([]string, error) {
			if entry == nil || index >= size {
				return nil, nil
			}
			p, err := tlog.ProveInclusion(v, index, size)
			if err != nil {
				return nil, err
			}
			return hashStrings(p), nil
		}
		for i, st := range events {
			p, err := prove(st.LogIndex, st.LogEntry)
			if err != nil {
				return err
			}
			h.Events[i].InclusionProof = p
		}
		for _, sr := range records {
			p, err := prove(sr.LogIndex, sr.LogEntry)
			if err != nil {
				return err
			}
			for _, r := range h.records() {
				if r.Hash == sr.Hash.String() {
					r.InclusionProof = p
				}
			}
		}
		return nil
	})
}
