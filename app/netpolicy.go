package app

import "github.com/attach-dev/attach-gateway/tenants/netguard"

// networkPolicy is the install's rule for the calls the gateway makes for
// teams. The side-car engine and issuer (ENGINE_URL, OIDC_ISSUER) are the
// operator's own, named in the environment, so they stay reachable on a
// private address when teams' targets may not be (a hosted install): the
// policy admits exactly their host:port, by name. Teams cannot add to it.
func networkPolicy(cfg Config) netguard.Policy {
	p := netguard.Policy{AllowPrivate: cfg.AllowPrivateNetworks, Setting: "ATTACH_ALLOW_PRIVATE_NETWORKS=true"}
	for _, u := range []string{cfg.EngineURL, cfg.OIDCIssuer} {
		if u == "" {
			continue
		}
		if hp, err := netguard.HostPort(u); err == nil {
			p.Operator = append(p.Operator, hp)
		}
	}
	return p
}
