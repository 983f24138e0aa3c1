// Package label prints the QR labels that cooperatives stick on bags, boxes
// and trays of a harvest lot, so that a shopper's phone camera (or Zalo's
// scanner) opens the lot's page.
//
// # What it makes
//
//   - A QR symbol for a link (EncodeQR), as PNG with a whole number of
//     pixels per module (QR.WritePNG) or as SVG drawn from the module
//     bitmap, one path for all dark modules (QR.WriteSVG).
//   - Sheets of sticker labels on A4 as PDF (WritePDF), with presets for
//     common label stock (a4-3x8 70×37 mm, a4-4x10 52.5×29.7, a4-2x7
//     99.1×38.1, a4-5x13 38.1×21.2, a4-3x7 63.5×38.1) or any grid given
//     as a SheetLayout.
//   - Rolls for thermal printers: ZPL for Zebra (WriteZPL) and TSPL for
//     TSC and compatibles (WriteTSPL), with presets roll-50x30,
//     roll-40x30 and roll-35x22, at 203, 300 or 600 dpi.
//
// Each label shows the QR code, the product name in Vietnamese and,
// optionally, in the label's second language (Content.Lang: English by
// default, or Simplified Chinese for lots sold to China), the
// cooperative, the lot, the harvest date as dd/mm/yyyy, "Quét mã để truy
// xuất" with "Scan to trace" or "扫码溯源" under it, and the OCOP stars
// and certification marks (VietGAP, GlobalG.A.P., hữu cơ …) when there
// are any. Lines break at spaces, and between Chinese characters, which
// have none. Where a small label runs out of room, the text shrinks to
// its smallest size, long product and cooperative names are cut short
// with "…", and then the least important lines are left out one by one:
// "Scan to trace" (or "扫码溯源"), the name in the second language, "Quét
// mã để truy xuất", the cooperative, the harvest date (the code holds
// it). The product, lot, serial and marks are never left out nor cut
// short; if they do not fit, the label is refused (ErrTextDoesNotFit;
// ErrQRTooSmall when the code does not). What is printed must agree with
// what the code holds: a lot or serial number that differs from the one
// in the link is an error. The
// link itself is built by package trace: a GS1 Digital Link
// (trace.DigitalLink.URI) or, for a batch without a GTIN, the short link
// /b/<batch id> (trace.BatchLinkURI).
//
// # Guarantees
//
// Every QR code is encoded at error correction M unless the job asks for
// another level, in the smallest version that holds the link, with the
// 4-module quiet zone. It is printed at least MinQRWidthMM (16 mm) wide,
// quiet zone included, with modules of at least MinModuleMM (0.4 mm); on
// thermal printers a module is a whole number of dots. Within those limits
// the code is as large as the label allows while the text beside it stays
// at a comfortable size; the text shrinks to its minimum before the code
// does. A label that cannot meet the limits is refused with an error that
// says what to change (a larger label, error correction L, a shorter
// link), never printed small. QR content is printable ASCII only: a
// Digital Link is percent-encoded already.
//
// Text is set in Noto Sans (SIL Open Font License 1.1; fonts/OFL.txt),
// embedded as a subset of about 27 KB per weight that covers every
// Vietnamese letter, and Chinese in Droid Sans Fallback (Apache License
// 2.0; fonts/LICENSE-Apache-2.0.txt), embedded gzipped (about 550 KB) as
// a subset holding the 6,763 Chinese characters of GB 2312 and CJK
// punctuation, and unpacked only when a label needs it. Decomposed input
// (a letter followed by combining tone marks, as some keyboards type it)
// is composed first; a character the fonts cannot draw is an error naming
// it, not an empty box. Chinese characters are accepted only in the
// product's Chinese name. In PDF the fonts are embedded (a subset of the
// characters used) and the text stays searchable; on thermal printers the
// whole label, text and QR, is one 1-bit bitmap (ZPL ^GFA, TSPL BITMAP),
// because printer fonts lack Vietnamese diacritics and Chinese, and a
// bitmap QR is exactly the symbol this package checked, whatever the
// printer firmware. The PNG and SVG of QR.WritePNG and QR.WriteSVG are the
// bare symbol, with no text.
//
// # Runs
//
// A Job prints Count labels (1 to MaxCount), asking Job.Item for each one
// in turn, so a run never holds all its labels: Repeat gives every label
// the same content, Serials gives each unit its own random serial number
// (GS1 AI 21, NewSerial: 60 bits from crypto/rand, so serials cannot be
// guessed from one another). Job.Progress reports progress. QR codes are
// encoded a few dozen labels ahead on one worker per CPU, each with its
// own encoder. Thermal output streams to the writer label by label in
// constant memory. PDF output is written at the end, because fpdf keeps a
// document's pages in memory: about 2 KB per label, plus about 1.5 KB per
// distinct QR code, which is stored once, compressed, as a form XObject of
// vector rectangles (see BENCHMARKS.md for a 10,000-label run).
// Errors for bad input wrap trace.ErrInvalid.
//
// # Signatures
//
// A cooperative can vouch for a lot offline: it signs SignatureMessage
// (GTIN, lot and harvest date, exactly as they appear in the link) with
// its Ed25519 key, and AddSignature puts the signature in the link as the
// query parameter s (base64url, 86 characters). VerifySignature checks it
// with only the scanned link and the cooperative's public key, with no
// network. This package never sees private keys.
//
// What a valid signature proves: the holder of that key stated that this
// GTIN, lot and harvest date belong together, and nobody changed them in
// the link since. What it does not prove: that the label is genuine or on
// the product it names. A label, signature and all, can be photocopied and
// stuck on anything; a copied label verifies exactly like the original.
// Serial numbers do not change this: they are not signed (one signature
// serves the whole lot), and a copy repeats the serial. What a serial
// gives is a way to notice copies: the resolver can count scans per serial
// and warn when one serial is scanned in many places. The signature also
// more than doubles the link (a typical lot link goes from QR version 4,
// 41 modules across, to version 8, 57 modules), which the smaller labels
// cannot hold.
//
// # Caveats
//
// Print sheets at 100% (actual size), never "fit to page". Thermal output
// leaves media settings (gap or black-mark sensing, direct or transfer) to
// the printer's configuration, and TSPL jobs use DIRECTION 1: if labels
// come out upside down, change the direction in the printer setup.
package label
