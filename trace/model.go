package trace

import (
	"fmt"
	"strings"
	"time"
	"unicode/utf8"
)

// Limits on free text, so that every input has a size limit.
const (
	MaxNameLen  = 200  // names of cooperatives, products, plots (characters)
	MaxNoteLen  = 2000 // free-text notes (characters)
	MaxURILen   = 500  // URIs (bytes)
	MaxIDLen    = 32   // identifiers (bytes)
	MaxListLen  = 50   // items in a list field (certifications, attachments, inputs)
	MaxDataKeys = 30   // entries in an event's data map
)

// Cooperative is a hợp tác xã: the organisation that records batches and
// whose key signs their events.
type Cooperative struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	Province string `json:"province"`
	GLN      string `json:"gln,omitempty"` // 13-digit Global Location Number, if the cooperative has one
	// PublicKeys are the Ed25519 public keys whose signatures count as the
	// cooperative's: the server's signing key first, then any keys the
	// cooperative registered to sign events itself.
	PublicKeys [][]byte  `json:"public_keys"`
	CreatedAt  time.Time `json:"created_at"`
	// Profile holds the rest of the cooperative's signed profile, by the
	// names of its record's fields (ProfileFields): short name,
	// registration number, province and commune codes, address, contact,
	// representative, founding date, logo, description per language.
	Profile map[string]string `json:"profile,omitempty"`
}

// Validate checks the cooperative's fields.
func (c *Cooperative) Validate() error {
	var v ValidationError
	v.add("", validateID("id", c.ID))
	v.add("", ValidateText("name", c.Name, MaxNameLen, true))
	v.add("", ValidateText("province", c.Province, MaxNameLen, true))
	if c.GLN != "" {
		v.add("", ValidateGLN(c.GLN))
	}
	for i, k := range c.PublicKeys {
		if len(k) != PublicKeySize {
			v.addf(fmt.Sprintf("public_keys[%d]", i), "an Ed25519 public key has %d bytes, got %d", PublicKeySize, len(k))
		}
	}
	v.add("", extraFields(KindCooperative, cooperativeBase, "profile", c.Profile))
	return v.err()
}

// Product is what a cooperative sells: ST25 rice, dragon fruit, coffee.
type Product struct {
	ID            string    `json:"id"`
	CooperativeID string    `json:"cooperative_id"`
	GTIN          string    `json:"gtin,omitempty"` // GTIN-14; empty for cooperatives without GS1 membership
	NameVI        string    `json:"name_vi"`
	NameEN        string    `json:"name_en,omitempty"`
	Category      string    `json:"category"`
	OCOPStars     int       `json:"ocop_stars,omitempty"` // 3 to 5 when the product holds an OCOP rating
	CreatedAt     time.Time `json:"created_at"`
	CreatedBy     string    `json:"created_by,omitempty"` // id of the API key that created it
	// Content holds the rest of the product's signed record, by the names
	// of its fields (ContentFields): its name in Chinese, description,
	// variety and ingredients per language (…_vi, …_en, …_zh) and photos
	// (SHA-256 of stored images, separated by a space, the first the main
	// one).
	Content map[string]string `json:"content,omitempty"`
}

// Validate checks the product's fields; a GTIN must already be normalised
// to 14 digits (see NormalizeGTIN).
func (p *Product) Validate() error {
	var v ValidationError
	v.add("", validateID("id", p.ID))
	v.add("", validateID("cooperative_id", p.CooperativeID))
	if p.GTIN != "" {
		v.add("", ValidateGTIN14(p.GTIN))
	}
	v.add("", ValidateText("name_vi", p.NameVI, MaxNameLen, true))
	v.add("", ValidateText("name_en", p.NameEN, MaxNameLen, false))
	v.add("", ValidateText("category", p.Category, MaxNameLen, true))
	if p.OCOPStars != 0 && (p.OCOPStars < 3 || p.OCOPStars > 5) {
		v.addf("ocop_stars", "an OCOP rating is 3, 4 or 5 stars, got %d", p.OCOPStars)
	}
	v.add("", extraFields(KindProduct, productBase, "content", p.Content))
	return v.err()
}

// Plot is the farm plot a batch was grown on. A plot whose position is
// not known has latitude and longitude both 0 (a point in the Gulf of
// Guinea no farm plot is at).
type Plot struct {
	Name string  `json:"name"`
	Lat  float64 `json:"lat"` // WGS84 degrees
	Lon  float64 `json:"lon"` // WGS84 degrees
}

// HasPosition reports whether the plot's position is known.
func (p *Plot) HasPosition() bool { return p.Lat != 0 || p.Lon != 0 }

// Validate checks the plot's name and coordinates, if it has them.
func (p *Plot) Validate() error {
	var v ValidationError
	v.add("", ValidateText("name", p.Name, MaxNameLen, true))
	if p.Lat < -90 || p.Lat > 90 || p.Lat != p.Lat {
		v.addf("lat", "latitude must be between -90 and 90, got %v", p.Lat)
	}
	if p.Lon < -180 || p.Lon > 180 || p.Lon != p.Lon {
		v.addf("lon", "longitude must be between -180 and 180, got %v", p.Lon)
	}
	return v.err()
}

// Batch is a lot: one harvest of one product that is traced as a unit.
type Batch struct {
	ID            string   `json:"id"`
	CooperativeID string   `json:"cooperative_id"`
	ProductID     string   `json:"product_id"`
	Lot           string   `json:"lot"`
	Quantity      Quantity `json:"quantity"`
	HarvestDate   string   `json:"harvest_date,omitempty"` // YYYY-MM-DD
	Plot          *Plot    `json:"plot,omitempty"`
	// Certifications are the certificates the cooperative claims for the lot.
	Certifications []Certification `json:"certifications,omitempty"`
	// Template is the crop template the batch follows, if any.
	Template string `json:"template,omitempty"`
	// Member is the member household of the cooperative's registry the
	// lot came from, if it names one.
	Member    string    `json:"member,omitempty"`
	CreatedAt time.Time `json:"created_at"`
	CreatedBy string    `json:"created_by,omitempty"` // id of the API key that created it
}

// Validate checks the batch's fields.
func (b *Batch) Validate() error {
	var v ValidationError
	v.add("", validateID("id", b.ID))
	v.add("", validateID("cooperative_id", b.CooperativeID))
	v.add("", validateID("product_id", b.ProductID))
	v.add("", ValidateLot(b.Lot))
	v.add("quantity", b.Quantity.Validate())
	if b.HarvestDate != "" {
		v.add("", validateDate("harvest_date", b.HarvestDate))
	}
	if b.Plot != nil {
		v.add("plot", b.Plot.Validate())
	}
	v.add("", validateCertifications(b.Certifications))
	if b.Member != "" {
		v.add("", validateID("member", b.Member))
	}
	if b.Template != "" {
		if _, err := TemplateByID(b.Template); err != nil {
			v.add("", err)
		}
	}
	return v.err()
}

// Quantity is an amount with its UN/ECE unit code.
type Quantity struct {
	Value Decimal `json:"value"`
	Unit  string  `json:"unit"` // UN/ECE Rec. 20/21 code: KGM, TNE, …
}

// Validate checks that the value is a canonical positive decimal, the
// unit is known and the value is at most the unit's bound (UnitMax).
func (q Quantity) Validate() error { return q.validate(false, true) }

// validate checks the quantity; allowZero admits a zero (a loss), and
// bounded applies UnitMax (Decode reads events signed before it did).
func (q Quantity) validate(allowZero, bounded bool) error {
	var v ValidationError
	if err := q.Value.Validate(); err != nil {
		v.add("value", err)
	} else if q.Value.IsZero() && !allowZero {
		v.addf("value", "must be greater than zero")
	} else if max, ok := UnitMax[q.Unit]; ok && bounded && q.Value.Rat().Cmp(max.Rat()) > 0 {
		v.addf("value", "must be at most %s %s (%s) in one quantity; check for extra digits or a wrong unit", groupDigits(string(max)), q.Unit, Units[q.Unit][1])
	}
	if _, ok := Units[q.Unit]; !ok {
		v.addf("unit", "unknown unit %s; use a UN/ECE code such as KGM (kg), TNE (tonne), H87 (piece), XBG (bag)", quote(q.Unit))
	}
	return v.err()
}

// groupDigits writes a whole number with a comma between groups of three
// digits: 10000000 is 10,000,000.
func groupDigits(n string) string {
	var b []byte
	for i := range len(n) {
		if i > 0 && (len(n)-i)%3 == 0 {
			b = append(b, ',')
		}
		b = append(b, n[i])
	}
	return string(b)
}

// validateID checks an identifier: 1 to 32 lowercase ASCII letters, digits and '-'.
func validateID(field, s string) error {
	if s == "" {
		return &FieldError{Field: field, Reason: "is required"}
	}
	if !ValidID(s) {
		return &FieldError{Field: field, Reason: fmt.Sprintf("%q is not an identifier: use 1 to %d lowercase letters, digits and '-'", truncate(s, 40), MaxIDLen)}
	}
	return nil
}

// ValidID reports whether s is a well-formed identifier.
func ValidID(s string) bool {
	if s == "" || len(s) > MaxIDLen {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// ValidateText checks a free-text field that reaches a page (a name, a
// note, a data value): valid UTF-8, no control characters other than
// newline and tab, no bidirectional controls (see BidiControl), no
// surrounding spaces, at most max characters.
func ValidateText(field, s string, max int, required bool) error {
	return checkText(field, s, max, required, true)
}

// checkText is ValidateText, with bidirectional controls refused or not:
// Decode reads events signed before they were refused.
func checkText(field, s string, max int, required, refuseBidi bool) error {
	if s == "" {
		if required {
			return &FieldError{Field: field, Reason: "is required"}
		}
		return nil
	}
	if !utf8.ValidString(s) {
		return &FieldError{Field: field, Reason: "is not valid UTF-8"}
	}
	if n := utf8.RuneCountInString(s); n > max {
		return &FieldError{Field: field, Reason: fmt.Sprintf("at most %d characters, got %d", max, n)}
	}
	if strings.TrimSpace(s) != s {
		return &FieldError{Field: field, Reason: "must not start or end with spaces"}
	}
	for _, r := range s {
		if r < 0x20 && r != '\n' && r != '\t' || r == 0x7f {
			return &FieldError{Field: field, Reason: fmt.Sprintf("contains the control character %U", r)}
		}
	}
	if refuseBidi {
		return refuseBidiControls(field, s)
	}
	return nil
}

// bidiControls are the Unicode bidirectional embedding, override and
// isolate controls (UAX #9). Invisible, they make text display in another
// order than it is stored: a note can show a dose or a date that is not
// the one signed ("Trojan Source", CVE-2021-42574).
var bidiControls = map[rune]string{
	0x202A: "LEFT-TO-RIGHT EMBEDDING",
	0x202B: "RIGHT-TO-LEFT EMBEDDING",
	0x202C: "POP DIRECTIONAL FORMATTING",
	0x202D: "LEFT-TO-RIGHT OVERRIDE",
	0x202E: "RIGHT-TO-LEFT OVERRIDE",
	0x2066: "LEFT-TO-RIGHT ISOLATE",
	0x2067: "RIGHT-TO-LEFT ISOLATE",
	0x2068: "FIRST STRONG ISOLATE",
	0x2069: "POP DIRECTIONAL ISOLATE",
}

// BidiControl reports whether r is a bidirectional control character
// (U+202A–U+202E, U+2066–U+2069) and, if so, its Unicode name.
func BidiControl(r rune) (name string, ok bool) {
	name, ok = bidiControls[r]
	return name, ok
}

// refuseBidiControls refuses text holding a bidirectional control,
// naming the character and where it is.
func refuseBidiControls(field, s string) error {
	i := 0
	for _, r := range s {
		i++
		if name, ok := bidiControls[r]; ok {
			return &FieldError{Field: field, Reason: fmt.Sprintf("contains %U %s (character %d), an invisible control that makes text display in another order than it is stored; remove it", r, name, i)}
		}
	}
	return nil
}

// validateDate checks a YYYY-MM-DD calendar date.
func validateDate(field, s string) error {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil || t.Format(time.DateOnly) != s {
		return &FieldError{Field: field, Reason: fmt.Sprintf("%q is not a date in the form YYYY-MM-DD", truncate(s, 40))}
	}
	if t.Year() < 1990 || t.Year() > 2200 {
		return &FieldError{Field: field, Reason: fmt.Sprintf("year %d is out of range", t.Year())}
	}
	return nil
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n]) + "…"
}

func quote(s string) string { return fmt.Sprintf("%q", truncate(s, 60)) }
