package app

import (
	"slices"
	"testing"

	"github.com/attach-dev/attach-gateway/app/proxy"
)

// The server registers exactly the engine routes the proxy knows how to serve.
func TestEngineRoutesMatchProxy(t *testing.T) {
	var ours []string
	for _, r := range engineRoutes {
		ours = append(ours, r.path)
	}
	slices.Sort(ours)
	if theirs := proxy.Routes(); !slices.Equal(ours, theirs) {
		t.Fatalf("server routes %v, proxy routes %v", ours, theirs)
	}
}
