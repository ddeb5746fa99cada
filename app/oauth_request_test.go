package app

import (
	"net/url"
	"slices"
	"strings"
	"testing"
)

// FuzzParseTokenRequest: any body either parses into a request that names
// exactly one absolute target and a token, or is refused with an OAuth
// error code; the subject token never appears in a description.
func FuzzParseTokenRequest(f *testing.F) {
	f.Add("application/x-www-form-urlencoded", "grant_type="+url.QueryEscape(grantTokenExchange)+"&subject_token=abc&subject_token_type="+url.QueryEscape(tokenTypeJWT)+"&audience=https%3A%2F%2Fgw%2Ft%2Flab&scope=chat")
	f.Add("application/x-www-form-urlencoded; charset=utf-8", "grant_type=x&subject_token=a&subject_token=b")
	f.Add("application/x-www-form-urlencoded", "grant_type="+url.QueryEscape(grantTokenExchange)+"&subject_token=s3cr3t&subject_token_type=bad&resource=a&resource=b")
	f.Add("application/json", `{"grant_type":"x"}`)
	f.Add("application/x-www-form-urlencoded", "%zz")
	f.Fuzz(func(t *testing.T, contentType, body string) {
		req, err := parseTokenRequest(contentType, []byte(body))
		if err != nil {
			codes := []string{oauthInvalidRequest, oauthInvalidScope, oauthInvalidTarget, oauthUnsupportedGrantType}
			if !slices.Contains(codes, err.Code) || err.Description == "" {
				t.Fatalf("refusal %+v", err)
			}
			if form, perr := url.ParseQuery(body); perr == nil {
				if tok := form.Get("subject_token"); len(tok) > 8 && strings.Contains(err.Description, tok) {
					t.Fatalf("description repeats the subject token: %q", err.Description)
				}
			}
			return
		}
		u, perr := url.Parse(req.Target)
		if req.SubjectToken == "" || perr != nil || !u.IsAbs() {
			t.Fatalf("accepted %+v", req)
		}
		if req.RequestedTokenType != tokenTypeAccessToken && req.RequestedTokenType != tokenTypeJWT {
			t.Fatalf("requested token type %q", req.RequestedTokenType)
		}
		for _, s := range req.Scopes {
			if !validScopeToken(s) {
				t.Fatalf("scope %q", s)
			}
		}
	})
}
