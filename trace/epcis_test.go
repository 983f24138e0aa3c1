package trace_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json/jsontext"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/epcis"
)

const testBase = "https://trace.example.vn"

// sharedStandards is the shared copy of the standards' files, which tests
// read directly (the service embeds its own copy of the schema).
func sharedStandards(t testing.TB) string {
	t.Helper()
	dir := filepath.Join("..", "..", "shared", "standards")
	if _, err := os.Stat(filepath.Join(dir, "epcis-json-schema.json")); err != nil {
		t.Skipf("the shared standards are not here (%v)", err)
	}
	return dir
}

// schemas returns the embedded validator and one compiled from the shared
// copy of GS1's schema.
func schemas(t testing.TB) map[string]*epcis.Validator {
	t.Helper()
	out := map[string]*epcis.Validator{"embedded": epcis.Default()}
	raw, err := os.ReadFile(filepath.Join(sharedStandards(t), "epcis-json-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	v, err := epcis.Compile(raw)
	if err != nil {
		t.Fatal(err)
	}
	out["shared"] = v
	return out
}

var gtinST25 = "0893604000101" + string(trace.CheckDigit("0893604000101"))

func hashOf(s string) trace.Hash { return sha256.Sum256([]byte(s)) }

// demoLike signs events like the demo's and an import's: a harvest with
// every field, farm steps with data, an aggregation into a pallet, a merge
// with inputs, outputs and loss, a drying without listed outputs, and
// events of a batch without a GTIN.
func demoLike(t testing.TB) (map[string]trace.BatchRef, []*trace.SignedEvent, *trace.Signer) {
	t.Helper()
	signer, err := trace.NewSigner(bytes.Repeat([]byte{7}, trace.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	batches := map[string]trace.BatchRef{
		"st25-a":   {ID: "st25-a", GTIN: gtinST25, Lot: "ST25-2508-A"},
		"st25-b":   {ID: "st25-b", GTIN: gtinST25, Lot: "ST25-2508-B"},
		"st25-mix": {ID: "st25-mix", GTIN: gtinST25, Lot: "ST25/MIX-01"},
		"st24-hc":  {ID: "st24-hc", Lot: "ST24-2508-HC"},
	}
	ict := time.FixedZone("ICT", 7*3600)
	at := func(day, hour int) (string, string) {
		return trace.FormatEventTime(time.Date(2025, 8, day, hour, 30, 0, 0, ict))
	}
	mk := func(typ trace.EventType, batch, step string, day int) *trace.Event {
		et, off := at(day, 6)
		e := &trace.Event{Type: typ, Cooperative: "htx-hoa-tu", Batch: batch, Action: "OBSERVE", BizStep: step,
			Disposition: "in_progress", EventTime: et, EventTimeZoneOffset: off}
		if typ == trace.TransformationEvent {
			e.Action = ""
		}
		return e
	}
	harvest := mk(trace.ObjectEvent, "st25-a", "commissioning", 12)
	harvest.Action, harvest.Disposition = "ADD", "active"
	harvest.ReadPoint = testBase + "/414/8936040000011/254/PLOT-07"
	harvest.BizLocation = testBase + "/414/8936040000011"
	harvest.Quantity = &trace.Quantity{Value: "6200", Unit: "KGM"}
	harvest.ILMD = &trace.ILMD{HarvestDate: "2025-08-12", ExpiryDate: "2026-08-12", CountryOfOrigin: "VN"}
	harvest.Certifications = []trace.Certification{{Scheme: "vietgap", ID: "VG-ST-0451"}, {Scheme: "https://cert.example.org/organic/", ID: "HC 118/2025"}}
	harvest.Note = "Thu hoạch bằng máy gặt đập liên hợp, lúa chín 90%"
	harvest.Attachments = []trace.Attachment{{SHA256: hashOf("ảnh"), MediaType: "image/jpeg", Name: "ruộng 7.jpg"}}
	spray := mk(trace.ObjectEvent, "st25-a", trace.StepSpraying, 13)
	spray.Data = map[string]string{"product": "Filia 525SE", "phi_days": "14"}
	pallet := mk(trace.AggregationEvent, "st25-a", "packing", 14)
	pallet.Action, pallet.ParentID = "ADD", testBase+"/00/389360400000000012"
	pallet.Quantity = &trace.Quantity{Value: "500", Unit: "KGM"}
	plain := mk(trace.AggregationEvent, "st25-a", "unpacking", 15)
	plain.Action = "DELETE"
	b0 := mk(trace.ObjectEvent, "st25-b", "commissioning", 14)

	var out []*trace.SignedEvent
	chain := func(events ...*trace.Event) {
		var prev trace.Hash
		for i, e := range events {
			e.Seq, e.Prev = uint64(i), prev
			se, err := signer.Sign(e)
			if err != nil {
				t.Fatalf("%s: %v", e.BizStep, err)
			}
			prev = se.Hash
			out = append(out, se)
		}
	}
	chain(harvest, spray, pallet, plain)
	chain(b0)
	merge := mk(trace.TransformationEvent, "st25-mix", trace.StepMerging, 20)
	merge.Inputs = []trace.Input{
		{Batch: "st25-a", Hash: out[3].Hash, Quantity: &trace.Quantity{Value: "600", Unit: "KGM"}},
		{Batch: "st25-b", Hash: out[4].Hash},
	}
	merge.Outputs = []trace.Output{{Batch: "st25-mix", Quantity: &trace.Quantity{Value: "950.5", Unit: "KGM"}}}
	merge.Loss = &trace.Quantity{Value: "0", Unit: "KGM"}
	merge.ILMD = &trace.ILMD{ExpiryDate: "2026-08-20"}
	chain(merge)
	dry := mk(trace.TransformationEvent, "st24-hc", trace.StepDrying, 21)
	dry.Inputs = []trace.Input{{Batch: "st25-mix", Hash: out[5].Hash}}
	dry.Quantity = &trace.Quantity{Value: "3", Unit: "XSA"}
	noGTIN := mk(trace.ObjectEvent, "st24-hc", "storing", 22)
	noGTIN.Disposition = ""
	withBoth := mk(trace.TransformationEvent, "st24-hc", trace.StepMilling, 23)
	withBoth.Inputs = []trace.Input{{Batch: "st25-mix", Hash: out[5].Hash}}
	withBoth.Outputs = []trace.Output{{Batch: "st24-hc"}}
	withBoth.Quantity = &trace.Quantity{Value: "12", Unit: "XBG"}
	chain(dry, noGTIN, withBoth)
	return batches, out, signer
}

func exportDoc(t testing.TB) (*trace.EPCISDocument, []*trace.SignedEvent) {
	t.Helper()
	batches, signed, _ := demoLike(t)
	doc := &trace.EPCISDocument{Context: trace.EPCISDocumentContext(), Type: "EPCISDocument",
		SchemaVersion: trace.EPCISSchemaVersion, CreationDate: "2025-09-01T08:00:00+07:00"}
	for _, se := range signed {
		x, err := trace.ExportEPCIS(se, testBase+"/api/v1/events/"+se.Hash.String(), testBase, batches)
		if err != nil {
			t.Fatal(err)
		}
		x.RecordTime = "2025-09-01T01:00:00Z"
		idx := uint64(3)
		x.LogIndex, x.LogEntry, x.InclusionProof = &idx, trace.LogEntry(se), []string{"AAAA"}
		doc.EPCISBody.EventList = append(doc.EPCISBody.EventList, x)
	}
	return doc, signed
}

// TestExportEPCISValidates checks every kind of exported event against
// GS1's schema, both the embedded copy and the shared one, with format
// assertions on.
func TestExportEPCISValidates(t *testing.T) {
	doc, _ := exportDoc(t)
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range schemas(t) {
		problems, err := v.Validate(raw)
		if err != nil || len(problems) > 0 {
			t.Errorf("%s schema: %v %v\n%s", name, err, problems, raw)
		}
	}
	// The schema does check what export writes: a broken event fails.
	bad := bytes.Replace(raw, []byte(`"bizStep":"packing"`), []byte(`"bizStep":"pack"`), 1)
	if problems, _ := epcis.Default().Validate(bad); len(problems) != 1 || !strings.HasSuffix(problems[0].Pointer, "/bizStep") {
		t.Errorf("a bad bizStep gives %v", problems)
	}
}

// TestExportEPCISIsLossless reads each exported event back from its
// readable members and gets the signed event's exact bytes.
func TestExportEPCISIsLossless(t *testing.T) {
	doc, signed := exportDoc(t)
	raw, _ := json.Marshal(doc)
	var back trace.EPCISDocument
	if err := json.Unmarshal(raw, &back); err != nil {
		t.Fatal(err)
	}
	for i, x := range back.EPCISBody.EventList {
		e, err := trace.EventFromEPCIS(x)
		if err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
		b, err := e.Encode()
		if err != nil || !bytes.Equal(b, signed[i].Body) {
			t.Errorf("event %d read back as\n%s\nwant\n%s (%v)", i, b, signed[i].Body, err)
		}
		se, err := trace.VerifyEPCIS(x)
		if err != nil || se.Hash != signed[i].Hash {
			t.Errorf("event %d: VerifyEPCIS: %v", i, err)
		}
	}
	// Spot checks of the EPCIS side.
	ev := back.EPCISBody.EventList
	if got := ev[0].QuantityList[0].EPCClass; got != testBase+"/01/"+gtinST25+"/10/ST25-2508-A" {
		t.Errorf("harvest epcClass %s", got)
	}
	if ev[0].ILMD["cbvmda:lotNumber"] != "ST25-2508-A" || ev[0].ILMD["cbvmda:harvestStartDate"] != "2025-08-12" {
		t.Errorf("harvest ilmd %v", ev[0].ILMD)
	}
	if ev[0].CertificationInfo[0] != trace.VocabBase+"cert/vietgap/VG-ST-0451" {
		t.Errorf("certificationInfo %v", ev[0].CertificationInfo)
	}
	if ev[2].ChildQuantityList[0].UOM != "KGM" || ev[2].ParentID == "" || ev[3].ChildQuantityList[0].Quantity != nil {
		t.Errorf("aggregations %+v %+v", ev[2], ev[3])
	}
	if got := ev[5].OutputQuantityList[0].EPCClass; got != testBase+"/01/"+gtinST25+"/10/ST25%2FMIX-01" {
		t.Errorf("a lot with '/' is %s", got)
	}
	if ev[6].OutputQuantityList[0].EPCClass != testBase+"/b/st24-hc" || !ev[6].ImpliedOutput || ev[6].Action != "" {
		t.Errorf("a batch without a GTIN: %+v", ev[6])
	}
}

// TestVerifyEPCISCatchesEdits changes one readable member or signed byte
// of an exported event at a time.
func TestVerifyEPCISCatchesEdits(t *testing.T) {
	doc, _ := exportDoc(t)
	edits := []struct {
		name string
		edit func(x *trace.EPCISEvent)
		want string
	}{
		{"bizStep", func(x *trace.EPCISEvent) { x.BizStep = "storing" }, "bizStep"},
		{"quantity", func(x *trace.EPCISEvent) { q := trace.Decimal("6300"); x.QuantityList[0].Quantity = &q }, "quantity"},
		{"note", func(x *trace.EPCISEvent) { x.Note = "khác" }, "note"},
		{"certification", func(x *trace.EPCISEvent) { x.CertificationInfo = x.CertificationInfo[:1] }, "certifications"},
		{"signed bytes", func(x *trace.EPCISEvent) { x.Canonical = bytes.Replace(x.Canonical, []byte("6200"), []byte("6300"), 1) }, "hash"},
		{"signature", func(x *trace.EPCISEvent) { x.Signature = bytes.Clone(x.Signature); x.Signature[0] ^= 1 }, "signature"},
	}
	for _, tc := range edits {
		t.Run(tc.name, func(t *testing.T) {
			raw, _ := json.Marshal(doc.EPCISBody.EventList[0])
			var x trace.EPCISEvent
			json.Unmarshal(raw, &x)
			tc.edit(&x)
			_, err := trace.VerifyEPCIS(&x)
			var ve *trace.VerifyError
			if !errors.As(err, &ve) || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("err = %v, want one naming %s", err, tc.want)
			}
		})
	}
}

func TestMapEPCISCaptureExampleHarvest(t *testing.T) {
	raw, err := os.ReadFile(filepath.Join(sharedStandards(t), "example-harvest-event.jsonld"))
	if err != nil {
		t.Fatal(err)
	}
	c, err := trace.MapEPCISCapture(raw, trace.CaptureOptions{Base: testBase, DocumentSHA256: "00ff"})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events) != 3 {
		t.Fatalf("%d events", len(c.Events))
	}
	for _, ce := range c.Events {
		if ce.Lot.GTIN != "08931234567897" || ce.Lot.Lot != "TL2025-0815" {
			t.Errorf("%s: lot %v", ce.Source, ce.Lot)
		}
	}
	h, pack, ship := c.Events[0].Event, c.Events[1].Event, c.Events[2].Event
	if h.Action != "ADD" || h.BizStep != "commissioning" || h.Quantity.Value != "1250" || h.ILMD.ExpiryDate != "2025-10-15" || h.ILMD.CountryOfOrigin != "VN" {
		t.Errorf("harvest %+v %+v", h, h.ILMD)
	}
	if len(h.Certifications) != 1 || h.Certifications[0].ID != "VG-0123" {
		t.Errorf("certifications %+v", h.Certifications)
	}
	if pack.Type != trace.AggregationEvent || pack.ParentID != "https://id.example.vn/00/389312340000000012" || pack.Quantity.Value != "500" {
		t.Errorf("packing %+v", pack)
	}
	if ship.Data[trace.DataContainer] != pack.ParentID || ship.Data["biz_transaction_desadv"] == "" || ship.Data[trace.DataEPCISDocument] != "00ff" {
		t.Errorf("shipping data %v", ship.Data)
	}
	ignored := map[string]bool{}
	for _, f := range c.Ignored {
		ignored[f.Field] = true
	}
	for _, p := range []string{"/epcisBody/eventList/0/sensorElementList", "/epcisBody/eventList/0/ilmd/vnag:ocopStars"} {
		if !ignored[p] {
			t.Errorf("%s is not reported as ignored: %v", p, c.Ignored)
		}
	}
}

// TestMapEPCISCaptureRefusals maps documents with one problem each; every
// problem is reported at its JSON pointer with a reason.
func TestMapEPCISCaptureRefusals(t *testing.T) {
	doc := func(event string) []byte {
		return []byte(`{"@context":["` + trace.EPCISContext + `"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2025-08-15T10:00:00Z","epcisBody":{"eventList":[` + event + `]}}`)
	}
	const when = `"eventTime":"2025-08-15T06:30:00+07:00","eventTimeZoneOffset":"+07:00"`
	lot := `"https://id.example.vn/01/08931234567897/10/TL-01"`
	tests := []struct {
		name, event, pointer, says string
	}{
		{"association", `{"type":"AssociationEvent",` + when + `,"action":"ADD","parentID":"urn:x:1","bizStep":"assembling"}`, "/epcisBody/eventList/0/type", "AssociationEvent"},
		{"serial", `{"type":"ObjectEvent",` + when + `,"action":"ADD","bizStep":"commissioning","epcList":["https://id.gs1.org/01/09521141012345/21/2017"]}`, "/epcisBody/eventList/0/epcList/0", "serialised"},
		{"no bizStep", `{"type":"ObjectEvent",` + when + `,"action":"ADD","epcList":[` + lot + `]}`, "/epcisBody/eventList/0", "bizStep"},
		{"unit", `{"type":"ObjectEvent",` + when + `,"action":"ADD","bizStep":"commissioning","quantityList":[{"epcClass":` + lot + `,"quantity":2,"uom":"CEL"}]}`, "/epcisBody/eventList/0/quantityList/0/uom", "CEL"},
		{"exponent", `{"type":"ObjectEvent",` + when + `,"action":"ADD","bizStep":"commissioning","quantityList":[{"epcClass":` + lot + `,"quantity":1e3,"uom":"KGM"}]}`, "/epcisBody/eventList/0/quantityList/0/quantity", "exponent"},
		{"zero", `{"type":"ObjectEvent",` + when + `,"action":"ADD","bizStep":"commissioning","quantityList":[{"epcClass":` + lot + `,"quantity":0,"uom":"KGM"}]}`, "/epcisBody/eventList/0/quantityList/0", "greater than zero"},
		{"lot number", `{"type":"ObjectEvent",` + when + `,"action":"ADD","bizStep":"commissioning","epcList":[` + lot + `],"ilmd":{"cbvmda:lotNumber":"TL-02"}}`, "/epcisBody/eventList/0/ilmd/cbvmda:lotNumber", "differs"},
		{"country", `{"type":"ObjectEvent",` + when + `,"action":"ADD","bizStep":"commissioning","epcList":[` + lot + `],"ilmd":{"cbvmda:countryOfOrigin":"Vietnam"}}`, "/epcisBody/eventList/0/ilmd/cbvmda:countryOfOrigin", "ISO 3166"},
		{"unknown container", `{"type":"ObjectEvent",` + when + `,"action":"OBSERVE","bizStep":"shipping","epcList":["https://id.example.vn/00/389312340000000012"]}`, "/epcisBody/eventList/0/epcList/0", "logistic unit"},
		{"no output", `{"type":"TransformationEvent",` + when + `,"bizStep":"commissioning","inputQuantityList":[{"epcClass":` + lot + `}],"transformationID":"urn:x:t"}`, "/epcisBody/eventList/0", "no output"},
		{"correction", `{"type":"ObjectEvent",` + when + `,"action":"ADD","bizStep":"commissioning","epcList":[` + lot + `],"errorDeclaration":{"declarationTime":"2025-08-16T00:00:00Z"}}`, "/epcisBody/eventList/0/errorDeclaration", "append-only"},
		{"GS1 namespace", `{"type":"ObjectEvent",` + when + `,"action":"ADD","bizStep":"urn:epcglobal:cbv:bizstep:harvesting","epcList":[` + lot + `]}`, "/epcisBody/eventList/0/bizStep", "namespace"},
		{"data field twice", `{"type":"ObjectEvent",` + when + `,"action":"OBSERVE","bizStep":"storing","epcList":[` + lot + `],"` + trace.VocabBase + `data":{"` + trace.VocabBase + `moisture":"14","moisture":"15"}}`, "/epcisBody/eventList/0/https:~1~1truyxuat.vn~1voc~1data/moisture", "names the data field"},
		{"offset not in use", `{"type":"ObjectEvent","eventTime":"2025-08-15T06:30:00Z","eventTimeZoneOffset":"+07:17","action":"ADD","bizStep":"commissioning","epcList":[` + lot + `]}`, "/epcisBody/eventList/0/eventTimeZoneOffset", "minutes are 00, 30 or 45"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := trace.MapEPCISCapture(doc(tc.event), trace.CaptureOptions{Base: testBase})
			var ve *trace.ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("err = %v", err)
			}
			for _, f := range ve.Fields {
				if f.Field == tc.pointer && strings.Contains(f.Reason, tc.says) {
					return
				}
			}
			t.Errorf("no problem at %s saying %q: %v", tc.pointer, tc.says, ve.Fields)
		})
	}
}

// TestMapEPCISCaptureCorpus maps every valid document of the peer's
// corpus: each either maps or is refused with reasons at pointers, and
// none makes the mapper fail otherwise.
func TestMapEPCISCaptureCorpus(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(sharedStandards(t), "openepcis-capture", "valid", "*.json"))
	if len(files) == 0 {
		t.Fatal("no corpus")
	}
	mapped := 0
	for _, f := range files {
		raw, _ := os.ReadFile(f)
		c, err := trace.MapEPCISCapture(raw, trace.CaptureOptions{Base: testBase})
		var ve *trace.ValidationError
		switch {
		case err == nil:
			mapped++
			for _, ce := range c.Events {
				if ce.Lot.GTIN == "" || ce.Lot.Lot == "" {
					t.Errorf("%s: %s maps to %v", filepath.Base(f), ce.Source, ce.Lot)
				}
			}
		case errors.As(err, &ve):
			for _, fe := range ve.Fields {
				if !strings.HasPrefix(fe.Field, "/epcisBody/eventList/") || fe.Reason == "" {
					t.Errorf("%s: problem %q: %s", filepath.Base(f), fe.Field, fe.Reason)
				}
			}
		default:
			t.Errorf("%s: %v", filepath.Base(f), err)
		}
	}
	if mapped != 1 {
		t.Errorf("%d documents of the corpus map onto lots; only ObjectEvent_with_digitalLink names lots throughout", mapped)
	}
}

func TestLGTINAndCertificationURIs(t *testing.T) {
	raw := []byte(`{"@context":["` + trace.EPCISContext + `"],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2025-08-15T10:00:00Z","epcisBody":{"eventList":[
	{"type":"ObjectEvent","eventTime":"2013-06-08T14:58:56.591Z","eventTimeZoneOffset":"+02:00","action":"OBSERVE","bizStep":"receiving",
	 "quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.99%2F8877","quantity":200,"uom":"KGM"},{"epcClass":"` + testBase + `/b/st24-hc","quantity":3}],
	 "certificationInfo":["urn:example:cert:123","` + trace.CertificationURI(trace.Certification{Scheme: "vietgap", ID: "VG 1"}) + `"]}]}}`)
	c, err := trace.MapEPCISCapture(raw, trace.CaptureOptions{Base: testBase})
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Events) != 2 {
		t.Fatalf("%d events", len(c.Events))
	}
	a, b := c.Events[0], c.Events[1]
	if a.Lot.GTIN != "0401234512345"+string(trace.CheckDigit("0401234512345")) || a.Lot.Lot != "99/8877" {
		t.Errorf("lgtin read as %+v", a.Lot)
	}
	if err := trace.ValidateGTIN14(a.Lot.GTIN); err != nil {
		t.Error(err)
	}
	if b.Lot.BatchID != "st24-hc" || b.Event.Quantity.Unit != "H87" {
		t.Errorf("short link read as %+v, quantity %+v", b.Lot, b.Event.Quantity)
	}
	if a.Event.EventTime != "2013-06-08T16:58:56.591+02:00" {
		t.Errorf("event time %s", a.Event.EventTime)
	}
	want := []trace.Certification{{Scheme: "urn:example:cert:", ID: "123"}, {Scheme: "vietgap", ID: "VG 1"}}
	for i, c := range a.Event.Certifications {
		if c != want[i] {
			t.Errorf("certification %d: %+v", i, c)
		}
	}
}

// captureSeeds are EPCIS documents for the capture fuzz targets, all made
// here: truyxuat's own export of events of every kind, one document per
// exported event, and partner documents in the shapes the capture tests
// use (Digital Links, LGTIN URNs, short links, a pallet and its lots, a
// transformation, ILMD, certifications, source and transaction lists, and
// truyxuat's note and data under a prefix of the document's @context).
func captureSeeds(f *testing.F) {
	doc, _ := exportDoc(f)
	raw, err := json.Marshal(doc)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(raw)
	for _, x := range doc.EPCISBody.EventList {
		one := *doc
		one.EPCISBody.EventList = []*trace.EPCISEvent{x}
		b, _ := json.Marshal(&one)
		f.Add(b)
	}
	wrap := func(ctx, events string) []byte {
		return []byte(`{"@context":[` + ctx + `],"type":"EPCISDocument","schemaVersion":"2.0","creationDate":"2025-08-15T10:00:00+07:00","epcisBody":{"eventList":[` + events + `]}}`)
	}
	ctx := `"` + trace.EPCISContext + `",{"vnag":"` + trace.VocabBase + `"}`
	const when = `"eventTime":"2025-08-15T06:30:00+07:00","eventTimeZoneOffset":"+07:00"`
	lot := `"https://id.example.vn/01/08931234567897/10/TL2025-0815"`
	pallet := `"https://id.example.vn/00/389312340000000012"`
	for _, events := range []string{
		`{"type":"ObjectEvent",` + when + `,"eventID":"urn:uuid:4f8b0c2e-1d3a-4b5c-9e6f-7a8b9c0d1e2f","action":"ADD","bizStep":"commissioning","disposition":"active",` +
			`"epcList":[` + lot + `],"quantityList":[{"epcClass":"urn:epc:class:lgtin:893123.0456789.TL2025-0815","quantity":1250.5,"uom":"KGM"}],` +
			`"readPoint":{"id":"https://id.example.vn/414/8931234000011/254/PLOT-07"},"bizLocation":{"id":"https://id.example.vn/414/8931234000011"},` +
			`"ilmd":{"cbvmda:countryOfOrigin":"VN","cbvmda:itemExpirationDate":"2025-10-15","cbvmda:harvestStartDate":"2025-08-14","cbvmda:harvestEndDate":"2025-08-15","cbvmda:lotNumber":"TL2025-0815"},` +
			`"certificationInfo":["https://cert.example.vn/vietgap/VG-0123","` + trace.CertificationURI(trace.Certification{Scheme: "ocop", ID: "OCOP 4*"}) + `"],` +
			`"sourceList":[{"type":"owning_party","source":"https://id.example.vn/417/8931234000011"}],` +
			`"bizTransactionList":[{"type":"po","bizTransaction":"urn:epcglobal:cbv:bt:8931234000011:PO-77"}],` +
			`"vnag:note":"Thu hoạch sáng sớm","vnag:data":{"vnag:moisture":"14.5","machine":"Kubota DC-70"},"sensorElementList":[]}`,
		`{"type":"AggregationEvent",` + when + `,"action":"ADD","bizStep":"packing","parentID":` + pallet + `,"childQuantityList":[{"epcClass":` + lot + `,"quantity":500,"uom":"KGM"}]},` +
			`{"type":"ObjectEvent",` + when + `,"action":"OBSERVE","bizStep":"shipping","disposition":"in_transit","epcList":[` + pallet + `],` +
			`"destinationList":[{"type":"location","destination":"https://id.example.vn/414/8931234000028"}]}`,
		`{"type":"TransformationEvent",` + when + `,"bizStep":"https://trace.example.vn/voc/bizstep/milling","transformationID":"urn:x:t1",` +
			`"inputQuantityList":[{"epcClass":` + lot + `,"quantity":600,"uom":"KGM"},{"epcClass":"` + testBase + `/b/st24-hc"}],` +
			`"outputEPCList":["https://id.example.vn/01/08931234567897/10/MIX%2F01"],"ilmd":{"cbvmda:itemExpirationDate":"2026-08-20T00:00:00Z"}}`,
		`{"type":"ObjectEvent","eventTime":"2013-06-08T14:58:56.591Z","eventTimeZoneOffset":"+02:00","action":"OBSERVE","bizStep":"receiving",` +
			`"quantityList":[{"epcClass":"urn:epc:class:lgtin:4012345.012345.99%2F8877","quantity":200,"uom":"KGM"},{"epcClass":"` + testBase + `/b/st24-hc","quantity":3}],` +
			`"certificationInfo":["urn:example:cert:123"]}`,
		`{"type":"ObjectEvent",` + when + `,"action":"ADD","bizStep":"urn:epcglobal:cbv:bizstep:harvesting","epcList":["https://id.gs1.org/01/09521141012345/21/2017"],"errorDeclaration":{"declarationTime":"2025-08-16T00:00:00Z"}}`,
		`{"type":"AssociationEvent",` + when + `,"action":"ADD","parentID":"urn:x:1","bizStep":"assembling"}`,
	} {
		f.Add(wrap(ctx, events))
	}
	f.Add([]byte(`{"type":"EPCISDocument","epcisBody":{"eventList":[{"type":"ObjectEvent"}]}}`))
}

// checkMapped checks what MapEPCISCapture promises of a document it maps
// or refuses, and that mapping the same bytes again gives the same result.
func checkMapped(t *testing.T, raw []byte, c *trace.Capture, err error) {
	t.Helper()
	c2, err2 := trace.MapEPCISCapture(raw, trace.CaptureOptions{Base: testBase, DocumentSHA256: "00ff"})
	if (err == nil) != (err2 == nil) || err != nil && err.Error() != err2.Error() || !reflect.DeepEqual(c, c2) {
		t.Fatalf("the same document maps differently twice:\n%+v, %v\n%+v, %v", c, err, c2, err2)
	}
	if err != nil {
		var ve *trace.ValidationError
		var fe *trace.FieldError
		switch {
		case errors.As(err, &ve):
			if len(ve.Fields) == 0 {
				t.Fatalf("a refusal with no problems: %v", err)
			}
			for _, p := range ve.Fields {
				if p.Reason == "" || p.Field != "" && !strings.HasPrefix(p.Field, "/") {
					t.Fatalf("problem %+v is not at a JSON pointer with a reason", p)
				}
			}
		case errors.As(err, &fe):
			if fe.Field != "" || fe.Reason == "" {
				t.Fatalf("refusal %+v", fe)
			}
		default:
			t.Fatalf("error %v (%T) is neither a *ValidationError nor a *FieldError", err, err)
		}
		return
	}
	if len(c.Events) == 0 {
		t.Fatal("a document mapped to no events")
	}
	for _, ce := range c.Events {
		if ce.Event == nil || !strings.HasPrefix(ce.Source, "/epcisBody/eventList/") {
			t.Fatalf("mapped event %+v", ce)
		}
		switch l := ce.Lot; {
		case l.BatchID != "":
			if !trace.ValidID(l.BatchID) || l.GTIN != "" || l.Lot != "" {
				t.Fatalf("lot %+v", l)
			}
		case trace.ValidateGTIN14(l.GTIN) != nil || trace.ValidateLot(l.Lot) != nil:
			t.Fatalf("mapped event on lot %+v", l)
		}
		if len(ce.Inputs) != len(ce.Event.Inputs) || len(ce.Outputs) != len(ce.Event.Outputs) {
			t.Fatalf("%d/%d input lots for %d/%d inputs", len(ce.Inputs), len(ce.Outputs), len(ce.Event.Inputs), len(ce.Event.Outputs))
		}
	}
}

// FuzzMapEPCISCapture maps any bytes, schema-valid or not: the mapper
// refuses what it cannot map with problems at JSON pointers, never
// otherwise, and maps the same bytes the same way each time.
func FuzzMapEPCISCapture(f *testing.F) {
	captureSeeds(f)
	f.Fuzz(func(t *testing.T, raw []byte) {
		c, err := trace.MapEPCISCapture(raw, trace.CaptureOptions{Base: testBase, DocumentSHA256: "00ff"})
		checkMapped(t, raw, c, err)
	})
}

// maxFuzzDocument bounds the documents FuzzCaptureEPCIS validates, to keep
// each run of the schema short.
const maxFuzzDocument = 32 << 10

// FuzzCaptureEPCIS runs a capture end to end as the API does: the bytes
// the API would read (one JSON value, UTF-8, no member twice), checked
// against GS1's schema, then mapped. Schema problems are at pointers that
// exist in the document. A mapped event, recorded on stand-in batches and
// signed, exports as EPCIS that GS1's schema accepts and that reads back
// to the signed bytes.
func FuzzCaptureEPCIS(f *testing.F) {
	captureSeeds(f)
	signer, err := trace.NewSigner(bytes.Repeat([]byte{9}, trace.SeedSize))
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		if len(raw) > maxFuzzDocument || !utf8.Valid(raw) {
			return
		}
		dec := jsontext.NewDecoder(bytes.NewReader(raw))
		if _, err := dec.ReadValue(); err != nil {
			return
		}
		if _, err := dec.ReadToken(); err != io.EOF {
			return
		}
		val, err := epcis.Decode(raw)
		if err != nil {
			t.Fatalf("one JSON value that epcis.Decode refuses: %v", err)
		}
		if problems := epcis.Default().ValidateValue(val); len(problems) > 0 {
			for _, p := range problems {
				if p.Detail == "" {
					t.Fatalf("problem without a detail at %q", p.Pointer)
				}
				if !resolves(val, p.Pointer) {
					t.Fatalf("problem %q names no value of the document", p)
				}
			}
			return
		}
		c, err := trace.MapEPCISCapture(raw, trace.CaptureOptions{Base: testBase, DocumentSHA256: "00ff"})
		checkMapped(t, raw, c, err)
		if err != nil {
			return
		}
		ids := map[string]trace.BatchRef{}
		idOf := func(l trace.LotRef) string {
			id := l.BatchID
			if id == "" {
				id = fmt.Sprintf("lot-%x", sha256.Sum256([]byte(l.GTIN+"/"+l.Lot)))[:20]
			}
			ids[id] = trace.BatchRef{ID: id, GTIN: l.GTIN, Lot: l.Lot}
			return id
		}
		out := &trace.EPCISDocument{Context: trace.EPCISDocumentContext(), Type: "EPCISDocument",
			SchemaVersion: trace.EPCISSchemaVersion, CreationDate: "2025-09-01T08:00:00+07:00"}
		var signed []*trace.SignedEvent
		for _, ce := range c.Events {
			e := *ce.Event
			e.Cooperative, e.Batch = "htx-capture", idOf(ce.Lot)
			e.Inputs = append([]trace.Input(nil), ce.Event.Inputs...)
			for i := range e.Inputs {
				e.Inputs[i].Batch, e.Inputs[i].Hash = idOf(ce.Inputs[i]), trace.Hash{1}
			}
			e.Outputs = append([]trace.Output(nil), ce.Event.Outputs...)
			for i := range e.Outputs {
				e.Outputs[i].Batch = idOf(ce.Outputs[i])
			}
			se, err := signer.Sign(&e)
			if err != nil {
				t.Fatalf("%s mapped to an event that cannot be signed: %v\n%+v", ce.Source, err, e)
			}
			signed = append(signed, se)
		}
		for _, se := range signed {
			x, err := trace.ExportEPCIS(se, "", testBase, ids)
			if err != nil {
				t.Fatalf("export: %v", err)
			}
			out.EPCISBody.EventList = append(out.EPCISBody.EventList, x)
		}
		exported, err := json.Marshal(out)
		if err != nil {
			t.Fatal(err)
		}
		if problems, err := epcis.Default().Validate(exported); err != nil || len(problems) > 0 {
			t.Fatalf("captured events export as EPCIS the schema refuses: %v %v\n%s", err, problems, exported)
		}
		var back trace.EPCISDocument
		if err := json.Unmarshal(exported, &back); err != nil {
			t.Fatal(err)
		}
		for i, x := range back.EPCISBody.EventList {
			e, err := trace.EventFromEPCIS(x)
			if err != nil {
				t.Fatalf("exported event %d does not read back: %v", i, err)
			}
			if b, err := e.Encode(); err != nil || !bytes.Equal(b, signed[i].Body) {
				t.Fatalf("exported event %d reads back as\n%s\nwant\n%s (%v)", i, b, signed[i].Body, err)
			}
		}
	})
}

// resolves reports whether an RFC 6901 JSON pointer names a value of v
// (as epcis.Decode reads it).
func resolves(v any, ptr string) bool {
	if ptr == "" {
		return true
	}
	if !strings.HasPrefix(ptr, "/") {
		return false
	}
	for _, tok := range strings.Split(ptr[1:], "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		switch x := v.(type) {
		case map[string]any:
			next, ok := x[tok]
			if !ok {
				return false
			}
			v = next
		case []any:
			i, err := strconv.Atoi(tok)
			if err != nil || i < 0 || i >= len(x) || strconv.Itoa(i) != tok {
				return false
			}
			v = x[i]
		default:
			return false
		}
	}
	return true
}
