package trace

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"math/big"
	"sort"
	"strings"
)

// A lot's balance over its whole life. CheckBalance makes each
// transformation balance by itself; a LotBalance adds up every
// transformation that took from one lot, so that together they never
// take more than the lot held.
//
// What a lot holds is its declared quantity or, for a lot a
// transformation made (the transformation opens its chain), what that
// transformation put into it; plus what later transformations recorded in
// its chain put into it. What was taken is the lot's quantity among the
// inputs of every transformation that names it, each transformation
// counted once however many output chains record it (a split records the
// same transformation in the chain of every output). Quantities are
// added in the lot's base unit (kg or l), with each transformation's
// declared conversions (see ConversionsOf); an input without a quantity
// takes nothing that can be counted.

// DataConversionPrefix starts the data keys in which a transformation
// records a declared conversion: "conversion_XBG": "5 KGM" says one bag
// holds 5 kg.
const DataConversionPrefix = "conversion_"

// ConversionsOf returns the conversions a transformation declared in its
// data. Entries that do not parse are left out.
func ConversionsOf(e *Event) Conversions {
	var conv Conversions
	for k, v := range e.Data {
		unit, ok := strings.CutPrefix(k, DataConversionPrefix)
		if !ok {
			continue
		}
		val, to, ok := strings.Cut(v, " ")
		d, err := ParseDecimal(val)
		if !ok || err != nil {
			continue
		}
		if conv == nil {
			conv = Conversions{}
		}
		conv[unit] = Quantity{Value: d, Unit: to}
	}
	return conv
}

// TransformationID identifies a transformation however many chains record
// it: the digest of its business step, time, inputs (with the heads they
// link to), outputs and loss, which every copy shares.
func TransformationID(e *Event) Hash {
	h := sha256.New()
	field := func(s string) {
		h.Write(binary.AppendUvarint(nil, uint64(len(s))))
		h.Write([]byte(s))
	}
	quantity := func(q *Quantity) {
		if q == nil {
			field("")
			return
		}
		field(string(q.Value) + " " + q.Unit)
	}
	field("truyxuat transformation v1")
	field(e.BizStep)
	field(e.EventTime)
	field(fmt.Sprint(len(e.Inputs)))
	for _, in := range e.Inputs {
		field(in.Batch)
		field(in.Hash.String())
		quantity(in.Quantity)
	}
	field(fmt.Sprint(len(e.Outputs)))
	for _, out := range e.Outputs {
		field(out.Batch)
		quantity(out.Quantity)
	}
	quantity(e.Loss)
	var id Hash
	h.Sum(id[:0])
	return id
}

// Flow is a quantity that went into or out of a lot in one transformation.
type Flow struct {
	Event       Hash   // an event that records the transformation
	Batch       string // the chain that event is in
	EventTime   string
	Quantity    Quantity
	Conversions Conversions // the transformation's declared conversions
}

// LotBalance is one lot's balance over its life. Build it with
// NewLotBalance and Add every transformation event that names the lot,
// in any order.
type LotBalance struct {
	Batch    string   // the lot's batch id
	Lot      string   // its lot code
	Declared Quantity // the quantity it was registered with
	// Made is what the transformation that opened the lot's chain put
	// into it: when there is one, it counts instead of Declared.
	Made []Flow
	In   []Flow // what later transformations put into it
	Out  []Flow // what transformations took from it
	// OpensAt is the place in the lot's chain of a transformation that
	// opens it: 0, or 1 when the chain starts with the lot's facts record
	// (see LotFacts), which the transformation that made the lot follows.
	OpensAt uint64

	seen map[Hash]int // transformation id → index into In, or -1
}

// NewLotBalance starts the balance of a lot.
func NewLotBalance(b *Batch) *LotBalance {
	return &LotBalance{Batch: b.ID, Lot: b.Lot, Declared: b.Quantity, seen: map[Hash]int{}}
}

// Has reports whether the transformation e records was already added.
func (lb *LotBalance) Has(e *Event) bool {
	_, ok := lb.seen[TransformationID(e)]
	return ok
}

// Add counts a transformation event with hash h in the balance, once per
// transformation; other events, and transformations that do not name the
// lot, are ignored.
func (lb *LotBalance) Add(e *Event, h Hash) {
	if e.Type != TransformationEvent || !names(e, lb.Batch) {
		return
	}
	opens := e.Batch == lb.Batch && e.Seq == lb.OpensAt
	id := TransformationID(e)
	if i, ok := lb.seen[id]; ok {
		// Another copy. If this one opens the lot's chain, what the
		// transformation put in is the lot's quantity, not an addition.
		if opens && i >= 0 {
			n := 0
			for _, out := range e.Outputs {
				if out.Batch == lb.Batch && out.Quantity != nil {
					n++
				}
			}
			lb.Made = append(lb.Made, lb.In[i:i+n]...)
			lb.In = append(lb.In[:i], lb.In[i+n:]...)
			for k, j := range lb.seen {
				if j > i {
					lb.seen[k] = j - n
				}
			}
			lb.seen[id] = -1
		}
		return
	}
	conv := ConversionsOf(e)
	flow := func(q Quantity) Flow {
		return Flow{Event: h, Batch: e.Batch, EventTime: e.EventTime, Quantity: q, Conversions: conv}
	}
	for _, in := range e.Inputs {
		if in.Batch == lb.Batch && in.Quantity != nil {
			lb.Out = append(lb.Out, flow(*in.Quantity))
		}
	}
	lb.seen[id] = -1
	for _, out := range e.Outputs {
		if out.Batch != lb.Batch || out.Quantity == nil {
			continue
		}
		if opens {
			lb.Made = append(lb.Made, flow(*out.Quantity))
			continue
		}
		if lb.seen[id] < 0 {
			lb.seen[id] = len(lb.In)
		}
		lb.In = append(lb.In, flow(*out.Quantity))
	}
}

// names reports whether a transformation takes from or puts into batch.
func names(e *Event, batch string) bool {
	for _, in := range e.Inputs {
		if in.Batch == batch {
			return true
		}
	}
	for _, out := range e.Outputs {
		if out.Batch == batch {
			return true
		}
	}
	return false
}

// Totals sums the balance in one unit: what the lot held and what was
// taken from it. ok is false when the quantities cannot be brought to one
// unit (a unit without a standard or declared conversion); nothing can be
// said about the balance then.
func (lb *LotBalance) Totals() (held, taken *big.Rat, unit string, ok bool) {
	held, taken = new(big.Rat), new(big.Rat)
	ok = true
	add := func(sum *big.Rat, q Quantity, conv Conversions) {
		r, u, err := toBase(q, conv)
		if err != nil {
			ok = false
			return
		}
		if r == nil {
			r, u = q.Value.Rat(), q.Unit
		}
		if unit == "" {
			unit = u
		} else if u != unit {
			ok = false
			return
		}
		sum.Add(sum, r)
	}
	if len(lb.Made) > 0 {
		for _, f := range lb.Made {
			add(held, f.Quantity, f.Conversions)
		}
	} else {
		add(held, lb.Declared, lb.conversions())
	}
	for _, f := range lb.In {
		add(held, f.Quantity, f.Conversions)
	}
	for _, f := range lb.Out {
		add(taken, f.Quantity, f.Conversions)
	}
	return held, taken, unit, ok
}

// conversions gathers the conversions the lot's transformations declared,
// to bring its declared quantity to their unit (the first one declared
// for a unit wins).
func (lb *LotBalance) conversions() Conversions {
	conv := Conversions{}
	for _, fs := range [][]Flow{lb.Out, lb.In} {
		for _, f := range fs {
			for u, c := range f.Conversions {
				if _, ok := conv[u]; !ok {
					conv[u] = c
				}
			}
		}
	}
	return conv
}

// Check refuses a transformation that would take more from the lot than
// it has left, with an *OverdrawError. A transformation already counted
// (another copy of it) and one whose quantities cannot be brought to the
// lot's unit pass: CheckBalance answers for those.
func (lb *LotBalance) Check(e *Event) error {
	if e.Type != TransformationEvent || lb.Has(e) {
		return nil
	}
	first := -1
	var asked []Quantity
	for i, in := range e.Inputs {
		if in.Batch == lb.Batch && in.Quantity != nil {
			if first < 0 {
				first = i
			}
			asked = append(asked, *in.Quantity)
		}
	}
	if first < 0 {
		return nil
	}
	held, taken, unit, ok := lb.Totals()
	if !ok {
		return nil
	}
	conv := ConversionsOf(e)
	if len(conv) == 0 {
		conv = lb.conversions()
	}
	want := new(big.Rat)
	for _, q := range asked {
		r, u, err := toBase(q, conv)
		if err != nil {
			return nil
		}
		if r == nil {
			r, u = q.Value.Rat(), q.Unit
		}
		if u != unit {
			return nil
		}
		want.Add(want, r)
	}
	if new(big.Rat).Add(taken, want).Cmp(held) <= 0 {
		return nil
	}
	return &OverdrawError{Field: fmt.Sprintf("inputs[%d].quantity", first), Batch: lb.Batch, Lot: lb.Lot,
		Held: ratString(held), Taken: ratString(taken), Asked: ratString(want), Unit: unit}
}

// Overdrawn reports whether transformations already took more from the
// lot than it held, and the totals in the unit they share.
func (lb *LotBalance) Overdrawn() (held, taken *big.Rat, unit string, over bool) {
	held, taken, unit, ok := lb.Totals()
	return held, taken, unit, ok && taken.Cmp(held) > 0
}

// OverdrawError refuses a transformation that would take more from a lot
// than it has left over its life. Its message is in Vietnamese, for the
// clerk who recorded the transformation; English gives it in English.
type OverdrawError struct {
	Field string // the input that over-draws, e.g. inputs[0].quantity
	Batch string // the lot's batch id
	Lot   string // its lot code
	Held  string // what it held, a decimal in Unit
	Taken string // what earlier transformations took
	Asked string // what this one asks for
	Unit  string // UN/ECE code of the base unit, e.g. KGM
}

// Left is what the lot has left, never below zero.
func (e *OverdrawError) Left() string {
	held, _ := new(big.Rat).SetString(e.Held)
	taken, _ := new(big.Rat).SetString(e.Taken)
	if held == nil || taken == nil {
		return "0"
	}
	left := new(big.Rat).Sub(held, taken)
	if left.Sign() < 0 {
		return "0"
	}
	return ratString(left)
}

func (e *OverdrawError) Error() string {
	u := UnitName(e.Unit, "vi")
	return fmt.Sprintf("Lô %s có %s %s, đã lấy ra %s %s qua các lần chia, gộp, chế biến trước; không thể lấy thêm %s %s vì lô chỉ còn %s %s.",
		e.Lot, FormatNumberVI(e.Held), u, FormatNumberVI(e.Taken), u, FormatNumberVI(e.Asked), u, FormatNumberVI(e.Left()), u)
}

// English says the same in English.
func (e *OverdrawError) English() string {
	u := UnitName(e.Unit, "en")
	return fmt.Sprintf("lot %s held %s %s and earlier splits, merges and processing took %s %s from it; %s %s more cannot be taken, only %s %s are left",
		e.Lot, e.Held, u, e.Taken, u, e.Asked, u, e.Left(), u)
}

// Unwrap lets errors.Is(err, ErrInvalid) match.
func (e *OverdrawError) Unwrap() error { return ErrInvalid }

// UnitName is a unit's short name in a language ("vi" or "en"), or its
// code when it has none.
func UnitName(code, lang string) string {
	names, ok := Units[code]
	if !ok {
		return code
	}
	if lang == "en" {
		return names[1]
	}
	return names[0]
}

// FormatNumberVI writes a decimal ("6200", "0.4", "1234567.25") the
// Vietnamese way: thousands grouped with dots and a decimal comma
// ("6.200", "0,4", "1.234.567,25"). Anything that is not a plain decimal
// is returned as it is.
func FormatNumberVI(s string) string {
	intPart, frac, hasFrac := strings.Cut(s, ".")
	if intPart == "" || strings.Trim(intPart, "0123456789") != "" || strings.Trim(frac, "0123456789") != "" {
		return s
	}
	var b strings.Builder
	for i, c := range intPart {
		if i > 0 && (len(intPart)-i)%3 == 0 {
			b.WriteByte('.')
		}
		b.WriteRune(c)
	}
	if hasFrac {
		b.WriteByte(',')
		b.WriteString(frac)
	}
	return b.String()
}

// CheckLotBalance finds a lot from which transformations already took
// more than it held: records from before the store refused over-draws,
// or written around it.
func CheckLotBalance(lb *LotBalance, cooperative string) []Finding {
	held, taken, unit, over := lb.Overdrawn()
	if !over {
		return nil
	}
	batches := []string{lb.Batch}
	var events []string
	seen := map[string]bool{lb.Batch: true}
	draws := append([]Flow(nil), lb.Out...)
	sort.SliceStable(draws, func(i, j int) bool { return draws[i].EventTime < draws[j].EventTime })
	var list []string
	for _, f := range draws {
		events = append(events, f.Event.String())
		if !seen[f.Batch] {
			seen[f.Batch] = true
			batches = append(batches, f.Batch)
		}
		list = append(list, fmt.Sprintf("%s %s %s", f.EventTime, f.Quantity.Value, f.Quantity.Unit))
	}
	h, tk := ratString(held), ratString(taken)
	return []Finding{{Kind: FindingOverdrawn, Severity: "high", Cooperative: cooperative,
		Batches: batches, Events: events,
		Message: fmt.Sprintf("lot %s held %s %s, but %d transformations took %s %s from it", lb.Lot, h, unit, len(draws), tk, unit),
		Evidence: map[string]string{"lot": lb.Lot, "held": h, "taken": tk, "unit": unit,
			"over": ratString(new(big.Rat).Sub(taken, held)), "draws": strings.Join(list, "; ")}}}
}
