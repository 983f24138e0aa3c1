package api

import (
	"fmt"
	"strings"
	"testing"
)

func TestTemplatesAndSteps(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-0")
	r := e.do("GET", "/api/v1/templates", "", nil, true)
	e.expect(r, 200)
	if !strings.Contains(string(r.body), `"id":"dragon_fruit"`) {
		t.Errorf("templates: %.200s", r.body)
	}
	// One request: a batch from the rice template and its sowing, typing
	// only what differs from the defaults.
	r = e.do("POST", "/api/v1/batches/from-template", key, map[string]any{
		"template": "rice", "product_id": batch.ProductID, "lot": "ST25-T1",
		"quantity": map[string]any{"value": 5000, "unit": "KGM"}, "harvest_date": "2025-08-15",
		"plot":       map[string]any{"name": "Ruộng số 3", "lat": 9.47, "lon": 105.93},
		"first_step": map[string]any{"event_time": "2025-05-05T06:00:00+07:00", "values": map[string]string{"seed_rate_kg_ha": "90"}},
	}, true)
	e.expect(r, 201)
	var created struct {
		Batch    Batch
		Event    Event
		NextStep NextStep `json:"next_step"`
	}
	r.decode(t, &created)
	if created.Event.Data["seed_variety"] != "ST25" || created.Event.Data["seed_rate_kg_ha"] != "90" || created.NextStep.Step.Key != "fertilizing" {
		t.Fatalf("from template: %+v %+v", created.Event.Data, created.NextStep.Step)
	}
	id := created.Batch.ID
	step := func(body map[string]any, status int) *response {
		r := e.do("POST", "/api/v1/batches/"+id+"/steps", key, body, true)
		e.expect(r, status)
		return r
	}
	step(map[string]any{"event_time": "2025-05-25T07:00:00+07:00"}, 201)
	// Spraying needs the product's own pre-harvest interval: no default.
	r = step(map[string]any{"event_time": "2025-07-20T16:30:00+07:00", "values": map[string]string{"product": "Filia 525SE"}}, 422)
	if !strings.Contains(string(r.body), "data.phi_days") {
		t.Errorf("missing PHI not reported: %s", r.body)
	}
	step(map[string]any{"event_time": "2025-07-20T16:30:00+07:00", "values": map[string]string{
		"product": "Filia 525SE", "active_ingredient": "Propiconazole + Tricyclazole", "dose": "0.4 l/ha", "phi_days": "14"}}, 201)
	r = step(map[string]any{"event_time": "2025-08-15T06:30:00+07:00"}, 201)
	var harvest struct{ Event Event }
	r.decode(t, &harvest)
	if harvest.Event.BizStep != "commissioning" || harvest.Event.Quantity == nil || harvest.Event.ILMD == nil ||
		!strings.Contains(harvest.Event.ReadPoint, "/254/RUONG-SO-3") && harvest.Event.ReadPoint != "" {
		t.Errorf("harvest from template: %+v", harvest.Event)
	}
	r = e.do("GET", "/api/v1/batches/"+id+"/next-step", "", nil, true)
	e.expect(r, 200)
	if !strings.Contains(string(r.body), `"key":"drying"`) {
		t.Errorf("next step after harvest: %s", r.body)
	}
}

func TestBulkIsAllOrNothing(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-0")
	mk := func(lot string) map[string]any {
		return map[string]any{"product_id": batch.ProductID, "lot": lot, "quantity": map[string]any{"value": 100, "unit": "KGM"}}
	}
	r := e.do("POST", "/api/v1/bulk/batches", key, map[string]any{"batches": []any{mk("B-1"), mk("B-2"), mk("LÔ-3")}}, true)
	e.expect(r, 422)
	if !strings.Contains(string(r.body), "batches[2]") {
		t.Errorf("bad batch not named: %s", r.body)
	}
	r = e.do("GET", "/api/v1/batches?limit=50", "", nil, true)
	if strings.Contains(string(r.body), `"lot":"B-1"`) {
		t.Fatal("a refused bulk request created batches")
	}
	r = e.do("POST", "/api/v1/bulk/batches", key, map[string]any{"template": "rice", "batches": []any{mk("B-1"), mk("B-2"), mk("B-3")}}, true)
	e.expect(r, 201)
	var made struct{ Batches []Batch }
	r.decode(t, &made)
	ids := []string{}
	for _, b := range made.Batches {
		ids = append(ids, b.ID)
	}
	r = e.do("POST", "/api/v1/bulk/events", key, map[string]any{"batches": append(ids, "nope"),
		"event": map[string]any{"biz_step": "https://truyxuat.vn/voc/bizstep/spraying"}}, true)
	e.expect(r, 404)
	r = e.do("POST", "/api/v1/bulk/events", key, map[string]any{"batches": ids,
		"event": map[string]any{"biz_step": "https://truyxuat.vn/voc/bizstep/spraying", "event_time": "2025-07-01T07:00:00+07:00",
			"data": map[string]string{"product": "Filia 525SE", "phi_days": "14"}}}, true)
	e.expect(r, 201)
	for _, id := range ids {
		r := e.do("GET", "/api/v1/batches/"+id, "", nil, true)
		var h History
		r.decode(t, &h)
		if len(h.Events) != 2 {
			t.Errorf("batch %s has %d events after its facts and one bulk spraying", id, len(h.Events)-1)
		}
	}
}

func TestSplitMergeLineageRecall(t *testing.T) {
	e := newEnv(t)
	key, _, a := e.seed("HTX A", "8931234567897", "LOT-A")
	keyB, _, other := e.seed("HTX B", "8931234567880", "LOT-X")
	r := e.do("POST", "/api/v1/batches", key, map[string]any{"product_id": a.ProductID, "lot": "LOT-B",
		"quantity": map[string]any{"value": 400, "unit": "KGM"}}, true)
	e.expect(r, 201)
	var b Batch
	r.decode(t, &b)
	for _, id := range []string{a.ID, b.ID} {
		e.expect(e.do("POST", "/api/v1/batches/"+id+"/events", key, map[string]any{"biz_step": "commissioning",
			"event_time": "2025-08-15T06:30:00+07:00"}, true), 201)
	}
	merge := func(out string, loss any) map[string]any {
		m := map[string]any{"kind": "merge", "event_time": "2025-08-20T10:00:00+07:00",
			"inputs": []any{
				map[string]any{"batch": a.ID, "quantity": map[string]any{"value": 600, "unit": "KGM"}},
				map[string]any{"batch": b.ID, "quantity": map[string]any{"value": 0.4, "unit": "TNE"}},
			},
			"outputs": []any{map[string]any{"lot": "MIX-1", "quantity": map[string]any{"value": out, "unit": "KGM"}}}}
		if loss != nil {
			m["loss"] = map[string]any{"value": loss, "unit": "KGM"}
		}
		return m
	}
	r = e.do("POST", "/api/v1/transformations", key, merge("990", 50), true)
	e.expect(r, 422)
	if !strings.Contains(string(r.body), "inputs 1000 KGM, but outputs 990 KGM plus loss 50 KGM") {
		t.Errorf("unbalanced merge: %s", r.body)
	}
	e.expect(e.do("POST", "/api/v1/transformations", keyB, merge("950", 50), true), 403)
	r = e.do("POST", "/api/v1/transformations", key, merge("950", 50), true)
	e.expect(r, 201)
	var merged struct {
		Outputs []Batch
		Events  []Event
	}
	r.decode(t, &merged)
	mix := merged.Outputs[0]
	if len(merged.Events[0].Inputs) != 2 || merged.Events[0].Type != "TransformationEvent" {
		t.Fatalf("merge event %+v", merged.Events[0])
	}
	// Split the mix by grade.
	r = e.do("POST", "/api/v1/transformations", key, map[string]any{"kind": "split",
		"inputs":  []any{map[string]any{"batch": mix.ID, "quantity": map[string]any{"value": 950, "unit": "KGM"}}},
		"outputs": []any{map[string]any{"lot": "MIX-1-G1", "quantity": map[string]any{"value": 500, "unit": "KGM"}}, map[string]any{"lot": "MIX-1-G2", "quantity": map[string]any{"value": 450, "unit": "KGM"}}},
	}, true)
	e.expect(r, 201)
	var split struct{ Outputs []Batch }
	r.decode(t, &split)
	// One step back, one step forward, all the way.
	r = e.do("GET", "/api/v1/batches/"+split.Outputs[0].ID+"/lineage", "", nil, true)
	e.expect(r, 200)
	var lin struct{ Upstream, Downstream []LineageBatch }
	r.decode(t, &lin)
	if len(lin.Upstream) != 3 || len(lin.Downstream) != 0 {
		t.Errorf("upstream of a split output: %+v", lin)
	}
	r = e.do("GET", "/api/v1/batches/"+a.ID+"/lineage", "", nil, true)
	r.decode(t, &lin)
	if len(lin.Downstream) != 3 {
		t.Errorf("downstream of an input: %+v", lin.Downstream)
	}
	// A recall on an input reaches every lot made from it, on the next scan.
	e.expect(e.do("POST", "/api/v1/batches/"+a.ID+"/recall", key, map[string]any{"reason": ""}, false), 422)
	e.expect(e.do("POST", "/api/v1/batches/"+a.ID+"/recall", keyB, map[string]any{"reason": "x"}, true), 403)
	// Warm the cache first, so the recall must invalidate it.
	e.do("GET", split.Outputs[1].Path, "", nil, true)
	r = e.do("POST", "/api/v1/batches/"+a.ID+"/recall", key, map[string]any{"reason": "Dư lượng thuốc vượt mức"}, true)
	e.expect(r, 201)
	if !strings.Contains(string(r.body), split.Outputs[1].ID) {
		t.Errorf("recall does not name the affected lots: %s", r.body)
	}
	r = e.do("GET", split.Outputs[1].Path, "", nil, true)
	var h History
	r.decode(t, &h)
	if h.Recall == nil || !h.Recall.Inherited || h.Recall.Batch != a.ID {
		t.Errorf("downstream lot not recalled: %+v", h.Recall)
	}
	_, page := get(t, e.srv.URL+split.Outputs[1].Path, map[string]string{"Accept": "text/html"})
	if !strings.Contains(page, `class="recall"`) || !strings.Contains(page, "Dư lượng thuốc vượt mức") {
		t.Error("downstream page has no recall banner")
	}
	_, page = get(t, e.srv.URL+other.Path, map[string]string{"Accept": "text/html"})
	if strings.Contains(page, `class="recall"`) {
		t.Error("an unrelated lot shows a recall")
	}
}

func TestFindings(t *testing.T) {
	e := newEnv(t)
	key, coop, batch := e.seed("HTX A", "8931234567897", "LOT-0")
	spray := func(id, at, product, phi string) {
		e.expect(e.do("POST", "/api/v1/batches/"+id+"/events", key, map[string]any{
			"biz_step": "https://truyxuat.vn/voc/bizstep/spraying", "event_time": at,
			"data": map[string]string{"product": product, "phi_days": phi}}, true), 201)
	}
	// Harvest five days after a product with a 14-day interval: refused
	// until the clerk gives a reason, then recorded with it.
	spray(batch.ID, "2025-08-01T07:00:00+07:00", "Filia 525SE", "14")
	r := e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"event_time": "2025-08-06T07:00:00+07:00"}, true)
	e.expect(r, 422)
	var refused Problem
	r.decode(t, &refused)
	if len(refused.PreHarvestIntervals) != 1 || refused.PreHarvestIntervals[0].HoursRemaining != 9*24 ||
		!strings.Contains(refused.Detail, "lô đã phun Filia 525SE lúc 01/08/2025 07:00, thời gian cách ly 14 ngày: phải đến 15/08/2025 07:00 mới được thu hoạch, còn 9 ngày nữa") ||
		len(refused.Errors) != 1 || refused.Errors[0].Field != "data.interval_override_reason" {
		t.Errorf("harvest inside the interval: %s", r.body)
	}
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"event_time": "2025-08-06T07:00:00+07:00", "data": map[string]string{"interval_override_reason": "Bão sắp vào, phải thu gấp"}}, true), 201)
	// The same "7 days" for four different products on four batches.
	for i := 1; i <= 4; i++ {
		r := e.do("POST", "/api/v1/batches", key, map[string]any{"product_id": batch.ProductID, "lot": fmt.Sprintf("COPY-%d", i),
			"quantity": map[string]any{"value": 100, "unit": "KGM"}}, true)
		var b Batch
		r.decode(t, &b)
		spray(b.ID, fmt.Sprintf("2025-07-%02dT07:00:00+07:00", i), fmt.Sprintf("Thuốc %d", i), "7")
	}
	r = e.do("GET", "/api/v1/inspections/findings", e.adminKey, nil, true)
	e.expect(r, 200)
	var res struct {
		Checked  int `json:"checked_batches"`
		Findings []struct {
			Kind     string
			Batches  []string
			Evidence map[string]string
		}
	}
	r.decode(t, &res)
	kinds := map[string]int{}
	for _, f := range res.Findings {
		kinds[f.Kind]++
	}
	if res.Checked != 5 || kinds["pre_harvest_interval"] != 1 || kinds["copied_values"] != 1 {
		t.Errorf("findings: checked %d, %v", res.Checked, kinds)
	}
	for _, f := range res.Findings {
		if f.Kind == "pre_harvest_interval" && f.Evidence["override_reason"] != "Bão sắp vào, phải thu gấp" {
			t.Errorf("the finding does not carry the reason: %v", f.Evidence)
		}
	}
	// A cooperative sees its own findings only.
	e.expect(e.do("GET", "/api/v1/inspections/findings", key, nil, true), 403)
	e.expect(e.do("GET", "/api/v1/inspections/findings?cooperative="+coop.ID, key, nil, true), 200)
	e.expect(e.do("GET", "/api/v1/inspections/findings", "", nil, true), 401)
}
