package migrations_test

import (
	"testing"
)

// Migration 8 adds the team setting that lets engines set cookies, off for
// existing and new teams. Down to 7 and up again keeps the teams.
func TestTeamEngineCookiesDownAndUp(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const team = "0190a1b2-0000-7000-8000-00000000d001"
	if _, err := prov.DownTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	exec(t, p, "INSERT INTO teams (id, slug, name) VALUES ('"+team+"', 'kept', 'Kept')")
	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	var on bool
	if err := p.QueryRow(ctx, "SELECT engine_cookies FROM teams WHERE id = $1", team).Scan(&on); err != nil || on {
		t.Fatalf("existing team after up: engine_cookies = %v (%v), want false", on, err)
	}
	exec(t, p,
		"UPDATE teams SET engine_cookies = true WHERE id = '"+team+"'",
		"INSERT INTO teams (id, slug, name) VALUES (gen_random_uuid(), 'new', 'New')")
	if err := p.QueryRow(ctx, "SELECT engine_cookies FROM teams WHERE slug = 'new'").Scan(&on); err != nil || on {
		t.Fatalf("new team: engine_cookies = %v (%v), want false", on, err)
	}

	if _, err := prov.DownTo(ctx, 7); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := p.QueryRow(ctx, "SELECT count(*) FROM teams").Scan(&n); err != nil || n != 2 {
		t.Fatalf("down to 7: %d teams (%v), want 2", n, err)
	}
	var column bool
	if err := p.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM information_schema.columns
		WHERE table_name = 'teams' AND column_name = 'engine_cookies')`).Scan(&column); err != nil || column {
		t.Fatalf("down to 7: column still there (%v)", err)
	}
}
