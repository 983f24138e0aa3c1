package api

import (
	"context"
	"encoding/json"
	"errors"
	"math"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// Problem is an RFC 9457 problem details object.
type Problem struct {
	Type     string `json:"type"`
	Title    string `json:"title"`
	Status   int    `json:"status"`
	Detail   string `json:"detail,omitempty"`
	Instance string `json:"instance,omitempty"`
	// Errors lists every invalid field of a request.
	Errors []FieldProblem `json:"errors,omitempty"`
	// PreHarvestIntervals lists the sprayings whose pre-harvest interval
	// a refused harvest falls inside.
	PreHarvestIntervals []PHIConflict `json:"pre_harvest_intervals,omitempty"`
	// Verification names the event that failed verification and why.
	Verification *VerifyFailure `json:"verification,omitempty"`
	RequestID    string         `json:"request_id,omitempty"`
}

// PHIConflict is a spraying whose pre-harvest interval had not passed at
// a harvest (trace.PHIConflict).
type PHIConflict struct {
	Spraying         string `json:"spraying"` // the spraying event's hash
	Product          string `json:"product"`
	ActiveIngredient string `json:"active_ingredient,omitempty"`
	PHIDays          string `json:"phi_days"`
	SprayedAt        string `json:"sprayed_at"`
	SafeFrom         string `json:"safe_from"` // when a harvest is allowed
	HoursRemaining   int    `json:"hours_remaining"`
}

// FieldProblem is one invalid field.
type FieldProblem struct {
	Field  string `json:"field"`
	Detail string `json:"detail"`
}

// VerifyFailure says which event of a history failed and why.
type VerifyFailure struct {
	EventIndex int    `json:"event_index"`
	EventHash  string `json:"event_hash,omitempty"`
	Reason     string `json:"reason"`
	Detail     string `json:"detail"`
	// Record names the registry record that failed ("product gao-st25").
	Record string `json:"record,omitempty"`
	// Field names the readable field that says something other than what
	// was signed ("product.name_vi").
	Field string `json:"field,omitempty"`
}

const ProblemBase = "https://truyxuat.vn/problems/"

// statusOf maps a domain error to its HTTP status: the one place where
// errors become statuses.
func statusOf(err error) int {
	var he *echo.HTTPError
	switch {
	case errors.As(err, &he):
		return he.Code
	case errors.Is(err, errBadRequest):
		return http.StatusBadRequest
	case errors.Is(err, trace.ErrInvalid):
		return http.StatusUnprocessableEntity
	case errors.Is(err, trace.ErrNotFound), errors.Is(err, trace.ErrUnsupported):
		return http.StatusNotFound
	case errors.Is(err, trace.ErrConflict):
		return http.StatusConflict
	case errors.Is(err, trace.ErrForbidden):
		return http.StatusForbidden
	case errors.Is(err, trace.ErrUnauthenticated):
		return http.StatusUnauthorized
	case errors.Is(err, trace.ErrVerification):
		return http.StatusUnprocessableEntity
	case errors.Is(err, store.ErrClosed), errors.Is(err, store.ErrReadOnly), errors.Is(err, store.ErrUnavailable):
		return http.StatusServiceUnavailable
	case errors.Is(err, store.ErrUnsupported):
		return http.StatusNotImplemented
	case errors.Is(err, store.ErrDamaged):
		return http.StatusInternalServerError
	}
	return http.StatusInternalServerError
}

var problemTypes = map[int]string{
	http.StatusBadRequest:            "bad-request",
	http.StatusUnauthorized:          "unauthenticated",
	http.StatusForbidden:             "forbidden",
	http.StatusNotFound:              "not-found",
	http.StatusMethodNotAllowed:      "method-not-allowed",
	http.StatusConflict:              "conflict",
	http.StatusRequestEntityTooLarge: "too-large",
	http.StatusUnsupportedMediaType:  "unsupported-media-type",
	http.StatusUnprocessableEntity:   "invalid",
	http.StatusServiceUnavailable:    "unavailable",
	http.StatusNotImplemented:        "not-implemented",
	http.StatusInternalServerError:   "internal",
}

// problemFor turns any error into a problem. Messages of domain errors are
// written for the client; anything else is logged and hidden.
func problemFor(err error) *Problem {
	status := statusOf(err)
	p := &Problem{Status: status, Title: http.StatusText(status)}
	if t, ok := problemTypes[status]; ok {
		p.Type = ProblemBase + t
	} else {
		p.Type = "about:blank"
	}
	var he *echo.HTTPError
	var ve *trace.ValidationError
	var fe *trace.FieldError
	var vf *trace.VerifyError
	var de *store.DamagedError
	switch {
	case errors.As(err, &he):
		if msg, ok := he.Message.(string); ok {
			p.Detail = msg
		}
		if errors.Is(err, echo.ErrStatusRequestEntityTooLarge) {
			p.Detail = "the request body is larger than this endpoint accepts"
		}
	case errors.As(err, &de):
		// Our fault, but one the client must be told of: writes to
		// this batch fail until the data file is repaired, and the
		// detail names the batch, never a key or a path.
		p.Type = ProblemBase + "damaged"
		p.Title = "Stored data is damaged"
		p.Detail = de.Error()
	case status == http.StatusInternalServerError:
		p.Detail = "something went wrong on our side; the request ID identifies it in our logs"
	case errors.Is(err, store.ErrUnavailable):
		// Nothing was recorded; the client sends the same request again.
		p.Detail = "the service cannot reach its database for now; nothing was recorded: send the request again in a few seconds"
	default:
		p.Detail = err.Error()
	}
	var od *trace.OverdrawError
	var phi *trace.PHIError
	var ste *StepTimeError
	if errors.As(err, &phi) {
		// The warning the clerk reads at the form, in Vietnamese: which
		// spraying, which product, how long remains; and each spraying.
		p.Title = "The pre-harvest interval has not passed"
		p.Detail = phi.Error()
		p.Errors = []FieldProblem{{Field: phi.Field(), Detail: phi.Error()}}
		for _, c := range phi.Conflicts {
			p.PreHarvestIntervals = append(p.PreHarvestIntervals, PHIConflict{Spraying: c.Spraying.String(), Product: c.Product,
				ActiveIngredient: c.ActiveIngredient, PHIDays: c.PHIDays, SprayedAt: c.SprayedAt.Format(time.RFC3339),
				SafeFrom: c.SafeFrom.Format(time.RFC3339), HoursRemaining: int(math.Ceil(c.Remaining().Hours()))})
		}
	} else if errors.As(err, &ste) {
		p.Title = "The time the step was done is out of bounds"
		p.Detail = ste.Error()
		p.Errors = []FieldProblem{{Field: ste.Field, Detail: ste.Error()}}
	} else if errors.As(err, &od) {
		// The clerk's own words: the lot, what it held, what was taken
		// and what was asked, in Vietnamese as the workspace shows it.
		p.Title = "The lot does not have that much left"
		p.Detail = od.Error()
		p.Errors = []FieldProblem{{Field: od.Field, Detail: od.Error()}}
	} else if errors.As(err, &ve) {
		p.Title = "The request has invalid fields"
		for _, f := range ve.Fields {
			p.Errors = append(p.Errors, FieldProblem{Field: f.Field, Detail: f.Reason})
		}
	} else if errors.As(err, &fe) {
		p.Title = "The request has invalid fields"
		p.Errors = []FieldProblem{{Field: fe.Field, Detail: fe.Reason}}
	}
	var ro *store.ReadOnlyError
	if errors.As(err, &ro) {
		p.Type = ProblemBase + "read-only"
		p.Title = "The service accepts no changes for now"
		p.Detail = readOnlyDetail(ro)
	}
	if errors.As(err, &vf) {
		p.Type = ProblemBase + "verification-failed"
		p.Title = "The history failed verification"
		p.Verification = &VerifyFailure{EventIndex: vf.Index, EventHash: vf.Hash, Reason: string(vf.Reason), Detail: vf.Detail, Record: vf.Record, Field: vf.Field}
	}
	return p
}

// readOnlyDetail explains a read-only store to a client, who passes it on
// to the service's operator.
func readOnlyDetail(ro *store.ReadOnlyError) string {
	return "The service answers reads but records nothing until its operator acts: " + ro.Reason + ". " + ro.Remedy + "."
}

// handleError is echo's error handler: every error leaves as problem+json.
func (s *Server) handleError(err error, c echo.Context) {
	if c.Response().Committed {
		s.log.Error("request failed after its response started", "error", err, "request_id", RequestID(c), "path", c.Request().URL.Path)
		return
	}
	if errors.Is(err, context.DeadlineExceeded) {
		err = echo.NewHTTPError(http.StatusServiceUnavailable, "the request took too long; try again")
	}
	p := problemFor(err)
	p.Instance = c.Request().URL.Path
	if errors.Is(err, store.ErrUnavailable) {
		c.Response().Header().Set("Retry-After", "2")
	}
	p.RequestID = RequestID(c)
	if p.Status >= 500 && !errors.Is(err, store.ErrReadOnly) {
		// A read-only service said why when it started; each refusal
		// need not say it again.
		s.log.Error("request failed", "error", err, "request_id", p.RequestID, "path", p.Instance)
	}
	for _, page := range s.errorPages {
		if page(c, p) {
			return
		}
	}
	if wantsPage(c) {
		if perr := s.renderErrorPage(c, p); perr != nil {
			s.log.Error("error page failed", "error", perr, "request_id", p.RequestID)
			c.NoContent(p.Status)
		}
		return
	}
	if c.Request().Method == http.MethodHead {
		c.NoContent(p.Status)
		return
	}
	b, merr := json.Marshal(p)
	if merr != nil {
		c.NoContent(http.StatusInternalServerError)
		return
	}
	c.Blob(p.Status, "application/problem+json", b)
}

// errBadRequest marks a request that cannot be read at all (bad JSON, a
// malformed Digital Link).
var errBadRequest = errors.New("bad request")

// BadRequest marks err as making the request unreadable, keeping its message.
func BadRequest(err error) error { return badRequestError{err} }

type badRequestError struct{ err error }

func (e badRequestError) Error() string   { return e.err.Error() }
func (e badRequestError) Unwrap() []error { return []error{e.err, errBadRequest} }
