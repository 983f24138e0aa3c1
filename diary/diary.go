// Package diary writes the farm diary (nhật ký canh tác) a cooperative
// must keep for VietGAP, from the steps it records in truyxuat: the inputs
// used (each pesticide and fertiliser with its active ingredient, dose,
// date, plot, who applied it and its pre-harvest interval), harvests,
// handling (drying, milling, packing, storing), sales and the other work,
// per lot, per plot or per season, in Vietnamese. A clerk who records in
// truyxuat need not fill the paper diary again.
//
// It writes a printable PDF (A4 landscape, Noto Sans embedded, see
// label.NotoSans), CSV (UTF-8 with a byte order mark, so spreadsheet
// programs read the Vietnamese letters) and XLSX. Steps are read as
// readers show them: a corrected step by its newest correction, marked
// corrected with the reason.
package diary

import (
	"sort"
	"strings"
	"time"

	"github.com/truyxuat/truyxuat/trace"
)

// Section is a part of the diary.
type Section int

// The diary's sections, in the order VietGAP's diary keeps them.
const (
	Inputs   Section = iota // pesticides and fertilisers applied
	Harvests                // harvests
	Handling                // drying, milling, sorting, packing, storing
	Sales                   // shipping to buyers
	Other                   // sowing, irrigating, samplings, anything else
)

// SectionTitle names a section.
func SectionTitle(s Section) string {
	return [...]string{"Vật tư đầu vào (thuốc bảo vệ thực vật, phân bón)", "Thu hoạch", "Sơ chế, chế biến, đóng gói, bảo quản", "Xuất bán", "Công việc khác"}[s]
}

// sheetName is a section's name as a spreadsheet's sheet (at most 31
// characters, no slash).
func sheetName(s Section) string {
	return [...]string{"Vật tư đầu vào", "Thu hoạch", "Sơ chế - bảo quản", "Xuất bán", "Việc khác"}[s]
}

// Record is one line of the diary: one step of one lot.
type Record struct {
	Section  Section
	Time     time.Time
	DateOnly bool // recorded by its date alone
	Lot      string
	Product  string // the lot's product
	Plot     string
	Work     string // the step, named in Vietnamese
	// The input used, for a spraying or a fertilising.
	Input, ActiveIngredient, Dose, PHIDays string
	DoneBy                                 string
	Quantity                               string // "1.180,5 kg"
	Buyer                                  string
	Details                                string // other fields and the note
	// Corrected says when and why the step was corrected, if it was.
	Corrected string
	// Override is the reason a harvest was recorded inside a spraying's
	// pre-harvest interval.
	Override   string
	RecordedBy string
}

// Diary is a cooperative's diary over a scope: a lot, a plot or a season.
type Diary struct {
	Cooperative string
	Province    string
	Scope       string // "Lô ST25-2508-A", "Thửa Ruộng số 7", "Mùa vụ từ … đến …"
	Made        time.Time
	Records     []Record
}

// Lot is what the diary reads about one lot.
type Lot struct {
	Batch   *trace.Batch
	Product string // the product's Vietnamese name
	Events  []*trace.Effective
	// RecordedBy names who recorded an event (by its hash); nil or ""
	// leaves it out.
	RecordedBy func(trace.Hash) string
}

// fields that have their own column; the others go to Details.
var ownColumns = map[string]bool{"product": true, "active_ingredient": true, "dose": true, "phi_days": true,
	"applied_by": true, "plot": true, "buyer": true}

// AddLot adds a lot's steps to the diary, those keep accepts (nil: all).
func (d *Diary) AddLot(l Lot, keep func(*Record) bool) {
	for _, eff := range l.Events {
		e := eff.Shown.Event
		if trace.IsLotFacts(e) || e.BizStep == trace.BizStepLotFacts {
			continue
		}
		t := e.Time()
		r := Record{Time: t, DateOnly: t.Hour() == 0 && t.Minute() == 0 && t.Second() == 0, Lot: l.Batch.Lot, Product: l.Product,
			Work: trace.StepLabel(e.BizStep, "vi")}
		data := trace.StepData(e)
		r.Plot = data["plot"]
		if r.Plot == "" && l.Batch.Plot != nil {
			r.Plot = l.Batch.Plot.Name
		}
		switch e.BizStep {
		case trace.StepSpraying, trace.StepFertilizing:
			r.Section = Inputs
			r.Input, r.ActiveIngredient, r.Dose, r.DoneBy = data["product"], data["active_ingredient"], data["dose"], data["applied_by"]
			if p := data["phi_days"]; p != "" {
				r.PHIDays = trace.FormatNumberVI(p)
			}
			for _, k := range []string{"dose_kg_ha", "dose_kg_tree", "dose_kg_m2"} {
				if v := data[k]; v != "" && r.Dose == "" {
					r.Dose = trace.FormatNumberVI(v) + " " + strings.TrimPrefix(k, "dose_")
					r.Dose = strings.NewReplacer("kg_ha", "kg/ha", "kg_tree", "kg/cây", "kg_m2", "kg/m²").Replace(r.Dose)
					data[k] = ""
				}
			}
		case "commissioning":
			r.Section = Harvests
		case "shipping", "retail_selling":
			r.Section = Sales
			r.Buyer = data["buyer"]
		case trace.StepDrying, trace.StepMilling, trace.StepSorting, "packing", "storing", trace.StepSplitting, trace.StepMerging, "repackaging":
			r.Section = Handling
		default:
			r.Section = Other
			if e.Type == trace.TransformationEvent {
				r.Section = Handling
			}
		}
		if r.DoneBy == "" {
			r.DoneBy = data["applied_by"]
		}
		if q := e.Quantity; q != nil {
			r.Quantity = quantityVI(*q)
		}
		if e.Type == trace.TransformationEvent {
			for _, o := range e.Outputs {
				if o.Batch == l.Batch.ID && o.Quantity != nil {
					r.Quantity = quantityVI(*o.Quantity)
				}
			}
		}
		var details []string
		keys := make([]string, 0, len(data))
		for k := range data {
			if !ownColumns[k] && data[k] != "" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			v := data[k]
			if trace.IsMeasured(k) {
				v = trace.FormatNumberVI(v)
			}
			details = append(details, trace.FieldLabel(e.BizStep, k, "vi")+": "+v)
		}
		if e.Note != "" {
			details = append(details, e.Note)
		}
		r.Details = strings.Join(details, "; ")
		r.Override = e.Data[trace.DataIntervalOverride]
		if eff.Corrected() {
			c := eff.Shown.Event
			when := c.Data[trace.DataCorrectedAt]
			if t, err := time.Parse(time.RFC3339, when); err == nil {
				when = trace.TimeVI(t)
			}
			r.Corrected = "sửa lúc " + when + ": " + c.Data[trace.DataCorrectionReason]
		}
		if l.RecordedBy != nil {
			r.RecordedBy = l.RecordedBy(eff.Original.Hash)
		}
		if keep == nil || keep(&r) {
			d.Records = append(d.Records, r)
		}
	}
	sort.SliceStable(d.Records, func(i, j int) bool {
		a, b := d.Records[i], d.Records[j]
		if !a.Time.Equal(b.Time) {
			return a.Time.Before(b.Time)
		}
		return a.Lot < b.Lot
	})
}

func quantityVI(q trace.Quantity) string {
	return trace.FormatNumberVI(string(q.Value)) + " " + trace.UnitName(q.Unit, "vi")
}

// Section returns the records of a section, in time order.
func (d *Diary) Section(s Section) []Record {
	var out []Record
	for _, r := range d.Records {
		if r.Section == s {
			out = append(out, r)
		}
	}
	return out
}

// dateText writes a record's time day first, with the hour unless it was
// recorded by its date alone.
func (r *Record) dateText() string {
	if r.DateOnly {
		return r.Time.Format("02/01/2006")
	}
	return r.Time.Format("02/01/2006 15:04")
}

// notes joins a record's details, its correction and its override.
func (r *Record) notes() string {
	var parts []string
	if r.Details != "" {
		parts = append(parts, r.Details)
	}
	if r.Override != "" {
		parts = append(parts, "Thu hoạch khi chưa hết thời gian cách ly, lý do: "+r.Override)
	}
	if r.Corrected != "" {
		parts = append(parts, "Đã "+r.Corrected)
	}
	return strings.Join(parts, ". ")
}
