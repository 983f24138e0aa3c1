package trace

import (
	"errors"
	"strings"
	"testing"
)

func q(v, u string) *Quantity { return &Quantity{Value: Decimal(v), Unit: u} }

func TestCheckBalance(t *testing.T) {
	in := func(qs ...*Quantity) []Input {
		var out []Input
		for i, x := range qs {
			out = append(out, Input{Batch: string(rune('a' + i)), Quantity: x})
		}
		return out
	}
	outs := func(qs ...*Quantity) []Output {
		var out []Output
		for i, x := range qs {
			out = append(out, Output{Batch: string(rune('x' + i)), Quantity: x})
		}
		return out
	}
	tests := []struct {
		name    string
		inputs  []Input
		outputs []Output
		loss    *Quantity
		conv    Conversions
		wantErr string
	}{
		{"merge balances", in(q("600", "KGM"), q("400", "KGM")), outs(q("950", "KGM")), q("50", "KGM"), nil, ""},
		{"split balances", in(q("1000.5", "KGM")), outs(q("500", "KGM"), q("500.5", "KGM")), nil, nil, ""},
		{"tonnes and kilograms", in(q("1.2", "TNE")), outs(q("1150", "KGM")), q("50000", "GRM"), nil, ""},
		{"declared bag size", in(q("100", "KGM")), outs(q("19", "XBG")), q("5", "KGM"), Conversions{"XBG": {Value: "5", Unit: "KGM"}}, ""},
		{"too much out", in(q("600", "KGM"), q("400", "KGM")), outs(q("990", "KGM")), q("50", "KGM"), nil, "inputs 1000 KGM, but outputs 990 KGM plus loss 50 KGM"},
		{"missing loss", in(q("100", "KGM")), outs(q("90", "KGM")), nil, nil, "inputs 100 KGM, but outputs 90 KGM plus loss 0 KGM"},
		{"bags without conversion", in(q("100", "KGM")), outs(q("20", "XBG")), nil, nil, "declare a conversion"},
		{"no quantity", []Input{{Batch: "a"}}, outs(q("1", "KGM")), nil, nil, "inputs[0].quantity"},
		{"no outputs", in(q("1", "KGM")), nil, nil, nil, "at least one output"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := CheckBalance(tt.inputs, tt.outputs, tt.loss, tt.conv)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalid) {
				t.Fatalf("got %v, want %q", err, tt.wantErr)
			}
		})
	}
}
