package predict

import (
	"context"
	"testing"

	"github.com/tickcast/tickcast/market"
)

// benchService serves a real XGBoost model (trained on real ETH/USDT
// features) over a real warm feature row.
func benchService(b *testing.B, cache Cache) *Service {
	b.Helper()
	_, art := artifacts(b)
	reg := openRegistry(b)
	registerChampion(b, reg, ethPair, 1, art)
	row := warmRow(b, 0)
	return newService(b, Config{Registry: reg, Features: newLatest(row), Clock: &testClock{now: row.TS}, Cache: cache, NoNearCache: true})
}

func BenchmarkPredictCached(b *testing.B) {
	for _, bc := range []struct {
		name  string
		cache func() Cache
	}{
		{"memory", func() Cache { return NewMemoryCache() }},
		{"json", func() Cache { return &recordingCache{MemoryCache: NewMemoryCache()} }}, // the interface path, as Redis takes
	} {
		b.Run(bc.name, func(b *testing.B) {
			s := benchService(b, bc.cache())
			ctx := context.Background()
			if _, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			for b.Loop() {
				p, err := s.Predict(ctx, "ETH-USDT", 1, Options{})
				if err != nil || !p.Cached {
					b.Fatalf("%+v, %v", p, err)
				}
			}
		})
	}
}

func BenchmarkPredictCachedParallel(b *testing.B) {
	s := benchService(b, nil)
	ctx := context.Background()
	if _, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := s.Predict(ctx, "ETH-USDT", 1, Options{}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkPredictUncached(b *testing.B) {
	s := benchService(b, nil)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		p, err := s.Predict(ctx, "ETH-USDT", 1, Options{NoCache: true})
		if err != nil || p.Cached {
			b.Fatalf("%+v, %v", p, err)
		}
	}
}

// BenchmarkPredictDense is the floor of an uncached prediction: the
// booster call alone on the same row.
func BenchmarkPredictDense(b *testing.B) {
	s := benchService(b, nil)
	m := s.champs.Load().models[modelKey{seriesKey{ethPair, 1}, ""}]
	row := warmRow(b, 0)
	x := make([]float32, market.NumFeatures)
	for i, v := range row.Values {
		x[i] = float32(v)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.booster.PredictDense(x, 1, market.NumFeatures); err != nil {
			b.Fatal(err)
		}
	}
}
