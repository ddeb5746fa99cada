package memory

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"unicode/utf8"

	attach "github.com/attach-dev/attach-gateway"
)

// DefaultMaxContent is how much of one event's text is kept by default.
const DefaultMaxContent = 64 << 10

// MaxMetadata bounds an event's metadata once cleaned.
const MaxMetadata = 16 << 10

// redactMargin is how much text past the limit is still read for secrets,
// so a secret that starts before the cut is recognised whole. A 4096-bit
// RSA key in PEM is about 3.3 KiB.
const redactMargin = 16 << 10

// cleaner makes text fit for storage: no NUL bytes (Postgres text cannot
// hold them), valid UTF-8, secrets redacted, at most limit bytes.
type cleaner struct {
	redactor *Redactor
	limit    int
}

// newCleaner is the cleaner of the recorder's and the store's options: a
// nil redactor has the built-in rules only, a limit of 0 is
// DefaultMaxContent.
func newCleaner(redactor *Redactor, limit int) (cleaner, error) {
	if redactor == nil {
		r, err := NewRedactor(nil)
		if err != nil {
			return cleaner{}, err
		}
		redactor = r
	}
	if limit <= 0 {
		limit = DefaultMaxContent
	}
	return cleaner{redactor: redactor, limit: limit}, nil
}

// text cleans s and reports whether it was cut.
func (c cleaner) text(s string) (string, bool) {
	cut := false
	// Only what can survive the cut is worth redacting.
	if len(s) > c.limit+redactMargin {
		s, cut = s[:c.limit+redactMargin], true
	}
	s = sanitize(s)
	s = c.redactor.Redact(s)
	if len(s) > c.limit {
		s, cut = attach.CutUTF8(s, c.limit), true
	}
	return s, cut
}

// sanitize drops NUL bytes and replaces invalid UTF-8.
func sanitize(s string) string {
	if strings.IndexByte(s, 0) >= 0 {
		s = strings.ReplaceAll(s, "\x00", "")
	}
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return s
}

// metadata cleans a JSON document: every string in it, keys included, is
// sanitized and redacted, and string values under names that usually hold
// secrets ("password", "api_key", ...) are replaced whole. Empty or null
// metadata is nil.
func (c cleaner) metadata(raw json.RawMessage) (json.RawMessage, error) {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return nil, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return nil, attach.Invalid("metadata", "is not valid JSON")
	}
	if d.More() {
		return nil, attach.Invalid("metadata", "has data after the JSON value")
	}
	return c.encodeMetadata(c.cleanValue(v))
}

func (c cleaner) encodeMetadata(v any) (json.RawMessage, error) {
	var buf bytes.Buffer
	e := json.NewEncoder(&buf)
	e.SetEscapeHTML(false)
	if err := e.Encode(v); err != nil {
		return nil, fmt.Errorf("encode metadata: %w", err)
	}
	doc := bytes.TrimSpace(buf.Bytes())
	if err := checkMetadataSize(doc); err != nil {
		return nil, err
	}
	return doc, nil
}

// checkMetadataSize refuses an encoded metadata document larger than
// MaxMetadata. The bound counts the newline json.Encoder ends a document
// with, as it always has.
func checkMetadataSize(doc []byte) error {
	if len(doc)+1 > MaxMetadata {
		return attach.Invalid("metadata", fmt.Sprintf("is larger than %d bytes", MaxMetadata))
	}
	return nil
}

// clean makes a string from outside the gateway fit for metadata.
func (c cleaner) clean(s string) string { return c.redactor.Redact(sanitize(s)) }

func (c cleaner) cleanValue(v any) any {
	switch v := v.(type) {
	case string:
		return c.clean(v)
	case []any:
		for i := range v {
			v[i] = c.cleanValue(v[i])
		}
		return v
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, val := range v {
			if s, ok := val.(string); ok && s != "" && sensitiveKey(k) {
				val = Redacted
			}
			out[c.clean(k)] = c.cleanValue(val)
		}
		return out
	}
	return v
}

// sensitiveKey tells a field name whose text value is a secret, whatever
// it looks like.
func sensitiveKey(k string) bool {
	k = strings.ToLower(k)
	for _, s := range []string{"password", "passwd", "secret", "token", "api_key", "apikey", "api-key", "authorization", "private_key", "access_key", "cookie"} {
		if strings.Contains(k, s) {
			return true
		}
	}
	return false
}
