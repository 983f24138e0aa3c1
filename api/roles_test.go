package api

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

const testAgency = "Chi cục Quản lý Chất lượng Nông lâm sản và Thủy sản Sóc Trăng"

// newInspector registers an inspector through the API.
func (e *testEnv) newInspector(name string) CreateInspectorResponse {
	e.t.Helper()
	r := e.do("POST", "/api/v1/inspectors", e.adminKey, CreateInspectorRequest{Name: name, Agency: testAgency}, true)
	e.expect(r, 201)
	var res CreateInspectorResponse
	r.decode(e.t, &res)
	return res
}

func (e *testEnv) history(batchID string) (*History, []byte) {
	e.t.Helper()
	r := e.do("GET", "/api/v1/batches/"+batchID, "", nil, true)
	e.expect(r, 200)
	var h History
	r.decode(e.t, &h)
	return &h, r.body
}

// jsCheck is what static/js/verify.js checks of the signatures, in Go: each
// event's bytes hash to its hash, its signer is one of the cooperative's
// keys or of an inspector the history lists, the signature verifies, and
// the owner of the key is the one the page must name ("cooperative" or
// "inspector:<id>"). It returns the owners, in order.
func jsCheck(h *History) ([]string, error) {
	keys := map[string]bool{}
	for _, k := range h.Cooperative.PublicKeys {
		keys[k] = true
	}
	inspectorOf := map[string]string{}
	for _, in := range h.Inspectors {
		for _, k := range in.PublicKeys {
			if !keys[k] {
				inspectorOf[k] = in.ID
			}
		}
	}
	var owners []string
	for i, ev := range h.Events {
		body, _ := base64.StdEncoding.DecodeString(ev.Canonical)
		if trace.HashEvent(body).String() != ev.Hash {
			return nil, fmt.Errorf("event %d: hash", i)
		}
		owner := "cooperative"
		if !keys[ev.Signer] {
			id, ok := inspectorOf[ev.Signer]
			if !ok {
				return nil, fmt.Errorf("event %d: signed by a key that is neither the cooperative's nor an inspector's", i)
			}
			owner = "inspector:" + id
		}
		pub, _ := base64.StdEncoding.DecodeString(ev.Signer)
		sig, _ := base64.StdEncoding.DecodeString(ev.Signature)
		if len(pub) != ed25519.PublicKeySize || !ed25519.Verify(pub, body, sig) {
			return nil, fmt.Errorf("event %d: bad signature", i)
		}
		owners = append(owners, owner)
	}
	return owners, nil
}

func TestInspectorsSignInspections(t *testing.T) {
	e := newEnv(t)
	key, coop, batch := e.seed("HTX Hòa Tú", "8931234567897", "ST25-INS")
	keyB, _, _ := e.seed("HTX B", "", "LOT-B")
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", key, map[string]any{"biz_step": "commissioning",
		"event_time": "2025-08-15T06:30:00+07:00", "quantity": map[string]any{"value": 1250, "unit": "KGM"}}, true), 201)

	// Only an admin registers inspectors; each gets a key file of its own.
	e.expect(e.do("POST", "/api/v1/inspectors", key, CreateInspectorRequest{Name: "X", Agency: "Y"}, true), 403)
	e.expect(e.do("POST", "/api/v1/inspectors", e.adminKey, map[string]any{"name": "X"}, false), 422)
	ins := e.newInspector("Trần Thị Mai")
	if ins.Inspector.ID != "tran-thi-mai" || len(ins.Inspector.PublicKeys) != 1 || ins.APIKey.Role != "inspector" {
		t.Fatalf("inspector %+v", ins)
	}
	fi, err := os.Stat(filepath.Join(filepath.Dir(e.db.Path()), "keys", "inspector-tran-thi-mai.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("inspector key file: %v %v", fi, err)
	}
	r := e.do("GET", "/api/v1/inspectors", "", nil, true)
	e.expect(r, 200)
	if !strings.Contains(string(r.body), ins.Inspector.PublicKeys[0]) {
		t.Errorf("inspectors: %s", r.body)
	}
	e.expect(e.do("GET", "/api/v1/inspectors/"+ins.Inspector.ID, "", nil, true), 200)
	// A cooperative cannot take an id that would share an inspector's key file.
	e.expect(e.do("POST", "/api/v1/cooperatives", e.adminKey, CreateCooperativeRequest{ID: "inspector-tran-thi-mai", Name: "X", Province: "Y"}, true), 422)

	// The inspector's attachment and signed result go into the batch's chain.
	r = e.upload(ins.APIKey.Secret, "application/pdf", []byte(tinyPDF), true)
	e.expect(r, 201)
	var pdf AttachmentUpload
	r.decode(t, &pdf)
	inspection := map[string]any{"biz_step": "sampling", "disposition": "conformant", "event_time": "2025-08-20T09:30:00+07:00",
		"note": "Lấy mẫu kiểm nghiệm dư lượng thuốc bảo vệ thực vật: đạt", "data": map[string]string{"sample_id": "KN-117"},
		"attachments": []any{map[string]any{"sha256": pdf.SHA256, "media_type": "application/pdf", "name": "Phiếu kết quả"}}}
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/inspections", ins.APIKey.Secret, inspection, true)
	e.expect(r, 201)
	var ev Event
	r.decode(t, &ev)
	if ev.Signer != ins.Inspector.PublicKeys[0] || ev.Cooperative != coop.ID || ev.Seq != 2 || ev.Action != "OBSERVE" {
		t.Fatalf("inspection event: %+v", ev)
	}

	// Refusals: not an inspector, a wrong result or step, an inspector key
	// that belongs to no inspector.
	for _, k := range []string{key, keyB, e.adminKey} {
		e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/inspections", k, inspection, true), 403)
	}
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/inspections", ins.APIKey.Secret, map[string]any{"biz_step": "packing", "disposition": "passed"}, false)
	e.expect(r, 422)
	if !strings.Contains(string(r.body), "biz_step") || !strings.Contains(string(r.body), "disposition") {
		t.Errorf("refusal does not name both fields: %s", r.body)
	}
	r = e.do("POST", "/api/v1/keys", e.adminKey, CreateAPIKeyRequest{Name: "reader", Role: "inspector"}, true)
	e.expect(r, 201)
	var reader CreateAPIKeyResponse
	r.decode(t, &reader)
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/inspections", reader.Secret, inspection, true)
	e.expect(r, 403)
	if !strings.Contains(string(r.body), "no registered inspector") {
		t.Errorf("keyless inspector: %s", r.body)
	}
	// ... which still reads the findings.
	e.expect(e.do("GET", "/api/v1/inspections/findings", reader.Secret, nil, true), 200)

	// The history lists the inspector; it verifies on the server, offline
	// and as the browser checks it.
	h, raw := e.history(batch.ID)
	if !h.Verified || len(h.Events) != 3 || len(h.Inspectors) != 1 || h.Inspectors[0].Name != "Trần Thị Mai" || h.Inspectors[0].Agency != testAgency {
		t.Fatalf("history: verified %v, %d events, inspectors %+v", h.Verified, len(h.Events), h.Inspectors)
	}
	owners, err := jsCheck(h)
	if err != nil || owners[0] != "cooperative" || owners[1] != "cooperative" || owners[2] != "inspector:tran-thi-mai" {
		t.Fatalf("browser check: %v %v", owners, err)
	}
	r = e.do("POST", "/api/v1/verify", "", string(raw), true)
	e.expect(r, 200)
	if !strings.Contains(string(r.body), "inspector") {
		t.Errorf("verify: %s", r.body)
	}
	if _, err := VerifyBundle(h, BundleCheck{}); err != nil {
		t.Fatalf("offline: %v", err)
	}
	// Pinning only the cooperative's key rejects the inspection, naming it.
	coopKey, _ := base64.StdEncoding.DecodeString(coop.PublicKeys[0])
	var ve *trace.VerifyError
	if _, err := VerifyBundle(h, BundleCheck{CooperativeKeys: [][]byte{coopKey}}); !errors.As(err, &ve) || ve.Index != 2 || ve.Reason != trace.ReasonUnknownKey {
		t.Errorf("pinned cooperative key: %v", err)
	}
	// A history whose inspector list was dropped or given another key fails
	// everywhere.
	dropped := *h
	dropped.Inspectors = nil
	forged := *h
	other, _, _ := ed25519.GenerateKey(rand.Reader)
	forged.Inspectors = []Inspector{h.Inspectors[0]}
	forged.Inspectors[0].PublicKeys = []string{base64.StdEncoding.EncodeToString(other)}
	for name, bad := range map[string]*History{"dropped": &dropped, "forged": &forged} {
		if _, err := jsCheck(bad); err == nil || !strings.Contains(err.Error(), "event 2") {
			t.Errorf("%s inspectors, browser check: %v", name, err)
		}
		if _, err := VerifyBundle(bad, BundleCheck{}); !errors.As(err, &ve) || ve.Index != 2 {
			t.Errorf("%s inspectors, offline: %v", name, err)
		}
	}

	// The page names the inspector and the result in plain words.
	for lang, want := range map[string][]string{
		"vi": {"Ghi bởi: Trần Thị Mai (" + testAgency + ")", "Kết quả kiểm tra: Đạt yêu cầu", `data-by="inspector:tran-thi-mai"`, `data-by="cooperative"`, "Mã mẫu: KN-117"},
		"en": {"Recorded by: Trần Thị Mai (" + testAgency + ")", "Inspection result: Meets the requirements"},
	} {
		res, page := get(t, e.srv.URL+batch.Path+"?lang="+lang, map[string]string{"Accept": "text/html"})
		if res.StatusCode != 200 {
			t.Fatalf("%s page: %d", lang, res.StatusCode)
		}
		for _, w := range want {
			if !strings.Contains(page, w) {
				t.Errorf("%s page lacks %q", lang, w)
			}
		}
	}

	// An inspector recalls the lot, signing with the inspector's key; a
	// non-conformant result reads as such.
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/inspections", ins.APIKey.Secret, map[string]any{"disposition": "non_conformant",
		"note": "Dư lượng Tricyclazole vượt mức giới hạn tối đa"}, true)
	e.expect(r, 201)
	r = e.do("POST", "/api/v1/batches/"+batch.ID+"/recall", ins.APIKey.Secret, RecallRequest{Reason: "Dư lượng thuốc vượt mức cho phép"}, true)
	e.expect(r, 201)
	var rec struct{ Event Event }
	r.decode(t, &rec)
	if rec.Event.Signer != ins.Inspector.PublicKeys[0] || rec.Event.Disposition != "recalled" {
		t.Errorf("inspector's recall: %+v", rec.Event)
	}
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/recall", keyB, RecallRequest{Reason: "x"}, true), 403)
	h, _ = e.history(batch.ID)
	if !h.Verified || h.Recall == nil || len(h.Inspectors) != 1 {
		t.Fatalf("after the recall: %+v %+v", h.Recall, h.Inspectors)
	}
	if owners, err := jsCheck(h); err != nil || owners[3] != "inspector:tran-thi-mai" {
		t.Errorf("browser check after the recall: %v %v", owners, err)
	}
	if _, page := get(t, e.srv.URL+batch.Path+"?lang=vi", map[string]string{"Accept": "text/html"}); !strings.Contains(page, `class="result failed">Kết quả kiểm tra: Không đạt yêu cầu`) {
		t.Errorf("non-conformant result not shown")
	}

	// Findings, the EPCIS export and a second inspector's view all accept
	// the inspector's signatures.
	r = e.do("GET", "/api/v1/inspections/findings?batch="+batch.ID, ins.APIKey.Secret, nil, true)
	e.expect(r, 200)
	if strings.Contains(string(r.body), trace.FindingVerification) {
		t.Errorf("findings: %s", r.body)
	}
	r = e.do("GET", "/api/v1/epcis/events?batch="+batch.ID, "", nil, true)
	e.expect(r, 200)
	second := e.newInspector("Lê Văn Hùng")
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/inspections", second.APIKey.Secret, map[string]any{"disposition": "conformant"}, true), 201)
	h, raw = e.history(batch.ID)
	if len(h.Inspectors) != 2 || h.Inspectors[1].ID != second.Inspector.ID {
		t.Errorf("two inspectors: %+v", h.Inspectors)
	}
	e.expect(e.do("POST", "/api/v1/verify", "", string(raw), true), 200)
}

func TestAPIKeysPerPerson(t *testing.T) {
	e := newEnv(t)
	keyA, coopA, batchA := e.seed("HTX A", "8931234567897", "LOT-A")
	keyB, coopB, _ := e.seed("HTX B", "", "LOT-B")
	create := func(key string, req CreateAPIKeyRequest, status int) CreateAPIKeyResponse {
		t.Helper()
		r := e.do("POST", "/api/v1/keys", key, req, true)
		e.expect(r, status)
		var out CreateAPIKeyResponse
		if status == 201 {
			r.decode(t, &out)
		}
		return out
	}
	// A cooperative's key makes keys for its own people; its role and
	// cooperative are the defaults.
	an := create(keyA, CreateAPIKeyRequest{Name: "Nguyễn Văn An, thủ kho"}, 201)
	if an.Role != "cooperative" || an.CooperativeID != coopA.ID || !strings.HasPrefix(an.Secret, "txk_") {
		t.Fatalf("new key %+v", an)
	}
	create(keyA, CreateAPIKeyRequest{Name: "x", CooperativeID: coopB.ID}, 403)
	create(keyA, CreateAPIKeyRequest{Name: "x", Role: "admin"}, 403)
	create(keyA, CreateAPIKeyRequest{Name: "x", Role: "inspector"}, 403)
	create(e.adminKey, CreateAPIKeyRequest{Name: "x", Role: "cooperative"}, 422)
	create(e.adminKey, CreateAPIKeyRequest{Name: "x", Role: "cooperative", CooperativeID: "nope"}, 422)
	create(e.adminKey, CreateAPIKeyRequest{Name: "x", Role: "inspector", InspectorID: "nope"}, 422)
	create(e.adminKey, CreateAPIKeyRequest{Name: " x", Role: "admin"}, 422)
	r := e.do("POST", "/api/v1/keys", e.adminKey, map[string]any{"name": "x", "role": "owner"}, false)
	e.expect(r, 422)
	admin2 := create(e.adminKey, CreateAPIKeyRequest{Name: "Phạm Thu Hà, quản trị", Role: "admin"}, 201)
	bKey := create(e.adminKey, CreateAPIKeyRequest{Name: "Võ Thị Bình", Role: "cooperative", CooperativeID: coopB.ID}, 201)

	// The new key writes, and every write records which key made it.
	r = e.do("POST", "/api/v1/products", an.Secret, CreateProductRequest{NameVI: "Gạo lứt", Category: "rice"}, true)
	e.expect(r, 201)
	var prod Product
	r.decode(t, &prod)
	r = e.do("POST", "/api/v1/batches", an.Secret, map[string]any{"product_id": prod.ID, "lot": "LUT-1", "quantity": map[string]any{"value": 10, "unit": "KGM"}}, true)
	e.expect(r, 201)
	var bt Batch
	r.decode(t, &bt)
	e.expect(e.do("POST", "/api/v1/batches/"+batchA.ID+"/events", an.Secret, map[string]any{"biz_step": "storing"}, true), 201)
	if p, err := e.db.Product(prod.ID); err != nil || p.CreatedBy != an.ID {
		t.Errorf("product created_by %q, want %s (%v)", p.CreatedBy, an.ID, err)
	}
	if b, err := e.db.Batch(bt.ID); err != nil || b.CreatedBy != an.ID {
		t.Errorf("batch created_by %q, want %s (%v)", b.CreatedBy, an.ID, err)
	}
	if evs, err := e.db.History(batchA.ID); err != nil || evs[1].KeyID != an.ID {
		t.Errorf("event key %v", err)
	}
	if a, _ := e.db.Batch(batchA.ID); a.CreatedBy == "" {
		t.Errorf("seeded batch has no created_by")
	}

	// Listing: an admin sees all, a cooperative its own.
	list := func(key, query string, status int) []APIKeyInfo {
		t.Helper()
		r := e.do("GET", "/api/v1/keys"+query, key, nil, true)
		e.expect(r, status)
		var out struct{ Keys []APIKeyInfo }
		if status == 200 {
			r.decode(t, &out)
			if strings.Contains(string(r.body), "txk_") {
				t.Errorf("a key listing shows a secret")
			}
		}
		return out.Keys
	}
	if got := list(e.adminKey, "", 200); len(got) != 6 {
		t.Errorf("admin lists %d keys, want 6", len(got))
	}
	if got := list(e.adminKey, "?cooperative="+coopB.ID, 200); len(got) != 2 {
		t.Errorf("admin lists %d keys of B, want 2", len(got))
	}
	for _, k := range list(keyA, "", 200) {
		if k.CooperativeID != coopA.ID {
			t.Errorf("cooperative A sees key %+v", k)
		}
	}
	list(keyA, "?cooperative="+coopB.ID, 403)
	r = e.do("GET", "/api/v1/keys", "", nil, true)
	e.expect(r, 401)

	// Revoking: a cooperative only its own; a revoked key stops at once.
	e.expect(e.do("DELETE", "/api/v1/keys/"+an.ID, keyB, nil, true), 403)
	e.expect(e.do("DELETE", "/api/v1/keys/"+admin2.ID, keyA, nil, true), 403)
	e.expect(e.do("DELETE", "/api/v1/keys/nope", e.adminKey, nil, true), 404)
	r = e.do("DELETE", "/api/v1/keys/"+an.ID, keyA, nil, true)
	e.expect(r, 200)
	var revoked APIKeyInfo
	r.decode(t, &revoked)
	if revoked.RevokedAt == nil {
		t.Errorf("revoked key %+v", revoked)
	}
	r = e.do("POST", "/api/v1/batches/"+batchA.ID+"/events", an.Secret, map[string]any{"biz_step": "storing"}, true)
	e.expect(r, 401)
	if !strings.Contains(string(r.body), "revoked") {
		t.Errorf("revoked key: %s", r.body)
	}
	e.expect(e.do("DELETE", "/api/v1/keys/"+an.ID, e.adminKey, nil, true), 200) // again: not an error
	e.expect(e.do("DELETE", "/api/v1/keys/"+bKey.ID, e.adminKey, nil, true), 200)
	e.expect(e.do("GET", "/api/v1/keys", bKey.Secret, nil, true), 401)
	// The last live admin key stays.
	e.expect(e.do("DELETE", "/api/v1/keys/"+admin2.ID, e.adminKey, nil, true), 200)
	admins, _ := e.db.APIKeys("")
	for _, k := range admins {
		if k.Role == store.RoleAdmin && k.RevokedAt == nil {
			r = e.do("DELETE", "/api/v1/keys/"+k.ID, e.adminKey, nil, true)
			e.expect(r, 409)
		}
	}
	e.expect(e.do("GET", "/api/v1/keys", e.adminKey, nil, true), 200)
}

// signFor signs an event of a batch with a key, at a place in the chain.
func signFor(t *testing.T, s *trace.Signer, bt Batch, f EventFields, seq uint64, prev string) SignedEventRequest {
	t.Helper()
	e, err := f.NewEvent(&trace.Batch{ID: bt.ID, CooperativeID: bt.CooperativeID}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	e.Seq = seq
	if prev != "" {
		if e.Prev, err = trace.ParseHash(prev); err != nil {
			t.Fatal(err)
		}
	}
	se, err := s.Sign(e)
	if err != nil {
		t.Fatal(err)
	}
	return SignedEventRequest{Canonical: base64.StdEncoding.EncodeToString(se.Body),
		Signature: base64.StdEncoding.EncodeToString(se.Signature), Signer: base64.StdEncoding.EncodeToString(se.Signer)}
}

func TestSelfSignedEvents(t *testing.T) {
	e := newEnv(t)
	keyA, coopA, batch := e.seed("HTX A", "8931234567897", "LOT-A")
	keyB, _, batchB := e.seed("HTX B", "", "LOT-B")
	own, _ := trace.GenerateSigner(rand.Reader)
	stranger, _ := trace.GenerateSigner(rand.Reader)
	pub := base64.StdEncoding.EncodeToString(own.PublicKey())
	path := "/api/v1/cooperatives/" + coopA.ID + "/public-keys"

	// Registering the cooperative's own key.
	e.expect(e.do("POST", path, keyB, RegisterPublicKeyRequest{PublicKey: pub}, true), 403)
	e.expect(e.do("POST", path, keyA, RegisterPublicKeyRequest{PublicKey: "not base64!"}, false), 422)
	e.expect(e.do("POST", path, keyA, RegisterPublicKeyRequest{PublicKey: base64.StdEncoding.EncodeToString([]byte("short"))}, true), 422)
	e.expect(e.do("POST", "/api/v1/cooperatives/nope/public-keys", e.adminKey, RegisterPublicKeyRequest{PublicKey: pub}, true), 404)
	r := e.do("POST", path, keyA, RegisterPublicKeyRequest{PublicKey: pub}, true)
	e.expect(r, 201)
	var c Cooperative
	r.decode(t, &c)
	if len(c.PublicKeys) != 2 || c.PublicKeys[0] != coopA.PublicKeys[0] || c.PublicKeys[1] != pub {
		t.Fatalf("keys after registering: %v", c.PublicKeys)
	}
	e.expect(e.do("POST", path, keyA, RegisterPublicKeyRequest{PublicKey: pub}, true), 200)
	ins := e.newInspector("Trần Thị Mai")
	e.expect(e.do("POST", path, keyA, RegisterPublicKeyRequest{PublicKey: ins.Inspector.PublicKeys[0]}, true), 409)

	signed := "/api/v1/batches/" + batch.ID + "/events/signed"
	harvest := EventFields{BizStep: "commissioning", EventTime: "2025-08-15T06:30:00+07:00", Quantity: &Quantity{Value: "1250", Unit: "KGM"}, Note: "Thu hoạch, ký trên máy của hợp tác xã"}
	// The lot's facts, signed by the server's key when it was made, are event 0.
	first := signFor(t, own, batch, harvest, 1, batch.Head)

	// Refusals before anything is stored.
	e.expect(e.do("POST", signed, keyB, first, true), 403) // another cooperative's API key
	r = e.do("POST", signed, keyA, signFor(t, stranger, batch, harvest, 0, ""), true)
	e.expect(r, 403)
	if !strings.Contains(string(r.body), "not registered") {
		t.Errorf("unregistered key: %s", r.body)
	}
	e.expect(e.do("POST", "/api/v1/batches/"+batchB.ID+"/events/signed", keyB, signFor(t, own, batchB, harvest, 0, ""), true), 403)
	r = e.do("POST", "/api/v1/batches/"+batchB.ID+"/events/signed", e.adminKey, first, true)
	e.expect(r, 422) // signed for another batch
	bad := first
	bad.Signature = base64.StdEncoding.EncodeToString(make([]byte, 64))
	r = e.do("POST", signed, keyA, bad, true)
	e.expect(r, 422)
	if !strings.Contains(string(r.body), `"field":"signature"`) {
		t.Errorf("bad signature: %s", r.body)
	}
	body, _ := base64.StdEncoding.DecodeString(first.Canonical)
	var loose map[string]any
	json.Unmarshal(body, &loose)
	reencoded, _ := json.MarshalIndent(loose, "", " ")
	bad = first
	bad.Canonical = base64.StdEncoding.EncodeToString(reencoded)
	r = e.do("POST", signed, keyA, bad, true)
	e.expect(r, 422)
	if !strings.Contains(string(r.body), `"field":"canonical"`) {
		t.Errorf("non-canonical bytes: %s", r.body)
	}
	bad = first
	bad.Signer = strings.TrimRight(first.Signer, "=")
	e.expect(e.do("POST", signed, keyA, bad, false), 422)
	e.expect(e.do("POST", signed, keyA, map[string]any{"canonical": first.Canonical}, false), 422)

	// The event signed on the cooperative's machine is stored as it is.
	r = e.do("POST", signed, keyA, first, true)
	e.expect(r, 201)
	var ev Event
	r.decode(t, &ev)
	if ev.Signer != pub || ev.Canonical != first.Canonical || ev.Seq != 1 {
		t.Fatalf("stored event %+v", ev)
	}
	// The same bytes again are stale: the batch has moved on.
	r = e.do("POST", signed, keyA, first, true)
	e.expect(r, 409)
	if !strings.Contains(string(r.body), "fetch the head and sign again") {
		t.Errorf("stale: %s", r.body)
	}
	e.expect(e.do("POST", signed, keyA, signFor(t, own, batch, EventFields{BizStep: "packing"}, 2, strings.Repeat("ab", 32)), true), 409)
	// Mixed with server-signed events, in order.
	e.expect(e.do("POST", "/api/v1/batches/"+batch.ID+"/events", keyA, map[string]any{"biz_step": "packing"}, true), 201)
	h, _ := e.history(batch.ID)
	e.expect(e.do("POST", signed, keyA, signFor(t, own, batch, EventFields{BizStep: "shipping", Disposition: "in_transit"}, 3, h.Batch.Head), true), 201)
	h, raw := e.history(batch.ID)
	if !h.Verified || len(h.Events) != 4 || h.Events[0].Signer == pub || h.Events[1].Signer != pub || h.Events[2].Signer == pub || h.Events[3].Signer != pub || len(h.Inspectors) != 0 {
		t.Fatalf("history: %+v", h)
	}
	if owners, err := jsCheck(h); err != nil || strings.Join(owners, ",") != "cooperative,cooperative,cooperative,cooperative" {
		t.Errorf("browser check: %v %v", owners, err)
	}
	e.expect(e.do("POST", "/api/v1/verify", "", string(raw), true), 200)
	if _, err := VerifyBundle(h, BundleCheck{}); err != nil {
		t.Errorf("offline: %v", err)
	}
	if bytes.Contains(raw, []byte(`"inspectors"`)) {
		t.Errorf("a history without inspections lists inspectors")
	}
}
