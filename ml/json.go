package ml

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
)

// num is a float64 whose JSON form is null when it is NaN or ±Inf (which
// encoding/json refuses); null reads back as NaN. Metrics often hold NaN
// (an undefined value) and cross Temporal as JSON.
type num float64

func (n num) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (n *num) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = num(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = num(f)
	return err
}

func nums(v []float64) []num {
	out := make([]num, len(v))
	for i, x := range v {
		out[i] = num(x)
	}
	return out
}

func floats(v []num) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

type metricsJSON struct {
	N         int          `json:"n"`
	MAE       num          `json:"mae"`
	RMSE      num          `json:"rmse"`
	PriceMAE  num          `json:"price_mae"`
	PriceRMSE num          `json:"price_rmse"`
	DirN      int          `json:"dir_n"`
	DirAcc    num          `json:"dir_acc"`
	DirAccLo  num          `json:"dir_acc_lo"`
	DirAccHi  num          `json:"dir_acc_hi"`
	Skill     num          `json:"skill"`
	SkillLo   num          `json:"skill_lo"`
	SkillHi   num          `json:"skill_hi"`
	Backtest  backtestJSON `json:"backtest"`
}

type backtestJSON struct {
	PnL      num `json:"pnl"`
	Fees     num `json:"fees"`
	HitRate  num `json:"hit_rate"`
	Turnover num `json:"turnover"`
	Trades   int `json:"trades"`
	Periods  int `json:"periods"`
}

// MarshalJSON writes snake_case keys and null for undefined (NaN) values.
func (m Metrics) MarshalJSON() ([]byte, error) {
	return json.Marshal(metricsJSON{m.N, num(m.MAE), num(m.RMSE), num(m.PriceMAE), num(m.PriceRMSE),
		m.DirN, num(m.DirAcc), num(m.DirAccLo), num(m.DirAccHi), num(m.Skill), num(m.SkillLo), num(m.SkillHi),
		m.Backtest.toJSON()})
}

// UnmarshalJSON reads MarshalJSON's form; null and absent values are NaN.
func (m *Metrics) UnmarshalJSON(b []byte) error {
	j := metricsJSON{MAE: nan(), RMSE: nan(), PriceMAE: nan(), PriceRMSE: nan(), DirAcc: nan(), DirAccLo: nan(),
		DirAccHi: nan(), Skill: nan(), SkillLo: nan(), SkillHi: nan(), Backtest: backtestJSON{HitRate: nan()}}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = Metrics{j.N, float64(j.MAE), float64(j.RMSE), float64(j.PriceMAE), float64(j.PriceRMSE), j.DirN,
		float64(j.DirAcc), float64(j.DirAccLo), float64(j.DirAccHi), float64(j.Skill), float64(j.SkillLo),
		float64(j.SkillHi), j.Backtest.fromJSON()}
	return nil
}

// nan is the value of an undefined number.
func nan() num { return num(math.NaN()) }

func (b Backtest) toJSON() backtestJSON {
	return backtestJSON{num(b.PnL), num(b.Fees), num(b.HitRate), num(b.Turnover), b.Trades, b.Periods}
}

func (j backtestJSON) fromJSON() Backtest {
	return Backtest{float64(j.PnL), float64(j.Fees), float64(j.HitRate), float64(j.Turnover), j.Trades, j.Periods}
}

// MarshalJSON writes Backtest like Metrics does.
func (b Backtest) MarshalJSON() ([]byte, error) { return json.Marshal(b.toJSON()) }

// UnmarshalJSON reads MarshalJSON's form.
func (b *Backtest) UnmarshalJSON(data []byte) error {
	j := backtestJSON{HitRate: nan()}
	if err := json.Unmarshal(data, &j); err != nil {
		return err
	}
	*b = j.fromJSON()
	return nil
}

// Values flattens m for a registry record, keys as in its JSON form
// (backtest values prefixed "backtest_"); undefined values are left out.
func (m Metrics) Values() map[string]float64 {
	out := map[string]float64{"n": float64(m.N), "dir_n": float64(m.DirN),
		"backtest_trades": float64(m.Backtest.Trades), "backtest_periods": float64(m.Backtest.Periods)}
	for k, v := range map[string]float64{"mae": m.MAE, "rmse": m.RMSE, "price_mae": m.PriceMAE,
		"price_rmse": m.PriceRMSE, "dir_acc": m.DirAcc, "dir_acc_lo": m.DirAccLo, "dir_acc_hi": m.DirAccHi,
		"skill": m.Skill, "skill_lo": m.SkillLo, "skill_hi": m.SkillHi, "backtest_pnl": m.Backtest.PnL,
		"backtest_fees": m.Backtest.Fees, "backtest_hit_rate": m.Backtest.HitRate,
		"backtest_turnover": m.Backtest.Turnover} {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}

type trialJSON struct {
	ID       int           `json:"id"`
	Rung     int           `json:"rung"`
	Params   TrialParams   `json:"params"`
	Scores   []num         `json:"scores"`
	Score    num           `json:"score"`
	Rounds   int           `json:"rounds"`
	Duration time.Duration `json:"duration_ns"`
	Err      string        `json:"err,omitempty"`
}

// MarshalJSON writes snake_case keys, null for NaN scores.
func (t TrialResult) MarshalJSON() ([]byte, error) {
	return json.Marshal(trialJSON{t.ID, t.Rung, t.Params, nums(t.Scores), num(t.Score), t.Rounds, t.Duration, t.Err})
}

// UnmarshalJSON reads MarshalJSON's form.
func (t *TrialResult) UnmarshalJSON(b []byte) error {
	j := trialJSON{Score: nan()}
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*t = TrialResult{ID: j.ID, Rung: j.Rung, Params: j.Params, Scores: floats(j.Scores), Score: float64(j.Score),
		Rounds: j.Rounds, Duration: j.Duration, Err: j.Err}
	return nil
}
