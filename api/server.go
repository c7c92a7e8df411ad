package api

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/scoring"
	"github.com/tickcast/tickcast/stream"
)

// Defaults of Config and Serve.
const (
	DefaultRequestTimeout = 5 * time.Second
	shutdownTimeout       = 10 * time.Second
)

// Candles gives the recent candles of a pair, oldest first (*online.Candles).
type Candles interface {
	Recent(pair string, limit int) []market.Candle
}

// Links are URLs of the companion tools, shown by the dashboard (GET /v1/info).
type Links struct {
	TemporalUI string `json:"temporal_ui,omitempty"`
	Grafana    string `json:"grafana,omitempty"`
	Docs       string `json:"docs,omitempty"`
}

// Config holds the dependencies of a Server.
type Config struct {
	Predictions *predict.Service   // required
	Scores      *scoring.Scorer    // required
	Hub         *stream.Hub        // required
	Registry    *registry.Registry // required
	Candles     Candles            // nil: GET /v1/candles answers empty lists
	// DataDir is the data directory whose training runs (reports/) the
	// /v1/runs routes serve; "": none.
	DataDir string
	// AdminKey guards promote and rollback; empty: they answer 403.
	AdminKey string
	// RequestTimeout bounds every request but the stream (0: 5s).
	RequestTimeout time.Duration
	// Dashboard is mounted at GET / and GET /assets/*; nil: none.
	Dashboard http.Handler
	Links     Links
	Logger    *slog.Logger
	// Metrics are served on /metrics beside the API's own (the in-process
	// pipelines'); nil: none.
	Metrics prometheus.Gatherer
}

// Server is the HTTP API. It is safe for concurrent use.
type Server struct {
	cfg     Config
	log     *slog.Logger
	echo    *echo.Echo
	metrics *metrics
	started time.Time
	// routeNames are the registered route patterns: the route label values.
	routeNames map[string]bool
}

// New builds the server and its routes.
func New(cfg Config) (*Server, error) {
	switch {
	case cfg.Predictions == nil:
		return nil, errors.New("api: Config.Predictions is required")
	case cfg.Scores == nil:
		return nil, errors.New("api: Config.Scores is required")
	case cfg.Hub == nil:
		return nil, errors.New("api: Config.Hub is required")
	case cfg.Registry == nil:
		return nil, errors.New("api: Config.Registry is required")
	}
	if cfg.RequestTimeout <= 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	s := &Server{cfg: cfg, log: cfg.Logger.With("component", "api"), started: time.Now().UTC()}
	s.metrics = newMetrics(s)
	s.echo = echo.New()
	s.echo.HideBanner, s.echo.HidePort = true, true
	s.echo.HTTPErrorHandler = s.handleError
	s.routes()
	s.routeNames = map[string]bool{}
	for _, r := range s.echo.Routes() {
		s.routeNames[r.Path] = true
	}
	return s, nil
}

// Handler returns the API as an http.Handler.
func (s *Server) Handler() http.Handler { return s.echo }

// Serve serves on ln until ctx is done, then shuts down gracefully: new
// connections are refused, in-flight requests get up to 10s, stream clients
// are closed with 1001 (going away).
func (s *Server) Serve(ctx context.Context, ln net.Listener) error {
	srv := &http.Server{
		Handler:           s.echo,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelWarn),
		BaseContext:       func(net.Listener) context.Context { return context.WithoutCancel(ctx) },
	}
	// Hijacked WebSocket connections are not tracked by Shutdown.
	srv.RegisterOnShutdown(s.cfg.Hub.Close)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	s.log.Info("api listening", "addr", ln.Addr().String())
	select {
	case err := <-errc:
		return fmt.Errorf("api: serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err := srv.Shutdown(sctx)
	if serr := <-errc; !errors.Is(serr, http.ErrServerClosed) {
		err = errors.Join(err, serr)
	}
	if err != nil {
		return fmt.Errorf("api: shutdown: %w", err)
	}
	s.log.Info("api stopped")
	return nil
}
