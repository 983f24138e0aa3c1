package trace

import (
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

func recordOf(t *testing.T, s *Signer, batch, product string, evs []*Event, received []time.Time) *BatchRecord {
	t.Helper()
	r := &BatchRecord{Batch: &Batch{ID: batch, CooperativeID: "htx-a", ProductID: product, Lot: "L1", Quantity: Quantity{Value: "1000", Unit: "KGM"}}}
	var prev Hash
	for i, e := range evs {
		e.Cooperative, e.Batch, e.Seq, e.Prev = "htx-a", batch, uint64(i), prev
		se, err := s.Sign(e)
		if err != nil {
			t.Fatal(err)
		}
		prev = se.Hash
		re := RecordedEvent{SignedEvent: se}
		if received != nil {
			re.ReceivedAt = received[i]
		}
		r.Events = append(r.Events, re)
	}
	return r
}

func ev(step, at string, data map[string]string) *Event {
	return &Event{Type: ObjectEvent, Action: "OBSERVE", BizStep: step, EventTime: at, EventTimeZoneOffset: "+07:00", Data: data}
}

func kinds(fs []Finding) map[string]int {
	m := map[string]int{}
	for _, f := range fs {
		m[f.Kind]++
	}
	return m
}

func TestCheckBatch(t *testing.T) {
	s := testSigner(t, 4)
	spray := map[string]string{"product": "Filia 525SE", "active_ingredient": "Propiconazole", "dose": "0.4 l/ha", "phi_days": "14"}
	clean := recordOf(t, s, "clean", "p1", []*Event{
		ev(StepSpraying, "2025-07-20T16:30:00+07:00", spray),
		ev("commissioning", "2025-08-12T06:30:00+07:00", nil),
	}, nil)
	if f := CheckBatch(clean); len(f) != 0 {
		t.Errorf("clean batch has findings: %+v", f)
	}
	early := recordOf(t, s, "early", "p1", []*Event{
		ev(StepSpraying, "2025-08-05T16:30:00+07:00", spray),
		ev("commissioning", "2025-08-12T06:30:00+07:00", nil),
	}, nil)
	f := CheckBatch(early)
	if kinds(f)[FindingPreHarvestInterval] != 1 || f[0].Evidence["days_between"] != "6.6" {
		t.Errorf("harvest 6.6 days after a 14-day product: %+v", f)
	}
	recv := time.Date(2025, 8, 1, 8, 0, 0, 0, time.UTC)
	odd := recordOf(t, s, "odd", "p1", []*Event{
		ev("packing", "2025-08-10T08:00:00+07:00", nil),
		ev("storing", "2025-08-09T08:00:00+07:00", nil),
	}, []time.Time{recv, recv})
	if k := kinds(CheckBatch(odd)); k[FindingOutOfOrder] != 1 || k[FindingFutureEvent] != 2 {
		t.Errorf("out of order and future: %v", k)
	}
	big := recordOf(t, s, "big", "p1", []*Event{{Type: ObjectEvent, Action: "ADD", BizStep: "commissioning",
		EventTime: "2025-08-12T06:30:00+07:00", EventTimeZoneOffset: "+07:00", Quantity: &Quantity{Value: "1.5", Unit: "TNE"}}}, nil)
	if k := kinds(CheckBatch(big)); k[FindingUnbalanced] != 1 {
		t.Errorf("harvest above the batch's quantity: %v", k)
	}
}

func TestCheckCopiedValues(t *testing.T) {
	s := testSigner(t, 5)
	var records []*BatchRecord
	for i := 0; i < 5; i++ {
		records = append(records, recordOf(t, s, fmt.Sprintf("b%d", i), fmt.Sprintf("p%d", i%3), []*Event{
			ev(StepSpraying, fmt.Sprintf("2025-07-%02dT16:30:00+07:00", 10+i), map[string]string{"product": fmt.Sprintf("P%d", i), "phi_days": "7"}),
		}, nil))
	}
	f := CheckCopiedValues(records)
	if len(f) != 1 || f[0].Evidence["field"] != "phi_days" || len(f[0].Batches) != 5 {
		t.Fatalf("copied PHI: %+v", f)
	}
	if f := CheckCopiedValues(records[:3]); len(f) != 0 {
		t.Errorf("three batches are not a pattern: %+v", f)
	}
}

// The checks judge a lot's events as corrected: a harvest whose date was
// a typo is judged by the corrected date, and an override reason signed
// into a harvest leaves the finding standing, with the reason.
func TestCheckBatchCorrected(t *testing.T) {
	s := testSigner(t, 6)
	spray := map[string]string{"product": "Anvil 5SC", "active_ingredient": "Hexaconazole", "dose": "1 l/ha", "phi_days": "7"}
	evs := []*Event{
		ev(StepSpraying, "2026-04-02T07:00:00+07:00", spray),
		ev("commissioning", "2026-04-06T06:00:00+07:00", map[string]string{DataIntervalOverride: "mưa bão sắp đến, phải thu gấp"}),
	}
	r := recordOf(t, s, "tieu", "p1", evs, nil)
	f := CheckBatch(r)
	if len(f) != 1 || f[0].Kind != FindingPreHarvestInterval || f[0].Evidence["override_reason"] != "mưa bão sắp đến, phải thu gấp" {
		t.Fatalf("harvest 4 days after a 7-day product, confirmed: %+v", f)
	}
	vi := FindingDetail(f[0], "vi")
	for _, want := range []string{"06/04/2026 06:00", "4 ngày sau khi phun Anvil 5SC (Hexaconazole) lúc 02/04/2026 07:00", "7 ngày", "lý do: mưa bão"} {
		if !strings.Contains(vi, want) {
			t.Errorf("Vietnamese detail %q lacks %q", vi, want)
		}
	}
	// The harvest's date was a typo: corrected to 12/04 it is outside
	// the interval.
	fixed := *evs[1]
	fixed.EventTime = "2026-04-12T06:00:00+07:00"
	c, err := NewCorrection(r.Events[1].SignedEvent, &fixed, "gõ nhầm ngày", time.Date(2026, 4, 12, 9, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	r = recordOf(t, s, "tieu", "p1", []*Event{evs[0], evs[1], c}, nil)
	if f := CheckBatch(r); len(f) != 0 {
		t.Errorf("the corrected harvest is still found: %+v", f)
	}
}

func TestPHIConflicts(t *testing.T) {
	s := testSigner(t, 7)
	chain := signChain(t, s, []*Event{
		{Type: ObjectEvent, Cooperative: "c", Batch: "b", Action: "OBSERVE", BizStep: StepSpraying, EventTime: "2026-04-02T07:00:00+07:00", EventTimeZoneOffset: "+07:00",
			Data: map[string]string{"product": "Anvil 5SC", "active_ingredient": "Hexaconazole", "phi_days": "7"}},
		{Type: ObjectEvent, Cooperative: "c", Batch: "b", Action: "OBSERVE", BizStep: StepSpraying, EventTime: "2026-03-01T07:00:00+07:00", EventTimeZoneOffset: "+07:00",
			Data: map[string]string{"product": "Ridomil Gold 68WG", "phi_days": "14"}},
	})
	ict := time.FixedZone("", 7*3600)
	at := time.Date(2026, 4, 6, 6, 0, 0, 0, ict)
	cs := PHIConflicts(chain, at)
	if len(cs) != 1 || cs[0].Product != "Anvil 5SC" || cs[0].SafeFrom.Format(time.RFC3339) != "2026-04-09T07:00:00+07:00" {
		t.Fatalf("conflicts %+v", cs)
	}
	err := &PHIError{Conflicts: cs}
	if !errors.Is(err, ErrInvalid) || err.Field() != "data."+DataIntervalOverride {
		t.Error("a PHI error is an invalid field")
	}
	want := "lô đã phun Anvil 5SC (hoạt chất Hexaconazole) lúc 02/04/2026 07:00, thời gian cách ly 7 ngày: phải đến 09/04/2026 07:00 mới được thu hoạch, còn 4 ngày nữa"
	if !strings.Contains(err.Error(), want) {
		t.Errorf("message %q", err.Error())
	}
	if en := err.English(); !strings.Contains(en, "may be harvested from 2026-04-09 07:00, 4 days from now") {
		t.Errorf("English %q", en)
	}
	if cs := PHIConflicts(chain, time.Date(2026, 4, 9, 7, 0, 0, 0, ict)); len(cs) != 0 {
		t.Errorf("on the day the interval ends: %+v", cs)
	}
	if cs := PHIConflicts(chain, time.Date(2026, 4, 9, 1, 0, 0, 0, ict)); len(cs) != 1 || !strings.Contains((&PHIError{cs}).Error(), "còn 6 giờ nữa") {
		t.Errorf("hours before the end: %+v", cs)
	}
}

// Values that legitimately repeat are not judged; measured ones are.
func TestCheckCopiedMeasuredOnly(t *testing.T) {
	s := testSigner(t, 8)
	var records []*BatchRecord
	for i := 0; i < 5; i++ {
		records = append(records, recordOf(t, s, fmt.Sprintf("b%d", i), "p1", []*Event{
			ev(StepSpraying, fmt.Sprintf("2025-07-%02dT16:30:00+07:00", 10+i), map[string]string{
				"product": "Filia 525SE", "active_ingredient": "Propiconazole", "phi_days": "14", "applied_by": "Anh Tư", "dose": "0.4 l/ha"}),
			ev("packing", fmt.Sprintf("2025-08-%02dT08:00:00+07:00", 10+i), nil),
		}, nil))
		records[i].Events[1].Event.Note = "Đóng bao 5 kg"
	}
	f := CheckCopiedValues(records)
	if len(f) != 1 || f[0].Evidence["field"] != "dose" || f[0].Evidence["step"] != StepSpraying {
		t.Fatalf("only the dose is judged: %+v", f)
	}
	vi := FindingDetail(f[0], "vi")
	if !strings.Contains(vi, "5 lô (1 sản phẩm) cùng ghi Liều lượng = “0.4 l/ha” ở bước Phun thuốc bảo vệ thực vật") {
		t.Errorf("detail %q", vi)
	}
	if FindingTitle(FindingCopiedValues, "vi") != "Cùng một giá trị trên nhiều lô (nghi sao chép)" || SeverityName("medium", "vi") != "TRUNG BÌNH" {
		t.Error("titles")
	}
}
