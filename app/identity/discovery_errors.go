package identity

import "errors"

// IssuerMismatchError is the failure of a discovery document that speaks
// for another issuer than the one asked about. Named is the issuer the
// document gives, as written there; the console uses it to accept an
// issuer URL that differs only by a trailing slash.
type IssuerMismatchError struct {
	Named string // the document's "issuer"
	Asked string // the issuer URL discovery was asked for
}

func (e *IssuerMismatchError) Error() string {
	return "discovery document is for issuer " + quote(redact(e.Named)) + ", not " + quote(redact(e.Asked))
}

// ErrNoUsableKeys is the failure of a key set without a single signing key
// the gateway can verify with.
var ErrNoUsableKeys = errors.New("key set has no usable signing keys")
