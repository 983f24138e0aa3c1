package app

import (
	"bytes"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"math"
	"net/http"
	"net/url"
	"path"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// The workspace: the web app cooperative staff, inspectors and admins use
// under /app/, server-rendered from static/templates/app_*.html in the
// same catalogues as the consumer page. People sign in with a username
// and password and get a server-side session; every form carries the
// session's CSRF token. The forms call the same server methods as the
// JSON API, so they validate by the same rules.

const (
	sessionCookie = "txs"
	// SessionIdle and SessionMaxAge bound a workspace session.
	SessionIdle   = 12 * time.Hour
	SessionMaxAge = 7 * 24 * time.Hour
	appPageSize   = 20
)

// Workspace is the web app, mounted on a server (Mount). It holds the
// app's templates, its sign-in throttle and the secret its device cookies
// are signed with (signin.go).
type Workspace struct {
	api          *api.Server
	db           store.Store
	keys         store.Keys
	cfg          api.Config
	log          *slog.Logger
	catalogs     map[string]*api.Catalog
	static       fs.FS
	version      string
	tmpl         map[string]*template.Template
	deviceSecret []byte
}

// Mount adds the workspace to a server: its routes under /app/, its error
// pages, and what its requests need of the server's middleware (a photo
// upload keeps the attachment limit, a label file is sent uncompressed).
func Mount(srv *api.Server) (*Workspace, error) {
	catalogs, funcs := srv.Catalogs()
	static, version := srv.Assets()
	all := template.FuncMap{}
	for k, v := range funcs {
		all[k] = v
	}
	for k, v := range appFuncs {
		all[k] = v
	}
	tmpl, err := appTemplates(static, all)
	if err != nil {
		return nil, fmt.Errorf("workspace templates: %w", err)
	}
	w := &Workspace{api: srv, db: srv.DB(), keys: srv.Keys(), cfg: srv.Config(), log: srv.Logger(),
		catalogs: catalogs, static: static, version: version, tmpl: tmpl}
	w.deviceSecret = w.secret()
	srv.ErrorPage(w.errorPage)
	srv.OwnBodyLimit(isAppUpload)
	srv.NoCompress(func(c echo.Context) bool { return c.Path() == "/app/batches/:id/labels/file" })
	w.routes()
	return w, nil
}

// secret is the key of the workspace's device cookies, kept in the key
// directory so that browsers stay known across restarts. Without a key
// directory, or if it cannot be read, a secret for this run only.
func (s *Workspace) secret() []byte {
	if s.keys != nil {
		b, err := s.keys.Secret("workspace-device")
		if err == nil {
			return b
		}
		s.log.Error("workspace device secret; browsers will be known until the next restart only", "error", err)
	}
	b := make([]byte, store.SecretSize)
	rand.Read(b)
	return b
}

// errorPage answers a failed request under /app/ with the app's error page.
func (s *Workspace) errorPage(c echo.Context, p *api.Problem) bool {
	path := c.Request().URL.Path
	if !isAppPath(path) || path == "/app/sw.js" || c.Request().Method == http.MethodHead {
		return false
	}
	if err := s.renderAppError(c, p); err != nil {
		s.log.Error("error page failed", "error", err, "request_id", p.RequestID)
		c.NoContent(p.Status)
	}
	return true
}

// appTemplates parses each app_*.html page with the app layout.
func appTemplates(assets fs.FS, funcs template.FuncMap) (map[string]*template.Template, error) {
	files, err := fs.Glob(assets, "templates/app_*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, f := range files {
		name := strings.TrimSuffix(path.Base(f), ".html")
		if name == "app_layout" {
			continue
		}
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/app_layout.html", f)
		if err != nil {
			return nil, err
		}
		out[name] = t
	}
	return out, nil
}

var appFuncs = template.FuncMap{
	"dict": func(kv ...any) map[string]any {
		m := map[string]any{}
		for i := 0; i+1 < len(kv); i += 2 {
			m[fmt.Sprint(kv[i])] = kv[i+1]
		}
		return m
	},
	"add": func(a, b int) int { return a + b },
	"opts": func(vs ...string) []appOption {
		out := make([]appOption, len(vs))
		for i, v := range vs {
			out[i] = appOption{Value: v, Label: v}
		}
		return out
	},
	"modeOf": func(fieldType string) string {
		if fieldType == "number" {
			return "decimal"
		}
		return ""
	},
}

// appOption is one choice of a select.
type appOption struct{ Value, Label string }

func (s *Workspace) routes() {
	e := s.api.Echo()
	e.GET("/app", func(c echo.Context) error { return c.Redirect(http.StatusSeeOther, "/app/") })
	e.GET("/app/sw.js", s.appServiceWorker)
	e.GET("/app/offline", s.appOffline)
	e.GET("/app/login", s.appLoginPage)
	e.POST("/app/login", s.appLogin)

	all := []store.Role{store.RoleCooperative, store.RoleInspector, store.RoleAdmin}
	everyone := append(slices.Clone(all), store.RoleAgency)
	g := e.Group("/app", s.appSession(all...), s.appCSRF)
	e.POST("/app/logout", s.appLogout, s.appSession(everyone...), s.appCSRF)
	e.GET("/app/", s.appHome, s.appSession(everyone...))
	g.GET("/batches", s.appBatches)
	g.GET("/batches/:id", s.appBatch)
	// Cooperatives recall their lots; inspectors any lot, signing with
	// their own key.
	g.GET("/batches/:id/recall", s.appRecallPage)
	g.POST("/batches/:id/recall", s.appRecall)
	g.GET("/account", s.appAccountPage)
	g.POST("/account/password", s.appChangePassword)
	g.GET("/diary", s.appDiaryPage)
	g.GET("/diary/file", s.appDiaryFile)

	coop := e.Group("/app", s.appSession(store.RoleCooperative, store.RoleAdmin), s.appCSRF)
	coop.GET("/products", s.appProducts)
	coop.POST("/products", s.appCreateProduct)
	coop.GET("/products/:id", s.appProductPage)
	coop.POST("/products/:id", s.appUpdateProduct)
	coop.GET("/batches/new", s.appNewBatchPage)
	coop.POST("/batches/new", s.appNewBatch)
	coop.GET("/batches/:id/step", s.appStepPage)
	coop.POST("/batches/:id/step", s.appStep)
	coop.GET("/batches/:id/correct/:hash", s.appCorrectPage)
	coop.POST("/batches/:id/correct/:hash", s.appCorrect)
	coop.GET("/batches/:id/labels", s.appLabelsPage)
	coop.GET("/batches/:id/labels/file", s.appLabelFile)
	coop.GET("/batches/:id/transform", s.appTransformPage)
	coop.POST("/batches/:id/split", s.appSplit)
	coop.POST("/batches/:id/merge", s.appMerge)
	coop.POST("/batches/:id/process", s.appProcess)

	insp := e.Group("/app", s.appSession(store.RoleInspector, store.RoleAdmin), s.appCSRF)
	insp.GET("/findings", s.appFindings)
	inspOnly := e.Group("/app", s.appSession(store.RoleInspector), s.appCSRF)
	inspOnly.POST("/batches/:id/inspect", s.appInspect)

	admin := e.Group("/app/admin", s.appSession(store.RoleAdmin), s.appCSRF)
	admin.GET("", s.appAdmin)
	admin.POST("/cooperatives", s.appAdminCooperative)
	admin.POST("/inspectors", s.appAdminInspector)
	admin.POST("/users", s.appAdminUser)
	admin.POST("/users/:username/revoke", s.appAdminRevokeSessions)
	admin.POST("/users/:username/disable", s.appAdminDisable)
	admin.POST("/users/:username/password", s.appAdminResetPassword)
	admin.POST("/cooperatives/:id", s.appAdminUpdateCooperative)
	admin.POST("/keys", s.appAdminKey)
	admin.POST("/keys/:id/revoke", s.appAdminRevokeKey)

	s.registryRoutes()
}

// isAppUpload leaves the step form (which may carry a photo) and the
// inspection form (a lab report) to the attachment limit instead of the
// server-wide body limit.
func isAppUpload(c echo.Context) bool {
	return (c.Path() == "/app/batches/:id/step" || c.Path() == "/app/batches/:id/inspect") && c.Request().Method == http.MethodPost || isRegistryUpload(c)
}

// appUser is the signed-in person of a workspace request.
func appUser(c echo.Context) *store.User {
	u, _ := c.Get("app.user").(*store.User)
	return u
}

func appSession(c echo.Context) *store.Session {
	s, _ := c.Get("app.session").(*store.Session)
	return s
}

// appSession requires a live session of a person with one of the roles,
// and makes that person the caller of the shared server methods.
func (s *Workspace) appSession(roles ...store.Role) echo.MiddlewareFunc {
	return func(next echo.HandlerFunc) echo.HandlerFunc {
		return func(c echo.Context) error {
			c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
			u, sess, err := s.currentUser(c)
			if err != nil {
				if c.Request().Method == http.MethodGet {
					return c.Redirect(http.StatusSeeOther, "/app/login?next="+url.QueryEscape(c.Request().URL.RequestURI()))
				}
				return err
			}
			ok := false
			for _, r := range roles {
				ok = ok || u.Role == r
			}
			if !ok {
				return fmt.Errorf("this page is not for a %s account: %w", u.Role, trace.ErrForbidden)
			}
			c.Set("app.user", u)
			c.Set("app.session", sess)
			api.WithCaller(c, &store.APIKey{ID: "user:" + u.Username, Name: u.Name, Role: u.Role,
				CooperativeID: u.CooperativeID, InspectorID: u.InspectorID, Province: u.Province})
			return next(c)
		}
	}
}

func (s *Workspace) currentUser(c echo.Context) (*store.User, *store.Session, error) {
	ck, err := c.Cookie(sessionCookie)
	if err != nil {
		return nil, nil, store.ErrSessionExpired
	}
	sess, err := s.db.SessionFor(ck.Value, SessionIdle, SessionMaxAge)
	if err != nil {
		return nil, nil, err
	}
	u, err := s.db.User(sess.Username)
	if err != nil || u.DisabledAt != nil {
		s.db.EndSession(ck.Value)
		return nil, nil, store.ErrSessionExpired
	}
	return u, sess, nil
}

// errCSRF refuses a form without the session's token or from another site.
var errCSRF = echo.NewHTTPError(http.StatusForbidden, "the form is out of date or came from another site; open the page again and resend")

// sameOrigin checks the Origin and Sec-Fetch-Site of a state-changing request.
func (s *Workspace) sameOrigin(c echo.Context) bool {
	r := c.Request()
	if site := r.Header.Get("Sec-Fetch-Site"); site != "" && site != "same-origin" && site != "none" {
		return false
	}
	origin := r.Header.Get(echo.HeaderOrigin)
	if origin == "" {
		return true
	}
	if origin == c.Scheme()+"://"+r.Host {
		return true
	}
	if u, err := url.Parse(s.cfg.PublicURL); err == nil && s.cfg.PublicURL != "" && origin == u.Scheme+"://"+u.Host {
		return true
	}
	return false
}

// appCSRF checks every POST for the session's CSRF token and the origin.
func (s *Workspace) appCSRF(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Request().Method != http.MethodPost {
			return next(c)
		}
		sess := appSession(c)
		token := c.Request().Header.Get("X-CSRF-Token")
		if token == "" {
			token = c.FormValue("csrf")
		}
		if sess == nil || !s.sameOrigin(c) || token == "" || subtle.ConstantTimeCompare([]byte(token), []byte(sess.CSRF)) != 1 {
			return errCSRF
		}
		return next(c)
	}
}

// appForm is what a form shows: the values typed and the errors by field.
type appForm struct {
	Values map[string]string
	Errors map[string]string
	Error  string // an error not tied to one field
}

func newForm() *appForm { return &appForm{Values: map[string]string{}, Errors: map[string]string{}} }

// V returns a field's value.
func (f *appForm) V(k string) string {
	if f == nil {
		return ""
	}
	return f.Values[k]
}

// E returns a field's error.
func (f *appForm) E(k string) string {
	if f == nil {
		return ""
	}
	return f.Errors[k]
}

// HasErrors reports whether anything is wrong.
func (f *appForm) HasErrors() bool { return f != nil && (len(f.Errors) > 0 || f.Error != "") }

// fieldErrors puts the field errors of err on the form, naming fields by
// mapField (empty: not a field of this form), in the catalogue's language.
// It reports false when err is not about fields at all.
func (f *appForm) fieldErrors(cat *api.Catalog, err error, mapField func(string) string) bool {
	var ve *trace.ValidationError
	var fe *trace.FieldError
	var od *trace.OverdrawError
	var fields []*trace.FieldError
	local := func(r string) string { return localReason(cat, r) }
	switch {
	case errors.As(err, &od):
		// Said in full in both languages by the error itself.
		fields = []*trace.FieldError{{Field: od.Field, Reason: od.Error()}}
		local = func(r string) string {
			if cat.Lang == "en" {
				return od.English()
			}
			return r
		}
	case errors.As(err, &ve):
		fields = ve.Fields
	case errors.As(err, &fe):
		fields = []*trace.FieldError{fe}
	default:
		return false
	}
	for _, fe := range fields {
		msg := local(fe.Reason)
		name := mapField(fe.Field)
		if name == "" {
			if f.Error != "" {
				f.Error += "; "
			}
			f.Error += msg
			continue
		}
		if f.Errors[name] == "" {
			f.Errors[name] = msg
		}
	}
	return true
}

// localReason says a field error in the page's language. The shared rules
// write their reasons in English; the ones a clerk meets most often are
// said here in full in the page's language, the others as the kind of
// problem in the page's language followed by the exact reason.
func localReason(cat *api.Catalog, reason string) string {
	if cat.Lang == "en" {
		return reason
	}
	for _, r := range reasonPatterns {
		m := r.re.FindStringSubmatch(reason)
		if m == nil {
			continue
		}
		msg := cat.Messages[r.key]
		for i, name := range r.re.SubexpNames() {
			v := m[i]
			switch name {
			case "":
				continue
			case "code": // a UN/ECE unit code, said by its name
				if u, ok := cat.Units[v]; ok {
					v = u
				}
			case "max": // 10,000,000 is written 10.000.000 in Vietnamese
				v = strings.ReplaceAll(v, ",", ".")
			}
			msg = strings.ReplaceAll(msg, "{"+name+"}", v)
		}
		if r.full {
			return msg
		}
		return msg + " — " + reason
	}
	return cat.Messages["app_err_invalid"] + " — " + reason
}

// reasonPatterns recognise the English reasons of the shared rules. A
// "full" message says everything the reason says; the others keep the
// reason after the translated kind.
var reasonPatterns = []struct {
	re   *regexp.Regexp
	key  string
	full bool
}{
	{regexp.MustCompile(`use only unaccented ASCII`), "app_err_lot_accents", true},
	{regexp.MustCompile(`not in GS1 character set 82`), "app_err_lot_chars", true},
	{regexp.MustCompile(`at most (?P<n>\d+) characters`), "app_err_too_long", true},
	{regexp.MustCompile(`check digit`), "app_err_check_digit", true},
	{regexp.MustCompile(`form YYYY-MM-DD`), "app_err_date", true},
	{regexp.MustCompile(`must be greater than zero`), "app_err_positive", true},
	{regexp.MustCompile(`unknown unit`), "app_err_unit", true},
	{regexp.MustCompile(`(latitude|longitude) must be|coordinates 0,0`), "app_err_coordinates", true},
	{regexp.MustCompile(`must be at most (?P<max>[\d,]+) (?P<code>[A-Z0-9]{3}) \(`), "app_err_too_large", true},
	{regexp.MustCompile(`contains (?P<char>U\+[0-9A-F]{4}) [A-Z -]+ \(character (?P<n>\d+)\), an invisible control`), "app_err_bidi", true},
	{regexp.MustCompile(`inputs (?P<in>\S+) (?P<unit>\S+), but outputs (?P<out>\S+) \S+ plus loss (?P<loss>\S+)`), "app_err_balance_numbers", true},
	{regexp.MustCompile(`(?i)required|is empty|must not be empty`), "app_err_required", true},
	{regexp.MustCompile(`not in canonical form|is not a decimal|not a number`), "app_err_number_form", true},
	{regexp.MustCompile(`(?i)not a number|decimal|number`), "app_err_number", false},
	{regexp.MustCompile(`a split takes one input lot and makes two or more`), "app_err_split_outputs", true},
	{regexp.MustCompile(`a merge takes two or more input lots and makes one`), "app_err_merge_inputs", true},
	{regexp.MustCompile(`has no events yet; record its harvest first`), "app_err_no_harvest", true},
	{regexp.MustCompile(`all input lots must belong to one cooperative|outputs must be products of the inputs' cooperative`), "app_err_one_cooperative", true},
	{regexp.MustCompile(`say what the processing is`), "app_err_process_step", true},
	{regexp.MustCompile(`cannot add \S+ to \S+; declare a conversion`), "app_err_units_mix", true},
	{regexp.MustCompile(`there is no product`), "app_err_no_product", true},
	{regexp.MustCompile(`unknown crop template`), "app_err_template", true},
	{regexp.MustCompile(`(?i)already|taken`), "app_err_taken", true},
	{regexp.MustCompile(`(?i)balance`), "app_err_balance", false},
}

// appPage is what every workspace template gets.
type appPage struct {
	api.PageData
	User  *store.User
	CSRF  string
	Nav   string
	Flash string
	Form  *appForm
	Data  any
}

func (s *Workspace) appPage(c echo.Context, title, nav string) *appPage {
	cat := s.api.SetLanguage(c)
	if cat.Partial {
		// A language with words for the shopper's page only: the
		// workspace speaks Vietnamese.
		cat = s.catalogs["vi"]
	}
	p := &appPage{PageData: s.api.BasePage(c, cat, title), Nav: nav, User: appUser(c), Form: newForm()}
	if sess := appSession(c); sess != nil {
		p.CSRF = sess.CSRF
	}
	if msg := c.QueryParam("ok"); msg != "" {
		if m, ok := cat.Messages["app_flash_"+msg]; ok {
			p.Flash = m
		}
	}
	p.State = ""
	return p
}

func (s *Workspace) appRender(c echo.Context, status int, name string, p *appPage) error {
	var buf bytes.Buffer
	t := s.tmpl[name]
	if t == nil {
		return fmt.Errorf("no workspace template %s", name)
	}
	if err := t.ExecuteTemplate(&buf, name+".html", p); err != nil {
		return err
	}
	api.PageHeaders(c)
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	return c.HTMLBlob(status, buf.Bytes())
}

// renderAppError is the workspace's page for an error.
func (s *Workspace) renderAppError(c echo.Context, p *api.Problem) error {
	title := http.StatusText(p.Status)
	pg := s.appPage(c, title, "")
	cat := pg.Cat
	key := fmt.Sprintf("app_error_%d", p.Status)
	if _, ok := cat.Messages[key]; !ok {
		key = "app_error_other"
	}
	pg.Title = cat.Messages[key]
	detail := p.Detail
	if p.Status >= 500 {
		detail = ""
	}
	if p.Type == api.ProblemBase+"read-only" {
		// Clerks learn what it means for them; the admin's screen says why.
		pg.Title, detail = cat.Messages["app_error_read_only"], cat.Messages["app_error_read_only_text"]
	}
	pg.Data = map[string]any{"Status": p.Status, "Detail": detail, "RequestID": p.RequestID}
	return s.appRender(c, p.Status, "app_error", pg)
}

func isAppPath(p string) bool { return p == "/app" || strings.HasPrefix(p, "/app/") }

func newToken() string {
	b := make([]byte, 16)
	rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// The sign-in.

type loginData struct {
	Next string
	Wait string
}

func safeNext(next string) string {
	if strings.HasPrefix(next, "/app/") && !strings.HasPrefix(next, "//") && !strings.Contains(next, `\`) {
		return next
	}
	return "/app/"
}

func (s *Workspace) appLoginPage(c echo.Context) error {
	c.Response().Header().Set(echo.HeaderCacheControl, "no-store")
	if _, _, err := s.currentUser(c); err == nil {
		return c.Redirect(http.StatusSeeOther, safeNext(c.QueryParam("next")))
	}
	p := s.appPage(c, "", "login")
	p.Title = p.Cat.Messages["app_login_title"]
	p.Data = loginData{Next: safeNext(c.QueryParam("next"))}
	return s.appRender(c, http.StatusOK, "app_login", p)
}

func (s *Workspace) appLogin(c echo.Context) error {
	p := s.appPage(c, "", "login")
	p.Title = p.Cat.Messages["app_login_title"]
	username := strings.ToLower(strings.TrimSpace(c.FormValue("username")))
	password := c.FormValue("password")
	next := safeNext(c.FormValue("next"))
	p.Data = loginData{Next: next}
	p.Form.Values["username"] = username
	if !s.sameOrigin(c) {
		return errCSRF
	}
	// The buckets this attempt counts in (signin.go): its device's, if
	// the browser signed in to this account before; else the account's
	// and the client address's.
	// Usernames have at most 40 characters: a longer one names no
	// account, and a bucket's key stays small whatever is typed.
	now := s.api.Now()
	account := api.Clip(username, 64)
	buckets := []store.ThrottleKey{{Key: "u:" + account, Free: signInFreeAccount}, {Key: "ip:" + c.RealIP(), Free: signInFreeAddress}}
	if id := s.knownDevice(c, username, now); id != "" {
		buckets = []store.ThrottleKey{{Key: "d:" + id, Free: signInFreeDevice}}
	}
	limiter := s.db.SignInThrottle()
	wait, err := limiter.Wait(now, buckets...)
	if err != nil {
		return err
	}
	if wait > 0 {
		mins := int(math.Ceil(wait.Minutes()))
		p.Form.Error = fmt.Sprintf(p.Cat.Messages["app_login_wait"], mins)
		c.Response().Header().Set("Retry-After", strconv.Itoa(int(math.Ceil(wait.Seconds()))))
		s.log.Warn("sign-in throttled", "username", account, "remote_ip", c.RealIP(), "known_device", len(buckets) == 1, "request_id", api.RequestID(c))
		return s.appRender(c, http.StatusTooManyRequests, "app_login", p)
	}
	if username == "" {
		p.Form.Errors["username"] = p.Cat.Messages["app_err_required"]
	}
	if password == "" {
		p.Form.Errors["password"] = p.Cat.Messages["app_err_required"]
	}
	if p.Form.HasErrors() {
		return s.appRender(c, http.StatusUnprocessableEntity, "app_login", p)
	}
	u, err := s.db.CheckPassword(username, password)
	if errors.Is(err, trace.ErrUnauthenticated) {
		if err := limiter.Fail(now, buckets...); err != nil {
			return err
		}
		p.Form.Error = p.Cat.Messages["app_login_wrong"]
		return s.appRender(c, http.StatusUnauthorized, "app_login", p)
	} else if err != nil {
		return err
	}
	// The account's (or the device's) failures are forgiven; the
	// address's are not, so that one right password cannot clear a
	// place's record of guessing at others.
	if err := limiter.Reset(buckets[0].Key); err != nil {
		return err
	}
	secret, _, err := s.db.CreateSession(u.Username)
	if err != nil {
		return err
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: secret, Path: "/app", HttpOnly: true,
		SameSite: http.SameSiteLaxMode, Secure: s.secureCookies(c), MaxAge: int(SessionMaxAge / time.Second)})
	s.rememberDevice(c, u.Username, now)
	return c.Redirect(http.StatusSeeOther, next)
}

// secureCookies marks the session cookie Secure when the browser reached
// the server over https (directly or through a proxy that says so).
func (s *Workspace) secureCookies(c echo.Context) bool { return c.Scheme() == "https" }

func (s *Workspace) appLogout(c echo.Context) error {
	if ck, err := c.Cookie(sessionCookie); err == nil {
		if err := s.db.EndSession(ck.Value); err != nil {
			return err
		}
	}
	c.SetCookie(&http.Cookie{Name: sessionCookie, Value: "", Path: "/app", HttpOnly: true, SameSite: http.SameSiteLaxMode,
		Secure: s.secureCookies(c), MaxAge: -1})
	return c.Redirect(http.StatusSeeOther, "/app/login?ok=signed_out")
}

func (s *Workspace) appHome(c echo.Context) error {
	switch appUser(c).Role {
	case store.RoleInspector:
		return c.Redirect(http.StatusSeeOther, "/app/findings")
	case store.RoleAdmin:
		return c.Redirect(http.StatusSeeOther, "/app/admin")
	case store.RoleAgency:
		return c.Redirect(http.StatusSeeOther, "/app/registry/agency")
	}
	return s.appBatches(c)
}

// appServiceWorker serves the service worker from /app/ so its scope is the workspace.
func (s *Workspace) appServiceWorker(c echo.Context) error {
	b, err := fs.ReadFile(s.static, "js/app-sw.js")
	if err != nil {
		return err
	}
	b = bytes.ReplaceAll(b, []byte("__VERSION__"), []byte(s.version))
	h := c.Response().Header()
	h.Set("Service-Worker-Allowed", "/app/")
	h.Set(echo.HeaderCacheControl, "no-cache")
	return c.Blob(http.StatusOK, "text/javascript; charset=utf-8", b)
}

// appOffline is the page the service worker shows when a page cannot load.
func (s *Workspace) appOffline(c echo.Context) error {
	p := s.appPage(c, "", "")
	p.Title = p.Cat.Messages["app_offline_title"]
	return s.appRender(c, http.StatusOK, "app_offline", p)
}
