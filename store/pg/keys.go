package pg

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"sync"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"golang.org/x/crypto/chacha20poly1305"

	"github.com/truyxuat/truyxuat/store"
	"github.com/truyxuat/truyxuat/trace"
)

// The master key file holds one line: "truyxuat-master-key " and the
// base64 of 32 random bytes. It has mode 0600 and never leaves the nodes;
// the database holds only what it seals.
const masterKeyHeader = "truyxuat-master-key "

// MasterKeySize is the size of the master key.
const MasterKeySize = chacha20poly1305.KeySize

// A sealed key is the version byte 1, a 24-byte random nonce, then the
// XChaCha20-Poly1305 ciphertext of the secret, whose additional data is
// "truyxuat sealed key v1\n" and the row's name, so that a sealed value
// moved to another row does not open.
const (
	sealVersion = 1
	sealAD      = "truyxuat sealed key v1\n"
	// checkName is a sealed row that only proves the master key.
	checkName  = "check/master-key"
	checkValue = "truyxuat master key check"
)

// KeyStore keeps secrets in the database, sealed under the master key: a
// store.Keys (cooperatives' and inspectors' signing keys, secrets) and a
// store.LogKeySource (the log's keys). What it opens stays in memory.
type KeyStore struct {
	pool   *pgxpool.Pool
	master []byte
	mu     sync.Mutex
	cache  map[string][]byte // name → opened secret
}

var (
	_ store.Keys         = (*KeyStore)(nil)
	_ store.LogKeySource = (*KeyStore)(nil)
)

// ReadMasterKey reads a master key file, refusing one others can read.
func ReadMasterKey(path string) ([]byte, error) {
	return store.ReadSealedFile(path, masterKeyHeader, "master key", MasterKeySize)
}

// WriteMasterKey makes a new master key file at path (mode 0600, in a
// directory of mode 0700), refusing to replace one.
func WriteMasterKey(path string) ([]byte, error) {
	key := make([]byte, MasterKeySize)
	if _, err := rand.Read(key); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return nil, err
	}
	_, err = f.WriteString(masterKeyHeader + base64.StdEncoding.EncodeToString(key) + "\n")
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
		return nil, err
	}
	return key, nil
}

// openKeyStore reads the master key and checks it against the database: a
// database whose sealed keys it cannot open is refused. A missing file is
// made, with create, only for a database that holds no sealed keys yet.
func openKeyStore(ctx context.Context, pool *pgxpool.Pool, path string, create bool) (*KeyStore, error) {
	var sealed []byte
	err := pool.QueryRow(ctx, `SELECT sealed FROM sealed_keys WHERE name = $1`, checkName).Scan(&sealed)
	if err != nil && !errors.Is(err, pgx.ErrNoRows) {
		return nil, fmt.Errorf("pg: the sealed keys: %w", err)
	}
	master, ferr := ReadMasterKey(path)
	switch {
	case errors.Is(ferr, fs.ErrNotExist) && sealed == nil && create:
		if master, ferr = WriteMasterKey(path); ferr != nil {
			return nil, fmt.Errorf("pg: make the master key file: %w", ferr)
		}
	case errors.Is(ferr, fs.ErrNotExist) && sealed != nil:
		return nil, fmt.Errorf("pg: the master key file %s is missing, and the database holds keys sealed under a master key: copy the master key file of the other nodes to %s (mode 0600)", path, path)
	case errors.Is(ferr, fs.ErrNotExist):
		return nil, fmt.Errorf("pg: the master key file %s is missing", path)
	case ferr != nil:
		return nil, fmt.Errorf("pg: the master key: %w", ferr)
	}
	ks := &KeyStore{pool: pool, master: master, cache: map[string][]byte{}}
	if sealed == nil {
		// The first node: seal the check (or find one sealed meanwhile).
		s, err := ks.seal(checkName, []byte(checkValue))
		if err != nil {
			return nil, err
		}
		if sealed, err = ks.putOnce(ctx, checkName, s); err != nil {
			return nil, err
		}
	}
	if v, err := ks.open(checkName, sealed); err != nil || string(v) != checkValue {
		return nil, fmt.Errorf("pg: the master key in %s does not open the keys sealed in this database: every node needs the same master key file", path)
	}
	return ks, nil
}

func (ks *KeyStore) aead() (cipherAEAD, error) { return chacha20poly1305.NewX(ks.master) }

type cipherAEAD interface {
	Seal(dst, nonce, plaintext, additionalData []byte) []byte
	Open(dst, nonce, ciphertext, additionalData []byte) ([]byte, error)
	NonceSize() int
}

func (ks *KeyStore) seal(name string, secret []byte) ([]byte, error) {
	a, err := ks.aead()
	if err != nil {
		return nil, err
	}
	out := make([]byte, 1+a.NonceSize(), 1+a.NonceSize()+len(secret)+chacha20poly1305.Overhead)
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, err
	}
	return a.Seal(out, out[1:], secret, []byte(sealAD+name)), nil
}

func (ks *KeyStore) open(name string, sealed []byte) ([]byte, error) {
	a, err := ks.aead()
	if err != nil {
		return nil, err
	}
	if len(sealed) < 1+a.NonceSize()+chacha20poly1305.Overhead || sealed[0] != sealVersion {
		return nil, fmt.Errorf("pg: sealed key %s is damaged", name)
	}
	n := 1 + a.NonceSize()
	secret, err := a.Open(nil, sealed[1:n], sealed[n:], []byte(sealAD+name))
	if err != nil {
		return nil, fmt.Errorf("pg: sealed key %s does not open with this master key", name)
	}
	return secret, nil
}

// putOnce stores a sealed value under name unless one is there (made by
// another node meanwhile), and returns the stored one.
func (ks *KeyStore) putOnce(ctx context.Context, name string, sealed []byte) ([]byte, error) {
	if _, err := ks.pool.Exec(ctx, `INSERT INTO sealed_keys (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, name, sealed); err != nil {
		return nil, fmt.Errorf("pg: store sealed key %s: %w", name, err)
	}
	// A statement of its own: it sees a row another node committed
	// while the insert waited for it.
	var stored []byte
	if err := ks.pool.QueryRow(ctx, `SELECT sealed FROM sealed_keys WHERE name = $1`, name).Scan(&stored); err != nil {
		return nil, fmt.Errorf("pg: store sealed key %s: %w", name, err)
	}
	return stored, nil
}

// get returns the secret under name, making it with make on first use:
// whichever node stores it first, every node then uses that one.
func (ks *KeyStore) get(name string, create func() ([]byte, error)) ([]byte, error) {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	if s, ok := ks.cache[name]; ok {
		return s, nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15e9)
	defer cancel()
	var sealed []byte
	err := ks.pool.QueryRow(ctx, `SELECT sealed FROM sealed_keys WHERE name = $1`, name).Scan(&sealed)
	switch {
	case errors.Is(err, pgx.ErrNoRows) && create != nil:
		secret, err := create()
		if err != nil {
			return nil, err
		}
		s, err := ks.seal(name, secret)
		if err != nil {
			return nil, err
		}
		if sealed, err = ks.putOnce(ctx, name, s); err != nil {
			return nil, failUnavailable(err)
		}
	case errors.Is(err, pgx.ErrNoRows):
		return nil, fmt.Errorf("pg: sealed key %s: %w", name, fs.ErrNotExist)
	case err != nil:
		return nil, failUnavailable(fmt.Errorf("pg: sealed key %s: %w", name, err))
	}
	secret, err := ks.open(name, sealed)
	if err != nil {
		return nil, err
	}
	ks.cache[name] = secret
	return secret, nil
}

// Signer returns the Ed25519 key kept under name (a cooperative's id, or
// store.InspectorKeyName of an inspector's), making it on first use.
func (ks *KeyStore) Signer(name string) (*trace.Signer, error) {
	if !trace.ValidID(name) {
		return nil, fmt.Errorf("store: key name %q is not an identifier", name)
	}
	seed, err := ks.get("signer/"+name, func() ([]byte, error) {
		s, err := trace.GenerateSigner(rand.Reader)
		if err != nil {
			return nil, err
		}
		return s.Seed(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("store: signing key %s: %w", name, err)
	}
	return trace.NewSigner(seed)
}

// Secret returns the random secret kept under name (store.SecretSize
// bytes), making it on first use.
func (ks *KeyStore) Secret(name string) ([]byte, error) {
	if !trace.ValidID(name) {
		return nil, fmt.Errorf("store: secret name %q is not an identifier", name)
	}
	b, err := ks.get("secret/"+name, func() ([]byte, error) {
		b := make([]byte, store.SecretSize)
		_, err := rand.Read(b)
		return b, err
	})
	if err != nil {
		return nil, fmt.Errorf("store: secret %s: %w", name, err)
	}
	if len(b) != store.SecretSize {
		return nil, fmt.Errorf("store: secret %s is damaged", name)
	}
	return b, nil
}

// ReadLogKey returns the text of one of the log's keys (store.LogKeySource).
func (ks *KeyStore) ReadLogKey(name string) ([]byte, error) { return ks.get("log/"+name, nil) }

// CreateLogKey keeps a new log key's text, unless one is there already.
func (ks *KeyStore) CreateLogKey(name string, text []byte) error {
	ks.mu.Lock()
	defer ks.mu.Unlock()
	s, err := ks.seal("log/"+name, text)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15e9)
	defer cancel()
	tag, err := ks.pool.Exec(ctx, `INSERT INTO sealed_keys (name, sealed) VALUES ($1, $2) ON CONFLICT (name) DO NOTHING`, "log/"+name, s)
	if err != nil {
		return failUnavailable(err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("the log key %s: %w", name, fs.ErrExist)
	}
	return nil
}

// Where names a log key in messages.
func (ks *KeyStore) Where(name string) string {
	return "the log key " + name + " sealed in the database"
}

// ImportSigner keeps a signing key made elsewhere (by an embedded store
// being copied in) under name, unless a key is kept there already, in
// which case it must be the same.
func (ks *KeyStore) ImportSigner(name string, s *trace.Signer) error {
	return ks.importSecret("signer/"+name, s.Seed())
}

// ImportSecret keeps a secret made elsewhere under name (see ImportSigner).
func (ks *KeyStore) ImportSecret(name string, secret []byte) error {
	return ks.importSecret("secret/"+name, secret)
}

// ImportLogKey keeps one of the log's keys made elsewhere (see ImportSigner).
func (ks *KeyStore) ImportLogKey(name string, text []byte) error {
	return ks.importSecret("log/"+name, text)
}

func (ks *KeyStore) importSecret(name string, secret []byte) error {
	got, err := ks.get(name, func() ([]byte, error) { return secret, nil })
	if err != nil {
		return err
	}
	if string(got) != string(secret) {
		return fmt.Errorf("pg: the database already keeps another key %s", name)
	}
	return nil
}

func failUnavailable(err error) error {
	if unavailable(err) {
		return fmt.Errorf("%w: %w", store.ErrUnavailable, err)
	}
	return err
}
