package store

import (
	"testing"
)

// A cooperative read twice is decoded once, but each caller gets its own
// copy, and a change to the stored record is read at once.
func TestDecodedCopiesAndFollowsChanges(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX Mỹ Xuyên")
	a, err := db.Cooperative(f.coop.ID)
	if err != nil {
		t.Fatal(err)
	}
	a.Name, a.PublicKeys[0][0] = "đã sửa", a.PublicKeys[0][0]^0xff
	a.Profile = map[string]string{"phone": "0900000000"}
	b, err := db.Cooperative(f.coop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != f.coop.Name || b.PublicKeys[0][0] != f.coop.PublicKeys[0][0] || b.Profile["phone"] == "0900000000" {
		t.Fatalf("a caller's change reached the next reader: %+v", b)
	}
	c := *b
	c.Name = "HTX Nông nghiệp Mỹ Xuyên"
	if err := db.UpdateCooperative(&c); err != nil {
		t.Fatal(err)
	}
	if got, _ := db.Cooperative(f.coop.ID); got.Name != c.Name {
		t.Errorf("after the change: %q", got.Name)
	}
	bt, _ := db.Batch(f.batch.ID)
	bt.Lot = "X"
	if again, _ := db.Batch(f.batch.ID); again.Lot != f.batch.Lot {
		t.Errorf("a batch's copy was shared: %q", again.Lot)
	}
	if _, err := db.Cooperative("khong-co"); err == nil {
		t.Error("a missing cooperative was found")
	}
}
