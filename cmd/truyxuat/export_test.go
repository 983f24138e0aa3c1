package main

import (
	"bytes"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/epcis"
)

// checkEPCIS validates an exported document against the embedded schema
// and, when it is here, the shared copy of GS1's schema, then verifies
// every event on its own.
func checkEPCIS(t *testing.T, raw []byte) *trace.EPCISDocument {
	t.Helper()
	validators := []*epcis.Validator{epcis.Default()}
	if shared, err := os.ReadFile(filepath.Join("..", "..", "..", "shared", "standards", "epcis-json-schema.json")); err == nil {
		v, err := epcis.Compile(shared)
		if err != nil {
			t.Fatal(err)
		}
		validators = append(validators, v)
	}
	for _, v := range validators {
		if problems, err := v.Validate(raw); err != nil || len(problems) > 0 {
			t.Fatalf("export does not validate: %v %v\n%.2000s", err, problems, raw)
		}
	}
	var doc trace.EPCISDocument
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for i, ev := range doc.EPCISBody.EventList {
		if _, err := trace.VerifyEPCIS(ev); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	return &doc
}

func TestExportCommand(t *testing.T) {
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatalf("demo output: %v", err)
	}
	base := "http://" + m.Addr()
	coop := demo.Cooperatives[0].ID
	want := 0
	for _, b := range demo.Batches {
		if b.Cooperative == coop {
			want += b.Events
		}
	}

	// A cooperative's events, four per request, into a file.
	file := filepath.Join(t.TempDir(), "hoa-tu.jsonld")
	var errOut bytes.Buffer
	root := newRootCmd(io.Discard, &errOut)
	root.SetArgs([]string{"export", "--server", base, "--cooperative", coop, "--page-size", "4", "-o", file})
	if err := root.Execute(); err != nil {
		t.Fatalf("truyxuat export: %v", err)
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	doc := checkEPCIS(t, raw)
	if len(doc.EPCISBody.EventList) != want || want < 8 {
		t.Fatalf("%d events exported, want %d", len(doc.EPCISBody.EventList), want)
	}
	for _, ev := range doc.EPCISBody.EventList {
		if ev.Cooperative != coop {
			t.Errorf("event of cooperative %s in the export of %s", ev.Cooperative, coop)
		}
	}
	if !strings.Contains(errOut.String(), "events exported to "+file) {
		t.Errorf("stderr %q", errOut.String())
	}

	// One batch's events in a time range, to standard output.
	b := demo.Batches[0]
	var out bytes.Buffer
	root = newRootCmd(&out, io.Discard)
	root.SetArgs([]string{"export", "--server", base, "--batch", b.ID, "--from", "2000-01-01T00:00:00Z", "--to", "2100-01-01T00:00:00+07:00"})
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	doc = checkEPCIS(t, out.Bytes())
	if len(doc.EPCISBody.EventList) != b.Events {
		t.Errorf("batch export has %d events, want %d", len(doc.EPCISBody.EventList), b.Events)
	}

	// Mistakes: a time that is not RFC 3339 is refused before any request;
	// the server's refusal is reported and leaves no file.
	root = newRootCmd(io.Discard, io.Discard)
	root.SetArgs([]string{"export", "--server", base, "--from", "2025-08-01"})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "RFC 3339") {
		t.Errorf("bad --from: %v", err)
	}
	missing := filepath.Join(t.TempDir(), "none.jsonld")
	root = newRootCmd(io.Discard, io.Discard)
	root.SetArgs([]string{"export", "--server", base, "--batch", "nope", "-o", missing})
	if err := root.Execute(); err == nil || !strings.Contains(err.Error(), "404") {
		t.Errorf("unknown batch: %v", err)
	}
	if entries, _ := os.ReadDir(filepath.Dir(missing)); len(entries) != 0 {
		t.Errorf("a failed export left %v", entries)
	}
}
