package pglocal

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoBinaries means neither pg_config nor the Debian layout pointed at a
// PostgreSQL server installation.
var ErrNoBinaries = errors.New("PostgreSQL server binaries not found; install the postgresql package")

// findBinDir returns the folder holding initdb and postgres. It prefers the
// major version an existing cluster was made with, because a newer server
// cannot open an older cluster's files; then pg_config's answer; then the
// newest folder under /usr/lib/postgresql.
func findBinDir(ctx context.Context, wantMajor string) (string, error) {
	if wantMajor != "" {
		dir := filepath.Join("/usr/lib/postgresql", wantMajor, "bin")
		if hasServer(dir) {
			return dir, nil
		}
	}
	if out, err := exec.CommandContext(ctx, "pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if hasServer(dir) {
			return dir, nil
		}
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return majorOf(dirs[i]) > majorOf(dirs[j]) })
	for _, dir := range dirs {
		if hasServer(dir) {
			return dir, nil
		}
	}
	return "", ErrNoBinaries
}

func hasServer(dir string) bool {
	for _, name := range []string{"initdb", "postgres"} {
		st, err := os.Stat(filepath.Join(dir, name))
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// majorOf reads 15 out of /usr/lib/postgresql/15/bin.
func majorOf(binDir string) int {
	n, err := strconv.Atoi(filepath.Base(filepath.Dir(binDir)))
	if err != nil {
		return -1
	}
	return n
}

// serverMajor asks the postgres binary for its major version ("15").
func serverMajor(ctx context.Context, binDir string) (string, error) {
	out, err := exec.CommandContext(ctx, filepath.Join(binDir, "postgres"), "--version").Output()
	if err != nil {
		return "", fmt.Errorf("run postgres --version: %w", err)
	}
	// "postgres (PostgreSQL) 15.14 (Debian 15.14-0+deb12u1)"
	fields := strings.Fields(string(out))
	if len(fields) < 3 {
		return "", fmt.Errorf("unexpected postgres --version output %q", strings.TrimSpace(string(out)))
	}
	major, _, _ := strings.Cut(fields[2], ".")
	return major, nil
}
