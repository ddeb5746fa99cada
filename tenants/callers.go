package tenants

import (
	"context"
	"fmt"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	attach "github.com/attach-dev/attach-gateway"
)

// MethodOther is the method of the count that holds the calls the gateway
// could not tell apart: those of callers beyond its bound between two
// flushes.
const MethodOther = "other"

// CallerRetention is how long caller counts are kept; the console shows the
// last day of them.
const CallerRetention = 8 * 24 * time.Hour

// MaxListedCallers is the most callers ListCallers returns, busiest first.
const MaxListedCallers = 1000

// maxCallerField bounds each text field of a count, so that one long token
// claim cannot make a row too large to index.
const maxCallerField = 512

// CallerCount is a number of successful authentications by one identity in
// one team within one hour, as the gateway counted them in memory.
type CallerCount struct {
	TeamID string
	Hour   time.Time // truncated to the hour by AddCallerCounts
	// Method, Issuer, Subject and Actor are the Principal's: how the caller
	// proved who it is, and, for a delegated agent, the agent's name.
	Method, Issuer, Subject, Actor string
	Count                          int64
	LastSeen                       time.Time
}

// Caller is one identity that called a team, with the names the console
// shows for it.
type Caller struct {
	Method, Issuer, Subject, Actor string
	// KeyID, KeyName and KeyPrefix name the gateway API key the subject is
	// (or, for a delegated agent, acts for); KeyName and KeyPrefix are
	// empty once the key is deleted.
	KeyID, KeyName, KeyPrefix string
	// UserID, UserName and UserEmail name the console user the subject is
	// (or acts for); empty names once the user is deleted.
	UserID, UserName, UserEmail string
	// AgentID is the id of the team's agent named Actor, when it is still
	// registered.
	AgentID  string
	Count    int64
	LastSeen time.Time
}

// AddCallerCounts adds a batch of counts in one statement: a count for an
// identity and hour already stored is added to it. Counts for a team that no
// longer exists are dropped, as are empty ones.
func (s *Store) AddCallerCounts(ctx context.Context, batch []CallerCount) error {
	type key struct {
		team                           string
		hour                           int64
		method, issuer, subject, actor string
	}
	// One row per key: Postgres refuses to update a row twice in one
	// statement.
	merged := make(map[key]int, len(batch))
	var teams, methods, issuers, subjects, actors, keyIDs, userIDs []string
	var hours, seen []time.Time
	var counts []int64
	for _, c := range batch {
		if c.Count <= 0 || !attach.ValidID(c.TeamID) {
			continue
		}
		hour := c.Hour.UTC().Truncate(time.Hour)
		k := key{c.TeamID, hour.Unix(), clip(c.Method), clip(c.Issuer), clip(c.Subject), clip(c.Actor)}
		if i, ok := merged[k]; ok {
			counts[i] += c.Count
			if c.LastSeen.After(seen[i]) {
				seen[i] = c.LastSeen
			}
			continue
		}
		merged[k] = len(teams)
		teams = append(teams, k.team)
		hours = append(hours, hour)
		methods = append(methods, k.method)
		issuers = append(issuers, k.issuer)
		subjects = append(subjects, k.subject)
		actors = append(actors, k.actor)
		keyIDs = append(keyIDs, idAfter(c.Subject, attach.SubjectPrefixAPIKey))
		userIDs = append(userIDs, idAfter(c.Subject, attach.SubjectPrefixUser))
		counts = append(counts, c.Count)
		seen = append(seen, c.LastSeen)
	}
	if len(teams) == 0 {
		return nil
	}
	_, err := s.pool.Exec(ctx,
		`INSERT INTO caller_counts AS c (team_id, hour, method, issuer, subject, actor, key_id, user_id, count, last_seen)
		 SELECT u.team_id, u.hour, u.method, u.issuer, u.subject, u.actor,
		        NULLIF(u.key_id, '')::uuid, NULLIF(u.user_id, '')::uuid, u.count, u.last_seen
		 FROM unnest($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::text[], $6::text[],
		             $7::text[], $8::text[], $9::bigint[], $10::timestamptz[])
		        AS u(team_id, hour, method, issuer, subject, actor, key_id, user_id, count, last_seen)
		 JOIN teams t ON t.id = u.team_id
		 ON CONFLICT (team_id, hour, method, issuer, subject, actor) DO UPDATE
		 SET count = c.count + excluded.count, last_seen = greatest(c.last_seen, excluded.last_seen)`,
		teams, hours, methods, issuers, subjects, actors, keyIDs, userIDs, counts, seen)
	return DBError("add caller counts", err)
}

// PruneCallerCounts deletes the counts of hours that ended before before
// and says how many it deleted.
func (s *Store) PruneCallerCounts(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, "DELETE FROM caller_counts WHERE hour < $1", before.UTC().Truncate(time.Hour))
	if err != nil {
		return 0, DBError("prune caller counts", err)
	}
	return tag.RowsAffected(), nil
}

// ListCallers returns who called team teamID since since (to the hour: the
// hour since falls in is counted whole), one row per identity with its
// count, busiest first, at most MaxListedCallers.
func (s *Store) ListCallers(ctx context.Context, teamID string, since time.Time) ([]Caller, error) {
	if !attach.ValidID(teamID) {
		return nil, attach.Errorf(attach.CodeNotFound, "list callers: team not found")
	}
	rows, err := s.pool.Query(ctx,
		`SELECT c.method, c.issuer, c.subject, c.actor,
		        coalesce(c.key_id::text, ''), coalesce(k.name, ''), coalesce(k.prefix, ''),
		        coalesce(c.user_id::text, ''), coalesce(usr.name, ''), coalesce(usr.email, ''),
		        coalesce(a.id::text, ''), c.count, c.last_seen
		 FROM (SELECT method, issuer, subject, actor, min(key_id::text)::uuid AS key_id,
		              min(user_id::text)::uuid AS user_id, sum(count)::bigint AS count, max(last_seen) AS last_seen
		       FROM caller_counts
		       WHERE team_id = $1 AND hour >= $2
		       GROUP BY method, issuer, subject, actor) c
		 LEFT JOIN api_keys k ON k.team_id = $1 AND k.id = c.key_id
		 LEFT JOIN users usr ON usr.id = c.user_id
		 LEFT JOIN agents a ON a.team_id = $1 AND c.actor <> '' AND a.name = c.actor
		 ORDER BY c.count DESC, c.last_seen DESC, c.subject
		 LIMIT $3`,
		teamID, since.UTC().Truncate(time.Hour), MaxListedCallers)
	if err != nil {
		return nil, DBError("list callers", err)
	}
	defer rows.Close()
	var out []Caller
	for rows.Next() {
		var c Caller
		if err := rows.Scan(&c.Method, &c.Issuer, &c.Subject, &c.Actor, &c.KeyID, &c.KeyName, &c.KeyPrefix,
			&c.UserID, &c.UserName, &c.UserEmail, &c.AgentID, &c.Count, &c.LastSeen); err != nil {
			return nil, fmt.Errorf("list callers: %w", err)
		}
		out = append(out, c)
	}
	return out, DBError("list callers", rows.Err())
}

// idAfter is the id following prefix in subject, or "" when subject holds
// none.
func idAfter(subject, prefix string) string {
	rest, ok := strings.CutPrefix(subject, prefix)
	if !ok {
		return ""
	}
	id, err := uuid.Parse(rest)
	if err != nil {
		return ""
	}
	return id.String()
}

// clip cuts s to at most maxCallerField bytes, on a rune boundary.
func clip(s string) string {
	if len(s) <= maxCallerField {
		return s
	}
	for i := maxCallerField; i > 0; i-- {
		if utf8.RuneStart(s[i]) {
			return s[:i]
		}
	}
	return ""
}
