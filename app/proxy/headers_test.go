package proxy

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

// seenRequest is what an engine saw of a request.
type seenRequest struct {
	method, path, query, host string
	header                    http.Header
	body                      string
	contentLength             int64
	transferEncoding          []string
}

// recordingEngine answers every request with a small JSON body and keeps
// what it saw.
func recordingEngine(t *testing.T, answer func(w http.ResponseWriter)) (*httptest.Server, chan seenRequest) {
	t.Helper()
	seen := make(chan seenRequest, 16)
	s := startEngine(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		seen <- seenRequest{
			method: r.Method, path: r.URL.Path, query: r.URL.RawQuery, host: r.Host,
			header: r.Header.Clone(), body: string(b),
			contentLength: r.ContentLength, transferEncoding: r.TransferEncoding,
		}
		if answer != nil {
			answer(w)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	return s, seen
}

func TestHeadersToEngine(t *testing.T) {
	t.Parallel()
	engine, seen := recordingEngine(t, nil)
	gw := startGateway(t, Config{}, teamOf(attach.Engine{
		Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, APIKey: "engine-secret", Default: true,
	}))

	body := `{"model":"llama3","messages":[]}`
	req, _ := http.NewRequest(http.MethodPost, gw+"/api/chat?keep=1", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer client-token")
	req.Header.Set("X-Attach-User", "mallory")
	req.Header.Set("x-attach-tenant", "other-team")
	req.Header.Set("X-Attach-Session", "forged")
	req.Header.Set("X-Attach-Anything", "forged")
	req.Header.Set("Connection", "X-Foo")
	req.Header.Set("X-Foo", "hop")
	req.Header.Set("Keep-Alive", "timeout=5")
	req.Header.Set("Proxy-Authorization", "Basic cHJveHk6c2VjcmV0")
	req.Header.Set("Te", "trailers")
	req.Header.Set("Cookie", "console_session=abc")
	req.Header.Set("X-Forwarded-For", "10.0.0.1")
	req.Header.Set("User-Agent", "ollama-js/0.5")
	req.Header.Set("X-Custom", "kept")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	if got := readBody(t, resp); got != `{"ok":true}` {
		t.Fatalf("body = %q", got)
	}
	r := <-seen

	gwHost := strings.TrimPrefix(gw, "http://")
	want := map[string]string{
		"Authorization":       "Bearer engine-secret",
		"X-Attach-User":       "alice",
		"X-Attach-Session":    "sess-1",
		"X-Attach-Tenant":     "team-1",
		"X-Attach-Anything":   "",
		"X-Foo":               "",
		"Connection":          "",
		"Keep-Alive":          "",
		"Proxy-Authorization": "",
		"Te":                  "",
		"Cookie":              "",
		"X-Forwarded-For":     "10.0.0.1, 127.0.0.1",
		"X-Forwarded-Host":    gwHost,
		"X-Forwarded-Proto":   "http",
		"User-Agent":          "ollama-js/0.5",
		"X-Custom":            "kept",
		"Content-Type":        "application/json",
	}
	for k, v := range want {
		if got := strings.Join(r.header.Values(k), ","); got != v {
			t.Errorf("engine saw %s = %q, want %q", k, got, v)
		}
	}
	u, _ := url.Parse(engine.URL)
	if r.host != u.Host {
		t.Errorf("engine saw Host %q, want its own %q", r.host, u.Host)
	}
	if r.query != "keep=1" {
		t.Errorf("engine saw query %q, want keep=1", r.query)
	}
	if r.body != body || r.contentLength != int64(len(body)) || len(r.transferEncoding) != 0 {
		t.Errorf("engine saw body %q with Content-Length %d, Transfer-Encoding %v; want the client's with its length",
			r.body, r.contentLength, r.transferEncoding)
	}
}

func TestNoEngineKeyNoAuthorization(t *testing.T) {
	t.Parallel()
	engine, seen := recordingEngine(t, nil)
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))

	req, _ := http.NewRequest(http.MethodPost, gw+"/api/chat", strings.NewReader(`{"model":"x"}`))
	req.Header.Set("Authorization", "Bearer client-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST: %v", err)
	}
	readBody(t, resp)
	if got := (<-seen).header.Get("Authorization"); got != "" {
		t.Fatalf("engine without a key saw Authorization %q", got)
	}
}

func TestHeadersToClient(t *testing.T) {
	t.Parallel()
	engine, _ := recordingEngine(t, func(w http.ResponseWriter) {
		h := w.Header()
		h.Set("Content-Type", "application/json; charset=utf-8")
		h.Set("Connection", "X-Bar")
		h.Set("X-Bar", "hop")
		h.Set("Keep-Alive", "timeout=1")
		h.Set("X-Attach-Session-Id", "forged")
		h.Set("X-Engine", "kept")
		h.Add("Set-Cookie", "a=1")
		h.Add("Vary", "Accept")
		h.Add("Vary", "Origin")
		_, _ = io.WriteString(w, `{"ok":true}`)
	})
	gw := startGateway(t, Config{}, teamOf(attach.Engine{Name: "gpu", Dialect: attach.DialectOllama, BaseURL: engine.URL, Default: true}))

	resp := post(t, gw+"/api/chat", `{"model":"x"}`)
	readBody(t, resp)
	want := map[string]string{
		"X-Attach-Session-Id": "sess-1",
		"X-Engine":            "kept",
		"X-Bar":               "",
		"Keep-Alive":          "",
		"Content-Type":        "application/json; charset=utf-8",
		"Set-Cookie":          "", // the team has not opted in
		"Vary":                "Accept,Origin",
		"Content-Length":      "11",
	}
	for k, v := range want {
		if got := strings.Join(resp.Header.Values(k), ","); got != v {
			t.Errorf("client saw %s = %q, want %q", k, got, v)
		}
	}
}

func TestConnectionListed(t *testing.T) {
	t.Parallel()
	conn := [][]byte{[]byte("keep-alive, X-Foo"), []byte(" x-bar ")}
	for key, want := range map[string]bool{"X-Foo": true, "x-foo": true, "X-Bar": true, "Keep-Alive": true, "X-Baz": false, "X": false} {
		if got := connectionListed(conn, []byte(key)); got != want {
			t.Errorf("connectionListed(%q) = %v, want %v", key, got, want)
		}
	}
	if !bytes.EqualFold([]byte("x-attach-user"), []byte(headerUser)) {
		t.Error("X-Attach-* must match whatever the case")
	}
}

func TestIsAttachHeader(t *testing.T) {
	t.Parallel()
	for name, want := range map[string]bool{
		"X-Attach-User": true, "x-attach-user": true, "X_Attach_User": true, "x_attach-tenant": true,
		"X-ATTACH_SESSION": true, "x_attach_": true, "X-Attach-": true,
		"X-Attach": false, "XAttach-User": false, "X-Attachment": false, "X-Forwarded-For": false, "": false,
	} {
		if got := IsAttachHeader([]byte(name)); got != want {
			t.Errorf("IsAttachHeader(%q) = %v, want %v", name, got, want)
		}
	}
}
