package tlog

import (
	"bytes"
	"testing"
)

func noteSeeds(f *testing.F) {
	l := newTestLog(f)
	l.grow(f, 3)
	f.Add(l.checkpointNote)
	f.Add([]byte("hello\n\n\u2014 a AAAAAAA=\n"))
	f.Add([]byte("a\n\nb\n\n\u2014 k AQIDBAU=\n\u2014 k AQIDBAU=\n"))
	f.Add([]byte("a\n\n- k AQIDBAU=\n"))
	f.Add([]byte("\n\n\u2014 k AQIDBAU=\n"))
}

func FuzzParseNote(f *testing.F) {
	noteSeeds(f)
	f.Fuzz(func(t *testing.T, msg []byte) {
		n, err := ParseNote(msg)
		if err != nil {
			return
		}
		if out := n.Bytes(); !bytes.Equal(out, msg) {
			t.Fatalf("ParseNote/Bytes round trip:\n%q\n%q", msg, out)
		}
		if err := n.Validate(); err != nil {
			t.Fatalf("parsed note does not validate: %v", err)
		}
		if c, err := ParseCheckpoint(n.Text); err == nil && c.String() != n.Text {
			t.Fatalf("checkpoint round trip: %q", n.Text)
		}
	})
}

func FuzzParseCheckpoint(f *testing.F) {
	f.Add("truyxuat.example/log\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Add("o\n18446744073709551615\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\next\n")
	f.Add("o\n01\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Add("o\n1\n47DEQpj8HBSa-_TImW-5JCeuQeRkm5NMpJWZG3hSuFU=\n")
	f.Fuzz(func(t *testing.T, text string) {
		c, err := ParseCheckpoint(text)
		if err != nil {
			return
		}
		if c.String() != text {
			t.Fatalf("round trip: %q -> %q", text, c.String())
		}
		m, err := c.Marshal()
		if err != nil || string(m) != text {
			t.Fatalf("Marshal = %q, %v", m, err)
		}
	})
}

func FuzzParseTilePath(f *testing.F) {
	for _, s := range []string{"tile/0/000", "tile/1/x001/x234/067.p/5", "tile/entries/x001/000", "tile/0/x000/001"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, path string) {
		tl, err := ParseTilePath(path)
		if err != nil {
			return
		}
		if tl.Path() != path {
			t.Fatalf("round trip: %q -> %q", path, tl.Path())
		}
	})
}

func FuzzParseAddCheckpointRequest(f *testing.F) {
	l := newTestLog(f)
	l.grow(f, 3)
	f.Add(append([]byte("old 0\n\n"), l.checkpointNote...))
	f.Add(append([]byte("old 2\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"), l.checkpointNote...))
	f.Fuzz(func(t *testing.T, body []byte) {
		r, err := ParseAddCheckpointRequest(body)
		if err != nil {
			return
		}
		if !bytes.Equal(r.Bytes(), body) {
			t.Fatalf("round trip differs: %q", body)
		}
	})
}

func FuzzParseProof(f *testing.F) {
	l := newTestLog(f)
	l.grow(f, 3)
	f.Add(append([]byte(ProofHeader+"\nextra AAEC\nindex 2\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n"), l.checkpointNote...))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParseProof(b)
		if err != nil {
			return
		}
		if !bytes.Equal(p.Bytes(), b) {
			t.Fatalf("round trip differs: %q", b)
		}
	})
}

func FuzzParsePolicy(f *testing.F) {
	w := testKey(f, "w.example", TypeCosignatureV1, 1).Public().String()
	f.Add([]byte("witness A " + w + "\ngroup G any A\nquorum G\n"))
	f.Add([]byte("# c\n\tquorum none"))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			return
		}
		n := &Note{Text: "o\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n", Sigs: []Signature{{Name: "w.example", KeyHash: 1, Sig: []byte{1}}}}
		_ = p.Check(n)
	})
}

func FuzzParseVerifierKey(f *testing.F) {
	f.Add("example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
	// The same key with its ID in capitals: not the canonical spelling.
	f.Add("example.com/foo+530D903A+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k")
	for _, typ := range []SignatureType{TypeEd25519, TypeCosignatureV1, TypeMLDSA44} {
		f.Add(testKey(f, "w.example/k", typ, 1).Public().String())
	}
	f.Fuzz(func(t *testing.T, s string) {
		k, err := ParseVerifierKey(s)
		if err != nil {
			return
		}
		if k.String() != s {
			t.Fatalf("round trip: %q -> %q", s, k.String())
		}
		if _, err := k.Verifier(); err != nil {
			t.Fatal(err)
		}
	})
}
