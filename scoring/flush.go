package scoring

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"path/filepath"
	"slices"
	"time"

	"github.com/tickcast/tickcast/internal/atomicfile"
)

// Flush appends the rows that became final since the last flush (scored,
// re-scored after a correction, or expired unscored) to Parquet: one file
// per flush and as_of day, Dir/date=YYYY-MM-DD/predictions-<wall time>-<seq>.parquet,
// written whole and renamed into place. A row's serve count is the one at
// its flush. On failure the rows are kept for the next flush (up to a
// bound). Without a Dir the rows are dropped.
func (s *Scorer) Flush(ctx context.Context) error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	rows := s.take(s.cfg.Dir != "")
	if len(rows) == 0 {
		return nil
	}
	if err := s.write(ctx, rows, time.Now().UTC()); err != nil {
		s.giveBack(rows)
		return fmt.Errorf("flush %d predictions: %w", len(rows), err)
	}
	return nil
}

// take empties the queue into exported rows (when keep), after any left by
// a failure.
func (s *Scorer) take(keep bool) []Scored {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.backlog
	s.backlog = nil
	for _, e := range s.queue {
		if keep {
			rows = append(rows, e.export())
		}
		e.queued = false
	}
	clear(s.queue)
	s.queue = s.queue[:0]
	return rows
}

func (s *Scorer) giveBack(rows []Scored) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The queue may have refilled meanwhile; those rows are newer and flush after.
	s.backlog = append(rows, s.backlog...)
	if over := len(s.backlog) - maxBacklog; over > 0 {
		s.log.Warn("scoring: flush backlog full, dropping oldest rows", "dropped", over)
		s.backlog = slices.Delete(s.backlog, 0, over)
	}
}

func (s *Scorer) write(ctx context.Context, rows []Scored, now time.Time) error {
	byDay := make(map[string][]Scored)
	for _, r := range rows {
		d := r.AsOf.UTC().Format(time.DateOnly)
		byDay[d] = append(byDay[d], r)
	}
	for _, day := range slices.Sorted(maps.Keys(byDay)) {
		if err := ctx.Err(); err != nil {
			return err
		}
		if err := s.writeFile(filepath.Join(s.cfg.Dir, "date="+day), byDay[day], now); err != nil {
			return err
		}
	}
	return nil
}

func (s *Scorer) writeFile(dir string, rows []Scored, now time.Time) error {
	var buf bytes.Buffer
	if err := format.Write(&buf, rows); err != nil {
		return err
	}
	if err := atomicfile.MkdirAll(dir); err != nil {
		return err
	}
	s.seq++
	// Names sort in flush order, so that a re-scored row read later wins.
	name := fmt.Sprintf("predictions-%s-%06d.parquet", now.Format("20060102T150405.000000000Z"), s.seq)
	return atomicfile.Write(filepath.Join(dir, name), buf.Bytes())
}

// Run flushes every `every` (≤ 0: 10s) until ctx is done, then flushes a
// last time and returns that flush's error. Periodic errors are logged; their
// rows are retried by the next flush.
func (s *Scorer) Run(ctx context.Context, every time.Duration) error {
	if every <= 0 {
		every = 10 * time.Second
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return s.Flush(context.WithoutCancel(ctx))
		case <-t.C:
			if err := s.Flush(ctx); err != nil {
				s.log.Warn("scoring: flush", "err", err)
			}
		}
	}
}
