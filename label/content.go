package label

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/truyxuat/truyxuat/trace"
)

// Content is what one label shows. URI is what its QR code holds; the rest
// is printed beside it.
type Content struct {
	// URI is the link a phone opens: a GS1 Digital Link
	// (trace.DigitalLink.URI) or a batch short link (trace.BatchLinkURI).
	// It must be printable ASCII starting with https:// or http://.
	URI string
	// Product is the product name in Vietnamese, e.g. "Gạo ST25 Sóc Trăng".
	Product string
	// Lang is the label's second language, set in small print under the
	// Vietnamese: English (the default, also for "") or Simplified
	// Chinese, for lots shipped to China.
	Lang Language
	// ProductLang is the product's name in Lang, optional; it is among the
	// first lines left out when a small label runs out of room.
	ProductLang string
	// Cooperative is the cooperative's name, e.g. "Hợp tác xã Mỹ Xuyên".
	Cooperative string
	// Lot is the lot code as printed. When URI is a Digital Link with a
	// lot (AI 10), the two must be the same.
	Lot string
	// Harvest is the harvest date, printed dd/mm/yyyy; zero leaves it out.
	// HarvestEnd, when set, makes it a range.
	Harvest    time.Time
	HarvestEnd time.Time
	// OCOPStars is the OCOP rating, 3 to 5, or 0 for none.
	OCOPStars int
	// Certifications are marks such as "VietGAP", "GlobalG.A.P." or
	// "Hữu cơ", printed in the order given.
	Certifications []string
	// Serial is the per-unit serial number (GS1 AI 21), printed when set.
	// It should also be in URI (see Serials); if URI has one, they must
	// be the same.
	Serial string
}

// Limits on what a label can hold.
const (
	MaxTextLen        = 120 // characters in a product, cooperative or certification name
	MaxCertifications = 6
	MaxURILen         = 500
)

// Language is a label's second language, an ISO 639-1 code.
type Language string

// The second languages a label can print.
const (
	English Language = "en"
	Chinese Language = "zh" // Simplified Chinese
)

// secondLanguage is what a label prints in its second language.
type secondLanguage struct {
	scan string // the small print under "Quét mã để truy xuất"
	// rel is the size of its lines relative to the Vietnamese text:
	// Chinese characters need more room than Latin letters to stay
	// legible in small print, most of all on 203 dpi thermal printers.
	nameRel, scanRel float64
}

// secondLanguages holds the texts of each second language. Adding one is
// adding its entry here, and its glyphs to the embedded fonts.
var secondLanguages = map[Language]secondLanguage{
	English: {scan: "Scan to trace", nameRel: 0.9, scanRel: 0.85},
	Chinese: {scan: "扫码溯源", nameRel: 1, scanRel: 1},
}

// Languages lists the second languages a label can print, the default
// first.
func Languages() []Language { return []Language{English, Chinese} }

// ParseLanguage checks a second language as a request or flag names it
// ("" is English).
func ParseLanguage(s string) (Language, error) {
	l := Language(strings.ToLower(strings.TrimSpace(s)))
	if l == "" {
		return English, nil
	}
	if _, ok := secondLanguages[l]; !ok {
		return "", unknownLanguage(s)
	}
	return l, nil
}

func unknownLanguage(s string) error {
	if utf8.RuneCountInString(s) > 20 {
		s = string([]rune(s)[:20]) + "…"
	}
	return fieldErr("lang", fmt.Sprintf("unknown second language %q: use en (English) or zh (Simplified Chinese)", s))
}

// Label texts.
const (
	textScanVI  = "Quét mã để truy xuất"
	textLot     = "Lô: "
	textHarvest = "Thu hoạch: "
	textSerial  = "Số sê-ri: "
	textOCOP    = "OCOP"
	certSep     = " · "
	dateLayout  = "02/01/2006"
)

// fieldErr returns an input error that errors.Is matches with
// trace.ErrInvalid, so the API answers it with 400.
func fieldErr(field, reason string) error {
	return &trace.FieldError{Field: field, Reason: reason}
}

// What does not fit a label's layout.
var (
	// ErrTextDoesNotFit: the product, lot and marks do not fit beside the
	// QR code even at the smallest size.
	ErrTextDoesNotFit = errors.New("label: the text does not fit")
	// ErrQRTooSmall: the QR code would be too small for a phone to read.
	ErrQRTooSmall = errors.New("label: the QR code does not fit")
)

// fitError is a field error that also says what does not fit.
type fitError struct {
	*trace.FieldError
	kind error
}

func (e *fitError) Unwrap() []error { return []error{e.FieldError, e.kind} }

func fitErr(kind error, field, reason string) error {
	return &fitError{FieldError: &trace.FieldError{Field: field, Reason: reason}, kind: kind}
}

// Validate checks c and reports the first problem, naming the field.
func (c *Content) Validate() error {
	_, err := c.normalized()
	return err
}

// normalized returns a copy of c with Vietnamese text composed, after
// checking every field.
func (c *Content) normalized() (Content, error) {
	if err := checkURI(c.URI); err != nil {
		return Content{}, err
	}
	n := *c
	if n.Lang == "" {
		n.Lang = English
	}
	if _, ok := secondLanguages[n.Lang]; !ok {
		return Content{}, unknownLanguage(string(n.Lang))
	}
	n.Product = composeVietnamese(strings.TrimSpace(c.Product))
	n.ProductLang = composeVietnamese(strings.TrimSpace(c.ProductLang))
	n.Cooperative = composeVietnamese(strings.TrimSpace(c.Cooperative))
	n.Lot = strings.TrimSpace(c.Lot)
	n.Certifications = make([]string, 0, len(c.Certifications))
	for _, s := range c.Certifications {
		if s = composeVietnamese(strings.TrimSpace(s)); s != "" {
			n.Certifications = append(n.Certifications, s)
		}
	}
	for _, f := range []struct {
		name, v       string
		required, cjk bool
	}{
		{"product", n.Product, true, false},
		{"product_" + string(n.Lang), n.ProductLang, false, n.Lang == Chinese},
		{"cooperative", n.Cooperative, true, false},
		{"lot", n.Lot, true, false},
	} {
		if f.v == "" {
			if f.required {
				return Content{}, fieldErr(f.name, "is required on a label")
			}
			continue
		}
		if err := checkText(f.name, f.v, f.cjk); err != nil {
			return Content{}, err
		}
	}
	if len(n.Certifications) > MaxCertifications {
		return Content{}, fieldErr("certifications", fmt.Sprintf("at most %d marks fit on a label, got %d", MaxCertifications, len(n.Certifications)))
	}
	for i, s := range n.Certifications {
		if err := checkText(fmt.Sprintf("certifications[%d]", i), s, false); err != nil {
			return Content{}, err
		}
	}
	if n.OCOPStars != 0 && (n.OCOPStars < 3 || n.OCOPStars > 5) {
		return Content{}, fieldErr("ocop_stars", fmt.Sprintf("an OCOP rating is 3, 4 or 5 stars (0 for none), got %d", n.OCOPStars))
	}
	if n.Harvest.IsZero() && !n.HarvestEnd.IsZero() {
		return Content{}, fieldErr("harvest_end", "is set without a harvest date")
	}
	if !n.HarvestEnd.IsZero() && n.HarvestEnd.Before(n.Harvest) {
		return Content{}, fieldErr("harvest_end", "is before the harvest date")
	}
	if n.Serial != "" {
		if err := trace.ValidateSerial(n.Serial); err != nil {
			return Content{}, err
		}
	}
	// What is printed must be what the code says: a label whose text and
	// QR code disagree is worse than none.
	if d, err := trace.ParseDigitalLink(n.URI); err == nil {
		if d.Lot != "" && d.Lot != n.Lot {
			return Content{}, fieldErr("lot", fmt.Sprintf("the printed lot %q differs from the lot %q in the link", n.Lot, d.Lot))
		}
		if d.Serial != "" && n.Serial != "" && d.Serial != n.Serial {
			return Content{}, fieldErr("serial", fmt.Sprintf("the printed serial %q differs from the serial %q in the link", n.Serial, d.Serial))
		}
	}
	return n, nil
}

func checkURI(uri string) error {
	if uri == "" {
		return fieldErr("uri", "is required: it is what the QR code holds")
	}
	if len(uri) > MaxURILen {
		return fieldErr("uri", fmt.Sprintf("at most %d bytes, got %d", MaxURILen, len(uri)))
	}
	for i := 0; i < len(uri); i++ {
		if uri[i] <= ' ' || uri[i] >= 0x7f {
			return fieldErr("uri", fmt.Sprintf("byte %d (%q) is not printable ASCII: QR content must be a percent-encoded URI", i+1, uri[i]))
		}
	}
	if !strings.HasPrefix(uri, "https://") && !strings.HasPrefix(uri, "http://") {
		return fieldErr("uri", "must start with https:// (or http://) so that phone cameras open it")
	}
	return nil
}

func checkText(field, s string, cjk bool) error {
	if n := utf8.RuneCountInString(s); n > MaxTextLen {
		return fieldErr(field, fmt.Sprintf("at most %d characters, got %d", MaxTextLen, n))
	}
	return checkGlyphs(field, s, cjk)
}

// harvestText returns the printed harvest date, or "".
func (c *Content) harvestText() string {
	if c.Harvest.IsZero() {
		return ""
	}
	s := c.Harvest.Format(dateLayout)
	if !c.HarvestEnd.IsZero() && !sameDay(c.Harvest, c.HarvestEnd) {
		s += "–" + c.HarvestEnd.Format(dateLayout)
	}
	return s
}

func sameDay(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd
}

// sameContent reports whether two labels print identically.
func sameContent(a, b *Content) bool {
	return a.URI == b.URI && a.Product == b.Product && a.Lang == b.Lang && a.ProductLang == b.ProductLang &&
		a.Cooperative == b.Cooperative && a.Lot == b.Lot && a.Harvest.Equal(b.Harvest) &&
		a.HarvestEnd.Equal(b.HarvestEnd) && a.OCOPStars == b.OCOPStars &&
		slices.Equal(a.Certifications, b.Certifications) && a.Serial == b.Serial
}
