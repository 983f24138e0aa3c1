package trace

import (
	"errors"
	"fmt"
	"math/big"
	"strings"
	"testing"
	"time"
)

// fieldReason returns the reason given for field in err, or "".
func fieldReason(err error, field string) string {
	var ve *ValidationError
	if errors.As(err, &ve) {
		for _, f := range ve.Fields {
			if f.Field == field {
				return f.Reason
			}
		}
		return ""
	}
	var fe *FieldError
	if errors.As(err, &fe) && fe.Field == field {
		return fe.Reason
	}
	return ""
}

// TestBidiControlsRefused: every bidirectional embedding, override and
// isolate control is refused in every free text that reaches a page, with
// a message naming the character.
func TestBidiControlsRefused(t *testing.T) {
	controls := map[rune]string{
		0x202A: "LEFT-TO-RIGHT EMBEDDING", 0x202B: "RIGHT-TO-LEFT EMBEDDING", 0x202C: "POP DIRECTIONAL FORMATTING",
		0x202D: "LEFT-TO-RIGHT OVERRIDE", 0x202E: "RIGHT-TO-LEFT OVERRIDE", 0x2066: "LEFT-TO-RIGHT ISOLATE",
		0x2067: "RIGHT-TO-LEFT ISOLATE", 0x2068: "FIRST STRONG ISOLATE", 0x2069: "POP DIRECTIONAL ISOLATE",
	}
	for r := rune(0x2000); r < 0x2100; r++ {
		name, ok := BidiControl(r)
		if want, listed := controls[r]; ok != listed || name != want {
			t.Errorf("BidiControl(%U) = %q, %v", r, name, ok)
		}
	}
	for r, name := range controls {
		// "liều 2 lít/ha" shown as "liều 20 lít/ha"-like reorderings.
		s := "Liều " + string(r) + "02 lít/ha"
		uri := "https://trace.example.vn/voc/" + string(r) + "x"
		base := sampleEvents()[0]
		cases := []struct {
			field string
			err   error
		}{
			{"name", (&Cooperative{ID: "htx", Name: s, Province: "Sóc Trăng"}).Validate()},
			{"province", (&Cooperative{ID: "htx", Name: "HTX", Province: s}).Validate()},
			{"name_vi", (&Product{ID: "p", CooperativeID: "htx", NameVI: s, Category: "rice"}).Validate()},
			{"category", (&Product{ID: "p", CooperativeID: "htx", NameVI: "Gạo", Category: s}).Validate()},
			{"plot.name", (&Batch{ID: "b", CooperativeID: "htx", ProductID: "p", Lot: "L1", Quantity: Quantity{Value: "1", Unit: "KGM"}, Plot: &Plot{Name: s, Lat: 9.6, Lon: 106}}).Validate()},
			{"agency", (&Inspector{ID: "i", Name: "Chi cục", Agency: s}).Validate()},
			{"name", ValidateText("name", s, MaxNameLen, true)},
		}
		for _, ec := range []struct {
			field string
			edit  func(e *Event)
		}{
			{"note", func(e *Event) { e.Note = s }},
			{"data.machine", func(e *Event) { e.Data = map[string]string{"machine": s} }},
			{"certifications[1].id", func(e *Event) { e.Certifications = []Certification{{"vietgap", "VG-1"}, {"ocop", s}} }},
			{"certifications[0].scheme", func(e *Event) { e.Certifications = []Certification{{uri, "VG-1"}} }},
			{"attachments[0].name", func(e *Event) { e.Attachments[0].Name = s }},
			{"readPoint", func(e *Event) { e.ReadPoint = uri }},
			{"bizStep", func(e *Event) { e.BizStep = uri }},
			{"disposition", func(e *Event) { e.Disposition = uri }},
		} {
			e := *base
			e.Attachments = append([]Attachment(nil), base.Attachments...)
			ec.edit(&e)
			cases = append(cases, struct {
				field string
				err   error
			}{ec.field, e.Validate()})
		}
		for _, c := range cases {
			want := fmt.Sprintf("%U %s (character ", r, name)
			if got := fieldReason(c.err, c.field); !strings.Contains(got, want) {
				t.Errorf("%U in %s: %v", r, c.field, c.err)
			}
		}
	}
	// Marks that only hint a direction, and Vietnamese, are text like any other.
	for _, s := range []string{"Gạo ST25 \u200e(LRM)", "Phân bón NPK 16-16-8", "שלום \u200f"} {
		if err := ValidateText("note", s, MaxNoteLen, true); err != nil {
			t.Errorf("%q: %v", s, err)
		}
	}
}

// TestDecodeReadsEventsSignedBeforeInputRules: an event signed when a rule
// for new input did not exist yet still decodes and verifies, while a new
// one is refused.
func TestDecodeReadsEventsSignedBeforeInputRules(t *testing.T) {
	s := testSigner(t, 7)
	for _, tt := range []struct {
		name, field, refusal string
		edit                 func(e *Event)
	}{
		{"a bidirectional control in a note", "note", "U+202E", func(e *Event) { e.Note = "Liều \u202e02 lít/ha" }},
		{"a custom step with an isolate", "bizStep", "U+2066", func(e *Event) { e.BizStep = "https://trace.example.vn/voc/\u2066x" }},
		{"a quantity above its unit's bound", "quantity.value", "at most 10,000,000 KGM (kg)", func(e *Event) {
			e.Quantity = &Quantity{Value: "1180500000", Unit: "KGM"}
		}},
		{"an offset no zone has", "eventTimeZoneOffset", "outside the offsets in use", func(e *Event) {
			e.EventTime, e.EventTimeZoneOffset = "2025-08-16T08:00:00+15:00", "+15:00"
		}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := sampleEvents()[1]
			e.Seq = 0
			if err := e.Validate(); err != nil {
				t.Fatal(err)
			}
			tt.edit(e)
			if err := e.Validate(); !strings.Contains(fieldReason(err, tt.field), tt.refusal) {
				t.Fatalf("a new event with it: %v", err)
			}
			// As signed by an earlier version, which did not check it.
			body := e.appendCanonical(nil)
			se := &SignedEvent{Event: e, Body: body, Hash: HashEvent(body)}
			s.Seal(se)
			got, err := Decode(body)
			if err != nil {
				t.Fatalf("Decode: %v", err)
			}
			if got.Note != e.Note || got.BizStep != e.BizStep || got.EventTime != e.EventTime || *got.Quantity != *e.Quantity {
				t.Errorf("decoded %+v", got)
			}
			if err := VerifyHistory(e.Batch, []*SignedEvent{se}, func(string) [][]byte { return [][]byte{s.PublicKey()} }); err != nil {
				t.Errorf("VerifyHistory: %v", err)
			}
		})
	}
}

func TestParseZoneOffset(t *testing.T) {
	for s, sec := range map[string]int{"+07:00": 7 * 3600, "+00:00": 0, "-12:00": -12 * 3600, "+14:00": 14 * 3600,
		"+05:45": 5*3600 + 45*60, "+05:30": 5*3600 + 30*60, "-09:30": -(9*3600 + 30*60), "-03:30": -(3*3600 + 30*60)} {
		loc, err := ParseZoneOffset(s)
		if err != nil {
			t.Errorf("%s: %v", s, err)
			continue
		}
		if _, got := time.Date(2025, 8, 15, 0, 0, 0, 0, loc).Zone(); got != sec {
			t.Errorf("%s is %d seconds, want %d", s, got, sec)
		}
	}
	for s, says := range map[string]string{
		"+7": "±hh:mm", "07:00": "±hh:mm", "+0700": "±hh:mm", "+07:00:00": "±hh:mm", "+07:0": "±hh:mm", "": "±hh:mm",
		"+-7:00": "±hh:mm", "++7:00": "±hh:mm", "+07:60": "±hh:mm", "+ 7:00": "±hh:mm", "+٠٧:٠٠": "±hh:mm",
		"-00:00": "+00:00", "+15:00": "-12:00 to +14:00", "-12:30": "-12:00 to +14:00", "-14:00": "-12:00 to +14:00",
		"+14:30": "-12:00 to +14:00", "+99:00": "-12:00 to +14:00", "+07:17": "minutes are 00, 30 or 45",
	} {
		if _, err := ParseZoneOffset(s); err == nil || !strings.Contains(err.Error(), says) {
			t.Errorf("%q: %v, want it to say %q", s, err, says)
		}
	}
}

// TestUnitMax: every unit has a bound, units of one kind share one, and a
// quantity above it is refused wherever a quantity is given, saying the
// bound in the unit.
func TestUnitMax(t *testing.T) {
	if len(UnitMax) != len(Units) {
		t.Errorf("%d bounds for %d units", len(UnitMax), len(Units))
	}
	kinds := map[string]string{} // base unit → bound in it
	for u := range Units {
		max, ok := UnitMax[u]
		if !ok {
			t.Errorf("%s has no bound", u)
			continue
		}
		if err := max.Validate(); err != nil {
			t.Errorf("%s: %v", u, err)
		}
		if b, ok := unitBase[u]; ok {
			inBase := ratString(new(big.Rat).Mul(max.Rat(), b.factor))
			if prev, seen := kinds[b.base]; seen && prev != inBase {
				t.Errorf("%s's bound is %s %s, another unit of its kind has %s", u, inBase, b.base, prev)
			}
			kinds[b.base] = inBase
		}
	}
	if kinds["KGM"] != "10000000" || kinds["LTR"] != "10000000" {
		t.Errorf("bounds of mass and volume: %v", kinds)
	}
	for _, tt := range []struct {
		q    Quantity
		says string
	}{
		{Quantity{"10000000.5", "KGM"}, "at most 10,000,000 KGM (kg)"},
		{Quantity{"10001", "TNE"}, "at most 10,000 TNE (tonne)"},
		{Quantity{"10000000001", "GRM"}, "at most 10,000,000,000 GRM (g)"},
		{Quantity{"100000001", "H87"}, "at most 100,000,000 H87 (piece)"},
		{Quantity{"99999999999999999999", "XBG"}, "at most 10,000,000 XBG (bag)"},
	} {
		if got := fieldReason(tt.q.Validate(), "value"); !strings.Contains(got, tt.says) {
			t.Errorf("%v: %q, want %q", tt.q, got, tt.says)
		}
		base := sampleEvents()[3]
		for field, edit := range map[string]func(e *Event){
			"quantity.value":            func(e *Event) { e.Quantity = &tt.q },
			"inputs[1].quantity.value":  func(e *Event) { e.Inputs = []Input{base.Inputs[0], {Batch: "x", Hash: mustHash("x"), Quantity: &tt.q}} },
			"outputs[0].quantity.value": func(e *Event) { e.Outputs = []Output{{Batch: "y", Quantity: &tt.q}} },
			"loss.value":                func(e *Event) { e.Loss = &tt.q },
		} {
			e := *base
			edit(&e)
			if got := fieldReason(e.Validate(), field); !strings.Contains(got, tt.says) {
				t.Errorf("%v as %s: %q", tt.q, field, got)
			}
		}
		batch := Batch{ID: "b", CooperativeID: "htx", ProductID: "p", Lot: "L1", Quantity: tt.q}
		if got := fieldReason(batch.Validate(), "quantity.value"); !strings.Contains(got, tt.says) {
			t.Errorf("batch of %v: %q", tt.q, got)
		}
	}
	for u, max := range UnitMax {
		if err := (Quantity{max, u}).Validate(); err != nil {
			t.Errorf("the bound itself, %s %s: %v", max, u, err)
		}
	}
}
