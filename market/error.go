package market

import (
	"errors"
	"fmt"
)

// Error codes: what went wrong, in terms every edge understands. The API maps
// them to HTTP statuses (api/errors.go), the activities to Temporal
// application errors (activities.TemporalError); nothing else does.
const (
	CodeInvalid      = "invalid"      // the input breaks a rule; retrying it cannot help
	CodeNotFound     = "not_found"    // what was asked for does not exist
	CodeConflict     = "conflict"     // the request contradicts the current state
	CodeUnavailable  = "unavailable"  // a dependency or resource is not ready; retry later
	CodeUnauthorized = "unauthorized" // the caller did not prove who it is
	CodeForbidden    = "forbidden"    // the caller may not do this
	CodeInternal     = "internal"     // a bug or an unexpected failure
)

// Error is tickcast's one error type: a code for programs, a message for
// people (safe to show a client) and the underlying error, if any, for logs.
type Error struct {
	Code    string
	Message string
	Err     error
}

// Errorf returns an *Error with code and a formatted message. A %w verb
// wraps its operand as Err.
func Errorf(code, format string, args ...any) *Error {
	err := fmt.Errorf(format, args...)
	return &Error{Code: code, Message: err.Error(), Err: errors.Unwrap(err)}
}

func (e *Error) Error() string {
	if e.Message == "" && e.Err != nil {
		return e.Err.Error()
	}
	if e.Message == "" {
		return e.Code
	}
	return e.Message
}

func (e *Error) Unwrap() error { return e.Err }

// Is makes errors.Is(err, ErrInvalid) true for every error of code invalid,
// so checks written against the sentinel keep working.
func (e *Error) Is(target error) bool {
	return target == ErrInvalid && e.Code == CodeInvalid
}

// ErrorCode returns the code of the first *Error in err's chain; an error
// wrapping ErrInvalid is CodeInvalid; nil is ""; any other error is
// CodeInternal.
func ErrorCode(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e) && e.Code != "":
		return e.Code
	case errors.Is(err, ErrInvalid):
		return CodeInvalid
	}
	return CodeInternal
}

// ErrorMessage returns what a client may be told of err: the message of the
// first *Error in its chain, the whole text of an error wrapping ErrInvalid
// (it describes the input), and "internal error" for anything else (the
// details of a bug are for the logs).
func ErrorMessage(err error) string {
	var e *Error
	switch {
	case err == nil:
		return ""
	case errors.As(err, &e) && e.Message != "":
		return e.Message
	case errors.As(err, &e) && e.Code != CodeInternal:
		return e.Error()
	case errors.Is(err, ErrInvalid):
		return err.Error()
	}
	return "internal error"
}
