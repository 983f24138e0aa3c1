package trace

import (
	"fmt"
	"math/big"
	"strings"
)

// Standard conversions between units of the same kind, to the first
// unit's base: mass in kilograms, volume in litres.
var unitBase = map[string]struct {
	base   string
	factor *big.Rat
}{
	"KGM": {"KGM", big.NewRat(1, 1)},
	"GRM": {"KGM", big.NewRat(1, 1000)},
	"TNE": {"KGM", big.NewRat(1000, 1)},
	"LTR": {"LTR", big.NewRat(1, 1)},
	"MLT": {"LTR", big.NewRat(1, 1000)},
	"MTQ": {"LTR", big.NewRat(1000, 1)},
}

// Conversions declares how many of a base unit one of another unit holds,
// for units without a standard conversion: {"XBG": {Value: "5", Unit: "KGM"}}
// says one bag holds 5 kg.
type Conversions map[string]Quantity

// BalanceError says by how much a transformation does not balance.
type BalanceError struct {
	Inputs, Outputs, Loss string // the sums, with their unit
	Unit                  string
}

func (e *BalanceError) Error() string {
	return fmt.Sprintf("quantities do not balance: inputs %s %s, but outputs %s %s plus loss %s %s; outputs plus loss must equal inputs",
		e.Inputs, e.Unit, e.Outputs, e.Unit, e.Loss, e.Unit)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *BalanceError) Unwrap() error { return ErrInvalid }

// toBase converts q to its base unit using standard or declared conversions.
func toBase(q Quantity, conv Conversions) (*big.Rat, string, error) {
	if b, ok := unitBase[q.Unit]; ok {
		return new(big.Rat).Mul(q.Value.Rat(), b.factor), b.base, nil
	}
	if c, ok := conv[q.Unit]; ok {
		b, ok := unitBase[c.Unit]
		if !ok {
			return nil, "", fmt.Errorf("the conversion of %s must be to a unit of mass or volume, not %s", q.Unit, c.Unit)
		}
		per := new(big.Rat).Mul(c.Value.Rat(), b.factor)
		return new(big.Rat).Mul(q.Value.Rat(), per), b.base, nil
	}
	return nil, q.Unit, nil
}

// CheckBalance checks that the outputs of a transformation plus its loss
// equal its inputs, exactly, in one unit: the same unit throughout, units
// of the same kind (kg, g, t; l, ml, m³), or units with a declared
// conversion. Every input and output needs a quantity.
func CheckBalance(inputs []Input, outputs []Output, loss *Quantity, conv Conversions) error {
	var v ValidationError
	var in, out []Quantity
	for i, x := range inputs {
		if x.Quantity == nil {
			v.addf(fmt.Sprintf("inputs[%d].quantity", i), "how much of batch %s went in is required", x.Batch)
			continue
		}
		in = append(in, *x.Quantity)
	}
	for i, x := range outputs {
		if x.Quantity == nil {
			v.addf(fmt.Sprintf("outputs[%d].quantity", i), "how much of batch %s came out is required", x.Batch)
			continue
		}
		out = append(out, *x.Quantity)
	}
	if len(outputs) == 0 {
		v.addf("outputs", "a transformation needs at least one output lot")
	}
	if err := v.err(); err != nil {
		return err
	}
	sum := func(qs []Quantity) (*big.Rat, string, error) {
		total, unit := new(big.Rat), ""
		for _, q := range qs {
			r, u, err := toBase(q, conv)
			if err != nil {
				return nil, "", err
			}
			if r == nil {
				r = q.Value.Rat()
			}
			if unit != "" && u != unit {
				return nil, "", fmt.Errorf("cannot add %s to %s; declare a conversion (for example 1 %s = 5 KGM)", u, unit, q.Unit)
			}
			unit = u
			total.Add(total, r)
		}
		return total, unit, nil
	}
	ti, ui, err := sum(in)
	if err != nil {
		return &FieldError{Field: "inputs", Reason: err.Error()}
	}
	all := out
	if loss != nil {
		all = append(append([]Quantity(nil), out...), *loss)
	}
	_, uo, err := sum(all)
	if err != nil {
		return &FieldError{Field: "outputs", Reason: err.Error()}
	}
	if uo != ui {
		return &FieldError{Field: "outputs", Reason: fmt.Sprintf("inputs are in %s but outputs in %s; declare a conversion", ui, uo)}
	}
	to, _, _ := sum(out)
	tl := new(big.Rat)
	if loss != nil {
		tl, _, _ = sum([]Quantity{*loss})
	}
	if new(big.Rat).Add(to, tl).Cmp(ti) != 0 {
		return &BalanceError{Inputs: ratString(ti), Outputs: ratString(to), Loss: ratString(tl), Unit: ui}
	}
	return nil
}

// ratString writes an exact decimal (or a fraction, if not terminating).
func ratString(r *big.Rat) string {
	s := r.FloatString(6)
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if back, ok := new(big.Rat).SetString(s); ok && back.Cmp(r) == 0 {
		return s
	}
	return r.RatString()
}
