package tlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	fnote "github.com/transparency-dev/formats/note"
	"golang.org/x/mod/sumdb/note"
)

type witnessFixture struct {
	log     *testLog
	w       *Witness
	wEd     *PrivateKey
	wML     *PrivateKey
	heads   map[string]TreeHead
	roots   map[uint64]Hash
	signed  map[uint64][]byte
	stateOK bool
}

func newWitnessFixture(t testing.TB) *witnessFixture {
	t.Helper()
	f := &witnessFixture{
		log:    newTestLog(t),
		wEd:    testKey(t, "witness.example/w1", TypeCosignatureV1, 21),
		wML:    testKey(t, "witness.example/w1", TypeMLDSA44, 21),
		heads:  map[string]TreeHead{},
		roots:  map[uint64]Hash{0: EmptyRoot()},
		signed: map[uint64][]byte{},
	}
	f.w = &Witness{
		Cosigners: []Signer{f.wEd.Signer(fixedNow), f.wML.Signer(fixedNow)},
		Logs:      map[string][]Verifier{testOrigin: {f.log.edVer, f.log.mlVer}},
	}
	for _, n := range []int{5, 3, 300, 1} {
		c := f.log.grow(t, n)
		f.roots[c.Size] = c.Root
		f.signed[c.Size] = f.log.checkpointNote
	}
	return f
}

func (f *witnessFixture) latest(origin string) (TreeHead, bool, error) {
	h, ok := f.heads[origin]
	return h, ok, nil
}

func (f *witnessFixture) request(t testing.TB, old, size uint64) []byte {
	t.Helper()
	p, err := ProveConsistency(f.log.store, old, size)
	if err != nil {
		t.Fatal(err)
	}
	return (&AddCheckpointRequest{OldSize: old, Proof: p, Checkpoint: f.signed[size]}).Bytes()
}

// add runs one request and stores the new head, as a caller would.
func (f *witnessFixture) add(body []byte) (*Cosigned, error) {
	res, err := f.w.AddCheckpoint(body, f.latest)
	if err == nil {
		f.heads[res.Checkpoint.Origin] = res.Head()
	}
	return res, err
}

func TestWitnessFlow(t *testing.T) {
	f := newWitnessFixture(t)
	res, err := f.add(f.request(t, 0, 8))
	if err != nil {
		t.Fatal(err)
	}
	// The answer's lines verify with formats' cosignature verifiers.
	edv, _ := fnote.NewVerifierForCosignatureV1(f.wEd.Public().String())
	mlv, _ := fnote.NewMLDSAVerifier(f.wML.Public().String())
	full := append(append([]byte(nil), f.signed[8]...), res.Cosignatures...)
	n, err := note.Open(full, note.VerifierList(edv, mlv))
	if err != nil || len(n.Sigs) != 2 {
		t.Fatalf("formats verifiers on the cosigned note: %v", err)
	}
	// The log merges the answer into its checkpoint.
	wv1, _ := f.wEd.Public().Verifier()
	wv2, _ := f.wML.Public().Verifier()
	merged, err := AddCosignatures(f.signed[8], res.Cosignatures, wv1, wv2)
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := OpenCheckpoint(merged, testOrigin, []Verifier{f.log.edVer, f.log.mlVer, wv1, wv2}); err != nil {
		t.Fatalf("merged note: %v", err)
	}
	// Next checkpoints, with consistency proofs.
	if _, err := f.add(f.request(t, 8, 308)); err != nil {
		t.Fatal(err)
	}
	if _, err := f.add(f.request(t, 308, 308)); err != nil {
		t.Fatalf("resubmitting the same checkpoint: %v", err)
	}
	if _, err := f.add(f.request(t, 308, 309)); err != nil {
		t.Fatal(err)
	}
	if f.heads[testOrigin].Size != 309 || f.heads[testOrigin].Root != f.roots[309] {
		t.Fatalf("head = %+v", f.heads[testOrigin])
	}
}

func TestWitnessRejects(t *testing.T) {
	f := newWitnessFixture(t)
	if _, err := f.add(f.request(t, 0, 8)); err != nil {
		t.Fatal(err)
	}
	c8, _ := ParseCheckpoint(string(mustNote(t, f.signed[8]).Text))
	otherLog := testKey(t, testOrigin, TypeEd25519, 77).Signer(nil)
	forgedByOther, _ := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: 308, Root: f.roots[308]}, otherLog)
	unknownOrigin, _ := SignCheckpoint(Checkpoint{Origin: "elsewhere.example", Size: 308, Root: f.roots[308]}, f.log.edSig)
	forkRoot := f.roots[308]
	forkRoot[0] ^= 1
	fork, _ := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: 308, Root: forkRoot}, f.log.edSig, f.log.mlSig)
	sameSizeFork, _ := SignCheckpoint(Checkpoint{Origin: testOrigin, Size: 8, Root: forkRoot}, f.log.edSig)
	badSigNote := mustNote(t, f.signed[308])
	badSigNote.Sigs[0].Sig[3] ^= 1
	p8to308, _ := ProveConsistency(f.log.store, 8, 308)
	tooMany := make([]Hash, 64)

	tests := []struct {
		name     string
		body     []byte
		status   int
		kind     error
		wantSize uint64
	}{
		{"empty body", nil, 400, ErrMalformedRequest, 0},
		{"no old line", []byte("\n" + string(f.signed[308])), 400, ErrMalformedRequest, 0},
		{"leading zero old size", []byte("old 08\n\n" + string(f.signed[308])), 400, ErrMalformedRequest, 0},
		{"no blank line", []byte("old 8\n" + string(f.signed[308])), 400, ErrMalformedRequest, 0},
		{"64 proof lines", (&AddCheckpointRequest{OldSize: 8, Proof: tooMany, Checkpoint: f.signed[308]}).Bytes(), 400, ErrMalformedRequest, 0},
		{"malformed checkpoint note", []byte("old 8\n\nnot a note\n"), 400, ErrMalformedRequest, 0},
		{"old size above size", (&AddCheckpointRequest{OldSize: 400, Checkpoint: f.signed[308]}).Bytes(), 400, ErrMalformedRequest, 0},
		{"unknown origin", (&AddCheckpointRequest{OldSize: 8, Proof: p8to308, Checkpoint: unknownOrigin}).Bytes(), 404, ErrUnknownOrigin, 0},
		{"signed by another key", (&AddCheckpointRequest{OldSize: 8, Proof: p8to308, Checkpoint: forgedByOther}).Bytes(), 403, ErrLogSignature, 0},
		{"bad log signature", (&AddCheckpointRequest{OldSize: 8, Proof: p8to308, Checkpoint: badSigNote.Bytes()}).Bytes(), 403, ErrLogSignature, 0},
		{"stale old size", f.request(t, 5, 308), 409, ErrConflict, 8},
		{"old size zero after cosigning", (&AddCheckpointRequest{OldSize: 0, Checkpoint: f.signed[308]}).Bytes(), 409, ErrConflict, 8},
		{"same size, other root", (&AddCheckpointRequest{OldSize: 8, Checkpoint: sameSizeFork}).Bytes(), 409, ErrConflict, 8},
		{"fork", (&AddCheckpointRequest{OldSize: 8, Proof: p8to308, Checkpoint: fork}).Bytes(), 422, ErrInconsistent, 0},
		{"empty proof", (&AddCheckpointRequest{OldSize: 8, Checkpoint: f.signed[308]}).Bytes(), 422, ErrInconsistent, 0},
		{"truncated proof", (&AddCheckpointRequest{OldSize: 8, Proof: p8to308[1:], Checkpoint: f.signed[308]}).Bytes(), 422, ErrInconsistent, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := f.add(tt.body)
			var we *WitnessError
			if !errors.As(err, &we) {
				t.Fatalf("err = %v, want *WitnessError", err)
			}
			if we.Status != tt.status || !errors.Is(err, tt.kind) {
				t.Errorf("status %d (%v), want %d (%v)", we.Status, err, tt.status, tt.kind)
			}
			if tt.status == 409 {
				if we.LatestSize != tt.wantSize || string(we.Body()) != "8\n" {
					t.Errorf("409 size %d body %q", we.LatestSize, we.Body())
				}
			}
		})
	}
	if f.heads[testOrigin].Size != 8 || f.heads[testOrigin].Root != c8.Root {
		t.Errorf("rejected requests changed the head: %+v", f.heads[testOrigin])
	}
}

func TestAddCheckpointRequestRoundTrip(t *testing.T) {
	f := newWitnessFixture(t)
	body := f.request(t, 8, 308)
	r, err := ParseAddCheckpointRequest(body)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(r.Bytes(), body) || r.OldSize != 8 || len(r.Proof) == 0 {
		t.Error("round trip differs")
	}
	if !strings.HasPrefix(string(body), "old 8\n") {
		t.Errorf("body starts %q", body[:10])
	}
}

func mustNote(t testing.TB, b []byte) *Note {
	t.Helper()
	n, err := ParseNote(b)
	if err != nil {
		t.Fatal(err)
	}
	return n
}
