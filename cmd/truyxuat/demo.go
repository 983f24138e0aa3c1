package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/spf13/cobra"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

func newDemoCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "demo",
		Short: "Fill an empty data directory with demo data and print its keys as JSON",
		Long: `Fill an empty data directory with realistic demo data: three cooperatives
(ST25 rice from Sóc Trăng, dragon fruit from Bình Thuận, coffee and pepper from
Đắk Lắk), their products and batches with signed histories. Prints one JSON
object on stdout with the admin key, each cooperative's API key and each batch's
public path.`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg, err := loadConfig(cmd)
			if err != nil {
				return err
			}
			publicURL := cfg.PublicURL
			if publicURL == "" {
				publicURL = "http://" + cfg.Addr
			}
			logger := newLogger(cfg, cmd.ErrOrStderr())
			if err := os.MkdirAll(cfg.Data, 0o700); err != nil {
				return err
			}
			db, err := store.Open(filepath.Join(cfg.Data, "truyxuat.db"), store.Options{Logger: logger})
			if err != nil {
				return err
			}
			defer db.Close()
			coops, err := db.Cooperatives()
			if err != nil {
				return err
			}
			if len(coops) > 0 {
				return fmt.Errorf("%s already holds data; demo fills only an empty data directory", cfg.Data)
			}
			keys, err := store.OpenKeyDir(filepath.Join(cfg.Data, "keys"))
			if err != nil {
				return err
			}
			out, err := seedDemo(cmd.Context(), db, keys, publicURL)
			if err != nil {
				return err
			}
			enc := json.NewEncoder(cmd.OutOrStdout())
			enc.SetIndent("", "  ")
			return enc.Encode(out)
		},
	}
	cmd.Flags().String("addr", defaults["addr"].(string), "listen address the demo's links point to when no public URL is set")
	cmd.Flags().String("public-url", "", "public base URL for the demo's links")
	return cmd
}

// DemoOutput is what `truyxuat demo` prints.
type DemoOutput struct {
	AdminKey     string            `json:"admin_key"`
	Cooperatives []DemoCooperative `json:"cooperatives"`
	Batches      []DemoBatch       `json:"batches"`
}

// DemoCooperative is a demo cooperative and its API key.
type DemoCooperative struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	APIKey string `json:"api_key"`
}

// DemoBatch is a demo batch and its public path.
type DemoBatch struct {
	ID          string `json:"id"`
	Cooperative string `json:"cooperative"`
	GTIN        string `json:"gtin"`
	Lot         string `json:"lot"`
	URL         string `json:"url"`
	Events      int    `json:"events"`
}

var ict = time.FixedZone("ICT", 7*3600)

// gtin completes a 13-digit GTIN body with its check digit, as GTIN-14.
func gtin(body13 string) string { return body13 + string(trace.CheckDigit(body13)) }

func gln(body12 string) string { return body12 + string(trace.CheckDigit(body12)) }

type demoStep struct {
	day      string // YYYY-MM-DD
	clock    string // HH:MM
	step     string
	disp     string
	qty      string // kg
	note     string
	data     map[string]string
	cert     *trace.Certification
	harvest  bool
	location string // plot code for the read point; empty for the cooperative's site
}

type demoBatch struct {
	product string // key into products
	lot     string
	qty     string
	harvest string
	plot    trace.Plot
	plotID  string
	steps   []demoStep
}

type demoCoop struct {
	coop     trace.Cooperative
	products []*trace.Product
	batches  []demoBatch
}

func riceSteps(sow, spray, harvest, qty string, vietgap string) []demoStep {
	return []demoStep{
		{day: sow, clock: "06:00", step: trace.StepSowing, disp: "in_progress", location: "plot",
			note: "Gieo sạ giống ST25 xác nhận, mật độ 80 kg/ha", data: map[string]string{"seed_variety": "ST25", "seed_rate_kg_ha": "80"}},
		{day: addDays(sow, 20), clock: "07:00", step: trace.StepFertilizing, disp: "in_progress", location: "plot",
			note: "Bón thúc lần 1", data: map[string]string{"product": "Phân NPK 20-20-15", "dose_kg_ha": "100"}},
		{day: spray, clock: "16:30", step: trace.StepSpraying, disp: "in_progress", location: "plot",
			note: "Phun phòng đạo ôn cổ bông", data: map[string]string{"product": "Filia 525SE", "active_ingredient": "Propiconazole + Tricyclazole", "dose": "0.4 l/ha", "phi_days": "14"}},
		{day: harvest, clock: "06:30", step: "commissioning", disp: "active", qty: qty, harvest: true, location: "plot",
			note: "Thu hoạch bằng máy gặt đập liên hợp, lúa chín 90%", cert: &trace.Certification{Scheme: "vietgap", ID: vietgap}},
		{day: addDays(harvest, 1), clock: "08:00", step: trace.StepDrying, disp: "in_progress",
			note: "Sấy bằng máy sấy tĩnh vỉ ngang đến độ ẩm 14%", data: map[string]string{"moisture_percent": "14"}},
		{day: addDays(harvest, 5), clock: "09:00", step: "packing", disp: "in_progress", note: "Đóng bao 5 kg, hút chân không"},
	}
}

func addDays(day string, n int) string {
	t, err := time.Parse(time.DateOnly, day)
	if err != nil {
		panic(err)
	}
	return t.AddDate(0, 0, n).Format(time.DateOnly)
}

func demoData() []*demoCoop {
	hoaTuPlot := func(n int, lat, lon float64) trace.Plot {
		return trace.Plot{Name: fmt.Sprintf("Ruộng số %d, ấp Hòa Tú", n), Lat: lat, Lon: lon}
	}
	rice := &demoCoop{
		coop: trace.Cooperative{ID: "htx-hoa-tu", Name: "Hợp tác xã Nông nghiệp Hòa Tú", Province: "Sóc Trăng", GLN: gln("893604000001")},
		products: []*trace.Product{
			{ID: "gao-st25", GTIN: gtin("0893604000101"), NameVI: "Gạo ST25 Hòa Tú", NameEN: "ST25 fragrant rice", Category: "Lúa gạo", OCOPStars: 4},
			{ID: "gao-st24", NameVI: "Gạo ST24 hữu cơ", NameEN: "Organic ST24 rice", Category: "Lúa gạo"},
		},
		batches: []demoBatch{
			{product: "gao-st25", lot: "ST25-2508-A", qty: "6200", harvest: "2025-08-12", plot: hoaTuPlot(7, 9.4712, 105.9381), plotID: "PLOT-07",
				steps: riceSteps("2025-05-05", "2025-07-20", "2025-08-12", "6200", "VG-ST-0451")},
			{product: "gao-st25", lot: "ST25-2508-B", qty: "5400", harvest: "2025-08-14", plot: hoaTuPlot(9, 9.4698, 105.9402), plotID: "PLOT-09",
				steps: riceSteps("2025-05-07", "2025-07-24", "2025-08-14", "5400", "VG-ST-0451")},
			{product: "gao-st25", lot: "ST25-2601-A", qty: "5900", harvest: "2026-01-18", plot: hoaTuPlot(7, 9.4712, 105.9381), plotID: "PLOT-07",
				steps: riceSteps("2025-10-10", "2025-12-26", "2026-01-18", "5900", "VG-ST-0451")},
			{product: "gao-st24", lot: "ST24-2508-HC", qty: "3100", harvest: "2025-08-20", plot: hoaTuPlot(12, 9.4655, 105.9333), plotID: "PLOT-12",
				steps: []demoStep{
					{day: "2025-05-12", clock: "06:00", step: trace.StepSowing, disp: "in_progress", location: "plot", note: "Gieo sạ giống ST24, canh tác hữu cơ luân canh tôm – lúa", data: map[string]string{"seed_variety": "ST24"}},
					{day: "2025-08-20", clock: "06:15", step: "commissioning", disp: "active", qty: "3100", harvest: true, location: "plot", note: "Thu hoạch", cert: &trace.Certification{Scheme: "organic", ID: "HC-VN-2025-118"}},
					{day: "2025-08-22", clock: "10:00", step: "packing", disp: "in_progress", note: "Đóng túi 2 kg"},
				}},
		},
	}
	dragon := &demoCoop{
		coop: trace.Cooperative{ID: "htx-ham-minh", Name: "Hợp tác xã Thanh long Hàm Minh", Province: "Bình Thuận", GLN: gln("893604000002")},
		products: []*trace.Product{
			{ID: "thanh-long-ruot-do", GTIN: gtin("0893604000201"), NameVI: "Thanh long ruột đỏ Hàm Minh", NameEN: "Red-flesh dragon fruit", Category: "Trái cây", OCOPStars: 3},
			{ID: "thanh-long-ruot-trang", GTIN: gtin("0893604000202"), NameVI: "Thanh long ruột trắng", NameEN: "White-flesh dragon fruit", Category: "Trái cây"},
		},
	}
	for i, b := range []struct{ product, lot, qty, spray, harvest string }{
		{"thanh-long-ruot-do", "TLD-2508-01", "2400", "2025-08-01", "2025-08-18"},
		{"thanh-long-ruot-do", "TLD-2509-02", "2650", "2025-09-02", "2025-09-16"},
		{"thanh-long-ruot-trang", "TLT-2508-01", "3100", "2025-08-05", "2025-08-21"},
	} {
		dragon.batches = append(dragon.batches, demoBatch{product: b.product, lot: b.lot, qty: b.qty, harvest: b.harvest,
			plot: trace.Plot{Name: fmt.Sprintf("Vườn thanh long số %d, xã Hàm Minh", i+3), Lat: 10.8712 + float64(i)*0.002, Lon: 107.9734 - float64(i)*0.003}, plotID: fmt.Sprintf("VUON-%02d", i+3),
			steps: []demoStep{
				{day: addDays(b.spray, -30), clock: "18:00", step: trace.StepIrrigating, disp: "in_progress", location: "plot", note: "Thắp đèn xử lý ra hoa trái vụ, tưới nhỏ giọt"},
				{day: b.spray, clock: "06:30", step: trace.StepSpraying, disp: "in_progress", location: "plot", note: "Phun phòng bệnh đốm nâu",
					data: map[string]string{"product": "Antracol 70WP", "active_ingredient": "Propineb", "dose": "2 kg/ha", "phi_days": "7"}},
				{day: b.harvest, clock: "05:45", step: "commissioning", disp: "active", qty: b.qty, harvest: true, location: "plot", note: "Thu hái trái đạt 450–600 g", cert: &trace.Certification{Scheme: "globalgap", ID: "GGN-4063061891234"}},
				{day: b.harvest, clock: "10:00", step: trace.StepSorting, disp: "in_progress", note: "Phân loại, rửa, lau khô"},
				{day: addDays(b.harvest, 1), clock: "08:00", step: "packing", disp: "in_progress", note: "Đóng thùng carton 10 kg"},
				{day: addDays(b.harvest, 1), clock: "15:00", step: "shipping", disp: "in_transit", note: "Xuất cho đại lý tại TP. Hồ Chí Minh"},
			}})
	}
	coffee := &demoCoop{
		coop: trace.Cooperative{ID: "htx-ea-tu", Name: "Hợp tác xã Cà phê Ea Tu", Province: "Đắk Lắk", GLN: gln("893604000003")},
		products: []*trace.Product{
			{ID: "ca-phe-robusta", GTIN: gtin("0893604000301"), NameVI: "Cà phê Robusta nhân xanh Ea Tu", NameEN: "Ea Tu green Robusta coffee", Category: "Cà phê", OCOPStars: 4},
			{ID: "ho-tieu-den", GTIN: gtin("0893604000302"), NameVI: "Hồ tiêu đen Đắk Lắk", NameEN: "Đắk Lắk black pepper", Category: "Gia vị"},
		},
	}
	for i, b := range []struct{ product, lot, qty, harvest string }{
		{"ca-phe-robusta", "ROB-2511-01", "8200", "2025-11-20"},
		{"ca-phe-robusta", "ROB-2512-02", "7600", "2025-12-08"},
		{"ho-tieu-den", "TIEU-2603-01", "1900", "2026-03-10"},
	} {
		steps := []demoStep{
			{day: addDays(b.harvest, -60), clock: "07:00", step: trace.StepFertilizing, disp: "in_progress", location: "plot", note: "Bón phân hữu cơ vi sinh", data: map[string]string{"product": "Phân hữu cơ vi sinh Sông Gianh", "dose_kg_tree": "3"}},
			{day: b.harvest, clock: "06:00", step: "commissioning", disp: "active", qty: b.qty, harvest: true, location: "plot", note: "Hái chọn quả chín trên 95%", cert: &trace.Certification{Scheme: "4c", ID: "4C-EATU-2025-07"}},
			{day: addDays(b.harvest, 2), clock: "08:00", step: trace.StepDrying, disp: "in_progress", note: "Phơi trên giàn lưới đến độ ẩm 12,5%", data: map[string]string{"moisture_percent": "12.5"}},
			{day: addDays(b.harvest, 20), clock: "09:00", step: "packing", disp: "in_progress", note: "Đóng bao đay 60 kg"},
			{day: addDays(b.harvest, 21), clock: "14:00", step: "storing", disp: "active", note: "Nhập kho hợp tác xã"},
		}
		coffee.batches = append(coffee.batches, demoBatch{product: b.product, lot: b.lot, qty: b.qty, harvest: b.harvest,
			plot: trace.Plot{Name: fmt.Sprintf("Rẫy số %d, xã Ea Tu", i+1), Lat: 12.7215 + float64(i)*0.004, Lon: 108.0738 + float64(i)*0.002}, plotID: fmt.Sprintf("RAY-%02d", i+1),
			steps: steps})
	}
	return []*demoCoop{rice, dragon, coffee}
}

// seedDemo writes the demo data through the same store operations the API
// uses, so every event is signed and chained like any other.
func seedDemo(ctx context.Context, db *store.DB, keys *store.KeyDir, publicURL string) (*DemoOutput, error) {
	out := &DemoOutput{}
	admin, err := db.CreateAPIKey(&store.APIKey{Name: "admin", Role: store.RoleAdmin})
	if err != nil {
		return nil, err
	}
	out.AdminKey = admin
	for _, dc := range demoData() {
		coop := dc.coop
		if err := db.CreateCooperative(&coop); err != nil {
			return nil, err
		}
		signer, err := keys.Signer(coop.ID)
		if err != nil {
			return nil, err
		}
		coop.PublicKeys = [][]byte{signer.PublicKey()}
		if err := db.UpdateCooperative(&coop); err != nil {
			return nil, err
		}
		apiKey, err := db.CreateAPIKey(&store.APIKey{Name: coop.Name, Role: store.RoleCooperative, CooperativeID: coop.ID})
		if err != nil {
			return nil, err
		}
		out.Cooperatives = append(out.Cooperatives, DemoCooperative{ID: coop.ID, Name: coop.Name, APIKey: apiKey})
		products := map[string]*trace.Product{}
		for _, p := range dc.products {
			p := *p
			p.CooperativeID = coop.ID
			if err := db.CreateProduct(&p); err != nil {
				return nil, err
			}
			products[p.ID] = &p
		}
		for _, b := range dc.batches {
			p := products[b.product]
			plot := b.plot
			bt := &trace.Batch{CooperativeID: coop.ID, ProductID: p.ID, Lot: b.lot,
				Quantity: trace.Quantity{Value: trace.Decimal(b.qty), Unit: "KGM"}, HarvestDate: b.harvest, Plot: &plot}
			if err := db.CreateBatch(bt); err != nil {
				return nil, err
			}
			site := publicURL + "/414/" + coop.GLN
			for _, s := range b.steps {
				e, err := s.event(coop.ID, bt.ID, site, site+"/254/"+b.plotID, b.harvest)
				if err != nil {
					return nil, fmt.Errorf("batch %s: %w", b.lot, err)
				}
				if _, err := db.Append(ctx, store.AppendRequest{Event: e, Signer: signer, KeyID: "demo"}); err != nil {
					return nil, err
				}
			}
			path := "/b/" + bt.ID
			if p.GTIN != "" {
				path = (&trace.DigitalLink{GTIN: p.GTIN, Lot: bt.Lot}).Path()
			}
			out.Batches = append(out.Batches, DemoBatch{ID: bt.ID, Cooperative: coop.ID, GTIN: p.GTIN, Lot: bt.Lot, URL: path, Events: len(b.steps)})
		}
	}
	if len(out.Batches) < 10 {
		return nil, errors.New("demo data has fewer than 10 batches")
	}
	return out, nil
}

func (s demoStep) event(coop, batch, site, plotURI, harvest string) (*trace.Event, error) {
	t, err := time.ParseInLocation("2006-01-02 15:04", s.day+" "+s.clock, ict)
	if err != nil {
		return nil, err
	}
	et, off := trace.FormatEventTime(t)
	e := &trace.Event{Type: trace.ObjectEvent, Cooperative: coop, Batch: batch, Action: "OBSERVE",
		BizStep: s.step, Disposition: s.disp, EventTime: et, EventTimeZoneOffset: off,
		ReadPoint: site, BizLocation: site, Note: s.note, Data: s.data}
	if s.location == "plot" {
		e.ReadPoint = plotURI
	}
	if s.harvest {
		e.Action = "ADD"
		e.ILMD = &trace.ILMD{HarvestDate: harvest, CountryOfOrigin: "VN"}
	}
	if s.qty != "" {
		e.Quantity = &trace.Quantity{Value: trace.Decimal(s.qty), Unit: "KGM"}
	}
	if s.cert != nil {
		e.Certifications = []trace.Certification{*s.cert}
	}
	return e, nil
}
