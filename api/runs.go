package api

import (
	"net/http"
	"net/url"
	"os"
	"path/filepath"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/training"
)

// runFileTypes are the report files GET /v1/runs/:id/files/:name serves,
// by extension (the model files are not served).
var runFileTypes = map[string]string{
	".svg":  "image/svg+xml",
	".csv":  "text/csv; charset=utf-8",
	".md":   "text/markdown; charset=utf-8",
	".json": echo.MIMEApplicationJSON,
}

// handleRuns answers GET /v1/runs (?pair, ?horizon): every training run of
// the data directory, newest first, and the folders skipped with why.
func (s *Server) handleRuns() echo.HandlerFunc {
	return func(c echo.Context) error {
		h, err := intQuery(c, "horizon", 0, 1, maxHorizon)
		if err != nil {
			return err
		}
		f := training.RunFilter{Pair: c.QueryParam("pair"), Horizon: h}
		if f.Pair != "" {
			if _, err := normalizePair(f.Pair); err != nil {
				return err
			}
		}
		if s.cfg.DataDir == "" {
			return writeJSON(c, http.StatusOK, training.RunList{Runs: []training.RunSummary{}, Skipped: []training.SkippedRun{}})
		}
		list, err := training.ListRuns(c.Request().Context(), s.cfg.DataDir, s.cfg.Registry, f)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, list)
	}
}

// handleRun answers GET /v1/runs/:id: one run, everything its folder holds.
func (s *Server) handleRun() echo.HandlerFunc {
	return func(c echo.Context) error {
		run, err := s.loadRun(c, "id")
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, run)
	}
}

// handleRunsCompare answers GET /v1/runs/:id/compare/:other: two runs side by side.
func (s *Server) handleRunsCompare() echo.HandlerFunc {
	return func(c echo.Context) error {
		a, err := s.loadRun(c, "id")
		if err != nil {
			return err
		}
		b, err := s.loadRun(c, "other")
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, training.CompareRuns(a, b))
	}
}

// handleRunFile answers GET /v1/runs/:id/files/:name: a plot or another
// report file, only from directly inside the run's folder.
func (s *Server) handleRunFile() echo.HandlerFunc {
	return func(c echo.Context) error {
		id, err := pathParam(c, "id")
		if err != nil {
			return err
		}
		name, err := pathParam(c, "name")
		if err != nil {
			return err
		}
		kind, ok := runFileTypes[filepath.Ext(name)]
		if !ok || s.cfg.DataDir == "" {
			return market.Errorf(market.CodeNotFound, "run %s: file %s: not served", id, name)
		}
		path, err := training.RunFile(s.cfg.DataDir, id, name)
		if err != nil {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return market.Errorf(market.CodeNotFound, "run %s: file %s: %v", id, name, err)
		}
		h := c.Response().Header()
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'")
		return c.Blob(http.StatusOK, kind, b)
	}
}

func (s *Server) loadRun(c echo.Context, param string) (training.Run, error) {
	id, err := pathParam(c, param)
	if err != nil {
		return training.Run{}, err
	}
	if s.cfg.DataDir == "" {
		return training.Run{}, market.Errorf(market.CodeNotFound, "run %s: this server has no data directory", id)
	}
	return training.LoadRun(c.Request().Context(), s.cfg.DataDir, s.cfg.Registry, id)
}

// pathParam is a path parameter, unescaped.
func pathParam(c echo.Context, name string) (string, error) {
	v, err := url.PathUnescape(c.Param(name))
	if err != nil {
		return "", market.Errorf(market.CodeInvalid, "%s: bad escape in %.40q", name, c.Param(name))
	}
	return v, nil
}
