package api

import (
	"errors"
	"fmt"
	"net/http"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/adminunits"
)

// The cooperative registry: a cooperative's full profile, its products'
// content per language, and its lists — member households, plots and
// growing areas, certificates, where its products are sold — each entry a
// chain of signed records (trace.Record), so the registry has a
// verifiable history of its own. Profiles, products, certificates and
// listings are public; members and plots (households' names, phones and
// farms) are read only by the cooperative itself, admins, inspectors and
// the agency of the cooperative's province.

// registryKinds are the registry lists by the name of their path.
var registryKinds = map[string]trace.RecordKind{
	"members": trace.KindMember, "plots": trace.KindPlot, "certificates": trace.KindCertificate, "listings": trace.KindListing,
}

// publicKinds are the lists anyone may read.
var publicKinds = map[trace.RecordKind]bool{trace.KindCertificate: true, trace.KindListing: true}

// KindPath is the path segment of a registry list ("members").
func KindPath(kind trace.RecordKind) string {
	for p, k := range registryKinds {
		if k == kind {
			return p
		}
	}
	return ""
}

func (s *Server) registryRoutes(v1, coop *echo.Group) {
	readers := v1.Group("", s.authenticate(store.RoleAdmin, store.RoleCooperative, store.RoleInspector, store.RoleAgency))
	for path, kind := range registryKinds {
		if publicKinds[kind] {
			v1.GET("/cooperatives/:id/"+path, s.listEntries(kind))
			v1.GET("/"+path+"/:id", s.getEntry(kind))
			v1.GET("/"+path+"/:id/records", s.entryRecords(kind))
		} else {
			readers.GET("/cooperatives/:id/"+path, s.listEntries(kind))
			readers.GET("/"+path+"/:id", s.getEntry(kind))
			readers.GET("/"+path+"/:id/records", s.entryRecords(kind))
		}
		coop.POST("/cooperatives/:id/"+path, s.createEntry(kind))
		coop.PUT("/"+path+"/:id", s.updateEntry(kind))
		coop.DELETE("/"+path+"/:id", s.removeEntry(kind))
	}
	coop.POST("/cooperatives/:id/import", s.importEntries)
	readers.GET("/registry", s.exportRegistry)
	s.echo.Match([]string{http.MethodGet, http.MethodHead}, ProfilePrefix+":id", s.profile)
	s.ErrorPage(s.profileError)
	v1.GET("/units/provinces", s.listProvinces)
	v1.GET("/units/provinces/:code/communes", s.listCommunes)
}

// Entry is the newest revision of a registry list's entry.
type Entry struct {
	Kind        string            `json:"kind"`
	ID          string            `json:"id"`
	Cooperative string            `json:"cooperative"`
	Revision    uint64            `json:"revision"`
	Hash        string            `json:"hash"`
	Time        string            `json:"time"`
	Fields      map[string]string `json:"fields"`
	// Removed is the day the entry was removed from the registry.
	Removed string `json:"removed,omitempty"`
	// Status is a certificate's state today: valid, expired or not_yet.
	Status string `json:"status,omitempty"`
}

// ToEntry is the wire form of a registry entry's newest revision, a
// certificate's state on day (YYYY-MM-DD) included.
func ToEntry(sr *store.StoredRecord, day string) Entry {
	r := sr.Record
	e := Entry{Kind: string(r.Kind), ID: r.ID, Cooperative: r.Cooperative, Revision: r.Seq, Hash: sr.Hash.String(), Time: r.Time,
		Fields: r.Fields, Removed: r.Fields["removed"]}
	if r.Kind == trace.KindCertificate {
		e.Status = trace.CertificateStatus(r.Fields, day)
	}
	if e.Fields == nil {
		e.Fields = map[string]string{}
	}
	return e
}

// Today is the day in the service's time zone, YYYY-MM-DD.
func (s *Server) Today() string { return s.now().In(s.cfg.Location).Format("2006-01-02") }

// MayRead reports whether the caller may read a cooperative's members and
// plots: an admin or an inspector, the cooperative itself, or the agency
// of its province.
func (s *Server) MayRead(c echo.Context, coop *trace.Cooperative) error {
	k := caller(c)
	if k == nil {
		return trace.ErrUnauthenticated
	}
	switch k.Role {
	case store.RoleAdmin, store.RoleInspector:
		return nil
	case store.RoleCooperative:
		if k.CooperativeID == coop.ID {
			return nil
		}
	case store.RoleAgency:
		if ProvinceCode(coop) == k.Province {
			return nil
		}
		return fmt.Errorf("an agency reads the registries of the cooperatives of its province (%s) only: %w", k.Province, trace.ErrForbidden)
	}
	return fmt.Errorf("this key reads the registry of cooperative %s only, not %s: %w", k.CooperativeID, coop.ID, trace.ErrForbidden)
}

// ProvinceCode is a cooperative's province code: its profile's, else the
// code of the province its name names (empty when neither is known, as
// for a province merged away in 2025).
func ProvinceCode(c *trace.Cooperative) string {
	if code := c.Profile["province_code"]; code != "" {
		return code
	}
	if p, ok := adminunits.VN().ProvinceByName(c.Province); ok {
		return p.Code
	}
	return ""
}

// mayReadKind checks the caller may read a kind of a cooperative's list.
func (s *Server) mayReadKind(c echo.Context, kind trace.RecordKind, coopID string) (*trace.Cooperative, error) {
	coop, err := s.db.Cooperative(coopID)
	if err != nil {
		return nil, err
	}
	if publicKinds[kind] {
		return coop, nil
	}
	return coop, s.MayRead(c, coop)
}

func (s *Server) listEntries(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		coop, err := s.mayReadKind(c, kind, c.Param("id"))
		if err != nil {
			return err
		}
		withRemoved := c.QueryParam("removed") == "true"
		recs, err := s.db.Entries(kind, coop.ID, withRemoved)
		if err != nil {
			return err
		}
		day := s.Today()
		out := make([]Entry, 0, len(recs))
		for _, sr := range recs {
			out = append(out, ToEntry(sr, day))
		}
		return c.JSON(http.StatusOK, map[string]any{KindPath(kind): out})
	}
}

func (s *Server) getEntry(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		sr, err := s.db.Entry(kind, c.Param("id"))
		if err != nil {
			return err
		}
		if _, err := s.mayReadKind(c, kind, sr.Record.Cooperative); err != nil {
			return err
		}
		return c.JSON(http.StatusOK, ToEntry(sr, s.Today()))
	}
}

func (s *Server) entryRecords(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		sr, err := s.db.Entry(kind, c.Param("id"))
		if err != nil {
			return err
		}
		if _, err := s.mayReadKind(c, kind, sr.Record.Cooperative); err != nil {
			return err
		}
		recs, err := s.db.Records(kind, sr.Record.ID)
		if err != nil {
			return err
		}
		out := make([]*Record, len(recs))
		for i, r := range recs {
			out[i] = toRecord(r)
		}
		return c.JSON(http.StatusOK, map[string]any{"records": out})
	}
}

// EntryRequest is the body that creates or replaces a registry entry: its
// fields, by the names of its kind's record (a member's name, area_ha, …).
type EntryRequest map[string]string

func (s *Server) createEntry(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req EntryRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		coop, err := s.db.Cooperative(c.Param("id"))
		if err != nil {
			return err
		}
		if err := mayWrite(c, coop.ID); err != nil {
			return err
		}
		id := req["id"]
		delete(req, "id")
		sr, err := s.PutEntry(c, coop, kind, id, true, req)
		if err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderLocation, "/api/v1/"+KindPath(kind)+"/"+sr.Record.ID)
		return c.JSON(http.StatusCreated, ToEntry(sr, s.Today()))
	}
}

func (s *Server) updateEntry(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		var req EntryRequest
		if err := decodeJSON(c, &req); err != nil {
			return err
		}
		cur, err := s.db.Entry(kind, c.Param("id"))
		if err != nil {
			return err
		}
		if err := mayWrite(c, cur.Record.Cooperative); err != nil {
			return err
		}
		coop, err := s.db.Cooperative(cur.Record.Cooperative)
		if err != nil {
			return err
		}
		if id, ok := req["id"]; ok && id != cur.Record.ID {
			return &trace.FieldError{Field: "id", Reason: "an entry's id cannot change"}
		}
		delete(req, "id")
		sr, err := s.PutEntry(c, coop, kind, cur.Record.ID, false, req)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, ToEntry(sr, s.Today()))
	}
}

func (s *Server) removeEntry(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		cur, err := s.db.Entry(kind, c.Param("id"))
		if err != nil {
			return err
		}
		if err := mayWrite(c, cur.Record.Cooperative); err != nil {
			return err
		}
		sr, err := s.db.RemoveEntry(c.Request().Context(), kind, cur.Record.ID, s.Today(), caller(c).ID)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, ToEntry(sr, s.Today()))
	}
}

// PutEntry checks an entry's fields as a form or the API gives them
// (CleanEntry) and signs them as a new entry (create) or the next
// revision of entry id.
func (s *Server) PutEntry(c echo.Context, coop *trace.Cooperative, kind trace.RecordKind, id string, create bool, fields map[string]string) (*store.StoredRecord, error) {
	clean, err := s.CleanEntry(coop, kind, fields)
	if err != nil {
		return nil, err
	}
	w := store.EntryWrite{Kind: kind, ID: id, Create: create, IDHint: EntryName(kind, clean), Fields: clean}
	return s.db.PutEntry(c.Request().Context(), coop.ID, w, caller(c).ID)
}

// EntryName is the name an entry's id is made from.
func EntryName(kind trace.RecordKind, f map[string]string) string {
	switch kind {
	case trace.KindCertificate:
		return f["scheme"] + " " + f["number"]
	case trace.KindListing:
		return f["platform"] + " " + f["label"]
	}
	return f["name"]
}

// CleanEntry writes the fields of a registry entry the way they are
// signed — phone numbers without spaces, locations as compact GeoJSON,
// empty fields left out — and checks them with what the signed record
// cannot check for itself: that codes name units of the current list,
// that the entries and attachments they name exist.
func (s *Server) CleanEntry(coop *trace.Cooperative, kind trace.RecordKind, fields map[string]string) (map[string]string, error) {
	f := map[string]string{}
	for k, v := range fields {
		if v = strings.TrimSpace(v); v != "" {
			f[k] = v
		}
	}
	for _, k := range []string{"phone", "zalo"} {
		if v, ok := f[k]; ok {
			f[k] = trace.NormalizePhone(v)
		}
	}
	if v, ok := f["location"]; ok {
		if g, err := trace.CanonicalGeoJSON(v); err == nil {
			f["location"] = g
		}
	}
	for _, k := range []string{"planting_code", "packing_code"} {
		if v, ok := f[k]; ok {
			f[k] = strings.ToUpper(v)
		}
	}
	rec := &trace.Record{Kind: kind, ID: "x", Cooperative: coop.ID, Time: "2025-01-01T00:00:00+07:00", Fields: f}
	var v trace.ValidationError
	if err := rec.Validate(); err != nil {
		var ve *trace.ValidationError
		if !errors.As(err, &ve) {
			return nil, err
		}
		for _, fe := range ve.Fields {
			v.Fields = append(v.Fields, &trace.FieldError{Field: strings.TrimPrefix(fe.Field, "fields."), Reason: fe.Reason})
		}
	}
	bad := func(field, format string, args ...any) {
		v.Fields = append(v.Fields, &trace.FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
	}
	units := adminunits.VN()
	if code := f["commune_code"]; code != "" && !badField(&v, "commune_code") {
		if cm, ok := units.Commune(code); !ok {
			bad("commune_code", "there is no commune %s in the list of communes of 2025", code)
		} else if pc := ProvinceCode(coop); pc != "" && cm.Province != pc && kind != trace.KindPlot {
			p, _ := units.Province(pc)
			bad("commune_code", "commune %s (%s) is not in the cooperative's province, %s", code, cm.Name, p.Name)
		}
	}
	for _, k := range []string{"scan"} {
		if h := f[k]; h != "" && !badField(&v, k) {
			if err := s.checkAttachment(h, false); err != nil {
				bad(k, "%v", err)
			}
		}
	}
	if m := f["member"]; m != "" && !badField(&v, "member") {
		if sr, err := s.db.LatestRecord(trace.KindMember, m); err != nil || sr.Record.Cooperative != coop.ID || sr.Record.Removed() {
			bad("member", "the cooperative's registry has no member %s", m)
		}
	}
	for _, k := range []string{"products", "product"} {
		for _, id := range strings.Fields(f[k]) {
			if badField(&v, k) {
				break
			}
			if p, err := s.db.Product(id); err != nil || p.CooperativeID != coop.ID {
				bad(k, "the cooperative has no product %s", id)
			}
		}
	}
	for _, id := range strings.Fields(f["plots"]) {
		if badField(&v, "plots") {
			break
		}
		if sr, err := s.db.LatestRecord(trace.KindPlot, id); err != nil || sr.Record.Cooperative != coop.ID {
			bad("plots", "the cooperative's registry has no plot %s", id)
		}
	}
	if len(v.Fields) > 0 {
		sort.SliceStable(v.Fields, func(i, j int) bool { return v.Fields[i].Field < v.Fields[j].Field })
		return nil, &v
	}
	return f, nil
}

func badField(v *trace.ValidationError, field string) bool {
	for _, fe := range v.Fields {
		if fe.Field == field {
			return true
		}
	}
	return false
}

// checkAttachment checks that a SHA-256 names a stored file (an image
// when image is set).
func (s *Server) checkAttachment(hex string, image bool) error {
	h, err := trace.ParseHash(hex)
	if err != nil {
		return err
	}
	info, err := s.db.Attachment(h)
	if err != nil {
		if errors.Is(err, trace.ErrNotFound) {
			return fmt.Errorf("no attachment %s is stored; upload the file first (POST /api/v1/attachments)", hex[:12])
		}
		return err
	}
	if image && !strings.HasPrefix(info.MediaType, "image/") {
		return fmt.Errorf("attachment %s is %s, not an image", hex[:12], info.MediaType)
	}
	return nil
}

// checkProfile writes a cooperative's profile the way it is signed and
// checks its codes and logo against the current lists and the stored
// attachments; a province code fills in or must agree with the province.
func (s *Server) checkProfile(coop *trace.Cooperative) error {
	if coop.Profile == nil {
		return nil
	}
	f := map[string]string{}
	for k, v := range coop.Profile {
		if v = strings.TrimSpace(v); v != "" {
			f[k] = v
		}
	}
	for _, k := range []string{"phone", "zalo"} {
		if v, ok := f[k]; ok {
			f[k] = trace.NormalizePhone(v)
		}
	}
	if len(f) == 0 {
		f = nil
	}
	coop.Profile = f
	var v trace.ValidationError
	bad := func(field, format string, args ...any) {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "profile." + field, Reason: fmt.Sprintf(format, args...)})
	}
	units := adminunits.VN()
	if pc := f["province_code"]; pc != "" {
		p, ok := units.Province(pc)
		switch {
		case !ok:
			bad("province_code", "there is no province %s in the list of provinces of 2025", pc)
		case coop.Province == "":
			coop.Province = p.Name
		default:
			if q, ok := units.ProvinceByName(coop.Province); !ok || q.Code != pc {
				v.Fields = append(v.Fields, &trace.FieldError{Field: "province", Reason: fmt.Sprintf("the province %q is not province %s, %s; give its name or leave it out", coop.Province, pc, p.Name)})
			}
		}
	}
	if cc := f["commune_code"]; cc != "" {
		if cm, ok := units.Commune(cc); !ok {
			bad("commune_code", "there is no commune %s in the list of communes of 2025", cc)
		} else if pc := f["province_code"]; pc != "" && cm.Province != pc {
			bad("commune_code", "commune %s (%s) is not in province %s", cc, cm.Name, pc)
		}
	}
	if h := f["logo"]; h != "" && trace.ValidateField(trace.KindCooperative, "logo", h) == nil {
		if err := s.checkAttachment(h, true); err != nil {
			bad("logo", "%v", err)
		}
	}
	if len(v.Fields) > 0 {
		return &v
	}
	return nil
}

// checkContent checks that a product's photos are stored images.
func (s *Server) checkContent(p *trace.Product) error {
	photos := p.Content["photos"]
	if photos == "" || trace.ValidateField(trace.KindProduct, "photos", photos) != nil {
		return nil
	}
	for _, h := range strings.Split(photos, " ") {
		if err := s.checkAttachment(h, true); err != nil {
			return &trace.FieldError{Field: "content.photos", Reason: err.Error()}
		}
	}
	return nil
}

// Province is a province of the list of administrative units.
type Province struct {
	Code string `json:"code"`
	Name string `json:"name"`
	Type string `json:"type"`
}

// Commune is a commune of the list of administrative units.
type Commune struct {
	Code     string `json:"code"`
	Name     string `json:"name"`
	Province string `json:"province"`
}

func (s *Server) listProvinces(c echo.Context) error {
	u := adminunits.VN()
	out := make([]Province, 0, len(u.Provinces))
	for _, p := range u.Provinces {
		out = append(out, Province(p))
	}
	return c.JSON(http.StatusOK, map[string]any{"effective": u.Effective, "provinces": out})
}

func (s *Server) listCommunes(c echo.Context) error {
	u := adminunits.VN()
	if _, ok := u.Province(c.Param("code")); !ok {
		return fmt.Errorf("province %s: %w", Clip(c.Param("code"), 10), trace.ErrNotFound)
	}
	cs := u.CommunesOf(c.Param("code"))
	out := make([]Commune, 0, len(cs))
	for _, cm := range cs {
		out = append(out, Commune(cm))
	}
	return c.JSON(http.StatusOK, map[string]any{"communes": out})
}

// ocopOf is the highest OCOP rating among a cooperative's products and
// its valid OCOP certificates.
func ocopOf(products []*trace.Product, certs []*store.StoredRecord, day string) int {
	best := 0
	for _, p := range products {
		best = max(best, p.OCOPStars)
	}
	for _, sr := range certs {
		f := sr.Record.Fields
		if f["scheme"] == "ocop" && trace.CertificateStatus(f, day) == trace.CertValid {
			if n, err := strconv.Atoi(f["ocop_stars"]); err == nil {
				best = max(best, n)
			}
		}
	}
	return best
}

// certificatesOf returns a cooperative's current certificate records, read
// once per cooperative into seen.
func (s *Server) certificatesOf(coop string, seen map[string][]*trace.SignedRecord) ([]*trace.SignedRecord, error) {
	if certs, ok := seen[coop]; ok {
		return certs, nil
	}
	recs, err := s.db.Entries(trace.KindCertificate, coop, false)
	if err != nil {
		return nil, err
	}
	certs := make([]*trace.SignedRecord, len(recs))
	for i, sr := range recs {
		certs[i] = sr.SignedRecord
	}
	seen[coop] = certs
	return certs, nil
}
