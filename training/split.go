package training

import (
	"time"

	"github.com/tickcast/tickcast/ml"
)

// The split policy: the last 20% of a dataset's rows are the test window,
// the 10% before it the final fit's validation rows (early stopping); the
// CV folds live in the rest. Ranges are separated by purge gaps of at least
// the horizon (ml.Dataset.WalkForward).
const (
	testFrac  = 0.2
	validFrac = 0.1
)

// Span is a half-open range [Lo, Hi) of dataset row indices.
type Span struct {
	Lo int `json:"lo"`
	Hi int `json:"hi"`
}

// Len is the number of rows in the span.
func (s Span) Len() int { return max(0, s.Hi-s.Lo) }

// Fold is one walk-forward split: train, then valid (and, for the final
// split, test), each after a purge gap of at least the horizon.
type Fold struct {
	Train Span `json:"train"`
	Valid Span `json:"valid"`
	Test  Span `json:"test,omitzero"`
}

// Splits is a dataset's layout, stored beside it (splits.json), so that the
// final fit, the evaluation and the gate all use one test window. Its JSON
// is part of the dataset's content hash: keep it stable.
type Splits struct {
	Folds    []Fold    `json:"folds"`
	Final    Fold      `json:"final"`
	TestFrom time.Time `json:"test_from"`
	TestTo   time.Time `json:"test_to"`
}

// Split lays ds out by the split policy: folds walk-forward CV folds and
// the final split.
func Split(ds ml.Dataset, folds int) (Splits, error) {
	cv, final, err := ds.WalkForward(folds, testFrac, validFrac)
	if err != nil {
		return Splits{}, invalid(err)
	}
	sp := Splits{Final: fold(final), TestFrom: ds.TS[final.Test[0]], TestTo: ds.TS[final.Test[1]-1]}
	for _, s := range cv {
		sp.Folds = append(sp.Folds, fold(s))
	}
	return sp, nil
}

func fold(s ml.Split) Fold {
	return Fold{Train: Span{s.Train[0], s.Train[1]}, Valid: Span{s.Valid[0], s.Valid[1]}, Test: Span{s.Test[0], s.Test[1]}}
}

// check fails unless f's train, valid and test spans are non-empty ranges
// of a dataset of n rows.
func (f Fold) check(n int) error {
	for _, s := range []Span{f.Train, f.Valid, f.Test} {
		if s.Lo < 0 || s.Hi > n || s.Lo >= s.Hi {
			return invalidf("split %+v does not fit a dataset of %d rows", f, n)
		}
	}
	return nil
}
