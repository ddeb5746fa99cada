package tenants

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	attach "github.com/attach-dev/attach-gateway"
)

func TestAPIKeyLifecycle(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	other := mustTeam(t, s, "other")

	k, token, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "ci", Scopes: []string{attach.ScopeMemoryAdmin, attach.ScopeMemoryAdmin}})
	if err != nil {
		t.Fatal(err)
	}
	prefix, ok := attach.ParseAPIKey(token)
	if !ok || prefix != k.Prefix || !attach.LooksLikeAPIKey(token) {
		t.Fatalf("token %q does not parse to prefix %q", token, k.Prefix)
	}
	if !bytes.Equal(k.Hash, attach.HashAPIKeyToken(token)) || !k.Matches(token) || k.Matches(token+"x") {
		t.Fatal("stored hash does not match the token")
	}
	if !slices.Equal(k.Scopes, []string{attach.ScopeMemoryAdmin}) || k.ExpiresAt != nil || k.RevokedAt != nil || k.Usable(time.Now()) != nil {
		t.Fatalf("created = %+v", k)
	}

	got, err := s.GetAPIKey(ctx, team.ID, k.ID)
	if err != nil || !got.Matches(token) {
		t.Fatalf("GetAPIKey = %+v, %v", got, err)
	}
	if _, err := s.GetAPIKey(ctx, other.ID, k.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("key through another team: err = %v", err)
	}
	if err := s.RevokeAPIKey(ctx, other.ID, k.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("revoke through another team: err = %v", err)
	}

	if err := s.RevokeAPIKey(ctx, team.ID, k.ID); err != nil {
		t.Fatal(err)
	}
	revoked, err := s.GetAPIKey(ctx, team.ID, k.ID)
	if err != nil || revoked.RevokedAt == nil || reasonOf(revoked.Usable(time.Now())) != attach.ReasonKeyRevoked {
		t.Fatalf("after revoke = %+v, %v", revoked, err)
	}
	// Revoking again succeeds and keeps the first time.
	if err := s.RevokeAPIKey(ctx, team.ID, k.ID); err != nil {
		t.Fatalf("second revoke: %v", err)
	}
	again, _ := s.GetAPIKey(ctx, team.ID, k.ID)
	if !again.RevokedAt.Equal(*revoked.RevokedAt) {
		t.Fatalf("revocation time moved from %v to %v", revoked.RevokedAt, again.RevokedAt)
	}
	if err := s.RevokeAPIKey(ctx, team.ID, "0190a1b2-0000-7000-8000-000000000000"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("revoke unknown: err = %v", err)
	}
	if _, _, err := s.CreateAPIKey(ctx, "0190a1b2-0000-7000-8000-000000000000", APIKeyInput{Name: "x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("key on missing team: err = %v", err)
	}
}

func TestAPIKeyExpiry(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	exp := time.Now().Add(time.Hour)
	k, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "temp", ExpiresAt: &exp})
	if err != nil {
		t.Fatal(err)
	}
	if k.ExpiresAt == nil || k.ExpiresAt.Sub(exp).Abs() > time.Millisecond {
		t.Fatalf("expires_at = %v, want %v", k.ExpiresAt, exp)
	}
	if err := k.Usable(exp.Add(-time.Minute)); err != nil {
		t.Fatalf("before expiry: %v", err)
	}
	if err := k.Usable(exp.Add(time.Second)); reasonOf(err) != attach.ReasonKeyExpired {
		t.Fatalf("after expiry: %v", err)
	}
	past := time.Now().Add(-time.Second)
	if _, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "old", ExpiresAt: &past}); !isValidation(err, "expires_at") {
		t.Fatalf("past expiry: err = %v", err)
	}
}

func TestAPIKeyValidation(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	cases := []struct {
		in    APIKeyInput
		field string
	}{
		{APIKeyInput{Name: ""}, "name"},
		{APIKeyInput{Name: strings.Repeat("n", 201)}, "name"},
		{APIKeyInput{Name: "ok", Scopes: []string{""}}, "scopes"},
		{APIKeyInput{Name: "ok", Scopes: []string{"two words"}}, "scopes"},
		// The console mints keys through the store too: what it may not
		// store, neither may the management API.
		{APIKeyInput{Name: "ok", Scopes: []string{"admin"}}, "scopes"},
		{APIKeyInput{Name: "ok", Scopes: []string{"*"}}, "scopes"},
		{APIKeyInput{Name: "ok", Scopes: []string{attach.ScopeMemoryAdmin, "chat"}}, "scopes"},
	}
	for _, c := range cases {
		_, tok, err := s.CreateAPIKey(ctx, team.ID, c.in)
		if !isValidation(err, c.field) || tok != "" {
			t.Errorf("CreateAPIKey(%+v): err = %v, want a validation error on %s", c.in, err, c.field)
		}
	}
}

func TestListAPIKeysPages(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	var want []string
	for range 5 {
		k, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "k"})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, k.ID)
	}
	var got []string
	page := Page{Limit: 2}
	for {
		list, next, err := s.ListAPIKeys(ctx, team.ID, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range list {
			got = append(got, k.ID)
		}
		if next == "" {
			break
		}
		page.After = next
	}
	if !slices.Equal(got, want) {
		t.Fatalf("pages gave %v, want %v", got, want)
	}
}

func TestTouchAPIKeys(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	a, _, _ := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "a"})
	b, _, _ := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "b"})
	c, _, _ := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "c"})
	t1 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	t2 := t1.Add(time.Hour)
	if err := s.TouchAPIKeys(ctx, map[string]time.Time{a.ID: t2, b.ID: t1, "not-an-id": t1}); err != nil {
		t.Fatal(err)
	}
	// An older time does not move last use backwards.
	if err := s.TouchAPIKeys(ctx, map[string]time.Time{a.ID: t1}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchAPIKeys(ctx, nil); err != nil {
		t.Fatal(err)
	}
	check := func(k attach.APIKey, want *time.Time) {
		got, err := s.GetAPIKey(ctx, team.ID, k.ID)
		if err != nil {
			t.Fatal(err)
		}
		if (got.LastUsedAt == nil) != (want == nil) || (want != nil && !got.LastUsedAt.Equal(*want)) {
			t.Errorf("key %s last used %v, want %v", k.Name, got.LastUsedAt, want)
		}
	}
	check(a, &t2)
	check(b, &t1)
	check(c, nil)
}

func TestCreateAPIKeysConcurrently(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]bool{}
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k, tok, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "k"})
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			defer mu.Unlock()
			if seen[tok] || seen[k.Prefix] {
				t.Error("duplicate token or prefix")
			}
			seen[tok], seen[k.Prefix] = true, true
		}()
	}
	wg.Wait()
}

func TestUpdateAPIKey(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "keys-update")
	k, token, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "old"})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(48 * time.Hour)
	u, err := s.UpdateAPIKey(ctx, team.ID, k.ID, APIKeyInput{Name: "new", Scopes: []string{attach.ScopeMemoryAdmin}, ExpiresAt: &later})
	if err != nil {
		t.Fatal(err)
	}
	if u.Name != "new" || len(u.Scopes) != 1 || u.ExpiresAt == nil || u.Prefix != k.Prefix || !u.Matches(token) {
		t.Fatalf("updated key %+v", u)
	}
	if _, err := s.UpdateAPIKey(ctx, team.ID, k.ID, APIKeyInput{Name: ""}); !isValidation(err, "name") {
		t.Fatalf("empty name: %v", err)
	}
	other := mustTeam(t, s, "keys-update-other")
	if _, err := s.UpdateAPIKey(ctx, other.ID, k.ID, APIKeyInput{Name: "x"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("another team's key: %v", err)
	}
}

func TestAPIKeyCreatedBy(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	u := mustUser(t, s, "maker@example.com")
	k, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "mine", CreatedBy: u.ID})
	if err != nil || k.CreatedBy != u.ID {
		t.Fatalf("created = %+v, %v", k, err)
	}
	if got, err := s.GetAPIKey(ctx, team.ID, k.ID); err != nil || got.CreatedBy != u.ID {
		t.Fatalf("GetAPIKey = %+v, %v", got, err)
	}
	// An update never changes who made the key.
	if got, err := s.UpdateAPIKey(ctx, team.ID, k.ID, APIKeyInput{Name: "renamed"}); err != nil || got.CreatedBy != u.ID {
		t.Fatalf("UpdateAPIKey = %+v, %v", got, err)
	}
	anon, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "anon"})
	if err != nil || anon.CreatedBy != "" {
		t.Fatalf("key without a maker = %+v, %v", anon, err)
	}
	if _, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "x", CreatedBy: "me"}); !isValidation(err, "created_by") {
		t.Fatalf("bad created_by: %v", err)
	}
	if _, _, err := s.CreateAPIKey(ctx, team.ID, APIKeyInput{Name: "x", CreatedBy: "0190a1b2-0000-7000-8000-000000000000"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("unknown maker: %v", err)
	}
	if b, _ := json.Marshal(APIKeyInput{Name: "x", CreatedBy: u.ID}); strings.Contains(string(b), u.ID) {
		t.Fatal("CreatedBy is read from and written to JSON: a request body could set it")
	}
}
