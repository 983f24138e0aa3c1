package store

import (
	"context"
	"crypto/rand"
	"errors"
	"sync"
	"testing"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// TestLogFollowsEvents appends events concurrently and checks that the log
// holds exactly one entry per event, whose proofs an independent verifier
// accepts.
func TestLogFollowsEvents(t *testing.T) {
	db := openTest(t)
	fs := []*fixture{newFixture(t, db, "HTX A"), newFixture(t, db, "HTX B")}
	var wg sync.WaitGroup
	var mu sync.Mutex
	var stored []*StoredEvent
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			f := fs[w%2]
			for i := 0; i < 20; i++ {
				st, err := db.Append(context.Background(), AppendRequest{Event: f.event(i), Signer: f.signer})
				if err != nil {
					t.Error(err)
					return
				}
				mu.Lock()
				stored = append(stored, st)
				mu.Unlock()
			}
		}(w)
	}
	wg.Wait()
	// The log holds every event (the lots' facts records among them) and
	// every registry record, each at the index it was given.
	size, err := db.LogSize()
	if err != nil {
		t.Fatal(err)
	}
	leaves := make([]tlog.Hash, size)
	seen := map[uint64]bool{}
	place := func(idx uint64, entry []byte) {
		if idx >= size || seen[idx] {
			t.Fatalf("log index %d given twice or beyond the log (size %d)", idx, size)
		}
		seen[idx] = true
		leaves[idx] = tlog.LeafHash(entry)
	}
	for _, f := range fs {
		hist, err := db.History(f.batch.ID)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range hist {
			place(st.LogIndex, trace.LogEntry(st.SignedEvent))
		}
		for _, e := range []struct {
			kind trace.RecordKind
			id   string
		}{{trace.KindCooperative, f.coop.ID}, {trace.KindProduct, f.prod.ID}} {
			recs, err := db.Records(e.kind, e.id)
			if err != nil || len(recs) == 0 {
				t.Fatalf("records of %s %s: %d, %v", e.kind, e.id, len(recs), err)
			}
			for _, sr := range recs {
				place(sr.LogIndex, sr.SignedRecord.LogEntry())
			}
		}
	}
	if len(seen) != int(size) || len(stored) != 320 {
		t.Fatalf("log size %d, %d entries found, %d events appended", size, len(seen), len(stored))
	}
	want := tlog.RootFromLeaves(leaves)
	hasher := rfc6962.DefaultHasher
	err = db.ViewLog(func(v LogView) error {
		root, err := tlog.RootAt(v, v.Size())
		if err != nil {
			return err
		}
		if root != want {
			t.Errorf("stored root %x, recomputed %x", root, want)
		}
		for _, st := range stored {
			idx, ok := v.EventIndex(st.Hash)
			if !ok || idx != st.LogIndex {
				t.Fatalf("event index %d %v, want %d", idx, ok, st.LogIndex)
			}
			if h, _ := v.EventAt(idx); h != st.Hash {
				t.Fatalf("log index %d maps to %s", idx, h)
			}
			p, err := tlog.ProveInclusion(v, idx, v.Size())
			if err != nil {
				return err
			}
			raw := make([][]byte, len(p))
			for i := range p {
				raw[i] = p[i][:]
			}
			if err := proof.VerifyInclusion(hasher, idx, v.Size(), hasher.HashLeaf(trace.LogEntry(st.SignedEvent)), raw, root[:]); err != nil {
				t.Fatalf("inclusion of %d: %v", idx, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	// History and EventByHash report each event's log index.
	hist, _ := db.History(fs[0].batch.ID)
	for _, st := range hist {
		if !seen[st.LogIndex] || st.LogEntry == nil {
			t.Fatalf("history event %d has no log index", st.Event.Seq)
		}
	}
}

func TestCheckpointLog(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	key, err := tlog.GenerateKey(rand.Reader, "trace.example.vn/log", tlog.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	signer := key.Signer(nil)
	signs := 0
	sign := func(size uint64, root tlog.Hash) ([]byte, error) {
		signs++
		return tlog.SignCheckpoint(tlog.Checkpoint{Origin: "trace.example.vn/log", Size: size, Root: root}, signer)
	}
	base, _ := db.LogSize() // the registry records and the lot's facts
	f.append(t, 0)
	f.append(t, 1)
	size, note, err := db.CheckpointLog(sign)
	if err != nil || size != base+2 {
		t.Fatalf("checkpoint: %d %v", size, err)
	}
	// Nothing new: the same checkpoint, not a second signature.
	size2, note2, err := db.CheckpointLog(sign)
	if err != nil || size2 != base+2 || string(note2) != string(note) || signs != 1 {
		t.Fatalf("second checkpoint: size %d, signs %d, %v", size2, signs, err)
	}
	f.append(t, 2)
	if size, _, err = db.CheckpointLog(sign); err != nil || size != base+3 {
		t.Fatalf("third checkpoint: %d %v", size, err)
	}
	// A note with other text for a stored size is refused.
	other, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: "trace.example.vn/log", Size: base + 2, Root: tlog.Hash{1}}, signer)
	if err := db.UpdateCheckpoint(base+2, other); !errors.Is(err, ErrCheckpointConflict) {
		t.Errorf("conflicting checkpoint: %v", err)
	}
	if err := db.UpdateCheckpoint(base+2, note); err != nil {
		t.Errorf("same checkpoint: %v", err)
	}
	db.ViewLog(func(v LogView) error {
		if s, n := v.LatestCheckpoint(); s != base+3 || n == nil {
			t.Errorf("latest checkpoint %d", s)
		}
		return nil
	})
}
