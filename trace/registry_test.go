package trace

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

const photoHash = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"

// sampleRegistry is one valid record of each registry kind, and the
// extended profile and product.
func sampleRegistry() []*Record {
	coop := &Cooperative{Name: "Hợp tác xã Nông nghiệp Hòa Tú", Province: "Thành phố Cần Thơ", GLN: "8936040000019",
		Profile: map[string]string{"short_name": "HTX Hòa Tú", "registration_no": "2200123456", "province_code": "92",
			"commune_code": "31717", "address": "Ấp Hòa Đê", "phone": "02993851234", "zalo": "0912345678",
			"email": "htx.hoatu@example.vn", "website": "https://hoatu.example.vn", "representative": "Lâm Văn Tâm",
			"founded": "2016-03-15", "logo": photoHash, "description_vi": "Lúa tôm luân canh."}}
	product := &Product{GTIN: "08936040001016", NameVI: "Gạo ST25", Category: "Lúa gạo", OCOPStars: 4,
		Content: map[string]string{"name_zh": "ST25 香米", "description_zh": "虾稻轮作。", "variety_vi": "ST25", "photos": photoHash}}
	return []*Record{
		{Kind: KindCooperative, ID: "htx-hoa-tu", Cooperative: "htx-hoa-tu", Time: "2025-09-01T08:00:00+07:00", Fields: CooperativeRecordFields(coop)},
		{Kind: KindProduct, ID: "gao-st25", Cooperative: "htx-hoa-tu", Time: "2025-09-01T08:00:00+07:00", Fields: ProductRecordFields(product)},
		{Kind: KindMember, ID: "ho-lam-van-tam", Cooperative: "htx-hoa-tu", Time: "2025-09-01T08:00:00+07:00",
			Fields: map[string]string{"name": "Hộ Lâm Văn Tâm", "code": "TV-001", "commune_code": "31717", "area_ha": "2.5", "crops": "Lúa ST25, tôm", "phone": "0912345678", "joined": "2016-03-15"}},
		{Kind: KindPlot, ID: "ruong-7", Cooperative: "htx-hoa-tu", Time: "2025-09-01T08:00:00+07:00",
			Fields: map[string]string{"name": "Ruộng số 7", "area_ha": "1.2", "crop": "Lúa ST25", "member": "ho-lam-van-tam", "commune_code": "31717",
				"location":      `{"type":"Polygon","coordinates":[[[105.9371,9.4705],[105.9391,9.4705],[105.9391,9.4719],[105.9371,9.4719],[105.9371,9.4705]]]}`,
				"planting_code": "VN-CTPUC-0012", "planting_code_valid_from": "2024-01-01", "planting_code_valid_to": "2026-12-31"}},
		{Kind: KindCertificate, ID: "vietgap-vg-st-0451", Cooperative: "htx-hoa-tu", Time: "2025-09-01T08:00:00+07:00",
			Fields: map[string]string{"scheme": "vietgap", "number": "VG-ST-0451", "issuer": "Trung tâm Chứng nhận Phù hợp", "valid_from": "2024-03-01",
				"valid_to": "2027-02-28", "products": "gao-st25", "plots": "ruong-7", "scan": photoHash}},
		{Kind: KindCertificate, ID: "ocop-st-2023", Cooperative: "htx-hoa-tu", Time: "2025-09-01T08:00:00+07:00",
			Fields: map[string]string{"scheme": "ocop", "number": "OCOP-ST-2023-041", "issuer": "UBND tỉnh Sóc Trăng", "valid_from": "2023-06-01",
				"valid_to": "2026-05-31", "ocop_stars": "4"}},
		{Kind: KindListing, ID: "shopee-1", Cooperative: "htx-hoa-tu", Time: "2025-09-01T08:00:00+07:00",
			Fields: map[string]string{"platform": "shopee", "label": "Gạo ST25 Hòa Tú trên Shopee", "url": "https://shopee.vn/gao-st25-hoa-tu", "product": "gao-st25"}},
		{Kind: KindListing, ID: "shopee-1", Cooperative: "htx-hoa-tu", Seq: 1, Time: "2025-10-01T08:00:00+07:00",
			Fields: map[string]string{"platform": "shopee", "label": "Gạo ST25 Hòa Tú trên Shopee", "url": "https://shopee.vn/gao-st25-hoa-tu", "product": "gao-st25", "removed": "2025-10-01"}},
	}
}

// TestRegistryGolden pins the canonical bytes of each registry kind.
func TestRegistryGolden(t *testing.T) {
	s := testSigner(t, 11)
	var got []golden
	for _, sr := range signRecords(t, s, sampleRegistry()) {
		got = append(got, golden{Canonical: string(sr.Body), Hash: sr.Hash.String(),
			Signature: hex.EncodeToString(sr.Signature), Signer: hex.EncodeToString(sr.Signer)})
	}
	path := filepath.Join("testdata", "registry-records-v1.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./trace -run TestRegistryGolden -update once to create it)", err)
	}
	var want []golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("registry vectors drifted:\n got %+v\nwant %+v", got, want)
	}
	for i, w := range want {
		sig, _ := hex.DecodeString(w.Signature)
		pub, _ := hex.DecodeString(w.Signer)
		sr, err := OpenRecord([]byte(w.Canonical), sig, pub)
		if err != nil {
			t.Errorf("vector %d: %v", i, err)
			continue
		}
		if i == 7 && !sr.Record.Removed() {
			t.Errorf("vector %d is a removal", i)
		}
	}
}

func TestRegistryValidate(t *testing.T) {
	base := func(kind RecordKind) *Record {
		for _, r := range sampleRegistry() {
			if r.Kind == kind {
				c := *r
				c.Fields = map[string]string{}
				for k, v := range r.Fields {
					c.Fields[k] = v
				}
				return &c
			}
		}
		t.Fatalf("no sample %s", kind)
		return nil
	}
	cases := []struct {
		name  string
		kind  RecordKind
		set   map[string]string
		field string
		want  string
	}{
		{"phone with spaces", KindMember, map[string]string{"phone": "0912 345 678"}, "fields.phone", "10 or 11 digits"},
		{"phone too short", KindCooperative, map[string]string{"phone": "091234"}, "fields.phone", "10 or 11 digits"},
		{"zalo", KindCooperative, map[string]string{"zalo": "+8412"}, "fields.zalo", "+84"},
		{"email", KindCooperative, map[string]string{"email": "htx@localhost"}, "fields.email", "no dot"},
		{"email with name", KindCooperative, map[string]string{"email": "HTX <htx@example.vn>"}, "fields.email", "e-mail address"},
		{"email with accents", KindCooperative, map[string]string{"email": "hòatú@example.vn"}, "fields.email", "without accents"},
		{"website scheme", KindCooperative, map[string]string{"website": "ftp://hoatu.example.vn"}, "fields.website", "https://"},
		{"website javascript", KindListing, map[string]string{"url": "javascript:alert(1)"}, "fields.url", "https://"},
		{"website password", KindListing, map[string]string{"url": "https://a:b@shopee.vn/x"}, "fields.url", "password"},
		{"website no host", KindListing, map[string]string{"url": "https://localhost/x"}, "fields.url", "host name"},
		{"platform", KindListing, map[string]string{"platform": "amazon"}, "fields.platform", "unknown platform"},
		{"founded", KindCooperative, map[string]string{"founded": "15/03/2016"}, "fields.founded", "YYYY-MM-DD"},
		{"registration", KindCooperative, map[string]string{"registration_no": "22001234"}, "fields.registration_no", "10 digits"},
		{"province code", KindCooperative, map[string]string{"province_code": "9"}, "fields.province_code", "2 digits"},
		{"commune code", KindMember, map[string]string{"commune_code": "3171a"}, "fields.commune_code", "5 digits"},
		{"area zero", KindMember, map[string]string{"area_ha": "0"}, "fields.area_ha", "greater than zero"},
		{"area comma", KindMember, map[string]string{"area_ha": "2,5"}, "fields.area_ha", "hectares"},
		{"area huge", KindPlot, map[string]string{"area_ha": "1000000"}, "fields.area_ha", "at most"},
		{"code lower case", KindPlot, map[string]string{"planting_code": "vn-ctpuc-12"}, "fields.planting_code", "capital letters"},
		{"validity without code", KindPlot, map[string]string{"packing_code_valid_to": "2026-01-01"}, "fields.packing_code", "give the code"},
		{"validity reversed", KindPlot, map[string]string{"planting_code_valid_to": "2023-01-01"}, "fields.planting_code_valid_to", "ends"},
		{"latitude first", KindPlot, map[string]string{"location": `{"type":"Point","coordinates":[9.4712,105.9381]}`}, "fields.location", "longitude first"},
		{"outside Vietnam", KindPlot, map[string]string{"location": `{"type":"Point","coordinates":[2.35,48.85]}`}, "fields.location", "outside Vietnam"},
		{"open ring", KindPlot, map[string]string{"location": `{"type":"Polygon","coordinates":[[[105.9,9.4],[105.91,9.4],[105.91,9.41],[105.9,9.41]]]}`}, "fields.location", "not closed"},
		{"line string", KindPlot, map[string]string{"location": `{"type":"LineString","coordinates":[[105.9,9.4],[105.91,9.4]]}`}, "fields.location", "Point or Polygon"},
		{"spaced geojson", KindPlot, map[string]string{"location": `{"type": "Point", "coordinates": [105.9381, 9.4712]}`}, "fields.location", "compactly"},
		{"extra member", KindPlot, map[string]string{"location": `{"type":"Point","coordinates":[105.9,9.4],"crs":1}`}, "fields.location", "GeoJSON"},
		{"member id", KindPlot, map[string]string{"member": "Hộ A"}, "fields.member", "identifier"},
		{"scheme", KindCertificate, map[string]string{"scheme": "gap"}, "fields.scheme", "unknown scheme"},
		{"certificate reversed", KindCertificate, map[string]string{"valid_to": "2020-01-01"}, "fields.valid_to", "ends"},
		{"stars without ocop", KindCertificate, map[string]string{"ocop_stars": "4"}, "fields.ocop_stars", "only an OCOP"},
		{"scope list", KindCertificate, map[string]string{"products": "gao-st25  gao-st24"}, "fields.products", "one space"},
		{"scope twice", KindCertificate, map[string]string{"plots": "ruong-7 ruong-7"}, "fields.plots", "twice"},
		{"scan hash", KindCertificate, map[string]string{"scan": strings.ToUpper(photoHash)}, "fields.scan", "SHA-256"},
		{"photos twice", KindProduct, map[string]string{"photos": photoHash + " " + photoHash}, "fields.photos", "twice"},
		{"long description", KindProduct, map[string]string{"description_vi": strings.Repeat("a", MaxDescriptionLen+1)}, "fields.description_vi", "at most"},
		{"unknown field", KindMember, map[string]string{"gtin": "1"}, "fields.gtin", "no field"},
		{"name missing", KindMember, map[string]string{"name": ""}, "fields.name", "required"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := base(c.kind)
			for k, v := range c.set {
				if v == "" {
					delete(r.Fields, k)
				} else {
					r.Fields[k] = v
				}
			}
			err := r.Validate()
			var ve *ValidationError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a validation error", err)
			}
			for _, f := range ve.Fields {
				if f.Field == c.field && strings.Contains(f.Reason, c.want) {
					return
				}
			}
			t.Fatalf("got %v, want %s: …%s…", err, c.field, c.want)
		})
	}
	// The OCOP certificate needs its stars.
	r := base(KindCertificate)
	r.Fields["scheme"] = "ocop"
	if err := r.Validate(); err == nil || !strings.Contains(err.Error(), "states its stars") {
		t.Errorf("OCOP without stars: %v", err)
	}
}

func TestCanonicalGeoJSON(t *testing.T) {
	got, err := CanonicalGeoJSON(` { "coordinates" : [ 105.93810 , 9.4712 ], "type" : "Point" } `)
	if err != nil || got != `{"type":"Point","coordinates":[105.9381,9.4712]}` {
		t.Fatalf("got %s, %v", got, err)
	}
	if err := ValidateGeoJSON(got); err != nil {
		t.Fatal(err)
	}
	lat, lon, ok := GeoJSONCenter(`{"type":"Polygon","coordinates":[[[105,9],[106,9],[106,10],[105,10],[105,9]]]}`)
	if !ok || lat != 9.5 || lon != 105.5 {
		t.Errorf("center %v %v %v", lat, lon, ok)
	}
	var ring []string
	for i := 0; i <= MaxPositions; i++ {
		ring = append(ring, "[105.9,9.4]")
	}
	if _, err := CanonicalGeoJSON(`{"type":"Polygon","coordinates":[[` + strings.Join(ring, ",") + `]]}`); err == nil || !strings.Contains(err.Error(), "simplify") {
		t.Errorf("too many positions: %v", err)
	}
}

func TestNormalizePhone(t *testing.T) {
	for in, want := range map[string]string{"0912 345 678": "0912345678", "(0299) 3851.234": "02993851234", "0084 912-345-678": "+84912345678", "+84912345678": "+84912345678"} {
		if got := NormalizePhone(in); got != want || ValidatePhone(got) != nil {
			t.Errorf("NormalizePhone(%q) = %q (valid: %v), want %q", in, got, ValidatePhone(got), want)
		}
	}
}

func TestCertificateStatus(t *testing.T) {
	f := map[string]string{"valid_from": "2024-03-01", "valid_to": "2025-02-28"}
	for day, want := range map[string]string{"2024-03-01": CertValid, "2025-02-28": CertValid, "2025-03-01": CertExpired, "2024-02-29": CertNotYet} {
		if got := CertificateStatus(f, day); got != want {
			t.Errorf("%s: %s, want %s", day, got, want)
		}
	}
	if !InScope("", "x") || !InScope("a x", "x") || InScope("a xy", "x") {
		t.Error("InScope")
	}
}

func TestProfileAndContentValidate(t *testing.T) {
	c := &Cooperative{ID: "htx", Name: "HTX", Province: "Cần Thơ", Profile: map[string]string{"name": "x", "phone": "12", "email": ""}}
	err := c.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) || len(ve.Fields) != 3 {
		t.Fatalf("got %v", err)
	}
	p := &Product{ID: "p", CooperativeID: "htx", NameVI: "Gạo", Category: "Lúa gạo", Content: map[string]string{"name_zh": "大米", "photos": photoHash}}
	if err := p.Validate(); err != nil {
		t.Fatal(err)
	}
	if f := ProductRecordFields(p); f["name_zh"] != "大米" || f["name_vi"] != "Gạo" {
		t.Errorf("fields %v", f)
	}
	if !reflectContains(ProfileFields(), "zalo") || reflectContains(ProfileFields(), "name") || !reflectContains(ContentFields(), "variety_zh") {
		t.Errorf("profile %v content %v", ProfileFields(), ContentFields())
	}
}

func reflectContains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func TestCheckCertificates(t *testing.T) {
	s := testSigner(t, 3)
	recs := sampleRegistry()
	cert := signRecords(t, s, []*Record{recs[4]})[0]
	b := &Batch{ID: "b1", CooperativeID: "htx-hoa-tu", ProductID: "gao-st25", Lot: "L1", Quantity: Quantity{Value: "10", Unit: "KGM"},
		HarvestDate: "2027-03-02", Certifications: []Certification{{Scheme: "vietgap", ID: "VG-ST-0451"}}}
	p := &Product{ID: "gao-st25", CooperativeID: "htx-hoa-tu", NameVI: "Gạo", Category: "Lúa gạo"}
	facts := FactsOf(b, p).Event("htx-hoa-tu", "b1", true, time.Date(2027, 3, 3, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600)))
	sealed := signChain(t, s, []*Event{facts})
	r := &BatchRecord{Batch: b, Product: p, Events: []RecordedEvent{{SignedEvent: sealed[0]}}, Certificates: []*SignedRecord{cert}}
	fs := CheckBatch(r)
	if len(fs) != 1 || fs[0].Kind != FindingCertificateInvalid || fs[0].Evidence["status"] != CertExpired || fs[0].Events[0] != sealed[0].Hash.String() {
		t.Fatalf("findings %+v", fs)
	}
	// Harvested while it was valid: nothing to report; another cooperative's record is not this lot's.
	b.HarvestDate = "2026-03-02"
	facts = FactsOf(b, p).Event("htx-hoa-tu", "b1", true, time.Date(2026, 3, 3, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600)))
	r.Events = []RecordedEvent{{SignedEvent: signChain(t, s, []*Event{facts})[0]}}
	if fs := CheckBatch(r); len(fs) != 0 {
		t.Fatalf("findings %+v", fs)
	}
}

func TestLotFactsMember(t *testing.T) {
	b := &Batch{ID: "b1", CooperativeID: "htx", ProductID: "p", Lot: "L1", Quantity: Quantity{Value: "10", Unit: "KGM"}, Member: "ho-lam-van-tam"}
	p := &Product{ID: "p", CooperativeID: "htx", NameVI: "Gạo", Category: "Lúa gạo"}
	e := FactsOf(b, p).Event("htx", "b1", true, time.Date(2025, 8, 1, 8, 0, 0, 0, time.UTC))
	if e.Data["member"] != "ho-lam-van-tam" {
		t.Fatalf("data %v", e.Data)
	}
	f, err := LotFactsOf(e)
	if err != nil || f.Member != "ho-lam-van-tam" || f.Fields()["member"] != "ho-lam-van-tam" {
		t.Fatalf("facts %+v, %v", f, err)
	}
	e.Data["member"] = "Hộ A"
	if _, err := LotFactsOf(e); err == nil || !strings.Contains(err.Error(), "data.member") {
		t.Errorf("a malformed member id: %v", err)
	}
	b.Member = "Hộ A"
	if err := b.Validate(); err == nil || !strings.Contains(err.Error(), "member") {
		t.Errorf("batch with a malformed member: %v", err)
	}
}
