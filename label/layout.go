package label

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Physical limits that keep a QR code readable by a cheap phone camera.
const (
	// MinQRWidthMM is the smallest printed QR code, quiet zone included.
	MinQRWidthMM = 16.0
	// MinModuleMM is the smallest module (the side of one QR square).
	MinModuleMM = 0.4
	// minTextWidthMM is the least room beside the QR for the text.
	minTextWidthMM = 12.0
	// mmEpsilon absorbs rounding in sizes given to 0.1 mm.
	mmEpsilon = 1e-6
)

// SheetLayout describes a sheet of sticker labels in a grid, all sizes in
// millimetres. It is plain data so that a configuration file can define
// new sheets; the presets are in SheetLayouts.
type SheetLayout struct {
	Name        string  `json:"name" mapstructure:"name"`
	PageWidth   float64 `json:"page_width_mm" mapstructure:"page_width_mm"`   // 0 means A4, 210
	PageHeight  float64 `json:"page_height_mm" mapstructure:"page_height_mm"` // 0 means A4, 297
	Columns     int     `json:"columns" mapstructure:"columns"`
	Rows        int     `json:"rows" mapstructure:"rows"`
	LabelWidth  float64 `json:"label_width_mm" mapstructure:"label_width_mm"`
	LabelHeight float64 `json:"label_height_mm" mapstructure:"label_height_mm"`
	MarginLeft  float64 `json:"margin_left_mm" mapstructure:"margin_left_mm"` // page edge to the first column
	MarginTop   float64 `json:"margin_top_mm" mapstructure:"margin_top_mm"`   // page edge to the first row
	PitchX      float64 `json:"pitch_x_mm" mapstructure:"pitch_x_mm"`         // left edge to left edge; 0 means LabelWidth
	PitchY      float64 `json:"pitch_y_mm" mapstructure:"pitch_y_mm"`         // top edge to top edge; 0 means LabelHeight
	// Padding is the blank border kept inside each label, for printer
	// misregistration and, on edge-to-edge sheets, the printer's margin.
	// 0 means 1.5 mm.
	Padding float64 `json:"padding_mm" mapstructure:"padding_mm"`
	// MinFontSize and MaxFontSize bound the text size in points; 0 means
	// 5 and 9.
	MinFontSize float64 `json:"min_font_pt" mapstructure:"min_font_pt"`
	MaxFontSize float64 `json:"max_font_pt" mapstructure:"max_font_pt"`
}

// RollLayout describes a roll of die-cut labels for a thermal printer, in
// millimetres.
type RollLayout struct {
	Name   string  `json:"name" mapstructure:"name"`
	Width  float64 `json:"width_mm" mapstructure:"width_mm"`   // across the print head
	Height float64 `json:"height_mm" mapstructure:"height_mm"` // along the paper feed
	Gap    float64 `json:"gap_mm" mapstructure:"gap_mm"`       // between labels; 0 means 2
	// Padding is the blank border kept inside each label; 0 means 1.5 mm.
	Padding float64 `json:"padding_mm" mapstructure:"padding_mm"`
	// MinFontSize and MaxFontSize bound the text size in points; 0 means
	// 6 and 10 at 203 dpi, 5 and 10 at higher resolutions.
	MinFontSize float64 `json:"min_font_pt" mapstructure:"min_font_pt"`
	MaxFontSize float64 `json:"max_font_pt" mapstructure:"max_font_pt"`
}

// The preset sheets: common A4 label stock (the sizes of Avery/Herma/Tanex
// sheets sold in Vietnam). Edge-to-edge sheets get more padding because
// office printers cannot print the outer 4 mm or so of a page.
var sheetPresets = []SheetLayout{
	{Name: "a4-3x8", Columns: 3, Rows: 8, LabelWidth: 70, LabelHeight: 37, MarginLeft: 0, MarginTop: 0.5, PitchX: 70, PitchY: 37, Padding: 4},
	{Name: "a4-4x10", Columns: 4, Rows: 10, LabelWidth: 52.5, LabelHeight: 29.7, MarginLeft: 0, MarginTop: 0, PitchX: 52.5, PitchY: 29.7, Padding: 3.5},
	{Name: "a4-2x7", Columns: 2, Rows: 7, LabelWidth: 99.1, LabelHeight: 38.1, MarginLeft: 4.65, MarginTop: 15.15, PitchX: 101.6, PitchY: 38.1, Padding: 2},
	{Name: "a4-5x13", Columns: 5, Rows: 13, LabelWidth: 38.1, LabelHeight: 21.2, MarginLeft: 4.75, MarginTop: 10.7, PitchX: 40.6, PitchY: 21.2, Padding: 0.8},
	{Name: "a4-3x7", Columns: 3, Rows: 7, LabelWidth: 63.5, LabelHeight: 38.1, MarginLeft: 7.25, MarginTop: 15.15, PitchX: 66, PitchY: 38.1, Padding: 2},
}

// The preset rolls for 203 and 300 dpi thermal printers.
var rollPresets = []RollLayout{
	{Name: "roll-50x30", Width: 50, Height: 30, Gap: 2, Padding: 1.5},
	{Name: "roll-40x30", Width: 40, Height: 30, Gap: 2, Padding: 1.5},
	{Name: "roll-35x22", Width: 35, Height: 22, Gap: 2, Padding: 1},
}

// SheetLayouts returns the preset sheet layouts.
func SheetLayouts() []SheetLayout { return slices.Clone(sheetPresets) }

// RollLayouts returns the preset roll layouts.
func RollLayouts() []RollLayout { return slices.Clone(rollPresets) }

// SheetLayoutByName returns a preset sheet layout.
func SheetLayoutByName(name string) (SheetLayout, error) {
	for _, l := range sheetPresets {
		if l.Name == name {
			return l, nil
		}
	}
	var names []string
	for _, l := range sheetPresets {
		names = append(names, l.Name)
	}
	return SheetLayout{}, fieldErr("layout", fmt.Sprintf("unknown sheet layout %q: use one of %s, or define a custom layout", name, strings.Join(names, ", ")))
}

// RollLayoutByName returns a preset roll layout.
func RollLayoutByName(name string) (RollLayout, error) {
	for _, l := range rollPresets {
		if l.Name == name {
			return l, nil
		}
	}
	var names []string
	for _, l := range rollPresets {
		names = append(names, l.Name)
	}
	return RollLayout{}, fieldErr("layout", fmt.Sprintf("unknown roll layout %q: use one of %s, or define a custom layout", name, strings.Join(names, ", ")))
}

// withDefaults fills the zero fields that have defaults.
func (l SheetLayout) withDefaults() SheetLayout {
	if l.PageWidth == 0 {
		l.PageWidth = 210
	}
	if l.PageHeight == 0 {
		l.PageHeight = 297
	}
	if l.PitchX == 0 {
		l.PitchX = l.LabelWidth
	}
	if l.PitchY == 0 {
		l.PitchY = l.LabelHeight
	}
	if l.Padding == 0 {
		l.Padding = 1.5
	}
	if l.MinFontSize == 0 {
		l.MinFontSize = 5
	}
	if l.MaxFontSize == 0 {
		l.MaxFontSize = 9
	}
	return l
}

func (l SheetLayout) name() string {
	if l.Name != "" {
		return l.Name
	}
	return fmt.Sprintf("custom %gx%g mm", l.LabelWidth, l.LabelHeight)
}

// Validate checks that the grid fits on the page and every size is sane.
func (l SheetLayout) Validate() error {
	l = l.withDefaults()
	bad := func(field, format string, args ...any) error {
		return fieldErr("layout."+field, fmt.Sprintf("%s: ", l.name())+fmt.Sprintf(format, args...))
	}
	finite := func(vs ...float64) bool {
		for _, v := range vs {
			if math.IsNaN(v) || math.IsInf(v, 0) {
				return false
			}
		}
		return true
	}
	switch {
	case !finite(l.PageWidth, l.PageHeight, l.LabelWidth, l.LabelHeight, l.MarginLeft, l.MarginTop, l.PitchX, l.PitchY, l.Padding, l.MinFontSize, l.MaxFontSize):
		return bad("", "sizes must be finite numbers")
	case l.PageWidth < 50 || l.PageHeight < 50 || l.PageWidth > 1000 || l.PageHeight > 1000:
		return bad("page_width_mm", "page %g×%g mm is not a paper size (50 to 1000 mm)", l.PageWidth, l.PageHeight)
	case l.Columns < 1 || l.Rows < 1 || l.Columns*l.Rows > 500:
		return bad("columns", "%d columns × %d rows: need at least 1 of each and at most 500 labels a sheet", l.Columns, l.Rows)
	case l.LabelWidth <= 0 || l.LabelHeight <= 0:
		return bad("label_width_mm", "label size %g×%g mm must be positive", l.LabelWidth, l.LabelHeight)
	case l.MarginLeft < 0 || l.MarginTop < 0:
		return bad("margin_left_mm", "margins must not be negative")
	case l.PitchX+mmEpsilon < l.LabelWidth || l.PitchY+mmEpsilon < l.LabelHeight:
		return bad("pitch_x_mm", "pitch %g×%g mm is smaller than the label %g×%g mm, so labels would overlap", l.PitchX, l.PitchY, l.LabelWidth, l.LabelHeight)
	case l.Padding < 0 || 2*l.Padding >= l.LabelHeight:
		return bad("padding_mm", "padding %g mm does not fit a %g mm high label", l.Padding, l.LabelHeight)
	case l.MinFontSize < 4 || l.MaxFontSize < l.MinFontSize || l.MaxFontSize > 36:
		return bad("min_font_pt", "font sizes %g to %g pt: need 4 ≤ min ≤ max ≤ 36", l.MinFontSize, l.MaxFontSize)
	}
	if right := l.MarginLeft + float64(l.Columns-1)*l.PitchX + l.LabelWidth; right > l.PageWidth+0.05 {
		return bad("columns", "%d columns end at %.1f mm, past the %g mm page width: check the margin, pitch and label width", l.Columns, right, l.PageWidth)
	}
	if bottom := l.MarginTop + float64(l.Rows-1)*l.PitchY + l.LabelHeight; bottom > l.PageHeight+0.05 {
		return bad("rows", "%d rows end at %.1f mm, past the %g mm page height: check the margin, pitch and label height", l.Rows, bottom, l.PageHeight)
	}
	if _, err := qrRoom(l.LabelWidth, l.LabelHeight, l.Padding); err != nil {
		return fitErr(ErrQRTooSmall, "layout", fmt.Sprintf("%s: %v", l.name(), err))
	}
	return nil
}

// withDefaults fills the zero fields that have defaults.
func (l RollLayout) withDefaults(dpi int) RollLayout {
	if l.Gap == 0 {
		l.Gap = 2
	}
	if l.Padding == 0 {
		l.Padding = 1.5
	}
	if l.MinFontSize == 0 {
		l.MinFontSize = 6
		if dpi >= 300 {
			l.MinFontSize = 5
		}
	}
	if l.MaxFontSize == 0 {
		l.MaxFontSize = 10
	}
	return l
}

func (l RollLayout) name() string {
	if l.Name != "" {
		return l.Name
	}
	return fmt.Sprintf("custom %gx%g mm", l.Width, l.Height)
}

// Validate checks the roll's sizes for a printer of the given resolution.
func (l RollLayout) Validate(dpi int) error {
	if err := checkDPI(dpi); err != nil {
		return err
	}
	l = l.withDefaults(dpi)
	bad := func(field, format string, args ...any) error {
		return fieldErr("layout."+field, fmt.Sprintf("%s: ", l.name())+fmt.Sprintf(format, args...))
	}
	for _, v := range []float64{l.Width, l.Height, l.Gap, l.Padding, l.MinFontSize, l.MaxFontSize} {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return bad("", "sizes must be finite numbers")
		}
	}
	switch {
	case l.Width <= 0 || l.Height <= 0 || l.Width > 220 || l.Height > 500:
		return bad("width_mm", "label %g×%g mm: width must be 1 to 220 mm and height 1 to 500 mm", l.Width, l.Height)
	case l.Gap < 0 || l.Gap > 20:
		return bad("gap_mm", "gap %g mm must be 0 to 20 mm", l.Gap)
	case l.Padding < 0 || 2*l.Padding >= l.Height:
		return bad("padding_mm", "padding %g mm does not fit a %g mm high label", l.Padding, l.Height)
	case l.MinFontSize < 4 || l.MaxFontSize < l.MinFontSize || l.MaxFontSize > 36:
		return bad("min_font_pt", "font sizes %g to %g pt: need 4 ≤ min ≤ max ≤ 36", l.MinFontSize, l.MaxFontSize)
	}
	if _, err := qrRoom(l.Width, l.Height, l.Padding); err != nil {
		return fitErr(ErrQRTooSmall, "layout", fmt.Sprintf("%s: %v", l.name(), err))
	}
	return nil
}

// Resolutions of the thermal printers supported.
var supportedDPI = []int{203, 300, 600}

func checkDPI(dpi int) error {
	if !slices.Contains(supportedDPI, dpi) {
		return fieldErr("dpi", fmt.Sprintf("printer resolution %d dpi is not supported: use 203, 300 or 600", dpi))
	}
	return nil
}

// qrRoom returns the side of the largest square the QR code (quiet zone
// included) may take on a w×h mm label with padding pad: the height inside
// the padding, less whatever would leave under minTextWidthMM for text.
func qrRoom(w, h, pad float64) (float64, error) {
	side := min(h-2*pad, w-2*pad-minTextWidthMM)
	if side+mmEpsilon < MinQRWidthMM {
		return 0, fmt.Errorf("a %g×%g mm label with %g mm padding leaves %.1f mm for the QR code beside %g mm of text; the QR needs at least %g mm: use a larger label or less padding",
			w, h, pad, max(side, 0), minTextWidthMM, MinQRWidthMM)
	}
	return side, nil
}

// tooSmall explains why a QR symbol cannot be printed on a label and what
// to change: avail is the room for it in millimetres, module the module
// size it would get, need the room it needs.
func tooSmall(layout string, q *QR, avail, module, need float64, alternatives []string) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: the QR code for this link is version %d (%d modules across with the quiet zone, %d characters at error correction %s); ",
		layout, q.version, q.size, len(q.content), q.level)
	switch {
	case module+mmEpsilon < MinModuleMM:
		fmt.Fprintf(&b, "in the %.1f mm the label has for it, modules would be %.2f mm, below the %.2f mm that phone cameras need (it needs %.1f mm). ",
			avail, module, MinModuleMM, need)
	default:
		fmt.Fprintf(&b, "it would be %.1f mm wide, below the %.0f mm minimum. ", module*float64(q.size), MinQRWidthMM)
	}
	b.WriteString("To fix it: ")
	var fixes []string
	if len(alternatives) > 0 {
		fixes = append(fixes, "use a larger label such as "+strings.Join(alternatives, " or "))
	}
	if q.level != ECLow {
		if l, err := EncodeQR(q.content, ECLow); err == nil && l.size < q.size {
			fixes = append(fixes, "use error correction L")
		}
	}
	fixes = append(fixes, "shorten the link (a shorter base URL, or the /b/<batch> short link)")
	if strings.Contains(q.content, "&s=") || strings.Contains(q.content, "?s=") {
		fixes = append(fixes, "leave out the signature")
	}
	b.WriteString(strings.Join(fixes, ", or "))
	return fitErr(ErrQRTooSmall, "layout", b.String())
}
