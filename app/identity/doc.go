// Package identity turns a Bearer token into a Principal: who is calling, for
// which team, through which issuer, with which scopes.
//
// A team trusts OpenID Connect issuers (their tokens are JWTs checked against
// the issuer's published keys) and gateway API keys it has minted. The
// Verifier keeps every issuer's keys in memory, shared across teams, and
// remembers recently verified tokens so the request path rarely pays for a
// signature check.
//
// A team may also accept DID-JWTs (did.go): a JWT whose iss is a DID and
// whose signature is made by a key of that DID, with no issuer to trust.
// did:key carries its key (Ed25519, P-256 or secp256k1) in the DID itself;
// did:pkh eip155 names an account, and the key recovered from the ES256K-R
// signature must hash to it; did:web names an HTTPS document, read through
// the caller's HTTP client (the install's network policy) and kept for a
// while. The team's DID policy says which methods it trusts, optionally
// which DIDs, and which audiences besides its gateway URL a token may
// carry. The DID is the caller: Principal.Subject and Issuer, and so
// X-Attach-User.
//
// The gateway's own tokens verify here too: console tokens, delegation
// tokens for agents (kid dlg-<period>), and tokens it issued in exchange for
// another at its token endpoint (Exchanger, RFC 8693; kid xch-<period>),
// each bound to one audience of one team. A team may also name an exchange
// issuer: a token it does not otherwise accept (opaque, or of an issuer it
// does not trust) is exchanged at that issuer's token endpoint (RFC 8693)
// and the issuer's answer verified in its place (upstream_exchange.go).
// It holds no HTTP framework types: handlers pass it the raw token and the
// team's snapshot.
package identity
