package console

import (
	"strings"
	"testing"

	"github.com/attach-dev/attach-gateway/tenants"
)

func TestTeamCreatorsAllows(t *testing.T) {
	t.Parallel()
	dom, err := ParseTeamCreators("domain:example.com,other.org")
	if err != nil {
		t.Fatal(err)
	}
	none, _ := ParseTeamCreators("none")
	admins, _ := ParseTeamCreators("admins")
	grp, err := ParseTeamCreators("group: gateway-admins , ML Team")
	if err != nil || grp.String() != "group:gateway-admins,ML Team" {
		t.Fatalf("group rule: %v %v", grp, err)
	}
	cases := []struct {
		rule   TeamCreators
		user   tenants.User
		want   bool
		groups []string
		admin  bool
	}{
		{none, tenants.User{Email: "root@example.com"}, true, nil, true}, // install admins always may
		{admins, tenants.User{Email: "root@example.com"}, true, nil, true},
		{admins, tenants.User{Email: "a@example.com", EmailVerified: true}, false, []string{"gateway-admins"}, false},
		{grp, tenants.User{Email: "a@example.com"}, true, []string{"staff", "ML Team"}, false},
		{grp, tenants.User{Email: "a@example.com"}, false, []string{"ml team"}, false}, // exact names
		{grp, tenants.User{Email: "a@example.com", EmailVerified: true}, false, nil, false},
		{dom, tenants.User{Email: "root@elsewhere.net"}, true, nil, true},
		{Everyone, tenants.User{Email: "x@anywhere.net"}, true, nil, false},
		{none, tenants.User{Email: "a@example.com", EmailVerified: true}, false, nil, false},
		{dom, tenants.User{Email: "a@example.com", EmailVerified: true}, true, nil, false},
		{dom, tenants.User{Email: "A@Other.ORG", EmailVerified: true}, true, nil, false},
		{dom, tenants.User{Email: "a@example.com"}, false, nil, false},                          // not proven
		{dom, tenants.User{Email: "a@sub.example.com", EmailVerified: true}, false, nil, false}, // exact domain only
		{dom, tenants.User{Email: "a@example.com.evil.io", EmailVerified: true}, false, nil, false},
		{dom, tenants.User{Email: "a@evil.io", EmailVerified: true}, false, nil, false},
	}
	for _, tc := range cases {
		if got := tc.rule.Allows(tc.user, tc.groups, tc.admin); got != tc.want {
			t.Errorf("%s allows %s (verified %v, groups %q, admin %v): %v, want %v", tc.rule, tc.user.Email, tc.user.EmailVerified, tc.groups, tc.admin, got, tc.want)
		}
	}
}

func FuzzParseTeamCreators(f *testing.F) {
	for _, s := range []string{"everyone", "none", "admins", "domain:example.com", "domain:a.io, b.org", "domain:", "domain:-x.com", "x",
		"group:eng", "GROUP: a , b,a", "group:", "group:a,,b", "group:\x00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		c, err := ParseTeamCreators(s)
		if err != nil {
			if strings.Contains(err.Error(), "\n") {
				t.Fatalf("error is not one line: %q", err)
			}
			return
		}
		// What parses writes back to a value that parses the same.
		again, err := ParseTeamCreators(c.String())
		if err != nil || again.String() != c.String() {
			t.Fatalf("%q -> %q -> %q, %v", s, c, again, err)
		}
		for _, d := range c.Domains {
			if !validDomain(d) {
				t.Fatalf("%q admitted bad domain %q", s, d)
			}
		}
		for _, g := range c.Groups {
			if g == "" || g != strings.TrimSpace(g) || strings.Contains(g, ",") || len(g) > maxGroupName {
				t.Fatalf("%q admitted bad group %q", s, g)
			}
		}
	})
}
