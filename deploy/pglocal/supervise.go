package pglocal

import (
	"context"
	"time"
)

// Up reports whether the server accepts connections: false while it is
// being restarted after it died, and after Stop.
func (s *Server) Up() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.up
}

// Restarts is how many times the server was restarted after it died.
func (s *Server) Restarts() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.restarts
}

func (s *Server) setUp(up bool) {
	s.mu.Lock()
	s.up = up
	s.mu.Unlock()
}

// supervise restarts the server whenever its process exits without Stop
// having asked (killed, crashed, out of memory), on the same folder and
// socket, so the DSN stays the same and pools reconnect by themselves.
// Postgres recovers from its WAL as it starts. Attempts are spaced from
// 100 ms up to 5 s: a killed postmaster's backends may hold its shared
// memory for a moment, and the server refuses to start until they exit.
func (s *Server) supervise() {
	defer close(s.done)
	for {
		s.mu.Lock()
		exited := s.exited
		s.mu.Unlock()
		<-exited
		s.setUp(false)
		if s.isStopping() {
			return
		}
		s.log.Error("embedded postgres exited; restarting it", "output", lastLines(s.tail.String(), 5))
		pause := 100 * time.Millisecond
		for {
			select {
			case <-s.stopC:
				return
			case <-time.After(pause):
			}
			if err := s.restart(); err == nil {
				break
			} else if s.isStopping() {
				return
			} else {
				s.log.Warn("embedded postgres did not restart; trying again", "err", err, "pause", pause)
			}
			pause = min(2*pause, 5*time.Second)
		}
		s.mu.Lock()
		s.restarts++
		n := s.restarts
		s.up = true
		s.mu.Unlock()
		s.log.Info("embedded postgres restarted", "restarts", n)
	}
}

func (s *Server) isStopping() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stopping
}

// restart starts a server process and waits until it accepts connections.
func (s *Server) restart() error {
	exited, err := s.startServer()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := s.waitReady(ctx, exited); err != nil {
		// Whatever is left of this attempt is ended before the next.
		s.mu.Lock()
		_ = s.cmd.Process.Kill()
		s.mu.Unlock()
		<-exited
		return err
	}
	return nil
}
