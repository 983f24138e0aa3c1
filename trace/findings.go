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

// CheckBatch runs the checks that need only one batch's history.
func CheckBatch(r *BatchRecord) []Finding {
	var out []Finding
	coop := r.Batch.CooperativeID
	var prev *Event
	for i, re := range r.Events {
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
				Message:  fmt.Sprintf("event %d (%s) is dated before the event recorded before it", i, e.BizStep),
				Evidence: map[string]string{"event_time": e.EventTime, "previous_event_time": prev.EventTime}})
		}
		if !re.ReceivedAt.IsZero() && t.After(re.ReceivedAt.Add(10*time.Minute)) {
			out = append(out, Finding{Kind: FindingFutureEvent, Severity: "high", Cooperative: coop,
				Batches: []string{r.Batch.ID}, Events: []string{re.Hash.String()},
				Message:  fmt.Sprintf("event %d (%s) was recorded before it happened", i, e.BizStep),
				Evidence: map[string]string{"event_time": e.EventTime, "received_at": re.ReceivedAt.Format(time.RFC3339)}})
		}
		if e.Type == TransformationEvent && len(e.Outputs) > 0 {
			if err := CheckBalance(e.Inputs, e.Outputs, e.Loss, nil); err != nil {
				out = append(out, Finding{Kind: FindingUnbalanced, Severity: "high", Cooperative: coop,
					Batches: []string{r.Batch.ID}, Events: []string{re.Hash.String()},
					Message: err.Error(), Evidence: map[string]string{"event": re.Hash.String()}})
			}
		}
		prev = e
	}
	out = append(out, checkPHI(r)...)
	out = append(out, checkHarvestQuantity(r)...)
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

// checkPHI finds harvests inside a sprayed product's pre-harvest interval.
func checkPHI(r *BatchRecord) []Finding {
	var out []Finding
	for _, sp := range r.Events {
		days, err := strconv.ParseFloat(sp.Event.Data["phi_days"], 64)
		if err != nil || days <= 0 {
			continue
		}
		sprayed := sp.Event.Time()
		for _, h := range r.Events {
			if h.Event.BizStep != harvestStep {
				continue
			}
			gap := h.Event.Time().Sub(sprayed)
			if gap < 0 || gap >= time.Duration(days*24*float64(time.Hour)) {
				continue
			}
			out = append(out, Finding{Kind: FindingPreHarvestInterval, Severity: "high", Cooperative: r.Batch.CooperativeID,
				Batches: []string{r.Batch.ID}, Events: []string{sp.Hash.String(), h.Hash.String()},
				Message: fmt.Sprintf("harvested %.1f days after spraying %s, whose pre-harvest interval is %s days",
					gap.Hours()/24, sp.Event.Data["product"], sp.Event.Data["phi_days"]),
				Evidence: map[string]string{"sprayed_at": sp.Event.EventTime, "harvested_at": h.Event.EventTime,
					"product": sp.Event.Data["product"], "active_ingredient": sp.Event.Data["active_ingredient"],
					"phi_days": sp.Event.Data["phi_days"], "days_between": strconv.FormatFloat(gap.Hours()/24, 'f', 1, 64)}})
		}
	}
	return out
}

// checkHarvestQuantity finds harvests that record more than the batch holds.
func checkHarvestQuantity(r *BatchRecord) []Finding {
	var out []Finding
	bq, bu, err := toBase(r.Batch.Quantity, nil)
	if err != nil || bq == nil {
		return nil
	}
	for _, re := range r.Events {
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

// copiedFields are step fields whose values depend on the real product,
// place and day, so the same value on many batches is suspect.
var copiedFields = []string{"phi_days", "dose", "active_ingredient", "moisture_percent", "dose_kg_ha", "dose_kg_tree"}

// MinCopies is how many batches must share a value before it is reported.
const MinCopies = 4

// CheckCopiedValues looks across batches for identical values where real
// records would vary: the same pre-harvest interval for different products,
// the same note word for word, the same time of day to the second.
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
		for _, re := range r.Events {
			e := re.Event
			for _, f := range copiedFields {
				if v := e.Data[f]; v != "" {
					add(key{r.Batch.CooperativeID, e.BizStep, f, v}, r, e, re.Hash.String())
				}
			}
			if len([]rune(e.Note)) >= 20 {
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
			Evidence: map[string]string{"field": k.field, "value": k.value, "batches": strconv.Itoa(len(g.batches)), "products": strconv.Itoa(len(g.products))}})
	}
	return out
}
