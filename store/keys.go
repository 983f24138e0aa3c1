package store

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"

	"github.com/truyxuat/truyxuat/trace"
)

// KeyDir keeps the cooperatives' Ed25519 signing keys as files, one per
// cooperative, with mode 0600 in a 0700 directory. A key file holds one
// line: "truyxuat-ed25519-seed " and the base64 of the 32-byte seed. Keys
// never leave this type except as signers and public keys.
type KeyDir struct {
	dir   string
	mu    sync.Mutex
	cache map[string]*trace.Signer
}

const keyFileHeader = "truyxuat-ed25519-seed "

// OpenKeyDir opens (creating it if needed) a directory of signing keys.
func OpenKeyDir(dir string) (*KeyDir, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("store: key directory: %w", err)
	}
	return &KeyDir{dir: dir, cache: map[string]*trace.Signer{}}, nil
}

func (k *KeyDir) path(name string) (string, error) {
	if !trace.ValidID(name) {
		return "", fmt.Errorf("store: key name %q is not an identifier", name)
	}
	return filepath.Join(k.dir, name+".key"), nil
}

// Signer returns the key stored under name, creating it on first use.
func (k *KeyDir) Signer(name string) (*trace.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.cache[name]; ok {
		return s, nil
	}
	p, err := k.path(name)
	if err != nil {
		return nil, err
	}
	s, err := readKeyFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		if s, err = trace.GenerateSigner(rand.Reader); err != nil {
			return nil, err
		}
		err = writeKeyFile(p, s)
	}
	if err != nil {
		return nil, fmt.Errorf("store: signing key %s: %w", name, err)
	}
	k.cache[name] = s
	return s, nil
}

// Existing returns the key stored under name, or an error wrapping
// fs.ErrNotExist when there is none.
func (k *KeyDir) Existing(name string) (*trace.Signer, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if s, ok := k.cache[name]; ok {
		return s, nil
	}
	p, err := k.path(name)
	if err != nil {
		return nil, err
	}
	s, err := readKeyFile(p)
	if err != nil {
		return nil, fmt.Errorf("store: signing key %s: %w", name, err)
	}
	k.cache[name] = s
	return s, nil
}

const secretFileHeader = "truyxuat-secret "

// SecretSize is the size of a secret made by KeyDir.Secret.
const SecretSize = 32

// Secret returns the random secret stored under name, making it on first
// use: SecretSize bytes in <dir>/<name>.secret (one line:
// "truyxuat-secret " and their base64), mode 0600. A secret keys MACs
// that only this server makes and checks, such as the workspace's device
// cookies; the extension keeps it apart from cooperatives' signing keys.
func (k *KeyDir) Secret(name string) ([]byte, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	if !trace.ValidID(name) {
		return nil, fmt.Errorf("store: secret name %q is not an identifier", name)
	}
	p := filepath.Join(k.dir, name+".secret")
	b, err := readSecretFile(p)
	if errors.Is(err, fs.ErrNotExist) {
		b = make([]byte, SecretSize)
		if _, err = rand.Read(b); err == nil {
			err = writeSecretFile(p, secretFileHeader+base64.StdEncoding.EncodeToString(b)+"\n")
		}
	}
	if err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	return b, nil
}

func readSecretFile(p string) ([]byte, error) {
	return ReadSealedFile(p, secretFileHeader, "secret", SecretSize)
}

// ReadSealedFile reads a file that holds one secret as a header line and
// its strict base64 (a workspace secret, a PostgreSQL store's master key),
// refusing a file others can read and one whose secret is not size bytes.
// what names the kind of file in errors.
func ReadSealedFile(p, header, what string, size int) ([]byte, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v); run chmod 600 on it", p, fi.Mode().Perm())
	}
	line := strings.TrimSpace(string(b))
	if !strings.HasPrefix(line, header) {
		return nil, fmt.Errorf("%s is not a truyxuat %s file", p, what)
	}
	secret, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(line, header))
	if err != nil || len(secret) != size {
		return nil, fmt.Errorf("%s is damaged", p)
	}
	return secret, nil
}

func readKeyFile(p string) (*trace.Signer, error) {
	b, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	if fi, err := os.Stat(p); err == nil && fi.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("%s is readable by others (mode %v); run chmod 600 on it", p, fi.Mode().Perm())
	}
	line := strings.TrimSpace(string(b))
	if !strings.HasPrefix(line, keyFileHeader) {
		return nil, fmt.Errorf("%s is not a truyxuat key file", p)
	}
	seed, err := base64.StdEncoding.Strict().DecodeString(strings.TrimPrefix(line, keyFileHeader))
	if err != nil {
		return nil, fmt.Errorf("%s is damaged", p)
	}
	return trace.NewSigner(seed)
}

// writeKeyFile writes the key atomically with mode 0600 and syncs it.
func writeKeyFile(p string, s *trace.Signer) error {
	return writeSecretFile(p, keyFileHeader+base64.StdEncoding.EncodeToString(s.Seed())+"\n")
}
