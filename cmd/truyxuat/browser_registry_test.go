package main

import (
	"bytes"
	"encoding/base64"
	"encoding/csv"
	"encoding/json"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/thedatashed/xlsxreader"
	"github.com/xuri/excelize/v2"
)

// TestBrowserRegistry drives the registry's screens as their people
// would on a phone: a clerk imports a member list from a spreadsheet
// (refused row by row, then imported clean), keeps the cooperative's
// profile and lists; an agency of the province filters the registry and
// exports it as CSV and XLSX, which readers of those formats open; the
// public profile page shows the cooperative in Vietnamese and English.
func TestBrowserRegistry(t *testing.T) {
	needTool(t, "chromium")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	users := map[string]DemoUser{}
	for _, u := range demo.Users {
		users[u.Username] = u
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
		t.Fatalf("%s: not reached\n%s", what, pageText(t, ctx, "document.body ? document.body.innerText : ''"))
	}
	signIn := func(u DemoUser, landing string) {
		t.Helper()
		run("sign in as "+u.Username, chromedp.Navigate(base+"/app/login?lang=vi"),
			chromedp.SendKeys(chromedp.CSS("#f-username"), u.Username),
			chromedp.SendKeys(chromedp.CSS("#f-password"), u.Password),
			chromedp.Click(chromedp.CSS(`#login button[type=submit]`)))
		waitFor("landing after sign-in", landing)
	}
	signOut := func() {
		t.Helper()
		run("sign out", chromedp.Click(chromedp.CSS(`form[action="/app/logout"] button`)))
		waitFor("signed out", `location.pathname === "/app/login"`)
	}
	dir := t.TempDir()
	xlsx := func(name string, rows [][]any) string {
		t.Helper()
		x := excelize.NewFile()
		for i, row := range rows {
			cell, _ := excelize.CoordinatesToCellName(1, i+1)
			if err := x.SetSheetRow("Sheet1", cell, &row); err != nil {
				t.Fatal(err)
			}
		}
		path := filepath.Join(dir, name)
		if err := x.SaveAs(path); err != nil {
			t.Fatal(err)
		}
		return path
	}

	// The clerk of HTX Hòa Tú.
	signIn(users["thuky"], `!!document.getElementById("batches")`)
	run("registry", chromedp.Navigate(base+"/app/registry"))
	waitFor("registry home", `!!document.getElementById("profile-form")`)
	if v := pageText(t, ctx, `document.getElementById("f-f_commune_code").selectedOptions[0].textContent`); v != "Xã Hòa Tú" {
		t.Errorf("profile commune %q", v)
	}
	screenshot(t, ctx, "app-registry")

	bad := xlsx("thanh-vien-loi.xlsx", [][]any{
		{"Họ tên chủ hộ", "Mã thành viên", "Xã/phường", "Diện tích (ha)", "Điện thoại", "Ngày vào HTX"},
		{"Hộ Võ Văn Bảy", "HT-010", "Hòa Tú", "1,5", "0913 222 333", "01/02/2020"},
		{"Hộ Đỗ Thị Tám", "HT-011", "Xã Không Có", "-2", "12345", "31/02/2021"},
		{"", "HT-012", "Hòa Tú", "1", "", ""},
	})
	run("import a list with errors", chromedp.Navigate(base+"/app/registry/import"),
		chromedp.SetUploadFiles(chromedp.CSS("#f-file"), []string{bad}),
		chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)))
	waitFor("errors listed", `!!document.getElementById("import-errors")`)
	errs := pageText(t, ctx, `document.getElementById("import-errors").innerText`)
	for _, want := range []string{"Dòng 3, cột Xã/phường: Không có xã/phường này", "Dòng 3, cột Diện tích (ha): Diện tích là số héc-ta",
		"Dòng 3, cột Điện thoại: Số điện thoại gồm 10 hoặc 11 chữ số", "Dòng 3, cột Ngày vào HTX", "Dòng 4, cột Họ tên chủ hộ: Cần nhập ô này"} {
		if !strings.Contains(errs, want) {
			t.Errorf("the errors do not say %q:\n%s", want, errs)
		}
	}
	if strings.Contains(errs, "Dòng 2") {
		t.Errorf("a clean row is reported:\n%s", errs)
	}
	screenshot(t, ctx, "app-registry-import-errors")

	good := xlsx("thanh-vien.xlsx", [][]any{
		{"Họ tên chủ hộ", "Mã thành viên", "Xã/phường", "Diện tích (ha)", "Điện thoại", "Ngày vào HTX"},
		{"Hộ Võ Văn Bảy", "HT-010", "Hòa Tú", "1,5", "0913 222 333", "01/02/2020"},
		{"Hộ Đỗ Thị Tám", "HT-011", "xã hòa tú", 2.25, "", "15/03/2021"},
	})
	run("import a clean list", chromedp.SetUploadFiles(chromedp.CSS("#f-file"), []string{good}),
		chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)))
	waitFor("preview", `!!document.getElementById("import-preview")`)
	if s := pageText(t, ctx, `document.querySelector("#import-preview table").innerText`); !strings.Contains(s, "Hộ Đỗ Thị Tám") || !strings.Contains(s, "15/03/2021") || !strings.Contains(s, "Xã Hòa Tú") {
		t.Errorf("preview:\n%s", s)
	}
	screenshot(t, ctx, "app-registry-import-preview")
	run("confirm", chromedp.Click(chromedp.CSS(`#import-confirm button[type=submit]`)))
	waitFor("members listed", `location.pathname === "/app/registry/members" && !!document.querySelector('#entries [data-id="ho-do-thi-tam"]')`)
	screenshot(t, ctx, "app-registry-members")
	var members struct{ Members []map[string]any }
	if code := call(t, "GET", base+"/api/v1/cooperatives/htx-hoa-tu/members", demo.Cooperatives[0].APIKey, nil, &members); code != 200 || len(members.Members) != 5 {
		t.Fatalf("members after the import: %d, %d", code, len(members.Members))
	}

	// A member's phone typed wrong is refused in Vietnamese.
	run("edit a member", chromedp.Navigate(base+"/app/registry/members/ho-do-thi-tam"))
	run("wrong phone", chromedp.SetValue(chromedp.CSS("#f-f_phone"), "0912"), chromedp.Click(chromedp.CSS(`#entry-form button[type=submit]`)))
	waitFor("phone refused", `(document.getElementById("e-f_phone")||{}).textContent === "Số điện thoại gồm 10 hoặc 11 chữ số, bắt đầu bằng 0, ví dụ 0912345678."`)
	screenshot(t, ctx, "app-registry-member-error")
	run("certificates", chromedp.Navigate(base+"/app/registry/certificates"))
	waitFor("certificates", `document.querySelectorAll("#entries li").length === 3`)
	screenshot(t, ctx, "app-registry-certificates")
	run("plot", chromedp.Navigate(base+"/app/registry/plots/ruong-so-7-ap-hoa-tu"))
	waitFor("plot form", `document.getElementById("f-f_planting_code").value === "VN-CTPUC-0451"`)
	screenshot(t, ctx, "app-registry-plot")
	run("product", chromedp.Navigate(base+"/app/registry/products/gao-st25"))
	waitFor("product content", `document.getElementById("f-f_description_zh").value.includes("虾稻轮作") && !!document.querySelector("#photos img")`)
	screenshot(t, ctx, "app-registry-product")
	signOut()

	// The agency of Cần Thơ.
	signIn(users["sonongnghiep"], `!!document.getElementById("filters")`)
	if n := pageText(t, ctx, `String(document.querySelectorAll("#coops li a").length)`); n != "1" {
		t.Errorf("the agency of Cần Thơ sees %s cooperatives", n)
	}
	screenshot(t, ctx, "app-agency")
	run("filter", chromedp.SetValue(chromedp.CSS("#f-product"), "gao st25"), chromedp.SetValue(chromedp.CSS("#f-ocop"), "4"),
		chromedp.SetValue(chromedp.CSS("#f-certificate"), "vietgap"), chromedp.Click(chromedp.CSS(`#filters button[type=submit]`)))
	waitFor("filtered", `location.search.includes("ocop=4") && document.querySelectorAll("#coops li a").length === 1`)
	screenshot(t, ctx, "app-agency-filtered")
	download := func(format string) []byte {
		t.Helper()
		href := pageText(t, ctx, `document.querySelector('#export a[href$="format=`+format+`"]').getAttribute("href")`)
		if !strings.Contains(href, "product=gao+st25") || !strings.Contains(href, "certificate=vietgap") {
			t.Errorf("the export link does not carry the filters: %s", href)
		}
		b64, err := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch(`+jsString(href)+`).then(r => r.arrayBuffer()).then(b => { let s = ""; for (const c of new Uint8Array(b)) s += String.fromCharCode(c); return btoa(s); })`, chromedp.EvalAwaitPromise))
		if err != nil {
			t.Fatal(err)
		}
		b, err := base64.StdEncoding.DecodeString(b64)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	rows, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(download("csv"), []byte("\ufeff")))).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 2 || rows[0][1] != "Tên hợp tác xã" || rows[1][0] != "htx-hoa-tu" || rows[1][5] != "Thành phố Cần Thơ" || !strings.Contains(rows[1][18], "VG-ST-0451") {
		t.Errorf("CSV export:\n%q", rows)
	}
	x, err := xlsxreader.NewReader(download("xlsx"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for row := range x.ReadRows("Thành viên") {
		if row.Error != nil {
			t.Fatal(row.Error)
		}
		if len(row.Cells) > 3 && row.Index > 1 {
			names = append(names, row.Cells[3].Value)
		}
	}
	if len(names) != 5 || !strings.Contains(strings.Join(names, ","), "Hộ Đỗ Thị Tám") {
		t.Errorf("XLSX members: %q", names)
	}
	run("a cooperative's registry", chromedp.Click(chromedp.CSS(`#coops a[data-coop="htx-hoa-tu"]`)))
	waitFor("registry of Hòa Tú", `!!document.getElementById("members") && document.getElementById("certificates").innerText.includes("VG-ST-0451")`)
	screenshot(t, ctx, "app-agency-cooperative")
	// Another province's cooperative is not the agency's to read.
	if s, _ := chromedp.Run(ctx, chromedp.Evaluate[string](`fetch("/app/registry/agency/htx-ea-tu").then(r => String(r.status))`, chromedp.EvalAwaitPromise)); s != "403" {
		t.Errorf("another province's cooperative: %s", s)
	}
	signOut()

	// The public profile page, with its expired certificate.
	run("profile", chromedp.Navigate(base+"/p/htx-ham-minh?lang=vi"))
	waitFor("profile", `!!document.getElementById("certificates")`)
	if s := pageText(t, ctx, `document.querySelector('#certificates [data-status="expired"]').innerText`); !strings.Contains(s, "VG-BT-0087") || !strings.Contains(s, "Hết hiệu lực") {
		t.Errorf("expired certificate: %q", s)
	}
	if s := pageText(t, ctx, `document.querySelector('#contact a[href^="https://zalo.me/"]').getAttribute("href")`); s != "https://zalo.me/0987654321" {
		t.Errorf("Zalo link %q", s)
	}
	if w := pageText(t, ctx, `String(document.documentElement.scrollWidth)`); w != "390" {
		t.Errorf("the page is %s px wide", w)
	}
	screenshot(t, ctx, "profile-vi")
	run("profile in English", chromedp.Navigate(base+"/p/htx-hoa-tu?lang=en"))
	waitFor("English profile", `document.documentElement.lang === "en" && document.body.innerText.includes("Where to buy")`)
	screenshot(t, ctx, "profile-en")
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
