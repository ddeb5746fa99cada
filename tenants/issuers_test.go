package tenants

import (
	"fmt"
	"slices"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestIssuerCRUD(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	other := mustTeam(t, s, "other")

	is, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "http://127.0.0.1:3000", Audience: "gw", Algorithms: []string{"RS256", "ES256", "RS256"}})
	if err != nil {
		t.Fatal(err)
	}
	if is.TeamID != team.ID || is.UserClaim != "sub" || !slices.Equal(is.Algorithms, []string{"RS256", "ES256"}) {
		t.Fatalf("created = %+v", is)
	}
	if _, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "http://127.0.0.1:3000", Audience: "gw"}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("duplicate issuer: err = %v, want conflict", err)
	}
	// Same URL, other audience, or same pair on another team: allowed.
	if _, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "http://127.0.0.1:3000", Audience: "other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateIssuer(ctx, other.ID, IssuerInput{URL: "http://127.0.0.1:3000", Audience: "gw"}); err != nil {
		t.Fatal(err)
	}

	got, err := s.GetIssuer(ctx, team.ID, is.ID)
	if err != nil || got.URL != is.URL {
		t.Fatalf("GetIssuer = %+v, %v", got, err)
	}
	if _, err := s.GetIssuer(ctx, other.ID, is.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("issuer through another team: err = %v, want not_found", err)
	}

	upd, err := s.UpdateIssuer(ctx, team.ID, is.ID, IssuerInput{URL: "https://idp.example/realms/x", Audience: "api", UserClaim: "email"})
	if err != nil || upd.URL != "https://idp.example/realms/x" || upd.UserClaim != "email" || len(upd.Algorithms) != 0 {
		t.Fatalf("UpdateIssuer = %+v, %v", upd, err)
	}
	if _, err := s.UpdateIssuer(ctx, other.ID, is.ID, IssuerInput{URL: "https://x", Audience: "a"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("update through another team: err = %v", err)
	}

	if err := s.DeleteIssuer(ctx, team.ID, is.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteIssuer(ctx, team.ID, is.ID); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("second delete: err = %v", err)
	}
	if _, err := s.CreateIssuer(ctx, "0190a1b2-0000-7000-8000-000000000000", IssuerInput{URL: "https://x", Audience: "a"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("issuer on missing team: err = %v, want not_found", err)
	}
	if _, err := s.CreateIssuer(ctx, "junk", IssuerInput{URL: "https://x", Audience: "a"}); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("issuer on malformed team id: err = %v, want not_found", err)
	}
}

func TestIssuerValidation(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	cases := []struct {
		in    IssuerInput
		field string
	}{
		{IssuerInput{URL: "", Audience: "a"}, "issuer"},
		{IssuerInput{URL: "idp.example", Audience: "a"}, "issuer"},
		{IssuerInput{URL: "/relative", Audience: "a"}, "issuer"},
		{IssuerInput{URL: "ftp://idp.example", Audience: "a"}, "issuer"},
		{IssuerInput{URL: "https://", Audience: "a"}, "issuer"},
		{IssuerInput{URL: "https://idp.example?x=1", Audience: "a"}, "issuer"},
		{IssuerInput{URL: "https://idp.example#f", Audience: "a"}, "issuer"},
		{IssuerInput{URL: "https://u:p@idp.example", Audience: "a"}, "issuer"},
		{IssuerInput{URL: "https://idp.example", Audience: ""}, "audience"},
		{IssuerInput{URL: "https://idp.example", Audience: " "}, "audience"},
		{IssuerInput{URL: "https://idp.example", Audience: "a", Algorithms: []string{"HS256"}}, "algorithms"},
		{IssuerInput{URL: "https://idp.example", Audience: "a", Algorithms: []string{"none"}}, "algorithms"},
		{IssuerInput{URL: "https://idp.example", Audience: "a", Algorithms: []string{"rs256"}}, "algorithms"},
	}
	for _, c := range cases {
		_, err := s.CreateIssuer(ctx, team.ID, c.in)
		if !isValidation(err, c.field) {
			t.Errorf("CreateIssuer(%+v): err = %v, want a validation error on %s", c.in, err, c.field)
		}
	}
	all := []string{"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "EdDSA"}
	is, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: "http://localhost:4444/", Audience: "a", Algorithms: all})
	if err != nil || !slices.Equal(is.Algorithms, all) || is.URL != "http://localhost:4444/" {
		t.Fatalf("every allowed algorithm, URL kept byte for byte: %+v, %v", is, err)
	}
}

func TestListIssuersPages(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	other := mustTeam(t, s, "other")
	if _, err := s.CreateIssuer(ctx, other.ID, IssuerInput{URL: "https://idp.other", Audience: "x"}); err != nil {
		t.Fatal(err)
	}
	var want []string
	for i := range 5 {
		is, err := s.CreateIssuer(ctx, team.ID, IssuerInput{URL: fmt.Sprintf("https://idp%d.example", i), Audience: "a"})
		if err != nil {
			t.Fatal(err)
		}
		want = append(want, is.ID)
	}
	var got []string
	page := Page{Limit: 2}
	for {
		list, next, err := s.ListIssuers(ctx, team.ID, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, is := range list {
			got = append(got, is.ID)
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

func TestEnsureIssuer(t *testing.T) {
	t.Parallel()
	s, _, ctx, team := newTeamStore(t, "acme")
	in := IssuerInput{URL: "http://127.0.0.1:3000", Audience: "gw"}
	first, err := s.EnsureIssuer(ctx, team.ID, in)
	if err != nil {
		t.Fatal(err)
	}
	again, err := s.EnsureIssuer(ctx, team.ID, in)
	if err != nil || again.ID != first.ID || !again.UpdatedAt.Equal(first.UpdatedAt) {
		t.Fatalf("unchanged ensure: %+v, %v (first %+v)", again, err, first)
	}
	in.UserClaim = "email"
	changed, err := s.EnsureIssuer(ctx, team.ID, in)
	if err != nil || changed.ID != first.ID || changed.UserClaim != "email" {
		t.Fatalf("changed ensure: %+v, %v", changed, err)
	}
	if _, err := s.EnsureIssuer(ctx, "0190a1b2-0000-7000-8000-000000000000", in); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("ensure on missing team: err = %v", err)
	}
}
