package trace

import (
	"bytes"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// testSigner is a fixed key so that signatures in testdata are stable
// (Ed25519 signatures are deterministic).
func testSigner(t testing.TB, b byte) *Signer {
	t.Helper()
	s, err := NewSigner(bytes.Repeat([]byte{b}, SeedSize))
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustHash(s string) Hash {
	h := sha256.Sum256([]byte(s))
	return h
}

// sampleEvents is a small history that uses every member of the canonical
// form at least once.
func sampleEvents() []*Event {
	harvest := &Event{
		Type: ObjectEvent, Cooperative: "htx-my-xuyen", Batch: "st25-2025-08",
		Action: "ADD", BizStep: "commissioning", Disposition: "active",
		EventTime: "2025-08-15T06:30:00+07:00", EventTimeZoneOffset: "+07:00",
		ReadPoint:   "https://trace.example.vn/414/8931234000011/254/PLOT-07",
		BizLocation: "https://trace.example.vn/414/8931234000011",
		Quantity:    &Quantity{Value: "1250", Unit: "KGM"},
		ILMD:        &ILMD{HarvestDate: "2025-08-15", ExpiryDate: "2026-08-15", CountryOfOrigin: "VN"},
		Certifications: []Certification{
			{Scheme: "vietgap", ID: "VG-0123"},
			{Scheme: "ocop", ID: "OCOP-ST-2024-17"},
		},
		Note:        "Gặt bằng máy, trời nắng. \"Quote\" \\ <tag> & \u2028 tab\there\nline",
		Attachments: []Attachment{{SHA256: mustHash("photo"), MediaType: "image/jpeg", Name: "ruộng.jpg"}},
		Data:        map[string]string{"moisture": "14.5", "machine": "Kubota DC-70"},
	}
	drying := &Event{
		Type: ObjectEvent, Cooperative: "htx-my-xuyen", Batch: "st25-2025-08", Seq: 1,
		Action: "OBSERVE", BizStep: "https://trace.example.vn/voc/bizstep/drying", Disposition: "in_progress",
		EventTime: "2025-08-16T08:00:00.25+07:00", EventTimeZoneOffset: "+07:00",
		Quantity: &Quantity{Value: "1180.5", Unit: "KGM"},
	}
	packing := &Event{
		Type: AggregationEvent, Cooperative: "htx-my-xuyen", Batch: "st25-2025-08", Seq: 2,
		Action: "ADD", BizStep: "packing", Disposition: "in_progress",
		EventTime: "2025-08-17T01:00:00Z", EventTimeZoneOffset: "+00:00",
		ParentID: "https://trace.example.vn/00/389312340000000012",
	}
	packing.EventTime = "2025-08-17T01:00:00+00:00"
	merge := &Event{
		Type: TransformationEvent, Cooperative: "htx-my-xuyen", Batch: "st25-mix-01", Seq: 0,
		BizStep: "https://trace.example.vn/voc/bizstep/milling", Disposition: "active",
		EventTime: "2025-08-20T10:00:00+07:00", EventTimeZoneOffset: "+07:00",
		Inputs: []Input{
			{Batch: "st25-2025-08", Hash: mustHash("head-a"), Quantity: &Quantity{Value: "600", Unit: "KGM"}},
			{Batch: "st25-2025-09", Hash: mustHash("head-b"), Quantity: &Quantity{Value: "400", Unit: "KGM"}},
		},
		Outputs: []Output{{Batch: "st25-mix-01", Quantity: &Quantity{Value: "950", Unit: "KGM"}}},
		Loss:    &Quantity{Value: "50", Unit: "KGM"},
	}
	return []*Event{harvest, drying, packing, merge}
}

// signChain signs events as one batch's chain, linking each to the last.
func signChain(t testing.TB, s *Signer, events []*Event) []*SignedEvent {
	t.Helper()
	var out []*SignedEvent
	var prev Hash
	for i, e := range events {
		e.Seq = uint64(i)
		e.Prev = prev
		se, err := s.Sign(e)
		if err != nil {
			t.Fatalf("sign event %d: %v", i, err)
		}
		prev = se.Hash
		out = append(out, se)
	}
	return out
}

type golden struct {
	Canonical string `json:"canonical"`
	Hash      string `json:"hash"`
	Signature string `json:"signature"`
	Signer    string `json:"signer"`
}

// TestGolden pins canonical bytes, hashes and signatures. They must never
// change: run with -update only when adding vectors, never to paper over a
// change in the encoding.
func TestGolden(t *testing.T) {
	s := testSigner(t, 7)
	evs := sampleEvents()
	chain := signChain(t, s, evs[:3])
	merge, err := s.Sign(evs[3])
	if err != nil {
		t.Fatal(err)
	}
	all := append(chain, merge)
	var got []golden
	for _, se := range all {
		got = append(got, golden{
			Canonical: string(se.Body),
			Hash:      se.Hash.String(),
			Signature: hex.EncodeToString(se.Signature),
			Signer:    hex.EncodeToString(se.Signer),
		})
	}
	path := filepath.Join("testdata", "events-v1.json")
	if *update {
		b, _ := json.MarshalIndent(got, "", "  ")
		if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test ./trace -run TestGolden -update once to create it)", err)
	}
	var want []golden
	if err := json.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	if len(want) != len(got) {
		t.Fatalf("golden has %d vectors, code makes %d", len(want), len(got))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("vector %d drifted:\n got %+v\nwant %+v", i, got[i], want[i])
		}
		// The pinned bytes must still decode and verify.
		sig, _ := hex.DecodeString(want[i].Signature)
		pub, _ := hex.DecodeString(want[i].Signer)
		se, err := OpenEvent([]byte(want[i].Canonical), sig, pub)
		if err != nil {
			t.Errorf("vector %d: %v", i, err)
			continue
		}
		if se.Hash.String() != want[i].Hash {
			t.Errorf("vector %d: hash %s, pinned %s", i, se.Hash, want[i].Hash)
		}
	}
}

// TestCanonicalMatchesSortedJSON cross-checks the hand-written encoder with
// encoding/json, which sorts map keys: for events without exotic
// characters both must give the same bytes.
func TestCanonicalMatchesSortedJSON(t *testing.T) {
	for i, e := range sampleEvents()[1:] {
		if i == 2 {
			e.Seq = 0
		} else {
			e.Prev = mustHash("x")
		}
		b, err := e.Encode()
		if err != nil {
			t.Fatal(err)
		}
		var m map[string]any
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.UseNumber()
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(m); err != nil {
			t.Fatal(err)
		}
		if got := bytes.TrimSuffix(buf.Bytes(), []byte("\n")); !bytes.Equal(got, b) {
			t.Errorf("event %d:\ncanonical %s\nsorted    %s", i, b, got)
		}
	}
}

func TestDecodeRejectsNonCanonical(t *testing.T) {
	e := sampleEvents()[1]
	e.Seq, e.Prev = 0, Hash{}
	b, err := e.Encode()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := Decode(b); err != nil {
		t.Fatalf("canonical bytes rejected: %v", err)
	}
	s := string(b)
	cases := map[string]string{
		"space":          strings.Replace(s, `,"bizStep"`, `, "bizStep"`, 1),
		"key order":      `{"bizStep":"x",` + s[1:],
		"escaped slash":  strings.Replace(s, "https://", `https:\/\/`, 1),
		"duplicate key":  strings.Replace(s, `"v":1}`, `"v":1,"v":1}`, 1),
		"unknown member": strings.Replace(s, `"v":1}`, `"v":1,"w":1}`, 1),
		"version 2":      strings.Replace(s, `"v":1}`, `"v":2}`, 1),
		"decimal zeros":  strings.Replace(s, `"1180.5"`, `"1180.50"`, 1),
		"upper case key": strings.Replace(s, `"action"`, `"Action"`, 1),
		"trailing data":  s + " ",
		"invalid utf8":   strings.Replace(s, "OBSERVE", "OBSERVE\xff", 1),
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			if in == s {
				t.Fatal("case did not change the bytes")
			}
			if _, err := Decode([]byte(in)); err == nil {
				t.Errorf("accepted %s", in)
			}
		})
	}
}

// TestFlipAnyByte flips every bit... of every byte of a stored chain (body,
// signature, signer) and expects verification to fail each time.
func TestFlipAnyByte(t *testing.T) {
	s := testSigner(t, 9)
	chain := signChain(t, s, sampleEvents()[:3])
	keys := func(string) [][]byte { return [][]byte{s.PublicKey()} }
	if err := VerifyHistory("st25-2025-08", chain, keys); err != nil {
		t.Fatalf("clean chain: %v", err)
	}
	for i, se := range chain {
		for _, part := range []struct {
			name string
			buf  *[]byte
		}{{"body", &se.Body}, {"signature", &se.Signature}, {"signer", &se.Signer}} {
			orig := *part.buf
			for j := range orig {
				for _, mask := range []byte{0x01, 0x80} {
					mod := append([]byte(nil), orig...)
					mod[j] ^= mask
					*part.buf = mod
					err := VerifyHistory("st25-2025-08", chain, keys)
					*part.buf = orig
					var ve *VerifyError
					if !errors.As(err, &ve) || ve.Index != i {
						t.Fatalf("event %d %s byte %d ^%#x: got %v, want a failure at event %d", i, part.name, j, mask, err, i)
					}
				}
			}
		}
	}
}

func TestVerifyHistoryReasons(t *testing.T) {
	s := testSigner(t, 9)
	other := testSigner(t, 10)
	keys := func(string) [][]byte { return [][]byte{s.PublicKey()} }
	fresh := func() []*SignedEvent { return signChain(t, s, sampleEvents()[:3]) }
	tests := []struct {
		name   string
		mutate func([]*SignedEvent) []*SignedEvent
		index  int
		reason VerifyReason
	}{
		{"swapped events", func(c []*SignedEvent) []*SignedEvent { c[1], c[2] = c[2], c[1]; return c }, 1, ReasonWrongOrder},
		{"dropped event", func(c []*SignedEvent) []*SignedEvent { return append(c[:1], c[2:]...) }, 1, ReasonWrongOrder},
		{"wrong hash", func(c []*SignedEvent) []*SignedEvent { c[2].Hash[0] ^= 1; return c }, 2, ReasonBadHash},
		{"unknown key", func(c []*SignedEvent) []*SignedEvent {
			ev := *c[1].Event
			se, _ := other.Sign(&ev)
			c[1] = se
			return c
		}, 1, ReasonUnknownKey},
		{"re-signed rewrite", func(c []*SignedEvent) []*SignedEvent {
			ev := *c[1].Event
			ev.Quantity = &Quantity{Value: "2000", Unit: "KGM"}
			se, _ := s.Sign(&ev)
			c[1] = se
			return c
		}, 2, ReasonBrokenLink},
		{"signature of another event", func(c []*SignedEvent) []*SignedEvent { c[1].Signature = c[0].Signature; return c }, 1, ReasonBadSignature},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := VerifyHistory("st25-2025-08", tt.mutate(fresh()), keys)
			var ve *VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("got %v, want a *VerifyError", err)
			}
			if ve.Index != tt.index || ve.Reason != tt.reason {
				t.Errorf("got event %d %q (%v), want event %d %q", ve.Index, ve.Reason, err, tt.index, tt.reason)
			}
			if !errors.Is(err, ErrVerification) {
				t.Error("error does not match ErrVerification")
			}
		})
	}
}

// FuzzDecode: whatever Decode accepts is exactly the bytes its event
// encodes to, follows the rules for signed events, and is never also a
// registry record.
func FuzzDecode(f *testing.F) {
	s := testSigner(f, 3)
	for _, se := range signChain(f, s, sampleEvents()[:3]) {
		f.Add(se.Body)
	}
	for _, g := range goldenVectors(f, "events-v1.json") {
		f.Add([]byte(g.Canonical))
	}
	f.Add([]byte(`{"seq":0,"v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "decode event: ") {
				t.Fatalf("Decode error %q does not say what failed", err)
			}
			return
		}
		if err := e.validate(false); err != nil {
			t.Fatalf("decoded event breaks the rules for signed events: %v", err)
		}
		// Encode checks the rules for new input, which an event signed
		// before a rule was added may break; its bytes are the same.
		again := e.appendCanonical(nil)
		if !bytes.Equal(again, b) {
			t.Fatalf("decode→encode changed the bytes:\n in %q\nout %q", b, again)
		}
		if enc, err := e.Encode(); err == nil && !bytes.Equal(enc, b) {
			t.Fatalf("Encode wrote %q for %q", enc, b)
		}
		if r, err := DecodeRecord(b); err == nil {
			t.Fatalf("event bytes %q also decode as record %+v", b, r)
		}
	})
}

// FuzzVerifyHistory replaces one event of a signed chain with other bytes
// and another signature: the history verifies only if they are the
// signed ones, and otherwise fails at that event.
func FuzzVerifyHistory(f *testing.F) {
	s := testSigner(f, 3)
	chain := signChain(f, s, sampleEvents()[:3])
	for i, se := range chain {
		f.Add(se.Body, se.Signature, uint8(i))
	}
	f.Add(chain[1].Body, chain[2].Signature, uint8(1))
	f.Add(chain[2].Body, chain[2].Signature, uint8(1))
	f.Add(bytes.Replace(chain[0].Body, []byte("1250"), []byte("1251"), 1), chain[0].Signature, uint8(0))
	f.Fuzz(func(t *testing.T, body, sig []byte, pos uint8) {
		c := make([]*SignedEvent, len(chain))
		for j, se := range chain {
			cp := *se
			c[j] = &cp
		}
		i := int(pos) % len(c)
		c[i] = &SignedEvent{Body: body, Hash: HashEvent(body), Signature: sig, Signer: s.PublicKey()}
		err := VerifyHistory("st25-2025-08", c, func(string) [][]byte { return [][]byte{s.PublicKey()} })
		if err == nil {
			if !bytes.Equal(body, chain[i].Body) || !ed25519.Verify(s.PublicKey(), body, sig) {
				t.Fatalf("a history verified with event %d replaced by %q", i, body)
			}
			return
		}
		var ve *VerifyError
		if !errors.As(err, &ve) || !errors.Is(err, ErrVerification) {
			t.Fatalf("error %v (%T) is not a *VerifyError", err, err)
		}
		if ve.Index != i {
			t.Fatalf("event %d was replaced, but verification failed at event %d: %v", i, ve.Index, err)
		}
	})
}
