package tenants

import (
	"bytes"
	"errors"
	"strconv"
	"strings"
	"testing"
)

func TestSealerRoundTrip(t *testing.T) {
	t.Parallel()
	s := testSealer(t)
	ad := []byte("engine-1")
	a, err := s.Seal([]byte("sk-secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Seal([]byte("sk-secret"), ad)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a, b) {
		t.Fatal("two seals of one value are equal: the nonce is not random")
	}
	if bytes.Contains(a, []byte("sk-secret")) {
		t.Fatal("plaintext visible in the sealed value")
	}
	for _, sealed := range [][]byte{a, b} {
		plain, err := s.Open(sealed, ad)
		if err != nil || string(plain) != "sk-secret" {
			t.Fatalf("Open = %q, %v", plain, err)
		}
	}
	empty, err := s.Seal(nil, ad)
	if err != nil {
		t.Fatal(err)
	}
	if plain, err := s.Open(empty, ad); err != nil || len(plain) != 0 {
		t.Fatalf("empty round trip = %q, %v", plain, err)
	}
}

func TestSealerTamper(t *testing.T) {
	t.Parallel()
	s := testSealer(t)
	sealed, err := s.Seal([]byte("sk-secret"), []byte("engine-1"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := NewSealer(bytes.Repeat([]byte{8}, SecretKeySize))
	if err != nil {
		t.Fatal(err)
	}
	cases := map[string]func() ([]byte, error){
		"wrong additional data": func() ([]byte, error) { return s.Open(sealed, []byte("engine-2")) },
		"wrong key":             func() ([]byte, error) { return other.Open(sealed, []byte("engine-1")) },
		"truncated":             func() ([]byte, error) { return s.Open(sealed[:10], []byte("engine-1")) },
		"empty":                 func() ([]byte, error) { return s.Open(nil, []byte("engine-1")) },
	}
	for i := range sealed {
		flipped := bytes.Clone(sealed)
		flipped[i] ^= 0x01
		cases["flipped byte "+strconv.Itoa(i)] = func() ([]byte, error) { return s.Open(flipped, []byte("engine-1")) }
	}
	for name, open := range cases {
		plain, err := open()
		if !errors.Is(err, ErrUnseal) || plain != nil {
			t.Errorf("%s: Open = %q, %v; want ErrUnseal", name, plain, err)
		}
		if err != nil && strings.Contains(err.Error(), "sk-secret") {
			t.Errorf("%s: error leaks the secret", name)
		}
	}
}

func TestNewSealerKeySize(t *testing.T) {
	t.Parallel()
	for _, n := range []int{0, 16, 31, 33, 64} {
		if _, err := NewSealer(make([]byte, n)); err == nil {
			t.Errorf("NewSealer accepted a %d-byte key", n)
		}
	}
}
