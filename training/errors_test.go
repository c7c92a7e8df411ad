package training

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// What no retry can fix has code invalid (market.ErrInvalid), with the
// messages the activities have always reported.
func TestInvalidRequests(t *testing.T) {
	dir := t.TempDir()
	small := filepath.Join(dir, "small", datasetFile)
	if err := os.MkdirAll(filepath.Dir(small), 0o755); err != nil {
		t.Fatal(err)
	}
	smallDataset(t, small, 10, 0.5) // no splits.json beside it
	var cache DatasetCache
	ds, err := cache.read(small)
	if err != nil {
		t.Fatal(err)
	}
	p := sampleParams()
	bad := p
	bad.MaxDepth = 99
	fold := Fold{Train: Span{0, 4}, Valid: Span{5, 7}, Test: Span{8, 10}}
	outside := Fold{Train: Span{0, 4}, Valid: Span{5, 7}, Test: Span{8, 11}}
	ctx := t.Context()
	cases := map[string]struct {
		call func() error
		msg  string // the whole message, when set
	}{
		"empty store": {call: func() error {
			_, err := BuildDataset(ctx, dir, DatasetRequest{Pair: "ETH/USDT", Horizon: 1, Folds: 3})
			return err
		}, msg: "0 feature rows of ETH/USDT in " + datadir.Parquet(dir) + ": backfill the pair first"},
		"bad pair": {call: func() error {
			_, err := BuildDataset(ctx, dir, DatasetRequest{Pair: "NOPE", Horizon: 1, Folds: 3})
			return err
		}, msg: `dataset: pair "NOPE", horizon 1, folds 3: want a pair, horizon ≥ 1, folds ≥ 1`},
		"no folds": {call: func() error {
			_, err := BuildDataset(ctx, dir, DatasetRequest{Pair: "ETH/USDT", Horizon: 1})
			return err
		}},
		"missing dataset": {call: func() error {
			_, _, err := cache.ReadDataset(filepath.Join(dir, "nope.bin"))
			return err
		}},
		"dataset without splits": {call: func() error {
			_, _, err := cache.ReadDataset(small)
			return err
		}},
		"params outside the space": {call: func() error {
			_, err := RunTrial(ctx, ds, TrialRequest{Folds: []Fold{fold}, Params: bad, MaxRows: 10, Rounds: 1})
			return err
		}},
		"trial without folds": {call: func() error {
			_, err := RunTrial(ctx, ds, TrialRequest{Params: p, MaxRows: 10, Rounds: 1, Trial: 4})
			return err
		}, msg: "trial 4: 0 folds, max_rows 10, rounds 1"},
		"fold outside the dataset": {call: func() error {
			_, err := RunTrial(ctx, ds, TrialRequest{Folds: []Fold{outside}, Params: p, MaxRows: 10, Rounds: 1})
			return err
		}},
		"run key": {call: func() error {
			_, err := FitFinal(ctx, ds, FitRequest{DataDir: dir, Final: fold, Params: p, Rounds: 1, RunKey: "a/b"})
			return err
		}, msg: `fit: run key "a/b", rounds 1`},
		"missing model": {call: func() error {
			_, err := Evaluate(ctx, ds, Splits{Final: fold}, EvaluateRequest{ModelPath: filepath.Join(dir, "nope.ubj")})
			return err
		}},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			err := c.call()
			if !errors.Is(err, market.ErrInvalid) || market.ErrorCode(err) != market.CodeInvalid {
				t.Fatalf("err = %v, want code invalid", err)
			}
			if c.msg != "" && err.Error() != c.msg {
				t.Errorf("message %q, want %q", err.Error(), c.msg)
			}
		})
	}
}

// A cancelled trial returns the context's error, not a result and not
// code invalid: the run is retried, not failed.
func TestCancelledTrial(t *testing.T) {
	path := filepath.Join(t.TempDir(), datasetFile)
	smallDataset(t, path, 10, 0.5)
	var cache DatasetCache
	ds, err := cache.read(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	fold := Fold{Train: Span{0, 4}, Valid: Span{5, 7}, Test: Span{8, 10}}
	_, err = RunTrial(ctx, ds, TrialRequest{Folds: []Fold{fold}, Params: sampleParams(), MaxRows: 10, Rounds: 5})
	if !errors.Is(err, context.Canceled) || errors.Is(err, market.ErrInvalid) {
		t.Errorf("err = %v, want context.Canceled", err)
	}
}

// A corrupt day of the store is skipped, with a warning naming it: the
// dataset is built from the other days.
func TestBuildDatasetSkipsCorruptDay(t *testing.T) {
	dir := weekStore(t)
	parts, err := parquet.Partitions(datadir.Parquet(dir), parquet.DatasetFeatures, "ETH/USDT", date("2025-05-23T00:00:00Z"), date("2025-05-24T00:00:00Z"))
	if err != nil || len(parts) != 1 {
		t.Fatalf("partitions %v, %v", parts, err)
	}
	bad := parts[0].Path
	fi, err := os.Stat(bad)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Truncate(bad, fi.Size()/2); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelWarn}))
	info, err := BuildDataset(t.Context(), dir, DatasetRequest{Pair: "ETH/USDT", Horizon: 1, Folds: 3, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	// The week's rows less the corrupt day's 1440.
	if info.Rows != 10080-119-1-1440 {
		t.Errorf("%d rows, want %d", info.Rows, 10080-119-1-1440)
	}
	if !strings.Contains(logs.String(), "level=WARN") || !strings.Contains(logs.String(), bad) {
		t.Errorf("logs %q: want a warning naming %s", logs.String(), bad)
	}
}
