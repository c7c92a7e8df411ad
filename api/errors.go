package api

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
)

// errorBody is the JSON of every error response.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// Reasons: the error field of a body when it says more than its status
// (otherwise it is the status's, statusCode); predict's codes pass through.
const (
	reasonInternal     = "internal"
	reasonTimeout      = "timeout"
	reasonCanceled     = "canceled"
	reasonReloadFailed = "reload_failed"
)

// httpStatus maps market's error codes to HTTP statuses: the only place
// that does. Handlers return errors (market.Errorf(market.CodeInvalid, …),
// or any error: its code is market.ErrorCode's) and handleError answers.
var httpStatus = map[string]int{
	market.CodeInvalid:      http.StatusBadRequest,
	market.CodeNotFound:     http.StatusNotFound,
	market.CodeConflict:     http.StatusConflict,
	market.CodeUnauthorized: http.StatusUnauthorized,
	market.CodeForbidden:    http.StatusForbidden,
	market.CodeUnavailable:  http.StatusServiceUnavailable,
	market.CodeInternal:     http.StatusInternalServerError,
}

// predictCodes gives each of predict's reasons its code.
var predictCodes = map[string]string{
	predict.CodeBadRequest:  market.CodeInvalid,
	predict.CodeUnknownPair: market.CodeNotFound,
	predict.CodeNoModel:     market.CodeNotFound,
	predict.CodeNoFeatures:  market.CodeUnavailable,
	predict.CodeWarmingUp:   market.CodeUnavailable,
	predict.CodeStale:       market.CodeUnavailable,
	predict.CodeNotReady:    market.CodeUnavailable,
	predict.CodeModel:       market.CodeUnavailable,
	predict.CodeBadFeatures: market.CodeUnavailable,
	predict.CodeNoProduct:   market.CodeNotFound,
}

// reasonError gives an error a reason of its own for the body (its code,
// and so its status, stay err's).
type reasonError struct {
	reason string
	err    error
}

func withReason(reason string, err error) error { return &reasonError{reason, err} }

func (e *reasonError) Error() string { return e.reason + ": " + e.err.Error() }
func (e *reasonError) Unwrap() error { return e.err }

// statusCode spells a status as a reason: 404 → "not_found".
func statusCode(status int) string {
	if status == http.StatusInternalServerError {
		return reasonInternal
	}
	t := http.StatusText(status)
	if t == "" {
		return fmt.Sprintf("http_%d", status)
	}
	return strings.ToLower(strings.NewReplacer(" ", "_", "-", "_", "'", "").Replace(t))
}

// classify turns any error a handler, the router or a panic produced into
// a status and body. internal is true for the 500s, which are logged: they
// are bugs, never the client's doing.
func (s *Server) classify(err error, c echo.Context) (status int, body errorBody, internal bool) {
	code, reason, msg := s.describe(err)
	var he *echo.HTTPError
	if code == market.CodeInternal && errors.As(err, &he) && he.Code != http.StatusInternalServerError {
		return he.Code, errorBody{statusCode(he.Code), routerMessage(he, c)}, false // Echo's own: a status already
	}
	status, ok := httpStatus[code]
	if !ok || status == http.StatusInternalServerError {
		return http.StatusInternalServerError, errorBody{reasonInternal, "internal error"}, true
	}
	return status, errorBody{cmp.Or(reason, statusCode(status)), msg}, false
}

// describe reads an error's code, its reason when the status does not say
// it all, and the message a client may read.
func (s *Server) describe(err error) (code, reason, msg string) {
	var (
		re *reasonError
		me *market.Error
		pe *predict.Error
	)
	switch {
	case errors.As(err, &re):
		code, _, msg = s.describe(re.err)
		return code, re.reason, msg
	case errors.As(err, &me):
	case errors.As(err, &pe) && predictCodes[pe.Code] != "":
		return predictCodes[pe.Code], pe.Code, pe.Message
	case errors.Is(err, context.DeadlineExceeded):
		return market.CodeUnavailable, reasonTimeout, fmt.Sprintf("request took longer than %s", s.cfg.RequestTimeout)
	case errors.Is(err, context.Canceled):
		return market.CodeUnavailable, reasonCanceled, "request canceled"
	}
	return market.ErrorCode(err), "", market.ErrorMessage(err)
}

// routerMessage explains Echo's own errors (no route, wrong method).
func routerMessage(he *echo.HTTPError, c echo.Context) string {
	r := c.Request()
	path := r.URL.Path
	if len(path) > 200 {
		path = path[:200] + "…"
	}
	if m := fmt.Sprint(he.Message); m != http.StatusText(he.Code) {
		return m // set by us (the dashboard's), not Echo's router
	}
	switch he.Code {
	case http.StatusNotFound:
		return fmt.Sprintf("no route %s %s (see /openapi.json)", r.Method, path)
	case http.StatusMethodNotAllowed:
		return fmt.Sprintf("method %s not allowed on %s (allowed: %s)", r.Method, path, c.Response().Header().Get(echo.HeaderAllow))
	}
	return fmt.Sprint(he.Message)
}

// handleError is the Echo HTTPErrorHandler: every error leaves as JSON.
func (s *Server) handleError(err error, c echo.Context) {
	status, body, internal := s.classify(err, c)
	if internal {
		s.log.Error("request failed", "method", c.Request().Method, "route", c.Path(), "err", err)
	}
	if c.Response().Committed {
		s.log.Debug("error after the response started", "route", c.Path(), "err", err)
		return
	}
	if status == http.StatusUnauthorized {
		c.Response().Header().Set(echo.HeaderWWWAuthenticate, `Bearer realm="tickcast"`)
	}
	if status == http.StatusServiceUnavailable && body.Error == reasonTimeout {
		c.Response().Header().Set("Retry-After", "1")
	}
	// A wrapped handler (the dashboard's) may have set another type already.
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	if err := c.JSON(status, body); err != nil {
		s.log.Warn("write error response", "err", err)
	}
}
