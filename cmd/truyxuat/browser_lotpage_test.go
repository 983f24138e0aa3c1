package main

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// TestBrowserLotPageRegistry opens demo lots as a shopper does, in
// Vietnamese, English and Chinese: the product's photo, the cooperative's
// call and Zalo buttons, its certificates with their state on the harvest
// date (a valid one, and an expired one the lot claims, shown as expired),
// the places to buy, and the page's own check passing over all of it; a
// server that rewrites any of them is caught.
func TestBrowserLotPageRegistry(t *testing.T) {
	needTool(t, "chromium")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	base := "http://" + m.Addr()
	var expired, valid DemoBatch
	for _, b := range demo.Batches {
		switch b.Lot {
		case "TLD-2510-04":
			expired = b
		case "ST25-2508-A":
			valid = b
		}
	}
	if expired.URL == "" || valid.URL == "" {
		t.Fatalf("demo lots not found: %+v", demo.Batches)
	}
	js := func(expr string) string {
		return pageText(t, ctx, "(() => { try { return String("+expr+"); } catch (e) { return 'error: ' + e; } })()")
	}
	check := func(lang string, want map[string]string) {
		t.Helper()
		if got := verification(t, ctx, base+expired.URL+"?lang="+lang); got != "verified" {
			t.Fatalf("%s: data-verification=%q\n%s", lang, got, js("document.body.innerText"))
		}
		for expr, w := range want {
			if got := js(expr); !strings.Contains(got, w) {
				t.Errorf("%s: %s = %q, want %q", lang, expr, got, w)
			}
		}
		// The product's photo has loaded, and nothing is wider than the phone.
		if got := js(`document.querySelector("img.hero").complete && document.querySelector("img.hero").naturalWidth > 0`); got != "true" {
			t.Errorf("%s: the product's photo did not load", lang)
		}
		if w := js("document.documentElement.scrollWidth"); w != "390" {
			t.Errorf("%s: the page is %s px wide", lang, w)
		}
	}
	cert := `document.querySelector('.certs li[data-number="VG-BT-0087"]')`
	check("vi", map[string]string{
		cert + `.dataset.atLot`:                                        "expired",
		cert + `.innerText`:                                            "Đã hết hiệu lực trước ngày thu hoạch",
		`document.getElementById("records").innerText`:                 "không còn hiệu lực vào ngày thu hoạch",
		`document.querySelector('#contact a[href^="tel:"]').innerText`: "Gọi 0",
		`document.querySelector('#contact a[href^="https://zalo.me/"]').getAttribute("href")`: "https://zalo.me/0",
		`document.querySelectorAll("#buy a[data-record]").length > 0`:                         "true",
		`document.querySelector("#contact .profile-link").getAttribute("href")`:               "/p/htx-ham-minh",
	})
	screenshot(t, ctx, "lot-registry-vi")
	check("en", map[string]string{
		cert + `.innerText`:                        "Expired before the harvest date",
		`document.getElementById("buy").innerText`: "Where to buy",
	})
	screenshot(t, ctx, "lot-registry-en")
	check("zh", map[string]string{cert + `.innerText`: "收获日前已过期"})
	screenshot(t, ctx, "lot-registry-zh")

	// A lot whose certificate was valid when it was harvested.
	if got := verification(t, ctx, base+valid.URL+"?lang=vi"); got != "verified" {
		t.Fatalf("valid lot: %q", got)
	}
	if got := js(`document.querySelector('.certs li[data-number="VG-ST-0451"]').dataset.atLot + " " + document.querySelector('.certs li[data-number="VG-ST-0451"]').innerText`); !strings.HasPrefix(got, "valid ") || !strings.Contains(got, "Còn hiệu lực vào ngày thu hoạch") {
		t.Errorf("valid certificate: %q", got)
	}

	// A lot whose plot has a name but no known position, harvested inside
	// a spraying's pre-harvest interval with the clerk's signed reason:
	// the page shows the reason and no map link, and still verifies.
	key := demo.Cooperatives[0].APIKey
	var bt struct{ ID, Path string }
	if code := call(t, "POST", base+"/api/v1/batches", key, map[string]any{"product_id": "gao-st25", "lot": "ST25-NOPOS",
		"quantity": map[string]any{"value": "900", "unit": "KGM"}, "plot": map[string]any{"name": "Ruộng số 12, ấp Hòa Đê"}}, &bt); code != 201 {
		t.Fatalf("new lot: %d", code)
	}
	day := func(d int) string { return time.Now().AddDate(0, 0, d).UTC().Format("2006-01-02") + "T07:00:00+07:00" }
	for _, ev := range []map[string]any{
		{"biz_step": "https://truyxuat.vn/voc/bizstep/spraying", "event_time": day(-3),
			"data": map[string]string{"product": "Filia 525SE", "active_ingredient": "Propiconazole + Tricyclazole", "phi_days": "14", "dose": "0.4 l/ha"}},
		{"biz_step": "commissioning", "event_time": day(0), "quantity": map[string]any{"value": "900", "unit": "KGM"},
			"data": map[string]string{"interval_override_reason": "Bão sắp vào, phải thu hoạch gấp"}},
	} {
		if code := call(t, "POST", base+"/api/v1/batches/"+bt.ID+"/events", key, ev, nil); code != 201 {
			t.Fatalf("event %v: %d", ev["biz_step"], code)
		}
	}
	if got := verification(t, ctx, base+bt.Path+"?lang=vi"); got != "verified" {
		t.Fatalf("lot without a position: %q\n%s", got, js("document.body.innerText"))
	}
	if got := js(`document.querySelector(".override").innerText`); !strings.Contains(got, "Bão sắp vào, phải thu hoạch gấp") || !strings.Contains(got, "chưa hết thời gian cách ly") {
		t.Errorf("the override: %q", got)
	}
	if got := js(`document.querySelectorAll(".farm a.osm").length + " " + document.querySelector(".farm").innerText`); !strings.HasPrefix(got, "0 ") || !strings.Contains(got, "Ruộng số 12") {
		t.Errorf("the plot without a position: %q", got)
	}
	if got := js(`document.getElementById("records").innerText`); !strings.Contains(got, "thời gian cách ly") {
		t.Errorf("the records box does not name the interval: %q", got)
	}
	screenshot(t, ctx, "lot-override-vi")
	for _, rewrite := range [][]string{{"phải thu hoạch gấp</span>", "đã hết cách ly</span>"}, {`class="override"`, `class="override" hidden`, `<span class="o-reason">`, `<span>`}} {
		proxy := startRewritingProxy(t, base, rewrite...)
		if got := verification(t, ctx, proxy+bt.Path+"?lang=vi"); got != "failed" {
			t.Errorf("override rewritten %q: %q", rewrite, got)
		}
	}

	// The expired certificate passed off as valid, its dates moved, a shop
	// link pointed elsewhere, the Zalo number swapped, a photo that was
	// never signed: each is caught by the page's own check.
	for _, rewrite := range [][]string{
		{`data-at-lot="expired"`, `data-at-lot="valid"`},
		{"31/05/2024", "31/05/2027"},
		{`href="https://www.lazada.vn/`, `href="https://lazada.example/`},
		{`href="https://zalo.me/0`, `href="https://zalo.me/9`},
		{`class="hero" data-sha256="`, `class="hero" data-sha256="00`},
	} {
		proxy := startRewritingProxy(t, base, rewrite...)
		if got := verification(t, ctx, proxy+expired.URL+"?lang=vi"); got != "failed" {
			t.Errorf("page rewritten %q: data-verification=%q", rewrite, got)
		}
	}
	// The cooperative sees in the workspace how often the lot's labels
	// were scanned: every visit above came through its Digital Link.
	var clerk DemoUser
	for _, u := range demo.Users {
		if u.Role == "cooperative" && u.Cooperative == expired.Cooperative {
			clerk = u
		}
	}
	for _, a := range []chromedp.Action[chromedp.Void]{chromedp.Navigate(base + "/app/login?lang=vi"),
		chromedp.SendKeys(chromedp.CSS("#f-username"), clerk.Username), chromedp.SendKeys(chromedp.CSS("#f-password"), clerk.Password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`))} {
		if err := chromedp.Do(ctx, a); err != nil {
			t.Fatalf("sign in as %s: %v", clerk.Username, err)
		}
	}
	for deadline := time.Now().Add(20 * time.Second); js(`location.pathname`) == "/app/login"; time.Sleep(100 * time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("sign in: still at %s", js("location.href"))
		}
	}
	if err := chromedp.Do(ctx, chromedp.Navigate(base+"/app/batches/"+expired.ID)); err != nil {
		t.Fatal(err)
	}
	if got := js(`document.getElementById("scans").innerText`); !strings.Contains(got, "Tổng số lượt quét") {
		t.Errorf("the workspace's scans: %q", got)
	}
	if w := js("document.documentElement.scrollWidth"); w != "390" {
		t.Errorf("the workspace's lot page is %s px wide", w)
	}
	screenshot(t, ctx, "app-lot-scans")
}
