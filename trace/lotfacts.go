package trace

import (
	"fmt"
	"slices"
	"strconv"
	"time"
)

// BizStepLotFacts is the business step of a lot's facts record: CBV's
// creating_class_instance, the step that makes a new lot of a product.
const BizStepLotFacts = "creating_class_instance"

// LotFacts are what a cooperative declares about a lot when it registers
// it: which product (its GTIN and names as they were at that moment), the
// lot code, the declared quantity, the harvest date, the plot it was grown
// on and the certificates it claims.
//
// They are signed as the first event of the lot's chain (seq 0, action
// ADD, business step creating_class_instance) so that everything a
// shopper reads about the lot is covered by the cooperative's signature;
// a later correction is another such event (action OBSERVE) that states
// the facts in full again, and the newest one is what holds. The event
// carries them in standard EPCIS places where EPCIS has one (quantity,
// ilmd.harvestDate, certifications) and the rest in data:
//
//	product          the product's id
//	gtin             its GTIN-14, when it has one
//	product_name     its Vietnamese name
//	product_name_en  its English name, if any
//	lot              the lot code
//	plot             the plot's name
//	plot_lat         the plot's latitude (WGS84 degrees, as written by Go's strconv 'f', -1),
//	                 absent when the plot's position is not known
//	plot_lon         the plot's longitude, likewise
//	member           the id of the member household it came from (a
//	                 member record of the cooperative's registry), if named
//
// Histories signed before lots had facts records keep verifying; their
// facts are simply not covered by a signature.
type LotFacts struct {
	Product        string
	GTIN           string
	ProductName    string
	ProductNameEN  string
	Lot            string
	Quantity       Quantity
	HarvestDate    string // YYYY-MM-DD, empty when not yet harvested
	Plot           *Plot
	Certifications []Certification
	Member         string // id of the member household (KindMember), if named
}

// FactsOf returns the facts of a batch of a product, as the batch record
// and the product record hold them.
func FactsOf(b *Batch, p *Product) *LotFacts {
	f := &LotFacts{Product: b.ProductID, GTIN: p.GTIN, ProductName: p.NameVI, ProductNameEN: p.NameEN,
		Lot: b.Lot, Quantity: b.Quantity, HarvestDate: b.HarvestDate, Certifications: slices.Clone(b.Certifications), Member: b.Member}
	if b.Plot != nil {
		plot := *b.Plot
		f.Plot = &plot
	}
	return f
}

// Event returns the facts as an event of the batch's chain at time t: the
// registration (action ADD) when first, else a restatement (OBSERVE).
// The store fixes Seq and Prev.
func (f *LotFacts) Event(cooperative, batch string, first bool, t time.Time) *Event {
	e := &Event{Type: ObjectEvent, Cooperative: cooperative, Batch: batch, Action: "OBSERVE", BizStep: BizStepLotFacts}
	if first {
		e.Action = "ADD"
	}
	e.EventTime, e.EventTimeZoneOffset = FormatEventTime(t)
	q := f.Quantity
	e.Quantity = &q
	if f.HarvestDate != "" {
		e.ILMD = &ILMD{HarvestDate: f.HarvestDate}
	}
	e.Certifications = slices.Clone(f.Certifications)
	d := map[string]string{"product": f.Product, "gtin": f.GTIN, "product_name": f.ProductName,
		"product_name_en": f.ProductNameEN, "lot": f.Lot, "member": f.Member}
	if f.Plot != nil {
		d["plot"] = f.Plot.Name
		if f.Plot.HasPosition() {
			d["plot_lat"] = strconv.FormatFloat(f.Plot.Lat, 'f', -1, 64)
			d["plot_lon"] = strconv.FormatFloat(f.Plot.Lon, 'f', -1, 64)
		}
	}
	e.Data = compactFields(d)
	return e
}

// IsLotFacts reports whether e is a lot's facts record: an ObjectEvent of
// step creating_class_instance that names its product and lot.
func IsLotFacts(e *Event) bool {
	return e != nil && e.Type == ObjectEvent && e.BizStep == BizStepLotFacts && e.Data["product"] != "" && e.Data["lot"] != ""
}

// LotFactsOf reads the facts from a facts record. It fails when e is not
// one, or when its fields are not what a facts record holds.
func LotFactsOf(e *Event) (*LotFacts, error) {
	if !IsLotFacts(e) {
		return nil, fmt.Errorf("the event is not a lot's facts record (business step %s)", BizStepLotFacts)
	}
	var v ValidationError
	f := &LotFacts{Product: e.Data["product"], GTIN: e.Data["gtin"], ProductName: e.Data["product_name"],
		ProductNameEN: e.Data["product_name_en"], Lot: e.Data["lot"], Certifications: slices.Clone(e.Certifications), Member: e.Data["member"]}
	known := map[string]bool{"product": true, "gtin": true, "product_name": true, "product_name_en": true,
		"lot": true, "plot": true, "plot_lat": true, "plot_lon": true, "member": true}
	for k := range e.Data {
		if !known[k] {
			v.addf("data."+k, "a lot's facts record has no field %s", quote(k))
		}
	}
	if !ValidID(f.Product) {
		v.addf("data.product", "the product's id is required")
	}
	if f.GTIN != "" {
		v.add("data", renameField(ValidateGTIN14(f.GTIN), "gtin", "gtin"))
	}
	if f.Member != "" && !ValidID(f.Member) {
		v.addf("data.member", "the member's id is not an identifier")
	}
	if f.ProductName == "" {
		v.addf("data.product_name", "the product's name is required")
	}
	v.add("data", ValidateLot(f.Lot))
	if e.Quantity == nil {
		v.addf("quantity", "a lot's facts state its quantity")
	} else {
		f.Quantity = *e.Quantity
	}
	if e.ILMD != nil {
		f.HarvestDate = e.ILMD.HarvestDate
	}
	if name, ok := e.Data["plot"]; ok && e.Data["plot_lat"] == "" && e.Data["plot_lon"] == "" {
		// A plot whose position is not known.
		f.Plot = &Plot{Name: name}
		v.add("data.plot", f.Plot.Validate())
	} else if ok {
		lat, err1 := strconv.ParseFloat(e.Data["plot_lat"], 64)
		lon, err2 := strconv.ParseFloat(e.Data["plot_lon"], 64)
		if err1 != nil || err2 != nil {
			v.addf("data.plot_lat", "a plot's latitude and longitude are numbers")
		} else {
			f.Plot = &Plot{Name: name, Lat: lat, Lon: lon}
			v.add("data.plot", f.Plot.Validate())
			if !f.Plot.HasPosition() {
				v.addf("data.plot_lat", "a plot whose position is not known has no coordinates, not 0,0")
			}
		}
	} else if e.Data["plot_lat"] != "" || e.Data["plot_lon"] != "" {
		v.addf("data.plot", "coordinates without a plot name")
	}
	if err := v.err(); err != nil {
		return nil, err
	}
	return f, nil
}

// Fields returns the facts as named strings, for comparing what a reader
// is shown with what was signed. The names are those of the API's batch:
// product_id, gtin, lot, quantity ("<value> <unit>"), harvest_date,
// plot ("<name> <lat>,<lon>"), certifications ("<scheme> <id>; …"),
// member.
func (f *LotFacts) Fields() map[string]string {
	m := map[string]string{"product_id": f.Product, "gtin": f.GTIN, "lot": f.Lot,
		"quantity": string(f.Quantity.Value) + " " + f.Quantity.Unit, "harvest_date": f.HarvestDate, "member": f.Member}
	if f.Plot != nil {
		m["plot"] = PlotText(f.Plot)
	}
	cs := ""
	for i, c := range f.Certifications {
		if i > 0 {
			cs += "; "
		}
		cs += c.Scheme + " " + c.ID
	}
	m["certifications"] = cs
	return compactFields(m)
}

// LatestFacts returns the newest facts record of a verified history and
// its position, or nil and -1 when the history has none (a lot registered
// before facts were signed). An event that looks like a facts record but
// does not hold valid facts (the store refuses to write one) is passed
// over, as an ordinary event.
func LatestFacts(events []*SignedEvent) (*LotFacts, int) {
	for i := len(events) - 1; i >= 0; i-- {
		if e := events[i].Event; IsLotFacts(e) {
			if f, err := LotFactsOf(e); err == nil {
				return f, i
			}
		}
	}
	return nil, -1
}

// PlotText writes a plot as the facts' fields compare it: its name and
// position ("<name> <lat>,<lon>"), or its name alone when its position is
// not known.
func PlotText(p *Plot) string {
	if !p.HasPosition() {
		return p.Name
	}
	return p.Name + " " + strconv.FormatFloat(p.Lat, 'f', -1, 64) + "," + strconv.FormatFloat(p.Lon, 'f', -1, 64)
}
