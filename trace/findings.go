package trace

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"
)

// Compliance checks for inspectors. They read recorded histories and
// return findings with their evidence; they never change anything. Each
// check looks for a pattern field reports from Vietnam name: harvests
// inside a pesticide's pre-harvest interval, records entered out of order
// or before they happened, quantities that do not add up (within one
// transformation or over a lot's life), and the same "default" values
// copied onto many batches where real records would vary.

// Finding kinds.
const (
	FindingPreHarvestInterval = "pre_harvest_interval"
	FindingOutOfOrder         = "out_of_order"
	FindingFutureEvent        = "future_event"
	FindingUnbalanced         = "unbalanced_quantities"
	FindingCopiedValues       = "copied_values"
	FindingVerification       = "verification_failed"
	// FindingOverdrawn is a lot from which splits, merges and processing
	// took more, over its life, than it held (see LotBalance).
	FindingOverdrawn = "overdrawn_lot"
	// FindingCertificateInvalid is a lot that claims a certificate which,
	// by the cooperative's own certificate record, was not valid on the
	// day it was harvested (expired, or not yet issued).
	FindingCertificateInvalid = "certificate_not_valid"
)

// Finding is one problem a check found, with the evidence for it.
type Finding struct {
	Kind        string            `json:"kind"`
	Severity    string            `json:"severity"` // high, medium or low
	Cooperative string            `json:"cooperative"`
	Batches     []string          `json:"batches"`
	Events      []string          `json:"events,omitempty"` // event hashes
	Message     string            `json:"message"`
	Evidence    map[string]string `json:"evidence"`
}

// RecordedEvent is an event with when the server received it.
type RecordedEvent struct {
	*SignedEvent
	ReceivedAt time.Time
}

// BatchRecord is what the checks read about one batch.
type BatchRecord struct {
	Batch   *Batch
	Product *Product
	Events  []RecordedEvent
	// Certificates are the newest revisions of the cooperative's
	// certificate records (KindCertificate), removed ones left out.
	Certificates []*SignedRecord
}

// harvestStep is CBV's name for a harvest.
const harvestStep = "commissioning"

// CheckBatch runs the checks that need only one batch's history. It
// judges the events as readers show them: a corrected event by its newest
// correction (EffectiveEvents), received when the correction was.
func CheckBatch(r *BatchRecord) []Finding {
	var out []Finding
	coop := r.Batch.CooperativeID
	events := effectiveRecords(r.Events)
	var prev *Event
	for i, re := range events {
		e := re.Event
		if IsLotFacts(e) || IsCorrection(e) {
			// A lot's facts are dated when they were declared; a
			// correction carries the date of the step it corrects: neither
			// takes part in the order in which steps were recorded.
			continue
		}
		t := e.Time()
		if prev != nil && t.Before(prev.Time()) {
			out = append(out, Finding{Kind: FindingOutOfOrder, Severity: "medium", Cooperative: coop,
				Batches: []string{r.Batch.ID}, Events: []string{re.Hash.String()},
				Message: fmt.Sprintf("event %d (%s) is dated before the event recorded before it", i, e.BizStep),
				Evidence: map[string]string{"event_time": e.EventTime, "previous_event_time": prev.EventTime,
					"step": e.BizStep, "previous_step": prev.BizStep}})
		}
		if !re.ReceivedAt.IsZero() && t.After(re.ReceivedAt.Add(10*time.Minute)) {
			out = append(out, Finding{Kind: FindingFutureEvent, Severity: "high", Cooperative: coop,
				Batches: []string{r.Batch.ID}, Events: []string{re.Hash.String()},
				Message: fmt.Sprintf("event %d (%s) was recorded before it happened", i, e.BizStep),
				Evidence: map[string]string{"event_time": e.EventTime, "received_at": re.ReceivedAt.In(t.Location()).Format(time.RFC3339),
					"step": e.BizStep}})
		}
		if e.Type == TransformationEvent && len(e.Outputs) > 0 {
			if err := CheckBalance(e.Inputs, e.Outputs, e.Loss, nil); err != nil {
				out = append(out, Finding{Kind: FindingUnbalanced, Severity: "high", Cooperative: coop,
					Batches: []string{r.Batch.ID}, Events: []string{re.Hash.String()},
					Message: err.Error(), Evidence: map[string]string{"event": re.Hash.String(), "step": e.BizStep, "event_time": e.EventTime}})
			}
		}
		prev = e
	}
	out = append(out, checkPHI(r.Batch, events)...)
	out = append(out, checkHarvestQuantity(r.Batch, events)...)
	out = append(out, checkCertificates(r)...)
	return out
}

// checkCertificates finds certificates a lot claims that the
// cooperative's certificate record of the same scheme and number says
// were not valid on the day the lot was harvested. A claimed certificate
// the registry does not hold is not a finding here: lots recorded before
// the registry kept certificates claim such numbers.
func checkCertificates(r *BatchRecord) []Finding {
	claimed, harvest, at := r.Batch.Certifications, r.Batch.HarvestDate, ""
	signed := make([]*SignedEvent, len(r.Events))
	for i, re := range r.Events {
		signed[i] = re.SignedEvent
	}
	if f, i := LatestFacts(signed); f != nil {
		claimed, harvest, at = f.Certifications, f.HarvestDate, r.Events[i].Hash.String()
	}
	if harvest == "" {
		for _, re := range r.Events {
			if re.Event.BizStep == harvestStep {
				harvest = re.Event.Time().Format("2006-01-02")
				break
			}
		}
	}
	if harvest == "" || len(claimed) == 0 {
		return nil
	}
	var out []Finding
	for _, c := range claimed {
		for _, sr := range r.Certificates {
			f := sr.Record.Fields
			if f["scheme"] != c.Scheme || f["number"] != c.ID || sr.Record.Cooperative != r.Batch.CooperativeID {
				continue
			}
			status := CertificateStatus(f, harvest)
			if status == CertValid {
				continue
			}
			when := "expired on " + f["valid_to"]
			if status == CertNotYet {
				when = "was valid only from " + f["valid_from"]
			}
			fd := Finding{Kind: FindingCertificateInvalid, Severity: "high", Cooperative: r.Batch.CooperativeID,
				Batches: []string{r.Batch.ID},
				Message: fmt.Sprintf("the lot claims %s certificate %s, which %s; the lot was harvested on %s", c.Scheme, c.ID, when, harvest),
				Evidence: map[string]string{"scheme": c.Scheme, "number": c.ID, "valid_from": f["valid_from"], "valid_to": f["valid_to"],
					"harvest_date": harvest, "certificate": sr.Record.ID, "certificate_record": sr.Hash.String(), "status": status}}
			if at != "" {
				fd.Events = []string{at}
			}
			out = append(out, fd)
		}
	}
	return out
}

// effectiveRecords is a batch's events as readers show them (see
// EffectiveEvents), each with when the server received what is shown.
func effectiveRecords(evs []RecordedEvent) []RecordedEvent {
	signed := make([]*SignedEvent, len(evs))
	received := make(map[Hash]time.Time, len(evs))
	for i, re := range evs {
		signed[i] = re.SignedEvent
		received[re.Hash] = re.ReceivedAt
	}
	eff := EffectiveEvents(signed)
	out := make([]RecordedEvent, len(eff))
	for i, e := range eff {
		out[i] = RecordedEvent{SignedEvent: e.Shown, ReceivedAt: received[e.Shown.Hash]}
	}
	return out
}

// checkPHI finds harvests inside a sprayed product's pre-harvest
// interval, whether or not the clerk confirmed them with a reason.
func checkPHI(b *Batch, events []RecordedEvent) []Finding {
	var out []Finding
	signed := make([]*SignedEvent, len(events))
	for i, re := range events {
		signed[i] = re.SignedEvent
	}
	for _, h := range events {
		if h.Event.BizStep != harvestStep {
			continue
		}
		for _, c := range PHIConflicts(signed, h.Event.Time()) {
			days := strconv.FormatFloat(c.DaysBetween(), 'f', 1, 64)
			ev := map[string]string{"sprayed_at": c.SprayedAt.Format(time.RFC3339), "harvested_at": h.Event.EventTime,
				"product": c.Product, "active_ingredient": c.ActiveIngredient,
				"phi_days": c.PHIDays, "days_between": days}
			if why := h.Event.Data[DataIntervalOverride]; why != "" {
				ev["override_reason"] = why
			}
			out = append(out, Finding{Kind: FindingPreHarvestInterval, Severity: "high", Cooperative: b.CooperativeID,
				Batches: []string{b.ID}, Events: []string{c.Spraying.String(), h.Hash.String()},
				Message: fmt.Sprintf("harvested %s days after spraying %s, whose pre-harvest interval is %s days",
					days, c.Product, c.PHIDays),
				Evidence: ev})
		}
	}
	return out
}

// checkHarvestQuantity finds harvests that record more than the batch holds.
func checkHarvestQuantity(b *Batch, events []RecordedEvent) []Finding {
	var out []Finding
	bq, bu, err := toBase(b.Quantity, nil)
	if err != nil || bq == nil {
		return nil
	}
	r := &BatchRecord{Batch: b}
	for _, re := range events {
		q := re.Event.Quantity
		if re.Event.BizStep != harvestStep || q == nil {
			continue
		}
		hq, hu, err := toBase(*q, nil)
		if err != nil || hq == nil || hu != bu || hq.Cmp(bq) <= 0 {
			continue
		}
		out = append(out, Finding{Kind: FindingUnbalanced, Severity: "medium", Cooperative: r.Batch.CooperativeID,
			Batches: []string{r.Batch.ID}, Events: []string{re.Hash.String()},
			Message:  fmt.Sprintf("the harvest records %s %s but the batch was registered with %s %s", q.Value, q.Unit, r.Batch.Quantity.Value, r.Batch.Quantity.Unit),
			Evidence: map[string]string{"harvest_quantity": string(q.Value) + " " + q.Unit, "batch_quantity": string(r.Batch.Quantity.Value) + " " + r.Batch.Quantity.Unit}})
	}
	return out
}

// MinCopies is how many batches must share a value before it is reported.
const MinCopies = 4

// CheckCopiedValues looks across batches for identical values where real
// records would vary. It judges only what must be measured or observed
// each time a step is done: the measured step fields (doses, seed rates,
// moisture; see TemplateField.Measured), harvested quantities and long
// notes written word for word (other than a template's own default
// note). What legitimately repeats from one record to the next (the
// product used, its active ingredient, the plot, who did the work) is
// what the workspace fills in from the last record, and is not judged:
// otherwise the checks would report the workspace's own help. The one
// exception is a pre-harvest interval: it repeats with its product, so
// the same interval recorded for three or more different products is
// reported as a copied default.
func CheckCopiedValues(records []*BatchRecord) []Finding {
	type key struct{ coop, step, field, value string }
	type seen struct {
		batches  map[string]bool
		products map[string]bool // products of the batches
		applied  map[string]bool // products applied in the step (data "product")
		events   []string
	}
	groups := map[key]*seen{}
	add := func(k key, r *BatchRecord, e *Event, ev string) {
		g := groups[k]
		if g == nil {
			g = &seen{batches: map[string]bool{}, products: map[string]bool{}, applied: map[string]bool{}}
			groups[k] = g
		}
		if p := e.Data["product"]; p != "" {
			g.applied[p] = true
		}
		if !g.batches[r.Batch.ID] {
			g.batches[r.Batch.ID] = true
			g.products[r.Batch.ProductID] = true
			g.events = append(g.events, ev)
		}
	}
	for _, r := range records {
		for _, re := range effectiveRecords(r.Events) {
			e := re.Event
			if IsLotFacts(e) {
				continue
			}
			for f, v := range StepData(e) {
				if v != "" && (IsMeasured(f) || f == "phi_days") {
					add(key{r.Batch.CooperativeID, e.BizStep, f, v}, r, e, re.Hash.String())
				}
			}
			if q := e.Quantity; q != nil && e.BizStep == harvestStep {
				add(key{r.Batch.CooperativeID, e.BizStep, "quantity", string(q.Value) + " " + q.Unit}, r, e, re.Hash.String())
			}
			if len([]rune(e.Note)) >= 20 && !templateNote(e.BizStep, e.Note) {
				add(key{r.Batch.CooperativeID, e.BizStep, "note", e.Note}, r, e, re.Hash.String())
			}
		}
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		return a.coop+a.step+a.field+a.value < b.coop+b.step+b.field+b.value
	})
	var out []Finding
	for _, k := range keys {
		g := groups[k]
		if len(g.batches) < MinCopies {
			continue
		}
		// A withholding period belongs to the pesticide used: the same
		// period for several different pesticides is the clearest sign of
		// a copied default.
		if k.field == "phi_days" && len(g.applied) < 3 {
			continue
		}
		batches := make([]string, 0, len(g.batches))
		for b := range g.batches {
			batches = append(batches, b)
		}
		sort.Strings(batches)
		out = append(out, Finding{Kind: FindingCopiedValues, Severity: "medium", Cooperative: k.coop,
			Batches: batches, Events: g.events,
			Message: fmt.Sprintf("%d batches (%d products) record the same %s %q for step %s; real records would vary, so these may be copied or made up",
				len(g.batches), len(g.products), strings.ReplaceAll(k.field, "_", " "), k.value, k.step),
			Evidence: map[string]string{"field": k.field, "value": k.value, "step": k.step, "batches": strconv.Itoa(len(g.batches)),
				"products": strconv.Itoa(len(g.products)), "applied_products": strconv.Itoa(len(g.applied))}})
	}
	return out
}

// templateNote reports whether note is a crop template's default note for
// the step: the workspace fills it in, so it repeats by design.
func templateNote(bizStep, note string) bool {
	for _, t := range templates {
		for _, s := range t.Steps {
			if s.BizStep == bizStep && s.Note != "" && s.Note == note {
				return true
			}
		}
	}
	return false
}
