package weaviatetest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// maxOutput is how much of the server's output is kept to explain a failure.
const maxOutput = 64 << 10

// process is one run of weaviate-server. Only this process, by its pid, is
// ever signalled.
type process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error // set before done is closed

	mu  sync.Mutex
	out []byte // the last maxOutput bytes of stdout and stderr
}

func startProcess(cmd *exec.Cmd) (*process, error) {
	p := &process{cmd: cmd, done: make(chan struct{})}
	cmd.Stdout = p
	cmd.Stderr = p
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", cmd.Path, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

func (p *process) Write(b []byte) (int, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.out = append(p.out, b...)
	if over := len(p.out) - maxOutput; over > 0 {
		p.out = append(p.out[:0], p.out[over:]...)
	}
	return len(b), nil
}

func (p *process) output() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return string(p.out)
}

// stop sends SIGTERM and waits; a server still running after timeout is
// killed and the stop reported as failed.
func (p *process) stop(timeout time.Duration) error {
	// A paused server would keep SIGTERM pending forever.
	_ = p.cmd.Process.Signal(syscall.SIGCONT)
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
		return fmt.Errorf("signal weaviate to stop: %w", err)
	}
	select {
	case <-p.done:
		return nil
	case <-time.After(timeout):
		p.kill()
		return fmt.Errorf("weaviate did not stop within %s of SIGTERM and was killed:\n%s", timeout, p.output())
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (p *process) kill() {
	_ = p.cmd.Process.Kill()
	<-p.done
}
