package connect

import (
	"context"
	"math/rand/v2"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

func TestStoreFence(t *testing.T) {
	f := storeFence{dir: t.TempDir()}
	wrote := 0
	write := func() error { wrote++; return nil }
	for _, step := range []struct {
		gen  int64
		ok   bool
		held int64
	}{
		{3, true, 3}, {3, true, 3}, {5, true, 5}, {4, false, 5}, {0, false, 5}, {5, true, 5}, {9, true, 9},
	} {
		ok, held, err := f.admit("BTC/USD", step.gen, write)
		if err != nil || ok != step.ok || held != step.held {
			t.Errorf("admit gen %d = %v, %d, %v; want %v, %d", step.gen, ok, held, err, step.ok, step.held)
		}
	}
	if wrote != 5 {
		t.Errorf("%d writes ran, want 5 (stale ones never)", wrote)
	}
	if ok, _, _ := f.admit("ETH/USD", 1, write); !ok {
		t.Error("another pair's fence is its own")
	}
}

// Concurrent writers of one pair: the writes that run do so in
// non-decreasing generation order, and the newest generation always wins.
func TestStoreFenceConcurrent(t *testing.T) {
	f := storeFence{dir: t.TempDir()}
	var (
		mu   sync.Mutex
		runs []int64
		wg   sync.WaitGroup
	)
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := rand.New(rand.NewPCG(uint64(w), 1))
			for range 50 {
				gen := r.Int64N(40)
				_, _, err := f.admit("BTC/USD", gen, func() error {
					mu.Lock()
					runs = append(runs, gen)
					mu.Unlock()
					return nil
				})
				if err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if !slices.IsSorted(runs) {
		t.Errorf("writes ran out of generation order: %v", runs)
	}
	if held, _ := readFence(filepath.Join(f.dir, "BTC-USD.json")); held != slices.Max(runs) {
		t.Errorf("fence %d, want %d", held, slices.Max(runs))
	}
	t.Logf("%d of 400 writes ran", len(runs))
}

// A stale replica's late rows are refused; the new owner's stay.
func TestFencedWriterStaleReplica(t *testing.T) {
	dir := t.TempDir()
	root := datadir.Parquet(dir)
	newer := newFencedWriter(root, parquet.Options{}, service.MockResources())
	stale := newFencedWriter(root, parquet.Options{}, service.MockResources())
	start := time.Date(2019, 7, 1, 0, 0, 0, 0, time.UTC)
	candle := func(close float64, gen int64) service.MessageBatch {
		c := market.Candle{Pair: "BTC/USD", Start: start, End: start.Add(time.Minute), Open: 1, High: close, Low: 1, Close: close, Volume: 1, Trades: 1, Complete: true}
		m := newRecord(KindCandle, c.Pair, wire.AppendJSON(nil, c), c)
		m.MetaSetMut(MetaKafkaGeneration, gen)
		return service.MessageBatch{m}
	}
	keep := map[string]bool{KindCandle: true, KindFeature: true}
	skip := func(kind string, err error) { t.Errorf("skipped %s: %v", kind, err) }
	newer.add(candle(2, 7), keep, skip)
	stale.add(candle(3, 6), keep, skip) // buffered before it lost the pair, flushed late
	ctx := context.Background()
	if err := newer.flush(ctx); err != nil {
		t.Fatal(err)
	}
	if err := stale.flush(ctx); err != nil {
		t.Fatal(err)
	}
	cs, err := parquet.ReadCandles(root, "BTC/USD", time.Time{}, time.Time{})
	if err != nil || len(cs) != 1 || cs[0].Close != 2 {
		t.Fatalf("stored %+v, %v; want the generation-7 candle (close 2)", cs, err)
	}
	if stale.buffered() != 0 {
		t.Error("refused rows stay buffered")
	}
	noGen := candle(4, 0)
	noGen[0].MetaDelete(MetaKafkaGeneration)
	skipped := 0
	stale.add(noGen, keep, func(string, error) { skipped++ })
	if skipped != 1 {
		t.Error("a row without kafka_generation is not refused")
	}
}
