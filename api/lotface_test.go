package api

import (
	"encoding/json"
	"image/color"
	"strconv"
	"strings"
	"testing"
)

// A lot's page shows its cooperative's registry: the product's photo and
// description, the contact, the certificates with their state on the
// harvest date and today, and the places to buy; the history carries each
// as a signed record, and a record edited in transit fails verification.
func TestLotPageRegistry(t *testing.T) {
	e := newEnv(t)
	key, coopID := e.registryCoop("Hợp tác xã Nông nghiệp Hòa Tú", "31717")
	photo := e.uploadPNG(key, color.RGBA{200, 0, 0, 255})
	var p, other Product
	r := e.do("POST", "/api/v1/products", key, CreateProductRequest{GTIN: "8936040001016", NameVI: "Gạo ST25", Category: "Lúa gạo",
		Content: map[string]string{"name_zh": "ST25 香米", "description_vi": "Gạo <b>thơm</b> trồng luân canh tôm – lúa.",
			"description_zh": "虾稻轮作。", "photos": photo}}, true)
	e.expect(r, 201)
	r.decode(t, &p)
	e.do("POST", "/api/v1/products", key, CreateProductRequest{GTIN: "8936040001023", NameVI: "Tôm khô", Category: "Thủy sản"}, true).decode(t, &other)

	post := func(list string, f map[string]string) Entry {
		t.Helper()
		r := e.do("POST", "/api/v1/cooperatives/"+coopID+"/"+list, key, f, true)
		e.expect(r, 201)
		var en Entry
		r.decode(t, &en)
		return en
	}
	cert := func(number, from, to, products string) Entry {
		return post("certificates", map[string]string{"scheme": "vietgap", "number": number, "issuer": "Trung tâm Chứng nhận Phù Hợp",
			"valid_from": from, "valid_to": to, "products": products})
	}
	current := cert("VG-NOW", "2025-01-01", "2099-12-31", p.ID)
	lapsed := cert("VG-LAPSED", "2024-01-01", "2025-12-31", "") // the whole cooperative's; valid at harvest, expired since
	claimed := cert("VG-OLD", "2021-06-01", "2024-05-31", p.ID) // expired before the harvest; the lot names it
	cert("VG-OTHER-OLD", "2020-01-01", "2023-12-31", p.ID)      // expired, not claimed: not the lot's business
	cert("VG-SHRIMP", "2025-01-01", "2099-12-31", other.ID)     // another product's
	shop := post("listings", map[string]string{"platform": "shopee", "label": "Gạo ST25 <trên> Shopee", "url": "https://shopee.vn/gao-st25", "product": p.ID})
	own := post("listings", map[string]string{"platform": "shop", "label": "Cửa hàng Hòa Tú", "url": "https://htx.example.vn/cua-hang"})
	post("listings", map[string]string{"platform": "tiki", "label": "Tôm khô trên Tiki", "url": "https://tiki.vn/tom-kho", "product": other.ID})
	gone := post("listings", map[string]string{"platform": "lazada", "label": "Gạo trên Lazada", "url": "https://lazada.vn/gao"})
	e.expect(e.do("DELETE", "/api/v1/listings/"+gone.ID, key, nil, true), 200)

	r = e.do("POST", "/api/v1/batches", key, CreateBatchRequest{ProductID: p.ID, Lot: "ST25-F1", Quantity: Quantity{Value: "100", Unit: "KGM"},
		HarvestDate: "2025-08-15", Certifications: []Certification{{Scheme: "vietgap", ID: "VG-OLD"}}}, true)
	e.expect(r, 201)
	var bt Batch
	r.decode(t, &bt)

	r = e.do("GET", "/api/v1/batches/"+bt.ID, "", nil, true)
	e.expect(r, 200)
	var h History
	r.decode(t, &h)
	var got []string
	for _, rec := range h.RegistryRecords {
		got = append(got, rec.ID)
		if rec.LogIndex == nil {
			t.Errorf("record %s carries no log index", rec.ID)
		}
	}
	want := []string{current.ID, lapsed.ID, claimed.ID, own.ID, shop.ID}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("registry records %v, want %v", got, want)
	}
	raw := r.body
	e.expect(e.do("POST", "/api/v1/verify", "", string(raw), true), 200)

	// Each record edited in transit, or one of another product slipped in,
	// fails the check and says which.
	tamper := func(name string, edit func(h *History)) {
		t.Helper()
		var h2 History
		if err := json.Unmarshal(raw, &h2); err != nil {
			t.Fatal(err)
		}
		edit(&h2)
		b, _ := json.Marshal(h2)
		r := e.do("POST", "/api/v1/verify", "", string(b), true)
		if r.status != 422 && r.status != 400 {
			t.Errorf("%s: verify says %d %s", name, r.status, r.body)
		}
	}
	tamper("valid_to moved", func(h *History) { h.RegistryRecords[2].Fields["valid_to"] = "2099-12-31" })
	tamper("listing url", func(h *History) { h.RegistryRecords[3].Fields["url"] = "https://evil.example/shop" })
	tamper("a record of another entry's bytes", func(h *History) {
		h.RegistryRecords[0].Canonical, h.RegistryRecords[0].Signature = h.RegistryRecords[1].Canonical, h.RegistryRecords[1].Signature
	})
	tamper("the product's record as a listing", func(h *History) { h.RegistryRecords = append(h.RegistryRecords, h.ProductRecord) })

	// The page, in Vietnamese and in Chinese, under 60 KB as sent before
	// its photo.
	res, page := get(t, e.srv.URL+bt.Path, map[string]string{"Accept": "text/html", "Accept-Encoding": "gzip"})
	if n, _ := strconv.Atoi(res.Header.Get("Content-Length")); n == 0 || n > 60<<10 {
		t.Errorf("the page weighs %d bytes as sent", n)
	}
	for _, want := range []string{
		`class="hero" data-sha256="` + photo + `"`, "Gạo &lt;b&gt;thơm&lt;/b&gt; trồng luân canh tôm – lúa.",
		`href="tel:02993851234"`, `href="https://zalo.me/0912345678"`, `href="/p/` + coopID + `"`,
		`data-record="` + h.RegistryRecords[0].Hash + `" data-scheme="vietgap" data-number="VG-NOW" data-at-lot="valid" data-today="valid"`,
		`data-number="VG-LAPSED" data-at-lot="valid" data-today="expired"`, "Nay đã hết hiệu lực",
		`data-number="VG-OLD" data-at-lot="expired" data-today="expired"`, "Đã hết hiệu lực trước ngày thu hoạch",
		"31/05/2024", "Trung tâm Chứng nhận Phù Hợp",
		`href="https://shopee.vn/gao-st25" rel="noopener nofollow" data-record="` + shop.Hash + `"`, "Gạo ST25 &lt;trên&gt; Shopee",
		"Cửa hàng Hòa Tú",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	for _, absent := range []string{"VG-OTHER-OLD", "VG-SHRIMP", "tiki.vn", "lazada.vn", ">VietGAP VG-OLD<"} {
		if strings.Contains(page, absent) {
			t.Errorf("page shows %q", absent)
		}
	}
	_, zh := get(t, e.srv.URL+bt.Path+"?lang=zh", map[string]string{"Accept": "text/html"})
	for _, want := range []string{"虾稻轮作。", "收获日有效", "收获日前已过期", "现已过期"} {
		if !strings.Contains(zh, want) {
			t.Errorf("the Chinese page lacks %q", want)
		}
	}

	// The linkset names the places to buy; the cooperative's own shop also
	// describes the product.
	_, ls := get(t, e.srv.URL+bt.Path+"?linkType=linkset", map[string]string{"Accept": "application/linkset+json"})
	var set struct {
		Linkset []map[string]json.RawMessage `json:"linkset"`
	}
	if err := json.Unmarshal([]byte(ls), &set); err != nil || len(set.Linkset) != 1 {
		t.Fatalf("linkset %s: %v", ls, err)
	}
	var retailers, pip []link
	json.Unmarshal(set.Linkset[0][gs1Voc+"hasRetailers"], &retailers)
	json.Unmarshal(set.Linkset[0][gs1Voc+"pip"], &pip)
	if len(retailers) != 2 || retailers[0].Href != "https://htx.example.vn/cua-hang" || retailers[1].Href != "https://shopee.vn/gao-st25" {
		t.Errorf("retailers %+v", retailers)
	}
	if last := pip[len(pip)-1]; last.Href != "https://htx.example.vn/cua-hang" {
		t.Errorf("pip %+v", pip)
	}

	// A cooperative's GLN, as events name where they happened, opens its
	// profile page (or its JSON for a program).
	var coop Cooperative
	e.do("GET", "/api/v1/cooperatives/"+coopID, "", nil, true).decode(t, &coop)
	e.expect(e.do("PUT", "/api/v1/cooperatives/"+coopID, key, UpdateCooperativeRequest{Name: coop.Name, GLN: "8936040000019"}, true), 200)
	for _, tt := range []struct{ path, accept, to string }{
		{"/414/8936040000019", "text/html", "/p/" + coopID},
		{"/414/8936040000019/254/RUONG-7", "text/html", "/p/" + coopID + "#plots"},
		{"/414/8936040000019", "application/json", "/api/v1/cooperatives/" + coopID},
	} {
		res, _ := get(t, e.srv.URL+tt.path, map[string]string{"Accept": tt.accept})
		if res.StatusCode != 303 || res.Header.Get("Location") != tt.to {
			t.Errorf("%s (%s): %d to %q, want %s", tt.path, tt.accept, res.StatusCode, res.Header.Get("Location"), tt.to)
		}
	}

	// Removing a certificate takes it off the page and out of the history.
	e.expect(e.do("DELETE", "/api/v1/certificates/"+current.ID, key, nil, true), 200)
	e.do("GET", "/api/v1/batches/"+bt.ID, "", nil, true).decode(t, &h)
	if len(h.RegistryRecords) != 4 || h.RegistryRecords[0].ID != lapsed.ID {
		t.Errorf("after the removal: %+v", h.RegistryRecords)
	}
}
