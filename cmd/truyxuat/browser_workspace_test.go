package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// TestBrowserWorkspaceSeason drives the workspace as a clerk with a phone
// would through one batch's season: sign in, a batch from the rice
// template, sowing, spraying recorded while offline and sent when the
// connection returns (once), harvest with a photo from the file input, a
// 3×8 label sheet, and the shopper's page reached from the printed QR.
func TestBrowserWorkspaceSeason(t *testing.T) {
	needTool(t, "chromium")
	zbar := needTool(t, "zbarimg")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	var clerk DemoUser
	for _, u := range demo.Users {
		if u.Role == "cooperative" && u.Cooperative == demo.Cooperatives[0].ID {
			clerk = u
		}
	}
	if clerk.Username == "" {
		t.Fatalf("demo has no clerk for %s: %+v", demo.Cooperatives[0].ID, demo.Users)
	}
	ctx := newBrowser(t)
	base := "http://" + m.Addr()
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for _, a := range actions {
			if err := chromedp.Do(ctx, a); err != nil {
				t.Fatalf("%s: %v\n%s", what, err, pageText(t, ctx, "document.body ? document.body.innerText : ''"))
			}
		}
	}
	// await evaluates js that answers a promise of a string.
	await := func(js string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](js, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return v
	}
	// waitFor polls js until it is true, across page loads.
	waitFor := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		var last error
		for time.Now().Before(deadline) {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(() => { try { return !!("+js+"); } catch (e) { return false; } })()"))
			if err == nil && ok {
				return
			}
			last = err
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: not reached (%v)\n%s", what, last, pageText(t, ctx, "document.body ? document.body.innerText : ''"))
	}
	events := func(id string) []map[string]any {
		t.Helper()
		var h struct{ Events []map[string]any }
		if code := call(t, "GET", base+"/api/v1/batches/"+id, "", nil, &h); code != 200 {
			t.Fatalf("history of %s: %d", id, code)
		}
		return h.Events
	}

	// A wrong password: the error on the page.
	run("open sign-in", chromedp.Navigate(base+"/app/login?lang=vi"),
		chromedp.SendKeys(chromedp.CSS("#f-username"), clerk.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), "sai-mat-khau"),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
	waitFor("wrong password shown", `(document.getElementById("form-error")||{}).textContent === "Sai tên đăng nhập hoặc mật khẩu."`)
	screenshot(t, ctx, "app-login-wrong-password")

	run("sign in", // the page keeps the username, never the password
		chromedp.SendKeys(chromedp.CSS("#f-password"), clerk.Password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
	waitFor("batch list", `!!document.getElementById("batches")`)
	screenshot(t, ctx, "app-batches")

	// A form without its CSRF token is refused; another cooperative's
	// batch is not found.
	if s := await(`fetch("/app/batches/new", {method: "POST", body: new URLSearchParams({template: "rice"})}).then(r => String(r.status))`); s != "403" {
		t.Errorf("POST without CSRF token: %s", s)
	}
	var other string
	for _, b := range demo.Batches {
		if b.Cooperative != demo.Cooperatives[0].ID {
			other = b.ID
			break
		}
	}
	run("another's batch", chromedp.Navigate(base+"/app/batches/"+other))
	if s := pageText(t, ctx, "document.querySelector('h1').textContent"); s != "Không tìm thấy" {
		t.Errorf("another cooperative's batch: %q", s)
	}
	if s := await(`fetch(location.href).then(r => String(r.status))`); s != "404" {
		t.Errorf("another cooperative's batch status %s", s)
	}

	// A batch from the rice template, on one screen.
	run("new batch", chromedp.Navigate(base+"/app/batches/new"))
	// Products are listed by name, none chosen for the clerk.
	if _, err := chromedp.Run(ctx, chromedp.Evaluate[string](`(() => { const s = document.getElementById("f-product"); s.value = s.options[1].value; return s.value; })()`)); err != nil {
		t.Fatal(err)
	}
	run("fill new batch",
		chromedp.SetValue(chromedp.CSS("#f-template"), "rice"),
		chromedp.SendKeys(chromedp.CSS("#f-lot"), "ST25-WEB-01"),
		chromedp.SendKeys(chromedp.CSS("#f-quantity"), "3000"))
	screenshot(t, ctx, "app-new-batch")
	run("create", chromedp.Click(chromedp.CSS(`#new-batch button[type=submit]`)))
	waitFor("batch page", `!!document.getElementById("next-step")`)
	id := pageText(t, ctx, `location.pathname.split("/")[3]`)
	screenshot(t, ctx, "app-batch-created")

	// Sowing: everything prefilled, one tap.
	run("sowing", chromedp.Click(chromedp.CSS("#next-step")))
	waitFor("sowing form", `!!document.getElementById("f-v_seed_variety") && document.getElementById("f-v_seed_variety").value === "ST25"`)
	screenshot(t, ctx, "app-step-sowing")
	run("save sowing", chromedp.Click(chromedp.CSS(`#step-form button[type=submit]`)))
	waitFor("sowing recorded", `location.pathname === "/app/batches/`+id+`" && !!document.querySelector(".flash")`)

	// Spraying while the phone has no connection.
	run("spraying form", chromedp.Navigate(base+"/app/batches/"+id+"/step?step=spraying"))
	waitFor("spraying form", `!!document.getElementById("f-v_phi_days")`)
	run("fill spraying",
		chromedp.SetValue(chromedp.CSS("#f-v_product"), "Filia 525SE"),
		chromedp.SetValue(chromedp.CSS("#f-v_active_ingredient"), "Propiconazole + Tricyclazole"),
		chromedp.SetValue(chromedp.CSS("#f-v_dose"), "0,4 l/ha"),
		chromedp.SetValue(chromedp.CSS("#f-v_phi_days"), "14")) // filled in with the product already
	setOffline(t, ctx, true)
	waitFor("offline banner", `navigator.onLine === false && !document.getElementById("net").hidden`)
	run("save offline", chromedp.Click(chromedp.CSS(`#step-form button[type=submit]`)))
	waitFor("waiting to send", `!!document.querySelector('#queue [data-status="waiting"]') && document.getElementById("queue").textContent.includes("Đang chờ gửi")`)
	screenshot(t, ctx, "app-step-offline-waiting")
	if n := len(events(id)); n != 2 { // the lot's facts and the sowing
		t.Fatalf("while offline the server has %d events", n)
	}
	setOffline(t, ctx, false)
	waitFor("sent", `!!document.querySelector('#queue [data-status="sent"]')`)
	screenshot(t, ctx, "app-step-sent")
	// Reloading (and the page's periodic retry) sends nothing again.
	run("reload", chromedp.Navigate(base+"/app/batches/"+id))
	waitFor("batch page", `!!document.getElementById("history")`)
	time.Sleep(500 * time.Millisecond)
	evs := events(id)
	spraying := 0
	for _, ev := range evs {
		if strings.HasSuffix(ev["biz_step"].(string), "/spraying") {
			spraying++
			data, _ := ev["data"].(map[string]any)
			if data["device_time"] == nil || data["phi_days"] != "14" {
				t.Errorf("spraying sent from the device: %v", data)
			}
		}
	}
	if len(evs) != 3 || spraying != 1 {
		t.Fatalf("after reconnecting: %d events, %d sprayings", len(evs), spraying)
	}
	if !strings.Contains(pageText(t, ctx, `document.getElementById("history").innerText`), "Ghi trên máy lúc") {
		t.Error("the history does not show the device time")
	}

	// Harvest, with a photo from the camera input.
	photo := filepath.Join(t.TempDir(), "ruong.png")
	writeTestPNG(t, photo)
	run("harvest", chromedp.Navigate(base+"/app/batches/"+id+"/step"))
	waitFor("harvest form", `!!document.getElementById("f-quantity")`)
	run("photo", chromedp.SetUploadFiles(chromedp.CSS("#f-photo"), []string{photo}),
		chromedp.SetValue(chromedp.CSS("#f-quantity"), "2950"))
	// The spraying's 14 days have not passed: the harvest is confirmed
	// with a reason.
	waitFor("pre-harvest interval warning", `!document.getElementById("phi-warning").hidden`)
	run("confirm", chromedp.Click(chromedp.CSS("#f-phi_confirm")), chromedp.SendKeys(chromedp.CSS("#f-phi_reason"), "Lúa đổ sau mưa lớn"))
	screenshot(t, ctx, "app-step-harvest")
	run("save harvest", chromedp.Click(chromedp.CSS(`#step-form button[type=submit]`)))
	waitFor("harvest recorded", `location.pathname === "/app/batches/`+id+`" && !!document.querySelector("#history img.photo")`)
	screenshot(t, ctx, "app-batch-harvested")
	if evs := events(id); len(evs) != 4 || evs[3]["attachments"] == nil {
		t.Fatalf("harvest with photo: %d events %v", len(evs), evs[len(evs)-1]["attachments"])
	}

	// Labels: a 3×8 sheet downloads as a PDF; the preview's QR leads to
	// the shopper's page.
	run("labels", chromedp.Navigate(base+"/app/batches/"+id+"/labels"))
	waitFor("preview", `document.getElementById("qr-preview").complete && document.getElementById("qr-preview").naturalWidth > 0`)
	run("layout", chromedp.SetValue(chromedp.CSS("#f-format"), "pdf"), chromedp.SetValue(chromedp.CSS("#f-layout"), "a4-3x8"),
		chromedp.SetValue(chromedp.CSS("#f-count"), "24"))
	screenshot(t, ctx, "app-labels")
	pdf := await(`(async () => {
		const f = document.getElementById("labels-form");
		const r = await fetch(f.action + "?" + new URLSearchParams(new FormData(f)));
		const b = new Uint8Array(await r.arrayBuffer());
		return r.status + " " + r.headers.get("content-type") + " " + r.headers.get("content-disposition") + " " + String.fromCharCode(...b.slice(0, 5));
	})()`)
	if !strings.HasPrefix(pdf, "200 application/pdf attachment") || !strings.HasSuffix(pdf, "%PDF-") {
		t.Fatalf("label download: %s", pdf)
	}
	// The second language: Chinese shows the product's Chinese name from
	// its registry record in the preview.
	run("labels in Chinese", chromedp.Navigate(base+"/app/batches/"+id+"/labels?label_lang=zh"))
	waitFor("preview in Chinese", `document.getElementById("f-label_lang").value === "zh" && document.getElementById("qr-preview").complete && document.getElementById("qr-preview").naturalWidth > 0`)
	if zh := pageText(t, ctx, `(document.querySelector('.label-text span[lang="zh-Hans"]') || {}).textContent || ""`); !strings.Contains(zh, "米") {
		t.Errorf("the preview's Chinese name: %q", zh)
	}
	if s := pageText(t, ctx, `document.querySelector('label[for="f-label_lang"]').textContent + "|" + [...document.getElementById("f-label_lang").options].map(o => o.text).join("|")`); s != "Ngôn ngữ thứ hai|Tiếng Anh|Tiếng Trung" {
		t.Errorf("the language field: %q", s)
	}
	screenshot(t, ctx, "app-labels-zh")
	png64 := await(`(async () => {
		const r = await fetch(document.getElementById("qr-preview").src);
		const b = new Uint8Array(await r.arrayBuffer());
		let s = ""; for (const c of b) s += String.fromCharCode(c);
		return btoa(s);
	})()`)
	raw, err := base64.StdEncoding.DecodeString(png64)
	if err != nil {
		t.Fatal(err)
	}
	qr := filepath.Join(t.TempDir(), "qr.png")
	if err := os.WriteFile(qr, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(zbar, "--raw", "-q", qr).Output()
	if err != nil {
		t.Fatalf("zbarimg: %v", err)
	}
	link := strings.TrimSpace(string(out))
	if !strings.HasPrefix(link, base+"/01/") && !strings.HasPrefix(link, base+"/b/") {
		t.Fatalf("the label links to %q", link)
	}
	if got := verification(t, ctx, link); got != "verified" {
		t.Fatalf("shopper's page from the label: %q\n%s", got, pageText(t, ctx, "document.body.innerText"))
	}
	if !strings.Contains(pageText(t, ctx, "document.body.innerText"), "ST25-WEB-01") {
		t.Error("the shopper's page is not the batch's")
	}
	screenshot(t, ctx, "app-consumer-from-label")
}

// setOffline cuts the browser's connection (the page's requests, its
// service worker's and navigator.onLine) or restores it.
func setOffline(t *testing.T, ctx context.Context, offline bool) {
	t.Helper()
	var rules []*network.Conditions
	if offline {
		rules = []*network.Conditions{{Offline: true, Latency: 0, DownloadThroughput: -1, UploadThroughput: -1}}
	}
	if _, err := chromedp.Call(ctx, network.EmulateNetworkConditionsByRule, network.EmulateNetworkConditionsByRuleParams{
		MatchedNetworkConditions: rules, EmulateOfflineServiceWorker: &offline}); err != nil {
		t.Fatalf("network conditions: %v", err)
	}
	if _, err := chromedp.Call(ctx, network.OverrideNetworkState, network.OverrideNetworkStateParams{Offline: offline, DownloadThroughput: -1, UploadThroughput: -1}); err != nil {
		t.Fatalf("network state: %v", err)
	}
}

func writeTestPNG(t *testing.T, path string) {
	img := image.NewRGBA(image.Rect(0, 0, 32, 24))
	for x := range 32 {
		for y := range 24 {
			img.Set(x, y, color.RGBA{uint8(40 + x*4), uint8(120 + y*3), 40, 255})
		}
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
