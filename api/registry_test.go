package api

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"image"
	"image/color"
	"strings"
	"testing"

	"github.com/thedatashed/xlsxreader"
	"github.com/xuri/excelize/v2"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// registryCoop registers a cooperative with a full profile in Cần Thơ and
// returns its key and id.
func (e *testEnv) registryCoop(name, commune string) (string, string) {
	e.t.Helper()
	r := e.do("POST", "/api/v1/cooperatives", e.adminKey, CreateCooperativeRequest{Name: name,
		Profile: map[string]string{"province_code": "92", "commune_code": commune, "phone": "0299 385 1234", "zalo": "0912.345.678",
			"email": "htx@example.vn", "website": "https://htx.example.vn", "founded": "2016-03-15", "registration_no": "2200123456"}}, true)
	e.expect(r, 201)
	var cc CreateCooperativeResponse
	r.decode(e.t, &cc)
	return cc.APIKey.Secret, cc.Cooperative.ID
}

func (e *testEnv) uploadPNG(key string, c color.Color) string {
	e.t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, 8, 8))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	img.Set(1, 1, c)
	r := e.upload(key, "image/png", pngBytes(e.t.(*testing.T), img), true)
	if r.status != 200 && r.status != 201 {
		e.t.Fatalf("upload: %d %s", r.status, r.body)
	}
	var a struct{ SHA256 string }
	r.decode(e.t, &a)
	return a.SHA256
}

func TestRegistryProfileAndLists(t *testing.T) {
	e := newEnv(t)
	key, coopID := e.registryCoop("Hợp tác xã Nông nghiệp Hòa Tú", "31717")
	var coop Cooperative
	r := e.do("GET", "/api/v1/cooperatives/"+coopID, "", nil, true)
	e.expect(r, 200)
	r.decode(t, &coop)
	if coop.Province != "Thành phố Cần Thơ" || coop.Profile["phone"] != "02993851234" || coop.Profile["zalo"] != "0912345678" {
		t.Fatalf("profile %+v", coop)
	}
	// A logo must be a stored image; a commune outside the province is refused.
	logo := e.uploadPNG(key, color.RGBA{0, 128, 0, 255})
	r = e.do("PUT", "/api/v1/cooperatives/"+coopID, key, UpdateCooperativeRequest{Name: coop.Name,
		Profile: map[string]string{"province_code": "92", "commune_code": "24163", "logo": strings.Repeat("ab", 32)}}, true)
	e.expect(r, 422)
	if !bytes.Contains(r.body, []byte("profile.commune_code")) || !bytes.Contains(r.body, []byte("profile.logo")) {
		t.Errorf("refusal %s", r.body)
	}
	prof := coop.Profile
	prof["logo"] = logo
	r = e.do("PUT", "/api/v1/cooperatives/"+coopID, key, UpdateCooperativeRequest{Name: coop.Name, Profile: prof}, true)
	e.expect(r, 200)
	// Leaving the profile out of a change keeps it.
	r = e.do("PUT", "/api/v1/cooperatives/"+coopID, key, UpdateCooperativeRequest{Name: coop.Name, GLN: "8936040000019"}, true)
	e.expect(r, 200)
	r.decode(t, &coop)
	if coop.Profile["logo"] != logo || coop.GLN != "8936040000019" {
		t.Fatalf("profile after a change without it: %+v", coop)
	}

	// Product content per language, photos stored images.
	photo := e.uploadPNG(key, color.RGBA{200, 0, 0, 255})
	r = e.do("POST", "/api/v1/products", key, CreateProductRequest{GTIN: "8936040001016", NameVI: "Gạo ST25", Category: "Lúa gạo",
		Content: map[string]string{"name_zh": "ST25 香米", "description_zh": "虾稻轮作。", "photos": photo, "variety_vi": "ST25"}}, true)
	e.expect(r, 201)
	var p Product
	r.decode(t, &p)
	r = e.do("PUT", "/api/v1/products/"+p.ID, key, UpdateProductRequest{NameVI: "Gạo ST25", Category: "Lúa gạo",
		Content: map[string]string{"photos": strings.Repeat("cd", 32)}}, true)
	e.expect(r, 422)

	// Members: private. Plots: private. Certificates and listings: public.
	r = e.do("POST", "/api/v1/cooperatives/"+coopID+"/members", key, map[string]string{"name": "Hộ Lâm Văn Tâm", "area_ha": "2.5",
		"commune_code": "31717", "phone": "0912 345 678", "code": "TV-001"}, true)
	e.expect(r, 201)
	var m Entry
	r.decode(t, &m)
	if m.ID != "ho-lam-van-tam" || m.Fields["phone"] != "0912345678" || m.Revision != 0 {
		t.Fatalf("member %+v", m)
	}
	r = e.do("POST", "/api/v1/cooperatives/"+coopID+"/members", key, map[string]string{"name": "Hộ B", "area_ha": "2,5", "phone": "12", "joined": "15/03/2016"}, true)
	e.expect(r, 422)
	for _, f := range []string{`"area_ha"`, `"phone"`, `"joined"`} {
		if !bytes.Contains(r.body, []byte(f)) {
			t.Errorf("refusal does not name %s: %s", f, r.body)
		}
	}
	r = e.do("POST", "/api/v1/cooperatives/"+coopID+"/plots", key, map[string]string{"name": "Ruộng số 7", "area_ha": "1.2", "member": m.ID,
		"location": `{"type": "Point", "coordinates": [105.9381, 9.4712]}`, "planting_code": "vn-ctpuc-0012", "planting_code_valid_to": "2026-12-31"}, true)
	e.expect(r, 201)
	var plot Entry
	r.decode(t, &plot)
	if plot.Fields["location"] != `{"type":"Point","coordinates":[105.9381,9.4712]}` || plot.Fields["planting_code"] != "VN-CTPUC-0012" {
		t.Fatalf("plot %+v", plot)
	}
	r = e.do("POST", "/api/v1/cooperatives/"+coopID+"/certificates", key, map[string]string{"scheme": "vietgap", "number": "VG-1",
		"issuer": "Trung tâm", "valid_from": "2021-06-01", "valid_to": "2024-05-31", "products": p.ID, "plots": plot.ID}, true)
	e.expect(r, 201)
	var cert Entry
	r.decode(t, &cert)
	if cert.Status != trace.CertExpired {
		t.Errorf("an expired certificate is %s", cert.Status)
	}
	r = e.do("POST", "/api/v1/cooperatives/"+coopID+"/listings", key, map[string]string{"platform": "shopee", "label": "Gạo ST25 trên Shopee",
		"url": "javascript:alert(1)"}, true)
	e.expect(r, 422)
	r = e.do("POST", "/api/v1/cooperatives/"+coopID+"/listings", key, map[string]string{"platform": "shopee", "label": "Gạo ST25 trên Shopee",
		"url": "https://shopee.vn/gao-st25", "product": p.ID}, true)
	e.expect(r, 201)
	var listing Entry
	r.decode(t, &listing)

	e.expect(e.do("GET", "/api/v1/cooperatives/"+coopID+"/members", "", nil, true), 401)
	e.expect(e.do("GET", "/api/v1/cooperatives/"+coopID+"/plots", "", nil, true), 401)
	e.expect(e.do("GET", "/api/v1/cooperatives/"+coopID+"/certificates", "", nil, true), 200)
	e.expect(e.do("GET", "/api/v1/cooperatives/"+coopID+"/listings", "", nil, true), 200)
	e.expect(e.do("GET", "/api/v1/cooperatives/"+coopID+"/members", key, nil, true), 200)

	// Another cooperative neither reads its members nor writes its lists.
	otherKey, _ := e.registryCoop("HTX khác", "31717")
	e.expect(e.do("GET", "/api/v1/members/"+m.ID, otherKey, nil, true), 403)
	e.expect(e.do("PUT", "/api/v1/members/"+m.ID, otherKey, map[string]string{"name": "Hộ X"}, true), 403)
	// The agency of Cần Thơ reads them; the agency of Đắk Lắk does not.
	agency, err := e.db.CreateAPIKey(&store.APIKey{Name: "Sở Nông nghiệp Cần Thơ", Role: store.RoleAgency, Province: "92"})
	if err != nil {
		t.Fatal(err)
	}
	farAgency, _ := e.db.CreateAPIKey(&store.APIKey{Name: "Sở Nông nghiệp Đắk Lắk", Role: store.RoleAgency, Province: "66"})
	e.expect(e.do("GET", "/api/v1/members/"+m.ID, agency, nil, true), 200)
	e.expect(e.do("GET", "/api/v1/members/"+m.ID, farAgency, nil, true), 403)
	e.expect(e.do("PUT", "/api/v1/members/"+m.ID, agency, map[string]string{"name": "Hộ X"}, true), 403)

	// Every change is a signed revision; removal too.
	r = e.do("PUT", "/api/v1/members/"+m.ID, key, map[string]string{"name": "Hộ Lâm Văn Tâm", "area_ha": "3", "commune_code": "31717", "code": "TV-001"}, true)
	e.expect(r, 200)
	r = e.do("DELETE", "/api/v1/listings/"+listing.ID, key, nil, true)
	e.expect(r, 200)
	var removed Entry
	r.decode(t, &removed)
	if removed.Removed == "" || removed.Revision != 1 {
		t.Errorf("removed %+v", removed)
	}
	var listings map[string][]Entry
	e.do("GET", "/api/v1/cooperatives/"+coopID+"/listings", "", nil, true).decode(t, &listings)
	if len(listings["listings"]) != 0 {
		t.Errorf("a removed listing is listed: %v", listings)
	}
	var recs struct{ Records []*Record }
	e.do("GET", "/api/v1/members/"+m.ID+"/records", key, nil, true).decode(t, &recs)
	if len(recs.Records) != 2 {
		t.Fatalf("%d revisions", len(recs.Records))
	}
	var signed []*trace.SignedRecord
	for _, rec := range recs.Records {
		sr, err := rec.open("member " + m.ID)
		if err != nil {
			t.Fatal(err)
		}
		signed = append(signed, sr)
	}
	keys := make([][]byte, len(coop.PublicKeys))
	for i, k := range coop.PublicKeys {
		keys[i], _ = base64.StdEncoding.DecodeString(k)
	}
	if err := trace.VerifyRecords(trace.KindMember, m.ID, signed, func(string) [][]byte { return keys }); err != nil {
		t.Fatal(err)
	}

	// A lot names its member household; the facts sign it.
	r = e.do("POST", "/api/v1/batches", key, CreateBatchRequest{ProductID: p.ID, Lot: "ST25-M1", Quantity: Quantity{Value: "100", Unit: "KGM"},
		HarvestDate: "2025-08-15", Member: m.ID, Certifications: []Certification{{Scheme: "vietgap", ID: "VG-1"}}}, true)
	e.expect(r, 201)
	var bt Batch
	r.decode(t, &bt)
	if bt.Member != m.ID {
		t.Fatalf("batch %+v", bt)
	}
	r = e.do("GET", "/api/v1/batches/"+bt.ID, "", nil, true)
	e.expect(r, 200)
	var h History
	r.decode(t, &h)
	if h.Events[0].Data["member"] != m.ID || !h.Verified || len(h.Unsigned) != 0 {
		t.Fatalf("history %+v", h.Events[0])
	}
	e.expect(e.do("POST", "/api/v1/batches", key, CreateBatchRequest{ProductID: p.ID, Lot: "ST25-M2", Quantity: Quantity{Value: "100", Unit: "KGM"},
		Member: "ho-khong-co"}, true), 422)

	// The lot claims VietGAP VG-1, which had expired when it was harvested.
	var fs struct {
		Findings []trace.Finding `json:"findings"`
	}
	e.do("GET", "/api/v1/inspections/findings?batch="+bt.ID, e.adminKey, nil, true).decode(t, &fs)
	if len(fs.Findings) != 1 || fs.Findings[0].Kind != trace.FindingCertificateInvalid || fs.Findings[0].Evidence["valid_to"] != "2024-05-31" {
		t.Fatalf("findings %+v", fs.Findings)
	}
}

func TestRegistryExport(t *testing.T) {
	e := newEnv(t)
	key, coopID := e.registryCoop("Hợp tác xã Nông nghiệp Hòa Tú", "31717")
	key2, coop2 := e.registryCoop("Hợp tác xã Phong Điền", "31717")
	for i, k := range []string{key, key2} {
		name := []string{"Gạo ST25", "Bưởi Năm Roi"}[i]
		e.expect(e.do("POST", "/api/v1/products", k, CreateProductRequest{NameVI: name, Category: "Nông sản", OCOPStars: []int{4, 0}[i]}, true), 201)
		e.expect(e.do("POST", "/api/v1/cooperatives/"+[]string{coopID, coop2}[i]+"/members", k, map[string]string{"name": "Hộ số " + name}, true), 201)
	}
	e.expect(e.do("POST", "/api/v1/cooperatives/"+coopID+"/certificates", key, map[string]string{"scheme": "vietgap", "number": "VG-9",
		"issuer": "Trung tâm", "valid_from": "2024-01-01", "valid_to": "2099-12-31"}, true), 201)
	agency, _ := e.db.CreateAPIKey(&store.APIKey{Name: "Sở Nông nghiệp Cần Thơ", Role: store.RoleAgency, Province: "92"})

	var all RegistryExport
	e.expect(e.do("GET", "/api/v1/registry", agency, nil, true), 200)
	e.do("GET", "/api/v1/registry?format=json", agency, nil, true).decode(t, &all)
	if len(all.Cooperatives) != 2 || len(all.Cooperatives[0].Members) != 1 {
		t.Fatalf("export %+v", all)
	}
	e.expect(e.do("GET", "/api/v1/registry?province=66", agency, nil, true), 403)
	var picked RegistryExport
	e.do("GET", "/api/v1/registry?product=gao&ocop=4&certificate=vietgap&commune=31717", agency, nil, true).decode(t, &picked)
	if len(picked.Cooperatives) != 1 || picked.Cooperatives[0].Cooperative.ID != coopID || picked.Filters["product"] != "gao" {
		t.Fatalf("filtered %+v", picked)
	}
	e.expect(e.do("GET", "/api/v1/registry?ocop=9", agency, nil, false), 422)

	// CSV, read back with encoding/csv.
	r := e.do("GET", "/api/v1/registry?format=csv&kind=members&product=b%C6%B0%E1%BB%9Fi", agency, nil, true)
	e.expect(r, 200)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "text/csv") || !strings.Contains(r.header.Get("Content-Disposition"), ".csv") {
		t.Errorf("headers %v", r.header)
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(r.body, []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][0] != "Mã HTX" || rows[0][3] != "Họ tên chủ hộ" || rows[1][0] != coop2 || rows[1][3] != "Hộ số Bưởi Năm Roi" {
		t.Fatalf("csv %q", rows)
	}
	// XLSX, read back with a reader other than the writer's library.
	r = e.do("GET", "/api/v1/registry?format=xlsx", agency, nil, true)
	e.expect(r, 200)
	x, err := xlsxreader.NewReader(r.body)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(x.Sheets, ",") != "Hợp tác xã,Sản phẩm,Thành viên,Vùng trồng,Chứng nhận,Điểm bán" {
		t.Fatalf("sheets %v", x.Sheets)
	}
	var cells [][]string
	for row := range x.ReadRows("Hợp tác xã") {
		if row.Error != nil {
			t.Fatal(row.Error)
		}
		var vals []string
		for _, c := range row.Cells {
			vals = append(vals, c.Value)
		}
		cells = append(cells, vals)
	}
	if len(cells) != 3 || cells[0][1] != "Tên hợp tác xã" || cells[1][1] != "Hợp tác xã Nông nghiệp Hòa Tú" || cells[1][5] != "Thành phố Cần Thơ" {
		t.Fatalf("sheet %q", cells)
	}
	// A cooperative reads its own registry only.
	var own RegistryExport
	e.do("GET", "/api/v1/registry", key2, nil, true).decode(t, &own)
	if len(own.Cooperatives) != 1 || own.Cooperatives[0].Cooperative.ID != coop2 {
		t.Fatalf("own %+v", own)
	}
	e.expect(e.do("GET", "/api/v1/registry", "", nil, true), 401)
	// The public list of cooperatives as a table, without members.
	r = e.do("GET", "/api/v1/cooperatives?format=csv", "", nil, true)
	e.expect(r, 200)
	if bytes.Contains(r.body, []byte("Số thành viên")) || !bytes.Contains(r.body, []byte("Hợp tác xã Phong Điền")) {
		t.Errorf("public csv %s", r.body)
	}
	e.expect(e.do("GET", "/api/v1/cooperatives?format=pdf", "", nil, false), 422)
}

func xlsxOf(t *testing.T, rows [][]any) []byte {
	t.Helper()
	x := excelize.NewFile()
	for i, row := range rows {
		cell, _ := excelize.CoordinatesToCellName(1, i+1)
		if err := x.SetSheetRow("Sheet1", cell, &row); err != nil {
			t.Fatal(err)
		}
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestRegistryImport(t *testing.T) {
	e := newEnv(t)
	key, coopID := e.registryCoop("Hợp tác xã Nông nghiệp Hòa Tú", "31717")
	path := "/api/v1/cooperatives/" + coopID + "/import?kind=members"
	send := func(ct string, data []byte, query string) *response {
		return e.send("POST", path+query, key, map[string]string{"Content-Type": ct, "Accept": "application/json"}, data, ct != "application/json")
	}
	bad := xlsxOf(t, [][]any{
		{"Họ tên chủ hộ", "Xã/phường", "Diện tích (ha)", "Điện thoại", "Ngày vào HTX"},
		{"Hộ Lâm Văn Tâm", "Hòa Tú", "2,5", "0912 345 678", "15/03/2016"},
		{"Hộ Trần Thị Bé", "Xã Không Có", "-1", "12345", "2016-13-01"},
		{"", "Hòa Tú", "1", "", ""},
	})
	r := send(MediaXLSX, bad, "")
	e.expect(r, 422)
	var p Problem
	r.decode(t, &p)
	fields := map[string]bool{}
	for _, fe := range p.Errors {
		fields[fe.Field] = true
	}
	for _, want := range []string{"rows[3].commune", "rows[3].area_ha", "rows[3].phone", "rows[3].joined", "rows[4].name"} {
		if !fields[want] {
			t.Errorf("no error for %s: %+v", want, p.Errors)
		}
	}
	if fields["rows[2].area_ha"] {
		t.Errorf("a clean row has errors: %+v", p.Errors)
	}
	var members map[string][]Entry
	e.do("GET", "/api/v1/cooperatives/"+coopID+"/members", key, nil, true).decode(t, &members)
	if len(members["members"]) != 0 {
		t.Fatalf("a refused import wrote %d members", len(members["members"]))
	}
	good := xlsxOf(t, [][]any{
		{"Họ tên chủ hộ", "Mã thành viên", "Xã/phường", "Diện tích (ha)", "Điện thoại", "Ngày vào HTX"},
		{"Hộ Lâm Văn Tâm", "TV-001", "Hòa Tú", "2,5", "0912 345 678", "15/03/2016"},
		{"Hộ Trần Thị Bé", "TV-002", "xã hòa tú", 1.75, "", ""},
	})
	r = send(MediaXLSX, good, "&dry_run=true")
	e.expect(r, 200)
	var prev ImportPreview
	r.decode(t, &prev)
	if prev.Created != 2 || len(prev.Rows) != 2 || prev.Rows[0].Fields["commune_code"] != "31717" || prev.Rows[0].Fields["joined"] != "2016-03-15" || prev.Rows[1].Fields["area_ha"] != "1.75" {
		t.Fatalf("preview %+v", prev)
	}
	e.do("GET", "/api/v1/cooperatives/"+coopID+"/members", key, nil, true).decode(t, &members)
	if len(members["members"]) != 0 {
		t.Fatal("a dry run wrote")
	}
	e.expect(send(MediaXLSX, good, ""), 201)
	e.do("GET", "/api/v1/cooperatives/"+coopID+"/members", key, nil, true).decode(t, &members)
	if len(members["members"]) != 2 {
		t.Fatalf("imported %d", len(members["members"]))
	}
	// The same list again, as CSV with a changed area, updates by member code.
	csvData := "\ufeffname;code;area_ha\nHộ Lâm Văn Tâm;TV-001;3\n"
	r = send(MediaCSV, []byte(csvData), "")
	e.expect(r, 201)
	r.decode(t, &prev)
	if prev.Updated != 1 || prev.Created != 0 {
		t.Fatalf("re-import %+v", prev)
	}
	var m Entry
	e.do("GET", "/api/v1/members/ho-lam-van-tam", key, nil, true).decode(t, &m)
	if m.Revision != 1 || m.Fields["area_ha"] != "3" {
		t.Fatalf("member %+v", m)
	}
	e.expect(send("application/json", []byte(`{}`), ""), 415)
	r = send(MediaCSV, []byte("Tên lạ,name\nA,B\n"), "")
	e.expect(r, 422)
	if !bytes.Contains(r.body, []byte("unknown column")) {
		t.Errorf("%s", r.body)
	}
}

func TestProfilePage(t *testing.T) {
	e := newEnv(t)
	key, coopID := e.registryCoop("HTX <b>Hòa Tú</b>", "31717")
	e.expect(e.do("POST", "/api/v1/cooperatives/"+coopID+"/members", key, map[string]string{"name": "Hộ Riêng Tư"}, true), 201)
	e.expect(e.do("POST", "/api/v1/cooperatives/"+coopID+"/plots", key, map[string]string{"name": "Ruộng số 7", "area_ha": "1.25", "crop": "Lúa ST25",
		"location": `{"type":"Point","coordinates":[105.9381,9.4712]}`, "planting_code": "VN-CTPUC-0012", "planting_code_valid_to": "2020-12-31"}, true), 201)
	for _, c := range []map[string]string{
		{"scheme": "vietgap", "number": "VG-OLD", "issuer": "Trung tâm", "valid_from": "2019-01-01", "valid_to": "2021-12-31"},
		{"scheme": "ocop", "number": "OCOP-1", "issuer": "UBND", "valid_from": "2024-01-01", "valid_to": "2099-12-31", "ocop_stars": "4"},
	} {
		e.expect(e.do("POST", "/api/v1/cooperatives/"+coopID+"/certificates", key, c, true), 201)
	}
	e.expect(e.do("POST", "/api/v1/cooperatives/"+coopID+"/listings", key, map[string]string{"platform": "tiki", "label": "Gạo trên Tiki", "url": "https://tiki.vn/gao"}, true), 201)
	page := func(lang string) string {
		res, body := get(t, e.srv.URL+"/p/"+coopID+"?lang="+lang, map[string]string{"Accept": "text/html"})
		if res.StatusCode != 200 {
			t.Fatalf("%d %s", res.StatusCode, body)
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
			t.Errorf("CSP %q", csp)
		}
		return body
	}
	vi := page("vi")
	for _, want := range []string{"HTX &lt;b&gt;Hòa Tú&lt;/b&gt;", `href="tel:02993851234"`, `href="https://zalo.me/0912345678"`, "Hết hiệu lực", "Còn hiệu lực",
		`data-status="expired"`, "VN-CTPUC-0012", "openstreetmap.org/?mlat=9.47120&amp;mlon=105.93810", `href="https://tiki.vn/gao"`, "1,25 ha", "Xã Hòa Tú", "★★★★"} {
		if !strings.Contains(vi, want) {
			t.Errorf("the Vietnamese page lacks %s", want)
		}
	}
	if strings.Contains(vi, "Hộ Riêng Tư") || strings.Contains(vi, "<b>Hòa") {
		t.Error("the page shows a member household or unescaped text")
	}
	en := page("en")
	for _, want := range []string{"Expired", "Where to buy", "Planting-area code", "1.25 ha"} {
		if !strings.Contains(en, want) {
			t.Errorf("the English page lacks %s", want)
		}
	}
	if res, body := get(t, e.srv.URL+"/p/khong-co", map[string]string{"Accept": "text/html"}); res.StatusCode != 404 || !strings.Contains(body, "Không tìm thấy hợp tác xã") {
		t.Errorf("missing cooperative: %d %s", res.StatusCode, body)
	}
	// What the lot page shows of the cooperative.
	face, err := e.server.PublicFace(coopID, "", "vi", "2021-06-01")
	if err != nil {
		t.Fatal(err)
	}
	if len(face.Certificates) != 2 || face.Certificates[0].Number != "VG-OLD" || face.Certificates[0].Status != trace.CertValid || face.Certificates[0].StatusToday != trace.CertExpired {
		t.Errorf("certificates on 1 June 2021: %+v", face.Certificates)
	}
	if len(face.Listings) != 1 || face.Contact.ZaloHref != "https://zalo.me/0912345678" || face.ProfilePath != "/p/"+coopID {
		t.Errorf("face %+v", face)
	}
}
