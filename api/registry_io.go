package api

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/labstack/echo/v4"
	"github.com/xuri/excelize/v2"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/adminunits"
)

// Exports of the registry for a provincial agency (CSV, XLSX, JSON, with
// filters), and imports of the member and plot lists cooperatives keep
// today in spreadsheets (CSV, XLSX), checked row by row and written all
// or nothing.

// Media types of the registry's files.
const (
	MediaCSV  = "text/csv"
	MediaXLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
)

// RegistryFilter picks cooperatives of the registry. Empty fields pick
// everything.
type RegistryFilter struct {
	Cooperative string // a cooperative's id
	Province    string // province code
	Commune     string // commune code: the cooperative's, or one of its members' or plots'
	Product     string // words of a product's name, category or variety (case and accents ignored)
	Certificate string // a certification scheme (vietgap, ocop, …) the cooperative holds a valid certificate of
	OCOP        int    // at least this many OCOP stars, on a product or a valid OCOP certificate
}

// Query writes the filter as URL query parameters.
func (f RegistryFilter) Query() url.Values {
	q := url.Values{}
	for k, v := range map[string]string{"cooperative": f.Cooperative, "province": f.Province, "commune": f.Commune,
		"product": f.Product, "certificate": f.Certificate} {
		if v != "" {
			q.Set(k, v)
		}
	}
	if f.OCOP > 0 {
		q.Set("ocop", strconv.Itoa(f.OCOP))
	}
	return q
}

// RegistryFilterOf reads a filter from query parameters.
func RegistryFilterOf(q url.Values) (RegistryFilter, error) {
	f := RegistryFilter{Cooperative: q.Get("cooperative"), Province: q.Get("province"), Commune: q.Get("commune"),
		Product: strings.TrimSpace(q.Get("product")), Certificate: q.Get("certificate")}
	var v trace.ValidationError
	if s := q.Get("ocop"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 0 || n > 5 {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "ocop", Reason: "OCOP stars are 3, 4 or 5"})
		}
		f.OCOP = n
	}
	if f.Province != "" {
		if _, ok := adminunits.VN().Province(f.Province); !ok {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "province", Reason: fmt.Sprintf("there is no province %q in the list of provinces of 2025", Clip(f.Province, 10))})
		}
	}
	if f.Commune != "" {
		if _, ok := adminunits.VN().Commune(f.Commune); !ok {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "commune", Reason: fmt.Sprintf("there is no commune %q in the list of communes of 2025", Clip(f.Commune, 10))})
		}
	}
	if f.Certificate != "" {
		if _, ok := trace.CertificationSchemes[f.Certificate]; !ok {
			v.Fields = append(v.Fields, &trace.FieldError{Field: "certificate", Reason: fmt.Sprintf("unknown scheme %q", Clip(f.Certificate, 40))})
		}
	}
	if utf8.RuneCountInString(f.Product) > 100 {
		v.Fields = append(v.Fields, &trace.FieldError{Field: "product", Reason: "at most 100 characters"})
	}
	if len(v.Fields) > 0 {
		return f, &v
	}
	return f, nil
}

// RegistryCoop is one cooperative of the registry with its lists (current
// entries only) and products.
type RegistryCoop struct {
	Coop         *trace.Cooperative
	Products     []*trace.Product
	Members      []*store.StoredRecord
	Plots        []*store.StoredRecord
	Certificates []*store.StoredRecord
	Listings     []*store.StoredRecord
	OCOP         int // highest OCOP rating (ocopOf)
}

// Registry returns the cooperatives the filter picks, with their lists,
// as the caller may read them: an agency reads its province's, a
// cooperative its own, admins and inspectors every one.
func (s *Server) Registry(c echo.Context, f RegistryFilter) ([]*RegistryCoop, error) {
	k := caller(c)
	if k == nil {
		return nil, trace.ErrUnauthenticated
	}
	switch k.Role {
	case store.RoleAgency:
		if f.Province != "" && f.Province != k.Province {
			return nil, fmt.Errorf("an agency reads the registries of its own province (%s) only: %w", k.Province, trace.ErrForbidden)
		}
		f.Province = k.Province
	case store.RoleCooperative:
		if f.Cooperative != "" && f.Cooperative != k.CooperativeID {
			return nil, fmt.Errorf("a cooperative reads its own registry only: %w", trace.ErrForbidden)
		}
		f.Cooperative = k.CooperativeID
	}
	coops, err := s.db.Cooperatives()
	if err != nil {
		return nil, err
	}
	day := s.Today()
	product := store.Fold(f.Product)
	var out []*RegistryCoop
	for _, co := range coops {
		if f.Cooperative != "" && co.ID != f.Cooperative || f.Province != "" && ProvinceCode(co) != f.Province {
			continue
		}
		rc := &RegistryCoop{Coop: co}
		if rc.Products, err = s.db.Products(co.ID); err != nil {
			return nil, err
		}
		lists := []*[]*store.StoredRecord{&rc.Members, &rc.Plots, &rc.Certificates, &rc.Listings}
		for i, kind := range trace.ListKinds {
			if *lists[i], err = s.db.Entries(kind, co.ID, false); err != nil {
				return nil, err
			}
		}
		rc.OCOP = ocopOf(rc.Products, rc.Certificates, day)
		if f.OCOP > 0 && rc.OCOP < f.OCOP {
			continue
		}
		if f.Certificate != "" && !hasValid(rc.Certificates, f.Certificate, day) {
			continue
		}
		if f.Commune != "" && !inCommune(rc, f.Commune) {
			continue
		}
		if product != "" && !hasProduct(rc.Products, product) {
			continue
		}
		out = append(out, rc)
	}
	return out, nil
}

func hasValid(certs []*store.StoredRecord, scheme, day string) bool {
	for _, sr := range certs {
		if sr.Record.Fields["scheme"] == scheme && trace.CertificateStatus(sr.Record.Fields, day) == trace.CertValid {
			return true
		}
	}
	return false
}

func inCommune(rc *RegistryCoop, code string) bool {
	if rc.Coop.Profile["commune_code"] == code {
		return true
	}
	for _, list := range [][]*store.StoredRecord{rc.Members, rc.Plots} {
		for _, sr := range list {
			if sr.Record.Fields["commune_code"] == code {
				return true
			}
		}
	}
	return false
}

func hasProduct(products []*trace.Product, folded string) bool {
	for _, p := range products {
		text := p.NameVI + " " + p.NameEN + " " + p.Category
		for _, k := range []string{"name_zh", "variety_vi", "variety_en"} {
			text += " " + p.Content[k]
		}
		if strings.Contains(store.Fold(text), folded) {
			return true
		}
	}
	return false
}

// exportRegistry answers the registry the filter picks as JSON, CSV (one
// list, ?kind=) or XLSX (a sheet per list).
func (s *Server) exportRegistry(c echo.Context) error {
	f, err := RegistryFilterOf(c.QueryParams())
	if err != nil {
		return err
	}
	format, kind := c.QueryParam("format"), c.QueryParam("kind")
	if format == "" {
		format = "json"
	}
	if kind == "" {
		kind = "cooperatives"
	}
	if _, ok := RegistryTables[kind]; !ok {
		return &trace.FieldError{Field: "kind", Reason: "one of cooperatives, products, members, plots, certificates, listings"}
	}
	rcs, err := s.Registry(c, f)
	if err != nil {
		return err
	}
	return s.WriteRegistry(c, rcs, format, kind, f)
}

// WriteRegistry answers a registry in a format: json, csv (one table) or
// xlsx (every table).
func (s *Server) WriteRegistry(c echo.Context, rcs []*RegistryCoop, format, kind string, f RegistryFilter) error {
	stamp := s.now().In(s.cfg.Location).Format("20060102-1504")
	switch format {
	case "json":
		return c.JSON(http.StatusOK, s.registryJSON(rcs, f))
	case "csv":
		var buf bytes.Buffer
		buf.WriteString("\ufeff") // so that spreadsheets read the file as UTF-8
		w := csv.NewWriter(&buf)
		w.UseCRLF = true
		if err := w.WriteAll(s.RegistryTable(rcs, kind)); err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "so-dang-ky-" + kind + "-" + stamp + ".csv"}))
		return c.Blob(http.StatusOK, MediaCSV+"; charset=utf-8", buf.Bytes())
	case "xlsx":
		b, err := s.RegistryXLSX(rcs)
		if err != nil {
			return err
		}
		c.Response().Header().Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "so-dang-ky-" + stamp + ".xlsx"}))
		return c.Blob(http.StatusOK, MediaXLSX, b)
	}
	return &trace.FieldError{Field: "format", Reason: "json, csv or xlsx"}
}

// RegistryExport is the JSON form of an export.
type RegistryExport struct {
	Generated    string               `json:"generated"`
	Filters      map[string]string    `json:"filters"`
	Units        string               `json:"units"`
	Cooperatives []RegistryExportCoop `json:"cooperatives"`
}

// RegistryExportCoop is one cooperative of an export.
type RegistryExportCoop struct {
	Cooperative  Cooperative `json:"cooperative"`
	OCOPStars    int         `json:"ocop_stars,omitempty"`
	Products     []Product   `json:"products"`
	Members      []Entry     `json:"members"`
	Plots        []Entry     `json:"plots"`
	Certificates []Entry     `json:"certificates"`
	Listings     []Entry     `json:"listings"`
}

func (s *Server) registryJSON(rcs []*RegistryCoop, f RegistryFilter) RegistryExport {
	day := s.Today()
	out := RegistryExport{Generated: s.now().In(s.cfg.Location).Format(time.RFC3339), Filters: map[string]string{},
		Units: adminunits.VN().Source, Cooperatives: []RegistryExportCoop{}}
	for k, v := range f.Query() {
		out.Filters[k] = v[0]
	}
	entries := func(list []*store.StoredRecord) []Entry {
		e := make([]Entry, 0, len(list))
		for _, sr := range list {
			e = append(e, ToEntry(sr, day))
		}
		return e
	}
	for _, rc := range rcs {
		ec := RegistryExportCoop{Cooperative: toCooperative(rc.Coop), OCOPStars: rc.OCOP, Products: []Product{},
			Members: entries(rc.Members), Plots: entries(rc.Plots), Certificates: entries(rc.Certificates), Listings: entries(rc.Listings)}
		for _, p := range rc.Products {
			ec.Products = append(ec.Products, toProduct(p))
		}
		out.Cooperatives = append(out.Cooperatives, ec)
	}
	return out
}

// column is one column of a registry table: its Vietnamese heading, the
// field it holds and how to write a value.
type column struct {
	Head  string
	Field string
}

// RegistryTables are the tables of an export, by kind, with their columns.
// A list's columns are its record's fields, in this order, after the
// cooperative's id and name; import reads the same headings.
var RegistryTables = map[string][]column{
	"cooperatives": {
		{"Mã HTX", "id"}, {"Tên hợp tác xã", "name"}, {"Tên viết tắt", "short_name"}, {"Mã số HTX", "registration_no"},
		{"Mã tỉnh", "province_code"}, {"Tỉnh/thành phố", "province"}, {"Mã xã", "commune_code"}, {"Xã/phường", "commune"},
		{"Địa chỉ", "address"}, {"Điện thoại", "phone"}, {"Zalo", "zalo"}, {"Thư điện tử", "email"}, {"Trang web", "website"},
		{"Người đại diện", "representative"}, {"Ngày thành lập", "founded"}, {"GLN", "gln"}, {"Sản phẩm", "products"},
		{"Sao OCOP cao nhất", "ocop_stars"}, {"Chứng nhận còn hiệu lực", "certificates"}, {"Số thành viên", "members"},
		{"Số vùng trồng", "plots"}, {"Tổng diện tích (ha)", "area_ha"}, {"Điểm bán", "listings"},
	},
	"products": {
		{"Mã sản phẩm", "id"}, {"GTIN", "gtin"}, {"Tên (tiếng Việt)", "name_vi"}, {"Tên (tiếng Anh)", "name_en"},
		{"Tên (tiếng Trung)", "name_zh"}, {"Nhóm hàng", "category"}, {"Sao OCOP", "ocop_stars"}, {"Giống", "variety_vi"},
		{"Thành phần", "ingredients_vi"}, {"Mô tả", "description_vi"},
	},
	"members": {
		{"Mã hộ", "id"}, {"Họ tên chủ hộ", "name"}, {"Mã thành viên", "code"}, {"Mã xã", "commune_code"}, {"Địa chỉ", "address"},
		{"Diện tích (ha)", "area_ha"}, {"Cây trồng", "crops"}, {"Điện thoại", "phone"}, {"Ngày vào HTX", "joined"},
	},
	"plots": {
		{"Mã vùng", "id"}, {"Tên vùng trồng", "name"}, {"Diện tích (ha)", "area_ha"}, {"Cây trồng", "crop"}, {"Mã hộ", "member"},
		{"Mã xã", "commune_code"}, {"Vị trí (GeoJSON)", "location"}, {"Mã số vùng trồng", "planting_code"},
		{"Mã vùng trồng có hiệu lực từ", "planting_code_valid_from"}, {"Mã vùng trồng có hiệu lực đến", "planting_code_valid_to"},
		{"Mã số cơ sở đóng gói", "packing_code"}, {"Mã đóng gói có hiệu lực từ", "packing_code_valid_from"},
		{"Mã đóng gói có hiệu lực đến", "packing_code_valid_to"},
	},
	"certificates": {
		{"Mã", "id"}, {"Chứng nhận", "scheme"}, {"Số chứng nhận", "number"}, {"Nơi cấp", "issuer"}, {"Hiệu lực từ", "valid_from"},
		{"Hiệu lực đến", "valid_to"}, {"Sao OCOP", "ocop_stars"}, {"Sản phẩm", "products"}, {"Vùng trồng", "plots"}, {"Tình trạng", "status"},
	},
	"listings": {
		{"Mã", "id"}, {"Nơi bán", "platform"}, {"Tên hiển thị", "label"}, {"Đường dẫn", "url"}, {"Sản phẩm", "product"},
	},
}

// registrySheets are the XLSX sheets, in order, with their names.
var registrySheets = []struct{ Kind, Name string }{
	{"cooperatives", "Hợp tác xã"}, {"products", "Sản phẩm"}, {"members", "Thành viên"}, {"plots", "Vùng trồng"},
	{"certificates", "Chứng nhận"}, {"listings", "Điểm bán"},
}

// certStatusVI says a certificate's state in Vietnamese.
var certStatusVI = map[string]string{trace.CertValid: "Còn hiệu lực", trace.CertExpired: "Hết hiệu lực", trace.CertNotYet: "Chưa có hiệu lực"}

// RegistryTable is one table of an export: a heading row, then a row per
// cooperative (kind cooperatives) or per entry of the list, led by its
// cooperative's id and name.
func (s *Server) RegistryTable(rcs []*RegistryCoop, kind string) [][]string {
	cols := RegistryTables[kind]
	units := adminunits.VN()
	day := s.Today()
	var rows [][]string
	head := []string{}
	if kind != "cooperatives" {
		head = append(head, "Mã HTX", "Tên hợp tác xã")
	}
	for _, col := range cols {
		head = append(head, col.Head)
	}
	rows = append(rows, head)
	for _, rc := range rcs {
		co := rc.Coop
		lead := []string{co.ID, co.Name}
		switch kind {
		case "cooperatives":
			row := make([]string, len(cols))
			for i, col := range cols {
				switch col.Field {
				case "id":
					row[i] = co.ID
				case "name":
					row[i] = co.Name
				case "province":
					row[i] = co.Province
				case "gln":
					row[i] = co.GLN
				case "commune":
					if cm, ok := units.Commune(co.Profile["commune_code"]); ok {
						row[i] = cm.Name
					}
				case "province_code":
					row[i] = ProvinceCode(co)
				case "founded":
					row[i] = DateText(co.Profile["founded"])
				case "products":
					var names []string
					for _, p := range rc.Products {
						names = append(names, p.NameVI)
					}
					row[i] = strings.Join(names, "; ")
				case "ocop_stars":
					if rc.OCOP > 0 {
						row[i] = strconv.Itoa(rc.OCOP)
					}
				case "certificates":
					var cs []string
					for _, sr := range rc.Certificates {
						f := sr.Record.Fields
						if trace.CertificateStatus(f, day) == trace.CertValid {
							cs = append(cs, schemeName(f["scheme"])+" "+f["number"]+" (đến "+DateText(f["valid_to"])+")")
						}
					}
					row[i] = strings.Join(cs, "; ")
				case "members":
					row[i] = strconv.Itoa(len(rc.Members))
				case "plots":
					row[i] = strconv.Itoa(len(rc.Plots))
				case "area_ha":
					row[i] = sumArea(rc.Plots)
				case "listings":
					row[i] = strconv.Itoa(len(rc.Listings))
				default:
					row[i] = co.Profile[col.Field]
				}
			}
			rows = append(rows, row)
		case "products":
			for _, p := range rc.Products {
				f := trace.ProductRecordFields(p)
				row := append([]string{}, lead...)
				for _, col := range cols {
					if col.Field == "id" {
						row = append(row, p.ID)
					} else {
						row = append(row, f[col.Field])
					}
				}
				rows = append(rows, row)
			}
		default:
			list := map[string][]*store.StoredRecord{"members": rc.Members, "plots": rc.Plots, "certificates": rc.Certificates, "listings": rc.Listings}[kind]
			for _, sr := range list {
				f := sr.Record.Fields
				row := append([]string{}, lead...)
				for _, col := range cols {
					v := f[col.Field]
					switch {
					case col.Field == "id":
						v = sr.Record.ID
					case col.Field == "status":
						v = certStatusVI[trace.CertificateStatus(f, day)]
					case col.Field == "scheme":
						v = schemeName(v)
					case col.Field == "platform":
						v = trace.Platforms[v]
					case isDateField(col.Field):
						v = DateText(v)
					}
					row = append(row, v)
				}
				rows = append(rows, row)
			}
		}
	}
	return rows
}

func schemeName(s string) string {
	if n, ok := trace.CertificationSchemes[s]; ok {
		return n
	}
	return s
}

func isDateField(f string) bool {
	return f == "joined" || f == "founded" || strings.HasSuffix(f, "valid_from") || strings.HasSuffix(f, "valid_to")
}

// sumArea adds the areas of plots exactly, as decimals.
func sumArea(plots []*store.StoredRecord) string {
	var ds []trace.Decimal
	for _, sr := range plots {
		if a := sr.Record.Fields["area_ha"]; a != "" {
			ds = append(ds, trace.Decimal(a))
		}
	}
	if len(ds) == 0 {
		return ""
	}
	sum := ds[0].Rat()
	for _, d := range ds[1:] {
		sum.Add(sum, d.Rat())
	}
	out := strings.TrimRight(strings.TrimRight(sum.FloatString(6), "0"), ".")
	return out
}

// RegistryXLSX writes every table of the registry as a sheet of a
// workbook, headings bold and frozen.
func (s *Server) RegistryXLSX(rcs []*RegistryCoop) ([]byte, error) {
	x := excelize.NewFile()
	defer x.Close()
	bold, err := x.NewStyle(&excelize.Style{Font: &excelize.Font{Bold: true}})
	if err != nil {
		return nil, err
	}
	for i, sh := range registrySheets {
		if i == 0 {
			if err := x.SetSheetName("Sheet1", sh.Name); err != nil {
				return nil, err
			}
		} else if _, err := x.NewSheet(sh.Name); err != nil {
			return nil, err
		}
		sw, err := x.NewStreamWriter(sh.Name)
		if err != nil {
			return nil, err
		}
		if err := sw.SetPanes(&excelize.Panes{Freeze: true, YSplit: 1, TopLeftCell: "A2", ActivePane: "bottomLeft"}); err != nil {
			return nil, err
		}
		for r, row := range s.RegistryTable(rcs, sh.Kind) {
			cells := make([]any, len(row))
			for j, v := range row {
				if r == 0 {
					cells[j] = excelize.Cell{Value: v, StyleID: bold}
				} else {
					cells[j] = v
				}
			}
			cell, _ := excelize.CoordinatesToCellName(1, r+1)
			if err := sw.SetRow(cell, cells); err != nil {
				return nil, err
			}
		}
		if err := sw.Flush(); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Limits of an import.
const (
	MaxImportRows  = 5000
	MaxImportBytes = 1 << 20
)

// ImportRow is one row of an import: its number in the file (the heading
// is row 1), the entry it changes (empty for a new one) and its fields.
type ImportRow struct {
	Row    int               `json:"row"`
	ID     string            `json:"id,omitempty"`
	Fields map[string]string `json:"fields"`
}

// ImportError is what is wrong with one cell (or one row) of an import.
type ImportError struct {
	Row    int    `json:"row"`
	Column string `json:"column,omitempty"` // the column's heading as written in the file
	Field  string `json:"field,omitempty"`
	Reason string `json:"reason"`
}

// ImportPreview is what an import would write, or why it cannot.
type ImportPreview struct {
	Kind    string        `json:"kind"`
	Rows    []ImportRow   `json:"rows"`
	Errors  []ImportError `json:"errors"`
	Created int           `json:"created"`
	Updated int           `json:"updated"`
}

// ImportFile reads a cooperative's member or plot list from a CSV or XLSX
// file (told by its content) and checks every row as the registry would
// sign it. Headings are matched to fields by the export's Vietnamese
// headings or the fields' own names, ignoring case and accents; a row
// whose id (or, for members, code) names an entry of the cooperative
// replaces it, the others are new. Communes may be given by name; dates
// as dd/mm/yyyy; areas with a decimal comma.
func (s *Server) ImportFile(coop *trace.Cooperative, kind trace.RecordKind, data []byte) (*ImportPreview, error) {
	if kind != trace.KindMember && kind != trace.KindPlot {
		return nil, &trace.FieldError{Field: "kind", Reason: "members or plots"}
	}
	p := &ImportPreview{Kind: KindPath(kind), Rows: []ImportRow{}, Errors: []ImportError{}}
	table, err := readTable(data)
	if err != nil {
		p.Errors = append(p.Errors, ImportError{Row: 0, Reason: err.Error()})
		return p, nil
	}
	if len(table) < 2 {
		p.Errors = append(p.Errors, ImportError{Row: 1, Reason: "the file has no rows under its heading"})
		return p, nil
	}
	if len(table)-1 > MaxImportRows {
		p.Errors = append(p.Errors, ImportError{Row: 0, Reason: fmt.Sprintf("at most %d rows in one import, got %d", MaxImportRows, len(table)-1)})
		return p, nil
	}
	// Headings to fields.
	byName := map[string]string{}
	for _, col := range RegistryTables[KindPath(kind)] {
		byName[store.Fold(col.Head)] = col.Field
		byName[store.Fold(col.Field)] = col.Field
	}
	byName[store.Fold("Xã/phường")] = "commune"
	byName[store.Fold("Mã HTX")] = "-"
	byName[store.Fold("Tên hợp tác xã")] = "-"
	heads := table[0]
	fields := make([]string, len(heads))
	seen := map[string]int{}
	for i, h := range heads {
		h = strings.TrimSpace(strings.TrimPrefix(h, "\ufeff"))
		heads[i] = h
		if h == "" {
			continue
		}
		f, ok := byName[store.Fold(h)]
		if !ok {
			p.Errors = append(p.Errors, ImportError{Row: 1, Column: h, Reason: fmt.Sprintf("unknown column %q; the columns are those of the registry's export", Clip(h, 40))})
			continue
		}
		if f == "-" {
			continue
		}
		if j, dup := seen[f]; dup {
			p.Errors = append(p.Errors, ImportError{Row: 1, Column: h, Reason: fmt.Sprintf("the same column as %q", heads[j])})
			continue
		}
		seen[f] = i
		fields[i] = f
	}
	if _, ok := seen["name"]; !ok {
		p.Errors = append(p.Errors, ImportError{Row: 1, Reason: "the file needs a column of names (" + RegistryTables[KindPath(kind)][1].Head + ")"})
	}
	if len(p.Errors) > 0 {
		return p, nil
	}
	existing, err := s.db.Entries(kind, coop.ID, true)
	if err != nil {
		return nil, err
	}
	ids, codes := map[string]bool{}, map[string]string{}
	for _, sr := range existing {
		ids[sr.Record.ID] = true
		if c := sr.Record.Fields["code"]; c != "" {
			codes[c] = sr.Record.ID
		}
	}
	units := adminunits.VN()
	province := ProvinceCode(coop)
	used := map[string]int{}
	for r, cells := range table[1:] {
		rowNo := r + 2
		raw := map[string]string{}
		column := map[string]string{}
		empty := true
		for i, v := range cells {
			if i >= len(fields) || fields[i] == "" {
				continue
			}
			v = strings.TrimSpace(v)
			if v != "" {
				empty = false
			}
			raw[fields[i]], column[fields[i]] = v, heads[i]
		}
		if empty {
			continue
		}
		row := ImportRow{Row: rowNo, Fields: map[string]string{}}
		fail := func(field, reason string) {
			p.Errors = append(p.Errors, ImportError{Row: rowNo, Column: column[field], Field: field, Reason: reason})
		}
		for k, v := range raw {
			if v == "" || k == "id" {
				continue
			}
			switch {
			case k == "commune":
				continue
			case k == "area_ha":
				v = strings.ReplaceAll(v, ",", ".")
			case isDateField(k):
				v = importDate(v)
			}
			row.Fields[k] = v
		}
		// A commune by its name, in the cooperative's province.
		if name := raw["commune"]; name != "" && row.Fields["commune_code"] == "" {
			if code := communeByName(units, province, name); code != "" {
				row.Fields["commune_code"] = code
			} else {
				fail("commune", fmt.Sprintf("there is no commune %q in the cooperative's province in the list of communes of 2025", Clip(name, 60)))
			}
		}
		if id := raw["id"]; id != "" {
			if !ids[id] {
				fail("id", fmt.Sprintf("the cooperative has no %s %q; leave the id empty for a new one", kind, Clip(id, 40)))
			}
			row.ID = id
		} else if id, ok := codes[row.Fields["code"]]; ok && row.Fields["code"] != "" {
			row.ID = id
		}
		if row.ID != "" {
			if prev, dup := used[row.ID]; dup {
				fail("id", fmt.Sprintf("row %d changes the same entry", prev))
			}
			used[row.ID] = rowNo
		}
		clean, err := s.CleanEntry(coop, kind, row.Fields)
		var ve *trace.ValidationError
		switch {
		case errors.As(err, &ve):
			for _, fe := range ve.Fields {
				fail(fe.Field, fe.Reason)
			}
		case err != nil:
			return nil, err
		default:
			row.Fields = clean
		}
		if row.ID == "" {
			p.Created++
		} else {
			p.Updated++
		}
		p.Rows = append(p.Rows, row)
	}
	if len(p.Rows) == 0 && len(p.Errors) == 0 {
		p.Errors = append(p.Errors, ImportError{Row: 1, Reason: "the file has no rows under its heading"})
	}
	sort.SliceStable(p.Errors, func(i, j int) bool { return p.Errors[i].Row < p.Errors[j].Row })
	return p, nil
}

// ApplyImport writes a checked import, all or nothing.
func (s *Server) ApplyImport(c echo.Context, coop *trace.Cooperative, kind trace.RecordKind, p *ImportPreview) ([]*store.StoredRecord, error) {
	if len(p.Errors) > 0 {
		return nil, fmt.Errorf("the file has %d errors; nothing was imported: %w", len(p.Errors), trace.ErrInvalid)
	}
	writes := make([]store.EntryWrite, len(p.Rows))
	for i, r := range p.Rows {
		writes[i] = store.EntryWrite{Kind: kind, ID: r.ID, Create: r.ID == "", IDHint: EntryName(kind, r.Fields), Fields: r.Fields}
	}
	return s.db.PutEntries(c.Request().Context(), coop.ID, writes, caller(c).ID)
}

func communeByName(u *adminunits.Units, province, name string) string {
	want := store.Fold(name)
	for _, prefix := range []string{"xa ", "phuong ", "dac khu "} {
		want = strings.TrimPrefix(want, prefix)
	}
	for _, cm := range u.CommunesOf(province) {
		n := store.Fold(cm.Name)
		for _, prefix := range []string{"xa ", "phuong ", "dac khu "} {
			n = strings.TrimPrefix(n, prefix)
		}
		if n == want {
			return cm.Code
		}
	}
	return ""
}

// importDate reads a date as people write it (dd/mm/yyyy, d-m-yyyy) or
// as a spreadsheet stores it (a serial day number), and writes it
// YYYY-MM-DD; anything else is left for the field's check to refuse.
func importDate(v string) string {
	for _, layout := range []string{"02/01/2006", "2/1/2006", "02-01-2006", "2-1-2006", "02.01.2006"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.Format(time.DateOnly)
		}
	}
	if n, err := strconv.ParseFloat(v, 64); err == nil && n > 20000 && n < 80000 && n == float64(int(n)) {
		if t, err := excelize.ExcelDateToTime(n, false); err == nil {
			return t.Format(time.DateOnly)
		}
	}
	return v
}

// readTable reads the rows of a CSV file (UTF-8, comma or semicolon) or
// of the first sheet of an XLSX workbook.
func readTable(data []byte) ([][]string, error) {
	if len(data) > MaxImportBytes {
		return nil, fmt.Errorf("the file is larger than %s", byteSize(MaxImportBytes))
	}
	if bytes.HasPrefix(data, []byte("PK\x03\x04")) {
		x, err := excelize.OpenReader(bytes.NewReader(data), excelize.Options{RawCellValue: true,
			UnzipSizeLimit: 64 << 20, UnzipXMLSizeLimit: 16 << 20})
		if err != nil {
			return nil, fmt.Errorf("the file is not an XLSX workbook that can be read: %v", err)
		}
		defer x.Close()
		sheets := x.GetSheetList()
		if len(sheets) == 0 {
			return nil, errors.New("the workbook has no sheet")
		}
		rows, err := x.Rows(sheets[0])
		if err != nil {
			return nil, fmt.Errorf("the first sheet cannot be read: %v", err)
		}
		defer rows.Close()
		var out [][]string
		for rows.Next() {
			if len(out) > MaxImportRows+1 {
				break
			}
			cols, err := rows.Columns()
			if err != nil {
				return nil, fmt.Errorf("row %d cannot be read: %v", len(out)+1, err)
			}
			out = append(out, cols)
		}
		return out, nil
	}
	if !utf8.Valid(data) {
		return nil, errors.New("the file is neither an XLSX workbook nor a CSV file in UTF-8; save it as CSV UTF-8 or as XLSX")
	}
	data = bytes.TrimPrefix(data, []byte("\ufeff"))
	first, _, _ := bytes.Cut(data, []byte("\n"))
	r := csv.NewReader(bytes.NewReader(data))
	if bytes.Count(first, []byte(";")) > bytes.Count(first, []byte(",")) {
		r.Comma = ';'
	}
	r.FieldsPerRecord = -1
	var out [][]string
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("the CSV file cannot be read: %v", err)
		}
		if len(out) > MaxImportRows+1 {
			break
		}
		out = append(out, rec)
	}
	return out, nil
}

// importEntries serves POST /api/v1/cooperatives/{id}/import?kind=members|plots[&dry_run=true]:
// a CSV or XLSX file as the body.
func (s *Server) importEntries(c echo.Context) error {
	coop, err := s.db.Cooperative(c.Param("id"))
	if err != nil {
		return err
	}
	if err := mayWrite(c, coop.ID); err != nil {
		return err
	}
	kind, ok := registryKinds[c.QueryParam("kind")]
	if !ok || kind != trace.KindMember && kind != trace.KindPlot {
		return &trace.FieldError{Field: "kind", Reason: "members or plots"}
	}
	if err := checkMediaType(c, []string{MediaCSV, MediaXLSX}); err != nil {
		return err
	}
	data, err := ReadLimited(c.Request().Body, MaxImportBytes+1, c.Request().ContentLength)
	if err != nil {
		return err
	}
	p, err := s.ImportFile(coop, kind, data)
	if err != nil {
		return err
	}
	if len(p.Errors) > 0 {
		v := &trace.ValidationError{}
		for _, e := range p.Errors {
			field := fmt.Sprintf("rows[%d]", e.Row)
			if e.Field != "" {
				field += "." + e.Field
			}
			v.Fields = append(v.Fields, &trace.FieldError{Field: field, Reason: e.Reason})
		}
		return v
	}
	if c.QueryParam("dry_run") == "true" {
		return c.JSON(http.StatusOK, p)
	}
	if _, err := s.ApplyImport(c, coop, kind, p); err != nil {
		return err
	}
	return c.JSON(http.StatusCreated, p)
}

// publicCooperatives answers the list of cooperatives as a CSV or XLSX
// table: their public profiles, products, valid certificates and
// listings, without what only readers of their registries may see.
func (s *Server) publicCooperatives(c echo.Context, format string) error {
	coops, err := s.db.Cooperatives()
	if err != nil {
		return err
	}
	var rcs []*RegistryCoop
	day := s.Today()
	for _, co := range coops {
		rc := &RegistryCoop{Coop: co}
		if rc.Products, err = s.db.Products(co.ID); err != nil {
			return err
		}
		if rc.Certificates, err = s.db.Entries(trace.KindCertificate, co.ID, false); err != nil {
			return err
		}
		if rc.Listings, err = s.db.Entries(trace.KindListing, co.ID, false); err != nil {
			return err
		}
		rc.OCOP = ocopOf(rc.Products, rc.Certificates, day)
		rcs = append(rcs, rc)
	}
	private := map[string]bool{"members": true, "plots": true, "area_ha": true}
	var keep []int
	for i, col := range RegistryTables["cooperatives"] {
		if !private[col.Field] {
			keep = append(keep, i)
		}
	}
	var table [][]string
	for _, row := range s.RegistryTable(rcs, "cooperatives") {
		out := make([]string, len(keep))
		for j, i := range keep {
			out[j] = row[i]
		}
		table = append(table, out)
	}
	stamp := s.now().In(s.cfg.Location).Format("20060102-1504")
	var body []byte
	ct := MediaCSV + "; charset=utf-8"
	if format == "csv" {
		var buf bytes.Buffer
		buf.WriteString("\ufeff")
		w := csv.NewWriter(&buf)
		w.UseCRLF = true
		if err := w.WriteAll(table); err != nil {
			return err
		}
		body = buf.Bytes()
	} else {
		if body, err = tableXLSX("Hợp tác xã", table); err != nil {
			return err
		}
		ct = MediaXLSX
	}
	c.Response().Header().Set(echo.HeaderContentDisposition, mime.FormatMediaType("attachment", map[string]string{"filename": "hop-tac-xa-" + stamp + "." + format}))
	return c.Blob(http.StatusOK, ct, body)
}

// tableXLSX writes one table as a workbook of one sheet.
func tableXLSX(name string, table [][]string) ([]byte, error) {
	x := excelize.NewFile()
	defer x.Close()
	if err := x.SetSheetName("Sheet1", name); err != nil {
		return nil, err
	}
	for r, row := range table {
		cell, _ := excelize.CoordinatesToCellName(1, r+1)
		vals := make([]any, len(row))
		for i, v := range row {
			vals[i] = v
		}
		if err := x.SetSheetRow(name, cell, &vals); err != nil {
			return nil, err
		}
	}
	var buf bytes.Buffer
	if err := x.Write(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}
