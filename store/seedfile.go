package store

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/truyxuat/truyxuat/trace"
)

// A cooperative that signs its own events keeps its Ed25519 seed in a file
// of the same format as the KeyDir's: one line, "truyxuat-ed25519-seed "
// and the base64 of the 32-byte seed, mode 0600.

// WriteSeedFile writes a new key file at path with mode 0600. It refuses
// to replace an existing file, so a key is never lost by mistake.
func WriteSeedFile(path string, s *trace.Signer) error {
	if _, err := os.Lstat(path); err == nil {
		return fmt.Errorf("%s already exists; choose another file or remove it first: %w", path, fs.ErrExist)
	} else if !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return writeKeyFile(path, s)
}

// ReadSeedFile reads a key file written by WriteSeedFile (or a KeyDir). It
// refuses a file that others can read.
func ReadSeedFile(path string) (*trace.Signer, error) {
	return readKeyFile(path)
}
