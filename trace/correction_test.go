package trace

import (
	"testing"
	"time"
)

func TestEffectiveEvents(t *testing.T) {
	s := testSigner(t, 3)
	at := time.Date(2025, 9, 1, 8, 0, 0, 0, time.FixedZone("ICT", 7*3600))
	sow := &Event{Type: ObjectEvent, Cooperative: "htx", Batch: "b", Action: "OBSERVE", BizStep: "https://truyxuat.vn/voc/bizstep/sowing",
		EventTime: "2025-05-05T06:00:00+07:00", EventTimeZoneOffset: "+07:00", Data: map[string]string{"seed_rate_kg_ha": "900"}}
	spray := &Event{Type: ObjectEvent, Cooperative: "htx", Batch: "b", Action: "OBSERVE", BizStep: "https://truyxuat.vn/voc/bizstep/spraying",
		EventTime: "2025-07-20T06:00:00+07:00", EventTimeZoneOffset: "+07:00", Data: map[string]string{"dose": "0,4 l/ha"}}
	chain := signChain(t, s, []*Event{sow, spray})
	fixed := *sow
	fixed.Data = map[string]string{"seed_rate_kg_ha": "90"}
	c1, err := NewCorrection(chain[0], &fixed, "gõ nhầm thêm số 0", at)
	if err != nil {
		t.Fatal(err)
	}
	if c1.BizStep != sow.BizStep || c1.Data[DataCorrects] != chain[0].Hash.String() || c1.Data[DataCorrectedAt] != "2025-09-01T08:00:00+07:00" {
		t.Fatalf("correction %+v", c1)
	}
	fixed2 := fixed
	fixed2.Data = map[string]string{"seed_rate_kg_ha": "95"}
	c2, _ := NewCorrection(chain[0], &fixed2, "cân lại", at.Add(time.Hour))
	// A correction of a correction is refused; one of another step is
	// shown on its own.
	all := signChain(t, s, []*Event{sow, spray, c1, c2})
	if _, err := NewCorrection(all[2], &fixed, "x", at); err == nil {
		t.Error("a correction of a correction")
	}
	stray := *spray
	stray.Data = map[string]string{DataCorrects: all[0].Hash.String(), DataCorrectionReason: "nhầm bước"}
	all = signChain(t, s, []*Event{sow, spray, c1, c2, &stray})
	eff := EffectiveEvents(all)
	if len(eff) != 3 {
		t.Fatalf("%d events shown, want sowing, spraying and the stray correction", len(eff))
	}
	if !eff[0].Corrected() || len(eff[0].Corrections) != 2 || eff[0].Shown.Event.Data["seed_rate_kg_ha"] != "95" || eff[0].Original != all[0] {
		t.Errorf("sowing shown as %+v", eff[0].Shown.Event.Data)
	}
	if eff[1].Corrected() || eff[2].Original != all[4] {
		t.Errorf("spraying corrected %v; stray shown %v", eff[1].Corrected(), eff[2].Original == all[4])
	}
	if d := StepData(eff[0].Shown.Event); len(d) != 1 || d["seed_rate_kg_ha"] != "95" {
		t.Errorf("step data %v", d)
	}
	// A correction signed with another key (a cooperative "correcting"
	// an inspector's verdict) stands on its own: it replaces nothing.
	inspector := testSigner(t, 4)
	verdict := &Event{Type: ObjectEvent, Cooperative: "htx", Batch: "b", Action: "OBSERVE", BizStep: "inspecting", Disposition: "non_conformant",
		EventTime: "2025-09-02T08:00:00+07:00", EventTimeZoneOffset: "+07:00"}
	chain2 := signChain(t, s, []*Event{sow})
	verdict.Seq, verdict.Prev = 1, chain2[0].Hash
	sv, err := inspector.Sign(verdict)
	if err != nil {
		t.Fatal(err)
	}
	over := *verdict
	over.Disposition = "conformant"
	oc, err := NewCorrection(sv, &over, "kết quả kiểm tra lại", at)
	if err != nil {
		t.Fatal(err)
	}
	oc.Seq, oc.Prev = 2, sv.Hash
	so, err := s.Sign(oc)
	if err != nil {
		t.Fatal(err)
	}
	eff = EffectiveEvents([]*SignedEvent{chain2[0], sv, so})
	if len(eff) != 3 || eff[1].Corrected() || eff[1].Shown.Event.Disposition != "non_conformant" {
		t.Errorf("another key's correction replaced the verdict: %d events shown", len(eff))
	}
}
