package trace

import (
	"encoding/hex"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"
)

// EventType is an EPCIS 2.0 event type.
type EventType string

// The EPCIS 2.0 event types truyxuat records.
const (
	ObjectEvent         EventType = "ObjectEvent"
	AggregationEvent    EventType = "AggregationEvent"
	TransformationEvent EventType = "TransformationEvent"
)

// Hash is a SHA-256 digest: of an event's canonical bytes, or of an attachment.
type Hash [32]byte

// String returns the hash in lowercase hex.
func (h Hash) String() string { return hex.EncodeToString(h[:]) }

// IsZero reports whether h is all zeros (no hash).
func (h Hash) IsZero() bool { return h == Hash{} }

// ParseHash reads a 64-digit lowercase hex hash.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != 64 || strings.ToLower(s) != s {
		return h, fmt.Errorf("%q is not a SHA-256 hash: want 64 lowercase hex digits", truncate(s, 80))
	}
	if _, err := hex.Decode(h[:], []byte(s)); err != nil {
		return h, fmt.Errorf("%q is not a SHA-256 hash: want 64 lowercase hex digits", truncate(s, 80))
	}
	return h, nil
}

// Event is one signed fact about a batch, modelled on an EPCIS 2.0 event so
// that export is lossless. Its canonical bytes (see Encode) are what is
// hashed and signed; JSON field names of the API are a separate concern.
type Event struct {
	Type        EventType // ObjectEvent, AggregationEvent or TransformationEvent
	Cooperative string    // id of the cooperative whose key signs the event
	Batch       string    // id of the batch whose chain the event extends
	Seq         uint64    // position in the batch's chain, from 0
	Prev        Hash      // hash of event Seq-1 of the batch; zero when Seq is 0

	// Inputs are the heads of the input batches of a TransformationEvent
	// (split, merge, drying, milling): the history is a DAG.
	Inputs []Input
	// Outputs are the lots a TransformationEvent produced.
	Outputs []Output
	// Loss is the quantity lost in a transformation (drying, sorting).
	Loss *Quantity
	// ParentID is the container (an SSCC Digital Link) of an AggregationEvent.
	ParentID string

	Action              string // ADD, OBSERVE or DELETE; empty for TransformationEvent
	BizStep             string // CBV 2.0 business step or a full URI
	Disposition         string // CBV 2.0 disposition or a full URI; optional
	EventTime           string // RFC 3339 with a numeric offset, e.g. 2025-08-15T06:30:00+07:00
	EventTimeZoneOffset string // e.g. +07:00; must match EventTime's offset
	ReadPoint           string // URI of where the event was observed; optional
	BizLocation         string // URI of where the goods are afterwards; optional
	Quantity            *Quantity
	ILMD                *ILMD
	Certifications      []Certification
	Note                string
	Attachments         []Attachment
	// Data holds step-specific fields (for spraying: product, active
	// ingredient, dose, pre-harvest interval in days), as strings.
	Data map[string]string
}

// Input is the head of an input batch of a TransformationEvent.
type Input struct {
	Batch    string
	Hash     Hash      // the input batch's head event when the transformation was recorded
	Quantity *Quantity // how much of it went in; optional
}

// Output is a lot produced by a TransformationEvent.
type Output struct {
	Batch    string
	Quantity *Quantity
}

// ILMD is instance/lot master data: facts fixed when the lot was made.
type ILMD struct {
	HarvestDate     string // YYYY-MM-DD
	ExpiryDate      string // YYYY-MM-DD
	CountryOfOrigin string // ISO 3166-1 alpha-2, e.g. VN
}

// Certification is a certificate the goods hold: VietGAP, GlobalG.A.P., organic, OCOP.
type Certification struct {
	Scheme string // a key of CertificationSchemes or a full URI
	ID     string // the certificate's number, e.g. VG-0123
}

// Attachment refers to a stored file (a photo, a certificate scan) by its SHA-256.
type Attachment struct {
	SHA256    Hash
	MediaType string // image/jpeg, image/png, image/webp or application/pdf
	Name      string
}

// MediaTypes are the attachment types truyxuat accepts.
var MediaTypes = []string{"image/jpeg", "image/png", "image/webp", "application/pdf"}

var dataKeyRE = regexp.MustCompile(`^[a-zA-Z][a-zA-Z0-9_]{0,39}$`)

// eventTimeLayout is RFC 3339 with an always-numeric offset and only the
// fractional digits needed.
const eventTimeLayout = "2006-01-02T15:04:05.999999999-07:00"

// FormatEventTime returns t as an event time and its zone offset, in t's
// own location (use time.FixedZone("ICT", 7*3600) for Vietnam).
func FormatEventTime(t time.Time) (eventTime, offset string) {
	return t.Format(eventTimeLayout), t.Format("-07:00")
}

// ParseEventTime reads an event time and checks that it is written in
// canonical form and carries the given offset.
func ParseEventTime(eventTime, offset string) (time.Time, error) {
	t, err := time.Parse(time.RFC3339Nano, eventTime)
	if err != nil {
		return time.Time{}, &FieldError{Field: "eventTime", Reason: fmt.Sprintf("%q is not an RFC 3339 time such as 2025-08-15T06:30:00+07:00", truncate(eventTime, 60))}
	}
	if got := t.Format(eventTimeLayout); got != eventTime {
		return time.Time{}, &FieldError{Field: "eventTime", Reason: fmt.Sprintf("write the time as %s (numeric offset, no trailing zeros)", got)}
	}
	if o := t.Format("-07:00"); o != offset {
		return time.Time{}, &FieldError{Field: "eventTimeZoneOffset", Reason: fmt.Sprintf("%q does not match the offset %s of eventTime", truncate(offset, 20), o)}
	}
	if t.Year() < 1990 || t.Year() > 2200 {
		return time.Time{}, &FieldError{Field: "eventTime", Reason: fmt.Sprintf("year %d is out of range", t.Year())}
	}
	return t, nil
}

// Time zone offsets in use on Earth run from -12:00 (Baker Island) to
// +14:00 (Line Islands), in whole, half or three-quarter hours (+05:30
// India, +05:45 Nepal, -09:30 Marquesas).
const (
	minZoneOffset = -12 * 3600
	maxZoneOffset = 14 * 3600
)

// ParseZoneOffset reads a time zone offset written ±hh:mm, as EPCIS's
// eventTimeZoneOffset is, and checks that it is one in use: between
// -12:00 and +14:00, with minutes 00, 30 or 45. Zero is +00:00.
func ParseZoneOffset(s string) (*time.Location, error) {
	bad := fmt.Errorf("%s is not a time zone offset written ±hh:mm, such as +07:00", quote(s))
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' {
		return nil, bad
	}
	h, err1 := strconv.Atoi(s[1:3])
	m, err2 := strconv.Atoi(s[4:6])
	if err1 != nil || err2 != nil || s[1] < '0' || s[4] < '0' || m > 59 {
		return nil, bad
	}
	sec := h*3600 + m*60
	if s[0] == '-' {
		sec = -sec
	}
	switch {
	case s == "-00:00":
		return nil, fmt.Errorf("write an offset of zero as +00:00, not -00:00")
	case sec < minZoneOffset || sec > maxZoneOffset:
		return nil, fmt.Errorf("%s is outside the offsets in use, -12:00 to +14:00", quote(s))
	case m != 0 && m != 30 && m != 45:
		return nil, fmt.Errorf("%s is not an offset in use: its minutes are 00, 30 or 45", quote(s))
	}
	return time.FixedZone("", sec), nil
}

// Time returns the event time. It is valid only for a validated event.
func (e *Event) Time() time.Time {
	t, _ := time.Parse(time.RFC3339Nano, e.EventTime)
	return t
}

// Validate checks every field of the event against EPCIS 2.0, CBV 2.0 and
// truyxuat's limits, and returns all problems at once. It is the check for
// an event about to be recorded.
func (e *Event) Validate() error { return e.validate(true) }

// validate checks the event. With fresh false (Decode reading signed
// bytes) it leaves out the rules for new input that were added after
// events were first signed — bidirectional controls in text and URIs,
// zone offsets outside those in use, quantities above UnitMax — so that
// a history signed and accepted before stays verifiable.
func (e *Event) validate(fresh bool) error {
	var v ValidationError
	text := func(field, s string, max int, required bool) error {
		return checkText(field, s, max, required, fresh)
	}
	if !inList(string(e.Type), []string{string(ObjectEvent), string(AggregationEvent), string(TransformationEvent)}) {
		v.addf("type", "unknown event type %s; use ObjectEvent, AggregationEvent or TransformationEvent", quote(string(e.Type)))
	}
	v.add("", validateID("cooperative", e.Cooperative))
	v.add("", validateID("batch", e.Batch))
	switch {
	case e.Seq == 0 && !e.Prev.IsZero():
		v.addf("prev", "the first event of a batch has no previous event")
	case e.Seq > 0 && e.Prev.IsZero():
		v.addf("prev", "event %d of a batch must carry the hash of event %d", e.Seq, e.Seq-1)
	}
	if e.Type == TransformationEvent {
		if e.Action != "" {
			v.addf("action", "a TransformationEvent has no action")
		}
		if len(e.Inputs) == 0 {
			v.addf("inputs", "a TransformationEvent needs at least one input batch")
		}
	} else {
		if !inList(e.Action, Actions) {
			v.addf("action", "must be ADD, OBSERVE or DELETE, got %s", quote(e.Action))
		}
		if len(e.Inputs) > 0 || len(e.Outputs) > 0 || e.Loss != nil {
			v.addf("inputs", "only a TransformationEvent has inputs, outputs or loss")
		}
	}
	if len(e.Inputs) > MaxListLen {
		v.addf("inputs", "at most %d inputs", MaxListLen)
	}
	for i, in := range e.Inputs {
		f := fmt.Sprintf("inputs[%d]", i)
		v.add(f, validateID("batch", in.Batch))
		if in.Hash.IsZero() {
			v.addf(f+".hash", "the head hash of the input batch is required")
		}
		if in.Quantity != nil {
			v.add(f+".quantity", in.Quantity.validate(false, fresh))
		}
	}
	if len(e.Outputs) > MaxListLen {
		v.addf("outputs", "at most %d outputs", MaxListLen)
	}
	for i, out := range e.Outputs {
		f := fmt.Sprintf("outputs[%d]", i)
		v.add(f, validateID("batch", out.Batch))
		if out.Quantity != nil {
			v.add(f+".quantity", out.Quantity.validate(false, fresh))
		}
	}
	if e.Loss != nil {
		v.add("loss", e.Loss.validate(true, fresh))
	}
	if e.ParentID != "" {
		if e.Type != AggregationEvent {
			v.addf("parentID", "only an AggregationEvent has a parent")
		} else if !isAbsoluteURI(e.ParentID) {
			v.addf("parentID", "must be a URI, such as a Digital Link of an SSCC")
		}
	}
	v.add("", validVocab("bizStep", e.BizStep, BizSteps))
	if e.Disposition != "" {
		v.add("", validVocab("disposition", e.Disposition, Dispositions))
	}
	if _, err := ParseEventTime(e.EventTime, e.EventTimeZoneOffset); err != nil {
		v.add("", err)
	} else if _, err := ParseZoneOffset(e.EventTimeZoneOffset); err != nil && fresh {
		v.addf("eventTimeZoneOffset", "%v", err)
	}
	for _, f := range []struct{ name, val string }{{"readPoint", e.ReadPoint}, {"bizLocation", e.BizLocation}} {
		if f.val != "" && !isAbsoluteURI(f.val) {
			v.addf(f.name, "must be a URI (for example https://trace.example.vn/414/8931234000011), got %s", quote(f.val))
		}
	}
	if e.Quantity != nil {
		v.add("quantity", e.Quantity.validate(false, fresh))
	}
	if e.ILMD != nil {
		if e.ILMD.HarvestDate != "" {
			v.add("ilmd", validateDate("harvestDate", e.ILMD.HarvestDate))
		}
		if e.ILMD.ExpiryDate != "" {
			v.add("ilmd", validateDate("expiryDate", e.ILMD.ExpiryDate))
		}
		if c := e.ILMD.CountryOfOrigin; c != "" && (len(c) != 2 || strings.ToUpper(c) != c || c[0] < 'A' || c[1] < 'A' || c[0] > 'Z' || c[1] > 'Z') {
			v.addf("ilmd.countryOfOrigin", "use an ISO 3166-1 alpha-2 code such as VN, got %s", quote(c))
		}
		if *e.ILMD == (ILMD{}) {
			v.addf("ilmd", "is empty; leave it out instead")
		}
	}
	if len(e.Certifications) > MaxListLen {
		v.addf("certifications", "at most %d certifications", MaxListLen)
	}
	for i, c := range e.Certifications {
		f := fmt.Sprintf("certifications[%d]", i)
		if _, ok := CertificationSchemes[c.Scheme]; !ok && !isAbsoluteURI(c.Scheme) {
			known := make([]string, 0, len(CertificationSchemes))
			for k := range CertificationSchemes {
				known = append(known, k)
			}
			sort.Strings(known)
			v.addf(f+".scheme", "unknown scheme %s; use one of %s or a full URI", quote(c.Scheme), strings.Join(known, ", "))
		}
		v.add(f, text("id", c.ID, 100, true))
	}
	v.add("", text("note", e.Note, MaxNoteLen, false))
	if len(e.Attachments) > MaxListLen {
		v.addf("attachments", "at most %d attachments", MaxListLen)
	}
	for i, a := range e.Attachments {
		f := fmt.Sprintf("attachments[%d]", i)
		if a.SHA256.IsZero() {
			v.addf(f+".sha256", "is required")
		}
		if !inList(a.MediaType, MediaTypes) {
			v.addf(f+".mediaType", "must be one of %s, got %s", strings.Join(MediaTypes, ", "), quote(a.MediaType))
		}
		v.add(f, text("name", a.Name, MaxNameLen, false))
	}
	if fresh {
		// URIs are shown too (a custom step, a place).
		uris := []struct{ name, val string }{{"bizStep", e.BizStep}, {"disposition", e.Disposition}, {"readPoint", e.ReadPoint},
			{"bizLocation", e.BizLocation}, {"parentID", e.ParentID}}
		for i, c := range e.Certifications {
			uris = append(uris, struct{ name, val string }{fmt.Sprintf("certifications[%d].scheme", i), c.Scheme})
		}
		for _, u := range uris {
			v.add("", refuseBidiControls(u.name, u.val))
		}
	}
	if len(e.Data) > MaxDataKeys {
		v.addf("data", "at most %d fields", MaxDataKeys)
	}
	for k, val := range e.Data {
		if !dataKeyRE.MatchString(k) {
			v.addf("data", "field name %s must start with a letter and use only letters, digits and _ (at most 40)", quote(k))
			continue
		}
		v.add("data", text(k, val, MaxNameLen, true))
	}
	return v.err()
}

// validateCertifications checks a list of certificates: known schemes (or
// full URIs) and their numbers.
func validateCertifications(certs []Certification) error {
	var v ValidationError
	if len(certs) > MaxListLen {
		v.addf("certifications", "at most %d certifications", MaxListLen)
	}
	for i, c := range certs {
		f := fmt.Sprintf("certifications[%d]", i)
		if _, ok := CertificationSchemes[c.Scheme]; !ok && !isAbsoluteURI(c.Scheme) {
			known := make([]string, 0, len(CertificationSchemes))
			for k := range CertificationSchemes {
				known = append(known, k)
			}
			sort.Strings(known)
			v.addf(f+".scheme", "unknown scheme %s; use one of %s or a full URI", quote(c.Scheme), strings.Join(known, ", "))
		}
		v.add(f, ValidateText("id", c.ID, 100, true))
	}
	return v.err()
}
