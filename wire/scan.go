package wire

import (
	"fmt"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/tickcast/tickcast/market"
)

// maxFields bounds the keys of one object: records have a few dozen.
const maxFields = 256

// parseFlatObject parses a JSON object whose values are all scalars into fs.
// It is a strict RFC 8259 scanner written for this one shape: every record
// on the hot path (a Kafka record per trade) goes through it, and
// encoding/json's tokenizer cost more than the rest of the candles stage.
// Unmarshal into tagged structs would also match keys case-insensitively,
// let a duplicate key win, skip nested values and not tell a missing key
// from null. It accepts exactly what encoding/json accepts as such an object
// (FuzzParseFlatObject checks it against the tokenizer), except that invalid
// UTF-8 and lone surrogates, which encoding/json would replace with U+FFFD,
// are errors. Keys and values without escapes alias b.
func parseFlatObject(b []byte, fs []wireField) ([]wireField, error) {
	s := scanner{b: b}
	s.space()
	if !s.eat('{') {
		return nil, s.errorf("want '{'")
	}
	s.space()
	if !s.eat('}') {
		for {
			if len(fs) == maxFields {
				return nil, jsonErrorf("more than %d keys", maxFields)
			}
			if s.peek() != '"' {
				return nil, s.errorf("want a key")
			}
			key, err := s.str()
			if err != nil {
				return nil, err
			}
			s.space()
			if !s.eat(':') {
				return nil, s.errorf("want ':' after key %q", key)
			}
			s.space()
			val, err := s.scalar()
			if err != nil {
				return nil, fmt.Errorf("json: %s: %w", key, err)
			}
			fs = append(fs, wireField{key: key, val: val})
			s.space()
			if s.eat('}') {
				break
			}
			if !s.eat(',') {
				return nil, s.errorf("want ',' or '}'")
			}
			s.space()
		}
	}
	s.space()
	if s.i != len(b) {
		return nil, jsonErrorf("data after the object")
	}
	return fs, nil
}

func jsonErrorf(format string, args ...any) error {
	return fmt.Errorf("json: %s: %w", fmt.Sprintf(format, args...), market.ErrInvalid)
}

// scanner reads b from i.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) errorf(format string, args ...any) error {
	if s.i >= len(s.b) {
		return jsonErrorf(format+" (unexpected end)", args...)
	}
	return jsonErrorf(format+" at offset %d", append(args, s.i)...)
}

func (s *scanner) peek() byte {
	if s.i < len(s.b) {
		return s.b[s.i]
	}
	return 0
}

func (s *scanner) eat(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

func (s *scanner) scalar() (wireValue, error) {
	switch c := s.peek(); {
	case c == '"':
		v, err := s.str()
		return wireValue{kind: kindString, raw: v}, err
	case c == '-' || (c >= '0' && c <= '9'):
		v, err := s.number()
		return wireValue{kind: kindNumber, raw: v}, err
	case c == 't':
		return wireValue{kind: kindTrue}, s.literal("true")
	case c == 'f':
		return wireValue{kind: kindFalse}, s.literal("false")
	case c == 'n':
		return wireValue{kind: kindNull}, s.literal("null")
	case c == '{' || c == '[':
		return wireValue{}, jsonErrorf("nested values are not supported")
	}
	return wireValue{}, s.errorf("want a value")
}

func (s *scanner) literal(word string) error {
	if len(s.b)-s.i < len(word) || string(s.b[s.i:s.i+len(word)]) != word {
		return s.errorf("want %s", word)
	}
	s.i += len(word)
	return nil
}

// number returns the text of a JSON number: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func (s *scanner) number() ([]byte, error) {
	start := s.i
	s.eat('-')
	switch c := s.peek(); {
	case c == '0':
		s.i++
	case c >= '1' && c <= '9':
		s.digits()
	default:
		return nil, s.errorf("want a digit")
	}
	if s.eat('.') {
		if s.digits() == 0 {
			return nil, s.errorf("want a digit after '.'")
		}
	}
	if c := s.peek(); c == 'e' || c == 'E' {
		s.i++
		if c := s.peek(); c == '+' || c == '-' {
			s.i++
		}
		if s.digits() == 0 {
			return nil, s.errorf("want a digit in the exponent")
		}
	}
	return s.b[start:s.i], nil
}

func (s *scanner) digits() int {
	n := 0
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
		n++
	}
	return n
}

// str reads a string at s.i (a '"') and returns it unescaped: a sub-slice
// of b when it has no escapes, else a new buffer.
func (s *scanner) str() ([]byte, error) {
	s.i++ // the opening quote
	start := s.i
	var out []byte // nil until the first escape
	for {
		if s.i >= len(s.b) {
			return nil, s.errorf("unterminated string")
		}
		switch c := s.b[s.i]; {
		case c == '"':
			end := s.i
			s.i++
			if out == nil {
				return s.b[start:end], nil
			}
			return out, nil
		case c == '\\':
			if out == nil {
				out = append(make([]byte, 0, s.i-start+16), s.b[start:s.i]...)
			}
			var err error
			if out, err = s.escape(out); err != nil {
				return nil, err
			}
		case c < 0x20:
			return nil, s.errorf("control character in string")
		case c < utf8.RuneSelf:
			s.i++
			if out != nil {
				out = append(out, c)
			}
		default:
			r, n := utf8.DecodeRune(s.b[s.i:])
			if r == utf8.RuneError && n == 1 {
				return nil, jsonErrorf("invalid UTF-8")
			}
			if out != nil {
				out = append(out, s.b[s.i:s.i+n]...)
			}
			s.i += n
		}
	}
}

// escape appends the rune of the escape at s.i (a '\\') to out.
func (s *scanner) escape(out []byte) ([]byte, error) {
	if s.i+1 >= len(s.b) {
		return nil, s.errorf("unterminated escape")
	}
	c := s.b[s.i+1]
	s.i += 2
	switch c {
	case '"', '\\', '/':
		return append(out, c), nil
	case 'b':
		return append(out, '\b'), nil
	case 'f':
		return append(out, '\f'), nil
	case 'n':
		return append(out, '\n'), nil
	case 'r':
		return append(out, '\r'), nil
	case 't':
		return append(out, '\t'), nil
	case 'u':
	default:
		return nil, s.errorf("bad escape \\%c", c)
	}
	r, ok := hex4(s.b, s.i)
	if !ok {
		return nil, s.errorf("bad \\u escape")
	}
	s.i += 4
	if !utf16.IsSurrogate(r) {
		return utf8.AppendRune(out, r), nil
	}
	// A surrogate must be the high half of a pair; encoding/json would put
	// U+FFFD for a lone one, which would silently change the value.
	if r >= 0xdc00 || s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
		return nil, jsonErrorf("lone surrogate")
	}
	lo, ok := hex4(s.b, s.i+2)
	if !ok {
		return nil, s.errorf("bad \\u escape")
	}
	if lo < 0xdc00 || lo >= 0xe000 {
		return nil, jsonErrorf("lone surrogate")
	}
	s.i += 6
	return utf8.AppendRune(out, utf16.DecodeRune(r, lo)), nil
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	var r rune
	for _, c := range b[i : i+4] {
		switch {
		case c >= '0' && c <= '9':
			r = r<<4 | rune(c-'0')
		case c >= 'a' && c <= 'f':
			r = r<<4 | rune(c-'a'+10)
		case c >= 'A' && c <= 'F':
			r = r<<4 | rune(c-'A'+10)
		default:
			return 0, false
		}
	}
	return r, true
}
