package store

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
)

func newSeqState(db *DB) *Planner { return db.newPlanner() }

// A head read by an append's caller is taken only for its own batch and
// only if the sequencer was not reset since it was read.
func TestHeadHintIsTakenOnlyFromTheSameEpoch(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	for i := 0; i < 3; i++ {
		f.append(t, i)
	}
	file := loadHead(db.bolt, db.tail, f.batch.ID)
	if file.Err != nil || file.Len != 4 { // the lot's facts and 3 events
		t.Fatalf("the file's head: %+v", file)
	}
	// A hint that says something else than the file, to see which is taken.
	other := LoadedHead{Coop: f.coop.ID, Len: 99, Hash: trace.Hash{1}}
	for _, tc := range []struct {
		name  string
		hint  *headHint
		epoch uint64
		want  uint64
	}{
		{"same epoch", &headHint{batch: f.batch.ID, epoch: 4, LoadedHead: other}, 4, 99},
		{"read before a reset", &headHint{batch: f.batch.ID, epoch: 3, LoadedHead: other}, 4, 4},
		{"another batch", &headHint{batch: "another", epoch: 4, LoadedHead: other}, 4, 4},
		{"none", nil, 4, 4},
	} {
		st := newSeqState(db)
		st.epoch, st.hint = tc.epoch, tc.hint
		_, hd, err := st.head(f.batch.ID)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if hd.n != tc.want {
			t.Errorf("%s: head of %d events, want %d", tc.name, hd.n, tc.want)
		}
	}
	// A hint that found the head damaged refuses the write like a read
	// of the file by the sequencer would.
	st := newSeqState(db)
	st.hint = &headHint{batch: f.batch.ID, LoadedHead: LoadedHead{Coop: f.coop.ID, Differs: "the head says 5 events"}}
	if _, _, err := st.head(f.batch.ID); !errors.Is(err, ErrDamaged) {
		t.Errorf("a damaged hint: %v, want ErrDamaged", err)
	}
}

// After a commit fails, the sequencer starts again from the file: an
// event that was in the failed group is not there, and the next append to
// its batch takes its place. The first append after the failure is
// accepted (its group is started after the failure is known).
func TestAppendAfterAFailedCommit(t *testing.T) {
	db := openTest(t)
	f := newFixture(t, db, "HTX A")
	f.append(t, 1)
	// An event and a write that fails, in one request: the whole
	// request (and its group) is refused.
	_, err := db.submit(context.Background(), func(st *Planner) (*Plan, error) {
		p, err := db.prepareAppend(st, AppendRequest{Event: f.event(2), Signer: f.signer})
		if err != nil {
			return nil, err
		}
		p.Sign()
		p.Write = func(Sink) error { return errors.New("disk full (test)") }
		return p, nil
	})
	if err == nil {
		t.Fatal("the failing write was committed")
	}
	for i := 2; i < 4; i++ {
		st := f.append(t, i)
		if st.Event.Seq != uint64(i) {
			t.Fatalf("append %d after the failed commit was numbered %d", i, st.Event.Seq)
		}
	}
	n, h, err := db.Head(f.batch.ID)
	if err != nil || n != 4 {
		t.Fatalf("head %d, %v", n, err)
	}
	hist, err := db.History(f.batch.ID)
	if err != nil || len(hist) != 4 || hist[3].Hash != h {
		t.Fatalf("history of %d events: %v", len(hist), err)
	}
}

// The caller of an append reads its lot's head only while the sequencer
// does not have it: not for a lot the sequencer created or already read.
func TestHeadHintOnlyWhileTheSequencerLacksTheHead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "truyxuat.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := newFixture(t, db, "HTX A")
	if h := db.headHint(f.batch.ID); h != nil {
		t.Errorf("a lot just created: the caller read its head (%+v)", h)
	}
	f.append(t, 1)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = Open(path, Options{}); err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	h := db.headHint(f.batch.ID)
	if h == nil || h.Err != nil || h.Len != 2 {
		t.Fatalf("after reopening, the caller's read of the head: %+v", h)
	}
	f.db = db
	f.append(t, 2)
	if h := db.headHint(f.batch.ID); h != nil {
		t.Errorf("a lot the sequencer has read: the caller read its head again (%+v)", h)
	}
}
