package main

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"time"
)

// child is a server process the bench started and must stop: nginx or the
// gateway. It is stopped with SIGTERM by its pid, then SIGKILL if it hangs.
type child struct {
	name string
	cmd  *exec.Cmd
	done chan struct{} // closed when the process has exited
	err  error         // Wait's result, valid once done is closed
}

// startChild starts cmd in its own process group, so a Ctrl-C at the
// terminal reaches only the bench, which then stops its children in order;
// Pdeathsig stops the child if the bench itself dies.
func startChild(name string, cmd *exec.Cmd) (*child, error) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	c := &child{name: name, cmd: cmd, done: make(chan struct{})}
	go func() {
		c.err = cmd.Wait()
		close(c.done)
	}()
	return c, nil
}

func (c *child) exited() bool {
	select {
	case <-c.done:
		return true
	default:
		return false
	}
}

// stop sends SIGTERM and waits up to grace for the process to exit.
func (c *child) stop(grace time.Duration) error {
	if c.exited() {
		return nil
	}
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s (pid %d): %w", c.name, c.cmd.Process.Pid, err)
	}
	select {
	case <-c.done:
		return nil
	case <-time.After(grace):
	}
	_ = c.cmd.Process.Kill()
	<-c.done
	return fmt.Errorf("%s (pid %d) did not stop within %s of SIGTERM; killed", c.name, c.cmd.Process.Pid, grace)
}

// freePort asks the kernel for a free loopback port. Another process could
// take it before the child binds it; the child then fails to start and the
// bench says so.
func freePort() (int, error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("find a free port: %w", err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// waitPort waits until something accepts TCP connections on addr, or the
// child exits, or ctx ends.
func waitPort(ctx context.Context, c *child, addr string) error {
	for {
		conn, err := net.DialTimeout("tcp4", addr, time.Second)
		if err == nil {
			return conn.Close()
		}
		if c.exited() {
			return fmt.Errorf("%s exited before listening on %s: %v", c.name, addr, c.err)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s on %s: %w", c.name, addr, ctx.Err())
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// tailFile returns the last n lines of a log file, for error messages.
func tailFile(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
