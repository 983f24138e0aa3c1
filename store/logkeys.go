package store

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/truyxuat/truyxuat/trace/tlog"
)

// The log's signing keys are two files in the key directory, each holding
// one tlog private key ("PRIVATE+KEY+<origin>+<key ID>+<base64>", the
// form golang.org/x/mod/sumdb/note and github.com/transparency-dev/formats
// read) after a comment line, with mode 0600. Their names contain a dot,
// so they can never collide with a cooperative's key file (<id>.key, where
// an id has no dots).
const (
	LogEd25519KeyFile = "log.ed25519.key"
	LogMLDSA44KeyFile = "log.mldsa44.key"
)

// LogKeys are the transparency log's two signing keys: Ed25519 and
// ML-DSA-44, both named after the log's origin. The private halves never
// leave this type except as signatures.
type LogKeys struct {
	origin string
	ed, ml *tlog.PrivateKey
	now    func() time.Time
}

// ErrNoLogKeys is returned (wrapped) by OpenLogKeys when create is false and
// the key files do not exist.
var ErrNoLogKeys = errors.New("store: the log's signing keys do not exist yet")

// OpenLogKeys reads the log's keys from dir. With create, a missing key
// file is generated (mode 0600, written atomically). origin, if not empty,
// must be the keys' name: a log cannot change its origin once its keys
// exist. With an empty origin the keys are read whatever their name.
func OpenLogKeys(dir, origin string, create bool) (*LogKeys, error) {
	if create && origin != "" && tlog.ValidKeyName(origin) {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("store: key directory: %w", err)
		}
	}
	return LoadLogKeys(keyFiles(dir), origin, create)
}

// LogKeySource keeps the text of the log's two private keys (as
// tlog.PrivateKey.Encode writes them, after any comment lines) under the
// names LogEd25519KeyFile and LogMLDSA44KeyFile: files in the key
// directory, or sealed rows of a database every node shares.
type LogKeySource interface {
	// ReadLogKey returns a key's text, or an error wrapping
	// fs.ErrNotExist when there is none.
	ReadLogKey(name string) ([]byte, error)
	// CreateLogKey keeps a new key's text. It fails with an error
	// wrapping fs.ErrExist if the name holds a key already (made
	// meanwhile by another node): never replace a key.
	CreateLogKey(name string, text []byte) error
	// Where names the key of that name in messages, e.g. its file.
	Where(name string) string
}

// LoadLogKeys reads the log's keys from src, as OpenLogKeys reads them
// from a key directory.
func LoadLogKeys(src LogKeySource, origin string, create bool) (*LogKeys, error) {
	if origin != "" && !tlog.ValidKeyName(origin) {
		return nil, fmt.Errorf("store: log origin %q is not a valid key name (no spaces or '+')", origin)
	}
	k := &LogKeys{now: time.Now}
	for _, f := range []struct {
		file string
		typ  tlog.SignatureType
		dst  **tlog.PrivateKey
	}{{LogEd25519KeyFile, tlog.TypeEd25519, &k.ed}, {LogMLDSA44KeyFile, tlog.TypeMLDSA44, &k.ml}} {
		p := src.Where(f.file)
		key, err := readLogKeyFrom(src, f.file, f.typ)
		if errors.Is(err, fs.ErrNotExist) && create {
			if origin == "" {
				return nil, fmt.Errorf("store: cannot create %s without a log origin", p)
			}
			if key, err = tlog.GenerateKey(rand.Reader, origin, f.typ); err != nil {
				return nil, err
			}
			err = src.CreateLogKey(f.file, []byte(logKeyText(key)))
			if errors.Is(err, fs.ErrExist) {
				// Another node made it first: use that one.
				key, err = readLogKeyFrom(src, f.file, f.typ)
			}
		}
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%w: %s is missing (the first `truyxuat serve` creates it)", ErrNoLogKeys, p)
		case err != nil:
			return nil, fmt.Errorf("store: log key %s: %w", p, err)
		}
		if origin != "" && key.Name() != origin {
			return nil, fmt.Errorf("store: the log's keys in %s are for origin %q, but the configured origin is %q: "+
				"a log keeps its origin for life; set log_origin (TRUYXUAT_LOG_ORIGIN) to %q, or start a new log in a new data directory",
				p, key.Name(), origin, key.Name())
		}
		*f.dst = key
	}
	if k.ed.Name() != k.ml.Name() {
		return nil, fmt.Errorf("store: the log's Ed25519 key is named %q but its ML-DSA-44 key %q", k.ed.Name(), k.ml.Name())
	}
	k.origin = k.ed.Name()
	return k, nil
}

func readLogKeyFrom(src LogKeySource, name string, typ tlog.SignatureType) (*tlog.PrivateKey, error) {
	b, err := src.ReadLogKey(name)
	if err != nil {
		return nil, err
	}
	return parseLogKey(b, typ, src.Where(name))
}

// keyFiles is the key directory as a LogKeySource.
type keyFiles string

func (d keyFiles) Where(name string) string { return filepath.Join(string(d), name) }

func (d keyFiles) ReadLogKey(name string) ([]byte, error) {
	p := d.Where(name)
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v); run chmod 600 on it", p, fi.Mode().Perm())
	}
	return b, nil
}

func (d keyFiles) CreateLogKey(name string, text []byte) error {
	if err := os.MkdirAll(string(d), 0o700); err != nil {
		return err
	}
	return writeSecretFile(d.Where(name), string(text))
}

// Origin returns the log's origin, the name of both keys.
func (k *LogKeys) Origin() string { return k.origin }

// Public returns the log's verifier keys: Ed25519 first, then ML-DSA-44.
func (k *LogKeys) Public() []tlog.VerifierKey {
	return []tlog.VerifierKey{k.ed.Public(), k.ml.Public()}
}

// Sign signs a checkpoint of the log with both keys. It is a
// Checkpointer for DB.CheckpointLog.
func (k *LogKeys) Sign(size uint64, root tlog.Hash) ([]byte, error) {
	return tlog.SignCheckpoint(tlog.Checkpoint{Origin: k.origin, Size: size, Root: root},
		k.ed.Signer(k.now), k.ml.Signer(k.now))
}

// String names the keys without revealing them.
func (k *LogKeys) String() string { return "log keys for " + k.origin }

// readLogKey reads a key file holding exactly one key of the given type.
func readLogKey(p string, typ tlog.SignatureType) (*tlog.PrivateKey, error) {
	b, err := keyFiles(filepath.Dir(p)).ReadLogKey(filepath.Base(p))
	if err != nil {
		return nil, err
	}
	return parseLogKey(b, typ, p)
}

// parseLogKey reads a key text holding exactly one key of the given type.
func parseLogKey(b []byte, typ tlog.SignatureType, p string) (*tlog.PrivateKey, error) {
	keys, err := tlog.ParseKeyFile(b)
	if err != nil {
		return nil, fmt.Errorf("%s is damaged: %v", p, err)
	}
	if len(keys) != 1 || keys[0].Type() != typ {
		return nil, fmt.Errorf("%s must hold exactly one %v key", p, typ)
	}
	return keys[0], nil
}

// logKeyText is a key file's text: a comment line, then the key.
func logKeyText(k *tlog.PrivateKey) string {
	return fmt.Sprintf("# %v signing key of %s. Secret: never copy it off this machine.\n%s\n", k.Type(), k.Name(), k.Encode())
}

// writeLogKey writes a key file atomically with mode 0600 and syncs it.
func writeLogKey(p string, k *tlog.PrivateKey) error {
	return writeSecretFile(p, logKeyText(k))
}

// writeSecretFile writes data to p atomically (temporary file, fsync,
// rename, directory fsync) with mode 0600, refusing to replace a file.
func writeSecretFile(p, data string) error {
	if _, err := os.Stat(p); err == nil {
		return fmt.Errorf("%s already exists: %w", p, fs.ErrExist)
	}
	return writeFileAtomic(p, []byte(data))
}

// writeFileAtomic writes data to p with mode 0600 so that p holds either
// its old bytes or all the new ones, on disk, whenever the machine stops:
// a temporary file beside p is written and synced, renamed over p, and the
// directory synced so that the rename itself is durable.
func writeFileAtomic(p string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(p), "."+filepath.Base(p)+".*.tmp")
	if err != nil {
		return err
	}
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Chmod(0o600)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp.Name(), p)
	}
	if err != nil {
		os.Remove(tmp.Name())
		return err
	}
	return syncDir(filepath.Dir(p))
}

// syncDir makes the entries of a directory (a rename into it) durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// OpenCosignerKey reads a witness's cosignature key (Ed25519
// cosignature/v1, type 0x04) from the key file p, or creates one named
// name (mode 0600) if the file does not exist. If name is not empty it
// must match the stored key's name.
func OpenCosignerKey(p, name string) (*tlog.PrivateKey, error) {
	key, err := readLogKey(p, tlog.TypeCosignatureV1)
	if errors.Is(err, fs.ErrNotExist) {
		if name == "" {
			return nil, fmt.Errorf("store: cannot create witness key %s without a name", p)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return nil, err
		}
		if key, err = tlog.GenerateKey(rand.Reader, name, tlog.TypeCosignatureV1); err != nil {
			return nil, err
		}
		if err := writeLogKey(p, key); err != nil {
			return nil, fmt.Errorf("store: witness key %s: %w", p, err)
		}
		return key, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: witness key %s: %w", p, err)
	}
	if name != "" && key.Name() != name {
		return nil, fmt.Errorf("store: the witness key in %s is named %q, not %q", p, key.Name(), name)
	}
	return key, nil
}
