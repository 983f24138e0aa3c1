package main

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"math"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// The demo cooperatives' registries: full profiles (2025 province and
// commune codes, contact, representative, logo), product content in
// Vietnamese, English and Chinese with photos, member households, plots
// with their planting-area and packing-house codes, certificates (one of
// them expired) and where to buy. Logos and photos are drawn here, small,
// rather than kept as files.

type demoRegistry struct {
	profile  map[string]string
	logo     color.RGBA
	content  map[string]map[string]string // product id → content
	photos   map[string]demoPhoto         // product id → how its photo is drawn
	members  []map[string]string
	plots    []map[string]string
	certs    []map[string]string
	listings []map[string]string
}

// demoPhoto draws a product photo: a sky, a field of rows and fruit.
type demoPhoto struct {
	field, fruit color.RGBA
	fruits       int
	oval         bool
}

var demoRegistries = map[string]*demoRegistry{
	"htx-hoa-tu": {
		profile: map[string]string{"short_name": "HTX Hòa Tú", "registration_no": "2200456781", "province_code": "92", "commune_code": "31717",
			"address": "Ấp Hòa Đê", "phone": "02993851234", "zalo": "0912345678", "email": "htx.hoatu@example.vn",
			"website": "https://hoatu.example.vn", "representative": "Lâm Văn Tâm", "founded": "2016-03-15",
			"description_vi": "Hợp tác xã trồng lúa ST25 luân canh với tôm trên đất giồng cát ven biển, 42 hộ thành viên.",
			"description_en": "A cooperative of 42 households growing ST25 rice in rotation with shrimp on coastal sandy soil.",
			"description_zh": "由42户社员组成的合作社，在沿海沙地上以稻虾轮作方式种植ST25大米。"},
		logo: color.RGBA{0x2d, 0x6a, 0x1f, 0xff},
		content: map[string]map[string]string{
			"gao-st25": {"name_zh": "和秀ST25香米", "variety_vi": "ST25", "variety_en": "ST25", "variety_zh": "ST25",
				"description_vi": "Gạo thơm ST25 trồng luân canh tôm – lúa, hạt dài, cơm mềm dẻo.",
				"description_en": "Fragrant ST25 rice grown in a shrimp–rice rotation: long grains, soft and sticky when cooked.",
				"description_zh": "虾稻轮作种植的ST25香米，米粒细长，口感软糯。",
				"ingredients_vi": "100% gạo ST25", "ingredients_en": "100% ST25 rice", "ingredients_zh": "100% ST25大米"},
			"gao-st24": {"name_zh": "有机ST24大米", "variety_vi": "ST24", "variety_en": "ST24", "variety_zh": "ST24",
				"description_vi": "Gạo ST24 canh tác hữu cơ, không dùng phân bón hóa học.",
				"description_en": "Organic ST24 rice, grown without chemical fertilisers.",
				"description_zh": "有机种植的ST24大米，不使用化肥。"},
		},
		photos: map[string]demoPhoto{
			"gao-st25": {field: color.RGBA{0xd9, 0xb8, 0x3c, 0xff}, fruit: color.RGBA{0xf5, 0xf0, 0xe0, 0xff}, fruits: 40, oval: true},
			"gao-st24": {field: color.RGBA{0x9c, 0xb8, 0x4c, 0xff}, fruit: color.RGBA{0xfb, 0xf8, 0xee, 0xff}, fruits: 30, oval: true},
		},
		members: []map[string]string{
			{"name": "Hộ Lâm Văn Tâm", "code": "HT-001", "commune_code": "31717", "address": "Ấp Hòa Đê", "area_ha": "2.5", "crops": "Lúa ST25, tôm sú", "phone": "0912345678", "joined": "2016-03-15"},
			{"name": "Hộ Trần Thị Mười", "code": "HT-002", "commune_code": "31717", "address": "Ấp Hòa Đê", "area_ha": "1.8", "crops": "Lúa ST25", "joined": "2016-03-15"},
			{"name": "Hộ Thạch Sô Phal", "code": "HT-003", "commune_code": "31717", "address": "Ấp Hòa Khanh", "area_ha": "3.2", "crops": "Lúa ST24 hữu cơ, tôm càng xanh", "joined": "2018-07-01"},
		},
		plots: []map[string]string{
			{"name": "Ruộng số 7, ấp Hòa Tú", "area_ha": "1.2", "crop": "Lúa ST25", "member": "ho-lam-van-tam", "commune_code": "31717",
				"location":      `{"type":"Polygon","coordinates":[[[105.9371,9.4705],[105.9391,9.4705],[105.9391,9.4719],[105.9371,9.4719],[105.9371,9.4705]]]}`,
				"planting_code": "VN-CTPUC-0451", "planting_code_valid_from": "2025-03-01", "planting_code_valid_to": "2028-02-29"},
			{"name": "Ruộng số 9, ấp Hòa Tú", "area_ha": "1.1", "crop": "Lúa ST25", "member": "ho-tran-thi-muoi", "commune_code": "31717",
				"location":      `{"type":"Point","coordinates":[105.9402,9.4698]}`,
				"planting_code": "VN-CTPUC-0452", "planting_code_valid_from": "2025-03-01", "planting_code_valid_to": "2028-02-29"},
			{"name": "Ruộng số 12, ấp Hòa Tú", "area_ha": "2.4", "crop": "Lúa ST24 hữu cơ", "member": "ho-thach-so-phal", "commune_code": "31717",
				"location": `{"type":"Point","coordinates":[105.9333,9.4655]}`},
		},
		certs: []map[string]string{
			{"scheme": "vietgap", "number": "VG-ST-0451", "issuer": "Trung tâm Chứng nhận Phù hợp (QUACERT)", "valid_from": "2025-03-01", "valid_to": "2028-02-29", "products": "gao-st25", "plots": "ruong-so-7-ap-hoa-tu ruong-so-9-ap-hoa-tu"},
			{"scheme": "organic", "number": "HC-VN-2025-118", "issuer": "Trung tâm Chứng nhận Phù hợp (QUACERT)", "valid_from": "2025-01-15", "valid_to": "2028-01-14", "products": "gao-st24", "plots": "ruong-so-12-ap-hoa-tu"},
			{"scheme": "ocop", "number": "OCOP-ST-2025-041", "issuer": "UBND tỉnh Sóc Trăng", "valid_from": "2025-06-20", "valid_to": "2028-06-19", "ocop_stars": "4", "products": "gao-st25"},
		},
		listings: []map[string]string{
			{"platform": "website", "label": "Cửa hàng Hòa Tú", "url": "https://hoatu.example.vn/cua-hang"},
			{"platform": "shopee", "label": "Gạo ST25 Hòa Tú trên Shopee", "url": "https://shopee.vn/gao-st25-hoa-tu", "product": "gao-st25"},
			{"platform": "postmart", "label": "Gạo ST25 Hòa Tú trên Postmart", "url": "https://postmart.vn/gao-st25-hoa-tu", "product": "gao-st25"},
		},
	},
	"htx-ham-minh": {
		profile: map[string]string{"short_name": "HTX Hàm Minh", "registration_no": "3400567892", "province_code": "68", "commune_code": "23110",
			"address": "Thôn Minh Thành", "phone": "02523862345", "zalo": "0987654321", "email": "thanhlong.hamminh@example.vn",
			"representative": "Nguyễn Văn Hùng", "founded": "2012-09-01",
			"description_vi": "Hợp tác xã thanh long xuất khẩu, có nhà đóng gói đạt mã số xuất khẩu.",
			"description_en": "An export dragon fruit cooperative with a registered packing house.",
			"description_zh": "出口火龙果合作社，拥有注册包装厂。"},
		logo: color.RGBA{0xc2, 0x18, 0x5b, 0xff},
		content: map[string]map[string]string{
			"thanh-long-ruot-do": {"name_zh": "咸明红心火龙果", "variety_vi": "Thanh long ruột đỏ LĐ5", "variety_en": "Red-flesh dragon fruit LĐ5", "variety_zh": "红心火龙果LĐ5",
				"description_vi": "Trái 450–600 g, ruột đỏ, ngọt đậm.", "description_en": "Fruits of 450–600 g with sweet red flesh.", "description_zh": "单果450–600克，红肉香甜。"},
			"thanh-long-ruot-trang": {"name_zh": "白心火龙果", "variety_vi": "Thanh long ruột trắng", "variety_en": "White-flesh dragon fruit", "variety_zh": "白心火龙果",
				"description_vi": "Thanh long ruột trắng Bình Thuận truyền thống.", "description_en": "Traditional white-flesh dragon fruit of Bình Thuận.", "description_zh": "平顺传统白心火龙果。"},
		},
		photos: map[string]demoPhoto{
			"thanh-long-ruot-do":    {field: color.RGBA{0x4c, 0x8c, 0x3a, 0xff}, fruit: color.RGBA{0xe0, 0x2a, 0x6f, 0xff}, fruits: 9},
			"thanh-long-ruot-trang": {field: color.RGBA{0x4c, 0x8c, 0x3a, 0xff}, fruit: color.RGBA{0xef, 0x5b, 0x8c, 0xff}, fruits: 7},
		},
		members: []map[string]string{
			{"name": "Hộ Nguyễn Văn Hùng", "code": "HM-01", "commune_code": "23110", "area_ha": "1.5", "crops": "Thanh long ruột đỏ", "phone": "0987654321", "joined": "2012-09-01"},
			{"name": "Hộ Phan Thị Lan", "code": "HM-02", "commune_code": "23110", "area_ha": "0.9", "crops": "Thanh long ruột trắng", "joined": "2014-02-10"},
		},
		plots: []map[string]string{
			{"name": "Vườn thanh long số 3, xã Hàm Minh", "area_ha": "0.8", "crop": "Thanh long ruột đỏ", "member": "ho-nguyen-van-hung", "commune_code": "23110",
				"location":      `{"type":"Point","coordinates":[107.9734,10.8712]}`,
				"planting_code": "VN-LDPUC-0127", "planting_code_valid_from": "2025-05-01", "planting_code_valid_to": "2028-04-30",
				"packing_code": "VN-LDPH-0031", "packing_code_valid_from": "2025-05-01", "packing_code_valid_to": "2028-04-30"},
			{"name": "Vườn thanh long số 5, xã Hàm Minh", "area_ha": "0.9", "crop": "Thanh long ruột trắng", "member": "ho-phan-thi-lan", "commune_code": "23110",
				"location":      `{"type":"Point","coordinates":[107.9674,10.8752]}`,
				"planting_code": "VN-LDPUC-0128", "planting_code_valid_from": "2025-05-01", "planting_code_valid_to": "2028-04-30"},
		},
		certs: []map[string]string{
			{"scheme": "globalgap", "number": "GGN-4063061891234", "issuer": "Control Union Việt Nam", "valid_from": "2025-01-01", "valid_to": "2027-12-31"},
			// Expired: lots harvested after 31/05/2024 may not claim it.
			{"scheme": "vietgap", "number": "VG-BT-0087", "issuer": "Chi cục Trồng trọt và Bảo vệ thực vật Bình Thuận", "valid_from": "2021-06-01", "valid_to": "2024-05-31", "products": "thanh-long-ruot-do"},
			{"scheme": "ocop", "number": "OCOP-BT-2025-012", "issuer": "UBND tỉnh Bình Thuận", "valid_from": "2025-04-01", "valid_to": "2028-03-31", "ocop_stars": "3", "products": "thanh-long-ruot-do"},
		},
		listings: []map[string]string{
			{"platform": "lazada", "label": "Thanh long Hàm Minh trên Lazada", "url": "https://www.lazada.vn/thanh-long-ham-minh", "product": "thanh-long-ruot-do"},
			{"platform": "tiktok", "label": "Thanh long Hàm Minh trên TikTok Shop", "url": "https://www.tiktok.com/@thanhlonghamminh"},
		},
	},
	"htx-ea-tu": {
		profile: map[string]string{"short_name": "HTX Ea Tu", "registration_no": "6000678903", "province_code": "66", "commune_code": "24163",
			"address": "Buôn Ea Tu", "phone": "02623951234", "zalo": "0905123456", "email": "caphe.eatu@example.vn",
			"website": "https://eatu.example.vn", "representative": "Y Bhim Niê", "founded": "2019-11-20",
			"description_vi": "Hợp tác xã cà phê Robusta và hồ tiêu của đồng bào Ê Đê, sản xuất theo chuẩn 4C.",
			"description_en": "A cooperative of Ê Đê growers of Robusta coffee and pepper, farming to the 4C standard.",
			"description_zh": "由埃地族农户组成的罗布斯塔咖啡和胡椒合作社，按4C标准生产。"},
		logo: color.RGBA{0x6d, 0x3b, 0x1e, 0xff},
		content: map[string]map[string]string{
			"ca-phe-robusta": {"name_zh": "埃图罗布斯塔生咖啡豆", "variety_vi": "Robusta TR4", "variety_en": "Robusta TR4", "variety_zh": "罗布斯塔TR4",
				"description_vi": "Cà phê nhân xanh hái chín trên 95%, phơi giàn.", "description_en": "Green coffee from cherries picked over 95% ripe, dried on raised beds.", "description_zh": "95%以上成熟采摘，架上晾晒的生咖啡豆。"},
			"ho-tieu-den": {"name_zh": "多乐黑胡椒", "variety_vi": "Vĩnh Linh", "variety_en": "Vĩnh Linh", "variety_zh": "永灵",
				"description_vi": "Tiêu đen phơi nắng, hạt chắc, cay nồng.", "description_en": "Sun-dried black pepper: firm, pungent berries.", "description_zh": "日晒黑胡椒，颗粒饱满，辛辣浓郁。"},
		},
		photos: map[string]demoPhoto{
			"ca-phe-robusta": {field: color.RGBA{0x3e, 0x6b, 0x2f, 0xff}, fruit: color.RGBA{0x8a, 0x5a, 0x2b, 0xff}, fruits: 24, oval: true},
			"ho-tieu-den":    {field: color.RGBA{0x55, 0x7a, 0x35, 0xff}, fruit: color.RGBA{0x2a, 0x22, 0x1c, 0xff}, fruits: 36},
		},
		members: []map[string]string{
			{"name": "Hộ Y Bhim Niê", "code": "ET-01", "commune_code": "24163", "area_ha": "2", "crops": "Cà phê Robusta", "phone": "0905123456", "joined": "2019-11-20"},
			{"name": "Hộ H'Nga Êban", "code": "ET-02", "commune_code": "24163", "area_ha": "1.3", "crops": "Cà phê Robusta, hồ tiêu", "joined": "2019-11-20"},
			{"name": "Hộ Lê Văn Sáu", "code": "ET-03", "commune_code": "24163", "area_ha": "1.6", "crops": "Hồ tiêu", "joined": "2021-04-05"},
		},
		plots: []map[string]string{
			{"name": "Rẫy số 1, xã Ea Tu", "area_ha": "1.1", "crop": "Cà phê Robusta", "member": "ho-y-bhim-nie", "commune_code": "24163",
				"location":      `{"type":"Point","coordinates":[108.0738,12.7215]}`,
				"planting_code": "VN-DLKPUC-0210", "planting_code_valid_from": "2025-01-01", "planting_code_valid_to": "2028-12-31"},
			{"name": "Rẫy số 3, xã Ea Tu", "area_ha": "0.9", "crop": "Hồ tiêu", "member": "ho-le-van-sau", "commune_code": "24163",
				"location": `{"type":"Point","coordinates":[108.0778,12.7295]}`},
		},
		certs: []map[string]string{
			{"scheme": "4c", "number": "4C-EATU-2025-07", "issuer": "4C Services GmbH", "valid_from": "2025-07-01", "valid_to": "2028-06-30", "products": "ca-phe-robusta"},
			{"scheme": "ocop", "number": "OCOP-DL-2025-088", "issuer": "UBND tỉnh Đắk Lắk", "valid_from": "2025-09-01", "valid_to": "2028-08-31", "ocop_stars": "4", "products": "ca-phe-robusta"},
		},
		listings: []map[string]string{
			{"platform": "shop", "label": "Cửa hàng HTX Ea Tu, Buôn Ma Thuột", "url": "https://eatu.example.vn/cua-hang"},
			{"platform": "tiki", "label": "Cà phê Ea Tu trên Tiki", "url": "https://tiki.vn/ca-phe-ea-tu", "product": "ca-phe-robusta"},
		},
	},
}

// profileOf completes a demo cooperative with its registry profile and
// the logo it stores first.
func demoProfile(db store.Store, coop *trace.Cooperative) error {
	reg := demoRegistries[coop.ID]
	if reg == nil {
		return nil
	}
	coop.Profile = map[string]string{}
	for k, v := range reg.profile {
		coop.Profile[k] = v
	}
	logo, err := demoImage(db, coop.ID, drawLogo(reg.logo), "image/png")
	if err != nil {
		return err
	}
	coop.Profile["logo"] = logo
	return nil
}

// demoContent gives a demo product its content and a photo.
func demoContent(db store.Store, p *trace.Product) error {
	reg := demoRegistries[p.CooperativeID]
	if reg == nil || reg.content[p.ID] == nil {
		return nil
	}
	p.Content = map[string]string{}
	for k, v := range reg.content[p.ID] {
		p.Content[k] = v
	}
	if ph, ok := reg.photos[p.ID]; ok {
		h, err := demoImage(db, p.CooperativeID, ph.draw(), "image/jpeg")
		if err != nil {
			return err
		}
		p.Content["photos"] = h
	}
	return nil
}

// seedRegistry signs a demo cooperative's members, plots, certificates
// and listings, in that order (plots name members, certificates plots).
func seedRegistry(ctx context.Context, db store.Store, coop string) error {
	reg := demoRegistries[coop]
	if reg == nil {
		return nil
	}
	for _, list := range []struct {
		kind    trace.RecordKind
		entries []map[string]string
	}{{trace.KindMember, reg.members}, {trace.KindPlot, reg.plots}, {trace.KindCertificate, reg.certs}, {trace.KindListing, reg.listings}} {
		var writes []store.EntryWrite
		for _, f := range list.entries {
			name := f["name"]
			switch list.kind {
			case trace.KindCertificate:
				name = f["scheme"] + " " + f["number"]
			case trace.KindListing:
				name = f["platform"] + " " + f["label"]
			}
			writes = append(writes, store.EntryWrite{Kind: list.kind, Create: true, IDHint: name, Fields: f})
		}
		if _, err := db.PutEntries(ctx, coop, writes, "demo"); err != nil {
			return err
		}
	}
	return nil
}

func demoImage(db store.Store, coop string, img image.Image, mt string) (string, error) {
	var buf bytes.Buffer
	var err error
	if mt == "image/png" {
		err = png.Encode(&buf, img)
	} else {
		err = jpeg.Encode(&buf, img, &jpeg.Options{Quality: 80})
	}
	if err != nil {
		return "", err
	}
	b := img.Bounds()
	info, _, err := db.PutAttachment(store.AttachmentInfo{MediaType: mt, Width: b.Dx(), Height: b.Dy(), CooperativeID: coop, KeyID: "demo"}, buf.Bytes())
	if err != nil {
		return "", err
	}
	return info.SHA256.String(), nil
}

// drawLogo draws a round badge with three leaves.
func drawLogo(c color.RGBA) image.Image {
	const n = 128
	img := image.NewRGBA(image.Rect(0, 0, n, n))
	for y := 0; y < n; y++ {
		for x := 0; x < n; x++ {
			dx, dy := float64(x)-63.5, float64(y)-63.5
			r := math.Hypot(dx, dy)
			switch {
			case r < 60:
				img.Set(x, y, c)
				// Three leaves: ellipses turned around the centre.
				for k := 0; k < 3; k++ {
					a := float64(k)*2*math.Pi/3 - math.Pi/2
					u := dx*math.Cos(a) + dy*math.Sin(a) - 22
					v := -dx*math.Sin(a) + dy*math.Cos(a)
					if u*u/400+v*v/90 < 1 {
						img.Set(x, y, color.RGBA{0xf4, 0xf1, 0xe4, 0xff})
					}
				}
			case r < 63:
				img.Set(x, y, color.RGBA{0xf4, 0xf1, 0xe4, 0xff})
			default:
				img.Set(x, y, color.RGBA{0xff, 0xff, 0xff, 0xff})
			}
		}
	}
	return img
}

// draw paints a product photo: sky, rows of a field, and fruit or grains.
func (p demoPhoto) draw() image.Image {
	const w, h = 640, 480
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			if y < h/3 {
				t := float64(y) / float64(h/3)
				img.Set(x, y, color.RGBA{uint8(120 + 100*t), uint8(180 + 50*t), 0xf0, 0xff})
				continue
			}
			shade := 0.85 + 0.15*math.Sin(float64(x)/18+float64(y)/40)
			img.Set(x, y, color.RGBA{uint8(float64(p.field.R) * shade), uint8(float64(p.field.G) * shade), uint8(float64(p.field.B) * shade), 0xff})
		}
	}
	for i := 0; i < p.fruits; i++ {
		// A fixed scatter, the same on every run.
		cx := 40 + float64((i*137)%560)
		cy := float64(h/3+30) + float64((i*89)%(2*h/3-60))
		rx, ry := 26.0, 26.0
		if p.oval {
			rx, ry = 16, 9
		}
		for y := int(cy - ry); y <= int(cy+ry); y++ {
			for x := int(cx - rx); x <= int(cx+rx); x++ {
				dx, dy := (float64(x)-cx)/rx, (float64(y)-cy)/ry
				if d := dx*dx + dy*dy; d <= 1 {
					light := 1.1 - 0.3*(dx+dy+2)/4
					img.Set(x, y, color.RGBA{clamp8(float64(p.fruit.R) * light), clamp8(float64(p.fruit.G) * light), clamp8(float64(p.fruit.B) * light), 0xff})
				}
			}
		}
	}
	return img
}

func clamp8(v float64) uint8 {
	if v > 255 {
		return 255
	}
	if v < 0 {
		return 0
	}
	return uint8(v)
}
