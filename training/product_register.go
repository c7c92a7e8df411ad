package training

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/tickcast/tickcast/registry"
)

// RegisterProductsRequest records a products run in the registry.
type RegisterProductsRequest struct {
	Pair      string
	Horizon   int
	ReportDir string // the run's report folder: a version's identity across retries
	Dataset   DatasetInfo
	Products  []ProductOutcome
	// Data, when set, are the run's dataset, splits and candles: each
	// product's current champion is re-scored on the products' test rows.
	// Without them (or when they cannot be rebuilt) its recorded test loss
	// stands in, and the reason says why.
	Data *ProductData
}

// ProductPromotion is what happened to one product's series.
type ProductPromotion struct {
	Product         string `json:"product"`
	Version         int    `json:"version"`          // the model's; 0 when it has no serving contract
	BaselineVersion int    `json:"baseline_version"` // the fitted baseline's
	Champion        int    `json:"champion"`         // the version that serves now
	Promoted        bool   `json:"promoted"`         // the model is champion
	Reason          string `json:"reason"`
}

// RegisterProducts registers, per product, the model and its fitted best
// servable baseline (HAR, HAR-Gaussian, climatology) as versions of the
// product's series, and sets the aliases by the gate's decision: the model
// becomes champion when its skill CI against the strongest baseline lies
// above 0 and its test loss is not above the current champion's (any
// champion, a baseline too) re-scored on the same test rows with the code
// that serves it (in.Data). When the champion cannot be re-scored (an older
// feature schema, an artifact missing or corrupt, a name this build does
// not serve, no test rows given), a fitted champion's recorded test loss
// stands in and the reason says why. A model the gate passes but the
// re-scored champion beats is challenger and the champion keeps serving
// (unless the run's fitted baseline beats it too: then that serves);
// otherwise a model that fails is challenger and the fitted baseline
// serves. A retry finds the versions of the same report folder and
// registers nothing twice.
func RegisterProducts(ctx context.Context, reg *registry.Registry, in RegisterProductsRequest) ([]ProductPromotion, error) {
	var out []ProductPromotion
	rows, norows := testRows(in.Data)
	for _, p := range in.Products {
		pr, err := registerProduct(ctx, reg, in, p, rows, norows)
		if err != nil {
			return out, fmt.Errorf("register %s %s h%d: %w", p.Product, in.Pair, in.Horizon, err)
		}
		out = append(out, pr)
	}
	return out, nil
}

func registerProduct(ctx context.Context, reg *registry.Registry, in RegisterProductsRequest, p ProductOutcome, rows *productRows, norows string) (ProductPromotion, error) {
	s := registry.Series{Pair: in.Pair, Horizon: in.Horizon, Product: p.Product}
	if _, err := reg.EnsureBaselineIn(ctx, s); err != nil {
		return ProductPromotion{}, err
	}
	champ, err := reg.GetIn(ctx, s, registry.Champion)
	if err != nil {
		return ProductPromotion{}, err
	}
	pr := ProductPromotion{Product: p.Product}
	meta := func(name string, params map[string]string, metrics map[string]float64) registry.Meta {
		ds := in.Dataset
		return registry.Meta{Pair: in.Pair, Horizon: in.Horizon, Product: p.Product, Name: name, Params: params, Metrics: metrics,
			DataFrom: ds.From, DataTo: ds.To, TestFrom: ds.TestFrom, TestTo: ds.TestTo, ReportDir: in.ReportDir}
	}
	baseMetrics := map[string]float64{metricModelLoss: p.Metrics["baseline_loss"]}
	if pr.BaselineVersion, err = registerOnce(ctx, reg, meta(p.Baseline, p.BaselineParams, baseMetrics), ""); err != nil {
		return ProductPromotion{}, err
	}
	if p.Name == ModelNamePinball {
		pr.Reason = "the pinball quantile model has no serving contract: " + p.Baseline + " serves"
		return pr, promote(ctx, reg, s, &pr, pr.BaselineVersion, pr.Reason)
	}
	if pr.Version, err = registerOnce(ctx, reg, meta(p.Name, p.Params, p.Metrics), p.ModelPath); err != nil {
		return ProductPromotion{}, err
	}
	var rs GateScores
	why := norows
	if p.Gate.Pass && champ.ReportDir != in.ReportDir && rows != nil {
		if rs, why, err = rows.rescore(ctx, reg, s, p, pr.Version, pr.BaselineVersion, champ); err != nil {
			return ProductPromotion{}, err
		}
	}
	pass, reason := productGate(p, champ, in.ReportDir, rs, why)
	pr.Reason = reason
	if !pass {
		if err := reg.SetAliasIn(ctx, s, registry.Challenger, pr.Version, reason); err != nil {
			return ProductPromotion{}, err
		}
		serve := pr.BaselineVersion
		if rs.ChampionRescored && rs.ChampionMAE <= rs.BestBaselineMAE {
			serve = champ.Version // the champion beats the candidate and the run's baseline: it stays
		}
		return pr, promote(ctx, reg, s, &pr, serve, reason)
	}
	pr.Promoted = true
	return pr, promote(ctx, reg, s, &pr, pr.Version, reason)
}

func promote(ctx context.Context, reg *registry.Registry, s registry.Series, pr *ProductPromotion, v int, reason string) error {
	pr.Champion = v
	return reg.SetAliasIn(ctx, s, registry.Champion, v, reason)
}

// testRows rebuilds the products' test rows of d, or says why not.
func testRows(d *ProductData) (*productRows, string) {
	if d == nil {
		return nil, "no test rows given"
	}
	r, err := newProductRows(*d)
	if err != nil {
		return nil, "test rows: " + err.Error()
	}
	return &r, ""
}

// productGate is the gate's rule for a product: the CI's lower bound over
// the strongest baseline above 0, and no worse than the current champion
// re-scored on the same rows (rs, when ChampionRescored); when it could not
// be (why), no worse than a fitted champion's recorded test loss. A retry
// (the champion is this run's version) keeps the decision its alias
// records.
func productGate(p ProductOutcome, champ registry.Meta, reportDir string, rs GateScores, why string) (bool, string) {
	if !p.Gate.Pass {
		return false, "gate: " + p.Gate.Reason
	}
	if champ.ReportDir == reportDir { // a retry: this run's model or baseline serves already
		pass := champ.Name == p.Name
		if champ.Reason != "" {
			return pass, champ.Reason
		}
		return pass, "gate: " + p.Gate.Reason
	}
	if rs.ChampionRescored {
		if !(rs.CandidateMAE <= rs.ChampionMAE) {
			return false, fmt.Sprintf("gate: %s; but its test %s %.6g is above champion v%d (%s)'s %.6g, re-scored on the same %d rows",
				p.Gate.Reason, p.Gate.Metric, rs.CandidateMAE, champ.Version, champ.Name, rs.ChampionMAE, rs.Rows)
		}
		return true, fmt.Sprintf("gate: %s, and its test %s %.6g is not above champion v%d (%s)'s %.6g, re-scored on the same %d rows",
			p.Gate.Reason, p.Gate.Metric, rs.CandidateMAE, champ.Version, champ.Name, rs.ChampionMAE, rs.Rows)
	}
	rec, ok := champ.Metrics[metricModelLoss]
	fitted := champ.Name != registry.BaselineOf(p.Product) && champ.Name != p.Baseline
	note := fmt.Sprintf("champion v%d not re-scored: %s", champ.Version, why)
	if !fitted || !ok { // a baseline, or a version with no recorded loss
		return true, "gate: " + p.Gate.Reason + "; " + note
	}
	if loss := p.Metrics[metricModelLoss]; !(loss <= rec) {
		return false, fmt.Sprintf("gate: %s; but its test %s %.6g is above champion v%d's recorded %.6g (%s)",
			p.Gate.Reason, p.Gate.Metric, loss, champ.Version, rec, note)
	}
	return true, fmt.Sprintf("gate: %s, and its test %s is not above champion v%d's recorded %.6g (%s)",
		p.Gate.Reason, p.Gate.Metric, champ.Version, rec, note)
}

// metricModelLoss is the registry metric holding a product version's test
// loss on its gate metric.
const metricModelLoss = "model_loss"

// registerOnce registers m (with the artifact file at path, if any) unless
// a version of the same report folder and name exists (a retry).
func registerOnce(ctx context.Context, reg *registry.Registry, m registry.Meta, path string) (int, error) {
	versions, err := reg.ListIn(ctx, m.Series())
	if err != nil {
		return 0, err
	}
	for _, v := range versions {
		if v.Version > 0 && v.ReportDir == m.ReportDir && v.Name == m.Name {
			return v.Version, nil
		}
	}
	var art []byte
	if path != "" {
		if art, err = os.ReadFile(path); err != nil {
			return 0, invalidf("model %s: %v", path, err)
		}
		m.Artifact = modelFile
	}
	got, err := reg.Register(ctx, m, art)
	return got.Version, err
}

// outcomeMetrics are a product's gate figures in the registry's keys.
func outcomeMetrics(model float64, g GateDecision, extra map[string]float64) map[string]float64 {
	out := map[string]float64{metricModelLoss: model, "baseline_loss": float64(g.BaselineLoss), "skill": float64(g.Skill),
		"skill_lo": float64(g.Lo), "skill_hi": float64(g.Hi), "dm_p": float64(g.DMP)}
	for k, v := range extra {
		out[k] = v
	}
	for k, v := range out {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			delete(out, k)
		}
	}
	return out
}
