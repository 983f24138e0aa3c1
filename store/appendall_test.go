package store

import (
	"context"
	"errors"
	"sync"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

func TestAppendAll(t *testing.T) {
	db := openTest(t)
	a := newFixture(t, db, "HTX A")
	a.append(t, 0)
	// A second batch of the same cooperative, made by drying the first.
	dried := &trace.Batch{CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "ST25-SAY-01", Quantity: trace.Quantity{Value: "1000", Unit: "KGM"}}
	if err := db.CreateBatch(dried); err != nil {
		t.Fatal(err)
	}
	transform := func() *trace.Event {
		e := a.event(10)
		e.Type, e.Action, e.Batch, e.BizStep = trace.TransformationEvent, "", dried.ID, trace.StepDrying
		e.Inputs = []trace.Input{{Batch: a.batch.ID, Quantity: &trace.Quantity{Value: "1250", Unit: "KGM"}}}
		e.Outputs = []trace.Output{{Batch: dried.ID, Quantity: &trace.Quantity{Value: "1000", Unit: "KGM"}}}
		return e
	}

	t.Run("refused whole", func(t *testing.T) {
		bad := a.event(2)
		bad.BizStep = "harvesting"
		other := newFixture(t, db, "HTX B")
		tests := []struct {
			name string
			reqs []AppendRequest
			want error
		}{
			{"invalid second event", []AppendRequest{{Event: a.event(1), Signer: a.signer}, {Event: bad, Signer: a.signer}}, trace.ErrInvalid},
			{"another cooperative's batch", []AppendRequest{{Event: a.event(1), Signer: a.signer}, {Event: func() *trace.Event { e := a.event(3); e.Batch = other.batch.ID; return e }(), Signer: a.signer}}, trace.ErrForbidden},
			{"input hash of another batch", func() []AppendRequest {
				_, otherHead, _ := db.Head(other.batch.ID)
				e := transform()
				e.Inputs[0].Hash = otherHead
				return []AppendRequest{{Event: a.event(1), Signer: a.signer}, {Event: e, Signer: a.signer}}
			}(), trace.ErrInvalid},
			{"a facts record", func() []AppendRequest {
				e := a.event(1)
				e.BizStep = trace.BizStepLotFacts
				return []AppendRequest{{Event: e, Signer: a.signer}}
			}(), trace.ErrInvalid},
			{"unknown batch", []AppendRequest{{Event: a.event(1), Signer: a.signer}, {Event: func() *trace.Event { e := a.event(3); e.Batch = "nope"; return e }(), Signer: a.signer}}, trace.ErrNotFound},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				size, _ := db.LogSize()
				_, err := db.AppendAll(t.Context(), tt.reqs)
				if err == nil || (tt.want != nil && !errors.Is(err, tt.want)) {
					t.Fatalf("err = %v, want %v", err, tt.want)
				}
				if n, _, _ := db.Head(a.batch.ID); n != 2 {
					t.Errorf("batch has %d events after a refused AppendAll", n)
				}
				if s, _ := db.LogSize(); s != size {
					t.Errorf("log grew from %d to %d", size, s)
				}
			})
		}
	})

	// Accepted: two events of the batch, then a transformation whose input
	// head is filled in as the batch stands after them, all in one commit,
	// while single appends go on concurrently.
	var wg sync.WaitGroup
	b := newFixture(t, db, "HTX C")
	before, _ := db.LogSize()
	statsBefore := db.Stats().Appends
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func(i int) {
			defer wg.Done()
			if _, err := db.Append(context.Background(), AppendRequest{Event: b.event(i), Signer: b.signer}); err != nil {
				t.Error(err)
			}
		}(i)
	}
	got, err := db.AppendAll(t.Context(), []AppendRequest{
		{Event: a.event(1), Signer: a.signer, KeyID: "k"},
		{Event: a.event(2), Signer: a.signer, KeyID: "k"},
		{Event: transform(), Signer: a.signer, KeyID: "k"},
	})
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Event.Seq != 2 || got[1].Event.Seq != 3 || got[2].Event.Seq != 1 {
		t.Fatalf("placed %d events: %+v", len(got), got)
	}
	if got[2].Event.Inputs[0].Hash != got[1].Hash {
		t.Errorf("input head %s, want the event before it %s", got[2].Event.Inputs[0].Hash, got[1].Hash)
	}
	hist, err := db.History(a.batch.ID)
	if err != nil || len(hist) != 4 {
		t.Fatalf("history: %d events, %v", len(hist), err)
	}
	signed := []*trace.SignedEvent{hist[0].SignedEvent, hist[1].SignedEvent, hist[2].SignedEvent, hist[3].SignedEvent}
	if err := trace.VerifyHistory(a.batch.ID, signed, func(string) [][]byte { return a.coop.PublicKeys }); err != nil {
		t.Fatal(err)
	}
	// Every event, single or not, is one log entry (beside the lots'
	// facts and the registry records).
	size, _ := db.LogSize()
	if want := before + 3 + 8; size != want {
		t.Fatalf("log size %d, want %d", size, want)
	}
	err = db.ViewLog(func(v LogView) error {
		seen := map[uint64]bool{}
		for _, st := range got {
			idx, ok := v.EventIndex(st.Hash)
			if !ok || idx != st.LogIndex || seen[idx] {
				t.Errorf("event %s: log index %d %v (reported %d)", st.Hash, idx, ok, st.LogIndex)
			}
			seen[idx] = true
			if _, err := tlog.ProveInclusion(v, idx, v.Size()); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if s := db.Stats(); s.Appends != statsBefore+3+8 {
		t.Errorf("stats count %d appends, want %d", s.Appends, statsBefore+3+8)
	}
}
