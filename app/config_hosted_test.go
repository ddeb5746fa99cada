package app

import (
	"errors"
	"strings"
	"testing"
)

// The embedded install keeps the open defaults; a DATABASE_URL install
// (hosted, shared) starts careful, and explicit settings win in both.
func TestHostedDefaults(t *testing.T) {
	t.Parallel()
	key := "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE="
	hosted := func(extra map[string]string) map[string]string {
		m := map[string]string{"DATABASE_URL": "postgres://db/app", "ATTACH_SECRET_KEY": key}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	cases := []struct {
		name     string
		env      map[string]string
		private  bool
		creators string
	}{
		{"embedded", nil, true, "everyone"},
		{"hosted", hosted(nil), false, "none"},
		{"hosted, private allowed", hosted(map[string]string{"ATTACH_ALLOW_PRIVATE_NETWORKS": "true"}), true, "none"},
		{"embedded, private refused", map[string]string{"ATTACH_ALLOW_PRIVATE_NETWORKS": "false"}, false, "everyone"},
		{"hosted, everyone", hosted(map[string]string{"ATTACH_TEAM_CREATORS": "everyone"}), false, "everyone"},
		{"embedded, none", map[string]string{"ATTACH_TEAM_CREATORS": "None"}, true, "none"},
		{"domains", map[string]string{"ATTACH_TEAM_CREATORS": "domain:Example.com, @other.org"}, true, "domain:example.com,other.org"},
		{"install admins only", hosted(map[string]string{"ATTACH_TEAM_CREATORS": "Admins"}), false, "admins"},
		{"groups", hosted(map[string]string{"ATTACH_TEAM_CREATORS": "group:gateway-admins, ML Team"}), false, "group:gateway-admins,ML Team"},
	}
	for _, tc := range cases {
		c, err := LoadConfig(envOf(tc.env))
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if c.AllowPrivateNetworks != tc.private || c.TeamCreators.String() != tc.creators {
			t.Errorf("%s: private %v creators %s; want %v %s", tc.name, c.AllowPrivateNetworks, c.TeamCreators, tc.private, tc.creators)
		}
	}
}

func TestTeamCreatorsBadValues(t *testing.T) {
	t.Parallel()
	for _, v := range []string{"all", "domain:", "domain:localhost", "domain:exa mple.com", "domain:a.com,,b.org", "group:", "group:a,,b", "admins:x"} {
		_, err := LoadConfig(envOf(map[string]string{"ATTACH_TEAM_CREATORS": v}))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != "ATTACH_TEAM_CREATORS" || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: want a one-line error naming ATTACH_TEAM_CREATORS, got %v", v, err)
		}
	}
	_, err := LoadConfig(envOf(map[string]string{"ATTACH_ALLOW_PRIVATE_NETWORKS": "maybe"}))
	var ce *ConfigError
	if !errors.As(err, &ce) || ce.Var != "ATTACH_ALLOW_PRIVATE_NETWORKS" {
		t.Errorf("ATTACH_ALLOW_PRIVATE_NETWORKS=maybe: %v", err)
	}
}

// TestInstallAdminsSetting reads ATTACH_INSTALL_ADMINS and the groups
// claim's name, and refuses what is not a list of addresses.
func TestInstallAdminsSetting(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(envOf(map[string]string{"ATTACH_INSTALL_ADMINS": "Root@Example.com, ops@example.com,root@example.com"}))
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.InstallAdmins.Emails(), ","); got != "root@example.com,ops@example.com" {
		t.Errorf("install admins: %s", got)
	}
	if c.ConsoleOIDCGroupsClaim != "groups" {
		t.Errorf("default groups claim: %q", c.ConsoleOIDCGroupsClaim)
	}
	if c, _ := LoadConfig(envOf(map[string]string{"ATTACH_CONSOLE_OIDC_GROUPS_CLAIM": "roles"})); c.ConsoleOIDCGroupsClaim != "roles" {
		t.Errorf("groups claim: %q", c.ConsoleOIDCGroupsClaim)
	}
	for _, v := range []string{"root", "Root <root@example.com>", "root@example.com;ops@example.com"} {
		_, err := LoadConfig(envOf(map[string]string{"ATTACH_INSTALL_ADMINS": v}))
		var ce *ConfigError
		if !errors.As(err, &ce) || ce.Var != "ATTACH_INSTALL_ADMINS" || strings.Contains(err.Error(), "\n") {
			t.Errorf("%q: want an error naming ATTACH_INSTALL_ADMINS, got %v", v, err)
		}
	}
}
