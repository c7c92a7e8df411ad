package xgboost

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math"
)

// CheckModel reports whether buf is well-formed model text: valid JSON, or
// UBJ (Universal Binary JSON, the subset XGBoost writes) whose every length
// lies within buf. Load a model from an untrusted source (a store, a file
// that may have been cut short) only after it: XGBoost 1.7's UBJ reader
// reads past the end of a truncated buffer and can crash the process
// (TestCheckModelTruncated). It does not check that the model makes sense;
// Load does.
func CheckModel(buf []byte) error {
	if len(buf) == 0 {
		return fmt.Errorf("check model: empty: %w", ErrInvalid)
	}
	if buf[0] != '{' {
		return fmt.Errorf("check model: starts with %q, want an object: %w", buf[0], ErrInvalid)
	}
	if json.Valid(buf) {
		return nil
	}
	u := ubjReader{buf: buf}
	if err := u.value(0); err != nil {
		return fmt.Errorf("check model: UBJ at byte %d: %w: %w", u.pos, err, ErrInvalid)
	}
	if u.pos != len(buf) {
		return fmt.Errorf("check model: %d bytes after the model: %w", len(buf)-u.pos, ErrInvalid)
	}
	return nil
}

type ubjReader struct {
	buf []byte
	pos int
}

const ubjMaxDepth = 64

func (u *ubjReader) take(n int) ([]byte, error) {
	if n < 0 || n > len(u.buf)-u.pos {
		return nil, fmt.Errorf("%d bytes wanted, %d left", n, len(u.buf)-u.pos)
	}
	b := u.buf[u.pos : u.pos+n]
	u.pos += n
	return b, nil
}

func (u *ubjReader) marker() (byte, error) {
	b, err := u.take(1)
	if err != nil {
		return 0, err
	}
	return b[0], nil
}

// size is the payload size of a fixed-size type, -1 for others.
func ubjSize(m byte) int {
	switch m {
	case 'Z', 'N', 'T', 'F':
		return 0
	case 'i', 'U', 'C':
		return 1
	case 'I':
		return 2
	case 'l', 'd':
		return 4
	case 'L', 'D':
		return 8
	}
	return -1
}

// count reads an integer (a length or count).
func (u *ubjReader) count() (int, error) {
	m, err := u.marker()
	if err != nil {
		return 0, err
	}
	n := ubjSize(m)
	if m != 'i' && m != 'U' && m != 'I' && m != 'l' && m != 'L' {
		return 0, fmt.Errorf("length of type %q", m)
	}
	b, err := u.take(n)
	if err != nil {
		return 0, err
	}
	var v int64
	switch m {
	case 'i':
		v = int64(int8(b[0]))
	case 'U':
		v = int64(b[0])
	case 'I':
		v = int64(int16(binary.BigEndian.Uint16(b)))
	case 'l':
		v = int64(int32(binary.BigEndian.Uint32(b)))
	case 'L':
		v = int64(binary.BigEndian.Uint64(b))
	}
	if v < 0 || v > math.MaxInt32 {
		return 0, fmt.Errorf("length %d", v)
	}
	return int(v), nil
}

func (u *ubjReader) value(depth int) error {
	m, err := u.marker()
	if err != nil {
		return err
	}
	return u.typed(m, depth)
}

func (u *ubjReader) typed(m byte, depth int) error {
	if n := ubjSize(m); n >= 0 {
		_, err := u.take(n)
		return err
	}
	switch m {
	case 'S', 'H':
		n, err := u.count()
		if err != nil {
			return err
		}
		_, err = u.take(n)
		return err
	case '[', '{':
		if depth >= ubjMaxDepth {
			return fmt.Errorf("nested deeper than %d", ubjMaxDepth)
		}
		return u.container(m == '{', depth+1)
	}
	return fmt.Errorf("unknown marker %q", m)
}

// container reads an array or object after its opening marker: optionally
// typed ($) and counted (#), else ended by ] or }.
func (u *ubjReader) container(object bool, depth int) error {
	var elem byte
	n := -1
	if u.pos < len(u.buf) && u.buf[u.pos] == '$' {
		u.pos++
		var err error
		if elem, err = u.marker(); err != nil {
			return err
		}
		if u.pos >= len(u.buf) || u.buf[u.pos] != '#' {
			return fmt.Errorf("typed container without a count")
		}
	}
	if u.pos < len(u.buf) && u.buf[u.pos] == '#' {
		u.pos++
		var err error
		if n, err = u.count(); err != nil {
			return err
		}
	}
	if elem != 0 && !object {
		if size := ubjSize(elem); size >= 0 { // a typed array of numbers: one bounds check
			_, err := u.take(n * size)
			return err
		}
	}
	end := byte(']')
	if object {
		end = '}'
	}
	for i := 0; n < 0 || i < n; i++ {
		if n < 0 {
			if u.pos >= len(u.buf) {
				return fmt.Errorf("container not closed")
			}
			if u.buf[u.pos] == end {
				u.pos++
				return nil
			}
		}
		if object {
			k, err := u.count()
			if err != nil {
				return err
			}
			if _, err := u.take(k); err != nil {
				return err
			}
		}
		var err error
		if elem != 0 {
			err = u.typed(elem, depth)
		} else {
			err = u.value(depth)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
