package a2a

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
)

// Publication says how the gateway presents an agent to its clients.
type Publication struct {
	// Endpoint is the agent's URL at the gateway: https://HOST/t/TEAM/a2a/NAME.
	Endpoint string
	// Issuers are the team's OIDC issuers; each becomes an OpenID Connect
	// security scheme, found by discovery.
	Issuers []string
	// Version is the card shape the client asked for: "0.3" or "1.0".
	Version string
}

// PublishCard is the agent's own card (either version's shape, or nil when
// it could not be fetched) as the gateway's clients must see it: every
// endpoint is the gateway's, both protocol versions are offered there, and
// the only ways in are the gateway's (the team's issuers and gateway API
// keys). What the agent says about itself (name, skills, modes) is kept;
// what would bypass or misdescribe the gateway (its own URLs, security,
// signatures over the original, push notifications, the extended card) is
// not.
func PublishCard(agentCard json.RawMessage, agentName string, p Publication) (json.RawMessage, error) {
	src := map[string]any{}
	if len(agentCard) > 0 {
		if err := json.Unmarshal(agentCard, &src); err != nil {
			return nil, fmt.Errorf("read agent card: %w", err)
		}
	}
	out := map[string]any{
		"name":               orString(src["name"], agentName),
		"description":        orString(src["description"], "A2A agent "+agentName),
		"version":            orString(src["version"], "1.0.0"),
		"defaultInputModes":  orList(src["defaultInputModes"], "text/plain"),
		"defaultOutputModes": orList(src["defaultOutputModes"], "text/plain"),
		"skills":             publishedSkills(src["skills"]),
	}
	for _, k := range []string{"provider", "documentationUrl", "iconUrl"} {
		if v, ok := src[k]; ok {
			out[k] = v
		}
	}
	caps := map[string]any{"streaming": true}
	if c, ok := src["capabilities"].(map[string]any); ok {
		for _, k := range []string{"streaming", "extensions", "stateTransitionHistory"} {
			if v, ok := c[k]; ok {
				caps[k] = v
			}
		}
	}
	caps["pushNotifications"] = false
	out["capabilities"] = caps

	schemes := securitySchemes(p.Issuers)
	if p.Version == "1.0" {
		out["supportedInterfaces"] = []any{
			map[string]any{"url": p.Endpoint, "protocolBinding": "JSONRPC", "protocolVersion": "1.0"},
			map[string]any{"url": p.Endpoint, "protocolBinding": "JSONRPC", "protocolVersion": "0.3"},
		}
		defs := map[string]any{}
		var reqs []any
		for _, s := range schemes {
			if s.issuer != "" {
				defs[s.name] = map[string]any{"openIdConnectSecurityScheme": map[string]any{
					"openIdConnectUrl": discoveryURL(s.issuer), "description": s.description}}
			} else {
				defs[s.name] = map[string]any{"httpAuthSecurityScheme": map[string]any{
					"scheme": "bearer", "description": s.description}}
			}
			reqs = append(reqs, map[string]any{"schemes": map[string]any{s.name: map[string]any{}}})
		}
		out["securitySchemes"] = defs
		out["securityRequirements"] = reqs
	} else {
		out["protocolVersion"] = "0.3.0"
		out["url"] = p.Endpoint
		out["preferredTransport"] = "JSONRPC"
		out["additionalInterfaces"] = []any{map[string]any{"url": p.Endpoint, "transport": "JSONRPC"}}
		defs := map[string]any{}
		var reqs []any
		for _, s := range schemes {
			if s.issuer != "" {
				defs[s.name] = map[string]any{"type": "openIdConnect",
					"openIdConnectUrl": discoveryURL(s.issuer), "description": s.description}
			} else {
				defs[s.name] = map[string]any{"type": "http", "scheme": "bearer", "description": s.description}
			}
			reqs = append(reqs, map[string]any{s.name: []any{}})
		}
		out["securitySchemes"] = defs
		out["security"] = reqs
	}
	return json.Marshal(out)
}

type scheme struct{ name, issuer, description string }

// securitySchemes are the gateway's ways in: one per trusted issuer, then
// gateway API keys (and the gateway's own tokens), any one of which is
// enough.
func securitySchemes(issuers []string) []scheme {
	var out []scheme
	for i, iss := range issuers {
		out = append(out, scheme{name: "oidc" + strconv.Itoa(i+1), issuer: iss,
			description: "A bearer token from the team's identity provider " + iss})
	}
	return append(out, scheme{name: "gateway",
		description: "A bearer token the gateway issued: a team API key or a delegation token"})
}

func discoveryURL(issuer string) string {
	return strings.TrimSuffix(issuer, "/") + "/.well-known/openid-configuration"
}

// publishedSkills keeps each skill's description and drops its own
// security requirements: the gateway's apply instead.
func publishedSkills(v any) []any {
	list, _ := v.([]any)
	out := make([]any, 0, len(list))
	for _, s := range list {
		skill, ok := s.(map[string]any)
		if !ok {
			continue
		}
		delete(skill, "security")
		delete(skill, "securityRequirements")
		if _, ok := skill["tags"]; !ok {
			skill["tags"] = []any{}
		}
		out = append(out, skill)
	}
	return out
}

func orString(v any, def string) string {
	if s, ok := v.(string); ok && s != "" {
		return s
	}
	return def
}

func orList(v any, def string) any {
	if l, ok := v.([]any); ok && len(l) > 0 {
		return l
	}
	return []any{def}
}
