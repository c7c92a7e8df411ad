package ml

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func near(a, b, tol float64) bool {
	if math.IsNaN(a) || math.IsNaN(b) {
		return math.IsNaN(a) && math.IsNaN(b)
	}
	return math.Abs(a-b) <= tol
}

func TestEvaluateHandWorked(t *testing.T) {
	// Hand-written fixture.
	pred := []float64{0.01, -0.02, 0, 0.03}
	realized := []float64{0.02, -0.01, 0.01, -0.01}
	close := []float64{100, 200, 50, 100}
	zero := make([]float64, 4)
	m := Evaluate(pred, realized, close, zero, 0.001, 1)

	// |errors| 0.01, 0.01, 0.01, 0.04: MAE 0.07/4; squares 1e-4·(1+1+1+16).
	// Price errors are close·(e^pred − e^realized), row by row.
	priceErr := []float64{100 * (math.Exp(0.01) - math.Exp(0.02)), 200 * (math.Exp(-0.02) - math.Exp(-0.01)),
		50 * (1 - math.Exp(0.01)), 100 * (math.Exp(0.03) - math.Exp(-0.01))}
	var pa, ps float64
	for _, e := range priceErr {
		pa += math.Abs(e) / 4
		ps += e * e / 4
	}
	// Directions: row 2 predicts 0 and does not count; rows 0, 1 right, 3 wrong.
	// Wilson(2 of 3): worked by hand with z = 1.96: [0.2077, 0.9385].
	// Skill: MAE 0.0175 against the zero baseline's 0.05/4 = 0.0125: 1 − 1.4.
	want := Metrics{N: 4, MAE: 0.0175, RMSE: math.Sqrt(19e-4 / 4), PriceMAE: pa, PriceRMSE: math.Sqrt(ps),
		DirN: 3, DirAcc: 2.0 / 3, DirAccLo: 0.20766, DirAccHi: 0.93851, Skill: -0.4}
	checks := []struct {
		name      string
		got, want float64
		tol       float64
	}{
		{"MAE", m.MAE, want.MAE, 1e-15}, {"RMSE", m.RMSE, want.RMSE, 1e-15},
		{"PriceMAE", m.PriceMAE, want.PriceMAE, 1e-12}, {"PriceRMSE", m.PriceRMSE, want.PriceRMSE, 1e-12},
		{"DirAcc", m.DirAcc, want.DirAcc, 1e-15}, {"DirAccLo", m.DirAccLo, want.DirAccLo, 1e-5},
		{"DirAccHi", m.DirAccHi, want.DirAccHi, 1e-5}, {"Skill", m.Skill, want.Skill, 1e-12},
	}
	for _, c := range checks {
		if !near(c.got, c.want, c.tol) {
			t.Errorf("%s = %v, want %v", c.name, c.got, c.want)
		}
	}
	if m.N != 4 || m.DirN != 3 {
		t.Errorf("N %d DirN %d", m.N, m.DirN)
	}
	if !(m.SkillLo <= m.Skill && m.Skill <= m.SkillHi) {
		t.Errorf("skill %v outside its interval [%v, %v]", m.Skill, m.SkillLo, m.SkillHi)
	}
}

func TestWilsonTextbook(t *testing.T) {
	// 8 of 10: the Wilson 95% interval is [0.4902, 0.9433] (e.g. Newcombe 1998, method 3).
	p, lo, hi := Wilson(8, 10, 10)
	if p != 0.8 || !near(lo, 0.4902, 5e-5) || !near(hi, 0.9433, 5e-5) {
		t.Errorf("Wilson(8,10) = %v [%v, %v]", p, lo, hi)
	}
	// Half as many effective trials (h = 2) gives a wider interval around the same share.
	_, lo2, hi2 := Wilson(8, 10, 5)
	if !(lo2 < lo && hi2 > hi) {
		t.Errorf("5 effective trials [%v, %v] not wider than 10 [%v, %v]", lo2, hi2, lo, hi)
	}
	if p, lo, hi := Wilson(0, 0, 0); !math.IsNaN(p) || !math.IsNaN(lo) || !math.IsNaN(hi) {
		t.Error("Wilson of no trials is not NaN")
	}
}

func TestSkillBootstrapProperties(t *testing.T) {
	candles := loadCandles(t, binanceETH, "ETH/USDT", 20000)
	d, err := Build(featureRows(t, candles), candles, 1)
	if err != nil {
		t.Fatal(err)
	}
	y := d.Y
	zero := d.Predict(ZeroReturn{}, 0, d.Len())
	drift := d.Predict(EMADrift{Horizon: 1}, 0, d.Len())
	perfect := append([]float64(nil), y...)

	same := Evaluate(zero, y, d.Close, zero, KrakenTakerFee, 1)
	if same.Skill != 0 || same.SkillLo != 0 || same.SkillHi != 0 {
		t.Errorf("baseline against itself: skill %v [%v, %v], want 0 [0, 0]", same.Skill, same.SkillLo, same.SkillHi)
	}
	if !math.IsNaN(same.DirAcc) || same.DirN != 0 {
		t.Errorf("zero-return claims a direction: DirAcc %v over %d rows", same.DirAcc, same.DirN)
	}
	best := Evaluate(perfect, y, d.Close, zero, KrakenTakerFee, 1)
	if best.Skill != 1 || best.SkillLo != 1 || best.SkillHi != 1 || best.MAE != 0 || best.DirAcc != 1 {
		t.Errorf("perfect predictions: %+v", best)
	}
	a := Evaluate(drift, y, d.Close, zero, KrakenTakerFee, 42)
	b := Evaluate(drift, y, d.Close, zero, KrakenTakerFee, 42)
	c := Evaluate(drift, y, d.Close, zero, KrakenTakerFee, 43)
	if a.SkillLo != b.SkillLo || a.SkillHi != b.SkillHi {
		t.Error("same seed, different interval")
	}
	if a.SkillLo == c.SkillLo && a.SkillHi == c.SkillHi {
		t.Error("the seed does not reach the bootstrap")
	}
	if !(a.SkillLo < a.Skill && a.Skill < a.SkillHi) || a.SkillHi-a.SkillLo > 0.5 {
		t.Errorf("ema-drift skill %v [%v, %v]: not a sensible interval", a.Skill, a.SkillLo, a.SkillHi)
	}
	t.Logf("ETH 20k minutes, h=1: zero MAE %.3g; ema-drift MAE %.3g skill %.4f [%.4f, %.4f], dir %.4f [%.4f, %.4f] n=%d",
		same.MAE, a.MAE, a.Skill, a.SkillLo, a.SkillHi, a.DirAcc, a.DirAccLo, a.DirAccHi, a.DirN)
}

func TestEvalHorizonWidensIntervals(t *testing.T) {
	candles := loadCandles(t, binanceBTC, "BTC/USDT", 20000)
	d, err := Build(featureRows(t, candles), candles, 5)
	if err != nil {
		t.Fatal(err)
	}
	zero := d.Predict(ZeroReturn{}, 0, d.Len())
	drift := d.Predict(EMADrift{Horizon: 5}, 0, d.Len())
	naive := Eval{Horizon: 1, Fee: KrakenTakerFee, Seed: 1}.Evaluate(drift, d.Y, d.Close, zero)
	h5 := Eval{Horizon: 5, Fee: KrakenTakerFee, Seed: 1}.Evaluate(drift, d.Y, d.Close, zero)
	ratio := (h5.DirAccHi - h5.DirAccLo) / (naive.DirAccHi - naive.DirAccLo)
	if !near(ratio, math.Sqrt(5), 0.05) {
		t.Errorf("h=5 directional interval is %.3f× the naive one, want about √5", ratio)
	}
	if h5.Backtest.Periods != (d.Len()+4)/5 {
		t.Errorf("h=5 backtest traded %d periods of %d rows, want every 5th", h5.Backtest.Periods, d.Len())
	}
	if h5.MAE != naive.MAE || h5.Skill != naive.Skill {
		t.Error("the horizon changed a point estimate")
	}
}

func TestEvaluatePanicsOnLengthMismatch(t *testing.T) {
	defer func() {
		if recover() == nil {
			t.Error("no panic for 2 predictions of 3 returns")
		}
	}()
	Evaluate([]float64{1, 2}, []float64{1, 2, 3}, nil, nil, 0, 0)
}

func TestEvaluateEmpty(t *testing.T) {
	m := Evaluate(nil, nil, nil, nil, KrakenTakerFee, 0)
	if m.N != 0 || !math.IsNaN(m.MAE) || !math.IsNaN(m.Skill) || !math.IsNaN(m.DirAcc) || m.Backtest.Trades != 0 {
		t.Errorf("empty evaluation: %+v", m)
	}
}

func TestMetricsJSONRoundTrip(t *testing.T) {
	// Hand-written fixture with undefined values.
	m := Metrics{N: 3, MAE: 0.5, RMSE: 1e-5, PriceMAE: math.NaN(), PriceRMSE: math.NaN(), DirN: 0,
		DirAcc: math.NaN(), DirAccLo: math.NaN(), DirAccHi: math.NaN(), Skill: -0.25, SkillLo: -0.5, SkillHi: math.Inf(1),
		Backtest: Backtest{PnL: -0.01, Fees: 0.008, HitRate: math.NaN(), Turnover: 0.1, Trades: 0, Periods: 3}}
	b, err := json.Marshal(m)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"dir_acc":null`, `"skill_hi":null`, `"rmse":1e-05`, `"hit_rate":null`, `"periods":3`} {
		if !strings.Contains(string(b), want) {
			t.Errorf("%s lacks %s", b, want)
		}
	}
	var got Metrics
	if err := json.Unmarshal(b, &got); err != nil {
		t.Fatal(err)
	}
	m.SkillHi = math.NaN() // ±Inf is undefined too and reads back as NaN
	for _, p := range [][2]float64{{got.MAE, m.MAE}, {got.RMSE, m.RMSE}, {got.PriceMAE, m.PriceMAE}, {got.DirAcc, m.DirAcc},
		{got.Skill, m.Skill}, {got.SkillLo, m.SkillLo}, {got.SkillHi, m.SkillHi}, {got.Backtest.PnL, m.Backtest.PnL},
		{got.Backtest.HitRate, m.Backtest.HitRate}} {
		if !near(p[0], p[1], 0) {
			t.Errorf("round trip: %v, want %v", p[0], p[1])
		}
	}
	if got.N != 3 || got.Backtest.Periods != 3 {
		t.Errorf("round trip ints: %+v", got)
	}
	v := m.Values()
	if _, ok := v["dir_acc"]; ok || v["mae"] != 0.5 || v["n"] != 3 || v["backtest_pnl"] != -0.01 {
		t.Errorf("Values() = %v", v)
	}
}
