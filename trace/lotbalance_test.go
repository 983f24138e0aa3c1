package trace

import (
	"errors"
	"strings"
	"testing"
)

func TestFormatNumberVI(t *testing.T) {
	for in, want := range map[string]string{
		"0": "0", "100": "100", "1000": "1.000", "6200": "6.200", "0.4": "0,4",
		"1234567.25": "1.234.567,25", "12345": "12.345", "12/7": "12/7", "": "",
	} {
		if got := FormatNumberVI(in); got != want {
			t.Errorf("FormatNumberVI(%q) = %q, want %q", in, got, want)
		}
	}
}

// tx is a transformation recorded in the chain of batch at position seq.
func tx(batch string, seq uint64, at string, ins []Input, outs []Output, data map[string]string) *Event {
	return &Event{Type: TransformationEvent, Cooperative: "htx-a", Batch: batch, Seq: seq, BizStep: StepMilling,
		EventTime: at, EventTimeZoneOffset: "+07:00", Inputs: ins, Outputs: outs, Data: data}
}

func TestLotBalanceOverLife(t *testing.T) {
	lotA := &Batch{ID: "a", Lot: "ST25-2508-A", Quantity: Quantity{Value: "6200", Unit: "KGM"}}
	lb := NewLotBalance(lotA)
	// 3,000 kg of A milled into M.
	milled := tx("m", 0, "2025-08-22T08:00:00+07:00", []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("3000", "KGM")}},
		[]Output{{Batch: "m", Quantity: q("2000", "KGM")}}, nil)
	if err := lb.Check(milled); err != nil {
		t.Fatalf("first draw: %v", err)
	}
	lb.Add(milled, Hash{10})
	// Then a merge of all 6,200 kg of A with another lot.
	merge := tx("x", 0, "2025-09-01T08:00:00+07:00", []Input{{Batch: "b", Hash: Hash{2}, Quantity: q("6200", "KGM")},
		{Batch: "a", Hash: Hash{1}, Quantity: q("6.2", "TNE")}}, []Output{{Batch: "x", Quantity: q("12400", "KGM")}}, nil)
	err := lb.Check(merge)
	var od *OverdrawError
	if !errors.As(err, &od) || !errors.Is(err, ErrInvalid) {
		t.Fatalf("over-draw: %v", err)
	}
	if od.Field != "inputs[1].quantity" || od.Held != "6200" || od.Taken != "3000" || od.Asked != "6200" || od.Left() != "3200" {
		t.Errorf("over-draw %+v", od)
	}
	want := "Lô ST25-2508-A có 6.200 kg, đã lấy ra 3.000 kg qua các lần chia, gộp, chế biến trước; không thể lấy thêm 6.200 kg vì lô chỉ còn 3.200 kg."
	if err.Error() != want {
		t.Errorf("message\n got %s\nwant %s", err, want)
	}
	if !strings.Contains(od.English(), "lot ST25-2508-A held 6200 kg") {
		t.Errorf("English: %s", od.English())
	}
	// What is left may be taken, to the gram.
	merge.Inputs[1].Quantity = q("3200000", "GRM")
	if err := lb.Check(merge); err != nil {
		t.Errorf("drawing exactly what is left: %v", err)
	}
	lb.Add(merge, Hash{11})
	if _, _, _, over := lb.Overdrawn(); over {
		t.Error("a lot drawn exactly to zero is over-drawn")
	}
	if fs := CheckLotBalance(lb, "htx-a"); len(fs) != 0 {
		t.Errorf("findings on a balanced lot: %+v", fs)
	}
}

func TestLotBalanceCountsEachTransformationOnce(t *testing.T) {
	lb := NewLotBalance(&Batch{ID: "a", Lot: "L-A", Quantity: Quantity{Value: "1000", Unit: "KGM"}})
	ins := []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("1000", "KGM")}}
	outs := []Output{{Batch: "s1", Quantity: q("600", "KGM")}, {Batch: "s2", Quantity: q("400", "KGM")}}
	// A split is recorded in both outputs' chains.
	one, two := tx("s1", 0, "2025-08-20T10:00:00+07:00", ins, outs, nil), tx("s2", 0, "2025-08-20T10:00:00+07:00", ins, outs, nil)
	lb.Add(one, Hash{1})
	if err := lb.Check(two); err != nil {
		t.Errorf("the second copy of a split is checked as a new draw: %v", err)
	}
	lb.Add(two, Hash{2})
	if held, taken, unit, ok := lb.Totals(); !ok || held.RatString() != "1000" || taken.RatString() != "1000" || unit != "KGM" {
		t.Errorf("totals %v %v %s %v", held, taken, unit, ok)
	}
	// Another split of the same lot at another time is another draw.
	again := tx("s3", 0, "2025-08-21T10:00:00+07:00", []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("1", "KGM")}},
		[]Output{{Batch: "s3", Quantity: q("1", "KGM")}}, nil)
	if err := lb.Check(again); err == nil {
		t.Error("a draw from an empty lot was accepted")
	}
}

func TestLotBalanceHeld(t *testing.T) {
	// A lot a transformation made holds what the transformation put in,
	// whichever copy of it comes first.
	made := &Batch{ID: "m", Lot: "XAY-1", Quantity: Quantity{Value: "3000", Unit: "KGM"}}
	ins := []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("4000", "KGM")}}
	outs := []Output{{Batch: "m", Quantity: q("3400", "KGM")}, {Batch: "n", Quantity: q("600", "KGM")}}
	for _, order := range [][]*Event{
		{tx("m", 0, "2025-08-22T08:00:00+07:00", ins, outs, nil), tx("n", 0, "2025-08-22T08:00:00+07:00", ins, outs, nil)},
		{tx("n", 0, "2025-08-22T08:00:00+07:00", ins, outs, nil), tx("m", 0, "2025-08-22T08:00:00+07:00", ins, outs, nil)},
	} {
		lb := NewLotBalance(made)
		for i, e := range order {
			lb.Add(e, Hash{byte(i)})
		}
		// A later transformation recorded in the lot's chain adds to it.
		lb.Add(tx("m", 3, "2025-09-01T08:00:00+07:00", []Input{{Batch: "c", Hash: Hash{3}, Quantity: q("500", "KGM")}},
			[]Output{{Batch: "m", Quantity: q("500", "KGM")}}, nil), Hash{9})
		if held, _, _, ok := lb.Totals(); !ok || held.RatString() != "3900" {
			t.Errorf("first copy in %s: held %v (%v), want 3400 + 500", order[0].Batch, held, ok)
		}
	}
}

func TestLotBalanceConversions(t *testing.T) {
	// 100 bags; a transformation declares a bag holds 5 kg.
	lb := NewLotBalance(&Batch{ID: "a", Lot: "BAO-1", Quantity: Quantity{Value: "100", Unit: "XBG"}})
	conv := map[string]string{DataConversionPrefix + "XBG": "5 KGM"}
	first := tx("o1", 0, "2025-08-20T10:00:00+07:00", []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("300", "KGM")}},
		[]Output{{Batch: "o1", Quantity: q("60", "XBG")}}, conv)
	if err := lb.Check(first); err != nil {
		t.Fatal(err)
	}
	lb.Add(first, Hash{1})
	next := tx("o2", 0, "2025-08-21T10:00:00+07:00", []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("0.25", "TNE")}},
		[]Output{{Batch: "o2", Quantity: q("250", "KGM")}}, nil)
	err := lb.Check(next)
	var od *OverdrawError
	if !errors.As(err, &od) || od.Held != "500" || od.Taken != "300" || od.Asked != "250" || od.Unit != "KGM" {
		t.Fatalf("over-draw in bags and tonnes: %v %+v", err, od)
	}
	// Pieces with no conversion to kilograms cannot be compared: no refusal.
	pieces := NewLotBalance(&Batch{ID: "p", Lot: "TRAI-1", Quantity: Quantity{Value: "10", Unit: "H87"}})
	huge := tx("o3", 0, "2025-08-21T10:00:00+07:00", []Input{{Batch: "p", Hash: Hash{1}, Quantity: q("9999", "KGM")}},
		[]Output{{Batch: "o3", Quantity: q("9999", "KGM")}}, nil)
	if err := pieces.Check(huge); err != nil {
		t.Errorf("incomparable units refused: %v", err)
	}
	pieces.Add(huge, Hash{3})
	if _, _, _, ok := pieces.Totals(); ok {
		t.Error("pieces and kilograms summed without a conversion")
	}
	if fs := CheckLotBalance(pieces, "htx-a"); len(fs) != 0 {
		t.Errorf("finding on incomparable units: %+v", fs)
	}
}

func TestCheckLotBalanceFinding(t *testing.T) {
	lb := NewLotBalance(&Batch{ID: "a", Lot: "ST25-2508-A", Quantity: Quantity{Value: "6200", Unit: "KGM"}})
	lb.Add(tx("m", 0, "2025-08-22T08:00:00+07:00", []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("3000", "KGM")}},
		[]Output{{Batch: "m", Quantity: q("3000", "KGM")}}, nil), Hash{10})
	lb.Add(tx("x", 0, "2025-09-01T08:00:00+07:00", []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("6200", "KGM")}},
		[]Output{{Batch: "x", Quantity: q("6200", "KGM")}}, nil), Hash{11})
	fs := CheckLotBalance(lb, "htx-a")
	if len(fs) != 1 {
		t.Fatalf("findings %+v", fs)
	}
	f := fs[0]
	if f.Kind != FindingOverdrawn || f.Severity != "high" || f.Evidence["held"] != "6200" || f.Evidence["taken"] != "9200" ||
		f.Evidence["over"] != "3000" || f.Evidence["lot"] != "ST25-2508-A" || len(f.Events) != 2 ||
		strings.Join(f.Batches, ",") != "a,m,x" || !strings.Contains(f.Evidence["draws"], "2025-08-22T08:00:00+07:00 3000 KGM") {
		t.Errorf("finding %+v", f)
	}
}

func TestTransformationIDDiffers(t *testing.T) {
	base := tx("s1", 0, "2025-08-20T10:00:00+07:00", []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("1", "KGM")}},
		[]Output{{Batch: "s1", Quantity: q("1", "KGM")}}, nil)
	copyOn := *base
	copyOn.Batch, copyOn.Seq, copyOn.Prev = "s2", 4, Hash{7}
	if TransformationID(base) != TransformationID(&copyOn) {
		t.Error("two copies of one transformation have different ids")
	}
	other := *base
	other.Inputs = []Input{{Batch: "a", Hash: Hash{1}, Quantity: q("2", "KGM")}}
	later := *base
	later.EventTime = "2025-08-20T10:00:01+07:00"
	for _, e := range []*Event{&other, &later} {
		if TransformationID(e) == TransformationID(base) {
			t.Errorf("different transformations share an id: %+v", e)
		}
	}
}
