package tlog

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/cloudflare/circl/sign/ed25519"
	"github.com/cloudflare/circl/sign/mldsa/mldsa44"
)

// SignatureType is the signed-note signature type byte that prefixes public
// keys in verifier keys and key ID computations.
type SignatureType byte

const (
	// TypeEd25519 is a plain Ed25519 signature over the note text.
	TypeEd25519 SignatureType = 0x01
	// TypeCosignatureV1 is a timestamped Ed25519 witness cosignature
	// (C2SP tlog-cosignature, "cosignature/v1").
	TypeCosignatureV1 SignatureType = 0x04
	// TypeMLDSA44 is a timestamped ML-DSA-44 "subtree/v1" signature
	// (C2SP tlog-cosignature), used by logs and witnesses.
	TypeMLDSA44 SignatureType = 0x06
)

func (t SignatureType) String() string {
	switch t {
	case TypeEd25519:
		return "Ed25519"
	case TypeCosignatureV1:
		return "Ed25519 cosignature/v1"
	case TypeMLDSA44:
		return "ML-DSA-44 subtree/v1"
	}
	return fmt.Sprintf("signature type 0x%02x", byte(t))
}

// publicKeySize returns the public key size of a supported type, or 0.
func (t SignatureType) publicKeySize() int {
	switch t {
	case TypeEd25519, TypeCosignatureV1:
		return ed25519.PublicKeySize
	case TypeMLDSA44:
		return mldsa44.PublicKeySize
	}
	return 0
}

const (
	// SeedSize is the size of the private seed of every supported key type.
	SeedSize = 32
	// timestampSize prefixes timestamped signatures.
	timestampSize = 8
)

// KeyID returns the signed-note key ID of a public key:
// the first 4 bytes, big-endian, of SHA-256(name ‖ 0x0A ‖ type ‖ public key).
func KeyID(name string, typ SignatureType, publicKey []byte) uint32 {
	h := sha256.New()
	h.Write([]byte(name))
	h.Write([]byte{'\n', byte(typ)})
	h.Write(publicKey)
	var sum [sha256.Size]byte
	return binary.BigEndian.Uint32(h.Sum(sum[:0]))
}

// ErrBadKey is returned (wrapped) for malformed, unsupported or inconsistent
// verifier or private keys.
var ErrBadKey = errors.New("tlog: bad key")

// VerifierKey is a public key with its name and signature type. Its text
// form ("vkey") is
//
//	<name>+<key ID as 8 hex digits>+<base64(type byte ‖ public key)>
type VerifierKey struct {
	Name      string
	Type      SignatureType
	PublicKey []byte
}

// KeyHash returns the key ID.
func (k VerifierKey) KeyHash() uint32 { return KeyID(k.Name, k.Type, k.PublicKey) }

// String returns the vkey text form.
func (k VerifierKey) String() string {
	return fmt.Sprintf("%s+%08x+%s", k.Name, k.KeyHash(),
		base64.StdEncoding.EncodeToString(append([]byte{byte(k.Type)}, k.PublicKey...)))
}

// ParseVerifierKey parses a vkey. The name must be a valid key name, the
// key ID exactly 8 lowercase hex digits matching the key, the key canonical standard
// base64 of a supported type byte (Ed25519, cosignature/v1 or ML-DSA-44)
// followed by a public key of that type's size.
func ParseVerifierKey(vkey string) (VerifierKey, error) {
	name, rest, ok1 := strings.Cut(vkey, "+")
	id16, key64, ok2 := strings.Cut(rest, "+")
	if !ok1 || !ok2 || !ValidKeyName(name) {
		return VerifierKey{}, fmt.Errorf("%w: malformed verifier key", ErrBadKey)
	}
	id, err := parseKeyID(id16)
	if err != nil {
		return VerifierKey{}, err
	}
	raw, err := decodeBase64(key64)
	if err != nil || len(raw) < 1 {
		return VerifierKey{}, fmt.Errorf("%w: verifier key is not standard base64", ErrBadKey)
	}
	k := VerifierKey{Name: name, Type: SignatureType(raw[0]), PublicKey: raw[1:]}
	size := k.Type.publicKeySize()
	if size == 0 {
		return VerifierKey{}, fmt.Errorf("%w: unsupported %v", ErrBadKey, k.Type)
	}
	if len(k.PublicKey) != size {
		return VerifierKey{}, fmt.Errorf("%w: %v public key has %d bytes, want %d", ErrBadKey, k.Type, len(k.PublicKey), size)
	}
	if k.KeyHash() != id {
		return VerifierKey{}, fmt.Errorf("%w: key ID %s does not match the key", ErrBadKey, id16)
	}
	return k, nil
}

// parseKeyID reads a key ID as keys are written: 8 lowercase hex digits.
// Capitals are refused, so that a key has one spelling and a parsed key
// writes back as it was read.
func parseKeyID(s string) (uint32, error) {
	bad := fmt.Errorf("%w: key ID must be 8 lowercase hex digits", ErrBadKey)
	if len(s) != 8 || strings.ToLower(s) != s {
		return 0, bad
	}
	b, err := hex.DecodeString(s)
	if err != nil {
		return 0, bad
	}
	return binary.BigEndian.Uint32(b), nil
}

// NewVerifier parses a vkey and returns its verifier.
func NewVerifier(vkey string) (Verifier, error) {
	k, err := ParseVerifierKey(vkey)
	if err != nil {
		return nil, err
	}
	return k.Verifier()
}

// Verifier returns a verifier for the key:
//   - TypeEd25519: Ed25519 over the note text;
//   - TypeCosignatureV1: timestamp ‖ Ed25519 over
//     "cosignature/v1\ntime <timestamp>\n" ‖ note text, the text being a
//     checkpoint;
//   - TypeMLDSA44: timestamp ‖ ML-DSA-44 over the binary subtree/v1
//     message for the checkpoint in the note text (start 0, end = size).
func (k VerifierKey) Verifier() (Verifier, error) {
	if !ValidKeyName(k.Name) || len(k.PublicKey) != k.Type.publicKeySize() {
		return nil, fmt.Errorf("%w: invalid %v verifier key %q", ErrBadKey, k.Type, k.Name)
	}
	v := &keyVerifier{name: k.Name, id: k.KeyHash()}
	switch k.Type {
	case TypeEd25519:
		pub := ed25519.PublicKey(append([]byte(nil), k.PublicKey...))
		v.verify = func(msg, sig []byte) bool {
			return len(sig) == ed25519.SignatureSize && ed25519.Verify(pub, msg, sig)
		}
	case TypeCosignatureV1:
		pub := ed25519.PublicKey(append([]byte(nil), k.PublicKey...))
		v.verify = func(msg, sig []byte) bool {
			if len(sig) != timestampSize+ed25519.SignatureSize {
				return false
			}
			ts := binary.BigEndian.Uint64(sig)
			if ts > math.MaxInt64 {
				return false
			}
			if _, err := ParseCheckpoint(string(msg)); err != nil {
				return false
			}
			return ed25519.Verify(pub, cosignatureV1Message(ts, msg), sig[timestampSize:])
		}
	case TypeMLDSA44:
		pub := new(mldsa44.PublicKey)
		if err := pub.UnmarshalBinary(k.PublicKey); err != nil {
			return nil, fmt.Errorf("%w: %v", ErrBadKey, err)
		}
		name := k.Name
		v.verify = func(msg, sig []byte) bool {
			if len(sig) != timestampSize+mldsa44.SignatureSize {
				return false
			}
			ts := binary.BigEndian.Uint64(sig)
			if ts > math.MaxInt64 {
				return false
			}
			c, err := ParseCheckpoint(string(msg))
			if err != nil {
				return false
			}
			m, err := SubtreeMessage(name, ts, c.Origin, 0, c.Size, c.Root)
			if err != nil {
				return false
			}
			return mldsa44.Verify(pub, m, nil, sig[timestampSize:])
		}
	}
	return v, nil
}

type keyVerifier struct {
	name   string
	id     uint32
	verify func(msg, sig []byte) bool
}

func (v *keyVerifier) Name() string                { return v.name }
func (v *keyVerifier) KeyHash() uint32             { return v.id }
func (v *keyVerifier) Verify(msg, sig []byte) bool { return v.verify(msg, sig) }

// cosignatureV1Message is the message an Ed25519 cosignature/v1 signs.
func cosignatureV1Message(ts uint64, text []byte) []byte {
	m := make([]byte, 0, 32+len(text))
	m = append(m, "cosignature/v1\ntime "...)
	m = strconv.AppendUint(m, ts, 10)
	m = append(m, '\n')
	return append(m, text...)
}

// SubtreeMessage returns the binary message an ML-DSA-44 subtree/v1
// signature signs (C2SP tlog-cosignature): the 12 bytes "subtree/v1\n\x00",
// the signer name (one length byte, then the bytes), the timestamp (uint64
// big-endian), the log origin (one length byte, then the bytes), start and
// end (uint64 big-endian) and the 32-byte root hash. For a checkpoint, start
// is 0 and end is the tree size. Name and origin must be 1–255 bytes, and a
// non-zero start requires a zero timestamp.
func SubtreeMessage(name string, timestamp uint64, origin string, start, end uint64, root Hash) ([]byte, error) {
	if len(name) < 1 || len(name) > 255 || len(origin) < 1 || len(origin) > 255 {
		return nil, errors.New("tlog: subtree/v1 name and origin must be 1 to 255 bytes")
	}
	if start != 0 && timestamp != 0 {
		return nil, errors.New("tlog: subtree/v1 timestamp must be zero when start is not")
	}
	const label = "subtree/v1\n\x00"
	m := make([]byte, 0, len(label)+1+len(name)+8+1+len(origin)+8+8+HashSize)
	m = append(m, label...)
	m = append(m, byte(len(name)))
	m = append(m, name...)
	m = binary.BigEndian.AppendUint64(m, timestamp)
	m = append(m, byte(len(origin)))
	m = append(m, origin...)
	m = binary.BigEndian.AppendUint64(m, start)
	m = binary.BigEndian.AppendUint64(m, end)
	return append(m, root[:]...), nil
}

// PrivateKey is a named signing key of one signature type, held as its
// 32-byte seed. Its key file form ("skey") is
//
//	PRIVATE+KEY+<name>+<key ID as 8 hex digits>+<base64(type byte ‖ seed)>
//
// For TypeEd25519 this is the form golang.org/x/mod/sumdb/note uses; for
// TypeMLDSA44 and TypeCosignatureV1 it is the form
// github.com/transparency-dev/formats/note reads (the seed being the FIPS 204
// ML-DSA-44 key generation seed ξ, or the RFC 8032 Ed25519 seed).
type PrivateKey struct {
	name string
	typ  SignatureType
	seed []byte
	pub  []byte
	ed   ed25519.PrivateKey
	ml   *mldsa44.PrivateKey
}

// NewPrivateKey derives a key of the given type from a 32-byte seed.
func NewPrivateKey(name string, typ SignatureType, seed []byte) (*PrivateKey, error) {
	if !ValidKeyName(name) {
		return nil, fmt.Errorf("%w: invalid key name %q", ErrBadKey, name)
	}
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("%w: seed must be %d bytes", ErrBadKey, SeedSize)
	}
	k := &PrivateKey{name: name, typ: typ, seed: append([]byte(nil), seed...)}
	switch typ {
	case TypeEd25519, TypeCosignatureV1:
		k.ed = ed25519.NewKeyFromSeed(k.seed)
		k.pub = append([]byte(nil), k.ed.Public().(ed25519.PublicKey)...)
	case TypeMLDSA44:
		if len(name) > 255 {
			return nil, fmt.Errorf("%w: ML-DSA-44 key name longer than 255 bytes", ErrBadKey)
		}
		pub, priv := mldsa44.NewKeyFromSeed((*[mldsa44.SeedSize]byte)(k.seed))
		k.ml = priv
		k.pub = pub.Bytes()
	default:
		return nil, fmt.Errorf("%w: unsupported %v", ErrBadKey, typ)
	}
	return k, nil
}

// GenerateKey generates a key of the given type, reading its 32-byte seed
// from rand (crypto/rand.Reader in production).
func GenerateKey(rand io.Reader, name string, typ SignatureType) (*PrivateKey, error) {
	seed := make([]byte, SeedSize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, err
	}
	return NewPrivateKey(name, typ, seed)
}

// ParsePrivateKey parses an skey (surrounding whitespace is not allowed) and
// checks that its key ID matches the derived public key.
func ParsePrivateKey(skey string) (*PrivateKey, error) {
	rest, ok := strings.CutPrefix(skey, "PRIVATE+KEY+")
	name, rest, ok1 := strings.Cut(rest, "+")
	id16, key64, ok2 := strings.Cut(rest, "+")
	if !ok || !ok1 || !ok2 {
		return nil, fmt.Errorf("%w: malformed private key", ErrBadKey)
	}
	id, err := parseKeyID(id16)
	if err != nil {
		return nil, err
	}
	raw, err := decodeBase64(key64)
	if err != nil || len(raw) != 1+SeedSize {
		return nil, fmt.Errorf("%w: private key is not base64 of a type byte and a 32-byte seed", ErrBadKey)
	}
	k, err := NewPrivateKey(name, SignatureType(raw[0]), raw[1:])
	if err != nil {
		return nil, err
	}
	if k.Public().KeyHash() != id {
		return nil, fmt.Errorf("%w: private key ID %s does not match the key", ErrBadKey, id16)
	}
	return k, nil
}

// ParseKeyFile parses a key file: one skey per line; empty lines and lines
// starting with "#" are ignored.
func ParseKeyFile(data []byte) ([]*PrivateKey, error) {
	var keys []*PrivateKey
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSuffix(line, "\r")
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, err := ParsePrivateKey(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", i+1, err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("%w: no key in key file", ErrBadKey)
	}
	return keys, nil
}

// Name returns the key name.
func (k *PrivateKey) Name() string { return k.name }

// Type returns the signature type.
func (k *PrivateKey) Type() SignatureType { return k.typ }

// Public returns the verifier key.
func (k *PrivateKey) Public() VerifierKey {
	return VerifierKey{Name: k.name, Type: k.typ, PublicKey: append([]byte(nil), k.pub...)}
}

// Encode returns the skey text form. It is secret.
func (k *PrivateKey) Encode() string {
	return fmt.Sprintf("PRIVATE+KEY+%s+%08x+%s", k.name, k.Public().KeyHash(),
		base64.StdEncoding.EncodeToString(append([]byte{byte(k.typ)}, k.seed...)))
}

// String returns the skey with the secret part redacted, so that a key
// printed by mistake does not leak.
func (k *PrivateKey) String() string {
	return fmt.Sprintf("PRIVATE+KEY+%s+%08x+REDACTED", k.name, k.Public().KeyHash())
}

// Signer returns a signer for the key. Timestamped types (cosignature/v1 and
// ML-DSA-44) take the signature time from now, or from time.Now if now is
// nil. ML-DSA-44 signatures are hedged (randomized) and Ed25519 signatures
// deterministic. Timestamped types sign only checkpoint texts.
func (k *PrivateKey) Signer(now func() time.Time) Signer {
	if now == nil {
		now = time.Now
	}
	return &keySigner{k: k, id: k.Public().KeyHash(), now: now}
}

type keySigner struct {
	k   *PrivateKey
	id  uint32
	now func() time.Time
}

func (s *keySigner) Name() string    { return s.k.name }
func (s *keySigner) KeyHash() uint32 { return s.id }

func (s *keySigner) Sign(msg []byte) ([]byte, error) {
	if s.k.typ == TypeEd25519 {
		return ed25519.Sign(s.k.ed, msg), nil
	}
	c, err := ParseCheckpoint(string(msg))
	if err != nil {
		return nil, fmt.Errorf("tlog: %v signs only checkpoints: %w", s.k.typ, err)
	}
	t := s.now().Unix()
	if t < 0 {
		return nil, errors.New("tlog: signature time before 1970")
	}
	ts := uint64(t)
	sig := binary.BigEndian.AppendUint64(nil, ts)
	switch s.k.typ {
	case TypeCosignatureV1:
		return append(sig, ed25519.Sign(s.k.ed, cosignatureV1Message(ts, msg))...), nil
	case TypeMLDSA44:
		m, err := SubtreeMessage(s.k.name, ts, c.Origin, 0, c.Size, c.Root)
		if err != nil {
			return nil, err
		}
		out := make([]byte, timestampSize+mldsa44.SignatureSize)
		copy(out, sig)
		if err := mldsa44.SignTo(s.k.ml, m, nil, true, out[timestampSize:]); err != nil {
			return nil, err
		}
		return out, nil
	}
	return nil, fmt.Errorf("%w: unsupported %v", ErrBadKey, s.k.typ)
}
