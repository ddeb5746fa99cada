package proxy

import (
	"encoding/json"

	"github.com/gofiber/fiber/v2"
)

// Error codes the proxy answers with. Clients may switch on them; the
// messages are for people.
const (
	CodeNotFound            = "not_found"
	CodeMethodNotAllowed    = "method_not_allowed"
	CodeInvalidJSON         = "invalid_json"
	CodeNoEngine            = "no_engine"
	CodeDialectMismatch     = "dialect_mismatch"
	CodeBodyTooLarge        = "body_too_large"
	CodeUnsupportedEncoding = "unsupported_encoding"
	CodeUpstreamUnavailable = "upstream_unavailable"
	CodeUpstreamTimeout     = "upstream_timeout"
)

type errorBody struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// WriteError answers with the gateway's JSON error shape:
// {"error":{"code":"...","message":"..."}}.
func WriteError(c *fiber.Ctx, status int, code, msg string) error {
	b, err := json.Marshal(errorBody{Error: errorDetail{Code: code, Message: msg}})
	if err != nil {
		// Two strings always marshal; this is only here so a change that
		// breaks that fails loudly instead of answering an empty body.
		return err
	}
	c.Response().ResetBody()
	c.Status(status)
	c.Set(fiber.HeaderContentType, fiber.MIMEApplicationJSON)
	c.Response().SetBodyRaw(b)
	return nil
}
