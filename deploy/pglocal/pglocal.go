// Package pglocal starts and owns a private PostgreSQL server from the
// machine's own binaries, listening on a unix socket only. It is the embedded
// default of the gateway (no DATABASE_URL) and the throwaway server of tests.
// A server that dies without Stop is restarted (supervise.go).
package pglocal

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"
)

// Options says where the cluster lives and how careful it must be.
type Options struct {
	// Dir holds the cluster (Dir/data) and, when the path is short enough,
	// its socket. It is created when missing.
	Dir string
	// NoSync trades durability for speed: initdb --no-sync and fsync off.
	// Data still survives the server process dying (the OS holds it), but a
	// crash of the machine may lose or corrupt it. For tests only.
	NoSync bool
	// Logger receives the server's own log lines; nil discards them.
	Logger *slog.Logger
}

// Server is a running PostgreSQL owned by this process.
type Server struct {
	dir      string
	dataDir  string
	sockDir  string
	tmpSock  bool // sockDir was made for this run and is removed by Stop
	dsn      string
	log      *slog.Logger
	tail     *tailWriter
	lock     *os.File
	stopOnce sync.Once
	stopErr  error

	// What a restart needs to start the server again (supervise.go).
	binDir string
	owner  *osUser
	noSync bool

	// mu guards the running process, which a restart replaces.
	mu       sync.Mutex
	cmd      *exec.Cmd
	exited   chan struct{} // closed when cmd has exited
	up       bool          // accepting connections
	restarts int
	stopping bool
	stopC    chan struct{} // closed by Stop
	done     chan struct{} // closed once stopped for good
}

// The role and database every cluster made here has. Trust authentication is
// safe because the server listens on a private unix socket only.
const (
	appUser     = "app"
	appDatabase = "app"
	socketName  = ".s.PGSQL.5432"
	// maxSocketPath leaves room for the ".lock" file postgres puts beside the
	// socket inside the 108 bytes of sockaddr_un.sun_path (with its NUL).
	maxSocketPath = 107 - len(".lock")
)

// Start makes the cluster on first use, starts the server and waits until it
// accepts connections. Only one Server may own a Dir at a time; a second Start
// on the same Dir, from this or another process, fails without touching it.
func Start(ctx context.Context, opts Options) (_ *Server, err error) {
	if opts.Dir == "" {
		return nil, errors.New("pglocal: Options.Dir is required")
	}
	dir, err := filepath.Abs(opts.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolve postgres folder %q: %w", opts.Dir, err)
	}
	log := opts.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	s := &Server{dir: dir, dataDir: filepath.Join(dir, "data"), log: log, tail: newTailWriter(log, 40)}
	defer func() {
		if err != nil {
			s.release()
		}
	}()

	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create postgres folder: %w", err)
	}
	if err := s.acquireLock(); err != nil {
		return nil, err
	}
	owner, err := serverOwner()
	if err != nil {
		return nil, err
	}
	if err := owner.prepareDir(dir, log); err != nil {
		return nil, err
	}

	clusterMajor := readPGVersion(s.dataDir)
	binDir, err := findBinDir(ctx, clusterMajor)
	if err != nil {
		return nil, err
	}
	if clusterMajor == "" {
		if err := s.initdb(ctx, binDir, owner, opts.NoSync); err != nil {
			return nil, err
		}
	} else {
		major, err := serverMajor(ctx, binDir)
		if err != nil {
			return nil, err
		}
		if major != clusterMajor {
			return nil, fmt.Errorf("the cluster in %s was made by PostgreSQL %s but the server binaries in %s are PostgreSQL %s; install postgresql-%s or move the folder away",
				s.dataDir, clusterMajor, binDir, major, clusterMajor)
		}
	}

	if err := s.chooseSocketDir(owner); err != nil {
		return nil, err
	}
	s.dsn = fmt.Sprintf("host=%s user=%s dbname=%s sslmode=disable", quoteDSN(s.sockDir), appUser, appDatabase)

	s.binDir, s.owner, s.noSync = binDir, owner, opts.NoSync
	s.stopC, s.done = make(chan struct{}), make(chan struct{})
	exited, err := s.startServer()
	if err != nil {
		return nil, err
	}
	if err := s.waitReady(ctx, exited); err != nil {
		s.kill()
		return nil, err
	}
	if err := s.ensureAppDatabase(ctx); err != nil {
		s.kill()
		return nil, err
	}
	s.setUp(true)
	go s.supervise()
	return s, nil
}

// DSN is the libpq keyword/value string that reaches the server.
func (s *Server) DSN() string { return s.dsn }

// Done is closed once the server is stopped for good, by Stop. A server
// process that exits on its own (a crash, an operator's kill) is restarted
// instead (supervise.go).
func (s *Server) Done() <-chan struct{} { return s.done }

// Dir is the folder the cluster lives in.
func (s *Server) Dir() string { return s.dir }

// Stop asks for a smart shutdown (SIGTERM: the server waits for its sessions
// to end), and after smartWait a fast one (SIGINT: open sessions are ended,
// each logging a FATAL line), then waits for it. The owner closes its pool
// first, so a clean stop ends at the smart step: a backend whose client
// just said goodbye is not cut off mid-exit. If ctx ends first the server is
// stopped immediately (SIGQUIT); it then recovers from its WAL on the next
// start. Calling Stop again returns the first result.
// smartWait is how long Stop lets sessions end on their own.
const smartWait = 2 * time.Second

func (s *Server) Stop(ctx context.Context) error {
	s.stopOnce.Do(func() {
		defer s.release()
		s.mu.Lock()
		s.stopping = true
		cmd := s.cmd
		s.mu.Unlock()
		close(s.stopC)
		// A process the supervisor starts after this is stopped by it.
		if err := cmd.Process.Signal(syscall.SIGTERM); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.stopErr = fmt.Errorf("signal postgres to stop: %w", err)
		}
		select {
		case <-s.done:
			return
		case <-time.After(smartWait):
		case <-ctx.Done():
		}
		if err := cmd.Process.Signal(syscall.SIGINT); err != nil && !errors.Is(err, os.ErrProcessDone) {
			s.stopErr = fmt.Errorf("signal postgres to stop: %w", err)
		}
		// The last two seconds of ctx are kept for quitting at once and,
		// failing that, killing: Stop must end within ctx.
		soft := ctx
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) > 4*time.Second {
			var cancel context.CancelFunc
			soft, cancel = context.WithDeadline(ctx, deadline.Add(-2*time.Second))
			defer cancel()
		}
		select {
		case <-s.done:
		case <-soft.Done():
			s.mu.Lock()
			cmd := s.cmd
			s.mu.Unlock()
			_ = cmd.Process.Signal(syscall.SIGQUIT)
			select {
			case <-s.done:
			case <-time.After(1500 * time.Millisecond):
				// A server that does not even quit (stopped, or stuck in
				// the kernel) is killed: shutdown must end.
				_ = cmd.Process.Kill()
				<-s.done
			}
			s.stopErr = fmt.Errorf("postgres did not stop in time, stopped immediately: %w", soft.Err())
		}
	})
	return s.stopErr
}

// kill ends a server that never became usable.
func (s *Server) kill() {
	s.stopOnce.Do(func() {
		s.mu.Lock()
		cmd, exited := s.cmd, s.exited
		s.mu.Unlock()
		_ = cmd.Process.Signal(syscall.SIGQUIT)
		<-exited
		s.release()
	})
}

func (s *Server) release() {
	if s.tmpSock && s.sockDir != "" {
		_ = os.RemoveAll(s.sockDir)
	}
	if s.lock != nil {
		_ = s.lock.Close() // closing drops the flock
		s.lock = nil
	}
}

// acquireLock takes an exclusive flock on Dir/pglocal.lock for the life of the
// Server. postgres's own postmaster.pid check covers a running server, but not
// two first starts racing through initdb, so this lock guards the whole Dir.
func (s *Server) acquireLock() error {
	path := filepath.Join(s.dir, "pglocal.lock")
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("open postgres folder lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return fmt.Errorf("postgres folder %s is already in use by another running server (lock %s is held): %w", s.dir, path, ErrInUse)
		}
		return fmt.Errorf("lock postgres folder: %w", err)
	}
	s.lock = f
	return nil
}

// initdb makes the cluster in a scratch folder and renames it into place, so
// Dir/data exists only once it is complete: a run killed half-way leaves
// nothing that a later start could mistake for a cluster.
func (s *Server) initdb(ctx context.Context, binDir string, owner *osUser, noSync bool) error {
	if entries, err := os.ReadDir(s.dataDir); err == nil && len(entries) > 0 {
		return fmt.Errorf("%s is not empty but holds no PostgreSQL cluster (no PG_VERSION); move it away", s.dataDir)
	}
	_ = os.Remove(s.dataDir) // an empty folder left by hand
	scratch := filepath.Join(s.dir, "data.initdb")
	if err := os.RemoveAll(scratch); err != nil {
		return fmt.Errorf("remove unfinished cluster: %w", err)
	}
	args := []string{"-D", scratch, "-U", appUser, "-A", "trust", "-E", "UTF8", "--locale=C.UTF-8"}
	if noSync {
		args = append(args, "--no-sync")
	}
	cmd := exec.CommandContext(ctx, filepath.Join(binDir, "initdb"), args...)
	owner.configure(cmd, s.dir)
	out, err := cmd.CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(scratch)
		return fmt.Errorf("initdb failed: %w\n%s", err, lastLines(string(out), 20))
	}
	if err := os.Rename(scratch, s.dataDir); err != nil {
		return fmt.Errorf("move new cluster into place: %w", err)
	}
	s.log.Info("postgres cluster created", "dir", s.dataDir)
	return nil
}

// chooseSocketDir uses Dir itself when the socket path fits in sun_path, else
// a short private folder under the temp dir, removed on Stop.
func (s *Server) chooseSocketDir(owner *osUser) error {
	if len(filepath.Join(s.dir, socketName)) <= maxSocketPath {
		s.sockDir = s.dir
		return nil
	}
	d, err := os.MkdirTemp("", "pgl-")
	if err != nil {
		return fmt.Errorf("create socket folder: %w", err)
	}
	s.sockDir, s.tmpSock = d, true
	if len(filepath.Join(d, socketName)) > maxSocketPath {
		return fmt.Errorf("socket folder %s is too long for a unix socket; set TMPDIR to a shorter path", d)
	}
	return owner.own(d)
}

// startServer starts a server process and returns a channel closed when
// it exits.
func (s *Server) startServer() (<-chan struct{}, error) {
	args := []string{"-D", s.dataDir, "-k", s.sockDir, "-c", "listen_addresses="}
	if s.noSync {
		args = append(args, "-c", "fsync=off", "-c", "full_page_writes=off")
	}
	// Not CommandContext: the server must outlive the start-up context.
	cmd := exec.Command(filepath.Join(s.binDir, "postgres"), args...)
	s.owner.configure(cmd, s.dir)
	cmd.Stdout = s.tail
	cmd.Stderr = s.tail
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start postgres: %w", err)
	}
	exited := make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(exited)
	}()
	s.mu.Lock()
	s.cmd, s.exited = cmd, exited
	if s.stopping {
		// Stop came while this process was being started: it signalled the
		// one before, so this one is stopped here.
		_ = cmd.Process.Signal(syscall.SIGINT)
	}
	s.mu.Unlock()
	return exited, nil
}

// waitReady polls a real connection: the socket file appears before the
// server accepts sessions, and during crash recovery it refuses them.
func (s *Server) waitReady(ctx context.Context, exited <-chan struct{}) error {
	cfg, err := pgx.ParseConfig(fmt.Sprintf("host=%s user=%s dbname=postgres sslmode=disable connect_timeout=2", quoteDSN(s.sockDir), appUser))
	if err != nil {
		return fmt.Errorf("parse postgres DSN: %w", err)
	}
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		conn, err := pgx.ConnectConfig(ctx, cfg)
		if err == nil {
			_ = conn.Close(ctx)
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("postgres exited during start-up\n%s", s.tail.String())
		case <-s.stopC:
			return errors.New("postgres stopped during start-up")
		case <-ctx.Done():
			return fmt.Errorf("wait for postgres to accept connections: %w (last error: %v)", ctx.Err(), err)
		case <-tick.C:
		}
	}
}

// ensureAppDatabase creates the "app" database: initdb makes only postgres,
// template0 and template1.
func (s *Server) ensureAppDatabase(ctx context.Context) error {
	conn, err := pgx.Connect(ctx, fmt.Sprintf("host=%s user=%s dbname=postgres sslmode=disable", quoteDSN(s.sockDir), appUser))
	if err != nil {
		return fmt.Errorf("connect to new postgres: %w", err)
	}
	defer conn.Close(ctx)
	var exists bool
	if err := conn.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", appDatabase).Scan(&exists); err != nil {
		return fmt.Errorf("look for the app database: %w", err)
	}
	if exists {
		return nil
	}
	if _, err := conn.Exec(ctx, "CREATE DATABASE "+appDatabase); err != nil {
		return fmt.Errorf("create the app database: %w", err)
	}
	return nil
}

func readPGVersion(dataDir string) string {
	b, err := os.ReadFile(filepath.Join(dataDir, "PG_VERSION"))
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}

// quoteDSN quotes a keyword/value DSN value (a path may hold spaces).
func quoteDSN(v string) string {
	return "'" + strings.NewReplacer(`\`, `\\`, `'`, `\'`).Replace(v) + "'"
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
