package api

import (
	"net/http"

	"github.com/labstack/echo/v4"
)

// routes is the whole API surface; openapi.json documents the same list
// (a test keeps them equal).
func (s *Server) routes() {
	e := s.echo
	e.Use(s.observe, s.recover, s.timeout)

	e.GET("/v1/predictions", s.handlePredictionsAll())
	e.GET("/v1/predictions/:pair", s.handlePrediction())
	e.GET("/v1/predictions/:pair/history", s.handleHistory())
	e.GET("/v1/candles/:pair", s.handleCandles())
	e.GET("/v1/scores", s.handleScores())
	e.GET("/v1/models", s.handleModels())
	e.GET("/v1/models/:version", s.handleModel())
	e.POST("/v1/models/:version/promote", s.handlePromote(), s.adminOnly)
	e.POST("/v1/models/:version/rollback", s.handleRollback(), s.adminOnly)
	e.GET("/v1/runs", s.handleRuns())
	e.GET("/v1/runs/:id", s.handleRun())
	e.GET("/v1/runs/:id/compare/:other", s.handleRunsCompare())
	e.GET("/v1/runs/:id/files/:name", s.handleRunFile())
	e.GET("/v1/info", s.handleInfo())
	e.GET(streamPath, echo.WrapHandler(s.cfg.Hub))

	e.GET("/healthz", s.handleHealthz())
	e.GET("/readyz", s.handleReadyz())
	e.GET("/metrics", echo.WrapHandler(s.metrics.handler(s.log, s.cfg.Metrics)))
	e.GET("/openapi.json", s.handleOpenAPI())

	if s.cfg.Dashboard != nil {
		e.GET("/", s.handleDashboard())
		e.GET("/runs", s.handleDashboard())
		e.GET("/assets/*", s.handleDashboard())
	}
}

// streamPath is the WebSocket route, exempt from the request timeout.
const streamPath = "/v1/stream"

// knownMethods bound the method label of the metrics: anything else is OTHER.
var knownMethods = map[string]bool{
	http.MethodGet: true, http.MethodHead: true, http.MethodPost: true, http.MethodPut: true,
	http.MethodPatch: true, http.MethodDelete: true, http.MethodOptions: true,
}
