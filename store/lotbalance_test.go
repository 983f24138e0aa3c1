package store

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
)

// lots makes batches of f's product with a harvest each, and returns
// them with their heads.
func (f *fixture) lots(t testing.TB, kg ...string) ([]*trace.Batch, []trace.Hash) {
	t.Helper()
	var bts []*trace.Batch
	var heads []trace.Hash
	for i, q := range kg {
		bt := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: fmt.Sprintf("LOT-%d-%s", i, NewID()[:6]),
			Quantity: trace.Quantity{Value: trace.Decimal(q), Unit: "KGM"}}
		if err := f.db.CreateBatch(bt); err != nil {
			t.Fatal(err)
		}
		lf := &fixture{db: f.db, coop: f.coop, prod: f.prod, batch: bt, signer: f.signer}
		bts = append(bts, bt)
		heads = append(heads, lf.append(t, 0).Hash)
	}
	return bts, heads
}

type draw struct {
	from *trace.Batch
	head trace.Hash
	kg   string
}

// take records a transformation of the draws into new lots of the given
// kilograms, one event per output as the API records it.
func (f *fixture) take(at string, draws []draw, outKg ...string) ([]*trace.Batch, error) {
	var ins []trace.Input
	for _, d := range draws {
		ins = append(ins, trace.Input{Batch: d.from.ID, Hash: d.head, Quantity: &trace.Quantity{Value: trace.Decimal(d.kg), Unit: "KGM"}})
	}
	var ch Change
	var outs []trace.Output
	for _, kg := range outKg {
		bt := &trace.Batch{ID: NewID(), CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "OUT-" + NewID()[:8],
			Quantity: trace.Quantity{Value: trace.Decimal(kg), Unit: "KGM"}}
		ch.NewBatches = append(ch.NewBatches, bt)
		outs = append(outs, trace.Output{Batch: bt.ID, Quantity: &bt.Quantity})
	}
	for _, bt := range ch.NewBatches {
		e := &trace.Event{Type: trace.TransformationEvent, Cooperative: f.coop.ID, Batch: bt.ID, BizStep: trace.StepMilling,
			EventTime: at, EventTimeZoneOffset: "+07:00", Inputs: ins, Outputs: outs}
		ch.Events = append(ch.Events, AppendRequest{Event: e, Signer: f.signer})
	}
	_, err := f.db.Apply(context.Background(), ch)
	return ch.NewBatches, err
}

func TestOverdrawIsRefused(t *testing.T) {
	db := openClosable(t)
	f := newFixture(t, db, "HTX A")
	lots, heads := f.lots(t, "6200", "6200")
	a, b := lots[0], lots[1]
	// 3,000 kg of A milled.
	if _, err := f.take("2025-08-22T08:00:00+07:00", []draw{{a, heads[0], "3000"}}, "3000"); err != nil {
		t.Fatal(err)
	}
	size, _ := db.LogSize()
	// A merge of all 6,200 kg of A with B is refused, naming A's lot.
	outs, err := f.take("2025-09-01T08:00:00+07:00", []draw{{b, heads[1], "6200"}, {a, heads[0], "6200"}}, "12400")
	var od *trace.OverdrawError
	if !errors.As(err, &od) || !errors.Is(err, trace.ErrInvalid) {
		t.Fatalf("over-draw: %v", err)
	}
	if od.Lot != a.Lot || od.Held != "6200" || od.Taken != "3000" || od.Asked != "6200" || od.Field != "inputs[1].quantity" {
		t.Errorf("over-draw %+v", od)
	}
	if !strings.Contains(od.Error(), "Lô "+a.Lot+" có 6.200 kg, đã lấy ra 3.000 kg") {
		t.Errorf("message: %s", od)
	}
	if _, err := db.Batch(outs[0].ID); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("the refused merge left its output: %v", err)
	}
	if after, _ := db.LogSize(); after != size {
		t.Errorf("log size %d after a refused merge, was %d", after, size)
	}
	// What is left may be taken; then nothing more.
	if _, err := f.take("2025-09-01T08:00:00+07:00", []draw{{b, heads[1], "6200"}, {a, heads[0], "3200"}}, "9400"); err != nil {
		t.Fatalf("drawing what is left: %v", err)
	}
	if _, err := f.take("2025-09-02T08:00:00+07:00", []draw{{a, heads[0], "0.001"}}, "0.001"); !errors.As(err, &od) || od.Taken != "6200" {
		t.Errorf("a gram from an empty lot: %v", err)
	}
	// The balance is read again from the file after a restart.
	path := db.Path()
	db.Close()
	db2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	f.db = db2
	if _, err := f.take("2025-09-02T08:00:00+07:00", []draw{{a, heads[0], "1"}}, "1"); !errors.As(err, &od) {
		t.Errorf("after a restart, a draw from an empty lot: %v", err)
	}
	lb, err := db2.LotBalance(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if held, taken, _, ok := lb.Totals(); !ok || held.RatString() != "6200" || taken.RatString() != "6200" || len(lb.Out) != 2 {
		t.Errorf("balance of A: held %v taken %v, %d draws", held, taken, len(lb.Out))
	}
}

func TestSplitIsOneDraw(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	lots, heads := f.lots(t, "1000")
	// Three outputs, three events, one draw of 1,000 kg.
	outs, err := f.take("2025-08-20T10:00:00+07:00", []draw{{lots[0], heads[0], "1000"}}, "500", "300", "200")
	if err != nil {
		t.Fatalf("split of a whole lot: %v", err)
	}
	lb, err := db.LotBalance(lots[0].ID)
	if err != nil || len(lb.Out) != 1 {
		t.Fatalf("balance after a split: %+v %v", lb, err)
	}
	// An output holds what the split put into it.
	_, head, err := db.Head(outs[1].ID)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.take("2025-08-21T10:00:00+07:00", []draw{{outs[1], head, "300.5"}}, "300.5"); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("taking 300.5 kg from a 300 kg output: %v", err)
	}
}

func TestConcurrentDrawsNeverOverdraw(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	lots, heads := f.lots(t, "1000")
	var wg sync.WaitGroup
	var mu sync.Mutex
	ok, refused := 0, 0
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := f.take(fmt.Sprintf("2025-08-20T10:%02d:00+07:00", i), []draw{{lots[0], heads[0], "150"}}, "150")
			mu.Lock()
			defer mu.Unlock()
			var od *trace.OverdrawError
			switch {
			case err == nil:
				ok++
			case errors.As(err, &od):
				refused++
			default:
				t.Errorf("draw %d: %v", i, err)
			}
		}()
	}
	wg.Wait()
	if ok != 6 || refused != 4 {
		t.Errorf("%d draws of 150 kg from 1,000 kg accepted, %d refused; want 6 and 4", ok, refused)
	}
}

func TestAppendAllCountsItsOwnDraws(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	lots, heads := f.lots(t, "1000")
	var reqs []AppendRequest
	for i := 0; i < 2; i++ {
		bt := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: fmt.Sprintf("EPCIS-%d", i), Quantity: trace.Quantity{Value: "600", Unit: "KGM"}}
		if err := db.CreateBatch(bt); err != nil {
			t.Fatal(err)
		}
		q := &trace.Quantity{Value: "600", Unit: "KGM"}
		reqs = append(reqs, AppendRequest{Signer: f.signer, Event: &trace.Event{Type: trace.TransformationEvent, Cooperative: f.coop.ID, Batch: bt.ID,
			BizStep: trace.StepSplitting, EventTime: fmt.Sprintf("2025-08-20T10:0%d:00+07:00", i), EventTimeZoneOffset: "+07:00",
			Inputs: []trace.Input{{Batch: lots[0].ID, Hash: heads[0], Quantity: q}}, Outputs: []trace.Output{{Batch: bt.ID, Quantity: q}}}})
	}
	_, err := db.AppendAll(context.Background(), reqs)
	var od *trace.OverdrawError
	if !errors.As(err, &od) || od.Taken != "600" || od.Asked != "600" {
		t.Fatalf("two draws of 600 kg from 1,000 kg in one call: %v", err)
	}
	if _, err := db.AppendAll(context.Background(), reqs[:1]); err != nil {
		t.Fatalf("one draw: %v", err)
	}
}

func TestPlantedOverdrawIsReported(t *testing.T) {
	path, a, b, heads := damagedFile(t)
	// A milling of 1,000 kg from A's 1,250 kg, written around the check.
	out := &trace.Batch{ID: "planted-out", CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "PLANTED-1", Quantity: trace.Quantity{Value: "1000", Unit: "KGM"}}
	var events []*trace.SignedEvent
	for i, bt := range []*trace.Batch{out, {ID: "planted-out-2", CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "PLANTED-2", Quantity: trace.Quantity{Value: "1000", Unit: "KGM"}}} {
		e := transformation(a, bt, heads[2].Hash, "1000")
		e.EventTime = fmt.Sprintf("2025-08-2%dT10:00:00+07:00", i)
		se, err := a.signer.Sign(e)
		if err != nil {
			t.Fatal(err)
		}
		if err := PlantEvents(path, []*trace.Batch{bt}, []*trace.SignedEvent{se}); err != nil {
			t.Fatal(err)
		}
		events = append(events, se)
	}
	db, _ := reopen(t, path, a, b)
	lb, err := db.LotBalance(a.batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	held, taken, _, over := lb.Overdrawn()
	if !over || held.RatString() != "1250" || taken.RatString() != "2000" {
		t.Fatalf("planted over-draw: held %v taken %v over %v", held, taken, over)
	}
	fs := trace.CheckLotBalance(lb, a.coop.ID)
	if len(fs) != 1 || fs[0].Events[0] != events[0].Hash.String() {
		t.Errorf("finding %+v", fs)
	}
	// Nothing more is taken from it.
	out3 := &trace.Batch{ID: "after-plant", CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "AFTER-1", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
	_, err = db.Apply(context.Background(), Change{NewBatches: []*trace.Batch{out3},
		Events: []AppendRequest{{Event: transformation(a, out3, heads[2].Hash, "1"), Signer: a.signer}}})
	var od *trace.OverdrawError
	if !errors.As(err, &od) || od.Left() != "0" {
		t.Errorf("a draw from an over-drawn lot: %v", err)
	}
}

func TestDamagedDownstreamChainRefusesDraws(t *testing.T) {
	db := openClosable(t)
	f := newFixture(t, db, "HTX A")
	lots, heads := f.lots(t, "1000")
	outs, err := f.take("2025-08-20T10:00:00+07:00", []draw{{lots[0], heads[0], "100"}}, "100")
	if err != nil {
		t.Fatal(err)
	}
	path := db.Path()
	db.Close()
	if err := AlterEvent(path, outs[0].ID, 1, func(b []byte) []byte { // its transformation, after its facts
		return []byte(strings.Replace(string(b), `"value":"100"`, `"value":"1"`, 1))
	}); err != nil {
		t.Fatal(err)
	}
	db2, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db2.Close()
	f.db = db2
	_, err = f.take("2025-08-21T10:00:00+07:00", []draw{{lots[0], heads[0], "10"}}, "10")
	var de *DamagedError
	if !errors.As(err, &de) || de.Batch != outs[0].ID || !strings.Contains(err.Error(), "transformations taking from batch "+lots[0].ID+" are refused") {
		t.Errorf("a draw whose balance reads a damaged chain: %v", err)
	}
}

// openClosable opens a store the test closes and reopens itself.
func openClosable(t *testing.T) *DB {
	t.Helper()
	db, err := Open(filepath.Join(t.TempDir(), "truyxuat.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}
