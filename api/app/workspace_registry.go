package app

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/adminunits"
)

// The registry's screens. A cooperative's clerk (or an admin, naming the
// cooperative) keeps its profile, its products' content in each language
// with photos, and its lists — members, plots, certificates, where to
// buy — and imports member and plot lists from CSV or XLSX with a preview
// that says, row by row, what is wrong. A provincial agency (and admins
// and inspectors) lists the registry with filters, opens a cooperative's
// registry to read it, and exports what it picked as CSV, XLSX or JSON.
// Every change is signed by the same operations as the JSON API.

func (s *Workspace) registryRoutes() {
	e := s.api.Echo()
	clerks := e.Group("/app/registry", s.appSession(store.RoleCooperative, store.RoleAdmin), s.appCSRF)
	clerks.GET("", s.regHome)
	clerks.POST("/profile", s.regProfile)
	clerks.GET("/products/:id", s.regProductPage)
	clerks.POST("/products/:id", s.regProduct)
	clerks.GET("/import", s.regImportPage)
	clerks.POST("/import", s.regImport)
	for _, kind := range trace.ListKinds {
		path := "/" + api.KindPath(kind)
		clerks.GET(path, s.regList(kind))
		clerks.POST(path, s.regSave(kind))
		clerks.GET(path+"/:id", s.regEditPage(kind))
		clerks.POST(path+"/:id", s.regSave(kind))
		clerks.POST(path+"/:id/remove", s.regRemove(kind))
	}
	readers := e.Group("/app/registry", s.appSession(store.RoleAgency, store.RoleAdmin, store.RoleInspector), s.appCSRF)
	readers.GET("/agency", s.regAgency)
	readers.GET("/agency/export", s.regExport)
	readers.GET("/agency/:id", s.regAgencyCoop)
}

// isRegistryUpload leaves the registry's forms that carry a file (a logo,
// a photo, a certificate scan, a list to import) to the attachment limit.
func isRegistryUpload(c echo.Context) bool {
	if c.Request().Method != http.MethodPost {
		return false
	}
	switch c.Path() {
	case "/app/registry/profile", "/app/registry/products/:id", "/app/registry/import", "/app/registry/certificates", "/app/registry/certificates/:id":
		return true
	}
	return false
}

// regField is one input of a registry form.
type regField struct {
	Name, Label, Type, Mode, Hint string
	Req                           bool
	Options                       []appOption
	Checks                        []regCheck // a set of checkboxes (scope of a certificate)
}

type regCheck struct {
	Value, Label string
	On           bool
}

// regCoop is the cooperative a clerk's registry screen is about: a
// cooperative's person's own, an admin's named by ?coop=.
func (s *Workspace) regCoop(c echo.Context) (*trace.Cooperative, error) {
	u := appUser(c)
	id := u.CooperativeID
	if u.Role == store.RoleAdmin {
		id = c.QueryParam("coop")
		if id == "" {
			id = c.FormValue("coop")
		}
		if id == "" {
			return nil, &trace.FieldError{Field: "coop", Reason: "is required"}
		}
	}
	return s.db.Cooperative(id)
}

// regQuery carries an admin's choice of cooperative on the registry's links.
func regQuery(c echo.Context, coop *trace.Cooperative) string {
	if appUser(c).Role == store.RoleAdmin {
		return "?coop=" + url.QueryEscape(coop.ID)
	}
	return ""
}

func (s *Workspace) regPage(c echo.Context, coop *trace.Cooperative, titleKey string) *appPage {
	p := s.appPage(c, "", "registry")
	p.Title = p.Cat.Messages[titleKey]
	return p
}

// regData is what every clerk's registry screen gets.
type regData struct {
	View    string
	Coop    *trace.Cooperative
	Q       string // ?coop=… for an admin
	Kind    string // a list's path: members, plots, …
	Counts  map[string]int
	Rows    []regRow
	Fields  []regField
	Action  string
	EntryID string
	Product *trace.Product
	Photos  []string
	Import  *importView
	Public  string
	Options []appOption // what an import reads: members or plots
}

// regRow is one entry of a list, as a line of text and a state.
type regRow struct {
	ID, Title, Detail, Tag, TagClass string
}

func (s *Workspace) regHome(c echo.Context) error {
	u := appUser(c)
	if u.Role == store.RoleAdmin && c.QueryParam("coop") == "" {
		return c.Redirect(http.StatusSeeOther, "/app/registry/agency")
	}
	coop, err := s.regCoop(c)
	if err != nil {
		return err
	}
	p := s.regPage(c, coop, "app_reg_title")
	if err := s.regHomeData(c, p, coop); err != nil {
		return err
	}
	for k, v := range coop.Profile {
		p.Form.Values["f_"+k] = v
	}
	p.Form.Values["f_name"], p.Form.Values["f_province_code"] = coop.Name, api.ProvinceCode(coop)
	return s.appRender(c, http.StatusOK, "app_registry", p)
}

func (s *Workspace) regHomeData(c echo.Context, p *appPage, coop *trace.Cooperative) error {
	d := &regData{View: "home", Coop: coop, Q: regQuery(c, coop), Counts: map[string]int{}, Action: "/app/registry/profile" + regQuery(c, coop),
		Public: api.ProfilePath(coop.ID)}
	for _, kind := range trace.ListKinds {
		list, err := s.db.Entries(kind, coop.ID, false)
		if err != nil {
			return err
		}
		d.Counts[api.KindPath(kind)] = len(list)
	}
	products, err := s.db.Products(coop.ID)
	if err != nil {
		return err
	}
	for _, pr := range products {
		detail := p.Cat.Messages["app_reg_no_photo"]
		if n := len(strings.Fields(pr.Content["photos"])); n > 0 {
			detail = strconv.Itoa(n) + " " + p.Cat.Messages["app_reg_photos"]
		}
		langs := []string{"VI"}
		for _, l := range []string{"en", "zh"} {
			if pr.Content["description_"+l] != "" || l == "en" && pr.NameEN != "" || pr.Content["name_"+l] != "" {
				langs = append(langs, strings.ToUpper(l))
			}
		}
		d.Rows = append(d.Rows, regRow{ID: pr.ID, Title: pr.NameVI, Detail: detail + " · " + strings.Join(langs, ", ")})
	}
	d.Fields = s.profileFields(p.Cat, coop)
	p.Data = d
	return nil
}

func (s *Workspace) profileFields(cat *api.Catalog, coop *trace.Cooperative) []regField {
	units := adminunits.VN()
	provinces := []appOption{{Value: "", Label: "—"}}
	for _, pr := range units.Provinces {
		provinces = append(provinces, appOption{Value: pr.Code, Label: pr.Name})
	}
	l := func(k string) string { return cat.Messages["app_reg_f_"+k] }
	return []regField{
		{Name: "name", Label: l("coop_name"), Req: true},
		{Name: "short_name", Label: l("short_name")},
		{Name: "registration_no", Label: l("registration_no"), Mode: "numeric", Hint: l("registration_no_hint")},
		{Name: "province_code", Label: l("province"), Options: provinces, Req: true},
		{Name: "commune_code", Label: l("commune"), Options: communeOptions(api.ProvinceCode(coop))},
		{Name: "address", Label: l("address"), Hint: l("address_hint")},
		{Name: "phone", Label: l("phone"), Type: "tel"},
		{Name: "zalo", Label: l("zalo"), Type: "tel", Hint: l("zalo_hint")},
		{Name: "email", Label: l("email"), Type: "email"},
		{Name: "website", Label: l("website"), Type: "url", Hint: l("url_hint")},
		{Name: "representative", Label: l("representative")},
		{Name: "founded", Label: l("founded"), Type: "date"},
		{Name: "description_vi", Label: l("description_vi"), Type: "textarea"},
		{Name: "description_en", Label: l("description_en"), Type: "textarea"},
		{Name: "description_zh", Label: l("description_zh"), Type: "textarea"},
	}
}

func communeOptions(province string) []appOption {
	out := []appOption{{Value: "", Label: "—"}}
	for _, cm := range adminunits.VN().CommunesOf(province) {
		out = append(out, appOption{Value: cm.Code, Label: cm.Name})
	}
	return out
}

// readUpload reads an optional file of a form, at most the attachment
// limit, and stores it as an attachment; "" when none was sent.
func (s *Workspace) storeUpload(c echo.Context, p *appPage, field string, image bool) string {
	fh, err := c.FormFile(field)
	if err != nil || fh.Size == 0 {
		return ""
	}
	if fh.Size > s.api.AttachmentLimit() {
		p.Form.Errors[field] = localReason(p.Cat, api.TooLarge(s.api.AttachmentLimit()).Error())
		return ""
	}
	f, err := fh.Open()
	if err != nil {
		p.Form.Errors[field] = err.Error()
		return ""
	}
	data, err := api.ReadLimited(f, s.api.AttachmentLimit(), fh.Size)
	f.Close()
	if err != nil {
		p.Form.Errors[field] = localReason(p.Cat, err.Error())
		return ""
	}
	info, _, err := s.api.StoreAttachment(c, field, fh.Header.Get(echo.HeaderContentType), data)
	if err != nil {
		p.Form.fieldErrors(p.Cat, err, func(string) string { return field })
		if p.Form.Errors[field] == "" {
			p.Form.Errors[field] = localReason(p.Cat, err.Error())
		}
		return ""
	}
	if image && !strings.HasPrefix(info.MediaType, "image/") {
		p.Form.Errors[field] = p.Cat.Messages["app_reg_err_not_image"]
		return ""
	}
	return info.SHA256.String()
}

func (s *Workspace) regProfile(c echo.Context) error {
	coop, err := s.regCoop(c)
	if err != nil {
		return err
	}
	p := s.regPage(c, coop, "app_reg_title")
	profile := map[string]string{}
	for _, k := range trace.ProfileFields() {
		if v := strings.TrimSpace(c.FormValue("f_" + k)); v != "" {
			profile[k] = v
		}
		p.Form.Values["f_"+k] = c.FormValue("f_" + k)
	}
	name := strings.TrimSpace(c.FormValue("f_name"))
	p.Form.Values["f_name"] = name
	if old := coop.Profile["logo"]; old != "" {
		profile["logo"] = old
	}
	if h := s.storeUpload(c, p, "f_logo", true); h != "" {
		profile["logo"] = h
	}
	province := coop.Province
	if pc := profile["province_code"]; pc != "" && pc != api.ProvinceCode(coop) {
		province = "" // filled from the code
	}
	if !p.Form.HasErrors() {
		err = s.api.UpdateCooperativeFor(c, coop.ID, name, province, coop.GLN, profile)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/app/registry"+regQuery(c, coop)+withOK(regQuery(c, coop), "reg_saved"))
		}
		if !p.Form.fieldErrors(p.Cat, err, func(f string) string {
			f = strings.TrimPrefix(f, "profile.")
			if f == "province" {
				f = "province_code"
			}
			return "f_" + f
		}) {
			return err
		}
	}
	if err := s.regHomeData(c, p, coop); err != nil {
		return err
	}
	return s.appRender(c, http.StatusUnprocessableEntity, "app_registry", p)
}

// withOK adds the flash message key to a link that may have a query.
func withOK(q, key string) string {
	if q == "" {
		return "?ok=" + key
	}
	return "&ok=" + key
}

// listFields are the inputs of each list's form.
func (s *Workspace) listFields(cat *api.Catalog, coop *trace.Cooperative, kind trace.RecordKind, values map[string]string) ([]regField, error) {
	l := func(k string) string { return cat.Messages["app_reg_f_"+k] }
	communes := communeOptions(api.ProvinceCode(coop))
	switch kind {
	case trace.KindMember:
		return []regField{
			{Name: "name", Label: l("member_name"), Req: true},
			{Name: "code", Label: l("member_code")},
			{Name: "commune_code", Label: l("commune"), Options: communes},
			{Name: "address", Label: l("address"), Hint: l("address_hint")},
			{Name: "area_ha", Label: l("area_ha"), Mode: "decimal"},
			{Name: "crops", Label: l("crops")},
			{Name: "phone", Label: l("phone"), Type: "tel"},
			{Name: "joined", Label: l("joined"), Type: "date"},
		}, nil
	case trace.KindPlot:
		members, err := s.db.Entries(trace.KindMember, coop.ID, false)
		if err != nil {
			return nil, err
		}
		mo := []appOption{{Value: "", Label: "—"}}
		for _, m := range members {
			mo = append(mo, appOption{Value: m.Record.ID, Label: m.Record.Fields["name"]})
		}
		return []regField{
			{Name: "name", Label: l("plot_name"), Req: true},
			{Name: "area_ha", Label: l("area_ha"), Mode: "decimal"},
			{Name: "crop", Label: l("crop")},
			{Name: "member", Label: l("member"), Options: mo},
			{Name: "commune_code", Label: l("commune"), Options: communes},
			{Name: "lat", Label: l("lat"), Mode: "decimal", Hint: l("latlon_hint")},
			{Name: "lon", Label: l("lon"), Mode: "decimal"},
			{Name: "location", Label: l("location"), Type: "textarea", Hint: l("location_hint")},
			{Name: "planting_code", Label: l("planting_code"), Hint: l("code_hint")},
			{Name: "planting_code_valid_from", Label: l("valid_from"), Type: "date"},
			{Name: "planting_code_valid_to", Label: l("valid_to"), Type: "date"},
			{Name: "packing_code", Label: l("packing_code")},
			{Name: "packing_code_valid_from", Label: l("valid_from"), Type: "date"},
			{Name: "packing_code_valid_to", Label: l("valid_to"), Type: "date"},
		}, nil
	case trace.KindCertificate:
		schemes := []appOption{}
		for _, k := range schemeOrder {
			name := cat.Certifications[k]
			if name == "" {
				name = trace.CertificationSchemes[k]
			}
			schemes = append(schemes, appOption{Value: k, Label: name})
		}
		products, err := s.db.Products(coop.ID)
		if err != nil {
			return nil, err
		}
		plots, err := s.db.Entries(trace.KindPlot, coop.ID, false)
		if err != nil {
			return nil, err
		}
		var pc, plc []regCheck
		for _, pr := range products {
			pc = append(pc, regCheck{Value: pr.ID, Label: pr.NameVI, On: trace.InScope(values["products"], pr.ID) && values["products"] != ""})
		}
		for _, pl := range plots {
			plc = append(plc, regCheck{Value: pl.Record.ID, Label: pl.Record.Fields["name"], On: trace.InScope(values["plots"], pl.Record.ID) && values["plots"] != ""})
		}
		return []regField{
			{Name: "scheme", Label: l("scheme"), Options: schemes, Req: true},
			{Name: "number", Label: l("number"), Req: true},
			{Name: "issuer", Label: l("issuer"), Req: true},
			{Name: "valid_from", Label: l("valid_from"), Type: "date", Req: true},
			{Name: "valid_to", Label: l("valid_to"), Type: "date", Req: true},
			{Name: "ocop_stars", Label: l("ocop_stars"), Options: []appOption{{"", "—"}, {"3", "3 ★"}, {"4", "4 ★"}, {"5", "5 ★"}}, Hint: l("ocop_hint")},
			{Name: "products", Label: l("scope_products"), Type: "checks", Checks: pc, Hint: l("scope_hint")},
			{Name: "plots", Label: l("scope_plots"), Type: "checks", Checks: plc},
			{Name: "scan", Label: l("scan"), Type: "file", Hint: l("scan_hint")},
		}, nil
	case trace.KindListing:
		keys := make([]string, 0, len(trace.Platforms))
		for k := range trace.Platforms {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var po []appOption
		for _, k := range keys {
			name := cat.Messages["platform_"+k]
			if name == "" {
				name = trace.Platforms[k]
			}
			po = append(po, appOption{Value: k, Label: name})
		}
		products, err := s.db.Products(coop.ID)
		if err != nil {
			return nil, err
		}
		pro := []appOption{{Value: "", Label: l("all_products")}}
		for _, pr := range products {
			pro = append(pro, appOption{Value: pr.ID, Label: pr.NameVI})
		}
		return []regField{
			{Name: "platform", Label: l("platform"), Options: po, Req: true},
			{Name: "label", Label: l("label"), Req: true, Hint: l("label_hint")},
			{Name: "url", Label: l("url"), Type: "url", Req: true, Hint: l("url_hint")},
			{Name: "product", Label: l("product"), Options: pro},
		}, nil
	}
	return nil, fmt.Errorf("no form for %s", kind)
}

// rowOf writes an entry as a line of a list, in the page's language.
func rowOf(cat *api.Catalog, sr *store.StoredRecord, today string) regRow {
	f := sr.Record.Fields
	r := regRow{ID: sr.Record.ID}
	var parts []string
	add := func(s string) {
		if s != "" {
			parts = append(parts, s)
		}
	}
	area := ""
	if a := f["area_ha"]; a != "" {
		area = strings.ReplaceAll(a, ".", ",") + " ha"
		if cat.Lang != "vi" {
			area = a + " ha"
		}
	}
	switch sr.Record.Kind {
	case trace.KindMember:
		r.Title = f["name"]
		add(f["code"])
		add(area)
		add(f["crops"])
		if cm, ok := adminunits.VN().Commune(f["commune_code"]); ok {
			add(cm.Name)
		}
	case trace.KindPlot:
		r.Title = f["name"]
		add(area)
		add(f["crop"])
		if code := f["planting_code"]; code != "" {
			add(cat.Messages["app_reg_f_planting_code"] + " " + code)
			if to := f["planting_code_valid_to"]; to != "" && to < today {
				r.Tag, r.TagClass = cat.Messages["cert_expired"], "bad"
			}
		}
		add(f["packing_code"])
	case trace.KindCertificate:
		name := cat.Certifications[f["scheme"]]
		if name == "" {
			name = f["scheme"]
		}
		r.Title = name + " " + f["number"]
		add(f["issuer"])
		add(api.DateText(f["valid_from"]) + " – " + api.DateText(f["valid_to"]))
		st := trace.CertificateStatus(f, today)
		r.Tag = cat.Messages["cert_"+st]
		r.TagClass = "ok"
		if st != trace.CertValid {
			r.TagClass = "bad"
		}
	case trace.KindListing:
		r.Title = f["label"]
		name := cat.Messages["platform_"+f["platform"]]
		if name == "" {
			name = trace.Platforms[f["platform"]]
		}
		add(name)
		add(f["url"])
	}
	if rm := f["removed"]; rm != "" {
		r.Tag, r.TagClass = cat.Messages["app_reg_removed"]+" "+api.DateText(rm), "bad"
	}
	r.Detail = strings.Join(parts, " · ")
	return r
}

// schemeOrder is the order certification schemes are offered in, the
// most common in Vietnam first.
var schemeOrder = []string{"vietgap", "globalgap", "organic", "ocop", "4c", "rainforest", "fairtrade", "haccp", "iso22000", "vietnam-tcvn"}

var listTitles = map[trace.RecordKind]string{trace.KindMember: "app_reg_members", trace.KindPlot: "app_reg_plots",
	trace.KindCertificate: "app_reg_certificates", trace.KindListing: "app_reg_listings"}

func (s *Workspace) regList(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		coop, err := s.regCoop(c)
		if err != nil {
			return err
		}
		p := s.regPage(c, coop, listTitles[kind])
		if err := s.regListData(c, p, coop, kind, ""); err != nil {
			return err
		}
		return s.appRender(c, http.StatusOK, "app_registry", p)
	}
}

func (s *Workspace) regListData(c echo.Context, p *appPage, coop *trace.Cooperative, kind trace.RecordKind, id string) error {
	q := regQuery(c, coop)
	d := &regData{View: "list", Coop: coop, Q: q, Kind: api.KindPath(kind), Action: "/app/registry/" + api.KindPath(kind) + q}
	if id != "" {
		d.View, d.EntryID = "edit", id
		d.Action = "/app/registry/" + api.KindPath(kind) + "/" + id + q
	} else {
		list, err := s.db.Entries(kind, coop.ID, c.QueryParam("removed") == "1")
		if err != nil {
			return err
		}
		today := s.api.Today()
		for _, sr := range list {
			d.Rows = append(d.Rows, rowOf(p.Cat, sr, today))
		}
	}
	values := map[string]string{}
	for k, v := range p.Form.Values {
		values[strings.TrimPrefix(k, "f_")] = v
	}
	fields, err := s.listFields(p.Cat, coop, kind, values)
	if err != nil {
		return err
	}
	d.Fields = fields
	p.Data = d
	return nil
}

func (s *Workspace) regEditPage(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		coop, err := s.regCoop(c)
		if err != nil {
			return err
		}
		sr, err := s.db.Entry(kind, c.Param("id"))
		if err != nil {
			return err
		}
		if sr.Record.Cooperative != coop.ID {
			return fmt.Errorf("%s %s: %w", kind, sr.Record.ID, trace.ErrNotFound)
		}
		p := s.regPage(c, coop, listTitles[kind])
		for k, v := range sr.Record.Fields {
			p.Form.Values["f_"+k] = v
		}
		if kind == trace.KindPlot {
			if g := sr.Record.Fields["location"]; strings.Contains(g, `"Point"`) {
				if lat, lon, ok := trace.GeoJSONCenter(g); ok {
					p.Form.Values["f_lat"], p.Form.Values["f_lon"] = strconv.FormatFloat(lat, 'f', -1, 64), strconv.FormatFloat(lon, 'f', -1, 64)
					delete(p.Form.Values, "f_location")
				}
			}
		}
		if err := s.regListData(c, p, coop, kind, sr.Record.ID); err != nil {
			return err
		}
		return s.appRender(c, http.StatusOK, "app_registry", p)
	}
}

// regSave creates an entry (POST to the list) or replaces one (POST to
// the entry), with the form's fields.
func (s *Workspace) regSave(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		coop, err := s.regCoop(c)
		if err != nil {
			return err
		}
		id := c.Param("id")
		var cur *store.StoredRecord
		if id != "" {
			if cur, err = s.db.Entry(kind, id); err != nil {
				return err
			}
			if cur.Record.Cooperative != coop.ID {
				return fmt.Errorf("%s %s: %w", kind, id, trace.ErrNotFound)
			}
		}
		p := s.regPage(c, coop, listTitles[kind])
		form, err := c.FormParams()
		if err != nil {
			return api.BadRequest(err)
		}
		fields := map[string]string{}
		for _, k := range trace.RecordFields(kind) {
			v := form[("f_" + k)]
			if len(v) == 0 {
				continue
			}
			p.Form.Values["f_"+k] = strings.Join(v, " ")
			if vals := strings.Join(v, " "); strings.TrimSpace(vals) != "" {
				fields[k] = strings.TrimSpace(vals)
			}
		}
		if kind == trace.KindMember || kind == trace.KindPlot {
			if a := fields["area_ha"]; a != "" {
				fields["area_ha"] = decimalText(a)
			}
		}
		if kind == trace.KindPlot {
			lat, lon := strings.TrimSpace(form.Get("f_lat")), strings.TrimSpace(form.Get("f_lon"))
			p.Form.Values["f_lat"], p.Form.Values["f_lon"] = lat, lon
			if (lat != "" || lon != "") && fields["location"] == "" {
				la, err1 := strconv.ParseFloat(decimalText(lat), 64)
				lo, err2 := strconv.ParseFloat(decimalText(lon), 64)
				if err1 != nil || err2 != nil {
					p.Form.Errors["f_lat"] = p.Cat.Messages["app_err_coordinates"]
				} else {
					fields["location"] = `{"type":"Point","coordinates":[` + strconv.FormatFloat(lo, 'f', -1, 64) + "," + strconv.FormatFloat(la, 'f', -1, 64) + "]}"
				}
			}
		}
		if kind == trace.KindCertificate {
			if cur != nil && cur.Record.Fields["scan"] != "" {
				fields["scan"] = cur.Record.Fields["scan"]
			}
			if h := s.storeUpload(c, p, "f_scan", false); h != "" {
				fields["scan"] = h
			}
		}
		if cur != nil && cur.Record.Fields["removed"] != "" {
			fields["removed"] = cur.Record.Fields["removed"]
		}
		if !p.Form.HasErrors() {
			_, err = s.api.PutEntry(c, coop, kind, id, id == "", fields)
			if err == nil {
				return c.Redirect(http.StatusSeeOther, "/app/registry/"+api.KindPath(kind)+regQuery(c, coop)+withOK(regQuery(c, coop), "reg_saved"))
			}
			if !p.Form.fieldErrors(p.Cat, err, func(f string) string {
				if f == "location" && fields["location"] != "" && form.Get("f_location") == "" {
					return "f_lat"
				}
				return "f_" + f
			}) {
				if errors.Is(err, trace.ErrConflict) || errors.Is(err, trace.ErrNotFound) {
					p.Form.Error = localReason(p.Cat, err.Error())
				} else {
					return err
				}
			}
		}
		if err := s.regListData(c, p, coop, kind, id); err != nil {
			return err
		}
		return s.appRender(c, http.StatusUnprocessableEntity, "app_registry", p)
	}
}

func (s *Workspace) regRemove(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		coop, err := s.regCoop(c)
		if err != nil {
			return err
		}
		sr, err := s.db.Entry(kind, c.Param("id"))
		if err != nil {
			return err
		}
		if sr.Record.Cooperative != coop.ID {
			return fmt.Errorf("%s %s: %w", kind, sr.Record.ID, trace.ErrNotFound)
		}
		if _, err := s.db.RemoveEntry(c.Request().Context(), kind, sr.Record.ID, s.api.Today(), api.Caller(c).ID); err != nil {
			return err
		}
		return c.Redirect(http.StatusSeeOther, "/app/registry/"+api.KindPath(kind)+regQuery(c, coop)+withOK(regQuery(c, coop), "reg_removed"))
	}
}

// The product's content in each language, and its photos.

func (s *Workspace) regProductLoad(c echo.Context) (*trace.Cooperative, *trace.Product, error) {
	coop, err := s.regCoop(c)
	if err != nil {
		return nil, nil, err
	}
	pr, err := s.db.Product(c.Param("id"))
	if err != nil {
		return nil, nil, err
	}
	if pr.CooperativeID != coop.ID {
		return nil, nil, fmt.Errorf("product %s: %w", pr.ID, trace.ErrNotFound)
	}
	return coop, pr, nil
}

func (s *Workspace) productFields(cat *api.Catalog) []regField {
	l := func(k string) string { return cat.Messages["app_reg_f_"+k] }
	var out []regField
	out = append(out, regField{Name: "name_vi", Label: l("name_vi"), Req: true}, regField{Name: "name_en", Label: l("name_en")}, regField{Name: "name_zh", Label: l("name_zh")})
	for _, base := range []string{"description", "variety", "ingredients"} {
		for _, lang := range trace.ContentLanguages {
			f := regField{Name: base + "_" + lang, Label: l(base) + " (" + cat.Messages["app_reg_lang_"+lang] + ")"}
			if base != "variety" {
				f.Type = "textarea"
			}
			out = append(out, f)
		}
	}
	return out
}

func (s *Workspace) regProductPage(c echo.Context) error {
	coop, pr, err := s.regProductLoad(c)
	if err != nil {
		return err
	}
	p := s.regPage(c, coop, "app_reg_product")
	for k, v := range trace.ProductRecordFields(pr) {
		p.Form.Values["f_"+k] = v
	}
	s.regProductData(c, p, coop, pr)
	return s.appRender(c, http.StatusOK, "app_registry", p)
}

func (s *Workspace) regProductData(c echo.Context, p *appPage, coop *trace.Cooperative, pr *trace.Product) {
	q := regQuery(c, coop)
	p.Data = &regData{View: "product", Coop: coop, Q: q, Product: pr, Photos: strings.Fields(pr.Content["photos"]),
		Fields: s.productFields(p.Cat), Action: "/app/registry/products/" + pr.ID + q}
}

func (s *Workspace) regProduct(c echo.Context) error {
	coop, pr, err := s.regProductLoad(c)
	if err != nil {
		return err
	}
	p := s.regPage(c, coop, "app_reg_product")
	content := map[string]string{}
	for _, k := range trace.ContentFields() {
		if k == "photos" {
			continue
		}
		v := strings.TrimSpace(c.FormValue("f_" + k))
		p.Form.Values["f_"+k] = v
		if v != "" {
			content[k] = v
		}
	}
	nameVI, nameEN := strings.TrimSpace(c.FormValue("f_name_vi")), strings.TrimSpace(c.FormValue("f_name_en"))
	p.Form.Values["f_name_vi"], p.Form.Values["f_name_en"] = nameVI, nameEN
	var photos []string
	drop := map[string]bool{}
	for _, h := range c.Request().Form["drop_photo"] {
		drop[h] = true
	}
	for _, h := range strings.Fields(pr.Content["photos"]) {
		if !drop[h] {
			photos = append(photos, h)
		}
	}
	if h := s.storeUpload(c, p, "f_photo", true); h != "" && !drop[h] {
		photos = append(photos, h)
	}
	if len(photos) > trace.MaxPhotos {
		p.Form.Errors["f_photo"] = fmt.Sprintf(p.Cat.Messages["app_reg_err_photos"], trace.MaxPhotos)
	}
	if len(photos) > 0 {
		content["photos"] = strings.Join(dedupe(photos), " ")
	}
	if !p.Form.HasErrors() {
		np := &trace.Product{ID: pr.ID, CooperativeID: pr.CooperativeID, GTIN: pr.GTIN, NameVI: nameVI, NameEN: nameEN,
			Category: pr.Category, OCOPStars: pr.OCOPStars, Content: content}
		err = s.api.UpdateProductFor(c, np)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/app/registry/products/"+pr.ID+regQuery(c, coop)+withOK(regQuery(c, coop), "reg_saved"))
		}
		if !p.Form.fieldErrors(p.Cat, err, func(f string) string {
			f = strings.TrimPrefix(f, "content.")
			if f == "photos" {
				return "f_photo"
			}
			return "f_" + f
		}) {
			return err
		}
	}
	s.regProductData(c, p, coop, pr)
	return s.appRender(c, http.StatusUnprocessableEntity, "app_registry", p)
}

func dedupe(list []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, s := range list {
		if !seen[s] {
			seen[s] = true
			out = append(out, s)
		}
	}
	return out
}

// Imports of member and plot lists.

// importView is an import's preview: its rows as a table and its errors
// as sentences, in the page's language.
type importView struct {
	Kind    string
	Heads   []string
	Rows    [][]string
	Errors  []string
	Created int
	Updated int
	Data    string // the file, base64, sent again to confirm
	Name    string
}

func (s *Workspace) regImportPage(c echo.Context) error {
	coop, err := s.regCoop(c)
	if err != nil {
		return err
	}
	p := s.regPage(c, coop, "app_reg_import")
	p.Form.Values["kind"] = "members"
	p.Data = &regData{View: "import", Coop: coop, Q: regQuery(c, coop), Action: "/app/registry/import" + regQuery(c, coop), Options: importKinds(p.Cat)}
	return s.appRender(c, http.StatusOK, "app_registry", p)
}

func (s *Workspace) regImport(c echo.Context) error {
	coop, err := s.regCoop(c)
	if err != nil {
		return err
	}
	p := s.regPage(c, coop, "app_reg_import")
	q := regQuery(c, coop)
	d := &regData{View: "import", Coop: coop, Q: q, Action: "/app/registry/import" + q, Options: importKinds(p.Cat)}
	p.Data = d
	kindPath := c.FormValue("kind")
	p.Form.Values["kind"] = kindPath
	kind := map[string]trace.RecordKind{"members": trace.KindMember, "plots": trace.KindPlot}[kindPath]
	if kind == "" {
		p.Form.Errors["kind"] = p.Cat.Messages["app_err_required"]
		return s.appRender(c, http.StatusUnprocessableEntity, "app_registry", p)
	}
	var data []byte
	name := c.FormValue("name")
	if fh, err := c.FormFile("file"); err == nil && fh.Size > 0 {
		if fh.Size > api.MaxImportBytes {
			p.Form.Errors["file"] = localReason(p.Cat, api.TooLarge(api.MaxImportBytes).Error())
			return s.appRender(c, http.StatusUnprocessableEntity, "app_registry", p)
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		data, err = api.ReadLimited(f, api.MaxImportBytes, fh.Size)
		f.Close()
		if err != nil {
			return err
		}
		name = fh.Filename
	} else if b64 := c.FormValue("data"); b64 != "" {
		if data, err = base64.StdEncoding.DecodeString(b64); err != nil || len(data) > api.MaxImportBytes {
			return api.BadRequest(errors.New("the file sent back to confirm is not what the preview sent"))
		}
	} else {
		p.Form.Errors["file"] = p.Cat.Messages["app_reg_err_no_file"]
		return s.appRender(c, http.StatusUnprocessableEntity, "app_registry", p)
	}
	prev, err := s.api.ImportFile(coop, kind, data)
	if err != nil {
		return err
	}
	iv := &importView{Kind: kindPath, Created: prev.Created, Updated: prev.Updated, Name: name}
	for _, e := range prev.Errors {
		iv.Errors = append(iv.Errors, importErrorText(p.Cat, e))
	}
	d.Import = iv
	if len(prev.Errors) > 0 {
		p.Form.Error = fmt.Sprintf(p.Cat.Messages["app_reg_import_refused"], len(prev.Errors))
		return s.appRender(c, http.StatusUnprocessableEntity, "app_registry", p)
	}
	if c.FormValue("confirm") == "1" {
		if _, err := s.api.ApplyImport(c, coop, kind, prev); err != nil {
			if !p.Form.fieldErrors(p.Cat, err, func(string) string { return "" }) {
				return err
			}
			return s.appRender(c, http.StatusUnprocessableEntity, "app_registry", p)
		}
		return c.Redirect(http.StatusSeeOther, "/app/registry/"+kindPath+q+withOK(q, "reg_imported"))
	}
	// The preview: the rows as they will be signed, and the file to send again.
	cols := api.RegistryTables[kindPath]
	for _, col := range cols[1:] {
		iv.Heads = append(iv.Heads, col.Head)
	}
	for _, r := range prev.Rows {
		row := []string{}
		for _, col := range cols[1:] {
			v := r.Fields[col.Field]
			if col.Field == "commune_code" {
				if cm, ok := adminunits.VN().Commune(v); ok {
					v = cm.Name
				}
			}
			if strings.HasSuffix(col.Field, "valid_from") || strings.HasSuffix(col.Field, "valid_to") || col.Field == "joined" {
				v = api.DateText(v)
			}
			row = append(row, v)
		}
		iv.Rows = append(iv.Rows, row)
	}
	iv.Data = base64.StdEncoding.EncodeToString(data)
	return s.appRender(c, http.StatusOK, "app_registry", p)
}

func importKinds(cat *api.Catalog) []appOption {
	return []appOption{{Value: "members", Label: cat.Messages["app_reg_members"]}, {Value: "plots", Label: cat.Messages["app_reg_plots"]}}
}

// importErrorText says one problem of an import in the page's language:
// "Dòng 3, cột Diện tích (ha): …".
func importErrorText(cat *api.Catalog, e api.ImportError) string {
	where := fmt.Sprintf(cat.Messages["app_reg_import_row"], e.Row)
	if e.Row == 0 {
		where = cat.Messages["app_reg_import_file"]
	}
	if e.Column != "" {
		where += ", " + fmt.Sprintf(cat.Messages["app_reg_import_column"], e.Column)
	}
	return where + ": " + localReason(cat, e.Reason)
}

// The agency's listing.

type agencyRow struct {
	ID, Name, Province, Commune, Products, Certificates string
	OCOP, Members, Plots                                int
	Area                                                string
}

func (s *Workspace) regFilter(c echo.Context, p *appPage) (api.RegistryFilter, bool) {
	f, err := api.RegistryFilterOf(c.QueryParams())
	u := appUser(c)
	if u.Role == store.RoleAgency {
		f.Province = u.Province
	}
	for k, v := range map[string]string{"province": f.Province, "commune": f.Commune, "product": f.Product, "certificate": f.Certificate} {
		p.Form.Values[k] = v
	}
	if f.OCOP > 0 {
		p.Form.Values["ocop"] = strconv.Itoa(f.OCOP)
	}
	if err != nil {
		p.Form.fieldErrors(p.Cat, err, func(f string) string { return f })
		return f, false
	}
	return f, true
}

func (s *Workspace) regAgency(c echo.Context) error {
	p := s.appPage(c, "", "agency")
	p.Title = p.Cat.Messages["app_reg_agency_title"]
	f, ok := s.regFilter(c, p)
	u := appUser(c)
	units := adminunits.VN()
	var rows []agencyRow
	status := http.StatusOK
	if ok {
		rcs, err := s.api.Registry(c, f)
		if err != nil {
			return err
		}
		today := s.api.Today()
		for _, rc := range rcs {
			row := agencyRow{ID: rc.Coop.ID, Name: rc.Coop.Name, Province: rc.Coop.Province, OCOP: rc.OCOP, Members: len(rc.Members), Plots: len(rc.Plots)}
			if cm, ok := units.Commune(rc.Coop.Profile["commune_code"]); ok {
				row.Commune = cm.Name
			}
			var names, certs []string
			for _, pr := range rc.Products {
				names = append(names, pr.NameVI)
			}
			for _, sr := range rc.Certificates {
				if trace.CertificateStatus(sr.Record.Fields, today) == trace.CertValid {
					n := p.Cat.Certifications[sr.Record.Fields["scheme"]]
					if n == "" {
						n = sr.Record.Fields["scheme"]
					}
					certs = append(certs, n)
				}
			}
			row.Products, row.Certificates = strings.Join(names, ", "), strings.Join(dedupe(certs), ", ")
			rows = append(rows, row)
		}
	} else {
		status = http.StatusUnprocessableEntity
	}
	provinces := []appOption{{Value: "", Label: p.Cat.Messages["app_reg_all"]}}
	for _, pr := range units.Provinces {
		if u.Role != store.RoleAgency || pr.Code == u.Province {
			provinces = append(provinces, appOption{Value: pr.Code, Label: pr.Name})
		}
	}
	if u.Role == store.RoleAgency {
		provinces = provinces[1:]
	}
	communes := []appOption{{Value: "", Label: p.Cat.Messages["app_reg_all"]}}
	if f.Province != "" {
		communes = append(communes, communeOptions(f.Province)[1:]...)
	}
	schemes := []appOption{{Value: "", Label: p.Cat.Messages["app_reg_all"]}}
	for _, k := range schemeOrder {
		schemes = append(schemes, appOption{Value: k, Label: p.Cat.Certifications[k]})
	}
	q := f.Query()
	if u.Role == store.RoleAgency {
		q.Del("province")
	}
	qs := q.Encode()
	if qs != "" {
		qs = "&" + qs
	}
	p.Data = map[string]any{"Rows": rows, "Provinces": provinces, "Communes": communes, "Schemes": schemes,
		"OCOP":   []appOption{{"", p.Cat.Messages["app_reg_all"]}, {"3", "≥ 3 ★"}, {"4", "≥ 4 ★"}, {"5", "5 ★"}},
		"Export": "/app/registry/agency/export?" + strings.TrimPrefix(qs, "&"), "Count": len(rows)}
	return s.appRender(c, status, "app_registry_agency", p)
}

func (s *Workspace) regExport(c echo.Context) error {
	p := s.appPage(c, "", "agency")
	f, ok := s.regFilter(c, p)
	if !ok {
		return s.regAgency(c)
	}
	rcs, err := s.api.Registry(c, f)
	if err != nil {
		return err
	}
	kind := c.QueryParam("kind")
	if _, ok := api.RegistryTables[kind]; !ok {
		kind = "cooperatives"
	}
	format := c.QueryParam("format")
	if format != "csv" && format != "xlsx" && format != "json" {
		format = "xlsx"
	}
	return s.api.WriteRegistry(c, rcs, format, kind, f)
}

// regAgencyCoop shows one cooperative's registry to a reader.
func (s *Workspace) regAgencyCoop(c echo.Context) error {
	coop, err := s.db.Cooperative(c.Param("id"))
	if err != nil {
		return err
	}
	if err := s.api.MayRead(c, coop); err != nil {
		return err
	}
	p := s.appPage(c, "", "agency")
	p.Title = coop.Name
	today := s.api.Today()
	lists := map[string][]regRow{}
	for _, kind := range trace.ListKinds {
		entries, err := s.db.Entries(kind, coop.ID, false)
		if err != nil {
			return err
		}
		for _, sr := range entries {
			lists[api.KindPath(kind)] = append(lists[api.KindPath(kind)], rowOf(p.Cat, sr, today))
		}
	}
	contact := api.ContactOf(coop)
	p.Data = map[string]any{"Coop": coop, "Contact": contact, "Lists": lists, "Public": api.ProfilePath(coop.ID),
		"Registration": coop.Profile["registration_no"], "Founded": api.DateText(coop.Profile["founded"]),
		"Export": "/app/registry/agency/export?cooperative=" + url.QueryEscape(coop.ID)}
	return s.appRender(c, http.StatusOK, "app_registry_agency_coop", p)
}

// registryReasons say the registry's rules in the page's language (see
// localReason); they come before the general patterns, which they would
// otherwise match ("a phone number" is not a number).
var registryReasons = []struct {
	re   *regexp.Regexp
	key  string
	full bool
}{
	{regexp.MustCompile(`a phone number is 10 or 11 digits`), "app_err_phone", true},
	{regexp.MustCompile(`is not an e-mail address`), "app_err_email", true},
	{regexp.MustCompile(`is not a web address|has no host name|characters a web address may not have|carries a user name`), "app_err_url", true},
	{regexp.MustCompile(`outside Vietnam: GeoJSON writes longitude first`), "app_err_swapped", true},
	{regexp.MustCompile(`outside Vietnam`), "app_err_outside_vn", true},
	{regexp.MustCompile(`a code is capital letters`), "app_err_code", true},
	{regexp.MustCompile(`an area is a number of hectares|an area must be greater than zero`), "app_err_area", true},
	{regexp.MustCompile(`an area must be at most`), "app_err_area_max", true},
	{regexp.MustCompile(`registration number is 10 digits`), "app_err_registration", true},
	{regexp.MustCompile(`there is no commune`), "app_err_commune", true},
	{regexp.MustCompile(`is not in the cooperative's province|is not in province`), "app_err_commune_province", true},
	{regexp.MustCompile(`there is no province`), "app_err_province", true},
	{regexp.MustCompile(`validity ends \(`), "app_err_ends_before", true},
	{regexp.MustCompile(`only an OCOP certificate has stars`), "app_err_ocop_only", true},
	{regexp.MustCompile(`an OCOP certificate states its stars`), "app_err_ocop_stars", true},
	{regexp.MustCompile(`give the code whose validity is stated`), "app_err_code_missing", true},
	{regexp.MustCompile(`registry has no member`), "app_err_no_member", true},
	{regexp.MustCompile(`has no (product|plot) `), "app_err_no_entry", false},
	{regexp.MustCompile(`unknown column "(?P<col>[^"]*)"`), "app_err_unknown_column", true},
	{regexp.MustCompile(`the same column as`), "app_err_dup_column", true},
	{regexp.MustCompile(`the file needs a column of names`), "app_err_name_column", true},
	{regexp.MustCompile(`no rows under its heading`), "app_err_no_rows", true},
	{regexp.MustCompile(`no attachment \S+ is stored`), "app_err_no_attachment", true},
	{regexp.MustCompile(`neither an XLSX workbook nor a CSV file`), "app_err_file_type", true},
	{regexp.MustCompile(`leave the id empty for a new one`), "app_err_unknown_id", true},
	{regexp.MustCompile(`changes the same entry`), "app_err_same_entry", true},
	{regexp.MustCompile(`GeoJSON|Point or Polygon|ring \d+ of the outline|positions; simplify`), "app_err_geojson", false},
	{regexp.MustCompile(`at most \d+ photos`), "app_err_photos_max", true},
}

func init() {
	out := make([]struct {
		re   *regexp.Regexp
		key  string
		full bool
	}, 0, len(registryReasons)+len(reasonPatterns))
	out = append(out, registryReasons...)
	reasonPatterns = append(out, reasonPatterns...)
}
