package ml

import (
	"fmt"
	"math"
	"strconv"
	"strings"

	"github.com/tickcast/tickcast/market"
)

// Registry parameter names of a fitted HAR (a baseline version's Params):
// serving rebuilds the same model from them, so the baseline a gate compared
// against is the one that serves when no model beats it.
const (
	ParamHARHorizon = "har_horizon"
	ParamHARWindows = "har_windows"
	ParamHARCoef    = "har_coef"
)

// Params encodes m for a registry version.
func (m HAR) Params() map[string]string {
	ws := make([]string, len(m.Windows))
	for i, w := range m.Windows {
		ws[i] = strconv.Itoa(w)
	}
	cs := make([]string, len(m.Coef))
	for i, c := range m.Coef {
		cs[i] = strconv.FormatFloat(c, 'g', -1, 64)
	}
	return map[string]string{
		ParamHARHorizon: strconv.Itoa(m.H),
		ParamHARWindows: strings.Join(ws, ","),
		ParamHARCoef:    strings.Join(cs, ","),
	}
}

// HARFromParams decodes what Params wrote; every window must be one the
// feature row carries (RVolFeature), so serving can predict from a row.
func HARFromParams(p map[string]string) (HAR, error) {
	var m HAR
	h, err := strconv.Atoi(p[ParamHARHorizon])
	if err != nil || h < 1 {
		return m, fmt.Errorf("HAR params: horizon %q: %w", p[ParamHARHorizon], market.ErrInvalid)
	}
	m.H = h
	for _, s := range strings.Split(p[ParamHARWindows], ",") {
		w, err := strconv.Atoi(s)
		if err != nil || w < 1 {
			return m, fmt.Errorf("HAR params: window %q: %w", s, market.ErrInvalid)
		}
		if _, ok := RVolFeature(w); !ok {
			return m, fmt.Errorf("HAR params: window %d has no realized-vol feature: %w", w, market.ErrInvalid)
		}
		m.Windows = append(m.Windows, w)
	}
	for _, s := range strings.Split(p[ParamHARCoef], ",") {
		c, err := strconv.ParseFloat(s, 64)
		if err != nil || math.IsNaN(c) || math.IsInf(c, 0) {
			return m, fmt.Errorf("HAR params: coefficient %q: %w", s, market.ErrInvalid)
		}
		m.Coef = append(m.Coef, c)
	}
	if len(m.Coef) != len(m.Windows)+1 {
		return m, fmt.Errorf("HAR params: %d coefficients for %d windows, want windows+1: %w", len(m.Coef), len(m.Windows), market.ErrInvalid)
	}
	return m, nil
}

// RVolFeature is the feature holding realized vol over the last w
// one-candle returns: √Σr² of them, as rvBetween computes over closes
// (w = 1 is |ret_1|).
func RVolFeature(w int) (int, bool) {
	switch w {
	case 1:
		return market.FRet1, true
	case 5:
		return market.FRVol5, true
	case 15:
		return market.FRVol15, true
	case 30:
		return market.FRVol30, true
	case 60:
		return market.FRVol60, true
	case 120:
		return market.FRVol120, true
	case 240:
		return market.FRVol240, true
	case 1440:
		return market.FRVol1440, true
	}
	return 0, false
}

// PredictRow is Predict at one feature row: the past vols come from the
// row's realized-vol features instead of the close series, so live serving
// and the fit agree. ok is false when a window's feature is missing.
func (m HAR) PredictRow(values []float64) (vol float64, ok bool) {
	if len(m.Coef) != len(m.Windows)+1 {
		return math.NaN(), false
	}
	v := m.Coef[0]
	for j, w := range m.Windows {
		x, ok := RowVol(values, w)
		if !ok {
			return math.NaN(), false
		}
		v += m.Coef[j+1] * x * math.Sqrt(float64(m.H)/float64(w))
	}
	return max(v, 0), true
}

// RowVol is the realized vol over the last w one-candle returns that a
// feature row carries (RVolFeature; |ret_1| at w = 1); ok is false when the
// row has no such feature or its value is missing or not finite.
func RowVol(values []float64, w int) (vol float64, ok bool) {
	i, known := RVolFeature(w)
	if !known || i >= len(values) {
		return math.NaN(), false
	}
	x := values[i]
	if w == 1 {
		x = math.Abs(x)
	}
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return math.NaN(), false
	}
	return x, true
}
