package trace

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
	"slices"
	"sort"
	"strconv"
	"strings"
)

// Crop templates are data (templates/*.json): for each common crop, the
// usual sequence of steps with their fields and sensible defaults, so a
// clerk types only what differs. A field that must come from the real
// world (a pesticide's pre-harvest interval, from its label) has no
// default, because copied defaults are what make records worthless.

//go:embed templates/*.json
var templateFS embed.FS

// Text is a string in Vietnamese and English.
type Text struct {
	VI string `json:"vi"`
	EN string `json:"en"`
}

// In returns the text in a language, Vietnamese by default.
func (t Text) In(lang string) string {
	if lang == "en" && t.EN != "" {
		return t.EN
	}
	return t.VI
}

// TemplateField is one value a step records in its event's Data.
type TemplateField struct {
	Key      string `json:"key"`
	Label    Text   `json:"label"`
	Type     string `json:"type"` // text or number
	Default  string `json:"default,omitempty"`
	Required bool   `json:"required,omitempty"`
	Hint     *Text  `json:"hint,omitempty"`
	// Measured marks a value that must be weighed, measured or observed
	// each time the step is done (a dose, a seed rate, a moisture): it
	// has no default, the workspace never fills it in from an earlier
	// record, and the same value on many lots is what the inspection
	// checks report (CheckCopiedValues). Values that legitimately repeat
	// (the product used, its active ingredient and withholding period,
	// who did the work) are not measured.
	Measured bool `json:"measured,omitempty"`
}

// TemplateStep is one step of a crop's season.
type TemplateStep struct {
	Key         string `json:"key"`
	BizStep     string `json:"biz_step"`
	Name        Text   `json:"name"`
	Action      string `json:"action,omitempty"`
	Disposition string `json:"disposition,omitempty"`
	At          string `json:"at,omitempty"` // "plot" when it happens on the farm plot
	Repeatable  bool   `json:"repeatable,omitempty"`
	Quantity    bool   `json:"quantity,omitempty"` // records the batch's quantity (harvest)
	// AskQuantity: the step may record a quantity of its own (what was
	// shipped), with no default.
	AskQuantity bool `json:"ask_quantity,omitempty"`
	// Optional: a step the batch is never said to wait for (drying, for
	// crops that are not dried), though recording it moves the season on
	// past it.
	Optional bool `json:"optional,omitempty"`
	// Aside: a step that happens beside the season (an inspection, a
	// sampling): never waited for, and it does not move the season on.
	Aside bool `json:"aside,omitempty"`
	// Extra: a step of the general steps offered beside a crop
	// template's own (WithGeneral); it does not move the season on.
	Extra  bool            `json:"-"`
	ILMD   bool            `json:"ilmd,omitempty"` // records lot master data (harvest date, origin)
	Note   string          `json:"note,omitempty"` // a default note
	Fields []TemplateField `json:"fields,omitempty"`
}

// Template is a crop's usual season.
type Template struct {
	ID    string         `json:"id"`
	Name  Text           `json:"name"`
	Unit  string         `json:"unit"`
	Steps []TemplateStep `json:"steps"`
}

var templates = func() map[string]*Template {
	m := map[string]*Template{}
	files, err := fs.Glob(templateFS, "templates/*.json")
	if err != nil {
		panic(err)
	}
	for _, f := range files {
		b, err := templateFS.ReadFile(f)
		if err != nil {
			panic(err)
		}
		var t Template
		if err := json.Unmarshal(b, &t); err != nil {
			panic(fmt.Sprintf("trace: crop template %s: %v", f, err))
		}
		m[t.ID] = &t
	}
	return m
}()

// Templates returns every crop template, by id.
func Templates() []*Template {
	out := make([]*Template, 0, len(templates))
	for _, t := range templates {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// TemplateByID returns a crop template.
func TemplateByID(id string) (*Template, error) {
	t, ok := templates[id]
	if !ok {
		ids := make([]string, 0, len(templates))
		for k := range templates {
			ids = append(ids, k)
		}
		sort.Strings(ids)
		return nil, &FieldError{Field: "template", Reason: fmt.Sprintf("unknown crop template %q; use one of %s", id, strings.Join(ids, ", "))}
	}
	return t, nil
}

// Step returns the template's step with the given key.
func (t *Template) Step(key string) (*TemplateStep, error) {
	for i := range t.Steps {
		if t.Steps[i].Key == key {
			return &t.Steps[i], nil
		}
	}
	keys := make([]string, len(t.Steps))
	for i, s := range t.Steps {
		keys[i] = s.Key
	}
	return nil, &FieldError{Field: "step", Reason: fmt.Sprintf("template %s has no step %q; its steps are %s", t.ID, key, strings.Join(keys, ", "))}
}

// NextStep returns the step a batch is waiting for, given the business
// steps of its history in order: the first step after the last one
// recorded that is not optional (a repeatable step may be recorded again,
// so it is not skipped past; extra steps and steps aside move nothing). It returns nil
// when the season is complete.
func (t *Template) NextStep(done []string) *TemplateStep {
	last := -1
	for _, bs := range done {
		for i := last + 1; i < len(t.Steps); i++ {
			if t.Steps[i].BizStep == bs && !t.Steps[i].Extra && !t.Steps[i].Aside {
				last = i
				break
			}
		}
	}
	for i := last + 1; i < len(t.Steps); i++ {
		if !t.Steps[i].Optional && !t.Steps[i].Extra && !t.Steps[i].Aside {
			return &t.Steps[i]
		}
	}
	return nil
}

// GeneralTemplateID is the template of the general steps: the CBV steps
// a farm and its packing house record (harvest, drying, milling, sorting,
// packing, storing, shipping, receiving, sampling …), each with the
// fields it needs. A batch created without a crop template follows it.
const GeneralTemplateID = "general"

// TemplateOf returns the template a batch follows: its crop template, or
// the general steps when it has none.
func TemplateOf(b *Batch) (*Template, error) {
	if b.Template == "" {
		return TemplateByID(GeneralTemplateID)
	}
	return TemplateByID(b.Template)
}

// WithGeneral returns the template with the general steps it lacks (by
// business step) added after its own, marked Extra, so that any batch
// may record storing, receiving or a sampling whatever its crop.
func (t *Template) WithGeneral() *Template {
	g := templates[GeneralTemplateID]
	if t.ID == GeneralTemplateID || g == nil {
		return t
	}
	out := *t
	out.Steps = slices.Clone(t.Steps)
	have := map[string]bool{}
	keys := map[string]bool{}
	for _, s := range t.Steps {
		have[s.BizStep] = true
		keys[s.Key] = true
	}
	for _, s := range g.Steps {
		if have[s.BizStep] || keys[s.Key] {
			continue
		}
		s.Extra = true
		out.Steps = append(out.Steps, s)
	}
	return &out
}

// measuredFields are the keys of the fields any template marks measured.
var measuredFields = func() map[string]bool {
	m := map[string]bool{}
	for _, t := range templates {
		for _, s := range t.Steps {
			for _, f := range s.Fields {
				if f.Measured {
					m[f.Key] = true
				}
			}
		}
	}
	return m
}()

// IsMeasured reports whether a step field holds a value that must be
// measured or observed each time (TemplateField.Measured).
func IsMeasured(key string) bool { return measuredFields[key] }

// FieldLabel names a step field in a language: as the step (a business
// step; empty for any) names it in the general steps, then in the crop
// templates; then as any step names it; else the key itself.
func FieldLabel(bizStep, key, lang string) string {
	all := Templates()
	if g := templates[GeneralTemplateID]; g != nil {
		all = append([]*Template{g}, all...)
	}
	for _, anyStep := range []bool{false, true} {
		for _, t := range all {
			for _, s := range t.Steps {
				if !anyStep && bizStep != "" && s.BizStep != bizStep {
					continue
				}
				for _, f := range s.Fields {
					if f.Key == key {
						return f.Label.In(lang)
					}
				}
			}
		}
	}
	return strings.ReplaceAll(key, "_", " ")
}

// StepLabel names a business step in a language: the general steps'
// name, else the name of a step no template records, else a crop
// template's, else the step's last word.
func StepLabel(bizStep, lang string) string {
	if g := templates[GeneralTemplateID]; g != nil {
		for _, s := range g.Steps {
			if s.BizStep == bizStep {
				return s.Name.In(lang)
			}
		}
	}
	if n, ok := otherStepNames[bizStep]; ok {
		return n.In(lang)
	}
	for _, t := range Templates() {
		for _, s := range t.Steps {
			if s.BizStep == bizStep {
				return s.Name.In(lang)
			}
		}
	}
	if i := strings.LastIndexByte(bizStep, '/'); i >= 0 && i < len(bizStep)-1 {
		bizStep = bizStep[i+1:]
	}
	return strings.ReplaceAll(bizStep, "_", " ")
}

// otherStepNames name the steps no template records.
var otherStepNames = map[string]Text{
	BizStepLotFacts: {VI: "Đăng ký lô", EN: "Lot registered"},
	StepSplitting:   {VI: "Chia lô", EN: "Split"},
	StepMerging:     {VI: "Gộp lô", EN: "Merge"},
	StepRecalling:   {VI: "Thu hồi", EN: "Recall"},
	StepIrrigating:  {VI: "Tưới và chăm sóc", EN: "Irrigating and care"},
}

// Values fills a step's data: the defaults, overridden by the values
// given. It refuses unknown fields, missing required ones and numbers that
// are not numbers, all at once.
func (s *TemplateStep) Values(given map[string]string) (map[string]string, error) {
	var v ValidationError
	out := map[string]string{}
	known := map[string]bool{}
	for _, f := range s.Fields {
		known[f.Key] = true
		val, ok := given[f.Key]
		if (!ok || val == "") && !f.Measured {
			val = f.Default
		}
		val = strings.TrimSpace(val)
		if val == "" {
			if f.Required {
				v.addf("data."+f.Key, "%s is required for %s", f.Label.EN, s.Name.EN)
			}
			continue
		}
		if f.Type == "number" {
			n := strings.Replace(val, ",", ".", 1)
			if _, err := strconv.ParseFloat(n, 64); err != nil {
				v.addf("data."+f.Key, "%q is not a number", val)
				continue
			}
			val = n
		}
		out[f.Key] = val
	}
	for k, val := range given {
		if !known[k] && strings.TrimSpace(val) != "" {
			// Extra fields are kept (left empty, left out): real records
			// carry details a template cannot foresee.
			out[k] = val
		}
	}
	if len(out) == 0 {
		out = nil
	}
	return out, v.err()
}
