package api

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/truyxuat/truyxuat/label"
	"github.com/truyxuat/truyxuat/trace"
)

// Labels: QR codes (GS1 Digital Links) as PNG or SVG, A4 sticker sheets as
// PDF, and ZPL or TSPL for thermal printers, straight from a batch's data,
// so a clerk prints with one click and types nothing.

// LabelContent returns what a batch's labels show and link to, with lang
// as their second language.
func (s *Server) LabelContent(bt *trace.Batch, lang label.Language) (label.Content, trace.DigitalLink, error) {
	e, err := s.cachedHistory(bt)
	if err != nil {
		return label.Content{}, trace.DigitalLink{}, err
	}
	return LabelContent(e.h, s.cfg.PublicURL, lang)
}

// LabelContent derives a batch's label from its public history: its
// Digital Link (or short link) on publicURL with the harvest date, the
// product, cooperative, lot, OCOP stars and the certification marks its
// events declare, and the product's name in the label's second language
// lang ("" is English): its English name, or the Chinese name of its
// registry record (content field name_zh). A product without a name in
// that language gets a label without that line. The server and `truyxuat
// label` share it, so a label printed either way is the same.
func LabelContent(h *History, publicURL string, lang label.Language) (label.Content, trace.DigitalLink, error) {
	if lang == "" {
		lang = label.English
	}
	c := label.Content{Product: h.Product.NameVI, Lang: lang, Cooperative: h.Cooperative.Name,
		Lot: h.Batch.Lot, OCOPStars: h.Product.OCOPStars}
	switch lang {
	case label.English:
		c.ProductLang = h.Product.NameEN
	default:
		c.ProductLang = h.Product.Content["name_"+string(lang)]
	}
	if h.Batch.HarvestDate != "" {
		c.Harvest, _ = time.Parse(time.DateOnly, h.Batch.HarvestDate)
	}
	seen := map[string]bool{}
	for _, ev := range h.Events {
		for _, ce := range ev.Certifications {
			name, ok := trace.CertificationSchemes[ce.Scheme]
			if !ok || seen[name] || ce.Scheme == "ocop" {
				continue
			}
			seen[name] = true
			c.Certifications = append(c.Certifications, name)
		}
	}
	var dl trace.DigitalLink
	var err error
	if h.Product.GTIN != "" {
		dl = trace.DigitalLink{GTIN: h.Product.GTIN, Lot: h.Batch.Lot}
		if !c.Harvest.IsZero() {
			dl.SetAttribute(trace.AIHarvestDate, trace.FormatGS1Date(c.Harvest))
		}
		c.URI, err = dl.URI(publicURL)
	} else {
		c.URI, err = trace.BatchLinkURI(publicURL, h.Batch.ID)
	}
	return c, dl, err
}

// MaxPDFLabels bounds one PDF: its pages stay in memory until it is
// written (about 11 KB per label with distinct serial numbers), while ZPL
// and TSPL stream label by label up to label.MaxCount.
const MaxPDFLabels = 10000

// labels serves GET /api/v1/batches/{id}/labels.
func (s *Server) Labels(c echo.Context) error {
	bt, err := s.db.Batch(c.Param("id"))
	if err != nil {
		return err
	}
	if err := mayWrite(c, bt.CooperativeID); err != nil {
		return err
	}
	q := c.QueryParams()
	format := q.Get("format")
	if format == "" {
		format = "pdf"
	}
	count := 0
	if v := q.Get("count"); v != "" {
		if count, err = strconv.Atoi(v); err != nil || count < 1 || count > label.MaxCount {
			return &trace.FieldError{Field: "count", Reason: fmt.Sprintf("must be a number from 1 to %d", label.MaxCount)}
		}
	}
	level := label.ECLevel(strings.ToUpper(q.Get("ec")))
	if level == "" {
		level = s.cfg.LabelErrorCorrection
	}
	switch level {
	case "", label.ECLow, label.ECMedium, label.ECQuartile, label.ECHigh:
	default:
		return &trace.FieldError{Field: "ec", Reason: "error correction is L, M, Q or H"}
	}
	lang, err := label.ParseLanguage(q.Get("lang"))
	if err != nil {
		return err
	}
	content, dl, err := s.LabelContent(bt, lang)
	if err != nil {
		return err
	}
	if q.Get("sign") == "1" || q.Get("sign") == "true" {
		if dl.GTIN == "" || dl.Lot == "" {
			return &trace.FieldError{Field: "sign", Reason: "a signed label needs a product with a GTIN and a harvest date"}
		}
		// The signature covers the GTIN and lot read from the batch's
		// records: they must agree with the lot index first.
		if err := s.db.CheckLot(bt.ID); err != nil {
			return err
		}
		coop, err := s.db.Cooperative(bt.CooperativeID)
		if err != nil {
			return err
		}
		signer, err := s.SignerFor(coop)
		if err != nil {
			return err
		}
		msg, err := label.LinkSignatureMessage(dl)
		if err != nil {
			return err
		}
		sig, err := signer.SignMessage(msg)
		if err != nil {
			return err
		}
		if dl, err = label.AddSignature(dl, sig); err != nil {
			return err
		}
		if content.URI, err = dl.URI(s.cfg.PublicURL); err != nil {
			return err
		}
	}
	item := label.Repeat(content)
	if q.Get("serials") == "1" || q.Get("serials") == "true" {
		if dl.GTIN == "" {
			return &trace.FieldError{Field: "serials", Reason: "serial numbers (GS1 AI 21) need a product with a GTIN"}
		}
		item = label.Serials(s.cfg.PublicURL, dl, content)
	}
	skip := 0
	if v := q.Get("skip"); v != "" {
		if skip, err = strconv.Atoi(v); err != nil || skip < 0 {
			return &trace.FieldError{Field: "skip", Reason: "the number of used positions on the first sheet, 0 or more"}
		}
	}
	name := "nhan-" + strings.ToLower(bt.Lot)
	w := &lazyWriter{c: c}
	switch format {
	case "png", "svg":
		qr, err := label.EncodeQR(content.URI, level)
		if err != nil {
			return err
		}
		scale := 8
		if v := q.Get("scale"); v != "" {
			if scale, err = strconv.Atoi(v); err != nil || scale < 1 || scale > 40 {
				return &trace.FieldError{Field: "scale", Reason: "pixels per module, 1 to 40"}
			}
		}
		if format == "png" {
			w.start("image/png", name+".png", false)
			return qr.WritePNG(w, scale)
		}
		w.start("image/svg+xml", name+".svg", false)
		return qr.WriteSVG(w, scale)
	case "pdf":
		layout, err := s.sheetLayout(q.Get("layout"))
		if err != nil {
			return err
		}
		if count == 0 {
			count = layout.Columns * layout.Rows
		}
		if count > MaxPDFLabels {
			return &trace.FieldError{Field: "count", Reason: fmt.Sprintf("a PDF holds at most %d labels (a PDF is built in memory); print larger runs as several files, or as ZPL/TSPL, which stream", MaxPDFLabels)}
		}
		w.start("application/pdf", name+".pdf", true)
		return w.check(label.WritePDF(w, layout, label.Job{Count: count, Item: item, Level: level, Skip: skip}))
	case "zpl", "tspl":
		layout, err := s.rollLayout(q.Get("layout"))
		if err != nil {
			return err
		}
		dpi := 203
		if v := q.Get("dpi"); v != "" {
			if dpi, err = strconv.Atoi(v); err != nil || (dpi != 203 && dpi != 300 && dpi != 600) {
				return &trace.FieldError{Field: "dpi", Reason: "a thermal printer prints at 203, 300 or 600 dpi"}
			}
		}
		if count == 0 {
			count = 1
		}
		job := label.Job{Count: count, Item: item, Level: level}
		w.start("text/plain; charset=utf-8", name+"."+format, true)
		if format == "zpl" {
			return w.check(label.WriteZPL(w, layout, dpi, job))
		}
		return w.check(label.WriteTSPL(w, layout, dpi, job))
	}
	return &trace.FieldError{Field: "format", Reason: "must be png, svg, pdf, zpl or tspl"}
}

func (s *Server) sheetLayout(name string) (label.SheetLayout, error) {
	if name == "" {
		name = "a4-3x8"
	}
	for _, l := range s.cfg.SheetLayouts {
		if l.Name == name {
			return l, l.Validate()
		}
	}
	l, err := label.SheetLayoutByName(name)
	if err != nil {
		return l, &trace.FieldError{Field: "layout", Reason: err.Error()}
	}
	return l, nil
}

func (s *Server) rollLayout(name string) (label.RollLayout, error) {
	if name == "" {
		name = "roll-50x30"
	}
	for _, l := range s.cfg.RollLayouts {
		if l.Name == name {
			return l, nil
		}
	}
	l, err := label.RollLayoutByName(name)
	if err != nil {
		return l, &trace.FieldError{Field: "layout", Reason: err.Error()}
	}
	return l, nil
}

// lazyWriter sends the response headers with the first byte, so a label
// run that fails before writing anything still answers with a problem.
// Large runs stream: the label writers produce output as they go.
type lazyWriter struct {
	c           echo.Context
	contentType string
	filename    string
	attachment  bool
	started     bool
}

func (w *lazyWriter) start(contentType, filename string, attachment bool) {
	w.contentType, w.filename, w.attachment = contentType, filename, attachment
}

func (w *lazyWriter) Write(p []byte) (int, error) {
	if !w.started {
		w.started = true
		h := w.c.Response().Header()
		h.Set(echo.HeaderContentType, w.contentType)
		disp := "inline"
		if w.attachment {
			disp = "attachment"
		}
		h.Set(echo.HeaderContentDisposition, fmt.Sprintf("%s; filename=%q", disp, w.filename))
		h.Set(echo.HeaderCacheControl, "no-store")
		w.c.Response().WriteHeader(http.StatusOK)
	}
	return w.c.Response().Write(p)
}

// check turns an error after the response started into a logged one: the
// status has been sent, so the client sees a cut-off file.
func (w *lazyWriter) check(err error) error {
	if err != nil && w.started {
		return errors.Join(errResponseStarted, err)
	}
	return err
}

var errResponseStarted = errors.New("label run failed after the response started")
