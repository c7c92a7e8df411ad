package api

import (
	"fmt"
	"net/http"

	"github.com/labstack/echo/v4"
)

// handleDashboard serves the dashboard handler, turning its error answers
// (a missing asset's 404, say) into the API's JSON errors.
func (s *Server) handleDashboard() echo.HandlerFunc {
	return func(c echo.Context) error {
		w := &errorCatcher{ResponseWriter: c.Response()}
		s.cfg.Dashboard.ServeHTTP(w, c.Request())
		if w.status != 0 {
			return echo.NewHTTPError(w.status, fmt.Sprintf("%s %.200s: %s", c.Request().Method, c.Request().URL.Path, http.StatusText(w.status)))
		}
		return nil
	}
}

// errorCatcher swallows an error status and its body, for the caller to
// answer instead.
type errorCatcher struct {
	http.ResponseWriter
	status int
}

func (w *errorCatcher) WriteHeader(code int) {
	if code >= http.StatusBadRequest {
		w.status = code
		return
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *errorCatcher) Write(b []byte) (int, error) {
	if w.status != 0 {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

func (w *errorCatcher) Unwrap() http.ResponseWriter { return w.ResponseWriter }
