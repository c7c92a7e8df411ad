package archive

import (
	"errors"
	"fmt"
)

// ParseError is a row of an archive file that cannot be read: where it is
// and what is wrong with it, never what it holds. A file named by mistake (a
// key, /etc/passwd) must not leak into logs, the CLI's output or a workflow's
// history, which is where these errors end up.
type ParseError struct {
	Line   int    // 1-based; 0 when not known
	Column int    // 1-based CSV column; 0 for the row as a whole
	Field  string // the column's name, when known
	Err    error  // what is wrong, in words of our own
}

func (e *ParseError) Error() string {
	s := "row"
	if e.Line > 0 {
		s = fmt.Sprintf("line %d", e.Line)
	}
	switch {
	case e.Column > 0 && e.Field != "":
		s += fmt.Sprintf(", column %d (%s)", e.Column, e.Field)
	case e.Column > 0:
		s += fmt.Sprintf(", column %d", e.Column)
	}
	return s + ": " + e.Err.Error()
}

func (e *ParseError) Unwrap() error { return e.Err }

// colErr is a bad field: column i (0-based) named name.
func colErr(i int, name, format string, args ...any) error {
	return &ParseError{Column: i + 1, Field: name, Err: fmt.Errorf(format, args...)}
}

// atLine places err, a bad row's, on its line.
func atLine(err error, line int) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		if pe.Line == 0 {
			pe.Line = line
		}
		return pe
	}
	return &ParseError{Line: line, Err: err}
}
