package app

import (
	"mime"
	"net/url"
	"slices"
	"strings"
)

// The RFC 8693 names the token endpoint speaks.
const (
	grantTokenExchange   = "urn:ietf:params:oauth:grant-type:token-exchange"
	tokenTypeAccessToken = "urn:ietf:params:oauth:token-type:access_token"
	tokenTypeJWT         = "urn:ietf:params:oauth:token-type:jwt"
)

// OAuth error codes (RFC 6749 §5.2, RFC 8693 §2.2.2, RFC 8707 §2).
const (
	oauthInvalidRequest       = "invalid_request"
	oauthInvalidGrant         = "invalid_grant"
	oauthInvalidScope         = "invalid_scope"
	oauthInvalidTarget        = "invalid_target"
	oauthUnsupportedGrantType = "unsupported_grant_type"
)

// oauthError is a refusal of the token endpoint, answered 400 with the
// OAuth JSON shape {"error", "error_description"} that OAuth clients read,
// rather than the gateway's own error shape.
type oauthError struct {
	Code        string `json:"error"`
	Description string `json:"error_description"`
}

func (e *oauthError) Error() string { return e.Code + ": " + e.Description }

func oauthErr(code, description string) *oauthError {
	return &oauthError{Code: code, Description: description}
}

// tokenRequest is a parsed RFC 8693 token exchange request.
type tokenRequest struct {
	SubjectToken     string
	SubjectTokenType string
	// Target is the one audience or resource asked for.
	Target string
	// Scopes asked for; nil when the request names none (the caller's
	// scopes are kept), never empty otherwise.
	Scopes             []string
	RequestedTokenType string // tokenTypeAccessToken unless asked for tokenTypeJWT
}

// singleParams may appear at most once (RFC 6749 §3.2); audience and
// resource may repeat by RFC 8693, though this endpoint wants one target.
var singleParams = []string{"grant_type", "subject_token", "subject_token_type", "actor_token", "actor_token_type", "requested_token_type", "scope"}

// parseTokenRequest reads a token exchange request from a form-encoded
// body. Every refusal is an oauthError naming what is wrong; nothing of the
// tokens is repeated in it.
func parseTokenRequest(contentType string, body []byte) (tokenRequest, *oauthError) {
	var req tokenRequest
	mt, _, err := mime.ParseMediaType(contentType)
	if err != nil || mt != "application/x-www-form-urlencoded" {
		return req, oauthErr(oauthInvalidRequest, "the body must be application/x-www-form-urlencoded")
	}
	form, err := url.ParseQuery(string(body))
	if err != nil {
		return req, oauthErr(oauthInvalidRequest, "the body is not a well-formed form")
	}
	for _, name := range singleParams {
		if len(form[name]) > 1 {
			return req, oauthErr(oauthInvalidRequest, "parameter "+name+" is given more than once")
		}
	}
	switch gt := form.Get("grant_type"); gt {
	case "":
		return req, oauthErr(oauthInvalidRequest, "grant_type is required")
	case grantTokenExchange:
	default:
		return req, oauthErr(oauthUnsupportedGrantType, "the only grant type is "+grantTokenExchange)
	}
	if req.SubjectToken = form.Get("subject_token"); req.SubjectToken == "" {
		return req, oauthErr(oauthInvalidRequest, "subject_token is required")
	}
	switch req.SubjectTokenType = form.Get("subject_token_type"); req.SubjectTokenType {
	case "":
		return req, oauthErr(oauthInvalidRequest, "subject_token_type is required")
	case tokenTypeAccessToken, tokenTypeJWT:
	default:
		return req, oauthErr(oauthInvalidRequest, "subject_token_type must be "+tokenTypeAccessToken+" or "+tokenTypeJWT)
	}
	// An agent acting for a user presents its delegation token as the
	// subject token: the act claim is carried over from it.
	if form.Has("actor_token") || form.Has("actor_token_type") {
		return req, oauthErr(oauthInvalidRequest, "actor_token is not supported; an agent presents its delegation token as subject_token")
	}
	switch req.RequestedTokenType = form.Get("requested_token_type"); req.RequestedTokenType {
	case "":
		req.RequestedTokenType = tokenTypeAccessToken
	case tokenTypeAccessToken, tokenTypeJWT:
	default:
		return req, oauthErr(oauthInvalidRequest, "requested_token_type must be "+tokenTypeAccessToken+" or "+tokenTypeJWT)
	}
	if form.Has("scope") {
		req.Scopes = strings.Split(form.Get("scope"), " ")
		for _, s := range req.Scopes {
			if !validScopeToken(s) {
				return req, oauthErr(oauthInvalidScope, "scope must be scope names separated by single spaces")
			}
		}
	}
	targets := slices.Concat(form["audience"], form["resource"])
	if len(targets) != 1 {
		return req, oauthErr(oauthInvalidTarget, "name exactly one audience or resource")
	}
	req.Target = targets[0]
	if u, err := url.Parse(req.Target); err != nil || !u.IsAbs() || u.Fragment != "" || u.RawQuery != "" {
		return req, oauthErr(oauthInvalidTarget, "the audience or resource must be an absolute URL without query or fragment")
	}
	return req, nil
}

// validScopeToken is RFC 6749 §3.3's scope-token: printable ASCII other
// than space, '"' and '\'.
func validScopeToken(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}
