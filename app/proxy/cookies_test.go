package proxy

import (
	"io"
	"net/http"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// cookieEngine answers every request with cookies set in several spellings
// and one header that must pass, the way each of the proxy's answer paths
// gets it: a small JSON answer, a stream, an error of the engine's own, and
// /api/version.
func cookieEngine(t *testing.T) string {
	t.Helper()
	return startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		h := w.Header()
		// Assigned to the map, so the names go out exactly as spelled here.
		h["Set-Cookie"] = []string{"a=1; Path=/"}
		h["set-cookie"] = []string{"b=2; Path=/console"}
		h["SET-COOKIE"] = []string{"console_session=forged; Path=/; HttpOnly"}
		h["Set-Cookie2"] = []string{`c=3; Version="1"`}
		h["set-cookie2"] = []string{`d=4; Version="1"`}
		h.Set("X-Engine", "kept")
		switch {
		case strings.Contains(string(body), `"stream"`):
			h.Set("Content-Type", "application/x-ndjson")
			_, _ = io.WriteString(w, `{"done":false}`+"\n")
			w.(http.Flusher).Flush()
			_, _ = io.WriteString(w, `{"done":true}`+"\n")
		case strings.Contains(string(body), `"refuse"`):
			h.Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusTooManyRequests)
			_, _ = io.WriteString(w, `{"error":"slow down"}`)
		default:
			h.Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"ok":true}`)
		}
	})).URL
}

// cookiePaths are the requests that reach each answer path.
var cookiePaths = []struct{ name, method, path, body string }{
	{"buffered", http.MethodPost, "/api/chat", `{"model":"x"}`},
	{"streamed", http.MethodPost, "/api/chat", `{"model":"stream"}`},
	{"engine error", http.MethodPost, "/api/chat", `{"model":"refuse"}`},
	{"version", http.MethodGet, "/api/version", ``},
}

func cookieTeam(url string, engineCookies bool) *tenants.Snapshot {
	team := attach.Team{ID: "team-1", Slug: "acme", Name: "Acme", EngineCookies: engineCookies}
	engine := attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: url, Default: true}
	return tenants.NewSnapshot(team, nil, []attach.Engine{engine}, nil, nil, 1)
}

// setCookies is every Set-Cookie and Set-Cookie2 value the client got, the
// names folded.
func setCookies(h http.Header) []string {
	var out []string
	for k, v := range h {
		if strings.EqualFold(k, "Set-Cookie") || strings.EqualFold(k, "Set-Cookie2") {
			out = append(out, v...)
		}
	}
	return out
}

func cookieCall(t *testing.T, gw, method, path, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(method, gw+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	readBody(t, resp)
	if resp.Header.Get("X-Engine") != "kept" {
		t.Fatalf("%s %s: status %d, the engine's answer headers did not arrive: %v", method, path, resp.StatusCode, resp.Header)
	}
	return resp
}

// By default no cookie an engine sets reaches the client, whatever the
// answer and however the header is spelled.
func TestEngineCookiesDropped(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, Config{}, cookieTeam(cookieEngine(t), false))
	for _, c := range cookiePaths {
		resp := cookieCall(t, gw, c.method, c.path, c.body)
		if got := setCookies(resp.Header); len(got) != 0 {
			t.Errorf("%s: client got cookies %q", c.name, got)
		}
	}
}

// A team that opts in gets its engines' cookies on every answer path.
func TestEngineCookiesPassWhenTheTeamOptsIn(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, Config{}, cookieTeam(cookieEngine(t), true))
	for _, c := range cookiePaths {
		resp := cookieCall(t, gw, c.method, c.path, c.body)
		got := strings.Join(setCookies(resp.Header), " | ")
		for _, want := range []string{"a=1", "b=2", "console_session=forged", "c=3", "d=4"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: client got cookies %q, want %s among them", c.name, got, want)
			}
		}
	}
}

func TestIsSetCookie(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"Set-Cookie": true, "set-cookie": true, "SET-COOKIE": true, "Set-Cookie2": true, "set-COOKIE2": true,
		"Cookie": false, "Set-Cookies": false, "Set-Cookie3": false, "X-Set-Cookie": false, "": false,
	} {
		if got := isSetCookie([]byte(name)); got != want {
			t.Errorf("isSetCookie(%q) = %v, want %v", name, got, want)
		}
	}
}
