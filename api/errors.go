package api

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
)

// errorBody is the JSON of every error response.
type errorBody struct {
	Error   string `json:"error"`
	Message string `json:"message,omitempty"`
}

// Error codes of the API's own refusals (predict's codes pass through).
const (
	codeInternal = "internal"
	codeTimeout  = "timeout"
	codeCanceled = "canceled"
)

// apiError is a refusal the handlers decide themselves.
type apiError struct {
	Status  int
	Code    string
	Message string
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// httpError builds an apiError whose code is the status text in snake case.
func httpError(status int, format string, args ...any) error {
	return &apiError{Status: status, Code: statusCode(status), Message: fmt.Sprintf(format, args...)}
}

// statusCode spells a status as an error code: 404 → "not_found".
func statusCode(status int) string {
	if status == http.StatusInternalServerError {
		return codeInternal
	}
	t := http.StatusText(status)
	if t == "" {
		return fmt.Sprintf("http_%d", status)
	}
	return strings.ToLower(strings.NewReplacer(" ", "_", "-", "_", "'", "").Replace(t))
}

// predictStatus maps predict's codes to HTTP statuses: the only place that does.
var predictStatus = map[string]int{
	predict.CodeBadRequest:  http.StatusBadRequest,
	predict.CodeUnknownPair: http.StatusNotFound,
	predict.CodeNoModel:     http.StatusNotFound,
	predict.CodeNoFeatures:  http.StatusServiceUnavailable,
	predict.CodeWarmingUp:   http.StatusServiceUnavailable,
	predict.CodeStale:       http.StatusServiceUnavailable,
	predict.CodeNotReady:    http.StatusServiceUnavailable,
	predict.CodeModel:       http.StatusServiceUnavailable,
}

// classify turns any error a handler, the router or a panic produced into
// a status and body. internal is true for the 500s, which are logged: they
// are bugs, never the client's doing.
func (s *Server) classify(err error, c echo.Context) (status int, body errorBody, internal bool) {
	var (
		ae *apiError
		pe *predict.Error
		he *echo.HTTPError
	)
	switch {
	case errors.As(err, &ae):
		return ae.Status, errorBody{ae.Code, ae.Message}, false
	case errors.As(err, &pe):
		if st, ok := predictStatus[pe.Code]; ok {
			return st, errorBody{pe.Code, pe.Message}, false
		}
	case errors.Is(err, context.DeadlineExceeded):
		return http.StatusServiceUnavailable, errorBody{codeTimeout, fmt.Sprintf("request took longer than %s", s.cfg.RequestTimeout)}, false
	case errors.Is(err, context.Canceled):
		return http.StatusServiceUnavailable, errorBody{codeCanceled, "request canceled"}, false
	case errors.Is(err, registry.ErrNotFound):
		return http.StatusNotFound, errorBody{statusCode(http.StatusNotFound), err.Error()}, false
	case errors.Is(err, market.ErrInvalid):
		return http.StatusBadRequest, errorBody{statusCode(http.StatusBadRequest), err.Error()}, false
	case errors.As(err, &he) && he.Code != http.StatusInternalServerError:
		return he.Code, errorBody{statusCode(he.Code), routerMessage(he, c)}, false
	}
	return http.StatusInternalServerError, errorBody{codeInternal, "internal error"}, true
}

// routerMessage explains Echo's own errors (no route, wrong method).
func routerMessage(he *echo.HTTPError, c echo.Context) string {
	r := c.Request()
	path := r.URL.Path
	if len(path) > 200 {
		path = path[:200] + "…"
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
	if status == http.StatusServiceUnavailable && body.Error == codeTimeout {
		c.Response().Header().Set("Retry-After", "1")
	}
	// A wrapped handler (the dashboard's) may have set another type already.
	c.Response().Header().Set(echo.HeaderContentType, echo.MIMEApplicationJSON)
	if err := c.JSON(status, body); err != nil {
		s.log.Warn("write error response", "err", err)
	}
}
