package ml

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Split holds half-open row index ranges [lo, hi) in time order: fit on Train,
// early-stop on Valid, score on Test. Purged rows lie between the ranges.
type Split struct {
	Train, Valid, Test [2]int
}

func (s Split) String() string {
	return fmt.Sprintf("train [%d,%d) valid [%d,%d) test [%d,%d)",
		s.Train[0], s.Train[1], s.Valid[0], s.Valid[1], s.Test[0], s.Test[1])
}

// WalkForward is Dataset.WalkForward for n rows one candle apart (no gaps),
// with the horizon in candles. It returns no folds and a zero Split when n is
// too small for the layout or an argument is out of range; Dataset.WalkForward
// says why, and purges by time when candles are missing.
func WalkForward(n, folds, horizon int, testFrac, validFrac float64) ([]Split, Split) {
	if n < 0 || horizon < 1 {
		return nil, Split{}
	}
	ts := make([]int64, n)
	for i := range ts {
		ts[i] = int64(i)
	}
	cv, final, err := walkForward(ts, int64(horizon), folds, testFrac, validFrac)
	if err != nil {
		return nil, Split{}
	}
	return cv, final
}

// WalkForward returns the final split train | purge | valid | purge | test
// (test = the last testFrac of the rows, valid = validFrac of them just before)
// and `folds` expanding-window CV splits inside the final train+valid, each
// laid out the same way. Every purge is by time: the next range starts at
// least h·Interval after the label time of the previous range's last row.
func (d Dataset) WalkForward(folds int, testFrac, validFrac float64) ([]Split, Split, error) {
	if d.Horizon < 1 || d.Interval <= 0 {
		return nil, Split{}, fmt.Errorf("walk-forward %s: horizon %d, interval %s: %w", d.Pair, d.Horizon, d.Interval, market.ErrInvalid)
	}
	ts := make([]int64, d.Len())
	for i, t := range d.TS {
		ts[i] = t.UnixNano()
	}
	cv, final, err := walkForward(ts, int64(time.Duration(d.Horizon)*d.Interval), folds, testFrac, validFrac)
	if err != nil {
		return nil, Split{}, fmt.Errorf("walk-forward %s: %w", d.Pair, err)
	}
	return cv, final, nil
}

// CheckSplit verifies s against the purge rule by time: ranges in order, not
// empty (an empty Test is allowed), and each range starting at least
// h·Interval after the label time of the previous range's last row.
func (d Dataset) CheckSplit(s Split) error {
	ranges := [][2]int{s.Train, s.Valid}
	if s.Test[1] > s.Test[0] {
		ranges = append(ranges, s.Test)
	}
	gap := time.Duration(d.Horizon) * d.Interval
	for i, r := range ranges {
		if r[0] < 0 || r[1] > d.Len() || r[0] >= r[1] {
			return fmt.Errorf("split %v: range %v empty or outside [0,%d): %w", s, r, d.Len(), market.ErrInvalid)
		}
		if i == 0 {
			continue
		}
		last := ranges[i-1][1] - 1
		if last >= r[0] || d.TS[r[0]].Sub(d.LabelTime(last)) < gap {
			return fmt.Errorf("split %v: row %d at %s starts less than %s after the label time %s of row %d: %w",
				s, r[0], d.TS[r[0]].Format(time.RFC3339), gap, d.LabelTime(last).Format(time.RFC3339), last, market.ErrInvalid)
		}
	}
	return nil
}

// walkForward lays out the splits over strictly increasing times ts where a
// label ends gap after its row's time; purges need 2·gap between row times.
func walkForward(ts []int64, gap int64, folds int, testFrac, validFrac float64) ([]Split, Split, error) {
	n := len(ts)
	if folds < 0 || !(testFrac > 0) || !(validFrac > 0) || !(testFrac+validFrac < 1) {
		return nil, Split{}, fmt.Errorf("folds %d, test %v, valid %v: want folds ≥ 0, fractions > 0 summing below 1: %w",
			folds, testFrac, validFrac, market.ErrInvalid)
	}
	final, err := layout(ts, gap, n, atLeast1(testFrac*float64(n)), atLeast1(validFrac*float64(n)))
	if err != nil {
		return nil, Split{}, fmt.Errorf("final split of %d rows: %w", n, err)
	}
	end := final.Valid[1] // the CV folds see train+valid only
	block := end / (folds + 1)
	cv := make([]Split, 0, folds)
	ratio := validFrac / (1 - testFrac)
	for f := range folds {
		hi := (f + 2) * block
		if f == folds-1 {
			hi = end
		}
		pre := (f + 1) * block
		s, err := layout(ts, gap, hi, hi-pre, atLeast1(ratio*float64(pre)))
		if err != nil {
			return nil, Split{}, fmt.Errorf("fold %d of %d over %d rows: %w", f+1, folds, end, err)
		}
		cv = append(cv, s)
	}
	return cv, final, nil
}

// layout splits rows [0, hi) into train | purge | valid | purge | test with
// nTest rows of test and nValid rows of valid.
func layout(ts []int64, gap int64, hi, nTest, nValid int) (Split, error) {
	testLo := hi - nTest
	if nTest < 1 || testLo < 1 {
		return Split{}, fmt.Errorf("no room for %d test rows in %d: %w", nTest, hi, market.ErrInvalid)
	}
	validHi := endBefore(ts, gap, testLo)
	validLo := validHi - nValid
	if validLo < 1 {
		return Split{}, fmt.Errorf("no room for %d valid rows before row %d: %w", nValid, validHi, market.ErrInvalid)
	}
	trainHi := endBefore(ts, gap, validLo)
	if trainHi < 1 {
		return Split{}, fmt.Errorf("no train rows before row %d: %w", validLo, market.ErrInvalid)
	}
	return Split{Train: [2]int{0, trainHi}, Valid: [2]int{validLo, validHi}, Test: [2]int{testLo, hi}}, nil
}

// endBefore is the end (exclusive) of the range that may precede a range
// starting at row b: rows i with ts[i] + gap (their label time) + gap ≤ ts[b].
func endBefore(ts []int64, gap int64, b int) int {
	limit := ts[b] - 2*gap
	return sort.Search(b, func(i int) bool { return ts[i] > limit })
}

func atLeast1(x float64) int {
	return max(1, int(math.Round(x)))
}
