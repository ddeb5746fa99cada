package identity

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"slices"
	"strings"
	"time"

	attach "github.com/attach-dev/attach-gateway"
	"github.com/attach-dev/attach-gateway/tenants"
)

// DID-JWT sign-in: a JWT whose iss is a DID (did:key, did:pkh, did:web) and
// whose signature is made by a key that DID names. There is no issuer to
// trust: the team trusts DID methods, optionally only some DIDs, and the
// DID is the caller's identity (Principal.Subject and Issuer).

// didAlgorithms are the JWS algorithms DID-JWTs may be signed with; each
// key type accepts only its own (didPublicKey.fits).
var didAlgorithms = []string{"EdDSA", "ES256", "ES256K", "ES256K-R"}

// maxKIDLen bounds the kid header: a DID URL with a fragment.
const maxKIDLen = 2048

// didHeader is the JOSE header of a DID-JWT, read before the signature.
type didHeader struct {
	Alg  string
	Kid  string
	Crit bool // the token names critical extensions, none of which are understood
}

// parseDIDHeader reads and checks the header segment of a DID-JWT.
func parseDIDHeader(seg string) (didHeader, error) {
	b, err := decodeSegment(seg)
	if err != nil {
		return didHeader{}, fail(ReasonMalformed, "token header is not base64url")
	}
	// A map, not a struct: JOSE header names are case-sensitive, and
	// encoding/json would match "ALG" or "Kid" to a struct's fields.
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(b, &fields); err != nil || fields == nil {
		return didHeader{}, fail(ReasonMalformed, "token header is not a JSON object")
	}
	raw := struct{ Kid, Typ, Crit json.RawMessage }{fields["kid"], fields["typ"], fields["crit"]}
	var alg string
	if v, ok := fields["alg"]; ok && json.Unmarshal(v, &alg) != nil {
		return didHeader{}, fail(ReasonMalformed, "token header alg is not a string")
	}
	if !slices.Contains(didAlgorithms, alg) {
		return didHeader{}, fail(ReasonAlgNotAllowed, "DID token algorithm %s is not allowed; use EdDSA, ES256, ES256K or ES256K-R", quote(alg))
	}
	if len(raw.Typ) > 0 && string(raw.Typ) != "null" {
		var typ string
		if err := json.Unmarshal(raw.Typ, &typ); err != nil || !acceptedType(typ) {
			return didHeader{}, fail(ReasonBadType, "token type must be JWT")
		}
	}
	if len(raw.Crit) > 0 && string(raw.Crit) != "null" {
		return didHeader{}, fail(ReasonMalformed, "token header names critical extensions the gateway does not understand")
	}
	h := didHeader{Alg: alg}
	if len(raw.Kid) > 0 && string(raw.Kid) != "null" {
		if err := json.Unmarshal(raw.Kid, &h.Kid); err != nil {
			return didHeader{}, fail(ReasonMalformed, "token header kid is not a string")
		}
		if len(h.Kid) > maxKIDLen {
			return didHeader{}, fail(ReasonMalformed, "token header kid is longer than %d bytes", maxKIDLen)
		}
	}
	return h, nil
}

// kidFragment returns the key fragment the kid names inside did: kid is
// either the DID itself followed by "#fragment", or a relative "#fragment".
// No kid, or the bare DID, names no key in particular (""). A kid inside
// another DID is refused: that DID's key must not speak for this one.
func kidFragment(did, kid string) (string, error) {
	if kid == "" || kid == did {
		return "", nil
	}
	base, frag, ok := strings.Cut(kid, "#")
	if !ok || frag == "" {
		return "", fail(ReasonKIDMismatch, "token kid %s is not a key of %s", quote(kid), quote(did))
	}
	if base != "" && base != did {
		return "", fail(ReasonKIDMismatch, "token kid %s names a key of another DID than the issuer %s", quote(kid), quote(did))
	}
	return frag, nil
}

// didMethod is the method name of a DID ("key" for did:key:...).
func didMethod(did string) string {
	rest := strings.TrimPrefix(did, "did:")
	m, _, _ := strings.Cut(rest, ":")
	return m
}

// verifyDID checks a JWT whose iss is a DID for the team.
func (v *Verifier) verifyDID(ctx context.Context, team *tenants.Snapshot, token string, parts []string, cl claims, resource string, now time.Time) (attach.Principal, error) {
	did := cl.iss
	policy := team.DID
	method := didMethod(did)
	if !slices.Contains(policy.Methods, method) {
		return attach.Principal{}, fail(ReasonDIDMethodNotTrusted, "team %q does not accept DID tokens of method %s", team.Team.Slug, quote("did:"+method))
	}
	if len(policy.Allow) > 0 && !slices.Contains(policy.Allow, did) {
		return attach.Principal{}, fail(ReasonDIDNotAllowed, "DID %s is not on team %q's allow-list", quote(did), team.Team.Slug)
	}
	if err := checkSubject(did, "iss"); err != nil {
		return attach.Principal{}, err
	}
	hdr, err := parseDIDHeader(parts[0])
	if err != nil {
		return attach.Principal{}, err
	}
	frag, err := kidFragment(did, hdr.Kid)
	if err != nil {
		return attach.Principal{}, err
	}
	switch method {
	case attach.DIDMethodKey:
		err = checkDIDKey(token, parts, hdr.Alg, did, frag)
	case attach.DIDMethodPKH:
		err = checkDIDPKH(parts, hdr.Alg, did, frag)
	case attach.DIDMethodWeb:
		err = v.web.check(ctx, token, parts, hdr.Alg, did, frag)
	default:
		// A team may list a method the gateway cannot resolve.
		err = fail(ReasonDIDMethodNotTrusted, "DID method %s is not supported", quote("did:"+method))
	}
	if err != nil {
		return attach.Principal{}, err
	}
	if err := v.checkTimes(cl, now); err != nil {
		return attach.Principal{}, err
	}
	if want := v.didAudiences(team, resource); !slices.ContainsFunc(cl.aud, func(a string) bool { return slices.Contains(want, a) }) {
		quoted := make([]string, len(want))
		for i, a := range want {
			quoted[i] = quote(a)
		}
		if len(quoted) == 0 {
			return attach.Principal{}, fail(ReasonWrongAudience, "team %q has no audience configured for DID tokens", team.Team.Slug)
		}
		return attach.Principal{}, fail(ReasonWrongAudience, "token audience does not include %s", strings.Join(quoted, " or "))
	}
	return attach.Principal{
		TeamID:    team.Team.ID,
		TeamSlug:  team.Team.Slug,
		Subject:   did,
		Issuer:    did,
		Method:    attach.MethodDID,
		Scopes:    cl.scopes,
		ExpiresAt: *cl.exp,
	}, nil
}

// teamGatewayURL is the team's hosted gateway URL, PublicURL/t/SLUG; ""
// when the verifier was given no public URL.
func (v *Verifier) teamGatewayURL(team *tenants.Snapshot) string {
	if v.cfg.PublicURL == "" {
		return ""
	}
	return v.cfg.PublicURL + "/t/" + team.Team.Slug
}

// didAudiences are the aud values a DID token for the team may carry: the
// team's gateway URL (and the bare gateway URL for the default team) and
// the team's configured audiences; for a resource, that resource only.
func (v *Verifier) didAudiences(team *tenants.Snapshot, resource string) []string {
	if resource != "" {
		return []string{resource}
	}
	var want []string
	if u := v.teamGatewayURL(team); u != "" {
		want = append(want, u)
		if v.cfg.DefaultTeam != "" && team.Team.Slug == v.cfg.DefaultTeam {
			want = append(want, v.cfg.PublicURL)
		}
	}
	return append(want, team.DID.Audiences...)
}

// checkDIDKey verifies a did:key token: the key is in the DID itself, and a
// kid must name it by its own multibase value.
func checkDIDKey(token string, parts []string, alg, did, frag string) error {
	key, mb, err := parseDIDKey(did)
	if err != nil {
		return &attach.Error{Code: attach.CodeInvalidToken, Reason: ReasonDIDUnresolvable, Message: "DID " + quote(did) + " is not a valid did:key", Err: err}
	}
	if frag != "" && frag != mb {
		return fail(ReasonKIDMismatch, "token kid fragment %s is not the key of %s", quote(frag), quote(did))
	}
	if !key.fits(alg) {
		return fail(ReasonAlgNotAllowed, "the key of %s does not sign %s", quote(did), alg)
	}
	if !key.verify(token, parts, alg) {
		return fail(ReasonBadSignature, "token signature does not verify with the key of %s", quote(did))
	}
	return nil
}

// checkDIDPKH verifies a did:pkh token: the key recovered from the
// ES256K-R signature must hash to the DID's account address.
func checkDIDPKH(parts []string, alg, did, frag string) error {
	addr, err := parsePKH(did)
	if err != nil {
		return &attach.Error{Code: attach.CodeInvalidToken, Reason: ReasonDIDUnresolvable, Message: "DID " + quote(did) + " is not a supported did:pkh", Err: err}
	}
	// The account's only verification method in its DID document.
	if frag != "" && frag != "blockchainAccountId" {
		return fail(ReasonKIDMismatch, "token kid fragment %s is not the account of %s", quote(frag), quote(did))
	}
	if alg != "ES256K-R" {
		return fail(ReasonAlgNotAllowed, "did:pkh tokens must be signed with ES256K-R, not %s", alg)
	}
	sig, err := decodeSegment(parts[2])
	if err != nil {
		return fail(ReasonMalformed, "token signature is not base64url")
	}
	got, err := recoverAddress(parts[0]+"."+parts[1], sig)
	if err != nil {
		return fail(ReasonBadSignature, "no key can be recovered from the token signature")
	}
	if !bytes.Equal(got, addr) {
		return fail(ReasonBadSignature, "token is signed by another account than %s", quote(did))
	}
	return nil
}

func decodeSegment(seg string) ([]byte, error) {
	return base64.RawURLEncoding.DecodeString(seg)
}
