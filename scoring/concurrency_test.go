package scoring

import (
	"sync"
	"sync/atomic"
	"testing"
)

// TestConcurrent records the same predictions from many goroutines while
// rows are observed and scores, recent rows and flushes are read, as the API
// does; run it with -race. Each minute's predictions target a later row, so
// the outcome is deterministic whatever the interleaving.
func TestConcurrent(t *testing.T) {
	const (
		minutes    = 200
		goroutines = 16
		repeats    = 4
	)
	pairs := []struct{ slug, pair string }{{"ETH-USDT", "ETH/USDT"}, {"BTC-USD", "BTC/USD"}}
	horizons := []int{1, 5}
	s := newScorer(t, Config{Dir: t.TempDir(), Window: 30})

	stop := make(chan struct{})
	var reads atomic.Int64
	var bg sync.WaitGroup
	bg.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			_ = s.Scores()
			_ = s.Recent("ETH-USDT", 1, 10)
			if err := s.Flush(t.Context()); err != nil {
				t.Error(err)
				return
			}
			reads.Add(1)
		}
	})
	for m := range minutes {
		var wg sync.WaitGroup
		for range goroutines {
			wg.Go(func() {
				for range repeats {
					for _, p := range pairs {
						for _, h := range horizons {
							s.Record(pred(p.slug, h, m, 100+float64(m), 0.001, 1))
						}
					}
				}
			})
		}
		for _, p := range pairs {
			s.Observe(row(p.pair, m, 100+float64(m)))
		}
		wg.Wait()
	}
	for m := minutes; m < minutes+ExpireAfter+10; m++ {
		for _, p := range pairs {
			s.Observe(row(p.pair, m, 100+float64(m)))
		}
	}
	close(stop)
	bg.Wait()
	if err := s.Flush(t.Context()); err != nil {
		t.Fatal(err)
	}
	t.Logf("%d background flush/read rounds", reads.Load())

	rows, err := ReadScored(s.cfg.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if want := len(pairs) * len(horizons) * minutes; len(rows) != want {
		t.Fatalf("read %d rows, want %d", len(rows), want)
	}
	for _, r := range rows {
		if r.Served != goroutines*repeats || r.RealizedPrice == nil {
			t.Fatalf("row %+v: want served %d and scored", r, goroutines*repeats)
		}
	}
	scores := s.Scores()
	if len(scores) != len(pairs)*len(horizons) {
		t.Fatalf("scores = %+v", scores)
	}
	for _, sc := range scores {
		if sc.N != 30 {
			t.Errorf("%s h%d: N = %d, want 30", sc.Pair, sc.Horizon, sc.N)
		}
	}
	if n := s.live(); n != 0 {
		t.Errorf("live after everything expired = %d", n)
	}
}
