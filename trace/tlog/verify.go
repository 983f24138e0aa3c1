package tlog

import (
	"errors"
	"fmt"
)

// ErrProofMismatch is returned (wrapped) when a proof is well formed but does
// not lead to the expected root hash.
var ErrProofMismatch = errors.New("tlog: proof does not match root hash")

// ErrBadProof is returned (wrapped) when a proof has the wrong shape for the
// sizes and index it is checked against.
var ErrBadProof = errors.New("tlog: malformed proof")

// RootFromInclusionProof returns the root hash that an RFC 6962 inclusion
// proof for leafHash at index in a tree of the given size leads to
// (the algorithm of RFC 9162 §2.1.3.2).
func RootFromInclusionProof(leafHash Hash, index, size uint64, proof []Hash) (Hash, error) {
	if index >= size {
		return Hash{}, fmt.Errorf("%w: index %d not in tree of size %d", ErrBadProof, index, size)
	}
	fn, sn := index, size-1
	r := leafHash
	for _, p := range proof {
		if sn == 0 {
			return Hash{}, fmt.Errorf("%w: inclusion proof too long", ErrBadProof)
		}
		if fn&1 == 1 || fn == sn {
			r = NodeHash(p, r)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			r = NodeHash(r, p)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return Hash{}, fmt.Errorf("%w: inclusion proof too short", ErrBadProof)
	}
	return r, nil
}

// VerifyInclusion checks an RFC 6962 §2.1.1 inclusion proof that the leaf
// with hash leafHash is entry index of the tree of the given size and root.
func VerifyInclusion(leafHash Hash, index, size uint64, proof []Hash, root Hash) error {
	r, err := RootFromInclusionProof(leafHash, index, size, proof)
	if err != nil {
		return err
	}
	if r != root {
		return fmt.Errorf("%w: inclusion proof for index %d in size %d", ErrProofMismatch, index, size)
	}
	return nil
}

// VerifyConsistency checks an RFC 6962 §2.1.2 consistency proof that the
// tree of size oldSize and root oldRoot is a prefix of the tree of size
// newSize and root newRoot (the algorithm of RFC 9162 §2.1.4.2). The proof
// must be empty when oldSize is 0 (any tree extends the empty tree, and
// oldRoot is not checked) or equals newSize (then the roots must be equal).
func VerifyConsistency(oldSize, newSize uint64, proof []Hash, oldRoot, newRoot Hash) error {
	switch {
	case oldSize > newSize:
		return fmt.Errorf("%w: old size %d exceeds new size %d", ErrBadProof, oldSize, newSize)
	case oldSize == 0 || oldSize == newSize:
		if len(proof) != 0 {
			return fmt.Errorf("%w: consistency proof from %d to %d must be empty", ErrBadProof, oldSize, newSize)
		}
		if oldSize == newSize && oldRoot != newRoot {
			return fmt.Errorf("%w: different roots for the same size %d", ErrProofMismatch, oldSize)
		}
		return nil
	case len(proof) == 0:
		return fmt.Errorf("%w: empty consistency proof from %d to %d", ErrBadProof, oldSize, newSize)
	}
	// If the old tree is a complete subtree, its root is the proof's
	// implicit first element.
	if oldSize&(oldSize-1) == 0 {
		proof = append([]Hash{oldRoot}, proof...)
	}
	fn, sn := oldSize-1, newSize-1
	for fn&1 == 1 {
		fn >>= 1
		sn >>= 1
	}
	fr, sr := proof[0], proof[0]
	for _, c := range proof[1:] {
		if sn == 0 {
			return fmt.Errorf("%w: consistency proof too long", ErrBadProof)
		}
		if fn&1 == 1 || fn == sn {
			fr = NodeHash(c, fr)
			sr = NodeHash(c, sr)
			for fn&1 == 0 && fn != 0 {
				fn >>= 1
				sn >>= 1
			}
		} else {
			sr = NodeHash(sr, c)
		}
		fn >>= 1
		sn >>= 1
	}
	if sn != 0 {
		return fmt.Errorf("%w: consistency proof too short", ErrBadProof)
	}
	if fr != oldRoot || sr != newRoot {
		return fmt.Errorf("%w: consistency proof from %d to %d", ErrProofMismatch, oldSize, newSize)
	}
	return nil
}
