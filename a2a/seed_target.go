package a2a

import (
	"net/url"
	"path"
	"strings"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// Kinds of seed targets.
const (
	TargetEngine = "engine" // one of the team's engine routes at the gateway
	TargetAgent  = "agent"  // one of the team's agents at the gateway
)

// DefaultSeedRoute is where a seed task without target_url goes: the
// team's chat route, Ollama's dialect, as the seed had it.
const DefaultSeedRoute = "/api/chat"

// SeedTarget is what a seed task is sent to.
type SeedTarget struct {
	Kind string `json:"kind"` // TargetEngine or TargetAgent
	// Name is the engine route ("/api/chat") or the agent's name.
	Name string `json:"name"`
}

// SeedScope is what target_url may name: the team's own routes at the
// gateway, and nothing else.
type SeedScope struct {
	PublicURL string // the gateway's public URL, as clients reach it
	TeamSlug  string
	// DefaultTeam is true for the team served at the root: its routes have
	// two spellings, /a2a/x and /t/{team}/a2a/x.
	DefaultTeam bool
	HasAgent    func(name string) bool
}

// ResolveTarget reads a seed task's target_url. It accepts only the
// team's own routes at the gateway, as a URL of the gateway or as a path:
// an agent (/t/{team}/a2a/{agent}) or an engine route that takes a body
// (/t/{team}/api/chat, /t/{team}/v1/chat/completions, ...); "" is the
// team's chat route. Anything else — another host, another team, an
// engine's own address — is refused, so the gateway never relays to an
// address of the caller's choosing.
func ResolveTarget(raw string, s SeedScope) (SeedTarget, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return SeedTarget{Kind: TargetEngine, Name: DefaultSeedRoute}, nil
	}
	refuse := func(why string) (SeedTarget, error) {
		return SeedTarget{}, attach.Invalid("target_url", why)
	}
	u, err := url.Parse(raw)
	if err != nil {
		return refuse("is not a URL")
	}
	if u.User != nil || u.RawQuery != "" || u.Fragment != "" || u.Opaque != "" {
		return refuse("must be a route of this gateway, without credentials, query or fragment")
	}
	p := u.EscapedPath()
	if u.Scheme != "" || u.Host != "" {
		pub, err := url.Parse(s.PublicURL)
		if err != nil || !strings.EqualFold(u.Scheme, pub.Scheme) || !sameHost(u, pub) {
			return refuse("must name this gateway (" + s.PublicURL + "); other hosts are not reachable through it")
		}
		// A gateway published under a path prefix serves its routes below it.
		prefix := strings.TrimRight(pub.EscapedPath(), "/")
		rest, ok := strings.CutPrefix(p, prefix)
		if !ok || prefix != "" && rest != "" && rest[0] != '/' {
			return refuse("must be a route of this gateway")
		}
		p = rest
	}
	if !strings.HasPrefix(p, "/") || path.Clean(p) != p {
		return refuse("must be a route of this gateway, such as /t/" + s.TeamSlug + "/api/chat")
	}
	// The team's part of the path: /t/{team}/..., or the root for the
	// default team.
	rest, ok := strings.CutPrefix(p, "/t/"+s.TeamSlug+"/")
	switch {
	case ok:
		rest = "/" + rest
	case s.DefaultTeam && !strings.HasPrefix(p, "/t/"):
		rest = p
	default:
		return refuse("must be a route of this team (/t/" + s.TeamSlug + "/...)")
	}
	if name, ok := strings.CutPrefix(rest, "/a2a/"); ok {
		if strings.Contains(name, "/") || s.HasAgent == nil || !s.HasAgent(name) {
			return refuse("names no agent of this team")
		}
		return SeedTarget{Kind: TargetAgent, Name: name}, nil
	}
	r, ok := dialect.Lookup(rest)
	if !ok || r.Method != "POST" {
		return refuse("names no engine route that takes a request (such as /api/chat or /v1/chat/completions)")
	}
	return SeedTarget{Kind: TargetEngine, Name: r.Path}, nil
}

// sameHost compares host and port, a missing port being the scheme's.
func sameHost(u, pub *url.URL) bool {
	port := func(x *url.URL) string {
		if p := x.Port(); p != "" {
			return p
		}
		if strings.EqualFold(x.Scheme, "https") {
			return "443"
		}
		return "80"
	}
	return strings.EqualFold(u.Hostname(), pub.Hostname()) && port(u) == port(pub)
}
