package api

import (
	"context"
	"fmt"
	"net/http"
	"net/url"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
)

// promoteReason is recorded in the alias history of a promotion over HTTP.
const promoteReason = "promoted via API"

// series is one (pair, horizon, product) of the registry with its versions.
type seriesJSON struct {
	Pair       string          `json:"pair"`
	Horizon    int             `json:"horizon"`
	Product    string          `json:"product"` // return, vol, quantiles or p_up
	Champion   *int            `json:"champion"`
	Challenger *int            `json:"challenger"`
	Versions   []registry.Meta `json:"versions"`
}

// handleModels answers GET /v1/models (?pair, ?horizon, ?product): every
// series of the registry with its versions and their status.
func (s *Server) handleModels() echo.HandlerFunc {
	return func(c echo.Context) error {
		var pair string
		if raw := c.QueryParam("pair"); raw != "" {
			p, err := normalizePair(raw)
			if err != nil {
				return err
			}
			pair = p
		}
		h, err := intQuery(c, "horizon", 0, 1, maxHorizon)
		if err != nil {
			return err
		}
		product, err := productQuery(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		all, err := s.cfg.Registry.Series(ctx)
		if err != nil {
			return fmt.Errorf("list series: %w", err)
		}
		out := []seriesJSON{}
		for _, sr := range all {
			if (pair != "" && sr.Pair != pair) || (h != 0 && sr.Horizon != h) || (c.QueryParam("product") != "" && sr.Product != product) {
				continue
			}
			js, err := s.series(ctx, sr)
			if err != nil {
				return err
			}
			out = append(out, js)
		}
		return writeJSON(c, http.StatusOK, map[string]any{"models": out})
	}
}

func (s *Server) series(ctx context.Context, sr registry.Series) (seriesJSON, error) {
	a, err := s.cfg.Registry.AliasesIn(ctx, sr)
	if err != nil {
		return seriesJSON{}, fmt.Errorf("aliases of %s: %w", sr, err)
	}
	ms, err := s.cfg.Registry.ListIn(ctx, sr)
	if err != nil {
		return seriesJSON{}, fmt.Errorf("versions of %s: %w", sr, err)
	}
	for i := range ms {
		ms[i] = metaJSON(ms[i])
	}
	js := seriesJSON{Pair: market.PairSlug(sr.Pair), Horizon: sr.Horizon, Product: registry.ProductName(sr.Product), Versions: ms}
	if a.Champion != nil {
		js.Champion = &a.Champion.Version
	}
	if a.Challenger != nil {
		js.Challenger = &a.Challenger.Version
	}
	return js, nil
}

// metaJSON is m as the API shows it: the pair in URL spelling, like everywhere.
func metaJSON(m registry.Meta) registry.Meta {
	m.Pair = market.PairSlug(m.Pair)
	return m
}

// productQuery reads ?product (absent: return) as the registry spells it.
func productQuery(c echo.Context) (string, error) {
	p, err := registry.NormalizeProduct(c.QueryParam("product"))
	if err != nil {
		return "", market.Errorf(market.CodeInvalid, "%s", trimErr(err))
	}
	return p, nil
}

// seriesQuery reads ?pair (required), ?horizon (default 1) and ?product
// (default return) of the model routes.
func seriesQuery(c echo.Context) (registry.Series, error) {
	raw := c.QueryParam("pair")
	if raw == "" {
		return registry.Series{}, market.Errorf(market.CodeInvalid, "pair is required, e.g. ?pair=ETH-USDT")
	}
	pair, err := normalizePair(raw)
	if err != nil {
		return registry.Series{}, err
	}
	h, err := intQuery(c, "horizon", 1, 1, maxHorizon)
	if err != nil {
		return registry.Series{}, err
	}
	product, err := productQuery(c)
	return registry.Series{Pair: pair, Horizon: h, Product: product}, err
}

// versionParam is the :version path parameter: a number (3, v3) or an
// alias (champion, challenger, latest).
func versionParam(c echo.Context) (string, error) {
	v, err := url.PathUnescape(c.Param("version"))
	if err != nil {
		return "", market.Errorf(market.CodeInvalid, "version: bad escape in %.40q", c.Param("version"))
	}
	return v, nil
}

// modelQuery is the series (?pair, ?horizon, ?product) and the :version of
// the /v1/models/:version routes.
func modelQuery(c echo.Context) (sr registry.Series, ref string, err error) {
	if sr, err = seriesQuery(c); err != nil {
		return sr, "", err
	}
	ref, err = versionParam(c)
	return sr, ref, err
}

// handleModel answers GET /v1/models/:version (?pair, ?horizon, ?product).
func (s *Server) handleModel() echo.HandlerFunc {
	return func(c echo.Context) error {
		sr, ref, err := modelQuery(c)
		if err != nil {
			return err
		}
		m, err := s.cfg.Registry.GetIn(c.Request().Context(), sr, ref)
		if err != nil {
			return err
		}
		return writeJSON(c, http.StatusOK, metaJSON(m))
	}
}

// modelChange is the answer to promote and rollback.
type modelChange struct {
	Pair     string        `json:"pair"`
	Horizon  int           `json:"horizon"`
	Product  string        `json:"product"`
	Action   string        `json:"action"` // promote | rollback
	Previous int           `json:"previous"`
	Champion registry.Meta `json:"champion"`
}

// handlePromote answers POST /v1/models/:version/promote (admin): the
// version becomes champion and is served from the response on.
func (s *Server) handlePromote() echo.HandlerFunc {
	return func(c echo.Context) error {
		sr, ref, err := modelQuery(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		prev, err := s.cfg.Registry.GetIn(ctx, sr, registry.Champion)
		if err != nil {
			return err
		}
		m, err := s.cfg.Registry.GetIn(ctx, sr, ref)
		if err != nil {
			return err
		}
		if err := s.cfg.Registry.SetAliasIn(ctx, sr, registry.Champion, m.Version, promoteReason); err != nil {
			return err
		}
		s.log.Info("champion promoted", "pair", sr.Pair, "horizon", sr.Horizon, "product", registry.ProductName(sr.Product),
			"from", prev.Version, "to", m.Version)
		return s.changed(c, "promote", sr, prev.Version)
	}
}

// handleRollback answers POST /v1/models/:version/rollback (admin): the
// champion, which must be :version (or :version is "champion"), goes back
// to the version that held the alias before it.
func (s *Server) handleRollback() echo.HandlerFunc {
	return func(c echo.Context) error {
		sr, ref, err := modelQuery(c)
		if err != nil {
			return err
		}
		ctx := c.Request().Context()
		cur, err := s.cfg.Registry.GetIn(ctx, sr, registry.Champion)
		if err != nil {
			return err
		}
		if ref != registry.Champion {
			v, err := registry.ParseVersion(ref)
			if err != nil {
				return market.Errorf(market.CodeInvalid, "version %.40q: want champion or a version number such as v3", ref)
			}
			if v != cur.Version {
				return market.Errorf(market.CodeConflict, "v%d is not the champion of %s (v%d is): nothing rolled back",
					v, seriesLabel(sr), cur.Version)
			}
		}
		m, err := s.cfg.Registry.RollbackIn(ctx, sr, registry.Champion)
		if err != nil {
			return err
		}
		s.log.Info("champion rolled back", "pair", sr.Pair, "horizon", sr.Horizon, "product", registry.ProductName(sr.Product),
			"from", cur.Version, "to", m.Version)
		return s.changed(c, "rollback", sr, cur.Version)
	}
}

// changed reloads the champions after an alias change and answers with the
// new champion.
func (s *Server) changed(c echo.Context, action string, sr registry.Series, prev int) error {
	ctx := c.Request().Context()
	if err := s.cfg.Predictions.Refresh(ctx); err != nil {
		s.log.Error("reload champions after "+action, "pair", sr.Pair, "horizon", sr.Horizon, "product", registry.ProductName(sr.Product), "err", err)
		return withReason(reasonReloadFailed, market.Errorf(market.CodeUnavailable,
			"the registry changed but the new champion could not be loaded yet: %v", err))
	}
	m, err := s.cfg.Registry.GetIn(ctx, sr, registry.Champion)
	if err != nil {
		return err
	}
	return writeJSON(c, http.StatusOK, modelChange{market.PairSlug(sr.Pair), sr.Horizon, registry.ProductName(sr.Product), action, prev, metaJSON(m)})
}

// seriesLabel names a series as clients spell it: "ETH-USDT h1", "ETH-USDT h1 vol".
func seriesLabel(sr registry.Series) string {
	sr.Pair = market.PairSlug(sr.Pair)
	return sr.String()
}
