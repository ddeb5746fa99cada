// Command attach is Attach Gateway: the identity and memory side-car for LLM
// engines and agents, in one binary.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/attach-dev/attach-gateway/app"
)

// stdin is where commands read secrets from; tests replace it.
var stdin io.Reader = os.Stdin

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

const usage = `attach — identity-aware gateway for LLM engines and agents

Usage:
  attach [command] [flags]

Commands:
  serve     run the gateway (the default command)
  migrate   apply database migrations and exit
  worker    deliver memory events to their sinks (no HTTP server)
  user      create a console account: attach user create --email ...
  version   print the version (also: attach --version)
  help      print this text (also: attach --help)

The main settings are flags of serve, migrate, worker and user create:
  --port N              listen port (ATTACH_PORT, PORT; default 8080)
  --data-dir DIR        the embedded Postgres and journals (ATTACH_DATA_DIR; default ./.attach)
  --database-url URL    an external Postgres (ATTACH_DATABASE_URL, DATABASE_URL)
A flag wins over its variable. Everything else comes from the environment:
'attach serve --help' lists the variables; README.md has the full table.
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

func run(args []string, stdout, stderr io.Writer) int {
	cmd := "serve"
	if len(args) > 0 {
		switch args[0] {
		case "--help", "-help", "-h":
			fmt.Fprint(stdout, usage)
			return 0
		case "--version", "-version", "-v":
			args[0] = "version"
		}
		if len(args[0]) > 0 && args[0][0] != '-' {
			cmd, args = args[0], args[1:]
		}
	}
	var err error
	switch cmd {
	case "serve":
		err = serve(args, stdout, stderr)
	case "migrate":
		err = migrate(args, stdout, stderr)
	case "worker":
		err = worker(args, stdout, stderr)
	case "user":
		err = user(args, stdin, stdout, stderr)
	case "version":
		err = printVersion(args, stdout, stderr)
	case "help":
		fmt.Fprint(stdout, usage)
		return 0
	default:
		fmt.Fprintf(stderr, "attach: unknown command %q (attach --help lists the commands)\n", cmd)
		return 2
	}
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintf(stderr, "attach %s: %v\n", cmd, err)
	return 1
}

var errUsage = errors.New("usage")

// flags makes a command's flag set; --help prints its text and succeeds.
func flags(name, help string, stdout, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprint(stdout, help)
		fs.SetOutput(stdout)
		fs.PrintDefaults()
	}
	return fs
}

func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(fs.Output(), "attach %s: unexpected argument %q\n", fs.Name(), fs.Arg(0))
		return errUsage
	}
	return nil
}

// configure parses the arguments of a command that takes the setting flags
// and --help, then loads the configuration from the environment, the flags
// winning over their variables.
func configure(name, help string, args []string, stdout, stderr io.Writer) (app.Config, error) {
	fs := flags(name, help, stdout, stderr)
	settings := addSettingFlags(fs)
	if err := parse(fs, args); err != nil {
		return app.Config{}, err
	}
	return app.LoadConfig(settings.getenv(os.Getenv))
}

func printVersion(args []string, stdout, stderr io.Writer) error {
	fs := flags("version", "Usage: attach version\n\nPrints the version of this binary.\n", stdout, stderr)
	if err := parse(fs, args); err != nil {
		return err
	}
	fmt.Fprintln(stdout, "attach", version)
	return nil
}

// signalContext ends on SIGINT or SIGTERM.
func signalContext() (context.Context, context.CancelFunc) {
	return signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
}

func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
}
