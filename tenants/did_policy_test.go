package tenants

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

const (
	testDIDKey = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
	testDIDPKH = "did:pkh:eip155:1:0xb9c5714089478a327f09197987f16f9e5d936e8a"
	testDIDWeb = "did:web:agents.example.com:bots:alice"
)

func TestValidDID(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		testDIDKey, testDIDPKH, testDIDWeb,
		"did:web:localhost%3A8443", "did:example:123456789abcdefghi", "did:a1:b", "did:x::y", "did:x:_.-",
		"did:m:" + strings.Repeat("a", maxDID-len("did:m:")),
	} {
		if !ValidDID(s) {
			t.Errorf("ValidDID(%q) = false, want true", s)
		}
	}
	for _, s := range []string{
		"", "did:", "did:key", "did:key:", "did::abc", "DID:key:abc", "did:Key:abc", "did:ke-y:abc",
		"did:key:abc:", "did:key:ab c", "did:key:abc/path", "did:key:abc?q=1", "did:key:abc#frag",
		"did:web:x%3", "did:web:x%zz", "did:web:x%", "did:key:ä", "urn:key:abc", " did:key:abc",
		"did:m:" + strings.Repeat("a", maxDID-len("did:m:")+1),
	} {
		if ValidDID(s) {
			t.Errorf("ValidDID(%q) = true, want false", s)
		}
	}
}

// FuzzValidDID checks ValidDID against the DID grammar restated as
// properties: an accepted string is bounded, starts "did:", has a
// lowercase alphanumeric method, and only grammar characters after it; and
// ValidDID never panics.
func FuzzValidDID(f *testing.F) {
	for _, s := range []string{testDIDKey, testDIDPKH, testDIDWeb, "did:web:a%3Ab", "did:x::y", "did:key:", "did:web:%", "did:k:a%4"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if !ValidDID(s) {
			return
		}
		if len(s) > maxDID || !strings.HasPrefix(s, "did:") || strings.HasSuffix(s, ":") {
			t.Fatalf("accepted %q", s)
		}
		method := DIDMethod(s)
		if method == "" || strings.Trim(method, "abcdefghijklmnopqrstuvwxyz0123456789") != "" {
			t.Fatalf("accepted %q with method %q", s, method)
		}
		id := s[len("did:")+len(method)+1:]
		if id == "" || strings.Trim(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:%") != "" {
			t.Fatalf("accepted %q with id %q", s, id)
		}
		for i := strings.IndexByte(id, '%'); i >= 0; i = strings.IndexByte(id, '%') {
			if i+2 >= len(id) || !isHex(id[i+1]) || !isHex(id[i+2]) {
				t.Fatalf("accepted %q with a bad escape", s)
			}
			id = id[i+3:]
		}
		// A valid DID stays valid as the only entry of a policy trusting
		// its method, and is stored as written.
		if method == attach.DIDMethodKey || method == attach.DIDMethodPKH || method == attach.DIDMethodWeb {
			p, err := CleanDIDPolicy(attach.DIDPolicy{Methods: []string{method}, Allow: []string{s}})
			if err != nil || !slices.Equal(p.Allow, []string{s}) {
				t.Fatalf("policy allowing %q: %+v, %v", s, p, err)
			}
		}
	})
}

func TestCleanDIDPolicy(t *testing.T) {
	t.Parallel()
	got, err := CleanDIDPolicy(attach.DIDPolicy{
		Methods:   []string{"web", " key ", "did:web"},
		Allow:     []string{testDIDWeb, "", " " + testDIDKey, testDIDWeb},
		Audiences: []string{"https://gw.example/t/acme", "http://127.0.0.1:8080/t/acme", "http://localhost:1", "http://[::1]:2/x", "https://gw.example/t/acme"},
	})
	want := attach.DIDPolicy{
		Methods:   []string{"key", "web"},
		Allow:     []string{testDIDKey, testDIDWeb},
		Audiences: []string{"http://127.0.0.1:8080/t/acme", "http://[::1]:2/x", "http://localhost:1", "https://gw.example/t/acme"},
	}
	if err != nil || !equalDIDPolicy(got, want) {
		t.Fatalf("CleanDIDPolicy = %+v, %v\nwant %+v", got, err, want)
	}
	if got, err := CleanDIDPolicy(attach.DIDPolicy{}); err != nil || got.Methods == nil || got.Allow == nil || got.Audiences == nil {
		t.Fatalf("empty policy = %#v, %v; want empty, non-nil lists", got, err)
	}

	many := func(n int, f func(i int) string) []string {
		out := make([]string, n)
		for i := range out {
			out[i] = f(i)
		}
		return out
	}
	for _, c := range []struct {
		name  string
		in    attach.DIDPolicy
		field string
	}{
		{"unknown method", attach.DIDPolicy{Methods: []string{"ethr"}}, "methods"},
		{"not a DID", attach.DIDPolicy{Methods: []string{"key"}, Allow: []string{"alice"}}, "allow"},
		{"DID URL", attach.DIDPolicy{Methods: []string{"key"}, Allow: []string{testDIDKey + "#keys-1"}}, "allow"},
		{"DID of an untrusted method", attach.DIDPolicy{Methods: []string{"key"}, Allow: []string{testDIDWeb}}, "allow"},
		{"DID with no method trusted", attach.DIDPolicy{Allow: []string{testDIDKey}}, "allow"},
		{"too many DIDs", attach.DIDPolicy{Methods: []string{"web"}, Allow: many(maxDIDAllow+1, func(i int) string { return fmt.Sprintf("did:web:h%d.example", i) })}, "allow"},
		{"http audience", attach.DIDPolicy{Audiences: []string{"http://gw.example/t/acme"}}, "audiences"},
		{"relative audience", attach.DIDPolicy{Audiences: []string{"/t/acme"}}, "audiences"},
		{"bare name audience", attach.DIDPolicy{Audiences: []string{"acme"}}, "audiences"},
		{"audience with credentials", attach.DIDPolicy{Audiences: []string{"https://u:p@gw.example"}}, "audiences"},
		{"audience with fragment", attach.DIDPolicy{Audiences: []string{"https://gw.example/#x"}}, "audiences"},
		{"other scheme audience", attach.DIDPolicy{Audiences: []string{"wss://gw.example"}}, "audiences"},
		{"long audience", attach.DIDPolicy{Audiences: []string{"https://gw.example/" + strings.Repeat("a", maxDIDAudience)}}, "audiences"},
		{"too many audiences", attach.DIDPolicy{Audiences: many(maxDIDAudiences+1, func(i int) string { return fmt.Sprintf("https://a%d.example", i) })}, "audiences"},
		// The first field at fault is named.
		{"every field wrong", attach.DIDPolicy{Methods: []string{"ethr"}, Allow: []string{"x"}, Audiences: []string{"x"}}, "methods"},
		{"allow and audiences wrong", attach.DIDPolicy{Methods: []string{"key"}, Allow: []string{"x"}, Audiences: []string{"x"}}, "allow"},
	} {
		if _, err := CleanDIDPolicy(c.in); !isValidation(err, c.field) {
			t.Errorf("%s: %v, want invalid %s", c.name, err, c.field)
		}
	}
	// Duplicates count once toward the limits.
	dup := many(maxDIDAudiences+5, func(int) string { return "https://gw.example" })
	if _, err := CleanDIDPolicy(attach.DIDPolicy{Audiences: dup}); err != nil {
		t.Fatalf("one audience repeated: %v", err)
	}
}

func TestDIDPolicyStore(t *testing.T) {
	t.Parallel()
	s, pool, ctx, team := newTeamStore(t, "acme")
	other := mustTeam(t, s, "other")
	admin := mustUser(t, s, "admin@example.com")
	actx := actorCtx(t, admin)
	d := runDirectory(t, pool, testSealer(t), &testkit.Buffer{})

	// A team starts with the zero policy: no DID accepted.
	if got, err := s.GetDIDPolicy(ctx, team.ID); err != nil || !isZeroDIDPolicy(got) || got.Methods == nil {
		t.Fatalf("fresh policy = %#v, %v", got, err)
	}
	if snap, _ := d.TeamByID(team.ID); !isZeroDIDPolicy(snap.DID) {
		t.Fatalf("fresh snapshot DID = %+v", snap.DID)
	}
	auditCount := func() int {
		t.Helper()
		var n int
		if err := pool.QueryRow(ctx, "SELECT count(*) FROM audit_log WHERE action = $1", AuditDIDPolicy).Scan(&n); err != nil {
			t.Fatal(err)
		}
		return n
	}

	in := attach.DIDPolicy{Methods: []string{"web", "key"}, Allow: []string{testDIDWeb, testDIDKey}, Audiences: []string{"https://agents.example/acme"}}
	want := attach.DIDPolicy{Methods: []string{"key", "web"}, Allow: []string{testDIDKey, testDIDWeb}, Audiences: []string{"https://agents.example/acme"}}
	got, err := s.PutDIDPolicy(actx, team.ID, in)
	if err != nil || !equalDIDPolicy(got, want) {
		t.Fatalf("PutDIDPolicy = %+v, %v", got, err)
	}
	if got, err := s.GetDIDPolicy(ctx, team.ID); err != nil || !equalDIDPolicy(got, want) {
		t.Fatalf("GetDIDPolicy = %+v, %v", got, err)
	}
	if got, _ := s.GetDIDPolicy(ctx, other.ID); !isZeroDIDPolicy(got) {
		t.Fatalf("the other team's policy = %+v", got)
	}
	// Every replica's directory follows through the team's notice.
	waitFor(t, d, func(d *Directory) bool { snap, _ := d.TeamByID(team.ID); return equalDIDPolicy(snap.DID, want) })

	// Audited, by the actor, saying what changed.
	list, _, err := s.ListAudit(ctx, team.ID, Page{Limit: 1})
	if err != nil || len(list) != 1 {
		t.Fatalf("audit: %v, %v", list, err)
	}
	e := list[0]
	if e.Action != AuditDIDPolicy || e.ActorID != admin.ID || e.TargetType != "team" || e.TargetID != team.ID ||
		fmt.Sprint(e.Detail["methods"]) != "[key web]" || fmt.Sprint(e.Detail["previous_methods"]) != "[]" ||
		e.Detail["allow"] != float64(2) || fmt.Sprint(e.Detail["allow_added"]) != fmt.Sprint([]string{testDIDKey, testDIDWeb}) ||
		fmt.Sprint(e.Detail["audiences"]) != "[https://agents.example/acme]" {
		t.Fatalf("audit entry %+v", e)
	}

	// The same policy again, spelt differently, changes nothing: no audit.
	before := auditCount()
	if _, err := s.PutDIDPolicy(actx, team.ID, attach.DIDPolicy{Methods: []string{"key", "web", "key"}, Allow: []string{testDIDKey, " " + testDIDWeb}, Audiences: in.Audiences}); err != nil {
		t.Fatal(err)
	}
	if n := auditCount(); n != before {
		t.Fatalf("an unchanged policy wrote %d audit rows", n-before)
	}

	// Refused input changes nothing.
	if _, err := s.PutDIDPolicy(actx, team.ID, attach.DIDPolicy{Methods: []string{"key"}, Allow: []string{testDIDWeb}}); !isValidation(err, "allow") {
		t.Fatalf("DID of an untrusted method: %v", err)
	}
	if got, _ := s.GetDIDPolicy(ctx, team.ID); !equalDIDPolicy(got, want) || auditCount() != before {
		t.Fatalf("after a refused change: %+v", got)
	}
	const unknown = "0190a1b2-0000-7000-8000-000000000009"
	if _, err := s.PutDIDPolicy(actx, unknown, want); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("unknown team: %v", err)
	}
	if _, err := s.GetDIDPolicy(ctx, unknown); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("policy of an unknown team: %v", err)
	}
	if _, err := s.GetDIDPolicy(ctx, "nope"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("policy of a malformed team id: %v", err)
	}

	// The audit row shares the change's transaction.
	broken := WithActor(ctx, Actor{ID: "not-a-uuid", Name: "broken"})
	if _, err := s.PutDIDPolicy(broken, team.ID, attach.DIDPolicy{Methods: []string{"pkh"}}); err == nil {
		t.Fatal("a change whose audit row failed was made")
	}
	if got, _ := s.GetDIDPolicy(ctx, team.ID); !equalDIDPolicy(got, want) {
		t.Fatalf("after the failed change: %+v", got)
	}

	// Narrowing: pkh only; the allow-list emptied, so any pkh DID may call.
	pkhOnly := attach.DIDPolicy{Methods: []string{"pkh"}, Allow: []string{}, Audiences: []string{}}
	if _, err := s.PutDIDPolicy(actx, team.ID, pkhOnly); err != nil {
		t.Fatal(err)
	}
	waitFor(t, d, func(d *Directory) bool { snap, _ := d.TeamByID(team.ID); return equalDIDPolicy(snap.DID, pkhOnly) })
	list, _, _ = s.ListAudit(ctx, team.ID, Page{Limit: 1})
	if e := list[0]; e.Action != AuditDIDPolicy || fmt.Sprint(e.Detail["allow_removed"]) != fmt.Sprint([]string{testDIDKey, testDIDWeb}) ||
		e.Detail["allow_removed_count"] != float64(2) || fmt.Sprint(e.Detail["previous_methods"]) != "[key web]" {
		t.Fatalf("narrowing audit entry %+v", e)
	}

	// Back to the zero policy: the row goes, the snapshot accepts no DID.
	if _, err := s.PutDIDPolicy(actx, team.ID, attach.DIDPolicy{}); err != nil {
		t.Fatal(err)
	}
	var rows int
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM team_did_policies").Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d policy rows after clearing (%v)", rows, err)
	}
	waitFor(t, d, func(d *Directory) bool { snap, _ := d.TeamByID(team.ID); return isZeroDIDPolicy(snap.DID) })

	// A long allow-list is audited with a bounded sample and exact counts.
	big := attach.DIDPolicy{Methods: []string{"web"}}
	for i := range maxDIDAllow {
		big.Allow = append(big.Allow, fmt.Sprintf("did:web:h%04d.example", i))
	}
	if _, err := s.PutDIDPolicy(actx, team.ID, big); err != nil {
		t.Fatal(err)
	}
	list, _, _ = s.ListAudit(ctx, team.ID, Page{Limit: 1})
	if added, _ := list[0].Detail["allow_added"].([]any); len(added) != maxAuditDIDs || list[0].Detail["allow_added_count"] != float64(maxDIDAllow) {
		t.Fatalf("big allow-list audit detail: %d named, count %v", len(added), list[0].Detail["allow_added_count"])
	}
	waitFor(t, d, func(d *Directory) bool { snap, _ := d.TeamByID(team.ID); return len(snap.DID.Allow) == maxDIDAllow })

	// The policy goes with its team.
	if err := s.DeleteTeam(actx, team.ID); err != nil {
		t.Fatal(err)
	}
	if err := pool.QueryRow(ctx, "SELECT count(*) FROM team_did_policies").Scan(&rows); err != nil || rows != 0 {
		t.Fatalf("%d policy rows after the team was deleted (%v)", rows, err)
	}
}
