package app

import (
	"testing"

	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// Every engine route is served at the root and under /t/{team}, and none is
// reachable without a token.
func TestEveryEngineRouteIsServedAndGuarded(t *testing.T) {
	t.Parallel()
	gw := startGateway(t, testConfig(t))
	routes := dialect.Routes()
	if len(routes) != 11 {
		t.Fatalf("proxy lists %d engine routes, want the 7 Ollama and 4 OpenAI ones", len(routes))
	}
	for _, r := range routes {
		for _, path := range []string{r.Path, "/t/default" + r.Path} {
			body := ""
			if r.Method == "POST" {
				body = chatBody
			}
			resp, b := call(t, r.Method, gw.URL+path, "", body)
			if resp.StatusCode != 401 || errorCode(t, b) != "missing_token" {
				t.Errorf("%s %s without a token: %d %s", r.Method, path, resp.StatusCode, b)
			}
		}
	}
}
