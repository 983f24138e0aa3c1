package main

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// newVietnameseBrowser is newBrowser for a phone set to Vietnamese
// (dates in its forms read dd/mm/yyyy) that shares its position.
func newVietnameseBrowser(t *testing.T, origin string) context.Context {
	t.Helper()
	path := needTool(t, "chromium")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("lang", "vi-VN"),
		chromedp.Env("LANG=vi_VN.UTF-8", "LANGUAGE=vi"),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(390, 844),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 4*time.Minute)
	t.Cleanup(func() { cancelTimeout(); cancel(); cancelAlloc() })
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(390, 844, chromedp.EmulateMobile)); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	if _, err := chromedp.Call(ctx, emulation.SetLocaleOverride, emulation.SetLocaleOverrideParams{Locale: "vi_VN"}); err != nil {
		t.Fatalf("locale: %v", err)
	}
	ua := "Mozilla/5.0 (Linux; Android 14; SM-A155F) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Mobile Safari/537.36"
	if _, err := chromedp.Call(ctx, emulation.SetUserAgentOverride, emulation.SetUserAgentOverrideParams{UserAgent: ua, AcceptLanguage: "vi-VN,vi;q=0.9"}); err != nil {
		t.Fatalf("language: %v", err)
	}
	lat, lon, acc := 9.4721, 105.9392, 15.0
	if _, err := chromedp.Call(ctx, emulation.SetGeolocationOverride, emulation.SetGeolocationOverrideParams{Latitude: &lat, Longitude: &lon, Accuracy: &acc}); err != nil {
		t.Fatalf("geolocation: %v", err)
	}
	if _, err := chromedp.Call(ctx, browser.SetPermission, browser.SetPermissionParams{Permission: &browser.PermissionDescriptor{Name: "geolocation"},
		Setting: browser.PermissionSettingGranted, Origin: origin}); err != nil {
		t.Fatalf("permission: %v", err)
	}
	return ctx
}

// TestBrowserClerkSeason walks a whole season as a clerk on a phone, in
// Vietnamese: a new lot at the plot's position, sowing dated back, a
// spraying whose product fills in its ingredient and interval (never the
// dose), a harvest inside the interval warned of and confirmed with a
// reason, a correction of the spraying's dose, milling into a new lot,
// packing and shipping that lot, a 40×30 mm roll label, the VietGAP farm
// diary as a PDF; then an inspector's pass over the findings. Every screen
// is screenshotted, looked for English and raw codes, and measured
// against the 390 px screen.
func TestBrowserClerkSeason(t *testing.T) {
	needTool(t, "chromium")
	pdftotext := needTool(t, "pdftotext")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	var clerk, inspector DemoUser
	for _, u := range demo.Users {
		switch {
		case u.Role == "cooperative" && u.Cooperative == demo.Cooperatives[0].ID:
			clerk = u
		case u.Role == "inspector":
			inspector = u
		}
	}
	base := "http://" + m.Addr()
	ctx := newVietnameseBrowser(t, base)
	body := func() string { return pageText(t, ctx, "document.body ? document.body.innerText : ''") }
	run := func(what string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		for _, a := range actions {
			if err := chromedp.Do(ctx, a); err != nil {
				t.Fatalf("%s: %v\n%s", what, err, body())
			}
		}
	}
	waitFor := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(() => { try { return !!("+js+"); } catch (e) { return false; } })()"))
			if err == nil && ok {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: not reached\n%s", what, body())
	}
	js := func(script string) string {
		t.Helper()
		v, err := chromedp.Run(ctx, chromedp.Evaluate[string](script, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatalf("%s: %v", script, err)
		}
		return v
	}
	// look screenshots a screen and checks it as a clerk would: nothing
	// wider than the phone, no English sentence, no raw step URI, ISO
	// time or UN/ECE unit code.
	look := func(name string) {
		t.Helper()
		screenshot(t, ctx, name)
		if w := js(`String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px screen", name, w)
		}
		text := body()
		for _, raw := range []string{"https://truyxuat.vn/voc", "bizstep", "T00:00", "+07:00", " KGM", "pre_harvest", "copied_values",
			"The ", " the ", " is ", "not found", "required", "Harvest", "Spraying"} {
			if strings.Contains(text, raw) {
				t.Errorf("%s shows %q:\n%s", name, raw, text)
			}
		}
	}
	submit := func(form string) { run("submit "+form, chromedp.Click(chromedp.CSS(form+` button[type=submit]`))) }
	setDate := func(id, value string) {
		js(`(() => { const e = document.getElementById("` + id + `"); e.value = "` + value + `"; e.dispatchEvent(new Event("change", {bubbles: true})); return ""; })()`)
	}
	ict := time.FixedZone("ICT", 7*3600)
	now := time.Now().In(ict)
	vday := func(d int) string { return now.AddDate(0, 0, d).Format("02/01/2006") }

	run("sign in", chromedp.Navigate(base+"/app/login"),
		chromedp.SendKeys(chromedp.CSS("#f-username"), clerk.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), clerk.Password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
	waitFor("start page", `!!document.getElementById("batches")`)
	// The demo's lots say what they wait for, not "no template".
	if text := body(); strings.Contains(text, "Không theo mẫu") || !strings.Contains(text, "Chờ: Xuất hàng") {
		t.Errorf("start page:\n%s", text)
	}
	look("season-01-start")
	run("search", chromedp.SendKeys(chromedp.CSS("#f-q"), "st24"), chromedp.Click(chromedp.CSS(`#batch-search button[type=submit]`)))
	waitFor("search results", `location.search.includes("q=st24") && document.querySelectorAll("#batches li a.row").length === 1`)
	look("season-02-search")

	// A new lot: the product by its name, none chosen for the clerk; the
	// plot's position from the phone.
	run("new lot", chromedp.Navigate(base+"/app/batches/new"))
	waitFor("new lot form", `document.getElementById("f-product").value === "" && !document.getElementById("locate").hidden`)
	if opts := js(`[...document.querySelectorAll("#f-product option")].map(o => o.textContent).join("|")`); strings.Contains(opts, "(") || strings.Contains(opts, "gao-") {
		t.Errorf("products offered as %q", opts)
	}
	js(`(() => { const s = document.getElementById("f-product"); s.value = [...s.options].find(o => o.textContent === "Gạo ST25 Hòa Tú").value; return ""; })()`)
	run("fill new lot", chromedp.SetValue(chromedp.CSS("#f-template"), "rice"),
		chromedp.SendKeys(chromedp.CSS("#f-lot"), "ST25-MUA-01"),
		chromedp.SendKeys(chromedp.CSS("#f-quantity"), "3000"),
		chromedp.SendKeys(chromedp.CSS("#f-plot"), "Ruộng số 3, ấp Hòa Tú"),
		chromedp.Click(chromedp.CSS("#locate")))
	waitFor("position", `document.getElementById("f-lat").value === "9,47210" && document.getElementById("f-lon").value === "105,93920"`)
	if v := js(`document.getElementById("f-harvest_date").value`); v != "" {
		t.Errorf("the harvest date is filled in: %q", v)
	}
	look("season-03-new-lot")
	submit("#new-batch")
	waitFor("lot page", `!!document.getElementById("next-step")`)
	lot := js(`location.pathname.split("/")[3]`)
	look("season-04-lot-created")

	// Sowing, done 25 days ago at dawn.
	run("sowing form", chromedp.Click(chromedp.CSS("#next-step")))
	waitFor("sowing form", `document.getElementById("f-date").value === "`+vday(0)+`"`)
	setDate("f-date", vday(-25))
	setDate("f-hour", "06:00")
	run("seed rate", chromedp.SendKeys(chromedp.CSS("#f-v_seed_rate_kg_ha"), "85"))
	look("season-05-sowing")
	submit("#step-form")
	waitFor("sowing recorded", `location.pathname === "/app/batches/`+lot+`" && !!document.querySelector(".flash")`)

	// Spraying five days ago: the product used before fills in its
	// ingredient and interval, not its dose.
	run("spraying form", chromedp.Navigate(base+"/app/batches/"+lot+"/step?step=spraying"))
	waitFor("spraying form", `!!document.getElementById("f-v_phi_days")`)
	js(`(() => { const p = document.getElementById("f-v_product"); p.value = "Filia 525SE"; p.dispatchEvent(new Event("change")); return ""; })()`)
	waitFor("filled in", `document.getElementById("f-v_phi_days").value === "14" && document.getElementById("f-v_active_ingredient").value === "Propiconazole + Tricyclazole"`)
	if v := js(`document.getElementById("f-v_dose").value`); v != "" {
		t.Errorf("the dose is filled in: %q", v)
	}
	setDate("f-date", vday(-5))
	setDate("f-hour", "16:30")
	run("dose", chromedp.SendKeys(chromedp.CSS("#f-v_dose"), "4 l/ha"), chromedp.SendKeys(chromedp.CSS("#f-v_applied_by"), "Nguyễn Văn Tư"))
	look("season-06-spraying")
	submit("#step-form")
	waitFor("spraying recorded", `location.pathname === "/app/batches/`+lot+`" && !!document.querySelector(".flash")`)

	// Harvest today: nine days of the interval remain; refused without a
	// confirmation, recorded with one and a reason.
	run("harvest form", chromedp.Navigate(base+"/app/batches/"+lot+"/step?step=harvest"))
	// The interval ends 14 days after the spraying, at 16:30: nine days
	// from now and part of a day, less or more than a day's fraction.
	sprayed := time.Date(now.Year(), now.Month(), now.Day()-5, 16, 30, 0, 0, ict)
	left := int(math.Ceil(sprayed.AddDate(0, 0, 14).Sub(time.Now()).Hours() / 24))
	waitFor("the warning", `!document.getElementById("phi-warning").hidden && document.getElementById("phi-warning").textContent.includes("còn `+strconv.Itoa(left)+` ngày")`)
	run("quantity", chromedp.SendKeys(chromedp.CSS("#f-quantity"), "2.950"))
	look("season-07-harvest-warned")
	submit("#step-form")
	waitFor("refused", `!!document.getElementById("e-phi_reason")`)
	look("season-08-harvest-refused")
	run("confirm", chromedp.Click(chromedp.CSS("#f-phi_confirm")),
		chromedp.SendKeys(chromedp.CSS("#f-phi_reason"), "Bão số 9 vào trong hai ngày tới, phải thu hoạch gấp"))
	if v := js(`document.getElementById("f-quantity").value`); v != "2.950" {
		t.Errorf("the quantity typed was lost: %q", v)
	}
	submit("#step-form")
	waitFor("harvest recorded", `location.pathname === "/app/batches/`+lot+`" && !!document.querySelector(".flash")`)
	if text := body(); !strings.Contains(text, "Bão số 9") || !strings.Contains(text, "2.950 kg") {
		t.Errorf("the lot's page after the harvest:\n%s", text)
	}

	// The spraying's dose was mistyped: a correction, with its reason.
	run("correction", chromedp.Click(chromedp.CSS(`#history a.edit[href*="/correct/"]:last-of-type`)))
	waitFor("correction form", `!!document.getElementById("correct-form")`)
	if h1 := js(`document.querySelector("h1").textContent`); !strings.Contains(h1, "Phun thuốc") {
		// The last link is the oldest step shown first? Find the spraying's.
		run("back", chromedp.Navigate(base+"/app/batches/"+lot))
		waitFor("lot page", `!!document.getElementById("history")`)
		href := js(`[...document.querySelectorAll("#history li")].find(li => li.querySelector(".step").textContent.startsWith("Phun")).querySelector("a.edit").getAttribute("href")`)
		run("spraying correction", chromedp.Navigate(base+href))
		waitFor("correction form", `!!document.getElementById("correct-form")`)
	}
	js(`(() => { const d = document.getElementById("f-v_dose"); d.value = "0,4 l/ha"; return ""; })()`)
	run("reason", chromedp.SendKeys(chromedp.CSS("#f-reason"), "Gõ thiếu dấu phẩy: liều đúng là 0,4 l/ha"))
	look("season-09-correction")
	submit("#correct-form")
	waitFor("corrected", `location.pathname === "/app/batches/`+lot+`" && !!document.querySelector("details.corrected")`)
	run("open the correction", chromedp.Click(chromedp.CSS("details.corrected summary")))
	if text := body(); !strings.Contains(text, "Liều lượng: 0,4 l/ha") || !strings.Contains(text, "Gõ thiếu dấu phẩy") || !strings.Contains(text, "Trước đó: Liều lượng: 4 l/ha") {
		t.Errorf("the corrected spraying:\n%s", text)
	}
	look("season-10-corrected")

	// Milling into a new lot, which is packed and shipped.
	run("processing", chromedp.Navigate(base+"/app/batches/"+lot+"/transform?kind=process"))
	waitFor("process form", `!!document.getElementById("process-form")`)
	js(`(() => { const q = document.getElementById("f-p_qty_self"); q.value = "2.950"; return ""; })()`)
	run("fill milling", chromedp.SendKeys(chromedp.CSS("#f-p_lot"), "ST25-MUA-01-XAY"),
		chromedp.SendKeys(chromedp.CSS("#f-p_out_qty"), "2.000"), chromedp.SendKeys(chromedp.CSS("#f-p_loss"), "950"))
	look("season-11-milling")
	submit("#process-form")
	waitFor("milled lot", `location.search.includes("ok=transformed") && !!document.getElementById("next-step")`)
	milled := js(`location.pathname.split("/")[3]`)
	if text := js(`document.getElementById("next-step").textContent`); !strings.Contains(text, "Đóng gói") {
		t.Errorf("the milled lot waits for %q", text)
	}
	look("season-12-milled-lot")
	run("packing", chromedp.Click(chromedp.CSS("#next-step")))
	waitFor("packing form", `!!document.getElementById("step-form") && document.querySelector("h1").textContent.includes("Đóng gói")`)
	run("package", chromedp.SendKeys(chromedp.CSS("#f-v_package"), "túi 5 kg, hút chân không"))
	submit("#step-form")
	waitFor("packed", `location.pathname === "/app/batches/`+milled+`" && document.getElementById("next-step").textContent.includes("Xuất hàng")`)
	run("shipping", chromedp.Click(chromedp.CSS("#next-step")))
	waitFor("shipping form", `!!document.getElementById("f-v_buyer")`)
	run("buyer", chromedp.SendKeys(chromedp.CSS("#f-v_buyer"), "Công ty Lương thực Sóc Trăng"), chromedp.SendKeys(chromedp.CSS("#f-quantity"), "2000"))
	look("season-13-shipping")
	submit("#step-form")
	waitFor("shipped", `location.pathname === "/app/batches/`+milled+`" && !!document.querySelector(".flash")`)
	if text := body(); !strings.Contains(text, "Đã xong mùa vụ") || !strings.Contains(text, "Công ty Lương thực Sóc Trăng") {
		t.Errorf("the shipped lot:\n%s", text)
	}
	look("season-14-shipped")

	// A 40×30 mm roll label for a thermal printer.
	run("labels", chromedp.Navigate(base+"/app/batches/"+milled+"/labels"))
	waitFor("labels form", `!!document.getElementById("labels-form")`)
	js(`(() => { const f = document.getElementById("f-format"); f.value = "zpl"; f.dispatchEvent(new Event("change")); return ""; })()`)
	if opts := js(`[...document.querySelectorAll("#f-layout option")].filter(o => !o.hidden).map(o => o.value).join(" ")`); strings.Contains(opts, "a4-") || !strings.Contains(opts, "roll-40x30") {
		t.Errorf("layouts offered for ZPL: %s", opts)
	}
	run("roll", chromedp.SetValue(chromedp.CSS("#f-layout"), "roll-40x30"), chromedp.SetValue(chromedp.CSS("#f-count"), "10"))
	look("season-15-labels")
	zpl := js(`(async () => {
		const f = document.getElementById("labels-form");
		const r = await fetch(f.action + "?" + new URLSearchParams(new FormData(f)));
		const z = await r.text();
		return r.status + " " + r.headers.get("content-disposition") + "\n" + z.slice(0, 40) + "…" + z.slice(-40);
	})()`)
	if !strings.HasPrefix(zpl, "200 attachment") || !strings.Contains(zpl, "^XA") || !strings.Contains(zpl, "^PQ10") {
		t.Errorf("the 40×30 roll label: %.300s", zpl)
	}

	// The VietGAP farm diary of the harvested lot, as a PDF.
	run("diary", chromedp.Navigate(base+"/app/diary?scope=lot&batch="+lot))
	waitFor("diary form", `!!document.getElementById("diary-form") && !document.querySelector('[data-scope="lot"]').hidden`)
	look("season-16-diary")
	pdf64 := js(`(async () => {
		const f = document.getElementById("diary-form");
		const r = await fetch(f.action + "?" + new URLSearchParams(new FormData(f)));
		const b = new Uint8Array(await r.arrayBuffer());
		let s = ""; for (const c of b) s += String.fromCharCode(c);
		return r.headers.get("content-type") + " " + btoa(s);
	})()`)
	ctype, b64, _ := strings.Cut(pdf64, " ")
	raw, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || ctype != "application/pdf" {
		t.Fatalf("diary download: %s %v", ctype, err)
	}
	pdfPath := filepath.Join(testOut(t, "screenshots"), "season-17-diary.pdf")
	if err := os.WriteFile(pdfPath, raw, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(pdftotext, "-layout", pdfPath, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	for _, want := range []string{"NHẬT KÝ CANH TÁC", "Hợp tác xã Nông nghiệp Hòa Tú", "Lô ST25-MUA-01", "Filia 525SE", "0,4 l/ha", "Nguyễn Văn Tư",
		"Ruộng số 3", "2.950 kg", "Bão số 9", "Gõ thiếu dấu phẩy", "Xay xát", "ST25-MUA-01-XAY", "Công ty Lương thực Sóc Trăng"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("the diary lacks %q:\n%s", want, out)
		}
	}
	if ppm, err := exec.LookPath("pdftoppm"); err == nil {
		if err := exec.Command(ppm, "-r", "50", "-png", "-singlefile", pdfPath, strings.TrimSuffix(pdfPath, ".pdf")).Run(); err != nil {
			t.Errorf("pdftoppm: %v", err)
		}
	}

	// The inspector's pass: findings in Vietnamese, with lot codes, the
	// harvest's reason, the most severe first; then the lot's report.
	run("sign out", chromedp.Click(chromedp.CSS(`form[action="/app/logout"] button`)))
	waitFor("signed out", `location.pathname === "/app/login"`)
	run("inspector", chromedp.SendKeys(chromedp.CSS("#f-username"), inspector.Username),
		chromedp.SendKeys(chromedp.CSS("#f-password"), inspector.Password),
		chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
	waitFor("findings", `!!document.getElementById("findings")`)
	text := body()
	for _, want := range []string{"Thu hoạch trong thời gian cách ly thuốc bảo vệ thực vật", "CAO", "Bão số 9", "ST25-MUA-01", "TIEU-2604-02"} {
		if !strings.Contains(text, want) {
			t.Errorf("findings lack %q:\n%s", want, text)
		}
	}
	look("season-18-findings")
	run("the lot's report", chromedp.Navigate(base+"/app/batches/"+lot))
	waitFor("report", `!!document.getElementById("inspect")`)
	look("season-19-inspector-report")
}

// TestBrowserWorkspaceScreens looks at the other screens this season
// changed, as a clerk and as an admin on a phone: products, one's
// account, a recall's confirmation, splits and merges, a new lot's and a
// label's errors, the admin's screen.
func TestBrowserWorkspaceScreens(t *testing.T) {
	needTool(t, "chromium")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	var clerk, admin DemoUser
	for _, u := range demo.Users {
		switch {
		case u.Role == "cooperative" && u.Cooperative == demo.Cooperatives[0].ID:
			clerk = u
		case u.Role == "admin":
			admin = u
		}
	}
	base := "http://" + m.Addr()
	ctx := newVietnameseBrowser(t, base)
	body := func() string { return pageText(t, ctx, "document.body ? document.body.innerText : ''") }
	// waitFor polls js until it is true, across page loads.
	waitFor := func(what, js string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for time.Now().Before(deadline) {
			ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool]("(() => { try { return !!("+js+"); } catch (e) { return false; } })()"))
			if err == nil && ok {
				return
			}
			time.Sleep(100 * time.Millisecond)
		}
		t.Fatalf("%s: not reached\n%s", what, body())
	}
	open := func(path, ready string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Navigate(base+path)); err != nil {
			t.Fatal(err)
		}
		waitFor(path, ready)
	}
	look := func(name string, mustHave ...string) {
		t.Helper()
		screenshot(t, ctx, name)
		if w := pageText(t, ctx, `String(document.documentElement.scrollWidth)`); w != "390" {
			t.Errorf("%s is %s px wide on a 390 px screen", name, w)
		}
		text := body()
		for _, raw := range []string{"https://truyxuat.vn/voc", " KGM", "The ", " the ", " is ", "must ", "required", "cooperative", "inspector"} {
			if strings.Contains(text, raw) {
				t.Errorf("%s shows %q:\n%s", name, raw, text)
			}
		}
		for _, w := range mustHave {
			if !strings.Contains(text, w) {
				t.Errorf("%s lacks %q:\n%s", name, w, text)
			}
		}
	}
	signIn := func(u DemoUser) {
		t.Helper()
		if !strings.HasPrefix(pageText(t, ctx, "location.pathname"), "/app/login") {
			open("/app/login", `!!document.getElementById("login")`)
		}
		if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#f-username"), u.Username)); err != nil {
			t.Fatal(err)
		}
		for _, a := range []chromedp.Action[chromedp.Void]{chromedp.SendKeys(chromedp.CSS("#f-password"), u.Password), chromedp.Click(chromedp.CSS(`#login button[type=submit]`))} {
			if err := chromedp.Do(ctx, a); err != nil {
				t.Fatal(err)
			}
		}
		waitFor("signed in", `location.pathname !== "/app/login"`)
	}
	submit := func(form, ready string) {
		t.Helper()
		if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(form+" button[type=submit]"))); err != nil {
			t.Fatal(err)
		}
		waitFor("after "+form, ready)
	}
	lot := demo.Batches[0].ID

	signIn(clerk)
	open("/app/products", `!!document.getElementById("products")`)
	look("screens-01-products", "Gạo ST25 Hòa Tú", "Thêm sản phẩm")
	submit("#product-form", `!!document.getElementById("e-name_vi")`)
	look("screens-02-product-errors", "Cần nhập ô này")
	open("/app/account", `!!document.getElementById("password-form")`)
	look("screens-03-account", "Thư ký hợp tác xã", "Đổi mật khẩu")
	open("/app/batches/new", `!!document.getElementById("new-batch")`)
	if err := chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS("#f-lat"), "9,47")); err != nil {
		t.Fatal(err)
	}
	submit("#new-batch", `!!document.getElementById("e-product")`)
	look("screens-04-new-lot-errors", "Cần nhập ô này", "Nhập cả vĩ độ và kinh độ")
	open("/app/batches/"+lot+"/recall", `!!document.getElementById("recall-form")`)
	look("screens-05-recall", "Tôi xác nhận thu hồi lô ST25-2508-A", "ST25-XAY-2508")
	open("/app/batches/"+lot+"/transform?kind=merge", `!!document.getElementById("merge-form")`)
	submit("#merge-form", `!!document.getElementById("form-error") || !!document.querySelector(".error")`)
	look("screens-06-merge-errors")
	open("/app/batches/"+lot+"/labels?print=1&format=pdf&layout=roll-35x22", `!!document.getElementById("e-layout")`)
	look("screens-07-label-error", "Khổ này là cuộn cho máy in nhiệt")
	open("/app/batches/"+lot+"/step?step=storing", `!!document.getElementById("f-v_warehouse")`)
	look("screens-08-storing", "Nhập kho", "Kho")

	if err := chromedp.Do(ctx, chromedp.Click(chromedp.CSS(`form[action="/app/logout"] button`))); err != nil {
		t.Fatal(err)
	}
	waitFor("signed out", `location.pathname === "/app/login" && document.readyState === "complete"`)
	signIn(admin)
	open("/app/admin", `!!document.getElementById("user-form")`)
	look("screens-09-admin", "Thư ký hợp tác xã", "Cán bộ kiểm tra", "Quản trị viên", "Đặt lại mật khẩu")
}
