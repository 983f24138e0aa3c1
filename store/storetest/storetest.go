// Package storetest is the contract every implementation of store.Store
// passes: the embedded bbolt store's tests and the PostgreSQL store's run
// the same suite (Run). It checks what the API relies on through the
// contract alone — chains, the transparency log (against
// github.com/transparency-dev/merkle's verifiers), the registry, keys,
// people, sessions, attachments, scans — never an implementation's files
// or tables.
package storetest

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// Backend makes the stores the suite tests.
type Backend struct {
	// New makes a fresh, empty place to keep a store (a directory, a
	// database schema), removed when the test ends, and names it.
	New func(t testing.TB) string
	// Open opens the store kept at where. The suite closes it.
	Open func(t testing.TB, where string) store.Store
	// Nodes says that several stores may be open on one place at once,
	// as several truyxuat nodes share one database: the suite then
	// checks that they behave as one store.
	Nodes bool
}

// Run runs the contract's tests against b, each on a store of its own.
func Run(t *testing.T, b Backend) {
	tests := []struct {
		name string
		f    func(t *testing.T, e *env)
	}{
		{"RegistryOfCooperativesAndProducts", testCooperativesAndProducts},
		{"BatchesAndLots", testBatches},
		{"AppendAndHistory", testAppendAndHistory},
		{"ConcurrentAppendsMakeOneChainPerBatch", testConcurrentAppends},
		{"PresignedAppendMustBuildOnTheHead", testPresigned},
		{"AppendAllIsAllOrNothing", testAppendAll},
		{"ApplyIsAllOrNothing", testApply},
		{"TransformationsLineageBalanceRecalls", testTransformations},
		{"RestatedFacts", testRestateFacts},
		{"RegistryLists", testRegistryLists},
		{"TransparencyLog", testLog},
		{"APIKeys", testAPIKeys},
		{"PeopleAndSessions", testPeople},
		{"AttachmentsAndScans", testAttachmentsAndScans},
		{"Inspectors", testInspectors},
		{"ReadOnlyRefusesWrites", testReadOnly},
		{"WhatWasCommittedSurvivesAReopen", testReopen},
	}
	if b.Nodes {
		tests = append(tests, struct {
			name string
			f    func(t *testing.T, e *env)
		}{"SeveralNodesAreOneStore", testNodes})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := &env{t: t, b: b, where: b.New(t)}
			e.s = b.Open(t, e.where)
			t.Cleanup(func() { e.s.Close() })
			tc.f(t, e)
		})
	}
}

type env struct {
	t     *testing.T
	b     Backend
	where string
	s     store.Store
}

// reopen closes the store and opens what it kept again.
func (e *env) reopen() {
	e.t.Helper()
	if err := e.s.Close(); err != nil {
		e.t.Fatal(err)
	}
	e.s = e.b.Open(e.t, e.where)
}

var ict = time.FixedZone("ICT", 7*3600)

// fixture is a cooperative with a product (with a GTIN) and a lot.
type fixture struct {
	s      store.Store
	coop   *trace.Cooperative
	prod   *trace.Product
	batch  *trace.Batch
	signer *trace.Signer
}

func (e *env) fixture(name string) *fixture {
	t := e.t
	t.Helper()
	coop := &trace.Cooperative{Name: name, Province: "Sóc Trăng"}
	if err := e.s.CreateCooperative(coop); err != nil {
		t.Fatal(err)
	}
	signer, err := e.s.SignerFor(coop.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(coop.PublicKeys) != 1 || string(coop.PublicKeys[0]) != string(signer.PublicKey()) {
		t.Fatalf("the cooperative's keys %x, want the store's key first", coop.PublicKeys)
	}
	prod := &trace.Product{CooperativeID: coop.ID, NameVI: "Gạo ST25 " + name, Category: "Lúa gạo", GTIN: gtin(name)}
	if err := e.s.CreateProduct(prod); err != nil {
		t.Fatal(err)
	}
	bt := &trace.Batch{CooperativeID: coop.ID, ProductID: prod.ID, Lot: "ST25-2508",
		Quantity: trace.Quantity{Value: "1250", Unit: "KGM"}, HarvestDate: "2025-08-15"}
	if err := e.s.CreateBatch(bt); err != nil {
		t.Fatal(err)
	}
	return &fixture{s: e.s, coop: coop, prod: prod, batch: bt, signer: signer}
}

// gtin makes a valid GTIN-14 from a name.
func gtin(name string) string {
	var n uint64
	for _, r := range name {
		n = n*31 + uint64(r)
	}
	return withCheckDigit(fmt.Sprintf("1893%09d", n%1e9))
}

// withCheckDigit appends the GS1 check digit (weights 3, 1, 3… from the
// right).
func withCheckDigit(digits string) string {
	sum := 0
	for i := range digits {
		d := int(digits[len(digits)-1-i] - '0')
		if i%2 == 0 {
			d *= 3
		}
		sum += d
	}
	return digits + fmt.Sprint((10-sum%10)%10)
}

func (f *fixture) event(batch string, i int) *trace.Event {
	et, off := trace.FormatEventTime(time.Date(2025, 8, 16, 6, 0, 0, 0, ict).Add(time.Duration(i) * time.Minute))
	return &trace.Event{Type: trace.ObjectEvent, Cooperative: f.coop.ID, Batch: batch, Action: "OBSERVE",
		BizStep: "storing", EventTime: et, EventTimeZoneOffset: off, Note: fmt.Sprintf("kiểm tra kho lần %d", i)}
}

func (f *fixture) append(t testing.TB, batch string, i int) *store.StoredEvent {
	t.Helper()
	st, err := f.s.Append(context.Background(), store.AppendRequest{Event: f.event(batch, i), Signer: f.signer, KeyID: "key-test"})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// newLot makes another lot of the fixture's product with the given kilograms.
func (f *fixture) newLot(t testing.TB, kg string) *trace.Batch {
	t.Helper()
	bt := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "L-" + store.NewID()[:8],
		Quantity: trace.Quantity{Value: trace.Decimal(kg), Unit: "KGM"}}
	if err := f.s.CreateBatch(bt); err != nil {
		t.Fatal(err)
	}
	return bt
}

// verifyHistory checks a batch's history as a reader would: its chain,
// its length and its signatures against the cooperative's keys.
func verifyHistory(t testing.TB, s store.Store, batch string, want int) []*store.StoredEvent {
	t.Helper()
	hist, err := s.History(batch)
	if err != nil {
		t.Fatalf("history of %s: %v", batch, err)
	}
	if len(hist) != want {
		t.Fatalf("history of %s has %d events, want %d", batch, len(hist), want)
	}
	bt, err := s.Batch(batch)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Cooperative(bt.CooperativeID)
	if err != nil {
		t.Fatal(err)
	}
	signed := make([]*trace.SignedEvent, len(hist))
	for i, st := range hist {
		signed[i] = st.SignedEvent
	}
	if err := trace.VerifyHistory(batch, signed, func(string) [][]byte { return c.PublicKeys }); err != nil {
		t.Fatalf("history of %s: %v", batch, err)
	}
	for i, st := range hist {
		if st.Event.Seq != uint64(i) {
			t.Fatalf("event %d says it is number %d", i, st.Event.Seq)
		}
	}
	n, h, err := s.Head(batch)
	if err != nil || n != uint64(want) || (want > 0 && h != hist[want-1].Hash) {
		t.Fatalf("head %d %s (%v), want %d events", n, h, err, want)
	}
	return hist
}

func testCooperativesAndProducts(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX Mỹ Xuyên")
	if f.coop.ID != "htx-my-xuyen" {
		t.Errorf("cooperative id %q, want the name's slug htx-my-xuyen", f.coop.ID)
	}
	// A second cooperative of the same name gets the next free id.
	other := &trace.Cooperative{Name: "HTX Mỹ Xuyên", Province: "Cần Thơ"}
	if err := s.CreateCooperative(other); err != nil || other.ID != "htx-my-xuyen-2" {
		t.Fatalf("second cooperative: %q, %v", other.ID, err)
	}
	if err := s.CreateCooperative(&trace.Cooperative{ID: other.ID, Name: "x", Province: "y"}); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("a cooperative with a taken id: %v", err)
	}
	if err := s.CreateCooperative(&trace.Cooperative{ID: store.InspectorKeyPrefix + "x", Name: "x", Province: "y"}); err == nil {
		t.Error("a cooperative id reserved for inspectors' keys was accepted")
	}
	coops, err := s.Cooperatives()
	if err != nil || len(coops) != 2 || coops[0].ID != "htx-my-xuyen" || coops[1].ID != "htx-my-xuyen-2" {
		t.Fatalf("cooperatives in id order: %v %v", coops, err)
	}
	// A profile change is the next signed revision; no change signs nothing.
	gln := withCheckDigit("893604000001")
	c, _ := s.Cooperative(f.coop.ID)
	c.Name, c.GLN = "HTX Nông nghiệp Mỹ Xuyên", gln
	if err := s.UpdateCooperativeBy(c, "key-x"); err != nil {
		t.Fatal(err)
	}
	if err := s.UpdateCooperativeBy(c, "key-x"); err != nil {
		t.Fatal(err)
	}
	recs, err := s.Records(trace.KindCooperative, f.coop.ID)
	if err != nil || len(recs) != 2 || recs[1].Record.Fields["name"] != c.Name || recs[1].KeyID != "key-x" {
		t.Fatalf("records of the cooperative: %d, %v", len(recs), err)
	}
	if got, err := s.CooperativeByGLN(gln); err != nil || got.ID != f.coop.ID || len(got.PublicKeys) != 1 {
		t.Errorf("by GLN: %v %v", got, err)
	}
	if _, err := s.CooperativeByGLN(withCheckDigit("893604000002")); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("an unknown GLN: %v", err)
	}
	// A key the cooperative registers comes after the store's.
	k, _ := trace.GenerateSigner(rand.Reader)
	if c, added, err := s.AddCooperativeKey(f.coop.ID, k.PublicKey(), false); err != nil || !added || len(c.PublicKeys) != 2 || string(c.PublicKeys[1]) != string(k.PublicKey()) {
		t.Fatalf("add key: %v %v", added, err)
	}
	if _, added, _ := s.AddCooperativeKey(f.coop.ID, k.PublicKey(), false); added {
		t.Error("the same key was added twice")
	}
	if c, _ := s.Cooperative(f.coop.ID); c.Name != "HTX Nông nghiệp Mỹ Xuyên" || len(c.PublicKeys) != 2 {
		t.Errorf("the profile change and the key change must both hold: %+v", c)
	}
	// Products: a GTIN is one product's.
	dup := &trace.Product{CooperativeID: other.ID, NameVI: "Khác", Category: "x", GTIN: f.prod.GTIN}
	if err := s.CreateProduct(dup); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("a second product with the GTIN: %v", err)
	}
	if err := s.CreateProduct(&trace.Product{CooperativeID: "no-such", NameVI: "x", Category: "x"}); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("a product of no cooperative: %v", err)
	}
	p2 := &trace.Product{CooperativeID: other.ID, NameVI: "Gạo thơm", Category: "Lúa gạo"}
	if err := s.CreateProduct(p2); err != nil {
		t.Fatal(err)
	}
	if ps, _ := s.Products(other.ID); len(ps) != 1 || ps[0].ID != p2.ID {
		t.Errorf("products of a cooperative: %v", ps)
	}
	if ps, _ := s.Products(""); len(ps) != 2 {
		t.Errorf("all products: %d", len(ps))
	}
	p2.NameEN, p2.OCOPStars = "Fragrant rice", 4
	if err := s.UpdateProduct(p2, "key-y"); err != nil {
		t.Fatal(err)
	}
	p2.GTIN = f.prod.GTIN
	if err := s.UpdateProduct(p2, "key-y"); err == nil {
		t.Error("a product's GTIN changed")
	}
	got, _ := s.Product(p2.ID)
	sr, err := s.LatestRecord(trace.KindProduct, p2.ID)
	if err != nil || got.NameEN != "Fragrant rice" || sr.Record.Seq != 1 {
		t.Fatalf("the product and its newest record: %+v %v", got, err)
	}
	if err := store.CheckRecord(sr, trace.ProductRecordFields(got), "product."); err != nil {
		t.Errorf("the product differs from its signed record: %v", err)
	}
	if _, err := s.Product("no-such"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("no such product: %v", err)
	}
}

func testBatches(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	// A lot's chain starts with its signed facts.
	hist := verifyHistory(t, s, f.batch.ID, 1)
	facts, err := trace.LotFactsOf(hist[0].Event)
	if err != nil || facts.Quantity.Value != "1250" || facts.Lot != f.batch.Lot || !trace.IsLotFacts(hist[0].Event) {
		t.Fatalf("the first event is the lot's facts: %+v %v", facts, err)
	}
	if got, err := s.BatchByLot(f.prod.GTIN, f.batch.Lot); err != nil || got.ID != f.batch.ID {
		t.Fatalf("by lot: %v %v", got, err)
	}
	if _, err := s.BatchByLot(f.prod.GTIN, "NO-SUCH"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("an unknown lot: %v", err)
	}
	again := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: f.batch.Lot, Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}
	if err := s.CreateBatch(again); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("the same lot twice: %v", err)
	}
	if err := s.CheckLot(f.batch.ID); err != nil {
		t.Errorf("check lot: %v", err)
	}
	var ids []string
	for i := 0; i < 5; i++ {
		ids = append(ids, f.newLot(t, "10").ID)
	}
	// Pages in id order, each batch once.
	seen := map[string]bool{}
	after := ""
	pages := 0
	for {
		page, err := s.Batches(f.coop.ID, after, 2)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		for i, bt := range page.Batches {
			if seen[bt.ID] || bt.ID <= after || (i > 0 && bt.ID <= page.Batches[i-1].ID) {
				t.Fatalf("page after %q: %s out of order or twice", after, bt.ID)
			}
			seen[bt.ID] = true
		}
		if page.Next == "" {
			break
		}
		after = page.Next
	}
	if len(seen) != 6 || pages != 3 {
		t.Errorf("%d batches in %d pages, want 6 in 3", len(seen), pages)
	}
	if page, _ := s.Batches("no-such", "", 10); len(page.Batches) != 0 {
		t.Errorf("batches of no cooperative: %d", len(page.Batches))
	}
	if _, err := s.Batch("no-such"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("no such batch: %v", err)
	}
	if _, _, err := s.Head("no-such"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("head of no such batch: %v", err)
	}
}

func testAppendAndHistory(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	var last *store.StoredEvent
	for i := 1; i <= 5; i++ {
		last = f.append(t, f.batch.ID, i)
		if last.Event.Seq != uint64(i) || last.KeyID != "key-test" {
			t.Fatalf("append %d: seq %d key %q", i, last.Event.Seq, last.KeyID)
		}
	}
	hist := verifyHistory(t, s, f.batch.ID, 6)
	if hist[5].Hash != last.Hash || hist[5].LogIndex != last.LogIndex || string(hist[5].LogEntry) != string(trace.LogEntry(last.SignedEvent)) {
		t.Errorf("the stored event is not the one acknowledged")
	}
	if !hist[5].ReceivedAt.Equal(last.ReceivedAt) {
		t.Errorf("received at %v, acknowledged %v", hist[5].ReceivedAt, last.ReceivedAt)
	}
	from, err := s.HistoryFrom(f.batch.ID, 3, hist[2].Hash)
	if err != nil || len(from) != 3 || from[0].Hash != hist[3].Hash || from[0].Event == nil {
		t.Fatalf("history from 3: %d %v", len(from), err)
	}
	if _, err := s.HistoryFrom(f.batch.ID, 3, hist[1].Hash); !errors.Is(err, trace.ErrVerification) {
		t.Errorf("history from 3 after the wrong event: %v", err)
	}
	got, err := s.EventByHash(hist[2].Hash)
	if err != nil || got.Event.Seq != 2 || got.LogIndex != hist[2].LogIndex {
		t.Errorf("event by hash: %v", err)
	}
	if _, err := s.EventByHash(trace.Hash{1}); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("no such event: %v", err)
	}
	// An event of another cooperative, or in a lot's facts step, is refused.
	other := e.fixture("HTX B")
	if _, err := s.Append(context.Background(), store.AppendRequest{Event: other.event(f.batch.ID, 9), Signer: other.signer}); !errors.Is(err, trace.ErrForbidden) {
		t.Errorf("another cooperative's event: %v", err)
	}
	ev := f.event(f.batch.ID, 9)
	ev.BizStep = trace.BizStepLotFacts
	if _, err := s.Append(context.Background(), store.AppendRequest{Event: ev, Signer: f.signer}); err == nil {
		t.Error("an append in the facts step was accepted")
	}
	if _, err := s.Append(context.Background(), store.AppendRequest{Event: f.event("no-such", 1), Signer: f.signer}); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("an event of no batch: %v", err)
	}
	verifyHistory(t, s, f.batch.ID, 6)
	if st := s.Stats(); st.Appends == 0 || st.Commits == 0 || st.Rejected < 3 {
		t.Errorf("stats %+v", st)
	}
}

// testConcurrentAppends has 64 writers append to 4 shared lots at once:
// each lot's chain has every acknowledged event once, numbered without a
// gap, and the log has one entry for each.
func testConcurrentAppends(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	lots := []string{f.batch.ID}
	for i := 0; i < 3; i++ {
		lots = append(lots, f.newLot(t, "100").ID)
	}
	size0, err := s.LogSize()
	if err != nil {
		t.Fatal(err)
	}
	const writers, each = 64, 5
	var mu sync.Mutex
	acked := map[trace.Hash]*store.StoredEvent{}
	var wg sync.WaitGroup
	errs := make(chan error, writers)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < each; i++ {
				batch := lots[(w+i)%len(lots)]
				st, err := s.Append(context.Background(), store.AppendRequest{Event: f.event(batch, w*100+i), Signer: f.signer})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				acked[st.Hash] = st
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	total := 0
	for _, b := range lots {
		hist, err := s.History(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range hist[1:] {
			if acked[st.Hash] == nil {
				t.Fatalf("event %s of %s was never acknowledged", st.Hash, b)
			}
		}
		total += len(hist) - 1
	}
	if total != writers*each || len(acked) != writers*each {
		t.Fatalf("%d events in the chains, %d acknowledged, want %d", total, len(acked), writers*each)
	}
	size, _ := s.LogSize()
	if size != size0+writers*each {
		t.Fatalf("log grew by %d, want %d", size-size0, writers*each)
	}
	indexes := map[uint64]bool{}
	for _, st := range acked {
		if st.LogIndex < size0 || st.LogIndex >= size || indexes[st.LogIndex] {
			t.Fatalf("log index %d given twice or outside the append", st.LogIndex)
		}
		indexes[st.LogIndex] = true
	}
	checkLog(t, s, acked)
}

// checkLog proves, with transparency-dev/merkle, that each event is in
// the log at its index, under the root the log's tiles give.
func checkLog(t testing.TB, s store.Store, events map[trace.Hash]*store.StoredEvent) {
	t.Helper()
	hasher := rfc6962.DefaultHasher
	err := s.ViewLog(func(v store.LogView) error {
		root, err := tlog.RootAt(v, v.Size())
		if err != nil {
			return err
		}
		for h, st := range events {
			if at, ok := v.EventAt(st.LogIndex); !ok || at != h {
				return fmt.Errorf("log entry %d is %s, want %s", st.LogIndex, at, h)
			}
			if idx, ok := v.EventIndex(h); !ok || idx != st.LogIndex {
				return fmt.Errorf("event %s at %d, want %d", h, idx, st.LogIndex)
			}
			p, err := tlog.ProveInclusion(v, st.LogIndex, v.Size())
			if err != nil {
				return err
			}
			raw := make([][]byte, len(p))
			for i := range p {
				raw[i] = p[i][:]
			}
			if err := proof.VerifyInclusion(hasher, st.LogIndex, v.Size(), hasher.HashLeaf(trace.LogEntry(st.SignedEvent)), raw, root[:]); err != nil {
				return fmt.Errorf("inclusion of event %d: %w", st.LogIndex, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

func testPresigned(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	own, _ := trace.GenerateSigner(rand.Reader)
	if _, _, err := s.AddCooperativeKey(f.coop.ID, own.PublicKey(), false); err != nil {
		t.Fatal(err)
	}
	n, h, _ := s.Head(f.batch.ID)
	ev := f.event(f.batch.ID, 1)
	ev.Seq, ev.Prev = n, h
	se, err := trace.Prepare(ev)
	if err != nil {
		t.Fatal(err)
	}
	own.Seal(se)
	st, err := s.Append(context.Background(), store.AppendRequest{Presigned: se, KeyID: "key-own"})
	if err != nil || st.Hash != se.Hash {
		t.Fatalf("presigned: %v", err)
	}
	// Signed on a head that is no longer the head: a conflict.
	ev2 := f.event(f.batch.ID, 2)
	ev2.Seq, ev2.Prev = n, h
	se2, _ := trace.Prepare(ev2)
	own.Seal(se2)
	if _, err := s.Append(context.Background(), store.AppendRequest{Presigned: se2}); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("a presigned event on an old head: %v", err)
	}
	verifyHistory(t, s, f.batch.ID, 2)
}

func testAppendAll(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	b := f.newLot(t, "50")
	size, _ := s.LogSize()
	reqs := []store.AppendRequest{
		{Event: f.event(f.batch.ID, 1), Signer: f.signer},
		{Event: f.event(b.ID, 2), Signer: f.signer},
		{Event: f.event(f.batch.ID, 3), Signer: f.signer},
	}
	got, err := s.AppendAll(context.Background(), reqs)
	if err != nil || len(got) != 3 || got[2].Event.Seq != 2 || got[2].Event.Prev != got[0].Hash {
		t.Fatalf("append all: %v", err)
	}
	// One bad event refuses them all.
	bad := []store.AppendRequest{
		{Event: f.event(f.batch.ID, 4), Signer: f.signer},
		{Event: f.event("no-such", 5), Signer: f.signer},
	}
	if _, err := s.AppendAll(context.Background(), bad); err == nil {
		t.Fatal("an append to no batch was accepted")
	}
	verifyHistory(t, s, f.batch.ID, 3)
	if after, _ := s.LogSize(); after != size+3 {
		t.Errorf("log grew by %d, want 3", after-size)
	}
}

func testApply(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	bt := &trace.Batch{ID: store.NewID(), CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "NEW-1", Quantity: trace.Quantity{Value: "20", Unit: "KGM"}}
	ch := store.Change{NewBatches: []*trace.Batch{bt}, Events: []store.AppendRequest{
		{Event: f.event(bt.ID, 1), Signer: f.signer}, {Event: f.event(f.batch.ID, 2), Signer: f.signer}}}
	got, err := s.Apply(context.Background(), ch)
	if err != nil || len(got) != 2 || got[0].Event.Seq != 1 {
		t.Fatalf("apply: %v", err)
	}
	verifyHistory(t, s, bt.ID, 2)
	// A refused part leaves nothing: not the new batch, not its lot.
	size, _ := s.LogSize()
	bt2 := &trace.Batch{ID: store.NewID(), CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "NEW-2", Quantity: trace.Quantity{Value: "20", Unit: "KGM"}}
	ch = store.Change{NewBatches: []*trace.Batch{bt2}, Events: []store.AppendRequest{
		{Event: f.event(bt2.ID, 1), Signer: f.signer}, {Event: f.event("no-such", 2), Signer: f.signer}}}
	if _, err := s.Apply(context.Background(), ch); err == nil {
		t.Fatal("a change with an event of no batch was accepted")
	}
	if _, err := s.Batch(bt2.ID); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("the refused change left its batch: %v", err)
	}
	if after, _ := s.LogSize(); after != size {
		t.Errorf("the refused change grew the log by %d", after-size)
	}
	bt2.ID = store.NewID()
	ch = store.Change{NewBatches: []*trace.Batch{bt2}}
	if _, err := s.Apply(context.Background(), ch); err != nil {
		t.Errorf("the lot of a refused change is free: %v", err)
	}
}

func testTransformations(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	a, b := f.newLot(t, "6200"), f.newLot(t, "6200")
	ha, hb := f.append(t, a.ID, 1).Hash, f.append(t, b.ID, 2).Hash
	mill := func(at string, out string, draws ...trace.Input) (*trace.Batch, error) {
		bt := &trace.Batch{ID: store.NewID(), CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "OUT-" + store.NewID()[:8],
			Quantity: trace.Quantity{Value: trace.Decimal(out), Unit: "KGM"}}
		ev := &trace.Event{Type: trace.TransformationEvent, Cooperative: f.coop.ID, Batch: bt.ID, BizStep: trace.StepMilling,
			EventTime: at, EventTimeZoneOffset: "+07:00", Inputs: draws, Outputs: []trace.Output{{Batch: bt.ID, Quantity: &bt.Quantity}}}
		_, err := s.Apply(context.Background(), store.Change{NewBatches: []*trace.Batch{bt}, Events: []store.AppendRequest{{Event: ev, Signer: f.signer}}})
		return bt, err
	}
	kg := func(v string) *trace.Quantity { return &trace.Quantity{Value: trace.Decimal(v), Unit: "KGM"} }
	c, err := mill("2025-08-22T08:00:00+07:00", "3000", trace.Input{Batch: a.ID, Hash: ha, Quantity: kg("3000")})
	if err != nil {
		t.Fatal(err)
	}
	_, err = mill("2025-09-01T08:00:00+07:00", "12400", trace.Input{Batch: b.ID, Hash: hb, Quantity: kg("6200")}, trace.Input{Batch: a.ID, Hash: ha, Quantity: kg("6200")})
	var od *trace.OverdrawError
	if !errors.As(err, &od) || od.Lot != a.Lot || od.Taken != "3000" {
		t.Fatalf("an over-draw: %v", err)
	}
	d, err := mill("2025-09-01T08:00:00+07:00", "9400", trace.Input{Batch: b.ID, Hash: hb, Quantity: kg("6200")}, trace.Input{Batch: a.ID, Hash: ha, Quantity: kg("3200")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := mill("2025-09-02T08:00:00+07:00", "1", trace.Input{Batch: a.ID, Hash: ha, Quantity: kg("1")}); !errors.As(err, &od) {
		t.Errorf("a draw from an empty lot: %v", err)
	}
	if _, err := mill("2025-09-02T08:00:00+07:00", "1", trace.Input{Batch: a.ID, Hash: hb, Quantity: kg("1")}); err == nil {
		t.Error("an input naming another batch's event was accepted")
	}
	lb, err := s.LotBalance(a.ID)
	if err != nil {
		t.Fatal(err)
	}
	if held, taken, _, ok := lb.Totals(); !ok || held.RatString() != "6200" || taken.RatString() != "6200" || len(lb.Out) != 2 {
		t.Errorf("the balance of A: held %v, taken %v, %d draws", held, taken, len(lb.Out))
	}
	l, err := s.Lineage(a.ID)
	if err != nil || len(l.Downstream) != 2 || len(l.Upstream) != 0 {
		t.Fatalf("lineage of A: %+v %v", l, err)
	}
	l, _ = s.Lineage(d.ID)
	if len(l.Upstream) != 2 || l.Upstream[0] != min(a.ID, b.ID) {
		t.Errorf("upstream of D, nearest first and in id order: %v", l.Upstream)
	}
	// A recall of A reaches C and D.
	gen := s.Generation()
	n0, _ := recallCount(s)
	rc := f.event(a.ID, 9)
	rc.BizStep, rc.Disposition = "holding", "recalled"
	rst, err := s.Append(context.Background(), store.AppendRequest{Event: rc, Signer: f.signer})
	if err != nil {
		t.Fatal(err)
	}
	for _, lot := range []*trace.Batch{a, c, d} {
		rs, err := s.Recalls(lot.ID)
		if err != nil || len(rs) != 1 || rs[0].Batch != a.ID || rs[0].Event != rst.Hash {
			t.Errorf("recalls of %s: %v %v", lot.Lot, rs, err)
		}
	}
	if rs, _ := s.Recalls(b.ID); len(rs) != 0 {
		t.Errorf("B was not recalled: %v", rs)
	}
	if n1, _ := recallCount(s); n1 != n0+1 {
		t.Errorf("recall count %d, want %d", n1, n0+1)
	}
	if s.Generation() == gen {
		t.Error("the generation did not change with a commit")
	}
}

func recallCount(s store.Store) (uint64, error) {
	var n uint64
	err := s.ViewLog(func(v store.LogView) error { n = v.RecallCount(); return nil })
	return n, err
}

func testRestateFacts(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	st, err := s.RestateFacts(context.Background(), f.batch.ID, &trace.LotFacts{Quantity: trace.Quantity{Value: "1200", Unit: "KGM"}, HarvestDate: "2025-08-16"}, "key-r")
	if err != nil || st.Event.Action != "OBSERVE" {
		t.Fatalf("restate: %v", err)
	}
	bt, _ := s.Batch(f.batch.ID)
	if bt.Quantity.Value != "1200" || bt.HarvestDate != "2025-08-16" {
		t.Errorf("the batch after its facts were restated: %+v", bt)
	}
	if _, err := s.RestateFacts(context.Background(), f.batch.ID, &trace.LotFacts{Lot: "OTHER", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}}, ""); err == nil {
		t.Error("a lot's code changed")
	}
	if _, err := s.RestateFacts(context.Background(), f.batch.ID, &trace.LotFacts{Quantity: trace.Quantity{Value: "1", Unit: "KGM"}, Member: "no-such"}, ""); err == nil {
		t.Error("a member not in the registry was accepted")
	}
	verifyHistory(t, s, f.batch.ID, 2)
}

func testRegistryLists(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	other := e.fixture("HTX B")
	ctx := context.Background()
	out, err := s.PutEntries(ctx, f.coop.ID, []store.EntryWrite{
		{Kind: trace.KindMember, Create: true, IDHint: "Nguyễn Văn An", Fields: map[string]string{"name": "Nguyễn Văn An", "code": "01"}},
		{Kind: trace.KindMember, Create: true, IDHint: "Nguyễn Văn An", Fields: map[string]string{"name": "Nguyễn Văn An", "code": "02"}},
		{Kind: trace.KindCertificate, Create: true, IDHint: "VietGAP", Fields: map[string]string{"scheme": "vietgap", "number": "VG-1", "issuer": "Chi cục",
			"valid_from": "2025-01-01", "valid_to": "2026-01-01"}},
	}, "key-x")
	if err != nil {
		t.Fatal(err)
	}
	if out[0].Record.ID != "nguyen-van-an" || out[1].Record.ID != "nguyen-van-an-2" {
		t.Fatalf("ids from the name: %s, %s", out[0].Record.ID, out[1].Record.ID)
	}
	ms, err := s.Entries(trace.KindMember, f.coop.ID, false)
	if err != nil || len(ms) != 2 || ms[0].Record.ID != "nguyen-van-an" {
		t.Fatalf("members: %v %v", ms, err)
	}
	// No change signs nothing; a change signs the next revision.
	same, err := s.PutEntry(ctx, f.coop.ID, store.EntryWrite{Kind: trace.KindMember, ID: "nguyen-van-an", Fields: map[string]string{"name": "Nguyễn Văn An", "code": "01"}}, "")
	if err != nil || same.Record.Seq != 0 {
		t.Fatalf("an unchanged entry: %v", err)
	}
	if _, err := s.PutEntry(ctx, f.coop.ID, store.EntryWrite{Kind: trace.KindMember, ID: "nguyen-van-an", Fields: map[string]string{"name": "Nguyễn Văn An", "code": "03"}}, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.PutEntry(ctx, other.coop.ID, store.EntryWrite{Kind: trace.KindMember, ID: "nguyen-van-an", Fields: map[string]string{"name": "x"}}, ""); !errors.Is(err, trace.ErrForbidden) {
		t.Errorf("another cooperative's entry: %v", err)
	}
	if _, err := s.PutEntry(ctx, f.coop.ID, store.EntryWrite{Kind: trace.KindMember, ID: "no-such", Fields: map[string]string{"name": "x"}}, ""); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("a change to no entry: %v", err)
	}
	recs, err := s.Records(trace.KindMember, "nguyen-van-an")
	if err != nil || len(recs) != 2 {
		t.Fatalf("revisions: %d %v", len(recs), err)
	}
	// A lot may name a current member, not a removed one.
	lot := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "M-1", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}, Member: "nguyen-van-an"}
	if err := s.CreateBatch(lot); err != nil {
		t.Fatal(err)
	}
	if _, err := s.RemoveEntry(ctx, trace.KindMember, "nguyen-van-an-2", "2025-09-01", "key-x"); err != nil {
		t.Fatal(err)
	}
	if ms, _ := s.Entries(trace.KindMember, f.coop.ID, false); len(ms) != 1 {
		t.Errorf("current members after a removal: %d", len(ms))
	}
	if ms, _ := s.Entries(trace.KindMember, f.coop.ID, true); len(ms) != 2 {
		t.Errorf("every member: %d", len(ms))
	}
	lot2 := &trace.Batch{CooperativeID: f.coop.ID, ProductID: f.prod.ID, Lot: "M-2", Quantity: trace.Quantity{Value: "1", Unit: "KGM"}, Member: "nguyen-van-an-2"}
	if err := s.CreateBatch(lot2); err == nil {
		t.Error("a lot of a removed member was accepted")
	}
	if _, err := s.Entry(trace.KindProduct, f.prod.ID); !errors.Is(err, trace.ErrInvalid) {
		t.Errorf("a product is not a list entry: %v", err)
	}
	certs, err := s.CertificatesOn(f.coop.ID, "", "2025-08-15")
	if err != nil || len(certs) != 1 || certs[0].Status != trace.CertValid {
		t.Errorf("certificates on a day: %+v %v", certs, err)
	}
	if certs, _ := s.CertificatesOn(f.coop.ID, "", "2026-02-01"); len(certs) != 1 || certs[0].Status != trace.CertExpired {
		t.Errorf("certificates after they expired: %+v", certs)
	}
	// Every revision is a log entry.
	var sz uint64
	s.ViewLog(func(v store.LogView) error { sz = v.Size(); return nil })
	if err := s.ViewLog(func(v store.LogView) error {
		if h, ok := v.EventAt(recs[1].LogIndex); !ok || h != recs[1].Hash || recs[1].LogIndex >= sz {
			return fmt.Errorf("revision at %d is not its log entry", recs[1].LogIndex)
		}
		return nil
	}); err != nil {
		t.Error(err)
	}
}

// testLog signs checkpoints and checks what the log view serves against
// transparency-dev/merkle's consistency verifier.
func testLog(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	keys := logKeys(t)
	gen := s.Generation()
	size1, note1, err := s.CheckpointLog(keys.Sign)
	if err != nil {
		t.Fatal(err)
	}
	if s.Generation() == gen {
		t.Error("a checkpoint did not change the generation")
	}
	if again, _, err := s.CheckpointLog(keys.Sign); err != nil || again != size1 {
		t.Errorf("nothing new: checkpoint %d, %v", again, err)
	}
	events := map[trace.Hash]*store.StoredEvent{}
	for i := 0; i < 300; i++ {
		st := f.append(t, f.batch.ID, i)
		events[st.Hash] = st
	}
	size2, note2, err := s.CheckpointLog(keys.Sign)
	if err != nil || size2 != size1+300 {
		t.Fatalf("second checkpoint %d: %v", size2, err)
	}
	checkLog(t, s, events)
	hasher := rfc6962.DefaultHasher
	err = s.ViewLog(func(v store.LogView) error {
		if v.Size() != size2 {
			return fmt.Errorf("view of %d entries, checkpoint %d", v.Size(), size2)
		}
		if sz, n := v.LatestCheckpoint(); sz != size2 || string(n) != string(note2) {
			return fmt.Errorf("latest checkpoint %d", sz)
		}
		if n := v.Checkpoint(size1); string(n) != string(note1) {
			return errors.New("the first checkpoint is not stored as signed")
		}
		if sz, n, ok := v.CheckpointBefore(size2); !ok || sz != size1 || string(n) != string(note1) {
			return fmt.Errorf("checkpoint before %d: %d", size2, sz)
		}
		if _, _, ok := v.CheckpointBefore(size1); ok {
			return errors.New("a checkpoint before the first")
		}
		if v.Checkpoint(size1+1) != nil {
			return errors.New("a checkpoint of a size never signed")
		}
		// The tiles are C2SP tlog-tiles: a full level-0 tile and the
		// entry bundle of the first 256 entries.
		tile, err := v.ReadTile(0, 0)
		if err != nil || len(tile) != tlog.FullTileSize {
			return fmt.Errorf("tile 0/0: %d bytes, %v", len(tile), err)
		}
		if b, err := v.ReadBundle(0); err != nil || len(b) == 0 {
			return fmt.Errorf("bundle 0: %v", err)
		}
		r1, err := tlog.RootAt(v, size1)
		if err != nil {
			return err
		}
		r2, err := tlog.RootAt(v, size2)
		if err != nil {
			return err
		}
		for i, n := range [][]byte{note1, note2} {
			pub, err := store.PublishedFromNote(n)
			if err != nil {
				return err
			}
			if want := []tlog.Hash{r1, r2}[i]; pub.Root != want {
				return fmt.Errorf("checkpoint %d signs root %s, the tiles give %s", i, pub.Root, want)
			}
		}
		p, err := tlog.ProveConsistency(v, size1, size2)
		if err != nil {
			return err
		}
		raw := make([][]byte, len(p))
		for i := range p {
			raw[i] = p[i][:]
		}
		return proof.VerifyConsistency(hasher, size1, size2, raw, r1[:], r2[:])
	})
	if err != nil {
		t.Fatal(err)
	}
	// Cosignatures replace a note of the same text; another text is refused.
	n2, _ := tlog.ParseNote(note2)
	if err := s.UpdateCheckpoint(size2, note2); err != nil {
		t.Errorf("the same note again: %v", err)
	}
	other, _ := keys.Sign(size2, tlog.Hash{1})
	if err := s.UpdateCheckpoint(size2, other); !errors.Is(err, store.ErrCheckpointConflict) {
		t.Errorf("another checkpoint for the size: %v", err)
	}
	if n2.Text == "" {
		t.Error("empty checkpoint text")
	}
}

// logKeys makes a log's keys that live in memory.
func logKeys(t testing.TB) *store.LogKeys {
	t.Helper()
	k, err := store.LoadLogKeys(&memKeys{m: map[string][]byte{}}, "test.truyxuat.vn/log", true)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

type memKeys struct {
	mu sync.Mutex
	m  map[string][]byte
}

func (k *memKeys) ReadLogKey(name string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if b, ok := k.m[name]; ok {
		return b, nil
	}
	return nil, fs.ErrNotExist
}

func (k *memKeys) CreateLogKey(name string, text []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if _, ok := k.m[name]; ok {
		return fs.ErrExist
	}
	k.m[name] = text
	return nil
}

func (k *memKeys) Where(name string) string { return "memory " + name }

func testAPIKeys(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	if ok, _ := s.HasAdminKey(); ok {
		t.Error("a new store has an admin key")
	}
	admin, err := s.CreateAPIKey(&store.APIKey{Name: "admin", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	k := &store.APIKey{Name: "Thư ký", Role: store.RoleCooperative, CooperativeID: f.coop.ID}
	secret, err := s.CreateAPIKey(k)
	if err != nil || !strings.HasPrefix(secret, store.APIKeyPrefix) || k.ID == "" {
		t.Fatalf("create: %v", err)
	}
	if _, err := s.CreateAPIKey(&store.APIKey{Name: "x", Role: store.RoleCooperative, CooperativeID: "no-such"}); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("a key of no cooperative: %v", err)
	}
	if _, err := s.CreateAPIKey(&store.APIKey{Name: "x", Role: "owner"}); err == nil {
		t.Error("an unknown role was accepted")
	}
	got, err := s.Authenticate(secret)
	if err != nil || got.ID != k.ID || got.CooperativeID != f.coop.ID {
		t.Fatalf("authenticate: %v", err)
	}
	if _, err := s.Authenticate(secret + "x"); !errors.Is(err, trace.ErrUnauthenticated) {
		t.Errorf("a wrong secret: %v", err)
	}
	if ks, _ := s.APIKeys(f.coop.ID); len(ks) != 1 || ks[0].ID != k.ID {
		t.Errorf("keys of the cooperative: %v", ks)
	}
	if ks, _ := s.APIKeys(""); len(ks) != 2 {
		t.Errorf("all keys: %d", len(ks))
	}
	if _, err := s.RevokeAPIKey(k.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Authenticate(secret); !errors.Is(err, trace.ErrUnauthenticated) {
		t.Errorf("a revoked key still works: %v", err)
	}
	if got, _ := s.APIKey(k.ID); got.RevokedAt == nil {
		t.Error("the key does not say it was revoked")
	}
	a, _ := s.Authenticate(admin)
	if _, err := s.RevokeAPIKey(a.ID); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("the last admin key was revoked: %v", err)
	}
	if ok, _ := s.HasAdminKey(); !ok {
		t.Error("no admin key")
	}
	if _, err := s.RevokeAPIKey("key-none"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("no such key: %v", err)
	}
}

func testPeople(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	u := &store.User{Username: " ThuKy ", Name: "Chị Lan", Role: store.RoleCooperative, CooperativeID: f.coop.ID}
	if err := s.CreateUser(u, "mật khẩu dài"); err != nil {
		t.Fatal(err)
	}
	if u.Username != "thuky" {
		t.Errorf("username %q", u.Username)
	}
	if err := s.CreateUser(&store.User{Username: "thuky", Name: "x", Role: store.RoleAdmin}, "12345678"); err == nil {
		t.Error("a username taken twice")
	}
	if err := s.CreateUser(&store.User{Username: "ai", Name: "x", Role: store.RoleCooperative, CooperativeID: "no-such"}, "12345678"); err == nil {
		t.Error("a person of no cooperative")
	}
	if _, err := s.CheckPassword("THUKY", "mật khẩu dài"); err != nil {
		t.Errorf("the right password: %v", err)
	}
	if _, err := s.CheckPassword("thuky", "sai"); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("a wrong password: %v", err)
	}
	if _, err := s.CheckPassword("nobody", "sai"); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("no such person: %v", err)
	}
	secret, sess, err := s.CreateSession("thuky")
	if err != nil || sess.CSRF == "" {
		t.Fatal(err)
	}
	got, err := s.SessionFor(secret, time.Hour, time.Hour)
	if err != nil || got.Username != "thuky" || got.CSRF != sess.CSRF {
		t.Fatalf("session: %v", err)
	}
	if _, err := s.SessionFor(secret, -time.Second, time.Hour); !errors.Is(err, store.ErrSessionExpired) {
		t.Errorf("an idle session: %v", err)
	}
	if _, err := s.SessionFor(secret, time.Hour, time.Hour); !errors.Is(err, store.ErrSessionExpired) {
		t.Errorf("an ended session comes back: %v", err)
	}
	s1, _, _ := s.CreateSession("thuky")
	s2, _, _ := s.CreateSession("thuky")
	if counts, _ := s.SessionCounts(); counts["thuky"] != 2 {
		t.Errorf("session counts %v", counts)
	}
	if err := s.EndSession(s1); err != nil {
		t.Fatal(err)
	}
	if n, err := s.RevokeSessions("thuky"); err != nil || n != 1 {
		t.Errorf("revoked %d sessions: %v", n, err)
	}
	if _, err := s.SessionFor(s2, time.Hour, time.Hour); !errors.Is(err, store.ErrSessionExpired) {
		t.Errorf("a revoked session: %v", err)
	}
	s3, _, _ := s.CreateSession("thuky")
	if err := s.SetUserDisabled("thuky", true); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionFor(s3, time.Hour, time.Hour); !errors.Is(err, store.ErrSessionExpired) {
		t.Errorf("a disabled person's session: %v", err)
	}
	if _, err := s.CheckPassword("thuky", "mật khẩu dài"); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("a disabled person signs in: %v", err)
	}
	if err := s.SetUserDisabled("thuky", false); err != nil {
		t.Fatal(err)
	}
	if us, _ := s.Users(); len(us) != 1 || us[0].DisabledAt != nil {
		t.Errorf("users %v", us)
	}
	// A new password ends every session and replaces the old one.
	s4, _, _ := s.CreateSession("thuky")
	var fe *trace.FieldError
	if err := s.SetPassword("thuky", "ngắn"); !errors.As(err, &fe) || fe.Field != "password" {
		t.Errorf("a too short password: %v", err)
	}
	if err := s.SetPassword("nobody", "mật khẩu mới dài"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("no such person's password: %v", err)
	}
	if err := s.SetPassword("thuky", "mật khẩu mới dài"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.SessionFor(s4, time.Hour, time.Hour); !errors.Is(err, store.ErrSessionExpired) {
		t.Errorf("a session from before the new password: %v", err)
	}
	if _, err := s.CheckPassword("thuky", "mật khẩu dài"); !errors.Is(err, store.ErrBadCredentials) {
		t.Errorf("the old password still signs in: %v", err)
	}
	if _, err := s.CheckPassword("thuky", "mật khẩu mới dài"); err != nil {
		t.Errorf("the new password: %v", err)
	}
	if _, err := s.User("nobody"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("no such user: %v", err)
	}
	h := trace.Hash{7}
	if _, ok, _ := s.IdempotentEvent("req-1"); ok {
		t.Error("an unknown idempotency key")
	}
	if err := s.PutIdempotentEvent("req-1", h); err != nil {
		t.Fatal(err)
	}
	if got, ok, err := s.IdempotentEvent("req-1"); !ok || got != h || err != nil {
		t.Errorf("idempotency key: %v %v", ok, err)
	}
}

func testAttachmentsAndScans(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	data := append([]byte("%PDF-1.4\n"), make([]byte, 3000)...)
	info, created, err := s.PutAttachment(store.AttachmentInfo{MediaType: "application/pdf", CooperativeID: f.coop.ID, KeyID: "key-1"}, data)
	if err != nil || !created || info.Size != int64(len(data)) {
		t.Fatalf("put: %v", err)
	}
	again, created, err := s.PutAttachment(store.AttachmentInfo{MediaType: "application/pdf", KeyID: "key-2"}, data)
	if err != nil || created || again.KeyID != "key-1" {
		t.Errorf("the same bytes again keep the first upload: %+v %v", again, err)
	}
	if _, _, err := s.PutAttachment(store.AttachmentInfo{MediaType: "text/html"}, data); err == nil {
		t.Error("an HTML attachment")
	}
	got, err := s.AttachmentData(info.SHA256)
	if err != nil || string(got) != string(data) {
		t.Errorf("data: %v", err)
	}
	if _, err := s.Attachment(trace.Hash{1}); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("no such attachment: %v", err)
	}
	m, err := s.Attachments(info.SHA256, trace.Hash{1})
	if err != nil || len(m) != 1 || m[info.SHA256].MediaType != "application/pdf" {
		t.Errorf("attachments: %v %v", m, err)
	}
	if v, err := s.AttachmentVariant(info.SHA256, "w640"); v != nil || err != nil {
		t.Errorf("no variant yet: %v", err)
	}
	if err := s.PutAttachmentVariant(info.SHA256, "w640", []byte("jpeg")); err != nil {
		t.Fatal(err)
	}
	if err := s.PutAttachmentVariant(info.SHA256, "w640", []byte("jpeg2")); err != nil {
		t.Fatal(err)
	}
	if v, _ := s.AttachmentVariant(info.SHA256, "w640"); string(v) != "jpeg2" {
		t.Errorf("variant %q", v)
	}
	if err := s.PutAttachmentVariant(trace.Hash{1}, "w640", []byte("x")); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("a variant of no attachment: %v", err)
	}
	if err := s.PutAttachmentVariant(info.SHA256, "../x", []byte("x")); err == nil {
		t.Error("a variant name with a path")
	}
	b := f.batch.ID
	if err := s.AddScans(map[store.ScanKey]uint64{{Batch: b, Day: "20250901"}: 3, {Batch: b, Day: "20250901", Serial: "S1"}: 2, {Batch: b, Day: "20250902", Serial: "S1"}: 30}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddScans(map[store.ScanKey]uint64{{Batch: b, Day: "20250831", Serial: "S2"}: 1}); err != nil {
		t.Fatal(err)
	}
	sc, err := s.Scans(b)
	if err != nil || sc.Total != 36 || len(sc.Days) != 3 || sc.Days[0].Day != "2025-08-31" || sc.Days[1].Count != 5 {
		t.Fatalf("scans %+v %v", sc, err)
	}
	if len(sc.Serials) != 2 || sc.Serials[0].Serial != "S1" || sc.Serials[0].Count != 32 || sc.Serials[0].First != "2025-09-01" || sc.Serials[0].Last != "2025-09-02" {
		t.Errorf("serial scans %+v", sc.Serials)
	}
	if _, err := s.Scans("no-such"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("scans of no batch: %v", err)
	}
}

func testInspectors(t *testing.T, e *env) {
	s := e.s
	in := &trace.Inspector{Name: "Chi cục Trồng trọt", Agency: "Sở NN&MT Cần Thơ"}
	if err := s.CreateInspector(in); err != nil {
		t.Fatal(err)
	}
	dup := &trace.Inspector{ID: in.ID, Name: "x", Agency: "y"}
	if err := s.CreateInspector(dup); !errors.Is(err, trace.ErrConflict) {
		t.Errorf("an inspector id twice: %v", err)
	}
	k, _ := trace.GenerateSigner(rand.Reader)
	if got, added, err := s.AddInspectorKey(in.ID, k.PublicKey()); err != nil || !added || len(got.PublicKeys) != 1 {
		t.Fatalf("add key: %v", err)
	}
	if _, added, _ := s.AddInspectorKey(in.ID, k.PublicKey()); added {
		t.Error("a key added twice")
	}
	if ins, _ := s.Inspectors(); len(ins) != 1 || ins[0].ID != in.ID || len(ins[0].PublicKeys) != 1 {
		t.Errorf("inspectors %v", ins)
	}
	if _, err := s.Inspector("no-such"); !errors.Is(err, trace.ErrNotFound) {
		t.Errorf("no such inspector: %v", err)
	}
}

func testReadOnly(t *testing.T, e *env) {
	s := e.s
	f := e.fixture("HTX A")
	if s.ReadOnly() != nil {
		t.Fatal("a new store is read-only")
	}
	s.SetReadOnly(store.ConflictError("the data file", 7, "a test"))
	if s.ReadOnly() == nil {
		t.Fatal("not read-only")
	}
	if _, err := s.Append(context.Background(), store.AppendRequest{Event: f.event(f.batch.ID, 1), Signer: f.signer}); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("an append: %v", err)
	}
	if _, err := s.CreateAPIKey(&store.APIKey{Name: "x", Role: store.RoleAdmin}); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("a key: %v", err)
	}
	if _, _, err := s.CheckpointLog(logKeys(t).Sign); !errors.Is(err, store.ErrReadOnly) {
		t.Errorf("a checkpoint: %v", err)
	}
	verifyHistory(t, s, f.batch.ID, 1)
}

func testReopen(t *testing.T, e *env) {
	f := e.fixture("HTX A")
	var hashes []trace.Hash
	for i := 1; i <= 3; i++ {
		hashes = append(hashes, f.append(t, f.batch.ID, i).Hash)
	}
	keys := logKeys(t)
	size, _, err := e.s.CheckpointLog(keys.Sign)
	if err != nil {
		t.Fatal(err)
	}
	secret, err := e.s.CreateAPIKey(&store.APIKey{Name: "admin", Role: store.RoleAdmin})
	if err != nil {
		t.Fatal(err)
	}
	e.reopen()
	hist := verifyHistory(t, e.s, f.batch.ID, 4)
	for i, h := range hashes {
		if hist[i+1].Hash != h {
			t.Fatalf("event %d changed across a reopen", i+1)
		}
	}
	if _, err := e.s.Authenticate(secret); err != nil {
		t.Errorf("a key after a reopen: %v", err)
	}
	if n, err := e.s.LogSize(); err != nil || n != size {
		t.Errorf("log size %d after a reopen, checkpoint %d", n, size)
	}
	// The server's signing key for the cooperative is the same one.
	signer, err := e.s.SignerFor(f.coop.ID)
	if err != nil || string(signer.PublicKey()) != string(f.signer.PublicKey()) {
		t.Errorf("the cooperative's key after a reopen: %v", err)
	}
	f.s = e.s
	if st := f.append(t, f.batch.ID, 4); st.Event.Seq != 4 || st.Event.Prev != hashes[2] {
		t.Errorf("the chain goes on after a reopen at %d", st.Event.Seq)
	}
}

// testNodes appends through two stores open on one place at once, to the
// same lots, while one of them signs checkpoints: each lot gets one chain,
// the log one sequence, only one node signs, and every checkpoint signed
// is consistent with the ones before it.
func testNodes(t *testing.T, e *env) {
	s1 := e.s
	s2 := e.b.Open(t, e.where)
	t.Cleanup(func() { s2.Close() })
	f := e.fixture("HTX A")
	lots := []string{f.batch.ID, f.newLot(t, "100").ID, f.newLot(t, "200").ID}
	// The other node signs with the same key the service holds.
	if sg, err := s2.SignerFor(f.coop.ID); err != nil || string(sg.PublicKey()) != string(f.signer.PublicKey()) {
		t.Fatalf("the other node's key for the cooperative differs (%v)", err)
	}
	keys := logKeys(t)
	size0, note0, err := s1.CheckpointLog(keys.Sign)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := s2.CheckpointLog(keys.Sign); !errors.Is(err, store.ErrNotSigner) {
		t.Fatalf("a second node signed while the first holds the lease: %v", err)
	}
	const writers, each = 32, 6
	nodes := []store.Store{s1, s2}
	var mu sync.Mutex
	acked := map[trace.Hash]*store.StoredEvent{}
	var wg sync.WaitGroup
	errs := make(chan error, writers+1)
	for w := 0; w < writers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := nodes[w%2]
			for i := 0; i < each; i++ {
				st, err := s.Append(context.Background(), store.AppendRequest{Event: f.event(lots[(w+i)%len(lots)], w*100+i), Signer: f.signer})
				if err != nil {
					errs <- err
					return
				}
				mu.Lock()
				acked[st.Hash] = st
				mu.Unlock()
			}
		}()
	}
	// Checkpoints signed during the appends, by the lease holder.
	notes := [][]byte{note0}
	done := make(chan struct{})
	var cw sync.WaitGroup
	cw.Add(1)
	go func() {
		defer cw.Done()
		for {
			select {
			case <-done:
				return
			default:
			}
			_, note, err := s1.CheckpointLog(keys.Sign)
			if err != nil {
				errs <- err
				return
			}
			if string(note) != string(notes[len(notes)-1]) {
				notes = append(notes, note)
			}
			if _, _, err := s2.CheckpointLog(keys.Sign); !errors.Is(err, store.ErrNotSigner) {
				errs <- fmt.Errorf("the node without the lease signed: %v", err)
				return
			}
		}
	}()
	wg.Wait()
	close(done)
	cw.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	_, last, err := s1.CheckpointLog(keys.Sign)
	if err != nil {
		t.Fatal(err)
	}
	if string(last) != string(notes[len(notes)-1]) {
		notes = append(notes, last)
	}
	total := 0
	for _, b := range lots {
		n, _, err := s2.Head(b)
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range verifyHistory(t, s2, b, int(n))[1:] {
			if acked[st.Hash] == nil {
				t.Fatalf("event %s of %s was never acknowledged", st.Hash, b)
			}
		}
		total += int(n) - 1
	}
	if total != writers*each || len(acked) != writers*each {
		t.Fatalf("%d events in the chains, %d acknowledged, want %d", total, len(acked), writers*each)
	}
	size, _ := s2.LogSize()
	if size != size0+writers*each {
		t.Fatalf("the log grew by %d, want %d", size-size0, writers*each)
	}
	checkLog(t, s2, acked)
	// Every checkpoint signed links to the next by a consistency proof.
	hasher := rfc6962.DefaultHasher
	err = s2.ViewLog(func(v store.LogView) error {
		for i := 1; i < len(notes); i++ {
			a, err := store.PublishedFromNote(notes[i-1])
			if err != nil {
				return err
			}
			b, err := store.PublishedFromNote(notes[i])
			if err != nil {
				return err
			}
			p, err := tlog.ProveConsistency(v, a.Size, b.Size)
			if err != nil {
				return err
			}
			raw := make([][]byte, len(p))
			for j := range p {
				raw[j] = p[j][:]
			}
			if err := proof.VerifyConsistency(hasher, a.Size, b.Size, raw, a.Root[:], b.Root[:]); err != nil {
				return fmt.Errorf("checkpoints %d and %d: %w", a.Size, b.Size, err)
			}
		}
		if sz, n := v.LatestCheckpoint(); sz != size || string(n) != string(notes[len(notes)-1]) {
			return fmt.Errorf("the other node reads checkpoint %d, want %d", sz, size)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	testNodesSeeChanges(t, s1, s2, f, lots[1])

}

// testNodesSeeChanges: a lot's facts, a cooperative's keys and a
// product's record changed through one node are what that node reads at
// once, and what the other node reads once it has heard of the change
// (each node keeps copies of what it read).
func testNodesSeeChanges(t *testing.T, s1, s2 store.Store, f *fixture, lot string) {
	t.Helper()
	// The other node has read all three, as an append to the lot does.
	if _, err := s2.Batch(lot); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Cooperative(f.coop.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s2.Product(f.prod.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s1.RestateFacts(context.Background(), lot, &trace.LotFacts{Quantity: trace.Quantity{Value: "777", Unit: "KGM"}}, ""); err != nil {
		t.Fatal(err)
	}
	key := make([]byte, 32)
	key[0], key[31] = 7, 9
	if _, added, err := s1.AddCooperativeKey(f.coop.ID, key, false); err != nil || !added {
		t.Fatalf("adding a key: %v (added %v)", err, added)
	}
	p, err := s1.Product(f.prod.ID)
	if err != nil {
		t.Fatal(err)
	}
	p.NameEN = "ST25 rice, changed"
	if err := s1.UpdateProduct(p, ""); err != nil {
		t.Fatal(err)
	}
	seen := func(s store.Store) (bool, error) {
		bt, err := s.Batch(lot)
		if err != nil {
			return false, err
		}
		c, err := s.Cooperative(f.coop.ID)
		if err != nil {
			return false, err
		}
		p, err := s.Product(f.prod.ID)
		if err != nil {
			return false, err
		}
		return bt.Quantity.Value == "777" && trace.HasKey(c.PublicKeys, key) && p.NameEN == "ST25 rice, changed", nil
	}
	if ok, err := seen(s1); err != nil || !ok {
		t.Fatalf("the node that made the changes does not read them (%v)", err)
	}
	// Notifications take a moment; a node that never hears keeps
	// stale copies, which this waits long enough to tell apart.
	deadline := time.Now().Add(20 * time.Second)
	for {
		ok, err := seen(s2)
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the other node still reads the lot, the cooperative or the product as they were before the changes")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
