package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// Browser tests drive Debian's chromium, headless, at a phone's size
// (390×844), against the real program. Without chromium they skip, except
// in CI (CI=true), where they fail.

func needTool(t testing.TB, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s is not installed; skipping (Debian: apt-get install %s)", name, name)
	}
	return p
}

// newBrowserIfAvailable is newBrowser for a test whose other checks run
// without a browser: nil, with a note, when chromium is missing outside CI.
func newBrowserIfAvailable(t *testing.T) context.Context {
	t.Helper()
	if _, err := exec.LookPath("chromium"); err != nil && os.Getenv("CI") != "true" {
		t.Logf("chromium is not installed; the page's part of this test is skipped (Debian: apt-get install chromium)")
		return nil
	}
	return newBrowser(t)
}

// testOut is the folder test screenshots go to: $TRUYXUAT_TESTOUT, or
// testout/ at the repository root.
func testOut(t testing.TB, sub string) string {
	t.Helper()
	dir := os.Getenv("TRUYXUAT_TESTOUT")
	if dir == "" {
		dir = filepath.Join("..", "..", "testout")
	}
	dir = filepath.Join(dir, sub)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

// newBrowser starts headless chromium and returns a tab context.
func newBrowser(t testing.TB) context.Context {
	t.Helper()
	path := needTool(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 90*time.Second)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// verification opens url and waits until the page's own check has
// finished, returning the final data-verification value.
func verification(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	if err := chromedp.Do(ctx, chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	return pollVerification(t, ctx, url)
}

// pollVerification waits for the current page's own check to finish.
func pollVerification(t *testing.T, ctx context.Context, url string) string {
	t.Helper()
	state, err := chromedp.Run(ctx, chromedp.Poll[string](
		`document.documentElement.dataset.verification !== "pending" && document.documentElement.dataset.verification`,
		chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		detail, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`document.body.innerText`))
		t.Fatalf("%s never finished verifying: %v\n%s", url, err, detail)
	}
	return state
}

func screenshot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	path := filepath.Join(testOut(t, "screenshots"), name+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot: %s", path)
}

func pageText(t *testing.T, ctx context.Context, js string) string {
	t.Helper()
	s, err := chromedp.Run(ctx, chromedp.Evaluate[string](js))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestBrowserVerifiesDemoBatch(t *testing.T) {
	needTool(t, "chromium")
	m, stdout := startMain(t, true)
	ctx := newBrowser(t) // closed before the server stops
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	base := "http://" + m.Addr()
	url := base + demo.Batches[0].URL

	if got := verification(t, ctx, url+"?lang=vi"); got != "verified" {
		t.Fatalf("demo batch: data-verification=%q\n%s", got, pageText(t, ctx, "document.body.innerText"))
	}
	if s := pageText(t, ctx, `document.getElementById("v-state").textContent`); s != "Đã xác minh" {
		t.Errorf("badge %q", s)
	}
	screenshot(t, ctx, "consumer-verified-vi")

	// Simplified Chinese, for the main export market.
	if got := verification(t, ctx, url+"?lang=zh"); got != "verified" {
		t.Fatalf("Chinese page: %q", got)
	}
	if s := pageText(t, ctx, `document.getElementById("v-state").textContent`); s != "已核验" || pageText(t, ctx, "document.documentElement.lang") != "zh" {
		t.Errorf("Chinese badge %q", s)
	}
	screenshot(t, ctx, "consumer-verified-zh")

	// The English switch on the page, remembered for the next scan.
	if _, err := chromedp.Run(ctx, chromedp.WaitEvent(page.LoadEventFired, nil,
		chromedp.Click(chromedp.CSS(`a.lang[hreflang="en"]`)))); err != nil {
		t.Fatalf("click the English switch: %v", err)
	}
	if got := pollVerification(t, ctx, url); got != "verified" {
		t.Fatalf("after the switch: %q", got)
	}
	if lang := pageText(t, ctx, "document.documentElement.lang"); lang != "en" {
		t.Errorf("after the English switch, lang=%q", lang)
	}
	// The choice is remembered: a new scan of the label is in English.
	if got := verification(t, ctx, url); got != "verified" {
		t.Fatalf("next scan: %q", got)
	}
	if lang := pageText(t, ctx, "document.documentElement.lang"); lang != "en" {
		t.Errorf("after the English switch and a new scan, lang=%q", lang)
	}
	if s := pageText(t, ctx, `document.getElementById("v-state").textContent`); s != "Verified" {
		t.Errorf("English badge %q", s)
	}
	screenshot(t, ctx, "consumer-verified-en")

	// A recall shows a red banner above everything else.
	key := demo.Cooperatives[0].APIKey
	body, _ := json.Marshal(map[string]any{"biz_step": "inspecting", "disposition": "recalled",
		"note": "Phát hiện dư lượng thuốc bảo vệ thực vật vượt mức cho phép"})
	req, _ := http.NewRequest("POST", base+"/api/v1/batches/"+demo.Batches[1].ID+"/events", bytes.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	res, err := http.DefaultClient.Do(req)
	if err != nil || res.StatusCode != 201 {
		t.Fatalf("recall: %v %v", res, err)
	}
	res.Body.Close()
	if got := verification(t, ctx, base+demo.Batches[1].URL+"?lang=vi"); got != "verified" {
		t.Fatalf("recalled batch: %q", got)
	}
	banner := pageText(t, ctx, `(document.querySelector(".recall")||{}).innerText||""`)
	if !strings.Contains(banner, "THU HỒI") {
		t.Errorf("recall banner %q", banner)
	}
	screenshot(t, ctx, "consumer-recalled")
}

func TestBrowserRejectsTamperedHistory(t *testing.T) {
	needTool(t, "chromium")
	dir := t.TempDir()
	var out bytes.Buffer
	root := newRootCmd(&out, io.Discard)
	root.SetArgs([]string{"demo", "--data", dir})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	var demo DemoOutput
	json.Unmarshal(out.Bytes(), &demo)
	b := demo.Batches[0]
	// Someone with the disk changes a recorded quantity (the harvest's)
	// without the key.
	seq := harvestSeq(t, dir, b.ID)
	err := store.AlterEvent(filepath.Join(dir, "truyxuat.db"), b.ID, seq, func(body []byte) []byte {
		edited := bytes.Replace(body, []byte(`"value":"6200"`), []byte(`"value":"9200"`), 1)
		if bytes.Equal(edited, body) {
			t.Fatalf("event %d holds no 6200 kg", seq)
		}
		return edited
	})
	if err != nil {
		t.Fatal(err)
	}
	m := startMainAt(t, dir, false)
	ctx := newBrowser(t)
	if got := verification(t, ctx, "http://"+m.Addr()+b.URL); got != "failed" {
		t.Fatalf("tampered batch: data-verification=%q", got)
	}
	screenshot(t, ctx, "consumer-tampered")
}

// TestBrowserCatchesLyingServer puts a proxy that rewrites the history in
// transit between the browser and the server: the browser must not be
// fooled by what the server says about itself.
func TestBrowserCatchesLyingServer(t *testing.T) {
	needTool(t, "chromium")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	json.Unmarshal(stdout.Bytes(), &demo)
	ctx := newBrowser(t)
	// The readable note of an event, and the facts at the top of the page
	// and in the history's JSON: the browser compares what it shows with
	// the signed bytes, not with what the server says beside them.
	for _, rewrite := range [][]string{
		{"Thu hoạch bằng máy", "Thu hoạch bằng tay"},
		{"Gạo ST25 Hòa Tú", "Gạo ST25 (giả mạo)"},
		{`data-value="6200"`, `data-value="99999"`, "6.200 kg", "99.999 kg", `"value":"6200"`, `"value":"99999"`},
		{"12/08/2025", "01/01/2020", "2025-08-12", "2020-01-01"},
		{"Hợp tác xã Nông nghiệp Hòa Tú", "HTX Giả"},
		{"Ruộng số 7, ấp Hòa Tú", "Ruộng mượn"},
		{"VG-ST-0451", "VG-9999"},
	} {
		proxy := startRewritingProxy(t, "http://"+m.Addr(), rewrite...)
		if got := verification(t, ctx, proxy+demo.Batches[0].URL+"?lang=vi"); got != "failed" {
			t.Errorf("history rewritten %q: data-verification=%q", rewrite, got)
		}
	}
}

// startRewritingProxy serves target through a proxy that replaces from
// with to in every response body, as a compromised server or a network in
// the middle could.
func startRewritingProxy(t *testing.T, target string, fromTo ...string) string {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil {
		t.Fatal(err)
	}
	rp := httputil.NewSingleHostReverseProxy(u)
	director := rp.Director
	rp.Director = func(r *http.Request) {
		director(r)
		r.Header.Del("Accept-Encoding") // read bodies uncompressed
	}
	rp.ModifyResponse = func(res *http.Response) error {
		b, err := io.ReadAll(res.Body)
		res.Body.Close()
		if err != nil {
			return err
		}
		for i := 0; i+1 < len(fromTo); i += 2 {
			b = bytes.ReplaceAll(b, []byte(fromTo[i]), []byte(fromTo[i+1]))
		}
		res.Body = io.NopCloser(bytes.NewReader(b))
		res.ContentLength = int64(len(b))
		res.Header.Set("Content-Length", strconv.Itoa(len(b)))
		return nil
	}
	srv := httptest.NewServer(rp)
	t.Cleanup(srv.Close)
	return srv.URL
}

// TestScanLabelToVerifiedPage goes the whole way a shopper does: the
// cooperative prints a label, a phone's decoder reads it, the browser opens
// the link and checks the history itself.
func TestScanLabelToVerifiedPage(t *testing.T) {
	zbar := needTool(t, "zbarimg")
	needTool(t, "chromium")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	png := filepath.Join(t.TempDir(), "label.png")
	root := newRootCmd(io.Discard, io.Discard)
	root.SetArgs([]string{"label", "--server", "http://" + m.Addr(), "--batch", demo.Batches[0].ID, "--format", "png", "-o", png})
	if err := root.Execute(); err != nil {
		t.Fatalf("truyxuat label: %v", err)
	}
	out, err := exec.Command(zbar, "--raw", "-q", png).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	link := strings.TrimSpace(string(out))
	if !strings.HasPrefix(link, "http://"+m.Addr()+demo.Batches[0].URL+"?7007=") {
		t.Fatalf("the label holds %q", link)
	}
	ctx := newBrowser(t)
	if got := verification(t, ctx, link); got != "verified" {
		t.Fatalf("scanned label: data-verification=%q", got)
	}
	screenshot(t, ctx, "scanned-label")
}

// TestLabelCommandPDF prints an A4 sheet with the command and reads every
// label back as a phone would.
func TestLabelCommandPDF(t *testing.T) {
	zbar := needTool(t, "zbarimg")
	pdftoppm := needTool(t, "pdftoppm")
	pdftotext := needTool(t, "pdftotext")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	json.Unmarshal(stdout.Bytes(), &demo)
	dir := t.TempDir()
	pdf := filepath.Join(dir, "labels.pdf")
	root := newRootCmd(io.Discard, io.Discard)
	root.SetArgs([]string{"label", "--server", "http://" + m.Addr(), "--batch", demo.Batches[0].ID,
		"--format", "pdf", "--layout", "a4-3x8", "--count", "24", "--serials", "-o", pdf})
	if err := root.Execute(); err != nil {
		t.Fatalf("truyxuat label: %v", err)
	}
	text, err := exec.Command(pdftotext, pdf, "-").Output()
	if err != nil || strings.Count(string(text), "Gạo ST25 Hòa Tú") != 24 || !strings.Contains(string(text), "Quét mã để truy xuất") {
		t.Fatalf("pdftotext: %v\n%.400s", err, text)
	}
	if err := exec.Command(pdftoppm, "-r", "200", "-png", pdf, filepath.Join(dir, "page")).Run(); err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	out, _ := exec.Command(zbar, append([]string{"--raw", "-q"}, pages...)...).Output()
	links := strings.Fields(string(out))
	seen := map[string]bool{}
	for _, l := range links {
		if !strings.Contains(l, "/21/") || !strings.Contains(l, demo.Batches[0].URL) {
			t.Errorf("label link %q", l)
		}
		seen[l] = true
	}
	// A dense page can hide a few codes from a whole-page scan; most must read.
	if len(seen) < 20 {
		t.Errorf("read %d distinct serial links from one sheet of 24", len(seen))
	}
	// A bad layout says what to change.
	root = newRootCmd(io.Discard, io.Discard)
	root.SetArgs([]string{"label", "--server", "http://" + m.Addr(), "--batch", demo.Batches[0].ID, "--format", "pdf", "--layout", "a4-9x9", "-o", pdf})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "a4-3x8") {
		t.Errorf("unknown layout: %v", err)
	}
}

// harvestSeq finds the harvest (commissioning) event of a batch in a
// closed data directory.
func harvestSeq(t *testing.T, dir, batchID string) uint64 {
	t.Helper()
	db, err := store.Open(filepath.Join(dir, "truyxuat.db"), store.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	hist, err := db.History(batchID)
	if err != nil {
		t.Fatal(err)
	}
	for _, st := range hist {
		if st.Event.BizStep == "commissioning" {
			return st.Event.Seq
		}
	}
	t.Fatalf("batch %s has no harvest", batchID)
	return 0
}

// TestBrowserPageTellsBadNews: the shopper's page keeps the two statements
// apart — the signatures are genuine, the records show a problem — and
// states the problem above the story; a corrected step is shown as
// corrected, with when and why, and a page that hides the correction
// fails; a milled lot links the lots it was made from.
func TestBrowserPageTellsBadNews(t *testing.T) {
	needTool(t, "chromium")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	json.Unmarshal(stdout.Bytes(), &demo)
	base := "http://" + m.Addr()
	ctx := newBrowser(t)

	// A lot harvested inside a spraying's pre-harvest interval.
	var phi DemoBatch
	for _, b := range demo.Batches {
		if b.Problem == trace.FindingPreHarvestInterval {
			phi = b
		}
	}
	if phi.ID == "" {
		t.Fatal("the demo plants no pre-harvest interval")
	}
	if got := verification(t, ctx, base+phi.URL+"?lang=vi"); got != "verified" {
		t.Fatalf("the lot's signatures: %q", got)
	}
	records := pageText(t, ctx, `document.getElementById("records").innerText`)
	if !strings.Contains(records, "cần lưu ý") || !strings.Contains(records, "thời gian cách ly") ||
		pageText(t, ctx, `document.getElementById("records").className`) != "records bad" {
		t.Errorf("records box %q", records)
	}
	order := pageText(t, ctx, `String(document.getElementById("records").compareDocumentPosition(document.querySelector(".story")) & Node.DOCUMENT_POSITION_FOLLOWING)`)
	if order == "0" {
		t.Error("the problem is not stated above the story")
	}
	screenshot(t, ctx, "consumer-records-problem")

	// A correction of the first lot's sowing, recorded through the API.
	b := demo.Batches[0]
	var h api.History
	if code := call(t, "GET", base+"/api/v1/batches/"+b.ID, "", nil, &h); code != 200 {
		t.Fatal(code)
	}
	sow := h.Events[1]
	fixed := map[string]any{"biz_step": sow.BizStep, "event_time": sow.EventTime, "note": sow.Note,
		"data": map[string]string{"seed_rate_kg_ha": "85", "seed_variety": "ST25",
			trace.DataCorrects: sow.Hash, trace.DataCorrectionReason: "Cân lại lượng giống", trace.DataCorrectedAt: "2025-05-06T07:00:00+07:00"}}
	if code := call(t, "POST", base+"/api/v1/batches/"+b.ID+"/events", demo.Cooperatives[0].APIKey, fixed, nil); code != 201 {
		t.Fatalf("correction: %d", code)
	}
	if got := verification(t, ctx, base+b.URL+"?lang=vi"); got != "verified" {
		t.Fatalf("a corrected lot: %q", got)
	}
	first := pageText(t, ctx, `document.querySelectorAll(".timeline > li")[1].innerText`)
	if !strings.Contains(first, "85") || strings.Contains(first, ": 80") || !strings.Contains(first, "Đã sửa") {
		t.Errorf("the corrected sowing shows %q", first)
	}
	screenshot(t, ctx, "consumer-corrected")
	proxy := startRewritingProxy(t, base, `<details class="corrections">`, `<details class="corrections" hidden><!--`, `</ul>
</details>`, `</ul>--></details>`)
	if got := verification(t, ctx, proxy+b.URL+"?lang=vi"); got != "failed" {
		t.Errorf("a page hiding the correction: %q", got)
	}

	// The milled lot links its input lots.
	for _, mb := range demo.Batches {
		if mb.Lot != "ST25-XAY-2508" {
			continue
		}
		if got := verification(t, ctx, base+mb.URL+"?lang=vi"); got != "verified" {
			t.Fatalf("milled lot: %q", got)
		}
		if n := pageText(t, ctx, `String(document.querySelectorAll(".input-lots a").length)`); n != "2" {
			t.Errorf("the milled lot links %s input lots", n)
		}
		screenshot(t, ctx, "consumer-milled")
	}
}
