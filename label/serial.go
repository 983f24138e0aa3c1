package label

import (
	"crypto/rand"
	"fmt"
)

// Serial numbers are SerialLen characters from serialAlphabet: digits and
// capital letters without 0, 1, I and O, which are misread when a serial is
// typed in by hand. Each character carries 5 bits, so a serial has 60 bits
// from crypto/rand: nobody can guess another unit's serial from their own.
const (
	SerialLen      = 12
	serialAlphabet = "23456789ABCDEFGHJKLMNPQRSTUVWXYZ"
)

// NewSerial returns a random per-unit serial number, valid for GS1 AI 21
// (trace.ValidateSerial).
func NewSerial() (string, error) {
	var b [SerialLen]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("label: serial: %w", err)
	}
	for i, v := range b {
		// 256 is a multiple of 32, so v%32 is uniform.
		b[i] = serialAlphabet[v%32]
	}
	return string(b[:]), nil
}
