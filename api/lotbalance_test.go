package api

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// lot registers a lot of the product with its harvest and returns it.
func (e *testEnv) lot(key, productID, lot, value, unit string) Batch {
	e.t.Helper()
	r := e.do("POST", "/api/v1/batches", key, map[string]any{"product_id": productID, "lot": lot,
		"quantity": map[string]any{"value": value, "unit": unit}}, true)
	e.expect(r, 201)
	var b Batch
	r.decode(e.t, &b)
	e.expect(e.do("POST", "/api/v1/batches/"+b.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"event_time": "2025-08-15T06:30:00+07:00"}, true), 201)
	return b
}

func qty(v, unit string) map[string]any { return map[string]any{"value": v, "unit": unit} }

func TestOverdrawOverALotsLife(t *testing.T) {
	e := newEnv(t)
	key, _, seeded := e.seed("HTX A", "8931234567897", "LOT-0")
	a := e.lot(key, seeded.ProductID, "ST25-2508-A", "6200", "KGM")
	b := e.lot(key, seeded.ProductID, "ST25-2508-B", "6200", "KGM")
	// 3,000 kg of A milled.
	e.expect(e.do("POST", "/api/v1/transformations", key, map[string]any{"kind": "process", "biz_step": trace.StepMilling,
		"event_time": "2025-08-22T08:00:00+07:00",
		"inputs":     []any{map[string]any{"batch": a.ID, "quantity": qty("3000", "KGM")}},
		"outputs":    []any{map[string]any{"lot": "ST25-XAY-1", "quantity": qty("2000", "KGM")}}, "loss": qty("1000", "KGM")}, true), 201)
	size, _ := e.db.LogSize()
	merge := func(fromA string, loss map[string]any) map[string]any {
		m := map[string]any{"kind": "merge", "event_time": "2025-09-01T08:00:00+07:00",
			"inputs": []any{map[string]any{"batch": a.ID, "quantity": qty(fromA, "KGM")},
				map[string]any{"batch": b.ID, "quantity": qty("6.2", "TNE")}},
			"outputs": []any{map[string]any{"lot": "ST25-MIX-1", "quantity": qty("9400", "KGM")}}}
		if loss != nil {
			m["loss"] = loss
		}
		return m
	}
	// Another 6,200 kg from A is refused, in the clerk's language.
	r := e.do("POST", "/api/v1/transformations", key, merge("6200", qty("3000", "KGM")), true)
	e.expect(r, 422)
	var p Problem
	r.decode(t, &p)
	want := "Lô ST25-2508-A có 6.200 kg, đã lấy ra 3.000 kg qua các lần chia, gộp, chế biến trước; không thể lấy thêm 6.200 kg vì lô chỉ còn 3.200 kg."
	if p.Detail != want || len(p.Errors) != 1 || p.Errors[0].Field != "inputs[0].quantity" || p.Errors[0].Detail != want {
		t.Errorf("over-draw problem: %+v", p)
	}
	if after, _ := e.db.LogSize(); after != size {
		t.Errorf("the refused merge grew the log from %d to %d", size, after)
	}
	r = e.do("GET", "/api/v1/batches?limit=50", "", nil, true)
	if strings.Contains(string(r.body), "ST25-MIX-1") {
		t.Error("the refused merge left its output lot")
	}
	// What is left may be taken.
	e.expect(e.do("POST", "/api/v1/transformations", key, merge("3200", nil), true), 201)

	// Litres, with a decimal comma.
	oil := e.lot(key, seeded.ProductID, "DAU-1", "1", "LTR")
	e.expect(e.do("POST", "/api/v1/transformations", key, map[string]any{"kind": "split",
		"inputs":  []any{map[string]any{"batch": oil.ID, "quantity": qty("600", "MLT")}},
		"outputs": []any{map[string]any{"lot": "DAU-1-A", "quantity": qty("0.3", "LTR")}, map[string]any{"lot": "DAU-1-B", "quantity": qty("0.3", "LTR")}}}, true), 201)
	r = e.do("POST", "/api/v1/transformations", key, map[string]any{"kind": "split",
		"inputs":  []any{map[string]any{"batch": oil.ID, "quantity": qty("0.5", "LTR")}},
		"outputs": []any{map[string]any{"lot": "DAU-1-C", "quantity": qty("0.25", "LTR")}, map[string]any{"lot": "DAU-1-D", "quantity": qty("0.25", "LTR")}}}, true)
	e.expect(r, 422)
	r.decode(t, &p)
	if want := "Lô DAU-1 có 1 lít, đã lấy ra 0,6 lít qua các lần chia, gộp, chế biến trước; không thể lấy thêm 0,5 lít vì lô chỉ còn 0,4 lít."; p.Detail != want {
		t.Errorf("over-draw in litres: %s", p.Detail)
	}
}

func TestOverdrawnLotIsAFinding(t *testing.T) {
	e := newEnv(t)
	key, coop, a := e.seed("HTX A", "8931234567897", "LOT-A")
	e.expect(e.do("POST", "/api/v1/batches/"+a.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"event_time": "2025-08-15T06:30:00+07:00"}, true), 201)
	n, head, err := e.db.Head(a.ID)
	if err != nil || n != 2 { // the lot's facts and its harvest
		t.Fatal(n, err)
	}
	c, err := e.db.Cooperative(coop.ID)
	if err != nil {
		t.Fatal(err)
	}
	// Two millings of 1,000 kg each from A's 1,250 kg, written before
	// over-draws were refused.
	var planted []string
	e.restart(func(path string) error {
		keys, err := store.OpenKeyDir(filepath.Join(filepath.Dir(path), "keys"))
		if err != nil {
			return err
		}
		signer, err := keys.Signer(c.ID)
		if err != nil {
			return err
		}
		for i, lot := range []string{"OLD-XAY-1", "OLD-XAY-2"} {
			out := &trace.Batch{ID: store.NewID(), CooperativeID: c.ID, ProductID: a.ProductID, Lot: lot, Quantity: trace.Quantity{Value: "1000", Unit: "KGM"}}
			q := &trace.Quantity{Value: "1000", Unit: "KGM"}
			se, err := signer.Sign(&trace.Event{Type: trace.TransformationEvent, Cooperative: c.ID, Batch: out.ID, BizStep: trace.StepMilling,
				EventTime: []string{"2025-08-20T08:00:00+07:00", "2025-08-25T08:00:00+07:00"}[i], EventTimeZoneOffset: "+07:00",
				Inputs: []trace.Input{{Batch: a.ID, Hash: head, Quantity: q}}, Outputs: []trace.Output{{Batch: out.ID, Quantity: q}}})
			if err != nil {
				return err
			}
			if err := store.PlantEvents(path, []*trace.Batch{out}, []*trace.SignedEvent{se}); err != nil {
				return err
			}
			planted = append(planted, se.Hash.String())
		}
		return nil
	})
	r := e.do("GET", "/api/v1/inspections/findings", e.adminKey, nil, true)
	e.expect(r, 200)
	var res struct {
		Findings []trace.Finding
	}
	r.decode(t, &res)
	var got []trace.Finding
	for _, f := range res.Findings {
		if f.Kind == trace.FindingOverdrawn {
			got = append(got, f)
		}
	}
	if len(got) != 1 {
		t.Fatalf("over-drawn findings %+v (all: %+v)", got, res.Findings)
	}
	f := got[0]
	if f.Batches[0] != a.ID || f.Severity != "high" || f.Evidence["lot"] != "LOT-A" || f.Evidence["held"] != "1250" ||
		f.Evidence["taken"] != "2000" || f.Evidence["over"] != "750" || strings.Join(f.Events, ",") != strings.Join(planted, ",") {
		t.Errorf("finding %+v", f)
	}
	// Scoped to the lot, it is found too; and nothing more is taken from it.
	r = e.do("GET", "/api/v1/inspections/findings?batch="+a.ID, e.adminKey, nil, true)
	if !strings.Contains(string(r.body), `"kind":"overdrawn_lot"`) {
		t.Errorf("findings of the lot: %s", r.body)
	}
	r = e.do("POST", "/api/v1/transformations", key, map[string]any{"kind": "process", "biz_step": trace.StepMilling,
		"inputs":  []any{map[string]any{"batch": a.ID, "quantity": qty("1", "KGM")}},
		"outputs": []any{map[string]any{"lot": "NEW-XAY", "quantity": qty("1", "KGM")}}}, true)
	e.expect(r, 422)
	if !strings.Contains(string(r.body), "Lô LOT-A có 1.250 kg, đã lấy ra 2.000 kg") || !strings.Contains(string(r.body), "chỉ còn 0 kg") {
		t.Errorf("a draw from an over-drawn lot: %s", r.body)
	}

}
