package tenants

import (
	"context"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// Limits are the quotas of one scope (the team, a user, an API key). A nil
// limit is no limit; 0 blocks everything it counts.
type Limits struct {
	RPM           *int64 `json:"rpm"`            // requests per minute
	TPM           *int64 `json:"tpm"`            // tokens per minute
	TokensPerDay  *int64 `json:"tokens_per_day"` // tokens per UTC day
	MonthlyTokens *int64 `json:"monthly_tokens"` // tokens per UTC calendar month
}

// Any says whether some limit is set.
func (l Limits) Any() bool {
	return l.RPM != nil || l.TPM != nil || l.TokensPerDay != nil || l.MonthlyTokens != nil
}

// UserLimits are the limits of the caller whose subject (X-Attach-User) is
// Subject; Subject "*" applies to every user without limits of their own.
type UserLimits struct {
	Subject string `json:"subject"`
	Limits
}

// KeyLimits are the limits of one gateway API key; KeyID "*" applies to
// every key of the team without limits of its own.
type KeyLimits struct {
	KeyID string `json:"key_id"`
	Limits
}

// Quotas are a team's limits. Every request counts against each scope that
// applies to it: the team's, the caller's, and the key's when a key made the
// call.
type Quotas struct {
	Team  Limits       `json:"team"`
	Users []UserLimits `json:"users"`
	Keys  []KeyLimits  `json:"keys"`

	users map[string]Limits
	keys  map[string]Limits
}

// NewQuotas makes a team's quotas from its rows, ready for lookups; the
// Directory makes them from team_quotas, tests by hand.
func NewQuotas(team Limits, users []UserLimits, keys []KeyLimits) *Quotas {
	q := &Quotas{Team: team, Users: users, Keys: keys}
	q.index()
	return q
}

// Any is the subject and key id that stand for "every user" and "every key".
const Any = "*"

// Bounds of what a quota may say. A limit past these is a typo, not a plan.
const (
	MaxRPM         = 10_000_000        // requests per minute
	MaxTokenLimit  = 1_000_000_000_000 // tokens in any window
	maxQuotaRows   = 1000              // user or key rows per team
	maxSubjectSize = 256
)

// Empty says whether the team has no limit at all.
func (q *Quotas) Empty() bool {
	return q == nil || !q.Team.Any() && len(q.Users) == 0 && len(q.Keys) == 0
}

// index builds the lookup maps; called once before the Quotas are shared.
func (q *Quotas) index() {
	q.users = make(map[string]Limits, len(q.Users))
	for _, u := range q.Users {
		q.users[u.Subject] = u.Limits
	}
	q.keys = make(map[string]Limits, len(q.Keys))
	for _, k := range q.Keys {
		q.keys[k.KeyID] = k.Limits
	}
}

// User is the limits that apply to the caller subject: their own row, else
// the "*" row. ok is false when neither exists.
func (q *Quotas) User(subject string) (Limits, bool) {
	if q == nil {
		return Limits{}, false
	}
	if l, ok := q.users[subject]; ok {
		return l, true
	}
	l, ok := q.users[Any]
	return l, ok
}

// Key is the limits that apply to the API key keyID: its own row, else the
// "*" row. ok is false for "" (no key made the call) and when neither row
// exists.
func (q *Quotas) Key(keyID string) (Limits, bool) {
	if q == nil || keyID == "" {
		return Limits{}, false
	}
	if l, ok := q.keys[keyID]; ok {
		return l, true
	}
	l, ok := q.keys[Any]
	return l, ok
}

// ParseLimit reads one limit as a form or a JSON number spells it: "" is
// no limit, otherwise a whole number from 0 to max. field names the input
// in the error.
func ParseLimit(field, s string, max int64) (*int64, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		f, ferr := strconv.ParseFloat(s, 64)
		switch {
		case ferr != nil && !isRangeError(ferr):
			return nil, attach.Invalid(field, "must be a whole number, or empty for no limit")
		case f < 0 || strings.HasPrefix(s, "-"):
			return nil, attach.Invalid(field, "must be 0 (blocks) or more")
		case f > float64(max) || math.IsInf(f, 1):
			return nil, attach.Invalid(field, "must be at most "+strconv.FormatInt(max, 10))
		case f != math.Trunc(f):
			return nil, attach.Invalid(field, "must be a whole number")
		default:
			// A whole number spelled as a float ("300.0", "3e2").
			n = int64(f)
		}
	}
	if n < 0 {
		return nil, attach.Invalid(field, "must be 0 (blocks) or more")
	}
	if n > max {
		return nil, attach.Invalid(field, "must be at most "+strconv.FormatInt(max, 10))
	}
	return &n, nil
}

func isRangeError(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// check validates limits already parsed (from JSON by the management API,
// or built by Go callers): field prefixes each limit's name in the error.
func (l Limits) check(prefix string) error {
	for _, f := range []struct {
		name string
		v    *int64
		max  int64
	}{
		{"rpm", l.RPM, MaxRPM},
		{"tpm", l.TPM, MaxTokenLimit},
		{"tokens_per_day", l.TokensPerDay, MaxTokenLimit},
		{"monthly_tokens", l.MonthlyTokens, MaxTokenLimit},
	} {
		if f.v == nil {
			continue
		}
		if *f.v < 0 {
			return attach.Invalid(prefix+f.name, "must be 0 (blocks) or more")
		}
		if *f.v > f.max {
			return attach.Invalid(prefix+f.name, "must be at most "+strconv.FormatInt(f.max, 10))
		}
	}
	return nil
}

// checkQuotas validates a whole set; the error names the field at fault as
// the management API spells it ("users[2].tpm").
func checkQuotas(in *Quotas) error {
	if err := in.Team.check("team."); err != nil {
		return err
	}
	if len(in.Users) > maxQuotaRows {
		return attach.Invalid("users", fmt.Sprintf("at most %d users may have limits of their own", maxQuotaRows))
	}
	if len(in.Keys) > maxQuotaRows {
		return attach.Invalid("keys", fmt.Sprintf("at most %d keys may have limits of their own", maxQuotaRows))
	}
	seen := map[string]bool{}
	for i, u := range in.Users {
		field := fmt.Sprintf("users[%d].", i)
		s := strings.TrimSpace(u.Subject)
		if s == "" || len(s) > maxSubjectSize || strings.IndexFunc(s, unicode.IsControl) >= 0 {
			return attach.Invalid(field+"subject", fmt.Sprintf("must be a user's subject (1 to %d printable characters) or * for every user", maxSubjectSize))
		}
		if seen[s] {
			return attach.Invalid(field+"subject", "is listed twice")
		}
		seen[s] = true
		in.Users[i].Subject = s
		if err := u.check(field); err != nil {
			return err
		}
	}
	seen = map[string]bool{}
	for i, k := range in.Keys {
		field := fmt.Sprintf("keys[%d].", i)
		id := strings.TrimSpace(k.KeyID)
		if id != Any && !attach.ValidID(id) {
			return attach.Invalid(field+"key_id", "must be an API key id of the team, or * for every key")
		}
		if seen[id] {
			return attach.Invalid(field+"key_id", "is listed twice")
		}
		seen[id] = true
		in.Keys[i].KeyID = id
		if err := k.check(field); err != nil {
			return err
		}
	}
	return nil
}

const quotaColumns = "team_id, scope, subject, rpm, tpm, tokens_per_day, monthly_tokens"

// quotaRow is one row of team_quotas.
type quotaRow struct {
	teamID, scope, subject string
	limits                 Limits
}

func scanQuotaRow(r pgx.Row) (quotaRow, error) {
	var q quotaRow
	err := r.Scan(&q.teamID, &q.scope, &q.subject, &q.limits.RPM, &q.limits.TPM, &q.limits.TokensPerDay, &q.limits.MonthlyTokens)
	return q, err
}

// quotasOf groups rows by team, for the Directory; a team without rows has
// no entry (nil Quotas: no limits).
func quotasOf(rows []quotaRow) map[string]*Quotas {
	out := map[string]*Quotas{}
	for _, r := range rows {
		q := out[r.teamID]
		if q == nil {
			q = &Quotas{}
			out[r.teamID] = q
		}
		switch r.scope {
		case "team":
			q.Team = r.limits
		case "user":
			q.Users = append(q.Users, UserLimits{Subject: r.subject, Limits: r.limits})
		case "key":
			q.Keys = append(q.Keys, KeyLimits{KeyID: r.subject, Limits: r.limits})
		}
	}
	for _, q := range out {
		q.index()
	}
	return out
}

// Quotas returns the team's limits as stored.
func (s *Store) Quotas(ctx context.Context, teamID string) (*Quotas, error) {
	if !attach.ValidID(teamID) {
		return nil, attach.NotFound("team")
	}
	var exists bool
	if err := s.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM teams WHERE id = $1)", teamID).Scan(&exists); err != nil {
		return nil, DBError("quotas", err)
	}
	if !exists {
		return nil, attach.NotFound("team")
	}
	rows, err := s.pool.Query(ctx, "SELECT "+quotaColumns+" FROM team_quotas WHERE team_id = $1 ORDER BY scope, subject", teamID)
	if err != nil {
		return nil, DBError("quotas", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (quotaRow, error) { return scanQuotaRow(r) })
	if err != nil {
		return nil, DBError("quotas", err)
	}
	q := quotasOf(list)[teamID]
	if q == nil {
		q = &Quotas{}
		q.index()
	}
	return q, nil
}

// SetQuotas replaces the team's limits with in and returns them as stored.
// A key must be one of the team's. The change is audited in its
// transaction, and every replica's Directory reloads the team.
func (s *Store) SetQuotas(ctx context.Context, teamID string, in Quotas) (*Quotas, error) {
	if !attach.ValidID(teamID) {
		return nil, attach.NotFound("team")
	}
	if err := checkQuotas(&in); err != nil {
		return nil, err
	}
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		t, err := scanTeam(tx.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE id = $1 FOR NO KEY UPDATE", teamID))
		if err != nil {
			return DBError("set quotas", err)
		}
		for i, k := range in.Keys {
			if k.KeyID == Any {
				continue
			}
			var ok bool
			if err := tx.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM api_keys WHERE id = $1 AND team_id = $2)", k.KeyID, teamID).Scan(&ok); err != nil {
				return DBError("set quotas", err)
			}
			if !ok {
				return attach.Invalid(fmt.Sprintf("keys[%d].key_id", i), "no API key of this team has this id")
			}
		}
		if _, err := tx.Exec(ctx, "DELETE FROM team_quotas WHERE team_id = $1", teamID); err != nil {
			return DBError("set quotas", err)
		}
		insert := func(scope, subject string, l Limits) error {
			// A user or key row with no limit is kept: it exempts that
			// user or key from the "*" row. A team row without one is none.
			if scope == "team" && !l.Any() {
				return nil
			}
			_, err := tx.Exec(ctx, "INSERT INTO team_quotas ("+quotaColumns+") VALUES ($1, $2, $3, $4, $5, $6, $7)",
				teamID, scope, subject, l.RPM, l.TPM, l.TokensPerDay, l.MonthlyTokens)
			return DBError("set quotas", err)
		}
		if err := insert("team", "", in.Team); err != nil {
			return err
		}
		for _, u := range in.Users {
			if err := insert("user", u.Subject, u.Limits); err != nil {
				return err
			}
		}
		for _, k := range in.Keys {
			if err := insert("key", k.KeyID, k.Limits); err != nil {
				return err
			}
		}
		return audit(ctx, tx, teamAudit(AuditQuotas, t, t.ID, map[string]any{
			"team": limitsDetail(in.Team), "users": len(in.Users), "keys": len(in.Keys)}))
	})
	if err != nil {
		return nil, err
	}
	return s.Quotas(ctx, teamID)
}

// limitsDetail is limits as the audit log shows them.
func limitsDetail(l Limits) map[string]any {
	d := map[string]any{}
	put := func(name string, v *int64) {
		if v != nil {
			d[name] = *v
		}
	}
	put("rpm", l.RPM)
	put("tpm", l.TPM)
	put("tokens_per_day", l.TokensPerDay)
	put("monthly_tokens", l.MonthlyTokens)
	return d
}
