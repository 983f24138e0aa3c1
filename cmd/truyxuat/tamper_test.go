package main

import (
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
)

// copyDir copies a data directory (the bbolt file and its key files).
func copyDir(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(from, p)
		if d.IsDir() {
			return os.MkdirAll(filepath.Join(to, rel), 0o700)
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), b, 0o600)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// getHistory fetches a lot's history as JSON and returns the status, the
// body, and the problem's verification failure if it is one.
func getHistory(t *testing.T, url string) (int, []byte, *api.VerifyFailure) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	req.Header.Set("Accept", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	var p api.Problem
	json.Unmarshal(body, &p)
	return res.StatusCode, body, p.Verification
}

// TestEditedRecordsAreCaught edits, in a copy of the store with the server
// stopped, each field of the product, lot and cooperative records that a
// shopper or an inspector reads as the cooperative's word. The server's own
// check, `truyxuat verify`, POST /api/v1/verify (given a history edited the
// same way) and the shopper's browser must all refuse it, the verifiers
// naming the field.
func TestEditedRecordsAreCaught(t *testing.T) {
	pristine := t.TempDir()
	out, err := run("demo", "--data", pristine)
	if err != nil {
		t.Fatal(err)
	}
	var demo DemoOutput
	json.Unmarshal([]byte(out), &demo)
	b := demo.Batches[0]

	// The history as the untouched store serves it, and the log's keys.
	clean := t.TempDir()
	copyDir(t, pristine, clean)
	m := startMainAt(t, clean, false)
	base := "http://" + m.Addr()
	code, raw, _ := getHistory(t, base+b.URL)
	if code != 200 {
		t.Fatalf("clean history: %d %s", code, raw)
	}
	var h api.History
	json.Unmarshal(raw, &h)
	if len(h.Unsigned) != 0 || h.ProductRecord == nil || h.CooperativeRecord == nil {
		t.Fatalf("a new lot has unsigned facts %v", h.Unsigned)
	}
	trust := filepath.Join(t.TempDir(), "trust")
	keys, err := run("keys", "--server", base)
	if err != nil {
		t.Fatal(err)
	}
	os.WriteFile(trust, []byte(keys), 0o600)
	if out, err := run("verify", "--trust", trust, base+b.URL); err != nil {
		t.Fatalf("clean lot: %v\n%s", err, out)
	}

	ctx := newBrowserIfAvailable(t)
	cases := []struct {
		kind, field string
		id          string
		shown       string               // the edited value as a page would show it, if it is text
		store       func(map[string]any) // the edit of the stored working copy
		history     func(h *api.History) // the same edit of a served history
	}{
		{"product", "name_vi", h.Product.ID, "Gạo ST25 (giả mạo)",
			func(m map[string]any) { m["name_vi"] = "Gạo ST25 (giả mạo)" }, func(h *api.History) { h.Product.NameVI = "Gạo ST25 (giả mạo)" }},
		{"product", "name_en", h.Product.ID, "",
			func(m map[string]any) { m["name_en"] = "Counterfeit rice" }, func(h *api.History) { h.Product.NameEN = "Counterfeit rice" }},
		{"product", "category", h.Product.ID, "",
			func(m map[string]any) { m["category"] = "Khác" }, func(h *api.History) { h.Product.Category = "Khác" }},
		{"product", "ocop_stars", h.Product.ID, "",
			func(m map[string]any) { m["ocop_stars"] = 5 }, func(h *api.History) { h.Product.OCOPStars = 5 }},
		{"product", "gtin", h.Product.ID, "",
			func(m map[string]any) { m["gtin"] = "08936040009996" }, func(h *api.History) { h.Product.GTIN = "08936040009996" }},
		{"batch", "quantity", b.ID, "99.999 kg",
			func(m map[string]any) { m["quantity"].(map[string]any)["value"] = "99999" }, func(h *api.History) { h.Batch.Quantity.Value = "99999" }},
		{"batch", "harvest_date", b.ID, "01/01/2020",
			func(m map[string]any) { m["harvest_date"] = "2020-01-01" }, func(h *api.History) { h.Batch.HarvestDate = "2020-01-01" }},
		{"batch", "plot", b.ID, "Ruộng mượn",
			func(m map[string]any) { m["plot"].(map[string]any)["name"] = "Ruộng mượn" }, func(h *api.History) { h.Batch.Plot.Name = "Ruộng mượn" }},
		{"batch", "certifications", b.ID, "",
			func(m map[string]any) { m["certifications"].([]any)[0].(map[string]any)["ID"] = "VG-9999" },
			func(h *api.History) { h.Batch.Certifications[0].ID = "VG-9999" }},
		{"cooperative", "name", h.Cooperative.ID, "HTX Giả",
			func(m map[string]any) { m["name"] = "HTX Giả" }, func(h *api.History) { h.Cooperative.Name = "HTX Giả" }},
		{"cooperative", "province", h.Cooperative.ID, "Hà Nội",
			func(m map[string]any) { m["province"] = "Hà Nội" }, func(h *api.History) { h.Cooperative.Province = "Hà Nội" }},
		{"cooperative", "gln", h.Cooperative.ID, "",
			func(m map[string]any) { m["gln"] = "8934567000009" }, func(h *api.History) { h.Cooperative.GLN = "8934567000009" }},
	}
	for _, tc := range cases {
		field := tc.kind + "." + tc.field
		t.Run(field, func(t *testing.T) {
			// The API verifier, given a served history edited the same way.
			var edited api.History
			json.Unmarshal(raw, &edited)
			tc.history(&edited)
			status, body := postJSON(t, base+"/api/v1/verify", edited)
			var p api.Problem
			json.Unmarshal(body, &p)
			if status != 422 || p.Verification == nil || p.Verification.Field != field {
				t.Errorf("POST /api/v1/verify: %d %s", status, body)
			}
			// The same edit on disk, server stopped.
			dir := t.TempDir()
			copyDir(t, pristine, dir)
			if err := store.AlterRecord(filepath.Join(dir, "truyxuat.db"), tc.kind, tc.id, tc.store); err != nil {
				t.Fatal(err)
			}
			m := startMainAt(t, dir, false)
			url := "http://" + m.Addr() + b.URL
			if code, body, vf := getHistory(t, url); code != 422 || vf == nil || vf.Field != field {
				t.Errorf("served history: %d %s", code, body)
			}
			if out, err := run("verify", "--trust", trust, url); err == nil || !strings.Contains(err.Error()+out, field) {
				t.Errorf("truyxuat verify: %v\n%s", err, out)
			}
			if ctx == nil {
				return
			}
			if got := verification(t, ctx, url); got == "verified" {
				t.Errorf("the page says verified")
			}
			if tc.shown != "" {
				if text := pageText(t, ctx, "document.body.innerText"); strings.Contains(text, tc.shown) {
					t.Errorf("the page shows the edited %s %q", field, tc.shown)
				}
			}
		})
	}
}

func postJSON(t *testing.T, url string, v any) (int, []byte) {
	t.Helper()
	b, _ := json.Marshal(v)
	req, _ := http.NewRequest("POST", url, strings.NewReader(string(b)))
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, _ := io.ReadAll(res.Body)
	return res.StatusCode, body
}
