package connect

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"
)

// ShutdownTimeout bounds a pipeline's graceful stop (flushing buffered rows).
const ShutdownTimeout = 20 * time.Second

// Runner runs pipeline YAMLs in-process with tickcast's plugins over Deps:
// what `tickcast run` starts once per stream.
type Runner struct {
	Deps Deps
	// Metrics receives every pipeline's metrics (one registry for all of
	// them); nil: the YAML's own metrics section.
	Metrics *Metrics
	// Getenv resolves the ${VARS} that a run's vars do not set; nil: none.
	Getenv func(string) string
}

// RunAll runs the pipeline at path once per vars, side by side, until
// every one ends or ctx is done.
func (r Runner) RunAll(ctx context.Context, path string, streams []map[string]string) error {
	errs := make([]error, len(streams))
	var wg sync.WaitGroup
	for i, vars := range streams {
		wg.Go(func() { errs[i] = r.Run(ctx, path, vars) })
	}
	wg.Wait()
	return errors.Join(errs...)
}

// Run runs the pipeline at path (ReadPipeline), its ${VARS} from vars,
// until its input ends or ctx is done; on cancellation it stops the stream
// gracefully, within ShutdownTimeout, so that buffered rows reach the store.
func (r Runner) Run(ctx context.Context, path string, vars map[string]string) error {
	stream, err := r.build(path, vars)
	if err != nil {
		return err
	}
	r.logger().Info("pipeline running", "pipeline", path, "pairs", vars["TICKCAST_PAIRS"], "data_dir", vars["TICKCAST_DATA_DIR"])
	return runStream(ctx, stream, path)
}

func (r Runner) logger() *slog.Logger {
	if r.Deps.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return r.Deps.Logger
}

// build makes the stream of the pipeline at path.
func (r Runner) build(path string, vars map[string]string) (*service.Stream, error) {
	yaml, err := ReadPipeline(path)
	if err != nil {
		return nil, err
	}
	env, err := NewEnvironment(r.Deps)
	if err != nil {
		return nil, err
	}
	if r.Metrics != nil {
		if err := r.Metrics.register(env); err != nil {
			return nil, err
		}
	}
	b := env.NewStreamBuilder()
	// Benthos' own INFO lines (component started, ...) are noise next to ours.
	b.SetLogger(slog.New(minLevel{r.logger().Handler(), slog.LevelWarn}))
	b.SetEnvVarLookupFunc(r.lookup(vars))
	if err := b.SetYAML(yaml); err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", path, err)
	}
	if r.Metrics != nil {
		if err := b.SetMetricsYAML(metricsYAML); err != nil { // after SetYAML, which resets it
			return nil, err
		}
	}
	stream, err := b.Build()
	if err != nil {
		return nil, fmt.Errorf("pipeline %s: %w", path, err)
	}
	return stream, nil
}

// lookup resolves a variable from vars, else from Getenv (empty: unset).
func (r Runner) lookup(vars map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		if v, ok := vars[name]; ok {
			return v, true
		}
		if r.Getenv == nil {
			return "", false
		}
		v := r.Getenv(name)
		return v, v != ""
	}
}

// runStream runs until the input ends; on cancellation it stops the stream
// gracefully so that buffered rows reach the store.
func runStream(ctx context.Context, stream *service.Stream, path string) error {
	done := make(chan error, 1)
	go func() { done <- stream.Run(context.Background()) }()
	select {
	case err := <-done:
		if err != nil {
			return fmt.Errorf("pipeline %s: %w", path, err)
		}
		return nil
	case <-ctx.Done():
		if err := stream.StopWithin(ShutdownTimeout); err != nil {
			return fmt.Errorf("pipeline %s: stop: %w", path, err)
		}
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			return fmt.Errorf("pipeline %s: %w", path, err)
		}
		return nil
	}
}

// ReadPipeline reads the pipeline YAML at path or, when there is no such
// file, the embedded copy of the same name (Pipelines).
func ReadPipeline(path string) (string, error) {
	b, err := os.ReadFile(path)
	if err == nil {
		return string(b), nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return "", err
	}
	b, embErr := fs.ReadFile(Pipelines, filepath.ToSlash(filepath.Join("pipelines", filepath.Base(path))))
	if embErr != nil {
		return "", fmt.Errorf("pipeline %s: %w", path, err)
	}
	return string(b), nil
}

// minLevel drops records below its level.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(as []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(as), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
