package attach

import (
	"errors"
	"fmt"
)

// Codes say what kind of failure an Error is. Callers switch on them with
// ErrorCode, and the web package answers each with its HTTP status. Clients
// see them as {"error":{"code":...}}, so a code, once out, never changes.
const (
	CodeBadRequest   = "bad_request"       // the request is malformed: a query parameter, a header
	CodeInvalidJSON  = "invalid_json"      // the body is not the JSON expected
	CodeInvalid      = "invalid_field"     // an input is not acceptable; Field names it
	CodeUnauthorized = "unauthorized"      // the caller is not signed in, or gave a wrong password
	CodeInvalidToken = "invalid_token"     // a bearer token was refused; Reason says why
	CodeForbidden    = "forbidden"         // the caller may not do this
	CodeNotFound     = "not_found"         // no such thing, or not the caller's to see
	CodeConflict     = "conflict"          // the name is taken, or the state forbids the change
	CodeLastOwner    = "last_owner"        // the change would leave a team without an owner
	CodeDisabled     = "memory_disabled"   // the team keeps no memory
	CodeExpired      = "expired"           // the invite, session or setup link existed but ran out
	CodeTooLarge     = "body_too_large"    // the body is over a limit
	CodeTooMany      = "too_many_requests" // the caller failed too often; wait as Retry-After says
	CodeUnavailable  = "unavailable"       // a backend the gateway needs did not answer
	CodeInternal     = "internal"          // a failure of ours; the message says nothing more

	// The proxy's, about a request on its way to an engine.
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeUnsupportedEncoding = "unsupported_encoding"
	CodeNoEngine            = "no_engine"
	CodeDialectMismatch     = "dialect_mismatch"
	CodeUpstreamUnavailable = "upstream_unavailable"
	CodeUpstreamTimeout     = "upstream_timeout"
	CodeLoopDetected        = "loop_detected" // the request came back to the gateway that sent it
)

// ReasonMissingToken is the Reason of the CodeInvalidToken error for a
// request that carried no bearer token at all. RFC 6750 §3.1 answers it
// with a bare challenge: no error code, since nothing was wrong with a
// token that was never sent.
const ReasonMissingToken = "missing_token"

// Error is the one error type the gateway's stores and handlers return for
// a failure the caller should hear about. Any other error is a failure of
// ours: it is logged and answered with CodeInternal, never shown.
type Error struct {
	Code string // one of the Code constants
	// Reason is a finer code that clients see instead of Code, where an API
	// has always answered with one: why a token was refused ("expired"),
	// the memory API's "invalid_request". Empty shows Code.
	Reason  string
	Message string // a sentence safe to show the caller: no secrets, no internals
	Field   string // the input at fault, for CodeInvalid
	Err     error  // the cause, for logs and errors.Is; never shown
}

// Error is the message, after the field it is about, then the cause.
func (e *Error) Error() string {
	s := e.Message
	if s == "" {
		s = e.Code
	}
	if e.Field != "" {
		s = e.Field + ": " + s
	}
	if e.Err != nil {
		s += ": " + e.Err.Error()
	}
	return s
}

func (e *Error) Unwrap() error { return e.Err }

// Errorf makes an Error of code with a formatted message.
func Errorf(code, format string, args ...any) *Error {
	return &Error{Code: code, Message: fmt.Sprintf(format, args...)}
}

// NotFound says that what does not exist, or is not the caller's to see.
func NotFound(what string) *Error {
	return &Error{Code: CodeNotFound, Message: what + " not found"}
}

// Invalid says which input is wrong and why, as in
// Invalid("slug", "must be lowercase").
func Invalid(field, msg string) *Error {
	return &Error{Code: CodeInvalid, Field: field, Message: msg}
}

// AsError returns the *Error in err's chain, or nil when there is none.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// ErrorCode is the code of the *Error in err's chain: "" for nil, and
// CodeInternal for an error that is not an *Error.
func ErrorCode(err error) string {
	if err == nil {
		return ""
	}
	if e := AsError(err); e != nil {
		return e.Code
	}
	return CodeInternal
}
