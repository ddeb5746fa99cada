package app

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// prepareDataDir makes the embedded default's data folder and, unless the
// environment gives them, the secret key and admin token kept there. They are
// made once and reused, so sealed engine keys stay readable across restarts.
func (a *App) prepareDataDir() error {
	if err := os.MkdirAll(a.cfg.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder %s: %w", a.cfg.DataDir, err)
	}
	if err := a.cfg.LoadSecretKey(); err != nil {
		return err
	}
	if a.cfg.AdminToken == "" {
		path := a.cfg.adminTokenFile()
		s, err := readOrCreateSecret(path, 32)
		if err != nil {
			return err
		}
		a.cfg.AdminToken = s
		a.log.Info("management API token kept in the data folder", "file", path)
	}
	return nil
}

// AdminTokenSource says, for people, where the management API's token
// comes from, as the configuration read from the environment has it:
// "ATTACH_ADMIN_TOKEN" when the environment gives it, the file in the data
// folder the embedded default makes and reads otherwise, and "" when there
// is none (DATABASE_URL without ATTACH_ADMIN_TOKEN: the API is off). It
// never holds the token itself.
func (c Config) AdminTokenSource() string {
	switch {
	case c.AdminToken != "":
		return "ATTACH_ADMIN_TOKEN"
	case c.DatabaseURL == "":
		return c.adminTokenFile()
	}
	return ""
}

func (c Config) adminTokenFile() string { return filepath.Join(c.DataDir, "admin.token") }

// LoadSecretKey fills in SecretKey, when the environment gives none, from
// the data folder of the embedded default, making it on first use. Commands
// other than serve call it to read what the server sealed.
func (c *Config) LoadSecretKey() error {
	if len(c.SecretKey) > 0 {
		return nil
	}
	if err := os.MkdirAll(c.DataDir, 0o700); err != nil {
		return fmt.Errorf("create data folder %s: %w", c.DataDir, err)
	}
	path := filepath.Join(c.DataDir, "secret.key")
	s, err := readOrCreateSecret(path, 32)
	if err != nil {
		return err
	}
	if c.SecretKey, err = ParseSecretKey(s); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readOrCreateSecret returns the secret in path, writing n fresh random bytes
// (base64) there first if the file does not exist.
func readOrCreateSecret(path string, n int) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", fmt.Errorf("read %s: %w", path, err)
	}
	raw := make([]byte, n)
	if _, err := rand.Read(raw); err != nil {
		return "", fmt.Errorf("make secret: %w", err)
	}
	s := base64.RawURLEncoding.EncodeToString(raw)
	// O_EXCL: if another process made the file meanwhile, use theirs.
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if errors.Is(err, fs.ErrExist) {
		return readOrCreateSecret(path, n)
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", path, err)
	}
	if _, err := f.WriteString(s + "\n"); err != nil {
		f.Close()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	return s, nil
}
