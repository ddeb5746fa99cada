package app

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"testing"
)

func TestSessionID(t *testing.T) {
	t.Parallel()
	n1, n2 := newSessionNamer(deriveKey([]byte("one"), "s")), newSessionNamer(deriveKey([]byte("two"), "s"))
	a := n1.id("team", "alice", "curl/8", "")
	if a != n1.id("team", "alice", "curl/8", "") {
		t.Fatal("session id not stable")
	}
	// Ids made before session keys existed stay what they were: the
	// HMAC of team, user and agent only.
	m := hmac.New(sha256.New, deriveKey([]byte("one"), "s"))
	m.Write([]byte("team\x00alice\x00curl/8"))
	if want := base64.RawURLEncoding.EncodeToString(m.Sum(nil)[:18]); a != want {
		t.Fatalf("keyless session id %q, want the old derivation's %q", a, want)
	}
	k1 := n1.id("team", "alice", "curl/8", "chat-1")
	if k1 != n1.id("team", "alice", "curl/8", "chat-1") {
		t.Fatal("session id with a key not stable")
	}
	for _, other := range []string{
		n1.id("team", "bob", "curl/8", ""),
		n1.id("team2", "alice", "curl/8", ""),
		n1.id("team", "alice", "python/3", ""),
		n2.id("team", "alice", "curl/8", ""),
		// the separator keeps ("ab","c") and ("a","bc") apart
		n1.id("teamalice", "", "curl/8", ""),
		k1,
		n1.id("team", "alice", "curl/8", "chat-2"),
		n1.id("team", "bob", "curl/8", "chat-1"),
	} {
		if other == a {
			t.Fatal("distinct inputs share a session id")
		}
	}
	if n1.id("team", "alice", "curl/8", "chat-2") == k1 || n1.id("team", "bob", "curl/8", "chat-1") == k1 {
		t.Fatal("another key or another user shares a keyed session")
	}
}

func TestValidSessionKey(t *testing.T) {
	t.Parallel()
	for k, want := range map[string]bool{
		"":                       false,
		"chat-3f2a":              true,
		"a":                      true,
		strings.Repeat("x", 128): true,
		strings.Repeat("x", 129): false,
		"with space":             false,
		"tab\there":              false,
		"nul\x00":                false,
		"caf\u00e9":              false,
		"~!@#$%^&*()_+{}|:<>?[]": true,
	} {
		if got := validSessionKey(k); got != want {
			t.Errorf("validSessionKey(%q) = %v, want %v", k, got, want)
		}
	}
}

func FuzzSessionKey(f *testing.F) {
	for _, s := range []string{"", "chat-1", "with space", strings.Repeat("x", 129), "\x7f"} {
		f.Add(s)
	}
	n := newSessionNamer(deriveKey([]byte("one"), "s"))
	f.Fuzz(func(t *testing.T, k string) {
		if !validSessionKey(k) {
			return
		}
		if len(k) > maxSessionKey || strings.ContainsFunc(k, func(r rune) bool { return r <= ' ' || r > '~' }) {
			t.Fatalf("accepted %q", k)
		}
		if n.id("t", "u", "a", k) == n.id("t", "u", "a", "") {
			t.Fatalf("key %q gives the keyless session", k)
		}
	})
}

// TestSessionKeyHeader: the same Attach-Session-Key keeps a session, a new
// one starts another, none keeps the id of old; a bad key is refused.
func TestSessionKeyHeader(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	tok := idp.Token(t, "api://default")
	session := func(headers ...string) string {
		t.Helper()
		resp, body := call(t, "POST", gw.URL+"/api/chat", tok, chatBody, append([]string{"User-Agent", "keyed/1"}, headers...)...)
		if resp.StatusCode != 200 {
			t.Fatalf("status %d: %s", resp.StatusCode, body)
		}
		sid := resp.Header.Get("X-Attach-Session-Id")
		if up, _ := eng.lastRequest(); up.Header.Get("X-Attach-Session") != sid || sid == "" {
			t.Fatalf("engine saw session %q, client got %q", up.Header.Get("X-Attach-Session"), sid)
		}
		return sid
	}
	plain := session()
	one := session(HeaderSessionKey, "chat-1")
	if one == plain {
		t.Fatal("a session key did not start a new session")
	}
	if again := session(HeaderSessionKey, "chat-1"); again != one {
		t.Fatalf("the same key gave session %q, then %q", one, again)
	}
	if two := session(HeaderSessionKey, "chat-2"); two == one || two == plain {
		t.Fatal("a new key did not start a new session")
	}
	if session() != plain {
		t.Fatal("without a key the session changed")
	}
	resp, body := call(t, "POST", gw.URL+"/api/chat", tok, chatBody, HeaderSessionKey, strings.Repeat("k", 129))
	if resp.StatusCode != 422 || errorCode(t, body) != "invalid_field" || !strings.Contains(body, HeaderSessionKey) {
		t.Fatalf("an oversized key: status %d, %s", resp.StatusCode, body)
	}
}
