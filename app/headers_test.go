package app

import (
	"net/http"
	"strings"
	"testing"
)

// attachSpelling says whether a header name is an X-Attach-* name once
// '_' is read as '-' and case is folded, as WSGI and CGI servers read it.
func attachSpelling(name string) bool {
	return strings.HasPrefix(strings.ToLower(strings.ReplaceAll(name, "_", "-")), "x-attach-")
}

// TestIdentityHeadersInOtherSpellings sends identity headers spelled with
// underscores and mixed case: a WSGI engine folds X_Attach_User into
// HTTP_X_ATTACH_USER with the real one, so none may reach the engine; and
// the engine's own answer headers in such spellings never reach the client.
func TestIdentityHeadersInOtherSpellings(t *testing.T) {
	t.Parallel()
	gw, idp, eng := sidecar(t)
	eng.answerHeaders = http.Header{
		"X_Attach_User":       {"engine-says-admin"},
		"x_attach-session-id": {"engine-session"},
		"X-ATTACH_TENANT":     {"other"},
		"X-Engine":            {"kept"},
	}

	req, err := http.NewRequest("POST", gw.URL+"/api/chat", strings.NewReader(chatBody))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+idp.Token(t, "api://default"))
	// Assigned to the map, so the names go out exactly as spelled here.
	for k, v := range map[string]string{
		"X_Attach_User": "admin", "x_attach-tenant": "other", "X-ATTACH_SESSION": "forged",
		"x_ATTACH_anything": "forged",
	} {
		req.Header[k] = []string{v}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("status %d", resp.StatusCode)
	}

	up, _ := eng.lastRequest()
	for k, v := range up.Header {
		if !attachSpelling(k) {
			continue
		}
		switch k {
		case "X-Attach-User", "X-Attach-Session", "X-Attach-Tenant":
		default:
			t.Errorf("engine saw %s: %q", k, v)
			continue
		}
		if len(v) != 1 {
			t.Errorf("engine saw %s %q, want the gateway's value alone", k, v)
		}
	}
	if got := up.Header.Get("X-Attach-User"); got != "gateway-rs256" {
		t.Errorf("engine saw X-Attach-User %q, want the token's subject", got)
	}
	if got := up.Header.Get("X-Attach-Tenant"); got != "default" {
		t.Errorf("engine saw X-Attach-Tenant %q", got)
	}

	for k, v := range resp.Header {
		if attachSpelling(k) && k != "X-Attach-Session-Id" {
			t.Errorf("client saw the engine's %s: %q", k, v)
		}
	}
	if got := resp.Header.Values("X-Attach-Session-Id"); len(got) != 1 || got[0] == "engine-session" {
		t.Errorf("client saw X-Attach-Session-Id %q, want the gateway's one", got)
	}
	if resp.Header.Get("X-Engine") != "kept" {
		t.Error("the engine's own header did not reach the client")
	}
}
