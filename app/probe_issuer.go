package app

import (
	"context"
	"errors"
	"net"
	"strconv"
	"syscall"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/app/identity"
	"github.com/attach-dev/attach-gateway/tenants/netguard"
)

// plainIssuerError says in a sentence why an issuer could not be checked,
// for the console's issuer form. The verifier's errors carry reason codes
// and request details meant for logs; none of that reaches the form.
func plainIssuerError(err error) error {
	var mismatch *identity.IssuerMismatchError
	var dnsErr *net.DNSError
	switch {
	case errors.As(err, &mismatch):
		return errors.New("the issuer's discovery document names a different issuer: " + attachQuote(mismatch.Named) +
			". Enter the issuer URL exactly as your provider gives it")
	case errors.Is(err, identity.ErrNoUsableKeys):
		return errors.New("the issuer publishes no signing keys the gateway can use (RSA, EC or Ed25519)")
	case errors.Is(err, netguard.ErrRefused), errors.As(err, &dnsErr), errors.Is(err, syscall.ECONNREFUSED),
		errors.Is(err, context.DeadlineExceeded), isTimeoutErr(err):
		return errors.New("the gateway could not reach the issuer: " + plainNetError(err).Error())
	}
	return errors.New("the gateway could not read the issuer's discovery document (/.well-known/openid-configuration) and signing keys; check the URL")
}

// attachQuote shows a value taken from a remote document, cut short and
// without control characters.
func attachQuote(s string) string {
	const max = 200
	if len(s) > max {
		s = attach.CutUTF8(s, max) + "…"
	}
	return strconv.Quote(s)
}
