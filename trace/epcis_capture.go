package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"
)

// EPCIS 2.0 capture: a partner's EPCIS document mapped onto truyxuat
// events. MapEPCISCapture expects a document that already conforms to the
// EPCIS 2.0 JSON Schema (package trace/epcis checks that) and maps it
// without looking anything up; the caller then finds the batches the
// LotRefs name and records the events. Every problem is reported at once,
// as a *ValidationError whose field names are JSON pointers into the
// document.
//
// What is mapped:
//
//   - ObjectEvents, AggregationEvents and TransformationEvents. Other types
//     (TransactionEvent, AssociationEvent, extension types) and events
//     that declare an error (errorDeclaration) are refused.
//   - Identifiers name lots: a GS1 Digital Link with a GTIN and a lot
//     (…/01/<GTIN>/10/<lot>, on any host), an EPC class URN
//     urn:epc:class:lgtin:…, or this service's short link <base>/b/<id>.
//     A serialised item without a lot, a product without a lot, a pattern
//     or any other identifier is refused, since truyxuat records lots.
//     A logistic unit (an SSCC) in an ObjectEvent's epcList stands for the
//     lots an earlier AggregationEvent of the same document put in it; the
//     unit is kept in the event's data as "container".
//   - An event that names several lots becomes one event per lot. An
//     ObjectEvent's lots come from epcList and quantityList, an
//     AggregationEvent's from childEPCs and childQuantityList (parentID is
//     kept), and a TransformationEvent is recorded on each output lot,
//     listing every input and output.
//   - A quantity without uom is a count of items (H87); other units must
//     be ones truyxuat records (Units).
//   - eventTime is written in the event's eventTimeZoneOffset.
//   - ILMD: cbvmda:countryOfOrigin, cbvmda:itemExpirationDate,
//     cbvmda:harvestStartDate (and cbvmda:harvestEndDate, kept in data when
//     it differs); cbvmda:lotNumber must agree with the lot.
//   - certificationInfo URIs become certifications: truyxuat's own
//     (CertificationBase) as they were, others split at their last '/' or
//     ':' into a scheme URI and a certificate number.
//   - Members in truyxuat's namespace (any prefix the document's @context
//     binds to VocabBase): note and data.
//   - Into data: the source eventID (epcis_event_id), the SHA-256 of the
//     document (epcis_document_sha256, when given), and sourceList,
//     destinationList and bizTransactionList entries whose type is a CBV
//     name (source_<type>, destination_<type>, biz_transaction_<type>).
//
// Everything else (sensor data, persistentDisposition, transformationID,
// other extensions and ILMD members, master data) is not recorded and is
// listed in Capture.Ignored with the reason.

// LotRef names the batch an identifier in a captured document points to:
// by GTIN-14 and lot, or, for this service's short links, by batch id.
type LotRef struct {
	GTIN    string
	Lot     string
	BatchID string
	// Pointer is the JSON pointer of the identifier in the document.
	Pointer string
	// URI is the identifier as the document wrote it.
	URI string
}

func (l LotRef) key() string {
	if l.BatchID != "" {
		return "b/" + l.BatchID
	}
	return l.GTIN + "/" + l.Lot
}

// String describes the lot for messages.
func (l LotRef) String() string {
	if l.BatchID != "" {
		return "batch " + l.BatchID
	}
	return fmt.Sprintf("lot %s of GTIN %s", l.Lot, l.GTIN)
}

// CapturedEvent is one truyxuat event mapped from an event of a captured
// document.
type CapturedEvent struct {
	// Source is the JSON pointer of the document's event it comes from.
	Source string
	// Event has every field but Cooperative, Batch, Seq and Prev, and the
	// batches and hashes of its inputs and the batches of its outputs.
	Event *Event
	// Lot is the batch whose chain the event extends.
	Lot LotRef
	// Inputs and Outputs name the batches of Event.Inputs and
	// Event.Outputs, in order.
	Inputs  []LotRef
	Outputs []LotRef
	// EventID is the source event's eventID, if it has one.
	EventID string

	pointers map[string]string // Event field name → JSON pointer
}

// Pointer returns the JSON pointer of the document member that an Event
// field (as a FieldError names it: "bizStep", "quantity.unit",
// "inputs[1].quantity") came from, and the rest of the field name when
// only a containing member is known.
func (c *CapturedEvent) Pointer(field string) (ptr, rest string) {
	for name := field; name != ""; {
		if p, ok := c.pointers[name]; ok {
			return p, strings.TrimLeft(strings.TrimPrefix(field, name), ".")
		}
		i := strings.LastIndexAny(name, ".[")
		if i < 0 {
			break
		}
		name = name[:i]
	}
	return c.Source, field
}

// Capture is a captured document mapped onto truyxuat events.
type Capture struct {
	Events []*CapturedEvent
	// Ignored lists members of the document that truyxuat does not
	// record (Field is a JSON pointer; Reason says why).
	Ignored []*FieldError
}

// CaptureOptions tune MapEPCISCapture.
type CaptureOptions struct {
	// Base is this service's public base URL; short links <Base>/b/<id>
	// name batches.
	Base string
	// DocumentSHA256 is recorded in each event's data, when not empty.
	DocumentSHA256 string
	// MaxEvents bounds the events of the document (default 1000).
	MaxEvents int
}

// MaxCaptureEvents is the default bound on a captured document's events.
const MaxCaptureEvents = 1000

// Data keys a capture writes.
const (
	DataEPCISEventID   = "epcis_event_id"
	DataEPCISDocument  = "epcis_document_sha256"
	DataContainer      = "container"
	DataHarvestEndDate = "harvest_end_date"
)

// MapEPCISCapture maps an EPCIS 2.0 document (already checked against the
// EPCIS JSON Schema) onto truyxuat events. It returns a *ValidationError
// with every problem, its fields JSON pointers, when anything cannot be
// mapped.
func MapEPCISCapture(doc []byte, opts CaptureOptions) (*Capture, error) {
	if opts.MaxEvents <= 0 {
		opts.MaxEvents = MaxCaptureEvents
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.UseNumber()
	var root map[string]any
	if err := dec.Decode(&root); err != nil {
		return nil, &FieldError{Field: "", Reason: "the document is not a JSON object: " + err.Error()}
	}
	m := &capMapper{opts: opts, containers: map[string][]LotRef{}, out: &Capture{}}
	m.prefixes = vocabPrefixes(root["@context"])
	if _, ok := root["epcisHeader"]; ok {
		m.ignore("/epcisHeader", "master data is not recorded; truyxuat keeps its own products and locations")
	}
	if root["type"] != "EPCISDocument" {
		m.errf("/type", "truyxuat captures EPCISDocuments, not %v", root["type"])
		return nil, m.v.err()
	}
	body, _ := root["epcisBody"].(map[string]any)
	list, _ := body["eventList"].([]any)
	if len(list) == 0 {
		m.errf("/epcisBody/eventList", "the document has no events")
	}
	if len(list) > opts.MaxEvents {
		m.errf("/epcisBody/eventList", "the document has %d events; a capture takes at most %d, so split it", len(list), opts.MaxEvents)
		return nil, m.v.err()
	}
	for i, raw := range list {
		ev, _ := raw.(map[string]any)
		m.event(fmt.Sprintf("/epcisBody/eventList/%d", i), ev)
	}
	if err := m.v.err(); err != nil {
		return nil, err
	}
	return m.out, nil
}

type capMapper struct {
	opts       CaptureOptions
	prefixes   []string            // prefixes bound to VocabBase
	containers map[string][]LotRef // parentID → lots, from this document's aggregations
	out        *Capture
	v          ValidationError
}

func (m *capMapper) errf(ptr, format string, args ...any) { m.v.addf(ptr, format, args...) }

func (m *capMapper) ignore(ptr, reason string) {
	m.out.Ignored = append(m.out.Ignored, &FieldError{Field: ptr, Reason: reason})
}

// vocabPrefixes returns the prefixes a @context binds to VocabBase.
func vocabPrefixes(ctx any) []string {
	var out []string
	var visit func(v any)
	visit = func(v any) {
		switch v := v.(type) {
		case []any:
			for _, x := range v {
				visit(x)
			}
		case map[string]any:
			for k, val := range v {
				if s, ok := val.(string); ok && s == VocabBase {
					out = append(out, k)
				}
			}
		}
	}
	visit(ctx)
	sort.Strings(out)
	return out
}

func (m *capMapper) vocabTerm(key string) (string, bool) {
	for _, p := range m.prefixes {
		if term, ok := strings.CutPrefix(key, p+":"); ok {
			return term, true
		}
	}
	if term, ok := strings.CutPrefix(key, VocabBase); ok {
		return term, true
	}
	return "", false
}

// jsonPointerToken escapes one reference token (RFC 6901).
func jsonPointerToken(s string) string {
	return strings.NewReplacer("~", "~0", "/", "~1").Replace(s)
}

// The members of each event type that the mapping reads.
var (
	commonMembers = []string{"type", "eventTime", "eventTimeZoneOffset", "eventID", "recordTime", "certificationInfo", "errorDeclaration",
		"action", "bizStep", "disposition", "readPoint", "bizLocation", "ilmd", "sourceList", "destinationList", "bizTransactionList", "@context"}
	typeMembers = map[string][]string{
		string(ObjectEvent):         {"epcList", "quantityList"},
		string(AggregationEvent):    {"parentID", "childEPCs", "childQuantityList"},
		string(TransformationEvent): {"inputEPCList", "inputQuantityList", "outputEPCList", "outputQuantityList"},
	}
	ignoredMembers = map[string]string{
		"sensorElementList":     "sensor data is not recorded",
		"persistentDisposition": "persistent dispositions are not recorded; the event's disposition is",
		"transformationID":      "transformation ids are not recorded; each output lot's event lists every input and output",
	}
)

func (m *capMapper) event(p string, ev map[string]any) {
	before := len(m.v.Fields)
	typ, _ := ev["type"].(string)
	switch EventType(typ) {
	case ObjectEvent, AggregationEvent, TransformationEvent:
	default:
		m.errf(p+"/type", "truyxuat records ObjectEvents, AggregationEvents and TransformationEvents, not %s", quote(typ))
		return
	}
	if _, ok := ev["errorDeclaration"]; ok {
		m.errf(p+"/errorDeclaration", "an event that declares an error in earlier events cannot be captured: truyxuat's records are append-only; record the correction as a new event")
	}
	e := &Event{Type: EventType(typ)}
	c := &CapturedEvent{Source: p, Event: e, pointers: map[string]string{}}
	mark := func(field, member string) { c.pointers[field] = p + "/" + member }

	known := append(append([]string(nil), commonMembers...), typeMembers[typ]...)
	keys := make([]string, 0, len(ev))
	for k := range ev {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if contains(known, k) {
			continue
		}
		if term, ok := m.vocabTerm(k); ok && (term == "note" || term == "data") {
			continue
		}
		if why, ok := ignoredMembers[k]; ok {
			m.ignore(p+"/"+jsonPointerToken(k), why)
			continue
		}
		m.ignore(p+"/"+jsonPointerToken(k), "extension members other than truyxuat's note and data are not recorded")
	}

	// When.
	et, _ := ev["eventTime"].(string)
	off, _ := ev["eventTimeZoneOffset"].(string)
	mark("eventTime", "eventTime")
	mark("eventTimeZoneOffset", "eventTimeZoneOffset")
	if t, err := time.Parse(time.RFC3339Nano, et); err != nil {
		m.errf(p+"/eventTime", "%s is not an RFC 3339 time", quote(et))
	} else if loc, err := ParseZoneOffset(off); err != nil {
		m.errf(p+"/eventTimeZoneOffset", "%v", err)
	} else {
		e.EventTime, e.EventTimeZoneOffset = FormatEventTime(t.In(loc))
	}

	// Why.
	e.Action, _ = ev["action"].(string)
	mark("action", "action")
	if e.Type == TransformationEvent {
		e.Action = ""
	}
	e.BizStep, _ = ev["bizStep"].(string)
	mark("bizStep", "bizStep")
	if e.BizStep == "" {
		m.errf(p, "the event has no bizStep; truyxuat records why each event happened (a CBV 2.0 business step or your own URI; a harvest is commissioning)")
	}
	e.Disposition, _ = ev["disposition"].(string)
	mark("disposition", "disposition")

	// Where.
	if rp, ok := ev["readPoint"].(map[string]any); ok {
		e.ReadPoint, _ = rp["id"].(string)
		mark("readPoint", "readPoint/id")
	}
	if bl, ok := ev["bizLocation"].(map[string]any); ok {
		e.BizLocation, _ = bl["id"].(string)
		mark("bizLocation", "bizLocation/id")
	}

	data := map[string]string{}
	setData := func(ptr, key, val string) {
		if _, dup := data[key]; dup {
			m.ignore(ptr, fmt.Sprintf("data field %s is already set by an earlier member", key))
			return
		}
		if n := len([]rune(val)); n > MaxNameLen {
			m.ignore(ptr, fmt.Sprintf("the value has %d characters; data values hold at most %d", n, MaxNameLen))
			return
		}
		data[key] = val
	}

	// truyxuat's own members. A data field may be named with or without
	// a prefix; named twice, it is refused rather than one value picked.
	dataFrom := map[string]string{} // data field → the member that set it
	for _, k := range keys {
		term, ok := m.vocabTerm(k)
		if !ok {
			continue
		}
		ptr := p + "/" + jsonPointerToken(k)
		switch term {
		case "note":
			if s, ok := ev[k].(string); ok {
				e.Note = s
				c.pointers["note"] = ptr
			} else {
				m.errf(ptr, "a note is a string")
			}
		case "data":
			obj, ok := ev[k].(map[string]any)
			if !ok {
				m.errf(ptr, "data is an object of strings")
				continue
			}
			c.pointers["data"] = ptr
			names := make([]string, 0, len(obj))
			for dk := range obj {
				names = append(names, dk)
			}
			sort.Strings(names)
			for _, dk := range names {
				name, ok := m.vocabTerm(dk)
				if !ok {
					name = dk
				}
				s, ok := obj[dk].(string)
				if !ok {
					m.errf(ptr+"/"+jsonPointerToken(dk), "data values are strings")
					continue
				}
				if first, dup := dataFrom[name]; dup {
					m.errf(ptr+"/"+jsonPointerToken(dk), "names the data field %s, as %s does; give each field once", quote(name), quote(first))
					continue
				}
				dataFrom[name] = dk
				data[name] = s
			}
		}
	}
	if id, ok := ev["eventID"].(string); ok {
		c.EventID = id
		setData(p+"/eventID", DataEPCISEventID, id)
	}
	if m.opts.DocumentSHA256 != "" {
		data[DataEPCISDocument] = m.opts.DocumentSHA256
	}
	for _, l := range []struct{ member, typeKey, valueKey, prefix string }{
		{"sourceList", "type", "source", "source_"},
		{"destinationList", "type", "destination", "destination_"},
		{"bizTransactionList", "type", "bizTransaction", "biz_transaction_"},
	} {
		items, _ := ev[l.member].([]any)
		for j, it := range items {
			obj, _ := it.(map[string]any)
			ptr := fmt.Sprintf("%s/%s/%d", p, l.member, j)
			t, _ := obj[l.typeKey].(string)
			val, _ := obj[l.valueKey].(string)
			if t == "" || !dataKeyRE.MatchString(l.prefix+t) {
				m.ignore(ptr, fmt.Sprintf("only entries whose type is a CBV name are recorded (as data %s<type>)", l.prefix))
				continue
			}
			setData(ptr, l.prefix+t, val)
		}
	}

	// Certifications.
	var certs []any
	switch ci := ev["certificationInfo"].(type) {
	case string:
		certs = []any{ci}
		c.pointers["certifications[0]"] = p + "/certificationInfo"
	case []any:
		certs = ci
		for j := range ci {
			c.pointers[fmt.Sprintf("certifications[%d]", j)] = fmt.Sprintf("%s/certificationInfo/%d", p, j)
		}
	}
	for j, ci := range certs {
		s, _ := ci.(string)
		cert, ok := certificationFromURI(s)
		if !ok {
			m.errf(c.pointers[fmt.Sprintf("certifications[%d]", j)], "%s cannot be read as a certification: truyxuat needs a scheme URI followed by the certificate's number, such as https://cert.example.vn/vietgap/VG-0123", quote(s))
			continue
		}
		e.Certifications = append(e.Certifications, cert)
	}

	// What.
	var lots []LotRef
	quantities := map[string]*Quantity{}
	qptr := map[string]string{}
	addQuantities := func(member string) []LotRef {
		var out []LotRef
		items, _ := ev[member].([]any)
		for j, it := range items {
			obj, _ := it.(map[string]any)
			ptr := fmt.Sprintf("%s/%s/%d", p, member, j)
			cls, _ := obj["epcClass"].(string)
			ref, ok := m.lotOf(ptr+"/epcClass", cls)
			if !ok {
				continue
			}
			if _, dup := qptr[ref.key()]; dup {
				m.errf(ptr, "%s is listed twice", ref)
				continue
			}
			qptr[ref.key()] = ptr
			if q, ok := obj["quantity"]; ok {
				quantities[ref.key()] = m.quantity(ptr, q, obj["uom"])
			}
			out = append(out, ref)
		}
		return out
	}
	addEPCs := func(member string, containers bool) []LotRef {
		var out []LotRef
		items, _ := ev[member].([]any)
		for j, it := range items {
			ptr := fmt.Sprintf("%s/%s/%d", p, member, j)
			s, _ := it.(string)
			if containers {
				if inside, ok := m.containers[s]; ok {
					if _, dup := data[DataContainer]; !dup {
						setData(ptr, DataContainer, s)
					} else {
						m.ignore(ptr, "only the first logistic unit of an event is kept in its data")
					}
					out = append(out, inside...)
					continue
				}
			}
			if ref, ok := m.lotOf(ptr, s); ok {
				out = append(out, ref)
			}
		}
		return out
	}
	var inputs, outputs []LotRef
	switch e.Type {
	case ObjectEvent:
		lots = merge(addEPCs("epcList", true), addQuantities("quantityList"))
	case AggregationEvent:
		e.ParentID, _ = ev["parentID"].(string)
		mark("parentID", "parentID")
		lots = merge(addEPCs("childEPCs", false), addQuantities("childQuantityList"))
		if e.ParentID != "" && e.Action != "DELETE" {
			m.containers[e.ParentID] = append(m.containers[e.ParentID], lots...)
		}
	case TransformationEvent:
		n0 := len(m.v.Fields)
		inputs = merge(addEPCs("inputEPCList", false), addQuantities("inputQuantityList"))
		n1 := len(m.v.Fields)
		outputs = merge(addEPCs("outputEPCList", false), addQuantities("outputQuantityList"))
		if len(inputs) == 0 && n1 == n0 {
			m.errf(p, "the transformation names no input lot; truyxuat links each output to the lots it was made from")
		}
		if len(outputs) == 0 && len(m.v.Fields) == n1 {
			m.errf(p, "the transformation names no output lot; truyxuat records a transformation on the lots it produced")
		}
		lots = outputs
	}
	if len(lots) == 0 && len(m.v.Fields) == before {
		m.errf(p, "the event names no lot that truyxuat can record it on")
	}

	// ILMD.
	if il, ok := ev["ilmd"].(map[string]any); ok {
		m.ilmd(p+"/ilmd", il, e, c, lots, data)
	}

	if len(data) > 0 {
		e.Data = data
	}
	quantityPtrs := func(refs []LotRef) []string {
		out := make([]string, len(refs))
		for i, r := range refs {
			out[i] = qptr[r.key()]
			if out[i] == "" {
				out[i] = r.Pointer
			}
		}
		return out
	}
	for _, lot := range lots {
		ce := &CapturedEvent{Source: p, Lot: lot, EventID: c.EventID, pointers: map[string]string{}}
		for k, v := range c.pointers {
			ce.pointers[k] = v
		}
		cp := *e
		cp.Data = cloneData(e.Data)
		if e.Type == TransformationEvent {
			ce.Inputs, ce.Outputs = inputs, outputs
			for i, in := range inputs {
				cp.Inputs = append(cp.Inputs, Input{Quantity: quantities[in.key()]})
				ce.pointers[fmt.Sprintf("inputs[%d]", i)] = quantityPtrs(inputs)[i]
			}
			for i, out := range outputs {
				cp.Outputs = append(cp.Outputs, Output{Quantity: quantities[out.key()]})
				ce.pointers[fmt.Sprintf("outputs[%d]", i)] = quantityPtrs(outputs)[i]
			}
		} else {
			cp.Quantity = quantities[lot.key()]
			if ptr := qptr[lot.key()]; ptr != "" {
				ce.pointers["quantity"] = ptr
			}
		}
		ce.Event = &cp
		m.check(ce)
		m.out.Events = append(m.out.Events, ce)
	}
}

// check validates a mapped event as it will be recorded, with stand-ins
// for what only the store knows, and reports problems at their pointers.
func (m *capMapper) check(c *CapturedEvent) {
	e := *c.Event
	e.Cooperative, e.Batch = "capture", "capture"
	e.Inputs = append([]Input(nil), e.Inputs...)
	for i := range e.Inputs {
		e.Inputs[i].Batch = fmt.Sprintf("input-%d", i)
		e.Inputs[i].Hash = Hash{1}
	}
	e.Outputs = append([]Output(nil), e.Outputs...)
	for i := range e.Outputs {
		e.Outputs[i].Batch = fmt.Sprintf("output-%d", i)
	}
	_, err := e.Encode()
	if err == nil {
		return
	}
	for _, f := range flatten(err) {
		ptr, rest := c.Pointer(f.Field)
		reason := f.Reason
		if rest != "" {
			reason = rest + ": " + reason
		}
		if !m.has(ptr, reason) {
			m.errf(ptr, "%s", reason)
		}
	}
}

func (m *capMapper) has(field, reason string) bool {
	for _, f := range m.v.Fields {
		if f.Field == field && f.Reason == reason {
			return true
		}
	}
	return false
}

func flatten(err error) []*FieldError {
	var v ValidationError
	v.add("", err)
	return v.Fields
}

func (m *capMapper) ilmd(p string, il map[string]any, e *Event, c *CapturedEvent, lots []LotRef, data map[string]string) {
	out := &ILMD{}
	keys := make([]string, 0, len(il))
	for k := range il {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var start, end string
	for _, k := range keys {
		ptr := p + "/" + jsonPointerToken(k)
		s, isString := il[k].(string)
		switch k {
		case mdaCountryOfOrigin, mdaExpiry, mdaHarvestStart, mdaHarvestEnd, mdaLotNumber:
			if !isString {
				m.errf(ptr, "must be a string")
				continue
			}
		}
		switch k {
		case mdaCountryOfOrigin:
			out.CountryOfOrigin = s
			c.pointers["ilmd.countryOfOrigin"] = ptr
		case mdaExpiry:
			out.ExpiryDate = m.date(ptr, s)
			c.pointers["ilmd.expiryDate"] = ptr
		case mdaHarvestStart:
			start = m.date(ptr, s)
			c.pointers["ilmd.harvestDate"] = ptr
		case mdaHarvestEnd:
			end = m.date(ptr, s)
		case mdaLotNumber:
			for _, l := range lots {
				if l.Lot != "" && l.Lot != s {
					m.errf(ptr, "the lot number %s differs from the event's %s", quote(s), l)
				}
			}
		default:
			m.ignore(ptr, "this ILMD member is not recorded; truyxuat records country of origin, expiry and harvest dates")
		}
	}
	switch {
	case start == "" && end != "":
		start = end
	case end != "" && end != start:
		data[DataHarvestEndDate] = end
	}
	out.HarvestDate = start
	if *out != (ILMD{}) {
		e.ILMD = out
		c.pointers["ilmd"] = p
	}
}

// date reads a date or the date part of an RFC 3339 time.
func (m *capMapper) date(ptr, s string) string {
	if len(s) >= 10 {
		if _, err := time.Parse(time.DateOnly, s[:10]); err == nil && (len(s) == 10 || s[10] == 'T') {
			return s[:10]
		}
	}
	m.errf(ptr, "%s is not a date YYYY-MM-DD", quote(s))
	return ""
}

func (m *capMapper) quantity(ptr string, q, uom any) *Quantity {
	n, ok := q.(json.Number)
	if !ok {
		m.errf(ptr+"/quantity", "must be a number")
		return nil
	}
	d, err := ParseDecimal(n.String())
	if err != nil {
		m.errf(ptr+"/quantity", "%v", err)
		return nil
	}
	unit := "H87" // EPCIS: a quantity without a unit counts items
	if u, ok := uom.(string); ok {
		unit = u
	}
	if _, ok := Units[unit]; !ok {
		known := make([]string, 0, len(Units))
		for k := range Units {
			known = append(known, k)
		}
		sort.Strings(known)
		m.errf(ptr+"/uom", "truyxuat does not record quantities in %s; use one of %s", quote(unit), strings.Join(known, ", "))
		return nil
	}
	return &Quantity{Value: d, Unit: unit}
}

// lotOf reads an identifier as a lot. A logistic unit is refused with a
// message that says why (its contents are not known here).
func (m *capMapper) lotOf(ptr, s string) (LotRef, bool) {
	ref := LotRef{Pointer: ptr, URI: s}
	fail := func(format string, args ...any) (LotRef, bool) {
		m.errf(ptr, format, args...)
		return LotRef{}, false
	}
	switch {
	case strings.HasPrefix(s, "urn:epc:class:lgtin:"):
		gtin, lot, err := parseLGTIN(strings.TrimPrefix(s, "urn:epc:class:lgtin:"))
		if err != nil {
			return fail("%s: %v", quote(s), err)
		}
		ref.GTIN, ref.Lot = gtin, lot
		return ref, true
	case strings.HasPrefix(s, "urn:epc:id:sgtin:"):
		return fail("%s names one serialised item without its lot; truyxuat records lots: name the lot (urn:epc:class:lgtin:… or a Digital Link …/01/<GTIN>/10/<lot>)", quote(s))
	case strings.HasPrefix(s, "urn:epc:idpat:"):
		return fail("%s is a pattern of many items, not a lot", quote(s))
	case strings.HasPrefix(s, "urn:epc:id:sscc:"):
		return fail("%s is a logistic unit whose lots this document does not state (put them in it with an earlier AggregationEvent)", quote(s))
	case strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://"):
		if m.opts.Base != "" && strings.HasPrefix(s, strings.TrimRight(m.opts.Base, "/")+BatchLinkPrefix) {
			id, err := ParseBatchLink(s)
			if err != nil {
				return fail("%s: %v", quote(s), err)
			}
			ref.BatchID = id
			return ref, true
		}
		dl, err := ParseDigitalLink(s)
		if err != nil {
			return fail("%s is not a GS1 Digital Link truyxuat can read: %v", quote(s), reasonOf(err))
		}
		switch {
		case dl.SSCC != "":
			return fail("%s is a logistic unit whose lots this document does not state (put them in it with an earlier AggregationEvent)", quote(s))
		case dl.GLN != "":
			return fail("%s names a location, not a lot", quote(s))
		case dl.Lot == "" && dl.Serial != "":
			return fail("%s names one serialised item without its lot (AI 10); truyxuat records lots", quote(s))
		case dl.Lot == "":
			return fail("%s names a product but no lot (AI 10); truyxuat records lots", quote(s))
		}
		ref.GTIN, ref.Lot = dl.GTIN, dl.Lot
		return ref, true
	}
	return fail("%s cannot be read as a lot: use a GS1 Digital Link …/01/<GTIN>/10/<lot>, an EPC class URN urn:epc:class:lgtin:…, or this server's …%s<batch id> link", quote(s), BatchLinkPrefix)
}

func reasonOf(err error) string {
	var fe *FieldError
	if errors.As(err, &fe) {
		return fe.Reason
	}
	return err.Error()
}

// parseLGTIN reads the part after urn:epc:class:lgtin: — company prefix,
// indicator digit and item reference, and the lot — as a GTIN-14 and lot.
func parseLGTIN(s string) (gtin, lot string, err error) {
	parts := strings.SplitN(s, ".", 3)
	if len(parts) != 3 {
		return "", "", fmt.Errorf("an LGTIN URN has a company prefix, an item reference and a lot, separated by dots")
	}
	cp, ir, rawLot := parts[0], parts[1], parts[2]
	if !dlIsDigits(cp) || !dlIsDigits(ir) || len(cp)+len(ir) != 13 || len(ir) < 1 {
		return "", "", fmt.Errorf("the company prefix and item reference must be 13 digits together")
	}
	body := ir[:1] + cp + ir[1:]
	gtin = body + string(checkDigit(body))
	lot, err = url.PathUnescape(rawLot)
	if err != nil {
		return "", "", fmt.Errorf("the lot is not correctly percent-encoded")
	}
	if err := ValidateLot(lot); err != nil {
		return "", "", err
	}
	return gtin, lot, nil
}

// certificationFromURI reads a certificationInfo URI as a certification.
func certificationFromURI(s string) (Certification, bool) {
	if c, ok := ParseCertificationURI(s); ok {
		return c, true
	}
	i := strings.LastIndexAny(s, "/:")
	if i < 0 || i == len(s)-1 {
		return Certification{}, false
	}
	scheme, id := s[:i+1], s[i+1:]
	if !isAbsoluteURI(scheme) {
		return Certification{}, false
	}
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	return Certification{Scheme: scheme, ID: id}, true
}

// merge joins two lists of lots, keeping the first mention of each.
func merge(a, b []LotRef) []LotRef {
	seen := map[string]bool{}
	var out []LotRef
	for _, l := range append(a, b...) {
		if !seen[l.key()] {
			seen[l.key()] = true
			out = append(out, l)
		}
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

func cloneData(d map[string]string) map[string]string {
	if d == nil {
		return nil
	}
	out := make(map[string]string, len(d))
	for k, v := range d {
		out[k] = v
	}
	return out
}
