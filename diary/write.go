package diary

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"strconv"
	"time"

	"codeberg.org/go-pdf/fpdf"
	"github.com/xuri/excelize/v2"

	"github.com/truyxuat/truyxuat/label"
)

// column is a column of the diary: its Vietnamese title, its width on the
// printed page (mm) and its value.
type column struct {
	title string
	width float64
	value func(*Record) string
}

var (
	colDate     = column{"Ngày", 28, func(r *Record) string { return r.dateText() }}
	colLot      = column{"Lô", 28, func(r *Record) string { return r.Lot }}
	colPlot     = column{"Thửa / vườn", 32, func(r *Record) string { return r.Plot }}
	colWork     = column{"Công việc", 26, func(r *Record) string { return r.Work }}
	colInput    = column{"Tên thuốc, phân bón", 34, func(r *Record) string { return r.Input }}
	colAI       = column{"Hoạt chất", 30, func(r *Record) string { return r.ActiveIngredient }}
	colDose     = column{"Liều lượng", 24, func(r *Record) string { return r.Dose }}
	colPHI      = column{"Cách ly (ngày)", 17, func(r *Record) string { return r.PHIDays }}
	colDoneBy   = column{"Người thực hiện", 28, func(r *Record) string { return r.DoneBy }}
	colQuantity = column{"Khối lượng", 24, func(r *Record) string { return r.Quantity }}
	colBuyer    = column{"Người mua", 40, func(r *Record) string { return r.Buyer }}
	colNotes    = column{"Ghi chú", 34, func(r *Record) string { return r.notes() }}
)

// columns are each section's columns on the printed page (277 mm wide).
func columns(s Section) []column {
	wide := func(c column, w float64) column { c.width = w; return c }
	switch s {
	case Inputs:
		return []column{colDate, colLot, colPlot, colWork, colInput, colAI, colDose, colPHI, colDoneBy, wide(colNotes, 30)}
	case Harvests:
		return []column{colDate, colLot, wide(colPlot, 50), colQuantity, wide(colNotes, 147)}
	case Sales:
		return []column{colDate, colLot, colQuantity, wide(colBuyer, 70), wide(colNotes, 127)}
	}
	return []column{colDate, colLot, colWork, colQuantity, wide(colNotes, 171)}
}

// allColumns are the columns of the flat table (CSV, and the XLSX's first
// sheet).
var allColumns = []column{colDate, colLot, {"Sản phẩm", 0, func(r *Record) string { return r.Product }}, colPlot,
	{"Phần", 0, func(r *Record) string { return sheetName(r.Section) }}, colWork, colInput, colAI, colDose,
	{"Thời gian cách ly (ngày)", 0, func(r *Record) string { return r.PHIDays }}, colDoneBy, colQuantity, colBuyer,
	{"Ghi chú", 0, func(r *Record) string { return r.Details }},
	{"Thu hoạch khi chưa hết cách ly, lý do", 0, func(r *Record) string { return r.Override }},
	{"Đã sửa", 0, func(r *Record) string { return r.Corrected }},
	{"Người ghi", 0, func(r *Record) string { return r.RecordedBy }}}

// title is the diary's title lines.
func (d *Diary) title() []string {
	lines := []string{"NHẬT KÝ CANH TÁC", d.Cooperative}
	if d.Province != "" {
		lines[1] += " · " + d.Province
	}
	return append(lines, d.Scope)
}

// madeText says where the diary comes from.
func (d *Diary) madeText() string {
	return "Lập bằng truyxuat ngày " + d.Made.Format("02/01/2006 15:04") + " từ các bước hợp tác xã đã ghi và ký số."
}

// WriteCSV writes the diary as one table with Vietnamese column names,
// in UTF-8 with a byte order mark.
func (d *Diary) WriteCSV(w io.Writer) error {
	if _, err := w.Write([]byte{0xEF, 0xBB, 0xBF}); err != nil {
		return err
	}
	cw := csv.NewWriter(w)
	head := make([]string, len(allColumns))
	for i, c := range allColumns {
		head[i] = c.title
	}
	if err := cw.Write(head); err != nil {
		return err
	}
	for i := range d.Records {
		row := make([]string, len(allColumns))
		for j, c := range allColumns {
			row[j] = c.value(&d.Records[i])
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// WriteXLSX writes the diary as a workbook: every record on the first
// sheet, then a sheet for each section with its own columns.
func (d *Diary) WriteXLSX(w io.Writer) error {
	f := excelize.NewFile()
	defer f.Close()
	bold, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return err
	}
	head, err := f.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}, Fill: excelize.Fill{Type: "pattern", Pattern: 1, Color: []string{"E8F0EA"}},
		Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	wrap, err := f.NewStyle(&excelize.Style{Alignment: &excelize.Alignment{WrapText: true, Vertical: "top"}})
	if err != nil {
		return err
	}
	sheet := func(name string, cols []column, recs []Record) error {
		if name == "Nhật ký" {
			if err := f.SetSheetName("Sheet1", name); err != nil {
				return err
			}
		} else if _, err := f.NewSheet(name); err != nil {
			return err
		}
		row := 1
		for _, l := range d.title() {
			cell, _ := excelize.CoordinatesToCellName(1, row)
			if err := f.SetCellStr(name, cell, l); err != nil {
				return err
			}
			f.SetCellStyle(name, cell, cell, bold)
			row++
		}
		cell, _ := excelize.CoordinatesToCellName(1, row)
		f.SetCellStr(name, cell, d.madeText())
		row += 2
		for i, c := range cols {
			cell, _ := excelize.CoordinatesToCellName(i+1, row)
			if err := f.SetCellStr(name, cell, c.title); err != nil {
				return err
			}
			col, _ := excelize.ColumnNumberToName(i + 1)
			width := c.width / 2
			if width < 12 {
				width = 16
			}
			f.SetColWidth(name, col, col, width)
		}
		first, _ := excelize.CoordinatesToCellName(1, row)
		last, _ := excelize.CoordinatesToCellName(len(cols), row)
		f.SetCellStyle(name, first, last, head)
		if err := f.SetPanes(name, &excelize.Panes{Freeze: true, YSplit: row, TopLeftCell: "A" + strconv.Itoa(row+1), ActivePane: "bottomLeft"}); err != nil {
			return err
		}
		for i := range recs {
			row++
			for j, c := range cols {
				cell, _ := excelize.CoordinatesToCellName(j+1, row)
				if err := f.SetCellStr(name, cell, c.value(&recs[i])); err != nil {
					return err
				}
			}
			a, _ := excelize.CoordinatesToCellName(1, row)
			b, _ := excelize.CoordinatesToCellName(len(cols), row)
			f.SetCellStyle(name, a, b, wrap)
		}
		return nil
	}
	if err := sheet("Nhật ký", allColumns, d.Records); err != nil {
		return err
	}
	for s := Inputs; s <= Other; s++ {
		if err := sheet(sheetName(s), columns(s), d.Section(s)); err != nil {
			return err
		}
	}
	f.SetDocProps(&excelize.DocProperties{Title: "Nhật ký canh tác · " + d.Scope, Creator: "truyxuat", Language: "vi-VN",
		Created: d.Made.UTC().Format(time.RFC3339)})
	_, err = f.WriteTo(w)
	return err
}

// PDF page geometry: A4 landscape, 10 mm margins.
const (
	pageW, pageH = 297.0, 210.0
	margin       = 10.0
	fontSize     = 8.0
	lineH        = 3.8
	cellPad      = 1.0
)

// WritePDF writes the diary as a printable A4 landscape document, one
// table per section, page numbers at the foot.
func (d *Diary) WritePDF(w io.Writer) error {
	pdf := fpdf.NewCustom(&fpdf.InitType{OrientationStr: "L", UnitStr: "mm", Size: fpdf.SizeType{Wd: 210, Ht: 297}})
	regular, bold := label.NotoSans()
	pdf.AddUTF8FontFromBytes("noto", "", regular)
	pdf.AddUTF8FontFromBytes("noto", "B", bold)
	pdf.SetMargins(margin, margin, margin)
	pdf.SetAutoPageBreak(false, margin)
	pdf.SetCreator("truyxuat", true)
	pdf.SetTitle("Nhật ký canh tác · "+d.Scope, true)
	pdf.SetCreationDate(d.Made)
	pdf.SetModificationDate(d.Made)
	pdf.AliasNbPages("{nb}")
	pdf.SetFooterFunc(func() {
		pdf.SetY(pageH - margin + 2)
		pdf.SetFont("noto", "", 7)
		pdf.CellFormat(0, 4, d.madeText(), "", 0, "L", false, 0, "")
		pdf.CellFormat(0, 4, fmt.Sprintf("Trang %d/{nb}", pdf.PageNo()), "", 0, "R", false, 0, "")
	})
	pdf.AddPage()
	for i, l := range d.title() {
		size := 11.0
		if i == 0 {
			size = 16
		}
		pdf.SetFont("noto", "B", size)
		pdf.CellFormat(0, size*0.5, l, "", 1, "L", false, 0, "")
	}
	pdf.Ln(2)
	for s := Inputs; s <= Other; s++ {
		recs := d.Section(s)
		cols := columns(s)
		if pdf.GetY()+20 > pageH-margin-4 {
			pdf.AddPage()
		}
		pdf.Ln(2)
		pdf.SetFont("noto", "B", 11)
		pdf.CellFormat(0, 6, SectionTitle(s), "", 1, "L", false, 0, "")
		header := func() {
			pdf.SetFont("noto", "B", fontSize)
			pdf.SetFillColor(232, 240, 234)
			d.row(pdf, cols, func(c column) string { return c.title }, true)
		}
		header()
		pdf.SetFont("noto", "", fontSize)
		if len(recs) == 0 {
			pdf.CellFormat(0, 6, "Chưa ghi.", "", 1, "L", false, 0, "")
			continue
		}
		for i := range recs {
			r := &recs[i]
			if pdf.GetY()+d.rowHeight(pdf, cols, func(c column) string { return c.value(r) }) > pageH-margin-4 {
				pdf.AddPage()
				header()
				pdf.SetFont("noto", "", fontSize)
			}
			d.row(pdf, cols, func(c column) string { return c.value(r) }, false)
		}
	}
	if err := pdf.Error(); err != nil {
		return fmt.Errorf("diary: pdf: %w", err)
	}
	var buf bytes.Buffer
	if err := pdf.Output(&buf); err != nil {
		return fmt.Errorf("diary: pdf: %w", err)
	}
	_, err := w.Write(buf.Bytes())
	return err
}

func (d *Diary) rowHeight(pdf *fpdf.Fpdf, cols []column, text func(column) string) float64 {
	n := 1
	for _, c := range cols {
		if l := len(pdf.SplitText(text(c), c.width-2*cellPad)); l > n {
			n = l
		}
	}
	return float64(n)*lineH + 2*cellPad
}

// row draws one table row, every cell wrapped to its width and as high
// as the tallest.
func (d *Diary) row(pdf *fpdf.Fpdf, cols []column, text func(column) string, fill bool) {
	h := d.rowHeight(pdf, cols, text)
	x, y := pdf.GetX(), pdf.GetY()
	for _, c := range cols {
		style := "D"
		if fill {
			style = "FD"
		}
		pdf.Rect(x, y, c.width, h, style)
		pdf.SetXY(x+cellPad, y+cellPad)
		for _, l := range pdf.SplitText(text(c), c.width-2*cellPad) {
			pdf.CellFormat(c.width-2*cellPad, lineH, l, "", 2, "L", false, 0, "")
		}
		x += c.width
	}
	pdf.SetXY(margin, y+h)
}
