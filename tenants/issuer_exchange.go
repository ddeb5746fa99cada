package tenants

import (
	"strings"
	"unicode"

	attach "github.com/attach-dev/attach-gateway"
)

// IssuerExchangeInput is the gateway's client at an exchange issuer: the
// client id and secret it authenticates with (client_secret_basic) when it
// exchanges a caller's token at the issuer's token endpoint.
type IssuerExchangeInput struct {
	ClientID string `json:"client_id"`
	// ClientSecret is required when the setting is new; on an update nil
	// keeps the stored one, so a client can PUT back what it read.
	ClientSecret *string `json:"client_secret"`
}

func (in IssuerExchangeInput) normalize() (IssuerExchangeInput, error) {
	in.ClientID = strings.TrimSpace(in.ClientID)
	if in.ClientID == "" {
		return in, attach.Invalid("exchange.client_id", "is required")
	}
	if len(in.ClientID) > 255 || strings.IndexFunc(in.ClientID, unicode.IsControl) >= 0 {
		return in, attach.Invalid("exchange.client_id", "must be at most 255 bytes without control characters")
	}
	if in.ClientSecret != nil {
		// Not trimmed: the secret is sent as written.
		c := *in.ClientSecret
		if c == "" {
			return in, attach.Invalid("exchange.client_secret", "cannot be empty")
		}
		if len(c) > 4096 || strings.IndexFunc(c, unicode.IsControl) >= 0 {
			return in, attach.Invalid("exchange.client_secret", "must be at most 4096 bytes without control characters")
		}
	}
	return in, nil
}

// issuerExchangeAD binds a sealed client secret to its issuer row, apart
// from the other secrets sealed under the same key.
func issuerExchangeAD(issuerID string) []byte {
	return []byte("attach issuer exchange client secret:" + issuerID)
}

// ExchangeIssuer is the team's exchange issuer, with its client secret in
// clear, if it has one.
func (s *Snapshot) ExchangeIssuer() (attach.Issuer, bool) {
	for _, is := range s.Issuers {
		if is.Exchange != nil {
			return is, true
		}
	}
	return attach.Issuer{}, false
}
