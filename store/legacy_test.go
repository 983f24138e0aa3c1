package store

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// legacyDir is a data directory made by truyxuat before the events were
// keyed by their log index (file layout, schema version 1): see
// TestMakeLegacyFixture.
const legacyDir = "testdata/legacy-v1"

// TestMakeLegacyFixture writes a small data directory (the bbolt file, its
// keys and its published checkpoint) into $TRUYXUAT_MAKE_FIXTURE: three
// cooperatives' lots with interleaved events, a facts restatement, a
// transformation, a recall, registry revisions and two checkpoints. The
// files in testdata/legacy-v1 were made by it on the code of schema
// version 1 and must not be made again: they are what an existing
// installation holds.
func TestMakeLegacyFixture(t *testing.T) {
	dir := os.Getenv("TRUYXUAT_MAKE_FIXTURE")
	if dir == "" {
		t.Skip("set TRUYXUAT_MAKE_FIXTURE to a directory to make a data directory of the current layout")
	}
	ctx := context.Background()
	db, err := Open(filepath.Join(dir, "truyxuat.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	sign := testCheckpointer(t)
	fs := []*fixture{newFixture(t, db, "HTX Mỹ Xuyên"), newFixture(t, db, "HTX Long Phú")}
	more := &trace.Batch{CooperativeID: fs[0].coop.ID, ProductID: fs[0].prod.ID, Lot: "ST25-2025-09",
		Quantity: trace.Quantity{Value: "800", Unit: "KGM"}, HarvestDate: "2025-09-02"}
	if err := db.CreateBatch(more); err != nil {
		t.Fatal(err)
	}
	fs = append(fs, &fixture{db: db, coop: fs[0].coop, prod: fs[0].prod, batch: more, signer: fs[0].signer})
	for i := 1; i <= 12; i++ {
		for j, f := range fs {
			if (i+j)%3 != 0 {
				f.append(t, i)
			}
		}
		if i == 5 {
			checkpoint(t, db, sign)
		}
	}
	if _, err := db.RestateFacts(ctx, fs[1].batch.ID, &trace.LotFacts{Quantity: trace.Quantity{Value: "1200", Unit: "KGM"}, HarvestDate: "2025-08-16"}, "key-test"); err != nil {
		t.Fatal(err)
	}
	renamed := *fs[0].prod
	renamed.NameVI = "Gạo ST25 thơm"
	if err := db.UpdateProduct(&renamed, "key-test"); err != nil {
		t.Fatal(err)
	}
	hist, err := db.History(fs[0].batch.ID)
	if err != nil {
		t.Fatal(err)
	}
	out := &trace.Batch{ID: "xay-" + fs[0].batch.ID, CooperativeID: fs[0].coop.ID, ProductID: fs[0].prod.ID, Lot: "ST25-XAY-01",
		Quantity: trace.Quantity{Value: "100", Unit: "KGM"}}
	if _, err := db.Apply(ctx, Change{NewBatches: []*trace.Batch{out},
		Events: []AppendRequest{{Event: transformation(fs[0], out, hist[len(hist)-1].Hash, "100"), Signer: fs[0].signer, KeyID: "key-test"}}}); err != nil {
		t.Fatal(err)
	}
	recall := fs[2].event(40)
	recall.BizStep, recall.Disposition, recall.Note = trace.StepRecalling, "recalled", "thu hồi lô"
	if _, err := db.Append(ctx, AppendRequest{Event: recall, Signer: fs[2].signer, KeyID: "key-test"}); err != nil {
		t.Fatal(err)
	}
	fs[1].append(t, 41)
	size := checkpoint(t, db, sign)
	want := legacyExpect{Size: size}
	err = db.ViewLog(func(v LogView) error {
		root, err := tlog.RootAt(v, size)
		want.Root = root.String()
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range append(fs, &fixture{batch: out}) {
		hist, err := db.History(f.batch.ID)
		if err != nil {
			t.Fatal(err)
		}
		var chain []legacyEvent
		for _, st := range hist {
			chain = append(chain, legacyEvent{Hash: st.Hash.String(), LogIndex: st.LogIndex})
		}
		want.Batches = append(want.Batches, legacyBatch{ID: f.batch.ID, Events: chain})
	}
	raw, err := json.MarshalIndent(want, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "expected.json"), append(raw, '\n'), 0o600); err != nil {
		t.Fatal(err)
	}
	fmt.Printf("made %s: %d log entries\n", dir, size)
}

// legacyExpect is what the fixture's store held when it was made:
// expected.json beside it.
type legacyExpect struct {
	Size    uint64        `json:"size"`
	Root    string        `json:"root"`
	Batches []legacyBatch `json:"batches"`
}

type legacyBatch struct {
	ID     string        `json:"id"`
	Events []legacyEvent `json:"events"`
}

type legacyEvent struct {
	Hash     string `json:"hash"`
	LogIndex uint64 `json:"log_index"`
}

// copyLegacy copies the fixture's data directory into a temporary one
// and returns the path of its data file.
func copyLegacy(t *testing.T) string {
	t.Helper()
	dir := filepath.Join(t.TempDir(), "data")
	copyDir(t, legacyDir, dir)
	return filepath.Join(dir, "truyxuat.db")
}

func readLegacyExpect(t *testing.T) legacyExpect {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(legacyDir, "expected.json"))
	if err != nil {
		t.Fatal(err)
	}
	var want legacyExpect
	if err := json.Unmarshal(raw, &want); err != nil {
		t.Fatal(err)
	}
	return want
}

func schemaOf(t *testing.T, path string) (version string, buckets []string) {
	t.Helper()
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.View(func(tx *bolt.Tx) error {
		version = string(tx.Bucket(bucketMeta).Get([]byte("schema")))
		return tx.ForEach(func(name []byte, _ *bolt.Bucket) error {
			buckets = append(buckets, string(name))
			return nil
		})
	})
	return version, buckets
}

// checkLegacyContents checks that db holds what the fixture held when it
// was made: every history (hashes and log indexes, in order, verified),
// each event found by its hash, the log's root at its size, and the
// newest checkpoint of that size and root.
func checkLegacyContents(t *testing.T, db *DB, want legacyExpect) {
	t.Helper()
	for _, bt := range want.Batches {
		hist, err := db.History(bt.ID)
		if err != nil {
			t.Fatalf("history of %s: %v", bt.ID, err)
		}
		if len(hist) != len(bt.Events) {
			t.Fatalf("batch %s has %d events, want %d", bt.ID, len(hist), len(bt.Events))
		}
		for i, st := range hist {
			if st.Hash.String() != bt.Events[i].Hash || st.LogIndex != bt.Events[i].LogIndex {
				t.Errorf("batch %s event %d: %s at %d, want %s at %d", bt.ID, i, st.Hash, st.LogIndex, bt.Events[i].Hash, bt.Events[i].LogIndex)
			}
			byHash, err := db.EventByHash(st.Hash)
			if err != nil || byHash.LogIndex != st.LogIndex || !bytes.Equal(byHash.Signature, st.Signature) {
				t.Errorf("event %s by its hash: %v", st.Hash, err)
			}
		}
	}
	err := db.ViewLog(func(v LogView) error {
		if v.Size() != want.Size {
			t.Errorf("log size %d, want %d", v.Size(), want.Size)
		}
		root, err := tlog.RootAt(v, want.Size)
		if err != nil {
			return err
		}
		if root.String() != want.Root {
			t.Errorf("root at %d is %s, want %s", want.Size, root, want.Root)
		}
		size, note := v.LatestCheckpoint()
		cp, err := PublishedFromNote(note)
		if err != nil {
			return err
		}
		if size != want.Size || cp.Size != want.Size || cp.Root != root {
			t.Errorf("newest checkpoint: size %d (stored as %d), root %s; the log's root %s", cp.Size, size, cp.Root, root)
		}
		for _, bt := range want.Batches {
			for _, ev := range bt.Events {
				h, err := trace.ParseHash(ev.Hash)
				if err != nil {
					return err
				}
				if at, ok := v.EventIndex(h); !ok || at != ev.LogIndex {
					t.Errorf("log index of %s: %d %v, want %d", ev.Hash, at, ok, ev.LogIndex)
				}
				if got, ok := v.EventAt(ev.LogIndex); !ok || got != h {
					t.Errorf("log entry %d: %s, want %s", ev.LogIndex, got, ev.Hash)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if recalls, err := db.Recalls(want.Batches[2].ID); err != nil || len(recalls) != 1 {
		t.Errorf("recalls of the recalled lot: %v %v", recalls, err)
	}
}

// TestLegacyFileIsConverted opens a data directory of schema version 1:
// its file is converted in place, holds every history and the log as
// they were, passes CheckFile, and takes new events on the chains it had.
func TestLegacyFileIsConverted(t *testing.T) {
	want := readLegacyExpect(t)
	path := copyLegacy(t)
	if v, _ := schemaOf(t, path); v != "1" {
		t.Fatalf("the fixture has schema version %q, want 1", v)
	}
	// A file of the earlier layout is checked as a converted copy and
	// left as it is.
	rep, err := CheckFile(path)
	if err != nil {
		t.Fatalf("CheckFile of the earlier layout: %v", err)
	}
	if rep.LogSize != want.Size || rep.Checkpoint != want.Size || rep.LogRoot.String() != want.Root {
		t.Errorf("CheckFile of the earlier layout: %+v", rep)
	}
	if v, _ := schemaOf(t, path); v != "1" {
		t.Fatalf("CheckFile changed the file to schema version %q", v)
	}

	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	checkLegacyContents(t, db, want)
	if err := db.Check(); err != nil {
		t.Error(err)
	}
	// The chains go on: a new event follows each lot's head.
	for _, bt := range want.Batches[:3] {
		n, h, err := db.Head(bt.ID)
		if err != nil {
			t.Fatal(err)
		}
		b, err := db.Batch(bt.ID)
		if err != nil {
			t.Fatal(err)
		}
		keys, err := OpenKeyDir(filepath.Join(filepath.Dir(path), "keys"))
		if err != nil {
			t.Fatal(err)
		}
		signer, err := keys.Signer(b.CooperativeID)
		if err != nil {
			t.Fatal(err)
		}
		f := &fixture{db: db, batch: b, coop: &trace.Cooperative{ID: b.CooperativeID}, signer: signer}
		st := f.append(t, 90)
		if st.Event.Seq != n || st.Event.Prev != h {
			t.Errorf("batch %s: new event %d after %s, want %d after %s", bt.ID, st.Event.Seq, st.Event.Prev, n, h)
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	v, buckets := schemaOf(t, path)
	if v != schemaVersion {
		t.Errorf("schema version %q after opening, want %s", v, schemaVersion)
	}
	for _, name := range buckets {
		if name == string(legacyEvents) || name == string(legacyHeads) || name == string(legacyEventHash) {
			t.Errorf("bucket %s of the earlier layout is still there", name)
		}
	}
	if _, err := CheckFile(path); err != nil {
		t.Errorf("CheckFile after the conversion: %v", err)
	}
	// Hash tiles of level 0 are computed from their bundles now.
	b, err := bolt.Open(path, 0o600, &bolt.Options{ReadOnly: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	b.View(func(tx *bolt.Tx) error {
		if k, _ := tx.Bucket(bucketLogTiles).Cursor().Seek([]byte{0}); k != nil && k[0] == 0 {
			t.Errorf("a hash tile of level 0 (%x) is still stored", k)
		}
		return nil
	})
}

// TestLegacyConversionResumes cuts the conversion short after each of its
// transactions in turn, as a crash would, and opens the file again: the
// conversion goes on from where it stopped and the file ends up holding
// what it held.
func TestLegacyConversionResumes(t *testing.T) {
	want := readLegacyExpect(t)
	defer func(n int) { migrateStep, migrated = n, nil }(migrateStep)
	migrateStep = 4 // many transactions, even for the small fixture
	stop := errors.New("stopped")
	for cut := 1; ; cut++ {
		path := copyLegacy(t)
		n := 0
		migrated = func([]byte) error {
			if n++; n == cut {
				return stop
			}
			return nil
		}
		_, err := Open(path, Options{})
		migrated = nil
		if err == nil {
			// The conversion took fewer transactions than cut: every
			// point it can stop at was tried.
			if cut < 10 {
				t.Fatalf("the conversion took %d transactions; want many with migrateStep 4", cut-1)
			}
			return
		}
		if !errors.Is(err, stop) {
			t.Fatalf("cut after %d: %v", cut, err)
		}
		// Until its last transaction, the file says it is of the
		// earlier layout.
		if v, buckets := schemaOf(t, path); v != "1" && (v != schemaVersion || len(buckets) != len(allBuckets)) {
			t.Fatalf("cut after %d transactions: schema version %q, buckets %v", cut, v, buckets)
		}
		db, err := Open(path, Options{})
		if err != nil {
			t.Fatalf("cut after %d transactions, then opened: %v", cut, err)
		}
		checkLegacyContents(t, db, want)
		if err := db.Close(); err != nil {
			t.Fatal(err)
		}
		if _, err := CheckFile(path); err != nil {
			t.Fatalf("cut after %d transactions: CheckFile: %v", cut, err)
		}
	}
}

// TestLegacyBackupRestores puts a backup of the earlier layout back with
// Restore: it is checked as a converted copy, put back as it is and
// converted when the store opens it.
func TestLegacyBackupRestores(t *testing.T) {
	want := readLegacyExpect(t)
	src := copyLegacy(t)
	dst := filepath.Join(t.TempDir(), "truyxuat.db")
	copyDir(t, filepath.Join(legacyDir, "keys"), filepath.Join(filepath.Dir(dst), "keys"))
	res, err := Restore(src, dst, RestoreOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Backup.LogSize != want.Size {
		t.Errorf("restored a log of %d entries, want %d", res.Backup.LogSize, want.Size)
	}
	db, err := Open(dst, Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	checkLegacyContents(t, db, want)
	// And a backup of the converted store is a file of this layout.
	out := filepath.Join(t.TempDir(), "backup.db")
	if _, err := db.BackupFile(out); err != nil {
		t.Fatal(err)
	}
	if v, _ := schemaOf(t, out); v != schemaVersion {
		t.Errorf("backup of schema version %q", v)
	}
}
