package a2a

import (
	"errors"
	"fmt"
)

// Agent cards. The versions differ in four places:
//   - endpoints: 0.3 has url + preferredTransport + additionalInterfaces
//     [{url, transport}] and one protocolVersion; 1.0 lists
//     supportedInterfaces [{url, protocolBinding, protocolVersion, tenant}].
//   - security schemes: 0.3 types them with "type" (OpenAPI style), 1.0
//     wraps each in a member naming its kind (apiKeySecurityScheme, …), and
//     the API key's "in" is 1.0's "location".
//   - security requirements: 0.3 "security" [{name: [scopes]}], 1.0
//     "securityRequirements" [{"schemes": {name: {"list": [scopes]}}}], on
//     the card and on each skill.
//   - the extended card flag: 0.3 supportsAuthenticatedExtendedCard, 1.0
//     capabilities.extendedAgentCard.
//
// A translated card describes the agent as the gateway presents it to a
// client of the target version, so its interfaces declare that version.

const protocolVersion03 = "0.3.0"

// securityKinds pairs the 0.3 scheme types with the 1.0 member names.
var securityKinds = []struct{ v03, v10 string }{
	{"apiKey", "apiKeySecurityScheme"},
	{"http", "httpAuthSecurityScheme"},
	{"oauth2", "oauth2SecurityScheme"},
	{"openIdConnect", "openIdConnectSecurityScheme"},
	{"mutualTLS", "mtlsSecurityScheme"},
}

func cardTo10(c map[string]any) (map[string]any, error) {
	if err := checkStrings(c, "url", "preferredTransport", "protocolVersion"); err != nil {
		return nil, fmt.Errorf("agent card: %w", err)
	}
	out := shallowCopy(c)
	for _, k := range []string{"url", "preferredTransport", "additionalInterfaces", "protocolVersion", "security", "supportsAuthenticatedExtendedCard"} {
		delete(out, k)
	}

	var interfaces []any
	seen := map[[2]string]bool{}
	add := func(url, binding string) {
		if url == "" || seen[[2]string{url, binding}] {
			return
		}
		seen[[2]string{url, binding}] = true
		interfaces = append(interfaces, map[string]any{"url": url, "protocolBinding": binding, "protocolVersion": V10})
	}
	url, _ := stringField(c, "url")
	binding, _ := stringField(c, "preferredTransport")
	if binding == "" {
		binding = "JSONRPC" // the 0.3 default
	}
	add(url, binding)
	if c["additionalInterfaces"] != nil {
		extra, err := asArray(c["additionalInterfaces"], "agent card: additionalInterfaces")
		if err != nil {
			return nil, err
		}
		for i, e := range extra {
			intf, err := asObject(e, fmt.Sprintf("agent card: additionalInterfaces[%d]", i))
			if err != nil {
				return nil, err
			}
			u, err1 := stringField(intf, "url")
			t, err2 := stringField(intf, "transport")
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("agent card: additionalInterfaces[%d]: %w", i, err)
			}
			add(u, t)
		}
	}
	if len(interfaces) > 0 {
		out["supportedInterfaces"] = interfaces
	}

	caps := map[string]any{}
	if c["capabilities"] != nil {
		cc, err := asObject(c["capabilities"], "agent card: capabilities")
		if err != nil {
			return nil, err
		}
		caps = shallowCopy(cc)
		delete(caps, "stateTransitionHistory")
	}
	if ext, ok := c["supportsAuthenticatedExtendedCard"].(bool); ok {
		caps["extendedAgentCard"] = ext
	}
	out["capabilities"] = caps

	if err := mapSchemes(out, securitySchemeTo10); err != nil {
		return nil, err
	}
	if err := requirementsTo10(c, out); err != nil {
		return nil, fmt.Errorf("agent card: %w", err)
	}
	if err := mapArray(out, "skills", func(s map[string]any) (map[string]any, error) {
		so := shallowCopy(s)
		delete(so, "security")
		return so, requirementsTo10(s, so)
	}); err != nil {
		return nil, fmt.Errorf("agent card: %w", err)
	}
	return out, nil
}

func cardTo03(c map[string]any) (map[string]any, error) {
	out := shallowCopy(c)
	for _, k := range []string{"supportedInterfaces", "securityRequirements"} {
		delete(out, k)
	}
	out["protocolVersion"] = protocolVersion03

	if c["supportedInterfaces"] != nil {
		list, err := asArray(c["supportedInterfaces"], "agent card: supportedInterfaces")
		if err != nil {
			return nil, err
		}
		var additional []any
		for i, e := range list {
			intf, err := asObject(e, fmt.Sprintf("agent card: supportedInterfaces[%d]", i))
			if err != nil {
				return nil, err
			}
			u, err1 := stringField(intf, "url")
			b, err2 := stringField(intf, "protocolBinding")
			if err := errors.Join(err1, err2); err != nil {
				return nil, fmt.Errorf("agent card: supportedInterfaces[%d]: %w", i, err)
			}
			if i == 0 {
				out["url"] = u
				out["preferredTransport"] = b
			}
			additional = append(additional, map[string]any{"url": u, "transport": b})
		}
		// 0.3 lists the preferred interface among the additional ones too.
		if len(additional) > 1 {
			out["additionalInterfaces"] = additional
		}
	}

	caps := map[string]any{}
	if c["capabilities"] != nil {
		cc, err := asObject(c["capabilities"], "agent card: capabilities")
		if err != nil {
			return nil, err
		}
		caps = shallowCopy(cc)
		delete(caps, "extendedAgentCard")
		if ext, ok := cc["extendedAgentCard"].(bool); ok {
			out["supportsAuthenticatedExtendedCard"] = ext
		}
	}
	out["capabilities"] = caps

	// 0.3 requires these lists; proto-JSON leaves empty ones out.
	for _, k := range []string{"defaultInputModes", "defaultOutputModes", "skills"} {
		if out[k] == nil {
			out[k] = []any{}
		}
	}
	if err := mapSchemes(out, securitySchemeTo03); err != nil {
		return nil, err
	}
	if err := requirementsTo03(c, out); err != nil {
		return nil, fmt.Errorf("agent card: %w", err)
	}
	if err := mapArray(out, "skills", func(s map[string]any) (map[string]any, error) {
		so := shallowCopy(s)
		delete(so, "securityRequirements")
		if so["tags"] == nil {
			so["tags"] = []any{}
		}
		return so, requirementsTo03(s, so)
	}); err != nil {
		return nil, fmt.Errorf("agent card: %w", err)
	}
	return out, nil
}

// mapSchemes translates each scheme of the card's securitySchemes map.
func mapSchemes(card map[string]any, f func(map[string]any) (map[string]any, error)) error {
	if card["securitySchemes"] == nil {
		return nil
	}
	schemes, err := asObject(card["securitySchemes"], "agent card: securitySchemes")
	if err != nil {
		return err
	}
	out := make(map[string]any, len(schemes))
	for name, v := range schemes {
		s, err := asObject(v, "agent card: securitySchemes."+name)
		if err != nil {
			return err
		}
		if out[name], err = f(s); err != nil {
			return fmt.Errorf("agent card: securitySchemes.%s: %w", name, err)
		}
	}
	card["securitySchemes"] = out
	return nil
}

func securitySchemeTo10(s map[string]any) (map[string]any, error) {
	typ, err := stringField(s, "type")
	if err != nil {
		return nil, err
	}
	for _, k := range securityKinds {
		if k.v03 != typ {
			continue
		}
		inner := shallowCopy(s)
		delete(inner, "type")
		if typ == "apiKey" {
			delete(inner, "in")
			if s["in"] != nil {
				inner["location"] = s["in"]
			}
		}
		return map[string]any{k.v10: inner}, nil
	}
	return nil, fmt.Errorf("unknown 0.3 security scheme type %q", typ)
}

func securitySchemeTo03(s map[string]any) (map[string]any, error) {
	for _, k := range securityKinds {
		if s[k.v10] == nil {
			continue
		}
		inner, err := asObject(s[k.v10], k.v10)
		if err != nil {
			return nil, err
		}
		out := shallowCopy(inner)
		out["type"] = k.v03
		switch k.v03 {
		case "apiKey":
			delete(out, "location")
			// 0.3 allows only these three; OpenAPI's default is the header.
			in, _ := inner["location"].(string)
			if in != "query" && in != "cookie" {
				in = "header"
			}
			out["in"] = in
		case "oauth2":
			if flows, ok := inner["flows"].(map[string]any); ok {
				f := shallowCopy(flows)
				delete(f, "deviceCode") // no 0.3 counterpart
				out["flows"] = f
			}
		}
		return out, nil
	}
	return nil, errors.New("no security scheme kind this version knows")
}

// requirementsTo10 turns from's 0.3 "security" into to's 1.0
// "securityRequirements".
func requirementsTo10(from, to map[string]any) error {
	if from["security"] == nil {
		return nil
	}
	list, err := asArray(from["security"], "security")
	if err != nil {
		return err
	}
	reqs := make([]any, len(list))
	for i, e := range list {
		req, err := asObject(e, fmt.Sprintf("security[%d]", i))
		if err != nil {
			return err
		}
		schemes := make(map[string]any, len(req))
		for name, scopes := range req {
			if scopes == nil {
				scopes = []any{}
			}
			if _, err := asArray(scopes, fmt.Sprintf("security[%d].%s", i, name)); err != nil {
				return err
			}
			schemes[name] = map[string]any{"list": scopes}
		}
		reqs[i] = map[string]any{"schemes": schemes}
	}
	to["securityRequirements"] = reqs
	return nil
}

// requirementsTo03 is the inverse of requirementsTo10.
func requirementsTo03(from, to map[string]any) error {
	if from["securityRequirements"] == nil {
		return nil
	}
	list, err := asArray(from["securityRequirements"], "securityRequirements")
	if err != nil {
		return err
	}
	reqs := make([]any, len(list))
	for i, e := range list {
		req, err := asObject(e, fmt.Sprintf("securityRequirements[%d]", i))
		if err != nil {
			return err
		}
		out := map[string]any{}
		if req["schemes"] != nil {
			schemes, err := asObject(req["schemes"], fmt.Sprintf("securityRequirements[%d].schemes", i))
			if err != nil {
				return err
			}
			for name := range schemes {
				sl, err := asObject(schemes[name], fmt.Sprintf("securityRequirements[%d].schemes.%s", i, name))
				if err != nil {
					return err
				}
				scopes := sl["list"]
				if scopes == nil {
					scopes = []any{}
				}
				if _, err := asArray(scopes, "list"); err != nil {
					return err
				}
				out[name] = scopes
			}
		}
		reqs[i] = out
	}
	to["security"] = reqs
	return nil
}
