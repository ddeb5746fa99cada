package tenants

import (
	"context"
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"runtime"
	"strconv"
	"strings"
	"sync"

	"golang.org/x/crypto/argon2"
)

// argon2Params are the cost settings of one argon2id hash. They are written
// into every hash (the PHC string format), so a stored hash keeps working
// after the defaults change, and is re-hashed at the next sign-in.
type argon2Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes
	Threads uint8
	SaltLen int
	KeyLen  uint32
}

// defaultArgon2Params follow OWASP's argon2id recommendation (19 MiB, two
// passes, one lane): about 0.1 s here, and little memory per sign-in.
var defaultArgon2Params = argon2Params{Memory: 19 * 1024, Time: 2, Threads: 1, SaltLen: 16, KeyLen: 32}

// Bounds a stored hash's parameters must respect, so a damaged or planted
// row cannot make one sign-in take gigabytes or minutes.
const (
	maxArgon2Memory  = 1 << 20 // KiB: 1 GiB
	maxArgon2Time    = 100
	maxArgon2Threads = 64
)

var errBadPasswordHash = errors.New("stored password hash is not an argon2id PHC string")

// passwordHasher hashes and checks passwords. Each hash holds tens of MiB
// for a tenth of a second, so only a few run at once: a burst of sign-ins
// queues instead of exhausting memory.
type passwordHasher struct {
	params argon2Params
	slots  chan struct{}

	dummyOnce sync.Once
	dummy     string
	dummyErr  error
}

func newPasswordHasher(p argon2Params) *passwordHasher {
	return &passwordHasher{params: p, slots: make(chan struct{}, max(2, runtime.GOMAXPROCS(0)))}
}

func (h *passwordHasher) acquire(ctx context.Context) error {
	select {
	case h.slots <- struct{}{}:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("wait to hash a password: %w", ctx.Err())
	}
}

func (h *passwordHasher) release() { <-h.slots }

// hash returns password's argon2id hash in PHC form:
// $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, base64 without padding.
func (h *passwordHasher) hash(ctx context.Context, password string) (string, error) {
	salt := make([]byte, h.params.SaltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", fmt.Errorf("read random salt: %w", err)
	}
	if err := h.acquire(ctx); err != nil {
		return "", err
	}
	defer h.release()
	key := argon2.IDKey([]byte(password), salt, h.params.Time, h.params.Memory, h.params.Threads, h.params.KeyLen)
	return encodePHC(h.params, salt, key), nil
}

// verify tells whether password matches encoded, comparing in constant
// time, and whether encoded was made with other parameters than today's
// (stale: worth re-hashing). An empty encoded stands for an account that
// does not exist or has no password: a throwaway hash is checked instead, so
// the answer takes as long as for a real account.
func (h *passwordHasher) verify(ctx context.Context, encoded, password string) (ok, stale bool, err error) {
	exists := encoded != ""
	if !exists {
		if encoded, err = h.dummyHash(ctx); err != nil {
			return false, false, err
		}
	}
	p, salt, want, err := decodePHC(encoded)
	if err != nil {
		return false, false, err
	}
	if err := h.acquire(ctx); err != nil {
		return false, false, err
	}
	defer h.release()
	got := argon2.IDKey([]byte(password), salt, p.Time, p.Memory, p.Threads, uint32(len(want)))
	match := subtle.ConstantTimeCompare(got, want) == 1
	return match && exists, p != h.params, nil
}

// dummyHash is a hash of a random password with today's parameters, made
// once.
func (h *passwordHasher) dummyHash(ctx context.Context) (string, error) {
	h.dummyOnce.Do(func() {
		secret := make([]byte, 32)
		if _, err := rand.Read(secret); err != nil {
			h.dummyErr = fmt.Errorf("read random bytes: %w", err)
			return
		}
		h.dummy, h.dummyErr = h.hash(context.WithoutCancel(ctx), base64.RawURLEncoding.EncodeToString(secret))
	})
	return h.dummy, h.dummyErr
}

func encodePHC(p argon2Params, salt, key []byte) string {
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		base64.RawStdEncoding.EncodeToString(salt), base64.RawStdEncoding.EncodeToString(key))
}

// decodePHC parses what encodePHC writes and checks that the costs are
// within bounds. Errors never include the hash.
func decodePHC(s string) (argon2Params, []byte, []byte, error) {
	var p argon2Params
	parts := strings.Split(s, "$")
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" || parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, errBadPasswordHash
	}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil {
			return p, nil, nil, errBadPasswordHash
		}
		switch k {
		case "m":
			p.Memory = uint32(n)
		case "t":
			p.Time = uint32(n)
		case "p":
			if n > maxArgon2Threads {
				return p, nil, nil, errBadPasswordHash
			}
			p.Threads = uint8(n)
		default:
			return p, nil, nil, errBadPasswordHash
		}
	}
	if p.Memory < 8*uint32(p.Threads) || p.Memory > maxArgon2Memory || p.Time < 1 || p.Time > maxArgon2Time || p.Threads < 1 {
		return p, nil, nil, errBadPasswordHash
	}
	salt, err := base64.RawStdEncoding.DecodeString(parts[4])
	if err != nil || len(salt) < 8 || len(salt) > 64 {
		return p, nil, nil, errBadPasswordHash
	}
	key, err := base64.RawStdEncoding.DecodeString(parts[5])
	if err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, errBadPasswordHash
	}
	p.SaltLen, p.KeyLen = len(salt), uint32(len(key))
	return p, salt, key, nil
}
