package tlog

import (
	"crypto/sha256"
	"encoding/base64"
	"errors"
)

// HashSize is the size in bytes of a SHA-256 hash.
const HashSize = sha256.Size

// Hash is a SHA-256 hash: a leaf hash, an interior node hash or a root hash.
type Hash [HashSize]byte

// String returns the standard base64 encoding (with padding) of h, as used
// in checkpoints, witness requests and offline proofs.
func (h Hash) String() string {
	return base64.StdEncoding.EncodeToString(h[:])
}

// MarshalText implements encoding.TextMarshaler using the base64 form.
func (h Hash) MarshalText() ([]byte, error) {
	return []byte(h.String()), nil
}

// UnmarshalText implements encoding.TextUnmarshaler using the base64 form.
func (h *Hash) UnmarshalText(b []byte) error {
	x, err := ParseHash(string(b))
	if err != nil {
		return err
	}
	*h = x
	return nil
}

var errBadHash = errors.New("tlog: malformed hash: want standard base64 of 32 bytes")

// ParseHash parses the standard base64 encoding of a 32-byte hash. It accepts
// only the canonical encoding: exactly 44 characters with "=" padding, no
// URL-safe alphabet, no whitespace and no non-zero trailing bits.
func ParseHash(s string) (Hash, error) {
	var h Hash
	if len(s) != base64.StdEncoding.EncodedLen(HashSize) {
		return h, errBadHash
	}
	b, err := decodeBase64(s)
	if err != nil || len(b) != HashSize {
		return h, errBadHash
	}
	copy(h[:], b)
	return h, nil
}

// decodeBase64 decodes standard, padded base64 and accepts only the
// canonical encoding of the result.
func decodeBase64(s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, err
	}
	// The decoder skips '\r' and '\n'; canonical text has none of them.
	if base64.StdEncoding.EncodeToString(b) != s {
		return nil, errors.New("tlog: non-canonical base64")
	}
	return b, nil
}

// LeafHash returns the RFC 6962 hash of a log entry: SHA-256(0x00 ‖ entry).
func LeafHash(entry []byte) Hash {
	h := sha256.New()
	h.Write([]byte{0x00})
	h.Write(entry)
	var out Hash
	h.Sum(out[:0])
	return out
}

// NodeHash returns the RFC 6962 hash of an interior node:
// SHA-256(0x01 ‖ left ‖ right).
func NodeHash(left, right Hash) Hash {
	var buf [1 + 2*HashSize]byte
	buf[0] = 0x01
	copy(buf[1:], left[:])
	copy(buf[1+HashSize:], right[:])
	return sha256.Sum256(buf[:])
}

// EmptyRoot returns the root hash of the empty tree, SHA-256 of no bytes.
func EmptyRoot() Hash {
	return sha256.Sum256(nil)
}

// RootFromLeaves computes the RFC 6962 Merkle tree hash of a list of leaf
// hashes held in memory. It is meant for small trees (for example a batch
// being checked before appending); logs stored as tiles use [RootAt].
func RootFromLeaves(leaves []Hash) Hash {
	if len(leaves) == 0 {
		return EmptyRoot()
	}
	// Fold complete subtrees on a stack, as a compact range does.
	stack := make([]Hash, 0, 64)
	for i, h := range leaves {
		stack = append(stack, h)
		for n := uint64(i) + 1; n&1 == 0; n >>= 1 {
			l := len(stack)
			stack[l-2] = NodeHash(stack[l-2], stack[l-1])
			stack = stack[:l-1]
		}
	}
	return foldRight(stack)
}

// foldRight combines the hashes of a tree's complete subtrees, listed from
// left to right, into the tree's root.
func foldRight(parts []Hash) Hash {
	h := parts[len(parts)-1]
	for i := len(parts) - 2; i >= 0; i-- {
		h = NodeHash(parts[i], h)
	}
	return h
}
