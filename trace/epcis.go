package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
)

// EPCIS 2.0 export. A signed event is written as one EPCIS 2.0 JSON-LD
// event that says everything the signed event says, in EPCIS terms where
// EPCIS has them and in truyxuat's own namespace (VocabBase, written with
// the prefix "tx") where it does not, and that carries the signed bytes,
// signature and signer so it stays verifiable on its own:
//
//   - type, action, bizStep, disposition, eventTime, eventTimeZoneOffset
//     are copied; readPoint and bizLocation become {"id": …}; parentID
//     stays parentID.
//   - The batch is named by its GS1 Digital Link on the service's public
//     base URL (https://host/01/<GTIN-14>/10/<lot>), or, for a batch whose
//     product has no GTIN, by truyxuat's short link https://host/b/<id>,
//     which is not a GS1 identifier. The batch's quantity goes in
//     quantityList (childQuantityList for an AggregationEvent, whose child
//     the batch is); an event without a quantity still names its batch, in
//     an element without a quantity. A TransformationEvent lists its
//     inputs in inputQuantityList and its outputs in outputQuantityList;
//     one that names no outputs produced the batch whose chain it extends,
//     which is then listed, with "tx:impliedOutput": true.
//   - ILMD: cbvmda:countryOfOrigin, cbvmda:itemExpirationDate, the harvest
//     day as both cbvmda:harvestStartDate and cbvmda:harvestEndDate, and
//     the batch's lot as cbvmda:lotNumber.
//   - Certifications become certificationInfo URIs
//     https://truyxuat.vn/voc/cert/<scheme>/<id> (both percent-encoded).
//   - tx:cooperative, tx:batch, tx:seq and tx:prev place the event in its
//     chain; tx:inputs gives each input's batch id and head hash, in the
//     order of inputQuantityList; tx:outputs the output batch ids in the
//     order of outputQuantityList; tx:quantity (the quantity of a
//     transformation that also lists outputs), tx:loss, tx:note, tx:data (its members
//     prefixed tx:) and tx:attachments carry the rest.
//   - tx:hash, tx:canonical (base64), tx:signature (base64) and tx:signer
//     (base64 Ed25519 public key) are the signed event itself; the caller
//     adds the transparency-log fields it knows.
//
// EventFromEPCIS reads all of this back into the Event, so an export
// loses nothing; ExportEPCIS's tests check that for every kind of event.

// EPCIS 2.0 document constants.
const (
	// EPCISContext is the URL of GS1's JSON-LD context for EPCIS 2.0.
	EPCISContext = "https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"
	// EPCISSchemaVersion is the schemaVersion truyxuat writes.
	EPCISSchemaVersion = "2.0"
	// EPCISPrefix is the JSON-LD prefix truyxuat's documents bind to VocabBase.
	EPCISPrefix = "tx"
	// CertificationBase starts the certificationInfo URIs of truyxuat's certifications.
	CertificationBase = VocabBase + "cert/"
)

// EPCISDocumentContext is the @context of the documents truyxuat writes.
func EPCISDocumentContext() []any {
	return []any{EPCISContext, map[string]string{EPCISPrefix: VocabBase}}
}

// BatchRef is what an export needs to know of a batch: its id, and the
// GTIN-14 of its product (empty if it has none) and its lot.
type BatchRef struct {
	ID   string
	GTIN string
	Lot  string
}

// URI names the batch on base: its GS1 Digital Link when it has a GTIN,
// else truyxuat's short link /b/<id>.
func (b BatchRef) URI(base string) (string, error) {
	if b.GTIN != "" {
		return DigitalLink{GTIN: b.GTIN, Lot: b.Lot}.URI(base)
	}
	return BatchLinkURI(base, b.ID)
}

// EPCISQuantity is a quantityElement: a class of objects (here, a batch)
// and optionally how much of it.
type EPCISQuantity struct {
	EPCClass string   `json:"epcClass"`
	Quantity *Decimal `json:"quantity,omitempty"`
	UOM      string   `json:"uom,omitempty"`
}

// EPCISPlace is a readPoint or bizLocation.
type EPCISPlace struct {
	ID string `json:"id"`
}

// EPCISInput is an input batch of a TransformationEvent and the head of
// its chain when the transformation was recorded.
type EPCISInput struct {
	Batch string `json:"tx:batch"`
	Hash  string `json:"tx:hash"`
}

// EPCISTxQuantity is a quantity EPCIS has no member for: what a
// transformation lost, or the quantity of a transformation that also lists
// its outputs.
type EPCISTxQuantity struct {
	Quantity Decimal `json:"tx:quantity"`
	UOM      string  `json:"tx:uom"`
}

// EPCISAttachment is a file an event refers to by its SHA-256.
type EPCISAttachment struct {
	SHA256    string `json:"tx:sha256"`
	MediaType string `json:"tx:mediaType"`
	Name      string `json:"tx:name,omitempty"`
}

// EPCISEvent is one signed event as an EPCIS 2.0 JSON-LD event. The
// members named tx:… are in truyxuat's namespace (see EPCISDocumentContext).
type EPCISEvent struct {
	Type                string            `json:"type"`
	EventID             string            `json:"eventID,omitempty"`
	EventTime           string            `json:"eventTime"`
	EventTimeZoneOffset string            `json:"eventTimeZoneOffset"`
	RecordTime          string            `json:"recordTime,omitempty"`
	Action              string            `json:"action,omitempty"`
	ParentID            string            `json:"parentID,omitempty"`
	QuantityList        []EPCISQuantity   `json:"quantityList,omitempty"`
	ChildQuantityList   []EPCISQuantity   `json:"childQuantityList,omitempty"`
	InputQuantityList   []EPCISQuantity   `json:"inputQuantityList,omitempty"`
	OutputQuantityList  []EPCISQuantity   `json:"outputQuantityList,omitempty"`
	BizStep             string            `json:"bizStep"`
	Disposition         string            `json:"disposition,omitempty"`
	ReadPoint           *EPCISPlace       `json:"readPoint,omitempty"`
	BizLocation         *EPCISPlace       `json:"bizLocation,omitempty"`
	ILMD                map[string]string `json:"ilmd,omitempty"`
	CertificationInfo   []string          `json:"certificationInfo,omitempty"`

	Cooperative   string            `json:"tx:cooperative"`
	Batch         string            `json:"tx:batch"`
	Seq           uint64            `json:"tx:seq"`
	Prev          string            `json:"tx:prev,omitempty"`
	Inputs        []EPCISInput      `json:"tx:inputs,omitempty"`
	Outputs       []string          `json:"tx:outputs,omitempty"`
	ImpliedOutput bool              `json:"tx:impliedOutput,omitempty"`
	Quantity      *EPCISTxQuantity  `json:"tx:quantity,omitempty"`
	Loss          *EPCISTxQuantity  `json:"tx:loss,omitempty"`
	Note          string            `json:"tx:note,omitempty"`
	Data          map[string]string `json:"tx:data,omitempty"`
	Attachments   []EPCISAttachment `json:"tx:attachments,omitempty"`

	Hash      string `json:"tx:hash"`
	Canonical []byte `json:"tx:canonical"` // base64 in JSON
	Signature []byte `json:"tx:signature"`
	Signer    []byte `json:"tx:signer"`
	// The event's place in the transparency log, when the caller knows it:
	// its index, its entry (LogEntry) and its inclusion proof (base64
	// hashes, the leaf's sibling first) against the document's checkpoint.
	LogIndex       *uint64  `json:"tx:logIndex,omitempty"`
	LogEntry       []byte   `json:"tx:logEntry,omitempty"`
	InclusionProof []string `json:"tx:inclusionProof,omitempty"`
}

// EPCISDocument is an EPCIS 2.0 document as truyxuat writes it.
type EPCISDocument struct {
	Context       []any  `json:"@context"`
	Type          string `json:"type"`
	SchemaVersion string `json:"schemaVersion"`
	CreationDate  string `json:"creationDate"`
	// Checkpoint is the transparency log's signed checkpoint (a C2SP
	// signed note) that the events' inclusion proofs lead to.
	Checkpoint string `json:"tx:checkpoint,omitempty"`
	// Next is the URL of the next page of a paginated export.
	Next      string    `json:"tx:next,omitempty"`
	EPCISBody EPCISBody `json:"epcisBody"`
}

// EPCISBody holds a document's events.
type EPCISBody struct {
	EventList []*EPCISEvent `json:"eventList"`
}

// ILMD member names of CBV 2.0 master data attributes truyxuat uses.
const (
	mdaCountryOfOrigin = "cbvmda:countryOfOrigin"
	mdaExpiry          = "cbvmda:itemExpirationDate"
	mdaHarvestStart    = "cbvmda:harvestStartDate"
	mdaHarvestEnd      = "cbvmda:harvestEndDate"
	mdaLotNumber       = "cbvmda:lotNumber"
)

// CertificationURI names a certification as a URI under CertificationBase.
func CertificationURI(c Certification) string {
	return CertificationBase + dlEscape(c.Scheme) + "/" + dlEscape(c.ID)
}

// ParseCertificationURI reads a URI made by CertificationURI.
func ParseCertificationURI(uri string) (Certification, bool) {
	rest, ok := strings.CutPrefix(uri, CertificationBase)
	if !ok {
		return Certification{}, false
	}
	s, id, ok := strings.Cut(rest, "/")
	if !ok || s == "" || id == "" || strings.Contains(id, "/") {
		return Certification{}, false
	}
	scheme, err1 := dlUnescape(s)
	ident, err2 := dlUnescape(id)
	if err1 != nil || err2 != nil {
		return Certification{}, false
	}
	return Certification{Scheme: scheme, ID: ident}, true
}

// ExportEPCIS writes a signed event (with its Event decoded) as an EPCIS
// event. eventID names the event (a URI; empty leaves it out); base is the
// public base URL the batches' URIs are built on; batches must hold the
// event's batch and every input and output batch.
func ExportEPCIS(se *SignedEvent, eventID, base string, batches map[string]BatchRef) (*EPCISEvent, error) {
	e := se.Event
	if e == nil {
		return nil, errors.New("trace: export: the event is not decoded")
	}
	uri := func(id string) (string, error) {
		b, ok := batches[id]
		if !ok {
			return "", fmt.Errorf("trace: export: batch %s is not known: %w", id, ErrNotFound)
		}
		return b.URI(base)
	}
	own, err := uri(e.Batch)
	if err != nil {
		return nil, err
	}
	x := &EPCISEvent{
		Type: string(e.Type), EventID: eventID, EventTime: e.EventTime, EventTimeZoneOffset: e.EventTimeZoneOffset,
		Action: e.Action, ParentID: e.ParentID, BizStep: e.BizStep, Disposition: e.Disposition,
		Cooperative: e.Cooperative, Batch: e.Batch, Seq: e.Seq, Note: e.Note,
		Hash: se.Hash.String(), Canonical: se.Body, Signature: se.Signature, Signer: se.Signer,
	}
	if e.Seq > 0 {
		x.Prev = e.Prev.String()
	}
	if e.ReadPoint != "" {
		x.ReadPoint = &EPCISPlace{ID: e.ReadPoint}
	}
	if e.BizLocation != "" {
		x.BizLocation = &EPCISPlace{ID: e.BizLocation}
	}
	switch e.Type {
	case TransformationEvent:
		for _, in := range e.Inputs {
			u, err := uri(in.Batch)
			if err != nil {
				return nil, err
			}
			x.InputQuantityList = append(x.InputQuantityList, quantityElement(u, in.Quantity))
			x.Inputs = append(x.Inputs, EPCISInput{Batch: in.Batch, Hash: in.Hash.String()})
		}
		for _, out := range e.Outputs {
			u, err := uri(out.Batch)
			if err != nil {
				return nil, err
			}
			x.OutputQuantityList = append(x.OutputQuantityList, quantityElement(u, out.Quantity))
			x.Outputs = append(x.Outputs, out.Batch)
		}
		if len(e.Outputs) == 0 {
			x.OutputQuantityList = []EPCISQuantity{quantityElement(own, e.Quantity)}
			x.ImpliedOutput = true
		} else if e.Quantity != nil {
			// A transformation's own quantity has no EPCIS member once
			// its outputs are listed.
			x.Quantity = &EPCISTxQuantity{Quantity: e.Quantity.Value, UOM: e.Quantity.Unit}
		}
	case AggregationEvent:
		x.ChildQuantityList = []EPCISQuantity{quantityElement(own, e.Quantity)}
	default:
		x.QuantityList = []EPCISQuantity{quantityElement(own, e.Quantity)}
	}
	if e.Loss != nil {
		x.Loss = &EPCISTxQuantity{Quantity: e.Loss.Value, UOM: e.Loss.Unit}
	}
	if e.ILMD != nil {
		x.ILMD = map[string]string{}
		if c := e.ILMD.CountryOfOrigin; c != "" {
			x.ILMD[mdaCountryOfOrigin] = c
		}
		if d := e.ILMD.ExpiryDate; d != "" {
			x.ILMD[mdaExpiry] = d
		}
		if d := e.ILMD.HarvestDate; d != "" {
			x.ILMD[mdaHarvestStart] = d
			x.ILMD[mdaHarvestEnd] = d
		}
		if lot := batches[e.Batch].Lot; lot != "" {
			x.ILMD[mdaLotNumber] = lot
		}
	}
	for _, c := range e.Certifications {
		x.CertificationInfo = append(x.CertificationInfo, CertificationURI(c))
	}
	if len(e.Data) > 0 {
		x.Data = make(map[string]string, len(e.Data))
		for k, v := range e.Data {
			x.Data[EPCISPrefix+":"+k] = v
		}
	}
	for _, a := range e.Attachments {
		x.Attachments = append(x.Attachments, EPCISAttachment{SHA256: a.SHA256.String(), MediaType: a.MediaType, Name: a.Name})
	}
	return x, nil
}

func quantityElement(uri string, q *Quantity) EPCISQuantity {
	el := EPCISQuantity{EPCClass: uri}
	if q != nil {
		v := q.Value
		el.Quantity, el.UOM = &v, q.Unit
	}
	return el
}

func fromElement(el EPCISQuantity) *Quantity {
	if el.Quantity == nil {
		return nil
	}
	return &Quantity{Value: *el.Quantity, Unit: el.UOM}
}

// EventFromEPCIS reads an exported event back from its readable members
// (not from tx:canonical): the inverse of ExportEPCIS.
func EventFromEPCIS(x *EPCISEvent) (*Event, error) {
	var v ValidationError
	e := &Event{
		Type: EventType(x.Type), Cooperative: x.Cooperative, Batch: x.Batch, Seq: x.Seq,
		Action: x.Action, ParentID: x.ParentID, BizStep: x.BizStep, Disposition: x.Disposition,
		EventTime: x.EventTime, EventTimeZoneOffset: x.EventTimeZoneOffset, Note: x.Note,
	}
	if x.Prev != "" {
		h, err := ParseHash(x.Prev)
		v.add("tx:prev", err)
		e.Prev = h
	}
	if x.ReadPoint != nil {
		e.ReadPoint = x.ReadPoint.ID
	}
	if x.BizLocation != nil {
		e.BizLocation = x.BizLocation.ID
	}
	own := func(list []EPCISQuantity, field string) {
		if len(list) != 1 {
			v.addf(field, "names %d batches; an exported event names exactly its own", len(list))
			return
		}
		e.Quantity = fromElement(list[0])
	}
	switch e.Type {
	case TransformationEvent:
		if len(x.Inputs) != len(x.InputQuantityList) {
			v.addf("tx:inputs", "has %d inputs, but inputQuantityList has %d", len(x.Inputs), len(x.InputQuantityList))
		}
		for i, in := range x.Inputs {
			h, err := ParseHash(in.Hash)
			v.add(fmt.Sprintf("tx:inputs[%d]", i), err)
			var q *Quantity
			if i < len(x.InputQuantityList) {
				q = fromElement(x.InputQuantityList[i])
			}
			e.Inputs = append(e.Inputs, Input{Batch: in.Batch, Hash: h, Quantity: q})
		}
		if x.ImpliedOutput {
			if len(x.Outputs) > 0 {
				v.addf("tx:outputs", "an implied output excludes listed ones")
			}
			own(x.OutputQuantityList, "outputQuantityList")
		} else {
			if len(x.Outputs) != len(x.OutputQuantityList) {
				v.addf("tx:outputs", "has %d outputs, but outputQuantityList has %d", len(x.Outputs), len(x.OutputQuantityList))
			}
			for i, b := range x.Outputs {
				var q *Quantity
				if i < len(x.OutputQuantityList) {
					q = fromElement(x.OutputQuantityList[i])
				}
				e.Outputs = append(e.Outputs, Output{Batch: b, Quantity: q})
			}
			if x.Quantity != nil {
				e.Quantity = &Quantity{Value: x.Quantity.Quantity, Unit: x.Quantity.UOM}
			}
		}
	case AggregationEvent:
		own(x.ChildQuantityList, "childQuantityList")
	default:
		own(x.QuantityList, "quantityList")
	}
	if x.Loss != nil {
		e.Loss = &Quantity{Value: x.Loss.Quantity, Unit: x.Loss.UOM}
	}
	if x.ILMD != nil {
		m := &ILMD{CountryOfOrigin: x.ILMD[mdaCountryOfOrigin], ExpiryDate: x.ILMD[mdaExpiry], HarvestDate: x.ILMD[mdaHarvestStart]}
		if end := x.ILMD[mdaHarvestEnd]; end != m.HarvestDate {
			v.addf("ilmd", "%s and %s differ; truyxuat records one harvest day", mdaHarvestStart, mdaHarvestEnd)
		}
		if *m != (ILMD{}) {
			e.ILMD = m
		}
	}
	for i, uri := range x.CertificationInfo {
		c, ok := ParseCertificationURI(uri)
		if !ok {
			v.addf(fmt.Sprintf("certificationInfo[%d]", i), "%s is not a certification URI of truyxuat (%s<scheme>/<id>)", quote(uri), CertificationBase)
		}
		e.Certifications = append(e.Certifications, c)
	}
	if len(x.Data) > 0 {
		e.Data = make(map[string]string, len(x.Data))
		for k, val := range x.Data {
			name, ok := strings.CutPrefix(k, EPCISPrefix+":")
			if !ok {
				v.addf("tx:data", "member %s lacks the %s: prefix", quote(k), EPCISPrefix)
			}
			e.Data[name] = val
		}
	}
	for i, a := range x.Attachments {
		h, err := ParseHash(a.SHA256)
		v.add(fmt.Sprintf("tx:attachments[%d].tx:sha256", i), err)
		e.Attachments = append(e.Attachments, Attachment{SHA256: h, MediaType: a.MediaType, Name: a.Name})
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return e, nil
}

// VerifyEPCIS checks an exported event on its own: its canonical bytes
// hash to tx:hash, the Ed25519 signature verifies under tx:signer, and the
// readable members say exactly what the signed bytes say. It does not
// check that the signer is a key of the cooperative: the caller knows the
// keys. It returns the signed event.
func VerifyEPCIS(x *EPCISEvent) (*SignedEvent, error) {
	fail := func(r VerifyReason, format string, args ...any) error {
		return &VerifyError{Hash: x.Hash, Reason: r, Detail: fmt.Sprintf(format, args...)}
	}
	if h := HashEvent(x.Canonical); h.String() != x.Hash {
		return nil, fail(ReasonBadHash, "tx:canonical hashes to %s", h)
	}
	se := &SignedEvent{Body: x.Canonical, Hash: HashEvent(x.Canonical), Signature: x.Signature, Signer: x.Signer}
	if err := se.checkSignature(); err != nil {
		return nil, err
	}
	signed, err := Decode(x.Canonical)
	if err != nil {
		return nil, fail(ReasonMalformed, "%v", err)
	}
	se.Event = signed
	readable, err := EventFromEPCIS(x)
	if err != nil {
		return nil, fail(ReasonMalformed, "the readable members do not form an event: %v", err)
	}
	a, err1 := readable.Encode()
	if err1 != nil || !bytes.Equal(a, x.Canonical) {
		return nil, fail(ReasonMalformed, "the readable members differ from the signed bytes (%s)", eventDiff(signed, readable))
	}
	return se, nil
}

// eventDiff names the canonical members in which two events differ.
func eventDiff(a, b *Event) string {
	ma, mb := canonicalMembers(a), canonicalMembers(b)
	var diff []string
	for k, v := range ma {
		if mb[k] != v {
			diff = append(diff, k)
		}
	}
	for k := range mb {
		if _, ok := ma[k]; !ok {
			diff = append(diff, k)
		}
	}
	sort.Strings(diff)
	if len(diff) == 0 {
		return "in their encoding"
	}
	return strings.Join(diff, ", ")
}

// canonicalMembers splits an event's canonical encoding into its
// top-level members, whatever their validity.
func canonicalMembers(e *Event) map[string]string {
	b := e.appendCanonical(nil)
	out := map[string]string{}
	// The canonical writer keeps members in name order with no white
	// space; decode it generically to compare member by member.
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return out
	}
	for k, v := range m {
		out[k] = fmt.Sprint(v)
	}
	return out
}
