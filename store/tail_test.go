package store

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	bolt "go.etcd.io/bbolt"
)

// findAll checks that every event appended is found by its hash, by
// EventByHash and by the log view, at its log index, and that the batch's
// history and head end with them.
func findAll(t *testing.T, db *DB, events []*StoredEvent) {
	t.Helper()
	batch := events[0].Event.Batch
	hist, err := db.History(batch)
	if err != nil {
		t.Fatal(err)
	}
	if len(hist) != len(events)+1 { // the lot's facts first
		t.Fatalf("history of %d events, want %d", len(hist), len(events)+1)
	}
	for i, st := range events {
		if hist[i+1].Hash != st.Hash || hist[i+1].LogIndex != st.LogIndex {
			t.Fatalf("history event %d: %s at %d, want %s at %d", i+1, hist[i+1].Hash, hist[i+1].LogIndex, st.Hash, st.LogIndex)
		}
	}
	if n, h, err := db.Head(batch); err != nil || n != uint64(len(hist)) || h != events[len(events)-1].Hash {
		t.Fatalf("head %d %s %v, want %d %s", n, h, err, len(hist), events[len(events)-1].Hash)
	}
	from := uint64(max(len(hist)-3, 1))
	if more, err := db.HistoryFrom(batch, from, hist[from-1].Hash); err != nil || len(more) != len(hist)-int(from) {
		t.Fatalf("history from %d: %d events, %v", from, len(more), err)
	}
	for _, st := range events {
		got, err := db.EventByHash(st.Hash)
		if err != nil || got.LogIndex != st.LogIndex {
			t.Fatalf("event %s (log index %d) by its hash: %v", st.Hash, st.LogIndex, err)
		}
	}
	err = db.ViewLog(func(v LogView) error {
		for _, st := range events {
			if i, ok := v.EventIndex(st.Hash); !ok || i != st.LogIndex {
				t.Fatalf("log index of %s: %d %v, want %d", st.Hash, i, ok, st.LogIndex)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestEventHashTail: new events are found by their hash and in their
// batch's history and head before and after they are merged into the
// event-hash index and the chains, after the store is opened again, and
// by a reader whose transaction began before a merge that dropped them
// from the tail's map.
func TestEventHashTail(t *testing.T) {
	defer func(f func(uint64) uint64) { mergeEvery = f }(mergeEvery)
	mergeEvery = func(uint64) uint64 { return 5 }
	path := filepath.Join(t.TempDir(), "truyxuat.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, db, "HTX A")
	var events []*StoredEvent
	for i := 0; i < 23; i++ {
		events = append(events, f.append(t, i))
		findAll(t, db, events)
	}
	if db.merges.Load() < 3 {
		t.Errorf("%d merges of the tail, want one every 5 log entries", db.merges.Load())
	}
	var mark, size uint64
	db.bolt.View(func(tx *bolt.Tx) error { mark, size = mergedMark(tx), logSize(tx); return nil })
	if mark == 0 || size-mark >= 5 || db.tail.len() != int(size-mark) {
		t.Errorf("mark %d, log size %d, %d events in the tail's map", mark, size, db.tail.len())
	}

	// The map drops events a merge committed; a reader that still sees
	// the file before the merge finds them in the log.
	mergeEvery = func(uint64) uint64 { return 1 << 30 }
	for i := 23; i < 30; i++ {
		events = append(events, f.append(t, i))
	}
	db.tail.merged(size + 7)
	if db.tail.len() != 0 {
		t.Fatalf("%d events in the map after it was moved past them", db.tail.len())
	}
	findAll(t, db, events)

	// The tail as a store opened after a crash reads it from the file.
	db.bolt.View(func(tx *bolt.Tx) error {
		lt := loadTail(tx)
		if lt.len() != len(events)-int(mergedMark(tx)-events[0].LogIndex) {
			t.Errorf("%d events in the tail read from the file, mark %d", lt.len(), mergedMark(tx))
		}
		cv := chainView{tx, lt}
		if n, h := cv.head(f.batch.ID); n != uint64(len(events)+1) || h != events[len(events)-1].Hash {
			t.Errorf("head from the tail read from the file: %d %s", n, h)
		}
		for _, st := range events {
			if i, ok := lt.lookupEvent(tx, st.Hash); !ok || i != st.LogIndex {
				t.Errorf("event %s in the tail read from the file: %d %v", st.Hash, i, ok)
			}
		}
		return nil
	})

	// Closed, the file keeps no tail; opened again, everything is found.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if synced, err := freelistSynced(path); err != nil || !synced {
		t.Errorf("the freelist after a clean close: synced %v, %v", synced, err)
	}
	if db, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	if db.tail.len() != 0 {
		t.Errorf("%d events in the tail after a clean close", db.tail.len())
	}
	f.db = db
	findAll(t, db, events)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckFile(path); err != nil {
		t.Error(err)
	}
}

// TestDamagedFileWithoutFreelist: a file whose service stopped without
// closing it has no freelist, which bbolt rebuilds by walking every page
// when it opens it; a damaged page of such a file is an error of Open and
// CheckFile, not a crash.
func TestDamagedFileWithoutFreelist(t *testing.T) {
	path := filepath.Join(t.TempDir(), "truyxuat.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, db, "HTX A")
	for i := 0; i < 300; i++ {
		f.append(t, i)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	// A last commit without the freelist, as a running store makes them.
	b, err := bolt.Open(path, 0o600, &bolt.Options{NoFreelistSync: true})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error { return tx.Bucket(bucketMeta).Put([]byte("x"), nil) }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if synced, err := freelistSynced(path); err != nil || synced {
		t.Fatalf("freelist synced %v, %v; want a file without one", synced, err)
	}
	// Sound, it opens (bbolt rebuilds the freelist) and passes its check.
	sound := filepath.Join(t.TempDir(), "sound.db")
	copyDir(t, filepath.Dir(path), filepath.Dir(sound))
	sound = filepath.Join(filepath.Dir(sound), "truyxuat.db")
	if _, err := CheckFile(sound); err != nil {
		t.Fatalf("CheckFile of a sound file without a freelist: %v", err)
	}
	if db, err := Open(sound, Options{}); err != nil {
		t.Fatalf("a sound file without a freelist: %v", err)
	} else {
		db.Close()
	}
	// Cut in half, it is refused with an error.
	fi, _ := os.Stat(path)
	if err := os.Truncate(path, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	if _, err := CheckFile(path); err == nil {
		t.Error("CheckFile passed a damaged file without a freelist")
	}
	if db, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), "damaged") {
		t.Errorf("Open of a damaged file without a freelist: %v", err)
		if db != nil {
			db.Close()
		}
	}
}
