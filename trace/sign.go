package trace

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"

	"github.com/cloudflare/circl/sign/ed25519"
)

// Sizes of Ed25519 keys and signatures.
const (
	PublicKeySize = ed25519.PublicKeySize
	SignatureSize = ed25519.SignatureSize
	SeedSize      = ed25519.SeedSize
)

// Signer signs events with one Ed25519 key.
type Signer struct {
	priv ed25519.PrivateKey
	pub  []byte
}

// GenerateSigner makes a new Ed25519 key from rand.
func GenerateSigner(rand io.Reader) (*Signer, error) {
	seed := make([]byte, SeedSize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return NewSigner(seed)
}

// NewSigner makes a signer from a 32-byte Ed25519 seed.
func NewSigner(seed []byte) (*Signer, error) {
	if len(seed) != SeedSize {
		return nil, fmt.Errorf("an Ed25519 seed has %d bytes, got %d", SeedSize, len(seed))
	}
	priv := ed25519.NewKeyFromSeed(seed)
	return &Signer{priv: priv, pub: append([]byte(nil), priv.Public().(ed25519.PublicKey)...)}, nil
}

// PublicKey returns the signer's 32-byte public key.
func (s *Signer) PublicKey() []byte { return s.pub }

// Seed returns the 32-byte seed the key is made from (for a key file).
func (s *Signer) Seed() []byte { return s.priv.Seed() }

// KeyID returns a short, stable name for a public key: the first 8 bytes of
// its SHA-256 in hex.
func KeyID(pub []byte) string {
	h := sha256.Sum256(pub)
	return hex.EncodeToString(h[:8])
}

// SignedEvent is an event with its canonical bytes, their hash, the Ed25519
// signature over those bytes and the signer's public key.
type SignedEvent struct {
	Event     *Event
	Body      []byte // canonical bytes
	Hash      Hash   // SHA-256 of Body
	Signature []byte // Ed25519 over Body
	Signer    []byte // Ed25519 public key
}

// Sign validates and encodes e and signs its canonical bytes.
func (s *Signer) Sign(e *Event) (*SignedEvent, error) {
	se, err := Prepare(e)
	if err != nil {
		return nil, err
	}
	s.Seal(se)
	return se, nil
}

// Prepare validates and encodes e and returns it with its bytes and hash
// but no signature yet (see Seal). It lets a store fix an event's place in
// its chain first and sign later, off its critical path.
func Prepare(e *Event) (*SignedEvent, error) {
	body, err := e.Encode()
	if err != nil {
		return nil, err
	}
	return &SignedEvent{Event: e, Body: body, Hash: HashEvent(body)}, nil
}

// Seal signs an event made by Prepare.
func (s *Signer) Seal(se *SignedEvent) {
	se.Signature = s.sign(se.Body)
	se.Signer = s.pub
}

func (s *Signer) sign(msg []byte) []byte { return ed25519.Sign(s.priv, msg) }

func verifySignature(pub, msg, sig []byte) bool {
	return len(pub) == PublicKeySize && len(sig) == SignatureSize && ed25519.Verify(ed25519.PublicKey(pub), msg, sig)
}

// SignMessage signs a message that carries its own domain prefix, such as
// a label signature ("truyxuat label signature v1\n…"), so that it can
// never be mistaken for an event's canonical bytes (which start with '{').
func (s *Signer) SignMessage(msg []byte) ([]byte, error) {
	if len(msg) == 0 || msg[0] == '{' {
		return nil, fmt.Errorf("sign: refusing a message without a domain prefix")
	}
	return ed25519.Sign(s.priv, msg), nil
}

// OpenEvent decodes canonical bytes and checks the signature over them. It
// does not check that the signer belongs to the event's cooperative: that is
// VerifyHistory's job, which knows the keys.
func OpenEvent(body, sig, signer []byte) (*SignedEvent, error) {
	e, err := Decode(body)
	if err != nil {
		return nil, &VerifyError{Reason: ReasonMalformed, Detail: err.Error()}
	}
	se := &SignedEvent{Event: e, Body: body, Hash: HashEvent(body), Signature: sig, Signer: signer}
	if err := se.checkSignature(); err != nil {
		return nil, err
	}
	return se, nil
}

func (se *SignedEvent) checkSignature() error {
	if len(se.Signer) != PublicKeySize {
		return &VerifyError{Hash: se.Hash.String(), Reason: ReasonUnknownKey, Detail: fmt.Sprintf("signer key has %d bytes, want %d", len(se.Signer), PublicKeySize)}
	}
	if !verifySignature(se.Signer, se.Body, se.Signature) {
		return &VerifyError{Hash: se.Hash.String(), Reason: ReasonBadSignature, Detail: "the Ed25519 signature does not match the event's bytes and the signer's key " + KeyID(se.Signer)}
	}
	return nil
}

// logEntryPrefix separates truyxuat's log entries from any other use of
// the same hashes.
const logEntryPrefix = "truyxuat log entry v1\n"

// LogEntry returns the 32-byte entry under which a signed event is recorded
// in the transparency log: SHA-256 of the ASCII text "truyxuat log entry
// v1" and a newline (0x0A), then the event hash (32 bytes, the SHA-256 of
// its canonical bytes), the Ed25519 signature (64 bytes) and the signer's
// public key (32 bytes). The log's leaf hash is then SHA-256(0x00 ‖ entry)
// as RFC 6962 defines.
func LogEntry(se *SignedEvent) []byte { return logEntry(se.Hash, se.Signature, se.Signer) }

func logEntry(hash Hash, sig, signer []byte) []byte {
	h := sha256.New()
	h.Write([]byte(logEntryPrefix))
	h.Write(hash[:])
	h.Write(sig)
	h.Write(signer)
	return h.Sum(nil)
}

// KeySet answers which public keys sign for a cooperative.
type KeySet func(cooperativeID string) [][]byte

// VerifyChain checks a batch's history from its first event without
// looking at signatures: each event's bytes are canonical and hash to its
// hash, it belongs to the batch, its seq is its position, and it links to
// the event before it. The store runs it on every read.
func VerifyChain(batchID string, events []*SignedEvent) error {
	return verify(batchID, events, nil, false)
}

// VerifyHistory is VerifyChain plus, for each event, a check that its
// signer is a key of its cooperative (when keys is not nil) and that its
// signature verifies. It returns a *VerifyError naming the first event that
// fails.
func VerifyHistory(batchID string, events []*SignedEvent, keys KeySet) error {
	return verify(batchID, events, keys, true)
}

// VerifyHistoryFrom is VerifyHistory for a history whose first start
// events were verified before (a cached prefix): only events[start:] are
// checked, the first of them against events[start-1]. A grown chain then
// costs only its new events.
func VerifyHistoryFrom(batchID string, events []*SignedEvent, start int, keys KeySet) error {
	if start < 0 || start > len(events) {
		return fmt.Errorf("verify: start %d outside a history of %d events", start, len(events))
	}
	var prev Hash
	if start > 0 {
		prev = events[start-1].Hash
	}
	return verifyFrom(batchID, events, start, prev, keys, true)
}

func verify(batchID string, events []*SignedEvent, keys KeySet, signatures bool) error {
	return verifyFrom(batchID, events, 0, Hash{}, keys, signatures)
}

func verifyFrom(batchID string, events []*SignedEvent, start int, prev Hash, keys KeySet, signatures bool) error {
	for i := start; i < len(events); i++ {
		se := events[i]
		fail := func(r VerifyReason, format string, args ...any) error {
			return &VerifyError{Index: i, Hash: se.Hash.String(), Reason: r, Detail: fmt.Sprintf(format, args...)}
		}
		e, err := Decode(se.Body)
		if err != nil {
			return fail(ReasonMalformed, "%v", err)
		}
		if h := HashEvent(se.Body); h != se.Hash {
			return fail(ReasonBadHash, "the bytes hash to %s", h)
		}
		if e.Batch != batchID {
			return fail(ReasonBrokenLink, "the event belongs to batch %s, not %s", e.Batch, batchID)
		}
		if e.Seq != uint64(i) {
			return fail(ReasonWrongOrder, "the event says it is number %d of its batch, but it is at position %d", e.Seq, i)
		}
		if e.Prev != prev {
			if i == 0 {
				return fail(ReasonBrokenLink, "the first event of a batch must not link to a previous event")
			}
			return fail(ReasonBrokenLink, "the event links to %s, but the event before it is %s", e.Prev, prev)
		}
		se.Event = e
		if signatures {
			if keys != nil && !containsKey(keys(e.Cooperative), se.Signer) {
				return fail(ReasonUnknownKey, "key %s is not a key of cooperative %s", KeyID(se.Signer), e.Cooperative)
			}
			if err := se.checkSignature(); err != nil {
				ve := err.(*VerifyError)
				ve.Index = i
				return ve
			}
		}
		prev = se.Hash
	}
	return nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, c := range keys {
		if string(c) == string(k) {
			return true
		}
	}
	return false
}
