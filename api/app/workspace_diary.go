package app

import (
	"bytes"
	"fmt"
	"net/http"
	"sort"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/diary"
	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// The farm diary (nhật ký canh tác, see package diary): per lot, per plot
// or per season, as PDF, CSV or XLSX, made from the steps the
// cooperative recorded.

// maxDiaryLots bounds the lots one diary reads.
const maxDiaryLots = 5000

// diaryLots returns a cooperative's lots, newest registrations last.
func (s *Workspace) diaryLots(coop string) ([]*trace.Batch, error) {
	var out []*trace.Batch
	after := ""
	for {
		page, err := s.db.Batches(coop, after, 1000)
		if err != nil {
			return nil, err
		}
		out = append(out, page.Batches...)
		if page.Next == "" || len(out) >= maxDiaryLots {
			return out, nil
		}
		after = page.Next
	}
}

// diaryCooperative is the cooperative a diary is for: the person's own,
// or the one an inspector or admin chose.
func (s *Workspace) diaryCooperative(c echo.Context) (*trace.Cooperative, []*trace.Cooperative, error) {
	u := appUser(c)
	id := c.QueryParam("cooperative")
	if u.Role == store.RoleCooperative {
		id = u.CooperativeID
	}
	coops, err := s.db.Cooperatives()
	if err != nil {
		return nil, nil, err
	}
	sort.Slice(coops, func(i, j int) bool { return coops[i].Name < coops[j].Name })
	if id == "" && len(coops) > 0 {
		id = coops[0].ID
	}
	coop, err := s.db.Cooperative(id)
	if err != nil {
		return nil, nil, err
	}
	return coop, coops, nil
}

type diaryForm struct {
	Lots, Plots, Formats, Scopes []appOption
	Cooperatives                 []*trace.Cooperative
	Cooperative                  string
	Today                        string
}

func (s *Workspace) diaryPage(c echo.Context, p *appPage, coop *trace.Cooperative, coops []*trace.Cooperative, lots []*trace.Batch) {
	cat := p.Cat
	d := diaryForm{Cooperative: coop.ID, Today: s.api.Now().In(s.cfg.Location).Format(dayLayout)}
	if appUser(c).Role != store.RoleCooperative {
		d.Cooperatives = coops
	}
	plots := map[string]bool{}
	sorted := append([]*trace.Batch(nil), lots...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].Lot < sorted[j].Lot })
	for _, bt := range sorted {
		name := bt.Lot
		if pr, err := s.db.Product(bt.ProductID); err == nil {
			name += " · " + s.productName(cat, pr)
		}
		d.Lots = append(d.Lots, appOption{bt.ID, name})
		if bt.Plot != nil {
			plots[bt.Plot.Name] = true
		}
	}
	for name := range plots {
		d.Plots = append(d.Plots, appOption{name, name})
	}
	sort.Slice(d.Plots, func(i, j int) bool { return d.Plots[i].Value < d.Plots[j].Value })
	d.Scopes = []appOption{{"lot", cat.Messages["app_diary_by_lot"]}, {"plot", cat.Messages["app_diary_by_plot"]}, {"season", cat.Messages["app_diary_by_season"]}}
	d.Formats = []appOption{{"pdf", cat.Messages["app_diary_pdf"]}, {"xlsx", "Excel (XLSX)"}, {"csv", "CSV"}}
	f := p.Form.Values
	defaults := map[string]string{"scope": "lot", "format": "pdf", "from": s.api.Now().In(s.cfg.Location).AddDate(0, -6, 0).Format(dayLayout), "to": d.Today}
	for k, v := range defaults {
		if f[k] == "" {
			f[k] = v
		}
	}
	p.Title = cat.Messages["app_diary_title"]
	p.Data = d
}

func (s *Workspace) appDiaryPage(c echo.Context) error {
	coop, coops, err := s.diaryCooperative(c)
	if err != nil {
		return err
	}
	lots, err := s.diaryLots(coop.ID)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "diary")
	for _, k := range []string{"scope", "batch", "plot", "from", "to", "format"} {
		p.Form.Values[k] = c.QueryParam(k)
	}
	s.diaryPage(c, p, coop, coops, lots)
	return s.appRender(c, http.StatusOK, "app_diary", p)
}

// appDiaryFile makes the diary asked for, or shows the form's errors.
func (s *Workspace) appDiaryFile(c echo.Context) error {
	coop, coops, err := s.diaryCooperative(c)
	if err != nil {
		return err
	}
	lots, err := s.diaryLots(coop.ID)
	if err != nil {
		return err
	}
	p := s.appPage(c, "", "diary")
	cat := p.Cat
	f := p.Form.Values
	for _, k := range []string{"scope", "batch", "plot", "from", "to", "format"} {
		f[k] = strings.TrimSpace(c.QueryParam(k))
	}
	if f["format"] == "" {
		f["format"] = "pdf"
	}
	loc := s.cfg.Location
	d := &diary.Diary{Cooperative: coop.Name, Province: coop.Province, Made: s.api.Now().In(loc)}
	var keep func(*diary.Record) bool
	var chosen []*trace.Batch
	name := "nhat-ky-canh-tac"
	switch f["scope"] {
	case "lot":
		for _, bt := range lots {
			if bt.ID == f["batch"] {
				chosen = []*trace.Batch{bt}
				d.Scope = cat.Messages["lot"] + " " + bt.Lot
				name += "-" + strings.ToLower(bt.Lot)
			}
		}
		// What became of the lot: the lots milled, split or merged from
		// it, with their packing and sales.
		if chosen != nil {
			l, err := s.db.Lineage(chosen[0].ID)
			if err != nil {
				return err
			}
			var made []string
			for _, id := range l.Downstream {
				if o, err := s.db.Batch(id); err == nil && o.CooperativeID == coop.ID {
					chosen = append(chosen, o)
					made = append(made, o.Lot)
				}
			}
			if len(made) > 0 {
				d.Scope += fmt.Sprintf(cat.Messages["app_diary_and_made"], strings.Join(made, ", "))
			}
		}
		if chosen == nil {
			p.Form.Errors["batch"] = cat.Messages["app_err_required"]
		}
	case "plot":
		if f["plot"] == "" {
			p.Form.Errors["plot"] = cat.Messages["app_err_required"]
		}
		plot := f["plot"]
		d.Scope = cat.Messages["app_plot"] + ": " + plot
		name += "-thua"
		chosen = lots
		keep = func(r *diary.Record) bool { return r.Plot == plot }
	case "season":
		from, err1 := parseDay(f["from"], loc)
		to, err2 := parseDay(f["to"], loc)
		switch {
		case err1 != nil:
			p.Form.Errors["from"] = cat.Messages["app_err_step_date"]
		case err2 != nil:
			p.Form.Errors["to"] = cat.Messages["app_err_step_date"]
		case to.Before(from):
			p.Form.Errors["to"] = cat.Messages["app_diary_err_order"]
		}
		end := to.AddDate(0, 0, 1)
		d.Scope = fmt.Sprintf(cat.Messages["app_diary_season"], from.Format("02/01/2006"), to.Format("02/01/2006"))
		name += "-" + from.Format("20060102") + "-" + to.Format("20060102")
		chosen = lots
		keep = func(r *diary.Record) bool { return !r.Time.Before(from) && r.Time.Before(end) }
	default:
		p.Form.Errors["scope"] = cat.Messages["app_err_required"]
	}
	if f["format"] != "pdf" && f["format"] != "csv" && f["format"] != "xlsx" {
		p.Form.Errors["format"] = cat.Messages["app_err_invalid"]
	}
	if p.Form.HasErrors() {
		s.diaryPage(c, p, coop, coops, lots)
		return s.appRender(c, http.StatusUnprocessableEntity, "app_diary", p)
	}
	names := map[string]string{}
	for _, bt := range chosen {
		events, err := s.db.History(bt.ID)
		if err != nil {
			return err
		}
		product := bt.ProductID
		if pr, err := s.db.Product(bt.ProductID); err == nil {
			product = pr.NameVI
		}
		keyOf := map[trace.Hash]string{}
		signed := make([]*trace.SignedEvent, len(events))
		for i, st := range events {
			signed[i] = st.SignedEvent
			keyOf[st.Hash] = st.KeyID
		}
		d.AddLot(diary.Lot{Batch: bt, Product: product, Events: trace.EffectiveEvents(signed),
			RecordedBy: func(h trace.Hash) string { return s.whoName(names, keyOf[h], coop.Name) }}, keep)
	}
	var buf bytes.Buffer
	var ctype string
	switch f["format"] {
	case "pdf":
		ctype, err = "application/pdf", d.WritePDF(&buf)
	case "csv":
		ctype, err = "text/csv; charset=utf-8", d.WriteCSV(&buf)
	case "xlsx":
		ctype, err = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", d.WriteXLSX(&buf)
	}
	if err != nil {
		return err
	}
	h := c.Response().Header()
	h.Set(echo.HeaderContentDisposition, fmt.Sprintf("attachment; filename=%q", api.Clip(name, 80)+"."+f["format"]))
	h.Set(echo.HeaderCacheControl, "no-store")
	return c.Blob(http.StatusOK, ctype, buf.Bytes())
}
