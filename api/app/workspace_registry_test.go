package app

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

func TestSchemeOrderNamesEveryScheme(t *testing.T) {
	for k := range trace.CertificationSchemes {
		found := false
		for _, s := range schemeOrder {
			found = found || s == k
		}
		if !found {
			t.Errorf("scheme %s is not offered", k)
		}
	}
}

// TestWorkspaceRegistryRoles: a clerk keeps the registry of its own
// cooperative; an agency reads the registries of its province only and
// writes nothing; the forms say what is wrong in Vietnamese.
func TestWorkspaceRegistryRoles(t *testing.T) {
	e := newEnv(t)
	coopID, _, _ := e.workspaceSeed(t, "HTX A", "8931234567897", "LOT-A", "thuky")
	if err := e.db.CreateUser(&store.User{Username: "so-nn", Name: "Sở Nông nghiệp", Role: store.RoleAgency, Province: "92"}, "mat-khau-123"); err != nil {
		t.Fatal(err)
	}
	clerk := e.appClient(t)
	clerk.mustLogin("thuky", "mat-khau-123")
	r := clerk.post("/app/registry/profile", url.Values{"f_name": {"HTX A"}, "f_province_code": {"92"}, "f_commune_code": {"31717"},
		"f_phone": {"0912 345 678"}, "f_email": {"htx@localhost"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Địa chỉ thư điện tử chưa đúng") {
		t.Fatalf("bad e-mail: %d", r.status)
	}
	r = clerk.post("/app/registry/profile", url.Values{"f_name": {"HTX A"}, "f_province_code": {"92"}, "f_commune_code": {"31717"}, "f_phone": {"0912 345 678"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("profile: %d %s", r.status, r.body)
	}
	coop, _ := e.db.Cooperative(coopID)
	if coop.Province != "Thành phố Cần Thơ" || coop.Profile["phone"] != "0912345678" {
		t.Fatalf("profile %+v", coop)
	}
	r = clerk.post("/app/registry/members", url.Values{"f_name": {"Hộ Lâm Văn Tâm"}, "f_area_ha": {"2,5"}, "f_commune_code": {"31717"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("member: %d %s", r.status, r.body)
	}
	r = clerk.post("/app/registry/plots", url.Values{"f_name": {"Ruộng 1"}, "f_lat": {"105,9"}, "f_lon": {"9,47"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "có thể đã đảo vĩ độ và kinh độ") {
		t.Fatalf("swapped coordinates: %d", r.status)
	}
	r = clerk.post("/app/registry/plots", url.Values{"f_name": {"Ruộng 1"}, "f_lat": {"9,47"}, "f_lon": {"105,9"}, "f_member": {"ho-lam-van-tam"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("plot: %d %s", r.status, r.body)
	}
	if sr, err := e.db.Entry(trace.KindPlot, "ruong-1"); err != nil || sr.Record.Fields["location"] != `{"type":"Point","coordinates":[105.9,9.47]}` {
		t.Fatalf("plot %v %v", sr, err)
	}

	agency := e.appClient(t)
	if r := agency.login("so-nn", "mat-khau-123"); r.status != http.StatusSeeOther {
		t.Fatalf("agency sign-in: %d", r.status)
	}
	if r := agency.get("/app/"); r.status != http.StatusSeeOther || r.header.Get("Location") != "/app/registry/agency" {
		t.Fatalf("agency home: %d %s", r.status, r.header.Get("Location"))
	}
	r = agency.get("/app/registry/agency")
	if r.status != 200 || !strings.Contains(r.body, "HTX A") || !strings.Contains(r.body, "1 hợp tác xã") {
		t.Fatalf("agency listing: %d", r.status)
	}
	if r := agency.get("/app/registry/agency/" + coopID); r.status != 200 || !strings.Contains(r.body, "Hộ Lâm Văn Tâm") {
		t.Fatalf("agency reads the cooperative: %d", r.status)
	}
	for _, path := range []string{"/app/batches", "/app/registry", "/app/findings"} {
		if r := agency.get(path); r.status != http.StatusForbidden {
			t.Errorf("agency opens %s: %d", path, r.status)
		}
	}
	if r := agency.post("/app/registry/members", url.Values{"f_name": {"Hộ X"}}); r.status != http.StatusForbidden {
		t.Errorf("agency writes: %d", r.status)
	}
	if r := agency.get("/app/registry/agency?province=66"); r.status != 200 || strings.Contains(r.body, "Đắk Lắk") {
		t.Errorf("agency picks another province: %d", r.status)
	}
	r = agency.get("/app/registry/agency/export?format=csv")
	if r.status != 200 || !strings.Contains(r.body, "Thành phố Cần Thơ") {
		t.Fatalf("export: %d %s", r.status, r.body)
	}
	if r := agency.post("/app/logout", url.Values{}); r.status != http.StatusSeeOther {
		t.Errorf("agency sign-out: %d", r.status)
	}
	// The clerk reads no other cooperative's registry.
	if r := clerk.get("/app/registry/agency"); r.status != http.StatusForbidden {
		t.Errorf("clerk opens the agency listing: %d", r.status)
	}
}
