package trace

import (
	"bytes"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"time"
	"unicode/utf8"
)

// RecordKind names what a registry record describes.
type RecordKind string

// The kinds of registry records.
const (
	// KindCooperative is a cooperative's own profile: its name, province
	// and GLN, and the rest of its profile (Cooperative.Profile).
	KindCooperative RecordKind = "cooperative"
	// KindProduct is one of its products: GTIN, names, category, OCOP
	// rating, and its content in each language (Product.Content).
	KindProduct RecordKind = "product"
)

// Record is one signed revision of an entry in a cooperative's registry:
// its own profile, one of its products, or an entry of one of its lists
// (ListKinds: members, plots, certificates, listings; see registry.go). The revisions of one entry form
// a chain like a batch's events (Seq from 0, Prev the hash of the revision
// before), every revision is signed by the cooperative and is an entry of
// the transparency log, so what a page shows about a producer and a
// product is covered by a signature and its history can be checked.
//
// Fields hold the entry's values as strings, under the names the kind
// allows (recordSchemas); a field that is not set is left out.
type Record struct {
	Kind        RecordKind
	ID          string // the entry's id (the cooperative's id for its profile)
	Cooperative string // whose key signs the record
	Seq         uint64 // revision number, from 0
	Prev        Hash   // hash of revision Seq-1; zero for revision 0
	Time        string // when the revision was recorded, written like an event time
	Fields      map[string]string
}

// fieldRule checks one field of a record.
type fieldRule struct {
	required bool
	max      int                  // characters
	check    func(s string) error // optional extra check
}

func ocopStarsRule(s string) error {
	switch s {
	case "3", "4", "5":
		return nil
	}
	return fmt.Errorf("an OCOP rating is 3, 4 or 5 stars, got %s", quote(s))
}

var recordSchemas = map[RecordKind]map[string]fieldRule{
	KindCooperative: {
		"name":     {required: true, max: MaxNameLen},
		"province": {required: true, max: MaxNameLen},
		"gln":      {max: 13, check: ValidateGLN},
	},
	KindProduct: {
		"gtin":       {max: 14, check: ValidateGTIN14},
		"name_vi":    {required: true, max: MaxNameLen},
		"name_en":    {max: MaxNameLen},
		"category":   {required: true, max: MaxNameLen},
		"ocop_stars": {max: 1, check: ocopStarsRule},
	},
}

// RecordFields lists the field names a kind of record may carry, sorted.
func RecordFields(kind RecordKind) []string {
	var out []string
	for k := range recordSchemas[kind] {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Validate checks the record against its kind's fields and truyxuat's limits.
func (r *Record) Validate() error {
	var v ValidationError
	schema, ok := recordSchemas[r.Kind]
	if !ok {
		v.addf("kind", "unknown record kind %s; use cooperative, product, member, plot, certificate or listing", quote(string(r.Kind)))
	}
	v.add("", validateID("id", r.ID))
	v.add("", validateID("cooperative", r.Cooperative))
	if r.Kind == KindCooperative && r.ID != r.Cooperative {
		v.addf("id", "a cooperative's profile is signed by the cooperative itself")
	}
	switch {
	case r.Seq == 0 && !r.Prev.IsZero():
		v.addf("prev", "the first revision of a record has no previous revision")
	case r.Seq > 0 && r.Prev.IsZero():
		v.addf("prev", "revision %d of a record must carry the hash of revision %d", r.Seq, r.Seq-1)
	}
	if t, err := time.Parse(time.RFC3339Nano, r.Time); err != nil {
		v.addf("time", "%s is not an RFC 3339 time such as 2025-08-15T06:30:00+07:00", quote(r.Time))
	} else if _, err := ParseEventTime(r.Time, t.Format("-07:00")); err != nil {
		v.add("", renameField(err, "eventTime", "time"))
	}
	for k, val := range r.Fields {
		rule, known := schema[k]
		if !known {
			if ok {
				v.addf("fields."+k, "a %s record has no field %s", r.Kind, quote(k))
			}
			continue
		}
		if err := ValidateText(k, val, rule.max, true); err != nil {
			v.add("fields", err)
			continue
		}
		if rule.check != nil {
			if err := rule.check(val); err != nil {
				v.add("fields."+k, TrimFieldPrefix(k, err))
			}
		}
	}
	for k, rule := range schema {
		if _, set := r.Fields[k]; rule.required && !set {
			v.addf("fields."+k, "is required")
		}
	}
	if check := recordChecks[r.Kind]; check != nil && len(v.Fields) == 0 {
		check(r.Fields, &v)
	}
	return v.err()
}

// Encode returns the canonical bytes of a valid record: a JSON object
// written by the rules of the event encoding (package documentation), with
// the members cooperative, fields {…}, id, kind, prev, seq, time and v.
func (r *Record) Encode() ([]byte, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	return r.appendCanonical(make([]byte, 0, 256)), nil
}

func (r *Record) appendCanonical(b []byte) []byte {
	w := &cw{b: b}
	w.open()
	w.str("cooperative", r.Cooperative)
	if len(r.Fields) > 0 {
		keys := make([]string, 0, len(r.Fields))
		for k := range r.Fields {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		w.key("fields")
		w.open()
		for _, k := range keys {
			w.str(k, r.Fields[k])
		}
		w.close()
	}
	w.str("id", r.ID)
	w.str("kind", string(r.Kind))
	if r.Seq > 0 {
		w.str("prev", r.Prev.String())
	}
	w.key("seq")
	w.b = strconv.AppendUint(w.b, r.Seq, 10)
	w.str("time", r.Time)
	w.key("v")
	w.b = strconv.AppendInt(w.b, CanonicalVersion, 10)
	w.close()
	return w.b
}

type wireRecord struct {
	Cooperative string            `json:"cooperative"`
	Fields      map[string]string `json:"fields"`
	ID          string            `json:"id"`
	Kind        string            `json:"kind"`
	Prev        string            `json:"prev"`
	Seq         *uint64           `json:"seq"`
	Time        string            `json:"time"`
	V           *int              `json:"v"`
}

// DecodeRecord parses canonical record bytes, accepting only the bytes
// Encode would write. Event bytes are never a record, nor record bytes an
// event: each decoder refuses the other's members.
func DecodeRecord(canonical []byte) (*Record, error) {
	if len(canonical) > MaxEventSize {
		return nil, fmt.Errorf("decode record: %d bytes, at most %d", len(canonical), MaxEventSize)
	}
	if !utf8.Valid(canonical) {
		return nil, fmt.Errorf("decode record: not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(canonical))
	dec.DisallowUnknownFields()
	var w wireRecord
	if err := dec.Decode(&w); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if dec.More() {
		return nil, fmt.Errorf("decode record: trailing data")
	}
	if w.V == nil || *w.V != CanonicalVersion {
		return nil, fmt.Errorf("decode record: unsupported canonical version (want v=%d)", CanonicalVersion)
	}
	if w.Seq == nil {
		return nil, fmt.Errorf("decode record: seq is missing")
	}
	r := &Record{Kind: RecordKind(w.Kind), ID: w.ID, Cooperative: w.Cooperative, Seq: *w.Seq, Time: w.Time, Fields: w.Fields}
	if w.Prev != "" {
		var err error
		if r.Prev, err = ParseHash(w.Prev); err != nil {
			return nil, fmt.Errorf("decode record: prev: %w", err)
		}
	}
	if err := r.Validate(); err != nil {
		return nil, fmt.Errorf("decode record: %w", err)
	}
	if again := r.appendCanonical(nil); !bytes.Equal(again, canonical) {
		return nil, fmt.Errorf("decode record: bytes are not in canonical form")
	}
	return r, nil
}

// SignedRecord is a record with its canonical bytes, their hash, the
// Ed25519 signature over them and the signer's public key.
type SignedRecord struct {
	Record    *Record
	Body      []byte
	Hash      Hash
	Signature []byte
	Signer    []byte
}

// PrepareRecord validates and encodes r, leaving the signature to SealRecord.
func PrepareRecord(r *Record) (*SignedRecord, error) {
	body, err := r.Encode()
	if err != nil {
		return nil, err
	}
	return &SignedRecord{Record: r, Body: body, Hash: HashEvent(body)}, nil
}

// SealRecord signs a record made by PrepareRecord.
func (s *Signer) SealRecord(sr *SignedRecord) {
	sig := s.sign(sr.Body)
	sr.Signature, sr.Signer = sig, s.pub
}

// LogEntry returns the record's entry in the transparency log, formed as
// an event's is (see LogEntry) from the record's hash and signature.
func (sr *SignedRecord) LogEntry() []byte { return logEntry(sr.Hash, sr.Signature, sr.Signer) }

// VerifyRecords checks the revisions of one registry entry in order, as
// VerifyHistory checks a batch: canonical bytes, hashes, numbering, links,
// that each is of the given kind and id, signed by a key of its
// cooperative (keys may be nil to skip that check) with a valid signature.
// A failure is a *VerifyError whose Index is the revision's position.
func VerifyRecords(kind RecordKind, id string, revs []*SignedRecord, keys KeySet) error {
	var prev Hash
	for i, sr := range revs {
		fail := func(r VerifyReason, format string, args ...any) error {
			return &VerifyError{Index: i, Hash: sr.Hash.String(), Reason: r, Detail: fmt.Sprintf(format, args...), Record: string(kind) + " " + id}
		}
		r, err := DecodeRecord(sr.Body)
		if err != nil {
			return fail(ReasonMalformed, "%v", err)
		}
		if h := HashEvent(sr.Body); h != sr.Hash {
			return fail(ReasonBadHash, "the bytes hash to %s", h)
		}
		if r.Kind != kind || r.ID != id {
			return fail(ReasonBrokenLink, "the record is %s %s, not %s %s", r.Kind, r.ID, kind, id)
		}
		if r.Seq != uint64(i) {
			return fail(ReasonWrongOrder, "the record says it is revision %d, but it is at position %d", r.Seq, i)
		}
		if r.Prev != prev {
			return fail(ReasonBrokenLink, "the revision links to %s, but the revision before it is %s", r.Prev, prev)
		}
		sr.Record = r
		if keys != nil && !containsKey(keys(r.Cooperative), sr.Signer) {
			return fail(ReasonUnknownKey, "key %s is not a key of cooperative %s", KeyID(sr.Signer), r.Cooperative)
		}
		if !verifySignature(sr.Signer, sr.Body, sr.Signature) {
			return fail(ReasonBadSignature, "the Ed25519 signature does not match the record's bytes and the signer's key %s", KeyID(sr.Signer))
		}
		prev = sr.Hash
	}
	return nil
}

// OpenRecord decodes one revision and checks its signature, without the
// chain before it: what a page needs to trust the newest revision it shows.
func OpenRecord(body, sig, signer []byte) (*SignedRecord, error) {
	r, err := DecodeRecord(body)
	h := HashEvent(body)
	if err != nil {
		return nil, &VerifyError{Hash: h.String(), Reason: ReasonMalformed, Detail: err.Error()}
	}
	if len(signer) != PublicKeySize || !verifySignature(signer, body, sig) {
		return nil, &VerifyError{Hash: h.String(), Reason: ReasonBadSignature, Detail: "the Ed25519 signature does not match the record's bytes", Record: string(r.Kind) + " " + r.ID}
	}
	return &SignedRecord{Record: r, Body: body, Hash: h, Signature: sig, Signer: signer}, nil
}

// CooperativeRecordFields are the fields of a cooperative's profile record:
// its name, province and GLN, and its Profile.
func CooperativeRecordFields(c *Cooperative) map[string]string {
	f := map[string]string{}
	for k, v := range c.Profile {
		f[k] = v
	}
	f["name"], f["province"], f["gln"] = c.Name, c.Province, c.GLN
	return compactFields(f)
}

// ProductRecordFields are the fields of a product's record: its GTIN,
// names, category and OCOP rating, and its Content.
func ProductRecordFields(p *Product) map[string]string {
	f := map[string]string{}
	for k, v := range p.Content {
		f[k] = v
	}
	f["gtin"], f["name_vi"], f["name_en"], f["category"] = p.GTIN, p.NameVI, p.NameEN, p.Category
	if p.OCOPStars != 0 {
		f["ocop_stars"] = strconv.Itoa(p.OCOPStars)
	}
	return compactFields(f)
}

// DiffFields names the first field, in name order, whose value differs
// between two field sets ("" when they agree), and both values.
func DiffFields(want, got map[string]string) (field, wantV, gotV string) {
	names := map[string]bool{}
	for k := range want {
		names[k] = true
	}
	for k := range got {
		names[k] = true
	}
	sorted := make([]string, 0, len(names))
	for k := range names {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)
	for _, k := range sorted {
		if want[k] != got[k] {
			return k, want[k], got[k]
		}
	}
	return "", "", ""
}

func compactFields(f map[string]string) map[string]string {
	for k, v := range f {
		if v == "" {
			delete(f, k)
		}
	}
	return f
}
