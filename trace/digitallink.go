package trace

import (
	"fmt"
	"net/url"
	"slices"
	"strings"
	"time"
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
// characters A–Z a–z 0–9 - . _ ~ is written as %XX. In an AI value in the
// query a '+' stands for a space, as GS1 reads it (and no GS1 value allows
// a space); in the path and in other parameters it is a plus sign.
// Convenience names such as /gtin/ are not accepted.
//
// Which links are valid follows GS1's Barcode Syntax Dictionary, as GS1's
// reference syntax engine reads it (the table in gs1ai.go): every numeric
// query parameter must be a GS1 AI that GS1 allows as a data attribute,
// with a well-formed value (dates that exist, ISO 3166 country codes …),
// and every AI must have the AIs it needs beside it. A link GS1 holds
// valid but whose primary key or qualifier truyxuat does not keep (a GDTI,
// AI 235 …) is an *UnsupportedLinkError, not an invalid one.
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
	// 422 country of origin, 3103 net weight …) in the order given.
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
// order: a primary key (01, 414 or 00; the first given is the key, any
// other is a data attribute), its key qualifiers (22, 10, 21 for a GTIN;
// 254 for a GLN) and data attributes, which keep the order given. A GTIN
// must already have 14 digits (see NormalizeGTIN).
func DigitalLinkFromAIs(ais []AIValue) (DigitalLink, error) {
	var d DigitalLink
	key := ""
	for _, e := range ais {
		if e.AI == aiGTIN || e.AI == aiGLN || e.AI == aiSSCC {
			key = e.AI
			break
		}
	}
	seen := make(map[string]bool, len(ais))
	for _, e := range ais {
		if seen[e.AI] {
			return DigitalLink{}, &FieldError{Field: "ai", Reason: fmt.Sprintf("AI (%s) is given twice", e.AI)}
		}
		seen[e.AI] = true
		if e.Value == "" {
			return DigitalLink{}, &FieldError{Field: "ai", Reason: fmt.Sprintf("AI (%s) has an empty value", e.AI)}
		}
		switch {
		case e.AI == key && key == aiGTIN:
			d.GTIN = e.Value
		case e.AI == key && key == aiGLN:
			d.GLN = e.Value
		case e.AI == key && key == aiSSCC:
			d.SSCC = e.Value
		case e.AI == aiVariant && key == aiGTIN:
			d.Variant = e.Value
		case e.AI == aiLot && key == aiGTIN:
			d.Lot = e.Value
		case e.AI == aiSerial && key == aiGTIN:
			d.Serial = e.Value
		case e.AI == aiGLNExt && key == aiGLN:
			d.GLNExtension = e.Value
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
// of at most 20 characters of GS1 character set 82, and data attributes
// that are GS1 Digital Link data attributes with well-formed values, with
// the AIs each needs beside it and none it excludes.
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
		if d.GLNExtension != "" {
			return &FieldError{Field: "gln_extension", Reason: "AI (254) qualifies a GLN (414), not a GTIN"}
		}
	case d.GLN != "":
		if d.Variant != "" || d.Lot != "" || d.Serial != "" {
			return &FieldError{Field: "gln", Reason: "AIs (22), (10) and (21) qualify a GTIN (01), not a GLN"}
		}
	default:
		if d.Variant != "" || d.Lot != "" || d.Serial != "" || d.GLNExtension != "" {
			return &FieldError{Field: "sscc", Reason: "an SSCC (00) takes no key qualifiers"}
		}
	}
	path := d.pathAIs()
	for _, e := range path {
		if err := dlValidatePathValue(e.AI, e.Value); err != nil {
			return err
		}
	}
	if err := dlValidateAttributes(path, d.Attributes); err != nil {
		return err
	}
	for _, p := range d.Params {
		if p.Key == "" {
			return &FieldError{Field: "query", Reason: "a query parameter has an empty name"}
		}
		if dlIsDigits(p.Key) {
			return &FieldError{Field: "query." + p.Key, Reason: fmt.Sprintf("%q looks like a GS1 AI: put it in Attributes, not Params", p.Key)}
		}
	}
	return nil
}

// pathAIs returns the primary key and key qualifiers of d in path order.
func (d DigitalLink) pathAIs() []AIValue {
	var out []AIValue
	add := func(ai, v string) {
		if v != "" {
			out = append(out, AIValue{ai, v})
		}
	}
	switch {
	case d.GTIN != "":
		add(aiGTIN, d.GTIN)
		add(aiVariant, d.Variant)
		add(aiLot, d.Lot)
		add(aiSerial, d.Serial)
	case d.GLN != "":
		add(aiGLN, d.GLN)
		add(aiGLNExt, d.GLNExtension)
	default:
		add(aiSSCC, d.SSCC)
	}
	return out
}

// dlValidatePathValue checks the value of a primary key or key qualifier.
func dlValidatePathValue(ai, v string) error {
	switch ai {
	case aiGTIN:
		return dlValidateGTIN(v)
	case aiGLN:
		return ValidateGLN(v)
	case aiSSCC:
		return ValidateSSCC(v)
	case aiLot:
		return ValidateLot(v)
	case aiSerial:
		return ValidateSerial(v)
	case aiVariant:
		return validateCSet82("variant", v)
	case aiGLNExt:
		return validateCSet82("gln_extension", v)
	}
	r := lookupAI(ai)
	if r == nil {
		return &FieldError{Field: "path", Reason: fmt.Sprintf("(%s) is not a GS1 application identifier", ai)}
	}
	if why := r.checkValue(v); why != "" {
		return &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s) %s", ai, why)}
	}
	return nil
}

// dlValidateAttributes checks the data attributes of a link whose path
// holds path (primary key first): each is a known GS1 AI that GS1 allows
// as a Digital Link data attribute, given once, not one that belongs in
// the path, with a well-formed value; then every AI of the link has the
// companions it needs and none it excludes.
func dlValidateAttributes(path, attrs []AIValue) error {
	seen := make(map[string]bool, len(path)+len(attrs))
	seq := make([]string, 0, len(path))
	for _, e := range path {
		seen[e.AI] = true
		seq = append(seq, e.AI)
	}
	for _, a := range attrs {
		field := "query." + a.AI
		r := lookupAI(a.AI)
		if r == nil {
			return &FieldError{Field: field, Reason: dlUnknownAI(a.AI)}
		}
		if seen[a.AI] {
			return &FieldError{Field: field, Reason: fmt.Sprintf("AI (%s) is given twice", a.AI)}
		}
		seen[a.AI] = true
		if at := dlBelongsInPath(seq, a.AI); at != "" {
			return &FieldError{Field: field, Reason: fmt.Sprintf("AI (%s) is a key qualifier and belongs in the path, after AI (%s), not in the query string", a.AI, at)}
		}
		if !r.attr {
			reason := fmt.Sprintf("AI (%s) (%s) is not a GS1 Digital Link data attribute, so it may not stand in the query string", a.AI, r.name)
			if r.key {
				reason = fmt.Sprintf("AI (%s) is a primary key and belongs in the path", a.AI)
			} else if dlIsQualifier(a.AI) {
				reason += "; it is a key qualifier and belongs in the path"
			}
			return &FieldError{Field: field, Reason: reason}
		}
		if err := dlValidateAttribute(a.AI, a.Value); err != nil {
			return err
		}
	}
	all := append(append([]AIValue(nil), path...), attrs...)
	return dlCheckCompanions(all)
}

// dlBelongsInPath returns the AI after which ai would form a valid path
// with seq (a primary key and its qualifiers), or "".
func dlBelongsInPath(seq []string, ai string) string {
	if len(seq) == 0 {
		return ""
	}
	key := lookupAI(seq[0])
	if key == nil || !key.key {
		return ""
	}
	for j := 1; j <= len(seq); j++ {
		try := make([]string, 0, len(seq))
		try = append(try, seq[1:j]...)
		try = append(try, ai)
		try = append(try, seq[j:]...)
		if dlQualifierSequence(key, try) == nil {
			return seq[j-1]
		}
	}
	return ""
}

// dlIsQualifier reports whether ai is a key qualifier of some primary key.
func dlIsQualifier(ai string) bool {
	lookupAI(ai)
	for _, r := range aiRules {
		for _, alt := range r.qualifiers {
			if slices.Contains(alt, ai) {
				return true
			}
		}
	}
	return false
}

// dlQualifierSequence checks that quals, in path order, are qualifiers of
// key: some of one of its sequences, in that sequence's order, each once.
func dlQualifierSequence(key *aiRule, quals []string) error {
	if len(quals) == 0 {
		return nil
	}
	var all []string
	for _, alt := range key.qualifiers {
		all = append(all, alt...)
	}
	for _, q := range quals {
		if slices.Contains(all, q) {
			continue
		}
		if len(all) == 0 {
			return fmt.Errorf("AI (%s) may not follow AI (%s), which takes no key qualifiers", q, key.ai)
		}
		if r := lookupAI(q); r != nil && r.attr {
			return fmt.Errorf("AI (%s) is not a key qualifier of AI (%s); its qualifiers are (%s), and data attributes such as (%s) go in the query string", q, key.ai, dlListQualifiers(key), q)
		}
		return fmt.Errorf("AI (%s) is not a key qualifier of AI (%s); its qualifiers are (%s)", q, key.ai, dlListQualifiers(key))
	}
	var order []string
	for _, alt := range key.qualifiers {
		ok := true
		for _, q := range quals {
			if !slices.Contains(alt, q) {
				ok = false
				break
			}
		}
		if ok {
			order = alt
			break
		}
	}
	if order == nil {
		return fmt.Errorf("AIs (%s) cannot be used together after AI (%s); its qualifiers are (%s)", strings.Join(quals, ") and ("), key.ai, dlListQualifiers(key))
	}
	next := 0 // index in order of the first qualifier still allowed
	for _, q := range quals {
		pos := slices.Index(order, q)
		switch {
		case pos == next-1:
			return fmt.Errorf("AI (%s) is given twice", q)
		case pos < next:
			return fmt.Errorf("qualifier order: AI (%s) may not follow AI (%s); the order is (%s)", q, order[next-1], strings.Join(order, "), ("))
		}
		next = pos + 1
	}
	return nil
}

func dlListQualifiers(key *aiRule) string {
	var alts []string
	for _, alt := range key.qualifiers {
		alts = append(alts, strings.Join(alt, "), ("))
	}
	return strings.Join(alts, ") or (")
}

// dlCheckCompanions checks that every AI of a link has the AIs it needs
// beside it and none it may not be used with.
func dlCheckCompanions(all []AIValue) error {
	has := func(pattern, self string) bool {
		for _, e := range all {
			if e.AI != self && aiMatches(pattern, e.AI) {
				return true
			}
		}
		return false
	}
	for _, e := range all {
		r := lookupAI(e.AI)
		if r == nil {
			continue
		}
		for _, alts := range r.needs {
			ok := false
			var names []string
			for _, group := range alts {
				all := true
				for _, p := range group {
					if !has(p, e.AI) {
						all = false
					}
				}
				ok = ok || all
				names = append(names, strings.ReplaceAll("("+strings.Join(group, ") with (")+")", "n", "x"))
			}
			if !ok {
				which := names[0]
				if len(names) > 1 {
					which = "one of " + strings.Join(names, ", ")
				}
				return &FieldError{Field: "query", Reason: fmt.Sprintf("AI (%s) (%s) needs %s in the same link", e.AI, r.name, which)}
			}
		}
		for _, p := range r.never {
			for _, o := range all {
				if o.AI != e.AI && aiMatches(p, o.AI) {
					return &FieldError{Field: "query", Reason: fmt.Sprintf("AI (%s) (%s) may not be used together with AI (%s)", e.AI, r.name, o.AI)}
				}
			}
		}
	}
	return nil
}

func dlUnknownAI(ai string) string {
	return fmt.Sprintf("(%s) is not a GS1 application identifier: a numeric query parameter must be a GS1 AI", ai)
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

// UnsupportedLinkError is returned by ParseDigitalLink and
// ParseDigitalLinkPath for a link that GS1 holds valid but that names
// something truyxuat does not keep: a primary key other than a GTIN, GLN
// or SSCC, or a key qualifier truyxuat does not use (such as AI 235). It
// wraps ErrUnsupported; a resolver answers it as not found.
type UnsupportedLinkError struct {
	AI     string // the primary key or qualifier truyxuat does not use
	Reason string
}

func (e *UnsupportedLinkError) Error() string { return e.Reason }

// Unwrap lets errors.Is(err, ErrUnsupported) match.
func (e *UnsupportedLinkError) Unwrap() error { return ErrUnsupported }

// ParseDigitalLink parses an absolute http(s) GS1 Digital Link URI. Path
// segments before the primary key (a resolver's own prefix) are skipped;
// the fragment is ignored. It agrees with GS1's reference syntax engine on
// which links are valid, except that it refuses what RFC 3986 forbids (a
// '%' not followed by two hex digits, characters a URI may not hold). A
// valid link that names something truyxuat does not keep gives an
// *UnsupportedLinkError.
func ParseDigitalLink(uri string) (DigitalLink, error) {
	scheme, rest, ok := strings.Cut(uri, "://")
	if !ok || (scheme != "http" && scheme != "https" && scheme != "HTTP" && scheme != "HTTPS") {
		return DigitalLink{}, &FieldError{Field: "uri", Reason: "a Digital Link is an absolute http or https URI"}
	}
	for i := 0; i < len(uri); i++ {
		if !dlURIChar(uri[i]) {
			return DigitalLink{}, &FieldError{Field: "uri", Reason: fmt.Sprintf("character %q at position %d may not appear in a URI: it must be percent-encoded", uri[i], i+1)}
		}
	}
	host, _, _ := strings.Cut(rest, "/")
	host, _, _ = strings.Cut(host, "?")
	host, _, _ = strings.Cut(host, "#")
	if host == "" || !strings.Contains(rest, "/") {
		return DigitalLink{}, &FieldError{Field: "uri", Reason: "a Digital Link has a host name and a path, such as https://trace.example.vn/01/<GTIN>"}
	}
	for i := 0; i < len(host); i++ {
		c := host[i]
		if !('A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == ':' || c == '[' || c == ']') {
			return DigitalLink{}, &FieldError{Field: "uri", Reason: fmt.Sprintf("character %q may not appear in the host name of a Digital Link", c)}
		}
	}
	u, err := url.Parse(uri)
	if err != nil {
		return DigitalLink{}, &FieldError{Field: "uri", Reason: "not a valid URI (check its percent-encoding): " + dlUnwrapURLError(err)}
	}
	if u.Host == "" || u.Opaque != "" {
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

// dlURIChar reports whether c may appear in a URI (RFC 3986): unreserved,
// reserved or '%'.
func dlURIChar(c byte) bool {
	return dlUnreserved(c) || strings.IndexByte(":/?#[]@!$&'()*+,;=%", c) >= 0
}

// dlCheckComponent checks that s, the escaped path or query of a link,
// holds only characters RFC 3986 allows there and well-formed
// percent-escapes.
func dlCheckComponent(field, s string) error {
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '%':
			if i+2 >= len(s) || dlUnhex(s[i+1]) < 0 || dlUnhex(s[i+2]) < 0 {
				end := min(i+3, len(s))
				return &FieldError{Field: field, Reason: fmt.Sprintf("bad percent-encoding %q: a '%%' must be followed by two hex digits (a percent sign itself is written %%25)", s[i:end])}
			}
		case dlUnreserved(c) || strings.IndexByte("!$&'()*+,;=:@/", c) >= 0:
		case c == '?' && field == "query":
		default:
			return &FieldError{Field: field, Reason: fmt.Sprintf("character %q at position %d may not appear in a URI %s: it must be percent-encoded", c, i+1, field)}
		}
	}
	return nil
}

// ParseDigitalLinkPath parses the path and raw query of a request, as an
// HTTP handler sees them: pass r.URL.EscapedPath() (not r.URL.Path, which
// has already turned %2F into '/') and r.URL.RawQuery. The primary key is
// the last one in the path, as GS1 reads it: /a/01/x/01/<GTIN> is the GTIN
// after the second 01, with /a/01/x a prefix.
func ParseDigitalLinkPath(escapedPath, rawQuery string) (DigitalLink, error) {
	var d DigitalLink
	if !strings.HasPrefix(escapedPath, "/") {
		return d, &FieldError{Field: "path", Reason: "must start with '/'"}
	}
	if err := dlCheckComponent("path", escapedPath); err != nil {
		return d, err
	}
	if err := dlCheckComponent("query", rawQuery); err != nil {
		return d, err
	}
	segs := strings.Split(escapedPath[1:], "/")
	if len(segs) > 1 && segs[len(segs)-1] == "" {
		return d, &FieldError{Field: "path", Reason: "the link ends with '/': a Digital Link has no trailing slash (a lot or serial ending in '/' is written %2F)"}
	}
	root := dlFindRoot(segs)
	if root < 0 {
		return d, dlNoRootError(segs)
	}
	segs = segs[root:]
	key := lookupAI(segs[0])
	var path []AIValue
	var quals []string
	for i := 0; i < len(segs); i += 2 {
		ai := segs[i]
		v, err := dlUnescape(segs[i+1])
		if err != nil {
			return d, &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s): %v", ai, err)}
		}
		if v == "" {
			return d, &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s) has an empty value (doubled '/')", ai)}
		}
		if i > 0 {
			quals = append(quals, ai)
		}
		path = append(path, AIValue{ai, v})
	}
	if err := dlQualifierSequence(key, quals); err != nil {
		return d, &FieldError{Field: "path", Reason: err.Error()}
	}
	for _, e := range path {
		if err := dlValidatePathValue(e.AI, e.Value); err != nil {
			return d, err
		}
	}
	attrs, params, err := dlParseQuery(rawQuery)
	if err != nil {
		return d, err
	}
	if err := dlValidateAttributes(path, attrs); err != nil {
		return d, err
	}
	// The link is valid. Does it name something truyxuat keeps?
	held := map[string][]string{aiGTIN: {aiVariant, aiLot, aiSerial}, aiGLN: {aiGLNExt}, aiSSCC: nil}
	uses, ok := held[key.ai]
	if !ok {
		return DigitalLink{}, &UnsupportedLinkError{AI: key.ai, Reason: fmt.Sprintf(
			"this GS1 Digital Link is valid, but it names a %s (AI %s); truyxuat keeps products (01), locations (414) and logistic units (00)", key.name, key.ai)}
	}
	for _, q := range quals {
		if !slices.Contains(uses, q) {
			return DigitalLink{}, &UnsupportedLinkError{AI: q, Reason: fmt.Sprintf(
				"this GS1 Digital Link is valid, but truyxuat does not use AI (%s) (%s) after AI (%s); it resolves links such as /01/<GTIN>/10/<lot>", q, lookupAI(q).name, key.ai)}
		}
	}
	for _, e := range path {
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
		}
	}
	d.Attributes, d.Params = attrs, params
	return d, nil
}

// DigitalLinkKeys returns the AIs GS1 allows as the primary key of a
// Digital Link ("00", "01", "253" …), in ascending order, so a resolver
// can claim the paths that start with one.
func DigitalLinkKeys() []string {
	lookupAI(aiGTIN)
	var keys []string
	for ai, r := range aiRules {
		if r.key {
			keys = append(keys, ai)
		}
	}
	slices.Sort(keys)
	return keys
}

// dlFindRoot returns the index in segs of the primary key that roots the
// Digital Link, or -1. Like GS1's engine it walks AI/value pairs back from
// the end of the path while they are GS1 AIs and stops at the first
// primary key.
func dlFindRoot(segs []string) int {
	for i := len(segs) - 2; i >= 0; i -= 2 {
		r := lookupAI(segs[i])
		if r == nil {
			return -1
		}
		if r.key {
			return i
		}
	}
	return -1
}

// dlNoRootError explains why a path has no Digital Link in it.
func dlNoRootError(segs []string) error {
	for _, s := range segs {
		if ai, ok := dlConvenienceAlphas[strings.ToLower(s)]; ok {
			return &FieldError{Field: "path", Reason: fmt.Sprintf("convenience alphas such as /%s/ are not accepted; use the numeric AI /%s/", s, ai)}
		}
	}
	if n := len(segs); n > 1 && lookupAI(segs[n-1]) != nil && dlFindRoot(segs[:n-1]) >= 0 {
		return &FieldError{Field: "path", Reason: fmt.Sprintf("AI (%s) has no value", segs[n-1])}
	}
	for i := len(segs) - 2; i >= 0; i -= 2 {
		if lookupAI(segs[i]) == nil {
			if dlIsDigits(segs[i]) {
				return &FieldError{Field: "path", Reason: fmt.Sprintf("(%s) is not a GS1 application identifier; the path must end in a GS1 primary key and its qualifiers, such as /01/<GTIN-14>/10/<lot>", segs[i])}
			}
			break
		}
	}
	return &FieldError{Field: "path", Reason: "no GS1 primary key: the path must end in /01/<GTIN-14> (with /10/<lot> …), /414/<GLN> or /00/<SSCC>"}
}

// dlParseQuery reads the query string: numeric parameters are GS1 AIs
// (data attributes), the rest other parameters. As in GS1's engine, a '+'
// in an AI value stands for a space (which no AI value allows), and a
// numeric parameter without '=' is ignored.
func dlParseQuery(rawQuery string) ([]AIValue, []QueryParam, error) {
	var attrs []AIValue
	var params []QueryParam
	for part := range strings.SplitSeq(rawQuery, "&") {
		if part == "" {
			continue
		}
		rk, rv, hasValue := strings.Cut(part, "=")
		k, err := dlUnescape(rk)
		if err != nil {
			return nil, nil, &FieldError{Field: "query", Reason: fmt.Sprintf("parameter %q: %v", rk, err)}
		}
		if k == "" {
			return nil, nil, &FieldError{Field: "query", Reason: "a query parameter has an empty name"}
		}
		if !dlIsDigits(k) {
			v, err := dlUnescape(rv)
			if err != nil {
				return nil, nil, &FieldError{Field: "query", Reason: fmt.Sprintf("parameter %q: %v", k, err)}
			}
			params = append(params, QueryParam{k, v})
			continue
		}
		if !hasValue {
			continue
		}
		if lookupAI(k) == nil {
			return nil, nil, &FieldError{Field: "query." + k, Reason: dlUnknownAI(k)}
		}
		v, err := dlUnescape(strings.ReplaceAll(rv, "+", " "))
		if err != nil {
			return nil, nil, &FieldError{Field: "query." + k, Reason: fmt.Sprintf("AI (%s): %v", k, err)}
		}
		if v == "" {
			return nil, nil, &FieldError{Field: "query." + k, Reason: fmt.Sprintf("AI (%s) has an empty value", k)}
		}
		if strings.Contains(v, " ") && strings.Contains(rv, "+") {
			return nil, nil, &FieldError{Field: "query." + k, Reason: fmt.Sprintf("AI (%s): a '+' in the query stands for a space, which GS1 values do not allow (a plus sign is written %%2B)", k)}
		}
		if k == aiGTIN && dlIsDigits(v) && (len(v) == 8 || len(v) == 12 || len(v) == 13) {
			// GS1 reads a shorter GTIN in the query as its GTIN-14.
			v = strings.Repeat("0", 14-len(v)) + v
		}
		for _, a := range attrs {
			if a.AI == k {
				return nil, nil, &FieldError{Field: "query." + k, Reason: fmt.Sprintf("AI (%s) is given twice", k)}
			}
		}
		attrs = append(attrs, AIValue{k, v})
	}
	return attrs, params, nil
}

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

// ValidateAI checks the value of a GS1 AI as a Digital Link's query string
// carries it: AI must be a GS1 AI and value of its form.
func ValidateAI(ai, value string) error { return dlValidateAttribute(ai, value) }

func dlValidateAttribute(ai, v string) error {
	field := "query." + ai
	fail := func(format string, args ...any) error {
		return &FieldError{Field: field, Reason: fmt.Sprintf("AI (%s) ", ai) + fmt.Sprintf(format, args...)}
	}
	r := lookupAI(ai)
	if r == nil {
		return &FieldError{Field: field, Reason: dlUnknownAI(ai)}
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
	// The AIs people meet most, said in their own words first.
	switch {
	case ai == "02":
		if err := ValidateGTIN14(v); err != nil {
			return fail("%s", err.(*FieldError).Reason)
		}
	case ai == "11" || ai == "12" || ai == "13" || ai == "15" || ai == "16" || ai == "17":
		if err := numeric(6, 6); err != nil {
			return err
		}
		if err := date(v, true); err != nil {
			return err
		}
	case ai == "7006":
		if err := numeric(6, 6); err != nil {
			return err
		}
		if err := date(v, false); err != nil {
			return err
		}
	case ai == AIHarvestDate:
		if !dlIsDigits(v) || (len(v) != 6 && len(v) != 12) {
			return fail("is a harvest date YYMMDD or a range YYMMDDYYMMDD, got %q", dlShort(v))
		}
		if err := date(v[:6], false); err != nil {
			return err
		}
		if len(v) == 12 {
			if err := date(v[6:], false); err != nil {
				return err
			}
		}
	case ai == "422" || ai == "424" || ai == "426":
		if _, ok := iso3166Numeric[v]; !ok {
			return fail("is an ISO 3166 numeric country code (Vietnam is 704), got %q", dlShort(v))
		}
	case len(ai) == 4 && ai[0] == '3' && ai[1] >= '1' && ai[1] <= '6':
		// 310n–369n: measures with n decimals, always 6 digits.
		if err := numeric(6, 6); err != nil {
			return err
		}
	}
	if why := r.checkValue(v); why != "" {
		return fail("%s", why)
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

// ParseBatchLinkPath returns the batch id of a short-link path /b/<id>, as
// an HTTP handler sees it: pass r.URL.EscapedPath(). Percent-escapes are
// decoded (strictly) before the id is checked, so /b/st25%2F is the id
// "st25/", which is refused, never the batch st25.
func ParseBatchLinkPath(escapedPath string) (string, error) {
	raw, ok := strings.CutPrefix(escapedPath, BatchLinkPrefix)
	if !ok {
		return "", &FieldError{Field: "path", Reason: "a batch short link has the form /b/<batch id>"}
	}
	if strings.HasSuffix(raw, "/") {
		return "", &FieldError{Field: "path", Reason: "the link ends with '/': a batch short link is /b/<batch id>, with no trailing slash"}
	}
	id, err := dlUnescape(raw)
	if err != nil {
		return "", &FieldError{Field: "batch", Reason: err.Error() + ": a '%' must be followed by two hex digits"}
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
