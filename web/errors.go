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
	attach.CodeUnsupportedEncoding: http.StatusUnsupportedMediaType,
	attach.CodeInvalid:             http.StatusUnprocessableEntity,
	attach.CodeInternal:            http.StatusInternalServerError,
	attach.CodeUpstreamUnavailable: http.StatusBadGateway,
	attach.CodeUnavailable:         http.StatusServiceUnavailable,
	attach.CodeUpstreamTimeout:     http.StatusGatewayTimeout,
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

// internalMessage is all a client learns of a failure of ours.
const internalMessage = "the gateway could not complete the request"

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}

// Status is the HTTP status that answers err: its code's, for an
// *attach.Error; its own, for one of Fiber's; else 500.
func Status(err error) int {
	if e := attach.AsError(err); e != nil {
		if status, ok := statuses[e.Code]; ok {
			return status
		}
		return http.StatusInternalServerError
	}
	var fe *fiber.Error
	if errors.As(err, &fe) {
		return fe.Code
	}
	return http.StatusInternalServerError
}

// WriteError answers the request with err, whatever was written before:
//
//	{"error":{"code":"invalid_field","message":"slug: must be ...","field":"slug"}}
//
// The code is the error's Reason, else its Code. Any other error than an
// *attach.Error of a known code or one of Fiber's is answered 500
// "internal" with a fixed message: its text may hold anything (a query, an
// address, a secret), so it is never sent, and logging it is the caller's
// job. A refused token gets the RFC 6750 challenge, unless the handler set
// one of its own.
//
// WriteError has the signature of a fiber.ErrorHandler.
func WriteError(c *fiber.Ctx, err error) error {
	if attach.ErrorCode(err) == attach.CodeInvalidToken && len(c.Response().Header.Peek(fiber.HeaderWWWAuthenticate)) == 0 {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="attach", error="invalid_token", error_description="`+headerSafe(attach.AsError(err).Message)+`"`)
	}
	c.Response().ResetBody()
	c.Status(Status(err))
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Response().SetBodyRaw(ErrorJSON(err))
	return nil
}

// ErrorJSON is the body WriteError sends for err, for the places that tell
// an error inside an answer already under way (a stream).
func ErrorJSON(err error) []byte {
	b, _ := json.Marshal(errorBody{Error: detail(err)}) // three strings always marshal
	return b
}

// detail is what the client may learn of err.
func detail(err error) errorDetail {
	if e := attach.AsError(err); e != nil && statuses[e.Code] != 0 {
		d := errorDetail{Code: e.Code, Message: e.Message, Field: e.Field}
		if e.Reason != "" {
			d.Code = e.Reason
		}
		if e.Field != "" {
			d.Message = e.Field + ": " + e.Message
		}
		return d
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
		return d
	}
	return errorDetail{Code: attach.CodeInternal, Message: internalMessage}
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
