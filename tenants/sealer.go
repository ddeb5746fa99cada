package tenants

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"errors"
	"fmt"
)

// SecretKeySize is the length of the key a Sealer needs (AES-256).
const SecretKeySize = 32

// sealVersion is the first byte of every sealed value, so the format can
// change (a new algorithm, a rotated key) without guessing.
const sealVersion byte = 1

// ErrUnseal means a sealed value could not be opened: a different key, a
// value moved to another row, or corrupted bytes.
var ErrUnseal = errors.New("sealed value cannot be opened")

// Sealer encrypts upstream secrets at rest with AES-256-GCM. The additional
// data binds a ciphertext to where it is stored (the engine id), so a value
// copied onto another row does not open.
type Sealer struct {
	aead cipher.AEAD
}

// NewSealer makes a Sealer from a 32-byte key.
func NewSealer(key []byte) (*Sealer, error) {
	if len(key) != SecretKeySize {
		return nil, fmt.Errorf("secret key must be %d bytes, got %d", SecretKeySize, len(key))
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("create AES cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("create GCM: %w", err)
	}
	return &Sealer{aead: aead}, nil
}

// Seal returns version || nonce || ciphertext+tag. The nonce is random: a
// 96-bit random nonce is safe for far more values than a gateway stores.
func (s *Sealer) Seal(plaintext, additional []byte) ([]byte, error) {
	out := make([]byte, 1+s.aead.NonceSize(), 1+s.aead.NonceSize()+len(plaintext)+s.aead.Overhead())
	out[0] = sealVersion
	if _, err := rand.Read(out[1:]); err != nil {
		return nil, fmt.Errorf("read random nonce: %w", err)
	}
	return s.aead.Seal(out, out[1:], plaintext, additional), nil
}

// Open reverses Seal. Any mismatch returns ErrUnseal and nothing else: the
// error never carries key material or plaintext.
func (s *Sealer) Open(sealed, additional []byte) ([]byte, error) {
	n := s.aead.NonceSize()
	if len(sealed) < 1+n+s.aead.Overhead() || sealed[0] != sealVersion {
		return nil, ErrUnseal
	}
	plain, err := s.aead.Open(nil, sealed[1:1+n], sealed[1+n:], additional)
	if err != nil {
		return nil, ErrUnseal
	}
	return plain, nil
}
