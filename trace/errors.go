package trace

import (
	"errors"
	"fmt"
	"strings"
)

// Sentinel errors of the domain. Callers test them with errors.Is; the API
// maps them to HTTP statuses in one place.
var (
	// ErrInvalid marks input that breaks a rule of the domain. A
	// *FieldError or *ValidationError wraps it with the details.
	ErrInvalid = errors.New("invalid input")
	// ErrNotFound is returned when a cooperative, product, batch or event
	// does not exist.
	ErrNotFound = errors.New("not found")
	// ErrConflict is returned when a write would break an invariant of
	// the stored data (a duplicate id, an append on a stale head).
	ErrConflict = errors.New("conflict")
	// ErrForbidden is returned when the caller may not do what it asked.
	ErrForbidden = errors.New("forbidden")
	// ErrUnauthenticated is returned when the caller could not be identified.
	ErrUnauthenticated = errors.New("unauthenticated")
	// ErrUnsupported marks valid input that names something truyxuat
	// does not keep, such as a GS1 Digital Link whose primary key is not a
	// GTIN, GLN or SSCC. A resolver answers it as not found.
	ErrUnsupported = errors.New("not kept by truyxuat")
	// ErrVerification marks a history that fails verification. A
	// *VerifyError wraps it and says which event failed and why.
	ErrVerification = errors.New("verification failed")
)

// FieldError is a validation failure of one input field.
type FieldError struct {
	Field  string // JSON name of the field, e.g. "lot" or "events[2].bizStep"
	Reason string // what is wrong and, where it helps, what to do instead
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Reason }

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *FieldError) Unwrap() error { return ErrInvalid }

// ValidationError collects every field error of one input, so a clerk sees
// all mistakes at once rather than one per request.
type ValidationError struct {
	Fields []*FieldError
}

func (e *ValidationError) Error() string {
	switch len(e.Fields) {
	case 0:
		return "invalid input"
	case 1:
		return e.Fields[0].Error()
	}
	return fmt.Sprintf("%s (and %d more)", e.Fields[0].Error(), len(e.Fields)-1)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *ValidationError) Unwrap() error { return ErrInvalid }

// add records a field error; nested validation errors are flattened with
// prefix prepended to their field names.
func (e *ValidationError) add(prefix string, err error) {
	if err == nil {
		return
	}
	var ve *ValidationError
	var fe *FieldError
	switch {
	case errors.As(err, &ve):
		for _, f := range ve.Fields {
			e.Fields = append(e.Fields, &FieldError{Field: joinField(prefix, f.Field), Reason: f.Reason})
		}
	case errors.As(err, &fe):
		e.Fields = append(e.Fields, &FieldError{Field: joinField(prefix, fe.Field), Reason: fe.Reason})
	default:
		e.Fields = append(e.Fields, &FieldError{Field: prefix, Reason: err.Error()})
	}
}

func (e *ValidationError) addf(field, format string, args ...any) {
	e.Fields = append(e.Fields, &FieldError{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// err returns nil when nothing was recorded.
func (e *ValidationError) err() error {
	if len(e.Fields) == 0 {
		return nil
	}
	return e
}

func joinField(prefix, field string) string {
	switch {
	case prefix == "":
		return field
	case field == "":
		return prefix
	case field[0] == '[':
		return prefix + field
	}
	return prefix + "." + field
}

// VerifyReason says why an event failed verification.
type VerifyReason string

// The reasons a history can fail verification.
const (
	ReasonBadSignature VerifyReason = "bad signature"
	ReasonBrokenLink   VerifyReason = "broken link"
	ReasonWrongOrder   VerifyReason = "wrong order"
	ReasonUnknownKey   VerifyReason = "unknown key"
	ReasonBadHash      VerifyReason = "hash mismatch"
	ReasonMalformed    VerifyReason = "malformed event"
	// ReasonMismatch: a readable field (the product's name, the lot's
	// quantity) says something other than the signed record it comes from.
	ReasonMismatch VerifyReason = "differs from what was signed"
)

// VerifyError names the event (or registry record, or readable field)
// that failed verification and why.
type VerifyError struct {
	Index  int          // position of the event in the history (0-based), or of a record's revision
	Hash   string       // hex event or record hash as claimed, if known
	Reason VerifyReason // the kind of failure
	Detail string       // a human-readable explanation
	// Record names the registry record that failed ("product gao-st25"),
	// when it is not an event of the history.
	Record string
	// Field names a readable field that says something other than what
	// was signed ("product.name_vi", "batch.quantity"); Index and Hash
	// then name the signed event or record it was checked against.
	Field string
}

func (e *VerifyError) Error() string {
	s := fmt.Sprintf("event %d", e.Index)
	if e.Record != "" {
		s = e.Record
		if e.Index > 0 {
			s += fmt.Sprintf(" revision %d", e.Index)
		}
	}
	if e.Field != "" {
		s = e.Field + " (" + s + ")"
	}
	if e.Hash != "" && e.Field == "" {
		s += " (" + e.Hash + ")"
	}
	s += ": " + string(e.Reason)
	if e.Detail != "" {
		s += ": " + e.Detail
	}
	return s
}

// Unwrap lets errors.Is(err, ErrVerification) match.
func (e *VerifyError) Unwrap() error { return ErrVerification }

// PrefixFields names the part of a larger input that err belongs to: the
// field names of a *ValidationError or *FieldError get prefix and a dot in
// front ("batches[2]" + "lot" → "batches[2].lot"). Other errors are returned
// as they are.
func PrefixFields(prefix string, err error) error {
	return mapFields(err, func(f string) string { return joinField(prefix, f) })
}

// TrimFieldPrefix undoes PrefixFields for one prefix (with its dot).
func TrimFieldPrefix(prefix string, err error) error {
	return mapFields(err, func(f string) string { return strings.TrimPrefix(f, prefix) })
}

// renameField renames one field of a validation error.
func renameField(err error, from, to string) error {
	return mapFields(err, func(f string) string {
		if f == from {
			return to
		}
		return f
	})
}

func mapFields(err error, rename func(string) string) error {
	var ve *ValidationError
	var fe *FieldError
	switch {
	case errors.As(err, &ve):
		out := &ValidationError{}
		for _, f := range ve.Fields {
			out.Fields = append(out.Fields, &FieldError{Field: rename(f.Field), Reason: f.Reason})
		}
		return out
	case errors.As(err, &fe):
		return &FieldError{Field: rename(fe.Field), Reason: fe.Reason}
	}
	return err
}
