package app

import (
	"errors"
	"fmt"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/label"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// The cooperative's screens: its batches and what each waits for, a new
// batch from a crop template, the next step, labels, splits and merges,
// recalls; and the inspector's findings and inspections.

// appBatch loads a batch the signed-in person may see: a cooperative's
// person sees only the cooperative's batches (another's is not found).
func (s *Workspace) appLoadBatch(c echo.Context) (*trace.Batch, *trace.Product, error) {
	bt, err := s.db.Batch(c.Param("id"))
	if err != nil {
		return nil, nil, err
	}
	if u := appUser(c); u.Role == store.RoleCooperative && bt.CooperativeID != u.CooperativeID {
		return nil, nil, fmt.Errorf("batch %s: %w", bt.ID, trace.ErrNotFound)
	}
	p, err := s.db.Product(bt.ProductID)
	if err != nil {
		return nil, nil, err
	}
	return bt, p, nil
}

type batchRow struct {
	ID, Product, Lot, Quantity, Waiting, Cooperative string
	Events                                           int
	Done, Recalled                                   bool
}

func (s *Workspace) productName(cat *api.Catalog, p *trace.Product) string {
	if cat.Lang != "vi" && p.NameEN != "" {
		return p.NameEN
	}
	return p.NameVI
}

// waiting says what a batch waits for, from its history: its recall, the
// next step of its template (the general steps for a lot without one),
// or the end of its season.
func (s *Workspace) waiting(cat *api.Catalog, bt *trace.Batch, events []*store.StoredEvent) (string, bool, bool) {
	for _, e := range events {
		if e.Event.Disposition == "recalled" {
			return cat.Messages["app_recalled"], true, true
		}
	}
	ns, _, err := s.api.NextStepOf(bt)
	if err != nil {
		return "", true, false
	}
	if ns.Step != nil {
		return ns.Step.Name.In(cat.Lang), false, false
	}
	return cat.Messages["app_season_done"], true, false
}

// appBatches is the start page: the lots and what each waits for, found
// by lot code or product, filtered by state; a cooperative's newest
// first, an inspector's or admin's by cooperative and lot code.
func (s *Workspace) appBatches(c echo.Context) error {
	p := s.appPage(c, "", "batches")
	cat := p.Cat
	p.Title = cat.Messages["app_batches_title"]
	u := appUser(c)
	coop := u.CooperativeID
	if u.Role != store.RoleCooperative {
		coop = c.QueryParam("cooperative")
	}
	q := strings.TrimSpace(c.QueryParam("q"))
	state := c.QueryParam("state")
	p.Form.Values["q"], p.Form.Values["state"], p.Form.Values["cooperative"] = q, state, coop
	lots, err := s.diaryLots(coop)
	if err != nil {
		return err
	}
	coops := map[string]string{}
	cs, err := s.db.Cooperatives()
	if err != nil {
		return err
	}
	for _, co := range cs {
		coops[co.ID] = co.Name
	}
	products := map[string]*trace.Product{}
	product := func(id string) *trace.Product {
		if pr, ok := products[id]; ok {
			return pr
		}
		pr, err := s.db.Product(id)
		if err != nil {
			pr = &trace.Product{ID: id, NameVI: id}
		}
		products[id] = pr
		return pr
	}
	needle := strings.ToLower(store.FoldVietnamese(q))
	var found []*trace.Batch
	for _, bt := range lots {
		if needle != "" {
			pr := product(bt.ProductID)
			hay := strings.ToLower(store.FoldVietnamese(bt.Lot + " " + pr.NameVI + " " + pr.NameEN))
			if !strings.Contains(hay, needle) {
				continue
			}
		}
		found = append(found, bt)
	}
	if u.Role == store.RoleCooperative {
		sort.SliceStable(found, func(i, j int) bool { return found[i].CreatedAt.After(found[j].CreatedAt) })
	} else {
		sort.SliceStable(found, func(i, j int) bool {
			a, b := found[i], found[j]
			if coops[a.CooperativeID] != coops[b.CooperativeID] {
				return coops[a.CooperativeID] < coops[b.CooperativeID]
			}
			return a.Lot < b.Lot
		})
	}
	row := func(bt *trace.Batch) (batchRow, error) {
		events, err := s.db.History(bt.ID)
		if err != nil && !errors.Is(err, trace.ErrNotFound) {
			return batchRow{}, err
		}
		w, done, recalled := s.waiting(cat, bt, events)
		return batchRow{ID: bt.ID, Product: s.productName(cat, product(bt.ProductID)), Lot: bt.Lot, Cooperative: coops[bt.CooperativeID],
			Quantity: api.QuantityText(cat, bt.Quantity.Value, bt.Quantity.Unit), Waiting: w, Events: len(events), Done: done, Recalled: recalled}, nil
	}
	var rows []batchRow
	total := len(found)
	page, _ := strconv.Atoi(c.QueryParam("page"))
	page = max(page, 0)
	if state != "" {
		// The state of every lot found is needed to filter.
		for _, bt := range found {
			r, err := row(bt)
			if err != nil {
				return err
			}
			if state == "recalled" && r.Recalled || state == "done" && r.Done && !r.Recalled || state == "waiting" && !r.Done {
				rows = append(rows, r)
			}
		}
		total = len(rows)
		rows = rows[min(page*appPageSize, total):min((page+1)*appPageSize, total)]
	} else {
		for _, bt := range found[min(page*appPageSize, total):min((page+1)*appPageSize, total)] {
			r, err := row(bt)
			if err != nil {
				return err
			}
			rows = append(rows, r)
		}
	}
	link := func(pg int) string {
		v := url.Values{}
		for k, val := range map[string]string{"q": q, "state": state, "cooperative": c.QueryParam("cooperative")} {
			if val != "" {
				v.Set(k, val)
			}
		}
		if pg > 0 {
			v.Set("page", strconv.Itoa(pg))
		}
		if len(v) == 0 {
			return "/app/batches"
		}
		return "/app/batches?" + v.Encode()
	}
	next, first := "", ""
	if (page+1)*appPageSize < total {
		next = link(page + 1)
	}
	if page > 0 {
		first = link(0)
	}
	states := []appOption{{"", cat.Messages["app_all"]}, {"waiting", cat.Messages["app_state_waiting"]}, {"done", cat.Messages["app_season_done"]}, {"recalled", cat.Messages["app_recalled"]}}
	var coopOpts []appOption
	if u.Role != store.RoleCooperative {
		sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
		coopOpts = append(coopOpts, appOption{"", cat.Messages["app_all"]})
		for _, co := range cs {
			coopOpts = append(coopOpts, appOption{co.ID, co.Name})
		}
	}
	p.Data = map[string]any{"Rows": rows, "Next": next, "First": first, "Total": total, "States": states, "Cooperatives": coopOpts,
		"Filtered": q != "" || state != ""}
	return s.appRender(c, http.StatusOK, "app_batches", p)
}

type historyRow struct {
	Step, Date, Quantity, Note, By, DeviceTime, Received string
	Details                                              []string
	Photos                                               []string
	Recall                                               bool
	// Override is the reason a harvest was recorded inside a spraying's
	// pre-harvest interval.
	Override string
	// Corrections say when, by whom and why the step was corrected,
	// newest last; Correct links to the correction form.
	Corrections []correctionRow
	Correct     string
}

type correctionRow struct {
	Text string
	Was  []string // the values the correction replaced
}

// whoName names the person or device that recorded an event, from the
// key it was recorded with.
func (s *Workspace) whoName(cache map[string]string, keyID, fallback string) string {
	if n, ok := cache[keyID]; ok {
		return n
	}
	// A key the service no longer knows (or an import's): the
	// cooperative, never the key's id.
	n := fallback
	if name, ok := strings.CutPrefix(keyID, "user:"); ok {
		if u, err := s.db.User(name); err == nil && u.Name != "" {
			n = u.Name
		}
	} else if keys, err := s.db.APIKeys(""); err == nil {
		for _, k := range keys {
			if k.ID == keyID {
				n = k.Name
			}
		}
	}
	cache[keyID] = n
	return n
}

// eventDetails are an event's step fields in the page's language, sorted.
func (s *Workspace) eventDetails(cat *api.Catalog, e *trace.Event) []string {
	data := trace.StepData(e)
	keys := make([]string, 0, len(data))
	for k := range data {
		keys = append(keys, k)
	}
	// What was used first, as the forms ask for it; the plot last.
	rank := func(k string) int {
		switch k {
		case "product", "seed_variety":
			return 0
		case "active_ingredient":
			return 1
		case "dose", "dose_kg_ha", "dose_kg_tree", "dose_kg_m2", "seed_rate_kg_ha":
			return 2
		case "phi_days":
			return 3
		case "applied_by":
			return 5
		case "plot":
			return 6
		}
		return 4
	}
	sort.Slice(keys, func(i, j int) bool {
		if rank(keys[i]) != rank(keys[j]) {
			return rank(keys[i]) < rank(keys[j])
		}
		return keys[i] < keys[j]
	})
	var out []string
	for _, k := range keys {
		out = append(out, s.fieldName(cat, e.BizStep, k)+": "+data[k])
	}
	return out
}

func (s *Workspace) appBatch(c echo.Context) error { return s.appBatchWith(c, nil, http.StatusOK) }

// appBatchWith renders a lot's report; form, if set, is the inspection
// form sent with errors.
func (s *Workspace) appBatchWith(c echo.Context, form *appForm, status int) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	if form != nil {
		p.Form = form
	}
	cat := p.Cat
	p.Title = s.productName(cat, pr) + " · " + bt.Lot
	h, err := s.api.VerifiedHistory(bt)
	if err != nil {
		return err
	}
	events, err := s.db.History(bt.ID)
	if err != nil {
		return err
	}
	coop, err := s.db.Cooperative(bt.CooperativeID)
	if err != nil {
		return err
	}
	w, done, recalled := s.waiting(cat, bt, events)
	byHash := map[trace.Hash]*store.StoredEvent{}
	signed := make([]*trace.SignedEvent, len(events))
	for i, st := range events {
		signed[i] = st.SignedEvent
		byHash[st.Hash] = st
	}
	mayCorrect := appUser(c).Role != store.RoleInspector
	// Steps are named as the lot's own forms name them.
	stepNames := map[string]string{}
	if _, tpl, err := s.api.NextStepOf(bt); err == nil {
		for _, st := range tpl.Steps {
			if _, ok := stepNames[st.BizStep]; !ok {
				stepNames[st.BizStep] = st.Name.In(cat.Lang)
			}
		}
	}
	stepName := func(bizStep string) string {
		if n := stepNames[bizStep]; n != "" {
			return n
		}
		return api.StepName(cat, bizStep)
	}
	names := map[string]string{}
	var rows []historyRow
	for _, eff := range trace.EffectiveEvents(signed) {
		ev := eff.Shown.Event
		st := byHash[eff.Shown.Hash]
		r := historyRow{Step: stepName(ev.BizStep), Date: s.whenText(ev.Time()), Note: ev.Note,
			Received: st.ReceivedAt.In(s.cfg.Location).Format("02/01/2006 15:04"), Recall: ev.Disposition == "recalled",
			By: s.whoName(names, byHash[eff.Original.Hash].KeyID, coop.Name), Override: ev.Data[trace.DataIntervalOverride]}
		if ev.Quantity != nil {
			r.Quantity = api.QuantityText(cat, ev.Quantity.Value, ev.Quantity.Unit)
		}
		if ev.BizStep != trace.BizStepLotFacts { // the lot's facts are the report's heading
			r.Details = s.eventDetails(cat, ev)
		}
		if dt := ev.Data["device_time"]; dt != "" {
			if t, err := time.Parse(time.RFC3339, dt); err == nil {
				r.DeviceTime = t.In(s.cfg.Location).Format("02/01/2006 15:04")
			}
		}
		for _, a := range ev.Attachments {
			if strings.HasPrefix(a.MediaType, "image/") {
				r.Photos = append(r.Photos, api.AttachmentPath+a.SHA256.String()+"?w=320")
			}
		}
		prev := eff.Original.Event
		for _, ce := range eff.Corrections {
			c := ce.Event
			when := c.Data[trace.DataCorrectedAt]
			if t, err := time.Parse(time.RFC3339, when); err == nil {
				when = t.In(s.cfg.Location).Format("02/01/2006 15:04")
			}
			row := correctionRow{Text: fmt.Sprintf(cat.Messages["app_corrected_by"], when, s.whoName(names, byHash[ce.Hash].KeyID, coop.Name), c.Data[trace.DataCorrectionReason])}
			row.Was = s.changedValues(cat, prev, c)
			r.Corrections = append(r.Corrections, row)
			prev = c
		}
		if mayCorrect && correctable(eff.Original.Event, eff.Original.Signer, coop) {
			r.Correct = correctionLink(bt.ID, eff.Original.Hash)
		}
		rows = append(rows, r)
	}
	slices.Reverse(rows)
	data := map[string]any{
		"ID": bt.ID, "Lot": bt.Lot, "Product": s.productName(cat, pr), "Cooperative": h.Cooperative.Name, "CooperativeID": bt.CooperativeID,
		"Quantity": api.QuantityText(cat, bt.Quantity.Value, bt.Quantity.Unit), "Harvest": api.DateText(bt.HarvestDate),
		"Waiting": w, "Done": done, "Recalled": recalled || h.Recall != nil, "Verified": h.Verified,
		"PublicURL": h.Batch.Path, "History": rows, "Template": bt.Template,
		"Unsigned": api.UnsignedNames(cat, h.Unsigned),
	}
	if data["Scans"], err = s.scansView(cat, bt.ID); err != nil {
		return err
	}
	if u := appUser(c); u.Role == store.RoleInspector || u.Role == store.RoleAdmin {
		_, findings, err := s.api.FindingsFor(c, "", bt.ID)
		if err != nil {
			return err
		}
		data["Findings"] = s.findingRows(cat, findings)
		data["Inspect"] = u.Role == store.RoleInspector
		data["InspectIdem"] = newToken()
		// No verdict is chosen for the inspector.
		data["InspectKinds"] = []appOption{{"inspecting", cat.Messages["app_inspect_inspecting"]}, {"sampling", cat.Messages["app_inspect_sampling"]}}
		data["InspectResults"] = []appOption{{"", cat.Messages["app_choose"]}, {"conformant", cat.Messages["result_conformant"]}, {"non_conformant", cat.Messages["result_non_conformant"]}}
	}
	p.Data = data
	return s.appRender(c, status, "app_batch", p)
}

// changedValues lists what a correction changed, as the values were
// before it: the time, quantity, note and each step field.
func (s *Workspace) changedValues(cat *api.Catalog, before, after *trace.Event) []string {
	var out []string
	if before.EventTime != after.EventTime {
		out = append(out, cat.Messages["app_time"]+": "+s.whenText(before.Time()))
	}
	if bq, aq := before.Quantity, after.Quantity; bq != nil && (aq == nil || *bq != *aq) {
		out = append(out, cat.Messages["quantity"]+": "+api.QuantityText(cat, bq.Value, bq.Unit))
	}
	if before.Note != after.Note && before.Note != "" {
		out = append(out, cat.Messages["app_note"]+": "+before.Note)
	}
	bd, ad := trace.StepData(before), trace.StepData(after)
	keys := make([]string, 0, len(bd))
	for k := range bd {
		if ad[k] != bd[k] {
			keys = append(keys, k)
		}
	}
	for k := range ad {
		if _, ok := bd[k]; !ok {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		v := bd[k]
		if v == "" {
			v = "—"
		}
		out = append(out, s.fieldName(cat, before.BizStep, k)+": "+v)
	}
	return out
}

// New batch from a crop template.

func (s *Workspace) newBatchData(c echo.Context, cat *api.Catalog) (map[string]any, error) {
	u := appUser(c)
	products, err := s.db.Products(u.CooperativeID)
	if err != nil {
		return nil, err
	}
	// Products by name only, none chosen until the clerk chooses.
	prods := []appOption{{"", cat.Messages["app_choose"]}}
	sort.Slice(products, func(i, j int) bool { return s.productName(cat, products[i]) < s.productName(cat, products[j]) })
	for _, pr := range products {
		name := s.productName(cat, pr)
		if u.Role != store.RoleCooperative {
			if coop, err := s.db.Cooperative(pr.CooperativeID); err == nil {
				name += " · " + coop.Name
			}
		}
		prods = append(prods, appOption{pr.ID, name})
	}
	tpls := []appOption{{"", cat.Messages["app_choose"]}}
	for _, t := range trace.Templates() {
		tpls = append(tpls, appOption{t.ID, t.Name.In(cat.Lang)})
	}
	units := []appOption{}
	for _, code := range []string{"KGM", "TNE", "H87", "XBG", "XCT"} {
		units = append(units, appOption{code, cat.Units[code]})
	}
	return map[string]any{"Products": prods, "Templates": tpls, "Units": units}, nil
}

func (s *Workspace) appNewBatchPage(c echo.Context) error {
	p := s.appPage(c, "", "new")
	p.Title = p.Cat.Messages["app_new_title"]
	d, err := s.newBatchData(c, p.Cat)
	if err != nil {
		return err
	}
	p.Data = d
	p.Form.Values["unit"] = "KGM"
	return s.appRender(c, http.StatusOK, "app_new", p)
}

// groupedThousands is a whole number with its thousands grouped by dots.
var groupedThousands = regexp.MustCompile(`^\d{1,3}(\.\d{3})+$`)

// decimalText turns what a person typed as a number ("2.950", "1.200,5",
// "0,4", "1,200.5" or "1200.5") into a decimal string.
func decimalText(v string) string {
	v = strings.TrimSpace(v)
	comma, dot := strings.LastIndex(v, ","), strings.LastIndex(v, ".")
	switch {
	case groupedThousands.MatchString(v):
		// 2.950 and 12.500.000: dots group thousands, as Vietnamese
		// writes them (a decimal point has fewer or more digits after it).
		v = strings.ReplaceAll(v, ".", "")
	case comma >= 0 && dot < 0:
		v = strings.Replace(v, ",", ".", 1)
	case comma > dot:
		// 1.180,5: dots group thousands, the comma is the decimal point.
		v = strings.Replace(strings.ReplaceAll(v, ".", ""), ",", ".", 1)
	default:
		v = strings.ReplaceAll(v, ",", "")
	}
	// Written the canonical way (2.9500 is 2.95) when it is a number.
	if d, err := trace.ParseDecimal(v); err == nil {
		return string(d)
	}
	return v
}

func (s *Workspace) appNewBatch(c echo.Context) error {
	p := s.appPage(c, "", "new")
	p.Title = p.Cat.Messages["app_new_title"]
	for _, k := range []string{"template", "product", "lot", "quantity", "unit", "harvest_date", "plot", "lat", "lon"} {
		p.Form.Values[k] = strings.TrimSpace(c.FormValue(k))
	}
	f := p.Form.Values
	if f["harvest_date"] != "" {
		if d, err := parseDay(f["harvest_date"], s.cfg.Location); err == nil {
			f["harvest_date"] = d.Format(time.DateOnly)
		}
	}
	r := api.FromTemplateRequest{Template: f["template"], CreateBatchRequest: api.CreateBatchRequest{ProductID: f["product"], Lot: f["lot"],
		Quantity: api.Quantity{Value: trace.Decimal(decimalText(f["quantity"])), Unit: f["unit"]}, HarvestDate: f["harvest_date"]}}
	// The plot's position is optional: both coordinates, or neither.
	if f["plot"] != "" || f["lat"] != "" || f["lon"] != "" {
		r.Plot = &api.Plot{Name: f["plot"]}
		if f["lat"] != "" || f["lon"] != "" {
			for k, dst := range map[string]*float64{"lat": &r.Plot.Lat, "lon": &r.Plot.Lon} {
				v, err := strconv.ParseFloat(decimalText(f[k]), 64)
				if err != nil {
					p.Form.Errors[k] = p.Cat.Messages["app_err_coordinate_pair"]
				}
				*dst = v
			}
		}
		if f["plot"] == "" {
			p.Form.Errors["plot"] = p.Cat.Messages["app_err_plot_name"]
		}
	}
	if f["template"] == "" {
		p.Form.Errors["template"] = p.Cat.Messages["app_err_required"]
	}
	if f["product"] == "" {
		p.Form.Errors["product"] = p.Cat.Messages["app_err_required"]
	}
	if f["quantity"] == "" {
		p.Form.Errors["quantity"] = p.Cat.Messages["app_err_required"]
	}
	var bt *trace.Batch
	var err error
	if !p.Form.HasErrors() {
		bt, _, _, err = s.api.CreateFromTemplateFor(c, &r)
	}
	if err != nil && !p.Form.fieldErrors(p.Cat, err, batchField) {
		if errors.Is(err, trace.ErrConflict) {
			p.Form.Errors["lot"] = localReason(p.Cat, "already exists: "+err.Error())
		} else {
			return err
		}
	}
	if p.Form.HasErrors() {
		d, derr := s.newBatchData(c, p.Cat)
		if derr != nil {
			return derr
		}
		p.Data = d
		return s.appRender(c, http.StatusUnprocessableEntity, "app_new", p)
	}
	return c.Redirect(http.StatusSeeOther, "/app/batches/"+bt.ID+"?ok=created")
}

func batchField(f string) string {
	f = strings.TrimPrefix(f, "batches[0].")
	switch {
	case f == "product_id":
		return "product"
	case f == "template" || f == "lot" || f == "harvest_date":
		return f
	case strings.HasPrefix(f, "quantity.unit"):
		return "unit"
	case strings.HasPrefix(f, "quantity"):
		return "quantity"
	case f == "plot.lat" || f == "plot.lon":
		return strings.TrimPrefix(f, "plot.")
	case strings.HasPrefix(f, "plot"):
		return "plot"
	}
	return ""
}

// Labels.

// appLabelFile serves the label file or preview of a batch the person may see.
func (s *Workspace) appLabelFile(c echo.Context) error {
	if _, _, err := s.appLoadBatch(c); err != nil {
		return err
	}
	return s.api.Labels(c)
}

// labelChoice is a layout the labels page offers, for the formats it
// prints in.
type labelChoice struct {
	Value, Label, Kind string // Kind: sheet (PDF) or roll (ZPL, TSPL)
}

// labelLayouts lists the layouts the batch's label fits: A4 sheets for
// PDF, rolls for thermal printers (at 203 dpi, or noted as needing 300).
func (s *Workspace) labelLayouts(cat *api.Catalog, content label.Content) []labelChoice {
	job := label.Job{Count: 1, Item: label.Repeat(content), Level: s.cfg.LabelErrorCorrection}
	var out []labelChoice
	for _, l := range append(label.SheetLayouts(), s.cfg.SheetLayouts...) {
		if label.WritePDF(io.Discard, l, job) != nil {
			continue
		}
		out = append(out, labelChoice{l.Name, fmt.Sprintf(cat.Messages["app_label_sheet"], l.Columns, l.Rows, mm(cat, l.LabelWidth), mm(cat, l.LabelHeight)), "sheet"})
	}
	for _, l := range append(label.RollLayouts(), s.cfg.RollLayouts...) {
		name := fmt.Sprintf(cat.Messages["app_label_roll"], mm(cat, l.Width), mm(cat, l.Height))
		switch {
		case label.WriteZPL(io.Discard, l, 203, job) == nil:
		case label.WriteZPL(io.Discard, l, 300, job) == nil:
			name += " " + cat.Messages["app_label_300dpi"]
		default:
			continue
		}
		out = append(out, labelChoice{l.Name, name, "roll"})
	}
	return out
}

// mm writes a size in millimetres the language's way (52,5).
func mm(cat *api.Catalog, v float64) string {
	s := strconv.FormatFloat(v, 'f', -1, 64)
	if cat.Lang == "vi" {
		s = strings.Replace(s, ".", ",", 1)
	}
	return s
}

// labelError says in the page's language why a label cannot be printed
// on a layout.
func labelError(cat *api.Catalog, err error, layout string, dpi int) string {
	switch {
	case errors.Is(err, label.ErrQRTooSmall):
		if dpi == 203 {
			return fmt.Sprintf(cat.Messages["app_label_err_qr_dpi"], layout)
		}
		return fmt.Sprintf(cat.Messages["app_label_err_qr"], layout)
	case errors.Is(err, label.ErrTextDoesNotFit):
		return fmt.Sprintf(cat.Messages["app_label_err_text"], layout)
	}
	return localReason(cat, err.Error())
}

func (s *Workspace) appLabelsPage(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	cat := p.Cat
	p.Title = cat.Messages["app_labels_title"] + " · " + bt.Lot
	f := p.Form.Values
	// The second language is label_lang here: ?lang= is the page's own
	// language (api.Server.SetLanguage), which a label must not switch.
	for k, def := range map[string]string{"format": "pdf", "layout": "", "dpi": "203", "count": "", "label_lang": string(label.English)} {
		f[k] = strings.TrimSpace(c.QueryParam(k))
		if f[k] == "" {
			f[k] = def
		}
	}
	lang, lerr := label.ParseLanguage(f["label_lang"])
	if lerr != nil {
		// Show the page in the default language; printing is refused below.
		lang = label.English
	}
	content, _, err := s.api.LabelContent(bt, lang)
	if err != nil {
		return err
	}
	layouts := s.labelLayouts(cat, content)
	kind := "sheet"
	if f["format"] == "zpl" || f["format"] == "tspl" {
		kind = "roll"
	}
	status := http.StatusOK
	if c.QueryParam("print") != "" {
		// Check the choice and the label on one label before sending the
		// file; errors go next to their fields.
		var chosen *labelChoice
		for i := range layouts {
			if layouts[i].Value == f["layout"] {
				chosen = &layouts[i]
			}
		}
		dpi, _ := strconv.Atoi(f["dpi"])
		count, cerr := strconv.Atoi(f["count"])
		switch {
		case f["format"] != "pdf" && kind != "roll":
			p.Form.Errors["format"] = cat.Messages["app_err_invalid"]
		case lerr != nil:
			p.Form.Errors["label_lang"] = cat.Messages["app_label_err_lang"]
		case chosen == nil:
			p.Form.Errors["layout"] = cat.Messages["app_label_err_layout"]
		case chosen.Kind != kind:
			p.Form.Errors["layout"] = cat.Messages["app_label_err_kind_"+kind]
		case kind == "roll" && dpi != 203 && dpi != 300 && dpi != 600:
			p.Form.Errors["dpi"] = cat.Messages["app_err_invalid"]
		}
		maxCount := label.MaxCount
		if kind == "sheet" {
			maxCount = api.MaxPDFLabels
		}
		if f["count"] != "" && (cerr != nil || count < 1 || count > maxCount) {
			maxText := strconv.Itoa(maxCount)
			if cat.Lang == "vi" {
				maxText = trace.FormatNumberVI(maxText)
			}
			p.Form.Errors["count"] = strings.ReplaceAll(cat.Messages["app_label_err_count"], "{max}", maxText)
		}
		if !p.Form.HasErrors() {
			job := label.Job{Count: 1, Item: label.Repeat(content), Level: s.cfg.LabelErrorCorrection}
			var err error
			if kind == "sheet" {
				var l label.SheetLayout
				for _, x := range append(label.SheetLayouts(), s.cfg.SheetLayouts...) {
					if x.Name == chosen.Value {
						l = x
					}
				}
				err = label.WritePDF(io.Discard, l, job)
			} else {
				var l label.RollLayout
				for _, x := range append(label.RollLayouts(), s.cfg.RollLayouts...) {
					if x.Name == chosen.Value {
						l = x
					}
				}
				err = label.WriteZPL(io.Discard, l, dpi, job)
			}
			if err != nil {
				p.Form.Errors["layout"] = labelError(cat, err, chosen.Label, dpi)
			}
		}
		if !p.Form.HasErrors() {
			q := url.Values{"format": {f["format"]}, "layout": {f["layout"]}}
			if lang != label.English {
				q.Set("lang", string(lang))
			}
			if f["count"] != "" {
				q.Set("count", f["count"])
			}
			if kind == "roll" {
				q.Set("dpi", f["dpi"])
			}
			return c.Redirect(http.StatusSeeOther, "/app/batches/"+bt.ID+"/labels/file?"+q.Encode())
		}
		status = http.StatusUnprocessableEntity
	}
	harvest := ""
	if !content.Harvest.IsZero() {
		harvest = content.Harvest.Format("02/01/2006")
	}
	formats := []appOption{{"pdf", cat.Messages["app_label_pdf"]}, {"zpl", cat.Messages["app_label_zpl"]}, {"tspl", cat.Messages["app_label_tspl"]}}
	dpis := []appOption{{"203", "203 dpi"}, {"300", "300 dpi"}}
	// The product's name in each second language, for the preview to show
	// the chosen one (the form's script switches between them); a
	// product without a Chinese name says where to add one.
	type secondName struct{ Lang, Attr, Name string }
	var langs []appOption
	var names []secondName
	noChinese := false
	for _, l := range label.Languages() {
		langs = append(langs, appOption{string(l), cat.Messages["app_label_lang_"+string(l)]})
		lc, _, err := s.api.LabelContent(bt, l)
		if err != nil {
			return err
		}
		attr := string(l)
		if l == label.Chinese {
			attr, noChinese = "zh-Hans", lc.ProductLang == ""
		}
		names = append(names, secondName{string(l), attr, lc.ProductLang})
	}
	p.Data = map[string]any{"ID": bt.ID, "Lot": bt.Lot, "Product": s.productName(cat, pr), "Cooperative": content.Cooperative,
		"Harvest": harvest, "URI": content.URI, "Layouts": layouts, "Formats": formats, "DPIs": dpis, "Kind": kind, "MaxPDF": api.MaxPDFLabels,
		"Langs": langs, "Lang": string(lang), "Names": names, "NoChineseName": noChinese,
		"ProductLink": "/app/registry/products/" + pr.ID + regQuery(c, &trace.Cooperative{ID: bt.CooperativeID})}
	return s.appRender(c, status, "app_labels", p)
}

// Split and merge.

func (s *Workspace) transformPage(c echo.Context, p *appPage, bt *trace.Batch, pr *trace.Product) error {
	p.Title = p.Cat.Messages["app_transform_title"] + " · " + bt.Lot
	page, err := s.db.Batches(bt.CooperativeID, "", 200)
	if err != nil {
		return err
	}
	type cand struct{ ID, Lot, Product, Quantity string }
	var others []cand
	for _, o := range page.Batches {
		if o.ID == bt.ID {
			continue
		}
		if n, _, err := s.db.Head(o.ID); err != nil || n == 0 {
			continue
		}
		op, err := s.db.Product(o.ProductID)
		if err != nil {
			return err
		}
		others = append(others, cand{o.ID, o.Lot, s.productName(p.Cat, op), api.QuantityText(p.Cat, o.Quantity.Value, o.Quantity.Unit)})
	}
	type opt struct{ Value, Label string }
	tpls := []opt{{"", p.Cat.Messages["app_template_keep"]}}
	for _, t := range trace.Templates() {
		tpls = append(tpls, opt{t.ID, t.Name.In(p.Cat.Lang)})
	}
	var prods []opt
	products, err := s.db.Products(bt.CooperativeID)
	if err != nil {
		return err
	}
	for _, o := range products {
		prods = append(prods, opt{o.ID, s.productName(p.Cat, o)})
	}
	var processes []opt
	for _, st := range []string{trace.StepMilling, trace.StepDrying, trace.StepSorting} {
		processes = append(processes, opt{st, api.StepName(p.Cat, st)})
	}
	if p.Form.Values["date"] == "" {
		p.Form.Values["date"] = s.api.Now().In(s.cfg.Location).Format(dayLayout)
	}
	if p.Form.Values["p_product"] == "" {
		p.Form.Values["p_product"] = bt.ProductID
	}
	kind := c.QueryParam("kind")
	if k := c.FormValue("kind"); k != "" {
		kind = k
	}
	switch kind {
	case "merge", "process":
	default:
		kind = "split"
	}
	p.Data = map[string]any{"Kind": kind, "ID": bt.ID, "Lot": bt.Lot, "Product": s.productName(p.Cat, pr), "Unit": p.Cat.Units[bt.Quantity.Unit],
		"Quantity": api.QuantityText(p.Cat, bt.Quantity.Value, bt.Quantity.Unit), "Others": others, "Rows": []int{0, 1, 2},
		"Templates": tpls, "Products": prods, "Processes": processes, "Today": s.api.Now().In(s.cfg.Location).Format(dayLayout)}
	return nil
}

func (s *Workspace) appTransformPage(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	p.Form.Values["in_qty_self"] = numberInput(p.Cat, string(s.lotLeft(bt)))
	p.Form.Values["p_qty_self"] = p.Form.Values["in_qty_self"]
	if err := s.transformPage(c, p, bt, pr); err != nil {
		return err
	}
	return s.appRender(c, http.StatusOK, "app_transform", p)
}

// lotLeft is what a lot has left after what earlier transformations took
// from it, in its own unit; its declared quantity when that cannot be
// told.
func (s *Workspace) lotLeft(bt *trace.Batch) trace.Decimal {
	lb, err := s.db.LotBalance(bt.ID)
	if err != nil {
		return bt.Quantity.Value
	}
	held, taken, unit, ok := lb.Totals()
	if !ok || unit != bt.Quantity.Unit {
		return bt.Quantity.Value
	}
	left := new(big.Rat).Sub(held, taken)
	if left.Sign() < 0 {
		left.SetInt64(0)
	}
	d, err := trace.ParseDecimal(strings.TrimRight(strings.TrimRight(left.FloatString(6), "0"), "."))
	if err != nil {
		return bt.Quantity.Value
	}
	return d
}

// indexedField names a part of a transformation; batches[i] are the new
// lots, as the store names them, i.e. the outputs.
var indexedField = regexp.MustCompile(`^(inputs|outputs|batches)\[(\d+)\]\.?(.*)$`)

func (s *Workspace) appSplit(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	form, _ := c.FormParams()
	r := api.TransformationRequest{Kind: "split", Note: strings.TrimSpace(form.Get("note"))}
	unit := bt.Quantity.Unit
	var rows []int
	total := trace.Decimal("0")
	_ = total
	for i := 0; i < 3; i++ {
		lot, qty := strings.TrimSpace(form.Get(fmt.Sprintf("out_lot_%d", i))), strings.TrimSpace(form.Get(fmt.Sprintf("out_qty_%d", i)))
		p.Form.Values[fmt.Sprintf("out_lot_%d", i)], p.Form.Values[fmt.Sprintf("out_qty_%d", i)] = lot, qty
		if lot == "" && qty == "" {
			continue
		}
		rows = append(rows, i)
		r.Outputs = append(r.Outputs, api.TransformOutput{Lot: lot, Quantity: api.Quantity{Value: trace.Decimal(decimalText(qty)), Unit: unit}})
	}
	inQty := strings.TrimSpace(form.Get("in_qty_self"))
	p.Form.Values["in_qty_self"] = inQty
	p.Form.Values["loss"] = strings.TrimSpace(form.Get("loss"))
	p.Form.Values["note"] = r.Note
	r.Inputs = []api.TransformInput{{Batch: bt.ID, Quantity: api.Quantity{Value: trace.Decimal(decimalText(inQty)), Unit: unit}}}
	if l := p.Form.Values["loss"]; l != "" {
		r.Loss = &api.Quantity{Value: trace.Decimal(decimalText(l)), Unit: unit}
	}
	mapField := func(f string) string {
		m := indexedField.FindStringSubmatch(f)
		if m == nil {
			if strings.HasPrefix(f, "loss") {
				return "loss"
			}
			if f == "outputs" {
				return "out_lot_0"
			}
			return ""
		}
		i, _ := strconv.Atoi(m[2])
		if m[1] == "inputs" {
			return "in_qty_self"
		}
		if i < len(rows) {
			i = rows[i]
		}
		if strings.HasPrefix(m[3], "quantity") {
			return fmt.Sprintf("out_qty_%d", i)
		}
		return fmt.Sprintf("out_lot_%d", i)
	}
	return s.appTransformDone(c, p, bt, pr, &r, mapField)
}

func (s *Workspace) appTransformDone(c echo.Context, p *appPage, bt *trace.Batch, pr *trace.Product, r *api.TransformationRequest, mapField func(string) string) error {
	// When it was done, and the template its new lots follow.
	for _, k := range []string{"date", "hour", "template"} {
		p.Form.Values[k] = strings.TrimSpace(c.FormValue(k))
	}
	form, _ := c.FormParams()
	if !form.Has("date") {
		// A form without the date (an older page): now.
	} else if t, ok := s.stepTimeOf(p.Form, p.Cat, p.Form.Values["date"], p.Form.Values["hour"], s.api.Now()); ok {
		if err := s.api.CheckStepTime(bt, "event_time", t); err != nil {
			if !timeError(p.Form, p.Cat, err) {
				return err
			}
		} else {
			r.EventTime, _ = trace.FormatEventTime(t)
		}
	}
	for i := range r.Outputs {
		r.Outputs[i].Template = p.Form.Values["template"]
	}
	var res *api.TransformationResult
	err := errFormErrors
	if !p.Form.HasErrors() {
		res, err = s.api.TransformFor(c, r)
	}
	if err == nil {
		return c.Redirect(http.StatusSeeOther, "/app/batches/"+res.Outputs[0].ID+"?ok=transformed")
	}
	if err == errFormErrors {
	} else if !p.Form.fieldErrors(p.Cat, err, mapField) {
		if errors.Is(err, trace.ErrConflict) || errors.Is(err, trace.ErrInvalid) {
			p.Form.Error = localReason(p.Cat, err.Error())
		} else {
			return err
		}
	}
	if err := s.transformPage(c, p, bt, pr); err != nil {
		return err
	}
	p.Data.(map[string]any)["Kind"] = r.Kind
	return s.appRender(c, http.StatusUnprocessableEntity, "app_transform", p)
}

func (s *Workspace) appMerge(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	form, _ := c.FormParams()
	unit := bt.Quantity.Unit
	r := api.TransformationRequest{Kind: "merge", Note: strings.TrimSpace(form.Get("note"))}
	var ids []string
	self := strings.TrimSpace(form.Get("m_qty_self"))
	p.Form.Values["m_qty_self"] = self
	if self != "" {
		ids = append(ids, "self")
		r.Inputs = append(r.Inputs, api.TransformInput{Batch: bt.ID, Quantity: api.Quantity{Value: trace.Decimal(decimalText(self)), Unit: unit}})
	}
	for k, vs := range form {
		id, ok := strings.CutPrefix(k, "m_qty_")
		if !ok || id == "self" || len(vs) == 0 || strings.TrimSpace(vs[0]) == "" {
			continue
		}
		p.Form.Values[k] = strings.TrimSpace(vs[0])
		ids = append(ids, id)
		r.Inputs = append(r.Inputs, api.TransformInput{Batch: id, Quantity: api.Quantity{Value: trace.Decimal(decimalText(vs[0])), Unit: unit}})
	}
	lot, qty := strings.TrimSpace(form.Get("m_lot")), strings.TrimSpace(form.Get("m_out_qty"))
	p.Form.Values["m_lot"], p.Form.Values["m_out_qty"] = lot, qty
	r.Outputs = []api.TransformOutput{{Lot: lot, Quantity: api.Quantity{Value: trace.Decimal(decimalText(qty)), Unit: unit}}}
	if l := strings.TrimSpace(form.Get("m_loss")); l != "" {
		p.Form.Values["m_loss"] = l
		r.Loss = &api.Quantity{Value: trace.Decimal(decimalText(l)), Unit: unit}
	}
	mapField := func(f string) string {
		if f == "inputs" {
			return "m_qty_self"
		}
		if strings.HasPrefix(f, "loss") {
			return "m_loss"
		}
		m := indexedField.FindStringSubmatch(f)
		if m == nil {
			return ""
		}
		if m[1] != "inputs" {
			if strings.HasPrefix(m[3], "quantity") {
				return "m_out_qty"
			}
			return "m_lot"
		}
		i, _ := strconv.Atoi(m[2])
		if i < len(ids) {
			return "m_qty_" + ids[i]
		}
		return ""
	}
	return s.appTransformDone(c, p, bt, pr, &r, mapField)
}

// errFormErrors stands for the errors already on a form.
var errFormErrors = errors.New("the form has errors")

func (s *Workspace) appProcess(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	form, _ := c.FormParams()
	unit := bt.Quantity.Unit
	for _, k := range []string{"p_step", "p_qty_self", "p_lot", "p_out_qty", "p_loss", "p_product", "note"} {
		p.Form.Values[k] = strings.TrimSpace(form.Get(k))
	}
	f := p.Form.Values
	r := api.TransformationRequest{Kind: "process", BizStep: f["p_step"], Note: f["note"],
		Inputs:  []api.TransformInput{{Batch: bt.ID, Quantity: api.Quantity{Value: trace.Decimal(decimalText(f["p_qty_self"])), Unit: unit}}},
		Outputs: []api.TransformOutput{{Lot: f["p_lot"], ProductID: f["p_product"], Quantity: api.Quantity{Value: trace.Decimal(decimalText(f["p_out_qty"])), Unit: unit}}}}
	if f["p_loss"] != "" {
		r.Loss = &api.Quantity{Value: trace.Decimal(decimalText(f["p_loss"])), Unit: unit}
	}
	mapField := func(f string) string {
		switch {
		case strings.HasPrefix(f, "inputs"):
			return "p_qty_self"
		case strings.HasPrefix(f, "loss"):
			return "p_loss"
		case f == "biz_step":
			return "p_step"
		case strings.HasPrefix(f, "outputs") && strings.Contains(f, "quantity"):
			return "p_out_qty"
		case strings.HasPrefix(f, "outputs") && strings.Contains(f, "product"):
			return "p_product"
		case strings.HasPrefix(f, "outputs"), strings.HasPrefix(f, "batches"):
			return "p_lot"
		}
		return ""
	}
	return s.appTransformDone(c, p, bt, pr, &r, mapField)
}

// Recall.

func (s *Workspace) recallPage(p *appPage, bt *trace.Batch, pr *trace.Product) error {
	l, err := s.db.Lineage(bt.ID)
	if err != nil {
		return err
	}
	var reached []string
	for _, id := range l.Downstream {
		if o, err := s.db.Batch(id); err == nil {
			reached = append(reached, o.Lot)
		}
	}
	p.Title = p.Cat.Messages["app_recall_title"] + " · " + bt.Lot
	p.Data = map[string]any{"ID": bt.ID, "Lot": bt.Lot, "Product": s.productName(p.Cat, pr), "Reached": reached,
		"Confirm": fmt.Sprintf(p.Cat.Messages["app_recall_confirm"], bt.Lot)}
	return nil
}

func (s *Workspace) appRecallPage(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	if err := s.recallPage(p, bt, pr); err != nil {
		return err
	}
	return s.appRender(c, http.StatusOK, "app_recall", p)
}

func (s *Workspace) appRecall(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	reason := strings.TrimSpace(c.FormValue("reason"))
	p.Form.Values["reason"] = reason
	p.Form.Values["confirm"] = c.FormValue("confirm")
	if reason == "" {
		p.Form.Errors["reason"] = p.Cat.Messages["app_err_required"]
	}
	if c.FormValue("confirm") == "" {
		p.Form.Errors["confirm"] = p.Cat.Messages["app_recall_confirm_required"]
	}
	if !p.Form.HasErrors() {
		_, _, err = s.api.RecallFor(c, bt.ID, &api.RecallRequest{Reason: reason})
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/app/batches/"+bt.ID+"?ok=recalled")
		}
		if !p.Form.fieldErrors(p.Cat, err, func(f string) string {
			if f == "reason" {
				return f
			}
			return ""
		}) {
			return err
		}
	}
	if err := s.recallPage(p, bt, pr); err != nil {
		return err
	}
	return s.appRender(c, http.StatusUnprocessableEntity, "app_recall", p)
}

// The inspector's screens.

type findingRow struct {
	Title, Severity, SeverityName, Cooperative, Detail string
	Lots                                               []lotLink
}

type lotLink struct{ ID, Lot string }

var severityRank = map[string]int{"high": 0, "medium": 1, "low": 2}

// findingRows says findings in the page's language (trace.FindingTitle
// and FindingDetail, as `truyxuat inspect` does), naming cooperatives and
// lots, the most severe first.
func (s *Workspace) findingRows(cat *api.Catalog, fs []trace.Finding) []findingRow {
	coops := map[string]string{}
	lots := map[string]string{}
	var out []findingRow
	for _, f := range fs {
		r := findingRow{Title: trace.FindingTitle(f.Kind, cat.Lang), Severity: f.Severity,
			SeverityName: trace.SeverityName(f.Severity, cat.Lang), Detail: trace.FindingDetail(f, cat.Lang)}
		name, ok := coops[f.Cooperative]
		if !ok {
			name = f.Cooperative
			if c, err := s.db.Cooperative(f.Cooperative); err == nil {
				name = c.Name
			}
			coops[f.Cooperative] = name
		}
		r.Cooperative = name
		for _, id := range f.Batches {
			lot, ok := lots[id]
			if !ok {
				lot = id
				if b, err := s.db.Batch(id); err == nil {
					lot = b.Lot
				}
				lots[id] = lot
			}
			r.Lots = append(r.Lots, lotLink{id, lot})
		}
		out = append(out, r)
	}
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i], out[j]
		if severityRank[a.Severity] != severityRank[b.Severity] {
			return severityRank[a.Severity] < severityRank[b.Severity]
		}
		if a.Cooperative != b.Cooperative {
			return a.Cooperative < b.Cooperative
		}
		return a.Title < b.Title
	})
	return out
}

func (s *Workspace) appFindings(c echo.Context) error {
	p := s.appPage(c, "", "findings")
	p.Title = p.Cat.Messages["app_findings_title"]
	coop := c.QueryParam("cooperative")
	sev := c.QueryParam("severity")
	n, fs, err := s.api.FindingsFor(c, coop, "")
	if err != nil {
		return err
	}
	if sev != "" {
		fs = slices.DeleteFunc(fs, func(f trace.Finding) bool { return f.Severity != sev })
	}
	page, _ := strconv.Atoi(c.QueryParam("page"))
	page = max(page, 0)
	rows := s.findingRows(p.Cat, fs)
	total := len(rows)
	from := min(page*appPageSize, total)
	to := min(from+appPageSize, total)
	next := ""
	if to < total {
		next = "/app/findings?" + url.Values{"cooperative": {coop}, "severity": {sev}, "page": {strconv.Itoa(page + 1)}}.Encode()
	}
	coops, err := s.db.Cooperatives()
	if err != nil {
		return err
	}
	sort.Slice(coops, func(i, j int) bool { return coops[i].Name < coops[j].Name })
	p.Data = map[string]any{"Checked": n, "Total": total, "Rows": rows[from:to], "Next": next, "Cooperative": coop,
		"Cooperatives": coops, "Severity": sev}
	return s.appRender(c, http.StatusOK, "app_findings", p)
}

func (s *Workspace) appInspect(c echo.Context) error {
	bt, _, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	cat := p.Cat
	for _, k := range []string{"biz_step", "disposition", "note", "sample_id", "lab"} {
		p.Form.Values[k] = strings.TrimSpace(c.FormValue(k))
	}
	f := p.Form.Values
	r := api.InspectionRequest{BizStep: f["biz_step"], Disposition: f["disposition"], Note: f["note"], Data: map[string]string{}}
	if r.Disposition == "" {
		p.Form.Errors["disposition"] = cat.Messages["app_inspect_choose_result"]
	}
	for _, k := range []string{"sample_id", "lab"} {
		if f[k] != "" {
			r.Data[k] = f[k]
		}
	}
	if r.BizStep == "sampling" && f["sample_id"] == "" {
		p.Form.Errors["sample_id"] = cat.Messages["app_err_required"]
	}
	if len(r.Data) == 0 {
		r.Data = nil
	}
	if fh, err := c.FormFile("report"); err == nil && fh.Size > 0 {
		if fh.Size > s.api.AttachmentLimit() {
			return api.TooLarge(s.api.AttachmentLimit())
		}
		file, err := fh.Open()
		if err != nil {
			return err
		}
		data, err := api.ReadLimited(file, s.api.AttachmentLimit(), fh.Size)
		file.Close()
		if err != nil {
			return err
		}
		info, _, err := s.api.StoreAttachment(c, "report", fh.Header.Get(echo.HeaderContentType), data)
		if err != nil {
			if !p.Form.fieldErrors(cat, err, func(string) string { return "report" }) {
				return err
			}
		} else {
			r.Attachments = append(r.Attachments, api.Attachment{SHA256: info.SHA256.String(), MediaType: info.MediaType, Name: fh.Filename})
		}
	}
	if !p.Form.HasErrors() {
		_, err = s.api.InspectionFor(c, bt.ID, &r)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/app/batches/"+bt.ID+"?ok=inspected")
		}
		if !p.Form.fieldErrors(cat, err, func(f string) string {
			switch {
			case f == "disposition" || f == "biz_step" || f == "note":
				return f
			case strings.HasPrefix(f, "data."):
				return strings.TrimPrefix(f, "data.")
			case strings.HasPrefix(f, "attachments"):
				return "report"
			}
			return ""
		}) {
			return err
		}
	}
	// The report again, with the form's errors.
	return s.appBatchWith(c, p.Form, http.StatusUnprocessableEntity)
}

// scansView is how often a lot's labels were scanned, as the lot's page
// in the workspace shows it: the total, the last days with scans, and the
// serialised labels scanned far more often than one pack would be.
type scansView struct {
	Total   uint64
	Days    []scanDay
	Max     uint64
	Suspect []string
}

type scanDay struct {
	Day   string
	Count uint64
}

// shownScanDays is how many of the latest days with scans the page lists.
const shownScanDays = 14

func (s *Workspace) scansView(cat *api.Catalog, batchID string) (*scansView, error) {
	sc, err := s.api.LotScans(batchID)
	if err != nil {
		return nil, err
	}
	v := &scansView{Total: sc.Total}
	days := sc.Days
	if len(days) > shownScanDays {
		days = days[len(days)-shownScanDays:]
	}
	for i := len(days) - 1; i >= 0; i-- { // newest first
		v.Days = append(v.Days, scanDay{Day: api.DateText(days[i].Day), Count: days[i].Count})
		v.Max = max(v.Max, days[i].Count)
	}
	for _, se := range sc.Serials {
		if se.Suspect {
			v.Suspect = append(v.Suspect, fmt.Sprintf(cat.Messages["app_scans_suspect"], se.Serial, se.Count, api.DateText(se.First), api.DateText(se.Last)))
		}
	}
	return v, nil
}
