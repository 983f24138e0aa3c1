package trace

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// GS1 identifiers. GTINs, GLNs and SSCCs end in a mod-10 check digit
// computed with weights 3,1,3,… from the right (the check digit itself
// excluded). Lot and serial numbers are at most 20 characters of GS1
// character set 82.

// MaxLotLen is the longest lot or serial number GS1 allows (AI 10, AI 21).
const MaxLotLen = 20

// checkDigit returns the GS1 mod-10 check digit for digits (which must not
// include the check digit).
func checkDigit(digits string) byte {
	sum := 0
	for i := 0; i < len(digits); i++ {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return byte('0' + (10-sum%10)%10)
}

// CheckDigit returns the GS1 mod-10 check digit of digits, the digits of a
// GTIN, GLN or SSCC without their check digit: CheckDigit("893123456789") is '7'.
func CheckDigit(digits string) byte { return checkDigit(digits) }

// validCheckDigit reports whether s is all digits, of length n, and ends in
// the right GS1 check digit.
func validCheckDigit(s string, n int) error {
	if len(s) != n {
		return fmt.Errorf("must be %d digits, got %d characters", n, len(s))
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return fmt.Errorf("must be digits only, found %q at position %d", s[i], i+1)
		}
	}
	if want := checkDigit(s[:n-1]); s[n-1] != want {
		return fmt.Errorf("bad check digit %c (expected %c)", s[n-1], want)
	}
	return nil
}

// NormalizeGTIN accepts a GTIN-8, -12, -13 or -14 and returns it as a
// GTIN-14 (zero-padded on the left) after checking its check digit.
func NormalizeGTIN(s string) (string, error) {
	switch len(s) {
	case 8, 12, 13, 14:
	default:
		return "", &FieldError{Field: "gtin", Reason: fmt.Sprintf("a GTIN has 8, 12, 13 or 14 digits, got %d characters", len(s))}
	}
	g := strings.Repeat("0", 14-len(s)) + s
	if err := validCheckDigit(g, 14); err != nil {
		return "", &FieldError{Field: "gtin", Reason: "GTIN " + err.Error()}
	}
	return g, nil
}

// ValidateGTIN14 checks that s is exactly 14 digits with a valid check digit,
// as GS1 Digital Link requires in a URI.
func ValidateGTIN14(s string) error {
	if err := validCheckDigit(s, 14); err != nil {
		return &FieldError{Field: "gtin", Reason: "GTIN-14 " + err.Error()}
	}
	return nil
}

// ValidateGLN checks a 13-digit Global Location Number.
func ValidateGLN(s string) error {
	if err := validCheckDigit(s, 13); err != nil {
		return &FieldError{Field: "gln", Reason: "GLN " + err.Error()}
	}
	return nil
}

// ValidateSSCC checks an 18-digit Serial Shipping Container Code.
func ValidateSSCC(s string) error {
	if err := validCheckDigit(s, 18); err != nil {
		return &FieldError{Field: "sscc", Reason: "SSCC " + err.Error()}
	}
	return nil
}

// isCSet82 reports whether c is in GS1 character set 82 (GS1 General
// Specifications, figure 7.11-1): the printable ASCII characters except
// space, '#', '$', '@', '[', '\\', ']', '^', '`', '{', '|', '}' and '~'.
func isCSet82(c byte) bool {
	if c <= ' ' || c > '~' {
		return false
	}
	switch c {
	case '#', '$', '@', '[', '\\', ']', '^', '`', '{', '|', '}', '~':
		return false
	}
	return true
}

// ValidateLot checks a lot code (AI 10): 1 to 20 characters of GS1 character
// set 82. field names the field in the error ("lot" or "serial").
func ValidateLot(s string) error { return validateCSet82("lot", s) }

// ValidateSerial checks a serial number (AI 21) with the same rules as a lot.
func ValidateSerial(s string) error { return validateCSet82("serial", s) }

func validateCSet82(field, s string) error {
	if s == "" {
		return &FieldError{Field: field, Reason: "must not be empty"}
	}
	if n := utf8.RuneCountInString(s); n > MaxLotLen {
		return &FieldError{Field: field, Reason: fmt.Sprintf("at most %d characters (GS1), got %d", MaxLotLen, n)}
	}
	for i, r := range s {
		if r >= utf8.RuneSelf {
			return &FieldError{Field: field, Reason: fmt.Sprintf(
				"character %q at position %d is not allowed: GS1 lot and serial codes use only unaccented ASCII, so Vietnamese letters with diacritics must be written without them (for example LÔ1 → LO1)", r, i+1)}
		}
		if !isCSet82(byte(r)) {
			return &FieldError{Field: field, Reason: fmt.Sprintf("character %q at position %d is not in GS1 character set 82 (letters, digits and !\"%%&'()*+,-./:;<=>?_ only)", r, i+1)}
		}
	}
	return nil
}
