package app

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/app/proxy"
	"github.com/attach-dev/attach-gateway/console"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/usage"
)

// UsageConfig is how usage is counted and kept (the ATTACH_USAGE_*
// variables).
type UsageConfig struct {
	Enabled bool // ATTACH_USAGE, default true: count every exchange into the ledger
	// RawRetention (ATTACH_USAGE_RAW_RETENTION, default 7d) keeps each
	// exchange's own row; RollupRetention (ATTACH_USAGE_ROLLUP_RETENTION,
	// default 396d, 13 months) the per-minute sums.
	RawRetention, RollupRetention time.Duration
	// Buffer (ATTACH_USAGE_BUFFER, default 50000) bounds the records held
	// in memory while Postgres is away.
	Buffer int
	// ExportURL (ATTACH_USAGE_EXPORT_URL) receives each record as a
	// CloudEvent (OpenMeter's ingest, for one), with ExportToken
	// (ATTACH_USAGE_EXPORT_TOKEN) as bearer token.
	ExportURL, ExportToken string
}

func loadUsageConfig(r *envReader) UsageConfig {
	c := UsageConfig{
		Enabled:         r.boolean(true, "ATTACH_USAGE"),
		RawRetention:    r.days(usage.DefaultRawRetention, "ATTACH_USAGE_RAW_RETENTION"),
		RollupRetention: r.days(usage.DefaultRollupRetention, "ATTACH_USAGE_ROLLUP_RETENTION"),
		Buffer:          r.size(usage.DefaultBuffer, "ATTACH_USAGE_BUFFER"),
		ExportURL:       r.str("ATTACH_USAGE_EXPORT_URL"),
		ExportToken:     r.str("ATTACH_USAGE_EXPORT_TOKEN"),
	}
	if c.ExportURL != "" {
		if err := checkHTTPURL(c.ExportURL); err != nil {
			r.fail("ATTACH_USAGE_EXPORT_URL", err.Error())
		}
	}
	return c
}

// days reads a duration that may also be written in days: 7d, 36h, 90m.
func (r *envReader) days(def time.Duration, names ...string) time.Duration {
	v, name := r.lookup(names...)
	if n, ok := strings.CutSuffix(v, "d"); ok {
		d, err := strconv.Atoi(n)
		if err != nil || d <= 0 {
			r.fail(name, "must be a positive number of days like 7d, or a duration like 36h")
			return def
		}
		return time.Duration(d) * 24 * time.Hour
	}
	return r.duration(def, names...)
}

// meters hands each exchange's usage to several meters: the ledger, the
// token counters, the export, quotas. Adding one is a line in startUsage.
type meters []proxy.Meter

func (m meters) Measure(u attach.Usage) {
	for _, x := range m {
		x.Measure(u)
	}
}

// tokenCounter counts answered exchanges' tokens in Prometheus by team,
// engine and model. Only answered ones: a client may name any model, and
// the engine's refusal must not grow a series.
type tokenCounter struct{ tokens *prometheus.CounterVec }

func (t tokenCounter) Measure(u attach.Usage) {
	if u.Status < 200 || u.Status >= 300 {
		return
	}
	t.tokens.WithLabelValues(u.TeamID, u.Engine, u.Model, "prompt").Add(float64(u.PromptTokens))
	t.tokens.WithLabelValues(u.TeamID, u.Engine, u.Model, "completion").Add(float64(u.CompletionTokens))
}

// startUsage builds what counts usage and returns the proxy's meter (nil
// when usage is off). The ledger and the export run in the background
// until Close.
func (a *App) startUsage(reg *prometheus.Registry, log *slog.Logger) proxy.Meter {
	cfg := a.cfg.Usage
	tokens := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "attach_usage_tokens_total",
		Help: "Tokens of answered chat, completion and embedding exchanges, by team id, engine, model and kind (prompt, completion).",
	}, []string{"team", "engine", "model", "kind"})
	reg.MustRegister(tokens)
	all := meters{tokenCounter{tokens}}
	a.ledger = usage.New(a.pool, usage.Config{
		Buffer: cfg.Buffer, RawRetention: cfg.RawRetention, RollupRetention: cfg.RollupRetention, Logger: log,
	})
	if cfg.Enabled {
		all = append(all, a.ledger)
	}
	reg.MustRegister(
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "attach_usage_records_written_total",
			Help: "Usage records written to the ledger in Postgres.",
		}, func() float64 { return float64(a.ledger.Stats().Written) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "attach_usage_records_dropped_total",
			Help: "Usage records lost: Postgres did not take them and the ledger's buffer (ATTACH_USAGE_BUFFER) was full, or Postgres refused them.",
		}, func() float64 { return float64(a.ledger.Stats().Dropped) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "attach_usage_records_pending",
			Help: "Usage records held in memory, waiting for Postgres.",
		}, func() float64 { return float64(a.ledger.Stats().Pending) }),
	)
	if cfg.ExportURL != "" {
		a.export = usage.NewExporter(usage.ExportConfig{URL: cfg.ExportURL, Token: cfg.ExportToken, Logger: log})
		all = append(all, a.export)
		reg.MustRegister(
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "attach_usage_export_sent_total", Help: "Usage records exported as CloudEvents.",
			}, func() float64 { return float64(a.export.Sent()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "attach_usage_export_dropped_total", Help: "Usage records not exported: the export queue was full, or the ingest refused them.",
			}, func() float64 { return float64(a.export.Dropped()) }),
			prometheus.NewCounterFunc(prometheus.CounterOpts{
				Name: "attach_usage_export_failures_total", Help: "Failed sends to the usage export URL (each tried again, with a growing wait).",
			}, func() float64 { return float64(a.export.Failures()) }),
		)
	}
	if a.quotas != nil {
		all = append(all, a.quotas) // tokens charged to the quotas
	}
	if len(all) == 1 {
		return nil // the token counter alone: usage is off, and nothing is counted
	}
	return all
}

// runUsage runs the ledger's writer and the export until ctx ends.
func (a *App) runUsage(ctx context.Context) {
	if a.cfg.Usage.Enabled {
		a.spawn(func() { a.ledger.Run(ctx) })
	}
	if a.export != nil {
		a.spawn(func() { a.export.Run(ctx) })
	}
}

// usageRoutes serve GET /usage (the default team) and /t/{team}/usage.
func (a *App) usageRoutes(f fiber.Router) {
	f.Get("/usage", a.teamUsage(false))
	f.Get("/t/:team/usage", a.teamUsage(true))
}

// ScopeUsageRead lets a caller read its whole team's usage, not only its
// own.
const ScopeUsageRead = attach.ScopeUsageRead

// teamUsage answers a team's usage: the whole team's to a caller with the
// usage:read scope or a console user who is the team's owner or admin,
// the caller's own to anyone else.
func (a *App) teamUsage(byParam bool) fiber.Handler {
	return func(c *fiber.Ctx) error {
		team, p, _, err := a.authenticate(c, byParam)
		if err != nil {
			return err
		}
		whole, err := a.readsTeamUsage(c.UserContext(), team, p)
		if err != nil {
			return err
		}
		q, err := usage.ParseQuery(func(k string) string { return c.Query(k) }, time.Now(), []string{"user", "key", "model", "engine"})
		if err != nil {
			return err
		}
		q.TeamID = team.Team.ID
		scope := "team"
		if !whole {
			q.Subject, scope = p.Subject, "own"
		}
		return a.answerUsage(c, q, fiber.Map{"team": team.Team.Slug, "scope": scope})
	}
}

func (a *App) readsTeamUsage(ctx context.Context, team *tenants.Snapshot, p attach.Principal) (bool, error) {
	if slices.Contains(p.Scopes, ScopeUsageRead) {
		return true, nil
	}
	if p.Method != identity.MethodConsole {
		return false, nil
	}
	role, err := a.store.RoleOf(ctx, team.Team.ID, strings.TrimPrefix(p.Subject, attach.SubjectPrefixUser))
	if attach.ErrorCode(err) == attach.CodeNotFound {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("read the caller's role: %w", err)
	}
	return role == tenants.RoleOwner || role == tenants.RoleAdmin, nil
}

// adminUsage is GET /admin/v1/usage: any team's usage (team=slug), or
// every team's, split by team if asked.
func (a *App) adminUsage(c *fiber.Ctx) error {
	q, err := usage.ParseQuery(func(k string) string { return c.Query(k) }, time.Now(), []string{"user", "key", "model", "engine", "team"})
	if err != nil {
		return err
	}
	extra := fiber.Map{"team": nil, "scope": "all"}
	if slug := c.Query("team"); slug != "" {
		team, ok := a.dir.Team(slug)
		if !ok {
			return &attach.Error{Code: attach.CodeNotFound, Reason: "unknown_team", Message: "no team named " + strconv.Quote(slug)}
		}
		q.TeamID, extra["team"], extra["scope"] = team.Team.ID, team.Team.Slug, "team"
	}
	return a.answerUsage(c, q, extra)
}

func (a *App) answerUsage(c *fiber.Ctx, q usage.Query, extra fiber.Map) error {
	buckets, err := a.ledger.Store().Sums(c.UserContext(), q)
	if err != nil {
		return err
	}
	out := fiber.Map{"from": q.From, "to": q.To, "interval": q.Interval, "buckets": buckets}
	if q.GroupBy != "" {
		out["group_by"] = q.GroupBy
	}
	for k, v := range extra {
		out[k] = v
	}
	c.Set(fiber.HeaderCacheControl, "no-store")
	return c.Status(http.StatusOK).JSON(out)
}

// consoleUsage is what the console's Usage and Keys pages read: the
// ledger, unless usage is off (an untyped nil then, so the pages say so).
func (a *App) consoleUsage() console.UsageReader {
	if !a.cfg.Usage.Enabled || a.ledger == nil {
		return nil
	}
	return a.ledger.Store()
}
