package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
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
Đắk Lắk), their products and batches with signed histories, a milled lot made
from two rice lots, and an inspector whose signed inspection is in one rice
lot's chain. Some pepper and coffee lots of Ea Tu deliberately carry the
record-keeping problems the inspection checks look for (each such batch names
its problem); the first batch is clean. Prints one JSON object on stdout with
the admin key, each cooperative's and the inspector's API key and each batch's
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
			st, err := openStore(cmd.Context(), cfg, logger, true)
			if err != nil {
				return err
			}
			db, keys := st.DB, st.Keys
			defer db.Close()
			coops, err := db.Cooperatives()
			if err != nil {
				return err
			}
			if len(coops) > 0 {
				return fmt.Errorf("%s already holds data; demo fills only an empty store", st.Where)
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
	addStoreFlags(cmd)
	return cmd
}

// DemoOutput is what `truyxuat demo` prints.
type DemoOutput struct {
	AdminKey     string            `json:"admin_key"`
	Cooperatives []DemoCooperative `json:"cooperatives"`
	Inspectors   []DemoInspector   `json:"inspectors"`
	Batches      []DemoBatch       `json:"batches"`
	// Users sign in to the workspace (/app/) with these passwords.
	Users []DemoUser `json:"users"`
}

// DemoUser is a demo person of the workspace with their password.
type DemoUser struct {
	Username    string `json:"username"`
	Password    string `json:"password"`
	Role        string `json:"role"`
	Cooperative string `json:"cooperative,omitempty"`
	Inspector   string `json:"inspector,omitempty"`
	Province    string `json:"province,omitempty"` // an agency's province code
}

// demoPassword makes a random password that is easy to type on a phone.
func demoPassword() string {
	const letters = "abcdefghijkmnpqrstuvwxyz23456789"
	b := make([]byte, 12)
	rand.Read(b)
	for i := range b {
		b[i] = letters[int(b[i])%len(letters)]
	}
	return string(b[:4]) + "-" + string(b[4:8]) + "-" + string(b[8:])
}

// addDemoUser creates a person of the workspace with a fresh password.
func addDemoUser(db store.Store, out *DemoOutput, u *store.User) error {
	pw := demoPassword()
	if err := db.CreateUser(u, pw); err != nil {
		return err
	}
	out.Users = append(out.Users, DemoUser{Username: u.Username, Password: pw, Role: string(u.Role),
		Cooperative: u.CooperativeID, Inspector: u.InspectorID, Province: u.Province})
	return nil
}

// DemoInspector is a demo inspector and its API key.
type DemoInspector struct {
	ID     string `json:"id"`
	Name   string `json:"name"`
	APIKey string `json:"api_key"`
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
	// Problem is the kind of finding (trace.Finding*) planted in the
	// batch for the inspection checks to find; empty for a clean batch.
	Problem string `json:"problem,omitempty"`
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
	// inspector: the demo inspector records and signs the step (an
	// inspection), not the cooperative.
	inspector bool
}

type demoBatch struct {
	product string // key into products
	lot     string
	qty     string
	harvest string
	plot    trace.Plot
	plotID  string
	member  string // the member household of the registry it came from
	steps   []demoStep
	problem string // the finding kind planted in the batch
}

type demoCoop struct {
	coop     trace.Cooperative
	products []*trace.Product
	batches  []demoBatch
	merge    *demoMerge
}

// demoMerge mills lots of a cooperative into one new lot.
type demoMerge struct {
	inputs     []int    // indexes into the cooperative's batches
	quantities []string // kg of each input milled
	lot        string
	qty, loss  string // kg
	day, clock string
	note       string
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
		coop: trace.Cooperative{ID: "htx-hoa-tu", Name: "Hợp tác xã Nông nghiệp Hòa Tú", Province: "Thành phố Cần Thơ", GLN: gln("893604000001")},
		products: []*trace.Product{
			{ID: "gao-st25", GTIN: gtin("0893604000101"), NameVI: "Gạo ST25 Hòa Tú", NameEN: "ST25 fragrant rice", Category: "Lúa gạo", OCOPStars: 4},
			{ID: "gao-st24", NameVI: "Gạo ST24 hữu cơ", NameEN: "Organic ST24 rice", Category: "Lúa gạo"},
		},
		batches: []demoBatch{
			{product: "gao-st25", lot: "ST25-2508-A", qty: "6200", harvest: "2025-08-12", plot: hoaTuPlot(7, 9.4712, 105.9381), plotID: "PLOT-07", member: "ho-lam-van-tam",
				steps: riceSteps("2025-05-05", "2025-07-20", "2025-08-12", "6200", "VG-ST-0451")},
			{product: "gao-st25", lot: "ST25-2508-B", qty: "5400", harvest: "2025-08-14", plot: hoaTuPlot(9, 9.4698, 105.9402), plotID: "PLOT-09", member: "ho-tran-thi-muoi",
				steps: append(riceSteps("2025-05-07", "2025-07-24", "2025-08-14", "5400", "VG-ST-0451"),
					// The province's quality agency samples the lot and signs the result.
					demoStep{day: "2025-08-21", clock: "09:30", step: "sampling", disp: "conformant", inspector: true,
						note: "Lấy mẫu gạo kiểm nghiệm dư lượng thuốc bảo vệ thực vật: không phát hiện vượt mức giới hạn tối đa",
						data: map[string]string{"sample_id": "KN-ST-2508-117", "lab": "Trung tâm Kỹ thuật Tiêu chuẩn Đo lường Chất lượng Sóc Trăng"}})},
			{product: "gao-st25", lot: "ST25-2601-A", qty: "5900", harvest: "2026-01-18", plot: hoaTuPlot(7, 9.4712, 105.9381), plotID: "PLOT-07",
				steps: riceSteps("2025-10-10", "2025-12-26", "2026-01-18", "5900", "VG-ST-0451")},
			{product: "gao-st24", lot: "ST24-2508-HC", qty: "3100", harvest: "2025-08-20", plot: hoaTuPlot(12, 9.4655, 105.9333), plotID: "PLOT-12", member: "ho-thach-so-phal",
				steps: []demoStep{
					{day: "2025-05-12", clock: "06:00", step: trace.StepSowing, disp: "in_progress", location: "plot", note: "Gieo sạ giống ST24, canh tác hữu cơ luân canh tôm – lúa", data: map[string]string{"seed_variety": "ST24"}},
					{day: "2025-08-20", clock: "06:15", step: "commissioning", disp: "active", qty: "3100", harvest: true, location: "plot", note: "Thu hoạch", cert: &trace.Certification{Scheme: "organic", ID: "HC-VN-2025-118"}},
					{day: "2025-08-22", clock: "10:00", step: "packing", disp: "in_progress", note: "Đóng túi 2 kg"},
				}},
		},
		// Two lots of the summer–autumn crop milled together: lineage from
		// the milled rice back to both fields.
		merge: &demoMerge{inputs: []int{0, 1}, quantities: []string{"3000", "2000"}, lot: "ST25-XAY-2508",
			qty: "3400", loss: "1600", day: "2025-08-22", clock: "08:00",
			note: "Xay xát, tách trấu và cám; gộp hai lô lúa ST25 vụ hè thu thành gạo trắng"},
	}
	dragon := &demoCoop{
		coop: trace.Cooperative{ID: "htx-ham-minh", Name: "Hợp tác xã Thanh long Hàm Minh", Province: "Lâm Đồng", GLN: gln("893604000002")},
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
	// A lot that claims the cooperative's VietGAP certificate, which
	// expired on 31/05/2024, more than a year before the harvest.
	dragon.batches = append(dragon.batches, demoBatch{product: "thanh-long-ruot-do", lot: "TLD-2510-04", qty: "1800", harvest: "2025-10-06",
		plot: trace.Plot{Name: "Vườn thanh long số 3, xã Hàm Minh", Lat: 10.8712, Lon: 107.9734}, plotID: "VUON-03", member: "ho-nguyen-van-hung",
		problem: trace.FindingCertificateInvalid,
		steps: []demoStep{
			{day: "2025-10-06", clock: "05:30", step: "commissioning", disp: "active", qty: "1800", harvest: true, location: "plot",
				note: "Thu hái đợt cuối vụ nghịch", cert: &trace.Certification{Scheme: "vietgap", ID: "VG-BT-0087"}},
			{day: "2025-10-07", clock: "07:30", step: "packing", disp: "in_progress", note: "Đóng thùng 5 kg cho chợ đầu mối"},
		}})
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
	// Lots with the record-keeping problems field reports name, for the
	// inspection checks to find. All four sprayings record the same
	// pre-harvest interval, 7 days, for four different pesticides: a
	// copied default.
	spray := func(day, product, ingredient, dose, note string) demoStep {
		return demoStep{day: day, clock: "07:00", step: trace.StepSpraying, disp: "in_progress", location: "plot", note: note,
			data: map[string]string{"product": product, "active_ingredient": ingredient, "dose": dose, "phi_days": "7"}}
	}
	harvest := func(day, qty, note string) demoStep {
		return demoStep{day: day, clock: "06:00", step: "commissioning", disp: "active", qty: qty, harvest: true, location: "plot", note: note}
	}
	for i, b := range []struct {
		product, lot, qty, harvest, problem string
		steps                               []demoStep
	}{
		// Harvested 4 days after a spraying whose interval is 7 days.
		{"ho-tieu-den", "TIEU-2604-02", "1500", "2026-04-06", trace.FindingPreHarvestInterval, []demoStep{
			spray("2026-04-02", "Anvil 5SC", "Hexaconazole", "1 l/ha", "Phun phòng bệnh thán thư trên vườn tiêu"),
			harvest("2026-04-06", "1500", "Thu hái chùm tiêu có hạt chín đỏ")}},
		// Drying recorded after the harvest but dated two days before it.
		{"ho-tieu-den", "TIEU-2604-03", "1700", "2026-04-20", trace.FindingOutOfOrder, []demoStep{
			spray("2026-03-01", "Ridomil Gold 68WG", "Metalaxyl-M + Mancozeb", "2.5 kg/ha", "Phun phòng bệnh chết nhanh sau mưa đầu mùa"),
			harvest("2026-04-20", "1700", "Thu hái tiêu vụ chính trên rẫy số 5"),
			{day: "2026-04-18", clock: "08:00", step: trace.StepDrying, disp: "in_progress", note: "Phơi tiêu trên sân xi măng, đảo đều mỗi ngày",
				data: map[string]string{"moisture_percent": "13"}}}},
		// A harvest of 4800 kg on a lot registered with 4000 kg.
		{"ca-phe-robusta", "ROB-2601-03", "4000", "2026-01-12", trace.FindingUnbalanced, []demoStep{
			spray("2025-11-20", "Regent 800WG", "Fipronil", "0.03 kg/ha", "Phun trừ rệp sáp hại quả"),
			harvest("2026-01-12", "4800", "Hái quả chín đợt cuối, vụ muộn")}},
		{"ca-phe-robusta", "ROB-2601-04", "3600", "2026-01-20", trace.FindingCopiedValues, []demoStep{
			spray("2025-12-01", "Actara 25WG", "Thiamethoxam", "0.2 kg/ha", "Phun trừ rệp vảy xanh trên cành"),
			harvest("2026-01-20", "3600", "Hái quả chín, thu dọn cuối vụ")}},
	} {
		coffee.batches = append(coffee.batches, demoBatch{product: b.product, lot: b.lot, qty: b.qty, harvest: b.harvest,
			plot: trace.Plot{Name: fmt.Sprintf("Rẫy số %d, xã Ea Tu", i+4), Lat: 12.7331 + float64(i)*0.003, Lon: 108.0802 - float64(i)*0.002}, plotID: fmt.Sprintf("RAY-%02d", i+4),
			steps: b.steps, problem: b.problem})
	}
	return []*demoCoop{rice, dragon, coffee}
}

// seedDemo writes the demo data through the same store operations the API
// uses, so every event is signed and chained like any other.
func seedDemo(ctx context.Context, db store.Store, keys store.Keys, publicURL string) (*DemoOutput, error) {
	out := &DemoOutput{}
	admin, err := db.CreateAPIKey(&store.APIKey{Name: "admin", Role: store.RoleAdmin})
	if err != nil {
		return nil, err
	}
	out.AdminKey = admin
	insp := &trace.Inspector{Name: "Trần Thị Mai", Agency: "Chi cục Quản lý Chất lượng Nông lâm sản và Thủy sản Sóc Trăng"}
	if err := db.CreateInspector(insp); err != nil {
		return nil, err
	}
	inspSigner, err := keys.Signer(store.InspectorKeyName(insp.ID))
	if err != nil {
		return nil, err
	}
	if _, _, err := db.AddInspectorKey(insp.ID, inspSigner.PublicKey()); err != nil {
		return nil, err
	}
	inspKey, err := db.CreateAPIKey(&store.APIKey{Name: insp.Name, Role: store.RoleInspector, InspectorID: insp.ID})
	if err != nil {
		return nil, err
	}
	out.Inspectors = append(out.Inspectors, DemoInspector{ID: insp.ID, Name: insp.Name, APIKey: inspKey})
	for _, dc := range demoData() {
		coop := dc.coop
		if err := demoProfile(db, &coop); err != nil {
			return nil, err
		}
		if err := db.CreateCooperative(&coop); err != nil {
			return nil, err
		}
		// The store made the key it signs with for the cooperative.
		signer, err := db.SignerFor(coop.ID)
		if err != nil {
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
			p.CooperativeID, p.CreatedBy = coop.ID, "demo"
			if err := demoContent(db, &p); err != nil {
				return nil, err
			}
			if err := db.CreateProduct(&p); err != nil {
				return nil, err
			}
			products[p.ID] = &p
		}
		if err := seedRegistry(ctx, db, coop.ID); err != nil {
			return nil, fmt.Errorf("demo registry of %s: %w", coop.ID, err)
		}
		site := publicURL + "/414/" + coop.GLN
		var made []*trace.Batch
		for _, b := range dc.batches {
			p := products[b.product]
			plot := b.plot
			bt := &trace.Batch{CooperativeID: coop.ID, ProductID: p.ID, Lot: b.lot,
				Quantity: trace.Quantity{Value: trace.Decimal(b.qty), Unit: "KGM"}, HarvestDate: b.harvest, Plot: &plot, CreatedBy: "demo", Member: b.member}
			for _, s := range b.steps {
				// The lot claims the certificates its harvest is recorded under.
				if s.cert != nil && !slices.Contains(bt.Certifications, *s.cert) {
					bt.Certifications = append(bt.Certifications, *s.cert)
				}
			}
			if err := db.CreateBatch(bt); err != nil {
				return nil, err
			}
			made = append(made, bt)
			for _, s := range b.steps {
				e, err := s.event(coop.ID, bt.ID, site, site+"/254/"+b.plotID, b.harvest)
				if err != nil {
					return nil, fmt.Errorf("batch %s: %w", b.lot, err)
				}
				req := store.AppendRequest{Event: e, Signer: signer, KeyID: "demo"}
				if s.inspector {
					req.Signer = inspSigner
				}
				if _, err := db.Append(ctx, req); err != nil {
					return nil, err
				}
			}
			out.Batches = append(out.Batches, DemoBatch{ID: bt.ID, Cooperative: coop.ID, GTIN: p.GTIN, Lot: bt.Lot,
				URL: demoPath(bt, p), Events: 1 + len(b.steps), Problem: b.problem}) // the lot's facts, then its steps
		}
		if m := dc.merge; m != nil {
			bt, err := m.apply(ctx, db, signer, &coop, made, site)
			if err != nil {
				return nil, fmt.Errorf("demo merge: %w", err)
			}
			p := products[bt.ProductID]
			out.Batches = append(out.Batches, DemoBatch{ID: bt.ID, Cooperative: coop.ID, GTIN: p.GTIN, Lot: bt.Lot, URL: demoPath(bt, p), Events: 2})
		}
	}
	if err := addDemoUser(db, out, &store.User{Username: "admin", Name: "Quản trị viên", Role: store.RoleAdmin}); err != nil {
		return nil, err
	}
	if err := addDemoUser(db, out, &store.User{Username: "kiemtra", Name: insp.Name, Role: store.RoleInspector, InspectorID: insp.ID}); err != nil {
		return nil, err
	}
	// A provincial agency reads the registries of Cần Thơ's cooperatives.
	if err := addDemoUser(db, out, &store.User{Username: "sonongnghiep", Name: "Sở Nông nghiệp và Môi trường Cần Thơ", Role: store.RoleAgency, Province: "92"}); err != nil {
		return nil, err
	}
	for i, dc := range out.Cooperatives {
		name := "thuky"
		if i > 0 {
			name = fmt.Sprintf("thuky%d", i+1)
		}
		if err := addDemoUser(db, out, &store.User{Username: name, Name: "Thư ký " + dc.Name, Role: store.RoleCooperative, CooperativeID: dc.ID}); err != nil {
			return nil, err
		}
	}
	if len(out.Batches) < 10 {
		return nil, errors.New("demo data has fewer than 10 batches")
	}
	return out, nil
}

func demoPath(bt *trace.Batch, p *trace.Product) string {
	if p.GTIN != "" {
		return (&trace.DigitalLink{GTIN: p.GTIN, Lot: bt.Lot}).Path()
	}
	return "/b/" + bt.ID
}

// apply records the merge as the API's transformations do: the new lot and
// its TransformationEvent, linked to the inputs' heads, balanced, in one
// atomic change.
func (m *demoMerge) apply(ctx context.Context, db store.Store, signer *trace.Signer, coop *trace.Cooperative, batches []*trace.Batch, site string) (*trace.Batch, error) {
	first := batches[m.inputs[0]]
	kg := func(v string) *trace.Quantity { return &trace.Quantity{Value: trace.Decimal(v), Unit: "KGM"} }
	var inputs []trace.Input
	for i, idx := range m.inputs {
		_, head, err := db.Head(batches[idx].ID)
		if err != nil {
			return nil, err
		}
		inputs = append(inputs, trace.Input{Batch: batches[idx].ID, Hash: head, Quantity: kg(m.quantities[i])})
	}
	out := &trace.Batch{ID: store.NewID(), CooperativeID: coop.ID, ProductID: first.ProductID, Lot: m.lot,
		Quantity: *kg(m.qty), HarvestDate: first.HarvestDate, Plot: first.Plot, CreatedBy: "demo"}
	outputs := []trace.Output{{Batch: out.ID, Quantity: kg(m.qty)}}
	if err := trace.CheckBalance(inputs, outputs, kg(m.loss), nil); err != nil {
		return nil, err
	}
	t, err := time.ParseInLocation("2006-01-02 15:04", m.day+" "+m.clock, ict)
	if err != nil {
		return nil, err
	}
	et, off := trace.FormatEventTime(t)
	e := &trace.Event{Type: trace.TransformationEvent, Cooperative: coop.ID, Batch: out.ID, BizStep: trace.StepMilling,
		Disposition: "active", EventTime: et, EventTimeZoneOffset: off, ReadPoint: site, BizLocation: site, Note: m.note,
		Inputs: inputs, Outputs: outputs, Loss: kg(m.loss)}
	if err := e.Validate(); err != nil {
		return nil, err
	}
	_, err = db.Apply(ctx, store.Change{NewBatches: []*trace.Batch{out},
		Events: []store.AppendRequest{{Event: e, Signer: signer, KeyID: "demo"}}})
	return out, err
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
