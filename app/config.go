package app

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"log/slog"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/console"
	"github.com/attach-dev/attach-gateway/memory"
)

// Config is everything the gateway reads from its environment. The seed's
// names (PORT, OIDC_ISSUER, OIDC_AUD, ENGINE_URL, MEM_BACKEND, WEAVIATE_URL,
// DATABASE_URL) are accepted beside the ATTACH_* ones; where both are set the
// ATTACH_* name wins.
type Config struct {
	Host string // ATTACH_HOST, default all interfaces
	Port int    // ATTACH_PORT or PORT, default 8080

	DatabaseURL string // ATTACH_DATABASE_URL or DATABASE_URL; empty: embedded Postgres
	DataDir     string // ATTACH_DATA_DIR, default ./.attach

	// SecretKey (ATTACH_SECRET_KEY, 32 bytes as base64 or hex) seals upstream
	// API keys and keys the session HMAC. On the embedded default it is made
	// once and kept in the data folder.
	SecretKey []byte
	// AdminToken (ATTACH_ADMIN_TOKEN) guards the management API. On the
	// embedded default it is made once and kept in the data folder.
	AdminToken string

	DefaultTeam string // ATTACH_DEFAULT_TEAM, the team served at the root, default "default"

	// Side-car mode: these configure the default team at start-up.
	OIDCIssuer    string   // OIDC_ISSUER
	OIDCAudience  string   // OIDC_AUD
	EngineURL     string   // ENGINE_URL
	EngineDialect string   // ENGINE_DIALECT, default ollama
	EngineAPIKey  string   // ENGINE_API_KEY
	EngineModels  []string // ENGINE_MODELS, comma separated

	MemBackend  string // MEM_BACKEND: postgres (default), weaviate, none
	WeaviateURL string // WEAVIATE_URL, required for weaviate
	// WeaviateGRPC (ATTACH_WEAVIATE_GRPC, host:port) makes batch writes use
	// Weaviate's faster gRPC API.
	WeaviateGRPC string
	// MemWorker (ATTACH_MEM_WORKER, default true) runs memory delivery in
	// the server process; false leaves it to `attach worker` processes.
	MemWorker bool
	// MemMaxContent (ATTACH_MEM_MAX_CONTENT, default 64 KiB) truncates longer
	// prompts and answers before they are stored.
	MemMaxContent int
	// MemJournalMax (ATTACH_MEM_JOURNAL_MAX, default 1 GiB) bounds the
	// local journal in the data folder (memory-journal/) that holds
	// recorded exchanges while Postgres cannot take them.
	MemJournalMax int
	// MemOnFull (ATTACH_MEM_ON_FULL: refuse, the default, or drop) is what
	// happens when even the journal is full: refuse answers 503 before
	// calling the engine; drop serves and counts what is not recorded.
	MemOnFull string
	// MemRedact (ATTACH_MEM_REDACT, regular expressions separated by
	// newlines) adds to the secrets redacted before anything is stored.
	MemRedact []string

	// PublicURL (ATTACH_PUBLIC_URL) is where clients reach the gateway: the
	// hosted URL shown to teams, the console's sign-in redirect, and the
	// Secure flag on cookies when it is https. Default http://localhost:PORT.
	PublicURL string
	// Console single sign-on (off when the issuer is empty).
	ConsoleOIDCIssuer       string // ATTACH_CONSOLE_OIDC_ISSUER
	ConsoleOIDCClientID     string // ATTACH_CONSOLE_OIDC_CLIENT_ID
	ConsoleOIDCClientSecret string // ATTACH_CONSOLE_OIDC_CLIENT_SECRET
	// ConsoleOIDCLocalSignOut (ATTACH_CONSOLE_OIDC_LOCAL_SIGNOUT) signs
	// people out of the console only, never at the provider.
	ConsoleOIDCLocalSignOut bool
	// AllowPrivateNetworks (ATTACH_ALLOW_PRIVATE_NETWORKS) lets teams
	// register engines and issuers on loopback and private addresses.
	// Default true on the embedded install, false when DATABASE_URL is set
	// (a hosted, shared install). The side-car ENGINE_URL and OIDC_ISSUER
	// are reachable either way: the operator named them. Link-local
	// addresses (cloud metadata) are refused either way.
	AllowPrivateNetworks bool
	// TeamCreators (ATTACH_TEAM_CREATORS: everyone, none, admins,
	// domain:example.com[,other.org] or group:name[,other]) says who may
	// create teams in the console; install administrators always may.
	// Default everyone on the embedded install, none when DATABASE_URL is
	// set.
	TeamCreators console.TeamCreators
	// ConsoleOIDCGroupsClaim (ATTACH_CONSOLE_OIDC_GROUPS_CLAIM, default
	// "groups") is the ID token claim listing the user's groups, which
	// TeamCreators group:... reads.
	ConsoleOIDCGroupsClaim string
	// InstallAdmins (ATTACH_INSTALL_ADMINS, email addresses separated by
	// commas) are install administrators once they proved the address,
	// beside the accounts made with `attach user create --install-admin`
	// or marked through the management API.
	InstallAdmins console.InstallAdmins

	MaxBodyBytes int // ATTACH_MAX_BODY_BYTES, default 10 MiB
	// BodyMemory (ATTACH_BODY_MEMORY, default 256 MiB) bounds what all
	// request bodies being read or held at once may take together; past it
	// requests get 503 with Retry-After.
	BodyMemory        int
	MaxHeaderBytes    int           // ATTACH_MAX_HEADER_BYTES, default 128 KiB
	UpstreamTimeout   time.Duration // ATTACH_UPSTREAM_TIMEOUT, time to the engine's first byte, default 120s
	StreamIdleTimeout time.Duration // ATTACH_STREAM_IDLE_TIMEOUT, default 120s
	ShutdownTimeout   time.Duration // ATTACH_SHUTDOWN_TIMEOUT, default 30s
	JWKSMinRefresh    time.Duration // ATTACH_JWKS_MIN_REFRESH, default 30s
	KeyUsageInterval  time.Duration // how often API key last-used times and caller counts are written; 10s
	// SeedRetryBase is the wait before a seed task's second try, doubling
	// with each further try; default 1s. SeedStopGrace is how long a
	// stopping server lets the seed tasks in hand finish before handing
	// them back to the queue; default 5s.
	SeedRetryBase, SeedStopGrace time.Duration

	// TrustedProxies (ATTACH_TRUSTED_PROXIES, comma separated IPs or CIDRs)
	// may set X-Forwarded-Proto; from anyone else it is ignored.
	TrustedProxies []string

	LogLevel slog.Level // ATTACH_LOG_LEVEL: debug, info (default), warn, error

	Usage UsageConfig // ATTACH_USAGE_*: see usage.go
	// Quotas (quotas.go): MaxTokensPerMin (ATTACH_MAX_TOKENS_PER_MIN or
	// MAX_TOKENS_PER_MIN) limits each user of the default team; the budget
	// and retry say how long requests wait for Postgres, and how long a
	// replica keeps to its own counts after Postgres failed.
	MaxTokensPerMin             int64
	QuotaDBBudget, QuotaDBRetry time.Duration
	quotaNow                    func() time.Time // tests fix the quota windows' clock
}

// ConfigError names the variable that stopped start-up.
type ConfigError struct {
	Var string
	Msg string
}

func (e *ConfigError) Error() string { return "config: " + e.Var + ": " + e.Msg }

// LoadConfig reads the configuration through getenv (os.Getenv in production).
func LoadConfig(getenv func(string) string) (Config, error) {
	r := envReader{getenv: getenv}
	c := Config{
		Host:          r.str("ATTACH_HOST"),
		Port:          r.port(),
		DatabaseURL:   r.str("ATTACH_DATABASE_URL", "DATABASE_URL"),
		DataDir:       r.strOr("./.attach", "ATTACH_DATA_DIR"),
		AdminToken:    r.str("ATTACH_ADMIN_TOKEN"),
		DefaultTeam:   r.strOr("default", "ATTACH_DEFAULT_TEAM"),
		OIDCIssuer:    r.str("ATTACH_OIDC_ISSUER", "OIDC_ISSUER"),
		OIDCAudience:  r.str("ATTACH_OIDC_AUD", "OIDC_AUD"),
		EngineURL:     r.str("ATTACH_ENGINE_URL", "ENGINE_URL"),
		EngineDialect: r.strOr(attach.DialectOllama, "ATTACH_ENGINE_DIALECT", "ENGINE_DIALECT"),
		EngineAPIKey:  r.str("ATTACH_ENGINE_API_KEY", "ENGINE_API_KEY"),
		EngineModels:  r.list("ATTACH_ENGINE_MODELS", "ENGINE_MODELS"),
		WeaviateURL:   r.str("ATTACH_WEAVIATE_URL", "WEAVIATE_URL"),
		WeaviateGRPC:  r.str("ATTACH_WEAVIATE_GRPC"),
		MemWorker:     r.boolean(true, "ATTACH_MEM_WORKER"),
		MemMaxContent: r.size(64<<10, "ATTACH_MEM_MAX_CONTENT"),
		MemJournalMax: r.size(1<<30, "ATTACH_MEM_JOURNAL_MAX"),
		MemRedact:     r.lines("ATTACH_MEM_REDACT"),
		PublicURL:     strings.TrimRight(r.str("ATTACH_PUBLIC_URL"), "/"),

		ConsoleOIDCIssuer:       r.str("ATTACH_CONSOLE_OIDC_ISSUER"),
		ConsoleOIDCClientID:     r.str("ATTACH_CONSOLE_OIDC_CLIENT_ID"),
		ConsoleOIDCClientSecret: r.str("ATTACH_CONSOLE_OIDC_CLIENT_SECRET"),
		ConsoleOIDCLocalSignOut: r.boolean(false, "ATTACH_CONSOLE_OIDC_LOCAL_SIGNOUT"),
		ConsoleOIDCGroupsClaim:  r.strOr("groups", "ATTACH_CONSOLE_OIDC_GROUPS_CLAIM"),
		// Defaults that depend on the mode are set below.
		AllowPrivateNetworks: r.boolean(true, "ATTACH_ALLOW_PRIVATE_NETWORKS"),

		MaxBodyBytes:      r.size(10<<20, "ATTACH_MAX_BODY_BYTES"),
		BodyMemory:        r.size(256<<20, "ATTACH_BODY_MEMORY"),
		MaxHeaderBytes:    r.size(128<<10, "ATTACH_MAX_HEADER_BYTES"),
		UpstreamTimeout:   r.duration(120*time.Second, "ATTACH_UPSTREAM_TIMEOUT"),
		StreamIdleTimeout: r.duration(120*time.Second, "ATTACH_STREAM_IDLE_TIMEOUT"),
		ShutdownTimeout:   r.duration(30*time.Second, "ATTACH_SHUTDOWN_TIMEOUT"),
		JWKSMinRefresh:    r.duration(30*time.Second, "ATTACH_JWKS_MIN_REFRESH"),
		KeyUsageInterval:  10 * time.Second,
		TrustedProxies:    r.list("ATTACH_TRUSTED_PROXIES"),
		LogLevel:          r.level("ATTACH_LOG_LEVEL"),
		Usage:             loadUsageConfig(&r),
		MaxTokensPerMin:   r.limit("ATTACH_MAX_TOKENS_PER_MIN", "MAX_TOKENS_PER_MIN"),
		QuotaDBBudget:     r.duration(250*time.Millisecond, "ATTACH_QUOTA_DB_BUDGET"),
		QuotaDBRetry:      r.duration(time.Second, "ATTACH_QUOTA_DB_RETRY"),
	}
	if r.err != nil {
		return Config{}, r.err
	}
	if k := r.str("ATTACH_SECRET_KEY"); k != "" {
		key, err := ParseSecretKey(k)
		if err != nil {
			return Config{}, &ConfigError{"ATTACH_SECRET_KEY", err.Error()}
		}
		c.SecretKey = key
	}
	if c.PublicURL == "" {
		c.PublicURL = "http://localhost:" + strconv.Itoa(c.Port)
	}
	// A shared install (DATABASE_URL) defaults to the careful choices:
	// teams neither reach the install's own network nor are made by
	// whoever signs in.
	hosted := c.DatabaseURL != ""
	if hosted && r.str("ATTACH_ALLOW_PRIVATE_NETWORKS") == "" {
		c.AllowPrivateNetworks = false
	}
	creators := "everyone"
	if hosted {
		creators = "none"
	}
	var err error
	if c.TeamCreators, err = console.ParseTeamCreators(r.strOr(creators, "ATTACH_TEAM_CREATORS")); err != nil {
		return Config{}, &ConfigError{"ATTACH_TEAM_CREATORS", err.Error()}
	}
	if c.InstallAdmins, err = console.ParseInstallAdmins(r.list("ATTACH_INSTALL_ADMINS")); err != nil {
		return Config{}, &ConfigError{"ATTACH_INSTALL_ADMINS", err.Error()}
	}
	if c.MemBackend, err = memory.ParseBackend(r.str("ATTACH_MEM_BACKEND", "MEM_BACKEND")); err != nil {
		return Config{}, &ConfigError{"MEM_BACKEND", err.Error()}
	}
	if c.MemOnFull, err = memory.ParseOnFull(r.str("ATTACH_MEM_ON_FULL")); err != nil {
		return Config{}, &ConfigError{"ATTACH_MEM_ON_FULL", err.Error()}
	}
	return c, c.validate()
}

func (c Config) validate() error {
	if c.DatabaseURL != "" && len(c.SecretKey) == 0 {
		return &ConfigError{"ATTACH_SECRET_KEY", "required when DATABASE_URL is set (32 random bytes, base64; e.g. `openssl rand -base64 32`)"}
	}
	if c.DatabaseURL != "" {
		if _, err := url.Parse(c.DatabaseURL); err != nil && !strings.Contains(c.DatabaseURL, "=") {
			return &ConfigError{"DATABASE_URL", "not a Postgres URL or key=value DSN"}
		}
	}
	if c.AdminToken != "" && len(c.AdminToken) < 16 {
		return &ConfigError{"ATTACH_ADMIN_TOKEN", "too short: use at least 16 random characters"}
	}
	if !attach.ValidSlug(c.DefaultTeam) {
		return &ConfigError{"ATTACH_DEFAULT_TEAM", "must be lowercase letters, digits and dashes"}
	}
	if c.OIDCIssuer != "" {
		if err := checkHTTPURL(c.OIDCIssuer); err != nil {
			return &ConfigError{"OIDC_ISSUER", err.Error()}
		}
		if c.OIDCAudience == "" {
			return &ConfigError{"OIDC_AUD", "required when OIDC_ISSUER is set: the audience tokens must carry"}
		}
	} else if c.OIDCAudience != "" {
		return &ConfigError{"OIDC_ISSUER", "required when OIDC_AUD is set"}
	}
	if c.EngineURL != "" {
		if err := checkHTTPURL(c.EngineURL); err != nil {
			return &ConfigError{"ENGINE_URL", err.Error()}
		}
	}
	if c.EngineDialect != attach.DialectOllama && c.EngineDialect != attach.DialectOpenAI {
		return &ConfigError{"ENGINE_DIALECT", "must be ollama or openai"}
	}
	if c.MemBackend == memory.BackendWeaviate {
		if c.WeaviateURL == "" {
			return &ConfigError{"WEAVIATE_URL", "required when MEM_BACKEND=weaviate"}
		}
		if err := checkHTTPURL(c.WeaviateURL); err != nil {
			return &ConfigError{"WEAVIATE_URL", err.Error()}
		}
	}
	if err := checkHTTPURL(c.PublicURL); err != nil {
		return &ConfigError{"ATTACH_PUBLIC_URL", err.Error()}
	}
	if c.ConsoleOIDCIssuer != "" {
		if err := checkHTTPURL(c.ConsoleOIDCIssuer); err != nil {
			return &ConfigError{"ATTACH_CONSOLE_OIDC_ISSUER", err.Error()}
		}
		if c.ConsoleOIDCClientID == "" {
			return &ConfigError{"ATTACH_CONSOLE_OIDC_CLIENT_ID", "required when ATTACH_CONSOLE_OIDC_ISSUER is set"}
		}
	}
	for _, p := range c.MemRedact {
		if _, err := regexp.Compile(p); err != nil {
			return &ConfigError{"ATTACH_MEM_REDACT", fmt.Sprintf("pattern %q: %v", p, err)}
		}
	}
	return nil
}

// Addr is the listen address.
func (c Config) Addr() string {
	return c.Host + ":" + strconv.Itoa(c.Port)
}

// ParseSecretKey accepts 32 bytes written as base64 (standard or URL
// alphabet, padded or not) or as 64 hex digits.
func ParseSecretKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if len(s) == 64 {
		if b, err := hex.DecodeString(s); err == nil {
			return b, nil
		}
	}
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != 32 {
				return nil, fmt.Errorf("must be 32 bytes, got %d", len(b))
			}
			return b, nil
		}
	}
	return nil, fmt.Errorf("must be 32 bytes written as base64 or 64 hex digits")
}

func checkHTTPURL(s string) error {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("must be an absolute http(s) URL")
	}
	return nil
}

// envReader reads typed values and keeps the first error, which names the
// variable, so LoadConfig reads like a table.
type envReader struct {
	getenv func(string) string
	err    error
}

// lookup returns the first non-empty value among names and the name it came from.
func (r *envReader) lookup(names ...string) (string, string) {
	for _, n := range names {
		if v := strings.TrimSpace(r.getenv(n)); v != "" {
			return v, n
		}
	}
	return "", names[0]
}

func (r *envReader) fail(name, msg string) {
	if r.err == nil {
		r.err = &ConfigError{name, msg}
	}
}

func (r *envReader) str(names ...string) string {
	v, _ := r.lookup(names...)
	return v
}

func (r *envReader) strOr(def string, names ...string) string {
	if v, _ := r.lookup(names...); v != "" {
		return v
	}
	return def
}

func (r *envReader) list(names ...string) []string {
	v, _ := r.lookup(names...)
	return splitItems(v, ",")
}

func (r *envReader) boolean(def bool, names ...string) bool {
	v, name := r.lookup(names...)
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		r.fail(name, "must be true or false")
	}
	return b
}

// lines splits a value on newlines, for lists whose items may hold commas.
func (r *envReader) lines(names ...string) []string {
	v, _ := r.lookup(names...)
	return splitItems(v, "\n")
}

// splitItems splits v on sep into its items, trimmed, leaving out empty
// ones; nil when there are none.
func splitItems(v, sep string) []string {
	var out []string
	for _, p := range strings.Split(v, sep) {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func (r *envReader) port() int {
	v, name := r.lookup("ATTACH_PORT", "PORT")
	if v == "" {
		return 8080
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 0 || p > 65535 {
		r.fail(name, "must be a port number (0-65535)")
	}
	return p
}

func (r *envReader) duration(def time.Duration, names ...string) time.Duration {
	v, name := r.lookup(names...)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		r.fail(name, "must be a positive duration like 30s or 2m")
	}
	return d
}

// size reads a byte count: 1048576, 512KiB, 10MiB, 1GiB (also KB/MB/GB as 1000s).
func (r *envReader) size(def int, names ...string) int {
	v, name := r.lookup(names...)
	if v == "" {
		return def
	}
	units := []struct {
		suffix string
		mult   int
	}{{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"KB", 1000}, {"MB", 1000 * 1000}, {"GB", 1000 * 1000 * 1000}, {"B", 1}}
	mult := 1
	for _, u := range units {
		if strings.HasSuffix(v, u.suffix) {
			v, mult = strings.TrimSpace(strings.TrimSuffix(v, u.suffix)), u.mult
			break
		}
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 || n > (1<<31-1)/mult {
		r.fail(name, "must be a positive size like 10MiB")
		return def
	}
	return n * mult
}

func (r *envReader) level(names ...string) slog.Level {
	v, name := r.lookup(names...)
	var l slog.Level
	if v == "" {
		return slog.LevelInfo
	}
	if err := l.UnmarshalText([]byte(v)); err != nil {
		r.fail(name, "must be debug, info, warn or error")
	}
	return l
}
