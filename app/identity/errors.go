package identity

import (
	"errors"
	"fmt"
)

// Reasons a token is refused. They are stable: handlers use them as the JSON
// error code and metrics use them as a label.
const (
	ReasonMissingToken      = "missing_token"
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
	ReasonIssuerUnavailable = "issuer_unavailable"
	ReasonKeyRevoked        = "key_revoked"
	ReasonKeyExpired        = "key_expired"
	ReasonUnknownAPIKey     = "unknown_api_key"
	// ReasonInvalid is what AsError reports for an error that did not come
	// from this package.
	ReasonInvalid = "invalid_token"
)

// Error is every verification failure. Reason is one of the Reason constants;
// Description is a sentence safe to show the caller: it never contains the
// token or a secret.
type Error struct {
	Reason      string
	Description string
	err         error // underlying cause, for logs; may be nil
}

func (e *Error) Error() string { return e.Reason + ": " + e.Description }

// Unwrap gives the cause of an issuer_unavailable error (network error,
// context cancellation), so errors.Is works on it.
func (e *Error) Unwrap() error { return e.err }

// AsError returns the *Error in err's chain. An error from elsewhere becomes
// an invalid_token Error; nil stays nil.
func AsError(err error) *Error {
	if err == nil {
		return nil
	}
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Reason: ReasonInvalid, Description: "token could not be verified", err: err}
}

func fail(reason, format string, args ...any) *Error {
	return &Error{Reason: reason, Description: fmt.Sprintf(format, args...)}
}

// quote renders a value taken from a token for a description, cut short so a
// hostile token cannot make the message huge.
func quote(s string) string {
	const max = 100
	if len(s) > max {
		s = s[:max] + "..."
	}
	return fmt.Sprintf("%q", s)
}
