package console

import (
	"encoding/json"
	"slices"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/tenants"
)

func TestInstallAdminsNeedAProvenAddress(t *testing.T) {
	t.Parallel()
	a, err := ParseInstallAdmins([]string{" Root@Example.com ", "ops@example.com", "root@example.com"})
	if err != nil {
		t.Fatal(err)
	}
	if got := a.Emails(); !slices.Equal(got, []string{"root@example.com", "ops@example.com"}) {
		t.Errorf("emails: %q", got)
	}
	now := time.Now()
	for _, tc := range []struct {
		u    tenants.User
		want bool
	}{
		{tenants.User{Email: "ROOT@example.com", EmailVerified: true}, true},
		{tenants.User{Email: "root@example.com"}, false}, // typed, never proven
		{tenants.User{Email: "root@example.com.evil", EmailVerified: true}, false},
		{tenants.User{Email: "someone@example.com", InstallAdmin: true}, true},
		{tenants.User{Email: "someone@example.com", InstallAdmin: true, LockedAt: &now}, false},
		{tenants.User{Email: "root@example.com", EmailVerified: true, LockedAt: &now}, false},
	} {
		if got := a.Is(tc.u); got != tc.want {
			t.Errorf("%+v: install admin %v, want %v", tc.u, got, tc.want)
		}
	}
	for _, bad := range [][]string{{"root"}, {"Root <root@example.com>"}, {"a@example.com;b@example.com"}, {"a b@example.com"}} {
		if _, err := ParseInstallAdmins(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestGroupsClaim(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		raw  string
		want []string
	}{
		{``, nil},
		{`["eng","ML Team"]`, []string{"eng", "ML Team"}},
		{`"eng"`, []string{"eng"}},
		{`["eng", 7, {"x":1}, null, "ops"]`, []string{"eng", "ops"}},
		{`7`, nil},
		{`{"eng":true}`, nil},
		{`null`, nil},
	} {
		if got := groupsClaim(json.RawMessage(tc.raw)); !slices.Equal(got, tc.want) {
			t.Errorf("%s: %q, want %q", tc.raw, got, tc.want)
		}
	}
	many := make([]string, tenants.MaxSessionGroups+10)
	for i := range many {
		many[i] = "g"
	}
	b, _ := json.Marshal(many)
	if got := groupsClaim(b); len(got) != tenants.MaxSessionGroups {
		t.Errorf("%d groups kept of %d", len(got), len(many))
	}
}

// FuzzGroupsClaim feeds the claim reader anything a provider could sign:
// it never panics and returns only strings the claim held.
func FuzzGroupsClaim(f *testing.F) {
	for _, s := range []string{`["a","b"]`, `"a"`, `[1,"a",null]`, `{}`, `[`, `"\u0000"`, `[[["a"]]]`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, raw string) {
		got := groupsClaim(json.RawMessage(raw))
		if len(got) > tenants.MaxSessionGroups {
			t.Fatalf("%d groups", len(got))
		}
		// The claim decoded another way: its strings, in order.
		var v any
		var want []string
		if json.Unmarshal([]byte(raw), &v) == nil {
			switch v := v.(type) {
			case string:
				want = []string{v}
			case []any:
				for _, e := range v {
					if s, ok := e.(string); ok {
						want = append(want, s)
					}
				}
			}
		}
		if len(want) > tenants.MaxSessionGroups {
			want = want[:tenants.MaxSessionGroups]
		}
		if !slices.Equal(got, want) && !(len(got) == 0 && len(want) == 0) {
			t.Fatalf("%q: groups %q, want %q", raw, got, want)
		}
	})
}
