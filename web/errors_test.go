package web

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gofiber/fiber/v2"

	attach "github.com/attach-dev/attach-gateway"
)

// respond runs err through WriteError as the app's error handler and returns
// the response.
func respond(t *testing.T, err error) (*http.Response, string) {
	t.Helper()
	app := fiber.New(fiber.Config{ErrorHandler: WriteError})
	app.Get("/", func(c *fiber.Ctx) error {
		c.Status(http.StatusTeapot).SendString("half an answer")
		return err
	})
	resp, terr := app.Test(httptest.NewRequest(http.MethodGet, "/", nil))
	if terr != nil {
		t.Fatalf("request: %v", terr)
	}
	body, _ := io.ReadAll(resp.Body)
	return resp, string(body)
}

func TestStatusOfEveryCode(t *testing.T) {
	cases := []struct {
		code   string
		status int
	}{
		{attach.CodeBadRequest, 400},
		{attach.CodeInvalidJSON, 400},
		{attach.CodeDialectMismatch, 400},
		{attach.CodeUnauthorized, 401},
		{attach.CodeInvalidToken, 401},
		{attach.CodeForbidden, 403},
		{attach.CodeNotFound, 404},
		{attach.CodeNoEngine, 404},
		{attach.CodeMethodNotAllowed, 405},
		{attach.CodeConflict, 409},
		{attach.CodeLastOwner, 409},
		{attach.CodeDisabled, 409},
		{attach.CodeExpired, 410},
		{attach.CodeTooLarge, 413},
		{attach.CodeUnsupportedEncoding, 415},
		{attach.CodeInvalid, 422},
		{attach.CodeTooMany, 429},
		{attach.CodeInternal, 500},
		{attach.CodeUpstreamUnavailable, 502},
		{attach.CodeUnavailable, 503},
		{attach.CodeUpstreamTimeout, 504},
		{attach.CodeLoopDetected, 508},
		{"no_such_code", 500},
	}
	if len(cases)-1 != len(statuses) {
		t.Errorf("%d codes tested, %d mapped: test the new ones", len(cases)-1, len(statuses))
	}
	for _, c := range cases {
		err := fmt.Errorf("wrapped: %w", attach.Errorf(c.code, "it failed"))
		if got := Status(err); got != c.status {
			t.Errorf("Status(%s) = %d, want %d", c.code, got, c.status)
		}
	}
	if got := Status(fiber.ErrRequestEntityTooLarge); got != 413 {
		t.Errorf("Status(fiber 413) = %d", got)
	}
	if got := Status(errors.New("boom")); got != 500 {
		t.Errorf("Status(plain error) = %d", got)
	}
}

func TestWriteErrorShape(t *testing.T) {
	cases := []struct {
		err    error
		status int
		body   string
	}{
		{attach.Invalid("slug", "must be lowercase"), 422,
			`{"error":{"code":"invalid_field","message":"slug: must be lowercase","field":"slug"}}`},
		{&attach.Error{Code: attach.CodeBadRequest, Reason: "invalid_request", Message: "limit: must be a number"}, 400,
			`{"error":{"code":"invalid_request","message":"limit: must be a number"}}`},
		{fiber.ErrRequestEntityTooLarge, 413,
			`{"error":{"code":"body_too_large","message":"request body is larger than the gateway's limit"}}`},
		{fiber.NewError(http.StatusTooManyRequests, "slow down"), 429,
			`{"error":{"code":"error","message":"slow down"}}`},
	}
	for _, c := range cases {
		resp, body := respond(t, c.err)
		if resp.StatusCode != c.status || body != c.body {
			t.Errorf("%v: got %d %s, want %d %s", c.err, resp.StatusCode, body, c.status, c.body)
		}
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("%v: Content-Type %q", c.err, ct)
		}
	}
}

// An error of ours may carry anything in its text; none of it reaches the
// client, whether it is a plain error, the cause of an *attach.Error or an
// *attach.Error whose code has no status.
func TestUnknownErrorIsNotShown(t *testing.T) {
	const secret = "postgres://admin:hunter2@db.internal/attach"
	for _, err := range []error{
		fmt.Errorf("connect to %s: refused", secret),
		&attach.Error{Code: "made_up", Message: "dial " + secret},
	} {
		resp, body := respond(t, err)
		if resp.StatusCode != 500 || strings.Contains(body, "hunter2") || strings.Contains(body, "db.internal") {
			t.Errorf("%d %s: the cause leaked", resp.StatusCode, body)
		}
		var got errorBody
		if jerr := json.Unmarshal([]byte(body), &got); jerr != nil || got.Error.Code != attach.CodeInternal || got.Error.Message != "the gateway could not complete the request" {
			t.Errorf("body %s, want the generic internal error", body)
		}
	}
	// A known error shows its message, never its cause.
	resp, body := respond(t, &attach.Error{Code: attach.CodeUnavailable, Message: "search failed", Err: errors.New(secret)})
	if resp.StatusCode != 503 || strings.Contains(body, "hunter2") || !strings.Contains(body, "search failed") {
		t.Errorf("%d %s: want the message without the cause", resp.StatusCode, body)
	}
}

func TestRefusedTokenGetsChallenge(t *testing.T) {
	resp, _ := respond(t, &attach.Error{Code: attach.CodeInvalidToken, Reason: "expired", Message: `token "x" expired`})
	want := `Bearer realm="attach", error="invalid_token", error_description="token 'x' expired"`
	if got := resp.Header.Get("WWW-Authenticate"); got != want {
		t.Errorf("WWW-Authenticate %q, want %q", got, want)
	}
	// A handler with its own realm keeps its challenge.
	app := fiber.New(fiber.Config{ErrorHandler: WriteError})
	app.Get("/", func(c *fiber.Ctx) error {
		c.Set(fiber.HeaderWWWAuthenticate, `Bearer realm="attach-admin", error="invalid_token"`)
		return attach.Errorf(attach.CodeInvalidToken, "a valid management token is required")
	})
	resp, err := app.Test(httptest.NewRequest(http.MethodGet, "/", nil))
	if err != nil {
		t.Fatal(err)
	}
	if got := resp.Header.Get("WWW-Authenticate"); got != `Bearer realm="attach-admin", error="invalid_token"` || resp.StatusCode != 401 {
		t.Errorf("%d, WWW-Authenticate %q: the handler's own challenge was replaced", resp.StatusCode, got)
	}
	resp, _ = respond(t, attach.Errorf(attach.CodeUnauthorized, "sign in first"))
	if got := resp.Header.Get("WWW-Authenticate"); got != "" {
		t.Errorf("an unauthorized error that is not about a token got WWW-Authenticate %q", got)
	}
}
