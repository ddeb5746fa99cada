package pglocal

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// ErrInUse is wrapped by Start when another process owns the folder.
var ErrInUse = errors.New("postgres folder in use")

// RunningDSN returns the DSN of the server another process started in dir
// (a running `attach serve`), so a command such as `attach user create` can
// use it instead of starting its own. It reads the socket folder from the
// server's postmaster.pid.
func RunningDSN(dir string) (string, error) {
	dir, err := filepath.Abs(dir)
	if err != nil {
		return "", fmt.Errorf("resolve postgres folder %q: %w", dir, err)
	}
	b, err := os.ReadFile(filepath.Join(dir, "data", "postmaster.pid"))
	if err != nil {
		return "", fmt.Errorf("no running postgres in %s: %w", dir, err)
	}
	// Line 5 of postmaster.pid is the first unix socket directory.
	lines := strings.Split(string(b), "\n")
	if len(lines) < 5 || strings.TrimSpace(lines[4]) == "" {
		return "", fmt.Errorf("postgres in %s has not written its socket folder yet", dir)
	}
	return fmt.Sprintf("host=%s user=%s dbname=%s sslmode=disable", quoteDSN(strings.TrimSpace(lines[4])), appUser, appDatabase), nil
}
