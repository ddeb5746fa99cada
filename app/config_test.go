package app

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func envOf(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

func TestLoadConfigDefaults(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(envOf(nil))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.DataDir != "./.attach" || c.DefaultTeam != "default" || c.MemBackend != "postgres" ||
		c.MaxBodyBytes != 10<<20 || c.EngineDialect != "ollama" || c.ShutdownTimeout != 30*time.Second {
		t.Fatalf("unexpected defaults: %+v", c)
	}
}

func TestLoadConfigSeedNames(t *testing.T) {
	t.Parallel()
	c, err := LoadConfig(envOf(map[string]string{
		"PORT": "9000", "OIDC_ISSUER": "https://idp.example/", "OIDC_AUD": "api",
		"ENGINE_URL": "http://127.0.0.1:11434", "MEM_BACKEND": "weaviate", "WEAVIATE_URL": "http://127.0.0.1:6666",
		"ENGINE_MODELS": "llama3, tinyllama", "ATTACH_MAX_BODY_BYTES": "2MiB",
	}))
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9000 || c.OIDCIssuer != "https://idp.example/" || c.OIDCAudience != "api" ||
		c.EngineURL != "http://127.0.0.1:11434" || c.MemBackend != "weaviate" || c.MaxBodyBytes != 2<<20 ||
		strings.Join(c.EngineModels, "|") != "llama3|tinyllama" {
		t.Fatalf("seed names not read: %+v", c)
	}
	// ATTACH_* wins over the seed's name.
	c, err = LoadConfig(envOf(map[string]string{"PORT": "9000", "ATTACH_PORT": "9001"}))
	if err != nil || c.Port != 9001 {
		t.Fatalf("ATTACH_PORT should win: %v %d", err, c.Port)
	}
}

func TestLoadConfigNamesTheBadVariable(t *testing.T) {
	t.Parallel()
	key := "MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=" // 32 bytes
	cases := []struct {
		env     map[string]string
		wantVar string
	}{
		{map[string]string{"PORT": "http"}, "PORT"},
		{map[string]string{"ATTACH_PORT": "70000"}, "ATTACH_PORT"},
		{map[string]string{"OIDC_ISSUER": "https://idp.example/"}, "OIDC_AUD"},
		{map[string]string{"OIDC_AUD": "api"}, "OIDC_ISSUER"},
		{map[string]string{"OIDC_ISSUER": "idp.example", "OIDC_AUD": "api"}, "OIDC_ISSUER"},
		{map[string]string{"ENGINE_URL": "ftp://x"}, "ENGINE_URL"},
		{map[string]string{"ENGINE_DIALECT": "grpc"}, "ENGINE_DIALECT"},
		{map[string]string{"MEM_BACKEND": "redis"}, "MEM_BACKEND"},
		{map[string]string{"MEM_BACKEND": "weaviate"}, "WEAVIATE_URL"},
		{map[string]string{"DATABASE_URL": "postgres://db/app"}, "ATTACH_SECRET_KEY"},
		{map[string]string{"ATTACH_SECRET_KEY": "short"}, "ATTACH_SECRET_KEY"},
		{map[string]string{"ATTACH_SECRET_KEY": "c2hvcnQ="}, "ATTACH_SECRET_KEY"},
		{map[string]string{"ATTACH_MAX_BODY_BYTES": "ten"}, "ATTACH_MAX_BODY_BYTES"},
		{map[string]string{"ATTACH_MAX_BODY_BYTES": "-1"}, "ATTACH_MAX_BODY_BYTES"},
		{map[string]string{"ATTACH_UPSTREAM_TIMEOUT": "5"}, "ATTACH_UPSTREAM_TIMEOUT"},
		{map[string]string{"ATTACH_LOG_LEVEL": "loud"}, "ATTACH_LOG_LEVEL"},
		{map[string]string{"ATTACH_ADMIN_TOKEN": "abc"}, "ATTACH_ADMIN_TOKEN"},
		{map[string]string{"ATTACH_DEFAULT_TEAM": "Bad Team"}, "ATTACH_DEFAULT_TEAM"},
		{map[string]string{"DATABASE_URL": "postgres://db/app", "ATTACH_SECRET_KEY": key, "ATTACH_SHUTDOWN_TIMEOUT": "soon"}, "ATTACH_SHUTDOWN_TIMEOUT"},
	}
	for _, tc := range cases {
		_, err := LoadConfig(envOf(tc.env))
		var ce *ConfigError
		if !errors.As(err, &ce) {
			t.Errorf("%v: want a ConfigError, got %v", tc.env, err)
			continue
		}
		if ce.Var != tc.wantVar {
			t.Errorf("%v: error names %s, want %s (%v)", tc.env, ce.Var, tc.wantVar, err)
		}
		if strings.Contains(err.Error(), "\n") {
			t.Errorf("%v: error is not one line: %q", tc.env, err)
		}
	}
}

func TestConfigErrorsDoNotEchoSecrets(t *testing.T) {
	t.Parallel()
	_, err := LoadConfig(envOf(map[string]string{"ATTACH_SECRET_KEY": "hunter2-very-secret-value"}))
	if err == nil || strings.Contains(err.Error(), "hunter2") {
		t.Fatalf("secret echoed or accepted: %v", err)
	}
}

func TestParseSecretKey(t *testing.T) {
	t.Parallel()
	for _, s := range []string{
		"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE=",
		"MDEyMzQ1Njc4OTAxMjM0NTY3ODkwMTIzNDU2Nzg5MDE",
		strings.Repeat("ab", 32),
	} {
		k, err := ParseSecretKey(s)
		if err != nil || len(k) != 32 {
			t.Errorf("ParseSecretKey(%q) = %d bytes, %v", s, len(k), err)
		}
	}
}
