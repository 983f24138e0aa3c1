package store

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
)

// syncBuffer is a log destination the sequencer and the test may share.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// damagedFile makes a data file with two cooperatives' batches, A with
// three events and B with one, and closes it.
func damagedFile(t *testing.T) (path string, a, b *fixture, heads []*StoredEvent) {
	t.Helper()
	path = filepath.Join(t.TempDir(), "truyxuat.db")
	db, err := Open(path, Options{})
	if err != nil {
		t.Fatal(err)
	}
	a = newFixture(t, db, "HTX A")
	b = newFixture(t, db, "HTX B")
	for i := 0; i < 3; i++ {
		heads = append(heads, a.append(t, i))
	}
	b.append(t, 0)
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	return path, a, b, heads
}

// alter changes the closed file directly, as damage on the disk would.
func alter(t *testing.T, path string, f func(tx *bolt.Tx) error) {
	t.Helper()
	raw, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	if err := raw.Update(f); err != nil {
		t.Fatal(err)
	}
}

// reopen opens the file again with a logger the test reads.
func reopen(t *testing.T, path string, a, b *fixture) (*DB, *syncBuffer) {
	t.Helper()
	logs := &syncBuffer{}
	db, err := Open(path, Options{Logger: slog.New(slog.NewTextHandler(logs, nil))})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	a.db, b.db = db, db
	return db, logs
}

// eventRecordKey is the key of the record of event seq of a batch: its
// log index.
func eventRecordKey(tx *bolt.Tx, batchID string, seq uint64) []byte {
	index, ok := chainIndex(tx, batchID, seq)
	if !ok {
		panic(fmt.Sprintf("batch %s has no event %d", batchID, seq))
	}
	return u64(index)
}

func flipByte(v []byte, i int) []byte {
	v = bytes.Clone(v)
	v[i] ^= 0x01
	return v
}

func TestDamagedHeadRefusesWrites(t *testing.T) {
	for _, tc := range []struct {
		name   string
		damage func(tx *bolt.Tx, a *fixture, heads []*StoredEvent) error
		want   string // part of what the error says differs
	}{
		{"a byte of the length", func(tx *bolt.Tx, a *fixture, _ []*StoredEvent) error {
			hb := tx.Bucket(bucketChains)
			return hb.Put([]byte(a.batch.ID), flipByte(hb.Get([]byte(a.batch.ID)), 0))
		}, "the head says 72057594037927940 events"},
		{"a byte of the hash", func(tx *bolt.Tx, a *fixture, _ []*StoredEvent) error {
			hb := tx.Bucket(bucketChains)
			return hb.Put([]byte(a.batch.ID), flipByte(hb.Get([]byte(a.batch.ID)), 20))
		}, "but the last stored event is number 3"},
		{"a truncated head", func(tx *bolt.Tx, a *fixture, _ []*StoredEvent) error {
			hb := tx.Bucket(bucketChains)
			return hb.Put([]byte(a.batch.ID), hb.Get([]byte(a.batch.ID))[:39])
		}, "39 bytes"},
		{"a lost head", func(tx *bolt.Tx, a *fixture, _ []*StoredEvent) error {
			return tx.Bucket(bucketChains).Delete([]byte(a.batch.ID))
		}, "the head says 0 events"},
		{"a head one event behind", func(tx *bolt.Tx, a *fixture, heads []*StoredEvent) error {
			return writeHead(tx, a.batch.ID, 2, heads[1].Hash)
		}, "the head says 2 events"},
		{"the last event's bytes", func(tx *bolt.Tx, a *fixture, _ []*StoredEvent) error {
			eb := tx.Bucket(bucketEvents)
			k := eventRecordKey(tx, a.batch.ID, 3)
			return eb.Put(k, []byte(strings.Replace(string(eb.Get(k)), "lần 2", "lần 9", 1)))
		}, "but the last stored event is number 3 with hash"},
		{"the last event and the head rewritten together", func(tx *bolt.Tx, a *fixture, _ []*StoredEvent) error {
			eb := tx.Bucket(bucketEvents)
			k := eventRecordKey(tx, a.batch.ID, 3)
			st, err := decodeRecord(tx, binary.BigEndian.Uint64(k), eb.Get(k))
			if err != nil {
				return err
			}
			e, _ := trace.Decode(st.Body)
			e.Prev = trace.Hash{1}
			body, err := e.Encode()
			if err != nil {
				return err
			}
			st.Body = body
			rec, err := encodeRecord(tx, st)
			if err != nil {
				return err
			}
			if err := eb.Put(k, rec); err != nil {
				return err
			}
			h := trace.HashEvent(body)
			if err := tx.Bucket(bucketEventHash).Put(h[:], k); err != nil {
				return err
			}
			return writeHead(tx, a.batch.ID, 4, h)
		}, "the last event links to"},
		{"the index entry of the head", func(tx *bolt.Tx, a *fixture, heads []*StoredEvent) error {
			return tx.Bucket(bucketEventHash).Put(heads[2].Hash[:], eventRecordKey(tx, a.batch.ID, 1))
		}, "the event index does not lead to the last event"},
		{"the batch record's cooperative", func(tx *bolt.Tx, a *fixture, _ []*StoredEvent) error {
			bb := tx.Bucket(bucketBatches)
			raw := strings.Replace(string(bb.Get([]byte(a.batch.ID))), `"cooperative_id":"htx-a"`, `"cooperative_id":"htx-b"`, 1)
			return bb.Put([]byte(a.batch.ID), []byte(raw))
		}, "its events are of cooperative htx-a"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, a, b, heads := damagedFile(t)
			alter(t, path, func(tx *bolt.Tx) error { return tc.damage(tx, a, heads) })
			db, logs := reopen(t, path, a, b)
			size, _ := db.LogSize()
			before := db.Stats()

			_, err := db.Append(context.Background(), AppendRequest{Event: a.event(3), Signer: a.signer})
			var de *DamagedError
			if !errors.Is(err, ErrDamaged) || !errors.As(err, &de) || de.Batch != a.batch.ID || de.Record != "head" {
				t.Fatalf("append on %s: %v, want a DamagedError naming batch %s", tc.name, err, a.batch.ID)
			}
			if !strings.Contains(de.Detail, tc.want) {
				t.Errorf("detail %q does not say %q", de.Detail, tc.want)
			}
			if !strings.Contains(err.Error(), "writes to batch "+a.batch.ID+" are refused") {
				t.Errorf("error does not say writes are refused: %v", err)
			}
			if l := logs.String(); !strings.Contains(l, "level=ERROR") || !strings.Contains(l, "batch="+a.batch.ID) || !strings.Contains(l, "differs=") {
				t.Errorf("no error logged naming the batch and the difference: %s", l)
			}
			// Nothing was signed or written: the log and the counters
			// are as they were, and the refusal is not cached away.
			if after, _ := db.LogSize(); after != size {
				t.Errorf("log size %d after a refused append, was %d", after, size)
			}
			if st := db.Stats(); st.Appends != before.Appends || st.Rejected != before.Rejected+1 {
				t.Errorf("stats after the refusal: %+v, before %+v", st, before)
			}
			if _, err := db.Append(context.Background(), AppendRequest{Event: a.event(4), Signer: a.signer}); !errors.Is(err, ErrDamaged) {
				t.Errorf("second append on the damaged batch: %v", err)
			}
			// A transformation that links to the damaged batch is refused too.
			out := &trace.Batch{ID: "made-from-a", CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "ST25-XAY-01",
				Quantity: trace.Quantity{Value: "100", Unit: "KGM"}}
			_, err = db.Apply(context.Background(), Change{NewBatches: []*trace.Batch{out},
				Events: []AppendRequest{{Event: transformation(a, out, heads[1].Hash, "100"), Signer: a.signer}}})
			if !errors.Is(err, ErrDamaged) {
				t.Errorf("a transformation from the damaged batch: %v", err)
			}
			if _, err := db.Batch(out.ID); !errors.Is(err, trace.ErrNotFound) {
				t.Errorf("the refused transformation left its output batch: %v", err)
			}
			// Other batches take writes as before.
			if st, err := db.Append(context.Background(), AppendRequest{Event: b.event(1), Signer: b.signer}); err != nil || st.Event.Seq != 2 {
				t.Fatalf("append to an undamaged batch: %v", err)
			}
			if after, _ := db.LogSize(); after != size+1 {
				t.Errorf("log size %d, want %d", after, size+1)
			}
		})
	}
}

// transformation makes a TransformationEvent of out from a's batch.
func transformation(a *fixture, out *trace.Batch, input trace.Hash, kg string) *trace.Event {
	q := &trace.Quantity{Value: trace.Decimal(kg), Unit: "KGM"}
	return &trace.Event{Type: trace.TransformationEvent, Cooperative: a.coop.ID, Batch: out.ID,
		BizStep: trace.StepMilling, EventTime: "2025-08-20T10:00:00+07:00", EventTimeZoneOffset: "+07:00",
		Inputs:  []trace.Input{{Batch: a.batch.ID, Hash: input, Quantity: q}},
		Outputs: []trace.Output{{Batch: out.ID, Quantity: q}}}
}

func TestSoundHeadsAreAccepted(t *testing.T) {
	path, a, b, _ := damagedFile(t)
	// Lots registered before lots had signed facts may have no events: a
	// batch without events and without a head record, or with a zero one,
	// takes its first event.
	empty := &trace.Batch{ID: "legacy-empty", CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "ST25-EMPTY",
		Quantity: trace.Quantity{Value: "10", Unit: "KGM"}}
	zero := &trace.Batch{ID: "legacy-zero", CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "ST25-ZERO",
		Quantity: trace.Quantity{Value: "10", Unit: "KGM"}}
	ghost := &trace.Batch{ID: "legacy-ghost", CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "ST25-GHOST",
		Quantity: trace.Quantity{Value: "10", Unit: "KGM"}}
	if err := PlantEvents(path, []*trace.Batch{empty, zero, ghost}, nil); err != nil {
		t.Fatal(err)
	}
	alter(t, path, func(tx *bolt.Tx) error { return writeHead(tx, zero.ID, 0, trace.Hash{}) })
	// A head record on a batch that has no events is damage.
	alter(t, path, func(tx *bolt.Tx) error { return writeHead(tx, ghost.ID, 1, trace.Hash{7}) })
	db, _ := reopen(t, path, a, b)
	for _, bt := range []*trace.Batch{empty, zero, a.batch} {
		f := &fixture{db: db, coop: a.coop, prod: a.prod, batch: bt, signer: a.signer}
		if _, err := db.Append(context.Background(), AppendRequest{Event: f.event(9), Signer: a.signer}); err != nil {
			t.Errorf("append to batch %s: %v", bt.Lot, err)
		}
	}
	f := &fixture{db: db, coop: a.coop, prod: a.prod, batch: ghost, signer: a.signer}
	_, err := db.Append(context.Background(), AppendRequest{Event: f.event(0), Signer: a.signer})
	if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), "no stored events") {
		t.Errorf("a head on a batch without events: %v", err)
	}
}

func TestDamagedEventIndexRefusesTransformations(t *testing.T) {
	path, a, b, heads := damagedFile(t)
	// The index entry of A's event 2 leads to event 1.
	alter(t, path, func(tx *bolt.Tx) error {
		return tx.Bucket(bucketEventHash).Put(heads[1].Hash[:], eventRecordKey(tx, a.batch.ID, 1))
	})
	db, logs := reopen(t, path, a, b)
	size, _ := db.LogSize()
	out := &trace.Batch{ID: "made-from-a", CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "ST25-XAY-01",
		Quantity: trace.Quantity{Value: "100", Unit: "KGM"}}
	_, err := db.Apply(context.Background(), Change{NewBatches: []*trace.Batch{out},
		Events: []AppendRequest{{Event: transformation(a, out, heads[1].Hash, "100"), Signer: a.signer}}})
	var de *DamagedError
	if !errors.As(err, &de) || de.Record != "event index" || de.Batch != a.batch.ID || !strings.Contains(de.Detail, "whose bytes hash to "+heads[0].Hash.String()) {
		t.Fatalf("transformation through a damaged index entry: %v", err)
	}
	if !strings.Contains(logs.String(), "record=\"event index\"") {
		t.Errorf("not logged: %s", logs)
	}
	// The same through AppendAll.
	out2 := &trace.Batch{CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "ST25-XAY-02", Quantity: trace.Quantity{Value: "100", Unit: "KGM"}}
	if err := db.CreateBatch(out2); err != nil {
		t.Fatal(err)
	}
	_, err = db.AppendAll(context.Background(), []AppendRequest{{Event: transformation(a, out2, heads[1].Hash, "100"), Signer: a.signer}})
	if !errors.Is(err, ErrDamaged) {
		t.Errorf("AppendAll through a damaged index entry: %v", err)
	}
	if after, _ := db.LogSize(); after != size+1 { // out2's facts
		t.Errorf("log size %d after refusals, was %d and one lot's facts", after, size)
	}
	// A sound entry still places an input.
	if _, err := db.Apply(context.Background(), Change{NewBatches: []*trace.Batch{out},
		Events: []AppendRequest{{Event: transformation(a, out, heads[2].Hash, "100"), Signer: a.signer}}}); err != nil {
		t.Fatalf("transformation from the head: %v", err)
	}
}

func TestDamagedLotIndexRefusesNewBatch(t *testing.T) {
	path, a, b, _ := damagedFile(t)
	// The lot key of a new lot "ST25-NEW" points at A's batch, which is
	// another lot.
	lk := lotKey(a.prod, "ST25-NEW")
	alter(t, path, func(tx *bolt.Tx) error { return tx.Bucket(bucketLots).Put(lk, []byte(a.batch.ID)) })
	db, _ := reopen(t, path, a, b)
	bt := &trace.Batch{CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: "ST25-NEW", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
	err := db.CreateBatch(bt)
	var de *DamagedError
	if !errors.As(err, &de) || de.Record != "lot index" || de.Batch != a.batch.ID || !strings.Contains(err.Error(), "new batches with lot ST25-NEW") {
		t.Fatalf("new batch on a damaged lot index: %v", err)
	}
	// A sound entry is a plain conflict, as before.
	dup := &trace.Batch{CooperativeID: a.coop.ID, ProductID: a.prod.ID, Lot: a.batch.Lot, Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
	if err := db.CreateBatch(dup); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("duplicate lot: %v", err)
	}
}

func TestCheckLotBeforeALabelIsSigned(t *testing.T) {
	path, a, b, _ := damagedFile(t)
	db, _ := reopen(t, path, a, b)
	if err := db.CheckLot(a.batch.ID); err != nil {
		t.Fatalf("a sound lot: %v", err)
	}
	db.Close()
	// One byte of the lot code in A's batch record.
	alter(t, path, func(tx *bolt.Tx) error {
		bb := tx.Bucket(bucketBatches)
		raw := strings.Replace(string(bb.Get([]byte(a.batch.ID))), `"lot":"ST25-2025-08"`, `"lot":"ST25-2025-09"`, 1)
		return bb.Put([]byte(a.batch.ID), []byte(raw))
	})
	db, _ = reopen(t, path, a, b)
	err := db.CheckLot(a.batch.ID)
	var de *DamagedError
	if !errors.As(err, &de) || de.Batch != a.batch.ID || !strings.Contains(err.Error(), "signed labels of batch "+a.batch.ID+" are refused") {
		t.Errorf("a lot code that the index does not bear out: %v", err)
	}
}
