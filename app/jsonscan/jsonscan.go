// Package jsonscan steps over values in JSON text that is already known to
// be valid (json.Valid, or a check as strict). It checks nothing and
// allocates nothing: the proxy reads a request's model with it on every
// call, and memory reads each exchange it records.
package jsonscan

import "bytes"

// IsSpace tells JSON white space.
func IsSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' }

// SkipSpace returns the index of the first byte at or after i that is not
// white space, or len(b).
func SkipSpace(b []byte, i int) int {
	for i < len(b) && IsSpace(b[i]) {
		i++
	}
	return i
}

// SkipString returns the index just past the string that starts at b[i].
func SkipString(b []byte, i int) int {
	i++
	// Most strings are short: step through them. A long one is searched
	// for its closing quote instead, far faster per byte.
	for end := min(i+32, len(b)); i < end; i++ {
		switch b[i] {
		case '"':
			return i + 1
		case '\\':
			i++ // past the escaped byte
		}
	}
	for {
		q := i + bytes.IndexByte(b[i:], '"')
		// The quote ends the string unless an odd run of backslashes
		// escapes it. Before i, every escape is already accounted for.
		backslashes := 0
		for j := q - 1; j >= i && b[j] == '\\'; j-- {
			backslashes++
		}
		if backslashes%2 == 0 {
			return q + 1
		}
		i = q + 1
	}
}

// SkipValue returns the index just past the value that starts at b[i].
func SkipValue(b []byte, i int) int {
	switch b[i] {
	case '"':
		return SkipString(b, i)
	case '{', '[':
		depth := 0
		for ; ; i++ {
			switch b[i] {
			case '"':
				i = SkipString(b, i) - 1
			case '{', '[':
				depth++
			case '}', ']':
				if depth--; depth == 0 {
					return i + 1
				}
			}
		}
	}
	// A number or a literal, which runs to the next delimiter.
	for i < len(b) && !IsSpace(b[i]) && b[i] != ',' && b[i] != '}' && b[i] != ']' {
		i++
	}
	return i
}
