package trace

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"unicode/utf8"
)

// CanonicalVersion is the version of the canonical event encoding that
// Encode writes. It is the "v" member of every encoded event.
const CanonicalVersion = 1

// MaxEventSize bounds the canonical bytes of one event.
const MaxEventSize = 64 << 10

// Encode returns the canonical bytes of a valid event (format in the package
// documentation). The same event gives the same bytes on every machine.
func (e *Event) Encode() ([]byte, error) {
	if err := e.Validate(); err != nil {
		return nil, err
	}
	b := e.appendCanonical(make([]byte, 0, 512))
	if len(b) > MaxEventSize {
		return nil, &FieldError{Field: "event", Reason: fmt.Sprintf("encoded event is %d bytes; at most %d", len(b), MaxEventSize)}
	}
	return b, nil
}

// HashEvent returns SHA-256 of canonical event bytes.
func HashEvent(canonical []byte) Hash { return sha256.Sum256(canonical) }

// canonical JSON writer: members are written in the byte order of their
// names, which each append function below keeps by hand.
type cw struct {
	b     []byte
	first bool
}

func (w *cw) key(k string) {
	if !w.first {
		w.b = append(w.b, ',')
	}
	w.first = false
	w.b = appendString(w.b, k)
	w.b = append(w.b, ':')
}

func (w *cw) str(k, v string) {
	if v == "" {
		return
	}
	w.key(k)
	w.b = appendString(w.b, v)
}

func (w *cw) open() { w.b = append(w.b, '{'); w.first = true }

func (w *cw) close() { w.b = append(w.b, '}'); w.first = false }

func (w *cw) quantity(k string, q *Quantity) {
	if q == nil {
		return
	}
	w.key(k)
	w.open()
	w.str("unit", q.Unit)
	w.str("value", string(q.Value))
	w.close()
}

func (e *Event) appendCanonical(b []byte) []byte {
	w := &cw{b: b}
	w.open()
	w.str("action", e.Action)
	if len(e.Attachments) > 0 {
		w.key("attachments")
		w.b = append(w.b, '[')
		for i, a := range e.Attachments {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.open()
			w.str("mediaType", a.MediaType)
			w.str("name", a.Name)
			w.str("sha256", a.SHA256.String())
			w.close()
		}
		w.b = append(w.b, ']')
	}
	w.str("batch", e.Batch)
	w.str("bizLocation", e.BizLocation)
	w.str("bizStep", e.BizStep)
	if len(e.Certifications) > 0 {
		w.key("certifications")
		w.b = append(w.b, '[')
		for i, c := range e.Certifications {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.open()
			w.str("id", c.ID)
			w.str("scheme", c.Scheme)
			w.close()
		}
		w.b = append(w.b, ']')
	}
	w.str("cooperative", e.Cooperative)
	if len(e.Data) > 0 {
		keys := make([]string, 0, len(e.Data))
		for k := range e.Data {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.key("data")
		w.open()
		for _, k := range keys {
			w.str(k, e.Data[k])
		}
		w.close()
	}
	w.str("disposition", e.Disposition)
	w.str("eventTime", e.EventTime)
	w.str("eventTimeZoneOffset", e.EventTimeZoneOffset)
	if e.ILMD != nil {
		w.key("ilmd")
		w.open()
		w.str("countryOfOrigin", e.ILMD.CountryOfOrigin)
		w.str("expiryDate", e.ILMD.ExpiryDate)
		w.str("harvestDate", e.ILMD.HarvestDate)
		w.close()
	}
	if len(e.Inputs) > 0 {
		w.key("inputs")
		w.b = append(w.b, '[')
		for i, in := range e.Inputs {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.open()
			w.str("batch", in.Batch)
			w.str("hash", in.Hash.String())
			w.quantity("quantity", in.Quantity)
			w.close()
		}
		w.b = append(w.b, ']')
	}
	w.quantity("loss", e.Loss)
	w.str("note", e.Note)
	if len(e.Outputs) > 0 {
		w.key("outputs")
		w.b = append(w.b, '[')
		for i, out := range e.Outputs {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.open()
			w.str("batch", out.Batch)
			w.quantity("quantity", out.Quantity)
			w.close()
		}
		w.b = append(w.b, ']')
	}
	w.str("parentID", e.ParentID)
	if e.Seq > 0 {
		w.str("prev", e.Prev.String())
	}
	w.quantity("quantity", e.Quantity)
	w.str("readPoint", e.ReadPoint)
	w.key("seq")
	w.b = strconv.AppendUint(w.b, e.Seq, 10)
	w.str("type", string(e.Type))
	w.key("v")
	w.b = strconv.AppendInt(w.b, CanonicalVersion, 10)
	w.close()
	return w.b
}

// appendString writes s as a JSON string: '"' and '\\' escaped with a
// backslash, control characters as \b \t \n \f \r or \u00xx (lowercase
// hex), every other character as its UTF-8 bytes. s must be valid UTF-8.
func appendString(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '"' || c == '\\':
			b = append(b, '\\', c)
		case c == '\b':
			b = append(b, '\\', 'b')
		case c == '\t':
			b = append(b, '\\', 't')
		case c == '\n':
			b = append(b, '\\', 'n')
		case c == '\f':
			b = append(b, '\\', 'f')
		case c == '\r':
			b = append(b, '\\', 'r')
		case c < 0x20:
			b = append(b, '\\', 'u', '0', '0', hexDigits[c>>4], hexDigits[c&0xf])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// The decoding mirror of the canonical form.
type wireQuantity struct {
	Unit  string `json:"unit"`
	Value string `json:"value"`
}

type wireEvent struct {
	Action      string `json:"action"`
	Attachments []struct {
		MediaType string `json:"mediaType"`
		Name      string `json:"name"`
		SHA256    string `json:"sha256"`
	} `json:"attachments"`
	Batch          string `json:"batch"`
	BizLocation    string `json:"bizLocation"`
	BizStep        string `json:"bizStep"`
	Certifications []struct {
		ID     string `json:"id"`
		Scheme string `json:"scheme"`
	} `json:"certifications"`
	Cooperative         string            `json:"cooperative"`
	Data                map[string]string `json:"data"`
	Disposition         string            `json:"disposition"`
	EventTime           string            `json:"eventTime"`
	EventTimeZoneOffset string            `json:"eventTimeZoneOffset"`
	ILMD                *struct {
		CountryOfOrigin string `json:"countryOfOrigin"`
		ExpiryDate      string `json:"expiryDate"`
		HarvestDate     string `json:"harvestDate"`
	} `json:"ilmd"`
	Inputs []struct {
		Batch    string        `json:"batch"`
		Hash     string        `json:"hash"`
		Quantity *wireQuantity `json:"quantity"`
	} `json:"inputs"`
	Loss    *wireQuantity `json:"loss"`
	Note    string        `json:"note"`
	Outputs []struct {
		Batch    string        `json:"batch"`
		Quantity *wireQuantity `json:"quantity"`
	} `json:"outputs"`
	ParentID  string        `json:"parentID"`
	Prev      string        `json:"prev"`
	Quantity  *wireQuantity `json:"quantity"`
	ReadPoint string        `json:"readPoint"`
	Seq       *uint64       `json:"seq"`
	Type      string        `json:"type"`
	V         *int          `json:"v"`
}

func (q *wireQuantity) domain() *Quantity {
	if q == nil {
		return nil
	}
	return &Quantity{Unit: q.Unit, Value: Decimal(q.Value)}
}

// Decode parses canonical event bytes. It accepts only bytes that Encode
// would write for the decoded event: any other spelling of the same event
// (spaces, key order, escapes, duplicate keys) is rejected, so the hash of
// accepted bytes is the hash of the event.
//
// Decode checks the event's form, not every rule for new input: an event
// that Validate accepted when it was signed is read even if a later rule
// (bidirectional controls, quantity bounds, zone offset bounds) would
// refuse it now. Callers that record a decoded event call Validate.
func Decode(canonical []byte) (*Event, error) {
	if len(canonical) > MaxEventSize {
		return nil, fmt.Errorf("decode event: %d bytes, at most %d", len(canonical), MaxEventSize)
	}
	if !utf8.Valid(canonical) {
		return nil, fmt.Errorf("decode event: not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(canonical))
	dec.DisallowUnknownFields()
	var w wireEvent
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode event: trailing data")
	}
	if w.V == nil || *w.V != CanonicalVersion {
		return nil, fmt.Errorf("decode event: unsupported canonical version (want v=%d)", CanonicalVersion)
	}
	if w.Seq == nil {
		return nil, fmt.Errorf("decode event: seq is missing")
	}
	e := &Event{
		Type:                EventType(w.Type),
		Cooperative:         w.Cooperative,
		Batch:               w.Batch,
		Seq:                 *w.Seq,
		Loss:                w.Loss.domain(),
		ParentID:            w.ParentID,
		Action:              w.Action,
		BizStep:             w.BizStep,
		Disposition:         w.Disposition,
		EventTime:           w.EventTime,
		EventTimeZoneOffset: w.EventTimeZoneOffset,
		ReadPoint:           w.ReadPoint,
		BizLocation:         w.BizLocation,
		Quantity:            w.Quantity.domain(),
		Note:                w.Note,
		Data:                w.Data,
	}
	var err error
	if w.Prev != "" {
		if e.Prev, err = ParseHash(w.Prev); err != nil {
			return nil, fmt.Errorf("decode event: prev: %w", err)
		}
	}
	for i, in := range w.Inputs {
		h, err := ParseHash(in.Hash)
		if err != nil {
			return nil, fmt.Errorf("decode event: inputs[%d].hash: %w", i, err)
		}
		e.Inputs = append(e.Inputs, Input{Batch: in.Batch, Hash: h, Quantity: in.Quantity.domain()})
	}
	for _, out := range w.Outputs {
		e.Outputs = append(e.Outputs, Output{Batch: out.Batch, Quantity: out.Quantity.domain()})
	}
	if w.ILMD != nil {
		e.ILMD = &ILMD{HarvestDate: w.ILMD.HarvestDate, ExpiryDate: w.ILMD.ExpiryDate, CountryOfOrigin: w.ILMD.CountryOfOrigin}
	}
	for _, c := range w.Certifications {
		e.Certifications = append(e.Certifications, Certification{Scheme: c.Scheme, ID: c.ID})
	}
	for i, a := range w.Attachments {
		h, err := ParseHash(a.SHA256)
		if err != nil {
			return nil, fmt.Errorf("decode event: attachments[%d].sha256: %w", i, err)
		}
		e.Attachments = append(e.Attachments, Attachment{SHA256: h, MediaType: a.MediaType, Name: a.Name})
	}
	if err := e.validate(false); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	if again := e.appendCanonical(nil); !bytes.Equal(again, canonical) {
		return nil, fmt.Errorf("decode event: bytes are not in canonical form")
	}
	return e, nil
}
