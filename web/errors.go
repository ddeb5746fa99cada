package web

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
)

// statuses is the HTTP status of each error code. A code missing here is
// answered 500, so a new code shows up in tests rather than as a wrong 4xx.
var statuses = map[string]int{
	attach.CodeBadRequest:          http.StatusBadRequest,
	attach.CodeInvalidJSON:         http.StatusBadRequest,
	attach.CodeDialectMismatch:     http.StatusBadRequest,
	attach.CodeUnauthorized:        http.StatusUnauthorized,
	attach.CodeInvalidToken:        http.StatusUnauthorized,
	attach.CodeForbidden:           http.StatusForbidden,
	attach.CodeNotFound:            http.StatusNotFound,
	attach.CodeNoEngine:            http.StatusNotFound,
	attach.CodeMethodNotAllowed:    http.StatusMethodNotAllowed,
	attach.CodeConflict:            http.StatusConflict,
	attach.CodeLastOwner:           http.StatusConflict,
	attach.CodeDisabled:            http.StatusConflict,
	attach.CodeExpired:             http.StatusGone,
	attach.CodeTooLarge:            http.StatusRequestEntityTooLarge,
	attach.CodeTooMany:             http.StatusTooManyRequests,
	attach.CodeUnsupportedEncoding: http.StatusUnsupportedMediaType,
	attach.CodeInvalid:             http.StatusUnprocessableEntity,
	attach.CodeInternal:            http.StatusInternalServerError,
	attach.CodeUpstreamUnavailable: http.StatusBadGateway,
	attach.CodeUnavailable:         http.StatusServiceUnavailable,
	attach.CodeUpstreamTimeout:     http.StatusGatewayTimeout,
	attach.CodeLoopDetected:        http.StatusLoopDetected,
}

// fiberCodes name the errors Fiber answers on its own (a body over the
// limit, headers too large, a malformed request), which keep their status.
var fiberCodes = map[int]string{
	fiber.StatusBadRequest:                  "bad_request",
	fiber.StatusNotFound:                    "not_found",
	fiber.StatusMethodNotAllowed:            "method_not_allowed",
	fiber.StatusRequestTimeout:              "request_timeout",
	fiber.StatusRequestEntityTooLarge:       "body_too_large",
	fiber.StatusRequestHeaderFieldsTooLarge: "headers_too_large",
}

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Status is the HTTP status that answers err.
func Status(err error) int {
	status, _ := answer(err)
	return status
}

// WriteError answers the request with err, whatever was written before:
//
//	{"error":{"code":"invalid_field","message":"slug: must be ...","field":"slug"}}
//
// An *attach.Error of a known code is answered with its code's status and
// its Reason, else its Code, and its message; one of Fiber's keeps its
// status. Any other error is answered 500 "internal" with a fixed message:
// its text may hold anything (a query, an address, a secret), so it is never
// sent, and logging it is the caller's job. A refused token gets the RFC
// 6750 challenge (see Challenge), unless the handler set one of its own.
//
// WriteError has the signature of a fiber.ErrorHandler.
func WriteError(c *fiber.Ctx, err error) error {
	status, d := answer(err)
	if attach.ErrorCode(err) == attach.CodeInvalidToken && len(c.Response().Header.Peek(fiber.HeaderWWWAuthenticate)) == 0 {
		c.Set(fiber.HeaderWWWAuthenticate, Challenge("attach", err))
	}
	c.Response().ResetBody()
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Response().SetBodyRaw(marshal(d))
	return nil
}

// Challenge is the RFC 6750 WWW-Authenticate value of realm for a refused
// token err: a request without a token learns only the scheme and realm
// (§3.1); a refused token gets error="invalid_token" and why.
func Challenge(realm string, err error) string {
	if e := attach.AsError(err); e != nil && e.Reason == attach.ReasonMissingToken {
		return `Bearer realm="` + realm + `"`
	}
	_, d := answer(err)
	return `Bearer realm="` + realm + `", error="invalid_token", error_description="` + headerSafe(d.Message) + `"`
}

// ErrorJSON is the body WriteError sends for err, for the places that tell
// an error inside an answer already under way (a stream).
func ErrorJSON(err error) []byte {
	_, d := answer(err)
	return marshal(d)
}

// answer is the status for err and what the client may learn of it.
func answer(err error) (int, errorDetail) {
	if e := attach.AsError(err); e != nil && statuses[e.Code] != 0 {
		d := errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}
		if e.Reason != "" {
			d.Code = e.Reason
		}
		if e.Field != "" {
			d.Message = e.Field + ": " + e.Message
		}
		return statuses[e.Code], d
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		d := errorDetail{Code: fiberCodes[fe.Code], Message: fe.Message}
		if d.Code == "" {
			d.Code = "error"
		}
		if fe.Code == fiber.StatusRequestEntityTooLarge {
			d.Message = "request body is larger than the gateway's limit"
		}
		return fe.Code, d
	}
	return http.StatusInternalServerError, errorDetail{Code: attach.CodeInternal, Message: "the gateway could not complete the request"}
}

func marshal(d errorDetail) []byte {
	b, _ := json.Marshal(errorBody{Error: d}) // three strings always marshal
	return b
}

// headerSafe makes s fit inside a quoted header parameter.
func headerSafe(s string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r == '"' || r == '\\':
			return '\''
		case r < 0x20 || r > 0x7e:
			return -1
		}
		return r
	}, s)
}
