package app

import (
	"net/http"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/api"
)

// The lot's page in the workspace says how often its labels were scanned,
// and warns of a serialised label scanned far more often than one pack
// would be.
func TestWorkspaceLotScans(t *testing.T) {
	e := newEnv(t)
	_, _, batchID := e.workspaceSeed(t, "HTX A", "8931234567897", "LOT-A", "thuky")
	a := e.appClient(t)
	a.mustLogin("thuky", "mat-khau-123")
	if r := a.get("/app/batches/" + batchID); r.status != 200 || !strings.Contains(r.body, "Chưa ai quét nhãn của lô này.") {
		t.Fatalf("before any scan: %d", r.status)
	}
	scan := func(path string) {
		req, _ := http.NewRequest("GET", e.srv.URL+path, nil)
		req.Header.Set("Accept", "text/html")
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != 200 {
			t.Fatalf("scan %s: %d", path, res.StatusCode)
		}
	}
	for range api.CopiedLabelScans {
		scan("/01/08931234567897/10/LOT-A/21/SER-0001")
	}
	scan("/01/08931234567897/10/LOT-A/21/SER-0002")
	r := a.get("/app/batches/" + batchID)
	for _, want := range []string{"Lượt quét nhãn", "Tổng số lượt quét: <strong>21</strong>", `<progress max="21" value="21">`,
		"Nhãn số SER-0001 đã được quét 20 lần", "nhãn có thể đã bị sao chép"} {
		if !strings.Contains(r.body, want) {
			t.Errorf("the lot's page lacks %q", want)
		}
	}
	if strings.Contains(r.body, "SER-0002 đã được quét") {
		t.Error("a label scanned once is called copied")
	}
}
