package adminunits

import (
	"strings"
	"testing"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

func TestShippedFile(t *testing.T) {
	u, err := Load(vnJSON)
	if err != nil {
		t.Fatal(err)
	}
	if len(u.Provinces) != 34 || len(u.Communes) != 3321 {
		t.Fatalf("%d provinces and %d communes, want the 34 and 3,321 of Resolution 202/2025/QH15", len(u.Provinces), len(u.Communes))
	}
	for _, c := range u.Communes {
		if !norm.NFC.IsNormalString(c.Name) || strings.Contains(c.Name, "  ") || !utf8.ValidString(c.Name) {
			t.Errorf("commune %s: name %q is not clean NFC text", c.Code, c.Name)
		}
		if !strings.HasPrefix(c.Name, "Xã ") && !strings.HasPrefix(c.Name, "Phường ") && !strings.HasPrefix(c.Name, "Đặc khu ") {
			t.Errorf("commune %s: name %q does not start with its kind", c.Code, c.Name)
		}
	}
	// Codes the demo cooperatives use, checked against a second list of
	// the statistics office's codes.
	for code, want := range map[string]string{"31717": "Xã Hòa Tú", "24163": "Phường Tân An", "23110": "Xã Hàm Thuận Nam"} {
		c, ok := u.Commune(code)
		if !ok || c.Name != want {
			t.Errorf("commune %s is %+v, want %s", code, c, want)
		}
	}
	for code, want := range map[string]string{"92": "Thành phố Cần Thơ", "66": "Đắk Lắk", "68": "Lâm Đồng", "01": "Thành phố Hà Nội"} {
		if p, ok := u.Province(code); !ok || p.Name != want {
			t.Errorf("province %s is %+v, want %s", code, p, want)
		}
	}
	if p, ok := u.ProvinceByName("cần thơ"); !ok || p.Code != "92" {
		t.Errorf("ProvinceByName(cần thơ) = %+v, %v", p, ok)
	}
	if _, ok := u.ProvinceByName("Sóc Trăng"); ok {
		t.Error("Sóc Trăng was merged into Cần Thơ in 2025; it is no longer a province")
	}
	cs := u.CommunesOf("92")
	if len(cs) < 50 || cs[0].Name > cs[1].Name {
		t.Errorf("communes of Cần Thơ: %d, first %v", len(cs), cs[:2])
	}
}

func TestLoadRefuses(t *testing.T) {
	for name, data := range map[string]string{
		"bad province code": `{"provinces":[{"code":"9","name":"X","type":"tỉnh"}],"communes":[]}`,
		"duplicate":         `{"provinces":[{"code":"92","name":"X","type":"tỉnh"},{"code":"92","name":"Y","type":"tỉnh"}],"communes":[]}`,
		"unknown province":  `{"provinces":[{"code":"92","name":"X","type":"tỉnh"}],"communes":[{"code":"31717","name":"Xã A","province":"93"}]}`,
		"bad type":          `{"provinces":[{"code":"92","name":"X","type":"huyện"}],"communes":[]}`,
		"short commune":     `{"provinces":[{"code":"92","name":"X","type":"tỉnh"}],"communes":[{"code":"3171","name":"Xã A","province":"92"}]}`,
	} {
		if _, err := Load([]byte(data)); err == nil {
			t.Errorf("%s: loaded", name)
		}
	}
}
