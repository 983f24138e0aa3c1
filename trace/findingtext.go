package trace

import (
	"fmt"
	"strconv"
	"strings"
)

// What the inspection findings say to people, in Vietnamese ("vi") or
// English ("en"), from their evidence: one source for `truyxuat inspect`
// and the workspace's findings screen. Dates are written day first
// (02/04/2026 07:00), numbers the language's way (6.200 kg; 0,4), units by
// name (kg, tấn), steps by name rather than URI.

var findingTitles = map[string]Text{
	FindingPreHarvestInterval: {"Thu hoạch trong thời gian cách ly thuốc bảo vệ thực vật", "Harvest inside a pesticide's pre-harvest interval"},
	FindingOutOfOrder:         {"Sự kiện ghi sai thứ tự thời gian", "Events recorded out of order"},
	FindingFutureEvent:        {"Sự kiện được ghi trước khi xảy ra", "An event recorded before it happened"},
	FindingUnbalanced:         {"Số lượng không khớp", "Quantities that do not balance"},
	FindingCopiedValues:       {"Cùng một giá trị trên nhiều lô (nghi sao chép)", "The same value on many batches (likely copied)"},
	FindingVerification:       {"Chuỗi sự kiện không xác minh được", "The history fails verification"},
	FindingOverdrawn:          {"Lô bị lấy ra nhiều hơn số lượng đã có", "More was taken from a lot than it held"},
	FindingCertificateInvalid: {"Lô khai chứng nhận không còn hiệu lực khi thu hoạch", "A lot claims a certificate not valid at harvest"},
}

var severityNames = map[string]Text{
	"high":   {"CAO", "HIGH"},
	"medium": {"TRUNG BÌNH", "MEDIUM"},
	"low":    {"THẤP", "LOW"},
}

// FindingTitle names a kind of finding.
func FindingTitle(kind, lang string) string {
	if t, ok := findingTitles[kind]; ok {
		return t.In(lang)
	}
	return strings.ReplaceAll(kind, "_", " ")
}

// SeverityName names a finding's severity.
func SeverityName(sev, lang string) string {
	if t, ok := severityNames[sev]; ok {
		return t.In(lang)
	}
	return sev
}

// numberIn writes a decimal the language's way, without a trailing ",0".
func numberIn(s, lang string) string {
	if strings.Contains(s, ".") {
		s = strings.TrimSuffix(strings.TrimRight(s, "0"), ".")
	}
	if lang == "en" {
		return s
	}
	return FormatNumberVI(s)
}

// quantityIn writes "4800 KGM" as "4.800 kg" (vi) or "4800 kg" (en).
func quantityIn(s, lang string) string {
	v, u, ok := strings.Cut(s, " ")
	if !ok {
		return numberIn(s, lang)
	}
	return numberIn(v, lang) + " " + UnitName(u, lang)
}

// dateIn writes YYYY-MM-DD day first (dd/mm/yyyy), in every language.
func dateIn(s string) string {
	if len(s) == 10 && s[4] == '-' && s[7] == '-' {
		return s[8:] + "/" + s[5:7] + "/" + s[:4]
	}
	return s
}

// timeIn writes an event time day first; English keeps the same form.
func timeIn(s string) string { return EventTimeVI(s) }

// FindingDetail says what a finding's evidence shows, in one or two
// sentences.
func FindingDetail(f Finding, lang string) string {
	ev := f.Evidence
	en := lang == "en"
	pick := func(vi, english string) string {
		if en {
			return english
		}
		return vi
	}
	step := func(k string) string { return StepLabel(ev[k], lang) }
	switch {
	case f.Kind == FindingPreHarvestInterval && ev["phi_days"] != "":
		what := ev["product"]
		if ai := ev["active_ingredient"]; ai != "" {
			what += " (" + ai + ")"
		}
		s := fmt.Sprintf(pick("Thu hoạch lúc %s, %s ngày sau khi phun %s lúc %s; thời gian cách ly của thuốc là %s ngày.",
			"Harvested at %s, %s days after spraying %s at %s; the product's pre-harvest interval is %s days."),
			timeIn(ev["harvested_at"]), numberIn(ev["days_between"], lang), what, timeIn(ev["sprayed_at"]), numberIn(ev["phi_days"], lang))
		if why := ev["override_reason"]; why != "" {
			s += fmt.Sprintf(pick(" Người ghi đã xác nhận vẫn thu hoạch, lý do: %s", " The clerk confirmed the harvest anyway, giving the reason: %s"), why)
		}
		return s
	case f.Kind == FindingOutOfOrder && ev["event_time"] != "":
		return fmt.Sprintf(pick("Bước %s ghi thời điểm %s, trước bước ghi trước nó (%s, %s).",
			"The step %s is dated %s, before the step recorded before it (%s, %s)."),
			step("step"), timeIn(ev["event_time"]), step("previous_step"), timeIn(ev["previous_event_time"]))
	case f.Kind == FindingFutureEvent && ev["received_at"] != "":
		return fmt.Sprintf(pick("Bước %s ghi thời điểm %s nhưng máy chủ nhận lúc %s, tức là được ghi trước khi xảy ra.",
			"The step %s is dated %s but the server received it at %s, before it happened."),
			step("step"), timeIn(ev["event_time"]), timeIn(ev["received_at"]))
	case f.Kind == FindingUnbalanced && ev["harvest_quantity"] != "":
		return fmt.Sprintf(pick("Thu hoạch ghi %s nhưng lô chỉ đăng ký %s.", "The harvest records %s but the lot was registered with %s."),
			quantityIn(ev["harvest_quantity"], lang), quantityIn(ev["batch_quantity"], lang))
	case f.Kind == FindingUnbalanced:
		return fmt.Sprintf(pick("Khối lượng vào và ra của bước %s lúc %s không khớp: ra cộng hao hụt phải bằng vào.",
			"The quantities in and out of the %s at %s do not balance: outputs plus loss must equal inputs."),
			step("step"), timeIn(ev["event_time"]))
	case f.Kind == FindingOverdrawn && ev["held"] != "":
		u := UnitName(ev["unit"], lang)
		return fmt.Sprintf(pick("Lô %s có %s %s nhưng các lần chia, gộp, chế biến đã lấy ra %s %s (vượt %s %s).",
			"Lot %s held %s %s but splits, merges and processing took %s %s from it (%s %s too much)."),
			ev["lot"], numberIn(ev["held"], lang), u, numberIn(ev["taken"], lang), u, numberIn(ev["over"], lang), u)
	case f.Kind == FindingCopiedValues && ev["field"] == "phi_days":
		return fmt.Sprintf(pick("%s lô cùng ghi thời gian cách ly %s ngày ở bước %s cho %s loại thuốc khác nhau; thời gian cách ly ghi theo nhãn từng thuốc nên phải khác nhau.",
			"%s batches record the same pre-harvest interval of %s days for step %s with %s different products; each product's label has its own."),
			ev["batches"], numberIn(ev["value"], lang), step("step"), ev["applied_products"])
	case f.Kind == FindingCopiedValues && ev["field"] != "":
		name := FieldLabel(ev["step"], ev["field"], lang)
		value := ev["value"]
		switch ev["field"] {
		case "quantity":
			name, value = pick("Khối lượng thu hoạch", "Harvested quantity"), quantityIn(value, lang)
		case "note":
			name = pick("Ghi chú", "Note")
		default:
			if _, err := strconv.ParseFloat(value, 64); err == nil {
				value = numberIn(value, lang)
			}
		}
		return fmt.Sprintf(pick("%s lô (%s sản phẩm) cùng ghi %s = “%s” ở bước %s; số cân, đo thật sẽ khác nhau giữa các lô, nên có thể đã bị sao chép hoặc ghi khống.",
			"%s batches (%s products) record the same %s “%s” for step %s; real measurements would vary, so these may be copied or made up."),
			ev["batches"], ev["products"], name, value, step("step"))
	case f.Kind == FindingCertificateInvalid && ev["number"] != "":
		scheme := ev["scheme"]
		if n := CertificationSchemes[scheme]; n != "" {
			scheme = n
		}
		if ev["status"] == CertNotYet {
			return fmt.Sprintf(pick("Lô khai chứng nhận %s số %s, nhưng chứng nhận này chỉ có hiệu lực từ %s; lô thu hoạch ngày %s.",
				"The lot claims %s certificate %s, valid only from %s; the lot was harvested on %s."),
				scheme, ev["number"], dateIn(ev["valid_from"]), dateIn(ev["harvest_date"]))
		}
		return fmt.Sprintf(pick("Lô khai chứng nhận %s số %s, nhưng chứng nhận này đã hết hiệu lực ngày %s; lô thu hoạch ngày %s.",
			"The lot claims %s certificate %s, which expired on %s; the lot was harvested on %s."),
			scheme, ev["number"], dateIn(ev["valid_to"]), dateIn(ev["harvest_date"]))
	case f.Kind == FindingVerification:
		return pick("Chữ ký, mã băm hoặc liên kết của chuỗi sự kiện không khớp: dữ liệu của lô có thể đã bị sửa. Chạy truyxuat verify để xem chi tiết.",
			"A signature, hash or link of the history does not check out: the lot's data may have been altered. Run truyxuat verify for the details.")
	}
	if en {
		return f.Message
	}
	return FindingTitle(f.Kind, lang) + "."
}
