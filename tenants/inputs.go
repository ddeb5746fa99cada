package tenants

import (
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	attach "github.com/attach-dev/attach-gateway"
)

// TeamInput is what a caller may set on a team.
type TeamInput struct {
	Slug string `json:"slug"`
	Name string `json:"name"`
	// EngineCookies lets the team's engines set cookies on its clients.
	// On update nil keeps the stored setting; on create it means off.
	EngineCookies *bool `json:"engine_cookies"`
}

// IssuerInput is what a caller may set on an issuer.
type IssuerInput struct {
	URL        string   `json:"issuer"`
	Audience   string   `json:"audience"`
	Algorithms []string `json:"algorithms"`
	UserClaim  string   `json:"user_claim"`
	// Exchange makes the issuer the team's exchange issuer; nil: it is not
	// (on update, nil takes the setting away). See IssuerExchangeInput.
	Exchange *IssuerExchangeInput `json:"exchange"`
}

// EngineInput is what a caller may set on an engine.
type EngineInput struct {
	Name    string `json:"name"`
	Dialect string `json:"dialect"`
	BaseURL string `json:"base_url"`
	// APIKey is the upstream secret. On update nil keeps the stored one and
	// "" clears it; on create both mean none.
	APIKey  *string  `json:"api_key"`
	Models  []string `json:"models"`
	Default bool     `json:"default"`
}

// AgentInput is what a caller may set on an A2A agent.
type AgentInput struct {
	// Name is a slug: the agent's segment of /t/{team}/a2a/{name}.
	Name    string `json:"name"`
	BaseURL string `json:"base_url"`
	// Version is "0.3", "1.0" or "auto" (read from the card); "" means auto.
	Version string `json:"version"`
	// Credential is the secret sent to the agent as a Bearer token. On
	// update nil keeps the stored one and "" clears it; on create both mean
	// none.
	Credential *string `json:"credential"`
}

// APIKeyInput is what a caller may set on a new gateway API key.
type APIKeyInput struct {
	Name      string     `json:"name"`
	Scopes    []string   `json:"scopes"`
	ExpiresAt *time.Time `json:"expires_at"`
	// CreatedBy is the id of the user minting the key, set by the console
	// from the session (never from a request body); "" for none. Update
	// ignores it.
	CreatedBy string `json:"-"`
}

var engineNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$`)

func (in TeamInput) normalize() (TeamInput, error) {
	if !attach.ValidSlug(in.Slug) {
		return in, attach.Invalid("slug", "must be 1 to 63 lowercase letters, digits or '-', starting with a letter or digit")
	}
	name, err := displayName("name", in.Name)
	if err != nil {
		return in, err
	}
	in.Name = name
	return in, nil
}

// over fills what in leaves out with old's values, then normalizes it; the
// result's EngineCookies is never nil.
func (in TeamInput) over(old attach.Team) (TeamInput, error) {
	if in.Slug == "" {
		in.Slug = old.Slug
	}
	if in.Name == "" {
		in.Name = old.Name
	}
	if in.EngineCookies == nil {
		in.EngineCookies = &old.EngineCookies
	}
	return in.normalize()
}

func (in IssuerInput) normalize() (IssuerInput, error) {
	// The URL is kept byte for byte: it must equal the tokens' "iss".
	if err := checkHTTPURL("issuer", in.URL); err != nil {
		return in, err
	}
	if strings.TrimSpace(in.Audience) == "" {
		return in, attach.Invalid("audience", "is required")
	}
	if len(in.Audience) > 1000 {
		return in, attach.Invalid("audience", "must be at most 1000 bytes")
	}
	algs := []string{}
	for _, a := range in.Algorithms {
		if !slices.Contains(attach.SigningAlgorithms, a) {
			return in, attach.Invalid("algorithms", "unsupported algorithm "+quoteShort(a)+"; allowed: "+strings.Join(attach.SigningAlgorithms, " "))
		}
		if !slices.Contains(algs, a) {
			algs = append(algs, a)
		}
	}
	in.Algorithms = algs
	in.UserClaim = strings.TrimSpace(in.UserClaim)
	if in.UserClaim == "" {
		in.UserClaim = "sub"
	}
	if len(in.UserClaim) > 100 {
		return in, attach.Invalid("user_claim", "must be at most 100 bytes")
	}
	if in.Exchange != nil {
		x, err := in.Exchange.normalize()
		if err != nil {
			return in, err
		}
		in.Exchange = &x
	}
	return in, nil
}

func (in EngineInput) normalize() (EngineInput, error) {
	if !engineNamePattern.MatchString(in.Name) {
		return in, attach.Invalid("name", "must be 1 to 63 letters, digits, '.', '_' or '-', starting with a letter or digit")
	}
	if in.Dialect != attach.DialectOllama && in.Dialect != attach.DialectOpenAI {
		return in, attach.Invalid("dialect", "must be ollama or openai")
	}
	if err := checkHTTPURL("base_url", in.BaseURL); err != nil {
		return in, err
	}
	// The proxy appends request paths; one spelling avoids "//v1".
	in.BaseURL = strings.TrimRight(in.BaseURL, "/")
	if in.APIKey != nil && len(*in.APIKey) > 4096 {
		return in, attach.Invalid("api_key", "must be at most 4096 bytes")
	}
	models, err := stringSet("models", in.Models, 200)
	if err != nil {
		return in, err
	}
	in.Models = models
	return in, nil
}

func (in AgentInput) normalize() (AgentInput, error) {
	if !attach.ValidSlug(in.Name) {
		return in, attach.Invalid("name", "must be 1 to 63 lowercase letters, digits or '-', starting with a letter or digit")
	}
	// The gateway's own routes under /a2a/ (the team's directory, the
	// seed's task routes) take these names: an agent called so would be
	// unreachable.
	if in.Name == "agents" || in.Name == "tasks" {
		return in, attach.Invalid("name", "is reserved: "+in.Name+" is a route of the gateway")
	}
	if err := checkHTTPURL("base_url", in.BaseURL); err != nil {
		return in, err
	}
	// Well-known paths are appended to it; one spelling avoids "//".
	in.BaseURL = strings.TrimRight(in.BaseURL, "/")
	in.Version = strings.TrimSpace(in.Version)
	if in.Version == "" {
		in.Version = attach.A2AVersionAuto
	}
	if !attach.ValidA2AVersion(in.Version) {
		return in, attach.Invalid("version", "must be 0.3, 1.0 or auto")
	}
	if in.Credential != nil {
		c := strings.TrimSpace(*in.Credential)
		if len(c) > 4096 {
			return in, attach.Invalid("credential", "must be at most 4096 bytes")
		}
		if strings.IndexFunc(c, unicode.IsControl) >= 0 {
			return in, attach.Invalid("credential", "cannot contain control characters")
		}
		in.Credential = &c
	}
	return in, nil
}

func (in APIKeyInput) normalize(now time.Time) (APIKeyInput, error) {
	name, err := displayName("name", in.Name)
	if err != nil {
		return in, err
	}
	in.Name = name
	for _, s := range in.Scopes {
		if strings.IndexFunc(s, unicode.IsSpace) >= 0 {
			return in, attach.Invalid("scopes", "a scope cannot contain spaces")
		}
	}
	scopes, err := stringSet("scopes", in.Scopes, 100)
	if err != nil {
		return in, err
	}
	for _, s := range scopes {
		if !slices.Contains(attach.KeyScopes, s) {
			return in, attach.Invalid("scopes", "unknown scope "+quoteShort(s)+"; known: "+strings.Join(attach.KeyScopes, " "))
		}
	}
	in.Scopes = scopes
	if in.CreatedBy != "" && !attach.ValidID(in.CreatedBy) {
		return in, attach.Invalid("created_by", "must be a user id")
	}
	if in.ExpiresAt != nil {
		if !in.ExpiresAt.After(now) {
			return in, attach.Invalid("expires_at", "must be in the future")
		}
		t := in.ExpiresAt.UTC()
		in.ExpiresAt = &t
	}
	return in, nil
}

func displayName(field, s string) (string, error) {
	s = strings.TrimSpace(s)
	n := utf8.RuneCountInString(s)
	if n == 0 || n > 200 || !utf8.ValidString(s) {
		return s, attach.Invalid(field, "must be 1 to 200 characters")
	}
	if strings.IndexFunc(s, unicode.IsControl) >= 0 {
		return s, attach.Invalid(field, "cannot contain control characters")
	}
	return s, nil
}

// checkHTTPURL accepts absolute http and https URLs with a host. Plain http
// is allowed: self-hosted IdPs and engines often sit on loopback or a
// private network. Credentials in the URL are refused because the URL is
// stored and shown in clear.
func checkHTTPURL(field, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.Hostname() == "" {
		return attach.Invalid(field, "must be an absolute http or https URL")
	}
	if u.User != nil {
		return attach.Invalid(field, "must not contain credentials")
	}
	if u.RawQuery != "" || u.ForceQuery || u.Fragment != "" || strings.Contains(raw, "#") {
		return attach.Invalid(field, "must not have a query or fragment")
	}
	return nil
}

// stringSet trims, drops duplicates (keeping order) and refuses empty or
// overlong items.
func stringSet(field string, in []string, maxLen int) ([]string, error) {
	out := []string{}
	for _, s := range in {
		s = strings.TrimSpace(s)
		if s == "" {
			return nil, attach.Invalid(field, "items cannot be empty")
		}
		if len(s) > maxLen {
			return nil, attach.Invalid(field, "items must be at most "+strconv.Itoa(maxLen)+" bytes")
		}
		if !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if len(out) > 1000 {
		return nil, attach.Invalid(field, "at most 1000 items")
	}
	return out, nil
}

func quoteShort(s string) string {
	if r := []rune(s); len(r) > 20 {
		s = string(r[:20]) + "…"
	}
	return strconv.Quote(s)
}
