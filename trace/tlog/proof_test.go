package tlog

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

func TestOfflineProof(t *testing.T) {
	l := newTestLog(t)
	c := l.grow(t, 1000)
	w := testKey(t, "witness.example/w1", TypeCosignatureV1, 8)
	wv, _ := w.Public().Verifier()
	n := mustNote(t, l.checkpointNote)
	if err := n.Sign(w.Signer(fixedNow)); err != nil {
		t.Fatal(err)
	}
	cosigned := n.Bytes()
	policy, err := ParsePolicy([]byte("witness W " + w.Public().String() + "\nquorum W\n"))
	if err != nil {
		t.Fatal(err)
	}
	cv := &CheckpointVerifier{Origin: testOrigin, Log: []Verifier{l.edVer, l.mlVer}, Witnesses: policy}

	for _, index := range []uint64{0, 1, 255, 256, 517, 999} {
		p, err := NewProof(l.store, index, cosigned, []byte("lot VN-2026-001"))
		if err != nil {
			t.Fatal(err)
		}
		b := p.Bytes()
		p2, err := ParseProof(b)
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(p2.Bytes(), b) || p2.Index != index || string(p2.Extra) != "lot VN-2026-001" {
			t.Fatal("proof round trip differs")
		}
		got, err := VerifyProof(testEntry(int(index)), b, cv)
		if err != nil {
			t.Fatalf("VerifyProof(%d): %v", index, err)
		}
		if got.String() != c.String() {
			t.Errorf("checkpoint = %+v", got)
		}
	}

	// The same log keys listed both in the policy and as required keys.
	withLogs, err := ParsePolicy([]byte("log " + l.ed.Public().String() + "\nlog " + l.ml.Public().String() +
		"\nwitness W " + w.Public().String() + "\nquorum W\n"))
	if err != nil {
		t.Fatal(err)
	}
	p42, _ := NewProof(l.store, 42, cosigned, nil)
	for _, v := range []*CheckpointVerifier{
		{Origin: testOrigin, Log: cv.Log, Witnesses: withLogs},
		{Origin: testOrigin, Witnesses: withLogs},
	} {
		if _, err := VerifyProof(testEntry(42), p42.Bytes(), v); err != nil {
			t.Errorf("policy with log lines: %v", err)
		}
	}
	if _, err := VerifyProof(testEntry(42), p42.Bytes(), &CheckpointVerifier{Origin: testOrigin, Witnesses: policy}); !errors.Is(err, ErrNoTrustAnchor) {
		t.Errorf("policy without logs and no log keys: %v", err)
	}

	good, _ := NewProof(l.store, 42, cosigned, nil)
	goodBytes := good.Bytes()
	if strings.Contains(string(goodBytes), "extra") {
		t.Error("empty extra written")
	}
	uncosigned, _ := NewProof(l.store, 42, l.checkpointNote, nil)
	edOnlyNote, _ := SignCheckpoint(c, l.edSig, w.Signer(fixedNow))
	edOnly, _ := NewProof(l.store, 42, edOnlyNote, nil)
	wrongIndex := *good
	wrongIndex.Index = 43
	outOfRange := *good
	outOfRange.Index = 5000
	badHash := *good
	badHash.Inclusion = append([]Hash(nil), good.Inclusion...)
	badHash.Inclusion[2][5] ^= 1
	tests := []struct {
		name  string
		entry []byte
		proof []byte
		cv    *CheckpointVerifier
		check func(error) bool
	}{
		{"wrong entry", testEntry(41), goodBytes, cv, is(ErrProofMismatch)},
		{"wrong index", testEntry(42), wrongIndex.Bytes(), cv, is(ErrProofMismatch)},
		{"index beyond size", testEntry(42), outOfRange.Bytes(), cv, is(ErrBadProof)},
		{"tampered hash", testEntry(42), badHash.Bytes(), cv, is(ErrProofMismatch)},
		{"no cosignature", testEntry(42), uncosigned.Bytes(), cv, is(ErrQuorum)},
		{"missing ML-DSA-44", testEntry(42), edOnly.Bytes(), cv, func(err error) bool {
			var m *MissingSignatureError
			return errors.As(err, &m)
		}},
		{"wrong origin", testEntry(42), goodBytes, &CheckpointVerifier{Origin: "x", Log: cv.Log}, is(ErrWrongOrigin)},
		{"no keys", testEntry(42), goodBytes, &CheckpointVerifier{Origin: testOrigin}, is(ErrNoTrustAnchor)},
		{"malformed", testEntry(42), goodBytes[1:], cv, is(ErrMalformedProof)},
		{"witness key as the only required key", testEntry(42), goodBytes, &CheckpointVerifier{Origin: testOrigin, Log: []Verifier{wv}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := VerifyProof(tt.entry, tt.proof, tt.cv)
			if tt.check == nil {
				if err != nil {
					t.Errorf("err = %v", err)
				}
				return
			}
			if err == nil || !tt.check(err) {
				t.Errorf("err = %v", err)
			}
		})
	}
}

func is(target error) func(error) bool {
	return func(err error) bool { return errors.Is(err, target) }
}

func TestParseProofRejects(t *testing.T) {
	l := newTestLog(t)
	l.grow(t, 3)
	cp := string(l.checkpointNote)
	h := LeafHash(nil).String()
	tests := []struct {
		name, text string
		ok         bool
	}{
		{"minimal", ProofHeader + "\nindex 0\n\n" + cp, true},
		{"with extra and hashes", ProofHeader + "\nextra AAEC\nindex 2\n" + h + "\n" + h + "\n\n" + cp, true},
		{"wrong header", "c2sp.org/tlog-proof@v2\nindex 0\n\n" + cp, false},
		{"no index", ProofHeader + "\n\n" + cp, false},
		{"index leading zero", ProofHeader + "\nindex 01\n\n" + cp, false},
		{"extra after index", ProofHeader + "\nindex 1\nextra AAEC\n\n" + cp, false},
		{"empty extra", ProofHeader + "\nextra \nindex 1\n\n" + cp, false},
		{"base64url extra", ProofHeader + "\nextra -_8=\nindex 1\n\n" + cp, false},
		{"bad hash", ProofHeader + "\nindex 1\n" + h[:40] + "\n\n" + cp, false},
		{"no blank line", ProofHeader + "\nindex 1\n" + cp, false},
		{"no checkpoint", ProofHeader + "\nindex 1\n\n", false},
		{"64 hashes", ProofHeader + "\nindex 1\n" + strings.Repeat(h+"\n", 64) + "\n" + cp, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := ParseProof([]byte(tt.text))
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%v", err, tt.ok)
			}
			if tt.ok && string(p.Bytes()) != tt.text {
				t.Error("round trip differs")
			}
		})
	}
}
