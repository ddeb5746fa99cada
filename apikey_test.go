package attach

import (
	"strings"
	"testing"
	"time"
)

func TestNewAPIKeyToken(t *testing.T) {
	t.Parallel()
	token, prefix, hash, err := NewAPIKeyToken()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(token, "atk_"+prefix+"_") || len(prefix) != 12 {
		t.Fatalf("token %q, prefix %q", token, prefix)
	}
	// 32 random bytes, base64url without padding.
	if secret := strings.TrimPrefix(token, "atk_"+prefix+"_"); len(secret) != 43 || strings.ContainsAny(secret, "+/=") {
		t.Fatalf("secret part %q", secret)
	}
	if string(hash) != string(HashAPIKeyToken(token)) || len(hash) != 32 {
		t.Fatal("hash is not SHA-256 of the token")
	}
	token2, prefix2, _, _ := NewAPIKeyToken()
	if token2 == token || prefix2 == prefix {
		t.Fatal("two tokens are equal")
	}
}

func TestParseAPIKey(t *testing.T) {
	t.Parallel()
	cases := []struct {
		token, prefix string
		ok            bool
	}{
		{"atk_0123456789ab_secret", "0123456789ab", true},
		{"atk_0123456789ab_x", "0123456789ab", true},
		{"atk_0123456789ab_", "", false},
		{"atk_0123456789AB_secret", "", false},
		{"atk_0123456789a_secret", "", false},
		{"atk_0123456789abcsecret", "", false},
		{"atk_ghijklmnopqr_secret", "", false},
		{"eyJhbGciOiJSUzI1NiJ9.e30.sig", "", false},
		{"", "", false},
	}
	for _, c := range cases {
		prefix, ok := ParseAPIKey(c.token)
		if prefix != c.prefix || ok != c.ok {
			t.Errorf("ParseAPIKey(%q) = %q, %v; want %q, %v", c.token, prefix, ok, c.prefix, c.ok)
		}
	}
	if !LooksLikeAPIKey("atk_x") || LooksLikeAPIKey("eyJ.x.y") || LooksLikeAPIKey("ATK_x") {
		t.Fatal("LooksLikeAPIKey misclassifies")
	}
}

func TestAPIKeyMatchesAndUsable(t *testing.T) {
	t.Parallel()
	token, prefix, hash, err := NewAPIKeyToken()
	if err != nil {
		t.Fatal(err)
	}
	k := APIKey{Prefix: prefix, Hash: hash}
	if !k.Matches(token) || k.Matches(token[:len(token)-1]) || k.Matches("") {
		t.Fatal("Matches is wrong")
	}
	now := time.Now()
	past, future := now.Add(-time.Minute), now.Add(time.Minute)
	cases := []struct {
		revoked, expires *time.Time
		want             string // the refusal's Reason; "" for usable
	}{
		{nil, nil, ""},
		{nil, &future, ""},
		{nil, &past, ReasonKeyExpired},
		{nil, &now, ReasonKeyExpired},
		{&past, nil, ReasonKeyRevoked},
		{&now, &future, ReasonKeyRevoked},
		{&future, nil, ""}, // revocation scheduled later
		{&past, &past, ReasonKeyRevoked},
	}
	for i, c := range cases {
		k.RevokedAt, k.ExpiresAt = c.revoked, c.expires
		err := k.Usable(now)
		if c.want == "" {
			if err != nil {
				t.Errorf("case %d: Usable = %v, want nil", i, err)
			}
			continue
		}
		if e := AsError(err); e == nil || e.Code != CodeInvalidToken || e.Reason != c.want {
			t.Errorf("case %d: Usable = %#v, want an %s error with reason %s", i, err, CodeInvalidToken, c.want)
		}
	}
}
