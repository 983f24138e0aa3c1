package trace

import (
	"fmt"
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
