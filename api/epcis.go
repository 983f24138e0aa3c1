package api

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"math/bits"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/epcis"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// EPCIS 2.0 export and capture.
//
// GET /api/v1/epcis/events exports signed events as an EPCIS 2.0 JSON-LD
// document (trace.ExportEPCIS describes the mapping), filtered by batch,
// cooperative and event time, page by page: a page holds at most limit
// events and about epcisMaxPageBytes of JSON, and reads at most
// epcisMaxScan batches; the next page's URL is in the Link header and in
// the document's tx:next. Every page of one export carries the checkpoint
// of the first page, so the inclusion proofs of all pages lead to the same
// root. Every batch is verified (chain and signatures) before any of its
// events is exported.
//
// POST /api/v1/epcis/capture records a partner's EPCIS 2.0 document as
// signed events of the caller's cooperative: the document is checked
// against GS1's schema (format assertions on), mapped
// (trace.MapEPCISCapture), its lots looked up, and then recorded with one
// store.AppendAll, so it is recorded whole or not at all. A refused
// document is answered with every problem, each at its JSON pointer.

// Limits of the EPCIS endpoints.
const (
	epcisDefaultLimit = 500
	epcisMaxLimit     = 2000
	epcisMaxPageBytes = 8 << 20
	epcisMaxScan      = 500
	mimeJSONLD        = "application/ld+json"
)

// epcisRoutes registers the EPCIS routes on the public and cooperative
// groups of /api/v1.
func (s *Server) epcisRoutes(public, coop *echo.Group) {
	public.GET("/epcis/events", s.exportEPCIS)
	coop.POST("/epcis/capture", s.captureEPCIS)
}

// publicBase is the base URL identifiers are built on.
func (s *Server) publicBase(c echo.Context) string {
	if s.cfg.PublicURL != "" {
		return s.cfg.PublicURL
	}
	return "http://" + c.Request().Host
}

// exportCursor is where the next page of an export starts: event seq of
// batch, with the checkpoint size the first page used.
type exportCursor struct {
	batch string
	seq   uint64
	size  uint64
}

func (k exportCursor) String() string { return fmt.Sprintf("%s.%d.%d", k.batch, k.seq, k.size) }

func parseCursor(s string) (*exportCursor, error) {
	bad := &trace.FieldError{Field: "after", Reason: "is not a position this server gave out; follow the tx:next link of the previous page"}
	parts := strings.Split(s, ".")
	if len(parts) != 3 || !trace.ValidID(parts[0]) {
		return nil, bad
	}
	seq, err1 := strconv.ParseUint(parts[1], 10, 64)
	size, err2 := strconv.ParseUint(parts[2], 10, 64)
	if err1 != nil || err2 != nil {
		return nil, bad
	}
	return &exportCursor{batch: parts[0], seq: seq, size: size}, nil
}

type exportQuery struct {
	batch, coop string
	from, to    time.Time // zero: unbounded
	limit       int
	cur         *exportCursor
}

func parseExportQuery(c echo.Context) (*exportQuery, error) {
	var v trace.ValidationError
	q := &exportQuery{batch: c.QueryParam("batch"), coop: c.QueryParam("cooperative"), limit: epcisDefaultLimit}
	for _, p := range []struct{ name, val string }{{"batch", q.batch}, {"cooperative", q.coop}} {
		if p.val != "" && !trace.ValidID(p.val) {
			v.Fields = append(v.Fields, &trace.FieldError{Field: p.name, Reason: fmt.Sprintf("%q is not an id", p.val)})
		}
	}
	for _, p := range []struct {
		name string
		t    *time.Time
	}{{"from", &q.from}, {"to", &q.to}} {
		s := c.QueryParam(p.name)
		if s == "" {
			continue
		}
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			v.Fields = append(v.Fields, &trace.FieldError{Field: p.name, Reason: fmt.Sprintf("%q is not an RFC 3339 time such as 2025-08-01T00:00:00+07:00 (in a URL, write + as %%2B)", s)})
			continue
		}
		*p.t = t
	}
	if !q.from.IsZero() && !q.to.IsZero() && !q.from.Before(q.to) {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "to", Reason: "must be after from (from is inclusive, to exclusive)"})
	}
	if l := c.QueryParam("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 || n > epcisMaxLimit {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "limit", Reason: fmt.Sprintf("must be a number from 1 to %d; follow the tx:next link for more", epcisMaxLimit)})
		}
		q.limit = n
	}
	if a := c.QueryParam("after"); a != "" {
		cur, err := parseCursor(a)
		if err != nil {
			v.Fields = append(v.Fields, err.(*trace.FieldError))
		} else if q.batch != "" && cur.batch != q.batch {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "after", Reason: "belongs to an export of another batch"})
		}
		q.cur = cur
	}
	if len(v.Fields) > 0 {
		return nil, &v
	}
	return q, nil
}

// exporter reads and converts the events of one page.
type exporter struct {
	s       *Server
	q       *exportQuery
	base    string
	refs    map[string]trace.BatchRef
	keys    map[string][][]byte
	events  []*trace.EPCISEvent
	stored  []*store.StoredEvent
	bytes   int
	scanned int
	next    *exportCursor
	proofSz int // estimated bytes of one inclusion proof
}

func (x *exporter) ref(id string) (trace.BatchRef, error) {
	if r, ok := x.refs[id]; ok {
		return r, nil
	}
	bt, err := x.s.db.Batch(id)
	if err != nil {
		return trace.BatchRef{}, err
	}
	p, err := x.s.db.Product(bt.ProductID)
	if err != nil {
		return trace.BatchRef{}, err
	}
	r := trace.BatchRef{ID: bt.ID, GTIN: p.GTIN, Lot: bt.Lot}
	x.refs[id] = r
	return r, nil
}

func (x *exporter) coopKeys(id string) ([][]byte, error) {
	if k, ok := x.keys[id]; ok {
		return k, nil
	}
	coop, err := x.s.db.Cooperative(id)
	if err != nil {
		return nil, err
	}
	keys, _, err := x.s.chainKeys(coop)
	if err != nil {
		return nil, err
	}
	x.keys[id] = keys
	return keys, nil
}

// batch adds the events of a batch from seq on; it reports false once the
// page is full, having set next.
func (x *exporter) batch(bt *trace.Batch, from uint64) (bool, error) {
	x.scanned++
	events, err := x.s.db.History(bt.ID)
	if err != nil {
		return false, err
	}
	keys, err := x.coopKeys(bt.CooperativeID)
	if err != nil {
		return false, err
	}
	signed := make([]*trace.SignedEvent, len(events))
	for i, st := range events {
		signed[i] = st.SignedEvent
	}
	if err := trace.VerifyHistory(bt.ID, signed, func(string) [][]byte { return keys }); err != nil {
		return false, fmt.Errorf("batch %s: %w", bt.ID, err)
	}
	if from > uint64(len(events)) {
		from = uint64(len(events))
	}
	for _, st := range events[from:] {
		e := st.Event
		if t := e.Time(); !x.q.from.IsZero() && t.Before(x.q.from) || !x.q.to.IsZero() && !t.Before(x.q.to) {
			continue
		}
		refs := map[string]trace.BatchRef{}
		for _, id := range batchesOf(e) {
			r, err := x.ref(id)
			if err != nil {
				return false, fmt.Errorf("event %s: %w", st.Hash, err)
			}
			refs[id] = r
		}
		ev, err := trace.ExportEPCIS(st.SignedEvent, x.base+"/api/v1/events/"+st.Hash.String(), x.base, refs)
		if err != nil {
			return false, err
		}
		ev.RecordTime = st.ReceivedAt.UTC().Format(time.RFC3339Nano)
		if st.LogEntry != nil {
			idx := st.LogIndex
			ev.LogIndex, ev.LogEntry = &idx, st.LogEntry
		}
		raw, err := json.Marshal(ev)
		if err != nil {
			return false, err
		}
		n := len(raw) + x.proofSz + 1
		if len(x.events) == x.q.limit || len(x.events) > 0 && x.bytes+n > epcisMaxPageBytes {
			x.next = &exportCursor{batch: bt.ID, seq: e.Seq}
			return false, nil
		}
		x.events = append(x.events, ev)
		x.stored = append(x.stored, st)
		x.bytes += n
	}
	return true, nil
}

func batchesOf(e *trace.Event) []string {
	ids := []string{e.Batch}
	for _, in := range e.Inputs {
		ids = append(ids, in.Batch)
	}
	for _, out := range e.Outputs {
		ids = append(ids, out.Batch)
	}
	return ids
}

// scan fills the page.
func (x *exporter) scan() error {
	q := x.q
	if q.batch != "" {
		bt, err := x.s.db.Batch(q.batch)
		if err != nil {
			return err
		}
		if q.coop != "" && bt.CooperativeID != q.coop {
			return nil
		}
		var from uint64
		if q.cur != nil {
			from = q.cur.seq
		}
		_, err = x.batch(bt, from)
		return err
	}
	if q.coop != "" {
		if _, err := x.s.db.Cooperative(q.coop); err != nil {
			return err
		}
	}
	after := ""
	if q.cur != nil {
		bt, err := x.s.db.Batch(q.cur.batch)
		if err != nil {
			return &trace.FieldError{Field: "after", Reason: "names a batch that does not exist"}
		}
		if q.coop == "" || bt.CooperativeID == q.coop {
			if more, err := x.batch(bt, q.cur.seq); err != nil || !more {
				return err
			}
		}
		after = bt.ID
	}
	for {
		page, err := x.s.db.Batches(q.coop, after, 200)
		if err != nil {
			return err
		}
		for _, bt := range page.Batches {
			if x.scanned >= epcisMaxScan {
				x.next = &exportCursor{batch: bt.ID}
				return nil
			}
			if more, err := x.batch(bt, 0); err != nil || !more {
				return err
			}
		}
		if page.Next == "" {
			return nil
		}
		after = page.Next
	}
}

func (s *Server) exportEPCIS(c echo.Context) error {
	q, err := parseExportQuery(c)
	if err != nil {
		return err
	}
	x := &exporter{s: s, q: q, base: s.publicBase(c), refs: map[string]trace.BatchRef{}, keys: map[string][][]byte{}}
	// Pin the checkpoint: the first page's, for every page.
	var size uint64
	var note []byte
	if err := s.db.ViewLog(func(v store.LogView) error {
		if q.cur != nil {
			if q.cur.size > v.Size() {
				return &trace.FieldError{Field: "after", Reason: "names a log size this server has not reached"}
			}
			if q.cur.size > 0 {
				size, note = q.cur.size, v.Checkpoint(q.cur.size)
			}
			return nil
		}
		size, note = s.PublishedCheckpoint(v)
		return nil
	}); err != nil {
		return err
	}
	if note == nil {
		size = 0
	}
	if size > 1 {
		x.proofSz = bits.Len64(size-1) * 47
	}
	if err := x.scan(); err != nil {
		return err
	}
	if note != nil {
		if err := s.db.ViewLog(func(v store.LogView) error {
			for i, st := range x.stored {
				if st.LogEntry == nil || st.LogIndex >= size {
					continue
				}
				p, err := tlog.ProveInclusion(v, st.LogIndex, size)
				if err != nil {
					return err
				}
				x.events[i].InclusionProof = make([]string, len(p))
				for j, h := range p {
					x.events[i].InclusionProof[j] = h.String()
				}
			}
			return nil
		}); err != nil {
			return err
		}
	}
	doc := &trace.EPCISDocument{
		Context: trace.EPCISDocumentContext(), Type: "EPCISDocument", SchemaVersion: trace.EPCISSchemaVersion,
		CreationDate: s.now().In(s.cfg.Location).Format(time.RFC3339), Checkpoint: string(note),
		EPCISBody: trace.EPCISBody{EventList: x.events},
	}
	if doc.EPCISBody.EventList == nil {
		doc.EPCISBody.EventList = []*trace.EPCISEvent{}
	}
	if x.next != nil {
		x.next.size = size
		u := *c.Request().URL
		vals := u.Query()
		vals.Set("after", x.next.String())
		next := u.Path + "?" + vals.Encode()
		doc.Next = next
		c.Response().Header().Set("Link", "<"+next+`>; rel="next"`)
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(doc); err != nil {
		return err
	}
	ctype := echo.MIMEApplicationJSON
	if strings.Contains(c.Request().Header.Get(echo.HeaderAccept), mimeJSONLD) {
		ctype = mimeJSONLD
	}
	c.Response().Header().Set(echo.HeaderCacheControl, "no-cache")
	c.Response().Header().Set("Vary", "Accept")
	return c.Blob(http.StatusOK, ctype, buf.Bytes())
}

// CaptureResult is the answer of POST /api/v1/epcis/capture.
type CaptureResult struct {
	// Recorded is the number of events recorded.
	Recorded int `json:"recorded"`
	// Events are the recorded events, in the order of the document.
	Events []CapturedEvent `json:"events"`
	// Ignored lists members of the document that were not recorded, and why.
	Ignored []FieldProblem `json:"ignored,omitempty"`
}

// CapturedEvent is one event a capture recorded.
type CapturedEvent struct {
	// Source is the JSON pointer of the document's event it comes from.
	Source string `json:"source"`
	Batch  string `json:"batch"`
	Seq    uint64 `json:"seq"`
	Hash   string `json:"hash"`
}

// documentError refuses a whole document, listing every problem.
type documentError struct {
	msg string
	ve  *trace.ValidationError
}

func (e *documentError) Error() string { return e.msg }
func (e *documentError) Unwrap() error { return e.ve }

func refuseDocument(what string, ve *trace.ValidationError) error {
	n := len(ve.Fields)
	plural := "s"
	if n == 1 {
		plural = ""
	}
	return &documentError{msg: fmt.Sprintf("%s (%d problem%s, listed in errors); nothing was recorded", what, n, plural), ve: ve}
}

func (s *Server) captureEPCIS(c echo.Context) error {
	k := caller(c)
	if k.Role != store.RoleCooperative {
		return echo.NewHTTPError(http.StatusForbidden, "capture with the cooperative's own API key: the events are recorded and signed as that cooperative's")
	}
	body, err := readJSON(c, jsonMediaType, "application/ld+json")
	if err != nil {
		return err
	}
	val, err := epcis.Decode(body)
	if err != nil {
		return fmt.Errorf("the body is not valid JSON: %v: %w", err, errBadRequest)
	}
	if problems := epcis.Default().ValidateValue(val); len(problems) > 0 {
		ve := &trace.ValidationError{}
		for _, p := range problems {
			ve.Fields = append(ve.Fields, &trace.FieldError{Field: p.Pointer, Reason: p.Detail})
		}
		return refuseDocument("the document does not conform to the EPCIS 2.0 JSON Schema", ve)
	}
	coop, err := s.db.Cooperative(k.CooperativeID)
	if err != nil {
		return err
	}
	sum := sha256.Sum256(body)
	capt, err := trace.MapEPCISCapture(body, trace.CaptureOptions{Base: s.publicBase(c), DocumentSHA256: hex.EncodeToString(sum[:]), MaxEvents: trace.MaxCaptureEvents})
	var ve *trace.ValidationError
	if errors.As(err, &ve) {
		return refuseDocument("the document is valid EPCIS 2.0 but cannot be recorded", ve)
	} else if err != nil {
		return err
	}
	signer, err := s.SignerFor(coop)
	if err != nil {
		return err
	}
	reqs, err := s.resolveCapture(capt, coop, signer, k.ID)
	if err != nil {
		return err
	}
	if len(reqs) > store.MaxAppendAll {
		return refuseDocument("the document is too large to record at once", &trace.ValidationError{Fields: []*trace.FieldError{{Field: "/epcisBody/eventList",
			Reason: fmt.Sprintf("it maps to %d events; at most %d are recorded at once, so split it", len(reqs), store.MaxAppendAll)}}})
	}
	stored, err := s.db.AppendAll(c.Request().Context(), reqs)
	if err != nil {
		return err
	}
	res := CaptureResult{Recorded: len(stored), Events: make([]CapturedEvent, len(stored))}
	for i, st := range stored {
		res.Events[i] = CapturedEvent{Source: capt.Events[i].Source, Batch: st.Event.Batch, Seq: st.Event.Seq, Hash: st.Hash.String()}
	}
	for _, f := range capt.Ignored {
		res.Ignored = append(res.Ignored, FieldProblem{Field: f.Field, Detail: f.Reason})
	}
	return c.JSON(http.StatusCreated, res)
}

// resolveCapture finds the batches a mapped document names and checks
// that the cooperative may record on them, reporting every problem.
func (s *Server) resolveCapture(capt *trace.Capture, coop *trace.Cooperative, signer *trace.Signer, keyID string) ([]store.AppendRequest, error) {
	var v trace.ValidationError
	fail := func(ptr, format string, args ...any) {
		f := &trace.FieldError{Field: ptr, Reason: fmt.Sprintf(format, args...)}
		for _, g := range v.Fields {
			if *g == *f {
				return
			}
		}
		v.Fields = append(v.Fields, f)
	}
	batches := map[string]*trace.Batch{}
	lookup := func(l trace.LotRef) *trace.Batch {
		key := l.GTIN + "/" + l.Lot + "/" + l.BatchID
		if bt, ok := batches[key]; ok {
			return bt
		}
		var bt *trace.Batch
		var err error
		if l.BatchID != "" {
			bt, err = s.db.Batch(l.BatchID)
		} else {
			bt, err = s.db.BatchByLot(l.GTIN, l.Lot)
		}
		switch {
		case errors.Is(err, trace.ErrNotFound):
			fail(l.Pointer, "there is no %s here; register the product and the batch before capturing its events", l)
			return nil
		case err != nil:
			fail(l.Pointer, "%s could not be read", l)
			s.log.Error("capture: batch lookup", "error", err)
			return nil
		}
		batches[key] = bt
		return bt
	}
	// Event ids already captured on a batch, to refuse a second capture
	// of the same document.
	captured := map[string]map[string]string{}
	capturedIDs := func(batchID string) map[string]string {
		if m, ok := captured[batchID]; ok {
			return m
		}
		m := map[string]string{}
		if hist, err := s.db.History(batchID); err == nil {
			for _, st := range hist {
				if id := st.Event.Data[trace.DataEPCISEventID]; id != "" {
					m[id] = fmt.Sprintf("event %d of batch %s", st.Event.Seq, batchID)
				}
			}
		}
		captured[batchID] = m
		return m
	}
	started := map[string]bool{} // batches this document records on
	var reqs []store.AppendRequest
	for _, ce := range capt.Events {
		bt := lookup(ce.Lot)
		if bt == nil {
			continue
		}
		if bt.CooperativeID != coop.ID {
			fail(ce.Lot.Pointer, "%s is batch %s of cooperative %s; a cooperative captures events only of its own batches", ce.Lot, bt.ID, bt.CooperativeID)
			continue
		}
		e := *ce.Event
		e.Cooperative, e.Batch = coop.ID, bt.ID
		e.Inputs = append([]trace.Input(nil), ce.Event.Inputs...)
		e.Outputs = append([]trace.Output(nil), ce.Event.Outputs...)
		ok := true
		for i, in := range ce.Inputs {
			ib := lookup(in)
			if ib == nil {
				ok = false
				continue
			}
			e.Inputs[i].Batch = ib.ID
			if ib.CooperativeID != coop.ID {
				fail(in.Pointer, "%s is batch %s of cooperative %s; a transformation takes only the capturing cooperative's own lots as inputs", in, ib.ID, ib.CooperativeID)
				ok = false
				continue
			}
			if ib.ID == bt.ID {
				fail(in.Pointer, "%s is both an input and an output of the transformation", in)
				ok = false
				continue
			}
			if n, _, err := s.db.Head(ib.ID); err == nil && n == 0 && !started[ib.ID] {
				fail(in.Pointer, "%s (batch %s) has no events yet, so the transformation has nothing to link to; record its history first", in, ib.ID)
				ok = false
			}
		}
		for i, out := range ce.Outputs {
			if ob := lookup(out); ob != nil {
				e.Outputs[i].Batch = ob.ID
			} else {
				ok = false
			}
		}
		if ce.EventID != "" {
			ids := capturedIDs(bt.ID)
			if where, dup := ids[ce.EventID]; dup {
				fail(ce.Source+"/eventID", "event %s was already captured as %s", ce.EventID, where)
				ok = false
			} else {
				ids[ce.EventID] = "an earlier event of this document"
			}
		}
		if !ok {
			continue
		}
		started[bt.ID] = true
		reqs = append(reqs, store.AppendRequest{Event: &e, Signer: signer, KeyID: keyID})
	}
	if len(v.Fields) > 0 {
		return nil, refuseDocument("the document names batches that cannot take its events", &v)
	}
	return reqs, nil
}
