package testkit

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
)

// Built finds a server binary that a script in deploy/dev builds once per
// machine (weaviate.sh, ollama.sh): the path in the environment variable
// env when set, else where `script --path` says the script keeps it. It
// looks once per test binary; what names the server in errors.
type Built struct {
	Script, Env, What string

	once sync.Once
	path string
	err  error
}

// Path is the binary's path, or why there is none.
func (b *Built) Path() (string, error) {
	b.once.Do(func() { b.path, b.err = b.find() })
	return b.path, b.err
}

func (b *Built) find() (string, error) {
	if p := os.Getenv(b.Env); p != "" {
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("%s: %w", b.Env, err)
		}
		return p, nil
	}
	// The script knows where the cache is; --path asks it without building.
	root := repoRoot()
	script := filepath.Join(root, "deploy", "dev", b.Script)
	cmd := exec.Command("bash", script, "--path")
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		return "", fmt.Errorf("%s --path: %v", script, err)
	}
	p := strings.TrimSpace(string(out))
	if err := checkExecutable(p); err != nil {
		return "", fmt.Errorf("no %s at %s: run `make deps` to build it once, or set %s", b.What, p, b.Env)
	}
	return p, nil
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() || fi.Mode()&0o111 == 0 {
		return fmt.Errorf("%s is not an executable file", p)
	}
	return nil
}

// repoRoot is two folders above this file: deploy/testkit.
func repoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..")
}
