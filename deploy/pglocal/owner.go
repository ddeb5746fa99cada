package pglocal

import (
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// osUser is the account initdb and postgres run as. PostgreSQL refuses to run
// as root, so a root process hands the server to the "postgres" account; any
// other user runs it as itself (cred nil).
type osUser struct {
	name     string
	uid, gid uint32
	cred     *syscall.Credential
}

func serverOwner() (*osUser, error) {
	if os.Geteuid() != 0 {
		return &osUser{name: "current user", uid: uint32(os.Geteuid()), gid: uint32(os.Getegid())}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("running as root needs the \"postgres\" OS account to own the server (it comes with the postgresql package): %w", err)
	}
	uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
	if err := errors.Join(err1, err2); err != nil {
		return nil, fmt.Errorf("read the postgres account ids: %w", err)
	}
	return &osUser{
		name: "postgres",
		uid:  uint32(uid),
		gid:  uint32(gid),
		// An empty Groups list drops root's supplementary groups.
		cred: &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}},
	}, nil
}

// configure makes cmd run as this account, in dir, with a clean PG*
// environment, in its own process group, and dying with this process.
func (o *osUser) configure(cmd *exec.Cmd, dir string) {
	cmd.Dir = dir
	cmd.Env = serverEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{
		Credential: o.cred,
		// If this process dies without Stop, the server gets a smart shutdown
		// instead of living on as an orphan that holds the data folder.
		Pdeathsig: syscall.SIGTERM,
		// Its own process group, so a Ctrl-C in the terminal reaches only the
		// gateway, which then drains requests before stopping the server.
		Setpgid: true,
	}
}

// serverEnv drops PG* variables (PGDATA, PGPORT, ...) that would quietly
// change what initdb and postgres do.
func serverEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") {
			env = append(env, kv)
		}
	}
	return env
}

// prepareDir gives dir to the account and makes sure it can reach dir.
//
// When root keeps its data under a private folder (root's home is 0700, and so
// is every t.TempDir()), the postgres account cannot even walk to the cluster.
// We add the "others may traverse" bit (o+x) to such parents rather than move
// the cluster elsewhere: the data must stay where the operator put it, and
// o+x alone lets others pass through a folder by exact name without listing
// or reading it. Each change is logged.
func (o *osUser) prepareDir(dir string, log *slog.Logger) error {
	if o.cred == nil {
		return nil
	}
	if err := o.own(dir); err != nil {
		return err
	}
	for p := filepath.Dir(dir); ; p = filepath.Dir(p) {
		st, err := os.Stat(p)
		if err != nil {
			return fmt.Errorf("inspect %s: %w", p, err)
		}
		if !o.canTraverse(st) {
			mode := st.Mode().Perm() | 0o001
			if err := os.Chmod(p, mode); err != nil {
				return fmt.Errorf("let the postgres account traverse %s: %w", p, err)
			}
			log.Info("made folder traversable for the postgres account", "path", p, "mode", mode.String())
		}
		if p == filepath.Dir(p) {
			return nil
		}
	}
}

// own hands a folder this process made to the account, private to it.
func (o *osUser) own(dir string) error {
	if o.cred == nil {
		return nil
	}
	if err := os.Chown(dir, int(o.uid), int(o.gid)); err != nil {
		return fmt.Errorf("give %s to the postgres account: %w", dir, err)
	}
	if err := os.Chmod(dir, 0o700); err != nil {
		return fmt.Errorf("make %s private: %w", dir, err)
	}
	return nil
}

func (o *osUser) canTraverse(st os.FileInfo) bool {
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return true
	}
	perm := st.Mode().Perm()
	switch {
	case sys.Uid == o.uid:
		return perm&0o100 != 0
	case sys.Gid == o.gid:
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}
