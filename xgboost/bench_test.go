package xgboost

import (
	"runtime"
	"strconv"
	"testing"
)

// benchModel trains the model the prediction benchmarks use: 20 lagged real
// ETH/USDT returns, 200 rounds of depth 6.
func benchModel(b *testing.B, nthread string) (*Booster, dataset) {
	b.Helper()
	d := lagged(loadCloses(b, 20021), 20)
	p := testParams("hist")
	p["max_depth"] = "6"
	p["nthread"] = nthread
	bst, _, err := Train(p, d.matrix(b), TrainOptions{Rounds: 200})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { bst.Close() })
	return bst, d
}

// BenchmarkPredictOne is the serving hot path: one feature row in, one
// prediction out, through a temporary matrix (PredictDense).
func BenchmarkPredictOne(b *testing.B) {
	bst, d := benchModel(b, "1")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := i % d.Rows
		if _, err := bst.PredictDense(d.X[r*d.Cols:(r+1)*d.Cols], 1, d.Cols); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkPredictOneMatrix is the same through a one-row DMatrix (Predict):
// the path PredictDense avoids.
func BenchmarkPredictOneMatrix(b *testing.B) {
	bst, d := benchModel(b, "1")
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		r := i % d.Rows
		m, err := NewMatrix(d.X[r*d.Cols:(r+1)*d.Cols], 1, d.Cols, nan32())
		if err != nil {
			b.Fatal(err)
		}
		if _, err := bst.Predict(m); err != nil {
			b.Fatal(err)
		}
		m.Close()
	}
}

// BenchmarkPredictOneParallel runs the hot path from GOMAXPROCS goroutines
// on one booster.
func BenchmarkPredictOneParallel(b *testing.B) {
	bst, d := benchModel(b, "1")
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for i := 0; pb.Next(); i++ {
			r := i % d.Rows
			if _, err := bst.PredictDense(d.X[r*d.Cols:(r+1)*d.Cols], 1, d.Cols); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkPredictBatch predicts 20,000 rows at once with every core.
// (Predict on a Matrix already predicted is served from XGBoost's
// per-matrix cache, so it would not measure prediction.)
func BenchmarkPredictBatch(b *testing.B) {
	bst, d := benchModel(b, "0")
	b.ResetTimer()
	for b.Loop() {
		if _, err := bst.PredictDense(d.X, d.Rows, d.Cols); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*d.Rows), "ns/row")
}

// BenchmarkTrain fits 20,000 real rows × 20 features for 200 rounds (hist,
// depth 6) with one thread and with every core.
func BenchmarkTrain(b *testing.B) {
	d := lagged(loadCloses(b, 20021), 20)
	if d.Rows != 20000 || d.Cols != 20 {
		b.Fatalf("%d×%d", d.Rows, d.Cols)
	}
	m := d.matrix(b)
	for _, nthread := range []int{1, runtime.NumCPU()} {
		b.Run("nthread="+strconv.Itoa(nthread), func(b *testing.B) {
			p := testParams("hist")
			p["max_depth"] = "6"
			p["nthread"] = strconv.Itoa(nthread)
			for b.Loop() {
				bst, _, err := Train(p, m, TrainOptions{Rounds: 200})
				if err != nil {
					b.Fatal(err)
				}
				bst.Close()
			}
		})
	}
}
