package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/trace"
)

// The inspect report, in the style of verify's: Vietnamese by default,
// English with --lang en.
var inspectMessages = map[string][2]string{
	"inspect_head":    {"Kiểm tra hồ sơ ghi chép: %d lô, %d phát hiện (%d mức cao)", "Record-keeping check: %d batches, %d findings (%d high)"},
	"inspect_finding": {"%s [%s] %s", "%s [%s] %s"},
	"inspect_batches": {"    lô: %s", "    lots: %s"},
	"inspect_events":  {"    sự kiện: %s", "    events: %s"},
	"inspect_ok":      {"ĐẠT: không có phát hiện mức cao", "PASS: no high-severity findings"},
	"inspect_failed":  {"KHÔNG ĐẠT: %d phát hiện mức cao", "FAIL: %d high-severity findings"},

	"sev_high":   {"CAO", "HIGH"},
	"sev_medium": {"TRUNG BÌNH", "MEDIUM"},
	"sev_low":    {"THẤP", "LOW"},

	"kind_" + trace.FindingPreHarvestInterval: {"Thu hoạch trong thời gian cách ly thuốc bảo vệ thực vật", "Harvest inside a pesticide's pre-harvest interval"},
	"kind_" + trace.FindingOutOfOrder:         {"Sự kiện ghi sai thứ tự thời gian", "Events recorded out of order"},
	"kind_" + trace.FindingFutureEvent:        {"Sự kiện được ghi trước khi xảy ra", "An event recorded before it happened"},
	"kind_" + trace.FindingUnbalanced:         {"Số lượng không khớp", "Quantities that do not balance"},
	"kind_" + trace.FindingCopiedValues:       {"Cùng một giá trị trên nhiều lô (nghi sao chép)", "The same value on many batches (likely copied)"},
	"kind_" + trace.FindingVerification:       {"Chuỗi sự kiện không xác minh được", "The history fails verification"},
	"kind_" + trace.FindingOverdrawn:          {"Lô bị lấy ra nhiều hơn số lượng đã có", "More was taken from a lot than it held"},

	"why_phi":     {"    thu hoạch %s ngày sau khi phun %s (%s); thời gian cách ly %s ngày", "    harvested %s days after spraying %s (%s); pre-harvest interval %s days"},
	"why_order":   {"    sự kiện ghi thời điểm %s, trước sự kiện ghi trước nó (%s)", "    the event is dated %s, before the event recorded before it (%s)"},
	"why_future":  {"    sự kiện ghi thời điểm %s nhưng máy chủ nhận lúc %s", "    the event is dated %s but the server received it at %s"},
	"why_harvest": {"    thu hoạch ghi %s nhưng lô chỉ đăng ký %s", "    the harvest records %s but the lot was registered with %s"},
	"why_copied":  {"    %s lô (%s sản phẩm) cùng ghi %s = %q; hồ sơ thật sẽ khác nhau", "    %s batches (%s products) all record %s = %q; real records would differ"},
	"why_overdrawn": {"    lô %s có %s %s nhưng các lần chia, gộp, chế biến đã lấy ra %s %s (vượt %s %s)",
		"    lot %s held %s %s but splits, merges and processing took %s %s from it (%s %s too much)"},
	"why_message": {"    %s", "    %s"},
}

func init() {
	for k, v := range inspectMessages {
		messages[k] = v
	}
}

// findingsAnswer is the answer of GET /api/v1/inspections/findings.
type findingsAnswer struct {
	CheckedBatches int             `json:"checked_batches"`
	Findings       []trace.Finding `json:"findings"`
}

func newInspectCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "inspect [--cooperative ID | --batch ID]",
		Short: "Run the record-keeping checks on a server and print the findings; exits 1 on high-severity ones",
		Long: `Run the server's compliance checks (GET /api/v1/inspections/findings) over
one batch, one cooperative or everything, and print what they found with its
evidence: harvests inside a pesticide's pre-harvest interval, events out of
order or recorded before they happened, quantities that do not balance,
lots from which splits, merges and processing took more than they held, the
same "default" values copied onto many batches, and histories that fail
verification. Needs an inspector's or admin's key (a cooperative's key sees its
own cooperative). The report is in Vietnamese, or English with --lang en. Exits
with status 1 when there are high-severity findings.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			coop, _ := cmd.Flags().GetString("cooperative")
			batch, _ := cmd.Flags().GetString("batch")
			if coop != "" && batch != "" {
				return fmt.Errorf("%w: give --cooperative or --batch, not both", errUsage)
			}
			q := url.Values{}
			if coop != "" {
				q.Set("cooperative", coop)
			}
			if batch != "" {
				q.Set("batch", batch)
			}
			path := "/api/v1/inspections/findings"
			if len(q) > 0 {
				path += "?" + q.Encode()
			}
			c := newClient(cfg)
			var ans findingsAnswer
			if err := c.do("GET", path, nil, &ans); err != nil {
				return err
			}
			p := newPrinter(cmd.OutOrStdout(), cfg.Lang)
			return printFindings(p, &ans, lotNamer(c))
		},
	}
	addClientFlags(cmd)
	cmd.Flags().String("cooperative", "", "check this cooperative's batches")
	cmd.Flags().String("batch", "", "check this batch")
	cmd.Flags().String("lang", defaults["lang"].(string), "report language: vi or en (env TRUYXUAT_LANG)")
	return cmd
}

// lotNamer names batches by their lot codes, asking the server once per
// batch and falling back to the id.
func lotNamer(c *client) func(id string) string {
	names := map[string]string{}
	return func(id string) string {
		if n, ok := names[id]; ok {
			return n
		}
		n := id
		if len(names) < 500 {
			var h struct {
				Batch struct {
					Lot string `json:"lot"`
				} `json:"batch"`
			}
			if err := c.do("GET", "/api/v1/batches/"+url.PathEscape(id), nil, &h); err == nil && h.Batch.Lot != "" {
				n = h.Batch.Lot + " (" + id + ")"
			}
		}
		names[id] = n
		return n
	}
}

func printFindings(p *printer, ans *findingsAnswer, lot func(string) string) error {
	high := 0
	for _, f := range ans.Findings {
		if f.Severity == "high" {
			high++
		}
	}
	p.line("inspect_head", ans.CheckedBatches, len(ans.Findings), high)
	for _, f := range ans.Findings {
		mark := "!"
		if f.Severity == "high" {
			mark = "✗"
		}
		kind := f.Kind
		if _, ok := messages["kind_"+f.Kind]; ok {
			kind = p.msg("kind_" + f.Kind)
		}
		sev := f.Severity
		if _, ok := messages["sev_"+f.Severity]; ok {
			sev = p.msg("sev_" + f.Severity)
		}
		p.line("inspect_finding", mark, sev, kind)
		fmt.Fprintln(p.w, p.why(f))
		lots := make([]string, 0, len(f.Batches))
		for _, b := range f.Batches {
			lots = append(lots, lot(b))
		}
		p.line("inspect_batches", strings.Join(lots, ", "))
		if len(f.Events) > 0 {
			short := make([]string, 0, len(f.Events))
			for _, h := range f.Events {
				if len(h) > 16 {
					h = h[:16] + "…"
				}
				short = append(short, h)
			}
			p.line("inspect_events", strings.Join(short, ", "))
		}
	}
	if high > 0 {
		p.line("inspect_failed", high)
		return fmt.Errorf("%s", p.msg("inspect_failed", high))
	}
	p.line("inspect_ok")
	return nil
}

// why explains a finding from its evidence, in the report's language.
func (p *printer) why(f trace.Finding) string {
	ev := f.Evidence
	num := func(s string) string {
		if p.lang == 0 {
			return strings.Replace(s, ".", ",", 1)
		}
		return s
	}
	switch {
	case f.Kind == trace.FindingPreHarvestInterval && ev["phi_days"] != "":
		return p.msg("why_phi", num(ev["days_between"]), ev["product"], ev["active_ingredient"], num(ev["phi_days"]))
	case f.Kind == trace.FindingOutOfOrder && ev["event_time"] != "":
		return p.msg("why_order", ev["event_time"], ev["previous_event_time"])
	case f.Kind == trace.FindingFutureEvent && ev["received_at"] != "":
		return p.msg("why_future", ev["event_time"], ev["received_at"])
	case f.Kind == trace.FindingUnbalanced && ev["harvest_quantity"] != "":
		return p.msg("why_harvest", num(ev["harvest_quantity"]), num(ev["batch_quantity"]))
	case f.Kind == trace.FindingOverdrawn && ev["held"] != "":
		lang := "vi"
		qty := trace.FormatNumberVI
		if p.lang != 0 {
			lang, qty = "en", func(s string) string { return s }
		}
		u := trace.UnitName(ev["unit"], lang)
		return p.msg("why_overdrawn", ev["lot"], qty(ev["held"]), u, qty(ev["taken"]), u, qty(ev["over"]), u)
	case f.Kind == trace.FindingCopiedValues && ev["field"] != "":
		return p.msg("why_copied", ev["batches"], ev["products"], ev["field"], ev["value"])
	}
	return p.msg("why_message", f.Message)
}
