package store

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

var ict = time.FixedZone("ICT", 7*3600)

// openTest opens a store in a temporary directory and, when the test ends,
// closes it and runs bbolt's consistency check on the file.
func openTest(t testing.TB) *DB {
	t.Helper()
	path := filepath.Join(t.TempDir(), "truyxuat.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := db.Check(); err != nil {
			t.Errorf("tx.Check: %v", err)
		}
		if err := db.Close(); err != nil {
			t.Error(err)
		}
	})
	return db
}

type fixture struct {
	db     *DB
	coop   *trace.Cooperative
	prod   *trace.Product
	batch  *trace.Batch
	signer *trace.Signer
}

func newFixture(t testing.TB, db *DB, name string) *fixture {
	t.Helper()
	keys, err := OpenKeyDir(filepath.Join(filepath.Dir(db.Path()), "keys"))
	if err != nil {
		t.Fatal(err)
	}
	coop := &trace.Cooperative{Name: name, Province: "Sóc Trăng"}
	if err := db.CreateCooperative(coop); err != nil {
		t.Fatal(err)
	}
	// The store made the cooperative's key and registered it first.
	signer, err := keys.Signer(coop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(coop.PublicKeys) != 1 || string(coop.PublicKeys[0]) != string(signer.PublicKey()) {
		t.Fatalf("cooperative keys %x, want the store's key %x", coop.PublicKeys, signer.PublicKey())
	}
	prod := &trace.Product{CooperativeID: coop.ID, NameVI: "Gạo ST25 " + name, Category: "rice"}
	if err := db.CreateProduct(prod); err != nil {
		t.Fatal(err)
	}
	batch := &trace.Batch{CooperativeID: coop.ID, ProductID: prod.ID, Lot: "ST25-2025-08",
		Quantity: trace.Quantity{Value: "1250", Unit: "KGM"}, HarvestDate: "2025-08-15"}
	if err := db.CreateBatch(batch); err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, coop: coop, prod: prod, batch: batch, signer: signer}
}

func (f *fixture) event(i int) *trace.Event {
	et, off := trace.FormatEventTime(time.Date(2025, 8, 15, 6, 30, 0, 0, ict).Add(time.Duration(i) * time.Minute))
	return &trace.Event{Type: trace.ObjectEvent, Cooperative: f.coop.ID, Batch: f.batch.ID,
		Action: "OBSERVE", BizStep: "storing", EventTime: et, EventTimeZoneOffset: off,
		Note: fmt.Sprintf("kiểm tra kho lần %d", i)}
}

func (f *fixture) append(t testing.TB, i int) *StoredEvent {
	t.Helper()
	st, err := f.db.Append(context.Background(), AppendRequest{Event: f.event(i), Signer: f.signer, KeyID: "key-test"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

func TestAppendAndHistory(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX Mỹ Xuyên")
	if f.coop.ID != "htx-my-xuyen" {
		t.Errorf("cooperative id %q, want htx-my-xuyen", f.coop.ID)
	}
	for i := 0; i < 5; i++ {
		st := f.append(t, i)
		if st.Event.Seq != uint64(i+1) {
			t.Fatalf("event %d got seq %d", i, st.Event.Seq)
		}
	}
	hist, err := db.History(f.batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	// The lot's facts, signed at its creation, come first.
	if len(hist) != 6 {
		t.Fatalf("history has %d events, want 6", len(hist))
	}
	facts, err := trace.LotFactsOf(hist[0].Event)
	if err != nil || facts.Lot != f.batch.Lot || facts.Quantity != f.batch.Quantity || facts.HarvestDate != "2025-08-15" || facts.ProductName != f.prod.NameVI {
		t.Errorf("facts record: %+v %v", facts, err)
	}
	signed := make([]*trace.SignedEvent, len(hist))
	for i, st := range hist {
		signed[i] = st.SignedEvent
	}
	keys := func(string) [][]byte { return f.coop.PublicKeys }
	if err := trace.VerifyHistory(f.batch.ID, signed, keys); err != nil {
		t.Fatal(err)
	}
	hist = hist[1:]
	for i, st := range hist {
		if st.KeyID != "key-test" || st.ReceivedAt.IsZero() {
			t.Errorf("event %d: key %q received %v", i, st.KeyID, st.ReceivedAt)
		}
	}
	n, head, err := db.Head(f.batch.ID)
	if err != nil || n != 6 || head != hist[4].Hash {
		t.Errorf("head = %d %s %v", n, head, err)
	}
	got, err := db.EventByHash(hist[2].Hash)
	if err != nil || got.Event.Seq != 3 {
		t.Errorf("EventByHash = %v, %v", got, err)
	}
	byLot, err := db.Batches(f.coop.ID, "", 10)
	if err != nil || len(byLot.Batches) != 1 {
		t.Errorf("Batches = %+v, %v", byLot, err)
	}
}

func TestAppendRefusals(t *testing.T) {
	db := openTest(t)
	a := newFixture(t, db, "HTX A")
	b := newFixture(t, db, "HTX B")
	a.append(t, 0)
	ctx := context.Background()

	// A cooperative may not write to another cooperative's batch.
	e := a.event(1)
	e.Batch = b.batch.ID
	if _, err := db.Append(ctx, AppendRequest{Event: e, Signer: a.signer}); !errors.Is(err, trace.ErrForbidden) {
		t.Errorf("cross-cooperative append: %v, want ErrForbidden", err)
	}
	// An invalid event is refused with the field named.
	e = a.event(1)
	e.BizStep = "harvesting"
	_, err := db.Append(ctx, AppendRequest{Event: e, Signer: a.signer})
	if !errors.Is(err, trace.ErrInvalid) || !strings.Contains(err.Error(), "commissioning") {
		t.Errorf("bad bizStep: %v", err)
	}
	// A presigned event on a stale head is a conflict.
	e = a.event(1)
	e.Seq = 0
	stale, err := a.signer.Sign(e)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Append(ctx, AppendRequest{Presigned: stale}); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("stale presigned: %v, want ErrConflict", err)
	}
	// A presigned event on the right head is accepted as it is.
	n, head, _ := db.Head(a.batch.ID)
	e = a.event(1)
	e.Seq, e.Prev = n, head
	good, _ := a.signer.Sign(e)
	st, err := db.Append(ctx, AppendRequest{Presigned: good})
	if err != nil || st.Hash != good.Hash {
		t.Errorf("presigned: %v", err)
	}
	// The same lot twice for one product is a conflict.
	dup := &trace.Batch{CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: a.batch.Lot, Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
	if err := db.CreateBatch(dup); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("duplicate lot: %v", err)
	}
	// A Vietnamese lot code is refused with a message that says why.
	vn := &trace.Batch{CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "LÔ1", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
	if err := db.CreateBatch(vn); !errors.Is(err, trace.ErrInvalid) || !strings.Contains(err.Error(), "diacritics") {
		t.Errorf("Vietnamese lot: %v", err)
	}
	// Refusals leave the chain as it was.
	hist, err := db.History(a.batch.ID)
	if err != nil || len(hist) != 3 {
		t.Errorf("history after refusals: %d events, %v", len(hist), err)
	}
}

func TestConcurrentAppendsGroupCommit(t *testing.T) {
	db := openTest(t)
	fs := []*fixture{newFixture(t, db, "HTX A"), newFixture(t, db, "HTX B")}
	const writers, each = 32, 10
	var wg sync.WaitGroup
	errs := make(chan error, writers*each)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			f := fs[w%2]
			for i := 0; i < each; i++ {
				if _, err := db.Append(context.Background(), AppendRequest{Event: f.event(i), Signer: f.signer}); err != nil {
					errs <- err
				}
			}
		}(w)
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for _, f := range fs {
		hist, err := db.History(f.batch.ID)
		if err != nil {
			t.Fatal(err)
		}
		if len(hist) != 1+writers/2*each {
			t.Errorf("batch %s has %d events, want %d and its facts", f.batch.ID, len(hist), writers/2*each)
		}
	}
	s := db.Stats()
	if s.Appends < writers*each {
		t.Errorf("stats: %d appends", s.Appends)
	}
	if s.Commits >= s.Appends {
		t.Logf("no grouping happened this run (%d commits for %d appends)", s.Commits, s.Appends)
	}
}

func TestTamperedFileIsDetected(t *testing.T) {
	path := filepath.Join(t.TempDir(), "truyxuat.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, db, "HTX A")
	for i := 0; i < 3; i++ {
		f.append(t, i)
	}
	db.Close()

	for _, tc := range []struct {
		name string
		seq  uint64
	}{{"middle event", 1}, {"last event", 2}} {
		t.Run(tc.name, func(t *testing.T) {
			raw, err := bolt.Open(path, 0o600, nil)
			if err != nil {
				t.Fatal(err)
			}
			var orig []byte
			err = raw.Update(func(tx *bolt.Tx) error {
				b := tx.Bucket(bucketEvents)
				k := eventRecordKey(tx, f.batch.ID, tc.seq)
				orig = append([]byte(nil), b.Get(k)...)
				mod := []byte(strings.Replace(string(orig), "kiểm tra", "kiểm trA", 1))
				return b.Put(k, mod)
			})
			raw.Close()
			if err != nil {
				t.Fatal(err)
			}
			db, err := Open(path, Options{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = db.History(f.batch.ID)
			var ve *trace.VerifyError
			if !errors.As(err, &ve) {
				t.Errorf("tampered history read without error: %v", err)
			} else {
				t.Logf("detected: %v", err)
			}
			db.Close()
			raw, _ = bolt.Open(path, 0o600, nil)
			raw.Update(func(tx *bolt.Tx) error {
				return tx.Bucket(bucketEvents).Put(eventRecordKey(tx, f.batch.ID, tc.seq), orig)
			})
			raw.Close()
		})
	}
}

func TestAPIKeys(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	secret, err := db.CreateAPIKey(&APIKey{Name: "clerk", Role: RoleCooperative, CooperativeID: f.coop.ID})
	if err != nil {
		t.Fatal(err)
	}
	k, err := db.Authenticate(secret)
	if err != nil || k.CooperativeID != f.coop.ID {
		t.Fatalf("Authenticate = %+v, %v", k, err)
	}
	if _, err := db.Authenticate(secret + "x"); !errors.Is(err, trace.ErrUnauthenticated) {
		t.Errorf("wrong secret: %v", err)
	}
	if _, err := db.RevokeAPIKey(k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Authenticate(secret); !errors.Is(err, trace.ErrUnauthenticated) {
		t.Errorf("revoked key: %v", err)
	}
	// The secret is stored nowhere in the file.
	db.bolt.View(func(tx *bolt.Tx) error {
		return tx.ForEach(func(name []byte, b *bolt.Bucket) error {
			return b.ForEach(func(k, v []byte) error {
				if strings.Contains(string(k)+string(v), secret) {
					t.Errorf("secret found in bucket %s", name)
				}
				return nil
			})
		})
	})
}

func TestKeyFileMode(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	kd, err := OpenKeyDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	s, err := kd.Signer("htx-a")
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(filepath.Join(dir, "htx-a.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode %v, %v", fi.Mode(), err)
	}
	kd2, _ := OpenKeyDir(dir)
	s2, err := kd2.Existing("htx-a")
	if err != nil || string(s2.PublicKey()) != string(s.PublicKey()) {
		t.Fatalf("reloaded key differs: %v", err)
	}
	os.Chmod(filepath.Join(dir, "htx-a.key"), 0o644)
	kd3, _ := OpenKeyDir(dir)
	if _, err := kd3.Existing("htx-a"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable key accepted: %v", err)
	}
}

func TestSecretFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "keys")
	kd, _ := OpenKeyDir(dir)
	s, err := kd.Secret("workspace-device")
	if err != nil || len(s) != SecretSize {
		t.Fatalf("secret: %d bytes, %v", len(s), err)
	}
	p := filepath.Join(dir, "workspace-device.secret")
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("secret file mode %v, %v", fi.Mode(), err)
	}
	kd2, _ := OpenKeyDir(dir)
	if s2, err := kd2.Secret("workspace-device"); err != nil || !bytes.Equal(s, s2) {
		t.Fatalf("reopened secret differs: %v", err)
	}
	if other, _ := kd2.Secret("other"); bytes.Equal(other, s) {
		t.Error("two names, one secret")
	}
	os.Chmod(p, 0o644)
	if _, err := kd2.Secret("workspace-device"); err == nil || !strings.Contains(err.Error(), "chmod 600") {
		t.Errorf("world-readable secret accepted: %v", err)
	}
	os.Chmod(p, 0o600)
	os.WriteFile(p, []byte("truyxuat-secret c2hvcnQ=\n"), 0o600)
	if _, err := kd2.Secret("workspace-device"); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("short secret accepted: %v", err)
	}
}

// The crash test runs this test binary as a child process that appends
// events as fast as it can and prints the seq of each acknowledged one.
// The parent kills it with SIGKILL mid-load, reopens the file and checks
// that every acknowledged event is there and the chains verify.
const crashChildEnv = "TRUYXUAT_STORE_CRASH_CHILD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(crashChildEnv); dir != "" {
		crashChild(dir)
		return
	}
	os.Exit(m.Run())
}

func crashChild(dir string) {
	db, err := Open(filepath.Join(dir, "truyxuat.db"), Options{})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	f := newFixture(&crashTB{}, db, "HTX Crash")
	out := bufio.NewWriter(os.Stdout)
	var mu sync.Mutex
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				st, err := db.Append(context.Background(), AppendRequest{Event: f.event(i), Signer: f.signer})
				if err != nil {
					fmt.Fprintln(os.Stderr, err)
					os.Exit(3)
				}
				mu.Lock()
				fmt.Fprintf(out, "%s %d %s\n", f.batch.ID, st.Event.Seq, st.Hash)
				out.Flush()
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
}

// crashTB lets the fixture helpers run outside a test.
type crashTB struct{ testing.TB }

func (*crashTB) Helper()                   {}
func (*crashTB) Fatal(args ...any)         { fmt.Fprintln(os.Stderr, args...); os.Exit(2) }
func (*crashTB) Fatalf(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...); os.Exit(2) }

func TestAcknowledgedAppendsSurviveKill9(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a child process")
	}
	dir := t.TempDir()
	for round := 0; round < 3; round++ {
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(), crashChildEnv+"="+dir)
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		acked := map[string]string{} // "batch seq" → hash
		sc := bufio.NewScanner(stdout)
		target := 200 + round*150
		for sc.Scan() {
			parts := strings.Fields(sc.Text())
			if len(parts) != 3 {
				continue
			}
			acked[parts[0]+" "+parts[1]] = parts[2]
			if len(acked) >= target {
				break
			}
		}
		cmd.Process.Signal(syscall.SIGKILL)
		// Whatever the child printed before it died was acknowledged too.
		for sc.Scan() {
			if parts := strings.Fields(sc.Text()); len(parts) == 3 {
				acked[parts[0]+" "+parts[1]] = parts[2]
			}
		}
		cmd.Wait()
		if len(acked) < target {
			t.Fatalf("round %d: child acknowledged only %d events: %s", round, len(acked), stderr.String())
		}

		db, err := Open(filepath.Join(dir, "truyxuat.db"), Options{})
		if err != nil {
			t.Fatalf("round %d: reopen after kill -9: %v", round, err)
		}
		if err := db.Check(); err != nil {
			t.Fatalf("round %d: tx.Check: %v", round, err)
		}
		found, total := 0, 0
		page, _ := db.Batches("", "", 100)
		for _, bt := range page.Batches {
			hist, err := db.History(bt.ID)
			if err != nil {
				t.Fatalf("round %d: history of %s: %v", round, bt.ID, err)
			}
			total += len(hist)
			for _, st := range hist {
				if want, ok := acked[bt.ID+" "+strconv.FormatUint(st.Event.Seq, 10)]; ok {
					if want != st.Hash.String() {
						t.Fatalf("round %d: event %s/%d has hash %s, acknowledged %s", round, bt.ID, st.Event.Seq, st.Hash, want)
					}
					found++
				}
			}
		}
		// The log holds exactly the committed events: it is written in
		// the same transactions.
		if size, err := db.LogSize(); err != nil || size != uint64(total)+recordCount(db) {
			t.Fatalf("round %d: log size %d, %d events stored (%v)", round, size, total, err)
		}
		db.Close()
		if found != len(acked) {
			t.Fatalf("round %d: %d of %d acknowledged events survived kill -9", round, found, len(acked))
		}
		t.Logf("round %d: all %d acknowledged events survived kill -9", round, found)
	}
}

// recordCount is the number of registry records in a store (each is an
// entry of the log, beside the events).
func recordCount(db *DB) uint64 {
	var n uint64
	db.ViewLog(func(v LogView) error { n = v.RecordGeneration(); return nil })
	return n
}

func TestSetPassword(t *testing.T) {
	db, err := Open(filepath.Join(t.TempDir(), "t.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.CreateUser(&User{Username: "quantri", Name: "Quản trị", Role: RoleAdmin}, "mat-khau-cu-1"); err != nil {
		t.Fatal(err)
	}
	secret, _, err := db.CreateSession("quantri")
	if err != nil {
		t.Fatal(err)
	}
	if err := db.SetPassword("quantri", "ngan"); err == nil {
		t.Error("a short password is accepted")
	}
	if err := db.SetPassword("khong-co", "mat-khau-moi-2"); err == nil {
		t.Error("an unknown person's password is set")
	}
	if err := db.SetPassword("quantri", "mat-khau-moi-2"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.CheckPassword("quantri", "mat-khau-cu-1"); err == nil {
		t.Error("the old password still works")
	}
	if _, err := db.CheckPassword("quantri", "mat-khau-moi-2"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if _, err := db.SessionFor(secret, time.Hour, time.Hour); err == nil {
		t.Error("the session from before the change is still valid")
	}
}
