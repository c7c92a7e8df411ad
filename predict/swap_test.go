package predict

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

// TestHotSwapUnderLoad flips the champion between two real boosters while
// many goroutines predict: no request may fail, both versions must answer,
// each with its own model's value, and every swapped-out booster must end
// up closed.
func TestHotSwapUnderLoad(t *testing.T) {
	artA, artB := artifacts(t)
	reg := openRegistry(t)
	ctx := context.Background()
	vA := registerChampion(t, reg, ethPair, 1, artA).Version
	vB := registerChampion(t, reg, ethPair, 1, artB).Version
	if err := reg.SetAlias(ctx, ethPair, 1, registry.Champion, vA, "test"); err != nil {
		t.Fatal(err)
	}
	row := warmRow(t, 0)
	want := map[int]float64{vA: directPredict(t, artA, row), vB: directPredict(t, artB, row)}
	if want[vA] == want[vB] {
		t.Fatalf("the two models agree (%g): the test could not tell them apart", want[vA])
	}
	s := newService(t, Config{Registry: reg, Features: newLatest(row), Clock: &testClock{now: row.TS}})

	var (
		stop     atomic.Bool
		requests atomic.Int64
		mu       sync.Mutex
		seen     = map[int]int{}
		failures []error
		wg       sync.WaitGroup
	)
	for g := range 8 {
		wg.Go(func() {
			o := Options{NoCache: g%4 != 0} // most bypass the cache: the booster is used
			for !stop.Load() {
				p, err := s.Predict(ctx, "ETH-USDT", 1, o)
				requests.Add(1)
				if err == nil && p.PredictedReturn != want[p.Model.Version] {
					err = errors.New("prediction of the wrong model")
				}
				mu.Lock()
				if err != nil {
					failures = append(failures, err)
				} else {
					seen[p.Model.Version]++
				}
				mu.Unlock()
			}
		})
	}
	var models []*model // every model that served, to check they get closed
	var refreshing time.Duration
	flips := 12
	if testing.Short() {
		flips = 6
	}
	for i := range flips {
		v := vB
		if i%2 == 1 {
			v = vA
		}
		if err := reg.SetAlias(ctx, ethPair, 1, registry.Champion, v, "flip"); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		if err := s.Refresh(ctx); err != nil {
			t.Fatal(err)
		}
		refreshing += time.Since(start)
		m := s.champs.Load().models[modelKey{seriesKey{ethPair, 1}, ""}]
		if m.meta.Version != v {
			t.Fatalf("after refresh the champion is v%d, want v%d", m.meta.Version, v)
		}
		models = append(models, m)
		time.Sleep(5 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if len(failures) > 0 {
		t.Fatalf("%d of %d requests failed during %d swaps; first: %v", len(failures), requests.Load(), flips, failures[0])
	}
	if seen[vA] == 0 || seen[vB] == 0 {
		t.Fatalf("versions answering: %v; want both", seen)
	}
	t.Logf("%d requests, %d swaps (refresh %s each), answers by version %v", requests.Load(), flips, refreshing/time.Duration(flips), seen)

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	x := make([]float32, market.NumFeatures)
	for _, m := range models {
		if n := m.refs.Load(); n != 0 {
			t.Errorf("v%d holds %d references after Close", m.meta.Version, n)
		}
		if _, err := m.booster.PredictDense(x, 1, market.NumFeatures); !errors.Is(err, xgboost.ErrClosed) {
			t.Errorf("v%d booster not closed: %v", m.meta.Version, err)
		}
	}
	if _, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); CodeOf(err) != CodeNotReady {
		t.Errorf("after Close: %v", err)
	}
	if err := s.Refresh(ctx); err == nil {
		t.Error("Refresh after Close succeeded")
	}
}

// TestRefresh: unchanged champions are not reloaded, a champion that fails
// to load leaves its predecessor serving, and Watch picks changes up.
func TestRefresh(t *testing.T) {
	artA, _ := artifacts(t)
	reg := openRegistry(t)
	ctx := context.Background()
	vA := registerChampion(t, reg, ethPair, 1, artA).Version
	row := warmRow(t, 0)
	s := newService(t, Config{Registry: reg, Features: newLatest(row), Clock: &testClock{now: row.TS}})
	first := s.champs.Load()
	if err := s.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if s.champs.Load() != first {
		t.Error("a refresh without changes swapped the set")
	}

	// A corrupt artifact: the registry accepts any bytes, XGBoost does not.
	bad, err := reg.Register(ctx, registry.Meta{Pair: ethPair, Horizon: 1, Name: "xgboost"}, []byte("not a model"))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetAlias(ctx, ethPair, 1, registry.Champion, bad.Version, "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(ctx); err == nil {
		t.Error("Refresh loaded a corrupt model without an error")
	}
	if p, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil || p.Model.Version != vA {
		t.Errorf("after a failed load: %+v, %v; want v%d serving", p, err, vA)
	}

	// A model of another feature schema is refused the same way.
	other, err := reg.Register(ctx, registry.Meta{Pair: ethPair, Horizon: 1, Name: "xgboost", FeatureSchemaVersion: market.FeatureSchemaVersion + 1}, artA)
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetAlias(ctx, ethPair, 1, registry.Champion, other.Version, "test"); err != nil {
		t.Fatal(err)
	}
	if err := s.Refresh(ctx); err == nil {
		t.Error("Refresh loaded a model of another schema")
	}

	// Rollback to the baseline, as the API does, takes effect on Watch.
	wctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { s.Watch(wctx, 5*time.Millisecond); close(done) }()
	if err := reg.SetAlias(ctx, ethPair, 1, registry.Champion, 0, "test"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		p, err := s.Predict(ctx, "ETH-USDT", 1, Options{})
		if err == nil && p.Model.Name == registry.BaselineName {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("Watch did not pick up the baseline: %+v, %v", p, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
	cancel()
	<-done
}
