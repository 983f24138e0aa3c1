package trace

import (
	"net/url"
	"strings"
)

// The CBV 2.0 vocabularies truyxuat accepts, in one place. Values are the
// bare CBV names as EPCIS 2.0 JSON writes them; a value outside a list must
// be a full URI outside GS1's own namespaces (CBV 2.0 §6: user vocabulary).

// BizSteps is the CBV 2.0 list of business steps. Harvest is
// "commissioning": CBV has no "harvesting".
var BizSteps = []string{
	"accepting", "arriving", "assembling", "collecting", "commissioning",
	"consigning", "creating_class_instance", "cycle_counting",
	"decommissioning", "departing", "destroying", "disassembling",
	"dispensing", "encoding", "entering_exiting", "holding", "inspecting",
	"installing", "killing", "loading", "other", "packing", "picking",
	"receiving", "removing", "repackaging", "repairing", "replacing",
	"reserving", "retail_selling", "sampling", "sensor_reporting",
	"shipping", "staging_outbound", "stock_taking", "stocking", "storing",
	"transporting", "unloading", "unpacking", "void_shipping",
}

// VocabBase is the namespace of truyxuat's own vocabulary: farm steps that
// CBV 2.0 does not name are full URIs under it, as CBV requires of
// user-defined values.
const VocabBase = "https://truyxuat.vn/voc/"

// truyxuat's business steps for farm work.
const (
	StepSowing      = VocabBase + "bizstep/sowing"
	StepFertilizing = VocabBase + "bizstep/fertilizing"
	StepSpraying    = VocabBase + "bizstep/spraying"
	StepIrrigating  = VocabBase + "bizstep/irrigating"
	StepDrying      = VocabBase + "bizstep/drying"
	StepMilling     = VocabBase + "bizstep/milling"
	StepSorting     = VocabBase + "bizstep/sorting"
	StepSplitting   = VocabBase + "bizstep/splitting"
	StepMerging     = VocabBase + "bizstep/merging"
	StepRecalling   = VocabBase + "bizstep/recalling"
)

// Dispositions is the CBV 2.0 list of dispositions.
var Dispositions = []string{
	"active", "available", "completeness_inferred", "completeness_verified",
	"conformant", "container_closed", "container_open", "damaged",
	"destroyed", "dispensed", "disposed", "encoded", "expired",
	"in_progress", "in_transit", "inactive", "mismatch_class",
	"mismatch_instance", "mismatch_quantity", "needs_replacement",
	"no_pedigree_match", "non_conformant", "non_sellable_other",
	"partially_dispensed", "recalled", "reserved", "retail_sold",
	"returned", "sellable_accessible", "sellable_not_accessible", "stolen",
	"unavailable", "unknown",
}

// Actions are the EPCIS 2.0 event actions.
var Actions = []string{"ADD", "OBSERVE", "DELETE"}

// EventTypes are the EPCIS 2.0 event types truyxuat records.
var EventTypes = []EventType{ObjectEvent, AggregationEvent, TransformationEvent}

// Units are the UN/ECE Recommendation 20 and 21 codes truyxuat accepts for
// quantities, with their Vietnamese and English names.
var Units = map[string][2]string{
	"KGM": {"kg", "kg"},
	"GRM": {"g", "g"},
	"TNE": {"tấn", "tonne"},
	"LTR": {"lít", "litre"},
	"MLT": {"ml", "ml"},
	"MTQ": {"m³", "m³"},
	"H87": {"cái", "piece"},
	"XBG": {"bao", "bag"},
	"XBX": {"hộp", "box"},
	"XCT": {"thùng", "carton"},
	"XSA": {"bao tải", "sack"},
	"XPK": {"gói", "package"},
	"XTY": {"khay", "tray"},
}

// UnitMax is the largest quantity accepted in each unit: far more than
// any one lot a cooperative records, so that only runaway digits and
// wrong units are refused. Units of one kind share one bound: 10,000
// tonnes of mass (a ship's hold of rice; a large cooperative harvests a
// few thousand tonnes a season) and 10,000 m³ of volume; 100 million
// pieces (10,000 tonnes of fruit at 100 g each) and 10 million packages
// of any kind (10,000 tonnes in 1 kg bags).
var UnitMax = map[string]Decimal{
	"KGM": "10000000",
	"GRM": "10000000000",
	"TNE": "10000",
	"LTR": "10000000",
	"MLT": "10000000000",
	"MTQ": "10000",
	"H87": "100000000",
	"XBG": "10000000",
	"XBX": "10000000",
	"XCT": "10000000",
	"XSA": "10000000",
	"XPK": "10000000",
	"XTY": "10000000",
}

// CertificationSchemes are the certification schemes truyxuat knows by
// name. Others may be given as a full URI.
var CertificationSchemes = map[string]string{
	"vietgap":      "VietGAP",
	"globalgap":    "GlobalG.A.P.",
	"organic":      "Hữu cơ / Organic",
	"ocop":         "OCOP",
	"rainforest":   "Rainforest Alliance",
	"fairtrade":    "Fairtrade",
	"4c":           "4C",
	"haccp":        "HACCP",
	"iso22000":     "ISO 22000",
	"vietnam-tcvn": "TCVN",
}

func inList(v string, list []string) bool {
	for _, s := range list {
		if s == v {
			return true
		}
	}
	return false
}

// validVocab checks a CBV value: a name from list, or a full URI outside
// GS1's CBV namespaces.
func validVocab(field, v string, list []string) error {
	if v == "" {
		return &FieldError{Field: field, Reason: "is required"}
	}
	if inList(v, list) {
		return nil
	}
	if strings.HasPrefix(v, "urn:epcglobal:cbv") || strings.HasPrefix(v, "http://ns.gs1.org/cbv/") || strings.HasPrefix(v, "https://ns.gs1.org/cbv/") {
		return &FieldError{Field: field, Reason: "a custom value must not use GS1's CBV namespace; use a bare CBV name or your own URI"}
	}
	if isAbsoluteURI(v) {
		return nil
	}
	hint := ""
	if field == "bizStep" && strings.Contains(strings.ToLower(v), "harvest") {
		hint = ` (CBV has no "harvesting": a harvest is "commissioning")`
	}
	return &FieldError{Field: field, Reason: "unknown value " + quote(v) + hint + "; use a CBV 2.0 name or a full URI for a custom one"}
}

// isAbsoluteURI reports whether s is an absolute URI with a scheme
// (http(s), urn, or another registered-looking scheme) and no spaces.
func isAbsoluteURI(s string) bool {
	if len(s) > MaxURILen || strings.ContainsAny(s, " \t\r\n<>\"{}|\\^`") {
		return false
	}
	u, err := url.Parse(s)
	if err != nil || u.Scheme == "" {
		return false
	}
	if u.Scheme == "http" || u.Scheme == "https" {
		return u.Host != ""
	}
	return u.Opaque != "" || u.Path != ""
}
