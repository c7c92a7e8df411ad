package workflows

import (
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/tickcast/tickcast/activities"
)

// PairPlan is what a backfill does for one pair, fixed before the first
// chunk runs (and carried over when the workflow continues as new).
type PairPlan struct {
	Pair     string                   `json:"pair"`
	Kind     string                   `json:"kind"` // activities.KindTrades or KindCandles
	Interval string                   `json:"interval"`
	From     time.Time                `json:"from"`
	To       time.Time                `json:"to"`
	Files    []activities.ArchiveFile `json:"files,omitempty"`
}

const day = 24 * time.Hour

// krakenPlan fills the default range from the workflow's clock: the last 90
// days up to the last whole candle.
func krakenPlan(req BackfillRequest, now time.Time) ([]PairPlan, error) {
	iv, err := tradeInterval(req.Interval)
	if err != nil {
		return nil, err
	}
	to := req.To
	if to.IsZero() {
		to = now.UTC().Truncate(iv)
	}
	from := req.From
	if from.IsZero() {
		from = to.Add(-DefaultDays * day).Truncate(day)
	}
	if !from.Before(to) {
		return nil, fmt.Errorf("from %s is not before to %s", from.Format(time.RFC3339), to.Format(time.RFC3339))
	}
	plan := make([]PairPlan, len(req.Pairs))
	for i, p := range req.Pairs {
		plan[i] = PairPlan{Pair: p, Kind: activities.KindTrades, Interval: iv.String(), From: from, To: to}
	}
	return plan, nil
}

func tradeInterval(s string) (time.Duration, error) {
	if s == "" {
		return DefaultTradeInterval, nil
	}
	return parseInterval(s)
}

// archivePlan gives each file to the pair its name says, or to the one pair
// asked for when the name says none. A file whose name says another pair is
// refused: Binance's ETH/USDT must not land under Kraken's ETH/USD.
func archivePlan(req BackfillRequest, files []activities.ArchiveFile) ([]PairPlan, error) {
	var pairs []string // no map: workflow code must not even look random
	owner := make([]string, len(files))
	var errs []error
	for i, f := range files {
		pair := f.Pair
		if pair == "" && len(req.Pairs) == 1 {
			pair = req.Pairs[0]
		}
		switch {
		case pair == "":
			errs = append(errs, fmt.Errorf("file %s: its name does not tell the pair: give exactly one pair", f.Path))
		case len(req.Pairs) > 0 && !slices.Contains(req.Pairs, pair):
			errs = append(errs, fmt.Errorf("file %s holds %s (by its name), not one of the pairs %v", f.Path, pair, req.Pairs))
		default:
			owner[i] = pair
			if !slices.Contains(pairs, pair) {
				pairs = append(pairs, pair)
			}
		}
	}
	for _, p := range req.Pairs {
		if !slices.Contains(pairs, p) {
			errs = append(errs, fmt.Errorf("pair %s: no file", p))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	slices.Sort(pairs)
	plan := make([]PairPlan, 0, len(pairs))
	for _, p := range pairs {
		var mine []activities.ArchiveFile
		for i, f := range files {
			if owner[i] == p {
				mine = append(mine, f)
			}
		}
		pp, err := planPair(req, p, mine)
		if err != nil {
			return nil, err
		}
		plan = append(plan, pp)
	}
	return plan, nil
}

// planPair checks that a pair's files agree (kind, bar length), numbers
// id-less trade files consecutively, and takes the range from the files
// unless the request gives one.
func planPair(req BackfillRequest, pair string, files []activities.ArchiveFile) (PairPlan, error) {
	files = slices.Clone(files)
	slices.SortStableFunc(files, func(a, b activities.ArchiveFile) int { return a.First.Compare(b.First) })
	pp := PairPlan{Pair: pair, Kind: files[0].Kind, Files: files}
	iv, err := pairInterval(req, pp.Kind, files)
	if err != nil {
		return pp, fmt.Errorf("pair %s: %w", pair, err)
	}
	pp.Interval = iv.String()
	next := int64(1)
	for i := range pp.Files {
		if pp.Kind == activities.KindTrades {
			pp.Files[i].FirstID = next
			next += int64(pp.Files[i].Rows)
		}
	}
	pp.From, pp.To = req.From, req.To
	if pp.From.IsZero() {
		pp.From = files[0].First.UTC().Truncate(iv)
	}
	if pp.To.IsZero() {
		pp.To = lastOf(files).UTC().Truncate(iv).Add(iv)
	}
	if !pp.From.Before(pp.To) {
		return pp, fmt.Errorf("pair %s: files hold %s … %s, nothing in the range asked", pair,
			files[0].First.Format(time.RFC3339), lastOf(files).Format(time.RFC3339))
	}
	return pp, nil
}

func pairInterval(req BackfillRequest, kind string, files []activities.ArchiveFile) (time.Duration, error) {
	for _, f := range files {
		if f.Kind != kind {
			return 0, fmt.Errorf("files mix %s and %s (%s)", kind, f.Kind, f.Path)
		}
		if kind == activities.KindCandles && f.Interval != files[0].Interval {
			return 0, fmt.Errorf("files mix %s and %s bars (%s)", files[0].Interval, f.Interval, f.Path)
		}
	}
	if kind == activities.KindTrades {
		return tradeInterval(req.Interval)
	}
	iv, err := parseInterval(files[0].Interval)
	if err != nil {
		return 0, fmt.Errorf("file %s: %w", files[0].Path, err)
	}
	if req.Interval != "" && req.Interval != iv.String() {
		return 0, fmt.Errorf("interval %s asked, but the files hold %s bars", req.Interval, iv)
	}
	return iv, nil
}

func lastOf(files []activities.ArchiveFile) time.Time {
	var last time.Time
	for _, f := range files {
		if f.Last.After(last) {
			last = f.Last
		}
	}
	return last
}
