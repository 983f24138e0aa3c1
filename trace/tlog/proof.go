package tlog

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// ProofHeader is the first line of a C2SP tlog-proof.
const ProofHeader = "c2sp.org/tlog-proof@v1"

// Proof is a C2SP tlog-proof, an offline-verifiable proof that an entry is
// in a log:
//
//	c2sp.org/tlog-proof@v1\n
//	extra <base64>\n            (optional)
//	index <n>\n
//	<base64 inclusion proof hash>\n   (zero or more, leaf's sibling first)
//	\n
//	<signed checkpoint note, cosignatures included>
type Proof struct {
	// Extra is optional opaque data; it is not authenticated.
	Extra []byte
	// Index is the entry's index in the log.
	Index uint64
	// Inclusion is the RFC 6962 inclusion proof for Index in the
	// checkpoint's tree.
	Inclusion []Hash
	// Checkpoint is the signed checkpoint note, verbatim.
	Checkpoint []byte
}

// ErrMalformedProof is returned (wrapped) by ParseProof.
var ErrMalformedProof = errors.New("tlog: malformed tlog-proof")

// Bytes formats the proof.
func (p *Proof) Bytes() []byte {
	var b bytes.Buffer
	b.WriteString(ProofHeader + "\n")
	if len(p.Extra) > 0 {
		b.WriteString("extra " + base64.StdEncoding.EncodeToString(p.Extra) + "\n")
	}
	b.WriteString("index " + strconv.FormatUint(p.Index, 10) + "\n")
	for _, h := range p.Inclusion {
		b.WriteString(h.String() + "\n")
	}
	b.WriteByte('\n')
	b.Write(p.Checkpoint)
	return b.Bytes()
}

// ParseProof parses a tlog-proof strictly: the exact header line, an
// optional non-empty "extra" line in canonical standard base64, the index in
// canonical decimal, at most 63 canonical base64 hashes, a blank line and a
// syntactically valid signed note (verified later by VerifyProof).
func ParseProof(b []byte) (*Proof, error) {
	bad := func(why string) (*Proof, error) { return nil, fmt.Errorf("%w: %s", ErrMalformedProof, why) }
	next := func() (string, bool) {
		line, rest, ok := bytes.Cut(b, []byte("\n"))
		if !ok {
			return "", false
		}
		b = rest
		return string(line), true
	}
	line, ok := next()
	if !ok || line != ProofHeader {
		return bad("first line must be " + ProofHeader)
	}
	p := &Proof{Inclusion: []Hash{}}
	if line, ok = next(); !ok {
		return bad("truncated")
	}
	if rest, isExtra := strings.CutPrefix(line, "extra "); isExtra {
		x, err := decodeBase64(rest)
		if err != nil || len(x) == 0 {
			return bad("extra is not non-empty standard base64")
		}
		p.Extra = x
		if line, ok = next(); !ok {
			return bad("truncated")
		}
	}
	rest, isIndex := strings.CutPrefix(line, "index ")
	index, valid := parseDecimal(rest)
	if !isIndex || !valid {
		return bad(`want "index <n>" in canonical decimal`)
	}
	p.Index = index
	for {
		if line, ok = next(); !ok {
			return bad("no blank line before the checkpoint")
		}
		if line == "" {
			break
		}
		if len(p.Inclusion) == 63 {
			return bad("more than 63 inclusion proof hashes")
		}
		h, err := ParseHash(line)
		if err != nil {
			return bad("inclusion proof line is not a base64 hash")
		}
		p.Inclusion = append(p.Inclusion, h)
	}
	if _, err := ParseNote(b); err != nil {
		return bad(err.Error())
	}
	p.Checkpoint = b
	return p, nil
}

// CheckpointVerifier says which signed checkpoints to trust.
type CheckpointVerifier struct {
	// Origin is the required checkpoint origin.
	Origin string
	// Log lists verifiers that must all have signed (truyxuat: the log's
	// Ed25519 and ML-DSA-44 verifiers).
	Log []Verifier
	// Witnesses, if not nil, is a tlog-policy whose quorum the
	// cosignatures must meet (and whose logs, if it lists any, one of
	// which must have signed).
	Witnesses *Policy
}

// ErrNoTrustAnchor is returned when a CheckpointVerifier has no log key:
// neither Log verifiers nor a policy listing logs.
var ErrNoTrustAnchor = errors.New("tlog: checkpoint verifier has no keys")

// Open parses and verifies a signed checkpoint. Signature lines from
// unknown keys are ignored; a failing line from a known key is an
// *InvalidSignatureError; a missing log signature a *MissingSignatureError;
// an unmet quorum wraps ErrQuorum; a wrong origin wraps ErrWrongOrigin.
func (cv *CheckpointVerifier) Open(signed []byte) (Checkpoint, *Note, error) {
	if len(cv.Log) == 0 && (cv.Witnesses == nil || len(cv.Witnesses.Logs) == 0) {
		return Checkpoint{}, nil, ErrNoTrustAnchor
	}
	n, err := ParseNote(signed)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if cv.Witnesses != nil {
		if err := cv.Witnesses.Check(n, cv.Log...); err != nil {
			return Checkpoint{}, nil, err
		}
	}
	if len(cv.Log) > 0 {
		if _, err := n.VerifyAll(cv.Log); err != nil {
			return Checkpoint{}, nil, err
		}
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, nil, err
	}
	if c.Origin != cv.Origin {
		return Checkpoint{}, nil, fmt.Errorf("%w: %q, want %q", ErrWrongOrigin, c.Origin, cv.Origin)
	}
	return c, n, nil
}

// VerifyProof checks a tlog-proof for entry: it parses the proof, verifies
// the checkpoint with cv and checks the inclusion proof of LeafHash(entry)
// at the proof's index against the checkpoint's root. It returns the
// checkpoint. Errors wrap ErrMalformedProof, the errors of
// CheckpointVerifier.Open, ErrBadProof (index not below the size, or a proof
// of the wrong length) or ErrProofMismatch (the entry is not at that index).
func VerifyProof(entry, proof []byte, cv *CheckpointVerifier) (Checkpoint, error) {
	p, err := ParseProof(proof)
	if err != nil {
		return Checkpoint{}, err
	}
	c, _, err := cv.Open(p.Checkpoint)
	if err != nil {
		return Checkpoint{}, err
	}
	if err := VerifyInclusion(LeafHash(entry), p.Index, c.Size, p.Inclusion, c.Root); err != nil {
		return Checkpoint{}, err
	}
	return c, nil
}

// NewProof builds a tlog-proof for entry index from the log's tiles and a
// signed checkpoint note (which may carry cosignatures) whose size is at
// most the stored size.
func NewProof(r TileReader, index uint64, signedCheckpoint []byte, extra []byte) (*Proof, error) {
	n, err := ParseNote(signedCheckpoint)
	if err != nil {
		return nil, err
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return nil, err
	}
	incl, err := ProveInclusion(r, index, c.Size)
	if err != nil {
		return nil, err
	}
	return &Proof{Extra: extra, Index: index, Inclusion: incl, Checkpoint: signedCheckpoint}, nil
}
