package app

import "testing"

func TestSessionID(t *testing.T) {
	t.Parallel()
	n1, n2 := newSessionNamer(deriveKey([]byte("one"), "s")), newSessionNamer(deriveKey([]byte("two"), "s"))
	a := n1.id("team", "alice", "curl/8")
	if a != n1.id("team", "alice", "curl/8") {
		t.Fatal("session id not stable")
	}
	for _, other := range []string{
		n1.id("team", "bob", "curl/8"),
		n1.id("team2", "alice", "curl/8"),
		n1.id("team", "alice", "python/3"),
		n2.id("team", "alice", "curl/8"),
		// the separator keeps ("ab","c") and ("a","bc") apart
		n1.id("teamalice", "", "curl/8"),
	} {
		if other == a {
			t.Fatal("distinct inputs share a session id")
		}
	}
}
