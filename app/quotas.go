package app

import (
	"github.com/gofiber/fiber/v2"
	"github.com/prometheus/client_golang/prometheus"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/quota"
	"github.com/attach-dev/attach-gateway/tenants"
	"github.com/attach-dev/attach-gateway/tenants/dialect"
)

// quotaGate is the replica's quota limiter (see package quota) and the
// count of requests it refused.
type quotaGate struct {
	*quota.Limiter
	refusals *prometheus.CounterVec
}

// newQuotas makes the quota limiter of this replica.
func (a *App) newQuotas() *quotaGate {
	g := &quotaGate{
		Limiter: quota.New(quota.Config{
			DB:          a.pool,
			Budget:      a.cfg.QuotaDBBudget,
			Retry:       a.cfg.QuotaDBRetry,
			DefaultTeam: a.cfg.DefaultTeam,
			UserTPM:     a.cfg.MaxTokensPerMin,
			Team:        a.dir.TeamByID,
			Logger:      a.log,
			Now:         a.cfg.quotaNow,
		}),
		refusals: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "attach_quota_refusals_total",
			Help: "Requests refused by a quota, by the limit (team.rpm, user.tpm, key.tokens_per_day, ...).",
		}, []string{"limit"}),
	}
	a.metrics.registry.MustRegister(g.refusals,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "attach_quota_leases_total",
			Help: "Quota leases this replica asked Postgres for.",
		}, func() float64 { return float64(g.Stats().Leases) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "attach_quota_local_decisions_total",
			Help: "Requests decided on this replica's own quota counts because Postgres was away or slower than ATTACH_QUOTA_DB_BUDGET.",
		}, func() float64 { return float64(g.Stats().Local) }))
	return g
}

// admit checks the team's quotas for the caller before anything reaches an
// engine. A refusal is 429 with Retry-After and the RateLimit headers.
func (a *App) admit(c *fiber.Ctx, team *tenants.Snapshot, p attach.Principal, path string) error {
	err := a.quotas.Admit(c.UserContext(), team, p.Subject, p.KeyID, metered(path))
	if r, ok := err.(*quota.Refusal); ok {
		for _, h := range r.Headers() {
			c.Set(h[0], h[1])
		}
		a.quotas.refusals.WithLabelValues(r.Field).Inc()
		return r.Err()
	}
	return err
}

// metered says whether the proxy measures the tokens of an engine route
// (dialect.Route.Metered, the rule the proxy's meter follows): chats,
// completions and embeddings. Only those reserve tokens on admission; the
// others (model lists, /api/show) count as requests.
func metered(path string) bool {
	r, ok := dialect.Lookup(path)
	return ok && r.Metered()
}

// limit reads a quota limit from the environment: a whole number; unset
// or 0 is no limit.
func (r *envReader) limit(names ...string) int64 {
	v, name := r.lookup(names...)
	n, err := tenants.ParseLimit(name, v, tenants.MaxTokenLimit)
	if err != nil {
		r.fail(name, "must be a whole number of tokens, at most 1000000000000")
		return 0
	}
	if n == nil {
		return 0
	}
	return *n
}
