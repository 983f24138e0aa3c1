package api

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	fnote "github.com/transparency-dev/formats/note"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"
	"golang.org/x/mod/sumdb/note"
	sumdb "golang.org/x/mod/sumdb/tlog"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

const testOrigin = "trace.example.vn/log"

// logEnv is a test server with log keys and one batch, whose log holds n
// entries: the cooperative's and product's records, the lot's facts, and
// events of the batch for the rest (n = 0: just the first three).
type logEnv struct {
	*testEnv
	keys    *store.LogKeys
	batch   Batch
	entries [][]byte // the log's entries, by index
}

func newLogEnv(t testing.TB, n int, policy string) *logEnv {
	t.Helper()
	lk, err := store.OpenLogKeys(t.TempDir(), testOrigin, true)
	if err != nil {
		t.Fatal(err)
	}
	pub := lk.Public()
	e := newEnv(t, func(c *Config) {
		c.Log = LogInfo{Origin: testOrigin, Ed25519Key: pub[0].String(), MLDSAKey: pub[1].String(), WitnessPolicy: policy}
	})
	_, _, batch := e.seed("HTX Mỹ Xuyên", "8931234567897", "ST25-2025-08")
	le := &logEnv{testEnv: e, keys: lk, batch: batch}
	base, err := e.db.LogSize()
	if err != nil {
		t.Fatal(err)
	}
	le.appendEvents(max(n-int(base), 0))
	return le
}

// appendEvents appends n events to the batch straight through the store,
// from several goroutines so that they commit in groups.
func (le *logEnv) appendEvents(n int) {
	t := le.t
	t.Helper()
	kd, err := store.OpenKeyDir(filepath.Join(filepath.Dir(le.db.Path()), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	signer, err := kd.Signer(le.batch.CooperativeID)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; i < n; i += 8 {
				et, off := trace.FormatEventTime(time.Date(2025, 8, 16, 6, 0, i, 0, time.UTC))
				ev := &trace.Event{Type: trace.ObjectEvent, Cooperative: le.batch.CooperativeID, Batch: le.batch.ID,
					Action: "OBSERVE", BizStep: "storing", EventTime: et, EventTimeZoneOffset: off, Note: fmt.Sprintf("kiểm kho %d", i)}
				if _, err := le.db.Append(context.Background(), store.AppendRequest{Event: ev, Signer: signer}); err != nil {
					t.Error(err)
					return
				}
			}
		}(w)
	}
	wg.Wait()
	le.entries = nil
	err = le.db.ViewLog(func(v store.LogView) error {
		for i := uint64(0); i < v.Size(); i++ {
			e, err := readEntry(v, i)
			if err != nil {
				return err
			}
			le.entries = append(le.entries, bytes.Clone(e))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func (le *logEnv) checkpoint() (uint64, []byte) {
	le.t.Helper()
	size, n, err := le.db.CheckpointLog(le.keys.Sign)
	if err != nil {
		le.t.Fatal(err)
	}
	return size, n
}

// sumdbHashes is an in-memory golang.org/x/mod/sumdb/tlog hash storage of
// the entries: an independent implementation of the tree.
type sumdbHashes []sumdb.Hash

func (h sumdbHashes) ReadHashes(indexes []int64) ([]sumdb.Hash, error) {
	out := make([]sumdb.Hash, len(indexes))
	for i, x := range indexes {
		out[i] = h[x]
	}
	return out, nil
}

func buildSumdb(t *testing.T, entries [][]byte) sumdbHashes {
	var hs sumdbHashes
	for i, e := range entries {
		stored, err := sumdb.StoredHashes(int64(i), e, hs)
		if err != nil {
			t.Fatal(err)
		}
		hs = append(hs, stored...)
	}
	return hs
}

func b64(t *testing.T, s string) []byte {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(s)
	if err != nil {
		t.Fatalf("%q: %v", s, err)
	}
	return b
}

// TestLogCheckpointAndProofs checks /log/checkpoint with the Go checksum
// database's note package (Ed25519) and transparency-dev's ML-DSA-44
// verifier, and the inclusion and consistency proof endpoints with
// transparency-dev/merkle and sumdb/tlog.
func TestLogCheckpointAndProofs(t *testing.T) {
	le := newLogEnv(t, 300, "")
	size1, _ := le.checkpoint()
	le.appendEvents(40)
	size2, _ := le.checkpoint()
	if size1 != 300 || size2 != 340 {
		t.Fatalf("checkpoint sizes %d, %d", size1, size2)
	}
	hs := buildSumdb(t, le.entries)

	r := le.do("GET", "/log/checkpoint", "", nil, true)
	le.expect(r, 200)
	if ct := r.header.Get("Content-Type"); ct != "text/plain; charset=utf-8" {
		t.Errorf("content type %q", ct)
	}
	if cc := r.header.Get("Cache-Control"); cc != checkpointCacheControl {
		t.Errorf("cache control %q", cc)
	}
	if n := strings.Count(string(r.body), "\n\u2014 "+testOrigin+" "); n != 2 {
		t.Fatalf("checkpoint has %d log signature lines:\n%s", n, r.body)
	}
	pub := le.keys.Public()
	edV, err := note.NewVerifier(pub[0].String())
	if err != nil {
		t.Fatal(err)
	}
	n, err := note.Open(r.body, note.VerifierList(edV))
	if err != nil {
		t.Fatalf("sumdb/note: %v", err)
	}
	mlV, err := fnote.NewMLDSAVerifier(pub[1].String())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := note.Open(r.body, note.VerifierList(mlV)); err != nil {
		t.Fatalf("formats/note ML-DSA-44: %v", err)
	}
	th, err := sumdb.TreeHash(int64(size2), hs)
	if err != nil {
		t.Fatal(err)
	}
	if want := fmt.Sprintf("%s\n%d\n%s\n", testOrigin, size2, base64.StdEncoding.EncodeToString(th[:])); n.Text != want {
		t.Fatalf("checkpoint text %q, want %q", n.Text, want)
	}

	hasher := rfc6962.DefaultHasher
	for _, tc := range []struct{ index, size uint64 }{{0, 1}, {0, 300}, {255, 300}, {256, 300}, {299, 340}, {339, 340}, {17, 256}} {
		path := fmt.Sprintf("/api/v1/log/proof/inclusion?index=%d&size=%d", tc.index, tc.size)
		r := le.do("GET", path, "", nil, true)
		le.expect(r, 200)
		var ip InclusionProof
		r.decode(t, &ip)
		if ip.Index != tc.index || ip.Size != tc.size || !bytes.Equal(b64(t, ip.Entry), le.entries[tc.index]) {
			t.Fatalf("%s: %+v", path, ip)
		}
		raw := make([][]byte, len(ip.Proof))
		rp := make(sumdb.RecordProof, len(ip.Proof))
		for i, p := range ip.Proof {
			raw[i] = b64(t, p)
			copy(rp[i][:], raw[i])
		}
		root := b64(t, ip.Root)
		if err := proof.VerifyInclusion(hasher, tc.index, tc.size, hasher.HashLeaf(le.entries[tc.index]), raw, root); err != nil {
			t.Errorf("%s: merkle: %v", path, err)
		}
		var sroot sumdb.Hash
		copy(sroot[:], root)
		if err := sumdb.CheckRecord(rp, int64(tc.size), sroot, int64(tc.index), sumdb.RecordHash(le.entries[tc.index])); err != nil {
			t.Errorf("%s: sumdb: %v", path, err)
		}
		if want, _ := sumdb.TreeHash(int64(tc.size), hs); want != sroot {
			t.Errorf("%s: root differs from sumdb's", path)
		}
	}
	// Without size, the proof is against the published checkpoint.
	r = le.do("GET", "/api/v1/log/proof/inclusion?index=5", "", nil, true)
	le.expect(r, 200)
	var ip InclusionProof
	r.decode(t, &ip)
	if ip.Size != size2 || ip.Event == "" {
		t.Errorf("default size: %+v", ip)
	}

	for _, tc := range []struct{ from, to uint64 }{{0, 340}, {1, 340}, {255, 256}, {256, 340}, {300, 340}, {299, 300}, {340, 340}, {7, 13}} {
		path := fmt.Sprintf("/api/v1/log/proof/consistency?from=%d&to=%d", tc.from, tc.to)
		r := le.do("GET", path, "", nil, true)
		le.expect(r, 200)
		var cp ConsistencyProof
		r.decode(t, &cp)
		raw := make([][]byte, len(cp.Proof))
		tp := make(sumdb.TreeProof, len(cp.Proof))
		for i, p := range cp.Proof {
			raw[i] = b64(t, p)
			copy(tp[i][:], raw[i])
		}
		if err := proof.VerifyConsistency(hasher, tc.from, tc.to, raw, b64(t, cp.FromRoot), b64(t, cp.ToRoot)); err != nil {
			t.Errorf("%s: merkle: %v", path, err)
		}
		if tc.from > 0 {
			var oldRoot, newRoot sumdb.Hash
			copy(oldRoot[:], b64(t, cp.FromRoot))
			copy(newRoot[:], b64(t, cp.ToRoot))
			if err := sumdb.CheckTree(tp, int64(tc.to), newRoot, int64(tc.from), oldRoot); err != nil {
				t.Errorf("%s: sumdb: %v", path, err)
			}
			if want, _ := sumdb.TreeHash(int64(tc.from), hs); want != oldRoot {
				t.Errorf("%s: old root differs from sumdb's", path)
			}
		}
	}

	for _, bad := range []string{"/api/v1/log/proof/inclusion?index=340", "/api/v1/log/proof/inclusion?index=1&size=341",
		"/api/v1/log/proof/consistency?from=10&to=5", "/api/v1/log/proof/inclusion?index=-1"} {
		le.expect(le.do("GET", bad, "", nil, false), 422)
	}
}

// TestLogTiles fetches the served tiles and entry bundles and compares
// them with sumdb/tlog's tiles of the same entries.
func TestLogTiles(t *testing.T) {
	le := newLogEnv(t, 600, "")
	le.checkpoint()
	hs := buildSumdb(t, le.entries)
	size := int64(len(le.entries))
	tiles := []tlog.Tile{{Level: 0, Index: 0, Width: 256}, {Level: 0, Index: 1, Width: 256},
		{Level: 0, Index: 2, Width: 88}, {Level: 0, Index: 2, Width: 5}, {Level: 1, Index: 0, Width: 2}, {Level: 1, Index: 0, Width: 1}}
	tiles = append(tiles, tlog.TilesForSize(uint64(size))...)
	for _, tile := range tiles {
		r := le.do("GET", "/log/"+tile.Path(), "", nil, true)
		le.expect(r, 200)
		if ct := r.header.Get("Content-Type"); ct != "application/octet-stream" {
			t.Errorf("%s: content type %q", tile.Path(), ct)
		}
		wantCC := partialTileCacheControl
		if tile.Width == 256 {
			wantCC = fullTileCacheControl
		}
		if cc := r.header.Get("Cache-Control"); cc != wantCC {
			t.Errorf("%s: cache control %q", tile.Path(), cc)
		}
		if tile.Entries {
			want, _ := tlog.EncodeBundle(le.entries[tile.Index*256 : tile.Index*256+uint64(tile.Width)])
			if !bytes.Equal(r.body, want) {
				t.Errorf("%s: bundle differs", tile.Path())
			}
			continue
		}
		want, err := sumdb.ReadTileData(sumdb.Tile{H: 8, L: tile.Level, N: int64(tile.Index), W: tile.Width}, hs)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(r.body, want) {
			t.Errorf("%s: tile differs from sumdb's", tile.Path())
		}
	}
	for _, e := range []tlog.Tile{{Index: 2, Width: 256, Entries: true}, {Index: 0, Width: 256, Entries: true}} {
		r := le.do("GET", "/log/"+e.Path(), "", nil, true)
		if e.Index == 2 {
			le.expect(r, 404)
			continue
		}
		le.expect(r, 200)
		want, _ := tlog.EncodeBundle(le.entries[:256])
		if !bytes.Equal(r.body, want) {
			t.Errorf("%s differs", e.Path())
		}
	}
	// Tiles the log does not have yet, and spellings C2SP forbids.
	for _, p := range []string{"tile/0/003", "tile/0/002.p/89", "tile/1/000", "tile/2/000.p/1", "tile/0/2", "tile/00/000", "tile/0/000.p/256", "tile/entries/002.p/89"} {
		le.expect(le.do("GET", "/log/"+p, "", nil, false), 404)
	}
}

// TestHistoryLogFields checks the history JSON's checkpoint and per-event
// log fields, the event's tlog-proof, /.well-known/truyxuat.json, and that
// both the offline verifier and POST /api/v1/verify reject an edited proof.
func TestHistoryLogFields(t *testing.T) {
	le := newLogEnv(t, 0, "")
	key := ""
	{
		// Events through the API, so the cooperative's key signs them.
		r := le.do("POST", "/api/v1/cooperatives", le.adminKey, CreateCooperativeRequest{Name: "HTX Thanh Long", Province: "Bình Thuận"}, true)
		le.expect(r, 201)
		var cc CreateCooperativeResponse
		r.decode(t, &cc)
		key = cc.APIKey.Secret
		r = le.do("POST", "/api/v1/products", key, CreateProductRequest{NameVI: "Thanh long ruột đỏ", Category: "fruit"}, true)
		le.expect(r, 201)
		var p Product
		r.decode(t, &p)
		r = le.do("POST", "/api/v1/batches", key, map[string]any{"product_id": p.ID, "lot": "TL-01", "quantity": map[string]any{"value": 500, "unit": "KGM"}}, true)
		le.expect(r, 201)
		r.decode(t, &le.batch)
	}
	for _, step := range []string{"commissioning", "packing"} {
		r := le.do("POST", "/api/v1/batches/"+le.batch.ID+"/events", key, map[string]any{"biz_step": step}, true)
		le.expect(r, 201)
		var ev Event
		r.decode(t, &ev)
		if ev.LogIndex == nil || ev.LogEntry == "" {
			t.Fatalf("appended event has no log fields: %s", r.body)
		}
	}
	// No checkpoint yet: log index and entry, no proof, no checkpoint.
	r := le.do("GET", le.batch.Path, "", nil, true)
	le.expect(r, 200)
	var h History
	r.decode(t, &h)
	if h.Checkpoint != "" || h.Events[0].InclusionProof != nil || h.Events[1].LogIndex == nil {
		t.Fatalf("before a checkpoint: %s", r.body)
	}
	le.checkpoint()
	r = le.do("POST", "/api/v1/batches/"+le.batch.ID+"/events", key, map[string]any{"biz_step": "shipping"}, true)
	le.expect(r, 201)
	r = le.do("GET", le.batch.Path, "", nil, true)
	le.expect(r, 200)
	raw := r.body
	h = History{}
	r.decode(t, &h)
	if h.Checkpoint == "" || h.Events[0].InclusionProof == nil || h.Events[1].InclusionProof == nil {
		t.Fatalf("after a checkpoint: %s", raw)
	}
	if h.Events[3].LogIndex == nil || h.Events[3].LogEntry == "" || h.Events[3].InclusionProof != nil {
		t.Fatalf("an event newer than the checkpoint: %+v", h.Events[3])
	}
	if h.ProductRecord == nil || h.ProductRecord.InclusionProof == nil || h.CooperativeRecord == nil || h.CooperativeRecord.InclusionProof == nil {
		t.Fatalf("the registry records carry no inclusion proofs: %s", raw)
	}
	var verifiers []tlog.Verifier
	for _, k := range le.keys.Public() {
		v, _ := k.Verifier()
		verifiers = append(verifiers, v)
	}
	cv := &tlog.CheckpointVerifier{Origin: testOrigin, Log: verifiers}
	res, err := VerifyBundle(&h, BundleCheck{Log: cv})
	if err != nil {
		t.Fatal(err)
	}
	if res.Checkpoint.Size != 3+2+3 || len(res.Pending) != 1 || res.Pending[0] != 3 {
		t.Errorf("bundle: %+v", res)
	}
	le.expect(le.do("POST", "/api/v1/verify", "", string(raw), true), 200)

	// An edited inclusion proof fails, naming the event.
	var edited History
	json.Unmarshal(raw, &edited)
	p := b64(t, edited.Events[1].InclusionProof[0])
	p[0] ^= 1
	edited.Events[1].InclusionProof[0] = base64.StdEncoding.EncodeToString(p)
	if _, err := VerifyBundle(&edited, BundleCheck{Log: cv}); err == nil || !strings.Contains(err.Error(), "event 1") || !strings.Contains(err.Error(), string(ReasonNotInLog)) {
		t.Errorf("edited proof: %v", err)
	}
	r = le.do("POST", "/api/v1/verify", "", edited, true)
	le.expect(r, 422)
	var prob Problem
	r.decode(t, &prob)
	if prob.Verification == nil || prob.Verification.EventIndex != 1 || prob.Verification.Reason != string(ReasonNotInLog) {
		t.Errorf("problem: %s", r.body)
	}
	// A checkpoint signed by another key fails as a checkpoint.
	other, _ := store.OpenLogKeys(t.TempDir(), testOrigin, true)
	forged := History{}
	json.Unmarshal(raw, &forged)
	c, _ := tlog.ParseCheckpoint(strings.SplitN(forged.Checkpoint, "\n\n", 2)[0] + "\n")
	fake, _ := other.Sign(c.Size, c.Root)
	forged.Checkpoint = string(fake)
	if _, err := VerifyBundle(&forged, BundleCheck{Log: cv}); err == nil || !strings.Contains(err.Error(), "checkpoint") {
		t.Errorf("forged checkpoint: %v", err)
	}
	le.expect(le.do("POST", "/api/v1/verify", "", forged, true), 422)

	// The event's tlog-proof verifies offline, for the entry computed
	// from the event itself.
	ev := h.Events[1]
	r = le.do("GET", "/api/v1/events/"+ev.Hash+"/proof", "", nil, true)
	le.expect(r, 200)
	if !strings.HasPrefix(string(r.body), tlog.ProofHeader+"\nindex ") {
		t.Fatalf("proof: %s", r.body)
	}
	se := res.Signed[1]
	if _, err := tlog.VerifyProof(trace.LogEntry(se), r.body, cv); err != nil {
		t.Errorf("tlog-proof: %v", err)
	}
	// The newest event is not in a checkpoint yet.
	r = le.do("GET", "/api/v1/events/"+h.Events[3].Hash+"/proof", "", nil, true)
	le.expect(r, 404)
	if r.header.Get("Retry-After") != "1" {
		t.Errorf("no Retry-After")
	}
	le.expect(le.do("GET", "/api/v1/events/"+strings.Repeat("ab", 32)+"/proof", "", nil, true), 404)

	r = le.do("GET", "/.well-known/truyxuat.json", "", nil, true)
	le.expect(r, 200)
	var wk WellKnown
	r.decode(t, &wk)
	pub := le.keys.Public()
	if wk.LogOrigin != testOrigin || len(wk.LogKeys) != 2 || wk.LogKeys[0] != pub[0].String() || wk.LogKeys[1] != pub[1].String() ||
		wk.LogURL != "https://trace.example.vn/log/" {
		t.Errorf("well-known: %+v", wk)
	}
	if strings.Contains(string(r.body), "PRIVATE") {
		t.Error("a private key is published")
	}
}

// TestPublishedCheckpointMeetsQuorum: under a policy with a quorum, the
// served checkpoint is the newest one with enough cosignatures.
func TestPublishedCheckpointMeetsQuorum(t *testing.T) {
	wk, err := tlog.GenerateKey(strings.NewReader(strings.Repeat("w", 32)), "witness.example/w1", tlog.TypeCosignatureV1)
	if err != nil {
		t.Fatal(err)
	}
	policy := "witness w1 " + wk.Public().String() + "\nquorum w1\n"
	le := newLogEnv(t, 3, policy)
	size1, note1 := le.checkpoint()
	// Not cosigned yet: the newest is served.
	r := le.do("GET", "/log/checkpoint", "", nil, true)
	if !bytes.Equal(r.body, note1) {
		t.Fatal("uncosigned checkpoint not served")
	}
	// Cosign it.
	w := &tlog.Witness{Cosigners: []tlog.Signer{wk.Signer(nil)}, Logs: map[string][]tlog.Verifier{}}
	for _, k := range le.keys.Public() {
		v, _ := k.Verifier()
		w.Logs[testOrigin] = append(w.Logs[testOrigin], v)
	}
	req := &tlog.AddCheckpointRequest{OldSize: 0, Checkpoint: note1}
	cs, err := w.AddCheckpoint(req.Bytes(), func(string) (tlog.TreeHead, bool, error) { return tlog.TreeHead{}, false, nil })
	if err != nil {
		t.Fatal(err)
	}
	wv, _ := wk.Public().Verifier()
	cosigned, err := tlog.AddCosignatures(note1, cs.Cosignatures, wv)
	if err != nil {
		t.Fatal(err)
	}
	if err := le.db.UpdateCheckpoint(size1, cosigned); err != nil {
		t.Fatal(err)
	}
	// A newer checkpoint without cosignature: the cosigned one is served.
	le.appendEvents(2)
	le.checkpoint()
	r = le.do("GET", "/log/checkpoint", "", nil, true)
	if !bytes.Equal(r.body, cosigned) {
		t.Fatalf("served:\n%s\nwant the cosigned checkpoint of size %d", r.body, size1)
	}
	r = le.do("GET", "/api/v1/log/proof/inclusion?index=0", "", nil, true)
	var ip InclusionProof
	r.decode(t, &ip)
	if ip.Size != size1 {
		t.Errorf("proof against size %d, want %d", ip.Size, size1)
	}
}
