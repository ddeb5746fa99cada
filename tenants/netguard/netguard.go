// Package netguard decides which network addresses the gateway may call on
// a team's behalf. Teams name URLs (engines, issuers) that the gateway then
// fetches, so without a guard a team could point it at the cloud metadata
// service or at other hosts inside the install's network (SSRF).
//
// Link-local addresses, where cloud metadata services live, are always
// refused. Loopback and private ranges are allowed only when the install
// says so: on by default, since a self-hosted gateway usually sits next to
// its engines; off for a hosted, multi-tenant install. The addresses the
// install's operator named itself (Policy.Operator) may be reached by
// exactly that name even then.
package netguard

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
	"syscall"
	"time"
)

// ErrRefused is wrapped by every refusal.
var ErrRefused = errors.New("address not allowed")

// Policy is the install's rule for outbound calls made for teams.
type Policy struct {
	// AllowPrivate admits loopback, RFC 1918, CGNAT and unique-local
	// addresses.
	AllowPrivate bool
	// Setting names what admits private addresses, for the refusal's
	// message (e.g. "ATTACH_ALLOW_PRIVATE_NETWORKS=true"); empty says
	// nothing more.
	Setting string
	// Operator lists host:port pairs (as HostPort writes them) that the
	// install's operator named in its own configuration, such as the
	// side-car engine and issuer. Connections made by that name reach
	// private addresses even when AllowPrivate is off; link-local stays
	// refused. Nothing a team sets may go here, and CheckURL, the check
	// before a team's URL is saved, does not consult it.
	Operator []string
}

// HostPort returns the lowercased host:port an http(s) URL connects to,
// with the scheme's port when the URL names none.
func HostPort(raw string) (string, error) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return "", fmt.Errorf("%w: not an absolute http or https URL", ErrRefused)
	}
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(strings.ToLower(u.Hostname()), port), nil
}

// operatorAddr says whether a dial address (host:port, as a client dials
// it before resolving) is one of the operator's.
func (p Policy) operatorAddr(addr string) bool {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	addr = net.JoinHostPort(strings.ToLower(host), port)
	for _, o := range p.Operator {
		if o == addr {
			return true
		}
	}
	return false
}

// Ranges that are never a team's engine: link-local (cloud metadata at
// 169.254.169.254 and fd00:ec2::254), and addresses that are not a single
// host.
var alwaysRefused = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("224.0.0.0/4"),
	netip.MustParsePrefix("240.0.0.0/4"),
	netip.MustParsePrefix("::/128"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("ff00::/8"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
}

// Ranges of the install's own network.
var private = []netip.Prefix{
	netip.MustParsePrefix("127.0.0.0/8"),
	netip.MustParsePrefix("10.0.0.0/8"),
	netip.MustParsePrefix("172.16.0.0/12"),
	netip.MustParsePrefix("192.168.0.0/16"),
	netip.MustParsePrefix("100.64.0.0/10"), // CGNAT; also Alibaba's metadata service
	netip.MustParsePrefix("::1/128"),
	netip.MustParsePrefix("fc00::/7"),
}

// CheckIP says whether the gateway may connect to ip.
func (p Policy) CheckIP(ip netip.Addr) error {
	ip = ip.Unmap()
	for _, r := range alwaysRefused {
		if r.Contains(ip) {
			return fmt.Errorf("%w: %s is link-local or not a host address", ErrRefused, ip)
		}
	}
	if !p.AllowPrivate {
		for _, r := range private {
			if r.Contains(ip) {
				if p.Setting != "" {
					return fmt.Errorf("%w: %s is a private address and this gateway does not call private networks (%s allows them)", ErrRefused, ip, p.Setting)
				}
				return fmt.Errorf("%w: %s is a private address and this gateway does not call private networks", ErrRefused, ip)
			}
		}
	}
	return nil
}

// CheckURL parses an http(s) URL, resolves its host and checks every
// address it resolves to. It is the early check that lets a form say what is
// wrong; Dialer checks again before each connection, because DNS can answer
// differently later.
func (p Policy) CheckURL(ctx context.Context, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" {
		return fmt.Errorf("%w: not an absolute http or https URL", ErrRefused)
	}
	host := u.Hostname()
	if ip, err := netip.ParseAddr(host); err == nil {
		return p.CheckIP(ip)
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return fmt.Errorf("cannot resolve %s: %w", host, err)
	}
	for _, ip := range ips {
		if err := p.CheckIP(ip); err != nil {
			return fmt.Errorf("%s resolves to a refused address: %w", host, err)
		}
	}
	return nil
}

// control is a net.Dialer Control hook: it runs after the name is resolved
// and before the connection is made, so a rebinding DNS answer is caught.
func (p Policy) control(_, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("%w: %s", ErrRefused, address)
	}
	return p.CheckIP(ap.Addr())
}

// Dialer returns a net.Dialer that refuses addresses the policy forbids,
// the operator's own included: it is for calls to what teams name.
func (p Policy) Dialer(timeout time.Duration) *net.Dialer {
	return &net.Dialer{Timeout: timeout, KeepAlive: 30 * time.Second, Control: p.control}
}

// DialContext is Dialer's DialContext, except that an address named
// exactly as one of the operator's (Operator) may resolve to a private
// address. The decision is made on the name being dialed, before it is
// resolved, so a team's URL that resolves to the same address is still
// refused.
func (p Policy) DialContext(timeout time.Duration) func(ctx context.Context, network, addr string) (net.Conn, error) {
	strict := p.Dialer(timeout)
	if len(p.Operator) == 0 || p.AllowPrivate {
		return strict.DialContext
	}
	own := Policy{AllowPrivate: true}.Dialer(timeout)
	return func(ctx context.Context, network, addr string) (net.Conn, error) {
		if p.operatorAddr(addr) {
			return own.DialContext(ctx, network, addr)
		}
		return strict.DialContext(ctx, network, addr)
	}
}

// HTTPClient returns a client whose every connection, redirects included,
// obeys the policy (with the operator's own addresses, see DialContext).
func (p Policy) HTTPClient(timeout time.Duration) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.Proxy = nil // a proxy would connect on our behalf, out of the policy's sight
	t.DialContext = p.DialContext(10 * time.Second)
	return &http.Client{
		Timeout:   timeout,
		Transport: t,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 3 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
}
