package netguard

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestCheckIP(t *testing.T) {
	t.Parallel()
	cases := []struct {
		ip            string
		open, private bool // allowed under AllowPrivate false / true
	}{
		{"8.8.8.8", true, true},
		{"2001:4860:4860::8888", true, true},
		{"169.254.169.254", false, false}, // cloud metadata
		{"::ffff:169.254.169.254", false, false},
		{"fd00:ec2::254", false, false},
		{"fe80::1", false, false},
		{"0.0.0.0", false, false},
		{"::", false, false},
		{"224.0.0.1", false, false},
		{"127.0.0.1", false, true},
		{"::1", false, true},
		{"10.1.2.3", false, true},
		{"172.20.0.1", false, true},
		{"192.168.1.10", false, true},
		{"100.100.100.200", false, true},
		{"fd12::1", false, true},
		{"::ffff:10.0.0.1", false, true},
	}
	for _, c := range cases {
		ip := netip.MustParseAddr(c.ip)
		if err := (Policy{}).CheckIP(ip); (err == nil) != c.open {
			t.Errorf("hosted policy, %s: err = %v, want allowed=%v", c.ip, err, c.open)
		}
		err := (Policy{AllowPrivate: true}).CheckIP(ip)
		if (err == nil) != c.private {
			t.Errorf("self-hosted policy, %s: err = %v, want allowed=%v", c.ip, err, c.private)
		}
		if err != nil && !errors.Is(err, ErrRefused) {
			t.Errorf("%s: error %v does not wrap ErrRefused", c.ip, err)
		}
		// A private address refused names the setting that would admit
		// it; a link-local one does not, since no setting admits it.
		named := Policy{Setting: "ALLOW=true"}.CheckIP(ip)
		if named != nil && strings.Contains(named.Error(), "ALLOW=true") != c.private {
			t.Errorf("%s: refusal %q, want the setting named only when it would help", c.ip, named)
		}
	}
}

func TestCheckURL(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, raw := range []string{"ftp://x", "not a url", "http://", "/relative"} {
		if err := (Policy{AllowPrivate: true}).CheckURL(ctx, raw); err == nil {
			t.Errorf("%q accepted", raw)
		}
	}
	if err := (Policy{AllowPrivate: true}).CheckURL(ctx, "http://169.254.169.254/latest/meta-data/"); err == nil {
		t.Error("metadata URL accepted")
	}
	if err := (Policy{}).CheckURL(ctx, "http://localhost:11434"); err == nil {
		t.Error("localhost accepted by the hosted policy")
	}
	if err := (Policy{AllowPrivate: true}).CheckURL(ctx, "http://localhost:11434"); err != nil {
		t.Errorf("localhost refused by the self-hosted policy: %v", err)
	}
}

// The dialer itself refuses, so a URL that passed CheckURL cannot reach a
// refused address later (redirects, DNS answering differently).
func TestHTTPClientRefusesAtConnect(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()

	resp, err := (Policy{AllowPrivate: true}).HTTPClient(5 * time.Second).Get(srv.URL)
	if err != nil {
		t.Fatalf("self-hosted policy: %v", err)
	}
	resp.Body.Close()

	_, err = (Policy{}).HTTPClient(5 * time.Second).Get(srv.URL)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("hosted policy reached loopback: err = %v", err)
	}

	// A redirect to a refused address is refused too.
	redirect := httptest.NewServer(http.RedirectHandler("http://169.254.169.254/", http.StatusFound))
	defer redirect.Close()
	_, err = (Policy{AllowPrivate: true}).HTTPClient(5 * time.Second).Get(redirect.URL)
	if !errors.Is(err, ErrRefused) {
		t.Fatalf("redirect to metadata: err = %v", err)
	}
}
