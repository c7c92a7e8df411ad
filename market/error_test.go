package market

import (
	"errors"
	"fmt"
	"io"
	"testing"
)

func TestErrorCodeAndMessage(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		code, msg string
	}{
		{"nil", nil, "", ""},
		{"plain", io.EOF, CodeInternal, "internal error"},
		{"sentinel wrapped", fmt.Errorf("pair %q: %w", "X", ErrInvalid), CodeInvalid, `pair "X": invalid`},
		{"error", Errorf(CodeNotFound, "no model v%d", 3), CodeNotFound, "no model v3"},
		{"error wrapped", fmt.Errorf("load: %w", Errorf(CodeConflict, "busy")), CodeConflict, "busy"},
		{"error wrapping a cause", Errorf(CodeUnavailable, "store: %w", io.ErrUnexpectedEOF), CodeUnavailable, "store: unexpected EOF"},
		{"no message", &Error{Code: CodeInvalid, Err: io.EOF}, CodeInvalid, "EOF"},
		{"internal, no message", &Error{Code: CodeInternal, Err: io.EOF}, CodeInternal, "internal error"},
		{"no code", &Error{Message: "x", Err: ErrInvalid}, CodeInvalid, "x"},
	} {
		if got := ErrorCode(tc.err); got != tc.code {
			t.Errorf("%s: ErrorCode = %q, want %q", tc.name, got, tc.code)
		}
		if got := ErrorMessage(tc.err); got != tc.msg {
			t.Errorf("%s: ErrorMessage = %q, want %q", tc.name, got, tc.msg)
		}
	}
}

// The sentinel keeps working both ways: errors of code invalid are
// ErrInvalid, and the cause of an *Error stays reachable.
func TestErrorIs(t *testing.T) {
	err := fmt.Errorf("request: %w", Errorf(CodeInvalid, "horizon %d: %w", 0, io.EOF))
	if !errors.Is(err, ErrInvalid) || !errors.Is(err, io.EOF) {
		t.Errorf("%v: want it to be ErrInvalid and io.EOF", err)
	}
	if errors.Is(Errorf(CodeNotFound, "x"), ErrInvalid) {
		t.Error("a not_found error is not ErrInvalid")
	}
	if err.Error() != "request: horizon 0: EOF" {
		t.Errorf("Error() = %q", err.Error())
	}
}
