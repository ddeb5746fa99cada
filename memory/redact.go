package memory

import (
	"fmt"
	"regexp"
	"strings"
	"unicode"
)

// Redacted replaces every secret found in text before it is stored.
const Redacted = "[REDACTED]"

// Redactor finds secrets in text: bearer tokens, JWTs, gateway API keys,
// well-known provider keys, private keys, "password=..." style assignments,
// and whatever extra patterns the install configures. It is safe for
// concurrent use.
//
// It errs on the side of hiding: a word that merely looks like a key is
// replaced too, since memory is searchable by every member of the team and
// a leaked key is worse than a lost word.
type Redactor struct {
	rules []rule
	hints *hintSet // of the built-in rules, the only ones with hints
}

// rule is one kind of secret. When re has a group named "secret" only that
// group is replaced (so "Bearer xyz" keeps its "Bearer "); otherwise the
// whole match is.
type rule struct {
	re *regexp.Regexp
	// hints are literals of which every match holds one, so the text must
	// contain one for re to be worth running (lowercase when fold is set,
	// matched as in a lower-cased text); none means always run.
	// Most texts hold no secret, and one pass looking for all the hints
	// at once is far cheaper than a regular expression.
	hints []string
	fold  bool
	// needs, when set, are characters of which the text must also hold
	// one: every match has one, and a hint on its own is common in prose
	// ("key", "://").
	needs string
	// accept, when set, vets a candidate secret; it keeps ordinary words
	// that happen to fit a pattern.
	accept func(secret string) bool
	secret int // index of the "secret" group, or 0 for the whole match
}

func newRule(pattern string, fold bool, accept func(string) bool, hints ...string) rule {
	re := regexp.MustCompile(pattern)
	return rule{re: re, hints: hints, fold: fold, accept: accept, secret: max(re.SubexpIndex("secret"), 0)}
}

func (ru rule) needing(chars string) rule {
	ru.needs = chars
	return ru
}

// builtinRules are tried in order. Structured secrets come first, so that a
// token behind "Authorization: Bearer" is already gone when the looser
// header rules run.
var builtinRules = []rule{
	// PEM private keys, also when the text ends before the END line.
	newRule(`-----BEGIN[A-Z ]*PRIVATE KEY-----(?s:.*?)(?:-----END[A-Z ]*PRIVATE KEY-----|$)`, false, nil, "PRIVATE KEY-----"),
	// JWTs (JWS, and the first parts of a JWE): base64url JSON starts eyJ.
	newRule(`eyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*(?:\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*)?`, false, nil, "eyJ"),
	// The gateway's own API keys: atk_<12 hex>_<secret>.
	newRule(`atk_[0-9a-f]{12}_[A-Za-z0-9_-]+`, false, nil, "atk_"),
	// OpenAI, Anthropic and look-alike keys: sk-..., sk-proj-..., sk-ant-...
	newRule(`\bsk-[A-Za-z0-9_-]{16,}`, false, hasDigit, "sk-"),
	// AWS access key ids.
	newRule(`\b(?:AKIA|ASIA|ABIA|ACCA|AGPA|AIDA|AROA|ANPA|ANVA|AIPA)[A-Z0-9]{16}\b`, false, nil,
		"AKIA", "ASIA", "ABIA", "ACCA", "AGPA", "AIDA", "AROA", "ANPA", "ANVA", "AIPA"),
	// GitHub tokens. Their prefixes are the hints: "gh" alone turns up in
	// everyday words ("light", "though").
	newRule(`\b(?:gh[pousr]_[A-Za-z0-9]{30,}|github_pat_[A-Za-z0-9_]{22,})`, false, nil,
		"ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_"),
	// Google API keys.
	newRule(`\bAIza[0-9A-Za-z_-]{35}`, false, nil, "AIza"),
	// Slack tokens.
	newRule(`\bxox[abposr]-[A-Za-z0-9-]{10,}`, false, nil, "xox"),
	// Credentials in a URL: scheme://user:password@host.
	newRule(`[A-Za-z][A-Za-z0-9+.-]*://(?P<secret>[^/\s:@]+:[^/\s@]+)@`, false, nil, "://").needing("@"),
	// An Authorization header's credentials, whatever the scheme.
	newRule(`(?i)\b(?:proxy-)?authorization["']?\s*[:=]\s*["']?(?:(?:bearer|basic|token|digest)\s+)?(?P<secret>[^\s"',;]{6,})`,
		true, nil, "authorization").needing(":="),
	// "Bearer xyz" anywhere else.
	newRule(`(?i)\bbearer\s+(?P<secret>[A-Za-z0-9\-._~+/]+=*)`, true, tokenLike, "bearer"),
	// password=..., "api_key": "...", client_secret: ... and the like.
	newRule(`(?i)\b(?:password|passwd|pwd|secret|client[_-]?secret|api[_-]?key|access[_-]?key|secret[_-]?key|private[_-]?key|aws_secret_access_key)["']?\s*[:=]\s*["']?(?P<secret>[^\s"',;]{4,})`,
		true, nil, "pass", "pwd", "secret", "key").needing(":="),
}

// builtinHints finds the hints of builtinRules; extra rules have none.
var builtinHints = newHintSet(builtinRules)

// hasDigit tells a random key from a hyphenated phrase: a random 16+
// character key has a digit in all but a vanishing share of cases.
func hasDigit(s string) bool { return strings.ContainsAny(s, "0123456789") }

// tokenLike keeps "Bearer authentication" readable: a token is long, or has
// something other than letters in it.
func tokenLike(s string) bool {
	if len(s) >= 16 {
		return true
	}
	for _, r := range s {
		if !unicode.IsLetter(r) {
			return true
		}
	}
	return false
}

// NewRedactor returns a redactor with the built-in rules and extra, regular
// expressions (Go syntax) for the install's own secrets. In an extra pattern
// a group named "secret" limits the replacement to that group.
func NewRedactor(extra []string) (*Redactor, error) {
	r := &Redactor{rules: append([]rule(nil), builtinRules...), hints: builtinHints}
	for i, p := range extra {
		re, err := regexp.Compile(p)
		if err != nil {
			// The pattern itself is configuration, not a secret.
			return nil, fmt.Errorf("redaction pattern %d: %w", i+1, err)
		}
		if re.MatchString("") {
			return nil, fmt.Errorf("redaction pattern %d matches empty text", i+1)
		}
		r.rules = append(r.rules, rule{re: re, secret: max(re.SubexpIndex("secret"), 0)})
	}
	return r, nil
}

// Redact returns s with every secret found replaced by Redacted.
func (r *Redactor) Redact(s string) string {
	found := r.hints.scan(s, ^uint64(0))
	for i := range r.rules {
		ru := &r.rules[i]
		hinted := len(ru.hints) == 0 || found&(1<<i) != 0
		if !hinted || ru.needs != "" && !strings.ContainsAny(s, ru.needs) {
			continue
		}
		next := ru.apply(s)
		if next == s {
			continue
		}
		s = next
		// The secret may have taken hints with it: the rules after this
		// one see the text as it is now.
		found = r.hints.scan(s, ^uint64(0)<<(i+1))
	}
	return s
}

func (ru *rule) apply(s string) string {
	matches := ru.re.FindAllStringSubmatchIndex(s, -1)
	if matches == nil {
		return s
	}
	var b strings.Builder
	last := 0
	for _, m := range matches {
		start, end := m[2*ru.secret], m[2*ru.secret+1]
		if start < 0 || start == end {
			continue
		}
		if ru.accept != nil && !ru.accept(s[start:end]) {
			continue
		}
		if b.Len() == 0 {
			b.Grow(len(s))
		}
		b.WriteString(s[last:start])
		b.WriteString(Redacted)
		last = end
	}
	if last == 0 {
		return s
	}
	b.WriteString(s[last:])
	return b.String()
}
