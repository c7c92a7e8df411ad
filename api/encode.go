package api

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/tickcast/tickcast/market"
)

// Limits of the query parameters.
const (
	maxHorizon        = market.MaxHorizon // as predict allows
	defaultCandles    = 300
	maxCandles        = 1440
	defaultHistory    = 100
	maxHistory        = 1440
	defaultTopHorizon = 1
)

// writeJSON encodes v fully before writing, so that an encoding failure
// becomes a clean error response instead of a torn 200.
func writeJSON(c echo.Context, status int, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T: %w", v, err)
	}
	return c.JSONBlob(status, b)
}

// pairParam reads and normalises the :pair path parameter.
func pairParam(c echo.Context) (string, error) {
	raw, err := url.PathUnescape(c.Param("pair"))
	if err != nil {
		return "", market.Errorf(market.CodeInvalid, "pair: bad escape in %.40q", c.Param("pair"))
	}
	return normalizePair(raw)
}

func normalizePair(raw string) (string, error) {
	p, err := market.NormalizePair(raw)
	if err != nil {
		return "", market.Errorf(market.CodeInvalid, "%v; want a pair such as ETH-USDT", trimErr(err))
	}
	return p, nil
}

// trimErr drops the trailing ": invalid" sentinel text from messages meant for clients.
func trimErr(err error) string {
	return strings.TrimSuffix(err.Error(), ": "+market.ErrInvalid.Error())
}

// intQuery reads an optional integer parameter within [lo, hi].
func intQuery(c echo.Context, name string, def, lo, hi int) (int, error) {
	s := c.QueryParam(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, market.Errorf(market.CodeInvalid, "%s=%.40q: want an integer from %d to %d", name, s, lo, hi)
	}
	return n, nil
}

// boolQuery reads an optional boolean parameter (true/false/1/0).
func boolQuery(c echo.Context, name string) (bool, error) {
	s := c.QueryParam(name)
	if s == "" {
		return false, nil
	}
	b, err := strconv.ParseBool(s)
	if err != nil {
		return false, market.Errorf(market.CodeInvalid, "%s=%.40q: want true or false", name, s)
	}
	return b, nil
}

// noCache reports a request header Cache-Control: no-cache, which asks
// for a fresh computation instead of the cached prediction.
func noCache(r *http.Request) bool {
	for _, h := range r.Header.Values(echo.HeaderCacheControl) {
		for d := range strings.SplitSeq(h, ",") {
			if strings.EqualFold(strings.TrimSpace(d), "no-cache") {
				return true
			}
		}
	}
	return false
}

// num is a float that encodes NaN and ±Inf (a skill over a zero baseline
// error, say) as null, which JSON can hold.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}
