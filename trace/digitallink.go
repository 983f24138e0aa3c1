package trace

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// GS1 Digital Link URIs (GS1 Digital Link URI Syntax 1.x) are built and
// parsed here and nowhere else.
//
// A Digital Link names one thing by its GS1 primary key, written in the path
// with numeric application identifiers (AIs):
//
//	/01/<GTIN-14>[/22/<variant>][/10/<lot>][/21/<serial>]   a trade item
//	/414/<GLN>[/254/<extension>]                            a location
//	/00/<SSCC>                                              a logistic unit
//
// and carries data attributes in the query string (?17=251015&7007=250815).
// Values are percent-encoded: every byte other than the RFC 3986 unreserved
// characters A–Z a–z 0–9 - . _ ~ is written as %XX. A '+' in a query is a
// literal plus sign, never a space. Convenience names such as /gtin/ are not
// accepted.
//
// Batches without a GTIN use truyxuat's own short form /b/<batch id> (see
// BatchLinkPath); it is not a GS1 Digital Link.

// AIValue is one GS1 element: an application identifier and its value,
// unencoded ("10", "TL/1").
type AIValue struct {
	AI    string
	Value string
}

// QueryParam is a query parameter of a Digital Link that is not a GS1 AI,
// such as linkType or the label signature s. A resolver must keep these.
type QueryParam struct {
	Key   string
	Value string
}

// DigitalLink is a GS1 Digital Link: exactly one primary key (GTIN, GLN or
// SSCC) with its key qualifiers, data attributes and other query
// parameters. All values are unencoded. The zero value is not valid; build
// one with DigitalLinkFromAIs, ParseDigitalLink or by filling the fields
// and calling Validate.
type DigitalLink struct {
	GTIN    string // AI 01: GTIN-14 (14 digits, zero-padded)
	Variant string // AI 22: consumer product variant (qualifier of 01)
	Lot     string // AI 10: batch or lot number (qualifier of 01)
	Serial  string // AI 21: serial number (qualifier of 01)

	GLN          string // AI 414: location number (13 digits)
	GLNExtension string // AI 254: GLN extension component (qualifier of 414)

	SSCC string // AI 00: serial shipping container code (18 digits)

	// Attributes are the data attributes of the query string (17 expiry,
	// 13 pack date, 15 best before, 11 production date, 7007 harvest date,
	// 422 country of origin, 3103 net weight …) in the order given. AIs
	// that truyxuat does not know are kept as given.
	Attributes []AIValue
	// Params are the other query parameters, in the order given; they are
	// written after the attributes.
	Params []QueryParam
}

// Primary key and qualifier AIs, in the order GS1 requires in the path.
const (
	aiSSCC    = "00"
	aiGTIN    = "01"
	aiLot     = "10"
	aiSerial  = "21"
	aiVariant = "22"
	aiGLN     = "414"
	aiGLNExt  = "254"
	// AIHarvestDate is GS1's harvest date, YYMMDD or a YYMMDDYYMMDD range.
	AIHarvestDate = "7007"
)

// dlQualifierOrder lists the key qualifiers each primary key accepts, in
// the order they must appear in the path.
var dlQualifierOrder = map[string][]string{
	aiGTIN: {aiVariant, aiLot, aiSerial},
	aiGLN:  {aiGLNExt},
	aiSSCC: nil,
}

// dlConvenienceAlphas are the short names of GS1 Digital Link 1.0's
// "convenience alphas", which GS1 has withdrawn and truyxuat refuses.
var dlConvenienceAlphas = map[string]string{
	"gtin": "01", "lot": "10", "ser": "21", "cpv": "22", "gln": "414",
	"glnx": "254", "sscc": "00", "exp": "17", "bbd": "15", "pkd": "13",
	"prd": "11", "grai": "8003", "giai": "8004", "gsrn": "8018",
	"gsrnp": "8017", "gdti": "253", "gcn": "255", "ginc": "401",
	"gsin": "402", "itip": "8006", "cpid": "8010", "gmn": "8013",
	"pgln": "417", "srin": "8019",
}

// DigitalLinkFromAIs builds a Digital Link from GS1 elements given in any
// order: exactly one primary key (01, 414 or 00), its key qualifiers (22,
// 10, 21 for a GTIN; 254 for a GLN) and data attributes, which keep the
// order given. A GTIN must already have 14 digits (see NormalizeGTIN).
func DigitalLinkFromAIs(ais []AIValue) (DigitalLink, error) {
	var d DigitalLink
	seen := make(map[string]bool, len(ais))
	for _, e := range ais {
		if seen[e.AI] {
			return DigitalLink{}, &FieldError{Field: "ai", Reason: fmt.Sprintf("AI (%s) is given twice", e.AI)}
		}
		seen[e.AI] = true
		if e.Value == "" {
			return DigitalLink{}, &FieldError{Field: "ai", Reason: fmt.Sprintf("AI (%s) has an empty value", e.AI)}
		}
		switch e.AI {
		case aiGTIN:
			d.GTIN = e.Value
		case aiVariant:
			d.Variant = e.Value
		case aiLot:
			d.Lot = e.Value
		case aiSerial:
			d.Serial = e.Value
		case aiGLN:
			d.GLN = e.Value
		case aiGLNExt:
			d.GLNExtension = e.Value
		case aiSSCC:
			d.SSCC = e.Value
		default:
			d.Attributes = append(d.Attributes, e)
		}
	}
	if err := d.Validate(); err != nil {
		return DigitalLink{}, err
	}
	return d, nil
}

// AIs returns the GS1 elements of d: the primary key, its qualifiers in path
// order, then the data attributes.
func (d DigitalLink) AIs() []AIValue {
	var out []AIValue
	add := func(ai, v string) {
		if v != "" {
			out = append(out, AIValue{ai, v})
		}
	}
	add(aiGTIN, d.GTIN)
	add(aiVariant, d.Variant)
	add(aiLot, d.Lot)
	add(aiSerial, d.Serial)
	add(aiGLN, d.GLN)
	add(aiGLNExt, d.GLNExtension)
	add(aiSSCC, d.SSCC)
	return append(out, d.Attributes...)
}

// Attribute returns the value of the data attribute ai, if present.
func (d DigitalLink) Attribute(ai string) (string, bool) {
	for _, a := range d.Attributes {
		if a.AI == ai {
			return a.Value, true
		}
	}
	return "", false
}

// SetAttribute sets the data attribute ai, replacing its value if present
// and appending it otherwise. It does not validate; Validate and URI do.
func (d *DigitalLink) SetAttribute(ai, value string) {
	for i := range d.Attributes {
		if d.Attributes[i].AI == ai {
			d.Attributes[i].Value = value
			return
		}
	}
	d.Attributes = append(d.Attributes, AIValue{ai, value})
}

// Param returns the value of the first non-AI query parameter named key.
func (d DigitalLink) Param(key string) (string, bool) {
	for _, p := range d.Params {
		if p.Key == key {
			return p.Value, true
		}
	}
	return "", false
}

// SetParam sets the non-AI query parameter key to value: the first
// occurrence is replaced and any others removed, or it is appended.
func (d *DigitalLink) SetParam(key, value string) {
	out := d.Params[:0:0]
	done := false
	for _, p := range d.Params {
		if p.Key != key {
			out = append(out, p)
		} else if !done {
			out = append(out, QueryParam{key, value})
			done = true
		}
	}
	if !done {
		out = append(out, QueryParam{key, value})
	}
	d.Params = out
}

// Validate checks d against the GS1 rules: one primary key with a valid
// check digit, qualifiers that belong to it, lot/serial/variant/extension
// of at most 20 characters of GS1 character set 82, and well-formed data
// attributes.
func (d DigitalLink) Validate() error {
	keys := 0
	for _, k := range []string{d.GTIN, d.GLN, d.SSCC} {
		if k != "" {
			keys++
		}
	}
	if keys != 1 {
		return &FieldError{Field: "primary_key", Reason: fmt.Sprintf("a Digital Link has exactly one primary key (GTIN 01, GLN 414 or SSCC 00), got %d", keys)}
	}
	switch {
	case d.GTIN != "":
		if err := dlValidateGTIN(d.GTIN); err != nil {
			return err
		}
		if d.GLNExtension != "" {
			return &FieldError{Field: "gln_extension", Reason: "AI (254) qualifies a GLN (414), not a GTIN"}
		}
		if d.Variant != "" {
			if err := validateCSet82("variant", d.Variant); err != nil {
				return err
			}
		}
		if d.Lot != "" {
			if err := ValidateLot(d.Lot); err != nil {
				return err
			}
		}
		if d.Serial != "" {
			if err := ValidateSerial(d.Serial); err != nil {
				return err
			}
		}
	case d.GLN != "":
		if err := ValidateGLN(d.GLN); err != nil {
			return err
		}
		if d.Variant != "" || d.Lot != "" || d.Serial != "" {
			return &FieldError{Field: "gln", Reason: "AIs (22), (10) and (21) qualify a GTIN (01), not a GLN"}
		}
		if d.GLNExtension != "" {
			if err := validateCSet82("gln_extension", d.GLNExtension); err != nil {
				return err
			}
		}
	default:
		if err := ValidateSSCC(d.SSCC); err != nil {
			return err
		}
		if d.Variant != "" || d.Lot != "" || d.Serial != "" || d.GLNExtension != "" {
			return &FieldError{Field: "sscc", Reason: "an SSCC (00) takes no key qualifiers"}
		}
	}
	seen := make(map[string]bool, len(d.Attributes))
	for _, a := range d.Attributes {
		if seen[a.AI] {
			return &FieldError{Field: "query." + a.AI, Reason: fmt.Sprintf("AI (%s) is given twice", a.AI)}
		}
		seen[a.AI] = true
		if err := dlValidateAttribute(a.AI, a.Value); err != nil {
			return err
		}
	}
	for _, p := range d.Params {
		if p.Key == "" {
			return &FieldError{Field: "query", Reason: "a query parameter has an empty name"}
		}
		if dlIsAIKey(p.Key) {
			return &FieldError{Field: "query." + p.Key, Reason: fmt.Sprintf("%q looks like a GS1 AI: put it in Attributes, not Params", p.Key)}
		}
	}
	return nil
}

func dlValidateGTIN(s string) error {
	if err := ValidateGTIN14(s); err != nil {
		fe := err.(*FieldError)
		reason := "AI (01): " + fe.Reason
		if len(s) != 14 {
			reason += " (a GTIN-8, -12 or -13 must be zero-padded to 14 digits)"
		}
		return &FieldError{Field: fe.Field, Reason: reason}
	}
	return nil
}

// Path returns the percent-encoded path of d, starting with '/'. It does
// not validate d.
func (d DigitalLink) Path() string {
	var b strings.Builder
	seg := func(ai, v string) {
		if v != "" {
			b.WriteByte('/')
			b.WriteString(ai)
			b.WriteByte('/')
			b.WriteString(dlEscape(v))
		}
	}
	switch {
	case d.GTIN != "":
		seg(aiGTIN, d.GTIN)
		seg(aiVariant, d.Variant)
		seg(aiLot, d.Lot)
		seg(aiSerial, d.Serial)
	case d.GLN != "":
		seg(aiGLN, d.GLN)
		seg(aiGLNExt, d.GLNExtension)
	default:
		seg(aiSSCC, d.SSCC)
	}
	return b.String()
}

// RawQuery returns the percent-encoded query string of d without the '?':
// the data attributes, then the other parameters. It does not validate d.
func (d DigitalLink) RawQuery() string {
	var b strings.Builder
	for _, a := range d.Attributes {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(a.AI)
		b.WriteByte('=')
		b.WriteString(dlEscape(a.Value))
	}
	for _, p := range d.Params {
		if b.Len() > 0 {
			b.WriteByte('&')
		}
		b.WriteString(dlEscape(p.Key))
		b.WriteByte('=')
		b.WriteString(dlEscape(p.Value))
	}
	return b.String()
}

// URI validates d and renders it on base, an absolute http or https URL
// such as "https://trace.example.vn" (a path prefix is allowed; a trailing
// slash is dropped). The result is plain ASCII.
func (d DigitalLink) URI(base string) (string, error) {
	b, err := dlBase(base)
	if err != nil {
		return "", err
	}
	if err := d.Validate(); err != nil {
		return "", err
	}
	s := b + d.Path()
	if q := d.RawQuery(); q != "" {
		s += "?" + q
	}
	return s, nil
}

// String returns the path and query of d, as in a request line.
func (d DigitalLink) String() string {
	if q := d.RawQuery(); q != "" {
		return d.Path() + "?" + q
	}
	return d.Path()
}

// dlBase checks a base URL and returns it without a trailing slash.
func dlBase(base string) (string, error) {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return "", &FieldError{Field: "base_url", Reason: fmt.Sprintf("%q is not an absolute http(s) URL such as https://trace.example.vn", base)}
	}
	if u.RawQuery != "" || u.Fragment != "" || strings.Contains(base, "?") || strings.Contains(base, "#") {
		return "", &FieldError{Field: "base_url", Reason: "must not have a query or fragment"}
	}
	for i := 0; i < len(base); i++ {
		if base[i] <= ' ' || base[i] >= 0x7f {
			return "", &FieldError{Field: "base_url", Reason: "must be ASCII without spaces (punycode and percent-encode it)"}
		}
	}
	return strings.TrimRight(base, "/"), nil
}

// ParseDigitalLink parses an absolute http(s) GS1 Digital Link URI. Path
// segments before the primary key (a resolver's own prefix) are skipped;
// the fragment is ignored.
func ParseDigitalLink(uri string) (DigitalLink, error) {
	u, err := url.Parse(uri)
	if err != nil {
		return DigitalLink{}, &FieldError{Field: "uri", Reason: "not a valid URI (check its percent-encoding): " + dlUnwrapURLError(err)}
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return DigitalLink{}, &FieldError{Field: "uri", Reason: "a Digital Link is an absolute http or https URI"}
	}
	if u.Opaque != "" {
		return DigitalLink{}, &FieldError{Field: "uri", Reason: "a Digital Link is an absolute http or https URI"}
	}
	return ParseDigitalLinkPath(u.EscapedPath(), u.RawQuery)
}

func dlUnwrapURLError(err error) string {
	if ue, ok := err.(*url.Error); ok {
		return ue.Err.Error()
	}
	return err.Error()
}

// ParseDigitalLinkPath parses the path and raw query of a request, as an
// HTTP handler sees them: pass r.URL.EscapedPath() (not r.URL.Path, which
// has already turned %2F into '/') and r.URL.RawQuery.
func ParseDigitalLinkPath(escapedPath, rawQuery string) (DigitalLink, error) {
	var d DigitalLink
	if !strings.HasPrefix(escapedPath, "/") {
		return d, &FieldError{Field: "path", Reason: "must start with '/'"}
	}
	segs := strings.Split(escapedPath[1:], "/")
	start := -1
	for i, s := range segs {
		if _, ok := dlQualifierOrder[s]; ok && i+1 < len(segs) {
			start = i
			break
		}
		if ai, ok := dlConvenienceAlphas[strings.ToLower(s)]; ok {
			return d, &FieldError{Field: "path", Reason: fmt.Sprintf("convenience alphas such as /%s/ are not accepted; use the numeric AI /%s/", s, ai)}
		}
		if s == "" {
			return d, &FieldError{Field: "path", Reason: "empty path segment (doubled or trailing '/')"}
		}
		if dlIsDigits(s) && i+1 < len(segs) {
			return d, &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s) is not a primary key truyxuat accepts: the path starts with /01/<GTIN>, /414/<GLN> or /00/<SSCC>", s)}
		}
	}
	if start < 0 {
		return d, &FieldError{Field: "path", Reason: "no GS1 primary key: the path must contain /01/<GTIN-14>, /414/<GLN> or /00/<SSCC>"}
	}
	segs = segs[start:]
	if slices.Contains(segs, "") {
		return d, &FieldError{Field: "path", Reason: "empty path segment (doubled or trailing '/')"}
	}
	if len(segs)%2 != 0 {
		return d, &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s) has no value", segs[len(segs)-1])}
	}
	primary := segs[0]
	order := dlQualifierOrder[primary]
	next := 0 // index in order of the first qualifier still allowed
	for i := 0; i < len(segs); i += 2 {
		ai, raw := segs[i], segs[i+1]
		v, err := dlUnescape(raw)
		if err != nil {
			return d, &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s): %v", ai, err)}
		}
		if i > 0 {
			pos := dlIndex(order, ai)
			switch {
			case pos < 0 && dlConvenienceAlphas[strings.ToLower(ai)] != "":
				return d, &FieldError{Field: "path", Reason: fmt.Sprintf("convenience alphas such as /%s/ are not accepted; use the numeric AI /%s/", ai, dlConvenienceAlphas[strings.ToLower(ai)])}
			case pos < 0 && len(order) == 0:
				return d, &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s) may not follow AI (%s), which takes no key qualifiers", ai, primary)}
			case pos < 0:
				return d, &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s) is not a key qualifier of AI (%s); its qualifiers are (%s), in that order, and data attributes go in the query string", ai, primary, strings.Join(order, "), ("))}
			case pos == next-1:
				return d, &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s) is given twice", ai)}
			case pos < next:
				return d, &FieldError{Field: "path", Reason: fmt.Sprintf("qualifier order: AI (%s) may not follow AI (%s); the order is (%s)", ai, order[next-1], strings.Join(order, "), ("))}
			}
			next = pos + 1
		}
		switch ai {
		case aiGTIN:
			d.GTIN = v
		case aiVariant:
			d.Variant = v
		case aiLot:
			d.Lot = v
		case aiSerial:
			d.Serial = v
		case aiGLN:
			d.GLN = v
		case aiGLNExt:
			d.GLNExtension = v
		case aiSSCC:
			d.SSCC = v
		}
	}
	if err := dlParseQuery(&d, rawQuery); err != nil {
		return DigitalLink{}, err
	}
	if err := d.Validate(); err != nil {
		return DigitalLink{}, err
	}
	return d, nil
}

func dlParseQuery(d *DigitalLink, rawQuery string) error {
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		rk, rv, _ := strings.Cut(part, "=")
		k, err := dlUnescape(rk)
		if err != nil {
			return &FieldError{Field: "query", Reason: fmt.Sprintf("parameter %q: %v", rk, err)}
		}
		v, err := dlUnescape(rv)
		if err != nil {
			return &FieldError{Field: "query", Reason: fmt.Sprintf("parameter %q: %v", k, err)}
		}
		if !dlIsAIKey(k) {
			if k == "" {
				return &FieldError{Field: "query", Reason: "a query parameter has an empty name"}
			}
			d.Params = append(d.Params, QueryParam{k, v})
			continue
		}
		switch k {
		case aiGTIN, aiGLN, aiSSCC:
			return &FieldError{Field: "query." + k, Reason: fmt.Sprintf("AI (%s) is a primary key and belongs in the path", k)}
		case aiVariant, aiLot, aiSerial, aiGLNExt:
			return &FieldError{Field: "query." + k, Reason: fmt.Sprintf("AI (%s) is a key qualifier and belongs in the path (/01/<gtin>/22/…/10/…/21/… or /414/<gln>/254/…)", k)}
		}
		if _, dup := d.Attribute(k); dup {
			return &FieldError{Field: "query." + k, Reason: fmt.Sprintf("AI (%s) is given twice", k)}
		}
		d.Attributes = append(d.Attributes, AIValue{k, v})
	}
	return nil
}

// dlIsAIKey reports whether a query key is a GS1 AI: 2 to 4 digits.
func dlIsAIKey(k string) bool { return len(k) >= 2 && len(k) <= 4 && dlIsDigits(k) }

func dlIsDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func dlIndex(list []string, s string) int {
	for i, v := range list {
		if v == s {
			return i
		}
	}
	return -1
}

// ValidateAI checks the value of a GS1 data attribute carried in a Digital
// Link's query string. AIs truyxuat does not know are accepted when their
// value is 1 to 90 characters of GS1 character set 82.
func ValidateAI(ai, value string) error { return dlValidateAttribute(ai, value) }

func dlValidateAttribute(ai, v string) error {
	field := "query." + ai
	fail := func(format string, args ...any) error {
		return &FieldError{Field: field, Reason: fmt.Sprintf("AI (%s) ", ai) + fmt.Sprintf(format, args...)}
	}
	if !dlIsAIKey(ai) {
		return &FieldError{Field: field, Reason: fmt.Sprintf("%q is not a GS1 AI (2 to 4 digits)", ai)}
	}
	if v == "" {
		return fail("has an empty value")
	}
	numeric := func(min, max int) error {
		if !dlIsDigits(v) || len(v) < min || len(v) > max {
			if min == max {
				return fail("must be %d digits, got %q", min, dlShort(v))
			}
			return fail("must be %d to %d digits, got %q", min, max, dlShort(v))
		}
		return nil
	}
	date := func(s string, zeroDay bool) error {
		if err := dlCheckDate(s, zeroDay); err != nil {
			return fail("%v", err)
		}
		return nil
	}
	switch {
	case ai == aiGTIN || ai == aiGLN || ai == aiSSCC || ai == aiVariant || ai == aiLot || ai == aiSerial || ai == aiGLNExt:
		return &FieldError{Field: field, Reason: fmt.Sprintf("AI (%s) is a primary key or key qualifier and belongs in the path", ai)}
	case ai == "02":
		if err := ValidateGTIN14(v); err != nil {
			return fail("%s", err.(*FieldError).Reason)
		}
	case ai == "11" || ai == "12" || ai == "13" || ai == "15" || ai == "16" || ai == "17":
		if err := numeric(6, 6); err != nil {
			return err
		}
		return date(v, true)
	case ai == "7006":
		if err := numeric(6, 6); err != nil {
			return err
		}
		return date(v, false)
	case ai == AIHarvestDate:
		if !dlIsDigits(v) || (len(v) != 6 && len(v) != 12) {
			return fail("is a harvest date YYMMDD or a range YYMMDDYYMMDD, got %q", dlShort(v))
		}
		if err := date(v[:6], false); err != nil {
			return err
		}
		if len(v) == 12 {
			return date(v[6:], false)
		}
	case ai == "20":
		return numeric(2, 2)
	case ai == "30" || ai == "37":
		return numeric(1, 8)
	case ai == "415" || ai == "416" || ai == "417":
		if err := validCheckDigit(v, 13); err != nil {
			return fail("%v", err)
		}
	case ai == "422" || ai == "424" || ai == "426":
		if err := numeric(3, 3); err != nil {
			return fail("is an ISO 3166 numeric country code (Vietnam is 704), got %q", dlShort(v))
		}
	case len(ai) == 4 && ai[0] == '3' && ai[1] >= '1' && ai[1] <= '6' && ai[3] <= '5':
		// 310n–369n: measures with n decimals, always 6 digits.
		return numeric(6, 6)
	case len(ai) == 4 && (ai[:3] == "390" || ai[:3] == "392"):
		return numeric(1, 15)
	case len(ai) == 4 && (ai[:3] == "391" || ai[:3] == "393"):
		return numeric(4, 18)
	case ai == "7003":
		return numeric(10, 10)
	default:
		if n := utf8.RuneCountInString(v); n > 90 {
			return fail("has %d characters; GS1 allows at most 90", n)
		}
		for i, r := range v {
			if r >= utf8.RuneSelf {
				return fail("character %q at position %d is not allowed: GS1 values use only unaccented ASCII (Vietnamese letters with diacritics must be written without them)", r, i+1)
			}
			if !isCSet82(byte(r)) {
				return fail("character %q at position %d is not in GS1 character set 82", r, i+1)
			}
		}
	}
	return nil
}

func dlShort(s string) string {
	if len(s) > 24 {
		return s[:24] + "…"
	}
	return s
}

// dlCheckDate checks a YYMMDD date; zeroDay allows DD=00 (month only).
func dlCheckDate(s string, zeroDay bool) error {
	if len(s) != 6 || !dlIsDigits(s) {
		return fmt.Errorf("must be a date YYMMDD, got %q", dlShort(s))
	}
	yy := int(s[0]-'0')*10 + int(s[1]-'0')
	mm := int(s[2]-'0')*10 + int(s[3]-'0')
	dd := int(s[4]-'0')*10 + int(s[5]-'0')
	if mm < 1 || mm > 12 {
		return fmt.Errorf("date %s has month %02d", s, mm)
	}
	if dd == 0 && zeroDay {
		return nil
	}
	// Years are read as 2000–2099; only February 29 depends on it.
	last := time.Date(2000+yy, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC).Day()
	if dd < 1 || dd > last {
		return fmt.Errorf("date %s has day %02d, but that month has %d days", s, dd, last)
	}
	return nil
}

// FormatGS1Date writes t's calendar date as GS1 YYMMDD, the form of AIs 11,
// 13, 15, 17 and 7007.
func FormatGS1Date(t time.Time) string { return t.Format("060102") }

// ParseGS1Date reads a GS1 YYMMDD date as a UTC midnight in 2000–2099.
// DD=00 (month only, allowed in AIs 11–17) gives the last day of the month,
// as GS1 specifies.
func ParseGS1Date(s string) (time.Time, error) {
	if err := dlCheckDate(s, true); err != nil {
		return time.Time{}, &FieldError{Field: "date", Reason: err.Error()}
	}
	yy := int(s[0]-'0')*10 + int(s[1]-'0')
	mm := int(s[2]-'0')*10 + int(s[3]-'0')
	dd := int(s[4]-'0')*10 + int(s[5]-'0')
	if dd == 0 {
		return time.Date(2000+yy, time.Month(mm)+1, 0, 0, 0, 0, 0, time.UTC), nil
	}
	return time.Date(2000+yy, time.Month(mm), dd, 0, 0, 0, 0, time.UTC), nil
}

// dlEscape percent-encodes every byte of s that is not an RFC 3986
// unreserved character, as GS1 Digital Link requires for AI values.
func dlEscape(s string) string {
	const hex = "0123456789ABCDEF"
	n := 0
	for i := 0; i < len(s); i++ {
		if !dlUnreserved(s[i]) {
			n++
		}
	}
	if n == 0 {
		return s
	}
	b := make([]byte, 0, len(s)+2*n)
	for i := 0; i < len(s); i++ {
		c := s[i]
		if dlUnreserved(c) {
			b = append(b, c)
		} else {
			b = append(b, '%', hex[c>>4], hex[c&15])
		}
	}
	return string(b)
}

func dlUnreserved(c byte) bool {
	return 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' ||
		c == '-' || c == '.' || c == '_' || c == '~'
}

// dlUnescape decodes %XX escapes strictly; '+' stays a plus sign.
func dlUnescape(s string) (string, error) {
	if !strings.Contains(s, "%") {
		return s, nil
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c != '%' {
			b = append(b, c)
			continue
		}
		if i+2 >= len(s) || dlUnhex(s[i+1]) < 0 || dlUnhex(s[i+2]) < 0 {
			end := min(i+3, len(s))
			return "", fmt.Errorf("bad percent-encoding %q", s[i:end])
		}
		b = append(b, byte(dlUnhex(s[i+1])<<4|dlUnhex(s[i+2])))
		i += 2
	}
	return string(b), nil
}

func dlUnhex(c byte) int {
	switch {
	case '0' <= c && c <= '9':
		return int(c - '0')
	case 'a' <= c && c <= 'f':
		return int(c-'a') + 10
	case 'A' <= c && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// BatchLinkPrefix starts truyxuat's short link for a batch without a GTIN.
const BatchLinkPrefix = "/b/"

const dlMaxBatchIDLen = 32

// BatchLinkPath returns the short-link path /b/<id> of a batch. A batch id
// is 1 to 32 lowercase ASCII letters, digits and '-'.
func BatchLinkPath(id string) (string, error) {
	if err := dlValidateBatchID(id); err != nil {
		return "", err
	}
	return BatchLinkPrefix + id, nil
}

// BatchLinkURI renders the short link of a batch on base, as
// DigitalLink.URI does.
func BatchLinkURI(base, id string) (string, error) {
	b, err := dlBase(base)
	if err != nil {
		return "", err
	}
	p, err := BatchLinkPath(id)
	if err != nil {
		return "", err
	}
	return b + p, nil
}

// ParseBatchLinkPath returns the batch id of a short-link path /b/<id>.
func ParseBatchLinkPath(path string) (string, error) {
	id, ok := strings.CutPrefix(path, BatchLinkPrefix)
	if !ok {
		return "", &FieldError{Field: "path", Reason: "a batch short link has the form /b/<batch id>"}
	}
	if err := dlValidateBatchID(id); err != nil {
		return "", err
	}
	return id, nil
}

// ParseBatchLink returns the batch id of an absolute short-link URI such as
// https://trace.example.vn/b/st25k7; a query string is ignored.
func ParseBatchLink(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", &FieldError{Field: "uri", Reason: "a batch short link is an absolute http or https URI ending in /b/<batch id>"}
	}
	return ParseBatchLinkPath(u.EscapedPath())
}

func dlValidateBatchID(id string) error {
	if id == "" || len(id) > dlMaxBatchIDLen {
		return &FieldError{Field: "batch", Reason: fmt.Sprintf("a batch id has 1 to %d characters, got %d", dlMaxBatchIDLen, len(id))}
	}
	for i := 0; i < len(id); i++ {
		c := id[i]
		if !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return &FieldError{Field: "batch", Reason: fmt.Sprintf("character %q at position %d is not allowed: a batch id uses lowercase letters, digits and '-'", c, i+1)}
		}
	}
	return nil
}
