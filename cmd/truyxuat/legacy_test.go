package main

import (
	"archive/tar"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/api"
)

// unpackLegacyStore unpacks testdata/legacy-store.tar.gz, a data
// directory written by a truyxuat from before lots had signed facts and
// profiles had signed records, and returns it with the lots it holds.
func unpackLegacyStore(t *testing.T) (string, []DemoBatch) {
	t.Helper()
	f, err := os.Open(filepath.Join("testdata", "legacy-store.tar.gz"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	tr := tar.NewReader(zr)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, filepath.Clean(h.Name))
		if !strings.HasPrefix(p, dir+string(filepath.Separator)) {
			t.Fatalf("fixture entry %q leaves the directory", h.Name)
		}
		if h.Typeflag == tar.TypeDir {
			os.MkdirAll(p, 0o700)
			continue
		}
		os.MkdirAll(filepath.Dir(p), 0o700)
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	var meta struct{ Batches []DemoBatch }
	b, err := os.ReadFile(filepath.Join("testdata", "legacy-store.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &meta); err != nil || len(meta.Batches) == 0 {
		t.Fatalf("legacy fixture: %v", err)
	}
	return dir, meta.Batches
}

// TestLegacyHistoriesKeepVerifying opens a store written before lots had
// signed facts. Its histories still verify everywhere; the product and
// cooperative get their first signed record on the first start, and what
// no signature covers — the old lot's quantity, date, plot — is listed as
// unsigned by every verifier and said plainly on the page.
func TestLegacyHistoriesKeepVerifying(t *testing.T) {
	dir, lots := unpackLegacyStore(t)
	m := startMainAt(t, dir, false)
	base := "http://" + m.Addr()
	b := lots[0]
	code, raw, vf := getHistory(t, base+b.URL)
	if code != 200 {
		t.Fatalf("legacy history: %d %v %s", code, vf, raw)
	}
	var h api.History
	json.Unmarshal(raw, &h)
	if !h.Verified || len(h.Events) != b.Events || h.ProductRecord == nil || h.CooperativeRecord == nil {
		t.Fatalf("legacy history: verified %v, %d events, records %v %v", h.Verified, len(h.Events), h.ProductRecord != nil, h.CooperativeRecord != nil)
	}
	for _, f := range []string{"batch.lot", "batch.quantity", "batch.harvest_date", "batch.plot"} {
		if !slices.Contains(h.Unsigned, f) {
			t.Errorf("unsigned %v lacks %s", h.Unsigned, f)
		}
	}
	if slices.ContainsFunc(h.Unsigned, func(f string) bool { return strings.HasPrefix(f, "product.") || strings.HasPrefix(f, "cooperative.") }) {
		t.Errorf("the product and cooperative were signed on the first start, but %v", h.Unsigned)
	}
	status, body := postJSON(t, base+"/api/v1/verify", h)
	if status != 200 || !strings.Contains(string(body), "batch.quantity") {
		t.Errorf("POST /api/v1/verify: %d %s", status, body)
	}
	keys, err := run("keys", "--server", base)
	if err != nil {
		t.Fatal(err)
	}
	trust := filepath.Join(t.TempDir(), "trust")
	os.WriteFile(trust, []byte(keys), 0o600)
	out, err := run("verify", "--trust", trust, base+b.URL)
	if err != nil || !strings.Contains(out, "khối lượng") {
		t.Errorf("truyxuat verify: %v\n%s", err, out)
	}

	// An edited quantity of an old lot is not caught by a signature (none
	// covers it), so it must never be shown as the cooperative's word.
	ctx := newBrowserIfAvailable(t)
	if ctx == nil {
		return
	}
	if got := verification(t, ctx, base+b.URL+"?lang=vi"); got != "verified" {
		t.Fatalf("legacy page: %q", got)
	}
	note := pageText(t, ctx, `(document.getElementById("unsigned")||{}).innerText||""`)
	for _, want := range []string{"chưa có chữ ký", "khối lượng", "ngày thu hoạch", "vùng trồng"} {
		if !strings.Contains(note, want) {
			t.Errorf("the page's note on unsigned facts %q lacks %q", note, want)
		}
	}
	if marked := pageText(t, ctx, `String(document.querySelectorAll('[data-signed="false"]').length)`); marked == "0" {
		t.Error("no fact is marked unsigned")
	}
	screenshot(t, ctx, "consumer-legacy-vi")
}
