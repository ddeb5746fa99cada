package testkit

import (
	"fmt"
	"io"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
)

// Link is a loopback TCP hop in front of a server that a test can cut, as
// a network failure or a server going away would: while cut, open
// connections are reset and new ones are closed at once, until Mend.
type Link struct {
	ln      net.Listener
	network string
	address string

	mu    sync.Mutex
	cut   bool
	conns []net.Conn
}

// NewLink listens on a free loopback port and forwards each connection to
// address on network ("tcp" or "unix"), until the test ends.
func NewLink(t testing.TB, network, address string) *Link {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := &Link{ln: ln, network: network, address: address}
	go l.serve()
	t.Cleanup(func() {
		ln.Close()
		l.Cut()
	})
	return l
}

// PostgresLink is a Link to the server pool connects to, and the DSN of
// pool's database through it.
func PostgresLink(t testing.TB, pool *pgxpool.Pool) (*Link, string) {
	t.Helper()
	cc := pool.Config().ConnConfig
	network, address := "tcp", net.JoinHostPort(cc.Host, strconv.Itoa(int(cc.Port)))
	if strings.HasPrefix(cc.Host, "/") {
		network, address = "unix", filepath.Join(cc.Host, fmt.Sprintf(".s.PGSQL.%d", cc.Port))
	}
	l := NewLink(t, network, address)
	host, port, _ := net.SplitHostPort(l.Addr())
	dsn := fmt.Sprintf("host=%s port=%s user=%s dbname=%s sslmode=disable connect_timeout=2", host, port, cc.User, cc.Database)
	return l, dsn
}

// Addr is the link's host:port.
func (l *Link) Addr() string { return l.ln.Addr().String() }

func (l *Link) serve() {
	for {
		c, err := l.ln.Accept()
		if err != nil {
			return
		}
		l.mu.Lock()
		if l.cut {
			l.mu.Unlock()
			c.Close()
			continue
		}
		up, err := net.Dial(l.network, l.address)
		if err != nil {
			l.mu.Unlock()
			c.Close()
			continue
		}
		l.conns = append(l.conns, c, up)
		l.mu.Unlock()
		go func() { _, _ = io.Copy(up, c); up.Close() }()
		go func() { _, _ = io.Copy(c, up); c.Close() }()
	}
}

// Cut resets every open connection and refuses new ones.
func (l *Link) Cut() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = true
	for _, c := range l.conns {
		c.Close()
	}
	l.conns = nil
}

// Mend lets connections through again.
func (l *Link) Mend() {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.cut = false
}
