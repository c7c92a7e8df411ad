package api

import (
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
)

// observe is the outermost middleware: it renders any error right here
// (so that the status is known), then records the request's duration by
// route, method and status.
func (s *Server) observe(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		if err := next(c); err != nil {
			c.Error(err)
		}
		code := c.Response().Status
		if c.Path() == streamPath && !c.Response().Committed {
			code = http.StatusSwitchingProtocols // the upgrade bypassed Echo's response
		}
		s.metrics.request(s.routeLabel(c), methodLabel(c.Request().Method), strconv.Itoa(code), time.Since(start))
		if code >= http.StatusInternalServerError && code != http.StatusServiceUnavailable {
			s.log.Warn("request", "method", c.Request().Method, "route", c.Path(), "status", code)
		}
		return nil
	}
}

// routeLabel is the route pattern (never the raw URL, whose variety is the
// client's to choose), or "unmatched" when no route matched.
func (s *Server) routeLabel(c echo.Context) string {
	if s.routeNames[c.Path()] {
		return c.Path()
	}
	return "unmatched"
}

func methodLabel(m string) string {
	if knownMethods[m] {
		return m
	}
	return "OTHER"
}

// panicError is a recovered panic; handleError answers it with 500.
type panicError struct{ v any }

func (p panicError) Error() string { return fmt.Sprintf("panic: %v", p.v) }

// recover turns a panic into a 500, logged with its stack; the server keeps going.
func (s *Server) recover(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) (err error) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			// net/http's way to abort a response: let it through. The match is by
			// identity, as net/http's own (server.go: err != ErrAbortHandler):
			// v is a panic value, not a returned error, and a wrapped
			// ErrAbortHandler is neither exempt from net/http's logging nor meant
			// to abort here, so errors.Is would change what a wrapped one does.
			if v == any(http.ErrAbortHandler) {
				panic(v)
			}
			s.log.Error("panic serving request", "method", c.Request().Method, "route", c.Path(),
				"panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			err = panicError{v}
		}()
		return next(c)
	}
}

// timeout bounds each request with RequestTimeout through its context;
// handlers pass the context down, and a request that ran out of time is
// answered 503 {"error":"timeout"}. The stream is long-lived by design.
func (s *Server) timeout(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		if c.Path() == streamPath {
			return next(c)
		}
		ctx, cancel := context.WithTimeout(c.Request().Context(), s.cfg.RequestTimeout)
		defer cancel()
		c.SetRequest(c.Request().WithContext(ctx))
		err := next(c)
		if errors.Is(ctx.Err(), context.DeadlineExceeded) && !c.Response().Committed {
			return timeoutError{handler: err}
		}
		return err
	}
}

// timeoutError is a request that ran out of time. It unwraps to
// context.DeadlineExceeded only, so handleError answers 503 timeout whatever
// the handler returned meanwhile (a *market.Error from a cancelled call must not
// win); that error is kept in the message, for the log.
type timeoutError struct{ handler error }

func (e timeoutError) Error() string {
	return fmt.Sprintf("%v (handler: %v)", context.DeadlineExceeded, e.handler)
}

func (e timeoutError) Unwrap() error { return context.DeadlineExceeded }

// adminOnly guards the routes that change the registry: 403 when no admin
// key is configured, 401 unless the request carries it as a bearer token.
func (s *Server) adminOnly(next echo.HandlerFunc) echo.HandlerFunc {
	want := sha256.Sum256([]byte(s.cfg.AdminKey))
	return func(c echo.Context) error {
		if s.cfg.AdminKey == "" {
			return market.Errorf(market.CodeForbidden, "admin API disabled (no admin key configured)")
		}
		key, ok := bearer(c.Request().Header.Get(echo.HeaderAuthorization))
		if !ok {
			return market.Errorf(market.CodeUnauthorized, "missing admin key: send Authorization: Bearer <key>")
		}
		// Hashing first makes the comparison constant-time in the length too.
		got := sha256.Sum256([]byte(key))
		if subtle.ConstantTimeCompare(got[:], want[:]) != 1 {
			return market.Errorf(market.CodeUnauthorized, "wrong admin key")
		}
		return next(c)
	}
}

// bearer reads "Bearer <token>" (scheme case-insensitive, RFC 6750).
func bearer(h string) (string, bool) {
	scheme, token, ok := strings.Cut(strings.TrimSpace(h), " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}
