package memory

import (
	"bytes"
	"errors"

	"github.com/attach-dev/attach-gateway/app/jsonscan"
)

// The recorder reads a handful of fields from every request and answer
// that passes through the gateway. Decoding them into structs with
// encoding/json cost more than all the rest of recording, so they are read
// in place instead: checkValue first checks a value as strictly as
// encoding/json does (same grammar, same nesting limit), then a jsonWalker
// reads the fields wanted from the checked text, and unquote decodes a
// string exactly as encoding/json does. A body reads as it would through
// encoding/json, only without reflection and with few allocations.

var errJSONSyntax = errors.New("invalid JSON")

// maxJSONDepth is encoding/json's limit on nested objects and arrays.
const maxJSONDepth = 10000

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// oneJSON returns the JSON value that b holds, white space aside, and
// fails where json.Unmarshal would fail to parse b.
func oneJSON(b []byte) ([]byte, error) {
	start := jsonscan.SkipSpace(b, 0)
	end, err := checkValue(b, start, 0)
	if err != nil {
		return nil, err
	}
	if jsonscan.SkipSpace(b, end) != len(b) {
		return nil, errJSONSyntax
	}
	return b[start:end], nil
}

// nextJSON returns the JSON value at the start of b (after white space)
// and what follows it, as json.Decoder reads one value of a stream.
func nextJSON(b []byte) (val, rest []byte, err error) {
	start := jsonscan.SkipSpace(b, 0)
	end, err := checkValue(b, start, 0)
	if err != nil {
		return nil, nil, err
	}
	return b[start:end], b[end:], nil
}

// moreJSON tells whether a stream has another value after white space,
// as json.Decoder.More does: a closing bracket ends it too.
func moreJSON(b []byte) bool {
	i := jsonscan.SkipSpace(b, 0)
	return i < len(b) && b[i] != ']' && b[i] != '}'
}

// checkValue checks the JSON value that starts at b[i] and returns the
// index just past it. depth counts the objects and arrays around it.
func checkValue(b []byte, i, depth int) (int, error) {
	if i >= len(b) {
		return i, errJSONSyntax
	}
	switch c := b[i]; {
	case c == '{':
		return checkObject(b, i, depth+1)
	case c == '[':
		return checkArray(b, i, depth+1)
	case c == '"':
		return checkString(b, i)
	case c == 't':
		return checkLiteral(b, i, "true")
	case c == 'f':
		return checkLiteral(b, i, "false")
	case c == 'n':
		return checkLiteral(b, i, "null")
	case c == '-' || isDigit(c):
		return checkNumber(b, i)
	}
	return i, errJSONSyntax
}

func checkObject(b []byte, i, depth int) (int, error) {
	if depth > maxJSONDepth {
		return i, errJSONSyntax
	}
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == '}' {
		return i + 1, nil
	}
	var err error
	for {
		if i >= len(b) || b[i] != '"' {
			return i, errJSONSyntax
		}
		if i, err = checkString(b, i); err != nil {
			return i, err
		}
		i = jsonscan.SkipSpace(b, i)
		if i >= len(b) || b[i] != ':' {
			return i, errJSONSyntax
		}
		if i, err = checkValue(b, jsonscan.SkipSpace(b, i+1), depth); err != nil {
			return i, err
		}
		i = jsonscan.SkipSpace(b, i)
		if i >= len(b) {
			return i, errJSONSyntax
		}
		switch b[i] {
		case '}':
			return i + 1, nil
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		default:
			return i, errJSONSyntax
		}
	}
}

func checkArray(b []byte, i, depth int) (int, error) {
	if depth > maxJSONDepth {
		return i, errJSONSyntax
	}
	i = jsonscan.SkipSpace(b, i+1)
	if i < len(b) && b[i] == ']' {
		return i + 1, nil
	}
	var err error
	for {
		if i, err = checkValue(b, i, depth); err != nil {
			return i, err
		}
		i = jsonscan.SkipSpace(b, i)
		if i >= len(b) {
			return i, errJSONSyntax
		}
		switch b[i] {
		case ']':
			return i + 1, nil
		case ',':
			i = jsonscan.SkipSpace(b, i+1)
		default:
			return i, errJSONSyntax
		}
	}
}

// checkString checks the string that starts at b[i]: no raw control
// characters, only JSON's escapes. Bytes that are not UTF-8 pass, as in
// encoding/json; unquote replaces them.
func checkString(b []byte, i int) (int, error) {
	for i++; i < len(b); {
		for i < len(b) && stringBytes[b[i]] == plainByte {
			i++
		}
		if i == len(b) {
			break
		}
		switch stringBytes[b[i]] {
		case quoteByte:
			return i + 1, nil
		case escapeByte:
			if i+1 >= len(b) {
				return i, errJSONSyntax
			}
			switch b[i+1] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
				i += 2
			case 'u':
				if i+6 > len(b) || hex4(b[i+2:i+6]) < 0 {
					return i, errJSONSyntax
				}
				i += 6
			default:
				return i, errJSONSyntax
			}
		default: // a control character
			return i, errJSONSyntax
		}
	}
	return i, errJSONSyntax
}

// Kinds of byte in a JSON string.
const (
	plainByte = iota
	quoteByte
	escapeByte
	controlByte
	foldByte // in a key, a byte that lower case ASCII does not have
)

// stringBytes sorts bytes for checkString, keyBytes for readKey: one
// look-up per byte.
var stringBytes, keyBytes = func() (s, k [256]uint8) {
	for c := range 0x20 {
		s[c] = controlByte
	}
	s['"'] = quoteByte
	s['\\'] = escapeByte
	k = s
	for c := 'A'; c <= 'Z'; c++ {
		k[c] = foldByte
	}
	for c := 0x80; c <= 0xff; c++ {
		k[c] = foldByte
	}
	return s, k
}()

func checkNumber(b []byte, i int) (int, error) {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && isDigit(b[i]):
		i = skipDigits(b, i)
	default:
		return i, errJSONSyntax
	}
	if i < len(b) && b[i] == '.' {
		i++
		if i >= len(b) || !isDigit(b[i]) {
			return i, errJSONSyntax
		}
		i = skipDigits(b, i)
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if i >= len(b) || !isDigit(b[i]) {
			return i, errJSONSyntax
		}
		i = skipDigits(b, i)
	}
	return i, nil
}

func skipDigits(b []byte, i int) int {
	for i < len(b) && isDigit(b[i]) {
		i++
	}
	return i
}

func checkLiteral(b []byte, i int, lit string) (int, error) {
	if !bytes.HasPrefix(b[i:], []byte(lit)) {
		return i, errJSONSyntax
	}
	return i + len(lit), nil
}

// hex4 reads four hex digits, or returns -1.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case '0' <= c && c <= '9':
			c -= '0'
		case 'a' <= c && c <= 'f':
			c -= 'a' - 10
		case 'A' <= c && c <= 'F':
			c -= 'A' - 10
		default:
			return -1
		}
		r = r<<4 | rune(c)
	}
	return r
}
