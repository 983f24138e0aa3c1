package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/truyxuat/truyxuat/label"
	"github.com/truyxuat/truyxuat/trace"
)

// FuzzLabelLayouts reads any bytes as the custom label layouts file
// (label_layouts). A file it accepts holds exactly what it says — written
// back as JSON it reads the same — and its layouts print: a sheet as a
// PDF, a roll as ZPL and TSPL at 203 dpi, with a label of long text, or
// are refused for that label with a field error saying why.
func FuzzLabelLayouts(f *testing.F) {
	presets, err := json.Marshal(LabelLayouts{Sheets: label.SheetLayouts(), Rolls: label.RollLayouts()})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(presets)
	for i, sl := range label.SheetLayouts() {
		rolls := label.RollLayouts()
		b, _ := json.Marshal(LabelLayouts{Sheets: []label.SheetLayout{sl}, Rolls: rolls[i%len(rolls) : i%len(rolls)+1]})
		f.Add(b)
	}
	for _, s := range []string{
		`{"sheets":[{"name":"tanex-3x8","columns":3,"rows":8,"label_width_mm":70,"label_height_mm":37}],
		 "rolls":[{"name":"roll-60x40","width_mm":60,"height_mm":40}]}`,
		`{"sheets":[{"name":"a5-1","page_width_mm":148,"page_height_mm":210,"columns":1,"rows":1,"label_width_mm":148,"label_height_mm":210,"padding_mm":0,"min_font_pt":4,"max_font_pt":36}]}`,
		`{"sheets":[{"name":"tiny","columns":20,"rows":25,"label_width_mm":10.5,"label_height_mm":11.88,"pitch_x_mm":10.5,"pitch_y_mm":11.88}]}`,
		`{"sheets":[{"name":"edge","page_width_mm":1000,"page_height_mm":1000,"columns":1,"rows":1,"label_width_mm":1000,"label_height_mm":1000,"margin_left_mm":0,"margin_top_mm":0}]}`,
		`{"rolls":[{"name":"big","width_mm":120,"height_mm":200,"gap_mm":20,"padding_mm":0.1,"min_font_pt":4,"max_font_pt":36},{"name":"small","width_mm":30.1,"height_mm":16.2,"padding_mm":0.05}]}`,
		`{"sheets":[{"name":"x","colums":3}]}`,
		`{"sheets":[{"name":"x","columns":30,"rows":8,"label_width_mm":70,"label_height_mm":37}]}`,
		`{"sheets":[{"name":"x","columns":3,"rows":8,"label_width_mm":1e308,"label_height_mm":-0}]}`,
		`{"rolls":[{"width_mm":50,"height_mm":30,"gap_mm":-1}]}`,
		`{"sheets":null,"rolls":[]}`, `{}`, `[]`, ``,
	} {
		f.Add([]byte(s))
	}
	dir := f.TempDir()
	link, err := trace.BatchLinkURI("https://trace.example.vn", "st25-2508")
	if err != nil {
		f.Fatal(err)
	}
	content := label.Content{
		URI:         link,
		Product:     strings.Repeat("Gạo ST25 thơm Sóc Trăng ", 5),
		ProductLang: "ST25 fragrant rice, Soc Trang",
		Cooperative: "Hợp tác xã Nông nghiệp Dịch vụ Hòa Tú, Mỹ Xuyên",
		Lot:         "ST25-2508/A",
		Harvest:     time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC),
		OCOPStars:   4, Certifications: []string{"VietGAP", "GlobalG.A.P.", "Hữu cơ"},
	}
	job := label.Job{Count: 1, Item: label.Repeat(content)}
	// printed reports whether a writer either printed or refused the
	// layout for this label, saying why.
	printed := func(t *testing.T, what string, out *bytes.Buffer, err error, begins, ends string) {
		t.Helper()
		if err != nil {
			var fe *trace.FieldError
			if !errors.As(err, &fe) || !strings.HasPrefix(fe.Field, "layout") || fe.Reason == "" {
				t.Fatalf("%s: %v (%T) is not a field error of the layout", what, err, err)
			}
			return
		}
		if !bytes.HasPrefix(out.Bytes(), []byte(begins)) || !bytes.HasSuffix(bytes.TrimSpace(out.Bytes()), []byte(ends)) {
			t.Fatalf("%s: output %.40q…%q", what, out.Bytes(), out.Bytes()[max(0, out.Len()-20):])
		}
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 64<<10 {
			return
		}
		p := filepath.Join(dir, "label-layouts.json")
		if err := os.WriteFile(p, b, 0o600); err != nil {
			t.Fatal(err)
		}
		l, err := (&Config{LabelLayouts: p}).labelLayouts()
		if err != nil {
			if !strings.Contains(err.Error(), p) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		again, err := json.Marshal(l)
		if err != nil {
			t.Fatal(err)
		}
		p2 := filepath.Join(dir, "again.json")
		if err := os.WriteFile(p2, again, 0o600); err != nil {
			t.Fatal(err)
		}
		if back, err := (&Config{LabelLayouts: p2}).labelLayouts(); err != nil || !reflect.DeepEqual(back, l) {
			t.Fatalf("written back as %s, the layouts read as %+v, %v; want %+v", again, back, err, l)
		}
		// Every layout is checked alike: the first sheet and roll are
		// enough, and keep a run short (a PDF embeds its fonts).
		for _, sl := range l.Sheets[:min(1, len(l.Sheets))] {
			var out bytes.Buffer
			printed(t, "sheet "+sl.Name, &out, label.WritePDF(&out, sl, job), "%PDF-", "%%EOF")
		}
		for _, rl := range l.Rolls[:min(1, len(l.Rolls))] {
			var zpl, tspl bytes.Buffer
			printed(t, "roll "+rl.Name+" (ZPL)", &zpl, label.WriteZPL(&zpl, rl, 203, job), "^XA", "^XZ")
			printed(t, "roll "+rl.Name+" (TSPL)", &tspl, label.WriteTSPL(&tspl, rl, 203, job), "SIZE ", "PRINT 1,1")
		}
	})
}
