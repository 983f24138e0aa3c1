package label_test

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/truyxuat/truyxuat/label"
	"github.com/truyxuat/truyxuat/trace"
)

func exampleLink() trace.DigitalLink {
	d, err := trace.DigitalLinkFromAIs([]trace.AIValue{
		{AI: "01", Value: "08931234567897"},
		{AI: "10", Value: "ST25/0815"},
		{AI: "7007", Value: trace.FormatGS1Date(time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC))},
	})
	if err != nil {
		panic(err)
	}
	return d
}

func exampleContent() label.Content {
	uri, _ := exampleLink().URI("https://trace.example.vn")
	return label.Content{
		URI:            uri,
		Product:        "Gạo ST25 Sóc Trăng",
		Cooperative:    "Hợp tác xã Mỹ Xuyên",
		Lot:            "ST25/0815",
		Harvest:        time.Date(2025, 8, 15, 0, 0, 0, 0, time.UTC),
		OCOPStars:      4,
		Certifications: []string{"VietGAP"},
	}
}

func ExampleEncodeQR() {
	uri, _ := exampleLink().URI("https://trace.example.vn")
	qr, err := label.EncodeQR(uri, label.ECMedium)
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(uri)
	fmt.Printf("version %d, %d modules across with the quiet zone, level %s\n", qr.Version(), qr.Size(), qr.Level())
	var png bytes.Buffer
	_ = qr.WritePNG(&png, 8) // 8 pixels per module
	fmt.Println(png.Len() > 0)
	// Output:
	// https://trace.example.vn/01/08931234567897/10/ST25%2F0815?7007=250815
	// version 4, 41 modules across with the quiet zone, level M
	// true
}

func ExampleQR_WriteSVG() {
	qr, _ := label.EncodeQR("https://trace.example.vn/b/st25k7", "")
	var svg strings.Builder
	_ = qr.WriteSVG(&svg, 4)
	lines := strings.Split(svg.String(), "\n")
	fmt.Println(lines[1])
	fmt.Println(lines[2])
	// Output:
	// <svg xmlns="http://www.w3.org/2000/svg" width="148" height="148" viewBox="0 0 37 37" shape-rendering="crispEdges">
	// <rect width="37" height="37" fill="#fff"/>
}

func ExampleWritePDF() {
	layout, err := label.SheetLayoutByName("a4-3x8")
	if err != nil {
		fmt.Println(err)
		return
	}
	var pdf bytes.Buffer
	err = label.WritePDF(&pdf, layout, label.Job{
		Count: 30, // 24 labels a sheet: two sheets
		Item:  label.Repeat(exampleContent()),
		Progress: func(done, total int) {
			if done == total {
				fmt.Printf("%d of %d labels laid out\n", done, total)
			}
		},
	})
	fmt.Println(err, bytes.HasPrefix(pdf.Bytes(), []byte("%PDF-")))
	// Output:
	// 30 of 30 labels laid out
	// <nil> true
}

func ExampleWritePDF_customLayout() {
	// A sheet not among the presets, as a configuration file would give it.
	layout := label.SheetLayout{
		Name: "tanex-27", Columns: 3, Rows: 9,
		LabelWidth: 63.5, LabelHeight: 29.6, MarginLeft: 7.25, MarginTop: 15.3,
		PitchX: 66, PitchY: 29.6,
	}
	err := label.WritePDF(io.Discard, layout, label.Job{Count: 5, Item: label.Repeat(exampleContent())})
	fmt.Println(err)

	layout.LabelHeight, layout.PitchY = 14, 14
	err = label.WritePDF(io.Discard, layout, label.Job{Count: 5, Item: label.Repeat(exampleContent())})
	fmt.Println(err)
	// Output:
	// <nil>
	// layout: tanex-27: a 63.5×14 mm label with 1.5 mm padding leaves 11.0 mm for the QR code beside 12 mm of text; the QR needs at least 16 mm: use a larger label or less padding
}

func ExampleWriteZPL() {
	layout, _ := label.RollLayoutByName("roll-50x30")
	var zpl bytes.Buffer
	err := label.WriteZPL(&zpl, layout, 203, label.Job{Count: 100, Item: label.Repeat(exampleContent())})
	if err != nil {
		fmt.Println(err)
		return
	}
	sc := bufio.NewScanner(&zpl)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		if line := sc.Text(); !strings.HasPrefix(line, "^FO") {
			fmt.Println(line)
		}
	}
	// Output:
	// ^XA
	// ^PW400
	// ^LL240
	// ^LH0,0
	// ^PQ100
	// ^XZ
}

func ExampleWriteTSPL() {
	layout, _ := label.RollLayoutByName("roll-40x30")
	var tspl bytes.Buffer
	if err := label.WriteTSPL(&tspl, layout, 300, label.Job{Count: 3, Item: label.Repeat(exampleContent())}); err != nil {
		fmt.Println(err)
		return
	}
	head, _, _ := strings.Cut(tspl.String(), "BITMAP")
	fmt.Print(strings.ReplaceAll(head, "\r\n", "\n"))
	// Output:
	// SIZE 40 mm,30 mm
	// GAP 2 mm,0 mm
	// DIRECTION 1
	// REFERENCE 0,0
	// CLS
}

func ExampleSerials() {
	next := label.Serials("https://trace.example.vn", exampleLink(), exampleContent())
	c, err := next(0)
	if err != nil {
		fmt.Println(err)
		return
	}
	d, _ := trace.ParseDigitalLink(c.URI)
	fmt.Println(len(c.Serial), d.Serial == c.Serial, trace.ValidateSerial(c.Serial))
	// Output:
	// 12 true <nil>
}

func ExampleAddSignature() {
	// The cooperative's key; in practice it never leaves the signer.
	priv := ed25519.NewKeyFromSeed(bytes.Repeat([]byte{7}, ed25519.SeedSize))
	link := exampleLink()

	msg, _ := label.LinkSignatureMessage(link)
	fmt.Printf("%q\n", msg)
	signed, err := label.AddSignature(link, ed25519.Sign(priv, msg))
	if err != nil {
		fmt.Println(err)
		return
	}
	uri, _ := signed.URI("https://trace.example.vn")
	fmt.Println(len(uri))

	// A verifier needs only the scanned link and the public key.
	scanned, _ := trace.ParseDigitalLink(uri)
	fmt.Println(label.VerifySignature(scanned, priv.Public().(ed25519.PublicKey)))
	// Output:
	// "truyxuat label signature v1\n01=08931234567897\n10=ST25/0815\n7007=250815\n"
	// 158
	// <nil>
}

func ExampleSheetLayouts() {
	for _, l := range label.SheetLayouts() {
		fmt.Printf("%s: %d×%d labels of %g×%g mm\n", l.Name, l.Columns, l.Rows, l.LabelWidth, l.LabelHeight)
	}
	// Output:
	// a4-3x8: 3×8 labels of 70×37 mm
	// a4-4x10: 4×10 labels of 52.5×29.7 mm
	// a4-2x7: 2×7 labels of 99.1×38.1 mm
	// a4-5x13: 5×13 labels of 38.1×21.2 mm
	// a4-3x7: 3×7 labels of 63.5×38.1 mm
}

func ExampleParseLanguage() {
	// A lot sold to China: Simplified Chinese under the Vietnamese.
	lang, err := label.ParseLanguage("zh")
	fmt.Println(lang, err)
	c := exampleContent()
	c.Lang, c.ProductLang = lang, "越南ST25香米"
	fmt.Println(c.Validate())

	_, err = label.ParseLanguage("fr")
	fmt.Println(err)
	// Output:
	// zh <nil>
	// <nil>
	// lang: unknown second language "fr": use en (English) or zh (Simplified Chinese)
}
