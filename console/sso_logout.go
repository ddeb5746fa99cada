package console

import (
	"net/url"
	"strings"

	"github.com/coreos/go-oidc/v3/oidc"
	"github.com/gofiber/fiber/v2"
)

// RP-initiated logout (OpenID Connect RP-Initiated Logout 1.0): when the
// provider's discovery document names an end_session_endpoint, signing out
// of a session that began with single sign-on also sends the browser there,
// with the sign-in's ID token as id_token_hint and the console's sign-in
// page as post_logout_redirect_uri, so the provider's session ends too and
// the next "Sign in with SSO" asks again. The provider must accept that
// URI as a post-logout redirect of the console's client.

// endSessionEndpoint reads end_session_endpoint from the discovery
// document; "" when absent or not an absolute http(s) URL.
func endSessionEndpoint(p *oidc.Provider) string {
	var doc struct {
		EndSession string `json:"end_session_endpoint"`
	}
	if err := p.Claims(&doc); err != nil || doc.EndSession == "" {
		return ""
	}
	u, err := url.Parse(doc.EndSession)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.Fragment != "" {
		return ""
	}
	return doc.EndSession
}

// logoutEndpoint is the provider's end_session_endpoint once discovery
// has run; "" before, or when the provider has none.
func (s *ssoClient) logoutEndpoint() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.endSession
}

// postLogoutURL is where the provider sends the browser after signing out.
func (c *Console) postLogoutURL() string {
	return c.cfg.PublicURL + Base + "/signin?done=signed-out"
}

// providerLogoutURL is the address that ends the provider's session for an
// ID token, or "" when single sign-on is off, the provider offers no
// RP-initiated logout or there is no ID token.
func (c *Console) providerLogoutURL(fc *fiber.Ctx, idToken string) string {
	if c.sso == nil || idToken == "" || c.cfg.OIDC.LocalSignOut {
		return ""
	}
	if _, _, err := c.sso.discover(fc.UserContext()); err != nil {
		c.log.Warn("console: sso discovery for sign-out", "err", err)
		return ""
	}
	end := c.sso.logoutEndpoint()
	if end == "" {
		return ""
	}
	q := url.Values{
		"id_token_hint":            {idToken},
		"client_id":                {c.cfg.OIDC.ClientID},
		"post_logout_redirect_uri": {c.postLogoutURL()},
	}
	sep := "?"
	if strings.Contains(end, "?") {
		sep = "&"
	}
	return end + sep + q.Encode()
}
