package label

import (
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
)

func TestSignature(t *testing.T) {
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	link := testLink(t, "ST25/08&A+1")
	msg, err := LinkSignatureMessage(link)
	if err != nil {
		t.Fatal(err)
	}
	want := "truyxuat label signature v1\n01=08931234567897\n10=ST25/08&A+1\n7007=250815\n"
	if string(msg) != want {
		t.Fatalf("message %q, want %q", msg, want)
	}
	signed, err := AddSignature(link, ed25519.Sign(priv, msg))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := link.Param(SignatureParam); ok {
		t.Error("AddSignature changed its argument")
	}
	uri, err := signed.URI(testBase)
	if err != nil {
		t.Fatal(err)
	}
	s, _ := signed.Param(SignatureParam)
	if len(s) != 86 || strings.ContainsAny(s, "+/=") || !strings.HasSuffix(uri, "&s="+s) {
		t.Errorf("signature parameter %q in %s: want 86 characters of unpadded base64url at the end", s, uri)
	}

	// A verifier with only the scanned link and the public key.
	scanned, err := trace.ParseDigitalLink(uri)
	if err != nil {
		t.Fatal(err)
	}
	if err := VerifySignature(scanned, pub); err != nil {
		t.Errorf("genuine link: %v", err)
	}
	// A serial added later does not break it: one signature per lot.
	withSerial := scanned
	withSerial.Serial = "K7Q2M9P3XZ4D"
	if err := VerifySignature(withSerial, pub); err != nil {
		t.Errorf("link with a serial: %v", err)
	}
	// Re-signing replaces the old signature rather than adding another.
	again, err := AddSignature(signed, ed25519.Sign(priv, msg))
	if err != nil || strings.Count(again.RawQuery(), "s=") != 1 {
		t.Errorf("re-signed query %q, %v", again.RawQuery(), err)
	}

	tamper := []struct {
		name string
		edit func(*trace.DigitalLink)
	}{
		{"other lot", func(d *trace.DigitalLink) { d.Lot = "ST25/08&A+2" }},
		{"other GTIN", func(d *trace.DigitalLink) { d.GTIN = "05412345000013" }},
		{"other harvest date", func(d *trace.DigitalLink) { d.SetAttribute("7007", "250816") }},
		{"flipped signature", func(d *trace.DigitalLink) {
			s, _ := d.Param(SignatureParam)
			b := []byte(s)
			if b[10] == 'A' {
				b[10] = 'B'
			} else {
				b[10] = 'A'
			}
			d.SetParam(SignatureParam, string(b))
		}},
	}
	for _, tc := range tamper {
		t.Run(tc.name, func(t *testing.T) {
			d := scanned
			d.Attributes = append([]trace.AIValue(nil), scanned.Attributes...)
			d.Params = append([]trace.QueryParam(nil), scanned.Params...)
			tc.edit(&d)
			if err := VerifySignature(d, pub); !errors.Is(err, trace.ErrVerification) {
				t.Errorf("tampered link: error %v, want trace.ErrVerification", err)
			}
		})
	}
	other, _, _ := ed25519.GenerateKey(nil)
	if err := VerifySignature(scanned, other); !errors.Is(err, trace.ErrVerification) {
		t.Errorf("wrong key: %v", err)
	}
	if err := VerifySignature(link, pub); !errors.Is(err, ErrNoSignature) {
		t.Errorf("unsigned link: %v", err)
	}
	if _, err := AddSignature(link, make([]byte, 10)); err == nil {
		t.Error("short signature accepted")
	}
	noHarvest := link
	noHarvest.Attributes = nil
	if _, err := AddSignature(noHarvest, make([]byte, 64)); err == nil || !strings.Contains(err.Error(), "harvest date") {
		t.Errorf("link without 7007: %v", err)
	}
	if _, err := SignatureMessage("8931234567897", "L1", "250815"); err == nil {
		t.Error("GTIN-13 accepted")
	}
	if _, err := SignatureMessage("08931234567897", "L1", "251315"); err == nil {
		t.Error("month 13 accepted")
	}
}

// TestSignedLabelScans prints a signed link on the labels big enough for
// it and checks a phone reads it whole.
func TestSignedLabelScans(t *testing.T) {
	_, priv, _ := ed25519.GenerateKey(nil)
	link := testLink(t, "ST25/08&A+1")
	msg, _ := LinkSignatureMessage(link)
	signed, err := AddSignature(link, ed25519.Sign(priv, msg))
	if err != nil {
		t.Fatal(err)
	}
	c := rice(t)
	c.URI, _ = signed.URI(testBase)
	layout, _ := SheetLayoutByName("a4-3x8")
	var b strings.Builder
	if err := WritePDF(&b, layout, Job{Count: 1, Item: Repeat(c)}); err != nil {
		t.Fatal(err)
	}
	pages := pdfPages(t, []byte(b.String()))
	checkPage(t, pages[0], layout, []string{c.URI})
}

func TestNewSerial(t *testing.T) {
	seen := map[string]bool{}
	for range 2000 {
		s, err := NewSerial()
		if err != nil {
			t.Fatal(err)
		}
		if len(s) != SerialLen || strings.Trim(s, serialAlphabet) != "" {
			t.Fatalf("serial %q: want %d characters of %s", s, SerialLen, serialAlphabet)
		}
		if err := trace.ValidateSerial(s); err != nil {
			t.Fatalf("serial %q: %v", s, err)
		}
		if seen[s] {
			t.Fatalf("serial %q repeated", s)
		}
		seen[s] = true
	}
	// Every symbol turns up: the alphabet is used uniformly enough.
	counts := map[rune]int{}
	for s := range seen {
		for _, r := range s {
			counts[r]++
		}
	}
	if len(counts) != len(serialAlphabet) {
		t.Errorf("%d of %d symbols used", len(counts), len(serialAlphabet))
	}
}

func TestSerials(t *testing.T) {
	link := testLink(t, "ST25/08&A+1")
	next := Serials(testBase, link, rice(t))
	a, err := next(0)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := next(1)
	if a.Serial == b.Serial || a.URI == b.URI {
		t.Fatalf("two labels share serial %s", a.Serial)
	}
	d, err := trace.ParseDigitalLink(a.URI)
	if err != nil || d.Serial != a.Serial || d.Lot != link.Lot {
		t.Errorf("label URI %s parses to %+v, %v", a.URI, d, err)
	}
	if link.Serial != "" {
		t.Error("Serials changed the link it was given")
	}
	if _, err := Serials(testBase, trace.DigitalLink{GLN: "8931234000011"}, rice(t))(0); err == nil {
		t.Error("serials without a GTIN accepted")
	}
}
