package api

import (
	_ "embed"
	"fmt"
	"net/http"
	"runtime/debug"
	"time"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
)

//go:embed openapi.json
var openAPI []byte

type championJSON struct {
	Pair     string           `json:"pair"`
	Horizon  int              `json:"horizon"`
	Product  string           `json:"product"` // return, vol, quantiles or p_up
	Model    predict.ModelRef `json:"model"`
	LoadedAt time.Time        `json:"loaded_at"`
}

type infoResponse struct {
	Service   string         `json:"service"`
	Version   string         `json:"version"`
	StartedAt time.Time      `json:"started_at"`
	Pairs     []string       `json:"pairs"`
	Champions []championJSON `json:"champions"`
	Admin     bool           `json:"admin"`
	Links     Links          `json:"links"`
}

// handleInfo answers GET /v1/info: what the dashboard needs to start.
func (s *Server) handleInfo() echo.HandlerFunc {
	return func(c echo.Context) error {
		out := infoResponse{Service: "tickcast", Version: buildVersion(), StartedAt: s.started,
			Pairs: []string{}, Champions: []championJSON{}, Admin: s.cfg.AdminKey != "", Links: s.cfg.Links}
		for _, ch := range s.cfg.Predictions.Champions() {
			slug := market.PairSlug(ch.Pair)
			if n := len(out.Pairs); n == 0 || out.Pairs[n-1] != slug { // Champions is sorted by pair
				out.Pairs = append(out.Pairs, slug)
			}
			out.Champions = append(out.Champions, championJSON{slug, ch.Horizon, registry.ProductName(ch.Product),
				predict.NewModelRef(ch.Meta), ch.LoadedAt})
		}
		return writeJSON(c, http.StatusOK, out)
	}
}

// buildVersion is the VCS revision of the binary, or "devel".
func buildVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	for _, s := range info.Settings {
		if s.Key == "vcs.revision" {
			return s.Value
		}
	}
	if v := info.Main.Version; v != "" && v != "(devel)" {
		return v
	}
	return "devel"
}

type statusJSON struct {
	Status   string            `json:"status"`
	Reason   string            `json:"reason,omitempty"`
	Degraded []degradationJSON `json:"degraded,omitempty"`
}

type degradationJSON struct {
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	Product string `json:"product"`         // return, vol, quantiles or p_up
	Serving int    `json:"serving_version"` // -1: the product is not served (not even its baseline can forecast)
	Wanted  int    `json:"wanted_version"`
	Reason  string `json:"reason"`
}

// handleHealthz answers GET /healthz: the process serves HTTP.
func (s *Server) handleHealthz() echo.HandlerFunc {
	return func(c echo.Context) error {
		return writeJSON(c, http.StatusOK, statusJSON{Status: "ok"})
	}
}

// handleReadyz answers GET /readyz: 200 once a champion is loaded and its
// pair's features are fresh, else 503 with the reason. Series (pair ×
// horizon × product) served by a fallback model, or a product left out,
// make it "degraded", still 200: the pair × horizon answers.
func (s *Server) handleReadyz() echo.HandlerFunc {
	return func(c echo.Context) error {
		if ok, reason := s.cfg.Predictions.Ready(); !ok {
			return writeJSON(c, http.StatusServiceUnavailable, statusJSON{Status: "not_ready", Reason: reason})
		}
		ds := s.cfg.Predictions.Degraded()
		if len(ds) == 0 {
			return writeJSON(c, http.StatusOK, statusJSON{Status: "ready"})
		}
		out := statusJSON{Status: "degraded", Reason: fmt.Sprintf("%d pair × horizon × product served by a fallback model (or not served)", len(ds))}
		for _, d := range ds {
			out.Degraded = append(out.Degraded, degradationJSON{d.Pair, d.Horizon, registry.ProductName(d.Product), d.Serving, d.Wanted, d.Reason})
		}
		return writeJSON(c, http.StatusOK, out)
	}
}

// handleOpenAPI answers GET /openapi.json, the description of this API.
func (s *Server) handleOpenAPI() echo.HandlerFunc {
	return func(c echo.Context) error {
		return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPI)
	}
}
