package store

import (
	"context"
	"errors"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
)

func TestApplyMergeLineageRecall(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	second := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "ST25-2025-09", Quantity: trace.Quantity{Value: "400", Unit: "KGM"}}
	if err := db.CreateBatch(second); err != nil {
		t.Fatal(err)
	}
	a := f.append(t, 0)
	bf := &fixture{db: db, coop: f.coop, prod: f.prod, batch: second, signer: f.signer}
	b := bf.append(t, 0)

	out := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "ST25-XAY-01", Quantity: trace.Quantity{Value: "950", Unit: "KGM"}, ID: "merged-1"}
	et, off := "2025-08-20T10:00:00+07:00", "+07:00"
	merge := &trace.Event{Type: trace.TransformationEvent, Cooperative: f.coop.ID, Batch: out.ID,
		BizStep: trace.StepMerging, EventTime: et, EventTimeZoneOffset: off,
		Inputs: []trace.Input{
			{Batch: f.batch.ID, Hash: a.Hash, Quantity: &trace.Quantity{Value: "600", Unit: "KGM"}},
			{Batch: second.ID, Hash: b.Hash, Quantity: &trace.Quantity{Value: "400", Unit: "KGM"}},
		},
		Outputs: []trace.Output{{Batch: out.ID, Quantity: &trace.Quantity{Value: "950", Unit: "KGM"}}},
		Loss:    &trace.Quantity{Value: "50", Unit: "KGM"},
	}
	// A change with a bad part is refused whole.
	dup := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "ST25-XAY-01", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
	_, err := db.Apply(context.Background(), Change{NewBatches: []*trace.Batch{out, dup}})
	if !errors.Is(err, trace.ErrConflict) {
		t.Fatalf("duplicate lot in one change: %v", err)
	}
	if _, err := db.Batch(out.ID); !errors.Is(err, trace.ErrNotFound) {
		t.Fatalf("refused change left batch %s: %v", out.ID, err)
	}
	stored, err := db.Apply(context.Background(), Change{NewBatches: []*trace.Batch{out},
		Events: []AppendRequest{{Event: merge, Signer: f.signer}}})
	if err != nil {
		t.Fatal(err)
	}
	if len(stored) != 1 || stored[0].Event.Seq != 1 {
		t.Fatalf("stored %+v", stored)
	}
	l, err := db.Lineage(out.ID)
	if err != nil || len(l.Upstream) != 2 || len(l.Downstream) != 0 {
		t.Fatalf("lineage of the merged lot: %+v %v", l, err)
	}
	if l, _ := db.Lineage(f.batch.ID); len(l.Downstream) != 1 || l.Downstream[0] != out.ID {
		t.Fatalf("downstream of an input: %+v", l)
	}
	// A recall on an input reaches the merged lot.
	recall := f.event(5)
	recall.BizStep, recall.Disposition = "inspecting", "recalled"
	if _, err := db.Append(context.Background(), AppendRequest{Event: recall, Signer: f.signer}); err != nil {
		t.Fatal(err)
	}
	rs, err := db.Recalls(out.ID)
	if err != nil || len(rs) != 1 || rs[0].Batch != f.batch.ID {
		t.Fatalf("recalls of the merged lot: %+v %v", rs, err)
	}
	if n, _ := db.RecallCount(); n != 1 {
		t.Errorf("recall count %d", n)
	}
	if rs, _ := db.Recalls(second.ID); len(rs) != 0 {
		t.Errorf("the other input is not recalled: %+v", rs)
	}
	// Four events, three facts records (one per lot), and the registry
	// records of the cooperative and its product.
	if size, _ := db.LogSize(); size != 4+3+2 {
		t.Errorf("log size %d, want 9 entries", size)
	}
}
