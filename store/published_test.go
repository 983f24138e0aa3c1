package store

import (
	"context"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

func openAt(t *testing.T, path string) *DB {
	t.Helper()
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	return db
}

// appendN appends n events to f's batch from 16 writers at once, so that
// they are committed in groups.
func appendN(t *testing.T, f *fixture, from, n int) {
	t.Helper()
	next := make(chan int)
	var wg sync.WaitGroup
	for w := 0; w < 16; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				if _, err := f.db.Append(context.Background(), AppendRequest{Event: f.event(i), Signer: f.signer}); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	for i := from; i < from+n; i++ {
		next <- i
	}
	close(next)
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
}

// fixtureOf finds the first cooperative's batch again in a reopened store.
func fixtureOf(t *testing.T, db *DB, keys string) *fixture {
	t.Helper()
	coops, err := db.Cooperatives()
	if err != nil || len(coops) == 0 {
		t.Fatalf("cooperatives: %v", err)
	}
	page, err := db.Batches(coops[0].ID, "", 10)
	if err != nil || len(page.Batches) == 0 {
		t.Fatalf("batches: %v", err)
	}
	kd, err := OpenKeyDir(keys)
	if err != nil {
		t.Fatal(err)
	}
	signer, err := kd.Existing(coops[0].ID)
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{db: db, coop: coops[0], batch: page.Batches[0], signer: signer}
}

// TestRestoreOlderCopyIsReadOnly: after a checkpoint of 1784 entries has
// been published, an older copy (537) is refused by Restore unless the
// operator insists; put back anyway, the store answers reads but refuses
// writes and checkpoints, saying why; the newer copy makes it whole again,
// and the next checkpoint extends the published one.
func TestRestoreOlderCopyIsReadOnly(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "truyxuat.db")
	sign := testCheckpointer(t)
	db := openAt(t, path)
	f := newFixture(t, db, "HTX A")
	// The log's first three entries are the cooperative's and product's
	// records and the lot's facts.
	appendN(t, f, 0, 537-3)
	checkpoint(t, db, sign)
	old := filepath.Join(t.TempDir(), "old.db")
	if _, err := db.BackupFile(old); err != nil {
		t.Fatal(err)
	}
	appendN(t, f, 537-3, 1784-537)
	if size := checkpoint(t, db, sign); size != 1784 {
		t.Fatalf("checkpoint of %d", size)
	}
	pub, ok := db.Published()
	if !ok || pub.Size != 1784 || pub.Origin != testOrigin {
		t.Fatalf("published state %+v", pub)
	}
	publishedRoot := pub.Root
	newer := filepath.Join(t.TempDir(), "new.db")
	if _, err := db.BackupFile(newer); err != nil {
		t.Fatal(err)
	}
	if _, err := Restore(old, path, RestoreOptions{}); !errors.Is(err, ErrInUse) {
		t.Fatalf("restore while the store is open: %v", err)
	}
	db.Close()
	if fi, err := os.Stat(PublishedPath(path)); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("%s: %v %v", PublishedFile, fi, err)
	}

	res, err := Restore(old, path, RestoreOptions{})
	if !errors.Is(err, ErrBehindPublished) || res == nil || res.Published != 1784 || res.Backup.LogSize != 537 ||
		!strings.Contains(err.Error(), "537") || !strings.Contains(err.Error(), "1784") {
		t.Fatalf("restore of the older copy: %+v %v", res, err)
	}
	res, err = Restore(old, path, RestoreOptions{AllowOlder: true})
	if err != nil || !res.Behind || res.Aside == "" {
		t.Fatalf("restore with AllowOlder: %+v %v", res, err)
	}
	if rep, err := CheckFile(res.Aside); err != nil || rep.LogSize != 1784 {
		t.Fatalf("the data file set aside: %+v %v", rep, err)
	}

	db = openAt(t, path)
	ro := db.ReadOnly()
	if ro == nil || !ro.Behind() || !strings.Contains(ro.Reason, "537") || !strings.Contains(ro.Reason, "1784") ||
		!strings.Contains(ro.Remedy, "truyxuat restore") {
		t.Fatalf("read-only: %v", ro)
	}
	f = fixtureOf(t, db, filepath.Join(dir, "keys"))
	if h, err := db.History(f.batch.ID); err != nil || len(h) != 537-2 {
		t.Fatalf("reads while read-only: %d events, %v", len(h), err)
	}
	if _, err := db.Append(context.Background(), AppendRequest{Event: f.event(537), Signer: f.signer}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("append while read-only: %v", err)
	}
	if err := db.CreateCooperative(&trace.Cooperative{Name: "HTX B", Province: "Sóc Trăng"}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("new cooperative while read-only: %v", err)
	}
	if _, _, err := db.CheckpointLog(sign); !errors.Is(err, ErrReadOnly) {
		t.Errorf("checkpoint while read-only: %v", err)
	}
	if _, _, err := db.CreateSession("admin"); err != nil {
		t.Errorf("signing in while read-only: %v", err)
	}
	db.Close()
	if pub, err := readPublished(PublishedPath(path)); err != nil || pub.Size != 1784 {
		t.Fatalf("the published state after the read-only run: %+v %v", pub, err)
	}

	if _, err := Restore(newer, path, RestoreOptions{}); err != nil {
		t.Fatalf("restore of the newer backup: %v", err)
	}
	db = openAt(t, path)
	defer db.Close()
	if ro := db.ReadOnly(); ro != nil {
		t.Fatalf("read-only after the newer copy: %v", ro)
	}
	f = fixtureOf(t, db, filepath.Join(dir, "keys"))
	appendN(t, f, 1784, 10)
	if size := checkpoint(t, db, sign); size != 1794 {
		t.Fatalf("checkpoint of %d", size)
	}
	db.ViewLog(func(v LogView) error {
		if root, _ := tlog.RootAt(v, 1784); root != publishedRoot {
			t.Errorf("root at 1784 is %s, published %s", root, publishedRoot)
		}
		return nil
	})
}

// TestAnotherLogIsRefused: a data file of another log put in place is
// refused by Restore, and one copied over by hand opens read-only without
// the "behind" remedy: no operator action can make it sign.
func TestAnotherLogIsRefused(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "truyxuat.db")
	sign := testCheckpointer(t)
	db := openAt(t, path)
	appendN(t, newFixture(t, db, "HTX A"), 0, 20)
	checkpoint(t, db, sign)
	db.Close()

	otherPath := filepath.Join(t.TempDir(), "other.db")
	other := openAt(t, otherPath)
	appendN(t, newFixture(t, other, "HTX Khác"), 0, 30)
	checkpoint(t, other, sign)
	other.Close()

	if _, err := Restore(otherPath, path, RestoreOptions{AllowOlder: true}); err == nil || !strings.Contains(err.Error(), "not a copy of this log") {
		t.Fatalf("restore of another log: %v", err)
	}
	b, _ := os.ReadFile(otherPath)
	os.WriteFile(path, b, 0o600)
	db = openAt(t, path)
	defer db.Close()
	ro := db.ReadOnly()
	if ro == nil || ro.Behind() || !strings.Contains(ro.Reason, "root") {
		t.Fatalf("another log's data file: %v", ro)
	}
	if _, _, err := db.CheckpointLog(sign); !errors.Is(err, ErrReadOnly) {
		t.Errorf("checkpoint: %v", err)
	}
}

// TestPublishedStateUpgradeAndCrash: a store without the file writes it
// from its newest checkpoint; a file left by a crash after it was written
// but before the checkpoint was committed is accepted, and the checkpoint
// signed next for that size has the same root; cosignatures are kept.
func TestPublishedStateUpgradeAndCrash(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "truyxuat.db")
	sign := testCheckpointer(t)
	db := openAt(t, path)
	f := newFixture(t, db, "HTX A")
	if _, ok := db.Published(); ok {
		t.Fatal("a new store has a published checkpoint")
	}
	if _, err := os.Stat(PublishedPath(path)); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("%s before the first checkpoint: %v", PublishedFile, err)
	}
	appendN(t, f, 0, 5)
	checkpoint(t, db, sign)
	db.Close()

	// Upgrade: no file yet.
	os.Remove(PublishedPath(path))
	db = openAt(t, path)
	if ro := db.ReadOnly(); ro != nil {
		t.Fatal(ro)
	}
	if pub, err := readPublished(PublishedPath(path)); err != nil || pub.Size != 5+3 {
		t.Fatalf("state written on upgrade: %+v %v", pub, err)
	}
	f = fixtureOf(t, db, filepath.Join(dir, "keys"))

	// A crash after the file recorded checkpoint 11, before it was stored.
	appendN(t, f, 5, 3)
	var crashed *Published
	db.ViewLog(func(v LogView) error {
		root, err := tlog.RootAt(v, v.Size())
		if err != nil {
			t.Fatal(err)
		}
		note, _ := sign(v.Size(), root)
		crashed, _ = PublishedFromNote(note)
		return nil
	})
	db.Close()
	if err := writePublished(PublishedPath(path), crashed); err != nil {
		t.Fatal(err)
	}
	db = openAt(t, path)
	defer db.Close()
	if ro := db.ReadOnly(); ro != nil {
		t.Fatalf("after the crash: %v", ro)
	}
	size, note, err := db.CheckpointLog(sign)
	if err != nil || size != 11 {
		t.Fatalf("checkpoint after the crash: %d %v", size, err)
	}
	if c, _ := PublishedFromNote(note); c.Root != crashed.Root {
		t.Fatalf("signed root %s for size 11 after publishing %s", c.Root, crashed.Root)
	}

	// Cosignatures come back: the file keeps the cosigned note.
	wkey, _ := tlog.GenerateKey(rand.Reader, "witness.example.vn", tlog.TypeCosignatureV1)
	n, _ := tlog.ParseNote(note)
	if err := n.Sign(wkey.Signer(nil)); err != nil {
		t.Fatal(err)
	}
	if err := db.UpdateCheckpoint(11, n.Bytes()); err != nil {
		t.Fatal(err)
	}
	pub, err := readPublished(PublishedPath(path))
	if err != nil || pub.CosignedSize != 11 || !strings.Contains(pub.Cosigned, "witness.example.vn") || pub.Size != 11 {
		t.Fatalf("cosigned state: %+v %v", pub, err)
	}
}

// TestDamagedPublishedState: a file that cannot be read makes the store
// read-only and says what to do.
func TestDamagedPublishedState(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "truyxuat.db")
	db := openAt(t, path)
	appendN(t, newFixture(t, db, "HTX A"), 0, 2)
	checkpoint(t, db, testCheckpointer(t))
	db.Close()
	b, _ := os.ReadFile(PublishedPath(path))
	os.WriteFile(PublishedPath(path), []byte(strings.Replace(string(b), `"size": 5`, `"size": 6`, 1)), 0o600)
	db = openAt(t, path)
	defer db.Close()
	if ro := db.ReadOnly(); ro == nil || !strings.Contains(ro.Reason, "damaged") || !strings.Contains(ro.Remedy, PublishedFile) {
		t.Fatalf("damaged state: %v", ro)
	}
}

// TestSetReadOnly: once set (as the checkpointer does when a witness holds
// a larger checkpoint), writes and checkpoints stop; the first reason stays.
func TestSetReadOnly(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	f.append(t, 0)
	first := BehindError("the data file", 1, 9, "cosigned by witness w1")
	db.SetReadOnly(first)
	db.SetReadOnly(&ReadOnlyError{Reason: "later"})
	if db.ReadOnly() != first {
		t.Fatalf("reason %v", db.ReadOnly())
	}
	if _, err := db.Append(context.Background(), AppendRequest{Event: f.event(1), Signer: f.signer}); !errors.Is(err, ErrReadOnly) {
		t.Errorf("append: %v", err)
	}
	var ro *ReadOnlyError
	if _, _, err := db.CheckpointLog(testCheckpointer(t)); !errors.As(err, &ro) || ro != first {
		t.Errorf("checkpoint: %v", err)
	}
}
