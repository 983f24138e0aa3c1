package api

import (
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"io"
	"io/fs"
	"net/http"
	"path"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/static"
)

func get(t *testing.T, url string, header map[string]string) (*http.Response, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	res, err := http.DefaultTransport.RoundTrip(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var r io.Reader = res.Body
	if res.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(res.Body)
		if err != nil {
			t.Fatal(err)
		}
		r = zr
	}
	b, _ := io.ReadAll(r)
	return res, string(b)
}

func TestNegotiate(t *testing.T) {
	tests := []struct{ accept, query, want string }{
		{"", "", repHTML},
		{"*/*", "", repHTML},
		{"text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", "", repHTML},
		{"application/json", "", repJSON},
		{"application/json, */*;q=0.1", "", repJSON},
		{"application/linkset+json", "", repLinkset},
		{"text/html", "linkType=linkset", repLinkset},
		{"image/png", "", ""},
		{"application/json;q=0", "", ""},
	}
	for _, tt := range tests {
		r, _ := http.NewRequest("GET", "/01/x?"+tt.query, nil)
		if tt.accept != "" {
			r.Header.Set("Accept", tt.accept)
		}
		if got := negotiate(r); got != tt.want {
			t.Errorf("Accept %q ?%s: got %q, want %q", tt.accept, tt.query, got, tt.want)
		}
	}
}

func TestConsumerPage(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX <b>Mỹ</b> \"Xuyên\"", "8931234567897", "ST25-A&B")
	events := []map[string]any{
		{"biz_step": "https://truyxuat.vn/voc/bizstep/sowing", "event_time": "2025-05-05T06:00:00+07:00",
			"note": "<script>alert(1)</script> gieo sạ", "data": map[string]any{"seed_variety": "ST25"}},
		{"biz_step": "commissioning", "event_time": "2025-08-15T06:30:00+07:00", "quantity": map[string]any{"value": "1250.5", "unit": "KGM"},
			"certifications": []any{map[string]any{"scheme": "vietgap", "id": "VG-0123"}}},
	}
	for _, ev := range events {
		e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, ev, true), 201)
	}
	url := e.srv.URL + batch.Path

	res, page := get(t, url, map[string]string{"Accept": "text/html", "Accept-Encoding": "gzip"})
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("page: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	if res.Header.Get("Content-Encoding") != "gzip" {
		t.Error("page not gzipped")
	}
	sent, _ := strconv.Atoi(res.Header.Get("Content-Length"))
	csp := res.Header.Get("Content-Security-Policy")
	if !strings.Contains(csp, "script-src 'self'") || strings.Contains(csp, "unsafe-inline") {
		t.Errorf("CSP %q", csp)
	}
	if res.Header.Get("X-Content-Type-Options") != "nosniff" || res.Header.Get("Referrer-Policy") == "" {
		t.Error("missing nosniff or referrer policy")
	}
	if !strings.Contains(strings.Join(res.Header.Values("Vary"), ","), "Accept-Language") {
		t.Errorf("Vary %v", res.Header.Values("Vary"))
	}
	for _, want := range []string{`<html lang="vi" data-verification="pending">`, "Thu hoạch", "Gieo trồng", "15/08/2025",
		"1.250,5 kg", "VietGAP VG-0123", "Ruộng số 7", "geo:9.56,105.98", "openstreetmap.org", "Giống: ST25",
		"&lt;script&gt;alert(1)&lt;/script&gt;", "HTX &lt;b&gt;Mỹ&lt;/b&gt; &#34;Xuyên&#34;", "ST25-A&amp;B", `<script type="module">`} {
		if !strings.Contains(page, want) {
			t.Errorf("page lacks %q", want)
		}
	}
	if strings.Contains(page, "<script>alert") || strings.Contains(page, "<b>Mỹ") {
		t.Error("user text is not escaped")
	}
	// One script, the page's own, which the CSP allows by its hash (the
	// history travels as data, which never runs); nothing from another host.
	if strings.Count(page, "<script") != 2 || strings.Count(page, `<script type="application/json" id="history-data">{"batch":`) != 1 ||
		strings.Contains(page, "src=\"http") || strings.Contains(page, "href=\"http://") {
		t.Error("page has another script or loads from another host")
	}
	for _, el := range []struct{ open, close, directive string }{{`<script type="module">`, `</script>`, "script-src"}, {`<style>`, `</style>`, "style-src"}} {
		i := strings.Index(page, el.open)
		j := strings.Index(page[i:], el.close)
		if i < 0 || j < 0 {
			t.Fatalf("no inline %s", el.open)
		}
		sum := sha256.Sum256([]byte(page[i+len(el.open) : i+j]))
		if !strings.Contains(csp, el.directive+" 'self' 'sha256-"+base64.StdEncoding.EncodeToString(sum[:])+"'") {
			t.Errorf("the CSP does not allow the inline %s by its hash: %s", el.open, csp)
		}
	}

	// English by Accept-Language, by ?lang=en (remembered in a cookie).
	_, en := get(t, url, map[string]string{"Accept": "text/html", "Accept-Language": "en-GB,en;q=0.9,vi;q=0.5"})
	if !strings.Contains(en, `<html lang="en"`) || !strings.Contains(en, "Harvest") || !strings.Contains(en, "ST25 rice") {
		t.Error("Accept-Language en did not give English")
	}
	res, _ = get(t, url+"?lang=en", map[string]string{"Accept": "text/html"})
	var cookie string
	for _, ck := range res.Cookies() {
		if ck.Name == "lang" {
			cookie = ck.Value
		}
	}
	if cookie != "en" {
		t.Fatalf("?lang=en set cookie %q", cookie)
	}
	_, again := get(t, url, map[string]string{"Accept": "text/html", "Cookie": "lang=en"})
	if !strings.Contains(again, `<html lang="en"`) {
		t.Error("lang cookie not honoured")
	}

	// The page, with its stylesheet, script and signed history, stays
	// under 60 KB as a phone downloads it.
	if sent == 0 || sent > 60<<10 {
		t.Errorf("page weighs %d bytes as sent", sent)
	}
	t.Logf("page weight: %d bytes as sent, %d uncompressed", sent, len(page))

	// Assets are served with their types and cached when versioned.
	res, js := get(t, e.srv.URL+"/static/js/verify.js?v="+e.server.pages.version, nil)
	if res.StatusCode != 200 || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/javascript") ||
		!strings.Contains(res.Header.Get("Cache-Control"), "immutable") || !strings.Contains(js, "data-verification") {
		t.Errorf("verify.js: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), res.Header.Get("Cache-Control"))
	}
	if res, _ := get(t, e.srv.URL+"/static/templates/batch.html", nil); res.StatusCode != 404 {
		t.Errorf("templates are served: %d", res.StatusCode)
	}
}

func TestLinksetAndResolver(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-1")
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"certifications": []any{map[string]any{"scheme": "organic", "id": "HC-1"}}}, true), 201)
	for _, variant := range []struct {
		query  string
		header map[string]string
	}{{"?17=261231", map[string]string{"Accept": "application/linkset+json"}}, {"?linkType=linkset&17=261231", nil}} {
		res, body := get(t, e.srv.URL+batch.Path+variant.query, variant.header)
		if res.StatusCode != 200 || res.Header.Get("Content-Type") != "application/linkset+json" {
			t.Fatalf("linkset: %d %s %s", res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		var ls struct {
			Linkset []map[string]json.RawMessage `json:"linkset"`
		}
		if err := json.Unmarshal([]byte(body), &ls); err != nil || len(ls.Linkset) != 1 {
			t.Fatalf("linkset %s: %v", body, err)
		}
		entry := ls.Linkset[0]
		var pip, def []link
		json.Unmarshal(entry[gs1Voc+"pip"], &pip)
		json.Unmarshal(entry[gs1Voc+"defaultLink"], &def)
		langs := []string{}
		for _, l := range pip {
			langs = append(langs, l.Hreflang...)
			if !strings.Contains(l.Href, "17=261231") || l.Title == "" {
				t.Errorf("pip link %+v drops the query or the title", l)
			}
		}
		sort.Strings(langs)
		if strings.Join(langs, ",") != "en,vi,zh" {
			t.Errorf("pip languages %v", langs)
		}
		if len(def) != 1 || def[0].Type != "" || def[0].Hreflang != nil || def[0].Title == "" {
			t.Errorf("default link %+v", def)
		}
		for _, rel := range []string{"traceability", "certificationInfo"} {
			if entry[gs1Voc+rel] == nil {
				t.Errorf("linkset lacks gs1:%s", rel)
			}
		}
	}
	res, body := get(t, e.srv.URL+"/.well-known/gs1resolver", nil)
	if res.StatusCode != 200 || !strings.Contains(body, `"supportedPrimaryKeys":["01"]`) {
		t.Errorf("resolver description: %d %s", res.StatusCode, body)
	}
	// HEAD and OPTIONS, as a GS1 resolver must support.
	req, _ := http.NewRequest("HEAD", e.srv.URL+batch.Path, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 200 {
		t.Errorf("HEAD: %v %v", res, err)
	}
	req, _ = http.NewRequest("OPTIONS", e.srv.URL+batch.Path, nil)
	if res, err := http.DefaultClient.Do(req); err != nil || res.StatusCode != 204 || !strings.Contains(res.Header.Get("Allow"), "GET") {
		t.Errorf("OPTIONS: %v %v", res, err)
	}
	// A Digital Link ending in '/' is malformed; an API path keeps
	// tolerating one.
	if res, body := get(t, e.srv.URL+batch.Path+"/", map[string]string{"Accept": "application/json"}); res.StatusCode != 400 || !strings.Contains(body, "ends with '/'") {
		t.Errorf("trailing slash on a Digital Link: %d %s", res.StatusCode, body)
	}
	if res, body := get(t, e.srv.URL+"/api/v1/batches/"+batch.ID+"/", nil); res.StatusCode != 200 || !strings.Contains(body, batch.ID) {
		t.Errorf("trailing slash on an API path: %d %s", res.StatusCode, body)
	}
}

func TestFriendlyErrorPages(t *testing.T) {
	e := newEnv(t)
	for _, tt := range []struct {
		path   string
		status int
		vi     string
	}{
		{"/01/8931234567897/10/X", 400, "Mã không hợp lệ"},
		{"/01/08931234567890/10/X", 400, "check digit"},
		{"/01/08931234567897/10/NOPE", 404, "Không tìm thấy lô hàng"},
		{"/b/nope", 404, "Không tìm thấy lô hàng"},
		{"/01/08931234567897/10/X/", 400, "the link ends with &#39;/&#39;: a Digital Link has no trailing slash"},
		{"/01/08931234567897/10/X?422=999", 400, "ISO 3166"},
		{"/01/08931234567897/235/X", 404, "Không tìm thấy lô hàng"},
		{"/414/8931234000011", 404, "Không tìm thấy hợp tác xã"},
		{"/8004/8931234000", 404, "Không tìm thấy lô hàng"},
		{"/8004/89", 400, "company prefix"},
		{"/b/nope/", 400, "trailing slash"},
	} {
		res, body := get(t, e.srv.URL+tt.path, map[string]string{"Accept": "text/html"})
		if res.StatusCode != tt.status || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/html") || !strings.Contains(body, tt.vi) {
			t.Errorf("%s: %d %s\n%.300s", tt.path, res.StatusCode, res.Header.Get("Content-Type"), body)
		}
		res, body = get(t, e.srv.URL+tt.path, map[string]string{"Accept": "application/json"})
		if res.StatusCode != tt.status || res.Header.Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s as JSON: %d %s", tt.path, res.StatusCode, body)
		}
	}
}

func TestRecallBanner(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-R")
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning"}, true), 201)
	_, page := get(t, e.srv.URL+batch.Path, map[string]string{"Accept": "text/html"})
	if strings.Contains(page, `class="recall"`) {
		t.Fatal("banner before any recall")
	}
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "inspecting",
		"disposition": "recalled", "note": "Dư lượng thuốc bảo vệ thực vật vượt mức"}, true), 201)
	_, page = get(t, e.srv.URL+batch.Path, map[string]string{"Accept": "text/html"})
	i := strings.Index(page, `class="recall"`)
	if i < 0 || i > strings.Index(page, "<main>") || !strings.Contains(page, "Dư lượng thuốc") {
		t.Error("recall banner missing or not above the page")
	}
}

// TestCataloguesAgree checks every language has the same message keys as
// Vietnamese, so adding a language is adding a complete file.
func TestCataloguesAgree(t *testing.T) {
	p, err := newPages(static.FS)
	if err != nil {
		t.Fatal(err)
	}
	vi := p.catalogs["vi"]
	for lang, c := range p.catalogs {
		for name, pair := range map[string][2]map[string]string{
			"messages": {vi.Messages, c.Messages}, "steps": {vi.Steps, c.Steps},
			"certifications": {vi.Certifications, c.Certifications}, "units": {vi.Units, c.Units}, "fields": {vi.Fields, c.Fields},
		} {
			for k := range pair[0] {
				if _, ok := pair[1][k]; !ok {
					t.Errorf("%s catalogue lacks %s.%s", lang, name, k)
				}
			}
			if len(pair[0]) != len(pair[1]) {
				t.Errorf("%s catalogue has %d %s, vi has %d", lang, len(pair[1]), name, len(pair[0]))
			}
		}
	}
}

// TestCatalogs: Vietnamese and English say everything the service says;
// every other language says at least everything the shopper's page says.
func TestCatalogs(t *testing.T) {
	raw := map[string]map[string]map[string]string{}
	files, _ := fs.Glob(static.FS, "i18n/*.json")
	for _, f := range files {
		b, _ := fs.ReadFile(static.FS, f)
		var c map[string]json.RawMessage
		if err := json.Unmarshal(b, &c); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		sections := map[string]map[string]string{}
		for _, sec := range []string{"messages", "steps", "certifications", "units", "fields"} {
			var m map[string]string
			json.Unmarshal(c[sec], &m)
			sections[sec] = m
		}
		raw[strings.TrimSuffix(path.Base(f), ".json")] = sections
	}
	if len(raw) < 3 || raw["vi"] == nil || raw["en"] == nil || raw["zh"] == nil {
		t.Fatalf("catalogues %v", len(raw))
	}
	for lang, sections := range raw {
		for sec, vi := range raw["vi"] {
			for k := range vi {
				if _, ok := sections[sec][k]; !ok && (lang == "en" || sec != "messages" || !strings.HasPrefix(k, "app_")) {
					t.Errorf("%s.json has no %s %q", lang, sec, k)
				}
			}
		}
	}
}
