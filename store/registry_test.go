package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
)

func TestRegistryEntries(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	a := newFixture(t, db, "HTX Hòa Tú")
	b := newFixture(t, db, "HTX Ea Tu")
	before := db.Stats()
	member := map[string]string{"name": "Hộ Lâm Văn Tâm", "area_ha": "2.5", "commune_code": "31717"}
	sr, err := db.PutEntry(ctx, a.coop.ID, EntryWrite{Kind: trace.KindMember, Create: true, IDHint: member["name"], Fields: member}, "key-1")
	if err != nil {
		t.Fatal(err)
	}
	if sr.Record.ID != "ho-lam-van-tam" || sr.Record.Seq != 0 || len(sr.Signature) != 64 {
		t.Fatalf("first revision %+v", sr.Record)
	}
	// The same name again gets an id of its own.
	sr2, err := db.PutEntry(ctx, a.coop.ID, EntryWrite{Kind: trace.KindMember, Create: true, IDHint: member["name"], Fields: member}, "key-1")
	if err != nil || sr2.Record.ID != "ho-lam-van-tam-2" {
		t.Fatalf("second: %v %v", sr2, err)
	}
	// A change is the next revision; no change writes nothing.
	changed := map[string]string{"name": "Hộ Lâm Văn Tâm", "area_ha": "3", "commune_code": "31717"}
	sr3, err := db.PutEntry(ctx, a.coop.ID, EntryWrite{Kind: trace.KindMember, ID: "ho-lam-van-tam", Fields: changed}, "key-1")
	if err != nil || sr3.Record.Seq != 1 || sr3.Record.Prev != sr.Hash {
		t.Fatalf("update: %+v %v", sr3, err)
	}
	n := recordCount(db)
	if sr4, err := db.PutEntry(ctx, a.coop.ID, EntryWrite{Kind: trace.KindMember, ID: "ho-lam-van-tam", Fields: changed}, "key-1"); err != nil || sr4.Hash != sr3.Hash || recordCount(db) != n {
		t.Fatalf("unchanged update wrote: %v %v", sr4, err)
	}
	// Another cooperative may not change it, nor an entry that does not exist be updated.
	if _, err := db.PutEntry(ctx, b.coop.ID, EntryWrite{Kind: trace.KindMember, ID: "ho-lam-van-tam", Fields: member}, "key-2"); !errors.Is(err, trace.ErrForbidden) {
		t.Errorf("foreign update: %v", err)
	}
	if _, err := db.PutEntry(ctx, a.coop.ID, EntryWrite{Kind: trace.KindMember, ID: "ho-khac", Fields: member}, "key-1"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("update of nothing: %v", err)
	}
	if _, err := db.PutEntry(ctx, a.coop.ID, EntryWrite{Kind: trace.KindMember, ID: "ho-lam-van-tam", Create: true, Fields: member}, "key-1"); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("create over an entry: %v", err)
	}
	// Removal is a revision; the list leaves it out unless asked.
	if _, err := db.RemoveEntry(ctx, trace.KindMember, "ho-lam-van-tam-2", "2025-09-01", "key-1"); err != nil {
		t.Fatal(err)
	}
	cur, err := db.Entries(trace.KindMember, a.coop.ID, false)
	if err != nil || len(cur) != 1 || cur[0].Record.ID != "ho-lam-van-tam" || cur[0].Record.Fields["area_ha"] != "3" {
		t.Fatalf("entries %v %v", cur, err)
	}
	all, _ := db.Entries(trace.KindMember, a.coop.ID, true)
	other, _ := db.Entries(trace.KindMember, b.coop.ID, true)
	if len(all) != 2 || len(other) != 0 {
		t.Fatalf("with removed %d, other cooperative %d", len(all), len(other))
	}
	revs, err := db.Records(trace.KindMember, "ho-lam-van-tam")
	if err != nil || len(revs) != 2 {
		t.Fatalf("records %d %v", len(revs), err)
	}
	// Each revision is an entry of the transparency log.
	var logged uint64
	db.ViewLog(func(v LogView) error { logged = v.Size(); return nil })
	if logged < 5 {
		t.Errorf("log size %d", logged)
	}
	if db.Stats().Appends < before.Appends {
		t.Error("stats went back")
	}

	// An import is all or nothing: one bad row refuses every row.
	rows := []EntryWrite{
		{Kind: trace.KindPlot, Create: true, IDHint: "Ruộng 1", Fields: map[string]string{"name": "Ruộng 1", "area_ha": "1.2"}},
		{Kind: trace.KindPlot, Create: true, IDHint: "Ruộng 2", Fields: map[string]string{"name": "Ruộng 2", "area_ha": "-1"}},
	}
	_, err = db.PutEntries(ctx, a.coop.ID, rows, "key-1")
	var ve *trace.ValidationError
	if !errors.As(err, &ve) || !strings.HasPrefix(ve.Fields[0].Field, "[1].fields.area_ha") {
		t.Fatalf("bad import: %v", err)
	}
	if plots, _ := db.Entries(trace.KindPlot, a.coop.ID, true); len(plots) != 0 {
		t.Fatalf("a refused import wrote %d plots", len(plots))
	}
	rows[1].Fields["area_ha"] = "0.8"
	out, err := db.PutEntries(ctx, a.coop.ID, rows, "key-1")
	if err != nil || len(out) != 2 || out[0].Record.ID != "ruong-1" || out[1].Record.ID != "ruong-2" {
		t.Fatalf("import: %v %v", out, err)
	}

	// A lot names a member of its own cooperative only.
	bt := &trace.Batch{CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "M-1", Quantity: trace.Quantity{Value: "10", Unit: "KGM"}, Member: "ho-lam-van-tam"}
	if err := db.CreateBatch(bt); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{"ho-lam-van-tam-2", "ho-khong-co"} {
		bad := &trace.Batch{CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "M-" + m[:5], Quantity: trace.Quantity{Value: "10", Unit: "KGM"}, Member: m}
		if err := db.CreateBatch(bad); err == nil || !strings.Contains(err.Error(), "member") {
			t.Errorf("lot of member %s: %v", m, err)
		}
	}
	events, err := db.History(bt.ID)
	if err != nil || events[0].Event.Data["member"] != "ho-lam-van-tam" {
		t.Fatalf("facts %v %v", events, err)
	}
}

func TestCertificatesOn(t *testing.T) {
	db := openTest(t)
	ctx := context.Background()
	f := newFixture(t, db, "HTX Hàm Minh")
	cert := func(number, from, to, products string) EntryWrite {
		fields := map[string]string{"scheme": "vietgap", "number": number, "issuer": "Trung tâm", "valid_from": from, "valid_to": to}
		if products != "" {
			fields["products"] = products
		}
		return EntryWrite{Kind: trace.KindCertificate, Create: true, IDHint: "vietgap " + number, Fields: fields}
	}
	if _, err := db.PutEntries(ctx, f.coop.ID, []EntryWrite{
		cert("VG-1", "2021-06-01", "2024-05-31", ""),
		cert("VG-2", "2024-06-01", "2027-05-31", f.prod.ID),
		cert("VG-3", "2024-06-01", "2027-05-31", "another-product"),
	}, "k"); err != nil {
		t.Fatal(err)
	}
	got, err := db.CertificatesOn(f.coop.ID, f.prod.ID, "2025-08-15")
	if err != nil || len(got) != 2 {
		t.Fatalf("%v %v", got, err)
	}
	if got[0].Record.Record.Fields["number"] != "VG-2" || got[0].Status != trace.CertValid || got[1].Status != trace.CertExpired {
		t.Errorf("order and states: %s %s, %s %s", got[0].Record.Record.Fields["number"], got[0].Status, got[1].Record.Record.Fields["number"], got[1].Status)
	}
}

func TestAgencyAccounts(t *testing.T) {
	db := openTest(t)
	if _, err := db.CreateAPIKey(&APIKey{Name: "Sở Nông nghiệp", Role: RoleAgency}); err == nil || !strings.Contains(err.Error(), "province") {
		t.Errorf("agency key without a province: %v", err)
	}
	k := &APIKey{Name: "Sở Nông nghiệp", Role: RoleAgency, Province: "92", CooperativeID: "x"}
	if _, err := db.CreateAPIKey(k); err != nil || k.CooperativeID != "" || k.Province != "92" {
		t.Fatalf("agency key %+v %v", k, err)
	}
	u := &User{Username: "so-nn", Name: "Chuyên viên", Role: RoleAgency}
	if err := db.CreateUser(u, "mat-khau-dai"); err == nil {
		t.Error("agency user without a province")
	}
	u.Province = "92"
	if err := db.CreateUser(u, "mat-khau-dai"); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.User("so-nn"); got.Province != "92" || got.Role != RoleAgency {
		t.Errorf("user %+v", got)
	}
}
