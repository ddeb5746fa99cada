package tenants

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// Invite asks someone to join a team in a role. Its token, a link the
// inviter passes on, is shown once at creation; only its hash is kept; it
// works once and for a few days. An invite is bound to its email: only an
// account whose verified email is that address may accept it. An inviter
// may instead choose "anyone with the link" (Anyone, no email): then
// whoever holds the link may accept, with any account.
type Invite struct {
	ID         string     `json:"id"`
	TeamID     string     `json:"team_id"`
	Email      string     `json:"email"` // "" when Anyone
	Anyone     bool       `json:"anyone"`
	Role       Role       `json:"role"`
	InvitedBy  string     `json:"invited_by,omitempty"` // user id; "" when unknown
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  time.Time  `json:"expires_at"`
	AcceptedAt *time.Time `json:"accepted_at,omitempty"`
}

// InviteInput is what an inviter sets.
type InviteInput struct {
	Email     string        `json:"email"`  // required unless Anyone
	Anyone    bool          `json:"anyone"` // anyone with the link may join
	Role      Role          `json:"role"`
	InvitedBy string        `json:"-"` // the inviting user's id, from the session
	TTL       time.Duration `json:"-"` // 0: DefaultInviteTTL
}

// Invite lifetimes. A link proves access to an address only while it is
// likely that only the person it was sent to holds it: short.
const (
	DefaultInviteTTL = 72 * time.Hour
	MaxInviteTTL     = 7 * 24 * time.Hour
)

// AnyoneLabel is how an invite without an email is named in pages and the
// audit log.
const AnyoneLabel = "anyone with the link"

// For names who may accept the invite: its email, or AnyoneLabel.
func (iv Invite) For() string {
	if iv.Anyone {
		return AnyoneLabel
	}
	return iv.Email
}

func (in InviteInput) normalize() (InviteInput, error) {
	if in.Anyone {
		if strings.TrimSpace(in.Email) != "" {
			return in, attach.Invalid("email", "must be empty for an invite anyone with the link may use")
		}
		in.Email = ""
	} else {
		email, err := normalizeEmail(in.Email)
		if err != nil {
			return in, err
		}
		in.Email = email
	}
	if !in.Role.Valid() {
		return in, attach.Invalid("role", "must be owner, admin, member or viewer")
	}
	if in.InvitedBy != "" && !attach.ValidID(in.InvitedBy) {
		return in, attach.Invalid("invited_by", "must be a user id")
	}
	switch {
	case in.TTL == 0:
		in.TTL = DefaultInviteTTL
	case in.TTL < time.Minute || in.TTL > MaxInviteTTL:
		return in, attach.Invalid("ttl", "must be from a minute to 7 days")
	}
	return in, nil
}

// inviteColumns are the columns scanInvite reads, of the table aliased as
// alias.
func inviteColumnsOf(alias string) string {
	return alias + "id, " + alias + "team_id, " + alias + "email, " + alias + "anyone, " + alias + "role, coalesce(" + alias + "invited_by::text, ''), " +
		alias + "created_at, " + alias + "expires_at, " + alias + "accepted_at"
}

var inviteColumns = inviteColumnsOf("")

func scanInvite(row pgx.Row, extra ...any) (Invite, error) {
	var iv Invite
	dest := append([]any{&iv.ID, &iv.TeamID, &iv.Email, &iv.Anyone, &iv.Role, &iv.InvitedBy, &iv.CreatedAt, &iv.ExpiresAt, &iv.AcceptedAt}, extra...)
	err := row.Scan(dest...)
	return iv, err
}

func inviteAudit(action string, iv Invite) AuditEntry {
	return AuditEntry{TeamID: iv.TeamID, Action: action, TargetType: "invite", TargetID: iv.ID, TargetName: iv.For(),
		Detail: map[string]any{"email": iv.Email, "anyone": iv.Anyone, "role": iv.Role, "expires_at": iv.ExpiresAt}}
}

// CreateInvite invites in.Email (or, with in.Anyone, whoever holds the
// link) to the team and returns the invite and its token (the only copy).
// A new invite to an address replaces that address's pending one, so only
// the latest link works. Inviting someone who is already a member is a
// conflict.
func (s *Store) CreateInvite(ctx context.Context, teamID string, in InviteInput) (Invite, string, error) {
	in, err := in.normalize()
	if err != nil {
		return Invite{}, "", err
	}
	id, err := newRowID(teamID)
	if err != nil {
		return Invite{}, "", err
	}
	token, hash, err := newToken()
	if err != nil {
		return Invite{}, "", err
	}
	var iv Invite
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if !in.Anyone {
			if err := replaceInvite(ctx, tx, teamID, in.Email); err != nil {
				return err
			}
		}
		var err error
		iv, err = scanInvite(tx.QueryRow(ctx,
			`INSERT INTO invites (id, team_id, email, anyone, role, token_hash, invited_by, expires_at)
			 VALUES ($1, $2, $3, $4, $5, $6, $7, now() + $8::float8 * interval '1 second') RETURNING `+inviteColumns,
			id, teamID, in.Email, in.Anyone, in.Role, hash, nullIfEmpty(in.InvitedBy), in.TTL.Seconds()))
		if err != nil {
			return DBError("create invite", err)
		}
		return audit(ctx, tx, inviteAudit(AuditInviteCreate, iv))
	})
	if err != nil {
		return Invite{}, "", err
	}
	return iv, token, nil
}

// replaceInvite refuses an invite for a member's address and removes the
// pending one for it.
func replaceInvite(ctx context.Context, tx pgx.Tx, teamID, email string) error {
	var member bool
	err := tx.QueryRow(ctx,
		`SELECT EXISTS (SELECT 1 FROM memberships m JOIN users u ON u.id = m.user_id
			                WHERE m.team_id = $1 AND lower(u.email) = lower($2))`, teamID, email).Scan(&member)
	if err != nil {
		return DBError("create invite", err)
	}
	if member {
		return attach.Errorf(attach.CodeConflict, "create invite: this person is already a member")
	}
	if _, err := tx.Exec(ctx,
		"DELETE FROM invites WHERE team_id = $1 AND lower(email) = lower($2) AND accepted_at IS NULL", teamID, email); err != nil {
		return DBError("replace invite", err)
	}
	return nil
}

// ListInvites lists a team's pending invites (not accepted, not expired),
// oldest first.
func (s *Store) ListInvites(ctx context.Context, teamID string) ([]Invite, error) {
	if !attach.ValidID(teamID) {
		return nil, attach.NotFound("team")
	}
	rows, err := s.pool.Query(ctx,
		"SELECT "+inviteColumns+` FROM invites
		 WHERE team_id = $1 AND accepted_at IS NULL AND expires_at > now() ORDER BY id`, teamID)
	if err != nil {
		return nil, DBError("list invites", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Invite, error) { return scanInvite(r) })
	return list, DBError("list invites", err)
}

// RevokeInvite withdraws a pending invite; its link stops working. An
// unknown or already accepted invite is not found.
func (s *Store) RevokeInvite(ctx context.Context, teamID, id string) error {
	if !attach.ValidID(teamID) || !attach.ValidID(id) {
		return attach.NotFound("invite")
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		iv, err := scanInvite(tx.QueryRow(ctx,
			"DELETE FROM invites WHERE team_id = $1 AND id = $2 AND accepted_at IS NULL RETURNING "+inviteColumns, teamID, id))
		if err != nil {
			return DBError("revoke invite", err)
		}
		return audit(ctx, tx, inviteAudit(AuditInviteRevoke, iv))
	})
}

// InviteByToken finds the invite behind a link, for the page that offers to
// accept it. An unknown, revoked or already used token is not found; an
// expired one is attach.CodeExpired.
func (s *Store) InviteByToken(ctx context.Context, token string) (Invite, attach.Team, error) {
	hash, ok := tokenHashOf(token)
	if !ok {
		return Invite{}, attach.Team{}, attach.NotFound("invite")
	}
	var t attach.Team
	var expired bool
	iv, err := scanInvite(s.pool.QueryRow(ctx,
		"SELECT "+inviteColumnsOf("i.")+`, t.id, t.slug, t.name, t.engine_cookies, t.created_at, t.updated_at, i.expires_at <= now()
		 FROM invites i JOIN teams t ON t.id = i.team_id
		 WHERE i.token_hash = $1 AND i.accepted_at IS NULL`, hash),
		&t.ID, &t.Slug, &t.Name, &t.EngineCookies, &t.CreatedAt, &t.UpdatedAt, &expired)
	if err != nil {
		return Invite{}, attach.Team{}, DBError("find invite", err)
	}
	if expired {
		return Invite{}, attach.Team{}, attach.Errorf(attach.CodeExpired, "invite expired")
	}
	return iv, t, nil
}

// AcceptInvite makes userID a member of the invite's team, once: the token
// is spent. Someone who is already a member keeps the higher of their role
// and the invite's. A bound invite takes a user whose verified email is
// the invite's: anyone else gets an *attach.Error with Reason
// ReasonInviteWrongEmail, and the link stays usable. Other errors are
// those of InviteByToken, and not found for an unknown user.
func (s *Store) AcceptInvite(ctx context.Context, token, userID string) (Membership, error) {
	hash, ok := tokenHashOf(token)
	if !ok {
		return Membership{}, attach.NotFound("invite")
	}
	if !attach.ValidID(userID) {
		return Membership{}, attach.NotFound("user")
	}
	var m Membership
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		var expired bool
		iv, err := scanInvite(tx.QueryRow(ctx,
			"SELECT "+inviteColumns+", expires_at <= now() FROM invites WHERE token_hash = $1 AND accepted_at IS NULL FOR UPDATE",
			hash), &expired)
		if err != nil {
			return DBError("accept invite", err)
		}
		if expired {
			return attach.Errorf(attach.CodeExpired, "invite expired")
		}
		if err := checkInvitee(ctx, tx, iv, userID); err != nil {
			return err
		}
		var previous Role
		err = tx.QueryRow(ctx, "SELECT role FROM memberships WHERE team_id = $1 AND user_id = $2 FOR UPDATE",
			iv.TeamID, userID).Scan(&previous)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return DBError("accept invite", err)
		}
		// The upsert keeps the higher role even against a membership added
		// since the read above.
		err = tx.QueryRow(ctx,
			`INSERT INTO memberships AS m (team_id, user_id, role) VALUES ($1, $2, $3)
			 ON CONFLICT (team_id, user_id) DO UPDATE SET role =
			   CASE WHEN `+roleRankSQL("EXCLUDED.role")+` > `+roleRankSQL("m.role")+` THEN EXCLUDED.role ELSE m.role END
			 RETURNING role`, iv.TeamID, userID, higher(previous, iv.Role)).Scan(&m.Role)
		if err != nil {
			return DBError("accept invite", err)
		}
		var email string
		err = tx.QueryRow(ctx,
			"UPDATE invites SET accepted_at = now(), accepted_by = $2 WHERE id = $1 RETURNING (SELECT email FROM users WHERE id = $2)",
			iv.ID, userID).Scan(&email)
		if err != nil {
			return DBError("accept invite", err)
		}
		if m.Team, err = scanTeam(tx.QueryRow(ctx, "SELECT "+teamColumns+" FROM teams WHERE id = $1", iv.TeamID)); err != nil {
			return DBError("accept invite", err)
		}
		detail := map[string]any{"invite_id": iv.ID, "invited_email": iv.Email, "anyone": iv.Anyone, "role": m.Role}
		if previous != "" {
			detail["previous_role"] = previous
		}
		return audit(ctx, tx, AuditEntry{TeamID: iv.TeamID, Action: AuditInviteAccept, TargetType: "user", TargetID: userID,
			TargetName: email, Detail: detail})
	})
	return m, err
}

// ReasonInviteWrongEmail is the Reason of the refusal of a bound invite to
// an account of another, or unverified, address.
const ReasonInviteWrongEmail = "invite_wrong_email"

// checkInvitee refuses a bound invite to a user whose verified email is not
// the invite's.
func checkInvitee(ctx context.Context, tx pgx.Tx, iv Invite, userID string) error {
	var u User
	err := tx.QueryRow(ctx, "SELECT email, email_verified FROM users WHERE id = $1", userID).Scan(&u.Email, &u.EmailVerified)
	if errors.Is(err, pgx.ErrNoRows) {
		return attach.NotFound("user")
	}
	if err != nil {
		return DBError("accept invite", err)
	}
	return iv.Refuses(u)
}

// Refuses says why u may not accept the invite, as an *attach.Error with
// Reason ReasonInviteWrongEmail, or nil when u may. AcceptInvite checks it
// again; pages call it to say so before anyone clicks.
func (iv Invite) Refuses(u User) error {
	switch {
	case iv.Anyone:
		return nil
	case !strings.EqualFold(u.Email, iv.Email):
		return &attach.Error{Code: attach.CodeForbidden, Reason: ReasonInviteWrongEmail,
			Message: "This invite is for " + iv.Email + ", and you are signed in as " + u.Email +
				". Sign out, then open the link again and sign in or sign up as " + iv.Email + "."}
	case !u.EmailVerified:
		return &attach.Error{Code: attach.CodeForbidden, Reason: ReasonInviteWrongEmail,
			Message: "This invite is for " + iv.Email + ", and this account's address was never verified. " +
				"Sign in with single sign-on as " + iv.Email + ", or ask a team admin for an invite for anyone with the link."}
	}
	return nil
}
