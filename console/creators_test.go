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
	cases := []struct {
		rule TeamCreators
		user tenants.User
		want bool
	}{
		{Everyone, tenants.User{Email: "x@anywhere.net"}, true},
		{none, tenants.User{Email: "a@example.com", EmailVerified: true}, false},
		{dom, tenants.User{Email: "a@example.com", EmailVerified: true}, true},
		{dom, tenants.User{Email: "A@Other.ORG", EmailVerified: true}, true},
		{dom, tenants.User{Email: "a@example.com"}, false},                          // not proven
		{dom, tenants.User{Email: "a@sub.example.com", EmailVerified: true}, false}, // exact domain only
		{dom, tenants.User{Email: "a@example.com.evil.io", EmailVerified: true}, false},
		{dom, tenants.User{Email: "a@evil.io", EmailVerified: true}, false},
	}
	for _, tc := range cases {
		if got := tc.rule.Allows(tc.user); got != tc.want {
			t.Errorf("%s allows %s (verified %v): %v, want %v", tc.rule, tc.user.Email, tc.user.EmailVerified, got, tc.want)
		}
	}
}

func FuzzParseTeamCreators(f *testing.F) {
	for _, s := range []string{"everyone", "none", "domain:example.com", "domain:a.io, b.org", "domain:", "domain:-x.com", "x"} {
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
	})
}
