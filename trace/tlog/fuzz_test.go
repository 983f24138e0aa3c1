package tlog

import (
	"bytes"
	"errors"
	"fmt"
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
	for _, p := range []*Proof{
		{Index: 0, Checkpoint: l.checkpointNote},
		{Index: 1, Extra: []byte{0}, Inclusion: []Hash{EmptyRoot(), LeafHash(nil)}, Checkpoint: l.checkpointNote},
	} {
		f.Add(p.Bytes())
	}
	f.Add([]byte(ProofHeader + "\nindex 01\n\n"))
	f.Add([]byte(ProofHeader + "\nextra \nindex 0\n\n"))
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

// FuzzParsePolicy: a policy parses only if it keeps the rules ParsePolicy
// documents, and it judges checkpoints as a quorum should: cosigned by
// every witness it passes, cosigned by none it passes only with quorum
// none. The seeds use keys the test knows, so mutations that shuffle them
// can be signed for.
func FuzzParsePolicy(f *testing.F) {
	w := testKey(f, "w.example", TypeCosignatureV1, 1).Public().String()
	f.Add([]byte("witness A " + w + "\ngroup G any A\nquorum G\n"))
	f.Add([]byte("# c\n\tquorum none"))
	l := newTestLog(f)
	l.grow(f, 5)
	known := map[string]*PrivateKey{}
	var wk []string
	for i := 0; i < 4; i++ {
		typ := TypeCosignatureV1
		if i%2 == 1 {
			typ = TypeMLDSA44
		}
		k := testKey(f, fmt.Sprintf("w%d.example", i), typ, uint64(30+i))
		known[k.Public().String()] = k
		wk = append(wk, k.Public().String())
	}
	logs := "log " + l.ed.Public().String() + " https://truyxuat.example/log/\nlog " + l.ml.Public().String() + "\n"
	for _, text := range []string{
		logs + "witness X1 " + wk[0] + "\nwitness X2 " + wk[1] + " https://w1.example/\ngroup X 2 X1 X2\n" +
			"witness Y1\t" + wk[2] + "\nwitness Y2 " + wk[3] + "\ngroup Y any Y1 Y2\n  group XY all X Y  \nquorum XY\n",
		logs + "witness A " + wk[0] + "\nwitness B " + wk[1] + "\ngroup G 1 A B\nquorum G\n",
		"witness A " + wk[2] + "\nquorum A\n",
		logs + "quorum none\n",
		"witness A " + wk[0] + "\ngroup G 0 A\nquorum G\n",
		"witness A " + wk[0] + "\nwitness B " + wk[0] + "\nquorum A\n",
	} {
		f.Add([]byte(text))
	}
	base := mustNote(f, l.checkpointNote)
	logKeys := map[string]bool{l.ed.Public().String(): true, l.ml.Public().String(): true}
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := ParsePolicy(b)
		if err != nil {
			if !errors.Is(err, ErrMalformedPolicy) {
				t.Fatalf("error %v does not wrap ErrMalformedPolicy", err)
			}
			return
		}
		defined := map[string]bool{}
		for _, w := range p.Witnesses {
			defined[w.Name] = true
		}
		member := map[string]bool{}
		for _, g := range p.Groups {
			if g.Threshold < 1 || g.Threshold > len(g.Members) {
				t.Fatalf("group %s: threshold %d of %d members", g.Name, g.Threshold, len(g.Members))
			}
			for _, m := range g.Members {
				if !defined[m] || member[m] {
					t.Fatalf("group %s: member %q undefined or in two groups", g.Name, m)
				}
				member[m] = true
			}
			defined[g.Name] = true
		}
		if p.Quorum != "none" && !defined[p.Quorum] {
			t.Fatalf("quorum %q names nothing defined", p.Quorum)
		}
		if _, _, err := p.verifiers(); err != nil {
			t.Fatalf("accepted keys make no verifiers: %v", err)
		}
		// Judging checkpoints: only for policies whose keys are known.
		for _, lk := range p.Logs {
			if !logKeys[lk.Key.String()] {
				return
			}
		}
		var all []Signer
		for _, w := range p.Witnesses {
			k := known[w.Key.String()]
			if k == nil {
				return
			}
			all = append(all, k.Signer(fixedNow))
		}
		none := &Note{Text: base.Text, Sigs: append([]Signature(nil), base.Sigs...)}
		if err := p.Check(none); (err == nil) != (p.Quorum == "none") {
			t.Fatalf("quorum %q, no cosignatures: %v", p.Quorum, err)
		}
		every := &Note{Text: base.Text, Sigs: append([]Signature(nil), base.Sigs...)}
		if err := every.Sign(all...); err != nil {
			t.Fatal(err)
		}
		if err := p.Check(every); err != nil {
			t.Fatalf("quorum %q, every witness cosigned: %v", p.Quorum, err)
		}
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

// FuzzParseBundle: an entry bundle parses only if it is exactly the
// encoding of its entries, at most a tile's width of them; anything else
// is ErrBadBundle.
func FuzzParseBundle(f *testing.F) {
	var entries [][]byte
	for i := 0; i < 3; i++ {
		entries = append(entries, testEntry(i))
	}
	b, err := EncodeBundle(entries)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add(b[:len(b)-1])
	f.Add([]byte{})
	f.Add([]byte{0, 0})
	f.Add([]byte{0xff, 0xff, 1})
	full, _ := EncodeBundle(make([][]byte, TileWidth))
	f.Add(full)
	f.Add(append(full, 0, 0))
	f.Fuzz(func(t *testing.T, data []byte) {
		got, err := ParseBundle(data)
		if err != nil {
			if !errors.Is(err, ErrBadBundle) {
				t.Fatalf("error %v is not ErrBadBundle", err)
			}
			return
		}
		if len(got) > TileWidth {
			t.Fatalf("%d entries in one bundle", len(got))
		}
		again, err := EncodeBundle(got)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("parse→encode changed the bundle:\n in %x\nout %x (%v)", data, again, err)
		}
		// Entries alias the bundle but cannot grow into the next one.
		for i, e := range got {
			if cap(e) != len(e) {
				t.Fatalf("entry %d has capacity %d beyond its %d bytes", i, cap(e), len(e))
			}
		}
	})
}

// FuzzAddCosignatures merges a witness's answer into a signed checkpoint.
// Whatever it returns is a note with the same text, keeping every line of
// other keys, and whose lines from the witness's keys are ones the answer
// gave and that verify.
func FuzzAddCosignatures(f *testing.F) {
	w := newWitnessFixture(f)
	res, err := w.add(w.request(f, 0, 8))
	if err != nil {
		f.Fatal(err)
	}
	wv1, _ := w.wEd.Public().Verifier()
	wv2, _ := w.wML.Public().Verifier()
	witnesses := []Verifier{wv1, wv2}
	merged, err := AddCosignatures(w.signed[8], res.Cosignatures, witnesses...)
	if err != nil {
		f.Fatal(err)
	}
	other := testKey(f, "witness.example/w2", TypeCosignatureV1, 22).Signer(fixedNow)
	n8, _ := ParseNote(w.signed[8])
	otherSig, _ := other.Sign([]byte(n8.Text))
	otherLine := []byte(Signature{Name: other.Name(), KeyHash: other.KeyHash(), Sig: otherSig}.Line())
	flipped := bytes.Clone(res.Cosignatures)
	flipped[len(flipped)/2] ^= 1
	f.Add(w.signed[8], res.Cosignatures)
	f.Add(merged, res.Cosignatures)
	f.Add(w.signed[8], otherLine)
	f.Add(w.signed[8], append(bytes.Clone(res.Cosignatures), res.Cosignatures...))
	f.Add(w.signed[8], flipped)
	f.Add(w.signed[5], res.Cosignatures)
	f.Add(w.signed[8], []byte(""))
	f.Fuzz(func(t *testing.T, signed, answer []byte) {
		out, err := AddCosignatures(signed, answer, witnesses...)
		if err != nil {
			return
		}
		before, err := ParseNote(signed)
		if err != nil {
			t.Fatalf("AddCosignatures accepted a note ParseNote refuses: %v", err)
		}
		after, err := ParseNote(out)
		if err != nil {
			t.Fatalf("AddCosignatures wrote a note that does not parse: %v\n%q", err, out)
		}
		if after.Text != before.Text {
			t.Fatalf("the note's text changed:\n%q\n%q", before.Text, after.Text)
		}
		lines, err := ParseSignatureLines(answer)
		if err != nil {
			t.Fatalf("AddCosignatures accepted an answer ParseSignatureLines refuses: %v", err)
		}
		witnessOf := func(s Signature) Verifier {
			for _, v := range witnesses {
				if v.Name() == s.Name && v.KeyHash() == s.KeyHash {
					return v
				}
			}
			return nil
		}
		answered := map[Verifier]bool{}
		for _, s := range lines {
			if v := witnessOf(s); v != nil {
				answered[v] = true
			}
		}
		count := map[Verifier]int{}
		for _, s := range after.Sigs {
			v := witnessOf(s)
			if v == nil || !answered[v] {
				if !hasSig(before.Sigs, s) {
					t.Fatalf("line %q appeared from nowhere", s.Line())
				}
				continue
			}
			count[v]++
			if !hasSig(lines, s) || !v.Verify([]byte(after.Text), s.Sig) {
				t.Fatalf("witness line %q is not a verified line of the answer", s.Line())
			}
		}
		for v := range answered {
			if count[v] != 1 {
				t.Fatalf("%d lines of witness key %s+%08x, want 1", count[v], v.Name(), v.KeyHash())
			}
		}
		for _, s := range before.Sigs {
			if v := witnessOf(s); (v == nil || !answered[v]) && !hasSig(after.Sigs, s) {
				t.Fatalf("line %q was dropped", s.Line())
			}
		}
	})
}

func hasSig(sigs []Signature, s Signature) bool {
	for _, x := range sigs {
		if x.Name == s.Name && x.KeyHash == s.KeyHash && bytes.Equal(x.Sig, s.Sig) {
			return true
		}
	}
	return false
}
