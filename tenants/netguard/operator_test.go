package netguard

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"
)

func TestHostPort(t *testing.T) {
	t.Parallel()
	cases := map[string]string{
		"http://LocalHost:11434/":     "localhost:11434",
		"https://idp.example/realms/": "idp.example:443",
		"http://127.0.0.1":            "127.0.0.1:80",
		"http://[::1]:8080/x":         "[::1]:8080",
	}
	for in, want := range cases {
		if got, err := HostPort(in); err != nil || got != want {
			t.Errorf("HostPort(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "ftp://x", "/relative", "http://"} {
		if _, err := HostPort(bad); err == nil {
			t.Errorf("HostPort(%q) accepted", bad)
		}
	}
}

// With private networks refused, the operator's host:port is reached by
// exactly its name; the same address under another name or another port
// on the same host are refused before any connection is made.
func TestOperatorAddressIsReachedByName(t *testing.T) {
	t.Parallel()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	other, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()

	addr := ln.Addr().String()
	_, port, _ := net.SplitHostPort(addr)
	p := Policy{Setting: "ATTACH_ALLOW_PRIVATE_NETWORKS=true", Operator: []string{addr}}
	dial := p.DialContext(time.Second)
	ctx := context.Background()

	c, err := dial(ctx, "tcp", addr)
	if err != nil {
		t.Fatalf("operator address refused: %v", err)
	}
	c.Close()
	for _, refused := range []string{"localhost:" + port, other.Addr().String()} {
		_, err := dial(ctx, "tcp", refused)
		if !errors.Is(err, ErrRefused) || !strings.Contains(err.Error(), "ATTACH_ALLOW_PRIVATE_NETWORKS=true") {
			t.Errorf("%s: want a refusal naming the setting, got %v", refused, err)
		}
	}
	// The save check never admits it: a team cannot register the
	// operator's address for itself.
	if err := p.CheckURL(ctx, "http://"+addr); !errors.Is(err, ErrRefused) {
		t.Errorf("CheckURL admitted the operator's address: %v", err)
	}
	// Link-local stays refused even when named by the operator.
	ll := Policy{Operator: []string{"169.254.169.254:80"}}
	if _, err := ll.DialContext(time.Second)(ctx, "tcp", "169.254.169.254:80"); !errors.Is(err, ErrRefused) {
		t.Errorf("link-local operator address dialed: %v", err)
	}
}
