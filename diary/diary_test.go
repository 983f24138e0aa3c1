package diary

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/xuri/excelize/v2"

	"github.com/truyxuat/truyxuat/trace"
)

// needTool finds an external tool: skipped when missing, failed in CI.
func needTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("%s is required in CI (.ci/run installs it): %v", name, err)
		}
		t.Skipf("%s is not installed; skipping (Debian: apt-get install poppler-utils)", name)
	}
	return p
}

var ict = time.FixedZone("", 7*3600)

// season signs a rice lot's season: sowing, a spraying whose dose was
// corrected, a harvest inside the interval confirmed with a reason,
// drying, packing and shipping.
func season(t *testing.T) *Diary {
	t.Helper()
	signer, err := trace.NewSigner(bytes.Repeat([]byte{9}, trace.SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	bt := &trace.Batch{ID: "b1", CooperativeID: "htx", ProductID: "gao", Lot: "ST25-2508-A", Quantity: trace.Quantity{Value: "6200", Unit: "KGM"},
		Plot: &trace.Plot{Name: "Ruộng số 7, ấp Hòa Tú", Lat: 9.47, Lon: 105.93}}
	ev := func(step, at string, data map[string]string, q string) *trace.Event {
		e := &trace.Event{Type: trace.ObjectEvent, Cooperative: "htx", Batch: "b1", Action: "OBSERVE", BizStep: step, EventTime: at, EventTimeZoneOffset: "+07:00", Data: data}
		if q != "" {
			e.Quantity = &trace.Quantity{Value: trace.Decimal(q), Unit: "KGM"}
		}
		return e
	}
	events := []*trace.Event{
		ev(trace.StepSowing, "2025-05-05T00:00:00+07:00", map[string]string{"seed_variety": "ST25", "seed_rate_kg_ha": "90.5"}, ""),
		ev(trace.StepSpraying, "2025-07-20T16:30:00+07:00", map[string]string{"product": "Filia 525SE", "active_ingredient": "Propiconazole + Tricyclazole",
			"dose": "4 l/ha", "phi_days": "14", "applied_by": "Nguyễn Văn Tư", "plot": "Ruộng số 7, ấp Hòa Tú"}, ""),
		ev("commissioning", "2025-08-01T06:30:00+07:00", map[string]string{trace.DataIntervalOverride: "bão sắp vào, phải thu gấp"}, "6200"),
		ev(trace.StepDrying, "2025-08-02T08:00:00+07:00", map[string]string{"moisture_percent": "14.5"}, ""),
		ev("packing", "2025-08-05T09:00:00+07:00", map[string]string{"package": "túi 5 kg"}, ""),
		ev("shipping", "2025-08-10T15:00:00+07:00", map[string]string{"buyer": "Công ty Lương thực Sóc Trăng"}, "6000"),
	}
	var signed []*trace.SignedEvent
	var prev trace.Hash
	add := func(e *trace.Event) {
		e.Seq, e.Prev = uint64(len(signed)), prev
		se, err := signer.Sign(e)
		if err != nil {
			t.Fatal(err)
		}
		prev = se.Hash
		signed = append(signed, se)
	}
	for _, e := range events {
		add(e)
	}
	fixed := *events[1]
	fixed.Data = map[string]string{"product": "Filia 525SE", "active_ingredient": "Propiconazole + Tricyclazole", "dose": "0,4 l/ha", "phi_days": "14",
		"applied_by": "Nguyễn Văn Tư", "plot": "Ruộng số 7, ấp Hòa Tú"}
	c, err := trace.NewCorrection(signed[1], &fixed, "gõ thiếu dấu phẩy", time.Date(2025, 7, 21, 8, 0, 0, 0, ict))
	if err != nil {
		t.Fatal(err)
	}
	add(c)
	d := &Diary{Cooperative: "Hợp tác xã Nông nghiệp Hòa Tú", Province: "Sóc Trăng", Scope: "Lô ST25-2508-A", Made: time.Date(2025, 9, 1, 10, 0, 0, 0, ict)}
	d.AddLot(Lot{Batch: bt, Product: "Gạo ST25 Hòa Tú", Events: trace.EffectiveEvents(signed), RecordedBy: func(trace.Hash) string { return "Thư ký Hòa Tú" }}, nil)
	return d
}

func TestDiaryRecords(t *testing.T) {
	d := season(t)
	if len(d.Records) != 6 {
		t.Fatalf("%d records, want 6 (the correction in the spraying's place)", len(d.Records))
	}
	in := d.Section(Inputs)
	if len(in) != 1 || in[0].Dose != "0,4 l/ha" || in[0].PHIDays != "14" || in[0].DoneBy != "Nguyễn Văn Tư" || in[0].Plot != "Ruộng số 7, ấp Hòa Tú" ||
		!strings.Contains(in[0].Corrected, "21/07/2025 08:00: gõ thiếu dấu phẩy") || in[0].Work != "Phun thuốc bảo vệ thực vật" {
		t.Errorf("input %+v", in)
	}
	h := d.Section(Harvests)
	if len(h) != 1 || h[0].Quantity != "6.200 kg" || h[0].Override != "bão sắp vào, phải thu gấp" {
		t.Errorf("harvest %+v", h)
	}
	if s := d.Section(Sales); len(s) != 1 || s[0].Buyer != "Công ty Lương thực Sóc Trăng" || s[0].Quantity != "6.000 kg" {
		t.Errorf("sale %+v", s)
	}
	if o := d.Section(Other); len(o) != 1 || !o[0].DateOnly || !strings.Contains(o[0].Details, "Lượng giống (kg/ha): 90,5") {
		t.Errorf("sowing %+v", o)
	}
	if hd := d.Section(Handling); len(hd) != 2 || !strings.Contains(hd[0].Details, "Độ ẩm sau sấy (%): 14,5") {
		t.Errorf("handling %+v", hd)
	}
}

// The CSV reads back, in Vietnamese, with a byte order mark.
func TestDiaryCSV(t *testing.T) {
	var buf bytes.Buffer
	if err := season(t).WriteCSV(&buf); err != nil {
		t.Fatal(err)
	}
	b := buf.Bytes()
	if !bytes.HasPrefix(b, []byte{0xEF, 0xBB, 0xBF}) {
		t.Error("no byte order mark")
	}
	rows, err := csv.NewReader(bytes.NewReader(b[3:])).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 7 || rows[0][0] != "Ngày" || rows[0][7] != "Hoạt chất" {
		t.Fatalf("csv head %v (%d rows)", rows[0], len(rows))
	}
	if r := rows[2]; r[0] != "20/07/2025 16:30" || r[6] != "Filia 525SE" || r[8] != "0,4 l/ha" || !strings.Contains(r[15], "gõ thiếu dấu phẩy") {
		t.Errorf("spraying row %v", r)
	}
	if rows[1][0] != "05/05/2025" {
		t.Errorf("a step recorded by its date alone: %q", rows[1][0])
	}
}

// The XLSX, read back with the same library: a sheet of every record and
// one per section.
func TestDiaryXLSX(t *testing.T) {
	var buf bytes.Buffer
	if err := season(t).WriteXLSX(&buf); err != nil {
		t.Fatal(err)
	}
	f, err := excelize.OpenReader(&buf)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if got := f.GetSheetList(); strings.Join(got, "|") != "Nhật ký|Vật tư đầu vào|Thu hoạch|Sơ chế - bảo quản|Xuất bán|Việc khác" {
		t.Errorf("sheets %v", got)
	}
	rows, err := f.GetRows("Vật tư đầu vào")
	if err != nil {
		t.Fatal(err)
	}
	if rows[0][0] != "NHẬT KÝ CANH TÁC" || rows[1][0] != "Hợp tác xã Nông nghiệp Hòa Tú · Sóc Trăng" {
		t.Errorf("title %v", rows[:3])
	}
	last := rows[len(rows)-1]
	if len(last) < 9 || last[4] != "Filia 525SE" || last[5] != "Propiconazole + Tricyclazole" || last[6] != "0,4 l/ha" || last[7] != "14" || last[8] != "Nguyễn Văn Tư" {
		t.Errorf("input row %v", last)
	}
	all, _ := f.GetRows("Nhật ký")
	if n := len(all) - 6; n != 6 {
		t.Errorf("%d records on the first sheet", n)
	}
}

// The PDF, read with poppler's pdftotext: the title, every section and the
// Vietnamese letters come through.
func TestDiaryPDF(t *testing.T) {
	tool := needTool(t, "pdftotext")
	var buf bytes.Buffer
	if err := season(t).WritePDF(&buf); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "nhat-ky.pdf")
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(tool, "-layout", path, "-").Output()
	if err != nil {
		t.Fatalf("pdftotext: %v", err)
	}
	text := string(out)
	for _, want := range []string{"NHẬT KÝ CANH TÁC", "Hợp tác xã Nông nghiệp Hòa Tú", "Vật tư đầu vào", "Filia 525SE", "0,4 l/ha", "Nguyễn Văn Tư",
		"Thu hoạch", "6.200 kg", "bão sắp vào", "Xuất bán", "Công ty Lương thực Sóc Trăng", "Trang 1/1", "20/07/2025 16:30"} {
		if !strings.Contains(text, want) {
			t.Errorf("the PDF lacks %q:\n%s", want, text)
		}
	}
}
