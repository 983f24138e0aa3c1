package api

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// decodeJSON reads a JSON request body strictly (see readJSON): unknown
// members and wrong types are refused as well, with a message that says
// where. Members are matched by their exact names.
func decodeJSON(c echo.Context, v any) error {
	body, err := readJSON(c, jsonMediaType)
	if err != nil {
		return err
	}
	if err := json.Unmarshal(body, v, json.RejectUnknownMembers(true)); err != nil {
		return jsonError(err)
	}
	return nil
}

// jsonMediaType is what JSON routes take; EPCIS capture also takes
// application/ld+json.
const jsonMediaType = "application/json"

// readJSON reads a request body that must be one JSON value sent as one
// of the given media types (415 otherwise), in UTF-8, with no lone
// surrogate escapes, no member named twice in any object and nothing
// after the value (400 otherwise). Go's encoding/json would quietly turn
// bad UTF-8 and lone surrogates into U+FFFD and keep the last of two
// members of the same name: what was stored would not be what was sent.
func readJSON(c echo.Context, mediaTypes ...string) ([]byte, error) {
	if err := checkMediaType(c, mediaTypes); err != nil {
		return nil, err
	}
	body, err := io.ReadAll(c.Request().Body)
	if err != nil {
		return nil, err
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return nil, fmt.Errorf("the request body is empty; send a JSON object: %w", errBadRequest)
	}
	if !utf8.Valid(body) {
		at := invalidUTF8At(body)
		return nil, fmt.Errorf("the body is not valid UTF-8 (byte 0x%02X at offset %d); send JSON encoded as UTF-8: %w", body[at], at, errBadRequest)
	}
	dec := jsontext.NewDecoder(bytes.NewReader(body))
	if _, err := dec.ReadValue(); err != nil {
		return nil, jsonError(err)
	}
	end := dec.InputOffset()
	if _, err := dec.ReadToken(); err != io.EOF {
		end += int64(len(body[end:]) - len(bytes.TrimLeft(body[end:], " \t\r\n")))
		return nil, fmt.Errorf("the body has data after its JSON value (at byte %d): %w", end, errBadRequest)
	}
	return body, nil
}

// invalidUTF8At returns the offset of the first byte of b that does not
// start a valid UTF-8 sequence.
func invalidUTF8At(b []byte) int {
	for i := 0; i < len(b); {
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n <= 1 {
			return i
		}
		i += n
	}
	return len(b)
}

// checkMediaType refuses a body whose Content-Type is not one of the
// given types. A charset parameter, if any, must be UTF-8 (RFC 8259 §8.1).
func checkMediaType(c echo.Context, accept []string) error {
	ct := c.Request().Header.Get(echo.HeaderContentType)
	mt, params, err := mime.ParseMediaType(ct)
	if err == nil && slices.Contains(accept, mt) {
		if cs, ok := params["charset"]; !ok || strings.EqualFold(cs, "utf-8") {
			return nil
		}
	}
	c.Response().Header().Set(echo.HeaderAccept, strings.Join(accept, ", "))
	got := "no Content-Type"
	if ct != "" {
		got = "Content-Type " + Clip(ct, 80)
	}
	return echo.NewHTTPError(http.StatusUnsupportedMediaType,
		fmt.Sprintf("the body was sent with %s; send it as %s (with curl: -H 'Content-Type: application/json')", got, strings.Join(accept, " or ")))
}

// jsonError turns an error of the JSON reader into a message that says
// what is wrong and where: the byte offset, and the member's path.
func jsonError(err error) error {
	var syn *jsontext.SyntacticError
	var sem *json.SemanticError
	switch {
	case errors.As(err, &syn):
		switch {
		case syn.Err == jsontext.ErrDuplicateName:
			in := "the body"
			if p := fieldPath(syn.JSONPointer.Parent()); p != "" {
				in = p
			}
			return fmt.Errorf("member %q appears twice in %s (at byte %d); send each member once: %w", Clip(syn.JSONPointer.LastToken(), 60), Clip(in, 120), syn.ByteOffset, errBadRequest)
		case errors.Is(syn.Err, io.ErrUnexpectedEOF):
			return fmt.Errorf("the body is not valid JSON (it ends too soon, at byte %d): %w", syn.ByteOffset, errBadRequest)
		}
		where := fmt.Sprintf("at byte %d", syn.ByteOffset)
		if p := fieldPath(syn.JSONPointer); p != "" {
			where += ", in " + Clip(p, 120)
		}
		return fmt.Errorf("the body is not valid JSON (%s): %v: %w", where, syn.Err, errBadRequest)
	case errors.As(err, &sem):
		field := Clip(fieldPath(sem.JSONPointer), 120)
		if sem.Err == json.ErrUnknownName {
			in := ""
			if p := fieldPath(sem.JSONPointer.Parent()); p != "" {
				in = " in " + p
			}
			return fmt.Errorf("the body has a member %q%s (at byte %d) that this request does not take; see the API description for its fields: %w",
				Clip(sem.JSONPointer.LastToken(), 60), Clip(in, 120), sem.ByteOffset, errBadRequest)
		}
		if sem.GoType == nil {
			break
		}
		want := jsonKind(sem.GoType.Kind().String())
		if field == "" {
			return fmt.Errorf("the body must be a JSON %s, got %s: %w", want, kindName(sem.JSONKind), errBadRequest)
		}
		if sem.Err != nil && reflect.PointerTo(sem.GoType).Implements(jsonUnmarshaler) {
			// The field's own reader (a decimal) says what is wrong.
			return &trace.FieldError{Field: field, Reason: sem.Err.Error()}
		}
		reason := fmt.Sprintf("must be a JSON %s, got %s", want, kindName(sem.JSONKind))
		if sem.Err != nil {
			reason += " that does not fit (" + sem.Err.Error() + ")"
		}
		return &trace.FieldError{Field: field, Reason: reason}
	}
	return fmt.Errorf("the body could not be read: %v: %w", err, errBadRequest)
}

var jsonUnmarshaler = reflect.TypeFor[interface{ UnmarshalJSON([]byte) error }]()

// fieldPath writes a JSON pointer as the API names fields:
// /certifications/0/id is certifications[0].id.
func fieldPath(p jsontext.Pointer) string {
	var b strings.Builder
	for tok := range p.Tokens() {
		switch {
		case tok != "" && strings.Trim(tok, "0123456789") == "":
			b.WriteString("[" + tok + "]")
		case b.Len() > 0:
			b.WriteString("." + tok)
		default:
			b.WriteString(tok)
		}
	}
	return b.String()
}

// kindName names the kind of a JSON value.
func kindName(k jsontext.Kind) string {
	switch k {
	case 'n':
		return "null"
	case 'f', 't':
		return "boolean"
	case '"':
		return "string"
	case '0':
		return "number"
	case '{':
		return "object"
	case '[':
		return "array"
	}
	return "nothing"
}

// Clip shortens s to at most n bytes for a message.
func Clip(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return strings.ToValidUTF8(s[:n], "") + "…"
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "string"
	case "slice", "array":
		return "array"
	case "map", "struct", "ptr":
		return "object"
	case "bool":
		return "boolean"
	}
	return "number"
}

// Cooperative is the public view of a cooperative.
type Cooperative struct {
	ID         string    `json:"id"`
	Name       string    `json:"name"`
	Province   string    `json:"province"`
	GLN        string    `json:"gln,omitempty"`
	PublicKeys []string  `json:"public_keys"` // base64 Ed25519 public keys
	CreatedAt  time.Time `json:"created_at"`
	// Profile is the rest of the cooperative's signed profile
	// (trace.ProfileFields): contact, address codes, representative, …
	Profile map[string]string `json:"profile,omitempty"`
}

func toCooperative(c *trace.Cooperative) Cooperative {
	keys := make([]string, len(c.PublicKeys))
	for i, k := range c.PublicKeys {
		keys[i] = base64.StdEncoding.EncodeToString(k)
	}
	return Cooperative{ID: c.ID, Name: c.Name, Province: c.Province, GLN: c.GLN, PublicKeys: keys, CreatedAt: c.CreatedAt, Profile: c.Profile}
}

// Product is the public view of a product.
type Product struct {
	ID            string    `json:"id"`
	CooperativeID string    `json:"cooperative_id"`
	GTIN          string    `json:"gtin,omitempty"`
	NameVI        string    `json:"name_vi"`
	NameEN        string    `json:"name_en,omitempty"`
	Category      string    `json:"category"`
	OCOPStars     int       `json:"ocop_stars,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	// Content is the rest of the product's signed record
	// (trace.ContentFields): its name in Chinese, description, variety and
	// ingredients per language, photos.
	Content map[string]string `json:"content,omitempty"`
}

func toProduct(p *trace.Product) Product {
	return Product{ID: p.ID, CooperativeID: p.CooperativeID, GTIN: p.GTIN, NameVI: p.NameVI, NameEN: p.NameEN,
		Category: p.Category, OCOPStars: p.OCOPStars, CreatedAt: p.CreatedAt, Content: p.Content}
}

// Quantity is an amount with a UN/ECE unit code.
type Quantity struct {
	Value trace.Decimal `json:"value"`
	Unit  string        `json:"unit"`
}

func (q *Quantity) domain() *trace.Quantity {
	if q == nil {
		return nil
	}
	return &trace.Quantity{Value: q.Value, Unit: q.Unit}
}

func toQuantity(q *trace.Quantity) *Quantity {
	if q == nil {
		return nil
	}
	return &Quantity{Value: q.Value, Unit: q.Unit}
}

// Plot is a farm plot with WGS84 coordinates.
type Plot struct {
	Name string  `json:"name"`
	Lat  float64 `json:"lat"`
	Lon  float64 `json:"lon"`
}

// Batch is the public view of a batch.
type Batch struct {
	ID            string   `json:"id"`
	CooperativeID string   `json:"cooperative_id"`
	ProductID     string   `json:"product_id"`
	GTIN          string   `json:"gtin,omitempty"`
	Lot           string   `json:"lot"`
	Quantity      Quantity `json:"quantity"`
	HarvestDate   string   `json:"harvest_date,omitempty"`
	Plot          *Plot    `json:"plot,omitempty"`
	// Certifications are the certificates the cooperative claims for the lot.
	Certifications []Certification `json:"certifications,omitempty"`
	// Member is the member household of the registry the lot came from.
	Member    string    `json:"member,omitempty"`
	URL       string    `json:"url"`  // the public page of the batch
	Path      string    `json:"path"` // the same, without the host
	Events    uint64    `json:"events"`
	Head      string    `json:"head,omitempty"` // hash of the last event
	Template  string    `json:"template,omitempty"`
	CreatedAt time.Time `json:"created_at"`
}

// ILMD is lot master data of an event.
type ILMD struct {
	HarvestDate     string `json:"harvest_date,omitempty"`
	ExpiryDate      string `json:"expiry_date,omitempty"`
	CountryOfOrigin string `json:"country_of_origin,omitempty"`
}

// Certification is a certificate an event declares.
type Certification struct {
	Scheme string `json:"scheme"`
	ID     string `json:"id"`
}

// Attachment is a stored file an event refers to.
type Attachment struct {
	SHA256    string `json:"sha256"`
	MediaType string `json:"media_type"`
	Name      string `json:"name,omitempty"`
}

// Input is an input batch of a TransformationEvent.
type Input struct {
	Batch    string    `json:"batch"`
	Hash     string    `json:"hash"`
	Quantity *Quantity `json:"quantity,omitempty"`
}

// Output is a lot a TransformationEvent produced.
type Output struct {
	Batch    string    `json:"batch"`
	Quantity *Quantity `json:"quantity,omitempty"`
}

// EventFields are the fields of an event as a client writes them.
type EventFields struct {
	Type                string            `json:"type,omitempty"`
	Action              string            `json:"action,omitempty"`
	BizStep             string            `json:"biz_step"`
	Disposition         string            `json:"disposition,omitempty"`
	EventTime           string            `json:"event_time,omitempty"`
	EventTimeZoneOffset string            `json:"event_time_zone_offset,omitempty"`
	ReadPoint           string            `json:"read_point,omitempty"`
	BizLocation         string            `json:"biz_location,omitempty"`
	Quantity            *Quantity         `json:"quantity,omitempty"`
	ILMD                *ILMD             `json:"ilmd,omitempty"`
	Certifications      []Certification   `json:"certifications,omitempty"`
	Note                string            `json:"note,omitempty"`
	Attachments         []Attachment      `json:"attachments,omitempty"`
	Data                map[string]string `json:"data,omitempty"`
	Inputs              []Input           `json:"inputs,omitempty"`
	Outputs             []Output          `json:"outputs,omitempty"`
	Loss                *Quantity         `json:"loss,omitempty"`
	ParentID            string            `json:"parent_id,omitempty"`
}

// Event is one event of a history, with everything an outside verifier
// needs: the canonical bytes that were signed, their hash, the previous
// hash, the signature and the signer's public key.
type Event struct {
	Seq  uint64 `json:"seq"`
	Hash string `json:"hash"`
	Prev string `json:"prev,omitempty"`
	EventFields
	Cooperative string    `json:"cooperative"`
	Batch       string    `json:"batch"`
	Canonical   string    `json:"canonical"` // base64 of the canonical bytes
	Signature   string    `json:"signature"` // base64 Ed25519 signature over the canonical bytes
	Signer      string    `json:"signer"`    // base64 Ed25519 public key
	ReceivedAt  time.Time `json:"received_at"`
	// LogIndex is the event's index in the transparency log.
	LogIndex *uint64 `json:"log_index,omitempty"`
	// LogEntry is the base64 of the event's 32-byte log entry
	// (trace.LogEntry).
	LogEntry string `json:"log_entry,omitempty"`
	// InclusionProof is the RFC 6962 inclusion proof (base64 hashes, the
	// leaf's sibling first) of the entry in the history's checkpoint;
	// absent for an event newer than the checkpoint.
	InclusionProof []string `json:"inclusion_proof,omitzero"`
}

func toEvent(st *store.StoredEvent) Event {
	e := st.Event
	ev := Event{
		Seq:         e.Seq,
		Hash:        st.Hash.String(),
		Cooperative: e.Cooperative,
		Batch:       e.Batch,
		Canonical:   base64.StdEncoding.EncodeToString(st.Body),
		Signature:   base64.StdEncoding.EncodeToString(st.Signature),
		Signer:      base64.StdEncoding.EncodeToString(st.Signer),
		ReceivedAt:  st.ReceivedAt,
		LogEntry:    base64.StdEncoding.EncodeToString(st.LogEntry),
		EventFields: EventFields{
			Type: string(e.Type), Action: e.Action, BizStep: e.BizStep, Disposition: e.Disposition,
			EventTime: e.EventTime, EventTimeZoneOffset: e.EventTimeZoneOffset,
			ReadPoint: e.ReadPoint, BizLocation: e.BizLocation, Quantity: toQuantity(e.Quantity),
			Note: e.Note, Data: e.Data, Loss: toQuantity(e.Loss), ParentID: e.ParentID,
		},
	}
	if e.Seq > 0 {
		ev.Prev = e.Prev.String()
	}
	if st.LogEntry != nil {
		idx := st.LogIndex
		ev.LogIndex = &idx
	}
	if e.ILMD != nil {
		ev.ILMD = &ILMD{HarvestDate: e.ILMD.HarvestDate, ExpiryDate: e.ILMD.ExpiryDate, CountryOfOrigin: e.ILMD.CountryOfOrigin}
	}
	for _, c := range e.Certifications {
		ev.Certifications = append(ev.Certifications, Certification{Scheme: c.Scheme, ID: c.ID})
	}
	for _, a := range e.Attachments {
		ev.Attachments = append(ev.Attachments, Attachment{SHA256: a.SHA256.String(), MediaType: a.MediaType, Name: a.Name})
	}
	for _, in := range e.Inputs {
		ev.Inputs = append(ev.Inputs, Input{Batch: in.Batch, Hash: in.Hash.String(), Quantity: toQuantity(in.Quantity)})
	}
	for _, out := range e.Outputs {
		ev.Outputs = append(ev.Outputs, Output{Batch: out.Batch, Quantity: toQuantity(out.Quantity)})
	}
	return ev
}

// domain turns the fields a client sent into an event of a batch. Hashes
// that do not parse are reported as field errors.
func (f *EventFields) domain(batch *trace.Batch, now time.Time) (*trace.Event, error) {
	var v trace.ValidationError
	e := &trace.Event{
		Type: trace.EventType(f.Type), Cooperative: batch.CooperativeID, Batch: batch.ID,
		Action: f.Action, BizStep: f.BizStep, Disposition: f.Disposition,
		EventTime: f.EventTime, EventTimeZoneOffset: f.EventTimeZoneOffset,
		ReadPoint: f.ReadPoint, BizLocation: f.BizLocation, Quantity: f.Quantity.domain(),
		Note: f.Note, Data: f.Data, Loss: f.Loss.domain(), ParentID: f.ParentID,
	}
	if e.Type == "" {
		e.Type = trace.ObjectEvent
		if len(f.Inputs) > 0 {
			e.Type = trace.TransformationEvent
		}
	}
	if e.Action == "" && e.Type != trace.TransformationEvent {
		e.Action = "OBSERVE"
		if e.BizStep == "commissioning" {
			e.Action = "ADD"
		}
	}
	// The offset is checked whether or not a time is given: without a
	// time it says in which offset "now" is written; with one, the two
	// must agree (Validate).
	var zone *time.Location
	if f.EventTimeZoneOffset != "" {
		l, err := trace.ParseZoneOffset(f.EventTimeZoneOffset)
		if err != nil {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "event_time_zone_offset", Reason: err.Error()})
		}
		zone = l
	}
	switch {
	case e.EventTime == "" && zone != nil:
		e.EventTime, e.EventTimeZoneOffset = trace.FormatEventTime(now.Truncate(time.Second).In(zone))
	case e.EventTime == "":
		e.EventTime, e.EventTimeZoneOffset = trace.FormatEventTime(now.Truncate(time.Second))
	case e.EventTimeZoneOffset == "":
		if t, err := time.Parse(time.RFC3339Nano, e.EventTime); err == nil {
			e.EventTime, e.EventTimeZoneOffset = trace.FormatEventTime(t)
		}
	}
	if f.ILMD != nil {
		e.ILMD = &trace.ILMD{HarvestDate: f.ILMD.HarvestDate, ExpiryDate: f.ILMD.ExpiryDate, CountryOfOrigin: f.ILMD.CountryOfOrigin}
	}
	for _, c := range f.Certifications {
		e.Certifications = append(e.Certifications, trace.Certification{Scheme: c.Scheme, ID: c.ID})
	}
	for i, a := range f.Attachments {
		h, err := trace.ParseHash(a.SHA256)
		if err != nil {
			v.Fields = append(v.Fields, &trace.FieldError{Field: fmt.Sprintf("attachments[%d].sha256", i), Reason: err.Error()})
		}
		e.Attachments = append(e.Attachments, trace.Attachment{SHA256: h, MediaType: a.MediaType, Name: a.Name})
	}
	for i, in := range f.Inputs {
		h, err := trace.ParseHash(in.Hash)
		if err != nil {
			v.Fields = append(v.Fields, &trace.FieldError{Field: fmt.Sprintf("inputs[%d].hash", i), Reason: err.Error()})
		}
		e.Inputs = append(e.Inputs, trace.Input{Batch: in.Batch, Hash: h, Quantity: in.Quantity.domain()})
	}
	for _, out := range f.Outputs {
		e.Outputs = append(e.Outputs, trace.Output{Batch: out.Batch, Quantity: out.Quantity.domain()})
	}
	if len(v.Fields) > 0 {
		return nil, &v
	}
	return e, nil
}

// History is a batch with its whole signed history: what the public
// resolver paths serve as JSON.
type History struct {
	Batch       Batch       `json:"batch"`
	Product     Product     `json:"product"`
	Cooperative Cooperative `json:"cooperative"`
	// Inspectors are the inspectors who signed events of this history,
	// with their keys: an event counts if it is signed by a key of the
	// cooperative or of one of them.
	Inspectors []Inspector `json:"inspectors,omitempty"`
	Events     []Event     `json:"events"`
	// Verified is the server's own check of the chain and every
	// signature against the cooperative's and the inspectors' keys.
	// Clients should verify for themselves; the fields above are all
	// they need.
	Verified bool `json:"verified"`
	// Checkpoint is the log's published checkpoint (a C2SP signed note
	// with the log's Ed25519 and ML-DSA-44 signatures and any witness
	// cosignatures) that the events' inclusion proofs lead to.
	Checkpoint string `json:"checkpoint,omitempty"`
	// Recall is set when this lot, or a lot it was made from, is recalled.
	Recall *RecallInfo `json:"recall,omitempty"`
	// ProductRecord and CooperativeRecord are the newest signed revisions
	// of the product's and the cooperative's registry records: what the
	// product and cooperative above must say. Absent for an entry not yet
	// signed.
	ProductRecord     *Record `json:"product_record,omitempty"`
	CooperativeRecord *Record `json:"cooperative_record,omitempty"`
	// RegistryRecords are the cooperative's signed certificate and listing
	// records the lot's page shows: the certificates of the product valid
	// on the lot's day (its harvest date, else the date of its first
	// event) and those the lot claims whatever their state, then the
	// places to buy the product. Readers work out each certificate's
	// state on that day from its signed dates.
	RegistryRecords []*Record `json:"registry_records,omitempty"`
	// Unsigned lists the readable fields above that no signature covers
	// ("batch.quantity" of a lot registered before lots had signed facts);
	// readers show them as the server's word.
	Unsigned []string `json:"unsigned,omitempty"`

	// What the consumer page adds from the server's own reading of the
	// records (not part of the JSON: a verifier derives it itself).
	findings  []trace.Finding
	inputLots []inputLot
}

// inputLot is a lot a transformation of this one took from, as the
// consumer page links it.
type inputLot struct {
	Batch, Lot, Product, Path string
	Plot                      *Plot
	Certifications            []Certification
}

// RecallInfo says that a lot is recalled, and why.
type RecallInfo struct {
	Batch     string `json:"batch"` // the lot the recall was recorded on
	Event     string `json:"event"` // the recall event's hash
	Reason    string `json:"reason"`
	EventTime string `json:"event_time"`
	// Inherited is true when the recall was recorded on a lot upstream
	// of this one.
	Inherited bool `json:"inherited"`
	// Lot is the lot code of the batch the recall was recorded on.
	Lot string `json:"lot,omitempty"`
}
