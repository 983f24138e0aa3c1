package store

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/truyxuat/truyxuat/trace"
	"github.com/truyxuat/truyxuat/trace/tlog"
)

// Fuzz targets for the files of the data directory that an operator may
// edit by hand or copy from elsewhere: cooperatives' key files and
// secrets, the log's and a witness's key files, the published-checkpoint
// file, and a witness's state. Each checks that what is read is what the
// file says, in the form truyxuat writes it, and that no error repeats
// the secret it failed to read.

// fuzzFile writes content to a file of mode 0600 in dir and returns its path.
func fuzzFile(t *testing.T, dir, name string, content []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, content, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// leaksSecret reports whether an error repeats the base64 part of a key
// file (after the last '+' or space of a line), when that is long enough
// to be key material rather than a word of the message, and is not also
// written earlier in the line (in a key's name, which errors may quote).
func leaksSecret(err error, content []byte) bool {
	for _, line := range strings.Split(string(content), "\n") {
		line = strings.TrimSpace(line)
		at := strings.LastIndexAny(line, "+ ") + 1
		secret := line[at:]
		if len(secret) < 16 || strings.Trim(secret, base64Alphabet) != "" || strings.Contains(line[:at], secret) {
			continue
		}
		// An error may quote the line's other parts (a key's name, as
		// %q writes it); those are not the secret, even when their
		// escaped form happens to hold the same characters.
		msg := err.Error()
		for _, part := range strings.FieldsFunc(line[:at], func(r rune) bool { return r == '+' || r == ' ' }) {
			msg = strings.ReplaceAll(msg, strconv.Quote(part), "")
		}
		if strings.Contains(msg, secret) {
			return true
		}
	}
	return false
}

const base64Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="

func FuzzReadKeyFile(f *testing.F) {
	s, err := trace.NewSigner(bytes.Repeat([]byte{7}, trace.SeedSize))
	if err != nil {
		f.Fatal(err)
	}
	seed := base64.StdEncoding.EncodeToString(s.Seed())
	for _, c := range []string{
		keyFileHeader + seed + "\n", keyFileHeader + seed, "  " + keyFileHeader + seed + "\r\n\n",
		keyFileHeader + seed[:20] + "\n" + seed[20:] + "\n", keyFileHeader + seed[:len(seed)-1] + "\n",
		keyFileHeader + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{1}, 31)) + "\n",
		keyFileHeader + base64.RawURLEncoding.EncodeToString(s.Seed()) + "\n",
		secretFileHeader + seed + "\n", "truyxuat-ed25519-seed" + seed + "\n", "", "\n",
	} {
		f.Add([]byte(c))
	}
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		p := fuzzFile(t, dir, "htx-fuzz.key", content)
		s, err := readKeyFile(p)
		if err != nil {
			if leaksSecret(err, content) {
				t.Fatalf("the error repeats the key: %v", err)
			}
		} else {
			canonical := keyFileHeader + base64.StdEncoding.EncodeToString(s.Seed())
			// Go's base64 skips line breaks; nothing else may differ.
			read := strings.NewReplacer("\r", "", "\n", "").Replace(strings.TrimSpace(string(content)))
			if read != canonical {
				t.Fatalf("key file %q read as the key written %q", content, canonical)
			}
			again, err := readKeyFile(fuzzFile(t, dir, "again.key", []byte(canonical+"\n")))
			if err != nil || !bytes.Equal(again.PublicKey(), s.PublicKey()) {
				t.Fatalf("the key written back reads as %v, %v", again, err)
			}
		}
		secret, err := readSecretFile(p)
		if err != nil {
			if leaksSecret(err, content) {
				t.Fatalf("the error repeats the secret: %v", err)
			}
			return
		}
		if len(secret) != SecretSize {
			t.Fatalf("a secret of %d bytes", len(secret))
		}
		read := strings.NewReplacer("\r", "", "\n", "").Replace(strings.TrimSpace(string(content)))
		if canonical := secretFileHeader + base64.StdEncoding.EncodeToString(secret); read != canonical {
			t.Fatalf("secret file %q read as the secret written %q", content, canonical)
		}
	})
}

// logKeyTypes are the key types the log's and a witness's key files hold.
var logKeyTypes = []tlog.SignatureType{tlog.TypeEd25519, tlog.TypeMLDSA44, tlog.TypeCosignatureV1}

// fixedReader is a deterministic source of key seeds for test keys.
type fixedReader byte

func (r fixedReader) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = byte(r)
	}
	return len(p), nil
}

func FuzzReadLogKey(f *testing.F) {
	for i, typ := range logKeyTypes {
		k, err := tlog.GenerateKey(fixedReader(i+1), "truyxuat.example/log", typ)
		if err != nil {
			f.Fatal(err)
		}
		line := k.Encode()
		written := "# " + typ.String() + " signing key of truyxuat.example/log. Secret: never copy it off this machine.\n" + line + "\n"
		f.Add([]byte(written), uint8(i))
		f.Add([]byte(strings.ReplaceAll(written, "\n", "\r\n")), uint8(i))
		f.Add([]byte(line+"\n"+line+"\n"), uint8(i))
		f.Add([]byte(line), uint8(i+1))
		f.Add([]byte(" "+line), uint8(i))
		id := strings.Split(line, "+")[3]
		f.Add([]byte(strings.Replace(line, id, strings.ToUpper(id), 1)), uint8(i))
		f.Add([]byte(strings.Replace(line, id, "00000000", 1)), uint8(i))
	}
	f.Add([]byte("# only a comment\n"), uint8(0))
	dir := f.TempDir()
	cp := tlog.Checkpoint{Origin: "truyxuat.example/log", Size: 1, Root: tlog.LeafHash([]byte("entry"))}.String()
	now := func() time.Time { return time.Unix(1767225600, 0) }
	f.Fuzz(func(t *testing.T, content []byte, which uint8) {
		typ := logKeyTypes[int(which)%len(logKeyTypes)]
		k, err := readLogKey(fuzzFile(t, dir, "log.key", content), typ)
		if err != nil {
			if leaksSecret(err, content) {
				t.Fatalf("the error repeats the key: %v", err)
			}
			return
		}
		if k.Type() != typ {
			t.Fatalf("asked for a %v key, read a %v key", typ, k.Type())
		}
		// The file holds that key, as writeLogKey writes it, and
		// comments.
		var lines []string
		for _, l := range strings.Split(string(content), "\n") {
			if l = strings.TrimSuffix(l, "\r"); l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		if len(lines) != 1 || lines[0] != k.Encode() {
			t.Fatalf("key file %q read as key %s", content, k)
		}
		back, err := tlog.ParseKeyFile([]byte(k.Encode() + "\n"))
		if err != nil || len(back) != 1 || back[0].Encode() != k.Encode() {
			t.Fatalf("the key written back reads as %v, %v", back, err)
		}
		// And it signs what its verifier accepts.
		v, err := k.Public().Verifier()
		if err != nil {
			t.Fatal(err)
		}
		sig, err := k.Signer(now).Sign([]byte(cp))
		if err != nil || !v.Verify([]byte(cp), sig) {
			t.Fatalf("key %s signs a checkpoint its verifier refuses (%v)", k, err)
		}
	})
}

// publishedSeeds are published-checkpoint files: as the log writes them,
// with and without a cosigned checkpoint, and damaged.
func publishedSeeds(f *testing.F) {
	const origin = "truyxuat.example/log"
	ed, _ := tlog.GenerateKey(fixedReader(1), origin, tlog.TypeEd25519)
	ml, _ := tlog.GenerateKey(fixedReader(2), origin, tlog.TypeMLDSA44)
	w, _ := tlog.GenerateKey(fixedReader(3), "witness.example/w1", tlog.TypeCosignatureV1)
	now := func() time.Time { return time.Unix(1767225600, 0) }
	sign := func(size uint64) []byte {
		n, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: size, Root: tlog.LeafHash([]byte{byte(size)})}, ed.Signer(now), ml.Signer(now))
		if err != nil {
			f.Fatal(err)
		}
		return n
	}
	older, newest := sign(537), sign(1784)
	pub, err := PublishedFromNote(newest)
	if err != nil {
		f.Fatal(err)
	}
	on, _ := tlog.ParseNote(older)
	ws := w.Signer(now)
	wsig, _ := ws.Sign([]byte(on.Text))
	cosigned := append(bytes.Clone(older), tlog.Signature{Name: ws.Name(), KeyHash: ws.KeyHash(), Sig: wsig}.Line()...)
	plain, _ := json.MarshalIndent(pub, "", "  ")
	f.Add(append(plain, '\n'))
	pub.CosignedSize, pub.Cosigned = 537, string(cosigned)
	full, _ := json.MarshalIndent(pub, "", "  ")
	f.Add(append(full, '\n'))
	f.Add(bytes.Replace(full, []byte(`"size": 1784`), []byte(`"size": 1785`), 1))
	f.Add(bytes.Replace(full, []byte(`"cosigned_size": 537`), []byte(`"cosigned_size": 5370`), 1))
	f.Add(full[:len(full)/2])
	f.Add([]byte(`{"origin":"o","size":0,"root":"47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=","checkpoint":""}`))
	f.Add([]byte("null"))
}

func FuzzReadPublished(f *testing.F) {
	publishedSeeds(f)
	dir := f.TempDir()
	f.Fuzz(func(t *testing.T, content []byte) {
		pub, err := readPublished(fuzzFile(t, dir, PublishedFile, content))
		if err != nil {
			if !strings.Contains(err.Error(), PublishedFile) {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		// The file's origin, size and root are its signed checkpoint's,
		// and a cosigned checkpoint is of the same log and not newer.
		c, err := PublishedFromNote([]byte(pub.Checkpoint))
		if err != nil || c.Origin != pub.Origin || c.Size != pub.Size || c.Root != pub.Root {
			t.Fatalf("published %+v does not agree with its checkpoint %+v (%v)", pub, c, err)
		}
		if pub.Cosigned == "" && pub.CosignedSize != 0 {
			t.Fatalf("a cosigned size %d without a cosigned checkpoint", pub.CosignedSize)
		}
		if pub.Cosigned != "" {
			cc, err := PublishedFromNote([]byte(pub.Cosigned))
			if err != nil || cc.Origin != pub.Origin || cc.Size != pub.CosignedSize || cc.Size > pub.Size {
				t.Fatalf("published %+v has a cosigned checkpoint %+v (%v)", pub, cc, err)
			}
		}
		// Written back as the log writes it, it reads the same.
		b, err := json.MarshalIndent(pub, "", "  ")
		if err != nil {
			t.Fatal(err)
		}
		again, err := readPublished(fuzzFile(t, dir, "again-"+PublishedFile, append(b, '\n')))
		if err != nil || !reflect.DeepEqual(again, pub) {
			t.Fatalf("written back, %s reads as %+v, %v; want %+v", b, again, err, pub)
		}
	})
}

// FuzzWitnessState puts any bytes in a witness's state for a log and
// submits a checkpoint of that log: the state reads as the size, root and
// note its bytes hold (or as no state, when too short for them), and the
// witness cosigns exactly when that state lets it (never cosigned, or
// cosigned size 0), answering 409 with the stored size otherwise.
func FuzzWitnessState(f *testing.F) {
	const origin = "truyxuat.example/log"
	logKey, _ := tlog.GenerateKey(fixedReader(1), origin, tlog.TypeEd25519)
	wKey, _ := tlog.GenerateKey(fixedReader(3), "witness.example/w1", tlog.TypeCosignatureV1)
	now := func() time.Time { return time.Unix(1767225600, 0) }
	logV, _ := logKey.Public().Verifier()
	w := &tlog.Witness{Cosigners: []tlog.Signer{wKey.Signer(now)}, Logs: map[string][]tlog.Verifier{origin: {logV}}}
	root := tlog.LeafHash([]byte("entry"))
	signed, err := tlog.SignCheckpoint(tlog.Checkpoint{Origin: origin, Size: 1, Root: root}, logKey.Signer(now))
	if err != nil {
		f.Fatal(err)
	}
	body := (&tlog.AddCheckpointRequest{OldSize: 0, Checkpoint: signed}).Bytes()
	state := func(size uint64, root tlog.Hash, note []byte) []byte {
		v := binary.BigEndian.AppendUint64(nil, size)
		return append(append(v, root[:]...), note...)
	}
	f.Add(state(1, root, signed))
	f.Add(state(0, tlog.EmptyRoot(), nil))
	f.Add(state(7, root, nil))
	f.Add(state(1<<63, tlog.Hash{}, []byte("x")))
	f.Add(state(0, root, signed)[:39])
	f.Add([]byte{})

	db, err := OpenWitnessDB(filepath.Join(f.TempDir(), "witness.db"))
	if err != nil {
		f.Fatal(err)
	}
	f.Cleanup(func() { db.Close() })
	db.bolt.NoSync = true // the file is thrown away; spare the disk
	f.Fuzz(func(t *testing.T, value []byte) {
		err := db.bolt.Update(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketWitnessed).Put([]byte(origin), value)
		})
		if err != nil {
			t.Fatal(err)
		}
		head, note, ok, err := db.Latest(origin)
		if err != nil {
			t.Fatal(err)
		}
		if ok != (len(value) >= 8+tlog.HashSize) {
			t.Fatalf("%d bytes of state read as ok=%v", len(value), ok)
		}
		if ok && (head.Size != binary.BigEndian.Uint64(value) || !bytes.Equal(head.Root[:], value[8:8+tlog.HashSize]) || !bytes.Equal(note, value[8+tlog.HashSize:])) {
			t.Fatalf("state %x read as %+v, note %q", value, head, note)
		}
		res, err := db.AddCheckpoint(w, body)
		if !ok || head.Size == 0 {
			if err != nil {
				t.Fatalf("state %+v (ok=%v): the first checkpoint was refused: %v", head, ok, err)
			}
			after, n, ok, err := db.Latest(origin)
			if err != nil || !ok || after != res.Head() || after.Size != 1 || after.Root != root || !bytes.Equal(n, signed) {
				t.Fatalf("after cosigning, the state is %+v %q (%v, %v)", after, n, ok, err)
			}
			return
		}
		var we *tlog.WitnessError
		if !errors.As(err, &we) || we.Status != 409 || we.LatestSize != head.Size {
			t.Fatalf("state %+v: got %v, want 409 with size %d", head, err, head.Size)
		}
		if after, _, _, _ := db.Latest(origin); after != head {
			t.Fatalf("a refused checkpoint changed the state from %+v to %+v", head, after)
		}
	})
}
