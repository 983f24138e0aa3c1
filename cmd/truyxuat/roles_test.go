package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/trace"
)

// TestDemoProblemsAndRoles runs the real program with the demo and checks
// what the demo plants and what inspectors, per-person keys and
// self-signed events do, through the commands a user types.
func TestDemoProblemsAndRoles(t *testing.T) {
	cfg := testConfig(t.TempDir())
	m, demo := startServer(t, cfg, true)
	base := "http://" + m.Addr()
	if len(demo.Inspectors) != 1 || !strings.HasPrefix(demo.Inspectors[0].APIKey, "txk_") || demo.Inspectors[0].Name == "" {
		t.Fatalf("demo inspectors: %+v", demo.Inspectors)
	}
	inspectorKey := demo.Inspectors[0].APIKey
	riceKey := demo.Cooperatives[0].APIKey
	byLot := map[string]DemoBatch{}
	for _, b := range demo.Batches {
		byLot[b.Lot] = b
	}

	t.Run("each planted problem is found where it was planted", func(t *testing.T) {
		var ans findingsAnswer
		if code := call(t, "GET", base+"/api/v1/inspections/findings", inspectorKey, nil, &ans); code != 200 {
			t.Fatalf("findings: %d", code)
		}
		if ans.CheckedBatches != len(demo.Batches) {
			t.Errorf("checked %d batches, the demo has %d", ans.CheckedBatches, len(demo.Batches))
		}
		found := map[string]map[string]bool{}
		for _, f := range ans.Findings {
			if f.Kind == trace.FindingVerification || f.Kind == trace.FindingFutureEvent {
				t.Errorf("unexpected finding: %+v", f)
			}
			for _, b := range f.Batches {
				if found[b] == nil {
					found[b] = map[string]bool{}
				}
				found[b][f.Kind] = true
			}
		}
		planted := map[string]bool{}
		for _, b := range demo.Batches {
			if b.Problem == "" {
				continue
			}
			planted[b.Problem] = true
			if !found[b.ID][b.Problem] {
				t.Errorf("batch %s: %s planted but not found (found %v)", b.Lot, b.Problem, found[b.ID])
			}
		}
		for _, k := range []string{trace.FindingPreHarvestInterval, trace.FindingOutOfOrder, trace.FindingUnbalanced, trace.FindingCopiedValues, trace.FindingCertificateInvalid} {
			if !planted[k] {
				t.Errorf("the demo plants no %s", k)
			}
		}
		if b0 := demo.Batches[0]; len(found[b0.ID]) != 0 || b0.Problem != "" {
			t.Errorf("demo batch 0 has findings %v", found[b0.ID])
		}
		var one findingsAnswer
		call(t, "GET", base+"/api/v1/inspections/findings?batch="+demo.Batches[0].ID, inspectorKey, nil, &one)
		if one.CheckedBatches != 1 || len(one.Findings) != 0 {
			t.Errorf("batch 0 alone: %+v", one)
		}
	})

	t.Run("inspection and milled lot", func(t *testing.T) {
		// Batch 1 carries the inspector's signed sampling; it verifies with
		// the command-line verifier, which takes the inspector's key from
		// the history.
		var h api.History
		if code := call(t, "GET", base+demo.Batches[1].URL, "", nil, &h); code != 200 || !h.Verified {
			t.Fatalf("batch 1: %d", code)
		}
		last := h.Events[len(h.Events)-1]
		if len(h.Inspectors) != 1 || h.Inspectors[0].ID != demo.Inspectors[0].ID || last.Signer != h.Inspectors[0].PublicKeys[0] || last.BizStep != "sampling" {
			t.Fatalf("batch 1's inspection: %+v, last event %s by %s", h.Inspectors, last.BizStep, last.Signer)
		}
		out, err := run("history", "--server", base, demo.Batches[1].ID)
		if err != nil || !strings.Contains(out, "HỢP LỆ") {
			t.Errorf("truyxuat history: %v\n%s", err, out)
		}
		milled, ok := byLot["ST25-XAY-2508"]
		if !ok || milled.Events != 2 { // its facts and the milling
			t.Fatalf("no milled lot in the demo: %+v", demo.Batches)
		}
		var lin struct {
			Upstream []struct{ ID string } `json:"upstream"`
		}
		if code := call(t, "GET", base+"/api/v1/batches/"+milled.ID+"/lineage", "", nil, &lin); code != 200 || len(lin.Upstream) != 2 ||
			lin.Upstream[0].ID != demo.Batches[0].ID && lin.Upstream[1].ID != demo.Batches[0].ID {
			t.Errorf("lineage of the milled lot: %d %+v", code, lin)
		}
	})

	t.Run("inspect", func(t *testing.T) {
		out, err := run("inspect", "--server", base, "--key", inspectorKey)
		if err == nil {
			t.Errorf("inspect over the demo's problems exits 0\n%s", out)
		}
		for _, w := range []string{"Thu hoạch trong thời gian cách ly", "TIEU-2604-02", "thời gian cách ly 7 ngày", "Sự kiện ghi sai thứ tự",
			"Thu hoạch ghi 4.800 kg nhưng lô chỉ đăng ký 4.000 kg", "Cùng một giá trị", "4 lô cùng ghi thời gian cách ly 7 ngày", "KHÔNG ĐẠT"} {
			if !strings.Contains(out, w) {
				t.Errorf("report lacks %q:\n%s", w, out)
			}
		}
		out, err = run("inspect", "--server", base, "--key", inspectorKey, "--batch", demo.Batches[0].ID)
		if err != nil || !strings.Contains(out, "1 lô, 0 phát hiện") || !strings.Contains(out, "ĐẠT: không có phát hiện mức cao") {
			t.Errorf("inspect batch 0: %v\n%s", err, out)
		}
		out, err = run("inspect", "--server", base, "--key", inspectorKey, "--cooperative", "htx-ea-tu", "--lang", "en")
		if err == nil || !strings.Contains(out, "Harvest inside a pesticide's pre-harvest interval") || !strings.Contains(out, "FAIL: 1 high-severity") {
			t.Errorf("inspect --lang en: %v\n%s", err, out)
		}
		if _, err := run("inspect", "--server", base, "--key", riceKey, "--cooperative", "htx-ea-tu"); err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("a cooperative inspecting another: %v", err)
		}
	})

	t.Run("keys create, list, revoke", func(t *testing.T) {
		out, err := run("keys", "create", "--server", base, "--key", riceKey, "Nguyễn Văn An, thủ kho")
		if err != nil {
			t.Fatal(err)
		}
		var k api.CreateAPIKeyResponse
		if err := json.Unmarshal([]byte(out), &k); err != nil || k.Role != "cooperative" || k.CooperativeID != "htx-hoa-tu" || !strings.HasPrefix(k.Secret, "txk_") {
			t.Fatalf("keys create: %v %s", err, out)
		}
		if _, err := run("keys", "create", "--server", base, "--key", riceKey, "x", "--role", "admin"); err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("a cooperative making an admin key: %v", err)
		}
		out, err = run("keys", "list", "--server", base, "--key", riceKey)
		if err != nil || !strings.Contains(out, k.ID) || !strings.Contains(out, "Nguyễn Văn An") || strings.Contains(out, "txk_") {
			t.Errorf("keys list: %v\n%s", err, out)
		}
		appendEvent(t, base, k.Secret, demo.Batches[2].ID, "storing")
		out, err = run("keys", "revoke", "--server", base, "--key", riceKey, k.ID)
		if err != nil || !strings.Contains(out, "revoked "+k.ID) {
			t.Errorf("keys revoke: %v %s", err, out)
		}
		if code := call(t, "POST", base+"/api/v1/batches/"+demo.Batches[2].ID+"/events", k.Secret, map[string]any{"biz_step": "storing"}, nil); code != 401 {
			t.Errorf("a revoked key wrote: %d", code)
		}
		// Without a subcommand, keys still prints the log's trust file.
		if out, err := run("keys", "--server", base); err != nil || !strings.Contains(out, "log ") {
			t.Errorf("keys: %v\n%s", err, out)
		}
	})

	t.Run("event keygen, sign, submit", func(t *testing.T) {
		dir := t.TempDir()
		seed := filepath.Join(dir, "hoa-tu.seed")
		pub, err := run("event", "keygen", "-o", seed)
		if err != nil {
			t.Fatal(err)
		}
		pub = strings.TrimSpace(pub)
		if fi, err := os.Stat(seed); err != nil || fi.Mode().Perm() != 0o600 {
			t.Fatalf("seed file: %v %v", fi, err)
		}
		if _, err := run("event", "keygen", "-o", seed); err == nil {
			t.Error("keygen overwrote a seed file")
		}
		if code := call(t, "POST", base+"/api/v1/cooperatives/htx-hoa-tu/public-keys", riceKey, map[string]string{"public_key": pub}, nil); code != 201 {
			t.Fatalf("register key: %d", code)
		}
		batch := demo.Batches[2]
		evFile := filepath.Join(dir, "event.json")
		os.WriteFile(evFile, []byte(`{"biz_step":"storing","note":"Nhập kho, ký bằng khóa riêng của hợp tác xã"}`), 0o600)

		// Signed with the head read from the server, then submitted.
		signed, err := run("event", "sign", "--seed-file", seed, "--batch", batch.ID, "--file", evFile, "--server", base)
		if err != nil {
			t.Fatal(err)
		}
		signedFile := filepath.Join(dir, "signed.json")
		os.WriteFile(signedFile, []byte(signed), 0o600)
		out, err := run("event", "submit", signedFile, "--server", base, "--key", riceKey)
		if err != nil || !strings.Contains(out, pub) {
			t.Fatalf("submit: %v\n%s", err, out)
		}
		// The same signature again is stale.
		if _, err := run("event", "submit", signedFile, "--server", base, "--key", riceKey); err == nil || !strings.Contains(err.Error(), "409") || !strings.Contains(err.Error(), "sign again") {
			t.Errorf("stale submit: %v", err)
		}
		// Signed offline, with the head given by hand.
		var h api.History
		call(t, "GET", base+"/api/v1/batches/"+batch.ID, "", nil, &h)
		signed, err = run("event", "sign", "--seed-file", seed, "--batch", batch.ID, "--file", evFile,
			"--cooperative", "htx-hoa-tu", "--seq", strconv.FormatUint(h.Batch.Events, 10), "--prev", h.Batch.Head)
		if err != nil {
			t.Fatal(err)
		}
		os.WriteFile(signedFile, []byte(signed), 0o600)
		if _, err := run("event", "submit", signedFile, "--server", base, "--key", riceKey); err != nil {
			t.Fatalf("offline-signed submit: %v", err)
		}
		if _, err := run("event", "sign", "--seed-file", seed, "--batch", batch.ID, "--file", evFile, "--cooperative", "htx-hoa-tu", "--seq", "3"); err == nil {
			t.Error("offline sign of event 3 without --prev")
		}
		// A key that was never registered is refused.
		other := filepath.Join(dir, "other.seed")
		run("event", "keygen", "-o", other)
		signed, _ = run("event", "sign", "--seed-file", other, "--batch", batch.ID, "--file", evFile, "--server", base)
		os.WriteFile(signedFile, []byte(signed), 0o600)
		if _, err := run("event", "submit", signedFile, "--server", base, "--key", riceKey); err == nil || !strings.Contains(err.Error(), "403") {
			t.Errorf("unregistered key: %v", err)
		}
		out, err = run("history", "--server", base, batch.ID)
		if err != nil || !strings.Contains(out, "HỢP LỆ") {
			t.Errorf("history with self-signed events: %v\n%s", err, out)
		}
	})
}
