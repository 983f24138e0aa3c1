package label

import (
	"crypto/ed25519"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/truyxuat/truyxuat/trace"
)

// SignatureParam is the Digital Link query parameter that carries a label
// signature: the Ed25519 signature of SignatureMessage, base64url without
// padding (86 characters).
const SignatureParam = "s"

// signaturePrefix starts every signed message, so a label signature can
// never be mistaken for a signature over anything else.
const signaturePrefix = "truyxuat label signature v1\n"

// ErrNoSignature is returned by VerifySignature for a link without one.
var ErrNoSignature = errors.New("label: the link carries no signature")

// SignatureMessage returns the bytes a cooperative signs with its Ed25519
// key to vouch for a lot's labels:
//
//	truyxuat label signature v1\n
//	01=<GTIN-14>\n
//	10=<lot>\n
//	7007=<harvest date, YYMMDD or YYMMDDYYMMDD>\n
//
// The values are exactly the AI values in the label's Digital Link, so a
// verifier rebuilds the message from the scanned link alone. Serial
// numbers are not covered: one signature serves every unit of the lot.
func SignatureMessage(gtin, lot, harvest string) ([]byte, error) {
	if err := trace.ValidateGTIN14(gtin); err != nil {
		return nil, err
	}
	if err := trace.ValidateLot(lot); err != nil {
		return nil, err
	}
	if err := trace.ValidateAI(trace.AIHarvestDate, harvest); err != nil {
		return nil, err
	}
	return []byte(signaturePrefix + "01=" + gtin + "\n10=" + lot + "\n7007=" + harvest + "\n"), nil
}

// LinkSignatureMessage returns SignatureMessage for the GTIN, lot and
// harvest date (AI 7007) of link.
func LinkSignatureMessage(link trace.DigitalLink) ([]byte, error) {
	h, ok := link.Attribute(trace.AIHarvestDate)
	if link.GTIN == "" || link.Lot == "" || !ok {
		return nil, fieldErr("signature", "a signed label needs a GTIN (01), a lot (10) and a harvest date (7007) in its link")
	}
	return SignatureMessage(link.GTIN, link.Lot, h)
}

// AddSignature returns link with sig, an Ed25519 signature of
// LinkSignatureMessage(link) made by the caller, as the query parameter s.
// It adds 89 characters to the link, so the QR code grows by about four
// versions: the smaller labels cannot hold it, and the writers say so.
func AddSignature(link trace.DigitalLink, sig []byte) (trace.DigitalLink, error) {
	if len(sig) != ed25519.SignatureSize {
		return trace.DigitalLink{}, fieldErr("signature", fmt.Sprintf("an Ed25519 signature has %d bytes, got %d", ed25519.SignatureSize, len(sig)))
	}
	if _, err := LinkSignatureMessage(link); err != nil {
		return trace.DigitalLink{}, err
	}
	link.SetParam(SignatureParam, base64.RawURLEncoding.EncodeToString(sig))
	return link, nil
}

// VerifySignature checks the signature in link against pub. A valid
// signature proves that the key's holder vouched for this GTIN, lot and
// harvest date; it does not prove that the label is the one they printed,
// since a label can be copied.
func VerifySignature(link trace.DigitalLink, pub ed25519.PublicKey) error {
	s, ok := link.Param(SignatureParam)
	if !ok {
		return ErrNoSignature
	}
	sig, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil || len(sig) != ed25519.SignatureSize {
		return fmt.Errorf("label: signature %q is not %d bytes of base64url: %w", s, ed25519.SignatureSize, trace.ErrVerification)
	}
	if len(pub) != ed25519.PublicKeySize {
		return fmt.Errorf("label: public key has %d bytes, want %d", len(pub), ed25519.PublicKeySize)
	}
	msg, err := LinkSignatureMessage(link)
	if err != nil {
		return err
	}
	if !ed25519.Verify(pub, msg, sig) {
		return fmt.Errorf("label: signature does not match the GTIN, lot and harvest date: %w", trace.ErrVerification)
	}
	return nil
}
