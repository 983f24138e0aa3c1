package trace

import (
	"strings"
	"testing"
)

func TestTemplates(t *testing.T) {
	want := []string{"aquaculture", "coffee", "dragon_fruit", "fruit_trees", "general", "pepper", "rice", "vegetables"}
	all := Templates()
	if len(all) != len(want) {
		t.Fatalf("%d templates, want %d", len(all), len(want))
	}
	for i, tpl := range all {
		if tpl.ID != want[i] {
			t.Errorf("template %d is %s, want %s", i, tpl.ID, want[i])
		}
		if _, ok := Units[tpl.Unit]; !ok {
			t.Errorf("%s: unit %s", tpl.ID, tpl.Unit)
		}
		harvest := false
		for _, s := range tpl.Steps {
			if err := validVocab("bizStep", s.BizStep, BizSteps); err != nil {
				t.Errorf("%s/%s: %v", tpl.ID, s.Key, err)
			}
			if s.Disposition != "" {
				if err := validVocab("disposition", s.Disposition, Dispositions); err != nil {
					t.Errorf("%s/%s: %v", tpl.ID, s.Key, err)
				}
			}
			if s.Name.VI == "" || s.Name.EN == "" {
				t.Errorf("%s/%s lacks a name", tpl.ID, s.Key)
			}
			for _, f := range s.Fields {
				if !dataKeyRE.MatchString(f.Key) || f.Label.VI == "" || f.Label.EN == "" {
					t.Errorf("%s/%s field %q", tpl.ID, s.Key, f.Key)
				}
				// Withholding periods come from the product's label, never a default.
				if f.Key == "phi_days" && (f.Default != "" || !f.Required) {
					t.Errorf("%s/%s: phi_days must be required and have no default", tpl.ID, s.Key)
				}
				// What must be measured each time has no default to copy.
				if f.Measured && f.Default != "" {
					t.Errorf("%s/%s: measured field %s has a default", tpl.ID, s.Key, f.Key)
				}
				if strings.HasPrefix(f.Key, "dose") || strings.HasSuffix(f.Key, "_percent") || strings.HasPrefix(f.Key, "seed_rate") || strings.HasPrefix(f.Key, "density") {
					if !f.Measured {
						t.Errorf("%s/%s: %s is measured each time", tpl.ID, s.Key, f.Key)
					}
				}
			}
			harvest = harvest || s.BizStep == "commissioning"
		}
		if !harvest {
			t.Errorf("%s has no harvest step", tpl.ID)
		}
	}
}

func TestNextStepAndValues(t *testing.T) {
	rice, err := TemplateByID("rice")
	if err != nil {
		t.Fatal(err)
	}
	if s := rice.NextStep(nil); s.Key != "sowing" {
		t.Errorf("first step %s", s.Key)
	}
	done := []string{StepSowing, StepFertilizing, StepSpraying}
	if s := rice.NextStep(done); s.Key != "harvest" {
		t.Errorf("after spraying: %s", s.Key)
	}
	if s := rice.NextStep(append(done, StepSpraying)); s.Key != "harvest" {
		t.Errorf("after a second spraying: %s", s.Key)
	}
	spray, _ := rice.Step("spraying")
	_, err = spray.Values(map[string]string{"product": "Filia 525SE"})
	ve, ok := err.(*ValidationError)
	if !ok || len(ve.Fields) != 3 || ve.Fields[2].Field != "data.phi_days" {
		t.Errorf("missing fields: %v", err)
	}
	vals, err := spray.Values(map[string]string{"product": "Filia 525SE", "active_ingredient": "Propiconazole", "dose": "0.4 l/ha", "phi_days": "14", "weather": "nắng"})
	if err != nil || vals["phi_days"] != "14" || vals["weather"] != "nắng" {
		t.Errorf("values %v %v", vals, err)
	}
	sow, _ := rice.Step("sowing")
	vals, _ = sow.Values(map[string]string{"seed_rate_kg_ha": "90,5"})
	if vals["seed_variety"] != "ST25" || vals["seed_rate_kg_ha"] != "90.5" {
		t.Errorf("defaults %v", vals)
	}
	// A measured value is never filled in.
	if vals, _ = sow.Values(nil); vals["seed_rate_kg_ha"] != "" {
		t.Errorf("seed rate filled in: %v", vals)
	}
	if _, err := TemplateByID("durian"); err == nil || !strings.Contains(err.Error(), "rice") {
		t.Errorf("unknown template: %v", err)
	}
}

func TestGeneralSteps(t *testing.T) {
	g, err := TemplateOf(&Batch{})
	if err != nil || g.ID != GeneralTemplateID {
		t.Fatalf("a batch without a template follows %v (%v)", g, err)
	}
	for _, c := range []struct {
		done []string
		want string
	}{
		{nil, "harvest"},
		{[]string{BizStepLotFacts}, "harvest"},
		{[]string{BizStepLotFacts, "commissioning"}, "packing"},
		{[]string{BizStepLotFacts, StepMilling}, "packing"}, // a milled lot is packed next
		{[]string{BizStepLotFacts, StepSpraying, "commissioning", StepDrying, "packing"}, "shipping"},
		{[]string{"commissioning", "packing", "storing"}, "shipping"},
		{[]string{"commissioning", "packing", "sampling"}, "shipping"}, // an inspector's sampling moves nothing
	} {
		s := g.NextStep(c.done)
		if s == nil || s.Key != c.want {
			t.Errorf("after %v: %v, want %s", c.done, s, c.want)
		}
	}
	if s := g.NextStep([]string{"commissioning", "packing", "shipping"}); s != nil {
		t.Errorf("after shipping: %s", s.Key)
	}
	// A crop template offers the general steps it lacks, which move
	// nothing on.
	rice, _ := TemplateByID("rice")
	full := rice.WithGeneral()
	st, err := full.Step("storing")
	if err != nil || !st.Extra {
		t.Fatalf("rice + general: storing %v %v", st, err)
	}
	if _, err := rice.Step("storing"); err == nil {
		t.Error("the rice template itself has storing")
	}
	done := []string{StepSowing, StepSpraying, "commissioning", "storing"}
	if s := full.NextStep(done); s == nil || s.Key != "drying" {
		t.Errorf("rice after storing: %v", s)
	}
	if StepLabel(StepDrying, "vi") != "Sấy / phơi" || StepLabel("commissioning", "en") != "Harvest" || StepLabel("https://example.vn/step/rang", "vi") != "rang" {
		t.Error("step labels")
	}
	if FieldLabel("", "phi_days", "vi") != "Thời gian cách ly (ngày)" || FieldLabel(StepSpraying, "dose", "vi") != "Liều lượng" || FieldLabel(StepFertilizing, "dose", "vi") != "Lượng bón" || !IsMeasured("moisture_percent") || IsMeasured("product") || IsMeasured("active_ingredient") {
		t.Error("field labels and measured fields")
	}
}
