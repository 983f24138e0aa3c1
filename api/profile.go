package api

import (
	"bytes"
	"errors"
	"html/template"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/adminunits"
)

// A cooperative's public face: its profile page (/p/{id}), and what a
// lot's page shows of it — the product's photos and content in the
// shopper's language, the cooperative's contact, its certificates with
// their validity, and where to buy. Everything here comes from the
// cooperative's signed registry records; the page is server-rendered,
// escaped, Vietnamese first, and loads nothing from another host (the
// map is a link to OpenStreetMap).

// ProfilePrefix starts the path of a cooperative's public profile page.
const ProfilePrefix = "/p/"

// ProfilePath is the public profile page of a cooperative.
func ProfilePath(coopID string) string { return ProfilePrefix + coopID }

func newProfileTemplate(p *pages) (*template.Template, error) {
	return template.New("profile").Funcs(p.funcs).ParseFS(p.static, "templates/layout.html", "templates/profile.html")
}

// Contact is how a shopper reaches a cooperative, with the links a phone
// opens: tel:, Zalo, mailto:, its website.
type Contact struct {
	Name, ShortName, Address, Representative string
	Phone, Zalo, Email, Website              string
	PhoneHref, ZaloHref, EmailHref           template.URL
	WebsiteHref                              string
	Logo                                     *photoView
}

// ContactOf is a cooperative's contact from its profile; the address is
// written from its commune's and province's names.
func ContactOf(c *trace.Cooperative) Contact {
	f := c.Profile
	ct := Contact{Name: c.Name, ShortName: f["short_name"], Representative: f["representative"], Phone: f["phone"], Zalo: f["zalo"],
		Email: f["email"], Website: f["website"]}
	var addr []string
	if a := f["address"]; a != "" {
		addr = append(addr, a)
	}
	if cm, ok := adminunits.VN().Commune(f["commune_code"]); ok {
		addr = append(addr, cm.Name)
	}
	if c.Province != "" {
		addr = append(addr, c.Province)
	}
	ct.Address = strings.Join(addr, ", ")
	// The numbers and addresses were checked when they were signed
	// (trace.ValidatePhone, ValidateEmail, ValidateWebURL).
	if ct.Phone != "" {
		ct.PhoneHref = template.URL("tel:" + ct.Phone)
	}
	if ct.Zalo != "" {
		ct.ZaloHref = template.URL("https://zalo.me/" + localPhone(ct.Zalo))
	}
	if ct.Email != "" {
		ct.EmailHref = template.URL("mailto:" + ct.Email)
	}
	ct.WebsiteHref = ct.Website
	if h := f["logo"]; h != "" {
		p := photoFor(h)
		ct.Logo = &p
	}
	return ct
}

// localPhone writes +84… as 0…, the way Zalo's links take a number.
func localPhone(p string) string {
	if strings.HasPrefix(p, "+84") {
		return "0" + p[3:]
	}
	return p
}

// ProductContent is a product's content in one language, falling back to
// Vietnamese field by field.
type ProductContent struct {
	ID, Name, Description, Variety, Ingredients, Category string
	OCOPStars                                             int
	Photos                                                []photoView
}

// ContentOf is a product's content in a language (vi, en or zh).
func ContentOf(p *trace.Product, lang string) ProductContent {
	f := trace.ProductRecordFields(p)
	pick := func(base string) string {
		if v := f[base+"_"+lang]; v != "" {
			return v
		}
		return f[base+"_vi"]
	}
	pc := ProductContent{ID: p.ID, Name: pick("name"), Description: pick("description"), Variety: pick("variety"),
		Ingredients: pick("ingredients"), Category: p.Category, OCOPStars: p.OCOPStars}
	for _, h := range strings.Fields(f["photos"]) {
		pc.Photos = append(pc.Photos, photoFor(h))
	}
	return pc
}

// CertificateView is a certificate as a page shows it: its scheme's name
// and number, issuer, validity (dd/mm/yyyy) and its state on a day and
// today.
type CertificateView struct {
	ID, Scheme, SchemeName, Number, Issuer string
	ValidFrom, ValidTo                     string
	OCOPStars                              int
	Status                                 string // on the day asked for: trace.CertValid, CertExpired, CertNotYet
	StatusToday                            string
	StatusText                             string // StatusToday in the page's language
	ScanHref                               string
	Hash                                   string // of the record's newest revision
}

// ListingView is a place to buy, as a labelled link.
type ListingView struct {
	Platform, PlatformName, Label, URL, Product string
}

// PublicFace is what a lot's page and a cooperative's profile page show
// of a cooperative and one of its products (Product is nil without one).
// Links and photos come from the cooperative's signed registry records.
type PublicFace struct {
	ProfilePath  string
	Contact      Contact
	Product      *ProductContent
	Certificates []CertificateView
	Listings     []ListingView
}

// PublicFace gathers a cooperative's public face for a product (empty
// productID: every certificate and listing) in a language: the
// certificates whose scope names the product, each with its state on day
// (a lot's harvest date; YYYY-MM-DD) and today, valid ones first; the
// listings of the product and of the whole shop.
func (s *Server) PublicFace(coopID, productID, lang, day string) (*PublicFace, error) {
	coop, err := s.db.Cooperative(coopID)
	if err != nil {
		return nil, err
	}
	cat := s.pages.catalogs[lang]
	if cat == nil {
		cat = s.pages.catalogs[defaultLang]
	}
	pf := &PublicFace{ProfilePath: ProfilePath(coop.ID), Contact: ContactOf(coop)}
	if productID != "" {
		p, err := s.db.Product(productID)
		if err != nil {
			return nil, err
		}
		pc := ContentOf(p, cat.Lang)
		pf.Product = &pc
	}
	today := s.Today()
	if day == "" {
		day = today
	}
	certs, err := s.db.CertificatesOn(coop.ID, productID, day)
	if err != nil {
		return nil, err
	}
	for _, co := range certs {
		pf.Certificates = append(pf.Certificates, certificateView(cat, co.Record, co.Status, today))
	}
	listings, err := s.db.Entries(trace.KindListing, coop.ID, false)
	if err != nil {
		return nil, err
	}
	for _, sr := range listings {
		f := sr.Record.Fields
		if productID != "" && f["product"] != "" && f["product"] != productID {
			continue
		}
		pf.Listings = append(pf.Listings, ListingView{Platform: f["platform"], PlatformName: platformName(cat, f["platform"]),
			Label: f["label"], URL: f["url"], Product: f["product"]})
	}
	return pf, nil
}

func certificateView(cat *Catalog, sr *store.StoredRecord, status, today string) CertificateView {
	f := sr.Record.Fields
	name := cat.Certifications[f["scheme"]]
	if name == "" {
		name = f["scheme"]
	}
	v := CertificateView{ID: sr.Record.ID, Scheme: f["scheme"], SchemeName: name, Number: f["number"], Issuer: f["issuer"],
		ValidFrom: DateText(f["valid_from"]), ValidTo: DateText(f["valid_to"]), Status: status,
		StatusToday: trace.CertificateStatus(f, today), Hash: sr.Hash.String()}
	v.StatusText = cat.Messages["cert_"+v.StatusToday]
	if n, err := strconv.Atoi(f["ocop_stars"]); err == nil {
		v.OCOPStars = n
	}
	if h := f["scan"]; h != "" {
		v.ScanHref = AttachmentPath + h
	}
	return v
}

func platformName(cat *Catalog, p string) string {
	if n := cat.Messages["platform_"+p]; n != "" {
		return n
	}
	return trace.Platforms[p]
}

type profilePlot struct {
	Name, Area, Crop, PlantingCode, PlantingValid, PackingCode, PackingValid, OSM, Commune string
	PlantingExpired, PackingExpired                                                        bool
}

type profilePage struct {
	PageData
	Face        *PublicFace
	Province    string
	OCOPStars   int
	About       string
	Founded     string
	Products    []ProductContent
	Plots       []profilePlot
	RecordsPath string
	Members     int
}

// profile serves GET /p/{id}: a cooperative's public profile page.
func (s *Server) profile(c echo.Context) error {
	id := c.Param("id")
	if !trace.ValidID(id) {
		return echo.NewHTTPError(http.StatusNotFound, "no such cooperative")
	}
	coop, err := s.db.Cooperative(id)
	if err != nil {
		if errors.Is(err, trace.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "no such cooperative")
		}
		return err
	}
	cat := s.SetLanguage(c)
	face, err := s.PublicFace(coop.ID, "", cat.Lang, "")
	if err != nil {
		return err
	}
	d := profilePage{PageData: s.BasePage(c, cat, coop.Name), Face: face, Province: coop.Province, Founded: DateText(coop.Profile["founded"]),
		RecordsPath: "/api/v1/cooperatives/" + coop.ID + "/records"}
	d.State = ""
	d.About = coop.Profile["description_"+cat.Lang]
	if d.About == "" {
		d.About = coop.Profile["description_vi"]
	}
	products, err := s.db.Products(coop.ID)
	if err != nil {
		return err
	}
	for _, p := range products {
		d.Products = append(d.Products, ContentOf(p, cat.Lang))
		d.OCOPStars = max(d.OCOPStars, p.OCOPStars)
	}
	for _, cv := range face.Certificates {
		if cv.Scheme == "ocop" && cv.StatusToday == trace.CertValid {
			d.OCOPStars = max(d.OCOPStars, cv.OCOPStars)
		}
	}
	plots, err := s.db.Entries(trace.KindPlot, coop.ID, false)
	if err != nil {
		return err
	}
	today := s.Today()
	units := adminunits.VN()
	for _, sr := range plots {
		f := sr.Record.Fields
		pv := profilePlot{Name: f["name"], Crop: f["crop"], PlantingCode: f["planting_code"], PackingCode: f["packing_code"]}
		if a := f["area_ha"]; a != "" {
			pv.Area = formatNumber(cat.Lang, a) + " ha"
		}
		if cm, ok := units.Commune(f["commune_code"]); ok {
			pv.Commune = cm.Name
		}
		pv.PlantingValid, pv.PlantingExpired = validity(f["planting_code_valid_from"], f["planting_code_valid_to"], today)
		pv.PackingValid, pv.PackingExpired = validity(f["packing_code_valid_from"], f["packing_code_valid_to"], today)
		if lat, lon, ok := trace.GeoJSONCenter(f["location"]); ok {
			la, lo := strconv.FormatFloat(lat, 'f', 5, 64), strconv.FormatFloat(lon, 'f', 5, 64)
			pv.OSM = "https://www.openstreetmap.org/?mlat=" + url.QueryEscape(la) + "&mlon=" + url.QueryEscape(lo) + "#map=15/" + la + "/" + lo
		}
		d.Plots = append(d.Plots, pv)
	}
	members, err := s.db.Entries(trace.KindMember, coop.ID, false)
	if err != nil {
		return err
	}
	d.Members = len(members)
	sort.SliceStable(d.Products, func(i, j int) bool { return d.Products[i].Name < d.Products[j].Name })
	var buf bytes.Buffer
	if err := s.profileTmpl.ExecuteTemplate(&buf, "profile.html", d); err != nil {
		return err
	}
	PageHeaders(c)
	return c.HTMLBlob(http.StatusOK, buf.Bytes())
}

// validity writes a code's validity as "dd/mm/yyyy – dd/mm/yyyy" and says
// whether it ended before today.
func validity(from, to, today string) (string, bool) {
	if from == "" && to == "" {
		return "", false
	}
	text := DateText(from) + " – " + DateText(to)
	if from == "" {
		text = "– " + DateText(to)
	} else if to == "" {
		text = DateText(from) + " –"
	}
	return text, to != "" && to < today
}

// profileError answers a failed request for a profile page in a browser
// with the site's error page, saying that no such cooperative exists.
func (s *Server) profileError(c echo.Context, p *Problem) bool {
	path := c.Request().URL.Path
	if !(strings.HasPrefix(path, ProfilePrefix) || strings.HasPrefix(path, "/414/")) || c.Request().Method == http.MethodHead || negotiate(c.Request()) != repHTML {
		return false
	}
	cat := s.SetLanguage(c)
	key := "error_500"
	if p.Status == http.StatusNotFound {
		key = "profile_404"
	}
	d := errorPage{PageData: s.BasePage(c, cat, cat.Messages[key+"_title"]), Message: cat.Messages[key+"_text"]}
	d.State = "failed"
	if err := s.render(c, p.Status, "error", d); err != nil {
		s.log.Error("error page failed", "error", err, "request_id", p.RequestID)
		c.NoContent(p.Status)
	}
	return true
}

// lotFace is what a lot's page shows of its cooperative's registry: the
// product's photos and description, the cooperative's contact, the
// certificates and the places to buy. All of it comes from the history
// (the product's and the cooperative's signed records, and the
// certificate and listing records it carries), so the shopper's browser
// checks each against its signature, as it checks the steps.
type lotFace struct {
	ProfilePath  string
	Description  string
	Photos       []photoView
	Contact      Contact
	Certificates []lotCertView
	Listings     []lotListingView
}

// lotCertView is a certificate on a lot's page: its signed scheme,
// number, issuer and dates, its state on the lot's day and today.
type lotCertView struct {
	Hash, Scheme, SchemeName, Number, Issuer string
	ValidFrom, ValidTo                       string // dd/mm/yyyy
	OCOPStars                                int
	AtLot, Today                             string // trace.CertValid, CertExpired, CertNotYet
	AtLotText                                string
	ExpiredNow                               bool // valid on the lot's day, expired since
	ScanHref                                 string
}

// lotListingView is a place to buy the product, from a signed listing.
type lotListingView struct {
	Hash, Platform, PlatformName, Label, URL string
}

func (s *Server) lotFace(cat *Catalog, h *History) lotFace {
	coop := &trace.Cooperative{ID: h.Cooperative.ID, Name: h.Cooperative.Name, Province: h.Cooperative.Province, Profile: h.Cooperative.Profile}
	f := lotFace{ProfilePath: ProfilePath(h.Cooperative.ID), Contact: ContactOf(coop)}
	f.Contact.Logo = nil // the lot's page shows the product, not the logo
	if h.CooperativeRecord == nil {
		// Not yet signed (a read-only copy of an old store): the page
		// shows no contact rather than an unchecked one.
		f.Contact = Contact{}
	}
	if h.ProductRecord != nil {
		content := h.Product.Content
		if f.Description = content["description_"+cat.Lang]; f.Description == "" {
			f.Description = content["description_vi"]
		}
		for _, sum := range strings.Fields(content["photos"]) {
			f.Photos = append(f.Photos, photoFor(sum))
		}
	}
	day, today := lotDay(h), s.Today()
	when := "cert_harvest_"
	if h.Batch.HarvestDate == "" {
		when = "cert_made_"
	}
	if day == "" {
		day = today
	}
	for _, r := range h.RegistryRecords {
		rf := r.Fields
		switch trace.RecordKind(r.Kind) {
		case trace.KindCertificate:
			v := lotCertView{Hash: r.Hash, Scheme: rf["scheme"], SchemeName: cat.Certifications[rf["scheme"]], Number: rf["number"],
				Issuer: rf["issuer"], ValidFrom: DateText(rf["valid_from"]), ValidTo: DateText(rf["valid_to"]),
				AtLot: trace.CertificateStatus(rf, day), Today: trace.CertificateStatus(rf, today)}
			if v.SchemeName == "" {
				v.SchemeName = v.Scheme
			}
			if n, err := strconv.Atoi(rf["ocop_stars"]); err == nil {
				v.OCOPStars = n
			}
			v.AtLotText = cat.Messages[when+v.AtLot]
			v.ExpiredNow = v.AtLot == trace.CertValid && v.Today == trace.CertExpired
			if sum := rf["scan"]; sum != "" {
				v.ScanHref = AttachmentPath + sum
			}
			f.Certificates = append(f.Certificates, v)
		case trace.KindListing:
			f.Listings = append(f.Listings, lotListingView{Hash: r.Hash, Platform: rf["platform"], PlatformName: platformName(cat, rf["platform"]),
				Label: rf["label"], URL: rf["url"]})
		}
	}
	return f
}

// registered reports whether a certificate a lot names is one of the
// registry's certificates its page shows.
func (f *lotFace) registered(scheme, number string) bool {
	for _, c := range f.Certificates {
		if c.Scheme == scheme && c.Number == number {
			return true
		}
	}
	return false
}
