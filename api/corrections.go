package api

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// Recording what really happened: a harvest inside a spraying's
// pre-harvest interval needs a reason, the time a step was done is
// bounded by the lot's life, and a recorded step is corrected the
// append-only way (trace.NewCorrection): a new signed event that names the
// event it corrects, the values it should have had and why. Nothing is
// edited in place.

// checkHarvest refuses a harvest recorded inside the pre-harvest interval
// of a spraying of the same lot unless it carries the clerk's reason
// (trace.DataIntervalOverride). The lot's events are read as corrected;
// except is an event left out (the one a correction replaces).
func (s *Server) checkHarvest(bt *trace.Batch, e *trace.Event, except trace.Hash) error {
	if e.BizStep != "commissioning" || e.Data[trace.DataIntervalOverride] != "" {
		return nil
	}
	events, err := s.db.History(bt.ID)
	if errors.Is(err, trace.ErrNotFound) {
		return nil
	} else if err != nil {
		return err
	}
	conflicts := trace.PHIConflicts(shownEvents(events, except), e.Time())
	if len(conflicts) == 0 {
		return nil
	}
	return &trace.PHIError{Conflicts: conflicts}
}

// shownEvents is a history as readers show it (corrections in place),
// without the event except.
func shownEvents(events []*store.StoredEvent, except trace.Hash) []*trace.SignedEvent {
	signed := make([]*trace.SignedEvent, len(events))
	for i, st := range events {
		signed[i] = st.SignedEvent
	}
	var out []*trace.SignedEvent
	for _, eff := range trace.EffectiveEvents(signed) {
		if eff.Original.Hash != except {
			out = append(out, eff.Shown)
		}
	}
	return out
}

// ClockSkew is how far in the future a step's time may be: a phone's
// clock a little ahead of the server's.
const ClockSkew = 10 * time.Minute

// SeasonBefore is how long before its registration a lot's farm work may
// be dated: a lot registered once the season is under way has its earlier
// work written up afterwards, as a paper diary is.
const SeasonBefore = 366 * 24 * time.Hour

// StepTimeError refuses the time a step was done: in the future, or
// before the lot began. Its message is in Vietnamese, for the clerk at the
// form; English gives it in English.
type StepTimeError struct {
	Field  string
	Time   time.Time // what was given
	Limit  time.Time // the bound it crosses
	Future bool
	// MadeBy names the step that made the lot (a split, a merge, a
	// milling) when the lot began with it; empty for a lot registered.
	MadeBy string
}

func (e *StepTimeError) Error() string {
	switch {
	case e.Future:
		return fmt.Sprintf("Thời điểm làm (%s) chưa tới: bây giờ mới là %s. Hãy ghi ngày giờ công việc thật sự được làm.",
			trace.TimeVI(e.Time), trace.TimeVI(e.Limit))
	case e.MadeBy != "":
		return fmt.Sprintf("Thời điểm làm (%s) sớm hơn lúc có lô này: lô được tạo ra bằng bước %s lúc %s, nên các bước của lô không thể làm trước đó.",
			trace.TimeVI(e.Time), trace.StepLabel(e.MadeBy, "vi"), trace.TimeVI(e.Limit))
	}
	return fmt.Sprintf("Thời điểm làm (%s) sớm hơn lúc lô bắt đầu: ngày sớm nhất có thể ghi là %s (một năm trước khi lô được đăng ký, hoặc bước sớm nhất đã ghi). Hãy kiểm tra lại năm.",
		trace.TimeVI(e.Time), e.Limit.Format("02/01/2006"))
}

// English says the same in English.
func (e *StepTimeError) English() string {
	switch {
	case e.Future:
		return fmt.Sprintf("the time the step was done, %s, is in the future (it is now %s)", e.Time.Format(time.RFC3339), e.Limit.Format(time.RFC3339))
	case e.MadeBy != "":
		return fmt.Sprintf("the time the step was done, %s, is before the lot was made (by %s at %s)", e.Time.Format(time.RFC3339), e.MadeBy, e.Limit.Format(time.RFC3339))
	}
	return fmt.Sprintf("the time the step was done, %s, is before the lot began (a year before it was registered, or its earliest recorded step); the earliest is %s", e.Time.Format(time.RFC3339), e.Limit.Format(time.RFC3339))
}

// Unwrap makes a StepTimeError an invalid request.
func (e *StepTimeError) Unwrap() error { return trace.ErrInvalid }

// CheckStepTime checks the time a step of a lot was done: not after now
// plus ClockSkew, and not before the lot began. A lot made by a split,
// merge or processing began then; a registered lot a season
// (SeasonBefore) before its registration, or at its earliest recorded
// step if that is earlier (histories recorded before lots had facts, or
// imported).
func (s *Server) CheckStepTime(bt *trace.Batch, field string, t time.Time) error {
	now := s.now().In(s.cfg.Location)
	if t.After(now.Add(ClockSkew)) {
		return &StepTimeError{Field: field, Time: t, Limit: now.Truncate(time.Minute), Future: true}
	}
	events, err := s.db.History(bt.ID)
	if err != nil && !errors.Is(err, trace.ErrNotFound) {
		return err
	}
	var limit time.Time
	for i, st := range events {
		e := st.Event
		if e.Type == trace.TransformationEvent && slices.ContainsFunc(e.Outputs, func(o trace.Output) bool { return o.Batch == bt.ID }) {
			if t.Before(e.Time()) {
				return &StepTimeError{Field: field, Time: t, Limit: e.Time(), MadeBy: e.BizStep}
			}
			return nil
		}
		et := e.Time()
		if i == 0 {
			// The start of the day a season before the lot's first record.
			y, m, d := et.Add(-SeasonBefore).Date()
			limit = time.Date(y, m, d, 0, 0, 0, 0, et.Location())
		}
		if !trace.IsLotFacts(e) && et.Before(limit) {
			limit = et
		}
	}
	if !limit.IsZero() && t.Before(limit) {
		return &StepTimeError{Field: field, Time: t, Limit: limit}
	}
	return nil
}

// CorrectionRequest corrects a recorded step: the event it corrects, why,
// and the values it should have had. Members left out keep the values the
// step shows now; a value given as "" removes that field.
type CorrectionRequest struct {
	Corrects  string            `json:"corrects"`
	Reason    string            `json:"reason"`
	EventTime string            `json:"event_time,omitempty"`
	Quantity  *Quantity         `json:"quantity,omitempty"`
	Note      *string           `json:"note,omitempty"`
	Values    map[string]string `json:"values,omitempty"`
}

func (s *Server) correct(c echo.Context) error {
	var r CorrectionRequest
	if err := decodeJSON(c, &r); err != nil {
		return err
	}
	st, err := s.CorrectionFor(c, c.Param("id"), &r)
	if err != nil {
		return err
	}
	c.Response().Header().Set(echo.HeaderLocation, "/api/v1/events/"+st.Hash.String())
	return c.JSON(http.StatusCreated, map[string]any{"event": toEvent(st)})
}

// CorrectionFor records a correction of a step of a batch for the caller:
// the API's POST /batches/{id}/corrections and the workspace's form. A
// corrected time is bounded like a new step's (CheckStepTime) and a
// corrected harvest is checked against the lot's sprayings.
func (s *Server) CorrectionFor(c echo.Context, batchID string, r *CorrectionRequest) (*store.StoredEvent, error) {
	bt, err := s.db.Batch(batchID)
	if err != nil {
		return nil, err
	}
	if err := mayWrite(c, bt.CooperativeID); err != nil {
		return nil, err
	}
	reason := strings.TrimSpace(r.Reason)
	if reason == "" {
		return nil, &trace.FieldError{Field: "reason", Reason: "say why the step is corrected; inspectors and shoppers can read it"}
	}
	h, err := trace.ParseHash(r.Corrects)
	if err != nil {
		return nil, &trace.FieldError{Field: "corrects", Reason: err.Error()}
	}
	events, err := s.db.History(bt.ID)
	if err != nil {
		return nil, err
	}
	signed := make([]*trace.SignedEvent, len(events))
	for i, st := range events {
		signed[i] = st.SignedEvent
	}
	var eff *trace.Effective
	for _, e := range trace.EffectiveEvents(signed) {
		if e.Original.Hash == h {
			eff = e
		}
	}
	if eff == nil {
		orig := slices.IndexFunc(signed, func(se *trace.SignedEvent) bool { return se.Hash == h })
		if orig < 0 {
			return nil, &trace.FieldError{Field: "corrects", Reason: fmt.Sprintf("batch %s has no event %s", bt.ID, h)}
		}
		// A correction or a facts record: NewCorrection says why not.
		_, err := trace.NewCorrection(signed[orig], signed[orig].Event, reason, s.now())
		if err == nil {
			err = &trace.FieldError{Field: "corrects", Reason: "this event cannot be corrected"}
		}
		return nil, err
	}
	coop, err := s.db.Cooperative(bt.CooperativeID)
	if err != nil {
		return nil, err
	}
	if !slices.ContainsFunc(coop.PublicKeys, func(k []byte) bool { return string(k) == string(eff.Original.Signer) }) {
		return nil, &trace.FieldError{Field: "corrects", Reason: "the event was signed by an inspector; only the inspector who signed it may correct it"}
	}
	signer, err := s.SignerFor(coop)
	if err != nil {
		return nil, err
	}
	// A correction is signed with the key that signed the step (see
	// trace.EffectiveEvents).
	if string(signer.PublicKey()) != string(eff.Original.Signer) {
		return nil, &trace.FieldError{Field: "corrects", Reason: "the step was signed with the cooperative's own key; sign its correction with that key (truyxuat event sign)"}
	}
	shown := eff.Shown.Event
	fixed := *shown
	fixed.Data = trace.StepData(shown)
	if why := shown.Data[trace.DataIntervalOverride]; why != "" {
		fixed.Data[trace.DataIntervalOverride] = why
	}
	var v trace.ValidationError
	for k, val := range r.Values {
		val = strings.TrimSpace(val)
		switch k {
		case trace.DataCorrects, trace.DataCorrectionReason, trace.DataCorrectedAt:
			v.Fields = append(v.Fields, &trace.FieldError{Field: "values." + k, Reason: "is set by the correction itself"})
			continue
		}
		if val == "" {
			delete(fixed.Data, k)
		} else {
			fixed.Data[k] = val
		}
	}
	if len(fixed.Data) == 0 {
		fixed.Data = nil
	}
	if r.EventTime != "" {
		t, err := time.Parse(time.RFC3339, r.EventTime)
		if err != nil {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "event_time", Reason: "must be an RFC 3339 time such as 2025-08-15T06:30:00+07:00"})
		} else {
			fixed.EventTime, fixed.EventTimeZoneOffset = trace.FormatEventTime(t)
		}
	}
	if r.Quantity != nil {
		fixed.Quantity = r.Quantity.domain()
	}
	if r.Note != nil {
		fixed.Note = strings.TrimSpace(*r.Note)
	}
	if len(v.Fields) > 0 {
		return nil, &v
	}
	e, err := trace.NewCorrection(eff.Original, &fixed, reason, s.now().In(s.cfg.Location).Truncate(time.Second))
	if err != nil {
		return nil, err
	}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	if r.EventTime != "" {
		if err := s.CheckStepTime(bt, "event_time", e.Time()); err != nil {
			return nil, err
		}
	}
	if err := s.checkHarvest(bt, e, h); err != nil {
		return nil, err
	}
	return s.db.Append(c.Request().Context(), store.AppendRequest{Event: e, Signer: signer, KeyID: caller(c).ID})
}
