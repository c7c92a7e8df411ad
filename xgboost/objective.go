package xgboost

import (
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
)

// BaseScore estimates base_score — the prediction before the first tree —
// for a built-in objective from the training labels, in the units XGBoost
// 1.7 expects in Params (2.x and 3.x read it the same way):
//
//   - reg:squarederror: the mean (the loss's minimiser);
//   - binary:logistic: the mean label, a probability in (0, 1): XGBoost turns
//     it into log-odds itself (ProbToMargin), so it is not given as a margin;
//   - reg:absoluteerror, reg:pseudohubererror: the median (the absolute
//     loss's minimiser; a robust start for the pseudo-Huber loss).
//
// 1.7 defaults base_score to 0.5 whatever the labels. For reg:absoluteerror
// that is fatal on small targets: every gradient has the same sign until the
// predictions cross the labels, so the trees cannot split for dozens of
// rounds (TestAbsoluteErrorBaseScore; issue #12 measured it on returns).
// Labels must be finite; logistic labels must be 0 or 1 and not all equal.
func BaseScore(objective string, labels []float32) (float64, error) {
	if len(labels) == 0 {
		return 0, fmt.Errorf("base score: no labels: %w", ErrInvalid)
	}
	for i, y := range labels {
		if math.IsNaN(float64(y)) || math.IsInf(float64(y), 0) {
			return 0, fmt.Errorf("base score: label %d is %v: %w", i, y, ErrInvalid)
		}
	}
	switch objective {
	case "", "reg:squarederror": // "" is XGBoost's default objective
		return mean(labels), nil
	case "binary:logistic":
		for i, y := range labels {
			if y != 0 && y != 1 {
				return 0, fmt.Errorf("base score: binary:logistic label %d is %v, want 0 or 1: %w", i, y, ErrInvalid)
			}
		}
		p := mean(labels)
		if p <= 0 || p >= 1 {
			return 0, fmt.Errorf("base score: binary:logistic labels all %v (base_score must be in (0, 1)): %w", labels[0], ErrInvalid)
		}
		return p, nil
	case "reg:absoluteerror", "reg:pseudohubererror":
		return Quantile(labels, 0.5), nil
	}
	return 0, fmt.Errorf("base score: objective %q: %w", objective, ErrInvalid)
}

// WithBaseScore returns a copy of p with base_score set by BaseScore for
// p's objective and the training labels.
func (p Params) WithBaseScore(labels []float32) (Params, error) {
	v, err := BaseScore(p["objective"], labels)
	if err != nil {
		return nil, err
	}
	q := maps.Clone(p)
	if q == nil {
		q = Params{}
	}
	q["base_score"] = strconv.FormatFloat(v, 'g', -1, 64)
	return q, nil
}

func mean(v []float32) float64 {
	s := 0.0
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}

// Quantile is the alpha-quantile of v (linear interpolation between order
// statistics, NumPy's default); NaN for an empty v.
func Quantile(v []float32, alpha float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	slices.Sort(s)
	pos := min(max(alpha, 0), 1) * float64(len(s)-1)
	i := int(pos)
	if i+1 >= len(s) {
		return float64(s[len(s)-1])
	}
	f := pos - float64(i)
	return float64(s[i])*(1-f) + float64(s[i+1])*f
}

// Objective is a custom loss, boosted through gradients computed in Go
// (TrainOptions.Objective): XGBoosterBoostOneIter or XGBoosterTrainOneIter,
// whichever the linked library should use (GradientCall). Predictions are
// the raw sum of the trees plus base_score (the objective parameter is
// reg:squarederror, whose link is the identity).
type Objective interface {
	// Name identifies the objective; it is stored in the model
	// (AttrObjective) so that continuing or refreshing the model with another
	// objective is refused.
	Name() string
	// Gradient fills grad and hess with the first and second derivatives of
	// each row's loss with respect to its prediction. All four slices have
	// one value per row.
	Gradient(pred, labels, grad, hess []float32)
	// Loss is the mean loss of pred against labels, lower is better: the
	// validation score and early-stopping metric.
	Loss(pred, labels []float32) float64
	// BaseScore is the starting prediction for these training labels, used
	// when Params have no base_score.
	BaseScore(labels []float32) float64
}

// Pinball is the pinball (quantile) loss at level Alpha: boosting with it
// fits the conditional Alpha-quantile of the label. XGBoost's own
// reg:quantileerror is 2.0+ only, hence a custom objective.
//
// The loss is α·(y−p) when y > p, else (1−α)·(p−y). Its gradient with
// respect to p is −α when y > p, else 1−α. Its second derivative is 0 almost
// everywhere, so the hessian is a constant 1 (the choice of XGBoost 2.0's
// quantile objective for growing trees; LightGBM's too), and the gradient is
// multiplied by Scale. A leaf's value, −Σg/(Σh+λ) times eta, is then at most
// eta·Scale·max(α, 1−α) per round, in the label's units: with Scale 1 a leaf
// moves by up to ~0.09 per round whatever the labels, hopeless for returns
// near 1e-3. Scale should be the labels' spread: NewPinball uses their mean
// absolute deviation from the median. Row counts keep their meaning in
// min_child_weight (the hessian sums to the row count) and lambda.
//
// A smoothed hessian (e.g. a kernel around y = p) was not chosen: it is
// large for rows whose prediction already sits near the label, which makes
// leaf values jump when few rows straddle the quantile.
type Pinball struct {
	Alpha float64 // quantile level, in (0, 1)
	Scale float64 // gradient scale in label units; 0 means 1
}

// NewPinball is the pinball loss at level alpha, its Scale the mean
// absolute deviation of the training labels from their median (1 when that
// is 0 or not finite).
func NewPinball(alpha float64, labels []float32) (Pinball, error) {
	if !(alpha > 0 && alpha < 1) {
		return Pinball{}, fmt.Errorf("pinball: alpha %v not in (0, 1): %w", alpha, ErrInvalid)
	}
	return Pinball{Alpha: alpha, Scale: LabelScale(labels)}, nil
}

// LabelScale is the mean absolute deviation of labels from their median,
// or 1 when there are no labels, or it is 0 or not finite.
func LabelScale(labels []float32) float64 {
	med := Quantile(labels, 0.5)
	s := 0.0
	for _, y := range labels {
		s += math.Abs(float64(y) - med)
	}
	s /= float64(len(labels))
	if !(s > 0) || math.IsInf(s, 0) {
		return 1
	}
	return s
}

// Name is "pinball:<alpha>".
func (p Pinball) Name() string { return "pinball:" + strconv.FormatFloat(p.Alpha, 'g', -1, 64) }

// Gradient is PinballGradient at p's level and scale.
func (p Pinball) Gradient(pred, labels, grad, hess []float32) {
	PinballGradient(p.Alpha, p.Scale, pred, labels, grad, hess)
}

// Loss is PinballLoss at p's level.
func (p Pinball) Loss(pred, labels []float32) float64 { return PinballLoss(p.Alpha, pred, labels) }

// BaseScore is the Alpha-quantile of the labels.
func (p Pinball) BaseScore(labels []float32) float64 { return Quantile(labels, p.Alpha) }

// PinballGradient fills grad with scale·(−alpha) where the label is above
// the prediction and scale·(1−alpha) elsewhere, and hess with 1 (see
// Pinball). scale 0 means 1. All slices have one value per row.
func PinballGradient(alpha, scale float64, pred, labels, grad, hess []float32) {
	if scale == 0 {
		scale = 1
	}
	above, below := float32(-alpha*scale), float32((1-alpha)*scale)
	for i := range pred {
		if labels[i] > pred[i] {
			grad[i] = above
		} else {
			grad[i] = below
		}
		hess[i] = 1
	}
}

// PinballLoss is the mean pinball loss at level alpha (NaN with no rows).
func PinballLoss(alpha float64, pred, labels []float32) float64 {
	s := 0.0
	for i := range pred {
		d := float64(labels[i]) - float64(pred[i])
		if d > 0 {
			s += alpha * d
		} else {
			s -= (1 - alpha) * d
		}
	}
	return s / float64(len(pred))
}
