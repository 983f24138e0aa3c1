package store

import (
	"context"
	"errors"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

func TestRegistryRecordsFollowEveryChange(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX Mỹ Xuyên")
	keys := func(string) [][]byte { return f.coop.PublicKeys }

	// A new product and cooperative are signed as revision 0.
	for _, e := range []struct {
		kind trace.RecordKind
		id   string
		want map[string]string
	}{
		{trace.KindCooperative, f.coop.ID, trace.CooperativeRecordFields(f.coop)},
		{trace.KindProduct, f.prod.ID, trace.ProductRecordFields(f.prod)},
	} {
		recs, err := db.Records(e.kind, e.id)
		if err != nil || len(recs) != 1 {
			t.Fatalf("%s records: %d %v", e.kind, len(recs), err)
		}
		if f, _, _ := trace.DiffFields(e.want, recs[0].Record.Fields); f != "" {
			t.Errorf("%s record field %s differs", e.kind, f)
		}
		signed := []*trace.SignedRecord{recs[0].SignedRecord}
		if err := trace.VerifyRecords(e.kind, e.id, signed, keys); err != nil {
			t.Errorf("%s record: %v", e.kind, err)
		}
	}

	// A change is the next revision; no change writes nothing.
	renamed := *f.prod
	renamed.NameVI, renamed.OCOPStars = "Gạo ST25 Mỹ Xuyên", 4
	if err := db.UpdateProduct(&renamed, "key-1"); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateProduct(&renamed, "key-1"); err != nil {
		t.Fatal(err)
	}
	recs, err := db.Records(trace.KindProduct, f.prod.ID)
	if err != nil || len(recs) != 2 || recs[1].Record.Fields["name_vi"] != "Gạo ST25 Mỹ Xuyên" || recs[1].Record.Fields["ocop_stars"] != "4" || recs[1].KeyID != "key-1" {
		t.Fatalf("after a rename: %d revisions %v", len(recs), err)
	}
	latest, err := db.LatestRecord(trace.KindProduct, f.prod.ID)
	if err != nil || latest.Hash != recs[1].Hash {
		t.Errorf("latest record: %v", err)
	}
	if p, _ := db.Product(f.prod.ID); p.NameVI != "Gạo ST25 Mỹ Xuyên" {
		t.Errorf("working copy %q", p.NameVI)
	}
	// The GTIN and the cooperative never change.
	other := renamed
	other.GTIN = "08936040001016"
	if err := db.UpdateProduct(&other, ""); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("a new GTIN: %v", err)
	}
	// The cooperative's profile changes, its keys stay.
	c := *f.coop
	c.Name, c.PublicKeys = "HTX Nông nghiệp Mỹ Xuyên", nil
	if err := db.UpdateCooperative(&c); err != nil {
		t.Fatal(err)
	}
	got, _ := db.Cooperative(f.coop.ID)
	crecs, _ := db.Records(trace.KindCooperative, f.coop.ID)
	if got.Name != c.Name || len(got.PublicKeys) != 1 || len(crecs) != 2 {
		t.Errorf("cooperative after a change: %+v, %d revisions", got, len(crecs))
	}
}

func TestFactsAreRestatedNotEdited(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	ctx := context.Background()
	// A facts record only through the store's own paths.
	e := f.event(0)
	e.BizStep = trace.BizStepLotFacts
	if _, err := db.Append(ctx, AppendRequest{Event: e, Signer: f.signer}); !errors.Is(err, trace.ErrInvalid) || !strings.Contains(err.Error(), "facts") {
		t.Errorf("a facts record through Append: %v", err)
	}
	plot := &trace.Plot{Name: "Ruộng số 7", Lat: 9.6, Lon: 105.97}
	st, err := db.RestateFacts(ctx, f.batch.ID, &trace.LotFacts{Quantity: trace.Quantity{Value: "1200", Unit: "KGM"}, HarvestDate: "2025-08-16", Plot: plot,
		Certifications: []trace.Certification{{Scheme: "vietgap", ID: "VG-01"}}}, "key-2")
	if err != nil {
		t.Fatal(err)
	}
	if st.Event.Action != "OBSERVE" || st.Event.Seq != 1 || st.KeyID != "key-2" {
		t.Errorf("restatement %+v", st.Event)
	}
	bt, _ := db.Batch(f.batch.ID)
	if bt.Quantity.Value != "1200" || bt.HarvestDate != "2025-08-16" || bt.Plot == nil || bt.Plot.Name != "Ruộng số 7" || len(bt.Certifications) != 1 {
		t.Errorf("the batch after a restatement: %+v", bt)
	}
	hist, _ := db.History(f.batch.ID)
	signed := make([]*trace.SignedEvent, len(hist))
	for i, s := range hist {
		signed[i] = s.SignedEvent
	}
	if facts, at := trace.LatestFacts(signed); at != 1 || facts.Quantity.Value != "1200" || facts.Lot != f.batch.Lot {
		t.Errorf("latest facts at %d: %+v", at, facts)
	}
	// The product and the lot code cannot change.
	if _, err := db.RestateFacts(ctx, f.batch.ID, &trace.LotFacts{Lot: "OTHER-1", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}, ""); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("a new lot code: %v", err)
	}
	if _, err := db.RestateFacts(ctx, f.batch.ID, &trace.LotFacts{Quantity: trace.Quantity{Value: "0", Unit: "KGM"}}, ""); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("a zero quantity: %v", err)
	}
}

// TestNoLotOnADamagedProduct: a product whose stored copy no longer says
// what its signed record says is not quoted into a new lot's facts.
func TestNoLotOnADamagedProduct(t *testing.T) {
	path, a, b, _ := damagedFile(t)
	alter(t, path, func(tx *bolt.Tx) error {
		pb := tx.Bucket(bucketProducts)
		raw := strings.Replace(string(pb.Get([]byte(a.prod.ID))), a.prod.NameVI, "Gạo giả", 1)
		return pb.Put([]byte(a.prod.ID), []byte(raw))
	})
	db, _ := reopen(t, path, a, b)
	size, _ := db.LogSize()
	bt := &trace.Batch{CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "ST25-NEW", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
	err := db.CreateBatch(bt)
	var de *DamagedError
	if !errors.As(err, &de) || !strings.Contains(err.Error(), "name_vi") || !strings.Contains(err.Error(), "new lots of it are refused") {
		t.Fatalf("a lot of a damaged product: %v", err)
	}
	if after, _ := db.LogSize(); after != size {
		t.Errorf("the log grew from %d to %d", size, after)
	}
	// Another cooperative's product is not affected.
	ok := &trace.Batch{CooperativeID: b.coop.ID, ProductID: b.prod.ID, Lot: "ST25-NEW", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
	if err := db.CreateBatch(ok); err != nil {
		t.Errorf("a lot of a sound product: %v", err)
	}
}

// TestOldEntriesAreSignedOnce: cooperatives and products from before
// records were signed get revision 0 from their working copy on the first
// start, and never again.
func TestOldEntriesAreSignedOnce(t *testing.T) {
	path, a, b, _ := damagedFile(t)
	alter(t, path, func(tx *bolt.Tx) error {
		for _, k := range [][]byte{recordName(trace.KindProduct, a.prod.ID), recordName(trace.KindCooperative, a.coop.ID)} {
			if err := tx.Bucket(bucketRecordHeads).Delete(k); err != nil {
				return err
			}
			c := tx.Bucket(bucketRecords).Cursor()
			prefix := append(k, 0)
			for key, _ := c.Seek(prefix); key != nil && strings.HasPrefix(string(key), string(prefix)); key, _ = c.Seek(prefix) {
				if err := c.Delete(); err != nil {
					return err
				}
			}
		}
		return nil
	})
	db, logs := reopen(t, path, a, b)
	for _, e := range []struct {
		kind trace.RecordKind
		id   string
	}{{trace.KindProduct, a.prod.ID}, {trace.KindCooperative, a.coop.ID}, {trace.KindProduct, b.prod.ID}} {
		recs, err := db.Records(e.kind, e.id)
		if err != nil || len(recs) != 1 {
			t.Errorf("%s %s after the first start: %d revisions, %v", e.kind, e.id, len(recs), err)
		}
	}
	if !strings.Contains(logs.String(), "records=2") {
		t.Errorf("the first start did not say what it signed: %s", logs)
	}
	size, _ := db.LogSize()
	db.Close()
	db, _ = reopen(t, path, a, b)
	if again, _ := db.LogSize(); again != size {
		t.Errorf("a second start signed again: log %d → %d", size, again)
	}
}
