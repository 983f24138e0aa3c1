package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/epcis"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

const epcisLogOrigin = "trace.example.vn/log"

// sharedStandards is the shared copy of the standards' files; tests read
// it directly, the service never does.
func sharedStandards(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "standards")
	if _, err := os.Stat(filepath.Join(dir, "epcis-json-schema.json")); err != nil {
		t.Skipf("the shared standards are not here (%v)", err)
	}
	return dir
}

// validateEPCIS checks a document against the embedded schema and the
// shared copy of GS1's schema, both with format assertions on.
func validateEPCIS(t *testing.T, doc []byte) {
	t.Helper()
	shared, err := os.ReadFile(filepath.Join(sharedStandards(t), "epcis-json-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	sv, err := epcis.Compile(shared)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range map[string]*epcis.Validator{"embedded": epcis.Default(), "shared": sv} {
		problems, err := v.Validate(doc)
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s schema: %v %v\n%.3000s", name, err, problems, doc)
		}
	}
}

// epcisEnv is a server with log keys, two cooperatives, and demo-like
// histories: batch a (GTIN) with a harvest, drying and a pallet, batch b
// (same product) with a harvest, and batch mix (a product without GTIN)
// made from both.
type epcisEnv struct {
	*testEnv
	logKeys    *store.LogKeys
	key, key2  string
	coop       Cooperative
	a, b, mix  Batch
	hA, hMix   string   // a's harvest, the merge into mix
	hashes     []string // every event, in export order (by batch id, then seq)
	checkpoint []byte
}

func newEPCISEnv(t *testing.T) *epcisEnv {
	t.Helper()
	lk, err := store.OpenLogKeys(t.TempDir(), epcisLogOrigin, true)
	if err != nil {
		t.Fatal(err)
	}
	pub := lk.Public()
	e := newEnv(t, func(c *Config) {
		c.Log = LogInfo{Origin: epcisLogOrigin, Ed25519Key: pub[0].String(), MLDSAKey: pub[1].String()}
	})
	x := &epcisEnv{testEnv: e, logKeys: lk}
	x.key, x.coop, x.a = e.seed("HTX Hòa Tú", "8931234567897", "ST25-2508-A")
	x.key2, _, _ = e.seed("HTX Ea Tu", "8931234567880", "ROB-2511-01")
	x.b = x.batch(x.a.ProductID, "ST25-2508-B")
	r := e.do("POST", "/api/v1/products", x.key, CreateProductRequest{NameVI: "Gạo ST25 phối trộn", Category: "rice"}, true)
	e.expect(r, 201)
	var p Product
	r.decode(t, &p)
	x.mix = x.batch(p.ID, "MIX-01")

	harvest := map[string]any{"biz_step": "commissioning", "disposition": "active", "event_time": "2025-08-12T06:30:00+07:00",
		"read_point": "https://trace.example.vn/414/8931234000011/254/PLOT-07", "biz_location": "https://trace.example.vn/414/8931234000011",
		"quantity":       map[string]any{"value": "6200", "unit": "KGM"},
		"ilmd":           map[string]any{"harvest_date": "2025-08-12", "expiry_date": "2026-08-12", "country_of_origin": "VN"},
		"certifications": []any{map[string]any{"scheme": "vietgap", "id": "VG-ST-0451"}},
		"note":           "Thu hoạch bằng máy gặt đập liên hợp"}
	x.hA = x.event(x.a, harvest)
	x.event(x.a, map[string]any{"biz_step": trace.StepDrying, "event_time": "2025-08-13T08:00:00+07:00", "data": map[string]any{"moisture_percent": "14"}})
	headA := x.event(x.a, map[string]any{"type": "AggregationEvent", "action": "ADD", "biz_step": "packing", "event_time": "2025-08-17T09:00:00+07:00",
		"parent_id": "https://trace.example.vn/00/389312340000000012", "quantity": map[string]any{"value": "500", "unit": "KGM"}})
	harvest["event_time"], harvest["quantity"] = "2025-08-14T06:30:00+07:00", map[string]any{"value": "5400", "unit": "KGM"}
	headB := x.event(x.b, harvest)
	x.hMix = x.event(x.mix, map[string]any{"type": "TransformationEvent", "biz_step": trace.StepMerging, "event_time": "2025-08-20T10:00:00+07:00",
		"inputs": []any{
			map[string]any{"batch": x.a.ID, "hash": headA, "quantity": map[string]any{"value": "500", "unit": "KGM"}},
			map[string]any{"batch": x.b.ID, "hash": headB}},
		"outputs": []any{map[string]any{"batch": x.mix.ID, "quantity": map[string]any{"value": "990", "unit": "KGM"}}},
		"loss":    map[string]any{"value": "10", "unit": "KGM"}})
	_, x.checkpoint, err = e.db.CheckpointLog(lk.Sign)
	if err != nil {
		t.Fatal(err)
	}
	// One event after the checkpoint: exported without an inclusion proof.
	hB2 := x.event(x.b, map[string]any{"biz_step": "shipping", "disposition": "in_transit", "event_time": "2025-08-21T15:00:00+07:00"})
	hist := func(b Batch) []string {
		r := e.do("GET", "/api/v1/batches/"+b.ID, "", nil, true)
		var h History
		r.decode(t, &h)
		var out []string
		for _, ev := range h.Events {
			out = append(out, ev.Hash)
		}
		return out
	}
	byID := []Batch{x.a, x.b, x.mix}
	slices.SortFunc(byID, func(p, q Batch) int { return strings.Compare(p.ID, q.ID) })
	for _, b := range byID {
		x.hashes = append(x.hashes, hist(b)...)
	}
	// Three lots: their signed facts and six events.
	if len(x.hashes) != 9 || !slices.Contains(x.hashes, hB2) || !slices.Contains(x.hashes, x.hMix) {
		t.Fatalf("histories %v", x.hashes)
	}
	return x
}

func (x *epcisEnv) batch(productID, lot string) Batch {
	x.t.Helper()
	r := x.do("POST", "/api/v1/batches", x.key, map[string]any{"product_id": productID, "lot": lot,
		"quantity": map[string]any{"value": 1000, "unit": "KGM"}, "harvest_date": "2025-08-14"}, true)
	x.expect(r, 201)
	var b Batch
	r.decode(x.t, &b)
	return b
}

func (x *epcisEnv) event(b Batch, fields map[string]any) string {
	x.t.Helper()
	r := x.do("POST", "/api/v1/batches/"+b.ID+"/events", x.key, fields, true)
	x.expect(r, 201)
	var ev Event
	r.decode(x.t, &ev)
	return ev.Hash
}

func (x *epcisEnv) export(query string) (*trace.EPCISDocument, *response) {
	x.t.Helper()
	r := x.do("GET", "/api/v1/epcis/events?"+query, "", nil, true)
	x.expect(r, 200)
	var doc trace.EPCISDocument
	r.decode(x.t, &doc)
	return &doc, r
}

func eventHashes(doc *trace.EPCISDocument) []string {
	var out []string
	for _, ev := range doc.EPCISBody.EventList {
		out = append(out, ev.Hash)
	}
	return out
}

func TestEPCISExport(t *testing.T) {
	x := newEPCISEnv(t)
	doc, r := x.export("cooperative=" + x.coop.ID)
	validateEPCIS(t, r.body)
	if got := eventHashes(doc); !slices.Equal(got, x.hashes) {
		t.Fatalf("exported %v, want %v", got, x.hashes)
	}
	if doc.Checkpoint != string(x.checkpoint) || doc.Next != "" || r.header.Get("Link") != "" {
		t.Errorf("checkpoint %q next %q", doc.Checkpoint, doc.Next)
	}
	// Each event verifies on its own: bytes, signature, readable members,
	// signer, and its log inclusion against the checkpoint.
	var verifiers []tlog.Verifier
	for _, k := range x.logKeys.Public() {
		v, err := k.Verifier()
		if err != nil {
			t.Fatal(err)
		}
		verifiers = append(verifiers, v)
	}
	cp, _, _, err := tlog.OpenCheckpoint([]byte(doc.Checkpoint), epcisLogOrigin, verifiers)
	if err != nil {
		t.Fatal(err)
	}
	proven := 0
	for i, ev := range doc.EPCISBody.EventList {
		se, err := trace.VerifyEPCIS(ev)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		if base64.StdEncoding.EncodeToString(se.Signer) != x.coop.PublicKeys[0] {
			t.Errorf("event %d signed by another key", i)
		}
		if ev.LogIndex == nil || !bytes.Equal(ev.LogEntry, trace.LogEntry(se)) {
			t.Fatalf("event %d: log index %v entry %x", i, ev.LogIndex, ev.LogEntry)
		}
		if *ev.LogIndex >= cp.Size {
			if len(ev.InclusionProof) != 0 {
				t.Errorf("event %d is newer than the checkpoint but has a proof", i)
			}
			continue
		}
		var proof []tlog.Hash
		for _, s := range ev.InclusionProof {
			h, err := tlog.ParseHash(s)
			if err != nil {
				t.Fatal(err)
			}
			proof = append(proof, h)
		}
		if err := tlog.VerifyInclusion(tlog.LeafHash(ev.LogEntry), *ev.LogIndex, cp.Size, proof, cp.Root); err != nil {
			t.Errorf("event %d: inclusion: %v", i, err)
		}
		proven++
	}
	if proven != 8 {
		t.Errorf("%d events proven, want the 8 before the checkpoint (3 lots' facts and 5 events)", proven)
	}
	// Identifiers: Digital Links on the public URL, the short link for a
	// batch without GTIN, and an eventID that resolves here.
	byHash := map[string]*trace.EPCISEvent{}
	for _, ev := range doc.EPCISBody.EventList {
		byHash[ev.Hash] = ev
	}
	h := byHash[x.hA]
	if h.QuantityList[0].EPCClass != "https://trace.example.vn/01/08931234567897/10/ST25-2508-A" || h.ILMD["cbvmda:lotNumber"] != "ST25-2508-A" {
		t.Errorf("harvest %+v", h)
	}
	mix := byHash[x.hMix]
	if mix.Type != "TransformationEvent" || mix.OutputQuantityList[0].EPCClass != "https://trace.example.vn/b/"+x.mix.ID ||
		len(mix.InputQuantityList) != 2 || mix.InputQuantityList[0].EPCClass != "https://trace.example.vn/01/08931234567897/10/ST25-2508-A" || mix.Loss == nil {
		t.Errorf("transformation %+v", mix)
	}
	path := strings.TrimPrefix(h.EventID, "https://trace.example.vn")
	x.expect(x.do("GET", path, "", nil, true), 200)

	// ld+json when asked for.
	req, _ := http.NewRequest("GET", x.srv.URL+"/api/v1/epcis/events?batch="+x.a.ID, nil)
	req.Header.Set("Accept", "application/ld+json, application/json;q=0.5")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "application/ld+json" {
		t.Errorf("content type %q", ct)
	}
}

func TestEPCISExportFilters(t *testing.T) {
	x := newEPCISEnv(t)
	q := func(kv ...string) string {
		v := url.Values{}
		for i := 0; i < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	tests := []struct {
		name  string
		query string
		want  int
	}{
		{"batch", q("batch", x.a.ID), 4},
		{"batch of another cooperative", q("batch", x.a.ID, "cooperative", "htx-ea-tu"), 0},
		{"time range", q("from", "2025-08-13T00:00:00+07:00", "to", "2025-08-14T06:30:00+07:00"), 1},
		{"time range, in UTC", q("cooperative", x.coop.ID, "from", "2025-08-13T23:30:00Z"), 4 + 3}, // and the lots' facts, signed today
		{"batch and time", q("batch", x.b.ID, "to", "2025-08-21T15:00:00+07:00"), 1},
		{"another cooperative", q("cooperative", "htx-ea-tu"), 1},
		{"everything", "", 6 + 4},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			doc, r := x.export(tc.query)
			if len(doc.EPCISBody.EventList) != tc.want {
				t.Errorf("%d events, want %d", len(doc.EPCISBody.EventList), tc.want)
			}
			validateEPCIS(t, r.body)
		})
	}

	// Pages of two follow each other to the same events, with one checkpoint.
	var got []string
	next := "/api/v1/epcis/events?limit=2&cooperative=" + x.coop.ID
	pages := 0
	for next != "" {
		r := x.do("GET", next, "", nil, true)
		x.expect(r, 200)
		var doc trace.EPCISDocument
		r.decode(t, &doc)
		validateEPCIS(t, r.body)
		if doc.Checkpoint != string(x.checkpoint) {
			t.Errorf("page %d has another checkpoint", pages)
		}
		if doc.Next != "" && r.header.Get("Link") != "<"+doc.Next+`>; rel="next"` {
			t.Errorf("Link %q, tx:next %q", r.header.Get("Link"), doc.Next)
		}
		got = append(got, eventHashes(&doc)...)
		next = doc.Next
		if pages++; pages > 10 {
			t.Fatal("pagination does not end")
		}
	}
	if !slices.Equal(got, x.hashes) || pages != 5 {
		t.Errorf("%d pages gave %v, want %v", pages, got, x.hashes)
	}

	refusals := []struct {
		name, query string
		status      int
		field       string
	}{
		{"limit 0", "limit=0", 422, "limit"},
		{"limit too large", "limit=5000", 422, "limit"},
		{"bad time", "from=2025-08-13", 422, "from"},
		{"plus sign not escaped", "from=2025-08-13T00:00:00+07:00", 422, "from"},
		{"empty range", q("from", "2025-08-14T00:00:00Z", "to", "2025-08-13T00:00:00Z"), 422, "to"},
		{"bad cursor", "after=nope", 422, "after"},
		{"cursor of another batch", q("batch", x.a.ID, "after", x.b.ID+".0.0"), 422, "after"},
		{"unknown batch", "batch=nope", 404, ""},
		{"unknown cooperative", "cooperative=nope", 404, ""},
	}
	for _, tc := range refusals {
		t.Run(tc.name, func(t *testing.T) {
			r := x.do("GET", "/api/v1/epcis/events?"+tc.query, "", nil, false)
			x.expect(r, tc.status)
			var p Problem
			r.decode(t, &p)
			if tc.field != "" && (len(p.Errors) == 0 || p.Errors[0].Field != tc.field) {
				t.Errorf("problem %+v", p)
			}
		})
	}
}

// capture posts a document and returns the response.
func (e *testEnv) capture(key string, doc []byte, validRequest bool) *response {
	e.t.Helper()
	return e.do("POST", "/api/v1/epcis/capture", key, string(doc), validRequest)
}

func readStandard(t *testing.T, parts ...string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(append([]string{sharedStandards(t)}, parts...)...))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func (e *testEnv) logSize() uint64 {
	e.t.Helper()
	n, err := e.db.LogSize()
	if err != nil {
		e.t.Fatal(err)
	}
	return n
}

// TestEPCISCaptureCorpus posts every document of the peer's corpus: the
// valid ones whose lots are batches here are recorded, the other valid
// ones are refused with a reason at each identifier, and every invalid
// one is refused with its schema errors. Nothing refused is recorded.
func TestEPCISCaptureCorpus(t *testing.T) {
	e := newEnv(t)
	key, _, _ := e.seed("HTX Hàm Minh", "8931234567897", "TL2025-0815")
	r := e.do("POST", "/api/v1/products", key, CreateProductRequest{GTIN: "70614141123451", NameVI: "Thanh long", Category: "fruit"}, true)
	e.expect(r, 201)
	var p Product
	r.decode(t, &p)
	e.expect(e.do("POST", "/api/v1/batches", key, map[string]any{"product_id": p.ID, "lot": "998877", "quantity": map[string]any{"value": 200, "unit": "KGM"}}, true), 201)

	valid, _ := filepath.Glob(filepath.Join(sharedStandards(t), "openepcis-capture", "valid", "*.json"))
	invalid, _ := filepath.Glob(filepath.Join(sharedStandards(t), "openepcis-capture", "invalid", "*.json"))
	if len(valid) != 8 || len(invalid) != 15 {
		t.Fatalf("corpus: %d valid, %d invalid", len(valid), len(invalid))
	}
	for _, f := range valid {
		name := filepath.Base(f)
		t.Run("valid/"+name, func(t *testing.T) {
			before := e.logSize()
			r := e.capture(key, readStandard(t, "openepcis-capture", "valid", name), true)
			if name == "ObjectEvent_with_digitalLink.json" {
				e.expect(r, 201)
				var res CaptureResult
				r.decode(t, &res)
				if res.Recorded != 1 || len(res.Ignored) == 0 || e.logSize() != before+1 {
					t.Errorf("result %+v", res)
				}
				// The same event again is refused: its eventID is recorded.
				r = e.capture(key, readStandard(t, "openepcis-capture", "valid", name), true)
				e.expect(r, 422)
				if !strings.Contains(string(r.body), "already captured") {
					t.Errorf("second capture: %s", r.body)
				}
				return
			}
			e.expect(r, 422)
			var prob Problem
			r.decode(t, &prob)
			if len(prob.Errors) == 0 || !strings.Contains(prob.Detail, "cannot be recorded") {
				t.Fatalf("problem %+v", prob)
			}
			for _, fp := range prob.Errors {
				if !strings.HasPrefix(fp.Field, "/epcisBody/eventList/") || fp.Detail == "" {
					t.Errorf("error %+v", fp)
				}
			}
			if e.logSize() != before {
				t.Error("a refused document left events")
			}
		})
	}
	want := map[string][]string{
		"EPCISDocument_without_context.json":                         {""},
		"ObjectEvent_without_action_and_eventTime.json":              {"/epcisBody/eventList/0"},
		"ObjectEvent_with_ilmd_field_without_namespace.json":         {"/epcisBody/eventList/0/ilmd/materialType"},
		"ObjectEvent_with_quantity_as_text.json":                     {"/epcisBody/eventList/0/quantityList/0/quantity"},
		"ObjectEvent_with_non_standard_bizStep_in_second_event.json": {"/epcisBody/eventList/1/bizStep"},
		"Combination_of_multiple_invalid_fields.json": {"/epcisBody/eventList/0/bizStep", "/epcisBody/eventList/1/disposition",
			"/epcisBody/eventList/2/sourceList/0/type", "/epcisBody/eventList/3/ilmd/materialType",
			"/epcisBody/eventList/4/action", "/epcisBody/eventList/4/eventTime"},
	}
	for _, f := range invalid {
		name := filepath.Base(f)
		t.Run("invalid/"+name, func(t *testing.T) {
			before := e.logSize()
			r := e.capture(key, readStandard(t, "openepcis-capture", "invalid", name), false)
			e.expect(r, 422)
			var prob Problem
			r.decode(t, &prob)
			if len(prob.Errors) == 0 || !strings.Contains(prob.Detail, "EPCIS 2.0 JSON Schema") {
				t.Fatalf("problem %+v", prob)
			}
			var fields []string
			for _, fp := range prob.Errors {
				if fp.Detail == "" {
					t.Errorf("error without detail: %+v", fp)
				}
				fields = append(fields, fp.Field)
			}
			for _, w := range want[name] {
				if !slices.Contains(fields, w) {
					t.Errorf("no error at %q: %+v", w, prob.Errors)
				}
			}
			if len(want[name]) > 1 && len(prob.Errors) != len(want[name]) {
				t.Errorf("%d errors, want %d: %+v", len(prob.Errors), len(want[name]), prob.Errors)
			}
			if e.logSize() != before {
				t.Error("an invalid document left events")
			}
		})
	}
}

// TestEPCISCaptureHarvest records the example harvest document (a
// commissioning, an aggregation onto a pallet and the pallet's shipment)
// on the batch its Digital Link names, then exports it again.
func TestEPCISCaptureHarvest(t *testing.T) {
	e := newEnv(t)
	key, coop, batch := e.seed("HTX Hàm Minh", "8931234567897", "TL2025-0815")
	r := e.capture(key, readStandard(t, "example-harvest-event.jsonld"), true)
	e.expect(r, 201)
	var res CaptureResult
	r.decode(t, &res)
	if res.Recorded != 3 {
		t.Fatalf("result %+v", res)
	}
	for i, ev := range res.Events {
		if ev.Batch != batch.ID || ev.Seq != uint64(i+1) || ev.Source != fmt.Sprintf("/epcisBody/eventList/%d", i) {
			t.Errorf("event %d: %+v", i, ev)
		}
	}
	r = e.do("GET", "/api/v1/batches/"+batch.ID, "", nil, true)
	var h History
	r.decode(t, &h)
	if !h.Verified || len(h.Events) != 4 {
		t.Fatalf("history %+v", h.Events)
	}
	captured := h.Events[1:] // after the lot's facts
	if captured[0].BizStep != "commissioning" || captured[1].ParentID == "" ||
		captured[2].Data[trace.DataContainer] != captured[1].ParentID || captured[0].ILMD == nil || captured[0].ILMD.ExpiryDate != "2025-10-15" {
		t.Fatalf("history %+v", h.Events)
	}
	if captured[0].Signer != coop.PublicKeys[0] {
		t.Error("captured events are not signed by the importing cooperative")
	}
	doc, r := (&epcisEnv{testEnv: e}).export("batch=" + batch.ID)
	validateEPCIS(t, r.body)
	if len(doc.EPCISBody.EventList) != 4 || doc.EPCISBody.EventList[1].Data["tx:"+trace.DataEPCISDocument] == "" {
		t.Errorf("re-export %+v", doc.EPCISBody.EventList)
	}
}

// TestEPCISCaptureRefusesWhole sends documents that are valid EPCIS but
// whose later events cannot be recorded: nothing of them is.
func TestEPCISCaptureRefusesWhole(t *testing.T) {
	x := newEPCISEnv(t)
	docOf := func(events ...string) []byte {
		return []byte(`{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld",{"tx":"https://truyxuat.vn/voc/"}],` +
			`"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2025-09-01T08:00:00+07:00","epcisBody":{"eventList":[` + strings.Join(events, ",") + `]}}`)
	}
	obs := func(epc, step string) string {
		return `{"type":"ObjectEvent","eventTime":"2025-09-01T08:00:00+07:00","eventTimeZoneOffset":"+07:00","action":"OBSERVE","bizStep":"` + step + `","epcList":["` + epc + `"],"tx:note":"Nhập từ đối tác"}`
	}
	aLink := "https://id.example.vn/01/08931234567897/10/ST25-2508-A"
	other := "https://id.example.vn/01/08931234567880/10/ROB-2511-01"
	tests := []struct {
		name    string
		doc     []byte
		key     string
		status  int
		pointer string
	}{
		{"another cooperative's lot", docOf(obs(aLink, "storing"), obs(other, "storing")), x.key, 422, "/epcisBody/eventList/1/epcList/0"},
		{"unknown lot", docOf(obs(aLink, "storing"), obs("https://id.example.vn/01/08931234567897/10/NOPE", "storing")), x.key, 422, "/epcisBody/eventList/1/epcList/0"},
		{"CBV namespace", docOf(obs(aLink, "storing"), obs(aLink, "urn:epcglobal:cbv:bizstep:drying")), x.key, 422, "/epcisBody/eventList/1/bizStep"},
		{"another cooperative's input", docOf(`{"type":"TransformationEvent","eventTime":"2025-09-01T08:00:00+07:00","eventTimeZoneOffset":"+07:00","bizStep":"https://truyxuat.vn/voc/bizstep/milling",` +
			`"inputQuantityList":[{"epcClass":"https://trace.example.vn/01/08931234567880/10/ROB-2511-01","quantity":5,"uom":"KGM"}],"outputQuantityList":[{"epcClass":"` + aLink + `"}]}`), x.key, 422, "/epcisBody/eventList/0/inputQuantityList/0/epcClass"},
		{"admin key", docOf(obs(aLink, "storing")), x.adminKey, 403, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			before := x.logSize()
			r := x.capture(tc.key, tc.doc, true)
			x.expect(r, tc.status)
			if tc.pointer != "" {
				var p Problem
				r.decode(t, &p)
				found := false
				for _, f := range p.Errors {
					found = found || f.Field == tc.pointer
				}
				if !found {
					t.Errorf("no error at %s: %+v", tc.pointer, p.Errors)
				}
			}
			if x.logSize() != before {
				t.Error("a refused document left events")
			}
		})
	}
	x.expect(x.capture(x.key, []byte("{"), false), 400)
	big := docOf(obs(aLink, strings.Repeat("x", 2<<20)))
	x.expect(x.capture(x.key, big, false), 413)

	// A transformation from a's lot into b's, with a note in truyxuat's
	// namespace: recorded on b, linked to a's head, and exported again.
	_, headA, _ := x.db.Head(x.a.ID)
	doc := docOf(`{"type":"TransformationEvent","eventTime":"2025-09-02T08:00:00+07:00","eventTimeZoneOffset":"+07:00","bizStep":"https://truyxuat.vn/voc/bizstep/milling",`+
		`"inputQuantityList":[{"epcClass":"`+aLink+`","quantity":100,"uom":"KGM"}],"outputQuantityList":[{"epcClass":"urn:epc:class:lgtin:893123.0456789.ST25-2508-B","quantity":70,"uom":"KGM"}],"tx:note":"Xay xát"}`,
		obs(aLink, "storing"))
	r := x.capture(x.key, doc, true)
	x.expect(r, 201)
	var res CaptureResult
	r.decode(t, &res)
	if res.Recorded != 2 || res.Events[0].Batch != x.b.ID || res.Events[1].Batch != x.a.ID {
		t.Fatalf("result %+v", res)
	}
	exp, raw := x.export("batch=" + x.b.ID)
	validateEPCIS(t, raw.body)
	last := exp.EPCISBody.EventList[len(exp.EPCISBody.EventList)-1]
	if last.Type != "TransformationEvent" || last.Inputs[0].Hash != headA.String() || last.Note != "Xay xát" || last.Outputs[0] != x.b.ID {
		t.Errorf("captured transformation exported as %+v", last)
	}
}

// TestEPCISCaptureLDJSON captures a document sent as application/ld+json.
func TestEPCISCaptureLDJSON(t *testing.T) {
	e := newEnv(t)
	key, _, _ := e.seed("HTX", "8931234567897", "TL2025-0815")
	req, _ := http.NewRequest("POST", e.srv.URL+"/api/v1/epcis/capture", bytes.NewReader(readStandard(t, "example-harvest-event.jsonld")))
	req.Header.Set("Content-Type", "application/ld+json")
	req.Header.Set("Authorization", "Bearer "+key)
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(res.Body)
	res.Body.Close()
	var out CaptureResult
	if res.StatusCode != 201 || json.Unmarshal(body, &out) != nil || out.Recorded != 3 {
		t.Errorf("%d %s", res.StatusCode, body)
	}
}
