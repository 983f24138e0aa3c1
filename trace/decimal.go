package trace

import (
	"fmt"
	"math/big"
	"strings"
)

// Decimal is a non-negative decimal number in canonical form: digits, an
// optional fraction, no sign, no exponent, no leading zeros in the integer
// part (except a lone 0) and no trailing zeros in the fraction. Quantities
// are decimals, never floats, so their canonical bytes are the same on
// every machine.
type Decimal string

// MaxDecimalDigits bounds the digits of a Decimal.
const MaxDecimalDigits = 24

// ParseDecimal reads a decimal written with a '.' point (as JSON writes
// numbers) and returns it in canonical form.
func ParseDecimal(s string) (Decimal, error) {
	if s == "" {
		return "", fmt.Errorf("empty number")
	}
	if strings.ContainsAny(s, "eE") {
		return "", fmt.Errorf("%q: write the number without an exponent", truncate(s, 40))
	}
	if s[0] == '-' {
		return "", fmt.Errorf("%q: must not be negative", truncate(s, 40))
	}
	intPart, frac, hasPoint := strings.Cut(s, ".")
	if intPart == "" || hasPoint && frac == "" {
		return "", fmt.Errorf("%q is not a decimal number", truncate(s, 40))
	}
	if len(intPart)+len(frac) > MaxDecimalDigits {
		return "", fmt.Errorf("%q has more than %d digits", truncate(s, 40), MaxDecimalDigits)
	}
	for _, part := range []string{intPart, frac} {
		for i := 0; i < len(part); i++ {
			if part[i] < '0' || part[i] > '9' {
				return "", fmt.Errorf("%q is not a decimal number", truncate(s, 40))
			}
		}
	}
	intPart = strings.TrimLeft(intPart, "0")
	if intPart == "" {
		intPart = "0"
	}
	frac = strings.TrimRight(frac, "0")
	if frac == "" {
		return Decimal(intPart), nil
	}
	return Decimal(intPart + "." + frac), nil
}

// Validate reports whether d is in canonical form.
func (d Decimal) Validate() error {
	c, err := ParseDecimal(string(d))
	if err != nil {
		return err
	}
	if c != d {
		return fmt.Errorf("%q is not in canonical form (write %s)", truncate(string(d), 40), c)
	}
	return nil
}

// IsZero reports whether d is zero.
func (d Decimal) IsZero() bool { return d == "0" }

// Rat returns d as an exact rational number (for sums that must balance).
func (d Decimal) Rat() *big.Rat {
	r, ok := new(big.Rat).SetString(string(d))
	if !ok {
		return new(big.Rat)
	}
	return r
}

// MarshalJSON writes d as a JSON number.
func (d Decimal) MarshalJSON() ([]byte, error) {
	if d == "" {
		return []byte("0"), nil
	}
	return []byte(d), nil
}

// UnmarshalJSON reads a JSON number (or a string holding one) and
// canonicalises it.
func (d *Decimal) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(s) >= 2 && s[0] == '"' && s[len(s)-1] == '"' {
		s = s[1 : len(s)-1]
	}
	c, err := ParseDecimal(s)
	if err != nil {
		return err
	}
	*d = c
	return nil
}
