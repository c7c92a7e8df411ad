// Package activities holds tickcast's Temporal activities: methods on a
// struct that carries their dependencies, each a thin shell over the plain-Go
// steps of package history (and the archive readers, and the Kraken REST
// client). They open the Parquet store of the data directory they are given,
// and close (flush) it before returning, so a completed activity's rows are
// durable; parallel activities on different pairs or days are safe because
// the store merges each partition under a file lock.
package activities

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"go.temporal.io/sdk/activity"
	"go.temporal.io/sdk/temporal"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// Activities are the backfill's activities; a worker registers one value.
type Activities struct {
	// REST is the Kraken REST client; build it with a kraken.RateLimiter
	// shared by the whole worker, so all concurrent fetches keep one budget.
	REST   *kraken.REST
	Logger *slog.Logger
	// DataDir is the data directory of requests that name none.
	DataDir string
	// Roots are the only directories (with what lies under them) that
	// requests may name as data_dir, read and write; empty: DataDir alone.
	Roots []string
	// ArchiveRoots are directories (or single files) archive files may also
	// be read from; read only. See roots.go.
	ArchiveRoots []string
	// Schedules applies retraining schedules (nil: ApplySchedules fails).
	Schedules Scheduler

	files    fileCache
	datasets datasetCache // decoded dataset files; callers must not modify them
}

func (a *Activities) logger() *slog.Logger {
	if a.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return a.Logger
}

func (a *Activities) openStore(dir string) (*parquet.Store, error) {
	st, err := parquet.Open(datadir.Parquet(dir), parquet.Options{Logger: a.logger()})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", dir, err)
	}
	return st, nil
}

// closeStore flushes the store; on an earlier error it still closes it, but
// that error wins.
func closeStore(ctx context.Context, st *parquet.Store, err error) error {
	cerr := st.Close(context.WithoutCancel(ctx))
	if err != nil {
		return err
	}
	if cerr != nil {
		return fmt.Errorf("flush store: %w", cerr)
	}
	return nil
}

// invalidf is an error no retry can fix: the workflow fails at once.
func invalidf(format string, args ...any) error {
	return TemporalError(market.Errorf(market.CodeInvalid, format, args...))
}

// invalid marks err as one no retry can fix.
func invalid(err error) error {
	return TemporalError(&market.Error{Code: market.CodeInvalid, Message: err.Error(), Err: err})
}

// nonRetryable are the codes no retry can change: the input, the state or
// the caller decides them.
var nonRetryable = []string{market.CodeInvalid, market.CodeNotFound, market.CodeConflict, market.CodeUnauthorized, market.CodeForbidden}

// NonRetryableTypes are the application error types TemporalError makes
// non-retryable, for retry policies' NonRetryableErrorTypes.
func NonRetryableTypes() []string { return slices.Clone(nonRetryable) }

// TemporalError maps an error's code (market.ErrorCode) to a Temporal
// application error, the only place that does: its type is the code;
// invalid, not_found, conflict, unauthorized and forbidden are
// non-retryable (the workflow fails at once), unavailable is retried.
// Internal and plain errors, and application errors already made, are
// returned as they are (Temporal retries the former).
func TemporalError(err error) error {
	var appErr *temporal.ApplicationError
	if err == nil || errors.As(err, &appErr) {
		return err
	}
	code := market.ErrorCode(err)
	var cause error
	if me := (*market.Error)(nil); errors.As(err, &me) {
		cause = me.Err
	}
	switch {
	case slices.Contains(nonRetryable, code):
		return temporal.NewNonRetryableApplicationError(err.Error(), code, cause)
	case code == market.CodeUnavailable:
		return temporal.NewApplicationErrorWithCause(err.Error(), code, cause)
	}
	return err
}

// heartbeat records the latest details every few seconds from a goroutine,
// so that a step that blocks (a parse, a flush, the rate limiter) still proves
// the worker alive, and a dead worker's activity is retried within the
// heartbeat timeout. set records new details at once (the SDK throttles).
type heartbeat struct {
	mu      sync.Mutex
	details any
	stop    chan struct{}
	done    chan struct{}
}

func startHeartbeat(ctx context.Context, details any) *heartbeat {
	h := &heartbeat{details: details, stop: make(chan struct{}), done: make(chan struct{})}
	every := 3 * time.Second
	if t := activity.GetInfo(ctx).HeartbeatTimeout; t > 0 {
		every = t / 3
	}
	activity.RecordHeartbeat(ctx, details)
	go h.loop(ctx, every)
	return h
}

func (h *heartbeat) loop(ctx context.Context, every time.Duration) {
	defer close(h.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-h.stop:
			return
		case <-ctx.Done():
			return
		case <-t.C:
			h.mu.Lock()
			d := h.details
			h.mu.Unlock()
			activity.RecordHeartbeat(ctx, d)
		}
	}
}

func (h *heartbeat) set(ctx context.Context, details any) {
	h.mu.Lock()
	h.details = details
	h.mu.Unlock()
	activity.RecordHeartbeat(ctx, details)
}

func (h *heartbeat) close() {
	close(h.stop)
	<-h.done
}
