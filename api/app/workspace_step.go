package app

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// Recording a step: when it was done (a date, and optionally an hour,
// defaulting to now), the fields its step needs, filled in from the last
// record only where a value legitimately repeats (the product used, the
// plot, who did it: never a dose, a quantity or a moisture), the
// warning of a harvest inside a spraying's pre-harvest interval and its
// confirmation; and correcting a recorded step, the append-only way.

type stepField struct {
	Key, Label, Type, Hint string
	Required               bool
	// List is the id of a datalist of values used before (products).
	List string
}

type stepChoice struct {
	Value, Label string
	Done         bool
}

// phiWarn is a spraying whose pre-harvest interval a harvest at some
// time may fall inside; the page's script shows those the chosen time
// falls inside (Active: at the form's time when the page was made).
type phiWarn struct {
	Text          string
	Sprayed, Safe int64 // Unix milliseconds
	Active        bool
	Left          string
}

// productFill is what a product used before fills in: its active
// ingredient and pre-harvest interval (never a dose).
type productFill struct {
	Value  string
	Fields map[string]string
}

// dataField is the form's name of a step field.
func dataField(key string) string { return "v_" + key }

// fillsFromLast reports whether a field may be filled in from the last
// record of its step: what legitimately repeats, never what must be
// measured or observed each time.
func fillsFromLast(f trace.TemplateField) bool { return !f.Measured }

// productBound are the fields that belong to the product used: filled in
// with it, from the record that used it.
var productBound = []string{"active_ingredient", "phi_days"}

// earlierRecords returns the newest records (as shown, corrections in
// place) of a business step: this lot's, else the cooperative's newest
// of its other lots; and by product, the newest record of each product
// used in the step across the cooperative's lots.
func (s *Workspace) earlierRecords(bt *trace.Batch, bizStep string) (last map[string]string, ownLot bool, byProduct map[string]map[string]string, err error) {
	byProduct = map[string]map[string]string{}
	type rec struct {
		at   time.Time
		data map[string]string
	}
	var own, others []rec
	page, err := s.db.Batches(bt.CooperativeID, "", 100)
	if err != nil {
		return nil, false, nil, err
	}
	for _, o := range page.Batches {
		events, err := s.db.History(o.ID)
		if err != nil {
			continue
		}
		for _, se := range shownOf(events) {
			e := se.Event
			if e.BizStep != bizStep || len(e.Data) == 0 {
				continue
			}
			r := rec{e.Time(), trace.StepData(e)}
			if o.ID == bt.ID {
				own = append(own, r)
			} else {
				others = append(others, r)
			}
		}
	}
	all := append(slices.Clone(own), others...)
	sort.SliceStable(all, func(i, j int) bool { return all[i].at.Before(all[j].at) })
	for _, r := range all {
		if p := r.data["product"]; p != "" {
			byProduct[p] = r.data
		}
	}
	pick := own
	if len(pick) == 0 {
		pick = others
	}
	var lastTime time.Time
	for _, r := range pick {
		if last == nil || !r.at.Before(lastTime) {
			last, lastTime = r.data, r.at
		}
	}
	return last, len(own) > 0, byProduct, nil
}

// shownOf is a history as readers show it: corrections in place.
func shownOf(events []*store.StoredEvent) []*trace.SignedEvent {
	signed := make([]*trace.SignedEvent, len(events))
	for i, st := range events {
		signed[i] = st.SignedEvent
	}
	eff := trace.EffectiveEvents(signed)
	out := make([]*trace.SignedEvent, len(eff))
	for i, e := range eff {
		out[i] = e.Shown
	}
	return out
}

// dayLayout is how dates are written in the workspace's forms: day
// first, whatever language the phone is set to.
const dayLayout = "02/01/2006"

// parseDay reads a date typed day first (dd/mm/yyyy, also d/m/yyyy and
// with dashes or dots), or as YYYY-MM-DD.
func parseDay(s string, loc *time.Location) (time.Time, error) {
	s = strings.TrimSpace(s)
	if t, err := time.ParseInLocation(time.DateOnly, s, loc); err == nil {
		return t, nil
	}
	s = strings.NewReplacer("-", "/", ".", "/").Replace(s)
	return time.ParseInLocation("2/1/2006", s, loc)
}

// stepTimeOf reads a step form's date (YYYY-MM-DD, or dd/mm/yyyy) and
// optional hour (HH:MM) in the service's zone. Without an hour: now if
// the date is today, else the start of that day. now is when the step
// was recorded (on the device, if it was kept there while offline).
func (s *Workspace) stepTimeOf(f *appForm, cat *api.Catalog, date, hour string, now time.Time) (time.Time, bool) {
	loc := s.cfg.Location
	now = now.In(loc).Truncate(time.Second)
	date, hour = strings.TrimSpace(date), strings.TrimSpace(hour)
	if date == "" {
		f.Errors["date"] = cat.Messages["app_err_required"]
		return time.Time{}, false
	}
	day, err := parseDay(date, loc)
	if err != nil {
		f.Errors["date"] = cat.Messages["app_err_step_date"]
		return time.Time{}, false
	}
	if hour == "" {
		if day.Format(time.DateOnly) == now.Format(time.DateOnly) {
			return now, true
		}
		return day, true
	}
	h, err := time.Parse("15:04", strings.Replace(strings.Replace(hour, "h", ":", 1), ".", ":", 1))
	if err != nil {
		f.Errors["hour"] = cat.Messages["app_err_hour"]
		return time.Time{}, false
	}
	return day.Add(time.Duration(h.Hour())*time.Hour + time.Duration(h.Minute())*time.Minute), true
}

// timeError puts a refused step time on the form, by the date.
func timeError(f *appForm, cat *api.Catalog, err error) bool {
	var ste *api.StepTimeError
	if !errors.As(err, &ste) {
		return false
	}
	msg := ste.Error()
	if cat.Lang == "en" {
		msg = ste.English()
	}
	f.Errors["date"] = msg
	return true
}

// phiWarnings lists the lot's sprayings with a pre-harvest interval, each
// marked active when a harvest at t falls inside it.
func (s *Workspace) phiWarnings(cat *api.Catalog, bt *trace.Batch, t time.Time, except trace.Hash) ([]phiWarn, bool, error) {
	events, err := s.db.History(bt.ID)
	if err != nil {
		return nil, false, err
	}
	var shown []*trace.SignedEvent
	signed := make([]*trace.SignedEvent, len(events))
	for i, st := range events {
		signed[i] = st.SignedEvent
	}
	for _, eff := range trace.EffectiveEvents(signed) {
		if eff.Original.Hash != except {
			shown = append(shown, eff.Shown)
		}
	}
	var out []phiWarn
	anyActive := false
	for _, se := range shown {
		// Every spraying with an interval, as if harvested right after it.
		for _, c := range trace.PHIConflicts([]*trace.SignedEvent{se}, se.Event.Time()) {
			w := phiWarn{Sprayed: c.SprayedAt.UnixMilli(), Safe: c.SafeFrom.UnixMilli()}
			what := c.Product
			if c.ActiveIngredient != "" {
				what += " (" + c.ActiveIngredient + ")"
			}
			w.Text = fmt.Sprintf(cat.Messages["app_phi_item"], what, trace.TimeVI(c.SprayedAt), trace.FormatNumberVI(c.PHIDays), trace.TimeVI(c.SafeFrom))
			if cat.Lang == "en" {
				w.Text = fmt.Sprintf(cat.Messages["app_phi_item"], what, c.SprayedAt.Format("2006-01-02 15:04"), c.PHIDays, c.SafeFrom.Format("2006-01-02 15:04"))
			}
			if !t.IsZero() && !t.Before(c.SprayedAt) && t.Before(c.SafeFrom) {
				w.Active, anyActive = true, true
				w.Left = leftText(cat, c.SafeFrom.Sub(t))
			}
			out = append(out, w)
		}
	}
	return out, anyActive, nil
}

// leftText says how long remains as a clerk counts it.
func leftText(cat *api.Catalog, d time.Duration) string {
	if d >= 24*time.Hour {
		return strings.ReplaceAll(cat.Messages["app_phi_days_left"], "{n}", fmt.Sprint(int((d+24*time.Hour-1)/(24*time.Hour))))
	}
	return strings.ReplaceAll(cat.Messages["app_phi_hours_left"], "{n}", fmt.Sprint(max(1, int((d+time.Hour-1)/time.Hour))))
}

// stepPage fills the step form's page: the step chosen (or the next
// one), the steps to choose from, its fields and, when fill is set, the
// values filled in for a new record.
func (s *Workspace) stepPage(c echo.Context, p *appPage, bt *trace.Batch, pr *trace.Product, stepKey string, fill bool, at time.Time) (*trace.TemplateStep, error) {
	cat := p.Cat
	ns, tpl, err := s.api.NextStepOf(bt)
	if err != nil {
		return nil, err
	}
	step := ns.Step
	if stepKey != "" {
		if step, err = tpl.Step(stepKey); err != nil {
			return nil, err
		}
	}
	if step == nil {
		for i := len(tpl.Steps) - 1; i >= 0; i-- {
			if !tpl.Steps[i].Extra {
				step = &tpl.Steps[i]
				break
			}
		}
	}
	var own, extra []stepChoice
	for _, st := range tpl.Steps {
		ch := stepChoice{st.Key, st.Name.In(cat.Lang), slices.Contains(ns.Done, st.BizStep)}
		if st.Extra {
			extra = append(extra, ch)
		} else {
			own = append(own, ch)
		}
	}
	last, ownLot, byProduct, err := s.earlierRecords(bt, step.BizStep)
	if err != nil {
		return nil, err
	}
	var fields []stepField
	var products []productFill
	for _, f := range step.Fields {
		sf := stepField{Key: dataField(f.Key), Label: f.Label.In(cat.Lang), Type: f.Type, Required: f.Required}
		if f.Hint != nil {
			sf.Hint = f.Hint.In(cat.Lang)
		}
		if f.Key == "product" && len(byProduct) > 0 {
			sf.List = "dl-" + sf.Key
			for name, d := range byProduct {
				pf := productFill{Value: name, Fields: map[string]string{}}
				for _, k := range productBound {
					if d[k] != "" {
						pf.Fields[dataField(k)] = d[k]
					}
				}
				products = append(products, pf)
			}
			sort.Slice(products, func(i, j int) bool { return products[i].Value < products[j].Value })
		}
		fields = append(fields, sf)
		if fill {
			v := f.Default
			if pv, ok := last[f.Key]; ok && fillsFromLast(f) {
				v = pv
			}
			if f.Measured {
				v = ""
			}
			p.Form.Values[sf.Key] = v
		}
	}
	if step.At == "plot" {
		fields = append(fields, stepField{Key: dataField("plot"), Label: cat.Messages["app_plot"]})
		if fill {
			// The plot repeats within a lot, never from another lot's.
			v := ""
			if ownLot {
				v = last["plot"]
			}
			if v == "" && bt.Plot != nil {
				v = bt.Plot.Name
			}
			p.Form.Values[dataField("plot")] = v
		}
	}
	now := s.api.Now().In(s.cfg.Location)
	if fill {
		p.Form.Values["note"] = step.Note
		p.Form.Values["date"] = now.Format(dayLayout)
		p.Form.Values["idem"] = newToken()
	}
	var warns []phiWarn
	active := false
	if step.BizStep == "commissioning" {
		if at.IsZero() {
			at = now
		}
		if warns, active, err = s.phiWarnings(cat, bt, at, trace.Hash{}); err != nil {
			return nil, err
		}
	}
	fillJSON, _ := json.Marshal(products)
	p.Title = step.Name.In(cat.Lang) + " · " + bt.Lot
	p.Data = map[string]any{"ID": bt.ID, "Lot": bt.Lot, "Product": s.productName(cat, pr), "Step": step.Key,
		"StepName": step.Name.In(cat.Lang), "Steps": own, "Extra": extra, "Fields": fields,
		"Quantity": step.Quantity || step.AskQuantity, "QuantityRequired": step.Quantity,
		"Unit": cat.Units[bt.Quantity.Unit], "Today": now.Format(dayLayout),
		"Products": products, "ProductFill": string(fillJSON),
		"PHI": warns, "PHIActive": active, "Harvest": step.BizStep == "commissioning"}
	return step, nil
}

func (s *Workspace) appStepPage(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	if _, err := s.stepPage(c, p, bt, pr, c.QueryParam("step"), true, time.Time{}); err != nil {
		return err
	}
	return s.appRender(c, http.StatusOK, "app_step", p)
}

func (s *Workspace) appStep(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	cat := p.Cat
	form, err := c.FormParams()
	if err != nil {
		return api.BadRequest(err)
	}
	r := api.StepRequest{Step: form.Get("step"), Values: map[string]string{}, Note: strings.TrimSpace(form.Get("note")),
		DeviceTime: form.Get("device_time")}
	for k, vs := range form {
		if len(vs) > 0 {
			p.Form.Values[k] = vs[0]
		}
		if key, ok := strings.CutPrefix(k, "v_"); ok && len(vs) > 0 {
			r.Values[key] = strings.TrimSpace(vs[0])
		}
	}
	delete(p.Form.Values, "csrf")
	ns, tpl, err := s.api.NextStepOf(bt)
	if err != nil {
		return err
	}
	step := ns.Step
	if r.Step != "" {
		if step, err = tpl.Step(r.Step); err != nil {
			return err
		}
	}
	if q := strings.TrimSpace(form.Get("quantity")); q != "" {
		r.Quantity = &api.Quantity{Value: trace.Decimal(decimalText(q)), Unit: bt.Quantity.Unit}
	} else if step != nil && step.Quantity && form.Has("date") {
		// What was harvested is weighed, never copied from the lot.
		p.Form.Errors["quantity"] = cat.Messages["app_err_required"]
	}
	// When the step was done: the date and hour typed, defaulting to
	// when it was recorded (on the device, if it was kept there while
	// offline).
	recorded := s.api.Now()
	if r.DeviceTime != "" {
		if t, err := time.Parse(time.RFC3339, r.DeviceTime); err == nil {
			r.DeviceTime = t.UTC().Format(time.RFC3339)
			if t.Before(recorded) {
				recorded = t
			}
		}
	}
	var at time.Time
	if form.Has("date") {
		if t, ok := s.stepTimeOf(p.Form, cat, form.Get("date"), form.Get("hour"), recorded); ok {
			if err := s.api.CheckStepTime(bt, "event_time", t); err != nil {
				if !timeError(p.Form, cat, err) {
					return err
				}
			} else {
				at = t
			}
		}
	} else if r.DeviceTime != "" {
		at = recorded.In(s.cfg.Location)
	}
	if !at.IsZero() {
		r.EventTime, _ = trace.FormatEventTime(at.In(s.cfg.Location))
	}
	// A harvest inside a pre-harvest interval: confirmed, with a reason.
	reason := strings.TrimSpace(form.Get("phi_reason"))
	confirmed := form.Get("phi_confirm") != ""
	switch {
	case confirmed && reason == "":
		p.Form.Errors["phi_reason"] = cat.Messages["app_phi_reason_required"]
	case confirmed:
		r.Values[trace.DataIntervalOverride] = reason
	case reason != "":
		p.Form.Errors["phi_confirm"] = cat.Messages["app_phi_confirm_required"]
	}
	if fh, err := c.FormFile("photo"); err == nil && fh.Size > 0 {
		if fh.Size > s.api.AttachmentLimit() {
			return api.TooLarge(s.api.AttachmentLimit())
		}
		f, err := fh.Open()
		if err != nil {
			return err
		}
		data, err := api.ReadLimited(f, s.api.AttachmentLimit(), fh.Size)
		f.Close()
		if err != nil {
			return err
		}
		info, _, err := s.api.StoreAttachment(c, "photo", fh.Header.Get(echo.HeaderContentType), data)
		if err != nil {
			if !p.Form.fieldErrors(cat, err, func(string) string { return "photo" }) {
				return err
			}
		} else {
			r.Attachments = append(r.Attachments, api.Attachment{SHA256: info.SHA256.String(), MediaType: info.MediaType, Name: fh.Filename})
		}
	}
	if !p.Form.HasErrors() {
		_, _, _, err = s.api.RecordStepFor(c, bt.ID, &r, form.Get("idem"))
		if err == nil {
			if c.Request().Header.Get("X-Queued") != "" {
				return c.JSON(http.StatusCreated, map[string]string{"batch": bt.ID})
			}
			return c.Redirect(http.StatusSeeOther, "/app/batches/"+bt.ID+"?ok=recorded")
		}
		var phi *trace.PHIError
		if errors.As(err, &phi) {
			p.Form.Errors["phi_reason"] = cat.Messages["app_phi_need_confirm"]
		} else if !p.Form.fieldErrors(cat, err, stepFormField) {
			return err
		}
	}
	if _, err := s.stepPage(c, p, bt, pr, r.Step, false, at); err != nil {
		return err
	}
	return s.appRender(c, http.StatusUnprocessableEntity, "app_step", p)
}

func stepFormField(f string) string {
	switch {
	case f == "data."+trace.DataIntervalOverride:
		return "phi_reason"
	case strings.HasPrefix(f, "data."):
		return "v_" + strings.TrimPrefix(f, "data.")
	case strings.HasPrefix(f, "quantity"):
		return "quantity"
	case f == "note" || f == "step":
		return f
	case f == "event_time" || f == "eventTime":
		return "date"
	case strings.HasPrefix(f, "attachments"):
		return "photo"
	}
	return ""
}

// Corrections.

// correctable reports whether the workspace offers to correct an event:
// a step the server signed for the cooperative (the first of its keys; a
// correction is signed with the step's key), not a lot's facts, a
// transformation or a correction.
func correctable(e *trace.Event, signer []byte, coop *trace.Cooperative) bool {
	if trace.IsLotFacts(e) || trace.IsCorrection(e) || e.Type == trace.TransformationEvent || e.BizStep == trace.StepRecalling {
		return false
	}
	return len(coop.PublicKeys) > 0 && string(coop.PublicKeys[0]) == string(signer)
}

// correctionTarget finds the event of a lot a correction form is for.
func (s *Workspace) correctionTarget(bt *trace.Batch, hash string) (*trace.Effective, *trace.Template, *trace.TemplateStep, error) {
	h, err := trace.ParseHash(hash)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("event %s: %w", api.Clip(hash, 70), trace.ErrNotFound)
	}
	events, err := s.db.History(bt.ID)
	if err != nil {
		return nil, nil, nil, err
	}
	signed := make([]*trace.SignedEvent, len(events))
	for i, st := range events {
		signed[i] = st.SignedEvent
	}
	for _, eff := range trace.EffectiveEvents(signed) {
		if eff.Original.Hash != h {
			continue
		}
		_, tpl, err := s.api.NextStepOf(bt)
		if err != nil {
			return nil, nil, nil, err
		}
		var step *trace.TemplateStep
		for i := range tpl.Steps {
			if tpl.Steps[i].BizStep == eff.Shown.Event.BizStep {
				step = &tpl.Steps[i]
				break
			}
		}
		return eff, tpl, step, nil
	}
	return nil, nil, nil, fmt.Errorf("event %s of batch %s: %w", h, bt.ID, trace.ErrNotFound)
}

// correctionPage fills the correction form: the step as it shows now,
// every value to fix, the reason.
func (s *Workspace) correctionPage(c echo.Context, p *appPage, bt *trace.Batch, pr *trace.Product, eff *trace.Effective, step *trace.TemplateStep, fill bool, at time.Time) error {
	cat := p.Cat
	e := eff.Shown.Event
	data := trace.StepData(e)
	var fields []stepField
	seen := map[string]bool{}
	if step != nil {
		for _, f := range step.Fields {
			sf := stepField{Key: dataField(f.Key), Label: f.Label.In(cat.Lang), Type: f.Type, Required: f.Required}
			fields = append(fields, sf)
			seen[f.Key] = true
		}
	}
	keys := make([]string, 0, len(data))
	for k := range data {
		if !seen[k] {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	for _, k := range keys {
		fields = append(fields, stepField{Key: dataField(k), Label: s.fieldName(cat, e.BizStep, k)})
	}
	t := e.Time()
	if fill {
		for _, f := range fields {
			p.Form.Values[f.Key] = data[strings.TrimPrefix(f.Key, "v_")]
		}
		p.Form.Values["date"] = t.Format(dayLayout)
		if t.Hour() != 0 || t.Minute() != 0 {
			p.Form.Values["hour"] = t.Format("15:04")
		}
		if e.Quantity != nil {
			p.Form.Values["quantity"] = numberInput(cat, string(e.Quantity.Value))
		}
		p.Form.Values["note"] = e.Note
		if why := e.Data[trace.DataIntervalOverride]; why != "" {
			p.Form.Values["phi_reason"] = why
			p.Form.Values["phi_confirm"] = "1"
		}
	}
	name := api.StepName(cat, e.BizStep)
	if step != nil {
		name = step.Name.In(cat.Lang)
	}
	var warns []phiWarn
	active := false
	if e.BizStep == "commissioning" {
		if at.IsZero() {
			at = t
		}
		var err error
		if warns, active, err = s.phiWarnings(cat, bt, at, eff.Original.Hash); err != nil {
			return err
		}
	}
	p.Title = cat.Messages["app_correct_title"] + " · " + name + " · " + bt.Lot
	p.Data = map[string]any{"ID": bt.ID, "Lot": bt.Lot, "Product": s.productName(cat, pr), "Hash": eff.Original.Hash.String(),
		"StepName": name, "When": s.whenText(t), "Fields": fields, "Quantity": e.Quantity != nil,
		"Unit": cat.Units[bt.Quantity.Unit], "Today": s.api.Now().In(s.cfg.Location).Format(dayLayout),
		"PHI": warns, "PHIActive": active, "Harvest": e.BizStep == "commissioning", "ProductFill": "[]"}
	return nil
}

// numberInput writes a decimal as a person types it in the language.
func numberInput(cat *api.Catalog, v string) string {
	if cat.Lang == "vi" {
		return strings.Replace(v, ".", ",", 1)
	}
	return v
}

// whenText writes an event time day first; a time of exactly midnight is
// a step recorded by its date alone.
func (s *Workspace) whenText(t time.Time) string {
	if t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0 {
		return t.Format("02/01/2006")
	}
	return t.Format("02/01/2006 15:04")
}

// fieldName names a step field in the page's language.
func (s *Workspace) fieldName(cat *api.Catalog, bizStep, key string) string {
	if key == "plot" {
		return cat.Messages["app_plot"]
	}
	// As the step's form names it; else as the catalogue does.
	if n := trace.FieldLabel(bizStep, key, cat.Lang); n != strings.ReplaceAll(key, "_", " ") {
		return n
	}
	if n := cat.Fields[key]; n != "" {
		return n
	}
	return strings.ReplaceAll(key, "_", " ")
}

func (s *Workspace) appCorrectPage(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	eff, _, step, err := s.correctionTarget(bt, c.Param("hash"))
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	if err := s.correctionPage(c, p, bt, pr, eff, step, true, time.Time{}); err != nil {
		return err
	}
	return s.appRender(c, http.StatusOK, "app_correct", p)
}

func (s *Workspace) appCorrect(c echo.Context) error {
	bt, pr, err := s.appLoadBatch(c)
	if err != nil {
		return err
	}
	eff, _, step, err := s.correctionTarget(bt, c.Param("hash"))
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "batches")
	cat := p.Cat
	form, err := c.FormParams()
	if err != nil {
		return api.BadRequest(err)
	}
	for k, vs := range form {
		if len(vs) > 0 && k != "csrf" {
			p.Form.Values[k] = vs[0]
		}
	}
	shown := eff.Shown.Event
	r := api.CorrectionRequest{Corrects: eff.Original.Hash.String(), Reason: strings.TrimSpace(form.Get("reason")), Values: map[string]string{}}
	if r.Reason == "" {
		p.Form.Errors["reason"] = cat.Messages["app_err_required"]
	}
	old := trace.StepData(shown)
	for k, vs := range form {
		if key, ok := strings.CutPrefix(k, "v_"); ok && len(vs) > 0 {
			if v := strings.TrimSpace(vs[0]); v != old[key] {
				r.Values[key] = v
			}
		}
	}
	var at time.Time
	if t, ok := s.stepTimeOf(p.Form, cat, form.Get("date"), form.Get("hour"), s.api.Now()); ok {
		at = t
		if !t.Equal(shown.Time()) {
			r.EventTime = t.In(s.cfg.Location).Format(time.RFC3339)
		}
	}
	if q := strings.TrimSpace(form.Get("quantity")); q != "" && shown.Quantity != nil && decimalText(q) != string(shown.Quantity.Value) {
		r.Quantity = &api.Quantity{Value: trace.Decimal(decimalText(q)), Unit: shown.Quantity.Unit}
	}
	if note := strings.TrimSpace(form.Get("note")); note != shown.Note {
		r.Note = &note
	}
	reason := strings.TrimSpace(form.Get("phi_reason"))
	if form.Get("phi_confirm") != "" {
		if reason == "" {
			p.Form.Errors["phi_reason"] = cat.Messages["app_phi_reason_required"]
		} else if reason != shown.Data[trace.DataIntervalOverride] {
			r.Values[trace.DataIntervalOverride] = reason
		}
	}
	if !p.Form.HasErrors() {
		_, err := s.api.CorrectionFor(c, bt.ID, &r)
		if err == nil {
			return c.Redirect(http.StatusSeeOther, "/app/batches/"+bt.ID+"?ok=corrected")
		}
		var phi *trace.PHIError
		switch {
		case errors.As(err, &phi):
			p.Form.Errors["phi_reason"] = cat.Messages["app_phi_need_confirm"]
		case timeError(p.Form, cat, err):
		case p.Form.fieldErrors(cat, err, func(f string) string {
			if f == "reason" {
				return f
			}
			return stepFormField(strings.Replace(f, "values.", "data.", 1))
		}):
		default:
			return err
		}
	}
	if err := s.correctionPage(c, p, bt, pr, eff, step, false, at); err != nil {
		return err
	}
	return s.appRender(c, http.StatusUnprocessableEntity, "app_correct", p)
}

// correctionLink is the workspace's path of an event's correction form.
func correctionLink(batch string, h trace.Hash) string {
	return "/app/batches/" + batch + "/correct/" + url.PathEscape(h.String())
}
