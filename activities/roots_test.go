package activities_test

import (
	"errors"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
)

// A worker reads and writes inside its roots only: data directories in
// Roots (default DataDir), archive files there or in ArchiveRoots, after
// cleaning ".." and resolving symlinks. Whatever a request names outside
// fails for good, naming the path and never what the file holds.
func TestRequestsStayInsideRoots(t *testing.T) {
	base := t.TempDir()
	data := filepath.Join(base, "data")
	archives := filepath.Join(base, "archives")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{data, archives, outside} {
		mustMkdir(t, d)
	}
	const secret = "AKIAsecretHunter2"
	secretFile := filepath.Join(outside, "ETHUSD_1.csv") // a name that tells a pair: only the roots refuse it
	mustWrite(t, secretFile, "root:x:0:0:"+secret+"\n")
	mustWrite(t, filepath.Join(archives, "ETHUSD_1.csv"), "root:x:0:0:"+secret+"\n") // inside: read, refused as no archive
	mustSymlink(t, outside, filepath.Join(data, "escape"))                           // data/escape → outside
	mustSymlink(t, secretFile, filepath.Join(archives, "ETHUSD_1.link.csv"))         // archives/… → outside file
	mustSymlink(t, filepath.Join(data, "real"), filepath.Join(data, "alias"))        // inside → inside
	mustMkdir(t, filepath.Join(data, "real"))

	a := &activities.Activities{DataDir: data, ArchiveRoots: []string{archives}}
	env := newEnv(a)
	chunk := activities.Chunk{Pair: "ETH/USD", From: date("2025-05-20T00:00:00Z"), To: date("2025-05-21T00:00:00Z")}
	build := func(dir string) (any, any) {
		return a.BuildChunk, activities.BuildInput{Chunk: withDir(chunk, dir), Kind: activities.KindCandles, Interval: "1m"}
	}
	inspect := func(path string) (any, any) {
		return a.InspectArchive, activities.InspectInput{Files: []string{path}}
	}
	importFile := func(path string) (any, any) {
		return a.ImportArchiveChunk, activities.ImportInput{Chunk: withDir(chunk, data),
			Files: []activities.ArchiveFile{{Path: path, Format: "kraken-ohlcvt", First: chunk.From, Last: chunk.From}}}
	}
	refused := map[string]struct {
		path   string
		fn, in any
	}{
		"absolute data_dir outside":  {outside, nil, nil},
		"data_dir by ..":             {filepath.Join(data, "..", "outside"), nil, nil},
		"data_dir through a symlink": {filepath.Join(data, "escape", "new"), nil, nil},
		"data_dir /":                 {"/", nil, nil},
		"archive file outside":       {secretFile, nil, nil},
		"archive file by ..":         {filepath.Join(archives, "..", "outside", "ETHUSD_1.csv"), nil, nil},
		"archive symlink outside":    {filepath.Join(archives, "ETHUSD_1.link.csv"), nil, nil},
		"archive in data symlink":    {filepath.Join(data, "escape", "ETHUSD_1.csv"), nil, nil},
		"import of a forged plan":    {secretFile, nil, nil},
		"etc passwd":                 {"/etc/passwd", nil, nil},
	}
	for name, tc := range refused {
		switch {
		case strings.HasPrefix(name, "import"):
			tc.fn, tc.in = importFile(tc.path)
		case strings.Contains(name, "archive") || name == "etc passwd":
			tc.fn, tc.in = inspect(tc.path)
		default:
			tc.fn, tc.in = build(tc.path)
		}
		t.Run(name, func(t *testing.T) {
			_, err := env.ExecuteActivity(tc.fn, tc.in)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != market.CodeInvalid {
				t.Fatalf("err = %v, want a non-retryable %s", err, market.CodeInvalid)
			}
			if msg := err.Error(); !strings.Contains(msg, "outside this worker's directories") || !strings.Contains(msg, tc.path) || strings.Contains(msg, secret) {
				t.Errorf("error should say outside, name %s and not hold the file: %s", tc.path, msg)
			}
		})
	}

	// Inside: a data dir not created yet, one through a symlink that stays
	// inside, and an archive dir's file (read: not an archive, and no secret
	// in the error either).
	for _, dir := range []string{filepath.Join(data, "new", "deeper"), filepath.Join(data, "alias"), filepath.Join(data, "real", "..", "x")} {
		fn, in := build(dir)
		if _, err := env.ExecuteActivity(fn, in); err != nil && strings.Contains(err.Error(), "outside") {
			t.Errorf("data_dir %s refused: %v", dir, err)
		}
	}
	fn, in := inspect(filepath.Join(archives, "ETHUSD_1.csv"))
	_, err := env.ExecuteActivity(fn, in)
	if err == nil || strings.Contains(err.Error(), "outside") || strings.Contains(err.Error(), secret) {
		t.Errorf("archive dir's file: %v, want a format error without the file's contents", err)
	}
}

// Without Roots, a worker's only root is its data directory; with them,
// DataDir needs to lie in one to be used.
func TestRootsDefault(t *testing.T) {
	base := t.TempDir()
	data, other := filepath.Join(base, "data"), filepath.Join(base, "other")
	mustMkdir(t, data)
	mustMkdir(t, other)
	chunk := activities.Chunk{Pair: "ETH/USD", From: date("2025-05-20T00:00:00Z"), To: date("2025-05-21T00:00:00Z")}
	for _, tc := range []struct {
		a       *activities.Activities
		dir     string
		allowed bool
	}{
		{&activities.Activities{DataDir: data}, "", true},
		{&activities.Activities{DataDir: data}, other, false},
		{&activities.Activities{DataDir: data, Roots: []string{base}}, other, true},
		{&activities.Activities{}, other, false},
	} {
		env := newEnv(tc.a)
		_, err := env.ExecuteActivity(tc.a.BuildChunk, activities.BuildInput{Chunk: withDir(chunk, tc.dir), Kind: activities.KindCandles, Interval: "1m"})
		var appErr *temporal.ApplicationError
		refused := errors.As(err, &appErr) && appErr.Type() == market.CodeInvalid
		if refused == tc.allowed {
			t.Errorf("DataDir %q, Roots %v, data_dir %q: err %v, want allowed %v", tc.a.DataDir, tc.a.Roots, tc.dir, err, tc.allowed)
		}
	}
}

// The training activities read datasets and models, and write reports, in
// the data roots only.
func TestTrainPathsStayInsideRoots(t *testing.T) {
	base := t.TempDir()
	data, outside := filepath.Join(base, "data"), filepath.Join(base, "outside")
	mustMkdir(t, data)
	mustMkdir(t, outside)
	a := &activities.Activities{DataDir: data}
	env := newEnv(a)
	params := ml.SampleParams(rand.New(rand.NewPCG(1, 2)))
	for name, tc := range map[string]struct{ fn, in any }{
		"trial dataset":     {a.RunTrial, activities.TrialInput{Dataset: filepath.Join(outside, "dataset.bin"), Params: params, MaxRows: 10, Rounds: 1, Folds: []activities.Fold{{}}}},
		"evaluate model":    {a.Evaluate, activities.EvaluateInput{Dataset: filepath.Join(outside, "dataset.bin")}},
		"register model":    {a.RegisterModel, activities.RegisterInput{Pair: "ETH/USDT", Horizon: 1, ModelPath: filepath.Join(outside, "model.ubj")}},
		"fit dataset by ..": {a.FitFinal, activities.FitInput{Dataset: filepath.Join(data, "..", "outside", "dataset.bin"), RunKey: "r", Rounds: 1, Params: params}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := env.ExecuteActivity(tc.fn, tc.in)
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || !appErr.NonRetryable() || !strings.Contains(err.Error(), "outside this worker's directories") {
				t.Fatalf("err = %v, want a non-retryable outside-the-roots error", err)
			}
		})
	}
}

func mustMkdir(t *testing.T, d string) {
	t.Helper()
	if err := os.MkdirAll(d, 0o755); err != nil {
		t.Fatal(err)
	}
}

func mustWrite(t *testing.T, path, body string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustSymlink(t *testing.T, target, link string) {
	t.Helper()
	if err := os.Symlink(target, link); err != nil {
		t.Fatal(err)
	}
}
