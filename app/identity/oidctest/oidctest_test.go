package oidctest_test

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/app/identity/oidctest"
)

func header(t *testing.T, tok string) map[string]any {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(h, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func claims(t *testing.T, tok string) map[string]any {
	t.Helper()
	h, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(h, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestProviderIssuesEachAlgorithm(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{})
	for _, alg := range []string{"RS256", "PS256", "ES256", "EdDSA"} {
		tok := idp.TokenAlg(t, alg, "api://team-a", "chat")
		h := header(t, tok)
		if h["alg"] != alg || h["typ"] != "at+jwt" || h["kid"] != idp.KeyID(alg) {
			t.Errorf("%s: header %v, want alg %s typ at+jwt kid %s", alg, h, alg, idp.KeyID(alg))
		}
		c := claims(t, tok)
		if c["aud"] != "api://team-a" || c["iss"] != idp.Issuer() || c["sub"] != "gateway-"+strings.ToLower(alg) || c["scope"] != "chat" {
			t.Errorf("%s: claims %v", alg, c)
		}
	}
}

func TestRotateKeys(t *testing.T) {
	idp := oidctest.Start(t, oidctest.Options{})
	old := idp.KeyID("RS256")
	idp.RotateKeys(t)
	if idp.KeyID("RS256") == old {
		t.Fatal("kid unchanged after rotation")
	}
	if kid := header(t, idp.Token(t, "api://x"))["kid"]; kid != idp.KeyID("RS256") {
		t.Errorf("token kid %v, want the new %s", kid, idp.KeyID("RS256"))
	}
	if published(t, idp, old) != 1 {
		t.Error("old key no longer published after RotateKeys")
	}
	idp.ReplaceKeys(t)
	if published(t, idp, old) != 0 {
		t.Error("old key still published after ReplaceKeys")
	}
	if n := len(idp.PublicJWKS(t).Keys); n != 3 {
		t.Errorf("published %d keys after ReplaceKeys, want 3", n)
	}
	if idp.Hits(t, "/jwks") != 2 {
		t.Errorf("hits on /jwks = %d, want 2", idp.Hits(t, "/jwks"))
	}
}

func published(t *testing.T, idp *oidctest.Provider, kid string) int {
	set := idp.PublicJWKS(t)
	return len(set.Key(kid))
}
