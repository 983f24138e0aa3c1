// Package tlog implements truyxuat's transparency log: one append-only
// RFC 6962 Merkle tree of every event of every harvest batch, stored as
// C2SP tlog-tiles, with signed checkpoints (C2SP signed-note and
// tlog-checkpoint), witness cosigning (tlog-cosignature, tlog-witness),
// witness policies (tlog-policy) and offline proofs (tlog-proof).
//
// The package is pure: it performs no I/O and keeps no state. Storage reads
// go through the small [TileReader] and [BundleReader] interfaces, and every
// operation that changes the log returns what to store.
//
// # Merkle tree
//
// Hashes are SHA-256 ([Hash]). For entry bytes e, the leaf hash is
// SHA-256(0x00 ‖ e) ([LeafHash]); an interior node is SHA-256(0x01 ‖ left ‖
// right) ([NodeHash]); the empty tree's root is SHA-256 of no bytes
// ([EmptyRoot]). A tree of n > 1 leaves splits at the largest power of two
// smaller than n. Inclusion proofs list the sibling hashes from the leaf
// upwards (RFC 6962 §2.1.1); consistency proofs are RFC 6962 §2.1.2
// SUBPROOF. [VerifyInclusion] and [VerifyConsistency] follow RFC 9162
// §2.1.3.2 and §2.1.4.2. A consistency proof from size 0, or between equal
// sizes, is empty.
//
// # Tiles
//
// Tiles have height 8. The hash tile at level L, index N holds up to 256
// consecutive 32-byte hashes; hash i is the tree hash of entries
// [(N·256+i)·256^L, (N·256+i+1)·256^L). A full tile is 8,192 bytes. The
// partial tile at level L of a tree of size s has width floor(s/256^L) mod
// 256 and holds only hashes of complete subtrees. An entry bundle (index N)
// holds entries N·256 … N·256+255, each as a big-endian uint16 length and the
// entry bytes ([EncodeBundle], [ParseBundle]); entries are at most 65,535
// bytes.
//
// Paths ([Tile.Path], [ParseTilePath]) are relative to the log prefix:
//
//	tile/<L>/<N>[.p/<W>]
//	tile/entries/<N>[.p/<W>]
//
// L is 0–63 in decimal without leading zeros; N is written in three-digit
// groups, all but the last prefixed with "x" (1234067 → x001/x234/067,
// 5 → 005); ".p/<W>" (W 1–255, no leading zeros) marks a partial tile.
// Parsing rejects every other spelling.
//
// # Storing a log
//
// A store keeps, per log, the tree size, the latest bytes of each hash tile
// keyed by (level, index), the latest bytes of each entry bundle keyed by
// index, and the signed checkpoints it publishes. To append entries, in one
// transaction:
//
//	bundles, leafHashes, err := tlog.AppendEntries(store, size, entries)
//	tiles, root, err := tlog.Append(store, size, leafHashes)
//	// write every bundles[i].Data under bundles[i].Index and every
//	// tiles[i].Data under (tiles[i].Level, tiles[i].Index), replacing
//	// what was there; set size += len(entries)
//	note, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: size, Root: root}, edSigner, mldsaSigner)
//
// Append reads at most one tile per level (the partial tile at the old
// edge) plus the edge tiles of unchanged levels for the root, so an append
// of k leaves costs O(k + log n); it never scans the log. Full tiles never
// change once written. A partial tile for an older size is a prefix of the
// stored bytes ([TilePrefix]), so one stored value per tile serves every
// older checkpoint, and [TilesForSize] lists the partial tiles a checkpoint
// of a given size refers to.
//
// [RootAt], [ProveInclusion] and [ProveConsistency] work for any size up to
// the stored size and read O(log n) tiles: at most one per level for a root,
// two for an inclusion proof and three for a consistency proof.
//
// # Signed notes
//
// A signed note ([Note], [ParseNote], [SignNote]) is UTF-8 text without
// control characters other than newline: the text, ending in a newline; a
// blank line; and one or more signature lines
//
//	— <key name> <base64(key ID ‖ signature)>\n
//
// where "—" is U+2014 EM DASH followed by a space, base64 is standard with
// padding (RFC 4648 §4), and the key ID is 4 bytes big-endian. The signed
// message is the text including its final newline. The text is separated
// from the signatures by the last blank line. Parsing is strict and
// round-trips: any accepted note formats back to the same bytes. It
// accepts at most [MaxNoteSignatures] signatures and [MaxNoteSize] bytes.
//
// A key ID is the first 4 bytes, big-endian, of SHA-256(key name ‖ 0x0A ‖
// type ‖ public key) ([KeyID]). A verifier key ("vkey", [VerifierKey]) is
//
//	<name>+<key ID, 8 lowercase hex digits>+<base64(type ‖ public key)>
//
// and a private key ("skey", [PrivateKey]), as stored in key files
// ([ParseKeyFile]: one skey per line, "#" comments), is
//
//	PRIVATE+KEY+<name>+<key ID, 8 lowercase hex digits>+<base64(type ‖ 32-byte seed)>
//
// the form golang.org/x/mod/sumdb/note uses for Ed25519 and
// github.com/transparency-dev/formats/note uses for cosignature and ML-DSA-44
// keys. Key files are secret.
//
// Signature types ([SignatureType]):
//
//   - 0x01 [TypeEd25519]: a 64-byte Ed25519 (RFC 8032) signature of the
//     text; public key 32 bytes, seed the RFC 8032 private key.
//
//   - 0x04 [TypeCosignatureV1]: a witness cosignature: 8-byte big-endian
//     timestamp (POSIX seconds, at most 2^63−1) ‖ 64-byte Ed25519 signature
//     of "cosignature/v1\ntime <timestamp in decimal>\n" ‖ text; the text
//     must be a checkpoint.
//
//   - 0x06 [TypeMLDSA44]: 8-byte big-endian timestamp ‖ 2,420-byte
//     ML-DSA-44 (FIPS 204, pure, empty context, hedged) signature of the
//     binary subtree/v1 message ([SubtreeMessage]):
//
//     "subtree/v1\n\x00" ‖ uint8 len(name) ‖ name ‖ uint64 timestamp ‖
//     uint8 len(origin) ‖ origin ‖ uint64 start ‖ uint64 end ‖ root[32]
//
//     with start 0 and end the tree size for a checkpoint; public key 1,312
//     bytes, seed the FIPS 204 key generation seed ξ. Checkpoint extension
//     lines are not signed. The log signs its own checkpoints with this type
//     too, with its origin as name and the signing time as timestamp (the
//     checkpoint is the largest tree the log has at that time).
//
// truyxuat's log signs every checkpoint with both an Ed25519 key and an
// ML-DSA-44 key named after the origin; its own readers require both
// ([Note.VerifyAll], [OpenCheckpoint], [CheckpointVerifier]). Verification
// ignores lines from unknown keys (a key is known when name and key ID both
// match); a line from a known key that fails to verify makes the note
// invalid ([InvalidSignatureError]).
//
// # Checkpoints
//
// A checkpoint ([Checkpoint]) is the note text
//
//	<origin>\n<tree size>\n<base64 root hash>\n[<extension line>\n]…
//
// with a non-empty origin, the size in decimal without sign or leading
// zeros, the root hash as 44 characters of standard base64 of 32 bytes, and
// optional non-empty extension lines (truyxuat writes none).
//
// # Witnessing
//
// An add-checkpoint request body ([AddCheckpointRequest]) is
//
//	old <size>\n
//	<base64 hash>\n      (0–63 consistency proof lines)
//	\n
//	<signed checkpoint>
//
// [Witness.AddCheckpoint] checks one against the witness's latest cosigned
// tree head for the origin (kept by the caller) and the log's trusted keys,
// and answers with the cosignature lines or a [WitnessError] carrying the
// HTTP status: 400 malformed (or old size above the checkpoint size), 404
// unknown origin, 403 no valid log signature, 409 old size is not the
// latest cosigned size, or same size with another root (body: the latest
// size and a newline, content type "text/x.tlog.size"), 422 consistency
// proof does not verify. [AddCosignatures] merges a witness's answer into
// the log's checkpoint.
//
// # Policies
//
// [ParsePolicy] reads a tlog-policy file of "log <vkey> [<url>]",
// "witness <name> <vkey> [<url>]", "group <name> <k|all|any> <member>…" and
// one "quorum <name>" line ("quorum none" needs no cosignature);
// [Policy.Check] verifies a checkpoint's log signature and cosignatures
// against it.
//
// # Offline proofs
//
// A tlog-proof ([Proof], [NewProof], [ParseProof]) is
//
//	c2sp.org/tlog-proof@v1\n
//	extra <base64>\n            (optional)
//	index <n>\n
//	<base64 hash>\n             (inclusion proof, leaf's sibling first)
//	\n
//	<signed, possibly cosigned, checkpoint>
//
// and [VerifyProof] checks one for an entry against a [CheckpointVerifier].
package tlog
