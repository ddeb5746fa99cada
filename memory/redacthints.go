package memory

import (
	"math/bits"
	"strings"
	"unicode/utf8"
)

// hintSet finds, in one pass over a text, which rules have one of their
// hint literals in it. Most texts hold no secret, and for them this pass is
// all that redaction costs.
//
// A case-blind rule's hints match as they would in strings.ToLower(text):
// ASCII letters in either case, and also the two other characters whose
// lower case is an ASCII letter.
type hintSet struct {
	hints []hint
	// first[c] has bit h set when hints[h] can start with the byte c,
	// second[c] when its second byte can be c. A text position is worth
	// a closer look only for the hints its first two bytes allow, which
	// in prose is a few positions in a hundred.
	first, second [256]uint64
	// ofRule[r] has the bits of the hints of rule r.
	ofRule []uint64
}

type hint struct {
	lit  string // lower case when fold
	fold bool
	rule int
}

// foldsToASCII are the characters other than ASCII whose lower case
// (unicode.ToLower) is an ASCII letter.
var foldsToASCII = [...]struct {
	text  string
	lower byte
}{
	{"\u0130", 'i'}, // LATIN CAPITAL LETTER I WITH DOT ABOVE
	{"\u212a", 'k'}, // KELVIN SIGN
}

// maxHints bounds the hints of a set: one bit each in a uint64.
const maxHints = 64

// newHintSet indexes the hints of rules; a hinted rule must be among the
// first 64, and all rules together may have at most 64 hints, each at
// least two bytes long.
func newHintSet(rules []rule) *hintSet {
	h := &hintSet{ofRule: make([]uint64, len(rules))}
	for r := range rules {
		fold := rules[r].fold
		for _, lit := range rules[r].hints {
			if len(h.hints) == maxHints || r >= 64 || len(lit) < 2 {
				panic("memory: redaction hints do not fit the hint set")
			}
			if fold && lit != strings.ToLower(lit) {
				panic("memory: redaction hint " + lit + " of a case-blind rule is not lower case")
			}
			bit := uint64(1) << len(h.hints)
			h.hints = append(h.hints, hint{lit: lit, fold: fold, rule: r})
			h.ofRule[r] |= bit
			for _, c := range firstBytes(lit[0], fold) {
				h.first[c] |= bit
			}
			for _, c := range firstBytes(lit[1], fold) {
				h.second[c] |= bit
			}
			if fold {
				// The second byte of a character that folds to the
				// first letter.
				for _, f := range foldsToASCII {
					if f.lower == lit[0] {
						h.second[f.text[1]] |= bit
					}
				}
			}
		}
	}
	return h
}

// firstBytes are the bytes a character that reads as c can start with.
func firstBytes(c byte, fold bool) []byte {
	out := []byte{c}
	if !fold {
		return out
	}
	out = append(out, upperASCII(c))
	for _, f := range foldsToASCII {
		if f.lower == c {
			out = append(out, f.text[0])
		}
	}
	return out
}

// scan returns the rules among want (a bit per rule index) with a hint in
// s, stopping as soon as all have been found.
func (h *hintSet) scan(s string, want uint64) uint64 {
	var pending uint64 // hints still to look for
	for r := range h.ofRule {
		if want&(1<<r) != 0 {
			pending |= h.ofRule[r]
		}
	}
	var found uint64
	for i := 0; i+1 < len(s) && pending != 0; i++ {
		candidates := h.first[s[i]] & h.second[s[i+1]] & pending
		if candidates == 0 {
			continue
		}
		for candidates != 0 {
			k := bits.TrailingZeros64(candidates)
			candidates &^= 1 << k
			ht := &h.hints[k]
			if !ht.at(s[i:]) {
				continue
			}
			found |= 1 << ht.rule
			pending &^= h.ofRule[ht.rule]
			candidates &= pending
		}
	}
	return found
}

// at tells whether s starts with the hint.
func (ht *hint) at(s string) bool {
	if !ht.fold {
		return strings.HasPrefix(s, ht.lit)
	}
	j := 0
	for i := 0; i < len(ht.lit); i++ {
		if j >= len(s) {
			return false
		}
		if c := s[j]; c < utf8.RuneSelf {
			if lowerASCII(c) != ht.lit[i] {
				return false
			}
			j++
			continue
		}
		n := foldedLen(s[j:], ht.lit[i])
		if n == 0 {
			return false
		}
		j += n
	}
	return true
}

// foldedLen returns the length of the character at the start of s if it
// is one whose lower case is the ASCII letter c, or 0.
func foldedLen(s string, c byte) int {
	for _, f := range foldsToASCII {
		if f.lower == c && strings.HasPrefix(s, f.text) {
			return len(f.text)
		}
	}
	return 0
}

func lowerASCII(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

func upperASCII(c byte) byte {
	if 'a' <= c && c <= 'z' {
		return c - ('a' - 'A')
	}
	return c
}
