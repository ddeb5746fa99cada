package tenants

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// seedLists fills a database the size of a busy team: 1,000 engines and
// 10,000 audit rows, beside other teams' rows and install-wide events, so a
// list that scans instead of seeking shows. It returns the busy team's id.
func seedLists(tb testing.TB, s *Store, pool *pgxpool.Pool) string {
	tb.Helper()
	ctx := testCtx(tb)
	busy := mustTeam(tb, s, "busy")
	for i := range 5 {
		mustTeam(tb, s, "other-"+string(rune('a'+i)))
	}
	for _, sql := range []string{
		`INSERT INTO engines (id, team_id, name, dialect, base_url)
		 SELECT gen_random_uuid(), t.id, 'e' || n, 'ollama', 'http://127.0.0.1:11434'
		 FROM teams t, generate_series(1, 1000) n WHERE t.slug = 'busy' OR n <= 300`,
		`INSERT INTO audit_log (id, team_id, actor, action)
		 SELECT gen_random_uuid(), t.id, 'someone@example.com', 'engine.update'
		 FROM teams t, generate_series(1, 10000) n WHERE t.slug = 'busy' OR n <= 3000`,
		`INSERT INTO audit_log (id, actor, action)
		 SELECT gen_random_uuid(), 'someone@example.com', 'session.sign_in' FROM generate_series(1, 3000)`,
		"ANALYZE",
	} {
		if _, err := pool.Exec(ctx, sql); err != nil {
			tb.Fatalf("seed: %v", err)
		}
	}
	return busy.ID
}

// planOf returns the plan Postgres picks for sql with args.
func planOf(t *testing.T, pool *pgxpool.Pool, sql string, args ...any) map[string]any {
	t.Helper()
	var out []byte
	if err := pool.QueryRow(testCtx(t), "EXPLAIN (FORMAT JSON) "+sql, args...).Scan(&out); err != nil {
		t.Fatalf("explain: %v", err)
	}
	var plans []struct {
		Plan map[string]any `json:"Plan"`
	}
	if err := json.Unmarshal(out, &plans); err != nil || len(plans) != 1 {
		t.Fatalf("explain output %s: %v", out, err)
	}
	return plans[0].Plan
}

// nodes lists the node types of a plan tree, and the indexes it uses.
func nodes(plan map[string]any) (types, indexes []string) {
	types = append(types, plan["Node Type"].(string))
	if ix, ok := plan["Index Name"].(string); ok {
		indexes = append(indexes, ix)
	}
	children, _ := plan["Plans"].([]any)
	for _, c := range children {
		ct, ci := nodes(c.(map[string]any))
		types, indexes = append(types, ct...), append(indexes, ci...)
	}
	return types, indexes
}

func TestListsSeekTheirIndex(t *testing.T) {
	t.Parallel()
	s, pool := newTestStore(t)
	team := seedLists(t, s, pool)
	ctx := testCtx(t)

	engines, next, err := s.ListEngines(ctx, team, Page{Limit: 50})
	if err != nil || len(engines) != 50 || next == "" {
		t.Fatalf("first page of engines: %d, %q, %v", len(engines), next, err)
	}
	audit, auditNext, err := s.ListAudit(ctx, team, Page{Limit: 50})
	if err != nil || len(audit) != 50 || auditNext == "" {
		t.Fatalf("first page of the audit log: %d, %q, %v", len(audit), auditNext, err)
	}

	for _, c := range []struct {
		name  string
		sql   string
		args  []any
		index string // "" for any index
	}{
		{"engines, first page", teamRowsSQL("engines", engineColumns, false), []any{team, 51}, "engines_team_id"},
		{"engines, later page", teamRowsSQL("engines", engineColumns, true), []any{team, 51, next}, "engines_team_id"},
		{"audit, first page", sqlOf(auditListQuery(team, AuditFilter{}, Page{Limit: 50})), []any{51, team}, "audit_log_team_id"},
		{"audit, later page", sqlOf(auditListQuery(team, AuditFilter{}, Page{Limit: 50, After: auditNext})), []any{51, team, auditNext}, "audit_log_team_id"},
		// Install-wide rows are a fair share here, so walking the primary
		// key backwards is as good; either way no row is sorted.
		{"install-wide audit", sqlOf(auditListQuery("", AuditFilter{}, Page{Limit: 50, After: auditNext})), []any{51, auditNext}, ""},
	} {
		types, indexes := nodes(planOf(t, pool, c.sql, c.args...))
		joined := strings.Join(types, " > ")
		if strings.Contains(joined, "Seq Scan") || strings.Contains(joined, "Sort") || len(indexes) == 0 || (c.index != "" && indexes[0] != c.index) {
			t.Errorf("%s: plan %s on %v, want an index scan of %s with no sort", c.name, joined, indexes, c.index)
		}
	}

	// Walking every page visits every row once, newest first.
	seen, prev := 0, ""
	page := Page{Limit: 200}
	for {
		list, next, err := s.ListAudit(ctx, team, page)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			if prev != "" && e.ID >= prev {
				t.Fatalf("audit ids out of order: %s after %s", e.ID, prev)
			}
			prev = e.ID
		}
		seen += len(list)
		if next == "" {
			break
		}
		page.After = next
	}
	if seen != 10000 {
		t.Fatalf("paged through %d audit rows, want 10000", seen)
	}
}

func BenchmarkListEngines(b *testing.B) {
	s, pool := newTestStore(b)
	team := seedLists(b, s, pool)
	ctx := context.Background()
	_, next, err := s.ListEngines(ctx, team, Page{Limit: 200})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.ListEngines(ctx, team, Page{Limit: 50, After: next}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkListAudit(b *testing.B) {
	s, pool := newTestStore(b)
	team := seedLists(b, s, pool)
	ctx := context.Background()
	_, next, err := s.ListAudit(ctx, team, Page{Limit: 200})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for b.Loop() {
		if _, _, err := s.ListAudit(ctx, team, Page{Limit: 50, After: next}); err != nil {
			b.Fatal(err)
		}
	}
}

// sqlOf is the statement of a query builder's answer.
func sqlOf(sql string, _ []any) string { return sql }
