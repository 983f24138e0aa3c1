package store

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

const testOrigin = "trace.example.vn/log"

// testCheckpointer signs checkpoints with a fresh Ed25519 key.
func testCheckpointer(t testing.TB) Checkpointer {
	t.Helper()
	key, err := tlog.GenerateKey(rand.Reader, testOrigin, tlog.TypeEd25519)
	if err != nil {
		t.Fatal(err)
	}
	signer := key.Signer(nil)
	return func(size uint64, root tlog.Hash) ([]byte, error) {
		return tlog.SignCheckpoint(tlog.Checkpoint{Origin: testOrigin, Size: size, Root: root}, signer)
	}
}

func checkpoint(t testing.TB, db *DB, sign Checkpointer) uint64 {
	t.Helper()
	size, _, err := db.CheckpointLog(sign)
	if err != nil {
		t.Fatal(err)
	}
	return size
}

// TestBackupWhileAppending backs the store up while many writers append,
// and checks that every copy passes bbolt's and truyxuat's checks and is
// a prefix of the log and of every chain that the store went on to hold.
func TestBackupWhileAppending(t *testing.T) {
	db := openTest(t)
	fs := []*fixture{newFixture(t, db, "HTX A"), newFixture(t, db, "HTX B"), newFixture(t, db, "HTX C")}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for w := 0; w < 12; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			f := fs[w%len(fs)]
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := db.Append(context.Background(), AppendRequest{Event: f.event(i), Signer: f.signer}); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	dir := t.TempDir()
	var reports []*BackupReport
	for i := 0; i < 4; i++ {
		// Each copy is taken after more appends, while the writers go on.
		waitForSize(t, db, uint64(50*(i+1)))
		rep, err := db.BackupFile(filepath.Join(dir, "backup-"+string(rune('a'+i))+".db"))
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatal(err)
		}
		reports = append(reports, rep)
	}
	close(stop)
	wg.Wait()
	if t.Failed() {
		return
	}
	final := map[string][]*StoredEvent{}
	for _, f := range fs {
		h, err := db.History(f.batch.ID)
		if err != nil {
			t.Fatal(err)
		}
		final[f.batch.ID] = h
	}
	for _, rep := range reports {
		if rep.LogSize < 50 || rep.Events+rep.Records != int(rep.LogSize) || rep.Batches != 3 || rep.Cooperatives != 3 || len(rep.SHA256) != 64 {
			t.Errorf("report %+v", rep)
		}
		if fi, err := os.Stat(rep.Path); err != nil || fi.Size() != rep.Bytes || fi.Mode().Perm() != 0o600 {
			t.Errorf("backup file %s: %v %v", rep.Path, fi, err)
		}
		// The live log at the copy's size has the copy's root.
		db.ViewLog(func(v LogView) error {
			if root, err := tlog.RootAt(v, rep.LogSize); err != nil || root != rep.LogRoot {
				t.Errorf("copy of %d entries has root %s, the store %s at that size (%v)", rep.LogSize, rep.LogRoot, root, err)
			}
			return nil
		})
		// Opened as a store, the copy holds a prefix of every chain.
		copyPath := filepath.Join(t.TempDir(), "copy.db")
		b, _ := os.ReadFile(rep.Path)
		os.WriteFile(copyPath, b, 0o600)
		c, err := Open(copyPath, Options{})
		if err != nil {
			t.Fatal(err)
		}
		for id, events := range final {
			h, err := c.History(id)
			if err != nil {
				t.Fatalf("history in the copy: %v", err)
			}
			for i, st := range h {
				if st.Hash != events[i].Hash || st.LogIndex != events[i].LogIndex {
					t.Fatalf("copy's event %d of %s differs from the store's", i, id)
				}
			}
		}
		c.Close()
	}
}

// waitForSize waits until the log holds at least n entries.
func waitForSize(t *testing.T, db *DB, n uint64) {
	t.Helper()
	for {
		size, err := db.LogSize()
		if err != nil {
			t.Fatal(err)
		}
		if size >= n {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// TestCheckFileFindsDamage: a changed event, a broken head, a file that is
// not truyxuat's and a truncated file all fail the check, saying what.
func TestCheckFileFindsDamage(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "truyxuat.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, db, "HTX A")
	for i := 0; i < 300; i++ {
		f.append(t, i)
	}
	checkpoint(t, db, testCheckpointer(t))
	db.Close()
	rep, err := CheckFile(path)
	// 300 events, the lot's facts, and the cooperative's and product's records.
	if err != nil || rep.Events != 301 || rep.Records != 2 || rep.LogSize != 303 || rep.Checkpoint != 303 || rep.Origin != testOrigin {
		t.Fatalf("clean file: %+v %v", rep, err)
	}
	copyOf := func(name string) string {
		b, _ := os.ReadFile(path)
		p := filepath.Join(dir, name)
		os.WriteFile(p, b, 0o600)
		return p
	}
	altered := copyOf("altered.db")
	if err := AlterEvent(altered, f.batch.ID, 8, func(b []byte) []byte { // "lần 7", after the facts
		return bytes.Replace(b, []byte("lần 7"), []byte("lần 8"), 1)
	}); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckFile(altered); err == nil || !strings.Contains(err.Error(), f.batch.ID) {
		t.Errorf("altered event: %v", err)
	}
	head := copyOf("head.db")
	withBolt(t, head, func(tx *bolt.Tx) error { return writeHead(tx, f.batch.ID, 299, trace.Hash{}) })
	if _, err := CheckFile(head); err == nil || !strings.Contains(err.Error(), "head") {
		t.Errorf("broken head: %v", err)
	}
	// Tiles of level 0 are computed from the bundles; the 303 entries
	// make one stored tile of level 1.
	tile := copyOf("tile.db")
	withBolt(t, tile, func(tx *bolt.Tx) error {
		data := bytes.Clone(tx.Bucket(bucketLogTiles).Get(tileKey(1, 0)))
		data[5] ^= 1
		return tx.Bucket(bucketLogTiles).Put(tileKey(1, 0), data)
	})
	if _, err := CheckFile(tile); err == nil || !strings.Contains(err.Error(), "hash tile 1/0") {
		t.Errorf("changed tile: %v", err)
	}
	bundle := copyOf("bundle.db")
	withBolt(t, bundle, func(tx *bolt.Tx) error {
		data := bytes.Clone(tx.Bucket(bucketLogBundles).Get(u64(0)))
		data[5] ^= 1
		return tx.Bucket(bucketLogBundles).Put(u64(0), data)
	})
	if _, err := CheckFile(bundle); err == nil || !strings.Contains(err.Error(), "entry bundle 0") {
		t.Errorf("changed bundle: %v", err)
	}
	other := filepath.Join(dir, "other.db")
	withBolt(t, other, func(tx *bolt.Tx) error { _, err := tx.CreateBucket([]byte("x")); return err })
	if _, err := CheckFile(other); err == nil || !strings.Contains(err.Error(), "not a truyxuat data file") {
		t.Errorf("another bbolt file: %v", err)
	}
	short := copyOf("short.db")
	fi, _ := os.Stat(short)
	os.Truncate(short, fi.Size()/2)
	if _, err := CheckFile(short); err == nil {
		t.Error("truncated file passed the check")
	}
	// A failed copy never replaces a good backup of the same name.
	good := filepath.Join(dir, "good.db")
	if _, err := BackupDataFile(path, good); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(good)
	if _, err := BackupDataFile(altered, good); err == nil {
		t.Error("a damaged copy was kept")
	}
	if after, _ := os.ReadFile(good); !bytes.Equal(before, after) {
		t.Error("a failed backup replaced the good one")
	}
	if matches, _ := filepath.Glob(filepath.Join(dir, ".*tmp")); len(matches) != 0 {
		t.Errorf("temporary files left: %v", matches)
	}
}

func withBolt(t *testing.T, path string, f func(tx *bolt.Tx) error) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if err := b.Update(f); err != nil {
		t.Fatal(err)
	}
}

// TestBackupDataFileInUse: a data file open in a running store cannot be
// copied as a closed file; the error says so.
func TestBackupDataFileInUse(t *testing.T) {
	db := openTest(t)
	_, err := BackupDataFile(db.Path(), filepath.Join(t.TempDir(), "b.db"))
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("backup of an open data file: %v", err)
	}
	if _, err := db.BackupFile(db.Path()); err == nil {
		t.Fatal("a backup over the data file itself was accepted")
	}
}

// TestSnapshot: the snapshot is a complete copy, and Close removes it.
func TestSnapshot(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	f.append(t, 0)
	s, err := db.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	name := s.Name()
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the snapshot's name is still there while it is open: %v", err)
	}
	dst := filepath.Join(t.TempDir(), "snap.db")
	rep, err := WriteBackup(dst, func(w io.Writer) error { _, err := io.Copy(w, s); return err })
	if err != nil || rep.Events != 2 || rep.Bytes != s.Size || rep.SHA256 == "" {
		t.Fatalf("snapshot: %+v %v", rep, err)
	}
	s.Close()
	if _, err := os.Stat(name); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("snapshot file left: %v", err)
	}
}
