package migrations_test

import (
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Migration 5: deleting a team replaces its queued user erasures with one
// erasure of the whole team (an empty user), which outlives the team. Down
// to 4, the queue refers to teams again and forgets erasures of teams that
// are gone.
func TestTeamErasuresDownAndUp(t *testing.T) {
	t.Parallel()
	ctx, p, prov := migrated(t)
	const gone, kept = "0190a1b2-0000-7000-8000-00000000a001", "0190a1b2-0000-7000-8000-00000000a002"
	exec(t, p,
		"INSERT INTO teams (id, slug, name) VALUES ('"+gone+"', 'gone', 'Gone'), ('"+kept+"', 'kept', 'Kept')",
		`INSERT INTO memory_erasures (team_id, "user") VALUES ('`+gone+`', 'alice'), ('`+kept+`', 'bob')`,
		"DELETE FROM teams WHERE id = '"+gone+"'",
	)
	erasures := func(stage string, want ...string) {
		t.Helper()
		rows, err := p.Query(ctx, `SELECT team_id::text || '/' || "user" FROM memory_erasures ORDER BY 1`)
		if err != nil {
			t.Fatal(err)
		}
		var got []string
		for rows.Next() {
			var s string
			if err := rows.Scan(&s); err != nil {
				t.Fatal(err)
			}
			got = append(got, s)
		}
		if rows.Err() != nil || len(got) != len(want) {
			t.Fatalf("%s: erasures %v (%v), want %v", stage, got, rows.Err(), want)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%s: erasures %v, want %v", stage, got, want)
			}
		}
	}
	erasures("up", gone+"/", kept+"/bob")

	if _, err := prov.DownTo(ctx, 4); err != nil {
		t.Fatal(err)
	}
	erasures("down to 4", kept+"/bob")
	if _, err := p.Exec(ctx, `INSERT INTO memory_erasures (team_id, "user") VALUES ('`+gone+`', 'carol')`); err == nil {
		t.Fatal("down to 4, an erasure of a team that does not exist was queued")
	}
	if _, err := prov.Up(ctx); err != nil {
		t.Fatal(err)
	}
	exec(t, p, "DELETE FROM teams WHERE id = '"+kept+"'")
	erasures("up again, kept deleted", kept+"/")
}

func exec(t *testing.T, p *pgxpool.Pool, queries ...string) {
	t.Helper()
	for _, q := range queries {
		if _, err := p.Exec(ctxT(t), q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
}
