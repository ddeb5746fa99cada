package main

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app"
	"github.com/attach-dev/attach-gateway/tenants"
)

const userHelp = `Usage: attach user create --email EMAIL [--name NAME] [--team SLUG [--role ROLE]] [--install-admin]

Creates a console account with a password, for installs without single
sign-on. The password is read from standard input (one line), so it never
appears in the shell history or the process list:

  printf '%s\n' "$PASSWORD" | attach user create --email admin@example.com

With --team the user joins that team (created when missing) with ROLE
(owner, admin, member or viewer; default owner).

With --install-admin the user is one of the install's administrators: the
console's Install pages list every team and user, open any team (the
default one too) and lock or remove accounts.
`

func user(args []string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "create" {
		if len(args) > 0 && (args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
			io.WriteString(stdout, userHelp)
			return nil
		}
		io.WriteString(stderr, userHelp)
		return errUsage
	}
	fs := flags("user create", userHelp, stdout, stderr)
	email := fs.String("email", "", "the account's email address (required)")
	name := fs.String("name", "", "display name (default: the part of the email before @)")
	team := fs.String("team", "", "a team to join")
	role := fs.String("role", string(tenants.RoleOwner), "role in --team")
	installAdmin := fs.Bool("install-admin", false, "make the user an install administrator")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if *email == "" {
		fmt.Fprintln(stderr, "attach user create: --email is required")
		return errUsage
	}
	r, err := tenants.ParseRole(*role)
	if err != nil {
		return err
	}
	if *name == "" {
		*name, _, _ = strings.Cut(*email, "@")
	}
	if *team != "" && !attach.ValidSlug(*team) {
		return fmt.Errorf("--team %q: a team name is 1-63 lowercase letters, digits and dashes, not starting with a dash", *team)
	}
	password, err := readPassword(stdin)
	if err != nil {
		return err
	}
	// Everything that can be checked is, before a database is started or
	// reached: a typo must not leave an embedded Postgres behind.
	// The operator at the shell vouches for the address, as the setup
	// link does for the first owner.
	in := tenants.UserInput{Email: *email, Name: *name, Password: password, EmailVerified: true, InstallAdmin: *installAdmin}
	if err := in.Check(); err != nil {
		return err
	}

	cfg, err := app.LoadConfig(os.Getenv)
	if err != nil {
		return err
	}
	log := newLogger(stderr, cfg.LogLevel)
	ctx, stop := signalContext()
	defer stop()
	pool, where, closeDB, err := openDatabase(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer closeDB()
	store := tenants.NewStore(pool, nil)
	ctx = tenants.WithActor(ctx, tenants.Actor{Name: "attach user create"})

	// A new team's first member must be its owner; check before anything
	// is written, so a refused command leaves nothing behind.
	var existing *attach.Team
	if *team != "" {
		t, err := store.GetTeam(ctx, *team)
		switch {
		case err == nil:
			existing = &t
		case attach.ErrorCode(err) != attach.CodeNotFound:
			return err
		case r != tenants.RoleOwner:
			return fmt.Errorf("team %s does not exist yet, and a new team's first member is its owner (drop --role)", *team)
		}
	}

	u, err := store.CreateLocalUser(ctx, in)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "created user %s (%s) in %s\n", u.Email, u.ID, where)
	if u.InstallAdmin {
		fmt.Fprintf(stdout, "%s is an install administrator\n", u.Email)
	}
	if *team == "" {
		return nil
	}
	var t attach.Team
	if existing != nil {
		t = *existing
		err = store.AddMember(ctx, t.ID, u.ID, r)
	} else {
		t, err = store.CreateTeamWithOwner(ctx, tenants.TeamInput{Slug: *team, Name: *team}, u.ID)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is %s of team %s\n", u.Email, r, t.Slug)
	return nil
}

// readPassword takes the first line of stdin.
func readPassword(stdin io.Reader) (string, error) {
	line, err := bufio.NewReader(io.LimitReader(stdin, 4096)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read password from stdin: %w", err)
	}
	line = strings.TrimRight(line, "\r\n")
	if line == "" {
		return "", errors.New("no password on standard input (pipe it in: printf '%s\\n' \"$PASSWORD\" | attach user create ...)")
	}
	return line, nil
}
