package memory

import (
	"bytes"
	"errors"
	"iter"
	"strconv"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/attach-dev/attach-gateway/app/jsonscan"
)

// What follows reads JSON that checkValue accepted (see jsoncheck.go), and
// skips the checks it made.

// errJSONType is what encoding/json reports as an UnmarshalTypeError:
// valid JSON with a value of the wrong kind for its field.
var errJSONType = errors.New("JSON value of the wrong type")

// jsonWalker reads checked JSON front to back: a reader looks at the kind
// of the value at hand, then takes it whole (raw), or steps into its
// members or elements. Each byte is walked over once; only the values
// taken raw are read again, when they are decoded.
type jsonWalker struct {
	b []byte
	i int // where the value at hand starts
}

// kind is the first byte of the value at hand: { [ " n t f, or a digit or
// minus sign.
func (w *jsonWalker) kind() byte { return w.b[w.i] }

// nullOr tells whether the value at hand is null, and fails with
// errJSONType unless it is null or of kind want ('{' or '['): decoding into
// a struct, a pointer to one or a slice, encoding/json takes nothing else.
func (w *jsonWalker) nullOr(want byte) (null bool, err error) {
	switch w.kind() {
	case 'n':
		return true, nil
	case want:
		return false, nil
	}
	return false, errJSONType
}

// raw takes the value at hand whole.
func (w *jsonWalker) raw() []byte {
	start := w.i
	w.i = jsonscan.SkipValue(w.b, w.i)
	return w.b[start:w.i]
}

// members steps into the object at hand, yielding the key of each member
// with its value at hand. The loop body reads that value whole, or leaves
// it unread to be skipped; once it breaks out, the walker is spent.
func (w *jsonWalker) members() iter.Seq[fieldKey] {
	return func(yield func(fieldKey) bool) {
		w.i = jsonscan.SkipSpace(w.b, w.i+1)
		for w.b[w.i] == '"' {
			key, end := readKey(w.b, w.i)
			w.i = jsonscan.SkipSpace(w.b, jsonscan.SkipSpace(w.b, end)+1) // past the colon
			start := w.i
			if !yield(key) {
				return
			}
			w.pass(start)
		}
		w.i++ // past the closing brace
	}
}

// elements steps into the array at hand, yielding the index of each
// element with the element at hand, which the loop body reads whole or
// leaves unread, as with members.
func (w *jsonWalker) elements() iter.Seq[int] {
	return func(yield func(int) bool) {
		w.i = jsonscan.SkipSpace(w.b, w.i+1)
		for n := 0; w.b[w.i] != ']'; n++ {
			start := w.i
			if !yield(n) {
				return
			}
			w.pass(start)
		}
		w.i++ // past the closing bracket
	}
}

// pass moves past the member or element whose value began at start: over
// the value if the loop body left it unread, then over the comma after it.
func (w *jsonWalker) pass(start int) {
	if w.i == start {
		w.i = jsonscan.SkipValue(w.b, w.i)
	}
	if w.i = jsonscan.SkipSpace(w.b, w.i); w.b[w.i] == ',' {
		w.i = jsonscan.SkipSpace(w.b, w.i+1)
	}
}

// fieldKey is a member's key, ready to match field names, which are lower
// case ASCII.
type fieldKey struct {
	text []byte // unquoted
	// lower: the key is lower case ASCII, as keys nearly always are, and
	// matches a name only exactly.
	lower bool
}

// readKey reads the key that starts at b[i] and returns it and the index
// just past it.
func readKey(b []byte, i int) (fieldKey, int) {
	start, lower, escaped := i, true, false
	for i++; b[i] != '"'; i++ {
		switch keyBytes[b[i]] {
		case escapeByte:
			lower, escaped = false, true
			i++ // past the escaped byte
		case foldByte:
			lower = false
		}
	}
	text := b[start+1 : i]
	if escaped {
		text = appendUnquoted(nil, b[start:i+1])
	}
	return fieldKey{text: text, lower: lower}, i + 1
}

// is tells whether the key names the field name as encoding/json matches
// keys to fields: exactly, or else ignoring case (Unicode's, in which the
// Kelvin sign is a k).
func (k fieldKey) is(name string) bool {
	if k.lower {
		return string(k.text) == name
	}
	return bytes.EqualFold(k.text, []byte(name))
}

// plainString tells a JSON string whose text is its bytes between the
// quotes: no escapes, valid UTF-8.
func plainString(tok []byte) bool {
	s := tok[1 : len(tok)-1]
	return bytes.IndexByte(s, '\\') < 0 && utf8.Valid(s)
}

// unquote returns the text of the JSON string tok; nil gives "".
func unquote(tok []byte) string {
	if len(tok) < 2 {
		return ""
	}
	if plainString(tok) {
		return string(tok[1 : len(tok)-1])
	}
	return string(appendUnquoted(nil, tok))
}

// stringIs tells whether the JSON string tok reads s.
func stringIs(tok []byte, s string) bool {
	if bytes.IndexByte(tok, '\\') < 0 {
		// Bytes that are not UTF-8 never equal s once replaced either.
		return string(tok[1:len(tok)-1]) == s
	}
	return string(appendUnquoted(nil, tok)) == s
}

// appendUnquoted appends the text of the JSON string tok to dst as
// encoding/json decodes it: escapes resolved, a lone or broken surrogate
// escape and every byte that is not part of valid UTF-8 replaced by
// U+FFFD.
func appendUnquoted(dst, tok []byte) []byte {
	s := tok[1 : len(tok)-1]
	if plainString(tok) {
		return append(dst, s...)
	}
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == '\\':
			var r rune
			r, i = unescape(s, i)
			dst = utf8.AppendRune(dst, r)
		case c < utf8.RuneSelf:
			dst = append(dst, c)
			i++
		default:
			r, n := utf8.DecodeRune(s[i:])
			dst = utf8.AppendRune(dst, r) // U+FFFD for a byte that is not UTF-8
			i += n
		}
	}
	return dst
}

// unescape reads the escape at s[i] and returns its character and the
// index past it.
func unescape(s []byte, i int) (rune, int) {
	switch c := s[i+1]; c {
	case 'b':
		return '\b', i + 2
	case 'f':
		return '\f', i + 2
	case 'n':
		return '\n', i + 2
	case 'r':
		return '\r', i + 2
	case 't':
		return '\t', i + 2
	case '"', '\\', '/':
		return rune(c), i + 2
	}
	// \uXXXX
	r := hex4(s[i+2:])
	i += 6
	if !utf16.IsSurrogate(r) {
		return r, i
	}
	// A surrogate counts only as the first of a pair; alone, it is
	// U+FFFD and what follows is read on its own.
	low := rune(-1)
	if i+6 <= len(s) && s[i] == '\\' && s[i+1] == 'u' {
		low = hex4(s[i+2:])
	}
	if pair := utf16.DecodeRune(r, low); pair != utf8.RuneError {
		return pair, i + 6
	}
	return utf8.RuneError, i
}

// readString reads the value at hand into a string field: a string sets
// it, null leaves it be.
func readString(w *jsonWalker, dst *[]byte) error {
	switch w.kind() {
	case '"':
		*dst = w.raw()
	case 'n':
	default:
		return errJSONType
	}
	return nil
}

// readStringPtr reads the value at hand into a *string field: null clears
// it.
func readStringPtr(w *jsonWalker, dst *[]byte) error {
	if w.kind() == 'n' {
		*dst = nil
		return nil
	}
	return readString(w, dst)
}

// readInt reads the value at hand into an int field: a number without
// fraction or exponent that fits an int sets it, null leaves it be.
func readInt(w *jsonWalker, dst *int) error {
	switch c := w.kind(); {
	case c == 'n':
		return nil
	case c == '-' || isDigit(c):
		n, err := strconv.ParseInt(string(w.raw()), 10, strconv.IntSize)
		if err != nil {
			return errJSONType
		}
		*dst = int(n)
		return nil
	}
	return errJSONType
}
