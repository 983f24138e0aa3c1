package trace

import (
	"embed"
	"encoding/json"
	"fmt"
	"io/fs"
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
}

// TemplateStep is one step of a crop's season.
type TemplateStep struct {
	Key         string          `json:"key"`
	BizStep     string          `json:"biz_step"`
	Name        Text            `json:"name"`
	Action      string          `json:"action,omitempty"`
	Disposition string          `json:"disposition,omitempty"`
	At          string          `json:"at,omitempty"` // "plot" when it happens on the farm plot
	Repeatable  bool            `json:"repeatable,omitempty"`
	Quantity    bool            `json:"quantity,omitempty"` // records the batch's quantity (harvest)
	ILMD        bool            `json:"ilmd,omitempty"`     // records lot master data (harvest date, origin)
	Note        string          `json:"note,omitempty"`     // a default note
	Fields      []TemplateField `json:"fields,omitempty"`
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
// steps of its history in order: the step after the last one recorded
// (a repeatable step may be recorded again, so it is not skipped past).
// It returns nil when the season is complete.
func (t *Template) NextStep(done []string) *TemplateStep {
	last := -1
	for _, bs := range done {
		for i := last + 1; i < len(t.Steps); i++ {
			if t.Steps[i].BizStep == bs {
				last = i
				break
			}
		}
	}
	if last+1 < len(t.Steps) {
		return &t.Steps[last+1]
	}
	return nil
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
		if !ok || val == "" {
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
		if !known[k] {
			// Extra fields are kept: real records carry details a
			// template cannot foresee.
			out[k] = val
		}
	}
	if len(out) == 0 {
		out = nil
	}
	return out, v.err()
}
