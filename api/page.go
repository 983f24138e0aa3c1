package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"html/template"
	"io/fs"
	"mime"
	"net/http"
	"net/url"
	"path"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// The consumer page: what a shopper sees after scanning a label. It is
// server-rendered with html/template (which escapes everything), in the
// shopper's language from one message catalogue per language, and carries a
// small script that verifies the history in the shopper's own browser.

// Catalog is one language's messages (static/i18n/<lang>.json).
type Catalog struct {
	Lang           string            `json:"lang"`
	Name           string            `json:"name"`
	Messages       map[string]string `json:"messages"`
	Steps          map[string]string `json:"steps"`
	Certifications map[string]string `json:"certifications"`
	Units          map[string]string `json:"units"`
	Fields         map[string]string `json:"fields"` // names of step fields (event data)
	// Partial marks a catalogue that left texts out (filled in from
	// English): fine for a shopper's page, not for a whole workspace.
	Partial bool `json:"-"`
}

const defaultLang = "vi"

type pages struct {
	tmpl     map[string]*template.Template
	catalogs map[string]*Catalog
	langs    []string // in display order, the default first
	static   fs.FS
	version  string // hash of the assets, for cache busting
	funcs    template.FuncMap

	// The consumer page carries its script and stylesheet inline, so a
	// shopper on a slow link waits for one round trip, not two; the page's
	// Content-Security-Policy allows exactly these (by their SHA-256) and
	// nothing else inline.
	inlineJS  template.JS
	inlineCSS template.CSS
	batchCSP  string
}

func newPages(assets fs.FS) (*pages, error) {
	p := &pages{tmpl: map[string]*template.Template{}, catalogs: map[string]*Catalog{}, static: assets}
	files, err := fs.Glob(assets, "i18n/*.json")
	if err != nil || len(files) == 0 {
		return nil, fmt.Errorf("no message catalogues in i18n/")
	}
	for _, f := range files {
		b, err := fs.ReadFile(assets, f)
		if err != nil {
			return nil, err
		}
		var c Catalog
		if err := json.Unmarshal(b, &c); err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		if c.Lang == "" || c.Lang+".json" != path.Base(f) {
			return nil, fmt.Errorf("%s: lang %q does not match the file name", f, c.Lang)
		}
		p.catalogs[c.Lang] = &c
		p.langs = append(p.langs, c.Lang)
	}
	if p.catalogs[defaultLang] == nil {
		return nil, fmt.Errorf("no %s catalogue", defaultLang)
	}
	// A catalogue may leave out what it has no words for yet (the
	// workspace's texts in a shopper-only language): those fall back to
	// English, then Vietnamese, never to a bare key.
	for _, fb := range []string{"en", defaultLang} {
		base := p.catalogs[fb]
		if base == nil {
			continue
		}
		for _, c := range p.catalogs {
			fillMissing(c, &c.Messages, base.Messages)
			fillMissing(c, &c.Steps, base.Steps)
			fillMissing(c, &c.Certifications, base.Certifications)
			fillMissing(c, &c.Units, base.Units)
			fillMissing(c, &c.Fields, base.Fields)
		}
	}
	sort.Slice(p.langs, func(i, j int) bool {
		if (p.langs[i] == defaultLang) != (p.langs[j] == defaultLang) {
			return p.langs[i] == defaultLang
		}
		return p.langs[i] < p.langs[j]
	})
	funcs := template.FuncMap{
		"t": func(c *Catalog, key string) string {
			if m, ok := c.Messages[key]; ok {
				return m
			}
			return key
		},
		"stars": func(n int) string { return strings.Repeat("★", n) },
	}
	p.funcs = funcs
	for _, name := range []string{"batch", "error"} {
		t, err := template.New(name).Funcs(funcs).ParseFS(assets, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, err
		}
		p.tmpl[name] = t
	}
	h := sha256.New()
	err = fs.WalkDir(assets, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(assets, name)
		h.Write([]byte(name))
		h.Write(b)
		return err
	})
	if err != nil {
		return nil, err
	}
	p.version = hex.EncodeToString(h.Sum(nil))[:12]
	js, err := fs.ReadFile(assets, "js/verify.js")
	if err != nil {
		return nil, err
	}
	css, err := fs.ReadFile(assets, "css/page.css")
	if err != nil {
		return nil, err
	}
	js = compactScript(js)
	if bytes.Contains(js, []byte("</script")) || bytes.Contains(css, []byte("</style")) {
		return nil, fmt.Errorf("an inline asset would close its element")
	}
	p.inlineJS, p.inlineCSS = template.JS(js), template.CSS(css)
	sum := func(b []byte) string {
		h := sha256.Sum256(b)
		return "'sha256-" + base64.StdEncoding.EncodeToString(h[:]) + "'"
	}
	p.batchCSP = strings.Replace(strings.Replace(pageCSP, "script-src 'self'", "script-src 'self' "+sum(js), 1),
		"style-src 'self'", "style-src 'self' "+sum(css), 1)
	return p, nil
}

// compactScript drops the lines of a script that are only a comment and
// the indentation of the others: fewer bytes for a shopper on a slow link,
// the same program (the script has no string spanning lines).
func compactScript(js []byte) []byte {
	var out bytes.Buffer
	for _, line := range bytes.Split(js, []byte("\n")) {
		line = bytes.TrimLeft(line, " \t")
		if len(line) == 0 || bytes.HasPrefix(line, []byte("//")) {
			continue
		}
		out.Write(line)
		out.WriteByte('\n')
	}
	return out.Bytes()
}

func fillMissing(c *Catalog, m *map[string]string, from map[string]string) {
	if *m == nil {
		*m = map[string]string{}
	}
	for k, v := range from {
		if _, ok := (*m)[k]; !ok {
			(*m)[k] = v
			c.Partial = true
		}
	}
}

// language picks the page language: ?lang=, then the lang cookie, then
// Accept-Language, then Vietnamese.
func (p *pages) language(c echo.Context) (lang string, explicit bool) {
	if l := c.QueryParam("lang"); p.catalogs[l] != nil {
		return l, true
	}
	if ck, err := c.Cookie("lang"); err == nil && p.catalogs[ck.Value] != nil {
		return ck.Value, false
	}
	best, bestQ := defaultLang, 0.0
	for _, part := range strings.Split(c.Request().Header.Get("Accept-Language"), ",") {
		tag, q := parseQ(part)
		base, _, _ := strings.Cut(strings.ToLower(tag), "-")
		if p.catalogs[base] != nil && q > bestQ {
			best, bestQ = base, q
		}
	}
	return best, false
}

// parseQ splits "text/html;q=0.8" into the value and its quality.
func parseQ(s string) (string, float64) {
	v, params, _ := strings.Cut(strings.TrimSpace(s), ";")
	q := 1.0
	for _, prm := range strings.Split(params, ";") {
		if k, val, ok := strings.Cut(strings.TrimSpace(prm), "="); ok && strings.EqualFold(k, "q") {
			if f, err := strconv.ParseFloat(val, 64); err == nil {
				q = f
			}
		}
	}
	return strings.TrimSpace(v), q
}

// Representations of a resolver path.
const (
	repHTML    = "text/html"
	repJSON    = "application/json"
	repLinkset = "application/linkset+json"
)

// negotiate picks the representation a request asks for. A browser's
// Accept (text/html first) gets the page; application/json gets the
// signed history; application/linkset+json or ?linkType=linkset the GS1
// linkset. */* alone gets the page, the resolver's default link.
func negotiate(r *http.Request) string {
	if r.URL.RawQuery != "" && r.URL.Query().Get("linkType") == "linkset" {
		return repLinkset
	}
	accept := r.Header.Get("Accept")
	if accept == "" {
		return repHTML
	}
	best, bestQ, bestSpecific := repHTML, -1.0, false
	for _, part := range strings.Split(accept, ",") {
		mt, q := parseQ(part)
		mt = strings.ToLower(mt)
		var rep string
		specific := true
		switch mt {
		case repHTML, "application/xhtml+xml":
			rep = repHTML
		case repJSON:
			rep = repJSON
		case repLinkset:
			rep = repLinkset
		case "text/*", "*/*":
			rep, specific = repHTML, false
		case "application/*":
			rep, specific = repJSON, false
		default:
			continue
		}
		if q > bestQ || q == bestQ && specific && !bestSpecific {
			best, bestQ, bestSpecific = rep, q, specific
		}
	}
	if bestQ <= 0 {
		// Nothing acceptable that this resource has (or only q=0).
		return ""
	}
	return best
}

// wantsPage reports whether an error on this request should be a page.
func wantsPage(c echo.Context) bool {
	return isResolverPath(c.Request().URL.EscapedPath()) && negotiate(c.Request()) == repHTML
}

// securityHeaders are set on every response; pages get a strict CSP.
var nosniff, referrerPolicy = []string{"nosniff"}, []string{"strict-origin-when-cross-origin"}

func securityHeaders(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		h := c.Response().Header()
		h["X-Content-Type-Options"] = nosniff
		h["Referrer-Policy"] = referrerPolicy
		return next(c)
	}
}

const pageCSP = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

type alternate struct{ Lang, Name, Href string }

// PageData is what every page template gets.
type PageData struct {
	// InlineCSS is the page's stylesheet, when the page carries it.
	InlineCSS  template.CSS
	Lang       string
	Cat        *Catalog
	State      string
	Title      string
	Version    string
	Alternates []alternate
}

type eventView struct {
	// Hash is the event in its place in the chain; Shown is what is
	// shown there: the event, or its newest correction.
	Hash, Shown                          string
	BizStep, Step, Date, Place, Note, By string
	// Override is the reason the clerk gave for a harvest inside a
	// pre-harvest interval, signed with it.
	Override    string
	Quantity    *quantityView
	Corrections []correctionView
	// ByID names who signed the event, for the page's own check:
	// "cooperative" or "inspector:<id>".
	ByID string
	// Result is an inspection's result in plain words; Failed marks a
	// non-conformant one.
	Result  string
	Failed  bool
	Details []detailView
	Recall  bool
}

// quantityView is a quantity as shown, with the signed value and unit
// beside it for the page's own check.
type quantityView struct{ Text, Value, Unit string }

// detailView is one step field as shown ("Liều lượng: 0,4 l/ha"), with
// its signed name and value.
type detailView struct{ Text, Key, Value string }

// certView is a certificate as shown, with its signed scheme and number.
type certView struct{ Text, Scheme, ID string }

type plotView struct {
	Name, OSM string
	Geo       template.URL // a geo: URI, built here from two numbers
	Signed    bool
}

// recallView is the recall banner; Lot names the input lot recalled when
// the recall was recorded upstream.
type recallView struct{ Reason, Lot string }

// correctionView says that a step was corrected: when, by whom, why.
type correctionView struct{ Hash, Date, Reason, By string }

// inputView is a lot this one was made from, linked to its own page.
type inputView struct {
	Lot, Product, Path, Plot string
	Certificates             []string
}

type batchPage struct {
	PageData
	Product, Cooperative, Province   string
	OCOPStars                        int
	HarvestDate, Lot                 string
	Quantity                         quantityView
	BatchID, JSONURL, LogKey, Origin string
	ServerVerified                   bool
	Recall                           *recallView
	Events                           []eventView
	Certificates                     []certView
	Photos                           []photoView
	Plot                             *plotView
	// Signed says, per shown fact (product, cooperative, province, ocop,
	// harvest_date, lot, quantity, plot, certifications), whether a
	// signature covers it; Unsigned names those it does not, in words.
	Signed      map[string]bool
	Unsigned    string
	HistoryJSON template.JS
	InlineJS    template.JS
	// Problems are what the server's own reading of the records found,
	// in plain words (a failed inspection, a recall upstream, a harvest
	// inside a pre-harvest interval); Inputs the lots it was made from.
	Problems []string
	Inputs   []inputView
	// Face is what the page shows of the cooperative's registry.
	Face lotFace
}

// shownFacts maps the facts a page shows to the history fields they come
// from (History.Unsigned names those).
var shownFacts = map[string][]string{
	"product":        {"product.name_vi", "product.name_en"},
	"ocop":           {"product.ocop_stars"},
	"cooperative":    {"cooperative.name"},
	"province":       {"cooperative.province"},
	"harvest_date":   {"batch.harvest_date"},
	"lot":            {"batch.lot"},
	"quantity":       {"batch.quantity"},
	"plot":           {"batch.plot"},
	"certifications": {"batch.certifications"},
}

// UnsignedNames names, in the reader's language, the shown facts that no
// signature covers (History.Unsigned), or "" when every one is signed.
func UnsignedNames(cat *Catalog, unsigned []string) string {
	set := map[string]bool{}
	for _, f := range unsigned {
		set[f] = true
	}
	var names []string
	for _, k := range shownOrder {
		for _, f := range shownFacts[k] {
			if set[f] {
				names = append(names, cat.Messages["fact_"+k])
				break
			}
		}
	}
	return strings.Join(names, ", ")
}

// shownOrder is the order the page names unsigned facts in.
var shownOrder = []string{"product", "ocop", "cooperative", "province", "lot", "quantity", "harvest_date", "plot", "certifications"}

type errorPage struct {
	PageData
	Message, Detail string
}

// setLanguage picks the language and remembers an explicit choice.
func (s *Server) SetLanguage(c echo.Context) *Catalog {
	lang, explicit := s.pages.language(c)
	if explicit {
		c.SetCookie(&http.Cookie{Name: "lang", Value: lang, Path: "/", MaxAge: 365 * 24 * 3600, SameSite: http.SameSiteLaxMode, HttpOnly: true})
	}
	return s.pages.catalogs[lang]
}

func (s *Server) BasePage(c echo.Context, cat *Catalog, title string) PageData {
	u := *c.Request().URL
	var alts []alternate
	for _, l := range s.pages.langs {
		q := u.Query()
		q.Set("lang", l)
		alts = append(alts, alternate{Lang: l, Name: s.pages.catalogs[l].Name, Href: u.Path + "?" + q.Encode()})
	}
	return PageData{Lang: cat.Lang, Cat: cat, State: "pending", Title: title, Version: s.pages.version, Alternates: alts}
}

func (s *Server) render(c echo.Context, status int, name string, data any) error {
	var buf bytes.Buffer
	if err := s.pages.tmpl[name].ExecuteTemplate(&buf, name+".html", data); err != nil {
		return err
	}
	PageHeaders(c)
	return c.HTMLBlob(status, buf.Bytes())
}

// batchPageBytes renders the consumer page of a batch's history in a
// language, for the request's path and query.
func (s *Server) batchPageBytes(c echo.Context, h *History, events []*store.StoredEvent, historyJSON []byte, cat *Catalog, serverErr error) ([]byte, error) {
	product := productNameIn(h, cat.Lang)
	d := batchPage{
		PageData:       s.BasePage(c, cat, product),
		Product:        product,
		Cooperative:    h.Cooperative.Name,
		Province:       h.Cooperative.Province,
		OCOPStars:      h.Product.OCOPStars,
		HarvestDate:    DateText(h.Batch.HarvestDate),
		Lot:            h.Batch.Lot,
		Quantity:       quantityOf(cat, h.Batch.Quantity.Value, h.Batch.Quantity.Unit),
		BatchID:        h.Batch.ID,
		JSONURL:        h.Batch.Path,
		LogKey:         s.cfg.Log.Ed25519Key,
		Origin:         s.cfg.Log.Origin,
		ServerVerified: serverErr == nil && h.Verified,
		Signed:         map[string]bool{},
		// The signed history travels inside the page, so the shopper's
		// phone checks it without another round trip. json.Marshal writes
		// '<', '>' and '&' as \u escapes, so it cannot close the element.
		HistoryJSON: template.JS(historyJSON),
	}
	d.InlineCSS, d.InlineJS = s.pages.inlineCSS, s.pages.inlineJS
	d.Face = s.lotFace(cat, h)
	unsigned := map[string]bool{}
	for _, f := range h.Unsigned {
		unsigned[f] = true
	}
	for _, k := range shownOrder {
		d.Signed[k] = true
		for _, f := range shownFacts[k] {
			if unsigned[f] {
				d.Signed[k] = false
			}
		}
	}
	d.Unsigned = UnsignedNames(cat, h.Unsigned)
	if bp := h.Batch.Plot; bp != nil {
		d.Plot = &plotView{Name: bp.Name, Signed: d.Signed["plot"]}
		if (&trace.Plot{Lat: bp.Lat, Lon: bp.Lon}).HasPosition() {
			lat, lon := strconv.FormatFloat(bp.Lat, 'f', -1, 64), strconv.FormatFloat(bp.Lon, 'f', -1, 64)
			d.Plot.OSM = "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=16/" + lat + "/" + lon
			d.Plot.Geo = template.URL("geo:" + lat + "," + lon)
		}
	}
	certs := map[string]bool{}
	addCert := func(scheme, id string) {
		if d.Face.registered(scheme, id) {
			return // shown with its validity from the registry
		}
		name := cat.Certifications[scheme]
		if name == "" {
			name = scheme
		}
		if label := name + " " + id; !certs[label] {
			certs[label] = true
			d.Certificates = append(d.Certificates, certView{Text: label, Scheme: scheme, ID: id})
		}
	}
	coopKeys := map[string]bool{}
	for _, k := range h.Cooperative.PublicKeys {
		coopKeys[k] = true
	}
	inspectorOf := map[string]*Inspector{}
	for i := range h.Inspectors {
		for _, k := range h.Inspectors[i].PublicKeys {
			inspectorOf[k] = &h.Inspectors[i]
		}
	}
	// Each step is shown as it stands: the newest correction of it in its
	// place, with the corrections listed under it.
	signed := make([]*trace.SignedEvent, len(events))
	at := map[trace.Hash]int{}
	for i, st := range events {
		signed[i] = st.SignedEvent
		at[st.Hash] = i
	}
	for _, eff := range trace.EffectiveEvents(signed) {
		ev := h.Events[at[eff.Shown.Hash]]
		shown := eff.Shown.Event
		v := eventView{Hash: eff.Original.Hash.String(), Shown: ev.Hash, BizStep: ev.BizStep, Step: StepName(cat, ev.BizStep),
			Date: eventDate(ev.EventTime), Note: ev.Note, By: h.Cooperative.Name, ByID: "cooperative", Place: placeName(ev.ReadPoint, h)}
		facts := trace.IsLotFacts(shown)
		if facts && ev.Action != "ADD" {
			v.Step = cat.Messages["facts_corrected"]
		}
		if in := inspectorOf[ev.Signer]; in != nil && !coopKeys[ev.Signer] {
			v.By, v.ByID = in.Name+" ("+in.Agency+")", "inspector:"+in.ID
		}
		if slices.Contains(trace.InspectionSteps, ev.BizStep) && slices.Contains(trace.InspectionResults, ev.Disposition) {
			v.Result = cat.Messages["inspection_result"] + ": " + cat.Messages["result_"+ev.Disposition]
			v.Failed = ev.Disposition == "non_conformant"
			if v.Failed {
				d.Problems = append(d.Problems, strings.ReplaceAll(cat.Messages["problem_failed_inspection"], "{date}", v.Date))
			}
		}
		if ev.Quantity != nil {
			q := quantityOf(cat, ev.Quantity.Value, ev.Quantity.Unit)
			v.Quantity = &q
		}
		v.Override = shown.Data[trace.DataIntervalOverride]
		if !facts {
			data := trace.StepData(shown)
			keys := make([]string, 0, len(data))
			for k := range data {
				keys = append(keys, k)
			}
			sort.Strings(keys)
			for _, k := range keys {
				if k == "device_time" {
					continue // when the phone recorded it, not part of the step
				}
				v.Details = append(v.Details, detailView{Text: fieldName(cat, k) + ": " + data[k], Key: k, Value: data[k]})
			}
		}
		for _, c := range eff.Corrections {
			by := h.Cooperative.Name
			if in := inspectorOf[base64.StdEncoding.EncodeToString(c.Signer)]; in != nil && !coopKeys[base64.StdEncoding.EncodeToString(c.Signer)] {
				by = in.Name
			}
			v.Corrections = append(v.Corrections, correctionView{Hash: c.Hash.String(), Date: eventDate(c.Event.Data[trace.DataCorrectedAt]),
				Reason: c.Event.Data[trace.DataCorrectionReason], By: by})
		}
		if ev.Disposition == "recalled" {
			v.Recall = true
			d.Recall = &recallView{Reason: ev.Note}
		}
		for _, ce := range ev.Certifications {
			addCert(ce.Scheme, ce.ID)
		}
		for _, a := range ev.Attachments {
			if strings.HasPrefix(a.MediaType, "image/") {
				d.Photos = append(d.Photos, photoFor(a.SHA256))
			}
		}
		d.Events = append(d.Events, v)
	}
	if r := h.Recall; r != nil {
		d.Recall = &recallView{Reason: r.Reason}
		if r.Inherited {
			d.Recall.Lot = r.Lot
			d.Problems = append(d.Problems, strings.NewReplacer("{lot}", r.Lot, "{reason}", r.Reason).Replace(cat.Messages["problem_recall_input"]))
		}
	}
	d.Problems = append(d.Problems, problemsOf(cat, h.findings)...)
	for _, in := range h.inputLots {
		iv := inputView{Lot: in.Lot, Product: in.Product, Path: in.Path}
		if in.Plot != nil {
			iv.Plot = in.Plot.Name
		}
		for _, ce := range in.Certifications {
			name := cat.Certifications[ce.Scheme]
			if name == "" {
				name = ce.Scheme
			}
			iv.Certificates = append(iv.Certificates, name+" "+ce.ID)
		}
		d.Inputs = append(d.Inputs, iv)
	}

	var buf bytes.Buffer
	if err := s.pages.tmpl["batch"].ExecuteTemplate(&buf, "batch.html", d); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// PageHeaders are the headers of every page.
func PageHeaders(c echo.Context) {
	h := c.Response().Header()
	h.Set("Content-Security-Policy", pageCSP)
	h.Set("Vary", "Accept, Accept-Encoding, Accept-Language, Cookie")
	h.Set(echo.HeaderCacheControl, "no-cache")
}

// renderErrorPage is the friendly page for a resolver error in a browser.
func (s *Server) renderErrorPage(c echo.Context, p *Problem) error {
	cat := s.SetLanguage(c)
	key := "error_500"
	switch p.Status {
	case http.StatusBadRequest, http.StatusNotFound, http.StatusUnprocessableEntity:
		key = fmt.Sprintf("error_%d", p.Status)
	}
	title := cat.Messages[key+"_title"]
	d := errorPage{PageData: s.BasePage(c, cat, title), Message: cat.Messages[key+"_text"]}
	d.State = "failed"
	if p.Status == http.StatusBadRequest {
		d.Detail = p.Detail
		if len(p.Errors) == 1 {
			// The reason alone, without the name of the field it is about.
			d.Detail = p.Errors[0].Detail
		}
	}
	return s.render(c, p.Status, "error", d)
}

// productNameIn is the product's name in a language: its name in that
// language when the product has one, else its Vietnamese name. The page's
// script reads the signed record by the same rule.
func productNameIn(h *History, lang string) string {
	if h.ProductRecord != nil {
		if n := h.ProductRecord.Fields["name_"+lang]; n != "" {
			return n
		}
	}
	if lang == "en" && h.Product.NameEN != "" {
		return h.Product.NameEN
	}
	return h.Product.NameVI
}

// fieldName names a step field in the reader's language.
func fieldName(cat *Catalog, k string) string {
	if n := cat.Fields[k]; n != "" {
		return n
	}
	return strings.ReplaceAll(k, "_", " ")
}

// problemsOf says the server's findings on one lot in plain words.
func problemsOf(cat *Catalog, findings []trace.Finding) []string {
	var out []string
	seen := map[string]bool{}
	for _, f := range findings {
		var text string
		switch f.Kind {
		case trace.FindingPreHarvestInterval:
			ev := f.Evidence
			text = strings.NewReplacer("{harvested}", eventDate(ev["harvested_at"]), "{days}", formatNumber(cat.Lang, strings.TrimSuffix(ev["days_between"], ".0")),
				"{product}", ev["product"], "{phi}", formatNumber(cat.Lang, ev["phi_days"])).Replace(cat.Messages["problem_pre_harvest_interval"])
		default:
			text = cat.Messages["problem_"+f.Kind]
			if text == "" {
				text = cat.Messages["finding_"+f.Kind]
			}
		}
		if text != "" && !seen[text] {
			seen[text] = true
			out = append(out, text)
		}
	}
	return out
}

func StepName(cat *Catalog, step string) string {
	if n, ok := cat.Steps[step]; ok {
		return n
	}
	if i := strings.LastIndexByte(step, '/'); i >= 0 && i < len(step)-1 {
		step = step[i+1:]
	}
	return strings.ReplaceAll(step, "_", " ")
}

func eventDate(t string) string {
	if tm, err := time.Parse(time.RFC3339Nano, t); err == nil {
		return tm.Format("02/01/2006")
	}
	return t
}

func DateText(date string) string {
	if t, err := time.Parse(time.DateOnly, date); err == nil {
		return t.Format("02/01/2006")
	}
	return date
}

func QuantityText(cat *Catalog, v trace.Decimal, unit string) string {
	return quantityOf(cat, v, unit).Text
}

func quantityOf(cat *Catalog, v trace.Decimal, unit string) quantityView {
	u := cat.Units[unit]
	if u == "" {
		u = unit
	}
	return quantityView{Text: formatNumber(cat.Lang, string(v)) + " " + u, Value: string(v), Unit: unit}
}

// formatNumber writes a canonical decimal the way the language does:
// Vietnamese groups thousands with "." and writes the decimal comma
// (6.200; 0,4), English the other way round (6,200; 0.4). The page's
// script formats signed values the same way to check what is shown.
func formatNumber(lang, n string) string {
	intPart, frac, hasFrac := strings.Cut(n, ".")
	group, point := ",", "."
	if lang == "vi" {
		group, point = ".", ","
	}
	var b strings.Builder
	for i, r := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteString(group)
		}
		b.WriteRune(r)
	}
	if hasFrac {
		b.WriteString(point + frac)
	}
	return b.String()
}

// placeName names where an event happened: the farm plot when its read
// point is a plot (…/254/<plot>), else the cooperative.
func placeName(readPoint string, h *History) string {
	if readPoint == "" {
		return ""
	}
	if strings.Contains(readPoint, "/254/") && h.Batch.Plot != nil {
		return h.Batch.Plot.Name
	}
	return h.Cooperative.Name
}

// serveStatic serves the embedded assets with long caching when the
// request names the assets' version.
func (s *Server) serveStatic(c echo.Context) error {
	name := strings.TrimPrefix(c.Request().URL.Path, "/static/")
	if name == "" || strings.Contains(name, "..") || strings.HasPrefix(name, "templates/") || strings.HasPrefix(name, "i18n/") {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	b, err := fs.ReadFile(s.pages.static, name)
	if err != nil {
		return echo.NewHTTPError(http.StatusNotFound, "no such file")
	}
	ct := mime.TypeByExtension(path.Ext(name))
	switch path.Ext(name) {
	case ".js":
		ct = "text/javascript; charset=utf-8"
	case ".css":
		ct = "text/css; charset=utf-8"
	case "":
		ct = "text/plain; charset=utf-8"
	}
	if ct == "" {
		ct = "application/octet-stream"
	}
	if c.QueryParam("v") == s.pages.version {
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=31536000, immutable")
	} else {
		c.Response().Header().Set(echo.HeaderCacheControl, "public, max-age=300")
	}
	return c.Blob(http.StatusOK, ct, b)
}

// GS1 link types (GS1 Web Vocabulary).
const gs1Voc = "https://ref.gs1.org/voc/"

type link struct {
	Href     string   `json:"href"`
	Title    string   `json:"title"`
	Type     string   `json:"type,omitempty"`
	Hreflang []string `json:"hreflang,omitempty"`
}

// linkset is the RFC 9264 linkset of a batch: the page in each language
// (gs1:pip), the signed history (gs1:traceability), certificates
// (gs1:certificationInfo), the places to buy (gs1:hasRetailers) and the
// default link.
func (s *Server) linkset(c echo.Context, h *History) error {
	r := c.Request()
	anchor := s.cfg.PublicURL + r.URL.EscapedPath()
	q := r.URL.Query()
	q.Del("linkType")
	withQuery := func(extra url.Values) string {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		for k, vs := range extra {
			v[k] = vs
		}
		if len(v) == 0 {
			return anchor
		}
		return anchor + "?" + v.Encode()
	}
	var pip []link
	for _, l := range s.pages.langs {
		cat := s.pages.catalogs[l]
		title := productNameIn(h, l)
		pip = append(pip, link{Href: withQuery(url.Values{"lang": {l}}), Title: title + " · " + cat.Messages["site"], Type: "text/html", Hreflang: []string{l}})
	}
	entry := map[string]any{
		"anchor":                anchor,
		"itemDescription":       h.Product.NameVI + " · " + h.Batch.Lot,
		gs1Voc + "pip":          pip,
		gs1Voc + "traceability": []link{{Href: s.cfg.PublicURL + "/api/v1/batches/" + h.Batch.ID, Title: "Signed history (truyxuat JSON)", Type: "application/json"}},
		gs1Voc + "defaultLink":  []link{{Href: withQuery(nil), Title: h.Product.NameVI}},
	}
	var certs []link
	seen := map[string]bool{}
	for _, ev := range h.Events {
		for _, ce := range ev.Certifications {
			title := ce.Scheme + " " + ce.ID
			if name := s.pages.catalogs[defaultLang].Certifications[ce.Scheme]; name != "" {
				title = name + " " + ce.ID
			}
			if !seen[title] {
				seen[title] = true
				certs = append(certs, link{Href: withQuery(nil) + "#certificates", Title: title, Type: "text/html"})
			}
		}
	}
	if len(certs) > 0 {
		entry[gs1Voc+"certificationInfo"] = certs
	}
	// Where to buy: every listing the cooperative signed for the product
	// or its whole shop; its own shop and website also describe the
	// product, so they are product information pages too.
	var retailers []link
	for _, r := range h.RegistryRecords {
		if r.Kind != string(trace.KindListing) {
			continue
		}
		l := link{Href: r.Fields["url"], Title: r.Fields["label"], Type: "text/html"}
		retailers = append(retailers, l)
		if p := r.Fields["platform"]; p == "shop" || p == "website" {
			pip = append(pip, l)
		}
	}
	if len(retailers) > 0 {
		entry[gs1Voc+"hasRetailers"] = retailers
		entry[gs1Voc+"pip"] = pip
	}
	b, err := json.Marshal(map[string]any{"linkset": []any{entry}})
	if err != nil {
		return err
	}
	c.Response().Header().Add("Vary", "Accept")
	return c.Blob(http.StatusOK, repLinkset, b)
}

// gs1Resolver serves /.well-known/gs1resolver, the resolver description.
func (s *Server) gs1Resolver(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{
		"name":                        "truyxuat",
		"resolverRoot":                s.cfg.PublicURL,
		"supportedPrimaryKeys":        []string{"01"},
		"linkTypeDefaultCanBeLinkset": false,
		"supportedLinkType": []map[string]string{{
			"namespace": gs1Voc, "prefix": "gs1:", "profile": gs1Voc + "?show=linktypes",
		}},
		"supportedLanguages": s.pages.langs,
		"contact":            map[string]string{"fn": "truyxuat"},
	})
}
