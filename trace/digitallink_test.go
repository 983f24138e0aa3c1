package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

// dlVectorsPath holds truyxuat's GS1 Digital Link test vectors (see the
// "about" field of the file for its form).
var dlVectorsPath = filepath.Join("testdata", "digital-link-vectors.json")

type dlVectors struct {
	About string `json:"about"`
	Valid []struct {
		URI       string     `json:"uri"`
		AIs       [][]string `json:"ais"`
		Params    [][]string `json:"params"`
		Canonical *string    `json:"canonical"`
		Note      string     `json:"note"`
	} `json:"valid"`
	Unsupported []struct {
		URI  string `json:"uri"`
		AI   string `json:"ai"`
		Note string `json:"note"`
	} `json:"unsupported"`
	Invalid []struct {
		URI             string   `json:"uri"`
		Mentions        []string `json:"mentions"`
		Note            string   `json:"note"`
		GS1EngineAccept bool     `json:"gs1_engine_accepts"`
	} `json:"invalid"`
}

func loadDLVectors(tb testing.TB) dlVectors {
	tb.Helper()
	b, err := os.ReadFile(dlVectorsPath)
	if err != nil {
		tb.Fatal(err)
	}
	var v dlVectors
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&v); err != nil {
		tb.Fatalf("%s: %v", dlVectorsPath, err)
	}
	if len(v.Valid) == 0 || len(v.Unsupported) == 0 || len(v.Invalid) == 0 {
		tb.Fatalf("%s: a section is empty", dlVectorsPath)
	}
	return v
}

// dlVectorURIs returns every URI of the vectors.
func dlVectorURIs(tb testing.TB) []string {
	v := loadDLVectors(tb)
	var out []string
	for _, c := range v.Valid {
		out = append(out, c.URI)
	}
	for _, c := range v.Unsupported {
		out = append(out, c.URI)
	}
	for _, c := range v.Invalid {
		out = append(out, c.URI)
	}
	return out
}

func aiMap(ais []AIValue) map[string]string {
	m := make(map[string]string, len(ais))
	for _, a := range ais {
		m[a.AI] = a.Value
	}
	return m
}

func pairs[T any](in [][]string, mk func(a, b string) T) []T {
	var out []T
	for _, p := range in {
		out = append(out, mk(p[0], p[1]))
	}
	return out
}

func TestDigitalLinkVectorsValid(t *testing.T) {
	for _, v := range loadDLVectors(t).Valid {
		t.Run(v.Note, func(t *testing.T) {
			want := pairs(v.AIs, func(a, b string) AIValue { return AIValue{a, b} })
			u, err := url.Parse(v.URI)
			if err != nil {
				t.Fatal(err)
			}
			d, err := ParseDigitalLink(v.URI)
			if err != nil {
				t.Fatalf("ParseDigitalLink(%s): %v", v.URI, err)
			}
			if got := aiMap(d.AIs()); !reflect.DeepEqual(got, aiMap(want)) || len(d.AIs()) != len(want) {
				t.Errorf("parsed AIs = %v, want %v", d.AIs(), want)
			}
			if wantParams := pairs(v.Params, func(a, b string) QueryParam { return QueryParam{a, b} }); !reflect.DeepEqual(d.Params, wantParams) {
				t.Errorf("parsed params = %v, want %v", d.Params, wantParams)
			}
			// The path and query of a request parse the same.
			d2, err := ParseDigitalLinkPath(u.EscapedPath(), u.RawQuery)
			if err != nil || !reflect.DeepEqual(d, d2) {
				t.Errorf("ParseDigitalLinkPath = %+v, %v; want %+v", d2, err, d)
			}
			// Rendered: the input's own path and query, or its canonical form.
			canonical := u.EscapedPath()
			if u.RawQuery != "" {
				canonical += "?" + u.RawQuery
			}
			if v.Canonical != nil {
				canonical = *v.Canonical
			}
			if d.String() != canonical {
				t.Errorf("renders as %s, want %s", d.String(), canonical)
			}
			if err := d.Validate(); err != nil {
				t.Errorf("Validate: %v", err)
			}
			// Built from the AIs (in the vector's order) → the same link.
			if len(d.Params) == 0 {
				b, err := DigitalLinkFromAIs(want)
				if err != nil {
					t.Fatalf("DigitalLinkFromAIs: %v", err)
				}
				if b.String() != canonical {
					t.Errorf("built %s, want %s", b.String(), canonical)
				}
			}
			uri, err := d.URI("https://trace.example.vn/")
			if err != nil {
				t.Fatal(err)
			}
			if again, err := ParseDigitalLink(uri); err != nil || !reflect.DeepEqual(again, d) {
				t.Errorf("ParseDigitalLink(%s) = %+v, %v; want %+v", uri, again, err, d)
			}
		})
	}
}

func TestDigitalLinkVectorsUnsupported(t *testing.T) {
	for _, v := range loadDLVectors(t).Unsupported {
		t.Run(v.Note, func(t *testing.T) {
			d, err := ParseDigitalLink(v.URI)
			var ue *UnsupportedLinkError
			if !errors.As(err, &ue) || !errors.Is(err, ErrUnsupported) || errors.Is(err, ErrInvalid) {
				t.Fatalf("ParseDigitalLink(%s) = %+v, %v; want an *UnsupportedLinkError", v.URI, d, err)
			}
			if ue.AI != v.AI || !strings.Contains(err.Error(), "("+v.AI+")") && !strings.Contains(err.Error(), "AI "+v.AI) {
				t.Errorf("error %q names AI %s, want %s", err, ue.AI, v.AI)
			}
			u, _ := url.Parse(v.URI)
			if _, err2 := ParseDigitalLinkPath(u.EscapedPath(), u.RawQuery); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("ParseDigitalLinkPath error %v, want %v", err2, err)
			}
		})
	}
}

func TestDigitalLinkVectorsInvalid(t *testing.T) {
	for _, v := range loadDLVectors(t).Invalid {
		t.Run(v.Note, func(t *testing.T) {
			d, err := ParseDigitalLink(v.URI)
			if err == nil {
				t.Fatalf("ParseDigitalLink(%s) = %s; want an error", v.URI, d)
			}
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not a *FieldError wrapping ErrInvalid", err)
			}
			if len(v.Mentions) == 0 {
				t.Fatal("the vector lists nothing its error must mention")
			}
			for _, w := range v.Mentions {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
			if fe.Field == "uri" {
				return // refused before its path was read
			}
			u, _ := url.Parse(v.URI)
			if _, err2 := ParseDigitalLinkPath(u.EscapedPath(), u.RawQuery); err2 == nil || err2.Error() != err.Error() {
				t.Errorf("ParseDigitalLinkPath error %v, want %v", err2, err)
			}
		})
	}
}

func TestAITable(t *testing.T) {
	rules, err := parseAITable(gs1AITable)
	if err != nil {
		t.Fatal(err)
	}
	for ai, r := range rules {
		for _, alt := range r.qualifiers {
			for _, q := range alt {
				if rules[q] == nil {
					t.Errorf("AI (%s): qualifier %s is not in the table", ai, q)
				}
			}
		}
		var patterns []string
		for _, alts := range r.needs {
			for _, g := range alts {
				patterns = append(patterns, g...)
			}
		}
		for _, p := range append(patterns, r.never...) {
			found := false
			for other := range rules {
				found = found || aiMatches(p, other)
			}
			if !found {
				t.Errorf("AI (%s): %s matches no AI", ai, p)
			}
		}
	}
	for _, tc := range []struct {
		ai         string
		known, key bool
		attr       bool
	}{
		{"00", true, true, true}, {"01", true, true, true}, {"10", true, false, true}, {"21", true, false, false},
		{"235", true, false, false}, {"254", true, false, false}, {"414", true, true, true}, {"422", true, false, true},
		{"3103", true, false, true}, {"3106", false, false, false}, {"7007", true, false, true}, {"7040", true, false, false},
		{"8006", true, true, true}, {"8200", true, false, false}, {"91", true, false, true}, {"99", true, false, true},
		{"89", false, false, false}, {"999", false, false, false}, {"1", false, false, false},
	} {
		r := rules[tc.ai]
		if (r != nil) != tc.known || r != nil && (r.key != tc.key || r.attr != tc.attr) {
			t.Errorf("AI (%s): %+v, want known %v, key %v, attribute %v", tc.ai, r, tc.known, tc.key, tc.attr)
		}
	}
	if got := rules["01"].qualifiers; !reflect.DeepEqual(got, [][]string{{"22", "10", "21"}, {"235"}}) {
		t.Errorf("GTIN qualifiers %v", got)
	}
	if len(iso3166Numeric) != 249 || len(iso3166Alpha2) != 249 || iso3166Numeric["704"] != "VN" {
		t.Errorf("ISO 3166 table: %d numeric, %d alpha-2 codes, 704 = %q", len(iso3166Numeric), len(iso3166Alpha2), iso3166Numeric["704"])
	}
	for _, bad := range []string{"00 ka n18", "01 ka n14/nosuch path=", "x ka n1 path=", "10 a", "10 a x..20 needs=01 n2", "21 - x..20 path=22"} {
		if _, err := parseAITable(bad); err == nil {
			t.Errorf("parseAITable(%q) succeeded", bad)
		}
	}
}

func TestValidateAI(t *testing.T) {
	for _, tc := range []struct {
		ai, v string
		ok    bool
	}{
		{"7007", "250815", true}, {"7007", "250815250820", true}, {"7007", "2508152508", false},
		{"422", "704", true}, {"422", "999", false}, {"7030", "999ABC", true}, {"7030", "998ABC", false},
		{"4307", "VN", true}, {"4307", "XX", false}, {"8008", "25081512", true}, {"8008", "2508152461", false},
		{"8006", "089312345678970102", true}, {"8006", "089312345678970302", false}, {"4330", "001250-", true},
		{"4330", "001250+", false}, {"7250", "20240229", true}, {"7250", "20230229", false}, {"8011", "0123", false},
		{"7258", "1/2", true}, {"7258", "3/2", false}, {"8030", "AbC-_9==", true}, {"8030", "A=b", false},
		{"4309", "18000000003600000000", true}, {"4309", "18000000013600000000", false}, {"8001", "000100001001", false},
		{"1234", "1", false},
	} {
		err := ValidateAI(tc.ai, tc.v)
		if (err == nil) != tc.ok {
			t.Errorf("ValidateAI(%s, %q) = %v, want ok %v", tc.ai, tc.v, err, tc.ok)
		}
	}
}

func TestDigitalLinkParse(t *testing.T) {
	tests := []struct {
		name string
		uri  string
		want DigitalLink
	}{
		{"all GTIN qualifiers", "https://x.vn/01/08931234567897/22/V1/10/TL1/21/S%2F9",
			DigitalLink{GTIN: "08931234567897", Variant: "V1", Lot: "TL1", Serial: "S/9"}},
		{"GLN with extension", "https://x.vn/414/8931234000011/254/KHO-2",
			DigitalLink{GLN: "8931234000011", GLNExtension: "KHO-2"}},
		{"resolver prefix is skipped", "https://x.vn/dl/v1/01/08931234567897/10/TL1",
			DigitalLink{GTIN: "08931234567897", Lot: "TL1"}},
		{"lowercase hex and a literal plus", "https://x.vn/01/08931234567897/10/A%2fB+C?7007=250815250820",
			DigitalLink{GTIN: "08931234567897", Lot: "A/B+C", Attributes: []AIValue{{"7007", "250815250820"}}}},
		{"non-AI parameters are kept in order", "https://x.vn/01/08931234567897?linkType=gs1%3Apip&17=251000&s=abc_-&linkType=all",
			DigitalLink{GTIN: "08931234567897", Attributes: []AIValue{{"17", "251000"}},
				Params: []QueryParam{{"linkType", "gs1:pip"}, {"s", "abc_-"}, {"linkType", "all"}}}},
		{"internal AI kept as given", "https://x.vn/01/08931234567897?99=INTERNAL-1&3103=000189&422=704",
			DigitalLink{GTIN: "08931234567897", Attributes: []AIValue{{"99", "INTERNAL-1"}, {"3103", "000189"}, {"422", "704"}}}},
		{"fragment ignored, empty query parts skipped", "https://x.vn/00/389312340000000012?&#top",
			DigitalLink{SSCC: "389312340000000012"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseDigitalLink(tc.uri)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
			again, err := ParseDigitalLinkPath(got.Path(), got.RawQuery())
			if err != nil || !reflect.DeepEqual(again, got) {
				t.Errorf("re-parse of %s = %+v, %v", got, again, err)
			}
		})
	}
}

func TestDigitalLinkParseErrors(t *testing.T) {
	tests := []struct {
		name, uri string
		want      []string
	}{
		{"relative", "/01/08931234567897", []string{"absolute"}},
		{"ftp", "ftp://x.vn/01/08931234567897", []string{"http"}},
		{"no primary key", "https://x.vn/about", []string{"primary key"}},
		{"missing value", "https://x.vn/01/08931234567897/10", []string{"(10) has no value"}},
		{"variant after lot", "https://x.vn/01/08931234567897/10/A/22/B", []string{"qualifier order"}},
		{"lot twice", "https://x.vn/01/08931234567897/10/A/10/B", []string{"twice"}},
		{"data attribute in path", "https://x.vn/01/08931234567897/17/251015", []string{"(17)", "query string"}},
		{"qualifier of SSCC", "https://x.vn/00/389312340000000012/10/A", []string{"no key qualifiers"}},
		{"lot in query", "https://x.vn/01/08931234567897?10=TL1", []string{"(10)", "path"}},
		{"duplicate attribute", "https://x.vn/01/08931234567897?17=251015&17=251016", []string{"twice"}},
		{"bad percent", "https://x.vn/01/08931234567897/10/A%2", []string{"percent"}},
		{"bad percent in query", "https://x.vn/01/08931234567897?17=%zz", []string{"percent"}},
		{"expiry month 13", "https://x.vn/01/08931234567897?17=251315", []string{"(17)", "month 13"}},
		{"harvest Feb 30", "https://x.vn/01/08931234567897?7007=250230", []string{"(7007)", "day 30"}},
		{"harvest range end bad", "https://x.vn/01/08931234567897?7007=250815251399", []string{"(7007)", "month 13"}},
		{"harvest length", "https://x.vn/01/08931234567897?7007=2508", []string{"YYMMDD"}},
		{"country letters", "https://x.vn/01/08931234567897?422=VNM", []string{"(422)", "704"}},
		{"net weight short", "https://x.vn/01/08931234567897?3103=189", []string{"(3103)", "6 digits"}},
		{"unknown AI with diacritics", "https://x.vn/01/08931234567897?99=L%C3%B4", []string{"(99)", "diacritics"}},
		{"serial with space", "https://x.vn/01/08931234567897/21/A%20B", []string{"serial", "character set 82"}},
		{"GTIN with letters", "https://x.vn/01/0893123456789X", []string{"digits"}},
		{"SSCC check digit", "https://x.vn/00/389312340000000013", []string{"SSCC", "check digit"}},
		{"convenience alpha after key", "https://x.vn/01/08931234567897/lot/TL1", []string{"convenience alphas"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := ParseDigitalLink(tc.uri)
			if err == nil {
				t.Fatalf("ParseDigitalLink(%s) = %+v, want an error", tc.uri, d)
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("%v does not wrap ErrInvalid", err)
			}
			for _, w := range tc.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
}

func TestDigitalLinkBuild(t *testing.T) {
	lot := DigitalLink{GTIN: "08931234567897", Lot: "ABC&+1/2", Serial: "K7"}
	lot.SetAttribute(AIHarvestDate, FormatGS1Date(time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC)))
	lot.SetAttribute("422", "704")
	lot.SetParam("s", "sig")
	lot.SetParam("s", "sig2")
	got, err := lot.URI("https://trace.example.vn/")
	if err != nil {
		t.Fatal(err)
	}
	want := "https://trace.example.vn/01/08931234567897/10/ABC%26%2B1%2F2/21/K7?7007=250815&422=704&s=sig2"
	if got != want {
		t.Errorf("URI = %s, want %s", got, want)
	}
	if v, ok := lot.Attribute("7007"); !ok || v != "250815" {
		t.Errorf("Attribute(7007) = %q, %v", v, ok)
	}

	bad := []struct {
		name string
		d    DigitalLink
		base string
		want string
	}{
		{"no key", DigitalLink{Lot: "A"}, "https://x.vn", "exactly one primary key"},
		{"two keys", DigitalLink{GTIN: "08931234567897", GLN: "8931234000011"}, "https://x.vn", "exactly one primary key"},
		{"GTIN-13", DigitalLink{GTIN: "8931234567897"}, "https://x.vn", "zero-padded"},
		{"lot on a GLN", DigitalLink{GLN: "8931234000011", Lot: "A"}, "https://x.vn", "qualify a GTIN"},
		{"extension on a GTIN", DigitalLink{GTIN: "08931234567897", GLNExtension: "A"}, "https://x.vn", "(254)"},
		{"Vietnamese lot", DigitalLink{GTIN: "08931234567897", Lot: "LÔ1"}, "https://x.vn", "Vietnamese"},
		{"qualifier as attribute", DigitalLink{GTIN: "08931234567897", Attributes: []AIValue{{"10", "A"}}}, "https://x.vn", "belongs in the path"},
		{"AI as param", DigitalLink{GTIN: "08931234567897", Params: []QueryParam{{"17", "251015"}}}, "https://x.vn", "Attributes"},
		{"relative base", DigitalLink{GTIN: "08931234567897"}, "trace.example.vn", "absolute http(s) URL"},
		{"base with query", DigitalLink{GTIN: "08931234567897"}, "https://x.vn/?a=1", "query"},
		{"base with space", DigitalLink{GTIN: "08931234567897"}, "https://x.vn/a b", "ASCII"},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.d.URI(tc.base)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("URI error = %v, want one mentioning %q", err, tc.want)
			}
		})
	}

	if _, err := DigitalLinkFromAIs([]AIValue{{"01", "08931234567897"}, {"10", ""}}); err == nil {
		t.Error("an empty lot was accepted")
	}
	if _, err := DigitalLinkFromAIs([]AIValue{{"01", "08931234567897"}, {"17", "251015"}, {"17", "251016"}}); err == nil {
		t.Error("a doubled AI was accepted")
	}
}

func TestDigitalLinkGS1Date(t *testing.T) {
	d, err := ParseGS1Date("250815")
	if err != nil || !d.Equal(time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseGS1Date(250815) = %v, %v", d, err)
	}
	d, err = ParseGS1Date("240200")
	if err != nil || !d.Equal(time.Date(2024, 2, 29, 0, 0, 0, 0, time.UTC)) {
		t.Errorf("ParseGS1Date(240200) = %v, %v; want the last day of the month", d, err)
	}
	for _, s := range []string{"250229", "251301", "25081", "2508150", "abcdef"} {
		if _, err := ParseGS1Date(s); err == nil {
			t.Errorf("ParseGS1Date(%q) succeeded", s)
		}
	}
	if got := FormatGS1Date(time.Date(2026, 1, 2, 23, 0, 0, 0, time.UTC)); got != "260102" {
		t.Errorf("FormatGS1Date = %s", got)
	}
}

func TestDigitalLinkBatchShortLink(t *testing.T) {
	uri, err := BatchLinkURI("https://trace.example.vn/", "st25k7")
	if err != nil || uri != "https://trace.example.vn/b/st25k7" {
		t.Fatalf("BatchLinkURI = %q, %v", uri, err)
	}
	id, err := ParseBatchLink(uri + "?utm=zalo")
	if err != nil || id != "st25k7" {
		t.Errorf("ParseBatchLink = %q, %v", id, err)
	}
	if id, err := ParseBatchLinkPath("/b/lot-2025-08"); err != nil || id != "lot-2025-08" {
		t.Errorf("ParseBatchLinkPath = %q, %v", id, err)
	}
	for _, bad := range []string{"", "ST25", "lô1", "a/b", strings.Repeat("a", 33), "a b"} {
		if _, err := BatchLinkPath(bad); err == nil || !errors.Is(err, ErrInvalid) {
			t.Errorf("BatchLinkPath(%q) error = %v", bad, err)
		}
	}
	if id, err := ParseBatchLinkPath("/b/%61bc"); err != nil || id != "abc" {
		t.Errorf("ParseBatchLinkPath(/b/%%61bc) = %q, %v", id, err)
	}
	for _, bad := range []string{"/x/abc", "/b/", "/b/abc/def", "/b/ABC", "/b/abc/", "/b/abc%2F", "/b/ab%2"} {
		if _, err := ParseBatchLinkPath(bad); err == nil {
			t.Errorf("ParseBatchLinkPath(%q) succeeded", bad)
		}
	}
	if _, err := ParseBatchLink("/b/abc"); err == nil {
		t.Error("ParseBatchLink accepted a relative URI")
	}
}

// FuzzParseDigitalLinkPath checks that parsing a request's path and query
// never panics, fails only with the errors it documents, and that a parsed
// link renders to a canonical form that parses back to the same value. The
// seeds are the test vectors.
func FuzzParseDigitalLinkPath(f *testing.F) {
	for _, uri := range dlVectorURIs(f) {
		if u, err := url.Parse(uri); err == nil {
			f.Add(u.EscapedPath(), u.RawQuery)
		}
	}
	f.Add("/dl/01/08931234567897?99=a%26b&&x=%20", "")
	f.Fuzz(func(t *testing.T, path, query string) {
		d, err := ParseDigitalLinkPath(path, query)
		if err != nil {
			checkDLError(t, err)
			return
		}
		checkDLRoundTrip(t, d)
	})
}

// FuzzParseDigitalLink does the same for whole URIs.
func FuzzParseDigitalLink(f *testing.F) {
	for _, uri := range dlVectorURIs(f) {
		f.Add(uri)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		d, err := ParseDigitalLink(uri)
		if err != nil {
			checkDLError(t, err)
			return
		}
		checkDLRoundTrip(t, d)
	})
}

// checkDLError checks that err is one of the two errors a parse may give.
func checkDLError(t *testing.T, err error) {
	t.Helper()
	var fe *FieldError
	var ue *UnsupportedLinkError
	switch {
	case errors.As(err, &fe):
		if !errors.Is(err, ErrInvalid) || errors.Is(err, ErrUnsupported) || fe.Reason == "" {
			t.Fatalf("error %v", err)
		}
	case errors.As(err, &ue):
		if errors.Is(err, ErrInvalid) || lookupAI(ue.AI) == nil {
			t.Fatalf("error %v names AI %q", err, ue.AI)
		}
	default:
		t.Fatalf("error %v (%T) is neither a *FieldError nor an *UnsupportedLinkError", err, err)
	}
}

// checkDLRoundTrip checks that a parsed link is valid, renders as ASCII
// and parses back to itself.
func checkDLRoundTrip(t *testing.T, d DigitalLink) {
	t.Helper()
	if err := d.Validate(); err != nil {
		t.Fatalf("parsed link %s does not validate: %v", d, err)
	}
	p, q := d.Path(), d.RawQuery()
	d2, err := ParseDigitalLinkPath(p, q)
	if err != nil {
		t.Fatalf("rendered %s?%s does not parse: %v", p, q, err)
	}
	if !reflect.DeepEqual(d, d2) {
		t.Fatalf("round trip changed %+v into %+v", d, d2)
	}
	if d2.Path() != p || d2.RawQuery() != q {
		t.Fatalf("rendering is not stable: %s?%s then %s?%s", p, q, d2.Path(), d2.RawQuery())
	}
	uri, err := d.URI("https://trace.example.vn")
	if err != nil {
		t.Fatalf("URI: %v", err)
	}
	for i := 0; i < len(uri); i++ {
		if uri[i] <= ' ' || uri[i] >= 0x7f {
			t.Fatalf("URI %q is not printable ASCII", uri)
		}
	}
	if d3, err := ParseDigitalLink(uri); err != nil || !reflect.DeepEqual(d, d3) {
		t.Fatalf("ParseDigitalLink(%s) = %+v, %v; want %+v", uri, d3, err, d)
	}
}

// FuzzParseBatchLinkPath checks the short-link parser: no panics, only
// field errors, and an id it accepts renders back to a path that gives the
// same id.
func FuzzParseBatchLinkPath(f *testing.F) {
	for _, s := range []string{"/b/st25k7", "/b/lot-2025-08", "/b/", "/b/abc/", "/b/abc%2F", "/b/%61bc", "/b/a%2", "/b/ABC", "/x/abc", "/b/l%C3%B41"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		id, err := ParseBatchLinkPath(path)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("error %v is not a *FieldError", err)
			}
			return
		}
		p, err := BatchLinkPath(id)
		if err != nil {
			t.Fatalf("accepted id %q does not render: %v", id, err)
		}
		if again, err := ParseBatchLinkPath(p); err != nil || again != id {
			t.Fatalf("ParseBatchLinkPath(%s) = %q, %v; want %q", p, again, err, id)
		}
		if strings.HasSuffix(path, "/") {
			t.Fatalf("%q ends with '/' and was accepted", path)
		}
	})
}

func ExampleDigitalLink_URI() {
	d, err := DigitalLinkFromAIs([]AIValue{
		{AI: "01", Value: "08931234567897"},
		{AI: "10", Value: "ST25/08+A"},
		{AI: "7007", Value: FormatGS1Date(time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC))},
		{AI: "422", Value: "704"},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	uri, _ := d.URI("https://trace.example.vn")
	fmt.Println(uri)
	// Output:
	// https://trace.example.vn/01/08931234567897/10/ST25%2F08%2BA?7007=250815&422=704
}

func ExampleParseDigitalLink() {
	d, err := ParseDigitalLink("https://trace.example.vn/01/08931234567897/10/ST25%2F08?7007=250815&linkType=gs1:pip")
	if err != nil {
		fmt.Println(err)
		return
	}
	harvest, _ := d.Attribute("7007")
	linkType, _ := d.Param("linkType")
	fmt.Println(d.GTIN, d.Lot, harvest, linkType)

	_, err = ParseDigitalLink("https://trace.example.vn/01/08931234567897/10/L%C3%941")
	fmt.Println(errors.Is(err, ErrInvalid))
	// Output:
	// 08931234567897 ST25/08 250815 gs1:pip
	// true
}
