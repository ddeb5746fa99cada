package tenants

import (
	"context"
	"errors"
	"fmt"
	"net/mail"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"

	attach "github.com/attach-dev/attach-gateway"
)

// User is someone who signs in to the console, with a password, through an
// OpenID Connect provider, or both.
type User struct {
	ID          string `json:"id"`
	Email       string `json:"email"`
	Name        string `json:"name"`
	HasPassword bool   `json:"has_password"`
	// EmailVerified says the address was proven: a bound invite delivered
	// there, the IdP's email_verified claim, or the install's setup link.
	EmailVerified bool       `json:"email_verified"`
	OIDCIssuer    string     `json:"oidc_issuer,omitempty"` // "" for a local account
	CreatedAt     time.Time  `json:"created_at"`
	LastSignInAt  *time.Time `json:"last_sign_in_at,omitempty"`
	// InstallAdmin is the stored flag of an install administrator (see
	// install_admins.go); an install may name more by email.
	InstallAdmin bool `json:"install_admin"`
	// LockedAt is when an install administrator locked the account; nil
	// when it may sign in.
	LockedAt *time.Time `json:"locked_at,omitempty"`
}

// UserInput is what someone signing up gives.
type UserInput struct {
	Email    string `json:"email"`
	Name     string `json:"name"`
	Password string `json:"password,omitempty"`
	// EmailVerified is set by the caller that proved the address (a bound
	// invite, the setup link), never by what the person typed.
	EmailVerified bool `json:"-"`
	// InstallAdmin makes the user one of the install's administrators
	// (`attach user create --install-admin`).
	InstallAdmin bool `json:"-"`
}

// String hides the password from anything that prints the input.
func (in UserInput) String() string {
	return fmt.Sprintf("UserInput{Email: %q, Name: %q, Password: [redacted]}", in.Email, in.Name)
}

// Password length limits, in characters. The upper bound keeps a sign-in
// form from becoming a way to make the server hash megabytes.
const (
	MinPasswordLen = 12
	MaxPasswordLen = 1024
)

// Check reports what CreateLocalUser would refuse in in, without a
// database: shell commands check their input before they start one.
func (in UserInput) Check() error {
	_, err := in.normalize()
	return err
}

func (in UserInput) normalize() (UserInput, error) {
	email, err := normalizeEmail(in.Email)
	if err != nil {
		return in, err
	}
	in.Email = email
	name, err := personName(in.Name)
	if err != nil {
		return in, err
	}
	in.Name = name
	if err := checkPassword(in.Password); err != nil {
		return in, err
	}
	return in, nil
}

// normalizeEmail trims s and checks that it is a bare address
// (name@example.com). Case is kept as given; lookups ignore it.
func normalizeEmail(s string) (string, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return s, attach.Invalid("email", "is required")
	}
	if len(s) > 254 {
		return s, attach.Invalid("email", "must be at most 254 characters")
	}
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return s, attach.Invalid("email", "must be an email address like name@example.com")
	}
	local, domain, ok := strings.Cut(s, "@")
	if !ok || local == "" || domain == "" || strings.ContainsAny(s, " \t<>") {
		return s, attach.Invalid("email", "must be an email address like name@example.com")
	}
	return s, nil
}

// personName trims a display name of 1 to 100 characters.
func personName(s string) (string, error) {
	s = strings.TrimSpace(s)
	if n := utf8.RuneCountInString(s); n == 0 || n > 100 || !utf8.ValidString(s) {
		return s, attach.Invalid("name", "must be 1 to 100 characters")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return s, attach.Invalid("name", "cannot contain control characters")
	}
	return s, nil
}

// checkPassword enforces length only: no composition rules, which push
// people towards predictable passwords. The message never repeats it.
func checkPassword(p string) error {
	if n := utf8.RuneCountInString(p); n < MinPasswordLen || n > MaxPasswordLen {
		return attach.Invalid("password", fmt.Sprintf("must be %d to %d characters", MinPasswordLen, MaxPasswordLen))
	}
	return nil
}

const userColumns = "id, email, name, password_hash IS NOT NULL, coalesce(oidc_issuer, ''), created_at, last_sign_in_at, email_verified, install_admin, locked_at"

// userDest are the scan targets of userColumns.
func userDest(u *User) []any {
	return []any{&u.ID, &u.Email, &u.Name, &u.HasPassword, &u.OIDCIssuer, &u.CreatedAt, &u.LastSignInAt, &u.EmailVerified, &u.InstallAdmin, &u.LockedAt}
}

func scanUser(row pgx.Row) (User, error) {
	var u User
	err := row.Scan(userDest(&u)...)
	return u, err
}

// CreateLocalUser adds a user who signs in with a password. An email taken
// by another user, in any case, is a conflict.
func (s *Store) CreateLocalUser(ctx context.Context, in UserInput) (User, error) {
	in, err := in.normalize()
	if err != nil {
		return User{}, err
	}
	hash, err := s.pw.hash(ctx, in.Password)
	if err != nil {
		return User{}, err
	}
	var u User
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		u, err = insertLocalUser(ctx, tx, in, hash)
		return err
	})
	return u, err
}

func insertLocalUser(ctx context.Context, tx pgx.Tx, in UserInput, hash string) (User, error) {
	id, err := attach.NewID()
	if err != nil {
		return User{}, err
	}
	u, err := scanUser(tx.QueryRow(ctx,
		"INSERT INTO users (id, email, name, password_hash, email_verified, install_admin) VALUES ($1, $2, $3, $4, $5, $6) RETURNING "+userColumns,
		id, in.Email, in.Name, hash, in.EmailVerified, in.InstallAdmin))
	if err != nil {
		return User{}, DBError("create user", err)
	}
	return u, audit(ctx, tx, AuditEntry{Action: AuditUserCreate, TargetType: "user", TargetID: u.ID, TargetName: u.Email,
		Detail: map[string]any{"email": u.Email, "name": u.Name, "sign_in": "password", "email_verified": u.EmailVerified, "install_admin": u.InstallAdmin}})
}

// AuthenticatePassword checks an email and password and records the
// sign-in. An unknown email, an account without a password and a wrong
// password are all refused, with attach.CodeUnauthorized, after the same
// amount of work. A hash made with older parameters is replaced on the way.
func (s *Store) AuthenticatePassword(ctx context.Context, email, password string) (User, error) {
	email = strings.TrimSpace(email)
	if utf8.RuneCountInString(password) > MaxPasswordLen {
		password = password[:MaxPasswordLen] // hashed anyway, so the refusal takes the usual time
		email = ""
	}
	var id, encoded string
	var locked bool
	if email != "" && len(email) <= 254 {
		err := s.pool.QueryRow(ctx,
			"SELECT id, coalesce(password_hash, ''), locked_at IS NOT NULL FROM users WHERE lower(email) = lower($1)", email).Scan(&id, &encoded, &locked)
		if err != nil && !errors.Is(err, pgx.ErrNoRows) {
			return User{}, DBError("find user", err)
		}
	}
	ok, stale, err := s.pw.verify(ctx, encoded, password)
	if err != nil {
		return User{}, fmt.Errorf("check password: %w", err)
	}
	if !ok {
		return User{}, attach.Errorf(attach.CodeUnauthorized, "wrong email or password")
	}
	if locked {
		// Said only to whoever knows the password: a guesser learns nothing.
		return User{}, ErrAccountLocked()
	}
	var rehash any
	if stale {
		if rehash, err = s.pw.hash(ctx, password); err != nil {
			return User{}, err
		}
	}
	u, err := scanUser(s.pool.QueryRow(ctx,
		`UPDATE users SET last_sign_in_at = now(), password_hash = coalesce($2, password_hash)
		 WHERE id = $1 RETURNING `+userColumns, id, rehash))
	return u, DBError("record sign-in", err)
}

// UpsertOIDCUser signs in someone an OpenID Connect provider vouched for.
// The account is found by issuer and subject. The email decides only
// when the provider says it verified it (emailVerified):
//   - an account of that address with a verified email, or without a
//     password, and no provider identity yet is linked to this identity;
//   - an account of that address whose email was never verified (chosen by
//     whoever held an "anyone with the link" invite) gives the address up:
//     it is renamed to a released-…@invalid placeholder and signed out,
//     and the provider's person gets an account of their own. That account
//     gets none of the other's teams or password, so nobody who typed an
//     address takes over, or locks out, its real owner.
//
// Otherwise the first sign-in creates the user (a conflict when another
// account already has the email); later ones refresh the name, and the
// email unless another account holds it.
func (s *Store) UpsertOIDCUser(ctx context.Context, issuer, subject, email, name string, emailVerified bool) (User, error) {
	if issuer == "" || len(issuer) > 1000 {
		return User{}, attach.Invalid("issuer", "must be 1 to 1000 bytes")
	}
	if subject == "" || len(subject) > 255 {
		return User{}, attach.Invalid("subject", "must be 1 to 255 bytes")
	}
	email, err := normalizeEmail(email)
	if err != nil {
		return User{}, err
	}
	name = providerName(name, email)
	id, err := attach.NewID()
	if err != nil {
		return User{}, err
	}
	var u User
	upsert := func(tx pgx.Tx) error {
		if emailVerified {
			linked, ok, err := claimVerifiedEmail(ctx, tx, issuer, subject, email)
			if err != nil || ok {
				u = linked
				return err
			}
		}
		// A concurrent first sign-in of the same person makes this insert
		// wait and then do nothing; the update below then finds the row.
		u, err = scanUser(tx.QueryRow(ctx,
			`INSERT INTO users (id, email, name, oidc_issuer, oidc_subject, last_sign_in_at, email_verified)
			 VALUES ($1, $2, $3, $4, $5, now(), $6)
			 ON CONFLICT (oidc_issuer, oidc_subject) DO NOTHING RETURNING `+userColumns,
			id, email, name, issuer, subject, emailVerified))
		if err == nil {
			return audit(ctx, tx, AuditEntry{Action: AuditUserCreate, TargetType: "user", TargetID: u.ID, TargetName: u.Email,
				Detail: map[string]any{"email": u.Email, "name": u.Name, "sign_in": "oidc", "issuer": issuer, "email_verified": emailVerified}})
		}
		if !errors.Is(err, pgx.ErrNoRows) {
			return DBError("create user", err)
		}
		u, err = scanUser(tx.QueryRow(ctx,
			`UPDATE users AS u SET name = $3, last_sign_in_at = now(),
			   email_verified = CASE WHEN EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower($4) AND o.id <> u.id)
			           THEN u.email_verified ELSE $5 END,
			   email = CASE WHEN EXISTS (SELECT 1 FROM users o WHERE lower(o.email) = lower($4) AND o.id <> u.id)
			           THEN u.email ELSE $4 END
			 WHERE oidc_issuer = $1 AND oidc_subject = $2 RETURNING `+userColumns,
			issuer, subject, name, email, emailVerified))
		return DBError("update user", err)
	}
	err = s.inTx(ctx, func(tx pgx.Tx) error {
		if err := upsert(tx); err != nil {
			return err
		}
		if u.LockedAt != nil {
			// Refused inside the transaction, so a locked account's sign-in
			// changes nothing, not even its name or last sign-in.
			return ErrAccountLocked()
		}
		return nil
	})
	if err != nil {
		return User{}, err
	}
	return u, nil
}

// providerName makes a usable display name of what a provider sent.
func providerName(name, email string) string {
	name = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) {
			return -1
		}
		return r
	}, strings.ToValidUTF8(name, ""))
	name = strings.TrimSpace(name)
	if r := []rune(name); len(r) > 100 {
		name = strings.TrimSpace(string(r[:100]))
	}
	if name == "" {
		name, _, _ = strings.Cut(email, "@")
	}
	return name
}

// GetUser finds a user by id.
func (s *Store) GetUser(ctx context.Context, id string) (User, error) {
	if !attach.ValidID(id) {
		return User{}, attach.NotFound("user")
	}
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE id = $1", id))
	return u, DBError("get user", err)
}

// GetUserByEmail finds a user by email, ignoring case.
func (s *Store) GetUserByEmail(ctx context.Context, email string) (User, error) {
	email = strings.TrimSpace(email)
	if email == "" || len(email) > 254 {
		return User{}, attach.NotFound("user")
	}
	u, err := scanUser(s.pool.QueryRow(ctx, "SELECT "+userColumns+" FROM users WHERE lower(email) = lower($1)", email))
	return u, DBError("get user", err)
}

// CountUsers tells how many users exist; zero means the install still needs
// its first account.
func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	err := s.pool.QueryRow(ctx, "SELECT count(*) FROM users").Scan(&n)
	return n, DBError("count users", err)
}

// SetPassword sets or replaces a user's password. Sessions are left alone:
// callers that want the others signed out call DeleteUserSessions.
func (s *Store) SetPassword(ctx context.Context, userID, password string) error {
	if err := checkPassword(password); err != nil {
		return err
	}
	if !attach.ValidID(userID) {
		return attach.NotFound("user")
	}
	hash, err := s.pw.hash(ctx, password)
	if err != nil {
		return err
	}
	return s.inTx(ctx, func(tx pgx.Tx) error {
		var email string
		err := tx.QueryRow(ctx, "UPDATE users SET password_hash = $2 WHERE id = $1 RETURNING email", userID, hash).Scan(&email)
		if err != nil {
			return DBError("set password", err)
		}
		return audit(ctx, tx, AuditEntry{Action: AuditUserPassword, TargetType: "user", TargetID: userID, TargetName: email})
	})
}
