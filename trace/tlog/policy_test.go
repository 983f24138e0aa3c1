package tlog

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

func TestPolicy(t *testing.T) {
	l := newTestLog(t)
	c := l.grow(t, 12)
	var wkeys []*PrivateKey
	for i := 0; i < 6; i++ {
		typ := TypeCosignatureV1
		if i%2 == 1 {
			typ = TypeMLDSA44
		}
		wkeys = append(wkeys, testKey(t, fmt.Sprintf("w%d.example", i), typ, uint64(30+i)))
	}
	policyText := fmt.Sprintf(`# truyxuat witness policy
log %s https://truyxuat.example/log/
log %s

witness X1 %s
witness X2 %s https://w1.example/
witness X3	%s
group X-witnesses 2 X1 X2 X3

witness Y1 %s
witness Y2 %s
witness Y3 %s
group Y-witnesses any Y1 Y2 Y3
  group X-and-Y all X-witnesses Y-witnesses   
quorum X-and-Y
`, l.ed.Public(), l.ml.Public(), wkeys[0].Public(), wkeys[1].Public(), wkeys[2].Public(),
		wkeys[3].Public(), wkeys[4].Public(), wkeys[5].Public())
	p, err := ParsePolicy([]byte(policyText))
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Logs) != 2 || len(p.Witnesses) != 6 || len(p.Groups) != 3 || p.Quorum != "X-and-Y" {
		t.Fatalf("parsed %+v", p)
	}
	if p.Groups[0].Threshold != 2 || p.Groups[1].Threshold != 1 || p.Groups[2].Threshold != 2 {
		t.Errorf("thresholds %+v", p.Groups)
	}
	if p.Logs[0].URL != "https://truyxuat.example/log/" || p.Witnesses[1].URL != "https://w1.example/" {
		t.Error("URLs not parsed")
	}

	cosign := func(signers ...int) *Note {
		n := mustNote(t, l.checkpointNote)
		for _, i := range signers {
			if err := n.Sign(wkeys[i].Signer(fixedNow)); err != nil {
				t.Fatal(err)
			}
		}
		return n
	}
	tests := []struct {
		name    string
		signers []int
		ok      bool
	}{
		{"none", nil, false},
		{"two X only", []int{0, 1}, false},
		{"one X one Y", []int{0, 3}, false},
		{"two X one Y", []int{0, 2, 4}, true},
		{"all", []int{0, 1, 2, 3, 4, 5}, true},
		{"three Y one X", []int{3, 4, 5, 1}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := p.Check(cosign(tt.signers...))
			if tt.ok != (err == nil) {
				t.Fatalf("Check err = %v, want ok=%v", err, tt.ok)
			}
			if !tt.ok && !errors.Is(err, ErrQuorum) {
				t.Errorf("err = %v, want ErrQuorum", err)
			}
		})
	}
	// A bad cosignature from a known witness invalidates the note.
	n := cosign(0, 2, 4)
	n.Sigs[len(n.Sigs)-1].Sig[20] ^= 1
	var inv *InvalidSignatureError
	if err := p.Check(n); !errors.As(err, &inv) {
		t.Errorf("bad cosignature: err = %v", err)
	}
	// A checkpoint not signed by a policy log fails even with a quorum.
	other := testKey(t, testOrigin, TypeEd25519, 55)
	foreign := &Note{Text: c.String()}
	if err := foreign.Sign(other.Signer(nil), wkeys[0].Signer(nil), wkeys[2].Signer(nil), wkeys[4].Signer(nil)); err != nil {
		t.Fatal(err)
	}
	if err := p.Check(foreign); !errors.Is(err, ErrNoKnownSignature) {
		t.Errorf("foreign log: err = %v", err)
	}
	// quorum none.
	none, err := ParsePolicy([]byte("log " + l.ed.Public().String() + "\nquorum none\n"))
	if err != nil {
		t.Fatal(err)
	}
	if err := none.Check(mustNote(t, l.checkpointNote)); err != nil {
		t.Errorf("quorum none: %v", err)
	}
	// A plain Ed25519 witness vkey is taken as its cosignature/v1 key.
	plain := testKey(t, "plain.example", TypeEd25519, 66)
	pp, err := ParsePolicy([]byte("witness P " + plain.Public().String() + "\nquorum P"))
	if err != nil {
		t.Fatal(err)
	}
	cos, _ := NewPrivateKey("plain.example", TypeCosignatureV1, plainSeed(t, plain))
	n = mustNote(t, l.checkpointNote)
	if err := n.Sign(cos.Signer(nil)); err != nil {
		t.Fatal(err)
	}
	if err := pp.Check(n); err != nil {
		t.Errorf("plain Ed25519 witness key: %v", err)
	}
}

// plainSeed extracts a key's seed through its skey.
func plainSeed(t *testing.T, k *PrivateKey) []byte {
	t.Helper()
	parts := strings.Split(k.Encode(), "+")
	raw, err := decodeBase64(parts[4])
	if err != nil {
		t.Fatal(err)
	}
	return raw[1:]
}

func TestParsePolicyRejects(t *testing.T) {
	w1 := testKey(t, "w1.example", TypeCosignatureV1, 1).Public().String()
	w2 := testKey(t, "w2.example", TypeMLDSA44, 2).Public().String()
	w1again := testKey(t, "w1-other-name.example", TypeCosignatureV1, 1).Public().String()
	logKey := testKey(t, "log.example", TypeEd25519, 3).Public().String()
	tests := []struct{ name, text string }{
		{"no quorum", "witness A " + w1 + "\n"},
		{"two quorums", "witness A " + w1 + "\nquorum A\nquorum A\n"},
		{"quorum undefined", "quorum A\nwitness A " + w1 + "\n"},
		{"group forward reference", "group G any A\nwitness A " + w1 + "\nquorum G\n"},
		{"member twice in a group", "witness A " + w1 + "\ngroup G 1 A A\nquorum G\n"},
		{"member in two groups", "witness A " + w1 + "\nwitness B " + w2 + "\ngroup G any A B\ngroup H any A\ngroup Q all G H\nquorum Q\n"},
		{"threshold zero", "witness A " + w1 + "\ngroup G 0 A\nquorum G\n"},
		{"threshold too big", "witness A " + w1 + "\ngroup G 2 A\nquorum G\n"},
		{"threshold leading zero", "witness A " + w1 + "\ngroup G 01 A\nquorum G\n"},
		{"empty group", "group G any\nquorum none\n"},
		{"none as member", "witness A " + w1 + "\ngroup G any A none\nquorum G\n"},
		{"redefined name", "witness A " + w1 + "\nwitness A " + w2 + "\nquorum A\n"},
		{"witness named none", "witness none " + w1 + "\nquorum none\n"},
		{"duplicate witness key", "witness A " + w1 + "\nwitness B " + w1again + "\nquorum A\n"},
		{"duplicate log key", "log " + logKey + "\nlog " + logKey + "\nquorum none\n"},
		{"log with cosignature key", "log " + w1 + "\nquorum none\n"},
		{"witness with bad vkey", "witness A nope+00000000+AAAA\nquorum A\n"},
		{"unknown keyword", "witnesses A " + w1 + "\nquorum A\n"},
		{"extra field", "witness A " + w1 + " https://a.example extra\nquorum A\n"},
		{"control character", "witness A " + w1 + "\r\nquorum A\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ParsePolicy([]byte(tt.text)); !errors.Is(err, ErrMalformedPolicy) {
				t.Errorf("err = %v, want ErrMalformedPolicy", err)
			}
		})
	}
}
