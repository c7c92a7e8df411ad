package wire

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/tickcast/tickcast/market"
)

// ---- JSON syntax ----

// maxFields bounds the keys of one object: records have at most 26.
const maxFields = 256

// parseFlatObject parses a JSON object whose values are all scalars into fs;
// keys and values alias b unless they hold escapes.
func parseFlatObject(b []byte, fs []wireField) ([]wireField, error) {
	s := jsonScanner{b: b}
	if !s.consume('{') {
		return nil, s.errorf("want '{'")
	}
	if s.consume('}') {
		return fs, s.end()
	}
	for len(fs) < maxFields {
		f, err := s.field()
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
		switch {
		case s.consume(','):
		case s.consume('}'):
			return fs, s.end()
		default:
			return nil, s.errorf("want ',' or '}'")
		}
	}
	return nil, s.errorf("more than %d keys", maxFields)
}

type jsonScanner struct {
	b []byte
	i int
}

func (s *jsonScanner) errorf(format string, args ...any) error {
	return fmt.Errorf("json at offset %d: %s: %w", s.i, fmt.Sprintf(format, args...), market.ErrInvalid)
}

func (s *jsonScanner) skipSpace() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// consume skips spaces and then c if it comes next.
func (s *jsonScanner) consume(c byte) bool {
	s.skipSpace()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// end checks that nothing but spaces follows the object.
func (s *jsonScanner) end() error {
	if s.skipSpace(); s.i != len(s.b) {
		return s.errorf("data after the object")
	}
	return nil
}

func (s *jsonScanner) field() (wireField, error) {
	if !s.consume('"') {
		return wireField{}, s.errorf("want a key")
	}
	key, err := s.stringBody()
	if err != nil {
		return wireField{}, err
	}
	if !s.consume(':') {
		return wireField{}, s.errorf("want ':'")
	}
	val, err := s.value()
	return wireField{key: key, val: val}, err
}

func (s *jsonScanner) value() (wireValue, error) {
	s.skipSpace()
	if s.i == len(s.b) {
		return wireValue{}, s.errorf("want a value")
	}
	switch c := s.b[s.i]; {
	case c == '"':
		s.i++
		raw, err := s.stringBody()
		return wireValue{kind: kindString, raw: raw}, err
	case c == '-' || (c >= '0' && c <= '9'):
		return s.number()
	case c == '{' || c == '[':
		return wireValue{}, s.errorf("nested values are not supported")
	}
	for _, lit := range [...]struct {
		text string
		kind wireKind
	}{{"true", kindTrue}, {"false", kindFalse}, {"null", kindNull}} {
		if len(s.b)-s.i >= len(lit.text) && string(s.b[s.i:s.i+len(lit.text)]) == lit.text {
			s.i += len(lit.text)
			return wireValue{kind: lit.kind}, nil
		}
	}
	return wireValue{}, s.errorf("want a value")
}

func (s *jsonScanner) number() (wireValue, error) {
	start := s.i
	for s.i < len(s.b) && isNumberByte(s.b[s.i]) {
		s.i++
	}
	raw := s.b[start:s.i]
	if !validNumber(raw) {
		return wireValue{}, s.errorf("bad number %q", raw)
	}
	return wireValue{kind: kindNumber, raw: raw}, nil
}

func isNumberByte(c byte) bool {
	return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'
}

// stringBody reads a string after its opening quote. Without escapes the
// result aliases the input; invalid UTF-8 and raw control bytes are errors.
func (s *jsonScanner) stringBody() ([]byte, error) {
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			raw := s.b[start:s.i]
			s.i++
			if !utf8.Valid(raw) {
				return nil, s.errorf("invalid UTF-8 in string")
			}
			return raw, nil
		case c == '\\':
			return s.unescape(append([]byte(nil), s.b[start:s.i]...))
		case c < 0x20:
			return nil, s.errorf("control character in string")
		}
	}
	return nil, s.errorf("unterminated string")
}

// unescape continues a string with escapes at s.i, appending to out.
func (s *jsonScanner) unescape(out []byte) ([]byte, error) {
	for s.i < len(s.b) {
		c := s.b[s.i]
		switch {
		case c == '"':
			s.i++
			if !utf8.Valid(out) {
				return nil, s.errorf("invalid UTF-8 in string")
			}
			return out, nil
		case c < 0x20:
			return nil, s.errorf("control character in string")
		case c != '\\':
			out = append(out, c)
			s.i++
			continue
		}
		var err error
		if out, err = s.escape(out); err != nil {
			return nil, err
		}
	}
	return nil, s.errorf("unterminated string")
}

// escape decodes the escape sequence at s.i (a backslash) onto out.
func (s *jsonScanner) escape(out []byte) ([]byte, error) {
	if s.i+1 >= len(s.b) {
		return nil, s.errorf("unterminated escape")
	}
	c := s.b[s.i+1]
	s.i += 2
	if r, ok := simpleEscape(c); ok {
		return append(out, r), nil
	}
	if c != 'u' {
		return nil, s.errorf("bad escape \\%c", c)
	}
	r, err := s.escapedRune()
	if err != nil {
		return nil, err
	}
	return utf8.AppendRune(out, r), nil
}

func simpleEscape(c byte) (byte, bool) {
	switch c {
	case '"', '\\', '/':
		return c, true
	case 'b':
		return '\b', true
	case 'f':
		return '\f', true
	case 'n':
		return '\n', true
	case 'r':
		return '\r', true
	case 't':
		return '\t', true
	}
	return 0, false
}

// escapedRune reads the XXXX of \uXXXX at s.i, and the low half of a
// surrogate pair; lone surrogates are errors.
func (s *jsonScanner) escapedRune() (rune, error) {
	r, ok := s.hex4()
	switch {
	case !ok:
		return 0, s.errorf("bad \\u escape")
	case r >= 0xdc00 && r < 0xe000:
		return 0, s.errorf("lone surrogate")
	case r < 0xd800 || r >= 0xdc00:
		return r, nil
	}
	if s.i+1 >= len(s.b) || s.b[s.i] != '\\' || s.b[s.i+1] != 'u' {
		return 0, s.errorf("lone surrogate")
	}
	s.i += 2
	lo, ok := s.hex4()
	if !ok || lo < 0xdc00 || lo >= 0xe000 {
		return 0, s.errorf("bad surrogate pair")
	}
	return 0x10000 + (r-0xd800)<<10 + (lo - 0xdc00), nil
}

func (s *jsonScanner) hex4() (rune, bool) {
	if len(s.b)-s.i < 4 {
		return 0, false
	}
	var r rune
	for _, c := range s.b[s.i : s.i+4] {
		d := strings.IndexByte(hexDigits, lower(c))
		if d < 0 {
			return 0, false
		}
		r = r<<4 | rune(d)
	}
	s.i += 4
	return r, true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}
