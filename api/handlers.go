package api

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// CreateCooperativeRequest is the body of POST /api/v1/cooperatives.
type CreateCooperativeRequest struct {
	ID       string `json:"id,omitempty"`
	Name     string `json:"name"`
	Province string `json:"province,omitempty"`
	GLN      string `json:"gln,omitempty"`
	// Profile is the rest of its profile (trace.ProfileFields).
	Profile map[string]string `json:"profile,omitempty"`
}

// NewAPIKey is a freshly made API key; its secret is shown only once.
type NewAPIKey struct {
	ID     string `json:"id"`
	Secret string `json:"secret"`
	Role   string `json:"role"`
}

// CreateCooperativeResponse is the answer to POST /api/v1/cooperatives.
type CreateCooperativeResponse struct {
	Cooperative Cooperative `json:"cooperative"`
	APIKey      NewAPIKey   `json:"api_key"`
}

func (s *Server) createCooperative(c echo.Context) error {
	var req CreateCooperativeRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	coop := &trace.Cooperative{ID: req.ID, Name: req.Name, Province: req.Province, GLN: req.GLN, Profile: req.Profile}
	if err := s.checkProfile(coop); err != nil {
		return err
	}
	if err := s.db.CreateCooperative(coop); err != nil {
		return err
	}
	if _, err := s.SignerFor(coop); err != nil {
		return err
	}
	k := &store.APIKey{Name: coop.Name, Role: store.RoleCooperative, CooperativeID: coop.ID}
	secret, err := s.db.CreateAPIKey(k)
	if err != nil {
		return err
	}
	res := CreateCooperativeResponse{Cooperative: toCooperative(coop), APIKey: NewAPIKey{ID: k.ID, Secret: secret, Role: string(store.RoleCooperative)}}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/cooperatives/"+coop.ID)
	return c.JSON(http.StatusCreated, res)
}

// signerFor returns the signing key the server holds for the cooperative
// (store.DB.SignerFor) and refreshes coop's keys to include it.
func (s *Server) SignerFor(coop *trace.Cooperative) (*trace.Signer, error) {
	signer, err := s.db.SignerFor(coop.ID)
	if err != nil {
		return nil, err
	}
	if !trace.HasKey(coop.PublicKeys, signer.PublicKey()) {
		updated, err := s.db.Cooperative(coop.ID)
		if err != nil {
			return nil, err
		}
		coop.PublicKeys = updated.PublicKeys
	}
	return signer, nil
}

func (s *Server) listCooperatives(c echo.Context) error {
	switch format := c.QueryParam("format"); format {
	case "", "json":
	case "csv", "xlsx":
		return s.publicCooperatives(c, format)
	default:
		return &trace.FieldError{Field: "format", Reason: "json, csv or xlsx"}
	}
	coops, err := s.db.Cooperatives()
	if err != nil {
		return err
	}
	out := make([]Cooperative, 0, len(coops))
	for _, co := range coops {
		out = append(out, toCooperative(co))
	}
	return c.JSON(http.StatusOK, map[string]any{"cooperatives": out})
}

func (s *Server) getCooperative(c echo.Context) error {
	coop, err := s.db.Cooperative(c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toCooperative(coop))
}

// CreateProductRequest is the body of POST /api/v1/products.
type CreateProductRequest struct {
	CooperativeID string `json:"cooperative_id,omitempty"`
	GTIN          string `json:"gtin,omitempty"`
	NameVI        string `json:"name_vi"`
	NameEN        string `json:"name_en,omitempty"`
	Category      string `json:"category"`
	OCOPStars     int    `json:"ocop_stars,omitempty"`
	// Content is the rest of its record (trace.ContentFields).
	Content map[string]string `json:"content,omitempty"`
}

func (s *Server) createProduct(c echo.Context) error {
	var req CreateProductRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	if req.CooperativeID == "" {
		if k := caller(c); k.Role == store.RoleCooperative {
			req.CooperativeID = k.CooperativeID
		} else {
			return &trace.FieldError{Field: "cooperative_id", Reason: "is required with an admin key"}
		}
	}
	if err := mayWrite(c, req.CooperativeID); err != nil {
		return err
	}
	p := &trace.Product{CooperativeID: req.CooperativeID, NameVI: req.NameVI, NameEN: req.NameEN, Category: req.Category, OCOPStars: req.OCOPStars,
		CreatedBy: caller(c).ID, Content: req.Content}
	if err := s.checkContent(p); err != nil {
		return err
	}
	if req.GTIN != "" {
		g, err := trace.NormalizeGTIN(req.GTIN)
		if err != nil {
			return err
		}
		p.GTIN = g
	}
	if err := s.db.CreateProduct(p); err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/products/"+p.ID)
	return c.JSON(http.StatusCreated, toProduct(p))
}

func (s *Server) getProduct(c echo.Context) error {
	p, err := s.db.Product(c.Param("id"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toProduct(p))
}

// CreateBatchRequest is the body of POST /api/v1/batches.
type CreateBatchRequest struct {
	ID          string   `json:"id,omitempty"`
	ProductID   string   `json:"product_id"`
	Lot         string   `json:"lot"`
	Quantity    Quantity `json:"quantity"`
	HarvestDate string   `json:"harvest_date,omitempty"`
	Plot        *Plot    `json:"plot,omitempty"`
	// Certifications are the certificates the cooperative claims for the lot.
	Certifications []Certification `json:"certifications,omitempty"`
	// Member is the id of the member household of the cooperative's
	// registry the lot came from.
	Member string `json:"member,omitempty"`
}

func (s *Server) createBatch(c echo.Context) error {
	var req CreateBatchRequest
	if err := decodeJSON(c, &req); err != nil {
		return err
	}
	p, err := s.db.Product(req.ProductID)
	if errors.Is(err, trace.ErrNotFound) {
		return &trace.FieldError{Field: "product_id", Reason: fmt.Sprintf("there is no product %q", req.ProductID)}
	} else if err != nil {
		return err
	}
	if err := mayWrite(c, p.CooperativeID); err != nil {
		return err
	}
	bt := &trace.Batch{ID: req.ID, CooperativeID: p.CooperativeID, ProductID: p.ID, Lot: req.Lot,
		Quantity: *req.Quantity.domain(), HarvestDate: req.HarvestDate, CreatedBy: caller(c).ID,
		Certifications: certifications(req.Certifications), Member: req.Member}
	if req.Plot != nil {
		bt.Plot = &trace.Plot{Name: req.Plot.Name, Lat: req.Plot.Lat, Lon: req.Plot.Lon}
	}
	if err := s.db.CreateBatch(bt); err != nil {
		return err
	}
	n, head, err := s.db.Head(bt.ID)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/batches/"+bt.ID)
	return c.JSON(http.StatusCreated, s.toBatch(bt, p, n, head))
}

// toBatch builds the wire batch with its public URL.
func (s *Server) toBatch(bt *trace.Batch, p *trace.Product, n uint64, head trace.Hash) Batch {
	path := s.batchPath(bt, p)
	b := Batch{ID: bt.ID, CooperativeID: bt.CooperativeID, ProductID: bt.ProductID, GTIN: p.GTIN, Lot: bt.Lot,
		Quantity: Quantity{Value: bt.Quantity.Value, Unit: bt.Quantity.Unit}, HarvestDate: bt.HarvestDate,
		URL: s.cfg.PublicURL + path, Path: path, Events: n, Template: bt.Template, CreatedAt: bt.CreatedAt, Member: bt.Member}
	if !head.IsZero() {
		b.Head = head.String()
	}
	if bt.Plot != nil {
		b.Plot = &Plot{Name: bt.Plot.Name, Lat: bt.Plot.Lat, Lon: bt.Plot.Lon}
	}
	for _, c := range bt.Certifications {
		b.Certifications = append(b.Certifications, Certification{Scheme: c.Scheme, ID: c.ID})
	}
	return b
}

// batchPath is the batch's public path: a GS1 Digital Link when its
// product has a GTIN, else the short form.
func (s *Server) batchPath(bt *trace.Batch, p *trace.Product) string {
	if p.GTIN != "" {
		dl := trace.DigitalLink{GTIN: p.GTIN, Lot: bt.Lot}
		if err := dl.Validate(); err == nil {
			return dl.Path()
		}
	}
	path, err := trace.BatchLinkPath(bt.ID)
	if err != nil {
		return "/api/v1/batches/" + bt.ID
	}
	return path
}

func (s *Server) listBatches(c echo.Context) error {
	limit := 50
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > 500 {
			return &trace.FieldError{Field: "limit", Reason: "must be a number from 1 to 500"}
		}
		limit = n
	}
	page, err := s.db.Batches(c.QueryParam("cooperative"), c.QueryParam("after"), limit)
	if err != nil {
		return err
	}
	out := make([]Batch, 0, len(page.Batches))
	products := map[string]*trace.Product{}
	for _, bt := range page.Batches {
		p, ok := products[bt.ProductID]
		if !ok {
			if p, err = s.db.Product(bt.ProductID); err != nil {
				return err
			}
			products[bt.ProductID] = p
		}
		n, head, err := s.db.Head(bt.ID)
		if err != nil {
			return err
		}
		out = append(out, s.toBatch(bt, p, n, head))
	}
	res := map[string]any{"batches": out}
	if page.Next != "" {
		res["next"] = page.Next
	}
	return c.JSON(http.StatusOK, res)
}

func (s *Server) getBatch(c echo.Context) error {
	bt, err := s.db.Batch(c.Param("id"))
	if err != nil {
		return err
	}
	return s.serveHistory(c, bt)
}

func (s *Server) appendEvent(c echo.Context) error {
	var f EventFields
	if err := decodeJSON(c, &f); err != nil {
		return err
	}
	bt, err := s.db.Batch(c.Param("id"))
	if err != nil {
		return err
	}
	if err := mayWrite(c, bt.CooperativeID); err != nil {
		return err
	}
	e, err := f.domain(bt, s.now().In(s.cfg.Location))
	if err != nil {
		return err
	}
	if err := e.Validate(); err != nil {
		return err
	}
	if err := s.checkHarvest(bt, e, trace.Hash{}); err != nil {
		return err
	}
	if err := s.checkAttachments(e); err != nil {
		return err
	}
	// The store's signer of the cooperative (registered on it before its
	// first use); nothing here needs the cooperative's profile.
	signer, err := s.db.SignerFor(bt.CooperativeID)
	if err != nil {
		return err
	}
	st, err := s.db.Append(c.Request().Context(), store.AppendRequest{Event: e, Signer: signer, KeyID: caller(c).ID})
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/events/"+st.Hash.String())
	return c.JSON(http.StatusCreated, toEvent(st))
}

func (s *Server) getEvent(c echo.Context) error {
	h, err := trace.ParseHash(c.Param("hash"))
	if err != nil {
		return &trace.FieldError{Field: "hash", Reason: err.Error()}
	}
	st, err := s.db.EventByHash(h)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, toEvent(st))
}

// resolveDigitalLink serves GET /01/{gtin14}/10/{lot} (and every other
// GS1 primary key): the batch a GS1 Digital Link names. A malformed link
// is 400; a valid one that names no lot truyxuat keeps is 404.
func (s *Server) resolveDigitalLink(c echo.Context) error {
	r := c.Request()
	// A label's link is scanned again and again: the lot it names is
	// remembered by the link's exact text, without parsing it anew.
	linkKey := r.URL.EscapedPath() + "?" + r.URL.RawQuery
	if l, ok := s.links.get(linkKey); ok {
		if negotiate(r) == repHTML {
			s.countScan(c, l.batch, l.serial)
		}
		return s.serveHistory(c, &trace.Batch{ID: l.batch})
	}
	dl, err := trace.ParseDigitalLinkPath(r.URL.EscapedPath(), r.URL.RawQuery)
	switch {
	case errors.Is(err, trace.ErrUnsupported):
		return err
	case err != nil:
		return BadRequest(err)
	case dl.GTIN == "" && dl.GLN != "":
		// A cooperative's location (events name it as where they
		// happened): its profile page, or its JSON for a program.
		coop, err := s.db.CooperativeByGLN(dl.GLN)
		if errors.Is(err, trace.ErrNotFound) {
			return echo.NewHTTPError(http.StatusNotFound, "no cooperative here has GLN "+dl.GLN)
		} else if err != nil {
			return err
		}
		to := "/api/v1/cooperatives/" + coop.ID
		if negotiate(r) == repHTML {
			to = ProfilePath(coop.ID)
			if dl.GLNExtension != "" {
				to += "#plots"
			}
		}
		return c.Redirect(http.StatusSeeOther, to)
	case dl.GTIN == "":
		return echo.NewHTTPError(http.StatusNotFound, "this Digital Link names a logistic unit; truyxuat resolves lots (/01/<GTIN>/10/<lot>) and cooperatives (/414/<GLN>)")
	case dl.Lot == "":
		return echo.NewHTTPError(http.StatusNotFound, "this Digital Link names a product but no lot (add /10/<lot>)")
	}
	bt, err := s.batchByLot(dl.GTIN, dl.Lot)
	if err != nil {
		return err
	}
	s.links.put(linkKey, resolvedLink{batch: bt.ID, serial: dl.Serial})
	if negotiate(r) == repHTML {
		s.countScan(c, bt.ID, dl.Serial)
	}
	return s.serveHistory(c, bt)
}

// resolveShortLink serves GET /b/{id}.
func (s *Server) resolveShortLink(c echo.Context) error {
	id, err := trace.ParseBatchLinkPath(c.Request().URL.EscapedPath())
	if err != nil {
		return BadRequest(err)
	}
	// A batch whose history is cached exists: no read of it is needed.
	bt := &trace.Batch{ID: id}
	if !s.cachedBatch(id) {
		if bt, err = s.db.Batch(id); err != nil {
			return err
		}
	}
	if negotiate(c.Request()) == repHTML {
		s.countScan(c, bt.ID, "")
	}
	return s.serveHistory(c, bt)
}

// history reads a batch's history and checks it, signatures included,
// with the lot's, product's and cooperative's signed records. With the
// cached entry of an earlier state (prev), events it already verified are
// taken from it and only the new ones are read and verified. It returns
// the history and its verified events.
func (s *Server) history(batchID string, prev *cachedHistory) (*History, []*store.StoredEvent, error) {
	bt, err := s.db.Batch(batchID)
	if err != nil {
		return nil, nil, err
	}
	p, err := s.db.Product(bt.ProductID)
	if err != nil {
		return nil, nil, err
	}
	coop, err := s.db.Cooperative(bt.CooperativeID)
	if err != nil {
		return nil, nil, err
	}
	keys, inspectors, err := s.chainKeys(coop)
	if err != nil {
		return nil, nil, err
	}
	var events []*store.StoredEvent
	start := 0
	if prev != nil && len(prev.events) > 0 {
		// Keys are only ever added, so what verified then verifies now.
		known := prev.events
		more, err := s.db.HistoryFrom(batchID, uint64(len(known)), known[len(known)-1].Hash)
		if err == nil {
			events, start = append(known[:len(known):len(known)], more...), len(known)
		}
	}
	if events == nil {
		if events, err = s.db.History(batchID); err != nil {
			return nil, nil, err
		}
	}
	signed := make([]*trace.SignedEvent, len(events))
	for i, st := range events {
		signed[i] = st.SignedEvent
	}
	if err := trace.VerifyHistoryFrom(batchID, signed, start, func(string) [][]byte { return keys }); err != nil {
		return nil, nil, err
	}
	h := &History{Product: toProduct(p), Cooperative: toCooperative(coop), Events: make([]Event, 0, len(events))}
	var head trace.Hash
	for _, st := range events {
		h.Events = append(h.Events, toEvent(st))
		head = st.Hash
	}
	h.Batch = s.toBatch(bt, p, uint64(len(events)), head)
	pr, cr, err := s.signedRecords(p.ID, coop.ID)
	if err != nil {
		return nil, nil, err
	}
	var records []*store.StoredRecord
	if pr != nil {
		h.ProductRecord = toRecord(pr)
		records = append(records, pr)
	}
	if cr != nil {
		h.CooperativeRecord = toRecord(cr)
		records = append(records, cr)
	}
	reg, err := s.lotRegistry(coop.ID, p.ID, lotDay(h), claimedCertificates(h))
	if err != nil {
		return nil, nil, err
	}
	for _, sr := range reg {
		h.RegistryRecords = append(h.RegistryRecords, toRecord(sr))
	}
	records = append(records, reg...)
	if h.Unsigned, err = checkSigned(h, signed, coop.PublicKeys); err != nil {
		return nil, nil, err
	}
	h.Inspectors = signersOf(coop, inspectors, events)
	h.Verified = true
	if err := s.addLogProofs(h, events, records); err != nil {
		return nil, nil, err
	}
	if h.Recall, err = s.recallOf(batchID); err != nil {
		return nil, nil, err
	}
	rec := &trace.BatchRecord{Batch: bt, Product: p}
	for _, st := range events {
		rec.Events = append(rec.Events, trace.RecordedEvent{SignedEvent: st.SignedEvent, ReceivedAt: st.ReceivedAt})
	}
	// The registry's records of every certificate the lot claims are
	// among those the page shows.
	for _, sr := range reg {
		if sr.Record.Kind == trace.KindCertificate {
			rec.Certificates = append(rec.Certificates, sr.SignedRecord)
		}
	}
	h.findings = trace.CheckBatch(rec)
	h.inputLots = s.inputLots(events)
	return h, events, nil
}

// inputLots are the lots the transformations of a chain took from, in
// the order they were first named.
func (s *Server) inputLots(events []*store.StoredEvent) []inputLot {
	var out []inputLot
	seen := map[string]bool{}
	for _, st := range events {
		for _, in := range st.Event.Inputs {
			if seen[in.Batch] {
				continue
			}
			seen[in.Batch] = true
			bt, err := s.db.Batch(in.Batch)
			if err != nil {
				continue
			}
			p, err := s.db.Product(bt.ProductID)
			if err != nil {
				continue
			}
			l := inputLot{Batch: bt.ID, Lot: bt.Lot, Product: p.NameVI, Path: s.batchPath(bt, p), Plot: toPlot(bt.Plot)}
			for _, c := range bt.Certifications {
				l.Certifications = append(l.Certifications, Certification{Scheme: c.Scheme, ID: c.ID})
			}
			out = append(out, l)
		}
	}
	return out
}

// serveHistory answers a resolver path in the representation the client
// asks for: the consumer page, the signed history as JSON, or a linkset.
func (s *Server) serveHistory(c echo.Context, bt *trace.Batch) error {
	rep := negotiate(c.Request())
	if rep == "" {
		return echo.NewHTTPError(http.StatusNotAcceptable, "this resource is available as text/html, application/json and application/linkset+json")
	}
	e, err := s.cachedHistory(bt)
	if err != nil {
		return err
	}
	switch rep {
	case repHTML:
		cat := s.SetLanguage(c)
		p, err := s.page(c, e, cat)
		if err != nil {
			return err
		}
		PageHeaders(c)
		c.Response().Header().Set("Content-Security-Policy", s.pages.batchCSP)
		return blob(c, echo.MIMETextHTMLCharsetUTF8, p)
	case repLinkset:
		return s.linkset(c, e.h)
	}
	c.Response().Header().Set("Vary", "Accept, Accept-Encoding")
	return blob(c, echo.MIMEApplicationJSON, e.json)
}

// VerifyResult is the answer of POST /api/v1/verify for a history that passes.
type VerifyResult struct {
	Valid       bool   `json:"valid"`
	Batch       string `json:"batch"`
	Events      int    `json:"events"`
	Head        string `json:"head,omitempty"`
	KeysChecked string `json:"keys_checked"`
	// Unsigned lists the readable fields no signature covers.
	Unsigned []string `json:"unsigned,omitempty"`
}

// verifyHistory checks a history as the public endpoints serve it: every
// event's canonical bytes, hash, link and signature, that the signer is a
// key this server knows for the cooperative or for a registered inspector,
// that the readable fields (the events', the lot's, the product's and the
// cooperative's) say what was signed, and, when it carries a checkpoint,
// the checkpoint and every inclusion proof against this server's log keys.
func (s *Server) verifyHistory(c echo.Context) error {
	var h History
	if err := decodeJSON(c, &h); err != nil {
		return err
	}
	if h.Batch.ID == "" {
		return &trace.FieldError{Field: "batch.id", Reason: "is required"}
	}
	coop, err := s.db.Cooperative(h.Cooperative.ID)
	if err != nil {
		if errors.Is(err, trace.ErrNotFound) {
			return &trace.FieldError{Field: "cooperative.id", Reason: fmt.Sprintf("there is no cooperative %q here, so its keys are unknown", h.Cooperative.ID)}
		}
		return err
	}
	keys, inspectors, err := s.chainKeys(coop)
	if err != nil {
		return err
	}
	chk := BundleCheck{CooperativeKeys: keys, RecordKeys: coop.PublicKeys}
	if h.Checkpoint != "" {
		chk.Log = s.ownCheckpointVerifier()
	}
	res, err := VerifyBundle(&h, chk)
	if err != nil {
		return err
	}
	out := VerifyResult{Valid: true, Batch: h.Batch.ID, Events: len(h.Events), KeysChecked: "cooperative " + coop.ID, Unsigned: res.Unsigned}
	if len(inspectors) > 0 {
		out.KeysChecked += fmt.Sprintf(" and %d registered inspector(s)", len(inspectors))
	}
	if n := len(res.Signed); n > 0 {
		out.Head = res.Signed[n-1].Hash.String()
	}
	return c.JSON(http.StatusOK, out)
}

// signed rebuilds the signed event from the wire fields a verifier needs.
func (ev *Event) signed() (*trace.SignedEvent, error) {
	body, err := base64.StdEncoding.DecodeString(ev.Canonical)
	if err != nil {
		return nil, fmt.Errorf("canonical is not base64")
	}
	sig, err := base64.StdEncoding.DecodeString(ev.Signature)
	if err != nil {
		return nil, fmt.Errorf("signature is not base64")
	}
	signer, err := base64.StdEncoding.DecodeString(ev.Signer)
	if err != nil {
		return nil, fmt.Errorf("signer is not base64")
	}
	h, err := trace.ParseHash(ev.Hash)
	if err != nil {
		return nil, fmt.Errorf("hash: %v", err)
	}
	return &trace.SignedEvent{Body: body, Hash: h, Signature: sig, Signer: signer}, nil
}

// matches checks that the readable fields of a wire event are exactly
// what its verified canonical bytes say.
func (ev *Event) matches(se *trace.SignedEvent) error {
	want := toEvent(&store.StoredEvent{SignedEvent: se, ReceivedAt: ev.ReceivedAt})
	// The log fields are the server's record, checked against the
	// checkpoint (checkLog); only the entry follows from the bytes.
	want.LogIndex, want.InclusionProof = ev.LogIndex, ev.InclusionProof
	if ev.LogEntry != "" {
		want.LogEntry = base64.StdEncoding.EncodeToString(trace.LogEntry(se))
	}
	a, _ := json.Marshal(want)
	b, _ := json.Marshal(ev)
	if !bytes.Equal(a, b) {
		return fmt.Errorf("the readable fields differ from the signed bytes (%s)", firstDiff(want, *ev))
	}
	return nil
}

// firstDiff names the first top-level JSON member that differs.
func firstDiff(a, b Event) string {
	var ma, mb map[string]json.RawMessage
	ja, _ := json.Marshal(a)
	jb, _ := json.Marshal(b)
	json.Unmarshal(ja, &ma)
	json.Unmarshal(jb, &mb)
	var diffs []string
	for k, v := range ma {
		if !bytes.Equal(v, mb[k]) {
			diffs = append(diffs, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			diffs = append(diffs, k)
		}
	}
	if len(diffs) == 0 {
		return "unknown"
	}
	return strings.Join(diffs, ", ")
}

// recallOf reports the recall that applies to a batch, its own or one
// recorded on a lot it was made from.
func (s *Server) recallOf(batchID string) (*RecallInfo, error) {
	rs, err := s.db.Recalls(batchID)
	if err != nil || len(rs) == 0 {
		return nil, err
	}
	st, err := s.db.EventByHash(rs[0].Event)
	if err != nil {
		return nil, err
	}
	r := &RecallInfo{Batch: rs[0].Batch, Event: st.Hash.String(), Reason: st.Event.Note,
		EventTime: st.Event.EventTime, Inherited: rs[0].Batch != batchID}
	if bt, err := s.db.Batch(rs[0].Batch); err == nil {
		r.Lot = bt.Lot
	}
	return r, nil
}
