package wire

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
	"unicode/utf8"
)

// FuzzParseFlatObject checks the hand-written scanner against encoding/json's
// tokenizer (the implementation it replaced, refParseFlatObject): the same
// inputs are accepted, with the same keys and values.
func FuzzParseFlatObject(f *testing.F) {
	for _, s := range []string{
		fixtureTradeJSON, fixtureCandleJSON, fixtureFeatureRowJSON,
		`{}`, ` { } `, `{"a":1,"a":2}`, `{"a":-0.5e+3,"b":true,"c":false,"d":null}`,
		`{"a":"\u00e9\ud83d\ude00\n\"\\\/\b\f\r\t"}`, `{"a":"\ud83d"}`, `{"a":"\ud83d\u0041"}`,
		`{"a":01}`, `{"a":1.}`, `{"a":.5}`, `{"a":1e}`, `{"a":-}`, `{"a":[1]}`, `{"a":{}}`,
		`{"a":1 "b":2}`, `{"a":1,}`, `{,}`, `{"a" 1}`, `{"a":tru}`, `{"a":"x` + "\x01" + `"}`,
		`{"a":1}x`, `{"a":1}{}`, "{\"a\":\"\xff\"}", `{"\u0061":1}`, `{"a":"\x"}`, `{"a":"\u12"}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := parseFlatObject(b, nil)
		want, refErr := refParseFlatObject(b, nil)
		if (err == nil) != (refErr == nil) {
			t.Fatalf("%q: scanner err %v, encoding/json err %v", b, err, refErr)
		}
		if err != nil {
			return
		}
		if len(got) != len(want) {
			t.Fatalf("%q: %d fields, want %d", b, len(got), len(want))
		}
		for i := range got {
			g, w := got[i], want[i]
			if !bytes.Equal(g.key, w.key) || g.val.kind != w.val.kind || !bytes.Equal(g.val.raw, w.val.raw) {
				t.Fatalf("%q: field %d = %q %d %q, want %q %d %q", b, i, g.key, g.val.kind, g.val.raw, w.key, w.val.kind, w.val.raw)
			}
		}
	})
}

func TestParseFlatObjectAliasesInput(t *testing.T) {
	b := []byte(`{"pair":"BTC/USD","n":12.5,"e":"a\nb"}`)
	fs, err := parseFlatObject(b, nil)
	if err != nil {
		t.Fatal(err)
	}
	if &fs[0].key[0] != &b[2] || &fs[0].val.raw[0] != &b[9] {
		t.Error("an unescaped key or value was copied, want a sub-slice of the input")
	}
	if string(fs[2].val.raw) != "a\nb" {
		t.Errorf("escaped value %q", fs[2].val.raw)
	}
}

func BenchmarkParseFlatObject(b *testing.B) {
	in, fs := []byte(fixtureTradeJSON), make([]wireField, 0, 16)
	b.ReportAllocs()
	for range b.N {
		if _, err := parseFlatObject(in, fs[:0]); err != nil {
			b.Fatal(err)
		}
	}
}

// refParseFlatObject is the encoding/json tokenizer version parseFlatObject
// replaced, kept as the fuzz reference.
func refParseFlatObject(b []byte, fs []wireField) ([]wireField, error) {
	if !utf8.Valid(b) || refLoneSurrogate(b) {
		return nil, errors.New("invalid text")
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, errors.New("want {")
	}
	for dec.More() {
		if len(fs) == maxFields {
			return nil, errors.New("too many keys")
		}
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		key, _ := k.(string)
		v, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var val wireValue
		switch v := v.(type) {
		case string:
			val = wireValue{kind: kindString, raw: []byte(v)}
		case json.Number:
			val = wireValue{kind: kindNumber, raw: []byte(v)}
		case bool:
			val = wireValue{kind: kindFalse}
			if v {
				val.kind = kindTrue
			}
		case nil:
			val = wireValue{kind: kindNull}
		default:
			return nil, errors.New("nested")
		}
		fs = append(fs, wireField{key: []byte(key), val: val})
	}
	if tok, err := dec.Token(); err != nil || tok != json.Delim('}') {
		return nil, errors.New("want }")
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("data after the object")
	}
	return fs, nil
}

// refLoneSurrogate reports whether b escapes a UTF-16 surrogate that is not
// half of a pair (encoding/json would turn it into U+FFFD).
func refLoneSurrogate(b []byte) bool {
	s := string(b)
	for i := 0; i < len(s); {
		j := strings.IndexByte(s[i:], '\\')
		if j < 0 || i+j+1 >= len(s) {
			return false
		}
		i += j
		if s[i+1] != 'u' {
			i += 2
			continue
		}
		r, ok := hex4(b, i+2)
		if !ok {
			return false
		}
		i += 6
		switch {
		case r < 0xd800 || r >= 0xe000:
			continue
		case r >= 0xdc00:
			return true
		}
		if i+1 >= len(s) || s[i] != '\\' || s[i+1] != 'u' {
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
