package trace

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/mail"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// A cooperative's registry, beyond its profile and its products: the
// member households and farms that grow the produce, their plots and
// growing areas with the official codes exporters need, the certificates
// the cooperative holds, and where its products are sold. Each entry is a
// chain of signed records (Record) like the profile's, one kind per list;
// an entry is never deleted: removing it signs a revision that carries
// the date it was removed ("removed"), so the registry's history stays
// whole and verifiable.
//
// Every field is a flat string with a rule of its own (recordSchemas):
// dates are YYYY-MM-DD, areas canonical decimals in hectares, phone
// numbers Vietnamese (0912345678 or +84912345678), web addresses http(s)
// URLs, attachments and photos the SHA-256 (hex) of a stored file, lists
// of ids separated by one space, locations GeoJSON (a Point or a Polygon)
// written compactly, administrative units by their code (adminunits).
// Codes are checked for their form only, never against a list that may
// change after the record is signed.

// The kinds of a cooperative's registry lists.
const (
	// KindMember is a member household or farm (hộ thành viên).
	KindMember RecordKind = "member"
	// KindPlot is a plot or growing area, with its planting-area code
	// (mã số vùng trồng) and packing-house code (mã số cơ sở đóng gói).
	KindPlot RecordKind = "plot"
	// KindCertificate is a certificate the cooperative holds: VietGAP,
	// GlobalG.A.P., organic, OCOP with its stars, HACCP, …
	KindCertificate RecordKind = "certificate"
	// KindListing is a place a product is sold: the cooperative's own
	// shop or a listing on an e-commerce platform.
	KindListing RecordKind = "listing"
)

// ListKinds are the registry's list kinds, in the order they are shown.
var ListKinds = []RecordKind{KindMember, KindPlot, KindCertificate, KindListing}

// Platforms are the places a listing may be on, with their names.
var Platforms = map[string]string{
	"shop":     "Cửa hàng của hợp tác xã",
	"website":  "Trang web của hợp tác xã",
	"shopee":   "Shopee",
	"lazada":   "Lazada",
	"tiki":     "Tiki",
	"tiktok":   "TikTok Shop",
	"postmart": "Postmart",
	"sendo":    "Sendo",
	"voso":     "Voso",
	"facebook": "Facebook",
	"zalo":     "Zalo",
	"other":    "Khác",
}

// Languages of a product's content: Vietnamese first, English, Simplified
// Chinese. A field of the content is named with its language's suffix
// (description_vi, description_en, description_zh).
var ContentLanguages = []string{"vi", "en", "zh"}

// Limits of registry fields.
const (
	MaxDescriptionLen = 2000 // a description (characters)
	MaxPhotos         = 8    // photos of a product
	MaxLocationLen    = 24000
	MaxPositions      = 1000 // positions in a plot's polygon
	MaxAreaHectares   = 100000
	MaxScopeIDs       = MaxListLen
)

// cooperativeBase and productBase are the fields the working copies of a
// cooperative and a product keep in their own struct fields; the others
// are their Profile and Content.
var (
	cooperativeBase = map[string]bool{"name": true, "province": true, "gln": true}
	productBase     = map[string]bool{"gtin": true, "name_vi": true, "name_en": true, "category": true, "ocop_stars": true}
)

func init() {
	coop := recordSchemas[KindCooperative]
	for k, r := range map[string]fieldRule{
		"short_name":      {max: 100},
		"registration_no": {max: 14, check: ValidateRegistrationNo},
		"province_code":   {max: 2, check: provinceCodeRule},
		"commune_code":    {max: 5, check: communeCodeRule},
		"address":         {max: MaxNameLen},
		"phone":           {max: 13, check: ValidatePhone},
		"zalo":            {max: 13, check: ValidatePhone},
		"email":           {max: 254, check: ValidateEmail},
		"website":         {max: MaxURILen, check: ValidateWebURL},
		"representative":  {max: MaxNameLen},
		"founded":         {max: 10, check: dateRule},
		"logo":            {max: 64, check: hashRule},
		"description_vi":  {max: MaxDescriptionLen},
		"description_en":  {max: MaxDescriptionLen},
		"description_zh":  {max: MaxDescriptionLen},
	} {
		coop[k] = r
	}
	product := recordSchemas[KindProduct]
	for k, r := range map[string]fieldRule{
		"name_zh":        {max: MaxNameLen},
		"description_vi": {max: MaxDescriptionLen},
		"description_en": {max: MaxDescriptionLen},
		"description_zh": {max: MaxDescriptionLen},
		"variety_vi":     {max: MaxNameLen},
		"variety_en":     {max: MaxNameLen},
		"variety_zh":     {max: MaxNameLen},
		"ingredients_vi": {max: 1000},
		"ingredients_en": {max: 1000},
		"ingredients_zh": {max: 1000},
		"photos":         {max: MaxPhotos * 65, check: photosRule},
	} {
		product[k] = r
	}
	recordSchemas[KindMember] = map[string]fieldRule{
		"name":         {required: true, max: MaxNameLen},
		"code":         {max: 40},
		"commune_code": {max: 5, check: communeCodeRule},
		"address":      {max: MaxNameLen},
		"area_ha":      {max: 24, check: areaRule},
		"crops":        {max: MaxNameLen},
		"phone":        {max: 13, check: ValidatePhone},
		"joined":       {max: 10, check: dateRule},
		"removed":      {max: 10, check: dateRule},
	}
	recordSchemas[KindPlot] = map[string]fieldRule{
		"name":                     {required: true, max: MaxNameLen},
		"area_ha":                  {max: 24, check: areaRule},
		"crop":                     {max: MaxNameLen},
		"member":                   {max: MaxIDLen, check: idRule},
		"commune_code":             {max: 5, check: communeCodeRule},
		"location":                 {max: MaxLocationLen, check: ValidateGeoJSON},
		"planting_code":            {max: 40, check: officialCodeRule},
		"planting_code_valid_from": {max: 10, check: dateRule},
		"planting_code_valid_to":   {max: 10, check: dateRule},
		"packing_code":             {max: 40, check: officialCodeRule},
		"packing_code_valid_from":  {max: 10, check: dateRule},
		"packing_code_valid_to":    {max: 10, check: dateRule},
		"removed":                  {max: 10, check: dateRule},
	}
	recordSchemas[KindCertificate] = map[string]fieldRule{
		"scheme":     {required: true, max: MaxURILen, check: schemeRule},
		"number":     {required: true, max: 100},
		"issuer":     {required: true, max: MaxNameLen},
		"valid_from": {required: true, max: 10, check: dateRule},
		"valid_to":   {required: true, max: 10, check: dateRule},
		"products":   {max: MaxScopeIDs * (MaxIDLen + 1), check: idListRule},
		"plots":      {max: MaxScopeIDs * (MaxIDLen + 1), check: idListRule},
		"ocop_stars": {max: 1, check: ocopStarsRule},
		"scan":       {max: 64, check: hashRule},
		"removed":    {max: 10, check: dateRule},
	}
	recordSchemas[KindListing] = map[string]fieldRule{
		"platform": {required: true, max: 20, check: platformRule},
		"label":    {required: true, max: 100},
		"url":      {required: true, max: MaxURILen, check: ValidateWebURL},
		"product":  {max: MaxIDLen, check: idRule},
		"removed":  {max: 10, check: dateRule},
	}
	recordChecks[KindPlot] = checkPlot
	recordChecks[KindCertificate] = checkCertificate
}

// recordChecks are the checks of a kind that involve more than one field.
var recordChecks = map[RecordKind]func(f map[string]string, v *ValidationError){}

func checkPlot(f map[string]string, v *ValidationError) {
	for _, code := range []string{"planting_code", "packing_code"} {
		from, to := f[code+"_valid_from"], f[code+"_valid_to"]
		if f[code] == "" && (from != "" || to != "") {
			v.addf("fields."+code, "give the code whose validity is stated")
		}
		if from != "" && to != "" && to < from {
			v.addf("fields."+code+"_valid_to", "the code's validity ends (%s) before it begins (%s)", to, from)
		}
	}
}

func checkCertificate(f map[string]string, v *ValidationError) {
	if from, to := f["valid_from"], f["valid_to"]; from != "" && to != "" && to < from {
		v.addf("fields.valid_to", "the certificate's validity ends (%s) before it begins (%s)", to, from)
	}
	if _, stars := f["ocop_stars"]; stars != (f["scheme"] == "ocop") {
		if stars {
			v.addf("fields.ocop_stars", "only an OCOP certificate has stars")
		} else {
			v.addf("fields.ocop_stars", "an OCOP certificate states its stars: 3, 4 or 5")
		}
	}
}

var (
	registrationRE = regexp.MustCompile(`^[0-9]{10}(-[0-9]{3})?$`)
	phoneRE        = regexp.MustCompile(`^(0|\+84)[1-9][0-9]{8,9}$`)
	officialCodeRE = regexp.MustCompile(`^[A-Z0-9]+(-[A-Z0-9]+)*$`)
)

// ValidateRegistrationNo checks a cooperative's registration number (mã
// số hợp tác xã, the same as its tax code): 10 digits, or 13 for a branch
// written 0123456789-001.
func ValidateRegistrationNo(s string) error {
	if !registrationRE.MatchString(s) {
		return fmt.Errorf("a registration number is 10 digits (0123456789), or 10 digits, a dash and 3 more for a branch; got %s", quote(s))
	}
	return nil
}

// ValidatePhone checks a Vietnamese phone number written without spaces:
// 0 and 9 or 10 more digits (0912345678, 02993851234), or +84 in place of
// the 0. NormalizePhone writes a typed number that way.
func ValidatePhone(s string) error {
	if !phoneRE.MatchString(s) {
		return fmt.Errorf("a phone number is 10 or 11 digits starting with 0 (0912345678), or +84 then the number without its 0; got %s", quote(s))
	}
	return nil
}

// NormalizePhone removes the spaces, dots, dashes and brackets people type
// in a phone number and writes 0084… as +84…; it does not check the result.
func NormalizePhone(s string) string {
	var b strings.Builder
	for _, r := range strings.TrimSpace(s) {
		switch r {
		case ' ', '.', '-', '(', ')', '\u00a0':
			continue
		}
		b.WriteRune(r)
	}
	out := b.String()
	if strings.HasPrefix(out, "0084") {
		out = "+84" + out[4:]
	}
	return out
}

// ValidateEmail checks an e-mail address: a bare address (no display
// name) of printable ASCII with a domain that has a dot.
func ValidateEmail(s string) error {
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return fmt.Errorf("%s is not an e-mail address such as htx@example.vn (letters without accents, no spaces)", quote(s))
		}
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return fmt.Errorf("%s is not an e-mail address such as htx@example.vn", quote(s))
	}
	_, domain, _ := strings.Cut(s, "@")
	if !strings.Contains(domain, ".") || strings.HasPrefix(domain, ".") || strings.HasSuffix(domain, ".") {
		return fmt.Errorf("%s is not an e-mail address such as htx@example.vn: its domain has no dot", quote(s))
	}
	return nil
}

// ValidateWebURL checks a web address a shopper may be sent to: an
// absolute http or https URL with a host name, without user name or
// password, spaces or control characters.
func ValidateWebURL(s string) error {
	if strings.ContainsAny(s, " \t\r\n<>\"{}|\\^`") {
		return fmt.Errorf("%s has spaces or characters a web address may not have", quote(s))
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("%s is not a web address starting with https:// (or http://)", quote(s))
	}
	if u.User != nil {
		return fmt.Errorf("%s carries a user name or password; give the address without it", quote(s))
	}
	host := u.Hostname()
	if host == "" || !strings.Contains(host, ".") || strings.HasPrefix(host, ".") || strings.HasSuffix(host, ".") {
		return fmt.Errorf("%s has no host name such as shopee.vn", quote(s))
	}
	return nil
}

func dateRule(s string) error {
	var fe *FieldError
	if err := validateDate("date", s); errors.As(err, &fe) {
		return errors.New(fe.Reason)
	}
	return nil
}

func provinceCodeRule(s string) error {
	if len(s) != 2 || !allDigits(s) {
		return fmt.Errorf("a province code is 2 digits, such as 92 for Cần Thơ; got %s", quote(s))
	}
	return nil
}

func communeCodeRule(s string) error {
	if len(s) != 5 || !allDigits(s) {
		return fmt.Errorf("a commune code is 5 digits, such as 31717; got %s", quote(s))
	}
	return nil
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

func hashRule(s string) error {
	if _, err := ParseHash(s); err != nil || strings.ToLower(s) != s {
		return fmt.Errorf("an attachment is named by its SHA-256, 64 lowercase hexadecimal digits; got %s", quote(s))
	}
	return nil
}

func photosRule(s string) error {
	hashes := strings.Split(s, " ")
	if len(hashes) > MaxPhotos {
		return fmt.Errorf("at most %d photos, got %d", MaxPhotos, len(hashes))
	}
	seen := map[string]bool{}
	for _, h := range hashes {
		if err := hashRule(h); err != nil {
			return fmt.Errorf("photos are SHA-256 hashes separated by one space: %w", err)
		}
		if seen[h] {
			return fmt.Errorf("photo %s appears twice", h[:12])
		}
		seen[h] = true
	}
	return nil
}

func idRule(s string) error {
	if !ValidID(s) {
		return fmt.Errorf("%s is not an identifier: use 1 to %d lowercase letters, digits and '-'", quote(s), MaxIDLen)
	}
	return nil
}

func idListRule(s string) error {
	ids := strings.Split(s, " ")
	if len(ids) > MaxScopeIDs {
		return fmt.Errorf("at most %d ids, got %d", MaxScopeIDs, len(ids))
	}
	seen := map[string]bool{}
	for _, id := range ids {
		if !ValidID(id) {
			return fmt.Errorf("ids are separated by one space; %s is not an identifier", quote(id))
		}
		if seen[id] {
			return fmt.Errorf("%s appears twice", id)
		}
		seen[id] = true
	}
	return nil
}

func areaRule(s string) error {
	d := Decimal(s)
	if err := d.Validate(); err != nil {
		return fmt.Errorf("an area is a number of hectares such as 1.25: %w", err)
	}
	if d.IsZero() {
		return fmt.Errorf("an area must be greater than zero")
	}
	if d.Rat().Cmp(Decimal(strconv.Itoa(MaxAreaHectares)).Rat()) > 0 {
		return fmt.Errorf("an area must be at most %s ha; check for extra digits", groupDigits(strconv.Itoa(MaxAreaHectares)))
	}
	return nil
}

func officialCodeRule(s string) error {
	if len(s) < 4 || !officialCodeRE.MatchString(s) {
		return fmt.Errorf("a code is capital letters and digits in groups joined by '-', such as VN-STPUC-0012; got %s", quote(s))
	}
	return nil
}

func schemeRule(s string) error {
	if _, ok := CertificationSchemes[s]; ok || isAbsoluteURI(s) {
		return nil
	}
	known := make([]string, 0, len(CertificationSchemes))
	for k := range CertificationSchemes {
		known = append(known, k)
	}
	sort.Strings(known)
	return fmt.Errorf("unknown scheme %s; use one of %s or a full URI", quote(s), strings.Join(known, ", "))
}

func platformRule(s string) error {
	if _, ok := Platforms[s]; ok {
		return nil
	}
	known := make([]string, 0, len(Platforms))
	for k := range Platforms {
		known = append(known, k)
	}
	sort.Strings(known)
	return fmt.Errorf("unknown platform %s; use one of %s", quote(s), strings.Join(known, ", "))
}

// Vietnam's bounding box, islands included: a plot outside it is a typing
// mistake, most often latitude and longitude swapped.
const (
	vnMinLat, vnMaxLat = 8.0, 23.5
	vnMinLon, vnMaxLon = 102.0, 118.0
)

// ValidateGeoJSON checks a plot's location: a GeoJSON (RFC 7946) Point or
// Polygon, longitude first, inside Vietnam, a polygon's rings closed with
// at least four positions, at most MaxPositions in all, written exactly as
// CanonicalGeoJSON writes it.
func ValidateGeoJSON(s string) error {
	c, err := CanonicalGeoJSON(s)
	if err != nil {
		return err
	}
	if c != s {
		return fmt.Errorf("write the location compactly as %s", truncate(c, 80))
	}
	return nil
}

// CanonicalGeoJSON reads a GeoJSON Point or Polygon, checks it as
// ValidateGeoJSON does, and writes it compactly: members type then
// coordinates, numbers as Go's strconv 'f' -1 writes them.
func CanonicalGeoJSON(s string) (string, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if err := dec.Decode(&g); err != nil || dec.More() {
		return "", fmt.Errorf(`a location is GeoJSON such as {"type":"Point","coordinates":[105.9381,9.4712]} (longitude first)`)
	}
	var b bytes.Buffer
	switch g.Type {
	case "Point":
		var p []float64
		if err := json.Unmarshal(g.Coordinates, &p); err != nil || len(p) != 2 {
			return "", fmt.Errorf("a Point's coordinates are [longitude, latitude]")
		}
		if err := checkPosition(p, ""); err != nil {
			return "", err
		}
		b.WriteString(`{"type":"Point","coordinates":`)
		writePosition(&b, p)
		b.WriteString("}")
	case "Polygon":
		var rings [][][]float64
		if err := json.Unmarshal(g.Coordinates, &rings); err != nil || len(rings) == 0 {
			return "", fmt.Errorf("a Polygon's coordinates are a list of rings, each a list of [longitude, latitude]")
		}
		n := 0
		for _, ring := range rings {
			n += len(ring)
		}
		if n > MaxPositions {
			return "", fmt.Errorf("a plot's outline has at most %d positions, got %d; simplify it", MaxPositions, n)
		}
		b.WriteString(`{"type":"Polygon","coordinates":[`)
		for i, ring := range rings {
			if len(ring) < 4 {
				return "", fmt.Errorf("ring %d of the outline has %d positions; a ring has at least 4, the last the same as the first", i+1, len(ring))
			}
			for j, p := range ring {
				if len(p) != 2 {
					return "", fmt.Errorf("position %d of ring %d is not [longitude, latitude]", j+1, i+1)
				}
				if err := checkPosition(p, fmt.Sprintf("position %d of ring %d: ", j+1, i+1)); err != nil {
					return "", err
				}
			}
			if first, last := ring[0], ring[len(ring)-1]; first[0] != last[0] || first[1] != last[1] {
				return "", fmt.Errorf("ring %d of the outline is not closed: its last position must be its first", i+1)
			}
			if i > 0 {
				b.WriteByte(',')
			}
			b.WriteByte('[')
			for j, p := range ring {
				if j > 0 {
					b.WriteByte(',')
				}
				writePosition(&b, p)
			}
			b.WriteByte(']')
		}
		b.WriteString("]}")
	default:
		return "", fmt.Errorf("a plot's location is a GeoJSON Point or Polygon, not %s", quote(g.Type))
	}
	return b.String(), nil
}

func checkPosition(p []float64, where string) error {
	lon, lat := p[0], p[1]
	inside := func(lat, lon float64) bool {
		return lat >= vnMinLat && lat <= vnMaxLat && lon >= vnMinLon && lon <= vnMaxLon
	}
	switch {
	case inside(lat, lon):
		return nil
	case inside(lon, lat):
		return fmt.Errorf("%s[%v, %v] is outside Vietnam: GeoJSON writes longitude first, [%v, %v]", where, lon, lat, lat, lon)
	case math.IsNaN(lon) || math.IsNaN(lat) || lon < -180 || lon > 180 || lat < -90 || lat > 90:
		return fmt.Errorf("%slongitude is between -180 and 180 and latitude between -90 and 90", where)
	}
	return fmt.Errorf("%s[%v, %v] (longitude, latitude) is outside Vietnam", where, lon, lat)
}

func writePosition(b *bytes.Buffer, p []float64) {
	b.WriteByte('[')
	b.WriteString(strconv.FormatFloat(p[0], 'f', -1, 64))
	b.WriteByte(',')
	b.WriteString(strconv.FormatFloat(p[1], 'f', -1, 64))
	b.WriteByte(']')
}

// GeoJSONCenter returns a point to show a location by on a map: the point
// itself, or the mean of a polygon's outer ring (its closing position
// counted once).
func GeoJSONCenter(s string) (lat, lon float64, ok bool) {
	var g struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	}
	if json.Unmarshal([]byte(s), &g) != nil {
		return 0, 0, false
	}
	switch g.Type {
	case "Point":
		var p []float64
		if json.Unmarshal(g.Coordinates, &p) != nil || len(p) != 2 {
			return 0, 0, false
		}
		return p[1], p[0], true
	case "Polygon":
		var rings [][][]float64
		if json.Unmarshal(g.Coordinates, &rings) != nil || len(rings) == 0 || len(rings[0]) < 2 {
			return 0, 0, false
		}
		ring := rings[0][:len(rings[0])-1]
		for _, p := range ring {
			if len(p) != 2 {
				return 0, 0, false
			}
			lon += p[0]
			lat += p[1]
		}
		return lat / float64(len(ring)), lon / float64(len(ring)), true
	}
	return 0, 0, false
}

// Certificate states on a day.
const (
	CertValid   = "valid"   // valid on the day
	CertExpired = "expired" // its validity ended before the day
	CertNotYet  = "not_yet" // its validity begins after the day
)

// CertificateStatus says whether a certificate record's fields (valid_from,
// valid_to, YYYY-MM-DD) make it valid on a day (YYYY-MM-DD): CertValid,
// CertExpired or CertNotYet. Both ends are days of validity.
func CertificateStatus(f map[string]string, day string) string {
	switch {
	case f["valid_to"] != "" && day > f["valid_to"]:
		return CertExpired
	case f["valid_from"] != "" && day < f["valid_from"]:
		return CertNotYet
	}
	return CertValid
}

// InScope reports whether a space-separated id list names id; an empty
// list names everything (a certificate of the whole cooperative).
func InScope(list, id string) bool {
	if list == "" {
		return true
	}
	for _, x := range strings.Split(list, " ") {
		if x == id {
			return true
		}
	}
	return false
}

// Removed reports whether a registry entry's newest revision removed it.
func (r *Record) Removed() bool { return r.Fields["removed"] != "" }

// extraFields checks the fields of a working copy's map (a cooperative's
// Profile, a product's Content): each a field of the kind's record other
// than those the working copy keeps in fields of its own.
func extraFields(kind RecordKind, base map[string]bool, field string, m map[string]string) error {
	var v ValidationError
	schema := recordSchemas[kind]
	for k, val := range m {
		rule, ok := schema[k]
		if !ok || base[k] {
			v.addf(field+"."+k, "a %s has no field %s", kind, quote(k))
			continue
		}
		if val == "" {
			v.addf(field+"."+k, "leave an empty field out")
			continue
		}
		if err := ValidateText(k, val, rule.max, true); err != nil {
			v.add(field, err)
			continue
		}
		if rule.check != nil {
			if err := rule.check(val); err != nil {
				v.add(field+"."+k, TrimFieldPrefix(k, err))
			}
		}
	}
	return v.err()
}

// ProfileFields lists the fields a cooperative's Profile may hold, sorted.
func ProfileFields() []string { return extraNames(KindCooperative, cooperativeBase) }

// ContentFields lists the fields a product's Content may hold, sorted.
func ContentFields() []string { return extraNames(KindProduct, productBase) }

func extraNames(kind RecordKind, base map[string]bool) []string {
	var out []string
	for _, k := range RecordFields(kind) {
		if !base[k] {
			out = append(out, k)
		}
	}
	return out
}

// FieldRequired reports whether a kind's records must carry a field.
func FieldRequired(kind RecordKind, field string) bool { return recordSchemas[kind][field].required }

// ValidateField checks one value of a kind's field by the record's rules
// (without the checks across fields): what a form or an import checks
// for each cell.
func ValidateField(kind RecordKind, field, value string) error {
	rule, ok := recordSchemas[kind][field]
	if !ok {
		return &FieldError{Field: field, Reason: fmt.Sprintf("a %s has no field %s", kind, quote(field))}
	}
	if value == "" {
		if rule.required {
			return &FieldError{Field: field, Reason: "is required"}
		}
		return nil
	}
	if err := ValidateText(field, value, rule.max, true); err != nil {
		return err
	}
	if rule.check != nil {
		if err := rule.check(value); err != nil {
			return &FieldError{Field: field, Reason: err.Error()}
		}
	}
	return nil
}
