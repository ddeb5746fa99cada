// Package didtest mints DID-JWTs for tests with the real npm did-jwt
// library (js/mint.mjs, run with node), so the gateway is checked against
// the tokens agents actually send. `./deploy/dev/deps.sh` installs the npm
// packages.
package didtest

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
)

// Key types.
const (
	Ed25519   = "ed25519"   // EdDSA
	P256      = "p256"      // ES256
	Secp256k1 = "secp256k1" // ES256K, or ES256K-R for did:pkh
)

// Request says what token to mint; see js/mint.mjs.
type Request struct {
	Key    string         `json:"key"`              // Ed25519, P256 or Secp256k1
	Method string         `json:"method,omitempty"` // "key" (default), "pkh" or "web"
	WebDID string         `json:"web_did,omitempty"`
	Claims map[string]any `json:"claims,omitempty"`
	// ExpiresIn is the lifetime in seconds; 0 leaves exp out.
	ExpiresIn int `json:"expires_in,omitempty"`
	// Kid: "none", "relative" (#fragment), "absolute" (DID#fragment) or a
	// literal kid; empty: none for did:key and did:pkh, absolute for did:web.
	Kid      string `json:"kid,omitempty"`
	Fragment string `json:"fragment,omitempty"` // the key's fragment in a did:web document
	Forge    Forge  `json:"forge,omitzero"`
	// Check verifies the token with did-jwt and key-did-resolver first
	// (did:key only), proving the DID is formed as the JS world forms it.
	Check bool `json:"check,omitempty"`
}

// Forge makes a token that must be refused.
type Forge struct {
	OtherKey bool   `json:"other_key,omitempty"` // sign with a fresh key of the same type
	Iss      string `json:"iss,omitempty"`       // issue as this DID instead
	Alg      string `json:"alg,omitempty"`       // header alg instead of the key's
	// UpperAddress spells the did:pkh address in upper case (still the
	// signer's own account).
	UpperAddress bool `json:"upper_address,omitempty"`
}

// Token is a minted token and what a DID document for its key needs.
type Token struct {
	Token     string          `json:"token"`
	DID       string          `json:"did"`
	Kid       string          `json:"kid"`
	Multibase string          `json:"multibase"` // the public key, multicodec in base58btc
	JWK       json.RawMessage `json:"jwk"`       // the public key as a JWK
	Address   string          `json:"address"`   // did:pkh: the account
	Checked   bool            `json:"checked"`
}

// Mint runs mint.mjs with req. It fails the test when node or the npm
// packages are missing.
func Mint(t testing.TB, req Request) Token {
	t.Helper()
	dir := filepath.Join(sourceDir(), "js")
	if _, err := exec.LookPath("node"); err != nil {
		t.Fatal("didtest: node is not installed; run `make deps`")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "did-jwt", "package.json")); err != nil {
		t.Fatal("didtest: the did-jwt npm package is not installed; run ./deploy/dev/deps.sh")
	}
	in, err := json.Marshal(req)
	if err != nil {
		t.Fatalf("didtest: %v", err)
	}
	cmd := exec.Command("node", "mint.mjs")
	cmd.Dir = dir
	cmd.Stdin = bytes.NewReader(in)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("didtest: mint.mjs: %v: %s", err, stderr.String())
	}
	var tok Token
	if err := json.Unmarshal(out, &tok); err != nil {
		t.Fatalf("didtest: mint.mjs output: %v: %s", err, out)
	}
	if req.Check && !tok.Checked {
		t.Fatal("didtest: did-jwt did not verify its own token")
	}
	return tok
}

func sourceDir() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Dir(file)
}
