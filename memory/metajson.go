package memory

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// metaObject writes the metadata the gateway builds about an exchange
// straight into JSON, where encoding a map[string]any cost more than the
// rest of the exchange. Keys are the gateway's own names: they need no
// escaping, and callers write them in sorted order, as encoding/json
// orders a map, so the output is the bytes encoding the map gave.
type metaObject struct {
	buf []byte
}

func (o *metaObject) key(k string) {
	if o.buf == nil {
		o.buf = make([]byte, 0, 256)
		o.buf = append(o.buf, '{')
	} else {
		o.buf = append(o.buf, ',')
	}
	o.buf = append(o.buf, '"')
	o.buf = append(o.buf, k...)
	o.buf = append(o.buf, '"', ':')
}

func (o *metaObject) int(k string, n int64) {
	o.key(k)
	o.buf = strconv.AppendInt(o.buf, n, 10)
}

func (o *metaObject) bool(k string, v bool) {
	o.key(k)
	o.buf = strconv.AppendBool(o.buf, v)
}

// string writes s as it is: text from outside the gateway must be
// cleaned first.
func (o *metaObject) string(k, s string) {
	o.key(k)
	o.buf = appendJSONString(o.buf, s)
}

// done closes the object; with no keys it is nil.
func (o *metaObject) done() (json.RawMessage, error) {
	if o.buf == nil {
		return nil, nil
	}
	o.buf = append(o.buf, '}')
	if err := checkMetadataSize(o.buf); err != nil {
		return nil, err
	}
	return o.buf, nil
}

// appendJSONString appends s as a JSON string the way encoding/json writes
// it with HTML escaping off: quote, backslash and control characters
// escaped (\b \f \n \r \t by name, others as \u00XX), U+2028 and U+2029
// escaped for JavaScript, and each byte that is not UTF-8 as \ufffd.
func appendJSONString(dst []byte, s string) []byte {
	const hex = "0123456789abcdef"
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c >= 0x20 && c != '"' && c != '\\' && c < utf8.RuneSelf {
			i++
			continue
		}
		if c < utf8.RuneSelf {
			dst = append(dst, s[start:i]...)
			switch c {
			case '"', '\\':
				dst = append(dst, '\\', c)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && n == 1:
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
		case r == '\u2028' || r == '\u2029':
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hex[r&0xf])
		default:
			i += n
			continue
		}
		i += n
		start = i
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}
