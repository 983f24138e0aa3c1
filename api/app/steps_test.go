package app

import (
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

var idemRE = regexp.MustCompile(`name="idem" value="([^"]+)"`)

// A lot created through the API records steps over the general steps;
// the date a step was done is asked for, bounded, and said in Vietnamese
// when it is wrong; what legitimately repeats is filled in from an earlier
// record, what is measured never is; a mistake is corrected, not edited.
func TestWorkspaceStepsAndCorrections(t *testing.T) {
	e := newEnv(t)
	_, batch := e.clerkSeed(t)
	a := e.appClient(t)
	a.mustLogin("thuky", "mat-khau-123")
	ict := time.FixedZone("", 7*3600)
	now := time.Now().In(ict)

	// The lot has no crop template: it waits for its harvest, and every
	// general step can be chosen.
	r := a.get("/app/batches/" + batch.ID)
	if !strings.Contains(r.body, `id="next-step"`) || !strings.Contains(r.body, "Ghi bước: Thu hoạch") {
		t.Fatalf("an API lot's page: %s", r.body)
	}
	r = a.get("/app/batches/" + batch.ID + "/step?step=spraying")
	for _, want := range []string{`<option value="storing"`, `<option value="sampling"`, `name="date" type="text" inputmode="numeric" placeholder="ngày/tháng/năm" value="` + now.Format("02/01/2006") + `"`,
		`name="hour" type="text" inputmode="numeric" placeholder="giờ:phút" value=""`, `name="v_plot" type="text" value="Ruộng số 7"`, `name="v_dose" type="text" value=""`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("spraying form lacks %s", want)
		}
	}
	post := func(form url.Values) *appResponse {
		t.Helper()
		r := a.get("/app/batches/" + batch.ID + "/step?step=" + form.Get("step"))
		form.Set("idem", idemRE.FindStringSubmatch(r.body)[1])
		return a.postMultipart("/app/batches/"+batch.ID+"/step", form, nil)
	}
	spray := url.Values{"step": {"spraying"}, "v_product": {"Anvil 5SC"}, "v_active_ingredient": {"Hexaconazole"}, "v_dose": {"1 l/ha"},
		"v_phi_days": {"7"}, "v_applied_by": {"Anh Tư"}, "v_plot": {"Ruộng số 7"}}
	// A date in the future, and one years before the lot began.
	spray.Set("date", now.AddDate(0, 0, 2).Format(time.DateOnly))
	r = post(spray)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-date"`) || !strings.Contains(r.body, "chưa tới") {
		t.Fatalf("a spraying dated the day after tomorrow: %d %s", r.status, r.body)
	}
	spray.Set("date", "2019-04-02")
	r = post(spray)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "sớm hơn lúc lô bắt đầu") {
		t.Fatalf("a spraying in 2019: %d %s", r.status, r.body)
	}
	spray.Set("date", "02/04/2026x")
	if r = post(spray); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Ngày không hợp lệ") {
		t.Fatalf("not a date: %d", r.status)
	}
	// Back-dated three days, with the hour.
	sprayed := now.AddDate(0, 0, -3)
	spray.Set("date", sprayed.Format("02/01/2006"))
	spray.Set("hour", "07:00")
	if r = post(spray); r.status != http.StatusSeeOther {
		t.Fatalf("spraying: %d %s", r.status, r.body)
	}
	h, _ := e.history(batch.ID)
	sp := h.Events[len(h.Events)-1]
	if want := sprayed.Format(time.DateOnly) + "T07:00:00+07:00"; sp.EventTime != want || sp.Data["applied_by"] != "Anh Tư" {
		t.Fatalf("spraying recorded at %s (want %s): %v", sp.EventTime, want, sp.Data)
	}
	// The next spraying's form: the product, its ingredient and interval
	// and who did it are filled in; the dose is not.
	r = a.get("/app/batches/" + batch.ID + "/step?step=spraying")
	for _, want := range []string{`name="v_product" type="text" value="Anvil 5SC"`, `name="v_active_ingredient" type="text" value="Hexaconazole"`,
		`name="v_phi_days" type="text" value="7"`, `name="v_applied_by" type="text" value="Anh Tư"`, `name="v_dose" type="text" value=""`, `list="dl-v_product"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("second spraying form lacks %s", want)
		}
	}
	// A harvest by its date alone, inside the interval: the warning says
	// which spraying and how long remains; confirmed with a reason.
	harvest := url.Values{"step": {"harvest"}, "date": {now.AddDate(0, 0, -1).Format(time.DateOnly)}, "quantity": {"1.180,5"}}
	r = post(harvest)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Đã phun Anvil 5SC (Hexaconazole) lúc "+sprayed.Format("02/01/2006")+" 07:00") ||
		!strings.Contains(r.body, "còn 6 ngày") {
		t.Fatalf("harvest inside the interval: %d %s", r.status, r.body)
	}
	harvest.Set("phi_reason", "mưa to")
	if r = post(harvest); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-phi_confirm"`) {
		t.Fatalf("a reason without the confirmation: %d", r.status)
	}
	harvest.Set("phi_confirm", "1")
	if r = post(harvest); r.status != http.StatusSeeOther {
		t.Fatalf("harvest confirmed: %d %s", r.status, r.body)
	}
	h, _ = e.history(batch.ID)
	hv := h.Events[len(h.Events)-1]
	if hv.EventTime != now.AddDate(0, 0, -1).Format(time.DateOnly)+"T00:00:00+07:00" || hv.Quantity.Value != "1180.5" || hv.Data[trace.DataIntervalOverride] != "mưa to" {
		t.Fatalf("harvest %s %+v %v", hv.EventTime, hv.Quantity, hv.Data)
	}

	// The dose was mistyped: correct it. The batch page shows the new
	// value, and on request who corrected it, when and why, and the old value.
	r = a.get("/app/batches/" + batch.ID)
	link := regexp.MustCompile(`href="(/app/batches/[^/]+/correct/` + sp.Hash + `)"`).FindStringSubmatch(r.body)
	if link == nil {
		t.Fatalf("no correction link for the spraying: %s", r.body)
	}
	r = a.get(link[1])
	if r.status != 200 || !strings.Contains(r.body, `name="v_dose" type="text" value="1 l/ha"`) || !strings.Contains(r.body, `value="07:00"`) {
		t.Fatalf("correction form: %d %s", r.status, r.body)
	}
	fix := url.Values{"date": {sprayed.Format(time.DateOnly)}, "hour": {"07:00"}, "v_product": {"Anvil 5SC"}, "v_active_ingredient": {"Hexaconazole"},
		"v_dose": {"0,1 l/ha"}, "v_phi_days": {"7"}, "v_applied_by": {"Anh Tư"}, "v_plot": {"Ruộng số 7"}}
	if r = a.post(link[1], fix); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-reason"`) {
		t.Fatalf("a correction without a reason: %d", r.status)
	}
	fix.Set("reason", "gõ nhầm liều lượng")
	if r = a.post(link[1], fix); r.status != http.StatusSeeOther {
		t.Fatalf("correction: %d %s", r.status, r.body)
	}
	h, _ = e.history(batch.ID)
	c := h.Events[len(h.Events)-1]
	if c.Data[trace.DataCorrects] != sp.Hash || c.Data["dose"] != "0,1 l/ha" || c.EventTime != sp.EventTime || len(h.Events) != 4 {
		t.Fatalf("correction event %+v", c)
	}
	r = a.get("/app/batches/" + batch.ID)
	for _, want := range []string{"Liều lượng: 0,1 l/ha", "Đã sửa (1)", "bởi Thư ký HTX A: gõ nhầm liều lượng", "Trước đó: Liều lượng: 1 l/ha"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("batch page after the correction lacks %q", want)
		}
	}
	if strings.Contains(r.body, "<br><small>Liều lượng: 1 l/ha</small>") {
		t.Error("the old dose is still shown as the step's")
	}
	// A lot's facts record offers no correction here.
	if n := strings.Count(r.body, "/correct/"); n != 2 {
		t.Errorf("%d correction links, want the spraying's and the harvest's", n)
	}

	// Milling into a new lot, which then waits for its packing; its steps
	// cannot be dated before the milling.
	r = a.get("/app/batches/" + batch.ID + "/transform?kind=process")
	if !strings.Contains(r.body, `id="process-form"`) || !strings.Contains(r.body, `<option value="https://truyxuat.vn/voc/bizstep/milling"`) {
		t.Fatalf("process form: %s", r.body)
	}
	r = a.post("/app/batches/"+batch.ID+"/process", url.Values{"p_step": {trace.StepMilling}, "date": {now.Format(time.DateOnly)}, "hour": {""},
		"p_qty_self": {"1000"}, "p_lot": {"LOT-A-XAY"}, "p_out_qty": {"680"}, "p_loss": {"320"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("milling: %d %s", r.status, r.body)
	}
	milled := strings.TrimSuffix(strings.TrimPrefix(r.header.Get("Location"), "/app/batches/"), "?ok=transformed")
	r = a.get("/app/batches/" + milled)
	if !strings.Contains(r.body, "Ghi bước: Đóng gói") {
		t.Fatalf("the milled lot: %s", r.body)
	}
	r = a.get("/app/batches/" + milled + "/step")
	pack := url.Values{"step": {"packing"}, "idem": {idemRE.FindStringSubmatch(r.body)[1]}, "date": {now.AddDate(0, 0, -1).Format(time.DateOnly)}}
	r = a.postMultipart("/app/batches/"+milled+"/step", pack, nil)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "lô được tạo ra bằng bước Xay xát") {
		t.Fatalf("packing before the milling: %d %s", r.status, r.body)
	}
	pack.Set("date", now.Format(time.DateOnly))
	if r = a.postMultipart("/app/batches/"+milled+"/step", pack, nil); r.status != http.StatusSeeOther {
		t.Fatalf("packing: %d %s", r.status, r.body)
	}
}

// The inspector's findings screen speaks Vietnamese: titles, sentences
// with dates day first, lot codes, cooperative names, the most severe
// first.
func TestWorkspaceFindingsInVietnamese(t *testing.T) {
	e := newEnv(t)
	key, batch := e.clerkSeed(t)
	e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": trace.StepSpraying, "event_time": "2026-04-02T07:00:00+07:00",
		"data": map[string]string{"product": "Anvil 5SC", "active_ingredient": "Hexaconazole", "phi_days": "7"}}, 201)
	e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning", "event_time": "2026-04-06T06:00:00+07:00",
		"data": map[string]string{trace.DataIntervalOverride: "mưa bão"}}, 201)
	in := e.newInspector("Trần Thị Mai")
	if err := e.db.CreateUser(&store.User{Username: "kiemtra", Name: "Mai", Role: store.RoleInspector, InspectorID: in.Inspector.ID}, "mat-khau-321"); err != nil {
		t.Fatal(err)
	}
	a := e.appClient(t)
	a.mustLogin("kiemtra", "mat-khau-321")
	r := a.get("/app/findings")
	for _, want := range []string{"Thu hoạch trong thời gian cách ly thuốc bảo vệ thực vật", "CAO",
		"Thu hoạch lúc 06/04/2026 06:00, 4 ngày sau khi phun Anvil 5SC (Hexaconazole) lúc 02/04/2026 07:00; thời gian cách ly của thuốc là 7 ngày.",
		"lý do: mưa bão", "Mở báo cáo lô LOT-A", "HTX A"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("findings screen lacks %q", want)
		}
	}
	for _, raw := range []string{"pre_harvest_interval", "https://truyxuat.vn/voc", "2026-04-06T", ">high<", batch.ID + "<"} {
		if strings.Contains(r.body, raw) {
			t.Errorf("findings screen shows %q", raw)
		}
	}
}

// clerkSeed makes a cooperative with a product, a batch of it and its
// clerk thuky; it returns the cooperative's API key and the batch.
func (e *testEnv) clerkSeed(t *testing.T) (string, api.Batch) {
	t.Helper()
	key, coop, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	if err := e.db.CreateUser(&store.User{Username: "thuky", Name: "Thư ký HTX A", Role: store.RoleCooperative, CooperativeID: coop.ID}, "mat-khau-123"); err != nil {
		t.Fatal(err)
	}
	return key, batch
}

// The labels page offers each format its own layouts, checks the choice
// on one label before sending the file, and says what is wrong next to
// the field, in Vietnamese.
func TestWorkspaceLabels(t *testing.T) {
	e := newEnv(t)
	_, batch := e.clerkSeed(t)
	a := e.appClient(t)
	a.mustLogin("thuky", "mat-khau-123")
	r := a.get("/app/batches/" + batch.ID + "/labels")
	for _, want := range []string{`<option value="a4-3x8" data-kind="sheet"`, `<option value="roll-40x30" data-kind="roll" hidden disabled`,
		"Tờ A4 · 3×8 nhãn 70×37 mm", "Cuộn · nhãn 40×30 mm", "Máy in nhiệt Zebra (ZPL)"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("labels page lacks %s", want)
		}
	}
	r = a.get("/app/batches/" + batch.ID + "/labels?print=1&format=pdf&layout=roll-40x30&count=24")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-layout"`) || !strings.Contains(r.body, "Khổ này là cuộn cho máy in nhiệt") {
		t.Fatalf("a roll for a PDF: %d %s", r.status, r.body)
	}
	r = a.get("/app/batches/" + batch.ID + "/labels?print=1&format=zpl&layout=roll-40x30&dpi=203&count=0")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Số nhãn từ 1 đến 100.000") {
		t.Fatalf("0 labels: %d %s", r.status, r.body)
	}
	r = a.get("/app/batches/" + batch.ID + "/labels?print=1&format=zpl&layout=roll-40x30&dpi=203&count=2")
	if r.status != http.StatusSeeOther {
		t.Fatalf("a 40×30 roll: %d %s", r.status, r.body)
	}
	r = a.get(r.header.Get("Location"))
	if r.status != 200 || strings.Count(r.body, "^XA") != 1 || !strings.Contains(r.body, "^PQ2") {
		t.Fatalf("the ZPL file: %d %.200s", r.status, r.body)
	}
}

// The labels page chooses the label's second language: English by
// default, or Chinese, which names a product without a Chinese name and
// links to where one is added; the file asked for prints it.
func TestWorkspaceLabelsLanguage(t *testing.T) {
	e := newEnv(t)
	key, batch := e.clerkSeed(t)
	a := e.appClient(t)
	a.mustLogin("thuky", "mat-khau-123")
	r := a.get("/app/batches/" + batch.ID + "/labels")
	for _, want := range []string{`<label for="f-label_lang">Ngôn ngữ thứ hai</label>`, `<option value="en" selected>Tiếng Anh</option>`, `<option value="zh">Tiếng Trung</option>`,
		`<span lang="en">ST25 rice</span>`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("labels page lacks %s", want)
		}
	}
	if !strings.Contains(r.body, `<p class="hint" id="no-zh-name" data-lang="zh" hidden>`) {
		t.Error("the missing Chinese name is not kept hidden for English labels")
	}
	r = a.get("/app/batches/" + batch.ID + "/labels?label_lang=zh")
	for _, want := range []string{`<option value="zh" selected>Tiếng Trung</option>`, `<p class="hint" id="no-zh-name" data-lang="zh">`, "Sản phẩm chưa có tên tiếng Trung",
		`<span data-lang="en" hidden><br><span lang="en">ST25 rice</span></span>`,
		`href="/app/registry/products/` + batch.ProductID + `"`} {
		if !strings.Contains(r.body, want) {
			t.Errorf("Chinese labels of a product without a Chinese name: the page lacks %s", want)
		}
	}
	e.do("PUT", "/api/v1/products/"+batch.ProductID, key, api.UpdateProductRequest{GTIN: "8931234567897", NameVI: "Gạo ST25", NameEN: "ST25 rice",
		Category: "rice", OCOPStars: 4, Content: map[string]string{"name_zh": "ST25香米"}}, 200)
	r = a.get("/app/batches/" + batch.ID + "/labels?label_lang=zh")
	if !strings.Contains(r.body, `<span data-lang="zh"><br><span lang="zh-Hans">ST25香米</span></span>`) || strings.Contains(r.body, `id="no-zh-name"`) {
		t.Errorf("Chinese labels of a product with a Chinese name: %s", r.body)
	}
	r = a.get("/app/batches/" + batch.ID + "/labels?print=1&format=pdf&layout=a4-3x8&count=3&label_lang=fr")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-label_lang"`) || !strings.Contains(r.body, "Chọn tiếng Anh hoặc tiếng Trung") {
		t.Fatalf("an unknown language: %d %s", r.status, r.body)
	}
	// Printing English labels leaves the workspace in Vietnamese: the
	// label's language is not the page's (?lang=).
	r = a.get("/app/batches/" + batch.ID + "/labels?print=1&format=pdf&layout=a4-3x8&count=3&label_lang=en")
	if r.status != http.StatusSeeOther || strings.Contains(r.header.Get("Set-Cookie"), "lang=") {
		t.Fatalf("English labels: %d %s %s", r.status, r.header.Get("Location"), r.header.Get("Set-Cookie"))
	}
	if r := a.get("/app/batches/" + batch.ID + "/labels"); !strings.Contains(r.body, "Ngôn ngữ thứ hai") {
		t.Errorf("the workspace left Vietnamese after printing English labels")
	}
	r = a.get("/app/batches/" + batch.ID + "/labels?print=1&format=pdf&layout=a4-3x8&count=3&label_lang=zh")
	if r.status != http.StatusSeeOther || !strings.Contains(r.header.Get("Location"), "lang=zh") {
		t.Fatalf("Chinese labels: %d %s", r.status, r.header.Get("Location"))
	}
	r = a.get(r.header.Get("Location"))
	if r.status != 200 || !strings.HasPrefix(r.body, "%PDF-") {
		t.Fatalf("the PDF: %d %.100s", r.status, r.body)
	}
	pdftotext := needTool(t, "pdftotext")
	p := filepath.Join(t.TempDir(), "labels.pdf")
	if err := os.WriteFile(p, []byte(r.body), 0o644); err != nil {
		t.Fatal(err)
	}
	text, err := exec.Command(pdftotext, "-enc", "UTF-8", p, "-").Output()
	if err != nil || strings.Count(string(text), "ST25香米") != 3 || strings.Count(string(text), "扫码溯源") != 3 {
		t.Errorf("the PDF's text (%v):\n%.600s", err, text)
	}
}

// The farm diary comes out per lot, per plot and per season, as PDF, CSV
// and XLSX; a form with a wrong choice says so next to the field.
func TestWorkspaceDiary(t *testing.T) {
	e := newEnv(t)
	key, batch := e.clerkSeed(t)
	e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": trace.StepSpraying, "event_time": "2026-04-02T07:00:00+07:00",
		"data": map[string]string{"product": "Anvil 5SC", "active_ingredient": "Hexaconazole", "dose": "1 l/ha", "phi_days": "7", "applied_by": "Anh Tư"}}, 201)
	a := e.appClient(t)
	a.mustLogin("thuky", "mat-khau-123")
	r := a.get("/app/diary")
	if r.status != 200 || !strings.Contains(r.body, `<option value="`+batch.ID+`"`) || !strings.Contains(r.body, `<option value="Ruộng số 7"`) {
		t.Fatalf("diary page: %d %s", r.status, r.body)
	}
	for _, c := range []struct{ query, ctype, want string }{
		{"scope=lot&batch=" + batch.ID + "&format=csv", "text/csv; charset=utf-8", "Anvil 5SC"},
		{"scope=plot&plot=Ruộng+số+7&format=csv", "text/csv; charset=utf-8", "Hexaconazole"},
		{"scope=season&from=2026-01-01&to=2026-06-30&format=xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "PK"},
		{"scope=lot&batch=" + batch.ID + "&format=pdf", "application/pdf", "%PDF-"},
	} {
		r := a.get("/app/diary/file?" + c.query)
		if r.status != 200 || r.header.Get("Content-Type") != c.ctype || !strings.Contains(r.body, c.want) || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
			t.Errorf("%s: %d %s %.80q", c.query, r.status, r.header.Get("Content-Type"), r.body)
		}
	}
	// A season that ends before it starts; a season with nothing in it.
	r = a.get("/app/diary/file?scope=season&from=2026-06-30&to=2026-01-01&format=pdf")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-to"`) {
		t.Errorf("a season backwards: %d", r.status)
	}
	if r := a.get("/app/diary/file?scope=season&from=2025-01-01&to=2025-03-01&format=csv"); r.status != 200 || strings.Contains(r.body, "Anvil") {
		t.Errorf("an empty season: %d %s", r.status, r.body)
	}
	if r := a.get("/app/diary/file?scope=lot&format=pdf"); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-batch"`) {
		t.Errorf("no lot chosen: %d", r.status)
	}
}

// An inspector signs an inspection with no verdict chosen for them, a
// sample code, the lab and the lab's report, and recalls a lot, with a
// confirmation and a reason.
func TestWorkspaceInspectorRecordsAndRecalls(t *testing.T) {
	e := newEnv(t)
	_, batch := e.clerkSeed(t)
	in := e.newInspector("Trần Thị Mai")
	if err := e.db.CreateUser(&store.User{Username: "kiemtra", Name: "Mai", Role: store.RoleInspector, InspectorID: in.Inspector.ID}, "mat-khau-321"); err != nil {
		t.Fatal(err)
	}
	a := e.appClient(t)
	a.mustLogin("kiemtra", "mat-khau-321")
	r := a.get("/app/batches/" + batch.ID)
	if !strings.Contains(r.body, `<option value="" selected>— Chọn —</option>`) || !strings.Contains(r.body, `name="sample_id"`) || !strings.Contains(r.body, `name="report" type="file"`) {
		t.Fatalf("inspection form: %s", r.body)
	}
	form := url.Values{"biz_step": {"sampling"}, "lab": {"Trung tâm Kỹ thuật Sóc Trăng"}}
	r = a.postMultipart("/app/batches/"+batch.ID+"/inspect", form, nil)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-disposition"`) || !strings.Contains(r.body, `id="e-sample_id"`) {
		t.Fatalf("an inspection without a verdict: %d %s", r.status, r.body)
	}
	form.Set("disposition", "conformant")
	form.Set("sample_id", "KN-ST-2512-001")
	if r = a.postFile("/app/batches/"+batch.ID+"/inspect", form, "report", testPNG(t)); r.status != http.StatusSeeOther {
		t.Fatalf("sampling: %d %s", r.status, r.body)
	}
	h, _ := e.history(batch.ID)
	s := h.Events[len(h.Events)-1]
	if s.BizStep != "sampling" || s.Data["sample_id"] != "KN-ST-2512-001" || s.Data["lab"] != "Trung tâm Kỹ thuật Sóc Trăng" || len(s.Attachments) != 1 || len(h.Inspectors) != 1 {
		t.Fatalf("the sampling %+v", s)
	}
	r = a.get("/app/batches/" + batch.ID + "/recall")
	if r.status != 200 || !strings.Contains(r.body, "Tôi xác nhận thu hồi lô LOT-A") {
		t.Fatalf("inspector's recall page: %d", r.status)
	}
	if r = a.post("/app/batches/"+batch.ID+"/recall", url.Values{"reason": {"Mẫu vượt mức dư lượng"}, "confirm": {"1"}}); r.status != http.StatusSeeOther {
		t.Fatalf("inspector's recall: %d %s", r.status, r.body)
	}
	h, _ = e.history(batch.ID)
	if h.Recall == nil || h.Recall.Reason != "Mẫu vượt mức dư lượng" {
		t.Fatalf("recall %+v", h.Recall)
	}
}

// Products are created and edited in the workspace, each change signed;
// a person changes their password; an admin resets one and edits a
// cooperative; roles read in Vietnamese.
func TestWorkspaceProductsAndAccounts(t *testing.T) {
	e := newEnv(t)
	_, batch := e.clerkSeed(t)
	a := e.appClient(t)
	a.mustLogin("thuky", "mat-khau-123")
	r := a.get("/app/products")
	if r.status != 200 || !strings.Contains(r.body, "Gạo ST25") {
		t.Fatalf("products: %d %s", r.status, r.body)
	}
	if r = a.post("/app/products", url.Values{"name_vi": {"Gạo ST24 túi 2 kg"}, "gtin": {"8931234567890"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `id="e-category"`) || !strings.Contains(r.body, `id="e-gtin"`) {
		t.Fatalf("a product without its category and a wrong GTIN: %d %s", r.status, r.body)
	}
	if r = a.post("/app/products", url.Values{"name_vi": {"Gạo ST24 túi 2 kg"}, "category": {"Lúa gạo"}, "ocop_stars": {"3"}}); r.status != http.StatusSeeOther {
		t.Fatalf("a product: %d %s", r.status, r.body)
	}
	products, err := e.db.Products(batch.CooperativeID)
	if err != nil || len(products) != 2 {
		t.Fatalf("%d products (%v)", len(products), err)
	}
	var st24 *trace.Product
	for _, p := range products {
		if p.NameVI == "Gạo ST24 túi 2 kg" {
			st24 = p
		}
	}
	if r = a.post("/app/products/"+st24.ID, url.Values{"name_vi": {"Gạo ST24 hữu cơ túi 2 kg"}, "category": {"Lúa gạo"}, "ocop_stars": {"4"}}); r.status != http.StatusSeeOther {
		t.Fatalf("edit: %d %s", r.status, r.body)
	}
	recs, err := e.db.Records(trace.KindProduct, st24.ID)
	if err != nil || len(recs) != 2 {
		t.Fatalf("the product's signed revisions: %d (%v)", len(recs), err)
	}
	// The password: the current one is asked for, then every session ends.
	if r = a.get("/app/account"); !strings.Contains(r.body, "Thư ký hợp tác xã") {
		t.Errorf("the account page does not say the role in Vietnamese")
	}
	if r = a.post("/app/account/password", url.Values{"current": {"sai"}, "new": {"mat-khau-moi-9"}, "again": {"mat-khau-moi-8"}}); r.status != http.StatusUnprocessableEntity ||
		!strings.Contains(r.body, `id="e-current"`) || !strings.Contains(r.body, `id="e-again"`) {
		t.Fatalf("a wrong password change: %d", r.status)
	}
	if r = a.post("/app/account/password", url.Values{"current": {"mat-khau-123"}, "new": {"mat-khau-moi-9"}, "again": {"mat-khau-moi-9"}}); r.status != http.StatusSeeOther {
		t.Fatalf("password change: %d %s", r.status, r.body)
	}
	if r = a.get("/app/batches"); r.status != http.StatusSeeOther {
		t.Errorf("still signed in after the change: %d", r.status)
	}
	a.mustLogin("thuky", "mat-khau-moi-9")
	// The admin resets it and renames the cooperative.
	if err := e.db.CreateUser(&store.User{Username: "quantri", Name: "Admin", Role: store.RoleAdmin}, "mat-khau-789"); err != nil {
		t.Fatal(err)
	}
	ad := e.appClient(t)
	ad.mustLogin("quantri", "mat-khau-789")
	r = ad.get("/app/admin")
	if !strings.Contains(r.body, "thuky</strong> · Thư ký HTX A · Thư ký hợp tác xã · HTX A") {
		t.Errorf("the admin's list of people: %s", r.body)
	}
	if r = ad.post("/app/admin/users/thuky/password", url.Values{"r_password": {"ngan"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "ít nhất 8 ký tự") {
		t.Fatalf("a short reset: %d", r.status)
	}
	if r = ad.post("/app/admin/users/thuky/password", url.Values{"r_password": {"mat-khau-cap-lai"}}); r.status != http.StatusSeeOther {
		t.Fatalf("reset: %d %s", r.status, r.body)
	}
	if r = a.get("/app/batches"); r.status != http.StatusSeeOther {
		t.Error("the clerk is still signed in after the reset")
	}
	if _, err := e.db.CheckPassword("thuky", "mat-khau-cap-lai"); err != nil {
		t.Errorf("the reset password: %v", err)
	}
	if r = ad.post("/app/admin/cooperatives/"+batch.CooperativeID, url.Values{"e_name": {"Hợp tác xã A mới"}, "e_province": {"Sóc Trăng"}, "e_gln": {""}}); r.status != http.StatusSeeOther {
		t.Fatalf("edit cooperative: %d %s", r.status, r.body)
	}
	if c, _ := e.db.Cooperative(batch.CooperativeID); c.Name != "Hợp tác xã A mới" {
		t.Errorf("cooperative %+v", c)
	}
}

func TestDecimalText(t *testing.T) {
	for in, want := range map[string]string{"2.950": "2950", "12.500.000": "12500000", "0,4": "0.4", "1.180,5": "1180.5", "1,200.5": "1200.5",
		"2.95": "2.95", "0.4": "0.4", " 6200 ": "6200", "2.9500": "2.95", "x1": "x1"} {
		if got := decimalText(in); got != want {
			t.Errorf("decimalText(%q) = %q, want %q", in, got, want)
		}
	}
}
