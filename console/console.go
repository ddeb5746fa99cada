// Package console is the team web console: a team admin signs in, runs
// teams and their people, registers engines, A2A agents, MCP servers and
// identity providers, sets which DIDs may sign in, mints API keys, sees who
// called the team's gateway and copies the team's hosted gateway URL.
// Each user also has an account page of their own (account.go): name,
// password, where they are signed in, and the teams they may leave. The
// install's administrators (install_admins.go) have the install's pages
// (install.go): every team, which they open and manage whether they are
// members or not (the default team has none), and every user, whom they
// lock, unlock or remove.
//
// Pages are rendered on the server with templ and every form works without
// JavaScript; web/static/console.js and chat.js only add copy buttons, inline
// results and the streaming demo chat. The console is mounted at /console and
// keeps no state of its own: users, sessions, teams and everything they
// configure live in the tenants store.
package console

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/attach-dev/attach-gateway/tenants"
)

// Base is the path the console is mounted at. Links, redirects and the SSO
// callback are built from it.
const Base = "/console"

// Config is how the install runs the console.
type Config struct {
	// PublicURL is the gateway's address as browsers and agents see it, e.g.
	// https://gw.example.com (no trailing slash). It makes the SSO redirect
	// URL and the hosted URLs shown to teams; with https, cookies are Secure.
	PublicURL string
	// OIDC is the single sign-on provider; SSO is off when Issuer is empty.
	OIDC OIDCConfig
	// SessionTTL is how long a sign-in lasts unused; each use extends it.
	// Default tenants.DefaultSessionTTL.
	SessionTTL time.Duration
	// SessionMaxAge bounds a sign-in however much it is used; default
	// tenants.DefaultSessionMaxAge.
	SessionMaxAge time.Duration
	// InviteTTL is how long an invite link works; default
	// tenants.DefaultInviteTTL.
	InviteTTL time.Duration
	// HTTPClient makes the calls to the SSO provider (discovery, keys, code
	// exchange); default a client with a 10 second timeout.
	HTTPClient *http.Client
	// CookieKey signs the short-lived cookie that carries an SSO sign-in
	// between the redirect to the provider and the way back. Replicas must
	// share it; derive it from the install's secret. When empty a random key
	// is made, which only works with a single replica.
	CookieKey []byte
	// GatewayURL is where the console itself calls the gateway's engine
	// routes for "Try it" without JavaScript; default PublicURL. Set it when
	// the public address is not reachable from the server (e.g. behind a
	// load balancer that only answers outside traffic).
	GatewayURL string
	// GatewayClient makes those calls; default a client with a 2 minute
	// timeout.
	GatewayClient *http.Client
	// TeamCreators says who may create teams here; the zero value lets
	// every signed-in user.
	TeamCreators TeamCreators
	// InstallAdmins names install administrators by verified address,
	// beside the accounts stored as such.
	InstallAdmins InstallAdmins
	// DefaultTeam is the slug of the team served at the gateway's root,
	// which the console does not delete; "" when there is none.
	DefaultTeam string
}

// OIDCConfig names the provider users sign in with.
type OIDCConfig struct {
	Issuer       string
	ClientID     string
	ClientSecret string
	// GroupsClaim is the ID token claim that lists the user's groups, for
	// a TeamCreators group rule; default "groups".
	GroupsClaim string
	// LocalSignOut signs people out of the console only: no RP-initiated
	// logout even when the provider offers it (its post-logout redirect
	// URI not registered, or a shared provider session wanted).
	LocalSignOut bool
}

// Deps are the parts of the install the console works through.
type Deps struct {
	Store  *tenants.Store
	Prober Prober
	Minter TokenMinter
	// Cards fetches agents' cards for the agents pages' "Test" and on
	// save; nil leaves the cards unfetched, and the pages say so.
	Cards CardFetcher
	// MCPServers keeps the team's MCP servers; nil uses Store.
	MCPServers MCPServerStore
	// Memory serves the team's memory pages; nil when the gateway keeps
	// no memory, and the pages say so.
	Memory MemoryStore
	// Tasks serves the team's tasks pages; nil when the gateway keeps no
	// A2A tasks, and the pages say so.
	Tasks TaskReader
	// Callers serves the Callers page: who called each team; default
	// Store.
	Callers CallerLister
	// Usage reads the usage ledger for the Usage and Keys pages; nil when
	// the install records no usage.
	Usage UsageReader
	// MemoryBackends are the backends a team may choose for its memory
	// (memory.Sinks.Names()); empty offers only "none" beside the default.
	MemoryBackends []string
	// Recorder says whether exchanges are being recorded or held in the
	// journal while the database is away; nil when there is none to ask.
	Recorder Recorder
	Logger   *slog.Logger // default: discard
}

// Console serves the console's pages. Create it with New and Mount it.
type Console struct {
	cfg         Config
	store       *tenants.Store
	probe       Prober
	cards       CardFetcher
	mcp         MCPServerStore
	mint        TokenMinter
	mem         MemoryStore
	tasks       TaskReader
	callers     CallerLister
	usage       UsageReader
	memBackends []string
	rec         Recorder
	log         *slog.Logger
	secure      bool // PublicURL is https: cookies carry Secure
	sso         *ssoClient
	cookie      cookieNames
}

// New checks cfg and returns a console ready to Mount.
func New(cfg Config, deps Deps) (*Console, error) {
	if deps.Store == nil {
		return nil, errors.New("console: a store is required")
	}
	if deps.Prober == nil {
		return nil, errors.New("console: a prober is required")
	}
	if deps.Minter == nil {
		return nil, errors.New("console: a token minter is required")
	}
	pub, err := url.Parse(cfg.PublicURL)
	if err != nil || (pub.Scheme != "http" && pub.Scheme != "https") || pub.Host == "" {
		return nil, fmt.Errorf("console: public URL %q must be an absolute http or https URL", cfg.PublicURL)
	}
	cfg.PublicURL = strings.TrimRight(cfg.PublicURL, "/")
	if cfg.GatewayURL == "" {
		cfg.GatewayURL = cfg.PublicURL
	}
	cfg.GatewayURL = strings.TrimRight(cfg.GatewayURL, "/")
	if cfg.SessionTTL <= 0 {
		cfg.SessionTTL = tenants.DefaultSessionTTL
	}
	if cfg.SessionMaxAge <= 0 {
		cfg.SessionMaxAge = max(tenants.DefaultSessionMaxAge, cfg.SessionTTL)
	}
	if cfg.InviteTTL <= 0 {
		cfg.InviteTTL = tenants.DefaultInviteTTL
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.GatewayClient == nil {
		cfg.GatewayClient = &http.Client{Timeout: 2 * time.Minute}
	}
	if len(cfg.CookieKey) == 0 {
		cfg.CookieKey = make([]byte, 32)
		if _, err := rand.Read(cfg.CookieKey); err != nil {
			return nil, fmt.Errorf("console: make cookie key: %w", err)
		}
	}
	log := deps.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	c := &Console{
		cfg:         cfg,
		store:       deps.Store,
		probe:       deps.Prober,
		cards:       deps.Cards,
		mcp:         deps.MCPServers,
		mint:        deps.Minter,
		mem:         deps.Memory,
		tasks:       deps.Tasks,
		callers:     deps.Callers,
		usage:       deps.Usage,
		memBackends: slices.Clone(deps.MemoryBackends),
		rec:         deps.Recorder,
		log:         log,
		secure:      pub.Scheme == "https",
	}
	if c.mcp == nil {
		c.mcp = deps.Store
	}
	if c.callers == nil {
		c.callers = deps.Store
	}
	c.cookie = newCookieNames(c.secure)
	if cfg.OIDC.GroupsClaim == "" {
		cfg.OIDC.GroupsClaim = "groups"
	}
	if cfg.OIDC.Issuer != "" {
		if cfg.OIDC.ClientID == "" {
			return nil, errors.New("console: SSO needs a client id")
		}
		c.sso = newSSOClient(cfg.OIDC, cfg.PublicURL+Base+"/sso/callback", cfg.HTTPClient, cfg.CookieKey)
	}
	return c, nil
}

// hostedURL is the team's gateway address, PublicURL/t/SLUG.
func (c *Console) hostedURL(slug string) string {
	return c.cfg.PublicURL + "/t/" + slug
}
