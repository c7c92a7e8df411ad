package training

import (
	"maps"
	"math"
	"slices"
	"strconv"

	"github.com/tickcast/tickcast/ml"
)

// The products' figures on the test window, as products.json (and the
// report's metrics.json under "products") holds them. Every loss is paired
// row for row between the model and each baseline, on the same rows.

// jnum is a float64 whose JSON is null when it is NaN or ±Inf.
type jnum float64

func (n jnum) MarshalJSON() ([]byte, error) {
	f := float64(n)
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return []byte("null"), nil
	}
	return strconv.AppendFloat(nil, f, 'g', -1, 64), nil
}

func (n *jnum) UnmarshalJSON(b []byte) error {
	if string(b) == "null" {
		*n = jnum(math.NaN())
		return nil
	}
	f, err := strconv.ParseFloat(string(b), 64)
	*n = jnum(f)
	return err
}

func jnums(v []float64) []jnum {
	out := make([]jnum, len(v))
	for i, x := range v {
		out[i] = jnum(x)
	}
	return out
}

// Comparison is a model's skill over one baseline on one metric: the paired
// moving-block bootstrap CI (blocks of one day of rows, never < h) and a
// Diebold–Mariano test (lag h−1) beside it.
type Comparison struct {
	Baseline string `json:"baseline"`
	Metric   string `json:"metric"`
	Skill    jnum   `json:"skill"` // 1 − mean(model loss)/mean(baseline loss)
	Lo       jnum   `json:"skill_lo"`
	Hi       jnum   `json:"skill_hi"`
	DMStat   jnum   `json:"dm_stat"`
	DMP      jnum   `json:"dm_p"`
	Rows     int    `json:"rows"`
}

// comparer pairs losses with the same bootstrap settings.
type comparer struct {
	h, block int
	seed     uint64
}

func (c comparer) compare(baseline, metric string, model, base []float64) Comparison {
	out := Comparison{Baseline: baseline, Metric: metric, Rows: len(model)}
	n := jnum(math.NaN())
	out.Skill, out.Lo, out.Hi, out.DMStat, out.DMP = n, n, n, n, n
	if ci, err := (ml.SkillBootstrap{Block: c.block, Horizon: c.h, Seed: c.seed}).Skill(model, base); err == nil {
		out.Skill, out.Lo, out.Hi = jnum(ci.Skill), jnum(ci.Lo), jnum(ci.Hi)
	}
	if dm, err := ml.DieboldMariano(model, base, c.h-1); err == nil {
		out.DMStat, out.DMP = jnum(dm.Stat), jnum(dm.P)
	}
	return out
}

// GateDecision is what the gate decides for a product: pass only when the
// lower bound of the skill CI on the product's gate metric against its
// strongest baseline (lowest test loss) is above 0; otherwise the best
// servable baseline serves.
type GateDecision struct {
	Metric   string `json:"metric"`
	Baseline string `json:"strongest_baseline"`
	// ModelLoss and BaselineLoss are the test mean losses on Metric.
	ModelLoss    jnum   `json:"model_loss"`
	BaselineLoss jnum   `json:"baseline_loss"`
	Skill        jnum   `json:"skill"`
	Lo           jnum   `json:"skill_lo"`
	Hi           jnum   `json:"skill_hi"`
	DMP          jnum   `json:"dm_p"`
	Pass         bool   `json:"pass"`
	Serve        string `json:"serve"` // "model" or the baseline that serves instead
	Reason       string `json:"reason"`
}

// decide applies the gate's rule (LossGate, the return model's too) to the
// per-row losses on metric of the model and each baseline: pass when the
// skill CI's lower bound over the strongest baseline is above 0; servable
// is the baseline serving on a fail.
func (c comparer) decide(metric string, model []float64, baselines map[string][]float64, servable string) GateDecision {
	n := jnum(math.NaN())
	d := GateDecision{Metric: metric, Serve: servable, ModelLoss: n, BaselineLoss: n, Skill: n, Lo: n, Hi: n, DMP: n}
	s, err := LossGate{Metric: metric, Block: c.block, Horizon: c.h, Seed: c.seed}.Score(model, baselines, nil)
	if err != nil {
		d.Reason = "gate: " + err.Error() + "; " + servable + " serves"
		return d
	}
	d.Baseline, d.ModelLoss, d.BaselineLoss = s.BestBaseline, jnum(s.CandidateMAE), jnum(s.BestBaselineMAE)
	d.Skill, d.Lo, d.Hi, d.DMP = jnum(s.Skill), jnum(s.SkillLo), jnum(s.SkillHi), jnum(s.DMP)
	d.Pass = s.SkillLo > 0
	ci := "skill " + fmtPct(s.Skill) + " (95% CI " + fmtPct(s.SkillLo) + " to " + fmtPct(s.SkillHi) + ", DM p " + strconv.FormatFloat(s.DMP, 'g', 2, 64) + ")"
	if d.Pass {
		d.Serve = "model"
		d.Reason = "the model beats the strongest baseline, " + s.BestBaseline + ", on " + metric + ": " + ci + " lies above 0"
	} else {
		d.Reason = "the model does not beat the strongest baseline, " + s.BestBaseline + ", on " + metric + ": " + ci +
			" does not lie above 0; " + servable + " serves"
	}
	return d
}

func fmtPct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return strconv.FormatFloat(100*v, 'f', 2, 64) + "%"
}

// VolScores are a vol forecast's test losses.
type VolScores struct {
	MAE   jnum `json:"mae"` // the gate metric
	QLIKE jnum `json:"qlike"`
}

// VolReport is the vol product on the test rows.
type VolReport struct {
	Rows       int                  `json:"rows"`
	Model      VolScores            `json:"model"`
	Baselines  map[string]VolScores `json:"baselines"`
	Skills     []Comparison         `json:"skills"`
	Gate       GateDecision         `json:"gate"`
	VolScale   jnum                 `json:"vol_scale"` // MAE-optimal on the validation rows
	VolFloor   jnum                 `json:"vol_floor"`
	Candidates []candidateScore     `json:"candidates"`
	HAR        map[string]string    `json:"har"`
}

func scoreVol(c comparer, pred, realized []float64, base map[string][]float64) VolReport {
	r := VolReport{Rows: len(realized), Baselines: map[string]VolScores{}}
	mae, ql := ml.AbsErrors(pred, realized), ml.QLIKELosses(pred, realized)
	r.Model = VolScores{jnum(ml.Mean(mae)), jnum(ml.Mean(ql))}
	losses := map[string][]float64{}
	for _, name := range slices.Sorted(maps.Keys(base)) {
		bm, bq := ml.AbsErrors(base[name], realized), ml.QLIKELosses(base[name], realized)
		r.Baselines[name] = VolScores{jnum(ml.Mean(bm)), jnum(ml.Mean(bq))}
		losses[name] = bm
		r.Skills = append(r.Skills, c.compare(name, "mae", mae, bm), c.compare(name, "qlike", ql, bq))
	}
	r.Gate = c.decide("mae", mae, losses, ml.BaselineHAR)
	return r
}

// QuantileScores are a quantile forecast's test losses and band coverage.
type QuantileScores struct {
	Pinball      jnum    `json:"pinball"` // mean over rows and the three levels: the gate metric
	PerLevel     []jnum  `json:"pinball_per_level"`
	Coverage     jnum    `json:"coverage"` // of the q10–q90 band, 0.8 when calibrated
	Terciles     [3]jnum `json:"tercile_coverage"`
	TercileRows  [3]int  `json:"tercile_rows"`
	TercileBasis string  `json:"tercile_basis"`
}

// QuantileReport is the quantiles product on the test rows.
type QuantileReport struct {
	Rows      int                       `json:"rows"`
	Levels    []float64                 `json:"levels"`
	Method    string                    `json:"method"`
	Z         []jnum                    `json:"z"` // standardized quantiles of r/σ̂ on the validation rows
	ZTerciles VolZTerciles              `json:"z_terciles"`
	Model     QuantileScores            `json:"model"`
	Baselines map[string]QuantileScores `json:"baselines"`
	Skills    []Comparison              `json:"skills"`
	Gate      GateDecision              `json:"gate"`
	Methods   []candidateScore          `json:"methods"` // validation pinball of each method tried
}

// scoreQuantiles scores q[j][t] (and each baseline's) against realized
// returns; terciles by the HAR vol forecast.
func scoreQuantiles(c comparer, q [][]float64, realized, harVol []float64, base map[string][][]float64) QuantileReport {
	r := QuantileReport{Rows: len(realized), Levels: ml.QuantileLevels, Baselines: map[string]QuantileScores{}}
	rows, model := quantileScores(q, realized, harVol)
	r.Model = model
	losses := map[string][]float64{}
	for _, name := range slices.Sorted(maps.Keys(base)) {
		br, bs := quantileScores(base[name], realized, harVol)
		r.Baselines[name], losses[name] = bs, br
		r.Skills = append(r.Skills, c.compare(name, "pinball", rows, br))
	}
	r.Gate = c.decide("pinball", rows, losses, ml.BaselineHARGaussian)
	return r
}

func quantileScores(q [][]float64, realized, by []float64) ([]float64, QuantileScores) {
	rows, per := ml.PinballLosses(q, realized, ml.QuantileLevels)
	s := QuantileScores{Pinball: jnum(ml.Mean(rows)), PerLevel: jnums(per), TercileBasis: "har-rv forecast",
		Coverage: jnum(ml.Coverage(q[0], q[2], realized))}
	cov, n := ml.TercileCoverage(q[0], q[2], realized, by)
	for g := range cov {
		s.Terciles[g], s.TercileRows[g] = jnum(cov[g]), n[g]
	}
	return rows, s
}

// DirScores are a direction forecast's test losses on the non-tie rows.
type DirScores struct {
	Brier   jnum `json:"brier"` // the gate metric
	LogLoss jnum `json:"log_loss"`
}

// ReliabilityBin is one bin of the reliability table.
type ReliabilityBin struct {
	Lo    float64 `json:"lo"`
	Hi    float64 `json:"hi"`
	N     int     `json:"n"`
	MeanP jnum    `json:"mean_p"`
	Rate  jnum    `json:"up_rate"`
}

// DirectionReport is the p_up product on the test rows.
type DirectionReport struct {
	Rows        int                  `json:"rows"` // non-tie rows scored
	Ties        int                  `json:"ties"`
	TieShare    jnum                 `json:"tie_share"`
	Climatology jnum                 `json:"climatology"` // the training up-rate
	Model       DirScores            `json:"model"`
	Baselines   map[string]DirScores `json:"baselines"`
	Skills      []Comparison         `json:"skills"`
	Gate        GateDecision         `json:"gate"`
	Reliability []ReliabilityBin     `json:"reliability"`
	FeeCurve    FeeCurve             `json:"fee_curve"` // signal p_up − 0.5
	Candidates  []candidateScore     `json:"candidates"`
}

func scoreDirection(c comparer, p []float64, labels []ml.Dir, clim float64) DirectionReport {
	s := ml.ScoreDirections(p, labels)
	r := DirectionReport{Rows: s.N, Ties: s.Ties, TieShare: jnum(s.TieShare), Climatology: jnum(clim),
		Model: DirScores{jnum(s.Brier), jnum(s.LogLoss)}, Baselines: map[string]DirScores{}}
	constant := make([]float64, len(p))
	for i := range constant {
		constant[i] = clim
	}
	mb, ml2 := ml.DirLosses(p, labels)
	bb, bl := ml.DirLosses(constant, labels)
	r.Baselines[ml.BaselineClimatology] = DirScores{jnum(ml.Mean(bb)), jnum(ml.Mean(bl))}
	r.Skills = []Comparison{c.compare(ml.BaselineClimatology, "brier", mb, bb), c.compare(ml.BaselineClimatology, "log_loss", ml2, bl)}
	r.Gate = c.decide("brier", mb, map[string][]float64{ml.BaselineClimatology: bb}, ml.BaselineClimatology)
	for _, b := range ml.Reliability(p, labels, 10) {
		r.Reliability = append(r.Reliability, ReliabilityBin{Lo: b.Lo, Hi: b.Hi, N: b.N, MeanP: jnum(b.MeanP), Rate: jnum(b.Rate)})
	}
	return r
}

// FeeCurve is a signal's backtest per fee (thresholds chosen on the
// validation rows) and the lowest fee at which the test PnL is positive.
type FeeCurve struct {
	Signal      string     `json:"signal"`
	Points      []FeePoint `json:"points"`
	Pays        bool       `json:"pays"`
	PaysUpToBps jnum       `json:"pays_up_to_bps"` // highest fee with a positive test PnL
	LowestBps   jnum       `json:"pays_from_bps"`  // lowest such fee
}

// FeePoint is the fee curve at one fee per side.
type FeePoint struct {
	FeeBps    float64 `json:"fee_bps"`
	Threshold jnum    `json:"threshold"`
	ValidPnL  jnum    `json:"valid_pnl"`
	PnL       jnum    `json:"pnl"` // test, log-return units after fees
	Trades    int     `json:"trades"`
	HitRate   jnum    `json:"hit_rate"`
}

func feeCurve(signal string, h int, validSig, validRet, testSig, testRet []float64) FeeCurve {
	pts := ml.FeeCurve{Horizon: h}.Run(validSig, validRet, testSig, testRet)
	fc := FeeCurve{Signal: signal}
	for _, p := range pts {
		fc.Points = append(fc.Points, FeePoint{FeeBps: p.FeeBps, Threshold: jnum(p.Threshold), ValidPnL: jnum(p.ValidPnL),
			PnL: jnum(p.Test.PnL), Trades: p.Test.Trades, HitRate: jnum(p.Test.HitRate)})
	}
	lo, hi, ok := ml.Pays(pts)
	fc.Pays, fc.LowestBps, fc.PaysUpToBps = ok, jnum(lo), jnum(hi)
	return fc
}
