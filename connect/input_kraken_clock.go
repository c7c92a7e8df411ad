package connect

import (
	"cmp"
	"context"
	"github.com/tickcast/tickcast/internal/datadir"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/kraken"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// exchangeEvery is how often a replay's exchange clock is sampled again.
const exchangeEvery = 10 * time.Minute

// exchangeClock is the exchange's clock as its REST Time says, what trades
// are checked against at the door. Live (speed 1) it is the host clock
// corrected by kraken.ClockOffset; at another speed (a replay through a
// fake exchange) it extrapolates the last sample at that speed.
type exchangeClock struct {
	mu      sync.Mutex
	offset  *kraken.ClockOffset // speed 1
	sampled market.EventClock   // other speeds: the last sample, run at the speed
	skew    time.Duration       // the last sample's exchange time minus host time
}

// prime takes the first sample before the stream starts (at most a few
// seconds), so that the first trades are checked against the exchange's
// clock; run goes on sampling. speed <= 0 (as fast as possible) has no
// clock but the trades.
func (c *exchangeClock) prime(ctx context.Context, rest *kraken.REST, speed float64, log *slog.Logger) {
	if speed <= 0 {
		return
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	if speed != 1 {
		c.sample(ctx, rest, speed, log)
		return
	}
	off := kraken.NewClockOffset(rest, 0, log)
	if err := off.Sample(ctx); err != nil {
		log.Warn("kraken_trades: Kraken's clock not sampled yet; trades are checked against the host clock", "err", err)
	}
	c.mu.Lock()
	c.offset = off
	c.mu.Unlock()
}

// run samples the exchange clock until ctx ends, exporting the offset.
func (c *exchangeClock) run(ctx context.Context, rest *kraken.REST, speed float64, log *slog.Logger, gauge *service.MetricGauge) {
	if speed <= 0 {
		return
	}
	c.mu.Lock()
	off := c.offset
	c.mu.Unlock()
	if off != nil {
		go func() { _ = off.Run(ctx) }()
	}
	tick := time.NewTicker(10 * time.Second)
	defer tick.Stop()
	for next := time.Now().Add(exchangeEvery); ; {
		if off == nil && !time.Now().Before(next) {
			c.sample(ctx, rest, speed, log)
			next = time.Now().Add(exchangeEvery)
		}
		if d, ok := c.offsetNow(); ok && gauge != nil {
			gauge.Set(d.Milliseconds())
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

func (c *exchangeClock) sample(ctx context.Context, rest *kraken.REST, speed float64, log *slog.Logger) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	sent := time.Now()
	ex, err := rest.Time(ctx)
	if err != nil {
		log.Warn("kraken_trades: exchange clock not sampled; trades are checked against the stream clock", "err", err)
		return
	}
	mid := sent.Add(time.Since(sent) / 2)
	ex = ex.Add(500 * time.Millisecond) // unixtime is truncated to the second
	c.mu.Lock()
	defer c.mu.Unlock()
	c.sampled = market.EventClock{Speed: speed} // a new sample replaces the old, even an earlier one
	c.sampled.Observe(ex, mid)
	c.skew = ex.Sub(mid)
}

func (c *exchangeClock) offsetNow() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offset != nil {
		return c.offset.Offset()
	}
	_, ok := c.sampled.Now(time.Time{})
	return c.skew, ok
}

// now is the exchange clock at host time wall, false while unknown.
func (c *exchangeClock) now(wall time.Time) (time.Time, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.offset != nil {
		d, _ := c.offset.Offset() // the host clock itself until sampled
		return wall.Add(d), true
	}
	return c.sampled.Now(wall)
}

// resumeMarks returns, per pair, the newest trade of the store under
// dataDir: where a restart resumes. Pairs without stored trades are
// absent; an empty dataDir gives none.
func resumeMarks(dataDir string, pairs []string) (map[string]kraken.Mark, error) {
	if dataDir == "" {
		return nil, nil
	}
	out := map[string]kraken.Mark{}
	root := datadir.Parquet(dataDir)
	for _, p := range pairs {
		parts, err := parquet.Partitions(root, parquet.DatasetTrades, p, time.Time{}, time.Time{})
		if err != nil || len(parts) == 0 {
			if err != nil {
				return out, err
			}
			continue
		}
		// The newest readable day: a corrupt one is skipped (the next write
		// quarantines it), so the restart refetches from an older trade.
		var trades []market.Trade
		rd := &parquet.Reader{Root: root, SkipCorrupt: true}
		for i := len(parts) - 1; i >= 0 && len(trades) == 0 && i >= len(parts)-3; i-- {
			day := parts[i].Day
			if trades, err = rd.Trades(p, day, day.AddDate(0, 0, 1)); err != nil {
				return out, err
			}
		}
		if len(trades) == 0 {
			continue
		}
		last := slices.MaxFunc(trades, func(a, b market.Trade) int {
			return cmp.Or(a.TS.Compare(b.TS), cmp.Compare(a.TradeID, b.TradeID))
		})
		out[p] = kraken.Mark{ID: last.TradeID, TS: last.TS, Price: last.Price}
	}
	return out, nil
}
