// Package testkit holds the small pieces that the test helpers of several
// packages need alike: a sink for logs or output that may be read while it
// is written, a child process whose output is kept to explain a failure,
// a server binary a dev script builds once per machine,
// and a loop that runs for as long as a test.
package testkit

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Buffer collects what is written to it and may be read at any time, also
// while another goroutine writes. With Max above zero it keeps only the
// last Max bytes.
type Buffer struct {
	Max int

	mu sync.Mutex
	b  []byte
}

func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.b = append(b.b, p...)
	if over := len(b.b) - b.Max; b.Max > 0 && over > 0 {
		b.b = append(b.b[:0], b.b[over:]...)
	}
	return len(p), nil
}

// String is what the buffer holds.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return string(b.b)
}

// Process is a started command whose stdout and stderr are kept. Only this
// process, by its pid, is ever signalled.
type Process struct {
	Cmd *exec.Cmd

	name string
	out  Buffer
	done chan struct{}
	err  error // set before done is closed
}

// Start starts cmd, sending its stdout and stderr to a Buffer that keeps
// the last keep bytes (all of them when keep is 0). name says what runs, in
// errors.
func Start(name string, cmd *exec.Cmd, keep int) (*Process, error) {
	p := &Process{Cmd: cmd, name: name, out: Buffer{Max: keep}, done: make(chan struct{})}
	cmd.Stdout = &p.out
	cmd.Stderr = &p.out
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Done is closed once the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is how the process exited; it is set once Done is closed.
func (p *Process) Err() error { return p.err }

// Output is what the process has written so far.
func (p *Process) Output() string { return p.out.String() }

// Stop sends SIGTERM and waits; a process still running after timeout is
// killed and the stop reported as failed. A nil or exited process is left
// alone.
func (p *Process) Stop(timeout time.Duration) error {
	if p == nil {
		return nil
	}
	select {
	case <-p.done:
		return nil
	default:
	}
	// A paused process would keep SIGTERM pending forever.
	_ = p.Cmd.Process.Signal(syscall.SIGCONT)
	if err := p.Cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal %s to stop: %w", p.name, err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		p.Kill()
		return fmt.Errorf("%s did not stop within %s of SIGTERM and was killed:\n%s", p.name, timeout, p.Output())
	}
}

// Kill sends SIGKILL and waits for the process to be gone.
func (p *Process) Kill() {
	_ = p.Cmd.Process.Kill()
	<-p.done
}

// Go runs run in a goroutine until the test ends: its context is then
// cancelled, and the test's cleanup waits for run to return.
func Go(t testing.TB, run func(context.Context)) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		run(ctx)
		close(done)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}
