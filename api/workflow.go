package api

import (
	"errors"
	"fmt"
	"hash/fnv"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// The cooperative's and the inspector's work: crop templates so a step
// takes one request with only what differs, bulk writes that succeed or
// fail whole, splits and merges that must balance, the lineage of a lot
// both ways, recalls that reach every lot made from a recalled one, and
// compliance findings with their evidence.

// maxBulk bounds the batches or events of one bulk request.
const maxBulk = 500

func (s *Server) workflowRoutes(v1, coop, inspectors *echo.Group) {
	v1.GET("/templates", s.listTemplates)
	v1.GET("/templates/:id", s.getTemplate)
	v1.GET("/batches/:id/next-step", s.nextStep)
	v1.GET("/batches/:id/lineage", s.lineage)
	coop.POST("/batches/from-template", s.createFromTemplate)
	coop.POST("/batches/:id/steps", s.recordStep)
	coop.POST("/batches/:id/corrections", s.correct)
	coop.POST("/bulk/batches", s.bulkBatches)
	coop.POST("/bulk/events", s.bulkEvents)
	coop.POST("/transformations", s.transform)
	inspectors.POST("/batches/:id/recall", s.recall)
	inspectors.GET("/inspections/findings", s.findings)
}

func (s *Server) listTemplates(c echo.Context) error {
	return c.JSON(http.StatusOK, map[string]any{"templates": trace.Templates()})
}

func (s *Server) getTemplate(c echo.Context) error {
	t, err := trace.TemplateByID(c.Param("id"))
	if err != nil {
		return fmt.Errorf("%w: %w", trace.ErrNotFound, err)
	}
	return c.JSON(http.StatusOK, t)
}

// NextStep is what a batch is waiting for, per its crop template (the
// general steps for a batch created without one).
type NextStep struct {
	Template string              `json:"template"`
	Done     []string            `json:"done"` // business steps recorded so far
	Step     *trace.TemplateStep `json:"step"` // null when the season is complete
}

// NextStepOf returns what a batch waits for and the steps it may record:
// its template's (trace.TemplateOf) with the general steps it lacks. A lot
// made by a split or a merge carries on from where the lot it was made
// from had reached (its first input's steps count as done).
func (s *Server) NextStepOf(bt *trace.Batch) (*NextStep, *trace.Template, error) {
	tpl, err := trace.TemplateOf(bt)
	if err != nil {
		return nil, nil, err
	}
	full := tpl.WithGeneral()
	done, err := s.doneSteps(bt.ID, 0)
	if err != nil {
		return nil, nil, err
	}
	return &NextStep{Template: tpl.ID, Done: done, Step: full.NextStep(done)}, full, nil
}

// doneSteps lists the business steps recorded on a batch in order, those
// of the lot a split or merge made it from first.
func (s *Server) doneSteps(id string, depth int) ([]string, error) {
	events, err := s.db.History(id)
	if err != nil {
		return nil, err
	}
	var done []string
	for _, st := range events {
		e := st.Event
		if e.Type == trace.TransformationEvent && (e.BizStep == trace.StepSplitting || e.BizStep == trace.StepMerging) &&
			len(e.Inputs) > 0 && e.Inputs[0].Batch != id && depth < 8 && len(done) <= 1 {
			if up, err := s.doneSteps(e.Inputs[0].Batch, depth+1); err == nil {
				done = append(up, done...)
			}
		}
		done = append(done, e.BizStep)
	}
	return done, nil
}

func (s *Server) nextStep(c echo.Context) error {
	bt, err := s.db.Batch(c.Param("id"))
	if err != nil {
		return err
	}
	ns, _, err := s.NextStepOf(bt)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, ns)
}

// StepRequest records a template step with only the values that differ
// from its defaults.
type StepRequest struct {
	Step           string            `json:"step,omitempty"` // default: the next expected step
	Values         map[string]string `json:"values,omitempty"`
	EventTime      string            `json:"event_time,omitempty"`
	Note           string            `json:"note,omitempty"`
	Quantity       *Quantity         `json:"quantity,omitempty"`
	Certifications []Certification   `json:"certifications,omitempty"`
	Attachments    []Attachment      `json:"attachments,omitempty"`
	// DeviceTime is when the step was recorded on the clerk's device, if
	// it was kept there while offline.
	DeviceTime string `json:"device_time,omitempty"`
}

// stepEvent builds the event of a template step for a batch.
func (s *Server) stepEvent(bt *trace.Batch, coop *trace.Cooperative, tpl *trace.Template, step *trace.TemplateStep, r *StepRequest) (*trace.Event, error) {
	values, err := step.Values(r.Values)
	if err != nil {
		return nil, err
	}
	if r.DeviceTime != "" {
		if _, err := time.Parse(time.RFC3339, r.DeviceTime); err != nil {
			return nil, &trace.FieldError{Field: "device_time", Reason: "must be an RFC 3339 time"}
		}
		if values == nil {
			values = map[string]string{}
		}
		values["device_time"] = r.DeviceTime
	}
	note := r.Note
	if note == "" {
		note = step.Note
	}
	f := EventFields{BizStep: step.BizStep, Action: step.Action, Disposition: step.Disposition,
		EventTime: r.EventTime, Quantity: r.Quantity, Note: note, Data: values,
		Certifications: r.Certifications, Attachments: r.Attachments}
	site := s.siteURI(coop)
	f.BizLocation = site
	f.ReadPoint = site
	if step.At == "plot" && bt.Plot != nil && site != "" {
		f.ReadPoint = site + "/254/" + plotCode(bt.Plot.Name)
	}
	if step.Quantity && f.Quantity == nil {
		q := bt.Quantity
		f.Quantity = &Quantity{Value: q.Value, Unit: q.Unit}
	}
	e, err := f.domain(bt, s.now().In(s.cfg.Location))
	if err != nil {
		return nil, err
	}
	if step.ILMD {
		day := e.EventTime[:10]
		if bt.HarvestDate != "" {
			day = bt.HarvestDate
		}
		e.ILMD = &trace.ILMD{HarvestDate: day, CountryOfOrigin: "VN"}
	}
	_ = tpl
	return e, e.Validate()
}

// siteURI is the cooperative's place as a GS1 Digital Link of its GLN, or
// empty when it has none.
func (s *Server) siteURI(coop *trace.Cooperative) string {
	if coop.GLN == "" {
		return ""
	}
	return s.cfg.PublicURL + "/414/" + coop.GLN
}

// plotCode makes a GLN extension (AI 254) from a plot name: at most 20
// characters of GS1 character set 82.
func plotCode(name string) string {
	var b strings.Builder
	for _, r := range strings.ToUpper(store.FoldVietnamese(name)) {
		switch {
		case r >= 'A' && r <= 'Z' || r >= '0' && r <= '9':
			b.WriteRune(r)
		case r == ' ' || r == '-' || r == ',':
			if b.Len() > 0 && !strings.HasSuffix(b.String(), "-") {
				b.WriteByte('-')
			}
		}
		if b.Len() >= 20 {
			break
		}
	}
	code := strings.Trim(b.String(), "-")
	if code == "" {
		return "PLOT"
	}
	return code
}

func (s *Server) recordStep(c echo.Context) error {
	var r StepRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	st, ns, replayed, err := s.RecordStepFor(c, c.Param("id"), &r, c.Request().Header.Get("Idempotency-Key"))
	if err != nil {
		return err
	}
	status := http.StatusCreated
	if replayed {
		status = http.StatusOK
	}
	return c.JSON(status, map[string]any{"event": toEvent(st), "next_step": ns})
}

// MaxIdempotencyKeyLen bounds an Idempotency-Key.
const MaxIdempotencyKeyLen = 100

// recordStepFor records a template step on a batch for the caller: the
// API's POST /batches/{id}/steps and the workspace's step form. A request
// sent again with the same idempotency key (a device that was offline
// retrying) answers the event the first one recorded, recording nothing.
func (s *Server) RecordStepFor(c echo.Context, batchID string, r *StepRequest, idemKey string) (st *store.StoredEvent, ns *NextStep, replayed bool, err error) {
	bt, err := s.db.Batch(batchID)
	if err != nil {
		return nil, nil, false, err
	}
	if err := mayWrite(c, bt.CooperativeID); err != nil {
		return nil, nil, false, err
	}
	if len(idemKey) > MaxIdempotencyKeyLen {
		return nil, nil, false, &trace.FieldError{Field: "idempotency_key", Reason: fmt.Sprintf("at most %d characters", MaxIdempotencyKeyLen)}
	}
	if idemKey != "" {
		idemKey = bt.CooperativeID + "/" + bt.ID + "/" + idemKey
		unlock := s.idem.lock(idemKey)
		defer unlock()
		if h, ok, err := s.db.IdempotentEvent(idemKey); err != nil {
			return nil, nil, false, err
		} else if ok {
			st, err := s.db.EventByHash(h)
			if err != nil {
				return nil, nil, false, err
			}
			ns, _, _ := s.NextStepOf(bt)
			return st, ns, true, nil
		}
	}
	ns, tpl, err := s.NextStepOf(bt)
	if err != nil {
		return nil, nil, false, err
	}
	step := ns.Step
	if r.Step != "" {
		if step, err = tpl.Step(r.Step); err != nil {
			return nil, nil, false, err
		}
	} else if step == nil {
		return nil, nil, false, &trace.FieldError{Field: "step", Reason: "every step of the template is recorded; name the step to record another"}
	}
	coop, err := s.db.Cooperative(bt.CooperativeID)
	if err != nil {
		return nil, nil, false, err
	}
	e, err := s.stepEvent(bt, coop, tpl, step, r)
	if err != nil {
		return nil, nil, false, err
	}
	if err := s.checkHarvest(bt, e, trace.Hash{}); err != nil {
		return nil, nil, false, err
	}
	if err := s.checkAttachments(e); err != nil {
		return nil, nil, false, err
	}
	signer, err := s.SignerFor(coop)
	if err != nil {
		return nil, nil, false, err
	}
	st, err = s.db.Append(c.Request().Context(), store.AppendRequest{Event: e, Signer: signer, KeyID: caller(c).ID})
	if err != nil {
		return nil, nil, false, err
	}
	if idemKey != "" {
		if err := s.db.PutIdempotentEvent(idemKey, st.Hash); err != nil {
			return nil, nil, false, err
		}
	}
	ns, _, _ = s.NextStepOf(bt)
	return st, ns, false, nil
}

// keyedLocks serialises work on the same key (an idempotency key).
type keyedLocks struct{ stripes [64]sync.Mutex }

func (k *keyedLocks) lock(key string) func() {
	h := fnv.New32a()
	h.Write([]byte(key))
	m := &k.stripes[h.Sum32()%uint32(len(k.stripes))]
	m.Lock()
	return m.Unlock
}

// FromTemplateRequest creates a batch that follows a crop template and,
// optionally, records its first step in the same request.
type FromTemplateRequest struct {
	CreateBatchRequest
	Template  string       `json:"template"`
	FirstStep *StepRequest `json:"first_step,omitempty"`
}

func (s *Server) createFromTemplate(c echo.Context) error {
	var r FromTemplateRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	bt, p, stored, err := s.CreateFromTemplateFor(c, &r)
	if err != nil {
		return err
	}
	res := map[string]any{"batch": s.toBatch(bt, p, uint64(len(stored)), headOf(stored))}
	if len(stored) > 0 {
		res["event"] = toEvent(stored[0])
	}
	ns, _, _ := s.NextStepOf(bt)
	res["next_step"] = ns
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/batches/"+bt.ID)
	return c.JSON(http.StatusCreated, res)
}

// createFromTemplateFor creates a batch that follows a crop template, with
// its first step if asked, for the caller (the API and the workspace).
func (s *Server) CreateFromTemplateFor(c echo.Context, r *FromTemplateRequest) (*trace.Batch, *trace.Product, []*store.StoredEvent, error) {
	tpl, err := trace.TemplateByID(r.Template)
	if err != nil {
		return nil, nil, nil, err
	}
	bt, p, err := s.newBatch(c, &r.CreateBatchRequest)
	if err != nil {
		return nil, nil, nil, err
	}
	bt.Template = tpl.ID
	if bt.ID == "" {
		bt.ID = store.NewID()
	}
	ch := store.Change{NewBatches: []*trace.Batch{bt}}
	if r.FirstStep != nil {
		coop, err := s.db.Cooperative(bt.CooperativeID)
		if err != nil {
			return nil, nil, nil, err
		}
		step := tpl.NextStep(nil)
		if r.FirstStep.Step != "" {
			if step, err = tpl.Step(r.FirstStep.Step); err != nil {
				return nil, nil, nil, err
			}
		}
		e, err := s.stepEvent(bt, coop, tpl, step, r.FirstStep)
		if err != nil {
			return nil, nil, nil, prefixed("first_step", err)
		}
		signer, err := s.SignerFor(coop)
		if err != nil {
			return nil, nil, nil, err
		}
		ch.Events = []store.AppendRequest{{Event: e, Signer: signer, KeyID: caller(c).ID}}
	}
	stored, err := s.db.Apply(c.Request().Context(), ch)
	if err != nil {
		return nil, nil, nil, err
	}
	return bt, p, stored, nil
}

func headOf(events []*store.StoredEvent) trace.Hash {
	if len(events) == 0 {
		return trace.Hash{}
	}
	return events[len(events)-1].Hash
}

// newBatch checks a batch request against its product and the caller.
func (s *Server) newBatch(c echo.Context, req *CreateBatchRequest) (*trace.Batch, *trace.Product, error) {
	p, err := s.db.Product(req.ProductID)
	if errors.Is(err, trace.ErrNotFound) {
		return nil, nil, &trace.FieldError{Field: "product_id", Reason: fmt.Sprintf("there is no product %q", req.ProductID)}
	} else if err != nil {
		return nil, nil, err
	}
	if err := mayWrite(c, p.CooperativeID); err != nil {
		return nil, nil, err
	}
	bt := &trace.Batch{ID: req.ID, CooperativeID: p.CooperativeID, ProductID: p.ID, Lot: req.Lot,
		Quantity: *req.Quantity.domain(), HarvestDate: req.HarvestDate, CreatedBy: caller(c).ID}
	if req.Plot != nil {
		bt.Plot = &trace.Plot{Name: req.Plot.Name, Lat: req.Plot.Lat, Lon: req.Plot.Lon}
	}
	return bt, p, nil
}

// prefixed names the part of a request an error belongs to.
func prefixed(prefix string, err error) error { return trace.PrefixFields(prefix, err) }

// BulkBatchesRequest creates many batches at once.
type BulkBatchesRequest struct {
	Template string               `json:"template,omitempty"`
	Batches  []CreateBatchRequest `json:"batches"`
}

func (s *Server) bulkBatches(c echo.Context) error {
	var r BulkBatchesRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if len(r.Batches) == 0 || len(r.Batches) > maxBulk {
		return &trace.FieldError{Field: "batches", Reason: fmt.Sprintf("give 1 to %d batches", maxBulk)}
	}
	if r.Template != "" {
		if _, err := trace.TemplateByID(r.Template); err != nil {
			return err
		}
	}
	var ch store.Change
	products := map[string]*trace.Product{}
	for i := range r.Batches {
		bt, p, err := s.newBatch(c, &r.Batches[i])
		if err != nil {
			return prefixed(fmt.Sprintf("batches[%d]", i), err)
		}
		bt.Template = r.Template
		if bt.ID == "" {
			bt.ID = store.NewID()
		}
		products[bt.ID] = p
		ch.NewBatches = append(ch.NewBatches, bt)
	}
	if _, err := s.db.Apply(c.Request().Context(), ch); err != nil {
		return err
	}
	out := make([]Batch, len(ch.NewBatches))
	for i, bt := range ch.NewBatches {
		out[i] = s.toBatch(bt, products[bt.ID], 0, trace.Hash{})
	}
	return c.JSON(http.StatusCreated, map[string]any{"batches": out})
}

// BulkEventsRequest records one event (one spraying, say) on many batches.
type BulkEventsRequest struct {
	Batches []string    `json:"batches"`
	Event   EventFields `json:"event"`
}

func (s *Server) bulkEvents(c echo.Context) error {
	var r BulkEventsRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	if len(r.Batches) == 0 || len(r.Batches) > maxBulk {
		return &trace.FieldError{Field: "batches", Reason: fmt.Sprintf("give 1 to %d batch ids", maxBulk)}
	}
	var ch store.Change
	seen := map[string]bool{}
	now := s.now().In(s.cfg.Location)
	for i, id := range r.Batches {
		if seen[id] {
			return &trace.FieldError{Field: fmt.Sprintf("batches[%d]", i), Reason: fmt.Sprintf("batch %s is listed twice", id)}
		}
		seen[id] = true
		bt, err := s.db.Batch(id)
		if err != nil {
			return prefixed(fmt.Sprintf("batches[%d]", i), err)
		}
		if err := mayWrite(c, bt.CooperativeID); err != nil {
			return err
		}
		f := r.Event
		e, err := f.domain(bt, now)
		if err != nil {
			return prefixed("event", err)
		}
		if err := e.Validate(); err != nil {
			return prefixed("event", err)
		}
		if err := s.checkHarvest(bt, e, trace.Hash{}); err != nil {
			return prefixed(fmt.Sprintf("batches[%d]", i), err)
		}
		coop, err := s.db.Cooperative(bt.CooperativeID)
		if err != nil {
			return err
		}
		signer, err := s.SignerFor(coop)
		if err != nil {
			return err
		}
		ch.Events = append(ch.Events, store.AppendRequest{Event: e, Signer: signer, KeyID: caller(c).ID})
	}
	if err := s.checkAttachments(ch.Events[0].Event); err != nil {
		return err
	}
	stored, err := s.db.Apply(c.Request().Context(), ch)
	if err != nil {
		return err
	}
	out := make([]Event, len(stored))
	for i, st := range stored {
		out[i] = toEvent(st)
	}
	return c.JSON(http.StatusCreated, map[string]any{"events": out})
}

// TransformationRequest splits, merges or processes lots.
type TransformationRequest struct {
	Kind        string              `json:"kind"` // split, merge or process
	BizStep     string              `json:"biz_step,omitempty"`
	EventTime   string              `json:"event_time,omitempty"`
	Note        string              `json:"note,omitempty"`
	Inputs      []TransformInput    `json:"inputs"`
	Outputs     []TransformOutput   `json:"outputs"`
	Loss        *Quantity           `json:"loss,omitempty"`
	Conversions map[string]Quantity `json:"conversions,omitempty"`
	Data        map[string]string   `json:"data,omitempty"`
}

// TransformInput is a lot that goes into a transformation.
type TransformInput struct {
	Batch    string   `json:"batch"`
	Quantity Quantity `json:"quantity"`
}

// TransformOutput is a new lot a transformation makes.
type TransformOutput struct {
	ID        string   `json:"id,omitempty"`
	Lot       string   `json:"lot"`
	ProductID string   `json:"product_id,omitempty"` // default: the first input's product
	Quantity  Quantity `json:"quantity"`
	// Template is the crop template the new lot follows. By default a
	// split's or merge's lots follow their first input's; a processing's
	// too when that template has the processing step (coffee's milling),
	// else the general steps.
	Template string `json:"template,omitempty"`
}

func (s *Server) transform(c echo.Context) error {
	var r TransformationRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	res, err := s.TransformFor(c, &r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, res)
}

// TransformationResult is the answer to a transformation.
type TransformationResult struct {
	Outputs []Batch `json:"outputs"`
	Events  []Event `json:"events"`
}

// transformFor splits, merges or processes lots for the caller.
func (s *Server) TransformFor(c echo.Context, r *TransformationRequest) (*TransformationResult, error) {
	step := r.BizStep
	switch r.Kind {
	case "split":
		if len(r.Inputs) != 1 || len(r.Outputs) < 2 {
			return nil, &trace.FieldError{Field: "outputs", Reason: "a split takes one input lot and makes two or more"}
		}
		if step == "" {
			step = trace.StepSplitting
		}
	case "merge":
		if len(r.Inputs) < 2 || len(r.Outputs) != 1 {
			return nil, &trace.FieldError{Field: "inputs", Reason: "a merge takes two or more input lots and makes one"}
		}
		if step == "" {
			step = trace.StepMerging
		}
	case "process":
		if step == "" {
			return nil, &trace.FieldError{Field: "biz_step", Reason: "say what the processing is, e.g. " + trace.StepMilling}
		}
	default:
		return nil, &trace.FieldError{Field: "kind", Reason: "must be split, merge or process"}
	}
	if len(r.Inputs) == 0 || len(r.Inputs) > 50 || len(r.Outputs) == 0 || len(r.Outputs) > 50 {
		return nil, &trace.FieldError{Field: "inputs", Reason: "give 1 to 50 inputs and 1 to 50 outputs"}
	}
	var inputs []trace.Input
	var first *trace.Batch
	coopID := ""
	for i, in := range r.Inputs {
		bt, err := s.db.Batch(in.Batch)
		if err != nil {
			return nil, prefixed(fmt.Sprintf("inputs[%d]", i), err)
		}
		if err := mayWrite(c, bt.CooperativeID); err != nil {
			return nil, err
		}
		if coopID != "" && bt.CooperativeID != coopID {
			return nil, &trace.FieldError{Field: fmt.Sprintf("inputs[%d].batch", i), Reason: "all input lots must belong to one cooperative"}
		}
		coopID = bt.CooperativeID
		if first == nil {
			first = bt
		}
		n, head, err := s.db.Head(bt.ID)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, &trace.FieldError{Field: fmt.Sprintf("inputs[%d].batch", i), Reason: fmt.Sprintf("batch %s has no events yet; record its harvest first", bt.ID)}
		}
		inputs = append(inputs, trace.Input{Batch: bt.ID, Hash: head, Quantity: in.Quantity.domain()})
	}
	var ch store.Change
	var outputs []trace.Output
	products := map[string]*trace.Product{}
	for i, o := range r.Outputs {
		pid := o.ProductID
		if pid == "" {
			pid = first.ProductID
		}
		bt, p, err := s.newBatch(c, &CreateBatchRequest{ID: o.ID, ProductID: pid, Lot: o.Lot, Quantity: o.Quantity, HarvestDate: first.HarvestDate, Plot: toPlot(first.Plot)})
		if err != nil {
			return nil, prefixed(fmt.Sprintf("outputs[%d]", i), err)
		}
		if bt.CooperativeID != coopID {
			return nil, &trace.FieldError{Field: fmt.Sprintf("outputs[%d].product_id", i), Reason: "outputs must be products of the inputs' cooperative"}
		}
		if bt.ID == "" {
			bt.ID = store.NewID()
		}
		if bt.Template, err = outputTemplate(r.Kind, step, first, o.Template); err != nil {
			return nil, prefixed(fmt.Sprintf("outputs[%d]", i), err)
		}
		products[bt.ID] = p
		ch.NewBatches = append(ch.NewBatches, bt)
		outputs = append(outputs, trace.Output{Batch: bt.ID, Quantity: o.Quantity.domain()})
	}
	conv := trace.Conversions{}
	data := map[string]string{}
	for k, v := range r.Data {
		data[k] = v
	}
	for u, q := range r.Conversions {
		conv[u] = trace.Quantity{Value: q.Value, Unit: q.Unit}
		data[trace.DataConversionPrefix+u] = string(q.Value) + " " + q.Unit
	}
	if err := trace.CheckBalance(inputs, outputs, r.Loss.domain(), conv); err != nil {
		return nil, err
	}
	if len(data) == 0 {
		data = nil
	}
	coop, err := s.db.Cooperative(coopID)
	if err != nil {
		return nil, err
	}
	signer, err := s.SignerFor(coop)
	if err != nil {
		return nil, err
	}
	now := s.now().In(s.cfg.Location)
	for _, out := range ch.NewBatches {
		f := EventFields{Type: string(trace.TransformationEvent), BizStep: step, Disposition: "active", EventTime: r.EventTime,
			Note: r.Note, Data: data, Loss: r.Loss, BizLocation: s.siteURI(coop)}
		e, err := f.domain(out, now)
		if err != nil {
			return nil, err
		}
		e.Inputs, e.Outputs = inputs, outputs
		if err := e.Validate(); err != nil {
			return nil, err
		}
		ch.Events = append(ch.Events, store.AppendRequest{Event: e, Signer: signer, KeyID: caller(c).ID})
	}
	stored, err := s.db.Apply(c.Request().Context(), ch)
	if err != nil {
		return nil, err
	}
	res := &TransformationResult{}
	for i, bt := range ch.NewBatches {
		res.Outputs = append(res.Outputs, s.toBatch(bt, products[bt.ID], 1, stored[i].Hash))
		res.Events = append(res.Events, toEvent(stored[i]))
	}
	return res, nil
}

// outputTemplate is the template a lot made by a transformation follows:
// the one asked for, else its first input's (for a processing, only when
// that template has the processing step), else none (the general steps).
func outputTemplate(kind, step string, first *trace.Batch, asked string) (string, error) {
	if asked != "" {
		t, err := trace.TemplateByID(asked)
		if err != nil {
			return "", err
		}
		if t.ID == trace.GeneralTemplateID {
			return "", nil
		}
		return t.ID, nil
	}
	if first.Template == "" || kind != "process" {
		return first.Template, nil
	}
	t, err := trace.TemplateByID(first.Template)
	if err != nil {
		return "", nil
	}
	for _, st := range t.Steps {
		if st.BizStep == step {
			return t.ID, nil
		}
	}
	return "", nil
}

func toPlot(p *trace.Plot) *Plot {
	if p == nil {
		return nil
	}
	return &Plot{Name: p.Name, Lat: p.Lat, Lon: p.Lon}
}

// LineageBatch is a batch in a lineage walk, with where it was grown.
type LineageBatch struct {
	ID          string `json:"id"`
	Lot         string `json:"lot"`
	Product     string `json:"product"`
	Cooperative string `json:"cooperative"`
	Path        string `json:"path"`
	Plot        *Plot  `json:"plot,omitempty"`
}

func (s *Server) lineageBatch(id string) (LineageBatch, error) {
	bt, err := s.db.Batch(id)
	if err != nil {
		return LineageBatch{}, err
	}
	p, err := s.db.Product(bt.ProductID)
	if err != nil {
		return LineageBatch{}, err
	}
	return LineageBatch{ID: bt.ID, Lot: bt.Lot, Product: p.NameVI, Cooperative: bt.CooperativeID,
		Path: s.batchPath(bt, p), Plot: toPlot(bt.Plot)}, nil
}

func (s *Server) lineage(c echo.Context) error {
	l, err := s.db.Lineage(c.Param("id"))
	if err != nil {
		return err
	}
	self, err := s.lineageBatch(c.Param("id"))
	if err != nil {
		return err
	}
	res := struct {
		Batch      LineageBatch   `json:"batch"`
		Upstream   []LineageBatch `json:"upstream"`
		Downstream []LineageBatch `json:"downstream"`
	}{Batch: self, Upstream: []LineageBatch{}, Downstream: []LineageBatch{}}
	for _, id := range l.Upstream {
		b, err := s.lineageBatch(id)
		if err != nil {
			return err
		}
		res.Upstream = append(res.Upstream, b)
	}
	for _, id := range l.Downstream {
		b, err := s.lineageBatch(id)
		if err != nil {
			return err
		}
		res.Downstream = append(res.Downstream, b)
	}
	return c.JSON(http.StatusOK, res)
}

// RecallRequest records a recall on a batch.
type RecallRequest struct {
	Reason    string `json:"reason"`
	EventTime string `json:"event_time,omitempty"`
}

func (s *Server) recall(c echo.Context) error {
	var r RecallRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	st, affected, err := s.RecallFor(c, c.Param("id"), &r)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, map[string]any{"event": toEvent(st), "affected": affected})
}

// recallFor records a recall on a batch for the caller and returns the
// lots made from it, which the recall reaches too.
func (s *Server) RecallFor(c echo.Context, batchID string, r *RecallRequest) (*store.StoredEvent, []string, error) {
	if strings.TrimSpace(r.Reason) == "" {
		return nil, nil, &trace.FieldError{Field: "reason", Reason: "say why the lot is recalled; shoppers and inspectors will read it"}
	}
	bt, err := s.db.Batch(batchID)
	if err != nil {
		return nil, nil, err
	}
	// An inspector recalls any lot, signing with the inspector's key; a
	// cooperative recalls its own, signed with the cooperative's.
	var signer *trace.Signer
	if caller(c).Role == store.RoleInspector {
		in, err := s.callerInspector(c)
		if err != nil {
			return nil, nil, err
		}
		if signer, err = s.InspectorSigner(in); err != nil {
			return nil, nil, err
		}
	} else if err := mayWrite(c, bt.CooperativeID); err != nil {
		return nil, nil, err
	}
	coop, err := s.db.Cooperative(bt.CooperativeID)
	if err != nil {
		return nil, nil, err
	}
	f := EventFields{BizStep: trace.StepRecalling, Action: "OBSERVE", Disposition: "recalled", EventTime: r.EventTime, Note: r.Reason, BizLocation: s.siteURI(coop)}
	e, err := f.domain(bt, s.now().In(s.cfg.Location))
	if err != nil {
		return nil, nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, nil, err
	}
	if signer == nil {
		if signer, err = s.SignerFor(coop); err != nil {
			return nil, nil, err
		}
	}
	st, err := s.db.Append(c.Request().Context(), store.AppendRequest{Event: e, Signer: signer, KeyID: caller(c).ID})
	if err != nil {
		return nil, nil, err
	}
	l, err := s.db.Lineage(bt.ID)
	if err != nil {
		return nil, nil, err
	}
	return st, append([]string{}, l.Downstream...), nil
}

// findings runs the compliance checks over a batch, a cooperative or
// everything and answers the findings with their evidence.
func (s *Server) findings(c echo.Context) error {
	n, findings, err := s.FindingsFor(c, c.QueryParam("cooperative"), c.QueryParam("batch"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, map[string]any{"checked_batches": n, "findings": findings})
}

// findingsFor runs the checks over one batch, one cooperative's or all,
// as the caller may see them.
func (s *Server) FindingsFor(c echo.Context, cooperative, batch string) (int, []trace.Finding, error) {
	ids := []string{}
	if b := batch; b != "" {
		ids = append(ids, b)
	} else {
		after := ""
		for {
			page, err := s.db.Batches(cooperative, after, 1000)
			if err != nil {
				return 0, nil, err
			}
			for _, bt := range page.Batches {
				ids = append(ids, bt.ID)
			}
			if page.Next == "" || len(ids) >= 20000 {
				break
			}
			after = page.Next
		}
	}
	if k := caller(c); k.Role == store.RoleCooperative && cooperative != k.CooperativeID && batch == "" {
		return 0, nil, fmt.Errorf("a cooperative key sees the findings of its own cooperative only (add cooperative=%s): %w", k.CooperativeID, trace.ErrForbidden)
	}
	var records []*trace.BatchRecord
	findings := []trace.Finding{}
	certs := map[string][]*trace.SignedRecord{}
	inspectors, err := s.db.Inspectors()
	if err != nil {
		return 0, nil, err
	}
	for _, id := range ids {
		bt, err := s.db.Batch(id)
		if err != nil {
			return 0, nil, err
		}
		if k := caller(c); k.Role == store.RoleCooperative && bt.CooperativeID != k.CooperativeID {
			return 0, nil, fmt.Errorf("batch %s belongs to another cooperative: %w", id, trace.ErrForbidden)
		}
		p, err := s.db.Product(bt.ProductID)
		if err != nil {
			return 0, nil, err
		}
		rec := &trace.BatchRecord{Batch: bt, Product: p}
		if rec.Certificates, err = s.certificatesOf(bt.CooperativeID, certs); err != nil {
			return 0, nil, err
		}
		events, err := s.db.History(id)
		if err == nil {
			coop, cerr := s.db.Cooperative(bt.CooperativeID)
			if cerr != nil {
				return 0, nil, cerr
			}
			signed := make([]*trace.SignedEvent, len(events))
			for i, st := range events {
				signed[i] = st.SignedEvent
			}
			keys := keysWith(coop.PublicKeys, inspectors)
			err = trace.VerifyHistory(id, signed, func(string) [][]byte { return keys })
		}
		if err != nil {
			if !errors.Is(err, trace.ErrVerification) {
				return 0, nil, err
			}
			findings = append(findings, trace.Finding{Kind: trace.FindingVerification, Severity: "high", Cooperative: bt.CooperativeID,
				Batches: []string{id}, Message: err.Error(), Evidence: map[string]string{"error": err.Error()}})
			continue
		}
		for _, st := range events {
			rec.Events = append(rec.Events, trace.RecordedEvent{SignedEvent: st.SignedEvent, ReceivedAt: st.ReceivedAt})
		}
		records = append(records, rec)
		findings = append(findings, trace.CheckBatch(rec)...)
	}
	findings = append(findings, trace.CheckCopiedValues(records)...)
	// Lots from which transformations took more than they held, over
	// their whole life (records from before such draws were refused).
	failed := map[string]bool{}
	for _, f := range findings {
		if f.Kind == trace.FindingVerification {
			failed[f.Batches[0]] = true
		}
	}
	for _, rec := range records {
		lb, err := s.db.LotBalance(rec.Batch.ID)
		var de *store.DamagedError
		switch {
		case errors.As(err, &de):
			// A chain the balance reads is damaged: that is the finding.
			if !failed[de.Batch] {
				failed[de.Batch] = true
				findings = append(findings, trace.Finding{Kind: trace.FindingVerification, Severity: "high", Cooperative: rec.Batch.CooperativeID,
					Batches: []string{de.Batch}, Message: de.Error(), Evidence: map[string]string{"error": de.Error()}})
			}
			continue
		case err != nil:
			return 0, nil, err
		}
		findings = append(findings, trace.CheckLotBalance(lb, rec.Batch.CooperativeID)...)
	}
	return len(ids), findings, nil
}
