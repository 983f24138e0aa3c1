package api

import (
	"encoding/base64"
	"errors"
	"fmt"
	"net/http"
	"sort"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// What a shopper or an inspector reads as the cooperative's word is covered
// by its signature: the lot's facts by the facts records of its chain
// (trace.LotFacts), the product and the cooperative by the newest signed
// revision of their registry records (trace.Record). A history carries
// those revisions beside its events, and every reader — this server,
// POST /api/v1/verify, `truyxuat verify`, the page's own script — checks
// that the readable fields say exactly what was signed. What no signature
// covers (the facts of a lot registered before lots had facts records) is
// listed in the history's "unsigned", and shown as such.

// Record is one signed revision of a registry record, with what an outside
// verifier needs: the canonical bytes, their hash, signature and signer,
// and its place in the transparency log. Fields repeats what the canonical
// bytes say, for reading.
type Record struct {
	Kind           string            `json:"kind"`
	ID             string            `json:"id"`
	Cooperative    string            `json:"cooperative"`
	Seq            uint64            `json:"seq"`
	Hash           string            `json:"hash"`
	Prev           string            `json:"prev,omitempty"`
	Time           string            `json:"time"`
	Fields         map[string]string `json:"fields"`
	Canonical      string            `json:"canonical"`
	Signature      string            `json:"signature"`
	Signer         string            `json:"signer"`
	LogIndex       *uint64           `json:"log_index,omitempty"`
	LogEntry       string            `json:"log_entry,omitempty"`
	InclusionProof []string          `json:"inclusion_proof,omitzero"`
}

func toRecord(sr *store.StoredRecord) *Record {
	r := sr.Record
	out := &Record{Kind: string(r.Kind), ID: r.ID, Cooperative: r.Cooperative, Seq: r.Seq, Hash: sr.Hash.String(),
		Time: r.Time, Fields: r.Fields,
		Canonical: base64.StdEncoding.EncodeToString(sr.Body),
		Signature: base64.StdEncoding.EncodeToString(sr.Signature),
		Signer:    base64.StdEncoding.EncodeToString(sr.Signer)}
	if r.Seq > 0 {
		out.Prev = r.Prev.String()
	}
	if sr.LogEntry != nil {
		idx := sr.LogIndex
		out.LogIndex = &idx
		out.LogEntry = base64.StdEncoding.EncodeToString(sr.LogEntry)
	}
	if out.Fields == nil {
		out.Fields = map[string]string{}
	}
	return out
}

// open checks a wire record's signature and that its readable fields are
// its signed ones, and returns the signed record.
func (r *Record) open(name string) (*trace.SignedRecord, error) {
	fail := func(reason trace.VerifyReason, format string, args ...any) error {
		return &trace.VerifyError{Index: int(r.Seq), Hash: r.Hash, Reason: reason, Record: name, Detail: fmt.Sprintf(format, args...)}
	}
	body, err1 := base64.StdEncoding.DecodeString(r.Canonical)
	sig, err2 := base64.StdEncoding.DecodeString(r.Signature)
	signer, err3 := base64.StdEncoding.DecodeString(r.Signer)
	if err := errors.Join(err1, err2, err3); err != nil {
		return nil, fail(trace.ReasonMalformed, "canonical, signature and signer are base64")
	}
	sr, err := trace.OpenRecord(body, sig, signer)
	if err != nil {
		var ve *trace.VerifyError
		if errors.As(err, &ve) {
			ve.Record, ve.Index = name, int(r.Seq)
		}
		return nil, err
	}
	if sr.Hash.String() != r.Hash {
		return nil, fail(trace.ReasonBadHash, "the bytes hash to %s", sr.Hash)
	}
	rec := sr.Record
	if string(rec.Kind) != r.Kind || rec.ID != r.ID || rec.Cooperative != r.Cooperative || rec.Seq != r.Seq || rec.Time != r.Time ||
		(rec.Seq > 0) != (r.Prev != "") || (rec.Seq > 0 && rec.Prev.String() != r.Prev) {
		return nil, fail(trace.ReasonMalformed, "the readable fields differ from the signed bytes")
	}
	if f, want, got := trace.DiffFields(rec.Fields, r.Fields); f != "" {
		return nil, fail(trace.ReasonMalformed, "field %s reads %q, but the signed record says %q", f, got, want)
	}
	return sr, nil
}

// batchFields are a wire batch's facts as trace.LotFacts.Fields names them.
func batchFields(b *Batch) map[string]string {
	m := map[string]string{"product_id": b.ProductID, "gtin": b.GTIN, "lot": b.Lot,
		"quantity": string(b.Quantity.Value) + " " + b.Quantity.Unit, "harvest_date": b.HarvestDate, "member": b.Member}
	if b.Plot != nil {
		m["plot"] = trace.PlotText(&trace.Plot{Name: b.Plot.Name, Lat: b.Plot.Lat, Lon: b.Plot.Lon})
	}
	cs := ""
	for i, c := range b.Certifications {
		if i > 0 {
			cs += "; "
		}
		cs += c.Scheme + " " + c.ID
	}
	m["certifications"] = cs
	for k, v := range m {
		if v == "" {
			delete(m, k)
		}
	}
	return m
}

func productFields(p *Product) map[string]string {
	return trace.ProductRecordFields(&trace.Product{GTIN: p.GTIN, NameVI: p.NameVI, NameEN: p.NameEN, Category: p.Category, OCOPStars: p.OCOPStars, Content: p.Content})
}

func cooperativeFields(c *Cooperative) map[string]string {
	return trace.CooperativeRecordFields(&trace.Cooperative{Name: c.Name, Province: c.Province, GLN: c.GLN, Profile: c.Profile})
}

// checkSigned checks that what a verified history shows about its lot, its
// product and its cooperative is what the cooperative signed: the newest
// facts record of the chain, and the registry records the history carries
// (signed by one of coopKeys). It returns the readable fields that no
// signature covers, by their JSON path ("batch.quantity"), and fails with a
// *trace.VerifyError naming the first field that says something else.
func checkSigned(h *History, signed []*trace.SignedEvent, coopKeys [][]byte) ([]string, error) {
	var unsigned []string
	// The product and the cooperative first: a lot's facts quote them.
	for _, part := range []struct {
		rec    *Record
		kind   trace.RecordKind
		id     string
		fields map[string]string
		name   string
	}{
		{h.ProductRecord, trace.KindProduct, h.Product.ID, productFields(&h.Product), "product"},
		{h.CooperativeRecord, trace.KindCooperative, h.Cooperative.ID, cooperativeFields(&h.Cooperative), "cooperative"},
	} {
		if part.rec == nil {
			for _, f := range trace.RecordFields(part.kind) {
				if _, ok := part.fields[f]; ok {
					unsigned = append(unsigned, part.name+"."+f)
				}
			}
			continue
		}
		label := string(part.kind) + " " + part.id
		sr, err := part.rec.open(label)
		if err != nil {
			return nil, err
		}
		r := sr.Record
		fail := func(field, format string, args ...any) error {
			return &trace.VerifyError{Index: int(r.Seq), Hash: sr.Hash.String(), Reason: trace.ReasonMismatch, Record: label, Field: field, Detail: fmt.Sprintf(format, args...)}
		}
		if r.Kind != part.kind || r.ID != part.id {
			return nil, fail(part.name+".id", "the history's %s is %s, but its signed record is of %s %s", part.name, part.id, r.Kind, r.ID)
		}
		if r.Cooperative != h.Cooperative.ID {
			return nil, fail(part.name+".cooperative_id", "the record is signed for cooperative %s, not %s", r.Cooperative, h.Cooperative.ID)
		}
		if !trace.HasKey(coopKeys, sr.Signer) {
			return nil, &trace.VerifyError{Index: int(r.Seq), Hash: sr.Hash.String(), Reason: trace.ReasonUnknownKey, Record: label,
				Detail: fmt.Sprintf("key %s is not a key of cooperative %s", trace.KeyID(sr.Signer), h.Cooperative.ID)}
		}
		if f, want, got := trace.DiffFields(r.Fields, part.fields); f != "" {
			return nil, fail(part.name+"."+f, "the history says %q, the %s's signed record says %q", got, part.name, want)
		}
	}
	facts, at := trace.LatestFacts(signed)
	bf := batchFields(&h.Batch)
	if facts == nil {
		for _, f := range []string{"lot", "quantity", "harvest_date", "plot", "certifications"} {
			if _, ok := bf[f]; ok {
				unsigned = append(unsigned, "batch."+f)
			}
		}
	} else if f, want, got := trace.DiffFields(facts.Fields(), bf); f != "" {
		return nil, &trace.VerifyError{Index: at, Hash: signed[at].Hash.String(), Reason: trace.ReasonMismatch, Field: "batch." + f,
			Detail: fmt.Sprintf("the history says %q, the lot's signed facts say %q", got, want)}
	}
	if facts != nil && facts.Product != h.Product.ID {
		return nil, &trace.VerifyError{Index: at, Hash: signed[at].Hash.String(), Reason: trace.ReasonMismatch, Field: "product.id",
			Detail: fmt.Sprintf("the lot's signed facts name product %s, the history shows product %s", facts.Product, h.Product.ID)}
	}
	if facts != nil && h.Batch.ProductID != h.Product.ID {
		return nil, &trace.VerifyError{Index: at, Hash: signed[at].Hash.String(), Reason: trace.ReasonMismatch, Field: "batch.product_id",
			Detail: fmt.Sprintf("the batch names product %s, the history shows product %s", h.Batch.ProductID, h.Product.ID)}
	}
	for i, r := range h.RegistryRecords {
		if err := checkRegistryRecord(h, fmt.Sprintf("registry_records[%d]", i), r, coopKeys); err != nil {
			return nil, err
		}
	}
	return unsigned, nil
}

// checkRegistryRecord checks one of the certificate and listing records a
// history carries: signed by the cooperative, a current entry of its
// registry, and about the history's product (a listing of the whole shop
// is too).
func checkRegistryRecord(h *History, field string, r *Record, coopKeys [][]byte) error {
	if r == nil {
		return &trace.VerifyError{Reason: trace.ReasonMalformed, Field: field, Detail: "the record is null"}
	}
	label := r.Kind + " " + r.ID
	sr, err := r.open(label)
	if err != nil {
		return err
	}
	rec := sr.Record
	fail := func(format string, args ...any) error {
		return &trace.VerifyError{Index: int(rec.Seq), Hash: sr.Hash.String(), Reason: trace.ReasonMismatch, Record: label, Field: field, Detail: fmt.Sprintf(format, args...)}
	}
	switch {
	case rec.Kind != trace.KindCertificate && rec.Kind != trace.KindListing:
		return fail("a lot's page shows certificates and listings, not a %s record", rec.Kind)
	case rec.Cooperative != h.Cooperative.ID:
		return fail("the record is signed for cooperative %s, not %s", rec.Cooperative, h.Cooperative.ID)
	case !trace.HasKey(coopKeys, sr.Signer):
		return &trace.VerifyError{Index: int(rec.Seq), Hash: sr.Hash.String(), Reason: trace.ReasonUnknownKey, Record: label, Field: field,
			Detail: fmt.Sprintf("key %s is not a key of cooperative %s", trace.KeyID(sr.Signer), h.Cooperative.ID)}
	case rec.Removed():
		return fail("the record removes %s from the registry", label)
	case rec.Kind == trace.KindCertificate && !trace.InScope(rec.Fields["products"], h.Product.ID):
		return fail("the certificate's scope does not name product %s", h.Product.ID)
	case rec.Kind == trace.KindListing && rec.Fields["product"] != "" && rec.Fields["product"] != h.Product.ID:
		return fail("the listing is of product %s, not %s", rec.Fields["product"], h.Product.ID)
	}
	return nil
}

// records are the signed registry records a history carries.
func (h *History) records() []*Record {
	var out []*Record
	for _, r := range append([]*Record{h.ProductRecord, h.CooperativeRecord}, h.RegistryRecords...) {
		if r != nil {
			out = append(out, r)
		}
	}
	return out
}

// lotDay is the day a lot's certificates must be valid on: its harvest
// date, else the date of its first event (a lot made from others).
func lotDay(h *History) string {
	if h.Batch.HarvestDate != "" {
		return h.Batch.HarvestDate
	}
	if len(h.Events) > 0 && len(h.Events[0].EventTime) >= 10 {
		return h.Events[0].EventTime[:10]
	}
	return ""
}

// claimedCertificates are the certificates a lot's history names, as
// "scheme number".
func claimedCertificates(h *History) map[string]bool {
	out := map[string]bool{}
	for _, c := range h.Batch.Certifications {
		out[c.Scheme+" "+c.ID] = true
	}
	for _, ev := range h.Events {
		for _, c := range ev.Certifications {
			out[c.Scheme+" "+c.ID] = true
		}
	}
	return out
}

// lotRegistry reads the certificate and listing records a lot's page
// shows (see History.RegistryRecords): the product's certificates valid on
// day and those claimed names whatever their state, then the product's
// and the whole shop's listings, its own shop and website first.
func (s *Server) lotRegistry(coopID, productID, day string, claimed map[string]bool) ([]*store.StoredRecord, error) {
	if day == "" {
		day = s.Today()
	}
	certs, err := s.db.CertificatesOn(coopID, productID, day)
	if err != nil {
		return nil, err
	}
	var out []*store.StoredRecord
	for _, co := range certs {
		f := co.Record.Record.Fields
		if co.Status == trace.CertValid || claimed[f["scheme"]+" "+f["number"]] {
			out = append(out, co.Record)
		}
	}
	listings, err := s.db.Entries(trace.KindListing, coopID, false)
	if err != nil {
		return nil, err
	}
	// The cooperative's own shop and website first, then the rest.
	own := func(sr *store.StoredRecord) bool {
		p := sr.Record.Fields["platform"]
		return p == "shop" || p == "website"
	}
	sort.SliceStable(listings, func(i, j int) bool { return own(listings[i]) && !own(listings[j]) })
	for _, sr := range listings {
		if p := sr.Record.Fields["product"]; p == "" || p == productID {
			out = append(out, sr)
		}
	}
	return out, nil
}

// signedRecords reads the newest signed revisions of a history's product
// and cooperative (nil where one has none yet).
func (s *Server) signedRecords(productID, coopID string) (*store.StoredRecord, *store.StoredRecord, error) {
	get := func(kind trace.RecordKind, id string) (*store.StoredRecord, error) {
		sr, err := s.db.LatestRecord(kind, id)
		if errors.Is(err, trace.ErrNotFound) {
			return nil, nil
		}
		return sr, err
	}
	p, err := get(trace.KindProduct, productID)
	if err != nil {
		return nil, nil, err
	}
	c, err := get(trace.KindCooperative, coopID)
	return p, c, err
}

// UpdateProductRequest is the body of PUT /api/v1/products/{id}: the whole
// new profile (the GTIN, if given, must be the product's own).
type UpdateProductRequest struct {
	GTIN      string `json:"gtin,omitempty"`
	NameVI    string `json:"name_vi"`
	NameEN    string `json:"name_en,omitempty"`
	Category  string `json:"category"`
	OCOPStars int    `json:"ocop_stars,omitempty"`
	// Content replaces the product's content (trace.ContentFields) when
	// given; left out, the content stays as it is.
	Content map[string]string `json:"content,omitempty"`
}

func (s *Server) updateProduct(c echo.Context) error {
	var req UpdateProductRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	old, err := s.db.Product(c.Param("id"))
	if err != nil {
		return err
	}
	p := &trace.Product{ID: old.ID, CooperativeID: old.CooperativeID, GTIN: old.GTIN, NameVI: req.NameVI, NameEN: req.NameEN,
		Category: req.Category, OCOPStars: req.OCOPStars, Content: old.Content}
	if req.Content != nil {
		p.Content = req.Content
	}
	if req.GTIN != "" {
		if p.GTIN, err = trace.NormalizeGTIN(req.GTIN); err != nil {
			return err
		}
	}
	if err := s.UpdateProductFor(c, p); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProduct(p))
}

// UpdateProductFor changes a product of the caller's cooperative (its
// names, category, OCOP rating and content) and signs the next revision
// of its record, after checking that its photos are stored images.
func (s *Server) UpdateProductFor(c echo.Context, p *trace.Product) error {
	old, err := s.db.Product(p.ID)
	if err != nil {
		return err
	}
	if err := mayWrite(c, old.CooperativeID); err != nil {
		return err
	}
	if err := s.checkContent(p); err != nil {
		return err
	}
	return s.db.UpdateProduct(p, caller(c).ID)
}

// UpdateCooperativeRequest is the body of PUT /api/v1/cooperatives/{id}.
type UpdateCooperativeRequest struct {
	Name     string `json:"name"`
	Province string `json:"province,omitempty"`
	GLN      string `json:"gln,omitempty"`
	// Profile replaces the rest of the profile (trace.ProfileFields) when
	// given; left out, it stays as it is.
	Profile map[string]string `json:"profile,omitempty"`
}

func (s *Server) updateCooperative(c echo.Context) error {
	var req UpdateCooperativeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	id := c.Param("id")
	if err := mayWrite(c, id); err != nil {
		return err
	}
	old, err := s.db.Cooperative(id)
	if err != nil {
		return err
	}
	profile := old.Profile
	if req.Profile != nil {
		profile = req.Profile
	}
	if err := s.UpdateCooperativeFor(c, id, req.Name, req.Province, req.GLN, profile); err != nil {
		return err
	}
	updated, err := s.db.Cooperative(id)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCooperative(updated))
}

// UpdateCooperativeFor changes a cooperative's profile — name, province
// (filled from the profile's province code when empty), GLN and the rest
// of its profile — and signs the next revision of its record.
func (s *Server) UpdateCooperativeFor(c echo.Context, id, name, province, gln string, profile map[string]string) error {
	if err := mayWrite(c, id); err != nil {
		return err
	}
	coop := &trace.Cooperative{ID: id, Name: name, Province: province, GLN: gln, Profile: profile}
	if err := s.checkProfile(coop); err != nil {
		return err
	}
	return s.db.UpdateCooperativeBy(coop, caller(c).ID)
}

// FactsRequest is the body of POST /api/v1/batches/{id}/facts: the lot's
// facts stated in full again, to correct them. Its product and lot code
// stay as they are.
type FactsRequest struct {
	Quantity       Quantity        `json:"quantity"`
	HarvestDate    string          `json:"harvest_date,omitempty"`
	Plot           *Plot           `json:"plot,omitempty"`
	Certifications []Certification `json:"certifications,omitempty"`
	// Member is the member household of the registry the lot came from.
	Member string `json:"member,omitempty"`
}

func (s *Server) restateFacts(c echo.Context) error {
	var req FactsRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	bt, err := s.db.Batch(c.Param("id"))
	if err != nil {
		return err
	}
	if err := mayWrite(c, bt.CooperativeID); err != nil {
		return err
	}
	f := &trace.LotFacts{Quantity: *req.Quantity.domain(), HarvestDate: req.HarvestDate, Certifications: certifications(req.Certifications), Member: req.Member}
	if req.Plot != nil {
		f.Plot = &trace.Plot{Name: req.Plot.Name, Lat: req.Plot.Lat, Lon: req.Plot.Lon}
	}
	st, err := s.db.RestateFacts(c.Request().Context(), bt.ID, f, caller(c).ID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/events/"+st.Hash.String())
	return c.JSON(http.StatusCreated, toEvent(st))
}

func certifications(in []Certification) []trace.Certification {
	var out []trace.Certification
	for _, c := range in {
		out = append(out, trace.Certification{Scheme: c.Scheme, ID: c.ID})
	}
	return out
}

// listRecords serves the signed revisions of a product's or a
// cooperative's registry record: the registry's own verifiable history.
func (s *Server) listRecords(kind trace.RecordKind) echo.HandlerFunc {
	return func(c echo.Context) error {
		recs, err := s.db.Records(kind, c.Param("id"))
		if err != nil {
			return err
		}
		if len(recs) == 0 {
			switch kind {
			case trace.KindProduct:
				_, err = s.db.Product(c.Param("id"))
			default:
				_, err = s.db.Cooperative(c.Param("id"))
			}
			if err != nil {
				return err
			}
		}
		out := make([]*Record, len(recs))
		for i, sr := range recs {
			out[i] = toRecord(sr)
		}
		return c.JSON(http.StatusOK, map[string]any{"records": out})
	}
}
