package trace

import (
	"testing"
	"time"
)

// A plot whose position is not known is declared by its name alone: the
// facts record carries no coordinates and reads back the same.
func TestPlotWithoutPosition(t *testing.T) {
	f := &LotFacts{Product: "gao-st25", ProductName: "Gạo ST25", Lot: "ST25-01", Quantity: Quantity{Value: "100", Unit: "KGM"},
		Plot: &Plot{Name: "Ruộng số 3"}}
	e := f.Event("htx", "b1", true, time.Date(2026, 12, 3, 9, 0, 0, 0, time.FixedZone("", 7*3600)))
	if _, ok := e.Data["plot_lat"]; ok || e.Data["plot"] != "Ruộng số 3" {
		t.Fatalf("facts data %v", e.Data)
	}
	back, err := LotFactsOf(e)
	if err != nil || back.Plot == nil || back.Plot.HasPosition() || back.Plot.Name != "Ruộng số 3" {
		t.Fatalf("read back %+v %v", back, err)
	}
	if got := back.Fields()["plot"]; got != "Ruộng số 3" {
		t.Errorf("plot field %q", got)
	}
	e.Data["plot_lat"], e.Data["plot_lon"] = "0", "0"
	if _, err := LotFactsOf(e); err == nil {
		t.Error("coordinates 0,0 written out are refused")
	}
	p := &Plot{Name: "Vườn", Lat: 10.87, Lon: 107.97}
	if PlotText(p) != "Vườn 10.87,107.97" || !p.HasPosition() {
		t.Error("a plot with its position")
	}
}
