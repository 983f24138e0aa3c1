package api

import (
	"testing"
)

// TestScanCounts: opening a lot's page through its label counts a scan
// for the day and for the label's serial; JSON reads do not count; a
// serial scanned far more often than one pack would be is suspect; the
// cooperative reads only its own lots' counts.
func TestScanCounts(t *testing.T) {
	e := newEnv(t)
	key, _, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	keyB, _, _ := e.seed("HTX B", "8931234567880", "LOT-B")
	page := map[string]string{"Accept": "text/html"}
	for i := 0; i < 3; i++ {
		fetchRaw(t, e.srv.URL+batch.Path, page)
	}
	for i := 0; i < CopiedLabelScans; i++ {
		fetchRaw(t, e.srv.URL+batch.Path+"/21/ABC123", page)
	}
	fetchRaw(t, e.srv.URL+batch.Path+"/21/XYZ9", page)
	fetchRaw(t, e.srv.URL+batch.Path, map[string]string{"Accept": "application/json"})

	r := e.do("GET", "/api/v1/batches/"+batch.ID+"/scans", key, nil, true)
	e.expect(r, 200)
	var sc Scans
	r.decode(t, &sc)
	if sc.Total != 3+CopiedLabelScans+1 || len(sc.Days) != 1 || len(sc.Serials) != 2 {
		t.Fatalf("scans %+v", sc)
	}
	if top := sc.Serials[0]; top.Serial != "ABC123" || top.Count != CopiedLabelScans || !top.Suspect || sc.Serials[1].Suspect {
		t.Errorf("serials %+v", sc.Serials)
	}
	e.expect(e.do("GET", "/api/v1/batches/"+batch.ID+"/scans", keyB, nil, true), 403)
	e.expect(e.do("GET", "/api/v1/batches/"+batch.ID+"/scans", e.adminKey, nil, true), 200)
}
