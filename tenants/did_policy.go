package tenants

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// Limits of a team's DID policy: enough for any real allow-list, small
// enough that a policy stays a cheap part of the team's Snapshot.
const (
	maxDID          = 2048 // bytes of one DID
	maxDIDAllow     = 1000 // DIDs on the allow-list
	maxDIDAudiences = 20   // extra audiences
	maxDIDAudience  = 1000 // bytes of one audience
	// maxAuditDIDs bounds the DIDs an audit row names as added or removed;
	// the counts are always exact.
	maxAuditDIDs = 20
)

// DIDMethods are the DID methods a team can trust, in the order the
// console shows them.
var DIDMethods = []string{attach.DIDMethodKey, attach.DIDMethodPKH, attach.DIDMethodWeb}

// ValidDID reports whether s is a DID as the W3C DID 1.0 syntax defines it
// (§3.1): "did:" method-name ":" method-specific-id, where method-name is
// lowercase letters and digits and method-specific-id is colon-separated
// runs of letters, digits, '.', '-', '_' and %XX escapes, the last run not
// empty. A DID URL (path, query, fragment) is not a DID. s is at most 2048
// bytes.
func ValidDID(s string) bool {
	if len(s) > maxDID {
		return false
	}
	rest, ok := strings.CutPrefix(s, "did:")
	if !ok {
		return false
	}
	method, id, ok := strings.Cut(rest, ":")
	if !ok || method == "" || id == "" {
		return false
	}
	for i := 0; i < len(method); i++ {
		if c := method[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
			return false
		}
	}
	if id[len(id)-1] == ':' { // the last run must not be empty
		return false
	}
	for i := 0; i < len(id); i++ {
		switch c := id[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '.', c == '-', c == '_', c == ':':
		case c == '%':
			if i+2 >= len(id) || !isHex(id[i+1]) || !isHex(id[i+2]) {
				return false
			}
			i += 2
		default:
			return false
		}
	}
	return true
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// DIDMethod is the method name of a valid DID ("key" of "did:key:z6M...").
func DIDMethod(did string) string {
	method, _, _ := strings.Cut(strings.TrimPrefix(did, "did:"), ":")
	return method
}

// CleanDIDPolicy checks a DID policy and puts it in its one stored form:
// every list trimmed, without duplicates, sorted and never nil. Methods must
// be DIDMethods; each allowed DID must be a valid DID of one of the
// policy's methods (a DID of another method could never sign in, so it is
// a mistake); audiences must be absolute https URLs, or http on a loopback
// host for local development. The error is an attach.Error of code
// invalid_field naming the first field at fault, in the order methods,
// allow, audiences.
func CleanDIDPolicy(in attach.DIDPolicy) (attach.DIDPolicy, error) {
	var out attach.DIDPolicy
	var err error
	// "did:key" and "key" name the same method: people write it both ways.
	methods := make([]string, len(in.Methods))
	for i, m := range in.Methods {
		m = strings.TrimSpace(m)
		if rest, ok := strings.CutPrefix(m, "did:"); ok {
			m = rest
		}
		methods[i] = m
	}
	if out.Methods, err = cleanList("methods", methods, len(DIDMethods), func(m string) string {
		if !slices.Contains(DIDMethods, m) {
			return "unsupported DID method " + quoteShort(m) + "; trusted methods are: " + strings.Join(DIDMethods, ", ")
		}
		return ""
	}); err != nil {
		return attach.DIDPolicy{}, err
	}
	if out.Allow, err = cleanList("allow", in.Allow, maxDIDAllow, func(d string) string {
		if !ValidDID(d) {
			return quoteShort(d) + " is not a DID (did:METHOD:ID, at most 2048 bytes)"
		}
		if !slices.Contains(out.Methods, DIDMethod(d)) {
			return quoteShort(d) + " uses " + quoteShort("did:"+DIDMethod(d)) + ", a method the team does not trust"
		}
		return ""
	}); err != nil {
		return attach.DIDPolicy{}, err
	}
	if out.Audiences, err = cleanList("audiences", in.Audiences, maxDIDAudiences, checkDIDAudience); err != nil {
		return attach.DIDPolicy{}, err
	}
	return out, nil
}

// cleanList trims, checks (check returns "" or what is wrong), dedupes and
// sorts one list of a DID policy, of at most max items.
func cleanList(field string, in []string, max int, check func(string) string) ([]string, error) {
	out := make([]string, 0, len(in))
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			continue // a blank line in a textarea
		}
		if msg := check(s); msg != "" {
			return nil, attach.Invalid(field, msg)
		}
		out = append(out, s)
	}
	slices.Sort(out)
	out = slices.Compact(out)
	if len(out) > max {
		return nil, attach.Invalid(field, fmt.Sprintf("at most %d entries", max))
	}
	return out, nil
}

// checkDIDAudience says what is wrong with aud as an extra audience of a
// DID-JWT, or "". The token's aud is compared byte for byte, so aud is kept
// as written.
func checkDIDAudience(aud string) string {
	if len(aud) > maxDIDAudience {
		return fmt.Sprintf("an audience must be at most %d bytes", maxDIDAudience)
	}
	u, err := url.Parse(aud)
	if err != nil || u.Host == "" || u.Hostname() == "" || u.Opaque != "" {
		return quoteShort(aud) + " is not an absolute URL"
	}
	if u.User != nil || u.Fragment != "" || strings.Contains(aud, "#") {
		return quoteShort(aud) + " must not hold credentials or a fragment"
	}
	switch u.Scheme {
	case "https":
		return ""
	case "http":
		if isLoopbackHost(u.Hostname()) {
			return ""
		}
		return quoteShort(aud) + " must use https (http only on a loopback host)"
	default:
		return quoteShort(aud) + " must be an https URL"
	}
}

// isLoopbackHost reports whether host names this machine: localhost or a
// loopback address.
func isLoopbackHost(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// GetDIDPolicy returns the team's DID policy; a team that never set one
// has the zero policy, which accepts no DID-JWT. Lists are never nil.
func (s *Store) GetDIDPolicy(ctx context.Context, teamID string) (attach.DIDPolicy, error) {
	if !attach.ValidID(teamID) {
		return attach.DIDPolicy{}, attach.NotFound("team")
	}
	var p attach.DIDPolicy
	err := s.pool.QueryRow(ctx, `SELECT coalesce(d.methods, '{}'), coalesce(d.allow, '{}'), coalesce(d.audiences, '{}')
		FROM teams t LEFT JOIN team_did_policies d ON d.team_id = t.id WHERE t.id = $1`, teamID).
		Scan(&p.Methods, &p.Allow, &p.Audiences)
	return p, DBError("DID policy", err)
}

// PutDIDPolicy replaces the team's DID policy, cleaned by CleanDIDPolicy,
// and returns it as stored. The change is audited (action did.policy) in
// its transaction, with the Actor of ctx; a policy equal to the stored one
// writes nothing and audits nothing. Every replica's Directory reloads the
// team.
func (s *Store) PutDIDPolicy(ctx context.Context, teamID string, in attach.DIDPolicy) (attach.DIDPolicy, error) {
	if !attach.ValidID(teamID) {
		return attach.DIDPolicy{}, attach.NotFound("team")
	}
	p, err := CleanDIDPolicy(in)
	if err != nil {
		return attach.DIDPolicy{}, err
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		// Locking the team orders concurrent changes, so the audit row names
		// the policy this one replaced.
		t, err := scanTeam(tx.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE id = $1 FOR NO KEY UPDATE", teamID))
		if err != nil {
			return DBError("set DID policy", err)
		}
		old := attach.DIDPolicy{Methods: []string{}, Allow: []string{}, Audiences: []string{}}
		err = tx.QueryRow(ctx, "SELECT "+didPolicyColumns+" FROM team_did_policies WHERE team_id = $1", teamID).
			Scan(new(string), &old.Methods, &old.Allow, &old.Audiences)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return DBError("set DID policy", err)
		}
		if equalDIDPolicy(old, p) {
			return nil
		}
		if isZeroDIDPolicy(p) {
			// Back to accepting no DID: no row.
			_, err = tx.Exec(ctx, "DELETE FROM team_did_policies WHERE team_id = $1", teamID)
		} else {
			_, err = tx.Exec(ctx, `INSERT INTO team_did_policies (team_id, methods, allow, audiences) VALUES ($1, $2, $3, $4)
				ON CONFLICT (team_id) DO UPDATE SET methods = EXCLUDED.methods, allow = EXCLUDED.allow,
				audiences = EXCLUDED.audiences, updated_at = now()`,
				teamID, p.Methods, p.Allow, p.Audiences)
		}
		if err != nil {
			return DBError("set DID policy", err)
		}
		return audit(ctx, tx, teamAudit(AuditDIDPolicy, t, t.ID, didPolicyAuditDetail(old, p)))
	})
	if err != nil {
		return attach.DIDPolicy{}, err
	}
	return p, nil
}

func equalDIDPolicy(a, b attach.DIDPolicy) bool {
	return slices.Equal(a.Methods, b.Methods) && slices.Equal(a.Allow, b.Allow) && slices.Equal(a.Audiences, b.Audiences)
}

func isZeroDIDPolicy(p attach.DIDPolicy) bool {
	return len(p.Methods) == 0 && len(p.Allow) == 0 && len(p.Audiences) == 0
}

// didPolicyAuditDetail says what a change did: the methods and audiences
// before and after, and the allow-list's size with the DIDs it gained and
// lost (at most maxAuditDIDs of each, so a long list does not bloat the
// log). DIDs are public identifiers, not secrets.
func didPolicyAuditDetail(old, p attach.DIDPolicy) map[string]any {
	added, removed := []string{}, []string{}
	for _, d := range p.Allow {
		if _, found := slices.BinarySearch(old.Allow, d); !found {
			added = append(added, d)
		}
	}
	for _, d := range old.Allow {
		if _, found := slices.BinarySearch(p.Allow, d); !found {
			removed = append(removed, d)
		}
	}
	return map[string]any{
		"methods": p.Methods, "previous_methods": old.Methods,
		"audiences": p.Audiences, "previous_audiences": old.Audiences,
		"allow": len(p.Allow), "allow_added": added[:min(len(added), maxAuditDIDs)], "allow_removed": removed[:min(len(removed), maxAuditDIDs)],
		"allow_added_count": len(added), "allow_removed_count": len(removed),
	}
}

// didPolicyRow is one row of team_did_policies, for the Directory.
type didPolicyRow struct {
	teamID string
	policy attach.DIDPolicy
}

const didPolicyColumns = "team_id, methods, allow, audiences"

func scanDIDPolicy(row pgx.Row) (didPolicyRow, error) {
	var d didPolicyRow
	err := row.Scan(&d.teamID, &d.policy.Methods, &d.policy.Allow, &d.policy.Audiences)
	return d, err
}
