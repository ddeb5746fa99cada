package tenants

import (
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func lim(n int64) *int64 { return &n }

// Quotas are stored whole, read back as set, audited, and loaded into the
// team's snapshot.
func TestSetQuotas(t *testing.T) {
	s, pool, ctx, team := newTeamStore(t, "lab")
	key, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "ci"})
	if err != nil {
		t.Fatal(err)
	}
	in := Quotas{
		Team:  Limits{RPM: lim(600), MonthlyTokens: lim(5_000_000)},
		Users: []UserLimits{{Subject: Any, Limits: Limits{TPM: lim(20_000)}}, {Subject: "alice"}},
		Keys:  []KeyLimits{{KeyID: key.ID, Limits: Limits{RPM: lim(0)}}},
	}
	admin := mustUser(t, s, "admin@example.com")
	got, err := s.SetQuotas(actorCtx(t, admin), team.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	if *got.Team.RPM != 600 || *got.Team.MonthlyTokens != 5_000_000 || got.Team.TPM != nil || len(got.Users) != 2 || len(got.Keys) != 1 {
		t.Fatalf("stored %+v", got)
	}
	// alice has a row without limits: the "*" row does not apply to her.
	if l, ok := got.User("alice"); !ok || l.Any() {
		t.Fatalf("alice: %+v %v", l, ok)
	}
	if l, ok := got.User("bob"); !ok || *l.TPM != 20_000 {
		t.Fatalf("bob: %+v %v", l, ok)
	}
	if l, ok := got.Key(key.ID); !ok || *l.RPM != 0 {
		t.Fatalf("key: %+v %v", l, ok)
	}
	if _, ok := got.Key(""); ok {
		t.Fatal("a call without a key has key limits")
	}

	d := NewDirectory(pool, testSealer(t), nil)
	if err := d.Load(ctx); err != nil {
		t.Fatal(err)
	}
	snap, _ := d.Team("lab")
	if snap.Quotas == nil || *snap.Quotas.Team.RPM != 600 {
		t.Fatalf("snapshot quotas %+v", snap.Quotas)
	}
	if l, ok := snap.Quotas.User("carol"); !ok || *l.TPM != 20_000 {
		t.Fatalf("snapshot lookup: %+v", l)
	}

	list, _, err := s.ListAudit(ctx, team.ID, Page{})
	if err != nil || len(list) == 0 || list[0].Action != AuditQuotas || list[0].ActorID != admin.ID {
		t.Fatalf("audit: %v %+v", err, list)
	}

	// Setting none removes them all.
	got, err = s.SetQuotas(ctx, team.ID, Quotas{})
	if err != nil || !got.Empty() {
		t.Fatalf("cleared: %+v %v", got, err)
	}
	if err := d.Load(ctx); err != nil {
		t.Fatal(err)
	}
	if snap, _ := d.Team("lab"); snap.Quotas != nil {
		t.Fatalf("snapshot keeps quotas after clearing: %+v", snap.Quotas)
	}
}

// Bad input is refused naming the field, and nothing is stored.
func TestSetQuotasRefusesBadInput(t *testing.T) {
	s, _, ctx, team := newTeamStore(t, "lab")
	other := mustTeam(t, s, "other")
	otherKey, _, err := s.CreateAPIKey(ctx, other.ID, APIKeyInput{Name: "theirs"})
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in    Quotas
		field string
	}{
		{Quotas{Team: Limits{RPM: lim(-1)}}, "team.rpm"},
		{Quotas{Team: Limits{RPM: lim(MaxRPM + 1)}}, "team.rpm"},
		{Quotas{Team: Limits{MonthlyTokens: lim(MaxTokenLimit + 1)}}, "team.monthly_tokens"},
		{Quotas{Users: []UserLimits{{Subject: "a"}, {Subject: " ", Limits: Limits{TPM: lim(1)}}}}, "users[1].subject"},
		{Quotas{Users: []UserLimits{{Subject: "a"}, {Subject: "a"}}}, "users[1].subject"},
		{Quotas{Users: []UserLimits{{Subject: "a", Limits: Limits{TokensPerDay: lim(-5)}}}}, "users[0].tokens_per_day"},
		{Quotas{Keys: []KeyLimits{{KeyID: "nope"}}}, "keys[0].key_id"},
		{Quotas{Keys: []KeyLimits{{KeyID: otherKey.ID, Limits: Limits{RPM: lim(1)}}}}, "keys[0].key_id"},
	}
	for _, c := range cases {
		if _, err := s.SetQuotas(ctx, team.ID, c.in); !isValidation(err, c.field) {
			t.Errorf("%+v: err = %v, want a validation error on %s", c.in, err, c.field)
		}
	}
	q, err := s.Quotas(ctx, team.ID)
	if err != nil || !q.Empty() {
		t.Fatalf("after refusals: %+v %v", q, err)
	}
	if _, err := s.Quotas(ctx, "00000000-0000-4000-8000-000000000009"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("unknown team: %v", err)
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "300": 300, " 42 ": 42, "3e2": 300, "300.0": 300, "1000000000000": MaxTokenLimit} {
		got, err := ParseLimit("f", in, MaxTokenLimit)
		if err != nil || got == nil || *got != want {
			t.Errorf("ParseLimit(%q) = %v, %v; want %d", in, got, err, want)
		}
	}
	if got, err := ParseLimit("f", "", MaxRPM); got != nil || err != nil {
		t.Errorf("empty: %v %v", got, err)
	}
	for _, in := range []string{"-1", "-0.5", "1e30", "99999999999999999999", "2.5", "abc", "0x10", "NaN", "Inf", "-Inf", "10000001"} {
		if got, err := ParseLimit("team.rpm", in, MaxRPM); !isValidation(err, "team.rpm") {
			t.Errorf("ParseLimit(%q) = %v, %v; want a validation error", in, got, err)
		}
	}
}

// FuzzParseLimit: any input is a limit in range or a validation error
// naming the field, never a panic or a number out of range.
func FuzzParseLimit(f *testing.F) {
	for _, s := range []string{"", "0", "300", "-1", "1e30", "2.5", "3e2", "NaN", "+5", " 7 ", "9223372036854775808"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, err := ParseLimit("x", s, MaxRPM)
		if err != nil {
			if !isValidation(err, "x") {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		if got != nil && (*got < 0 || *got > MaxRPM) {
			t.Fatalf("%q: %d out of range", s, *got)
		}
	})
}
