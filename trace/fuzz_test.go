package trace

import (
	"bytes"
	"crypto/ed25519"
	"encoding/hex"
	"encoding/json"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// Fuzz targets for the parsers of trace that read outside input: numbers,
// times, dates and certification URIs from clients and partners' EPCIS
// documents, and signed registry records and lot facts from other servers.
// Each checks what the parser promises (round trips, its own Validate, an
// independent reading of the same rule), not only that it does not panic.
// The seeds run as ordinary tests; go test -fuzz runs them longer.

// goldenVectors reads pinned canonical bytes, signatures and keys.
func goldenVectors(tb testing.TB, name string) []golden {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		tb.Fatal(err)
	}
	var v []golden
	if err := json.Unmarshal(b, &v); err != nil {
		tb.Fatal(err)
	}
	return v
}

// plainDecimal is the rule ParseDecimal documents, written independently:
// digits, optionally a point and more digits.
var plainDecimal = regexp.MustCompile(`^[0-9]+(\.[0-9]+)?$`)

func FuzzParseDecimal(f *testing.F) {
	for _, s := range []string{"0", "1250", "1180.5", "0.000", "007.50", "1.", ".5", "-1", "1e3", "1E3", "+1", "1,5", " 1", "1_000",
		"123456789012345678901234", "1234567890123456789012345", "0.00000000000000000000001", "٣", "1.2.3", "0x1p3", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseDecimal(s)
		digits := len(strings.ReplaceAll(s, ".", ""))
		want := plainDecimal.MatchString(s) && digits <= MaxDecimalDigits
		if (err == nil) != want {
			t.Fatalf("ParseDecimal(%q) = %q, %v; the documented rule says accepted=%v", s, d, err, want)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseDecimal(%q): empty error", s)
			}
			return
		}
		if err := d.Validate(); err != nil {
			t.Fatalf("ParseDecimal(%q) = %q, which does not validate: %v", s, d, err)
		}
		if again, err := ParseDecimal(string(d)); err != nil || again != d {
			t.Fatalf("canonical %q parses to %q, %v", d, again, err)
		}
		exact, ok := new(big.Rat).SetString(s)
		if !ok || exact.Cmp(d.Rat()) != 0 {
			t.Fatalf("ParseDecimal(%q) = %q changed the value", s, d)
		}
		if d.IsZero() != (exact.Sign() == 0) {
			t.Fatalf("%q: IsZero %v", d, d.IsZero())
		}
		// JSON carries the same decimal, as a number or a string.
		j, err := d.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range [][]byte{j, []byte(`"` + s + `"`)} {
			var back Decimal
			if err := back.UnmarshalJSON(in); err != nil || back != d {
				t.Fatalf("UnmarshalJSON(%s) = %q, %v; want %q", in, back, err, d)
			}
		}
	})
}

// eventTimeSeeds are event times and offsets: the golden events' and the
// edges of the rules.
func eventTimeSeeds(f *testing.F) {
	for _, e := range sampleEvents() {
		f.Add(e.EventTime, e.EventTimeZoneOffset)
	}
	for _, p := range [][2]string{
		{"2025-08-15T06:30:00+07:00", "+07:00"}, {"2025-08-15T06:30:00.5+07:00", "+07:00"},
		{"2025-08-15T06:30:00.500+07:00", "+07:00"}, {"2025-08-15T06:30:00Z", "+00:00"},
		{"2025-08-15T06:30:00+00:00", "+00:00"}, {"2025-08-15T06:30:00-00:00", "-00:00"},
		{"2025-08-15T06:30:00,5+07:00", "+07:00"}, {"2025-08-15t06:30:00+07:00", "+07:00"},
		{"2016-12-31T23:59:60Z", "+00:00"}, {"1989-12-31T23:59:59+07:00", "+07:00"},
		{"1990-01-01T00:00:00-12:00", "-12:00"}, {"2200-12-31T23:59:59.999999999+14:00", "+14:00"},
		{"2025-08-15T06:30:00+05:45", "+05:45"}, {"2025-08-15T06:30:00+07:17", "+07:17"},
		{"2025-08-15T06:30:00+24:00", "+24:00"}, {"2025-02-29T06:30:00+07:00", "+07:00"},
		{"2025-08-15 06:30:00+07:00", "+07:00"}, {"2025-08-15T06:30+07:00", "+07:00"},
	} {
		f.Add(p[0], p[1])
	}
}

func FuzzParseEventTime(f *testing.F) {
	eventTimeSeeds(f)
	f.Fuzz(func(t *testing.T, eventTime, offset string) {
		tm, err := ParseEventTime(eventTime, offset)
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || (fe.Field != "eventTime" && fe.Field != "eventTimeZoneOffset") || fe.Reason == "" {
				t.Fatalf("ParseEventTime(%q, %q): error %v (%T) is not a field error of eventTime or its offset", eventTime, offset, err, err)
			}
			return
		}
		// Accepted values are in canonical form: they format back
		// identically and read the same as Go reads RFC 3339.
		if et, off := FormatEventTime(tm); et != eventTime || off != offset {
			t.Fatalf("ParseEventTime(%q, %q) formats back as %q, %q", eventTime, offset, et, off)
		}
		ref, err := time.Parse(time.RFC3339Nano, eventTime)
		if err != nil || !ref.Equal(tm) {
			t.Fatalf("ParseEventTime(%q) = %v; time.Parse gives %v, %v", eventTime, tm, ref, err)
		}
		if y := tm.Year(); y < 1990 || y > 2200 {
			t.Fatalf("ParseEventTime(%q) accepted year %d", eventTime, y)
		}
		again, err := ParseEventTime(eventTime, offset)
		if err != nil || !again.Equal(tm) {
			t.Fatalf("second parse of %q: %v, %v", eventTime, again, err)
		}
	})
}

// zoneOffsetInUse is the rule ParseZoneOffset documents, written
// independently: ±hh:mm between -12:00 and +14:00, minutes 00, 30 or 45,
// zero written +00:00.
func zoneOffsetInUse(s string) bool {
	if len(s) != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':' || s == "-00:00" {
		return false
	}
	for _, i := range []int{1, 2, 4, 5} {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	h := int(s[1]-'0')*10 + int(s[2]-'0')
	m := int(s[4]-'0')*10 + int(s[5]-'0')
	if m != 0 && m != 30 && m != 45 {
		return false
	}
	minutes := h*60 + m
	if s[0] == '-' {
		return minutes <= 12*60
	}
	return minutes <= 14*60
}

func FuzzParseZoneOffset(f *testing.F) {
	for _, s := range []string{"+07:00", "+00:00", "-00:00", "+05:30", "+05:45", "-09:30", "-12:00", "-12:30", "+14:00", "+14:45",
		"+07:17", "+7:00", "07:00", "+0700", "Z", "+-1:00", "++1:00", "+ 7:00", "+07:0 ", "+07:60", "+99:99", "+٠٧:00", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		loc, err := ParseZoneOffset(s)
		if want := zoneOffsetInUse(s); (err == nil) != want {
			t.Fatalf("ParseZoneOffset(%q) = %v, %v; the documented rule says accepted=%v", s, loc, err, want)
		}
		if err != nil {
			if err.Error() == "" {
				t.Fatalf("ParseZoneOffset(%q): empty error", s)
			}
			return
		}
		// A time in that zone is written with exactly that offset, and
		// ParseEventTime accepts it.
		tm := time.Date(2025, 8, 15, 6, 30, 0, 0, loc)
		et, off := FormatEventTime(tm)
		if off != s {
			t.Fatalf("ParseZoneOffset(%q) gives a zone written %q", s, off)
		}
		if back, err := ParseEventTime(et, off); err != nil || !back.Equal(tm) {
			t.Fatalf("ParseEventTime(%q, %q) = %v, %v", et, off, back, err)
		}
	})
}

func FuzzParseGS1Date(f *testing.F) {
	for _, s := range []string{"250815", "251200", "250200", "240229", "250229", "000229", "990229", "251301", "250001", "250832",
		"250431", "2508150", "25081", "25-8-1", "２５０８１５", "", "991231", "000101"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		d, err := ParseGS1Date(s)
		// Go's own calendar, for a YYMMDD with a day: the same years
		// modulo 100 have the same leap days (1969–1999 or 2000–2068 as
		// Go reads them, 2000–2099 as GS1 does).
		digits := len(s) == 6 && dlIsDigits(s)
		if digits && s[4:] != "00" {
			_, perr := time.Parse("060102", s)
			if (err == nil) != (perr == nil) {
				t.Fatalf("ParseGS1Date(%q) = %v, %v; time.Parse says %v", s, d, err, perr)
			}
		}
		if err != nil {
			var fe *FieldError
			if !errors.As(err, &fe) || fe.Reason == "" {
				t.Fatalf("ParseGS1Date(%q): error %v (%T) is not a field error", s, err, err)
			}
			return
		}
		if !digits {
			t.Fatalf("ParseGS1Date accepted %q", s)
		}
		if d.Location() != time.UTC || d.Hour() != 0 || d.Minute() != 0 || d.Second() != 0 || d.Nanosecond() != 0 || d.Year() < 2000 || d.Year() > 2099 {
			t.Fatalf("ParseGS1Date(%q) = %v, not a UTC midnight in 2000–2099", s, d)
		}
		out := FormatGS1Date(d)
		if s[4:] == "00" {
			// Month only: the last day of that month.
			if out[:4] != s[:4] || d.AddDate(0, 0, 1).Day() != 1 {
				t.Fatalf("ParseGS1Date(%q) = %v (%s), not the last day of the month", s, d, out)
			}
		} else if out != s {
			t.Fatalf("ParseGS1Date(%q) formats back as %q", s, out)
		}
		if again, err := ParseGS1Date(out); err != nil || !again.Equal(d) {
			t.Fatalf("ParseGS1Date(%q) = %v, %v; want %v", out, again, err, d)
		}
	})
}

func FuzzParseCertificationURI(f *testing.F) {
	for _, c := range sampleEvents()[0].Certifications {
		f.Add(CertificationURI(c))
	}
	for _, s := range []string{
		CertificationURI(Certification{Scheme: "https://cert.example.org/organic/", ID: "HC 118/2025"}),
		CertificationBase + "vietgap/VG%2D0123", CertificationBase + "vietgap/vg%zz", CertificationBase + "vietgap/",
		CertificationBase + "/VG1", CertificationBase + "vietgap/a/b", CertificationBase + "vi%C3%AAt/%FF", CertificationBase + "a%2Fb/c",
		"https://truyxuat.vn/voc/cert", "urn:example:cert:123", "",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, uri string) {
		c, ok := ParseCertificationURI(uri)
		if !ok {
			if c != (Certification{}) {
				t.Fatalf("ParseCertificationURI(%q) refused but returned %+v", uri, c)
			}
			return
		}
		if c.Scheme == "" || c.ID == "" || !strings.HasPrefix(uri, CertificationBase) {
			t.Fatalf("ParseCertificationURI(%q) = %+v", uri, c)
		}
		// The URI truyxuat writes for it reads back the same, is stable,
		// and is what the URI was when that was already canonical.
		out := CertificationURI(c)
		back, ok := ParseCertificationURI(out)
		if !ok || back != c {
			t.Fatalf("CertificationURI(%+v) = %q reads back as %+v, %v", c, out, back, ok)
		}
		if CertificationURI(back) != out {
			t.Fatalf("CertificationURI is not stable for %+v", c)
		}
		for i := 0; i < len(out); i++ {
			if out[i] <= ' ' || out[i] >= 0x7f {
				t.Fatalf("CertificationURI(%+v) = %q is not printable ASCII", c, out)
			}
		}
		if !strings.Contains(uri, "%") && out != uri && strings.IndexFunc(uri[len(CertificationBase):], func(r rune) bool {
			return r != '/' && (r >= 0x80 || !dlUnreserved(byte(r)))
		}) < 0 {
			t.Fatalf("canonical %q was rewritten as %q", uri, out)
		}
		// A partner's certificationInfo of this form maps the same way.
		if got, ok := certificationFromURI(uri); !ok || got != c {
			t.Fatalf("certificationFromURI(%q) = %+v, %v; want %+v", uri, got, ok, c)
		}
	})
}

func FuzzDecodeRecord(f *testing.F) {
	for _, g := range goldenVectors(f, "records-v1.json") {
		f.Add([]byte(g.Canonical))
	}
	for _, g := range goldenVectors(f, "events-v1.json") {
		f.Add([]byte(g.Canonical))
	}
	f.Add([]byte(`{"cooperative":"c","id":"c","kind":"cooperative","seq":0,"time":"2025-08-01T08:00:00+07:00","v":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := DecodeRecord(b)
		if err != nil {
			if !strings.HasPrefix(err.Error(), "decode record: ") {
				t.Fatalf("DecodeRecord error %q does not say what failed", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			t.Fatalf("decoded record does not validate: %v", err)
		}
		again, err := r.Encode()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("decode→encode changed the bytes:\n in %q\nout %q (%v)", b, again, err)
		}
		// Record bytes are never an event's.
		if e, err := Decode(b); err == nil {
			t.Fatalf("record bytes %q also decode as event %+v", b, e)
		}
		// A decoded record carries only its kind's fields.
		allowed := RecordFields(r.Kind)
		for k := range r.Fields {
			if !contains(allowed, k) {
				t.Fatalf("record of kind %s has field %q", r.Kind, k)
			}
		}
	})
}

func FuzzOpenRecord(f *testing.F) {
	type triple struct{ body, sig, signer []byte }
	var valid []triple
	for _, g := range goldenVectors(f, "records-v1.json") {
		sig, _ := hex.DecodeString(g.Signature)
		pub, _ := hex.DecodeString(g.Signer)
		valid = append(valid, triple{[]byte(g.Canonical), sig, pub})
		f.Add([]byte(g.Canonical), sig, pub)
	}
	// Mismatched pairs: a revision's signature on another's bytes.
	f.Add(valid[0].body, valid[1].sig, valid[0].signer)
	f.Add(valid[0].body, valid[0].sig, valid[0].signer[:31])
	f.Fuzz(func(t *testing.T, body, sig, signer []byte) {
		sr, err := OpenRecord(body, sig, signer)
		if err != nil {
			var ve *VerifyError
			if !errors.As(err, &ve) || !errors.Is(err, ErrVerification) {
				t.Fatalf("OpenRecord error %v (%T) is not a *VerifyError", err, err)
			}
			_, derr := DecodeRecord(body)
			switch {
			case derr != nil && ve.Reason != ReasonMalformed:
				t.Fatalf("malformed bytes (%v) reported as %s", derr, ve.Reason)
			case derr == nil && ve.Reason != ReasonBadSignature:
				t.Fatalf("well-formed bytes with a bad signature reported as %s", ve.Reason)
			case ve.Hash != HashEvent(body).String():
				t.Fatalf("error names hash %s", ve.Hash)
			}
			return
		}
		if !bytes.Equal(sr.Body, body) || sr.Hash != HashEvent(body) || !ed25519.Verify(signer, body, sig) {
			t.Fatalf("OpenRecord accepted %q with a signature that does not verify", body)
		}
		if again, err := sr.Record.Encode(); err != nil || !bytes.Equal(again, body) {
			t.Fatalf("opened record re-encodes as %q, %v", again, err)
		}
		// Without the signing key, only the signed bytes themselves open:
		// any change to bytes, signature or key is detected.
		for _, v := range valid {
			if bytes.Equal(v.body, body) && bytes.Equal(v.sig, sig) && bytes.Equal(v.signer, signer) {
				return
			}
		}
		t.Fatalf("OpenRecord accepted bytes, signature and key that nobody signed:\n%q\n%x\n%x", body, sig, signer)
	})
}

// factsSeeds are the canonical bytes of lots' facts records of every
// shape: a first registration and a restatement, with and without a GTIN,
// a plot, a harvest date and certificates.
func factsSeeds(f *testing.F) {
	ict := time.FixedZone("ICT", 7*3600)
	p := &Product{ID: "gao-st25", GTIN: "08936040001016", NameVI: "Gạo ST25", NameEN: "ST25 rice", Category: "Lúa gạo"}
	full := &Batch{ID: "b1", CooperativeID: "htx", ProductID: p.ID, Lot: "ST25-2508/A",
		Quantity: Quantity{Value: "6200", Unit: "KGM"}, HarvestDate: "2025-08-15",
		Plot:           &Plot{Name: "Ruộng số 7", Lat: 9.602, Lon: 105.97},
		Certifications: []Certification{{Scheme: "vietgap", ID: "VG-0123"}}}
	bare := &Batch{ID: "b2", CooperativeID: "htx", ProductID: "ca-phe", Lot: "CF-01", Quantity: Quantity{Value: "0.5", Unit: "TNE"}}
	for i, fc := range []*LotFacts{FactsOf(full, p), FactsOf(bare, &Product{NameVI: "Cà phê"})} {
		for _, first := range []bool{true, false} {
			e := fc.Event("htx", "b1", first, time.Date(2025, 8, 20+i, 9, 0, 0, 0, ict))
			if !first {
				e.Seq, e.Prev = 1, mustHash("registration")
			}
			se, err := Prepare(e)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(se.Body)
		}
	}
	for _, g := range goldenVectors(f, "events-v1.json") {
		f.Add([]byte(g.Canonical))
	}
}

func FuzzLotFactsOf(f *testing.F) {
	factsSeeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		e, err := Decode(b)
		if err != nil {
			return
		}
		fc, err := LotFactsOf(e)
		if err != nil {
			if IsLotFacts(e) {
				var ve *ValidationError
				if !errors.As(err, &ve) || len(ve.Fields) == 0 {
					t.Fatalf("LotFactsOf: error %v (%T) lists no fields", err, err)
				}
			}
			return
		}
		if !IsLotFacts(e) {
			t.Fatalf("LotFactsOf read facts from an event that is not a facts record: %+v", e)
		}
		// What LotFactsOf promises of the facts it returns.
		if !ValidID(fc.Product) || fc.ProductName == "" || ValidateLot(fc.Lot) != nil ||
			(fc.GTIN != "" && ValidateGTIN14(fc.GTIN) != nil) || (fc.Plot != nil && fc.Plot.Validate() != nil) {
			t.Fatalf("LotFactsOf returned facts that break its rules: %+v", fc)
		}
		if fc.Quantity != *e.Quantity {
			t.Fatalf("facts quantity %+v, event's %+v", fc.Quantity, *e.Quantity)
		}
		fields := fc.Fields()
		if fields["quantity"] != string(fc.Quantity.Value)+" "+fc.Quantity.Unit || fields["lot"] != fc.Lot {
			t.Fatalf("Fields() = %v for %+v", fields, fc)
		}
		// Stated again, as a restatement is signed, the facts read back
		// the same, from bytes that decode.
		again := fc.Event(e.Cooperative, e.Batch, e.Action == "ADD", e.Time())
		again.Seq, again.Prev = e.Seq, e.Prev
		if err := again.validate(false); err != nil {
			t.Fatalf("facts %+v restated as an event that does not validate: %v", fc, err)
		}
		back, err := Decode(again.appendCanonical(nil))
		if err != nil {
			t.Fatalf("restated facts do not decode: %v", err)
		}
		got, err := LotFactsOf(back)
		if err != nil || !reflect.DeepEqual(got, fc) {
			t.Fatalf("facts changed when restated:\n got %+v, %v\nwant %+v", got, err, fc)
		}
	})
}
