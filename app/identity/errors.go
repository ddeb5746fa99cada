package identity

import (
	"fmt"

	attach "github.com/attach-dev/attach-gateway"
)

// Reasons a token is refused: the Reason of the attach.CodeInvalidToken
// error every refusal is. They are stable: clients see them as the error
// code and metrics use them as a label.
const (
	ReasonMissingToken      = attach.ReasonMissingToken
	ReasonTokenTooLarge     = "token_too_large"
	ReasonMalformed         = "malformed"
	ReasonAlgNotAllowed     = "alg_not_allowed"
	ReasonBadType           = "bad_type"
	ReasonUnknownIssuer     = "unknown_issuer"
	ReasonUnknownKey        = "unknown_key"
	ReasonBadSignature      = "bad_signature"
	ReasonExpired           = "expired"
	ReasonNotYetValid       = "not_yet_valid"
	ReasonIssuedInFuture    = "issued_in_future"
	ReasonWrongAudience     = "wrong_audience"
	ReasonMissingSubject    = "missing_subject"
	ReasonReservedSubject   = "reserved_subject" // the user claim names one of the gateway's own principals
	ReasonInvalidSubject    = "invalid_subject"  // the user claim holds control characters
	ReasonIssuerUnavailable = "issuer_unavailable"
	ReasonKeyRevoked        = attach.ReasonKeyRevoked
	ReasonKeyExpired        = attach.ReasonKeyExpired
	ReasonUnknownAPIKey     = "unknown_api_key"
	// DID-JWT sign-in (did.go).
	ReasonDIDMethodNotTrusted = "did_method_not_trusted" // the team does not trust the iss DID's method
	ReasonDIDNotAllowed       = "did_not_allowed"        // the team's allow-list does not name the DID
	ReasonDIDUnresolvable     = "did_unresolvable"       // the DID or its document could not be read
	ReasonKIDMismatch         = "kid_mismatch"           // the header's kid names another DID or key
	// Exchange at the team's exchange issuer (upstream_exchange.go).
	ReasonExchangeRefused     = "exchange_refused"     // the issuer refused to exchange the token
	ReasonExchangeUnavailable = "exchange_unavailable" // the issuer could not be asked
	ReasonExchangeUnsupported = "exchange_unsupported" // the issuer does not offer the token-exchange grant
	// ReasonInvalid is what AsError reports for an error that did not come
	// from this package.
	ReasonInvalid = attach.CodeInvalidToken
)

// AsError returns the refusal in err's chain: an *attach.Error of
// attach.CodeInvalidToken whose Reason is one of the constants above and
// whose Message is safe to show the caller (never the token or a secret).
// Any other error becomes one with ReasonInvalid; nil stays nil.
func AsError(err error) *attach.Error {
	if err == nil {
		return nil
	}
	if e := attach.AsError(err); e != nil && e.Code == attach.CodeInvalidToken {
		return e
	}
	return &attach.Error{Code: attach.CodeInvalidToken, Reason: ReasonInvalid, Message: "token could not be verified", Err: err}
}

func fail(reason, format string, args ...any) *attach.Error {
	return &attach.Error{Code: attach.CodeInvalidToken, Reason: reason, Message: fmt.Sprintf(format, args...)}
}

// quote renders a value taken from a token for a description, cut short so a
// hostile token cannot make the message huge.
func quote(s string) string {
	const max = 100
	if len(s) > max {
		s = attach.CutUTF8(s, max) + "..."
	}
	return fmt.Sprintf("%q", s)
}
