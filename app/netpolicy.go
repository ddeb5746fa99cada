package app

import (
	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
)

// The install's rules for the calls the gateway makes for teams.
//
// The side-car engine and issuer (ENGINE_URL, OIDC_ISSUER) are the
// operator's own, named in the environment, so they stay reachable on a
// private address when teams' targets may not be (a hosted install). They
// are admitted narrowly: the engine as the default team's engine record at
// ENGINE_URL's host:port (sidecarEngine), the issuer by OIDC_ISSUER's
// host:port as dialed (issuerPolicy). Nothing a team saves can widen
// either: saving checks with networkPolicy alone.

// networkPolicy is the rule for everything teams name.
func networkPolicy(cfg Config) netguard.Policy {
	return netguard.Policy{AllowPrivate: cfg.AllowPrivateNetworks, Setting: "ATTACH_ALLOW_PRIVATE_NETWORKS=true"}
}

// issuerPolicy is networkPolicy plus the side-car issuer's host:port, for
// the verifier's discovery and key fetches.
func issuerPolicy(cfg Config) netguard.Policy {
	p := networkPolicy(cfg)
	if cfg.OIDCIssuer != "" {
		if hp, err := netguard.HostPort(cfg.OIDCIssuer); err == nil {
			p.Operator = []string{hp}
		}
	}
	return p
}

// ownPolicy is the rule for the side-car engine: any address but
// link-local ones (cloud metadata).
var ownPolicy = netguard.Policy{AllowPrivate: true}

// sidecarEngine recognises the side-car engine: an engine of the default
// team at ENGINE_URL's host:port.
type sidecarEngine struct {
	dir      *tenants.Directory
	team     string // the default team's slug
	hostPort string // ENGINE_URL's; empty outside side-car mode
}

func newSidecarEngine(cfg Config, dir *tenants.Directory) sidecarEngine {
	s := sidecarEngine{dir: dir, team: cfg.DefaultTeam}
	if cfg.EngineURL != "" {
		s.hostPort, _ = netguard.HostPort(cfg.EngineURL)
	}
	return s
}

// Is says whether e is the side-car engine.
func (s sidecarEngine) Is(e attach.Engine) bool {
	if s.hostPort == "" || s.dir == nil {
		return false
	}
	team, ok := s.dir.Team(s.team)
	if !ok || team.Team.ID != e.TeamID {
		return false
	}
	hp, err := netguard.HostPort(e.BaseURL)
	return err == nil && hp == s.hostPort
}
