package oidctest

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
)

// JWTPart decodes part i of a compact JWT, 0 the header and 1 the claims,
// for tests that look inside the tokens they were given.
func JWTPart(t testing.TB, token string, i int) map[string]any {
	t.Helper()
	parts := strings.Split(token, ".")
	if i >= len(parts) {
		t.Fatalf("a JWT has no part %d", i)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[i])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}
