package tlog_test

import (
	"bytes"
	"fmt"
	"log"
	"time"

	"github.com/truyxuat/truyxuat/trace/tlog"
)

// tiles is a minimal tile store: the latest bytes of each tile.
type tiles map[[2]uint64][]byte

func (m tiles) ReadTile(level int, index uint64) ([]byte, error) {
	return m[[2]uint64{uint64(level), index}], nil
}

func (m tiles) store(writes []tlog.TileData) {
	for _, w := range writes {
		m[[2]uint64{uint64(w.Level), w.Index}] = w.Data
	}
}

// grow appends n synthetic entries and returns the new size and root.
func grow(m tiles, size uint64, n int) (uint64, tlog.Hash) {
	var leaves []tlog.Hash
	for i := 0; i < n; i++ {
		leaves = append(leaves, tlog.LeafHash(fmt.Appendf(nil, "event %d", size+uint64(i))))
	}
	writes, root, err := tlog.Append(m, size, leaves)
	if err != nil {
		log.Fatal(err)
	}
	m.store(writes)
	return size + uint64(n), root
}

func ExampleAppend() {
	store := tiles{}
	var size uint64
	for _, batch := range []int{3, 300} {
		var leaves []tlog.Hash
		for i := 0; i < batch; i++ {
			leaves = append(leaves, tlog.LeafHash(fmt.Appendf(nil, "event %d", size+uint64(i))))
		}
		writes, root, err := tlog.Append(store, size, leaves)
		if err != nil {
			log.Fatal(err)
		}
		for _, w := range writes {
			fmt.Println("write", w.Path(), len(w.Data), "bytes")
		}
		store.store(writes)
		size += uint64(batch)
		fmt.Println("size", size, "root", root)
	}
	// Output:
	// write tile/0/000.p/3 96 bytes
	// size 3 root cuDRdZjUDBQ/FOv7BeLFxN3Wvr8WXzVpRDrEaViH0wI=
	// write tile/0/000 8192 bytes
	// write tile/0/001.p/47 1504 bytes
	// write tile/1/000.p/1 32 bytes
	// size 303 root xM6iT1utnvmJnwsg45XDYi4EUjD1E6haF9zwJw4H4u8=
}

func ExampleProveInclusion() {
	store := tiles{}
	size, root := grow(store, 0, 1000)

	// Prove entry 517 in the current tree, and in the older tree of size
	// 600, from the same tiles.
	for _, n := range []uint64{size, 600} {
		proof, err := tlog.ProveInclusion(store, 517, n)
		if err != nil {
			log.Fatal(err)
		}
		r, err := tlog.RootAt(store, n)
		if err != nil {
			log.Fatal(err)
		}
		err = tlog.VerifyInclusion(tlog.LeafHash([]byte("event 517")), 517, n, proof, r)
		fmt.Println(n, len(proof), "hashes, verified:", err == nil, "current root:", r == root)
	}
	// Output:
	// 1000 10 hashes, verified: true current root: true
	// 600 8 hashes, verified: true current root: false
}

func ExampleProveConsistency() {
	store := tiles{}
	oldSize, oldRoot := grow(store, 0, 70)
	newSize, newRoot := grow(store, oldSize, 1000)
	proof, err := tlog.ProveConsistency(store, oldSize, newSize)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(proof), tlog.VerifyConsistency(oldSize, newSize, proof, oldRoot, newRoot))
	// Output:
	// 11 <nil>
}

func ExampleParseTilePath() {
	t, err := tlog.ParseTilePath("tile/1/x001/x234/067.p/17")
	fmt.Println(t.Level, t.Index, t.Width, t.Entries, err)
	_, err = tlog.ParseTilePath("tile/1/1234067")
	fmt.Println(err)
	// Output:
	// 1 1234067 17 false <nil>
	// tlog: malformed tile path: "tile/1/1234067"
}

// seed returns a fixed reader standing in for crypto/rand.Reader.
func seed(b byte) *bytes.Reader { return bytes.NewReader(bytes.Repeat([]byte{b}, 32)) }

func ExampleSignCheckpoint() {
	const origin = "truyxuat.example/log"
	ed, _ := tlog.GenerateKey(seed(1), origin, tlog.TypeEd25519)
	ml, _ := tlog.GenerateKey(seed(2), origin, tlog.TypeMLDSA44)
	now := func() time.Time { return time.Unix(1767225600, 0) }

	store := tiles{}
	size, root := grow(store, 0, 5)
	signed, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: size, Root: root},
		ed.Signer(now), ml.Signer(now))
	if err != nil {
		log.Fatal(err)
	}
	n, _ := tlog.ParseNote(signed)
	fmt.Print(n.Text)
	for _, s := range n.Sigs {
		fmt.Printf("%s %08x %d-byte signature\n", s.Name, s.KeyHash, len(s.Sig))
	}

	// truyxuat requires both of its log's signatures.
	edV, _ := ed.Public().Verifier()
	mlV, _ := ml.Public().Verifier()
	c, _, _, err := tlog.OpenCheckpoint(signed, origin, []tlog.Verifier{edV, mlV})
	fmt.Println(c.Size, err)
	fmt.Println(ed.Public())
	// Output:
	// truyxuat.example/log
	// 5
	// ta+cQRht2hND3naHOygForFCH9Goid6fqYsqjtjSFL4=
	// truyxuat.example/log d8d8783d 64-byte signature
	// truyxuat.example/log 7febccac 2428-byte signature
	// 5 <nil>
	// truyxuat.example/log+d8d8783d+AYqI4910CfGV/VLbLTy6XXLKZwm/HZQSG/N0iAG0D29c
}

func ExampleWitness_AddCheckpoint() {
	const origin = "truyxuat.example/log"
	logKey, _ := tlog.GenerateKey(seed(1), origin, tlog.TypeEd25519)
	logV, _ := logKey.Public().Verifier()
	wKey, _ := tlog.GenerateKey(seed(3), "witness.example/w1", tlog.TypeCosignatureV1)
	now := func() time.Time { return time.Unix(1767225600, 0) }
	w := &tlog.Witness{
		Cosigners: []tlog.Signer{wKey.Signer(now)},
		Logs:      map[string][]tlog.Verifier{origin: {logV}},
	}
	heads := map[string]tlog.TreeHead{} // the witness's storage
	latest := func(o string) (tlog.TreeHead, bool, error) { h, ok := heads[o]; return h, ok, nil }

	store := tiles{}
	var size uint64
	var old uint64
	for _, n := range []int{10, 20} {
		var root tlog.Hash
		size, root = grow(store, size, n)
		signed, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: size, Root: root}, logKey.Signer(nil))
		proof, _ := tlog.ProveConsistency(store, old, size)
		body := (&tlog.AddCheckpointRequest{OldSize: old, Proof: proof, Checkpoint: signed}).Bytes()
		res, err := w.AddCheckpoint(body, latest)
		if err != nil {
			log.Fatal(err)
		}
		heads[origin] = res.Head() // persist atomically with the check
		old = size
		fmt.Printf("cosigned size %d: %.30s…\n", size, res.Cosignatures)
	}

	// A stale request gets 409 and the size to retry from.
	signed, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: 10, Root: tlog.EmptyRoot()}, logKey.Signer(nil))
	_, err := w.AddCheckpoint((&tlog.AddCheckpointRequest{OldSize: 0, Checkpoint: signed}).Bytes(), latest)
	if we, ok := err.(*tlog.WitnessError); ok {
		fmt.Printf("%d %s %q\n", we.Status, tlog.SizeContentType, we.Body())
	}
	// Output:
	// cosigned size 10: — witness.example/w1 2e1ixQAAA…
	// cosigned size 30: — witness.example/w1 2e1ixQAAA…
	// 409 text/x.tlog.size "30\n"
}

func ExampleParsePolicy() {
	w1, _ := tlog.GenerateKey(seed(4), "w1.example", tlog.TypeCosignatureV1)
	w2, _ := tlog.GenerateKey(seed(5), "w2.example", tlog.TypeCosignatureV1)
	p, err := tlog.ParsePolicy([]byte(fmt.Sprintf(`witness A %s
witness B %s
group AB any A B
quorum AB
`, w1.Public(), w2.Public())))
	if err != nil {
		log.Fatal(err)
	}
	n := &tlog.Note{Text: tlog.Checkpoint{Origin: "truyxuat.example/log", Root: tlog.EmptyRoot()}.String()}
	fmt.Println(p.Check(n) != nil)
	_ = n.Sign(w2.Signer(nil))
	fmt.Println(p.Check(n))
	// Output:
	// true
	// <nil>
}

func ExampleVerifyProof() {
	const origin = "truyxuat.example/log"
	ed, _ := tlog.GenerateKey(seed(1), origin, tlog.TypeEd25519)
	ml, _ := tlog.GenerateKey(seed(2), origin, tlog.TypeMLDSA44)
	store := tiles{}
	size, root := grow(store, 0, 300)
	signed, _ := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: size, Root: root}, ed.Signer(nil), ml.Signer(nil))

	p, err := tlog.NewProof(store, 42, signed, nil)
	if err != nil {
		log.Fatal(err)
	}
	proofFile := p.Bytes() // e.g. saved as event-42.tlog-proof

	edV, _ := ed.Public().Verifier()
	mlV, _ := ml.Public().Verifier()
	cv := &tlog.CheckpointVerifier{Origin: origin, Log: []tlog.Verifier{edV, mlV}}
	c, err := tlog.VerifyProof([]byte("event 42"), proofFile, cv)
	fmt.Println(c.Size, err)
	_, err = tlog.VerifyProof([]byte("event 43"), proofFile, cv)
	fmt.Println(err)
	// Output:
	// 300 <nil>
	// tlog: proof does not match root hash: inclusion proof for index 42 in size 300
}
