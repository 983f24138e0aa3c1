package store

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// legacyDir is a data directory made by truyxuat before the events were
// keyed by their log index (file layout, schema version 1): see
// TestMakeLegacyFixture.
const legacyDir = "testdata/legacy-v1"

// TestMakeLegacyFixture writes a small data directory (the bbolt file, its
// keys and its published checkpoint) into $TRUYXUAT_MAKE_FIXTURE: three
// cooperatives' lots with interleaved events, a facts restatement, a
// transformation, a recall, registry revisions and two checkpoints. The
// files in testdata/legacy-v1 were made by it on the code of schema
// version 1 and must not be made again: they are what an existing
// installation holds.
func TestMakeLegacyFixture(t *testing.T) {
	dir := os.Getenv("TRUYXUAT_MAKE_FIXTURE")
	if dir == "" {
		t.Skip("set TRUYXUAT_MAKE_FIXTURE to a directory to make a data directory of the current layout")
	}
	ctx := context.Background()
	db, err := Open(filepath.Join(dir, "truyxuat.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sign := testCheckpointer(t)
	fs := []*fixture{newFixture(t, db, "HTX Mỹ Xuyên"), newFixture(t, db, "HTX Long Phú")}
	more := &trace.Batch{CooperativeID: fs[0].coop.ID, ProductID: fs[0].prod.ID, Lot: "ST25-2025-09",
		Quantity: trace.Quantity{Value: "800", Unit: "KGM"}, HarvestDate: "2025-09-02"}
	if err := db.CreateBatch(more); err != nil {
		t.Fatal(err)
	}
	fs = append(fs, &fixture{db: db, coop: fs[0].coop, prod: fs[0].prod, batch: more, signer: fs[0].signer})
	for i := 1; i <= 12; i++ {
		for j, f := range fs {
			if (i+j)%3 != 0 {
				f.append(t, i)
			}
		}
		if i == 5 {
			checkpoint(t, db, sign)
		}
	}
	if _, err := db.RestateFacts(ctx, fs[1].batch.ID, &trace.LotFacts{Quantity: trace.Quantity{Value: "1200", Unit: "KGM"}, HarvestDate: "2025-08-16"}, "key-test"); err != nil {
		t.Fatal(err)
	}
	renamed := *fs[0].prod
	renamed.NameVI = "Gạo ST25 thơm"
	if err := db.UpdateProduct(&renamed, "key-test"); err != nil {
		t.Fatal(err)
	}
	hist, err := db.History(fs[0].batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := &trace.Batch{ID: "xay-" + fs[0].batch.ID, CooperativeID: fs[0].coop.ID, ProductID: fs[0].prod.ID, Lot: "ST25-XAY-01",
		Quantity: trace.Quantity{Value: "100", Unit: "KGM"}}
	if _, err := db.Apply(ctx, Change{NewBatches: []*trace.Batch{out},
		Events: []AppendRequest{{Event: transformation(fs[0], out, hist[len(hist)-1].Hash, "100"), Signer: fs[0].signer, KeyID: "key-test"}}}); err != nil {
		t.Fatal(err)
	}
	recall := fs[2].event(40)
	recall.BizStep, recall.Disposition, recall.Note = trace.StepRecalling, "recalled", "thu hồi lô"
	if _, err := db.Append(ctx, AppendRequest{Event: recall, Signer: fs[2].signer, KeyID: "key-test"}); err != nil {
		t.Fatal(err)
	}
	fs[1].append(t, 41)
	size := checkpoint(t, db, sign)
	want := legacyExpect{Size: size}
	err = db.ViewLog(func(v LogView) error {
		root, err := tlog.RootAt(v, size)
		want.Root = root.String()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(fs, &fixture{batch: out}) {
		hist, err := db.History(f.batch.ID)
		if err != nil {
			t.Fatal(err)
		}
		var chain []legacyEvent
		for _, st := range hist {
			chain = append(chain, legacyEvent{Hash: st.Hash.String(), LogIndex: st.LogIndex})
		}
		want.Batches = append(want.Batches, legacyBatch{ID: f.batch.ID, Events: chain})
	}
	raw, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "expected.json"), append(raw, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("made %s: %d log entries\n", dir, size)
}

// legacyExpect is what the fixture's store held when it was made:
// expected.json beside it.
type legacyExpect struct {
	Size    uint64        `json:"size"`
	Root    string        `json:"root"`
	Batches []legacyBatch `json:"batches"`
}

type legacyBatch struct {
	ID     string        `json:"id"`
	Events []legacyEvent `json:"events"`
}

type legacyEvent struct {
	Hash     string `json:"hash"`
	LogIndex uint64 `json:"log_index"`
}
