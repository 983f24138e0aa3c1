package app

import (
	"bytes"
	"errors"
	"image"
	"image/color"
	"image/png"
	"io"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// appClient is a browser-like client of the workspace: it keeps cookies
// and does not follow redirects.
type appClient struct {
	t    *testing.T
	e    *testEnv
	http *http.Client
	csrf string
}

func (e *testEnv) appClient(t *testing.T) *appClient {
	jar, _ := cookiejar.New(nil)
	return &appClient{t: t, e: e, http: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

type appResponse struct {
	status int
	header http.Header
	body   string
}

var csrfRE = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

func (a *appClient) do(req *http.Request) *appResponse {
	a.t.Helper()
	if req.Header.Get("Accept-Language") == "" {
		req.Header.Set("Accept-Language", "vi")
	}
	res, err := a.http.Do(req)
	if err != nil {
		a.t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if m := csrfRE.FindStringSubmatch(string(b)); m != nil {
		a.csrf = m[1]
	}
	return &appResponse{status: res.StatusCode, header: res.Header, body: string(b)}
}

func (a *appClient) get(path string) *appResponse {
	a.t.Helper()
	req, _ := http.NewRequest("GET", a.e.srv.URL+path, nil)
	return a.do(req)
}

// post sends a form; the session's CSRF token is added unless the form
// has its own csrf (or "-" to leave it out).
func (a *appClient) post(path string, form url.Values) *appResponse {
	a.t.Helper()
	form = cloneValues(form)
	switch form.Get("csrf") {
	case "":
		form.Set("csrf", a.csrf)
	case "-":
		form.Del("csrf")
	}
	req, _ := http.NewRequest("POST", a.e.srv.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", a.e.srv.URL)
	return a.do(req)
}

func cloneValues(v url.Values) url.Values {
	out := url.Values{}
	for k, vs := range v {
		out[k] = append([]string(nil), vs...)
	}
	return out
}

func (a *appClient) login(username, password string) *appResponse {
	a.t.Helper()
	return a.post("/app/login", url.Values{"username": {username}, "password": {password}, "csrf": {"-"}})
}

// mustLogin signs in and opens the start page (which sets the CSRF token).
func (a *appClient) mustLogin(username, password string) {
	a.t.Helper()
	r := a.login(username, password)
	if r.status != http.StatusSeeOther {
		a.t.Fatalf("sign in as %s: %d %s", username, r.status, r.body)
	}
	a.get("/app/batches")
}

// workspaceSeed makes a cooperative with a product and a clerk; it
// returns the cooperative's id, the product id and a batch of it.
func (e *testEnv) workspaceSeed(t *testing.T, name, gtin, lot, username string) (coopID, productID, batchID string) {
	t.Helper()
	_, coop, batch := e.seed(name, gtin, lot)
	if err := e.db.CreateUser(&store.User{Username: username, Name: "Thư ký " + name, Role: store.RoleCooperative, CooperativeID: coop.ID}, "mat-khau-123"); err != nil {
		t.Fatal(err)
	}
	return coop.ID, batch.ProductID, batch.ID
}

func TestWorkspaceSignIn(t *testing.T) {
	e := newEnv(t)
	e.workspaceSeed(t, "HTX A", "8931234567897", "LOT-A", "thuky")
	a := e.appClient(t)

	// Not signed in: the workspace sends you to sign in.
	r := a.get("/app/batches")
	if r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/app/login?next=") {
		t.Fatalf("anonymous: %d %s", r.status, r.header.Get("Location"))
	}
	r = a.get("/app/login")
	if r.status != 200 || !strings.Contains(r.body, "Đăng nhập") || r.header.Get("Content-Security-Policy") == "" {
		t.Fatalf("login page: %d", r.status)
	}

	// A wrong password: an error on the page, the username kept.
	r = a.login("thuky", "sai-mat-khau")
	if r.status != http.StatusUnauthorized || !strings.Contains(r.body, "Sai tên đăng nhập hoặc mật khẩu") || !strings.Contains(r.body, `value="thuky"`) {
		t.Fatalf("wrong password: %d %s", r.status, r.body)
	}
	// The right one: a session cookie, HttpOnly and SameSite.
	r = a.login("thuky", "mat-khau-123")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/app/" {
		t.Fatalf("sign in: %d %s", r.status, r.body)
	}
	ck := r.header.Get("Set-Cookie")
	if !strings.Contains(ck, "txs=") || !strings.Contains(ck, "HttpOnly") || !strings.Contains(ck, "SameSite=Lax") {
		t.Errorf("cookie %q", ck)
	}
	r = a.get("/app/")
	if r.status != 200 || !strings.Contains(r.body, "LOT-A") {
		t.Fatalf("batches: %d %s", r.status, r.body)
	}
	// English on request, from the same catalogues.
	r = a.get("/app/batches?lang=en")
	if !strings.Contains(r.body, "Sign out") {
		t.Errorf("English page: %s", r.body)
	}

	// Signing out ends the session on the server: the old cookie is dead.
	u, _ := url.Parse(e.srv.URL + "/app")
	old := a.http.Jar.Cookies(u)
	r = a.post("/app/logout", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("logout: %d %s", r.status, r.body)
	}
	b := e.appClient(t)
	b.http.Jar.SetCookies(u, old)
	if r := b.get("/app/batches"); r.status != http.StatusSeeOther {
		t.Fatalf("after sign-out the old cookie still works: %d", r.status)
	}
}

func TestWorkspaceSignInRateLimit(t *testing.T) {
	e := newEnv(t)
	e.workspaceSeed(t, "HTX A", "8931234567897", "LOT-A", "thuky")
	a := e.appClient(t)
	for i := 0; i < signInFreeAccount; i++ {
		if r := a.login("thuky", "sai-mat-khau"); r.status != http.StatusUnauthorized {
			t.Fatalf("try %d: %d", i, r.status)
		}
	}
	// Now even the right password waits, with a clear message.
	r := a.login("thuky", "mat-khau-123")
	if r.status != http.StatusTooManyRequests || !strings.Contains(r.body, "thử lại sau") || r.header.Get("Retry-After") == "" {
		t.Fatalf("after %d failures: %d %s", signInFreeAccount, r.status, r.body)
	}
	// Another person on another device is not held back.
	if err := e.db.CreateUser(&store.User{Username: "thuky2", Name: "B", Role: store.RoleAdmin}, "mat-khau-456"); err != nil {
		t.Fatal(err)
	}
	if r := e.appClient(t).login("thuky2", "mat-khau-456"); r.status != http.StatusSeeOther {
		t.Fatalf("other person: %d", r.status)
	}
}

func TestWorkspaceSessionRevokedAndCSRF(t *testing.T) {
	e := newEnv(t)
	e.workspaceSeed(t, "HTX A", "8931234567897", "LOT-A", "thuky")
	if err := e.db.CreateUser(&store.User{Username: "quantri", Name: "Admin", Role: store.RoleAdmin}, "mat-khau-789"); err != nil {
		t.Fatal(err)
	}
	clerk := e.appClient(t)
	clerk.mustLogin("thuky", "mat-khau-123")

	// A form without the session's CSRF token is refused.
	r := clerk.post("/app/batches/new", url.Values{"csrf": {"-"}, "template": {"rice"}})
	if r.status != http.StatusForbidden {
		t.Fatalf("no CSRF token: %d", r.status)
	}
	r = clerk.post("/app/batches/new", url.Values{"csrf": {"wrong"}, "template": {"rice"}})
	if r.status != http.StatusForbidden {
		t.Fatalf("wrong CSRF token: %d", r.status)
	}
	// Nor from another site, even with the token.
	form := url.Values{"csrf": {clerk.csrf}, "template": {"rice"}}
	req, _ := http.NewRequest("POST", e.srv.URL+"/app/batches/new", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Origin", "https://evil.example")
	if r := clerk.do(req); r.status != http.StatusForbidden {
		t.Fatalf("cross-site: %d", r.status)
	}
	// A clerk is no admin.
	if r := clerk.get("/app/admin"); r.status != http.StatusForbidden {
		t.Fatalf("clerk on admin page: %d", r.status)
	}

	// The admin signs the clerk out everywhere.
	admin := e.appClient(t)
	admin.mustLogin("quantri", "mat-khau-789")
	r = admin.get("/app/admin")
	if r.status != 200 || !strings.Contains(r.body, "thuky") || !strings.Contains(r.body, "1 phiên đăng nhập") {
		t.Fatalf("admin page: %d %s", r.status, r.body)
	}
	r = admin.post("/app/admin/users/thuky/revoke", nil)
	if r.status != http.StatusSeeOther {
		t.Fatalf("revoke: %d %s", r.status, r.body)
	}
	if r := clerk.get("/app/batches"); r.status != http.StatusSeeOther || !strings.HasPrefix(r.header.Get("Location"), "/app/login") {
		t.Fatalf("revoked session still works: %d", r.status)
	}
}

func TestSessionExpiry(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2025, 8, 1, 8, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	db, err := store.Open(t.TempDir()+"/t.db", store.Options{Now: clock})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	advance := func(d string) {
		dd, _ := time.ParseDuration(d)
		mu.Lock()
		now = now.Add(dd)
		mu.Unlock()
	}
	secret, _, err := db.CreateSession("thuky")
	if err != nil {
		t.Fatal(err)
	}
	// Used every few hours, it lives until the maximum age.
	for i := 0; i < 15; i++ {
		advance("11h")
		if _, err := db.SessionFor(secret, SessionIdle, SessionMaxAge); err != nil {
			t.Fatalf("after %d × 11 h: %v", i+1, err)
		}
	}
	advance("11h") // 176 h > 7 days
	if _, err := db.SessionFor(secret, SessionIdle, SessionMaxAge); err == nil {
		t.Fatal("session outlived its maximum age")
	}
	// Left idle longer than 12 hours, it ends.
	secret, _, _ = db.CreateSession("thuky")
	advance("12h1m")
	if _, err := db.SessionFor(secret, SessionIdle, SessionMaxAge); err == nil {
		t.Fatal("idle session still alive")
	}
}

func TestWorkspaceOtherCooperativeBatch(t *testing.T) {
	e := newEnv(t)
	e.workspaceSeed(t, "HTX A", "8931234567897", "LOT-A", "thuky")
	_, _, otherBatch := e.workspaceSeed(t, "HTX B", "8931234567804", "LOT-B", "thukyb")
	a := e.appClient(t)
	a.mustLogin("thuky", "mat-khau-123")
	for _, p := range []string{"/app/batches/" + otherBatch, "/app/batches/" + otherBatch + "/step", "/app/batches/" + otherBatch + "/labels",
		"/app/batches/" + otherBatch + "/labels/file?format=pdf"} {
		r := a.get(p)
		if r.status != http.StatusNotFound || !strings.Contains(r.body, "Không tìm thấy") {
			t.Errorf("%s: %d %.300s", p, r.status, r.body)
		}
	}
	r := a.post("/app/batches/"+otherBatch+"/recall", url.Values{"reason": {"thử"}, "confirm": {"1"}})
	if r.status != http.StatusNotFound {
		t.Errorf("recall another's batch: %d", r.status)
	}
	if r := a.get("/app/batches"); strings.Contains(r.body, "LOT-B") {
		t.Error("the list shows another cooperative's batch")
	}
}

func TestWorkspaceSeason(t *testing.T) {
	e := newEnv(t)
	_, productID, _ := e.workspaceSeed(t, "HTX A", "8931234567897", "LOT-A", "thuky")
	a := e.appClient(t)
	a.mustLogin("thuky", "mat-khau-123")

	// Errors are shown next to their fields, in Vietnamese, with what was typed.
	r := a.post("/app/batches/new", url.Values{"template": {"rice"}, "product": {productID}, "lot": {"LÔ SAI"}, "quantity": {"abc"}, "unit": {"KGM"}})
	if r.status != http.StatusUnprocessableEntity {
		t.Fatalf("invalid batch: %d %s", r.status, r.body)
	}
	for _, want := range []string{`id="e-lot"`, `value="LÔ SAI"`, `value="abc"`, `aria-invalid="true"`, "Mã lô chỉ dùng chữ không dấu"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("invalid batch page lacks %q", want)
		}
	}
	r = a.post("/app/batches/new", url.Values{"template": {"rice"}, "product": {productID}, "lot": {"ST25-W1"}, "quantity": {"5000"}, "unit": {"KGM"},
		"harvest_date": {"2025-08-15"}, "plot": {"Ruộng số 3"}, "lat": {"9,47"}, "lon": {"105.93"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("create: %d %s", r.status, r.body)
	}
	loc := r.header.Get("Location")
	id := strings.TrimPrefix(strings.Split(loc, "?")[0], "/app/batches/")
	r = a.get(loc)
	if !strings.Contains(r.body, "Đã tạo lô hàng") || !strings.Contains(r.body, "Gieo sạ") {
		t.Fatalf("batch page: %s", r.body)
	}

	// The step form is prefilled from the template.
	r = a.get("/app/batches/" + id + "/step")
	if !strings.Contains(r.body, `name="v_seed_variety" type="text" value="ST25"`) {
		t.Fatalf("sowing not prefilled: %s", r.body)
	}
	idem := regexp.MustCompile(`name="idem" value="([^"]+)"`).FindStringSubmatch(r.body)[1]
	sow := url.Values{"step": {"sowing"}, "idem": {idem}, "v_seed_variety": {"ST25"}, "v_seed_rate_kg_ha": {"90"}, "device_time": {"2025-05-05T06:00:00+07:00"}}
	for i := 0; i < 2; i++ {
		if r := a.postMultipart("/app/batches/"+id+"/step", sow, nil); r.status != http.StatusSeeOther {
			t.Fatalf("sowing (%d): %d %s", i, r.status, r.body)
		}
	}
	hist, _ := e.history(id)
	if len(hist.Events) != 2 {
		t.Fatalf("the same idempotency key twice recorded %d events", len(hist.Events)-1)
	}
	if ev := hist.Events[1]; ev.Data["device_time"] != "2025-05-04T23:00:00Z" || ev.EventTime != "2025-05-05T06:00:00+07:00" {
		t.Errorf("device time: %+v %s", ev.Data, ev.EventTime)
	}
	// The same through the API: the key answers the first event.
	hdr := map[string]string{"Idempotency-Key": "k-1", "Content-Type": "application/json"}
	for i, want := range []int{201, 200} {
		res := e.send("POST", "/api/v1/batches/"+id+"/steps", e.adminKey, hdr, []byte(`{"step":"fertilizing"}`))
		if res.status != want {
			t.Fatalf("API step %d: %d %s", i, res.status, res.body)
		}
	}
	if hist, _ := e.history(id); len(hist.Events) != 3 {
		t.Fatalf("API idempotency: %d events", len(hist.Events))
	}

	// Spraying without the pre-harvest interval: the error by the field, values kept.
	r = a.get("/app/batches/" + id + "/step?step=spraying")
	idem = regexp.MustCompile(`name="idem" value="([^"]+)"`).FindStringSubmatch(r.body)[1]
	spray := url.Values{"step": {"spraying"}, "idem": {idem}, "v_product": {"Filia 525SE"}, "v_phi_days": {""}}
	r = a.postMultipart("/app/batches/"+id+"/step", spray, nil)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-v_phi_days"`) || !strings.Contains(r.body, "Cần nhập ô này") ||
		!strings.Contains(r.body, `value="Filia 525SE"`) {
		t.Fatalf("spraying without PHI: %d %s", r.status, r.body)
	}
	spray.Set("v_phi_days", "14")
	spray.Set("v_active_ingredient", "Propiconazole")
	spray.Set("v_dose", "0,4 l/ha")
	photo := testPNG(t)
	if r := a.postMultipart("/app/batches/"+id+"/step", spray, photo); r.status != http.StatusSeeOther {
		t.Fatalf("spraying: %d %s", r.status, r.body)
	}
	hist, _ = e.history(id)
	if n := len(hist.Events); n != 4 || len(hist.Events[3].Attachments) != 1 || hist.Events[3].Attachments[0].MediaType != "image/png" {
		t.Fatalf("spraying with photo: %+v", hist.Events[n-1])
	}
	// Harvest: the quantity is weighed, never copied from the lot; the
	// spraying's 14 days have not passed, which the form says before
	// anything is sent.
	r = a.get("/app/batches/" + id + "/step")
	if !strings.Contains(r.body, `name="quantity" type="text" value=""`) || !strings.Contains(r.body, `id="phi-warning"`) ||
		strings.Contains(r.body, `id="phi-warning" data-days-left="còn {n} ngày" data-hours-left="còn {n} giờ" hidden`) ||
		!strings.Contains(r.body, "Đã phun Filia 525SE (Propiconazole)") || !strings.Contains(r.body, "còn 14 ngày") {
		t.Fatalf("harvest form: %s", r.body)
	}
	idem = regexp.MustCompile(`name="idem" value="([^"]+)"`).FindStringSubmatch(r.body)[1]
	today := time.Now().In(time.FixedZone("", 7*3600)).Format(time.DateOnly)
	harvest := url.Values{"step": {"harvest"}, "idem": {idem}, "date": {today}, "quantity": {""}}
	r = a.postMultipart("/app/batches/"+id+"/step", harvest, nil)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-quantity"`) {
		t.Fatalf("harvest without its quantity: %d %s", r.status, r.body)
	}
	harvest.Set("quantity", "4800")
	r = a.postMultipart("/app/batches/"+id+"/step", harvest, nil)
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-phi_reason"`) || !strings.Contains(r.body, "Chưa hết thời gian cách ly") {
		t.Fatalf("harvest inside the interval: %d %s", r.status, r.body)
	}
	harvest.Set("phi_confirm", "1")
	harvest.Set("phi_reason", "Bão số 5 sắp vào, phải thu gấp")
	if r := a.postMultipart("/app/batches/"+id+"/step", harvest, nil); r.status != http.StatusSeeOther {
		t.Fatalf("harvest confirmed: %d %s", r.status, r.body)
	}
	hist, _ = e.history(id)
	if ev := hist.Events[len(hist.Events)-1]; ev.Data[trace.DataIntervalOverride] != "Bão số 5 sắp vào, phải thu gấp" || ev.Quantity == nil || ev.Quantity.Value != "4800" {
		t.Fatalf("the confirmed harvest: %+v", ev)
	}
	if r := a.get("/app/batches/" + id); !strings.Contains(r.body, "Bão số 5 sắp vào") {
		t.Errorf("the batch page does not show the reason")
	}

	// Labels: the preview PNG and the PDF download.
	r = a.get("/app/batches/" + id + "/labels")
	if r.status != 200 || !strings.Contains(r.body, "a4-3x8") {
		t.Fatalf("labels page: %d", r.status)
	}
	if r := a.get("/app/batches/" + id + "/labels/file?format=png&scale=4"); r.status != 200 || r.header.Get("Content-Type") != "image/png" {
		t.Fatalf("preview: %d %s", r.status, r.header.Get("Content-Type"))
	}
	r = a.get("/app/batches/" + id + "/labels/file?format=pdf&layout=a4-3x8&count=24")
	if r.status != 200 || !strings.HasPrefix(r.body, "%PDF-") || !strings.Contains(r.header.Get("Content-Disposition"), "attachment") {
		t.Fatalf("pdf: %d %.100s", r.status, r.body)
	}

	// Split: quantities that do not balance are shown, then a good split.
	r = a.post("/app/batches/"+id+"/split", url.Values{"in_qty_self": {"4800"}, "out_lot_0": {"ST25-W1A"}, "out_qty_0": {"3000"}, "out_lot_1": {"ST25-W1B"}, "out_qty_1": {"1000"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `value="ST25-W1B"`) {
		t.Fatalf("unbalanced split: %d %s", r.status, r.body)
	}
	r = a.post("/app/batches/"+id+"/split", url.Values{"in_qty_self": {"4800"}, "out_lot_0": {"ST25-W1A"}, "out_qty_0": {"3000"}, "out_lot_1": {"ST25-W1B"}, "out_qty_1": {"1800"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("split: %d %s", r.status, r.body)
	}
	// Recall: the reason is required.
	if r := a.post("/app/batches/"+id+"/recall", url.Values{"reason": {" "}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-reason"`) {
		t.Fatalf("recall without reason: %d %s", r.status, r.body)
	}
	// Without the confirmation, nothing is recalled.
	if r := a.post("/app/batches/"+id+"/recall", url.Values{"reason": {"Dư lượng thuốc vượt mức"}}); r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-confirm"`) {
		t.Fatalf("recall without confirmation: %d %s", r.status, r.body)
	}
	if r := a.post("/app/batches/"+id+"/recall", url.Values{"reason": {"Dư lượng thuốc vượt mức"}, "confirm": {"1"}}); r.status != http.StatusSeeOther {
		t.Fatalf("recall: %d %s", r.status, r.body)
	}
	if r := a.get("/app/batches/" + id); !strings.Contains(r.body, "Đã thu hồi") {
		t.Errorf("recalled batch page: %s", r.body)
	}
}

func TestWorkspaceInspectorAndAdmin(t *testing.T) {
	e := newEnv(t)
	_, _, batchID := e.workspaceSeed(t, "HTX A", "8931234567897", "LOT-A", "thuky")
	in := e.newInspector("Trần Thị Mai")
	if err := e.db.CreateUser(&store.User{Username: "kiemtra", Name: "Mai", Role: store.RoleInspector, InspectorID: in.Inspector.ID}, "mat-khau-321"); err != nil {
		t.Fatal(err)
	}
	insp := e.appClient(t)
	if r := insp.login("kiemtra", "mat-khau-321"); r.status != http.StatusSeeOther {
		t.Fatal(r.status)
	}
	r := insp.get("/app/")
	if r.status != http.StatusSeeOther || r.header.Get("Location") != "/app/findings" {
		t.Fatalf("inspector home: %d %s", r.status, r.header.Get("Location"))
	}
	r = insp.get("/app/findings")
	if r.status != 200 || !strings.Contains(r.body, "lô đã kiểm tra") {
		t.Fatalf("findings: %d %s", r.status, r.body)
	}
	r = insp.get("/app/batches/" + batchID)
	if r.status != 200 || !strings.Contains(r.body, `id="inspect"`) {
		t.Fatalf("report: %d %s", r.status, r.body)
	}
	r = insp.post("/app/batches/"+batchID+"/inspect", url.Values{"biz_step": {"inspecting"}, "disposition": {"conformant"}, "note": {"Đạt"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("inspection: %d %s", r.status, r.body)
	}
	hist, _ := e.history(batchID)
	if len(hist.Inspectors) != 1 || !hist.Verified {
		t.Fatalf("inspection not signed by the inspector: %+v", hist.Inspectors)
	}
	if r := insp.get("/app/batches/new"); r.status != http.StatusForbidden {
		t.Errorf("inspector creating a batch: %d", r.status)
	}

	if err := e.db.CreateUser(&store.User{Username: "quantri", Name: "Admin", Role: store.RoleAdmin}, "mat-khau-789"); err != nil {
		t.Fatal(err)
	}
	admin := e.appClient(t)
	admin.mustLogin("quantri", "mat-khau-789")
	r = admin.get("/app/admin")
	if r.status != 200 || !strings.Contains(r.body, "Sổ cái minh bạch") {
		t.Fatalf("admin: %d", r.status)
	}
	// A person with a short password: the error by the field.
	r = admin.post("/app/admin/users", url.Values{"u_username": {"moi"}, "u_name": {"Người mới"}, "u_password": {"ngan"}, "u_role": {"admin"}})
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, `id="e-u_password"`) || !strings.Contains(r.body, `value="Người mới"`) {
		t.Fatalf("short password: %d %s", r.status, r.body)
	}
	r = admin.post("/app/admin/keys", url.Values{"k_name": {"máy cân"}, "k_role": {"admin"}})
	if r.status != http.StatusCreated || !strings.Contains(r.body, "txk_") {
		t.Fatalf("new key: %d %s", r.status, r.body)
	}
}

func (a *appClient) postMultipart(path string, form url.Values, photo []byte) *appResponse {
	a.t.Helper()
	return a.postFile(path, form, "photo", photo)
}

// postFile sends a multipart form with a file in the named field.
func (a *appClient) postFile(path string, form url.Values, field string, photo []byte) *appResponse {
	a.t.Helper()
	var buf bytes.Buffer
	w := multipart.NewWriter(&buf)
	w.WriteField("csrf", a.csrf)
	for k, vs := range form {
		for _, v := range vs {
			w.WriteField(k, v)
		}
	}
	if photo != nil {
		fw, _ := w.CreateFormFile(field, "ruong.png")
		fw.Write(photo)
	}
	w.Close()
	req, _ := http.NewRequest("POST", a.e.srv.URL+path, &buf)
	req.Header.Set("Content-Type", w.FormDataContentType())
	return a.do(req)
}

func testPNG(t *testing.T) []byte {
	img := image.NewRGBA(image.Rect(0, 0, 16, 16))
	for i := range 16 {
		img.Set(i, i, color.RGBA{0, 128, 0, 255})
	}
	var buf bytes.Buffer
	if err := png.Encode(&buf, img); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestLocalReasonInVietnamese(t *testing.T) {
	cats, _ := newEnv(t).server.Catalogs()
	vi := cats["vi"]
	for _, tt := range []struct {
		err  error
		want string
	}{
		{trace.ValidateLot("LÔ1"), "Mã lô chỉ dùng chữ không dấu"},
		{trace.ValidateLot("ABCDEFGHIJKLMNOPQRSTU"), "tối đa 20 ký tự"},
		{func() error { _, err := trace.NormalizeGTIN("8931234567890"); return err }(), "Sai số kiểm tra"},
		{trace.CheckBalance([]trace.Input{{Batch: "a", Quantity: &trace.Quantity{Value: "100", Unit: "KGM"}}},
			[]trace.Output{{Batch: "b", Quantity: &trace.Quantity{Value: "90", Unit: "KGM"}}}, nil, nil), "vào 100, ra 90, hao hụt 0 (KGM)"},
		{trace.ValidateText("note", "Liều \u202e02", trace.MaxNoteLen, false), "vô hình U+202E (ký tự thứ 6)"},
		{trace.Quantity{Value: "20000", Unit: "TNE"}.Validate(), "tối đa 10.000 tấn cho một lượng"},
	} {
		var fe *trace.FieldError
		reason := tt.err.Error()
		if errors.As(tt.err, &fe) {
			reason = fe.Reason
		}
		got := localReason(vi, reason)
		if !strings.Contains(got, tt.want) || strings.Contains(got, " — ") {
			t.Errorf("%q → %q, want it to say %q in Vietnamese only", reason, got, tt.want)
		}
	}
}

// TestReadOnlyWorkspace: once the store is read-only (as after an older
// copy of the data file was put back), a clerk's write is answered in
// Vietnamese without the figures only the operator needs, and the admin's
// screen says why.
func TestReadOnlyWorkspace(t *testing.T) {
	e := newEnv(t)
	_, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	for _, u := range []*store.User{
		{Username: "thuky", Name: "Thư ký", Role: store.RoleCooperative, CooperativeID: batch.CooperativeID},
		{Username: "quantri", Name: "Admin", Role: store.RoleAdmin},
	} {
		if err := e.db.CreateUser(u, "mat-khau-123"); err != nil {
			t.Fatal(err)
		}
	}
	e.db.SetReadOnly(store.BehindError("the data file", 537, 1784, "recorded in "+store.PublishedFile))
	clerk := e.appClient(t)
	clerk.mustLogin("thuky", "mat-khau-123")
	r := clerk.post("/app/batches/"+batch.ID+"/recall", url.Values{"reason": {"Dư lượng thuốc vượt mức"}, "confirm": {"1"}})
	if r.status != http.StatusServiceUnavailable || !strings.Contains(r.body, "Hệ thống tạm ngừng ghi dữ liệu mới") || strings.Contains(r.body, "1784") {
		t.Errorf("clerk's recall while read-only: %d %s", r.status, r.body)
	}
	admin := e.appClient(t)
	admin.mustLogin("quantri", "mat-khau-123")
	r = admin.get("/app/admin")
	if r.status != 200 || !strings.Contains(r.body, `id="read-only"`) || !strings.Contains(r.body, "1784") {
		t.Errorf("admin page while read-only: %d", r.status)
	}
}

// TestWorkspaceSplitOverdraw: a split that would take more from a lot
// than it has left is refused by the field, in the clerk's words, and
// the form offers what is left.
func TestWorkspaceSplitOverdraw(t *testing.T) {
	e := newEnv(t)
	key, coop, a := e.seed("HTX A", "8931234567897", "LOT-A")
	e.do("POST", "/api/v1/batches/"+a.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"event_time": "2025-08-15T06:30:00+07:00"}, 201)
	if err := e.db.CreateUser(&store.User{Username: "thuky", Name: "Thư ký", Role: store.RoleCooperative, CooperativeID: coop.ID}, "mat-khau-123"); err != nil {
		t.Fatal(err)
	}
	clerk := e.appClient(t)
	clerk.mustLogin("thuky", "mat-khau-123")
	split := func(in, x, y string) *appResponse {
		return clerk.post("/app/batches/"+a.ID+"/split", url.Values{"in_qty_self": {in},
			"out_lot_0": {"LOT-A-" + x}, "out_qty_0": {x}, "out_lot_1": {"LOT-A-" + y + "B"}, "out_qty_1": {y}})
	}
	if r := split("1000", "600", "400"); r.status != http.StatusSeeOther {
		t.Fatalf("first split: %d %s", r.status, r.body)
	}
	if r := clerk.get("/app/batches/" + a.ID + "/transform"); !strings.Contains(r.body, `value="250"`) {
		t.Errorf("split form does not offer the 250 kg left: %s", r.body)
	}
	r := split("1000", "500", "500")
	if r.status != http.StatusUnprocessableEntity || !strings.Contains(r.body, "Lô LOT-A có 1.250 kg, đã lấy ra 1.000 kg") {
		t.Errorf("over-drawing split: %d %s", r.status, r.body)
	}
}

// TestEveryFindingHasAName: the inspector's screens name every kind of
// finding in each language.
func TestEveryFindingHasAName(t *testing.T) {
	e := newEnv(t)
	cats, _ := e.server.Catalogs()
	for _, kind := range []string{trace.FindingPreHarvestInterval, trace.FindingOutOfOrder, trace.FindingFutureEvent,
		trace.FindingUnbalanced, trace.FindingCopiedValues, trace.FindingVerification, trace.FindingOverdrawn, trace.FindingCertificateInvalid} {
		for lang, cat := range cats {
			if cat.Messages["finding_"+kind] == "" {
				t.Errorf("%s: no name for finding %s", lang, kind)
			}
		}
		// The findings screen and truyxuat inspect name it too.
		for _, lang := range []string{"vi", "en"} {
			if title := trace.FindingTitle(kind, lang); strings.Contains(title, "_") || title == strings.ReplaceAll(kind, "_", " ") {
				t.Errorf("%s: finding %s has no title", lang, kind)
			}
		}
	}
}
