package trace

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func sampleRecords() []*Record {
	return []*Record{
		{Kind: KindProduct, ID: "gao-st25", Cooperative: "htx-my-xuyen", Time: "2025-08-01T08:00:00+07:00",
			Fields: ProductRecordFields(&Product{GTIN: "08936040001016", NameVI: "Gạo ST25 \"Hòa Tú\" <túi>", NameEN: "ST25 rice", Category: "Lúa gạo", OCOPStars: 4})},
		{Kind: KindProduct, ID: "gao-st25", Cooperative: "htx-my-xuyen", Seq: 1, Time: "2025-09-01T08:00:00.5+07:00",
			Fields: ProductRecordFields(&Product{GTIN: "08936040001016", NameVI: "Gạo ST25 Hòa Tú", Category: "Lúa gạo", OCOPStars: 5})},
		{Kind: KindCooperative, ID: "htx-my-xuyen", Cooperative: "htx-my-xuyen", Time: "2025-07-01T08:00:00+07:00",
			Fields: CooperativeRecordFields(&Cooperative{Name: "HTX Mỹ Xuyên", Province: "Sóc Trăng", GLN: "8931234000011"})},
	}
}

func signRecords(t *testing.T, s *Signer, recs []*Record) []*SignedRecord {
	t.Helper()
	var out []*SignedRecord
	var prev Hash
	for _, r := range recs {
		if r.Seq > 0 {
			r.Prev = prev
		}
		sr, err := PrepareRecord(r)
		if err != nil {
			t.Fatal(err)
		}
		s.SealRecord(sr)
		out = append(out, sr)
		prev = sr.Hash
	}
	return out
}

// TestRecordGolden pins the canonical bytes, hashes and signatures of
// registry records; like the event vectors they must never change.
func TestRecordGolden(t *testing.T) {
	s := testSigner(t, 7)
	var got []golden
	for _, sr := range signRecords(t, s, sampleRecords()) {
		got = append(got, golden{Canonical: string(sr.Body), Hash: sr.Hash.String(),
			Signature: hex.EncodeToString(sr.Signature), Signer: hex.EncodeToString(sr.Signer)})
	}
	path := filepath.Join("testdata", "records-v1.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./trace -run TestRecordGolden -update once to create it)", err)
	}
	var want []golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("record vectors drifted:\n got %+v\nwant %+v", got, want)
	}
	for i, w := range want {
		sig, _ := hex.DecodeString(w.Signature)
		pub, _ := hex.DecodeString(w.Signer)
		if _, err := OpenRecord([]byte(w.Canonical), sig, pub); err != nil {
			t.Errorf("vector %d: %v", i, err)
		}
		// A record is never an event, nor an event a record.
		if _, err := Decode([]byte(w.Canonical)); err == nil {
			t.Errorf("vector %d decodes as an event", i)
		}
	}
	ev, _ := os.ReadFile(filepath.Join("testdata", "events-v1.json"))
	var events []golden
	json.Unmarshal(ev, &events)
	for i, e := range events {
		if _, err := DecodeRecord([]byte(e.Canonical)); err == nil {
			t.Errorf("event vector %d decodes as a record", i)
		}
	}
}

// TestRecordMatchesSortedJSON cross-checks the record encoder with
// encoding/json's sorted map keys.
func TestRecordMatchesSortedJSON(t *testing.T) {
	r := sampleRecords()[2]
	b, err := r.Encode()
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.Encode(m)
	if got := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, b) {
		t.Errorf("canonical %s\nsorted    %s", b, got)
	}
}

func TestRecordValidate(t *testing.T) {
	ok := func() *Record { return sampleRecords()[0] }
	cases := map[string]struct {
		edit  func(r *Record)
		field string
	}{
		"unknown kind":     {func(r *Record) { r.Kind = "farm" }, "kind"},
		"unknown field":    {func(r *Record) { r.Fields["colour"] = "đỏ" }, "fields.colour"},
		"missing name":     {func(r *Record) { delete(r.Fields, "name_vi") }, "fields.name_vi"},
		"bad gtin":         {func(r *Record) { r.Fields["gtin"] = "08936040001017" }, "fields.gtin"},
		"bad stars":        {func(r *Record) { r.Fields["ocop_stars"] = "6" }, "fields.ocop_stars"},
		"control char":     {func(r *Record) { r.Fields["name_vi"] = "a\x00b" }, "fields.name_vi"},
		"prev on first":    {func(r *Record) { r.Prev = mustHash("x") }, "prev"},
		"no prev on later": {func(r *Record) { r.Seq = 2 }, "prev"},
		"bad time":         {func(r *Record) { r.Time = "yesterday" }, "time"},
		"coop of another":  {func(r *Record) { r.Kind, r.Fields = KindCooperative, map[string]string{"name": "x", "province": "y"} }, "id"},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			r := ok()
			c.edit(r)
			err := r.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a validation error", err)
			}
			found := false
			for _, f := range ve.Fields {
				found = found || f.Field == c.field
			}
			if !found {
				t.Errorf("got %v, want a problem with %s", err, c.field)
			}
		})
	}
}

// TestRecordFlipAnyByte flips bits in every byte of a chain of revisions
// and expects verification to fail at that revision each time.
func TestRecordFlipAnyByte(t *testing.T) {
	s := testSigner(t, 9)
	chain := signRecords(t, s, sampleRecords()[:2])
	keys := func(string) [][]byte { return [][]byte{s.PublicKey()} }
	if err := VerifyRecords(KindProduct, "gao-st25", chain, keys); err != nil {
		t.Fatalf("clean chain: %v", err)
	}
	for i, sr := range chain {
		for _, buf := range []*[]byte{&sr.Body, &sr.Signature, &sr.Signer} {
			orig := *buf
			for j := range orig {
				mod := bytes.Clone(orig)
				mod[j] ^= 0x01
				*buf = mod
				err := VerifyRecords(KindProduct, "gao-st25", chain, keys)
				*buf = orig
				var ve *VerifyError
				if !errors.As(err, &ve) || ve.Index != i {
					t.Fatalf("revision %d byte %d: got %v, want a failure at revision %d", i, j, err, i)
				}
			}
		}
	}
	other := testSigner(t, 10)
	forged := signRecords(t, other, sampleRecords()[:1])
	err := VerifyRecords(KindProduct, "gao-st25", forged, keys)
	var ve *VerifyError
	if !errors.As(err, &ve) || ve.Reason != ReasonUnknownKey {
		t.Errorf("a record signed by another key: %v", err)
	}
}

func TestLotFactsRoundTrip(t *testing.T) {
	p := &Product{ID: "gao-st25", GTIN: "08936040001016", NameVI: "Gạo ST25", NameEN: "ST25 rice", Category: "Lúa gạo"}
	b := &Batch{ID: "b1", CooperativeID: "htx", ProductID: p.ID, Lot: "ST25-2508/A",
		Quantity: Quantity{Value: "6200", Unit: "KGM"}, HarvestDate: "2025-08-15",
		Plot:           &Plot{Name: "Ruộng số 7", Lat: 9.602, Lon: 105.97},
		Certifications: []Certification{{Scheme: "vietgap", ID: "VG-0123"}}}
	want := FactsOf(b, p)
	e := want.Event("htx", "b1", true, time.Date(2025, 8, 20, 9, 0, 0, 0, time.FixedZone("ICT", 7*3600)))
	se, err := Prepare(e)
	if err != nil {
		t.Fatal(err)
	}
	back, err := Decode(se.Body)
	if err != nil {
		t.Fatal(err)
	}
	got, err := LotFactsOf(back)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, want)
	}
	if back.Action != "ADD" || back.BizStep != "creating_class_instance" {
		t.Errorf("registration is %s %s", back.Action, back.BizStep)
	}
	if f := got.Fields(); f["quantity"] != "6200 KGM" || f["plot"] != "Ruộng số 7 9.602,105.97" || f["certifications"] != "vietgap VG-0123" {
		t.Errorf("fields %v", f)
	}
	// The newest valid facts record wins; an ordinary event is passed over.
	fix := FactsOf(b, p)
	fix.Quantity.Value = "6100"
	e2 := fix.Event("htx", "b1", false, time.Now())
	e2.Seq, e2.Prev = 1, se.Hash
	se2, err := Prepare(e2)
	if err != nil {
		t.Fatal(err)
	}
	harvest := &Event{Type: ObjectEvent, Cooperative: "htx", Batch: "b1", Seq: 2, Prev: se2.Hash, Action: "OBSERVE",
		BizStep: "commissioning", EventTime: "2025-08-21T06:00:00+07:00", EventTimeZoneOffset: "+07:00"}
	se3, err := Prepare(harvest)
	if err != nil {
		t.Fatal(err)
	}
	latest, at := LatestFacts([]*SignedEvent{se, se2, se3})
	if at != 1 || latest.Quantity.Value != "6100" {
		t.Errorf("latest facts at %d: %+v", at, latest)
	}
	if f, at := LatestFacts([]*SignedEvent{se3}); f != nil || at != -1 {
		t.Errorf("a history without facts gave %+v at %d", f, at)
	}
}

func TestLotFactsOfRejects(t *testing.T) {
	base := func() *Event {
		return FactsOf(&Batch{ProductID: "p", Lot: "L1", Quantity: Quantity{Value: "1", Unit: "KGM"}},
			&Product{NameVI: "Gạo"}).Event("c", "b", true, time.Now())
	}
	cases := map[string]func(e *Event){
		"extra field":     func(e *Event) { e.Data["colour"] = "x" },
		"no quantity":     func(e *Event) { e.Quantity = nil },
		"bad lot":         func(e *Event) { e.Data["lot"] = "lô một" },
		"no product name": func(e *Event) { delete(e.Data, "product_name") },
		"coords no name":  func(e *Event) { e.Data["plot_lat"] = "10" },
		"bad coords":      func(e *Event) { e.Data["plot"], e.Data["plot_lat"], e.Data["plot_lon"] = "R", "x", "1" },
	}
	for name, edit := range cases {
		t.Run(name, func(t *testing.T) {
			e := base()
			edit(e)
			if _, err := LotFactsOf(e); err == nil {
				t.Errorf("accepted")
			}
		})
	}
}
