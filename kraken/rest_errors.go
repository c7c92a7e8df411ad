package kraken

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
)

// Kinds of REST failure, for errors.Is. Kraken reports errors in the body
// of an HTTP 200 as strings such as "EGeneral:Too many requests"; APIError
// and HTTPError map them, and transport failures, onto these.
var (
	// ErrRateLimited: over Kraken's budget (EGeneral:Too many requests,
	// EAPI:Rate limit exceeded, EGeneral:Temporary lockout, HTTP 429). Retried.
	ErrRateLimited = errors.New("kraken: rate limited")
	// ErrUnavailable: Kraken could not answer (EService:*, EGeneral:Internal
	// error, HTTP 5xx, timeouts, connection errors). Retried.
	ErrUnavailable = errors.New("kraken: unavailable")
	// ErrUnknownPair: EQuery:Unknown asset pair. Not retried.
	ErrUnknownPair = errors.New("kraken: unknown asset pair")
	// ErrInvalidArguments: EGeneral:Invalid arguments[:detail]. Not retried.
	ErrInvalidArguments = errors.New("kraken: invalid arguments")
)

// APIError is a non-empty "error" array of a Kraken REST reply, verbatim.
type APIError struct{ Errors []string }

func (e *APIError) Error() string {
	return "kraken: " + strings.Join(e.Errors, "; ")
}

// Is matches the kind of any of the errors.
func (e *APIError) Is(target error) bool {
	for _, s := range e.Errors {
		if errorKind(s) == target {
			return true
		}
	}
	return false
}

// errorKind classifies one Kraken error string; nil when it has no kind.
func errorKind(s string) error {
	switch {
	case s == "EGeneral:Too many requests", s == "EAPI:Rate limit exceeded",
		s == "EGeneral:Temporary lockout", strings.HasSuffix(s, ":Rate limit exceeded"):
		return ErrRateLimited
	case strings.HasPrefix(s, "EService:"), s == "EGeneral:Internal error":
		return ErrUnavailable
	case s == "EQuery:Unknown asset pair", s == "EQuery:Invalid asset pair":
		return ErrUnknownPair
	case s == "EGeneral:Invalid arguments", strings.HasPrefix(s, "EGeneral:Invalid arguments:"):
		return ErrInvalidArguments
	}
	return nil
}

// HTTPError is a reply whose status is not 200 (Kraken's own errors come
// with 200; these are from its CDN or load balancers).
type HTTPError struct {
	Status int
	Body   string // the start of the body, for the log
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("kraken: HTTP %d %s: %s", e.Status, http.StatusText(e.Status), e.Body)
}

// Is: 429 is ErrRateLimited, 5xx ErrUnavailable.
func (e *HTTPError) Is(target error) bool {
	switch target {
	case ErrRateLimited:
		return e.Status == http.StatusTooManyRequests
	case ErrUnavailable:
		return e.Status >= 500
	}
	return false
}

// transportError is a request that got no reply (refused, reset, timed
// out, cut short): Kraken is unavailable from here, so it is retried.
type transportError struct{ err error }

func (e *transportError) Error() string        { return "kraken: " + e.err.Error() }
func (e *transportError) Unwrap() error        { return e.err }
func (e *transportError) Is(target error) bool { return target == ErrUnavailable }

// retryable reports whether another attempt may succeed.
func retryable(err error) bool {
	return errors.Is(err, ErrRateLimited) || errors.Is(err, ErrUnavailable)
}
