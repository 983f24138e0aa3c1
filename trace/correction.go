package trace

import (
	"bytes"
	"maps"
	"time"
)

// Corrections. A chain is append-only: a mistake in a recorded step is
// fixed by a later event of the same chain that states the step in full
// again, with the values it should have had, and names the event it
// corrects and why:
//
//	data "corrects"           the hash of the corrected event (an earlier
//	                          event of the same chain, not itself a
//	                          correction, not a lot's facts record)
//	data "correction_reason"  why, in the clerk's words
//	data "corrected_at"       when the correction was made (RFC 3339),
//	                          since the event's own time is when the work
//	                          was done
//
// The correction has the corrected event's type, action and business
// step, and is signed with the key that signed it; everything else (the
// time the work was done, quantity, notes, step fields, attachments) is
// what the step should say. Readers show the newest correction of an
// event in its place, and on request that it was corrected (when, by whom,
// why). Like a lot's facts record, a correction
// is an ordinary event of encoding version 1.

// Data names of a correction.
const (
	DataCorrects         = "corrects"
	DataCorrectionReason = "correction_reason"
	DataCorrectedAt      = "corrected_at"
)

// IsCorrection reports whether e corrects an earlier event.
func IsCorrection(e *Event) bool { return e != nil && e.Data[DataCorrects] != "" }

// CorrectedHash returns the hash of the event e corrects.
func CorrectedHash(e *Event) (Hash, bool) {
	h, err := ParseHash(e.Data[DataCorrects])
	return h, err == nil
}

// NewCorrection makes the event that corrects orig (an event of a verified
// chain, with its hash) to what fixed says: fixed is the step as it should
// have been (its type, action and business step are orig's), reason says
// why and at is when the correction is made. The store fixes Seq and Prev.
func NewCorrection(orig *SignedEvent, fixed *Event, reason string, at time.Time) (*Event, error) {
	o := orig.Event
	if IsCorrection(o) {
		return nil, &FieldError{Field: DataCorrects, Reason: "correct the event itself, not a correction of it"}
	}
	if IsLotFacts(o) {
		return nil, &FieldError{Field: DataCorrects, Reason: "a lot's facts are corrected by stating them again (POST /api/v1/batches/{id}/facts)"}
	}
	if o.Type == TransformationEvent {
		return nil, &FieldError{Field: DataCorrects, Reason: "a split, merge or processing cannot be corrected in place: its lots were made from it; record a new transformation"}
	}
	if err := ValidateText(DataCorrectionReason, reason, MaxNameLen, true); err != nil {
		return nil, err
	}
	c := *fixed
	c.Type, c.Action, c.BizStep = o.Type, o.Action, o.BizStep
	c.Cooperative, c.Batch = o.Cooperative, o.Batch
	c.Seq, c.Prev = 0, Hash{}
	c.Data = maps.Clone(fixed.Data)
	if c.Data == nil {
		c.Data = map[string]string{}
	}
	c.Data[DataCorrects] = orig.Hash.String()
	c.Data[DataCorrectionReason] = reason
	c.Data[DataCorrectedAt], _ = FormatEventTime(at)
	return &c, nil
}

// Effective is an event as readers show it: the event itself, or the
// newest correction of it.
type Effective struct {
	// Original is the event in its place in the chain.
	Original *SignedEvent
	// Shown is what is shown in its place: Original, or its newest
	// correction.
	Shown *SignedEvent
	// Corrections are the corrections of Original, oldest first.
	Corrections []*SignedEvent
}

// Corrected reports whether the event was corrected.
func (e *Effective) Corrected() bool { return len(e.Corrections) > 0 }

// EffectiveEvents returns the events of a verified history as readers
// show them: every event that is not a correction, in chain order, each
// with the newest correction of it in its place. A correction that names
// no earlier event of the chain, or names one it may not correct (a
// correction, a facts record, a transformation, another step, or an event
// signed with another key: a cooperative cannot correct an inspector's
// verdict), is shown as an event of its own, so that nothing signed is
// ever hidden.
func EffectiveEvents(events []*SignedEvent) []*Effective {
	var out []*Effective
	at := map[Hash]*Effective{}
	for _, se := range events {
		e := se.Event
		if h, ok := CorrectedHash(e); ok && IsCorrection(e) {
			if orig, ok := at[h]; ok && correctable(orig.Original.Event, e) && bytes.Equal(orig.Original.Signer, se.Signer) {
				orig.Corrections = append(orig.Corrections, se)
				orig.Shown = se
				continue
			}
		}
		eff := &Effective{Original: se, Shown: se}
		out = append(out, eff)
		if !IsCorrection(e) && !IsLotFacts(e) {
			at[se.Hash] = eff
		}
	}
	return out
}

func correctable(orig, c *Event) bool {
	return orig.Type != TransformationEvent && c.Type == orig.Type && c.Action == orig.Action && c.BizStep == orig.BizStep
}

// StepData returns an event's step fields without the names that belong
// to corrections and confirmations (and the device time of a step kept
// on a phone while offline), for showing a step.
func StepData(e *Event) map[string]string {
	out := make(map[string]string, len(e.Data))
	for k, v := range e.Data {
		switch k {
		case DataCorrects, DataCorrectionReason, DataCorrectedAt, DataIntervalOverride, "device_time":
			continue
		}
		out[k] = v
	}
	return out
}
