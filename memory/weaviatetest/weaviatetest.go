// Package weaviatetest runs a real Weaviate server on 127.0.0.1 for tests.
//
// Start gives a test its own server, with a fresh data folder, stopped when
// the test ends; it can be stopped, killed and started again on the same data
// and ports, to test what happens while Weaviate is away:
//
//	srv := weaviatetest.Start(t)
//	sink, err := weaviate.New(ctx, weaviate.Config{URL: srv.URL(), GRPCAddr: srv.GRPCAddr()})
//	...
//	srv.Stop(t)  // SIGTERM, and wait for it to exit
//	srv.Start(t) // same data, same ports
//	srv.Kill(t)  // SIGKILL, as a crash
//	srv.Pause(t) // SIGSTOP: connections are accepted, nothing answers
//
// CPUTime reads the processor time the server has used, for benchmarks.
//
// Tests that only read and write can share one server per test binary:
//
//	func TestMain(m *testing.M) { os.Exit(weaviatetest.Main(m)) }
//
//	func TestSomething(t *testing.T) {
//		srv := weaviatetest.Shared(t)
//		...
//	}
//
// The server binary is ATTACH_WEAVIATE_BIN when set, else the one `make
// deps` builds once per machine (deploy/dev/weaviate.sh, 8-18 minutes the
// first time); a test never builds it, since that would take longer than
// the whole suite. Without a binary the test fails, saying to run `make
// deps`. With -short (go test -short) every test that needs the server is
// skipped. The server dies with the test binary even when the binary is
// killed.
package weaviatetest

import (
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attach-dev/attach-gateway/deploy/testkit"
)

// EnvBinary names a weaviate-server binary to use instead of the one `make
// deps` built.
const EnvBinary = "ATTACH_WEAVIATE_BIN"

// How long the server may take to answer ready, and to exit on SIGTERM. Both
// are generous because the machine is shared; they bound a broken run, they
// do not measure anything.
const (
	readyTimeout = 2 * time.Minute
	stopTimeout  = 30 * time.Second
)

// maxOutput is how much of the server's output is kept to explain a failure.
const maxOutput = 64 << 10

// Server is one Weaviate process and the folder and ports it keeps across
// restarts. Its methods may be called from several goroutines.
type Server struct {
	bin   string
	dir   string
	ports ports

	mu   sync.Mutex
	proc *testkit.Process // nil while stopped
}

// ports are the loopback ports one server listens on. The cluster ports are
// needed even for a single node: gossip (TCP and UDP), data, and Raft.
type ports struct {
	http, grpc                  int
	gossip, data, raft, raftRPC int
}

// Start runs a new server with an empty data folder and stops it when the
// test ends. It fails the test when the binary cannot be found or the server
// does not become ready, and skips it with -short.
func Start(tb testing.TB) *Server {
	tb.Helper()
	skipIfShort(tb)
	bin, err := binary()
	if err != nil {
		tb.Fatalf("weaviatetest: %v", err)
	}
	s, err := newServer(bin, tb.TempDir())
	if err != nil {
		tb.Fatalf("weaviatetest: %v", err)
	}
	tb.Cleanup(func() {
		if err := s.stop(); err != nil {
			tb.Errorf("weaviatetest: %v", err)
		}
	})
	return s
}

// newServer picks ports and starts the server in dir. A port picked free
// may be taken by someone else before Weaviate binds it, so a start that
// fails on a taken port is tried again with new ports.
func newServer(bin, dir string) (*Server, error) {
	var lastErr error
	for attempt := 0; attempt < 3; attempt++ {
		p, err := freePorts()
		if err != nil {
			return nil, err
		}
		s := &Server{bin: bin, dir: dir, ports: p}
		lastErr = s.launch()
		if lastErr == nil {
			return s, nil
		}
		if !strings.Contains(lastErr.Error(), "address already in use") {
			break
		}
	}
	return nil, lastErr
}

// URL is the REST endpoint, http://127.0.0.1:PORT (no trailing slash).
func (s *Server) URL() string { return "http://127.0.0.1:" + strconv.Itoa(s.ports.http) }

// GRPCAddr is the gRPC endpoint, 127.0.0.1:PORT.
func (s *Server) GRPCAddr() string { return "127.0.0.1:" + strconv.Itoa(s.ports.grpc) }

// DataDir is the folder the server keeps its data in.
func (s *Server) DataDir() string { return s.dir }

// Start starts a stopped server again on the same data folder and ports and
// waits until it is ready. It fails the test if the server is running.
func (s *Server) Start(tb testing.TB) {
	tb.Helper()
	if err := s.launch(); err != nil {
		tb.Fatalf("weaviatetest: restart: %v", err)
	}
}

// Stop sends SIGTERM and waits for the server to exit; its data is flushed
// and survives a later Start. Stopping a stopped server does nothing.
func (s *Server) Stop(tb testing.TB) {
	tb.Helper()
	if err := s.stop(); err != nil {
		tb.Fatalf("weaviatetest: %v", err)
	}
}

// Kill ends the server with SIGKILL, as a crash would, and waits for it to
// exit. Weaviate recovers what it acknowledged from its write-ahead log on
// the next Start.
func (s *Server) Kill(tb testing.TB) {
	tb.Helper()
	s.mu.Lock()
	proc := s.proc
	s.proc = nil
	s.mu.Unlock()
	if proc != nil {
		proc.Kill()
	}
}

// Pause freezes the server (SIGSTOP): its ports still accept connections
// but nothing answers, as with a hung server or a network that drops
// packets. It returns once every thread of the server has stopped. Resume
// undoes it; Stop and Kill work on a paused server.
func (s *Server) Pause(tb testing.TB) {
	tb.Helper()
	s.signal(tb, syscall.SIGSTOP, true)
}

// Resume lets a paused server run again (SIGCONT).
func (s *Server) Resume(tb testing.TB) {
	tb.Helper()
	s.signal(tb, syscall.SIGCONT, false)
}

// signal sends sig and waits until the server's threads are all stopped,
// or all running, as wantStopped says: a signal is delivered after kill(2)
// returns, and a request sent in between would still be answered.
func (s *Server) signal(tb testing.TB, sig syscall.Signal, wantStopped bool) {
	tb.Helper()
	s.mu.Lock()
	proc := s.proc
	s.mu.Unlock()
	if proc == nil {
		tb.Fatalf("weaviatetest: send %v: the server is not running", sig)
	}
	if err := proc.Cmd.Process.Signal(sig); err != nil {
		tb.Fatalf("weaviatetest: send %v: %v", sig, err)
	}
	deadline := time.Now().Add(stopTimeout)
	for {
		stopped, err := allStopped(proc.Cmd.Process.Pid)
		if err != nil {
			tb.Fatalf("weaviatetest: after %v: %v", sig, err)
		}
		if stopped == wantStopped {
			return
		}
		if time.Now().After(deadline) {
			tb.Fatalf("weaviatetest: the server's threads did not react to %v within %s", sig, stopTimeout)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// Running tells whether the server process is up (it may not be ready yet).
func (s *Server) Running() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc == nil {
		return false
	}
	select {
	case <-s.proc.Done():
		return false
	default:
		return true
	}
}

func (s *Server) stop() error {
	s.mu.Lock()
	proc := s.proc
	s.proc = nil
	s.mu.Unlock()
	if proc == nil {
		return nil
	}
	return proc.Stop(stopTimeout)
}

// launch starts the process and waits until /v1/.well-known/ready answers.
func (s *Server) launch() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.proc != nil {
		select {
		case <-s.proc.Done():
		default:
			return errors.New("the server is already running")
		}
	}
	cmd := exec.Command(s.bin, "--host", "127.0.0.1", "--port", strconv.Itoa(s.ports.http), "--scheme", "http")
	cmd.Dir = s.dir
	cmd.Env = s.env()
	// The server must not outlive the test binary, even if the binary is
	// killed: SIGTERM lets it close its files cleanly.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	proc, err := testkit.Start("weaviate", cmd, maxOutput)
	if err != nil {
		return err
	}
	if err := waitReady(s.URL(), proc); err != nil {
		proc.Kill()
		return err
	}
	s.proc = proc
	return nil
}

// env is the whole environment of the server: nothing is inherited from the
// test process, so a variable set for another purpose cannot change it.
func (s *Server) env() []string {
	p := s.ports
	return []string{
		"PATH=" + os.Getenv("PATH"),
		"HOME=" + s.dir,
		"AUTHENTICATION_ANONYMOUS_ACCESS_ENABLED=true",
		"PERSISTENCE_DATA_PATH=" + s.dir,
		"DEFAULT_VECTORIZER_MODULE=none",
		// Classes are made explicitly; guessing a schema from each batch
		// costs time on every write.
		"AUTOSCHEMA_ENABLED=false",
		"CLUSTER_HOSTNAME=node1",
		"CLUSTER_BIND_ADDR=127.0.0.1",
		"CLUSTER_ADVERTISE_ADDR=127.0.0.1",
		"CLUSTER_IN_LOCALHOST=true",
		"CLUSTER_GOSSIP_BIND_PORT=" + strconv.Itoa(p.gossip),
		"CLUSTER_DATA_BIND_PORT=" + strconv.Itoa(p.data),
		"RAFT_PORT=" + strconv.Itoa(p.raft),
		"RAFT_INTERNAL_RPC_PORT=" + strconv.Itoa(p.raftRPC),
		"RAFT_BOOTSTRAP_EXPECT=1",
		"RAFT_TIMEOUTS_MULTIPLIER=1",
		"GRPC_PORT=" + strconv.Itoa(p.grpc),
		"GO_PROFILING_DISABLE=true",
		"DISABLE_TELEMETRY=true",
		"LOG_LEVEL=warning",
		// Ingest allocates heavily; collecting garbage a quarter as often
		// gave a tenth more events per second on two cores, for memory
		// this test server has plenty of.
		"GOGC=400",
	}
}

// waitReady polls the readiness endpoint until it answers 200, the process
// exits, or readyTimeout passes.
func waitReady(baseURL string, proc *testkit.Process) error {
	client := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(readyTimeout)
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		resp, err := client.Get(baseURL + "/v1/.well-known/ready")
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-proc.Done():
			return fmt.Errorf("weaviate exited before it was ready (%v):\n%s", proc.Err(), proc.Output())
		case <-tick.C:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("weaviate not ready after %s:\n%s", readyTimeout, proc.Output())
		}
	}
}

// freePorts finds free loopback ports, holding each until all
// are chosen so none is picked twice. The four cluster ports are one block:
// on a local cluster Weaviate finds a node's Raft RPC port as its Raft port
// plus one, and the gossip port must be free for UDP as well as TCP.
func freePorts() (ports, error) {
	var held []io.Closer
	defer func() {
		for _, c := range held {
			c.Close()
		}
	}()
	// Ports are picked below the kernel's ephemeral range (32768 and up by
	// default), which :0 listeners and outgoing connections draw from: a
	// port stays free while the server is stopped and started again,
	// however many connections the tests open meanwhile.
	one := func() (int, error) {
		for range 200 {
			port := 10000 + rand.IntN(22000)
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
			if err != nil {
				continue
			}
			held = append(held, l)
			return port, nil
		}
		return 0, errors.New("find a free port below 32000: none free in 200 tries")
	}
	var p ports
	var err error
	if p.http, err = one(); err != nil {
		return ports{}, err
	}
	if p.grpc, err = one(); err != nil {
		return ports{}, err
	}
	for tries := 0; tries < 50; tries++ {
		base, err := one()
		if err != nil {
			return ports{}, err
		}
		if base+3 > 65535 {
			continue
		}
		block, ok := holdBlock(base)
		if !ok {
			continue
		}
		held = append(held, block...)
		p.gossip, p.data, p.raft, p.raftRPC = base, base+1, base+2, base+3
		return p, nil
	}
	return ports{}, errors.New("find four consecutive free loopback ports: none found in 50 tries")
}

// holdBlock binds UDP on base and TCP on base+1..base+3 (TCP on base is
// already held by the caller); ok is false if any is taken.
func holdBlock(base int) (held []io.Closer, ok bool) {
	addr := func(port int) string { return "127.0.0.1:" + strconv.Itoa(port) }
	u, err := net.ListenPacket("udp", addr(base))
	if err != nil {
		return nil, false
	}
	held = append(held, u)
	for port := base + 1; port <= base+3; port++ {
		l, err := net.Listen("tcp", addr(port))
		if err != nil {
			for _, c := range held {
				c.Close()
			}
			return nil, false
		}
		held = append(held, l)
	}
	return held, true
}

// server is the Weaviate binary deploy/dev/weaviate.sh builds.
var server = &testkit.Built{Script: "weaviate.sh", Env: EnvBinary, What: "Weaviate server"}

// binary finds the server binary once per test binary.
func binary() (string, error) { return server.Path() }

// skipIfShort skips a test that needs the server when tests run with
// -short: starting Weaviate takes seconds, and the edit-test loop goes
// without it.
func skipIfShort(tb testing.TB) {
	tb.Helper()
	if testing.Short() {
		tb.Skip("needs a real Weaviate server; skipped with -short")
	}
}
