package main

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"golang.org/x/term"

	"github.com/truyxuat/truyxuat/api"
	"github.com/truyxuat/truyxuat/label"
	"github.com/truyxuat/truyxuat/trace"
)

func newLabelCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "label --batch ID|URL --format pdf --layout a4-3x8 --count 240 -o labels.pdf",
		Short: "Print a batch's labels: QR as PNG or SVG, A4 sheets as PDF, ZPL or TSPL for thermal printers",
		Long: `Print a batch's labels from its public history: the QR code holds the batch's
GS1 Digital Link (or short link) and the label shows the product, cooperative,
lot, harvest date, OCOP stars and certification marks, with --lang as the
second language in small print: English (en, the default) or Simplified
Chinese (zh, the product's Chinese name and "扫码溯源"). Long runs show their
progress on stderr when it is a terminal. --seed-file signs the labels with a
cooperative's own Ed25519 key (the "s" parameter); --serials gives every label
its own serial number (GS1 AI 21).`,
		Args: cobra.NoArgs,
		RunE: runLabel,
	}
	addClientFlags(cmd)
	f := cmd.Flags()
	f.String("batch", "", "batch id, or the batch's public URL")
	f.String("format", "pdf", "png, svg, pdf, zpl or tspl")
	f.String("layout", "", "sheet (a4-3x8, a4-4x10, a4-2x7, a4-5x13, a4-3x7) or roll (roll-50x30, roll-40x30, roll-35x22)")
	f.Int("count", 0, "number of labels (default one sheet, or one label)")
	f.Int("dpi", 203, "thermal printer resolution: 203, 300 or 600")
	f.String("ec", "M", "QR error correction: L, M, Q or H")
	f.Int("scale", 8, "pixels per QR module for PNG and SVG")
	f.Int("skip", 0, "positions already used on the first sheet")
	f.Bool("serials", false, "give every label its own serial number")
	f.String("seed-file", "", "sign the labels with this cooperative key (see truyxuat event keygen)")
	f.String("lang", "en", "the label's second language, under the Vietnamese: en (English) or zh (Simplified Chinese, for lots sold to China); not the report language TRUYXUAT_LANG")
	f.SetAnnotation("lang", notConfig, []string{"true"})
	f.StringP("output", "o", "", "file to write (default stdout)")
	return cmd
}

func runLabel(cmd *cobra.Command, _ []string) error {
	cfg, err := loadConfig(cmd)
	if err != nil {
		return err
	}
	fl := cmd.Flags()
	batch, _ := fl.GetString("batch")
	if batch == "" {
		return fmt.Errorf("%w: --batch is required", errUsage)
	}
	langFlag, _ := fl.GetString("lang")
	lang, err := label.ParseLanguage(langFlag)
	if err != nil {
		return fmt.Errorf("%w: --lang: %s", errUsage, strings.TrimPrefix(err.Error(), "lang: "))
	}
	path := batch
	if !strings.Contains(batch, "/") {
		path = "/api/v1/batches/" + batch
	}
	var h api.History
	if err := newClient(cfg).do("GET", path, nil, &h); err != nil {
		return err
	}
	u, err := url.Parse(h.Batch.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("the server gave no public URL for batch %s", h.Batch.ID)
	}
	content, dl, err := api.LabelContent(&h, u.Scheme+"://"+u.Host, lang)
	if err != nil {
		return err
	}
	base := u.Scheme + "://" + u.Host
	if seedFile, _ := fl.GetString("seed-file"); seedFile != "" {
		if content.URI, dl, err = signLabel(seedFile, dl, base); err != nil {
			return err
		}
	}
	format, _ := fl.GetString("format")
	ec, _ := fl.GetString("ec")
	level := label.ECLevel(strings.ToUpper(ec))
	count, _ := fl.GetInt("count")
	skip, _ := fl.GetInt("skip")
	item := label.Repeat(content)
	if serials, _ := fl.GetBool("serials"); serials {
		if dl.GTIN == "" {
			return fmt.Errorf("serial numbers (GS1 AI 21) need a product with a GTIN")
		}
		item = label.Serials(base, dl, content)
	}

	out, _ := fl.GetString("output")
	var w io.Writer = cmd.OutOrStdout()
	var tmp *os.File
	if out != "" {
		// Write beside the target and rename at the end, so a failed run
		// never leaves half a file under the name.
		if tmp, err = os.CreateTemp(filepath.Dir(out), ".label-*"); err != nil {
			return err
		}
		defer os.Remove(tmp.Name())
		w = tmp
	}
	progress := progressBar(cmd.ErrOrStderr())
	job := label.Job{Count: count, Item: item, Level: level, Skip: skip, Progress: progress}
	switch format {
	case "png", "svg":
		qr, err := label.EncodeQR(content.URI, level)
		if err != nil {
			return err
		}
		scale, _ := fl.GetInt("scale")
		if format == "png" {
			err = qr.WritePNG(w, scale)
		} else {
			err = qr.WriteSVG(w, scale)
		}
		if err != nil {
			return err
		}
	case "pdf":
		name, _ := fl.GetString("layout")
		if name == "" {
			name = "a4-3x8"
		}
		layout, err := label.SheetLayoutByName(name)
		if err != nil {
			return err
		}
		if job.Count == 0 {
			job.Count = layout.Columns * layout.Rows
		}
		if job.Count > api.MaxPDFLabels {
			return fmt.Errorf("a PDF holds at most %d labels; print larger runs as several files (--skip continues a sheet), or as ZPL/TSPL, which stream", api.MaxPDFLabels)
		}
		if err := label.WritePDF(w, layout, job); err != nil {
			return err
		}
	case "zpl", "tspl":
		name, _ := fl.GetString("layout")
		if name == "" {
			name = "roll-50x30"
		}
		layout, err := label.RollLayoutByName(name)
		if err != nil {
			return err
		}
		dpi, _ := fl.GetInt("dpi")
		if job.Count == 0 {
			job.Count = 1
		}
		if format == "zpl" {
			err = label.WriteZPL(w, layout, dpi, job)
		} else {
			err = label.WriteTSPL(w, layout, dpi, job)
		}
		if err != nil {
			return err
		}
	default:
		return fmt.Errorf("%w: --format must be png, svg, pdf, zpl or tspl", errUsage)
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			return err
		}
		if err := os.Rename(tmp.Name(), out); err != nil {
			return err
		}
	}
	return nil
}

// signLabel adds a cooperative's signature to a label's Digital Link.
func signLabel(seedFile string, dl trace.DigitalLink, base string) (string, trace.DigitalLink, error) {
	raw, err := os.ReadFile(seedFile)
	if err != nil {
		return "", dl, err
	}
	seed, err := base64.StdEncoding.DecodeString(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(string(raw)), "truyxuat-ed25519-seed ")))
	if err != nil {
		return "", dl, fmt.Errorf("%s is not a truyxuat key file", seedFile)
	}
	signer, err := trace.NewSigner(seed)
	if err != nil {
		return "", dl, err
	}
	msg, err := label.LinkSignatureMessage(dl)
	if err != nil {
		return "", dl, err
	}
	sig, err := signer.SignMessage(msg)
	if err != nil {
		return "", dl, err
	}
	if dl, err = label.AddSignature(dl, sig); err != nil {
		return "", dl, err
	}
	uri, err := dl.URI(base)
	return uri, dl, err
}

// progressBar draws a run's progress on w when it is a terminal, at most a
// few times a second; otherwise it draws nothing.
func progressBar(w io.Writer) func(done, total int) {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	var last time.Time
	return func(done, total int) {
		if done < total && time.Since(last) < 200*time.Millisecond {
			return
		}
		last = time.Now()
		const width = 30
		n := width * done / max(total, 1)
		fmt.Fprintf(w, "\r[%s%s] %d/%d", strings.Repeat("#", n), strings.Repeat(" ", width-n), done, total)
		if done == total {
			fmt.Fprintln(w)
		}
	}
}
