package tlog

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// MaxNoteSignatures is the largest number of signature lines ParseNote
	// accepts. C2SP signed-note requires accepting at least 16.
	MaxNoteSignatures = 100
	// MaxNoteSize is the largest signed note ParseNote accepts, in bytes.
	MaxNoteSize = 1 << 20
)

// sigPrefix starts every signature line: U+2014 EM DASH and a space.
const sigPrefix = "\u2014 "

// Note is a C2SP signed note: a text and its signature lines.
type Note struct {
	// Text is the signed text. It ends in a newline and does not include
	// the blank line that separates it from the signatures.
	Text string
	// Sigs are the signature lines in order, verified or not.
	Sigs []Signature
}

// Signature is one signature line of a note:
// "— <Name> <base64(KeyHash as 4 big-endian bytes ‖ Sig)>".
type Signature struct {
	Name    string
	KeyHash uint32
	Sig     []byte
}

// Line returns the signature line, ending in a newline.
func (s Signature) Line() string {
	b := make([]byte, 4, 4+len(s.Sig))
	binary.BigEndian.PutUint32(b, s.KeyHash)
	b = append(b, s.Sig...)
	return sigPrefix + s.Name + " " + base64.StdEncoding.EncodeToString(b) + "\n"
}

// ErrMalformedNote is returned (wrapped) when a note does not follow the
// C2SP signed-note syntax.
var ErrMalformedNote = errors.New("tlog: malformed note")

func malformed(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrMalformedNote, fmt.Sprintf(format, args...))
}

// ValidKeyName reports whether name can name a key: non-empty valid UTF-8
// with no Unicode space, no "+" and no control character.
func ValidKeyName(name string) bool {
	return name != "" && utf8.ValidString(name) &&
		strings.IndexFunc(name, func(r rune) bool { return unicode.IsSpace(r) || r == '+' || r < 0x20 }) < 0
}

// ParseNote parses a signed note strictly. It rejects: invalid UTF-8, ASCII
// control characters other than newline, a missing final newline, a missing
// blank line between text and signatures, an empty text (only newlines), no
// signature lines, a signature line not starting with "— " (an ASCII
// hyphen, for example), an invalid key name, base64 that is not canonical
// standard base64 with padding (base64url, missing padding, spaces),
// signatures shorter than 5 bytes, more than MaxNoteSignatures lines and
// notes larger than MaxNoteSize. The text is separated from the signatures by
// the last blank line. Formatting the result with Bytes gives back msg.
func ParseNote(msg []byte) (*Note, error) {
	if len(msg) > MaxNoteSize {
		return nil, malformed("note larger than %d bytes", MaxNoteSize)
	}
	if err := checkNoteChars(msg); err != nil {
		return nil, err
	}
	split := bytes.LastIndex(msg, []byte("\n\n"))
	if split < 0 {
		return nil, malformed("no blank line before the signatures")
	}
	text, sigs := msg[:split+1], msg[split+2:]
	if len(bytes.Trim(text, "\n")) == 0 {
		return nil, malformed("empty text")
	}
	if len(sigs) == 0 {
		return nil, malformed("no signatures")
	}
	if sigs[len(sigs)-1] != '\n' {
		return nil, malformed("no final newline")
	}
	n := &Note{Text: string(text)}
	for len(sigs) > 0 {
		i := bytes.IndexByte(sigs, '\n')
		line := string(sigs[:i])
		sigs = sigs[i+1:]
		if len(n.Sigs) == MaxNoteSignatures {
			return nil, malformed("more than %d signatures", MaxNoteSignatures)
		}
		s, err := parseSignatureLine(line)
		if err != nil {
			return nil, err
		}
		n.Sigs = append(n.Sigs, s)
	}
	return n, nil
}

func checkNoteChars(msg []byte) error {
	for i := 0; i < len(msg); {
		r, size := utf8.DecodeRune(msg[i:])
		if r == utf8.RuneError && size == 1 {
			return malformed("invalid UTF-8")
		}
		if r < 0x20 && r != '\n' {
			return malformed("control character %U", r)
		}
		i += size
	}
	return nil
}

func parseSignatureLine(line string) (Signature, error) {
	rest, ok := strings.CutPrefix(line, sigPrefix)
	if !ok {
		return Signature{}, malformed("signature line does not start with an em dash and a space: %q", truncate(line))
	}
	name, b64, ok := strings.Cut(rest, " ")
	if !ok || !ValidKeyName(name) {
		return Signature{}, malformed("bad key name in signature line %q", truncate(line))
	}
	raw, err := decodeBase64(b64)
	if err != nil || len(raw) < 5 {
		return Signature{}, malformed("bad signature encoding for key %q", name)
	}
	return Signature{Name: name, KeyHash: binary.BigEndian.Uint32(raw), Sig: raw[4:]}, nil
}

func truncate(s string) string {
	if len(s) > 40 {
		return s[:40] + "…"
	}
	return s
}

// ParseSignatureLines parses a block of signature lines, each ending in a
// newline, such as a witness's add-checkpoint response.
func ParseSignatureLines(b []byte) ([]Signature, error) {
	if err := checkNoteChars(b); err != nil {
		return nil, err
	}
	if len(b) == 0 || b[len(b)-1] != '\n' {
		return nil, malformed("signature lines must end in a newline")
	}
	var sigs []Signature
	for _, line := range strings.SplitAfter(string(b[:len(b)-1]), "\n") {
		if len(sigs) == MaxNoteSignatures {
			return nil, malformed("more than %d signatures", MaxNoteSignatures)
		}
		s, err := parseSignatureLine(strings.TrimSuffix(line, "\n"))
		if err != nil {
			return nil, err
		}
		sigs = append(sigs, s)
	}
	return sigs, nil
}

// Bytes formats the note: the text, a blank line and the signature lines.
// It does not check the note; use Validate for that.
func (n *Note) Bytes() []byte {
	var b strings.Builder
	b.WriteString(n.Text)
	b.WriteString("\n")
	for _, s := range n.Sigs {
		b.WriteString(s.Line())
	}
	return []byte(b.String())
}

// Validate reports whether n formats to a note that ParseNote accepts with
// the same content.
func (n *Note) Validate() error {
	if !strings.HasSuffix(n.Text, "\n") {
		return malformed("text does not end in a newline")
	}
	if len(n.Sigs) == 0 {
		return malformed("no signatures")
	}
	if err := checkText(n.Text); err != nil {
		return err
	}
	for _, s := range n.Sigs {
		if !ValidKeyName(s.Name) || len(s.Sig) == 0 {
			return malformed("bad signature for key %q", s.Name)
		}
	}
	_, err := ParseNote(n.Bytes())
	return err
}

func checkText(text string) error {
	if strings.Trim(text, "\n") == "" {
		return malformed("empty text")
	}
	if !strings.HasSuffix(text, "\n") {
		return malformed("text does not end in a newline")
	}
	return checkNoteChars([]byte(text))
}

// Signer signs note texts. Its method set matches
// golang.org/x/mod/sumdb/note.Signer, so it can be used with that package.
type Signer interface {
	// Name returns the key name.
	Name() string
	// KeyHash returns the key ID, the first 4 bytes (big-endian) of
	// SHA-256(name ‖ 0x0A ‖ signature type ‖ public key).
	KeyHash() uint32
	// Sign returns the signature of msg (without the key ID).
	Sign(msg []byte) ([]byte, error)
}

// Verifier checks note signatures. Its method set matches
// golang.org/x/mod/sumdb/note.Verifier.
type Verifier interface {
	Name() string
	KeyHash() uint32
	// Verify reports whether sig (without the key ID) is a valid
	// signature of msg.
	Verify(msg, sig []byte) bool
}

// Sign signs the note's text with each signer and appends the signature
// lines. A signer whose name and key ID already have a line replaces it.
func (n *Note) Sign(signers ...Signer) error {
	if err := checkText(n.Text); err != nil {
		return err
	}
	for _, s := range signers {
		if !ValidKeyName(s.Name()) {
			return fmt.Errorf("tlog: invalid signer name %q", s.Name())
		}
		sig, err := s.Sign([]byte(n.Text))
		if err != nil {
			return err
		}
		line := Signature{Name: s.Name(), KeyHash: s.KeyHash(), Sig: sig}
		kept := n.Sigs[:0:0]
		for _, old := range n.Sigs {
			if old.Name != line.Name || old.KeyHash != line.KeyHash {
				kept = append(kept, old)
			}
		}
		n.Sigs = append(kept, line)
	}
	if len(n.Sigs) > MaxNoteSignatures {
		return malformed("more than %d signatures", MaxNoteSignatures)
	}
	return nil
}

// SignNote signs text (which must end in a newline) with the signers and
// returns the formatted note.
func SignNote(text string, signers ...Signer) ([]byte, error) {
	n := &Note{Text: text}
	if err := n.Sign(signers...); err != nil {
		return nil, err
	}
	if len(n.Sigs) == 0 {
		return nil, malformed("no signers")
	}
	return n.Bytes(), nil
}

// InvalidSignatureError reports a signature line from a known key that does
// not verify. Such a line makes the whole note invalid.
type InvalidSignatureError struct {
	Name    string
	KeyHash uint32
}

func (e *InvalidSignatureError) Error() string {
	return fmt.Sprintf("tlog: invalid signature from key %s+%08x", e.Name, e.KeyHash)
}

// MissingSignatureError reports that a required key did not sign a note.
type MissingSignatureError struct {
	Name    string
	KeyHash uint32
}

func (e *MissingSignatureError) Error() string {
	return fmt.Sprintf("tlog: no signature from required key %s+%08x", e.Name, e.KeyHash)
}

// ErrNoKnownSignature is returned when no signature of a note is from a
// known key.
var ErrNoKnownSignature = errors.New("tlog: note has no signature from a known key")

// ErrAmbiguousKey is returned (wrapped) when two known verifiers share a name
// and key ID.
var ErrAmbiguousKey = errors.New("tlog: two known keys share a name and key ID")

// Verify checks the note's signatures against the known verifiers and
// returns the verifiers whose signature verified, each once, in the order of
// known. Lines from unknown keys are ignored (a key is known only when both
// name and key ID match). A line from a known key that fails to verify
// makes the note invalid (*InvalidSignatureError). If no known key signed,
// Verify returns ErrNoKnownSignature.
func (n *Note) Verify(known ...Verifier) ([]Verifier, error) {
	ok, err := n.verify(known)
	if err != nil {
		return nil, err
	}
	verified := pick(known, ok)
	if len(verified) == 0 {
		return nil, ErrNoKnownSignature
	}
	return verified, nil
}

// verify reports which known verifiers have a valid signature line.
func (n *Note) verify(known []Verifier) ([]bool, error) {
	type id struct {
		name string
		hash uint32
	}
	byID := make(map[id]int, len(known))
	for i, v := range known {
		k := id{v.Name(), v.KeyHash()}
		if _, dup := byID[k]; dup {
			return nil, fmt.Errorf("%w: %s+%08x", ErrAmbiguousKey, k.name, k.hash)
		}
		byID[k] = i
	}
	ok := make([]bool, len(known))
	for _, s := range n.Sigs {
		i, found := byID[id{s.Name, s.KeyHash}]
		if !found {
			continue
		}
		if !known[i].Verify([]byte(n.Text), s.Sig) {
			return nil, &InvalidSignatureError{Name: s.Name, KeyHash: s.KeyHash}
		}
		ok[i] = true
	}
	return ok, nil
}

func pick(vs []Verifier, ok []bool) []Verifier {
	var out []Verifier
	for i, v := range vs {
		if ok[i] {
			out = append(out, v)
		}
	}
	return out
}

// VerifyAll checks the note against required and optional verifiers, as
// Verify does, and also requires a valid signature from every required
// verifier (*MissingSignatureError otherwise). It returns every verifier
// whose signature verified. truyxuat checks its own checkpoints with both
// the log's Ed25519 and ML-DSA-44 verifiers required.
func (n *Note) VerifyAll(required []Verifier, optional ...Verifier) ([]Verifier, error) {
	all := append(append([]Verifier(nil), required...), optional...)
	ok, err := n.verify(all)
	if err != nil {
		return nil, err
	}
	for i, r := range required {
		if !ok[i] {
			return nil, &MissingSignatureError{Name: r.Name(), KeyHash: r.KeyHash()}
		}
	}
	verified := pick(all, ok)
	if len(verified) == 0 {
		return nil, ErrNoKnownSignature
	}
	return verified, nil
}

// OpenNote parses msg and verifies it with Verify.
func OpenNote(msg []byte, known ...Verifier) (*Note, []Verifier, error) {
	n, err := ParseNote(msg)
	if err != nil {
		return nil, nil, err
	}
	v, err := n.Verify(known...)
	if err != nil {
		return nil, nil, err
	}
	return n, v, nil
}
