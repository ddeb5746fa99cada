package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/attach-dev/attach-gateway/deploy/pglocal/pgtest"
	"github.com/attach-dev/attach-gateway/tenants"
)

// TestUserCreate makes accounts as an operator would, the password piped
// in, and checks what the store then holds.
func TestUserCreate(t *testing.T) {
	dsn := pgtest.NewDSN(t)
	t.Setenv("DATABASE_URL", dsn)
	t.Setenv("ATTACH_SECRET_KEY", "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=")
	create := func(password string, args ...string) (int, string, string) {
		t.Helper()
		prev := stdin
		stdin = strings.NewReader(password)
		t.Cleanup(func() { stdin = prev })
		var out, errb bytes.Buffer
		code := run(append([]string{"user", "create"}, args...), &out, &errb)
		return code, out.String(), errb.String()
	}

	const password = "correct horse battery staple"
	if code, out, errb := create(password+"\n", "--email", "Owner@Example.com", "--team", "research"); code != 0 ||
		!strings.Contains(out, "is owner of team research") {
		t.Fatalf("exit %d\n%s%s", code, out, errb)
	}
	if code, _, errb := create(password+"\n", "--email", "viewer@example.com", "--team", "research", "--role", "viewer"); code != 0 {
		t.Fatalf("second user: exit %d %s", code, errb)
	}
	if code, out, errb := create(password+"\n", "--email", "root@example.com", "--install-admin"); code != 0 ||
		!strings.Contains(out, "root@example.com is an install administrator") {
		t.Fatalf("install admin: exit %d\n%s%s", code, out, errb)
	}
	// Refused: a new team whose first member is no owner, a short password,
	// no password, a taken address. None of them leaves anything behind.
	for _, tc := range []struct {
		stdin string
		args  []string
		err   string
	}{
		{password, []string{"--email", "x@example.com", "--team", "newteam", "--role", "admin"}, "first member is its owner"},
		{"short\n", []string{"--email", "y@example.com"}, "password"},
		{"", []string{"--email", "z@example.com"}, "no password"},
		{password, []string{"--email", "owner@example.com"}, ""},
	} {
		code, _, errb := create(tc.stdin, tc.args...)
		if code == 0 || !strings.Contains(errb, tc.err) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, code, errb)
		}
		if strings.Contains(errb, password) {
			t.Errorf("%v: the password is in the error", tc.args)
		}
	}

	pool, err := pgxpool.New(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer pool.Close()
	store := tenants.NewStore(pool, nil)
	ctx := context.Background()
	if n, err := store.CountUsers(ctx); err != nil || n != 3 {
		t.Fatalf("users = %d, %v; want 3", n, err)
	}
	if root, err := store.GetUserByEmail(ctx, "root@example.com"); err != nil || !root.InstallAdmin {
		t.Fatalf("--install-admin: %+v %v", root, err)
	}
	owner, err := store.AuthenticatePassword(ctx, "owner@example.com", password)
	if err != nil {
		t.Fatalf("the owner cannot sign in: %v", err)
	}
	// The operator vouches for the address: single sign-on with it links
	// to this account instead of taking the address away.
	if !owner.EmailVerified {
		t.Error("an account made at the shell is not marked verified")
	}
	if owner.InstallAdmin {
		t.Error("an account made without --install-admin is an install administrator")
	}
	team, err := store.GetTeam(ctx, "research")
	if err != nil {
		t.Fatal(err)
	}
	members, err := store.ListMembers(ctx, team.ID)
	if err != nil || len(members) != 2 {
		t.Fatalf("members = %+v, %v", members, err)
	}
	if _, err := store.GetTeam(ctx, "newteam"); err == nil {
		t.Error("a refused command created its team")
	}
}
