package tenants

import (
	"context"
	"fmt"
	"regexp"
	"strings"
	"testing"

	attach "github.com/attach-dev/attach-gateway"
)

func TestCreateLocalUserValidation(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	const pw = "a perfectly long password"
	for _, tc := range []struct {
		in    UserInput
		field string
	}{
		{UserInput{Email: "", Name: "A", Password: pw}, "email"},
		{UserInput{Email: "no-at-sign", Name: "A", Password: pw}, "email"},
		{UserInput{Email: "A <a@example.com>", Name: "A", Password: pw}, "email"},
		{UserInput{Email: "a@", Name: "A", Password: pw}, "email"},
		{UserInput{Email: strings.Repeat("a", 250) + "@example.com", Name: "A", Password: pw}, "email"},
		{UserInput{Email: "a@example.com", Name: "  ", Password: pw}, "name"},
		{UserInput{Email: "a@example.com", Name: strings.Repeat("n", 101), Password: pw}, "name"},
		{UserInput{Email: "a@example.com", Name: "bad\x00name", Password: pw}, "name"},
		{UserInput{Email: "a@example.com", Name: "A", Password: "short-pass1"}, "password"},
		{UserInput{Email: "a@example.com", Name: "A", Password: strings.Repeat("p", MaxPasswordLen+1)}, "password"},
	} {
		_, err := s.CreateLocalUser(ctx, tc.in)
		if !isValidation(err, tc.field) {
			t.Errorf("%v: err = %v, want a validation error on %s", tc.in, err, tc.field)
		}
		if err != nil && tc.in.Password != "" && strings.Contains(err.Error(), tc.in.Password) {
			t.Errorf("error repeats the password: %v", err)
		}
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 0 {
		t.Fatalf("CountUsers = %d, %v after only bad input", n, err)
	}
	// The limits themselves are accepted: twelve characters, a name of 100.
	u, err := s.CreateLocalUser(ctx, UserInput{Email: " Ok@Example.com ", Name: strings.Repeat("é", 100), Password: "twelve chars"})
	if err != nil || u.Email != "Ok@Example.com" || !u.HasPassword || u.OIDCIssuer != "" || u.LastSignInAt != nil {
		t.Fatalf("user at the limits = %+v, %v", u, err)
	}
	if s := fmt.Sprint(UserInput{Email: "a@b.c", Password: "hunter2hunter2"}); strings.Contains(s, "hunter2") {
		t.Fatalf("printing a UserInput shows the password: %s", s)
	}
}

func TestUserEmailsAreUniqueIgnoringCase(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	first := mustUser(t, s, "Jo@Example.com")
	if _, err := s.CreateLocalUser(ctx, UserInput{Email: "jo@example.COM", Name: "Other", Password: testPassword}); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("same email, other case: err = %v, want conflict", err)
	}
	got, err := s.GetUserByEmail(ctx, "JO@EXAMPLE.COM")
	if err != nil || got.ID != first.ID {
		t.Fatalf("GetUserByEmail = %+v, %v", got, err)
	}
	byID, err := s.GetUser(ctx, first.ID)
	if err != nil || byID.Email != "Jo@Example.com" {
		t.Fatalf("GetUser = %+v, %v", byID, err)
	}
	for name, err := range map[string]error{
		"unknown email": second(s.GetUserByEmail(ctx, "nobody@example.com")),
		"empty email":   second(s.GetUserByEmail(ctx, "")),
		"unknown id":    second(s.GetUser(ctx, "0190a1b2-0000-7000-8000-000000000000")),
		"bad id":        second(s.GetUser(ctx, "x")),
	} {
		if attach.ErrorCode(err) != attach.CodeNotFound {
			t.Errorf("%s: err = %v, want not_found", name, err)
		}
	}
	if n, err := s.CountUsers(ctx); err != nil || n != 1 {
		t.Fatalf("CountUsers = %d, %v", n, err)
	}
}

func TestAuthenticatePassword(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	u := mustUser(t, s, "ann@example.com")

	got, err := s.AuthenticatePassword(ctx, " ANN@example.com", testPassword)
	if err != nil || got.ID != u.ID || got.LastSignInAt == nil {
		t.Fatalf("right password = %+v, %v", got, err)
	}
	oidc, err := s.UpsertOIDCUser(ctx, "https://idp.example", "sub-1", "sso@example.com", "SSO", false)
	if err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string][2]string{
		"wrong password":      {"ann@example.com", testPassword + "!"},
		"empty password":      {"ann@example.com", ""},
		"unknown email":       {"bob@example.com", testPassword},
		"empty email":         {"", testPassword},
		"account without one": {oidc.Email, testPassword},
		"over-long password":  {"ann@example.com", testPassword + strings.Repeat("x", MaxPasswordLen)},
		"password of another": {"sso@example.com", testPassword},
	} {
		if _, err := s.AuthenticatePassword(ctx, c[0], c[1]); attach.ErrorCode(err) != attach.CodeUnauthorized {
			t.Errorf("%s: err = %v, want unauthorized", name, err)
		}
	}

	if err := s.SetPassword(ctx, u.ID, "a brand new password"); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticatePassword(ctx, "ann@example.com", testPassword); attach.ErrorCode(err) != attach.CodeUnauthorized {
		t.Fatalf("old password after change: %v", err)
	}
	if _, err := s.AuthenticatePassword(ctx, "ann@example.com", "a brand new password"); err != nil {
		t.Fatalf("new password: %v", err)
	}
	if err := s.SetPassword(ctx, oidc.ID, "sso user's own password"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetUser(ctx, oidc.ID); !got.HasPassword {
		t.Fatal("HasPassword false after SetPassword")
	}
	if err := s.SetPassword(ctx, u.ID, "short"); !isValidation(err, "password") {
		t.Fatalf("short new password: %v", err)
	}
	if err := s.SetPassword(ctx, "0190a1b2-0000-7000-8000-000000000000", "long enough password"); attach.ErrorCode(err) != attach.CodeNotFound {
		t.Fatalf("password of unknown user: %v", err)
	}
}

var phcPattern = regexp.MustCompile(`^\$argon2id\$v=19\$m=19456,t=2,p=1\$[A-Za-z0-9+/]{22}\$[A-Za-z0-9+/]{43}$`)

func TestPasswordHashFormat(t *testing.T) {
	t.Parallel()
	_, pool := newTestStore(t)
	s := NewStore(pool, nil) // the real cost parameters
	ctx := testCtx(t)
	a, err := s.CreateLocalUser(ctx, UserInput{Email: "a@example.com", Name: "A", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.CreateLocalUser(ctx, UserInput{Email: "b@example.com", Name: "B", Password: testPassword})
	if err != nil {
		t.Fatal(err)
	}
	var ha, hb string
	if err := s.pool.QueryRow(ctx, "SELECT password_hash FROM users WHERE id = $1", a.ID).Scan(&ha); err != nil {
		t.Fatal(err)
	}
	if err := s.pool.QueryRow(ctx, "SELECT password_hash FROM users WHERE id = $1", b.ID).Scan(&hb); err != nil {
		t.Fatal(err)
	}
	if !phcPattern.MatchString(ha) || !phcPattern.MatchString(hb) {
		t.Fatalf("hashes are not argon2id PHC strings with the default parameters: %q %q", ha, hb)
	}
	if ha == hb || strings.Split(ha, "$")[4] == strings.Split(hb, "$")[4] {
		t.Fatal("two hashes of the same password share their salt")
	}
	if _, err := s.AuthenticatePassword(ctx, "a@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	if _, err := s.AuthenticatePassword(ctx, "a@example.com", "correct horse battery stapler"); attach.ErrorCode(err) != attach.CodeUnauthorized {
		t.Fatalf("wrong password: %v", err)
	}
}

func TestOldHashIsReplacedAtSignIn(t *testing.T) {
	t.Parallel()
	cheap, pool := newTestStore(t)
	ctx := testCtx(t)
	u := mustUser(t, cheap, "old@example.com")
	hashOf := func() string {
		var h string
		if err := pool.QueryRow(ctx, "SELECT password_hash FROM users WHERE id = $1", u.ID).Scan(&h); err != nil {
			t.Fatal(err)
		}
		return h
	}
	if h := hashOf(); !strings.Contains(h, "m=64,t=1,p=1") {
		t.Fatalf("test hash = %q", h)
	}
	current := NewStore(pool, nil)
	if _, err := current.AuthenticatePassword(ctx, "old@example.com", testPassword+"x"); attach.ErrorCode(err) != attach.CodeUnauthorized {
		t.Fatal(err)
	}
	if h := hashOf(); !strings.Contains(h, "m=64,t=1,p=1") {
		t.Fatal("a failed sign-in replaced the hash")
	}
	if _, err := current.AuthenticatePassword(ctx, "old@example.com", testPassword); err != nil {
		t.Fatal(err)
	}
	if h := hashOf(); !phcPattern.MatchString(h) {
		t.Fatalf("after sign-in the hash is %q, want today's parameters", h)
	}
	if _, err := current.AuthenticatePassword(ctx, "old@example.com", testPassword); err != nil {
		t.Fatalf("sign-in with the re-hashed password: %v", err)
	}
}

func TestDecodePHCRefusesBadHashes(t *testing.T) {
	t.Parallel()
	h := newPasswordHasher(testArgon2Params)
	good, err := h.hash(context.Background(), "pw")
	if err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := decodePHC(good); err != nil {
		t.Fatalf("own hash does not decode: %v", err)
	}
	parts := strings.Split(good, "$")
	for name, bad := range map[string]string{
		"empty":         "",
		"bcrypt":        "$2a$10$abcdefghijklmnopqrstuu",
		"argon2i":       strings.Replace(good, "argon2id", "argon2i", 1),
		"old version":   strings.Replace(good, "v=19", "v=16", 1),
		"huge memory":   strings.Replace(good, "m=64", "m=99999999", 1),
		"zero passes":   strings.Replace(good, "t=1", "t=0", 1),
		"many threads":  strings.Replace(good, "p=1", "p=255", 1),
		"unknown param": strings.Replace(good, "p=1", "p=1,x=2", 1),
		"bad salt":      strings.Join([]string{"", parts[1], parts[2], parts[3], "!!", parts[5]}, "$"),
		"short key":     strings.Join([]string{"", parts[1], parts[2], parts[3], parts[4], "AAAA"}, "$"),
		"extra field":   good + "$x",
	} {
		if _, _, _, err := decodePHC(bad); err == nil {
			t.Errorf("%s: decoded %q", name, bad)
		}
	}
	ok, _, err := h.verify(context.Background(), good, "pw")
	if err != nil || !ok {
		t.Fatalf("verify own hash = %v, %v", ok, err)
	}
	ok, _, err = h.verify(context.Background(), "", "pw")
	if err != nil || ok {
		t.Fatalf("verify against no hash = %v, %v; want false", ok, err)
	}
}

func TestUpsertOIDCUser(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t)
	ctx := testCtx(t)
	const iss = "https://idp.example"

	first, err := s.UpsertOIDCUser(ctx, iss, "sub-1", "kim@example.com", "Kim", false)
	if err != nil {
		t.Fatal(err)
	}
	if first.OIDCIssuer != iss || first.HasPassword || first.Name != "Kim" || first.LastSignInAt == nil {
		t.Fatalf("first sign-in = %+v", first)
	}
	again, err := s.UpsertOIDCUser(ctx, iss, "sub-1", "kim.new@example.com", "Kim N", false)
	if err != nil || again.ID != first.ID || again.Email != "kim.new@example.com" || again.Name != "Kim N" || !again.LastSignInAt.After(*first.LastSignInAt) {
		t.Fatalf("second sign-in = %+v, %v", again, err)
	}
	// Same subject at another issuer is another person.
	other, err := s.UpsertOIDCUser(ctx, "https://other-idp.example", "sub-1", "kim2@example.com", "", false)
	if err != nil || other.ID == first.ID || other.Name != "kim2" {
		t.Fatalf("other issuer = %+v, %v", other, err)
	}

	// An email held by a local account is not taken over.
	local := mustUser(t, s, "taken@example.com")
	if _, err := s.UpsertOIDCUser(ctx, iss, "sub-2", "TAKEN@example.com", "Mallory", false); attach.ErrorCode(err) != attach.CodeConflict {
		t.Fatalf("first sign-in with a local account's email: %v, want conflict", err)
	}
	if got, _ := s.GetUserByEmail(ctx, "taken@example.com"); got.ID != local.ID || got.Name != local.Name {
		t.Fatalf("local account changed: %+v", got)
	}
	// A later sign-in whose email is now someone else's keeps its old one.
	kept, err := s.UpsertOIDCUser(ctx, iss, "sub-1", "taken@example.com", "Kim", false)
	if err != nil || kept.Email != "kim.new@example.com" {
		t.Fatalf("refresh onto a taken email = %+v, %v", kept, err)
	}

	for name, c := range map[string][5]string{
		"no issuer":  {"", "s", "a@example.com", "A", "issuer"},
		"no subject": {iss, "", "a@example.com", "A", "subject"},
		"bad email":  {iss, "s", "not an email", "A", "email"},
	} {
		if _, err := s.UpsertOIDCUser(ctx, c[0], c[1], c[2], c[3], false); !isValidation(err, c[4]) {
			t.Errorf("%s: err = %v", name, err)
		}
	}
	long, err := s.UpsertOIDCUser(ctx, iss, "sub-3", "long@example.com", strings.Repeat("x", 300)+"\x07", false)
	if err != nil || len(long.Name) != 100 {
		t.Fatalf("long provider name = %q, %v; want it cut to 100", long.Name, err)
	}
}
