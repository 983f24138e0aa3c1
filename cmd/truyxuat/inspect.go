package main

import (
	"fmt"
	"net/url"
	"strings"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/trace"
)

// The inspect report, in the style of verify's: Vietnamese by default,
// English with --lang en. What each finding says comes from trace
// (FindingTitle, FindingDetail), as on the workspace's findings screen.
var inspectMessages = map[string][2]string{
	"inspect_head":    {"Kiểm tra hồ sơ ghi chép: %d lô, %d phát hiện (%d mức cao)", "Record-keeping check: %d batches, %d findings (%d high)"},
	"inspect_finding": {"%s [%s] %s", "%s [%s] %s"},
	"inspect_batches": {"    lô: %s", "    lots: %s"},
	"inspect_events":  {"    sự kiện: %s", "    events: %s"},
	"inspect_ok":      {"ĐẠT: không có phát hiện mức cao", "PASS: no high-severity findings"},
	"inspect_failed":  {"KHÔNG ĐẠT: %d phát hiện mức cao", "FAIL: %d high-severity findings"},
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
		p.line("inspect_finding", mark, trace.SeverityName(f.Severity, p.langCode()), trace.FindingTitle(f.Kind, p.langCode()))
		fmt.Fprintln(p.w, "    "+trace.FindingDetail(f, p.langCode()))
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

// langCode is the report's language as the shared texts name it.
func (p *printer) langCode() string {
	if p.lang == 0 {
		return "vi"
	}
	return "en"
}
