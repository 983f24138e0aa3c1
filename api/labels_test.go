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
