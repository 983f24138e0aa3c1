package api

import (
	"encoding/base64"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/label"
	"github.com/truyxuat/truyxuat/trace"
)

// needTool finds an external tool; without it the test is skipped, except
// in CI (CI=true), where it fails.
func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s is not installed; skipping", name)
	}
	return p
}

func TestLabels(t *testing.T) {
	zbar := needTool(t, "zbarimg")
	pdftotext := needTool(t, "pdftotext")
	e := newEnv(t)
	key, coop, batch := e.seed("HTX Nông nghiệp Hòa Tú", "8931234567897", "ST25/08&A")
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"certifications": []any{map[string]any{"scheme": "vietgap", "id": "VG-1"}}}, true), 201)
	dir := t.TempDir()
	fetch := func(query, k string, status int) []byte {
		t.Helper()
		r := e.do("GET", "/api/v1/batches/"+batch.ID+"/labels?"+query, k, nil, true)
		if r.status != status {
			t.Fatalf("labels?%s: %d %s", query, r.status, r.body)
		}
		return r.body
	}
	want := "https://trace.example.vn/01/08931234567897/10/ST25%2F08%26A?7007=250815"

	png := fetch("format=png", key, 200)
	path := filepath.Join(dir, "label.png")
	os.WriteFile(path, png, 0o644)
	out, err := exec.Command(zbar, "--raw", "-q", path).Output()
	if err != nil || strings.TrimSpace(string(out)) != want {
		t.Errorf("zbarimg read %q (%v), want %q", out, err, want)
	}

	pdf := fetch("format=pdf&layout=a4-3x8&count=30", key, 200)
	os.WriteFile(filepath.Join(dir, "labels.pdf"), pdf, 0o644)
	text, err := exec.Command(pdftotext, filepath.Join(dir, "labels.pdf"), "-").Output()
	if err != nil || strings.Count(string(text), "Gạo ST25") != 30 || !strings.Contains(string(text), "Quét mã để truy xuất") ||
		!strings.Contains(string(text), "VietGAP") || !strings.Contains(string(text), "15/08/2025") {
		t.Errorf("pdf text (%v):\n%.600s", err, text)
	}
	if zpl := string(fetch("format=zpl&layout=roll-50x30&dpi=300&count=3", key, 200)); !strings.HasPrefix(zpl, "^XA") || !strings.Contains(zpl, "^GFA") {
		t.Errorf("zpl: %.80q", zpl)
	}
	if tspl := string(fetch("format=tspl&layout=roll-40x30", key, 200)); !strings.Contains(tspl, "BITMAP") {
		t.Errorf("tspl: %.80q", tspl)
	}

	// A signed label verifies against the cooperative's key.
	signed := fetch("format=png&sign=1", key, 200)
	os.WriteFile(path, signed, 0o644)
	out, _ = exec.Command(zbar, "--raw", "-q", path).Output()
	dl, err := trace.ParseDigitalLink(strings.TrimSpace(string(out)))
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := base64.StdEncoding.DecodeString(coop.PublicKeys[0])
	if err := label.VerifySignature(dl, pub); err != nil {
		t.Errorf("signed label: %v", err)
	}

	// Refusals say what to change.
	for _, tt := range []struct{ query, contains string }{
		{"format=pdf&layout=a4-9x9", "layout"},
		{"format=pdf&count=0", "count"},
		{"format=gif", "format"},
		{"format=zpl&dpi=150", "dpi"},
	} {
		r := e.do("GET", "/api/v1/batches/"+batch.ID+"/labels?"+tt.query, key, nil, false)
		if r.status != 422 || !strings.Contains(string(r.body), tt.contains) {
			t.Errorf("labels?%s: %d %s", tt.query, r.status, r.body)
		}
	}
	keyB, _, _ := e.seed("HTX B", "8931234567880", "LOT-B")
	fetch("format=png", keyB, 403)
	fetch("format=png", "", 401)
}

// TestLabelsChinese prints a lot's labels with Simplified Chinese as the
// second language: without a Chinese name the label says only "扫码溯源"
// in Chinese; once the product's registry record has one (name_zh), the
// label prints it. pdftotext reads the text, zbarimg the codes.
func TestLabelsChinese(t *testing.T) {
	zbar := needTool(t, "zbarimg")
	pdftotext := needTool(t, "pdftotext")
	pdftoppm := needTool(t, "pdftoppm")
	e := newEnv(t)
	key, _, batch := e.seed("HTX Nông nghiệp Hòa Tú", "8931234567897", "ST25-0815")
	dir := t.TempDir()
	pdfText := func(query string) string {
		t.Helper()
		r := e.do("GET", "/api/v1/batches/"+batch.ID+"/labels?"+query, key, nil, true)
		if r.status != 200 || r.header.Get("Content-Type") != "application/pdf" {
			t.Fatalf("labels?%s: %d %s", query, r.status, r.body)
		}
		p := filepath.Join(dir, "labels.pdf")
		os.WriteFile(p, r.body, 0o644)
		text, err := exec.Command(pdftotext, "-enc", "UTF-8", p, "-").Output()
		if err != nil {
			t.Fatal(err)
		}
		return strings.Join(strings.Fields(string(text)), " ")
	}

	// The seeded product has an English name and no Chinese one.
	text := pdfText("format=pdf&layout=a4-2x7&count=2&lang=zh")
	if strings.Count(text, "扫码溯源") != 2 || strings.Contains(text, "ST25 rice") || strings.Contains(text, "Scan to trace") ||
		strings.Count(text, "Gạo ST25") != 2 {
		t.Errorf("Chinese label of a product without a Chinese name: %s", text)
	}
	if text := pdfText("format=pdf&layout=a4-2x7&count=1"); !strings.Contains(text, "ST25 rice") || !strings.Contains(text, "Scan to trace") || strings.Contains(text, "扫码溯源") {
		t.Errorf("English is the default: %s", text)
	}
	if text := pdfText("format=pdf&layout=a4-2x7&count=1&lang=en"); !strings.Contains(text, "ST25 rice") || strings.Contains(text, "扫码溯源") {
		t.Errorf("lang=en: %s", text)
	}

	// The Chinese name comes from the product's registry record.
	r := e.do("PUT", "/api/v1/products/"+batch.ProductID, key, UpdateProductRequest{GTIN: "8931234567897", NameVI: "Gạo ST25", NameEN: "ST25 rice",
		Category: "rice", OCOPStars: 4, Content: map[string]string{"name_zh": "和秀ST25香米"}}, true)
	e.expect(r, 200)
	text = pdfText("format=pdf&layout=a4-3x8&count=3&lang=zh")
	if strings.Count(text, "和秀ST25香米") != 3 || strings.Count(text, "扫码溯源") != 3 || strings.Contains(text, "ST25 rice") {
		t.Errorf("Chinese label: %s", text)
	}
	p := filepath.Join(dir, "labels.pdf")
	if err := exec.Command(pdftoppm, "-r", "200", "-png", p, filepath.Join(dir, "page")).Run(); err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	out, _ := exec.Command(zbar, append([]string{"--raw", "-q"}, pages...)...).Output()
	want := "https://trace.example.vn/01/08931234567897/10/ST25-0815?7007=250815"
	if links := strings.Fields(string(out)); len(links) != 3 || links[0] != want {
		t.Errorf("zbarimg read %q, want 3 × %q", links, want)
	}
	for _, q := range []string{"format=zpl&layout=roll-40x30&lang=zh", "format=tspl&layout=roll-50x30&dpi=300&lang=zh", "format=png&lang=zh", "format=svg&lang=zh"} {
		if r := e.do("GET", "/api/v1/batches/"+batch.ID+"/labels?"+q, key, nil, true); r.status != 200 || len(r.body) == 0 {
			t.Errorf("labels?%s: %d %.200s", q, r.status, r.body)
		}
	}

	// A language labels cannot print is refused, saying what to use.
	for _, lang := range []string{"fr", "ZH-TW", strings.Repeat("z", 300)} {
		r := e.do("GET", "/api/v1/batches/"+batch.ID+"/labels?format=pdf&lang="+lang, key, nil, false)
		if r.status != 422 || !strings.Contains(string(r.body), `"lang"`) || !strings.Contains(string(r.body), "use en (English) or zh (Simplified Chinese)") ||
			len(r.body) > 1000 {
			t.Errorf("lang=%.20s: %d %s", lang, r.status, r.body)
		}
	}
}
