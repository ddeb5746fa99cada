package tenants

import (
	"strings"

	attach "github.com/attach-dev/attach-gateway"
)

// NewSnapshot builds the read-only view of one team. The slices are kept as
// given; callers must not change them afterwards.
func NewSnapshot(team attach.Team, issuers []attach.Issuer, engines []attach.Engine, agents []attach.Agent, keys []attach.APIKey, version uint64) *Snapshot {
	byPrefix := make(map[string]attach.APIKey, len(keys))
	for _, k := range keys {
		byPrefix[k.Prefix] = k
	}
	return &Snapshot{Team: team, Issuers: issuers, Engines: engines, Agents: agents, Version: version, apiKeys: byPrefix}
}

// Agent finds the team's agent by its name, the last segment of
// /t/{team}/a2a/{name}. Teams have few agents, so a scan is enough.
func (s *Snapshot) Agent(name string) (attach.Agent, bool) {
	for _, a := range s.Agents {
		if a.Name == name {
			return a, true
		}
	}
	return attach.Agent{}, false
}

// MCPServer finds the team's MCP server by its name, the last segment of
// /t/{team}/mcp/{name}.
func (s *Snapshot) MCPServer(name string) (attach.MCPServer, bool) {
	for _, m := range s.MCPServers {
		if m.Name == name {
			return m, true
		}
	}
	return attach.MCPServer{}, false
}

// APIKey finds a gateway key by its public prefix.
func (s *Snapshot) APIKey(prefix string) (attach.APIKey, bool) {
	k, ok := s.apiKeys[prefix]
	return k, ok
}

// Engine picks the engine that serves model: the one that lists it, else
// the engine ticked default. A model no engine lists, on a team with no
// default engine, goes nowhere (ok false), even when the team has a single
// engine: the engine form promises that only a default engine takes
// models no engine lists.
func (s *Snapshot) Engine(model string) (attach.Engine, bool) {
	if model != "" {
		want := CanonicalModel(model)
		for _, e := range s.Engines {
			for _, m := range e.Models {
				if CanonicalModel(m) == want {
					return e, true
				}
			}
		}
	}
	return s.DefaultEngine()
}

// DefaultEngine is the engine ticked default, if any.
func (s *Snapshot) DefaultEngine() (attach.Engine, bool) {
	for _, e := range s.Engines {
		if e.Default {
			return e, true
		}
	}
	return attach.Engine{}, false
}

// Models lists, once each and in engine order, the models the team's
// engines are configured with: what a request may name when the team has
// no default engine.
func (s *Snapshot) Models() []string {
	var out []string
	seen := map[string]bool{}
	for _, e := range s.Engines {
		for _, m := range e.Models {
			if c := CanonicalModel(m); !seen[c] {
				seen[c] = true
				out = append(out, m)
			}
		}
	}
	return out
}

// CanonicalModel makes "llama3" and "llama3:latest" the same name, as Ollama
// does.
func CanonicalModel(m string) string {
	return strings.TrimSuffix(m, ":latest")
}
