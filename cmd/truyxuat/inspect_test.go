package main

import (
	"bytes"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
)

func TestInspectPrintsOverdrawnLot(t *testing.T) {
	lb := trace.NewLotBalance(&trace.Batch{ID: "a", Lot: "ST25-2508-A", Quantity: trace.Quantity{Value: "6200", Unit: "KGM"}})
	for i, d := range []struct{ out, at, kg string }{{"m", "2025-08-22T08:00:00+07:00", "3000"}, {"x", "2025-09-01T08:00:00+07:00", "6200.5"}} {
		q := &trace.Quantity{Value: trace.Decimal(d.kg), Unit: "KGM"}
		lb.Add(&trace.Event{Type: trace.TransformationEvent, Batch: d.out, BizStep: trace.StepMilling, EventTime: d.at,
			Inputs: []trace.Input{{Batch: "a", Quantity: q}}, Outputs: []trace.Output{{Batch: d.out, Quantity: q}}}, trace.Hash{byte(i + 1)})
	}
	ans := &findingsAnswer{CheckedBatches: 3, Findings: trace.CheckLotBalance(lb, "htx-hoa-tu")}
	names := func(id string) string {
		return map[string]string{"a": "ST25-2508-A (a)", "m": "XAY-1 (m)", "x": "MIX-1 (x)"}[id]
	}
	for lang, want := range map[string][]string{
		"vi": {"✗ [CAO] Lô bị lấy ra nhiều hơn số lượng đã có",
			"Lô ST25-2508-A có 6.200 kg nhưng các lần chia, gộp, chế biến đã lấy ra 9.200,5 kg (vượt 3.000,5 kg)",
			"lô: ST25-2508-A (a), XAY-1 (m), MIX-1 (x)", "KHÔNG ĐẠT: 1 phát hiện mức cao"},
		"en": {"✗ [HIGH] More was taken from a lot than it held",
			"Lot ST25-2508-A held 6200 kg but splits, merges and processing took 9200.5 kg from it (3000.5 kg too much)"},
	} {
		var out bytes.Buffer
		err := printFindings(newPrinter(&out, lang), ans, names)
		if err == nil {
			t.Errorf("%s: a high finding passes", lang)
		}
		for _, w := range want {
			if !strings.Contains(out.String(), w) {
				t.Errorf("%s report lacks %q:\n%s", lang, w, out.String())
			}
		}
	}
}
