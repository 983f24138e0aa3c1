package main

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// TestLabelCommandLang prints the demo rice lot's labels with Chinese as
// the second language: the PDF's text holds the product's Chinese name from
// its registry record and "扫码溯源", zbarimg reads the code, and a
// language the labels cannot print is refused with what to use.
func TestLabelCommandLang(t *testing.T) {
	zbar := needTool(t, "zbarimg")
	pdftoppm := needTool(t, "pdftoppm")
	pdftotext := needTool(t, "pdftotext")
	m, stdout := startMain(t, true)
	var demo DemoOutput
	if err := json.Unmarshal(stdout.Bytes(), &demo); err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	label := func(out string, args ...string) error {
		root := newRootCmd(io.Discard, io.Discard)
		root.SetArgs(append([]string{"label", "--server", "http://" + m.Addr(), "--batch", demo.Batches[0].ID, "-o", filepath.Join(dir, out)}, args...))
		return root.Execute()
	}
	if err := label("zh.pdf", "--lang", "zh", "--format", "pdf", "--layout", "a4-2x7", "--count", "2"); err != nil {
		t.Fatalf("truyxuat label --lang zh: %v", err)
	}
	pdf := filepath.Join(dir, "zh.pdf")
	text, err := exec.Command(pdftotext, "-enc", "UTF-8", pdf, "-").Output()
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"和秀ST25香米", "扫码溯源", "Gạo ST25 Hòa Tú", "Quét mã để truy xuất"} {
		if n := strings.Count(string(text), want); n != 2 {
			t.Errorf("%q appears %d times in the PDF's text, want 2:\n%.600s", want, n, text)
		}
	}
	if strings.Contains(string(text), "Scan to trace") {
		t.Errorf("a Chinese label in English:\n%.600s", text)
	}
	if err := exec.Command(pdftoppm, "-r", "200", "-png", "-f", "1", "-l", "1", pdf, filepath.Join(dir, "page")).Run(); err != nil {
		t.Fatal(err)
	}
	pages, _ := filepath.Glob(filepath.Join(dir, "page*.png"))
	out, _ := exec.Command(zbar, append([]string{"--raw", "-q"}, pages...)...).Output()
	if links := strings.Fields(string(out)); len(links) != 2 || !strings.Contains(links[0], demo.Batches[0].URL) {
		t.Errorf("zbarimg read %q", links)
	}

	// Thermal rolls print it too; English stays the default.
	if err := label("zh.zpl", "--lang", "zh", "--format", "zpl", "--layout", "roll-50x30"); err != nil {
		t.Errorf("--lang zh --format zpl: %v", err)
	} else if b, _ := os.ReadFile(filepath.Join(dir, "zh.zpl")); !strings.HasPrefix(string(b), "^XA") {
		t.Errorf("zpl %.40q", b)
	}
	if err := label("en.pdf", "--format", "pdf", "--layout", "a4-2x7", "--count", "1"); err != nil {
		t.Fatal(err)
	}
	if text, _ := exec.Command(pdftotext, "-enc", "UTF-8", filepath.Join(dir, "en.pdf"), "-").Output(); !strings.Contains(string(text), "Scan to trace") ||
		strings.Contains(string(text), "扫码溯源") {
		t.Errorf("default label:\n%.600s", text)
	}

	err = label("fr.pdf", "--lang", "fr")
	if err == nil || !errors.Is(err, errUsage) || !strings.Contains(err.Error(), "--lang") || !strings.Contains(err.Error(), "use en (English) or zh (Simplified Chinese)") {
		t.Errorf("--lang fr: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "fr.pdf")); !os.IsNotExist(err) {
		t.Errorf("a refused run left a file: %v", err)
	}
}
