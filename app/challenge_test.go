package app

import (
	"strings"
	"testing"
)

// TestChallengeWithoutToken: a request with no bearer token gets the bare
// challenge RFC 6750 §3.1 asks for, with no error code; a bad token keeps
// error="invalid_token".
func TestChallengeWithoutToken(t *testing.T) {
	t.Parallel()
	gw, _, _ := sidecar(t)

	cases := []struct {
		method, path, body, realm string
		headers                   []string
	}{
		{"POST", "/api/chat", chatBody, "attach", nil},
		{"POST", "/t/default/v1/chat/completions", chatBody, "attach", nil},
		{"GET", "/mem/events", "", "attach", nil},
		{"GET", "/admin/v1/teams", "", "attach-admin", nil},
		// Another scheme carries no bearer token either.
		{"POST", "/api/chat", chatBody, "attach", []string{"Authorization", "Basic YWxpY2U6cGFzcw=="}},
	}
	for _, tc := range cases {
		resp, body := call(t, tc.method, gw.URL+tc.path, "", tc.body, tc.headers...)
		if resp.StatusCode != 401 {
			t.Fatalf("%s %s without a token: %d %s", tc.method, tc.path, resp.StatusCode, body)
		}
		if got, want := resp.Header.Get("WWW-Authenticate"), `Bearer realm="`+tc.realm+`"`; got != want {
			t.Errorf("%s %s without a token: WWW-Authenticate %q, want %q", tc.method, tc.path, got, want)
		}
		errorCode(t, body) // still a JSON error with a message
	}

	for _, path := range []string{"/api/chat", "/admin/v1/teams"} {
		resp, _ := call(t, "POST", gw.URL+path, "not-a-valid-token", chatBody)
		if wa := resp.Header.Get("WWW-Authenticate"); resp.StatusCode != 401 || !strings.HasPrefix(wa, "Bearer realm=") || !strings.Contains(wa, `error="invalid_token"`) {
			t.Errorf("%s with a bad token: %d, WWW-Authenticate %q", path, resp.StatusCode, wa)
		}
	}
}
