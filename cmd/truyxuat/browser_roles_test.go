package main

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestBrowserVerifiesInspection opens the demo lot whose chain holds an
// inspector's signed sampling: the phone accepts the inspector's
// signature, and the page names the inspector and the result. A page that
// names the cooperative for the inspector's event is caught.
func TestBrowserVerifiesInspection(t *testing.T) {
	needTool(t, "chromium")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	ctx := newBrowser(t)
	base := "http://" + m.Addr()
	url := base + demo.Batches[1].URL
	if got := verification(t, ctx, url+"?lang=vi"); got != "verified" {
		t.Fatalf("inspected lot: data-verification=%q\n%s", got, pageText(t, ctx, "document.body.innerText"))
	}
	text := pageText(t, ctx, "document.body.innerText")
	for _, w := range []string{"Ghi bởi: Trần Thị Mai (Chi cục Quản lý Chất lượng Nông lâm sản và Thủy sản Sóc Trăng)",
		"Kết quả kiểm tra: Đạt yêu cầu", "Lấy mẫu"} {
		if !strings.Contains(text, w) {
			t.Errorf("page lacks %q:\n%s", w, text)
		}
	}
	screenshot(t, ctx, "consumer-inspected-vi")

	proxy := startRewritingProxy(t, base, `data-by="inspector:`+demo.Inspectors[0].ID+`"`, `data-by="cooperative"`)
	if got := verification(t, ctx, proxy+demo.Batches[1].URL); got != "failed" {
		t.Fatalf("misattributed inspection: data-verification=%q", got)
	}
	if d := pageText(t, ctx, `document.getElementById("v-detail").textContent`); !strings.Contains(d, "someone other than who signed it") {
		t.Errorf("failure detail %q", d)
	}
}
