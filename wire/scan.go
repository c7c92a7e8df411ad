package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"github.com/tickcast/tickcast/market"
)

// maxFields bounds the keys of one object: records have a few dozen.
const maxFields = 256

// parseFlatObject parses a JSON object whose values are all scalars into fs,
// with encoding/json's tokenizer. Unmarshal into tagged structs would match
// keys case-insensitively, let a duplicate key win, skip nested values and
// not tell a missing key from null; the tokens keep those checks.
func parseFlatObject(b []byte, fs []wireField) ([]wireField, error) {
	switch {
	case !utf8.Valid(b): // encoding/json would replace it with U+FFFD
		return nil, jsonErrorf("invalid UTF-8")
	case loneSurrogate(b): // likewise
		return nil, jsonErrorf("lone surrogate")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := want(dec, json.Delim('{')); err != nil {
		return nil, err
	}
	for dec.More() {
		if len(fs) == maxFields {
			return nil, jsonErrorf("more than %d keys", maxFields)
		}
		f, err := field(dec)
		if err != nil {
			return nil, err
		}
		fs = append(fs, f)
	}
	if err := want(dec, json.Delim('}')); err != nil {
		return nil, err
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, jsonErrorf("data after the object")
	}
	return fs, nil
}

func jsonErrorf(format string, args ...any) error {
	return fmt.Errorf("json: %s: %w", fmt.Sprintf(format, args...), market.ErrInvalid)
}

func want(dec *json.Decoder, d json.Delim) error {
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("json: %w: %w", err, market.ErrInvalid)
	}
	if tok != d {
		return jsonErrorf("want %q", d)
	}
	return nil
}

func field(dec *json.Decoder) (wireField, error) {
	k, err := dec.Token()
	if err != nil {
		return wireField{}, fmt.Errorf("json: %w: %w", err, market.ErrInvalid)
	}
	key, _ := k.(string) // the decoder only returns strings as keys
	v, err := dec.Token()
	if err != nil {
		return wireField{}, fmt.Errorf("json: %s: %w: %w", key, err, market.ErrInvalid)
	}
	val, err := scalar(v)
	return wireField{key: []byte(key), val: val}, err
}

func scalar(tok json.Token) (wireValue, error) {
	switch v := tok.(type) {
	case string:
		return wireValue{kind: kindString, raw: []byte(v)}, nil
	case json.Number:
		return wireValue{kind: kindNumber, raw: []byte(v)}, nil
	case bool:
		if v {
			return wireValue{kind: kindTrue}, nil
		}
		return wireValue{kind: kindFalse}, nil
	case nil:
		return wireValue{kind: kindNull}, nil
	}
	return wireValue{}, jsonErrorf("nested values are not supported")
}

// loneSurrogate reports whether b escapes a UTF-16 surrogate that is not
// half of a pair. Backslashes are only valid in strings, so b is scanned whole.
func loneSurrogate(b []byte) bool {
	for i := 0; i < len(b); {
		j := bytes.IndexByte(b[i:], '\\')
		if j < 0 || i+j+1 >= len(b) {
			return false
		}
		i += j
		if b[i+1] != 'u' {
			i += 2
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return false // a syntax error the decoder reports
		}
		i += 6
		switch {
		case r < 0xd800 || r >= 0xe000:
			continue
		case r >= 0xdc00:
			return true
		}
		if i+1 >= len(b) || b[i] != '\\' || b[i+1] != 'u' {
			return true
		}
		lo, ok := hex4(b, i+2)
		if !ok || lo < 0xdc00 || lo >= 0xe000 {
			return true
		}
		i += 6
	}
	return false
}

func hex4(b []byte, i int) (rune, bool) {
	if i+4 > len(b) {
		return 0, false
	}
	n, err := strconv.ParseUint(string(b[i:i+4]), 16, 16)
	return rune(n), err == nil
}
