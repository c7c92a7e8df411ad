package connect

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/internal/backoff"
	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
)

// repairJob is what the repairer fetches from REST: the ids of a trade_id
// gap, or the trades before a stream's first one (a start outage).
type repairJob struct {
	gap GapRecord
	// since and until (start): fetch from since every trade up to id until.
	since time.Time
	until int64
}

// repairResult carries the newly fetched trades of a job, and the rows in
// its range that REST served but are not valid trades (for the dead
// letters); last is set on the job's final result, ok when every missing
// trade was fetched or rejected.
type repairResult struct {
	job      *repairJob
	trades   []market.Trade
	rejected []kraken.Rejected
	last     bool
	ok       bool
}

// repairer fetches missing trades from Kraken REST, one job at a time in
// its own goroutine, so that the WebSocket stream never waits.
type repairer struct {
	rest     *kraken.REST
	attempts int
	backoff  backoff.Backoff // between a job's attempts, copied per job
	log      *slog.Logger

	mRequests, mTrades, mFailed *service.MetricCounter
}

func (r *repairer) run(ctx context.Context, jobs <-chan *repairJob, results chan<- repairResult) {
	for {
		select {
		case <-ctx.Done():
			return
		case j := <-jobs:
			r.repair(ctx, j, results)
		}
	}
}

// repair fetches j's trades, sending each new trade once, in id order, as
// it arrives, and each row REST serves in its range that is not a valid
// trade (a corrupt trade of the exchange: it cannot be repaired, but the
// rest of the gap can, and the row goes to the dead letters). An attempt
// resumes after the last id sent, so a retry never sends an id again.
func (r *repairer) repair(ctx context.Context, j *repairJob, results chan<- repairResult) {
	after, since := j.gap.FromID-1, j.gap.FromTS
	if j.gap.Kind == GapStart {
		after, since = 0, j.since
	}
	b := r.backoff
	for attempt := 1; ; attempt++ {
		r.mRequests.Incr(1)
		got, rejected, done, err := r.fetch(ctx, j, after, since)
		fresh := freshRepairs(j, got, after)
		rejected = freshRejected(j, rejected, after)
		if n := len(fresh); n > 0 {
			since = fresh[n-1].TS
			r.mTrades.Incr(int64(n))
		}
		after = lastID(after, fresh, rejected)
		done = done && err == nil
		last := done || attempt >= r.attempts || ctx.Err() != nil
		select {
		case results <- repairResult{job: j, trades: fresh, rejected: rejected, last: last, ok: done}:
		case <-ctx.Done():
			return
		}
		if last {
			r.logOutcome(j, done, attempt, err)
			return
		}
		r.log.Debug("kraken_trades: repair incomplete, retrying", "pair", j.gap.Pair, "kind", j.gap.Kind, "attempt", attempt, "err", err)
		if b.Wait(ctx) != nil {
			return
		}
	}
}

// fetch asks REST for the trades after id `after` from since, and the
// rows that are not valid trades; done says the job has them all.
func (r *repairer) fetch(ctx context.Context, j *repairJob, after int64, since time.Time) ([]market.Trade, []kraken.Rejected, bool, error) {
	if j.gap.Kind == GapStart {
		if after >= j.until {
			return nil, nil, true, nil
		}
		return r.rest.TradesUntil(ctx, j.gap.Pair, since, j.until)
	}
	got, rejected, err := r.rest.TradesAfter(ctx, j.gap.Pair, after, since, j.gap.ToID)
	return got, rejected, lastID(after, got, rejected) >= j.gap.ToID, err
}

// lastID is the highest id of after, trades and rejected rows.
func lastID(after int64, trades []market.Trade, rejected []kraken.Rejected) int64 {
	if n := len(trades); n > 0 {
		after = max(after, trades[n-1].TradeID)
	}
	for _, rj := range rejected {
		after = max(after, rj.TradeID)
	}
	return after
}

func (r *repairer) logOutcome(j *repairJob, ok bool, attempts int, err error) {
	g := j.gap
	if ok {
		r.log.Info("kraken_trades: gap repaired from REST", "pair", g.Pair, "kind", g.Kind, "from_id", g.FromID, "to_id", max(g.ToID, j.until), "attempts", attempts)
		return
	}
	r.mFailed.Incr(1)
	r.log.Warn("kraken_trades: gap repair gave up; the gap stays reported", "pair", g.Pair, "kind", g.Kind,
		"from_id", g.FromID, "to_id", max(g.ToID, j.until), "attempts", attempts, "err", err)
}

// freshRepairs keeps the trades of got with ids above after and within the
// job, in id order, each once, labelled with the WebSocket's pair name and
// the REST source.
func freshRepairs(j *repairJob, got []market.Trade, after int64) []market.Trade {
	hi := j.gap.ToID
	if j.gap.Kind == GapStart {
		hi = j.until
	}
	var out []market.Trade
	for _, t := range got {
		if t.TradeID <= after || t.TradeID > hi {
			continue
		}
		t.Pair, t.Source = j.gap.Pair, market.SourceKrakenREST
		out, after = append(out, t), t.TradeID
	}
	return out
}

// freshRejected keeps the rejected rows with ids above after and within
// the job (and those whose id could not be read).
func freshRejected(j *repairJob, rejected []kraken.Rejected, after int64) []kraken.Rejected {
	hi := j.gap.ToID
	if j.gap.Kind == GapStart {
		hi = j.until
	}
	return slices.DeleteFunc(rejected, func(rj kraken.Rejected) bool {
		return rj.TradeID != 0 && (rj.TradeID <= after || rj.TradeID > hi)
	})
}
