package epcis

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func shared(t *testing.T) string {
	t.Helper()
	dir := filepath.Join("..", "..", "..", "shared", "standards")
	if _, err := os.Stat(filepath.Join(dir, "epcis-json-schema.json")); err != nil {
		t.Skipf("the shared standards are not here (%v)", err)
	}
	return dir
}

func TestEmbeddedSchemaIsGS1s(t *testing.T) {
	sum := sha256.Sum256(Schema())
	if got := hex.EncodeToString(sum[:]); got != SchemaSHA256 {
		t.Errorf("embedded schema SHA-256 %s, NOTICE says %s", got, SchemaSHA256)
	}
	notice, err := os.ReadFile("NOTICE")
	if err != nil || !strings.Contains(string(notice), SchemaSHA256) {
		t.Errorf("NOTICE does not record the schema's hash (%v)", err)
	}
	raw, err := os.ReadFile(filepath.Join(shared(t), "epcis-json-schema.json"))
	if err != nil {
		t.Fatal(err)
	}
	if string(raw) != string(Schema()) {
		t.Error("the embedded schema differs from the shared copy")
	}
}

// TestCorpus runs the peer's capture corpus: every valid document passes,
// every invalid one fails with at least one problem, each with a detail.
func TestCorpus(t *testing.T) {
	dir := filepath.Join(shared(t), "openepcis-capture")
	for _, kind := range []string{"valid", "invalid"} {
		files, _ := filepath.Glob(filepath.Join(dir, kind, "*.json"))
		if len(files) == 0 {
			t.Fatalf("no %s documents", kind)
		}
		for _, f := range files {
			t.Run(kind+"/"+filepath.Base(f), func(t *testing.T) {
				raw, err := os.ReadFile(f)
				if err != nil {
					t.Fatal(err)
				}
				problems, err := Default().Validate(raw)
				if err != nil {
					t.Fatal(err)
				}
				if (kind == "valid") != (len(problems) == 0) {
					t.Fatalf("%d problems: %v", len(problems), problems)
				}
				for _, p := range problems {
					if p.Detail == "" || p.Pointer != "" && !strings.HasPrefix(p.Pointer, "/") {
						t.Errorf("problem %+v", p)
					}
				}
			})
		}
	}
}

// TestProblems pins how problems read: at the member's pointer, with
// alternatives folded into one, and the schema's ECMAScript lookahead
// patterns applied.
func TestProblems(t *testing.T) {
	doc := func(event string) string {
		return `{"@context":["https://ref.gs1.org/standards/epcis/2.0.0/epcis-context.jsonld"],"type":"EPCISDocument","schemaVersion":"2.0",` +
			`"creationDate":"2025-08-15T10:00:00+07:00","epcisBody":{"eventList":[` + event + `]}}`
	}
	const ok = `"type":"ObjectEvent","eventTime":"2025-08-15T06:30:00+07:00","eventTimeZoneOffset":"+07:00","action":"ADD","epcList":["https://id.example.vn/01/08931234567897/10/L1"]`
	tests := []struct {
		name, doc, pointer, says string
	}{
		{"CBV namespace (lookahead)", doc(`{` + ok + `,"bizStep":"urn:epcglobal:cbv:bizstep:harvesting"}`), "/epcisBody/eventList/0/bizStep", "GS1's CBV namespace"},
		{"neither name nor URI", doc(`{` + ok + `,"bizStep":"harvesting"}`), "/epcisBody/eventList/0/bizStep", `"harvesting" is neither a standard value`},
		{"offset", doc(`{` + strings.Replace(ok, "+07:00\",\"action", "+7\",\"action", 1) + `}`), "/epcisBody/eventList/0/eventTimeZoneOffset", "pattern"},
		{"date-time format", doc(`{` + strings.Replace(ok, "2025-08-15T06:30:00+07:00", "15/08/2025", 1) + `}`), "/epcisBody/eventList/0/eventTime", "RFC 3339"},
		{"uri format", doc(`{` + ok + `,"readPoint":{"id":"ruộng 7"}}`), "/epcisBody/eventList/0/readPoint/id", "absolute URI"},
		{"member without namespace", doc(`{` + ok + `,"ghiChu":"x"}`), "/epcisBody/eventList/0/ghiChu", "namespaced"},
		{"pointer escaping", doc(`{` + ok + `,"ilmd":{"a/b~c":1}}`), "/epcisBody/eventList/0/ilmd/a~1b~0c", "namespaced"},
		{"not an object", `[]`, "", "want object"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			problems, err := Default().Validate([]byte(tc.doc))
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range problems {
				if p.Pointer == tc.pointer && strings.Contains(p.Detail, tc.says) {
					return
				}
			}
			t.Errorf("no problem at %q saying %q: %v", tc.pointer, tc.says, problems)
		})
	}
	if _, err := Default().Validate([]byte(`{`)); err == nil {
		t.Error("truncated JSON accepted")
	}
}
