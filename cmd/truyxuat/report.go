package main

import (
	"fmt"
	"io"
	"strings"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/trace"
)

// The reports of verify and audit are Vietnamese by default and English
// with --lang en. Each message is a format string in both languages.
var messages = map[string][2]string{
	"batch":          {"Lô %s — %s — %s", "Lot %s — %s — %s"},
	"event_ok":       {"  ✓ #%d  %s  %s  %s…  sổ cái #%d", "  ✓ #%d  %s  %s  %s…  log #%d"},
	"checkpoint_ok":  {"✓ Checkpoint %s: %d mục, có chữ ký hợp lệ của cả khóa Ed25519 và ML-DSA-44 của sổ cái", "✓ Checkpoint %s: %d entries, validly signed by both the log's Ed25519 and ML-DSA-44 keys"},
	"witnesses_ok":   {"✓ Nhân chứng đã đồng ký: %s — đạt ngưỡng của chính sách", "✓ Cosigned by witnesses: %s — the policy's quorum is met"},
	"no_witnesses":   {"  (không yêu cầu nhân chứng)", "  (no witness quorum required)"},
	"verified":       {"HỢP LỆ: %d sự kiện — đúng byte, đúng chuỗi liên kết, đúng chữ ký và đều có trong sổ cái minh bạch", "VALID: %d events — bytes, chain links and signatures check out, and every event is in the transparency log"},
	"failed":         {"KHÔNG HỢP LỆ: %s", "INVALID: %s"},
	"facts_ok":       {"✓ Sản phẩm, hợp tác xã và thông tin lô hiển thị đúng như bản đã ký", "✓ The product, the cooperative and the lot's facts shown are those signed"},
	"unsigned":       {"! Chưa có chữ ký của hợp tác xã (thông tin do máy chủ cung cấp): %s", "! Not signed by the cooperative (the server's word only): %s"},
	"event_failed":   {"sự kiện #%d (%s): %s — %s", "event #%d (%s): %s — %s"},
	"pending":        {"sự kiện #%d (%s) chưa có trong checkpoint nào của sổ cái; thử lại sau vài giây", "event #%d (%s) is not in any checkpoint of the log yet; try again in a few seconds"},
	"waiting":        {"  … %d sự kiện mới hơn checkpoint, chờ checkpoint tiếp theo", "  … %d event(s) newer than the checkpoint, waiting for the next one"},
	"audit_log":      {"Kiểm toán sổ cái %s tại %s", "Auditing log %s at %s"},
	"audit_tofu":     {"! Lần đầu kiểm toán sổ cái này mà không có khóa ghim: tin các khóa máy chủ công bố (%s) và lưu lại cho các lần sau", "! First audit of this log without pinned keys: trusting the keys the server publishes (%s) and saving them for later runs"},
	"audit_state":    {"  khóa ghim từ lần kiểm toán trước (%s)", "  keys pinned by the previous audit (%s)"},
	"audit_tree":     {"✓ Đã tải %d mục (%d gói) và tính lại cây Merkle: gốc khớp checkpoint", "✓ Fetched %d entries (%d bundles) and recomputed the Merkle tree: the root matches the checkpoint"},
	"audit_tiles":    {"✓ %d ô băm máy chủ phục vụ khớp với cây tính lại", "✓ %d hash tiles served match the recomputed tree"},
	"audit_first":    {"✓ Lần kiểm toán đầu tiên; trạng thái đã lưu vào %s", "✓ First audit; state saved to %s"},
	"audit_consist":  {"✓ Nhất quán với lần kiểm toán trước (%d mục, %s): sổ cái chỉ được nối thêm", "✓ Consistent with the previous audit (%d entries, %s): the log was only appended to"},
	"audit_ok":       {"HỢP LỆ: sổ cái %s, %d mục, %.0f mục/giây", "VALID: log %s, %d entries, %.0f entries/s"},
	"audit_shrunk":   {"sổ cái đã co lại: lần trước %d mục, nay %d — lịch sử đã bị viết lại", "the log shrank: %d entries last time, %d now — its history was rewritten"},
	"audit_rewrite":  {"sổ cái không nhất quán với lần kiểm toán trước: cây %d mục đầu tiên có gốc %s, lần trước là %s — lịch sử đã bị viết lại", "the log is inconsistent with the previous audit: its first %d entries have root %s, last time %s — its history was rewritten"},
	"audit_root":     {"gốc tính lại từ các mục (%s) khác gốc của checkpoint (%s)", "the root recomputed from the entries (%s) differs from the checkpoint's (%s)"},
	"audit_tile_bad": {"ô %s máy chủ phục vụ khác với cây tính lại từ các mục", "tile %s as served differs from the tree recomputed from the entries"},
}

// reasons translates verification reasons.
var reasons = map[trace.VerifyReason][2]string{
	trace.ReasonBadSignature: {"chữ ký sai", "bad signature"},
	trace.ReasonBrokenLink:   {"đứt chuỗi liên kết", "broken link"},
	trace.ReasonWrongOrder:   {"sai thứ tự", "wrong order"},
	trace.ReasonUnknownKey:   {"khóa không phải của hợp tác xã hay cán bộ kiểm tra", "not a key of the cooperative or of an inspector"},
	trace.ReasonBadHash:      {"mã băm không khớp", "hash mismatch"},
	trace.ReasonMalformed:    {"dữ liệu bị sửa hoặc hỏng", "edited or malformed"},
	api.ReasonNotInLog:       {"không có trong sổ cái minh bạch", "not in the transparency log"},
	api.ReasonNotYetLogged:   {"chưa có trong checkpoint nào", "not in any checkpoint yet"},
}

// printer writes a report in one language.
type printer struct {
	w    io.Writer
	lang int // 0 vi, 1 en
}

func newPrinter(w io.Writer, lang string) *printer {
	p := &printer{w: w}
	if lang == "en" {
		p.lang = 1
	}
	return p
}

func (p *printer) msg(key string, args ...any) string {
	m, ok := messages[key]
	if !ok {
		panic("no message " + key)
	}
	return fmt.Sprintf(m[p.lang], args...)
}

func (p *printer) line(key string, args ...any) { fmt.Fprintln(p.w, p.msg(key, args...)) }

func (p *printer) reason(r trace.VerifyReason) string {
	if t, ok := reasons[r]; ok {
		return t[p.lang]
	}
	return string(r)
}

// fail prints the failure and returns it as the command's error.
func (p *printer) fail(text string) error {
	p.line("failed", text)
	return fmt.Errorf("%s", p.msg("failed", text))
}

// factNames names, in both languages, the readable fields of a history
// that a verifier may report as unsigned.
var factNames = map[string][2]string{
	"batch.lot":            {"mã lô", "lot code"},
	"batch.quantity":       {"khối lượng", "quantity"},
	"batch.harvest_date":   {"ngày thu hoạch", "harvest date"},
	"batch.plot":           {"vùng trồng", "growing area"},
	"batch.certifications": {"chứng nhận", "certificates"},
	"product.name_vi":      {"tên sản phẩm", "product name"},
	"product.name_en":      {"tên tiếng Anh của sản phẩm", "English product name"},
	"product.category":     {"loại sản phẩm", "product category"},
	"product.ocop_stars":   {"số sao OCOP", "OCOP stars"},
	"product.gtin":         {"mã GTIN", "GTIN"},
	"cooperative.name":     {"tên hợp tác xã", "cooperative name"},
	"cooperative.province": {"tỉnh", "province"},
	"cooperative.gln":      {"mã GLN", "GLN"},
}

// facts names unsigned fields in the report's language.
func (p *printer) facts(fields []string) string {
	out := make([]string, len(fields))
	for i, f := range fields {
		out[i] = f
		if n, ok := factNames[f]; ok {
			out[i] = n[p.lang]
		}
	}
	return strings.Join(out, ", ")
}
