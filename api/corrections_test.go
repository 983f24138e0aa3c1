package api

import (
	"strings"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/trace"
)

// A step recorded with a typo is corrected by a new signed event: the
// history keeps both, readers show the correction in its place, and the
// findings judge the corrected values.
func TestCorrections(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-C")
	keyB, _, _ := e.seed("HTX B", "8931234567880", "LOT-X")
	ev := func(body map[string]any) Event {
		t.Helper()
		r := e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, body, true)
		e.expect(r, 201)
		var out Event
		r.decode(t, &out)
		return out
	}
	spray := ev(map[string]any{"biz_step": trace.StepSpraying, "event_time": "2025-08-01T07:00:00+07:00",
		"data": map[string]string{"product": "Filia 525SE", "active_ingredient": "Propiconazole", "dose": "4 l/ha", "phi_days": "14"}})
	harvest := ev(map[string]any{"biz_step": "commissioning", "event_time": "2025-08-20T06:00:00+07:00",
		"quantity": map[string]any{"value": 950, "unit": "KGM"}})
	correct := func(k string, body map[string]any, status int) *response {
		t.Helper()
		r := e.do("POST", "/api/v1/batches/"+batch.ID+"/corrections", k, body, status != 400)
		e.expect(r, status)
		return r
	}
	// The dose was 0.4, not 4.
	r := correct(key, map[string]any{"corrects": spray.Hash, "reason": "gõ thiếu dấu phẩy", "values": map[string]string{"dose": "0,4 l/ha"}}, 201)
	var fixed struct{ Event Event }
	r.decode(t, &fixed)
	d := fixed.Event.Data
	if d[trace.DataCorrects] != spray.Hash || d[trace.DataCorrectionReason] != "gõ thiếu dấu phẩy" || d["dose"] != "0,4 l/ha" ||
		d["product"] != "Filia 525SE" || fixed.Event.EventTime != spray.EventTime || fixed.Event.BizStep != trace.StepSpraying {
		t.Fatalf("correction %+v", fixed.Event)
	}
	if _, err := time.Parse(time.RFC3339, d[trace.DataCorrectedAt]); err != nil {
		t.Errorf("corrected_at %q", d[trace.DataCorrectedAt])
	}
	// Refusals: no reason, another cooperative, an unknown event, a
	// correction of a correction, a lot's facts, a time in the future, a
	// field the correction sets itself.
	correct(key, map[string]any{"corrects": spray.Hash, "reason": " "}, 422)
	correct(keyB, map[string]any{"corrects": spray.Hash, "reason": "x"}, 403)
	correct(key, map[string]any{"corrects": strings.Repeat("ab", 32), "reason": "x"}, 422)
	correct(key, map[string]any{"corrects": fixed.Event.Hash, "reason": "x"}, 422)
	var h History
	e.do("GET", "/api/v1/batches/"+batch.ID, "", nil, true).decode(t, &h)
	correct(key, map[string]any{"corrects": h.Events[0].Hash, "reason": "x"}, 422)
	future := time.Now().Add(2 * time.Hour).Format(time.RFC3339)
	r = correct(key, map[string]any{"corrects": harvest.Hash, "reason": "x", "event_time": future}, 422)
	if !strings.Contains(string(r.body), "chưa tới") {
		t.Errorf("a future time: %s", r.body)
	}
	correct(key, map[string]any{"corrects": harvest.Hash, "reason": "x", "values": map[string]string{"corrects": "x"}}, 422)
	// The harvest was really on 10/08, inside the spraying's 14 days: the
	// correction needs the reason a new harvest would.
	r = correct(key, map[string]any{"corrects": harvest.Hash, "reason": "ghi nhầm ngày", "event_time": "2025-08-10T06:00:00+07:00"}, 422)
	if !strings.Contains(string(r.body), "Chưa hết thời gian cách ly") {
		t.Errorf("a corrected harvest inside the interval: %s", r.body)
	}
	correct(key, map[string]any{"corrects": harvest.Hash, "reason": "ghi nhầm ngày", "event_time": "2025-08-10T06:00:00+07:00",
		"values": map[string]string{trace.DataIntervalOverride: "mưa lớn, lúa đổ"}}, 201)
	// Both corrections are in the signed history; readers show them in
	// their places; the findings judge them.
	e.do("GET", "/api/v1/batches/"+batch.ID, "", nil, true).decode(t, &h)
	if len(h.Events) != 5 || !h.Verified {
		t.Fatalf("history has %d events, verified %v", len(h.Events), h.Verified)
	}
	var signed []*trace.SignedEvent
	for _, ev := range h.Events {
		se, err := ev.signed()
		if err != nil {
			t.Fatal(err)
		}
		if se.Event, err = trace.Decode(se.Body); err != nil {
			t.Fatal(err)
		}
		signed = append(signed, se)
	}
	eff := trace.EffectiveEvents(signed)
	if len(eff) != 3 || !eff[1].Corrected() || eff[1].Shown.Event.Data["dose"] != "0,4 l/ha" || eff[2].Shown.Event.EventTime != "2025-08-10T06:00:00+07:00" {
		t.Errorf("as shown: %d events", len(eff))
	}
	r = e.do("GET", "/api/v1/inspections/findings?batch="+batch.ID, e.adminKey, nil, true)
	var res struct {
		Findings []trace.Finding
	}
	r.decode(t, &res)
	if len(res.Findings) != 1 || res.Findings[0].Kind != trace.FindingPreHarvestInterval || res.Findings[0].Evidence["override_reason"] != "mưa lớn, lúa đổ" {
		t.Errorf("findings of the corrected lot: %+v", res.Findings)
	}
}

// Lots created through the API, and lots made by a split, a merge or a
// processing, record steps too: over the general steps, or their input's
// template.
func TestStepsWithoutTemplate(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-G")
	r := e.do("GET", "/api/v1/batches/"+batch.ID+"/next-step", "", nil, true)
	e.expect(r, 200)
	var ns NextStep
	r.decode(t, &ns)
	if ns.Template != "general" || ns.Step == nil || ns.Step.Key != "harvest" {
		t.Fatalf("next step of an API lot: %+v", ns)
	}
	step := func(id string, body map[string]any, status int) NextStep {
		t.Helper()
		r := e.do("POST", "/api/v1/batches/"+id+"/steps", key, body, true)
		e.expect(r, status)
		var out struct {
			NextStep NextStep `json:"next_step"`
		}
		if status == 201 {
			r.decode(t, &out)
		}
		return out.NextStep
	}
	ns = step(batch.ID, map[string]any{"event_time": "2025-08-15T06:30:00+07:00", "quantity": map[string]any{"value": 1000, "unit": "KGM"}}, 201)
	if ns.Step == nil || ns.Step.Key != "packing" {
		t.Fatalf("after the harvest: %+v", ns.Step)
	}
	ns = step(batch.ID, map[string]any{"step": "drying", "event_time": "2025-08-16T06:30:00+07:00", "values": map[string]string{"moisture_percent": "13,5"}}, 201)
	if ns.Step == nil || ns.Step.Key != "packing" {
		t.Fatalf("after drying: %+v", ns.Step)
	}
	// Milling into a new lot, which is packed and shipped.
	r = e.do("POST", "/api/v1/transformations", key, map[string]any{"kind": "process", "biz_step": trace.StepMilling, "event_time": "2025-08-18T08:00:00+07:00",
		"inputs":  []any{map[string]any{"batch": batch.ID, "quantity": map[string]any{"value": 1000, "unit": "KGM"}}},
		"outputs": []any{map[string]any{"lot": "LOT-G-XAY", "quantity": map[string]any{"value": 680, "unit": "KGM"}}},
		"loss":    map[string]any{"value": 320, "unit": "KGM"}}, true)
	e.expect(r, 201)
	var milled TransformationResult
	r.decode(t, &milled)
	out := milled.Outputs[0].ID
	r = e.do("GET", "/api/v1/batches/"+out+"/next-step", "", nil, true)
	r.decode(t, &ns)
	if ns.Step == nil || ns.Step.Key != "packing" {
		t.Fatalf("the milled lot waits for %+v", ns.Step)
	}
	step(out, map[string]any{"event_time": "2025-08-18T09:00:00+07:00"}, 201)
	var oh History
	e.do("GET", "/api/v1/batches/"+out, "", nil, true).decode(t, &oh)
	packing := oh.Events[len(oh.Events)-1]
	r = e.do("POST", "/api/v1/batches/"+out+"/corrections", key, map[string]any{"corrects": packing.Hash, "reason": "nhầm giờ",
		"event_time": "2025-08-18T07:00:00+07:00"}, true)
	e.expect(r, 422)
	if !strings.Contains(string(r.body), "lô được tạo ra bằng bước Xay xát lúc 18/08/2025 08:00") {
		t.Errorf("a step before the lot was made: %s", r.body)
	}
	ns = step(out, map[string]any{"step": "shipping", "event_time": "2025-08-20T08:00:00+07:00", "quantity": map[string]any{"value": 680, "unit": "KGM"},
		"values": map[string]string{"buyer": "Công ty Lương thực Sóc Trăng"}}, 201)
	if ns.Step != nil {
		t.Errorf("after shipping: %+v", ns.Step)
	}
	// A split of a rice-template lot follows the rice template from where
	// the lot had reached.
	r = e.do("POST", "/api/v1/batches/from-template", key, map[string]any{"template": "rice", "product_id": batch.ProductID, "lot": "ST25-S",
		"quantity": map[string]any{"value": 2000, "unit": "KGM"}}, true)
	e.expect(r, 201)
	var created struct{ Batch Batch }
	r.decode(t, &created)
	rice := created.Batch.ID
	for _, st := range []map[string]any{{"step": "sowing", "event_time": "2025-05-05T06:00:00+07:00"},
		{"step": "harvest", "event_time": "2025-08-15T06:00:00+07:00", "quantity": map[string]any{"value": 2000, "unit": "KGM"}}} {
		step(rice, st, 201)
	}
	r = e.do("POST", "/api/v1/transformations", key, map[string]any{"kind": "split", "event_time": "2025-08-16T08:00:00+07:00",
		"inputs": []any{map[string]any{"batch": rice, "quantity": map[string]any{"value": 2000, "unit": "KGM"}}},
		"outputs": []any{map[string]any{"lot": "ST25-S1", "quantity": map[string]any{"value": 1000, "unit": "KGM"}},
			map[string]any{"lot": "ST25-S2", "quantity": map[string]any{"value": 1000, "unit": "KGM"}, "template": "general"}}}, true)
	e.expect(r, 201)
	var split TransformationResult
	r.decode(t, &split)
	if split.Outputs[0].Template != "rice" || split.Outputs[1].Template != "" {
		t.Errorf("templates of the split's lots: %q %q", split.Outputs[0].Template, split.Outputs[1].Template)
	}
	r = e.do("GET", "/api/v1/batches/"+split.Outputs[0].ID+"/next-step", "", nil, true)
	r.decode(t, &ns)
	if ns.Template != "rice" || ns.Step == nil || ns.Step.Key != "drying" {
		t.Errorf("the split lot waits for %+v (done %v)", ns.Step, ns.Done)
	}
	// A step the rice template lacks is recorded from the general steps.
	step(split.Outputs[0].ID, map[string]any{"step": "storing", "event_time": "2025-08-17T08:00:00+07:00", "values": map[string]string{"warehouse": "Kho số 2"}}, 201)
	r = e.do("POST", "/api/v1/batches/"+split.Outputs[0].ID+"/steps", key, map[string]any{"step": "roasting"}, true)
	e.expect(r, 422)
	if !strings.Contains(string(r.body), "storing") {
		t.Errorf("unknown step: %s", r.body)
	}
}
