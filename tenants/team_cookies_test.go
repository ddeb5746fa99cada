package tenants

import (
	"testing"

	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// A team's engines may set cookies only once the team says so: off on
// creation, set and kept by updates that leave it out, audited with the
// previous value, and carried to the request path by the directory.
func TestTeamEngineCookies(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	admin := mustUser(t, s, "admin@example.com")
	ctx := actorCtx(t, admin)
	d := runDirectory(t, pool, testSealer(t), &testkit.Buffer{})

	team, err := s.CreateTeam(ctx, TeamInput{Slug: "acme", Name: "Acme"})
	if err != nil || team.EngineCookies {
		t.Fatalf("created %+v, %v: want engine cookies off", team, err)
	}
	on, err := s.UpdateTeam(ctx, "acme", TeamInput{EngineCookies: ptr(true)})
	if err != nil || !on.EngineCookies || on.Name != "Acme" || on.Slug != "acme" {
		t.Fatalf("turned on: %+v, %v; want the setting on, name and slug kept", on, err)
	}
	if got, err := s.GetTeam(ctx, "acme"); err != nil || !got.EngineCookies {
		t.Fatalf("read back: %+v, %v", got, err)
	}
	waitFor(t, d, func(d *Directory) bool { snap, ok := d.Team("acme"); return ok && snap.Team.EngineCookies })

	// Renames leave the setting as it is, through either store method.
	if got, err := s.UpdateTeam(ctx, "acme", TeamInput{Name: "Acme Inc"}); err != nil || !got.EngineCookies || got.Name != "Acme Inc" {
		t.Fatalf("rename by update: %+v, %v", got, err)
	}
	if got, err := s.RenameTeam(ctx, team.ID, "Acme Corp"); err != nil || !got.EngineCookies {
		t.Fatalf("rename: %+v, %v", got, err)
	}
	if _, err := s.UpdateTeam(ctx, "acme", TeamInput{Name: "\t"}); !isValidation(err, "name") {
		t.Fatalf("blank name: err = %v, want a validation error on name", err)
	}
	off, err := s.UpdateTeam(ctx, "acme", TeamInput{EngineCookies: ptr(false)})
	if err != nil || off.EngineCookies || off.Name != "Acme Corp" {
		t.Fatalf("turned off: %+v, %v", off, err)
	}
	waitFor(t, d, func(d *Directory) bool { snap, ok := d.Team("acme"); return ok && !snap.Team.EngineCookies })

	// Created with it on, through the same input.
	born, err := s.CreateTeam(ctx, TeamInput{Slug: "open", Name: "Open", EngineCookies: ptr(true)})
	if err != nil || !born.EngineCookies {
		t.Fatalf("created on: %+v, %v", born, err)
	}

	entries, _, err := s.ListAudit(ctx, team.ID, Page{})
	if err != nil {
		t.Fatal(err)
	}
	var updates []AuditEntry
	for _, e := range entries {
		if e.Action == AuditTeamUpdate {
			updates = append(updates, e)
		}
	}
	if len(updates) != 3 { // on, rename, off; the refused blank name wrote nothing
		t.Fatalf("%d team.update rows, want 3: %+v", len(updates), updates)
	}
	turnedOff, turnedOn := updates[0], updates[2] // newest first
	if turnedOn.Detail["engine_cookies"] != true || turnedOn.Detail["previous_engine_cookies"] != false || turnedOn.ActorName != admin.Email {
		t.Errorf("turning on audited as %+v", turnedOn)
	}
	if turnedOff.Detail["engine_cookies"] != false || turnedOff.Detail["previous_engine_cookies"] != true {
		t.Errorf("turning off audited as %+v", turnedOff)
	}
	created, _, err := s.ListAudit(ctx, born.ID, Page{})
	if err != nil || len(created) != 1 || created[0].Detail["engine_cookies"] != true {
		t.Fatalf("creation audited as %+v, %v", created, err)
	}
}
