package store

import (
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
)

func TestInspectorsAndKeys(t *testing.T) {
	db := openTest(t)
	in := &trace.Inspector{Name: "Trần Thị Mai", Agency: "Chi cục Quản lý Chất lượng Nông lâm sản và Thủy sản Sóc Trăng"}
	if err := db.CreateInspector(in); err != nil || in.ID != "tran-thi-mai" {
		t.Fatalf("create: %v %q", err, in.ID)
	}
	if !trace.ValidID(InspectorKeyName(in.ID)) {
		t.Errorf("key name %q is not an identifier", InspectorKeyName(in.ID))
	}
	long := &trace.Inspector{Name: strings.TrimSpace(strings.Repeat("Nguyễn Thị Thanh Hương ", 3)), Agency: "Cục Bảo vệ thực vật"}
	if err := db.CreateInspector(long); err != nil || len(long.ID) > MaxInspectorIDLen {
		t.Errorf("long name: %v %q", err, long.ID)
	}
	if err := db.CreateInspector(&trace.Inspector{ID: strings.Repeat("a", 23), Name: "X", Agency: "Y"}); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("23-character id: %v", err)
	}
	if err := db.CreateInspector(&trace.Inspector{ID: in.ID, Name: "X", Agency: "Y"}); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("duplicate: %v", err)
	}
	s, _ := trace.GenerateSigner(rand.Reader)
	for i, wantAdded := range []bool{true, false} {
		got, added, err := db.AddInspectorKey(in.ID, s.PublicKey())
		if err != nil || added != wantAdded || len(got.PublicKeys) != 1 {
			t.Errorf("add key, time %d: %v %v %d", i, err, added, len(got.PublicKeys))
		}
	}
	all, err := db.Inspectors()
	if err != nil || len(all) != 2 {
		t.Errorf("inspectors: %v %d", err, len(all))
	}

	// An inspector key belongs to an existing inspector; other roles lose it.
	if _, err := db.CreateAPIKey(&APIKey{Name: "x", Role: RoleInspector, InspectorID: "nope"}); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("key of an unknown inspector: %v", err)
	}
	k := &APIKey{Name: "x", Role: RoleAdmin, InspectorID: in.ID}
	if _, err := db.CreateAPIKey(k); err != nil || k.InspectorID != "" {
		t.Errorf("admin key with an inspector: %v %+v", err, k)
	}
	if _, err := db.RevokeAPIKey(k.ID); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("revoking the last admin key: %v", err)
	}

	// Cooperative keys: the server's first, the cooperative's own after;
	// ids that would share an inspector's key file are refused.
	if err := db.CreateCooperative(&trace.Cooperative{ID: "inspector-x", Name: "X", Province: "Y"}); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("reserved id: %v", err)
	}
	coop := &trace.Cooperative{Name: "HTX Hòa Tú", Province: "Sóc Trăng"}
	if err := db.CreateCooperative(coop); err != nil {
		t.Fatal(err)
	}
	own, _ := trace.GenerateSigner(rand.Reader)
	server, _ := trace.GenerateSigner(rand.Reader)
	db.AddCooperativeKey(coop.ID, own.PublicKey(), false)
	got, added, err := db.AddCooperativeKey(coop.ID, server.PublicKey(), true)
	// The store's own key was registered when the cooperative was made.
	if err != nil || !added || len(got.PublicKeys) != 3 || string(got.PublicKeys[0]) != string(server.PublicKey()) || string(got.PublicKeys[2]) != string(own.PublicKey()) {
		t.Errorf("keys: %v %v", err, got.PublicKeys)
	}
	if _, _, err := db.AddCooperativeKey(coop.ID, []byte("short"), false); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("short key: %v", err)
	}
}

func TestSeedFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "coop.seed")
	s, _ := trace.GenerateSigner(rand.Reader)
	if err := WriteSeedFile(p, s); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Stat(p); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	if err := WriteSeedFile(p, s); !errors.Is(err, fs.ErrExist) {
		t.Errorf("overwrite: %v", err)
	}
	back, err := ReadSeedFile(p)
	if err != nil || string(back.PublicKey()) != string(s.PublicKey()) {
		t.Fatalf("read back: %v", err)
	}
	os.Chmod(p, 0o644)
	if _, err := ReadSeedFile(p); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("readable by others: %v", err)
	}
}
