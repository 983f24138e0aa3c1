package tlog

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Checkpoint is the text of a C2SP tlog-checkpoint note:
//
//	<origin>\n<size in decimal>\n<base64 root hash>\n[<extension line>\n]...
type Checkpoint struct {
	// Origin identifies the log; it is non-empty.
	Origin string
	// Size is the number of entries in the tree.
	Size uint64
	// Root is the RFC 6962 root hash of the tree of that size.
	Root Hash
	// Extensions are optional, opaque, non-empty lines after the root.
	// They are not covered by ML-DSA-44 signatures; truyxuat uses none.
	Extensions []string
}

// ErrMalformedCheckpoint is returned (wrapped) by ParseCheckpoint.
var ErrMalformedCheckpoint = errors.New("tlog: malformed checkpoint")

// String returns the checkpoint's note text.
func (c Checkpoint) String() string {
	var b strings.Builder
	b.WriteString(c.Origin)
	b.WriteByte('\n')
	b.WriteString(strconv.FormatUint(c.Size, 10))
	b.WriteByte('\n')
	b.WriteString(c.Root.String())
	b.WriteByte('\n')
	for _, e := range c.Extensions {
		b.WriteString(e)
		b.WriteByte('\n')
	}
	return b.String()
}

// Marshal returns the checkpoint's note text after checking that it parses
// back to the same checkpoint (non-empty origin and extension lines without
// newlines or control characters).
func (c Checkpoint) Marshal() ([]byte, error) {
	s := c.String()
	p, err := ParseCheckpoint(s)
	if err != nil {
		return nil, err
	}
	if p.Origin != c.Origin || len(p.Extensions) != len(c.Extensions) {
		return nil, fmt.Errorf("%w: origin or extension line contains a newline", ErrMalformedCheckpoint)
	}
	return []byte(s), nil
}

// ParseCheckpoint parses a checkpoint note text strictly: at least three
// newline-terminated lines; a non-empty origin; a size in decimal with no
// sign and no leading zeros ("0" for the empty tree); a root hash in
// canonical standard base64 of exactly 32 bytes; optional non-empty extension
// lines; valid UTF-8 without control characters other than newline.
func ParseCheckpoint(text string) (Checkpoint, error) {
	bad := func(why string) (Checkpoint, error) {
		return Checkpoint{}, fmt.Errorf("%w: %s", ErrMalformedCheckpoint, why)
	}
	if err := checkNoteChars([]byte(text)); err != nil {
		return bad(err.Error())
	}
	if !strings.HasSuffix(text, "\n") {
		return bad("no final newline")
	}
	lines := strings.Split(text[:len(text)-1], "\n")
	if len(lines) < 3 {
		return bad("fewer than three lines")
	}
	var c Checkpoint
	if c.Origin = lines[0]; c.Origin == "" {
		return bad("empty origin")
	}
	size, ok := parseDecimal(lines[1])
	if !ok {
		return bad("tree size is not a canonical decimal")
	}
	c.Size = size
	root, err := ParseHash(lines[2])
	if err != nil {
		return bad("root hash is not standard base64 of 32 bytes")
	}
	c.Root = root
	for _, e := range lines[3:] {
		if e == "" {
			return bad("empty extension line")
		}
		c.Extensions = append(c.Extensions, e)
	}
	return c, nil
}

// SignCheckpoint signs the checkpoint with the signers and returns the signed
// note. A log signs with both its Ed25519 and its ML-DSA-44 signer.
func SignCheckpoint(c Checkpoint, signers ...Signer) ([]byte, error) {
	text, err := c.Marshal()
	if err != nil {
		return nil, err
	}
	return SignNote(string(text), signers...)
}

// ErrWrongOrigin is returned (wrapped) when a checkpoint's origin is not the
// expected one.
var ErrWrongOrigin = errors.New("tlog: checkpoint has the wrong origin")

// OpenCheckpoint parses a signed checkpoint, checks that every required
// verifier signed it validly (a failing line from any required or optional
// key makes it invalid; unknown keys are ignored) and that its origin is
// origin. It returns the checkpoint, the note and the verifiers that signed.
func OpenCheckpoint(msg []byte, origin string, required []Verifier, optional ...Verifier) (Checkpoint, *Note, []Verifier, error) {
	n, err := ParseNote(msg)
	if err != nil {
		return Checkpoint{}, nil, nil, err
	}
	verified, err := n.VerifyAll(required, optional...)
	if err != nil {
		return Checkpoint{}, nil, nil, err
	}
	c, err := ParseCheckpoint(n.Text)
	if err != nil {
		return Checkpoint{}, nil, nil, err
	}
	if c.Origin != origin {
		return Checkpoint{}, nil, nil, fmt.Errorf("%w: %q, want %q", ErrWrongOrigin, c.Origin, origin)
	}
	return c, n, verified, nil
}
