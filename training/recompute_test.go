package training_test

import (
	"compress/gzip"
	"encoding/csv"
	"encoding/json"
	"io"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/training/trainingtest"
)

// TestReportRecomputedFromSource checks a real run's report against an
// independent recomputation that shares no code with training: the labels
// of test_predictions.csv from the raw Binance kline closes (read here with
// encoding/csv, not the archive package), and the model's figures in
// metrics.json from the CSV's columns with plain loops.
func TestReportRecomputedFromSource(t *testing.T) {
	if testing.Short() {
		t.Skip("trains two real runs: not in -short")
	}
	dir := t.TempDir()
	ids := trainingtest.Runs(t, dir)
	if len(ids) == 0 {
		t.Fatal("no run")
	}
	closes := rawCloses(t, realdata.Path(t, realdata.BinanceETH90d))
	report := filepath.Join(dir, "reports", "ETH-USDT", "h1", trainingtest.RunKeys[len(trainingtest.RunKeys)-1])
	rows := readRows(t, filepath.Join(report, "test_predictions.csv"))
	var m recomputedMetrics
	b, err := os.ReadFile(filepath.Join(report, "metrics.json"))
	if err == nil {
		err = json.Unmarshal(b, &m)
	}
	if err != nil {
		t.Fatal(err)
	}

	const h = 1
	var retAE, zeroAE, volAE, brier, pinball float64
	var nVol, nDir, nBand, inBand int
	for _, r := range rows {
		c0, ok0 := closes[r.ts.Unix()]
		c1, ok1 := closes[r.ts.Add(h*time.Minute).Unix()]
		if !ok0 || !ok1 {
			t.Fatalf("%s: no raw close at the as-of or label candle", r.ts)
		}
		ret := math.Log(c1 / c0)
		if r.lastPrice != c0 || !near(r.realizedReturn, ret) {
			t.Fatalf("%s: last price %v, realized return %v; raw closes give %v, %v", r.ts, r.lastPrice, r.realizedReturn, c0, ret)
		}
		retAE += math.Abs(r.predictedReturn - ret)
		zeroAE += math.Abs(ret)
		if !math.IsNaN(r.realizedVol) {
			// √Σr² over one return; training sums squared returns by prefix
			// differences, whose rounding reaches ~1e-19 in r² (1e-9 of a
			// 1e-5 move): compared to that absolute bound.
			if math.Abs(r.realizedVol*r.realizedVol-ret*ret) > 1e-18 {
				t.Fatalf("%s: realized vol %v, raw |r| %v", r.ts, r.realizedVol, math.Abs(ret))
			}
			volAE += math.Abs(r.predictedVol - r.realizedVol)
			nVol++
		}
		if !math.IsNaN(r.q10) {
			levels := [3]float64{0.1, 0.5, 0.9}
			for i, q := range [3]float64{r.q10, r.q50, r.q90} {
				pinball += max(levels[i]*(ret-q), (levels[i]-1)*(ret-q)) / 3
			}
			nBand++
			if r.q10 <= ret && ret <= r.q90 {
				inBand++
			}
		}
		if !math.IsNaN(r.pUp) && c1 != c0 {
			up := 0.0
			if c1 > c0 {
				up = 1
			}
			brier += (r.pUp - up) * (r.pUp - up)
			nDir++
		}
	}
	n := float64(len(rows))
	checks := []struct {
		name      string
		got, want float64
	}{
		{"return MAE", retAE / n, m.Metrics.Model.MAE},
		{"return skill vs zero-return", 1 - retAE/zeroAE, m.Metrics.Model.Skill},
		{"zero-return MAE", zeroAE / n, m.Metrics.Baselines["zero-return"].MAE},
		{"vol MAE", volAE / float64(nVol), m.Products.Vol.Model.MAE},
		{"quantiles mean pinball", pinball / float64(nBand), m.Products.Quantiles.Model.Pinball},
		{"p_up Brier on moved closes", brier / float64(nDir), m.Products.PUp.Model.Brier},
	}
	for _, c := range checks {
		if !near(c.got, c.want) {
			t.Errorf("%s: recomputed %v, metrics.json %v", c.name, c.got, c.want)
		}
	}
	if cov := float64(inBand) / float64(nBand); math.Abs(cov-m.Products.Quantiles.Model.Coverage) > 1/float64(nBand) {
		t.Errorf("band coverage: recomputed %v, metrics.json %v", cov, m.Products.Quantiles.Model.Coverage)
	}
	if nVol != m.Products.Vol.Rows || len(rows) != m.TestRows {
		t.Errorf("rows: %d with vol (metrics %d), %d in the CSV (metrics %d)", nVol, m.Products.Vol.Rows, len(rows), m.TestRows)
	}
	t.Logf("%d test rows recomputed from the raw closes: return MAE %.4g, vol MAE %.4g, pinball %.4g, Brier %.4f over %d moved closes",
		len(rows), retAE/n, volAE/float64(nVol), pinball/float64(nBand), brier/float64(nDir), nDir)
}

type recomputedMetrics struct {
	TestRows int `json:"test_rows"`
	Metrics  struct {
		Model struct {
			MAE   float64 `json:"mae"`
			Skill float64 `json:"skill"`
		} `json:"model"`
		Baselines map[string]struct {
			MAE float64 `json:"mae"`
		} `json:"baselines"`
	} `json:"metrics"`
	Products struct {
		Vol struct {
			Rows  int `json:"rows"`
			Model struct {
				MAE float64 `json:"mae"`
			} `json:"model"`
		} `json:"vol"`
		Quantiles struct {
			Model struct {
				Pinball  float64 `json:"pinball"`
				Coverage float64 `json:"coverage"`
			} `json:"model"`
		} `json:"quantiles"`
		PUp struct {
			Model struct {
				Brier float64 `json:"brier"`
			} `json:"model"`
		} `json:"p_up"`
	} `json:"products"`
}

type predRow struct {
	ts                                            time.Time
	lastPrice, realizedReturn, predictedReturn    float64
	realizedVol, predictedVol, q10, q50, q90, pUp float64
}

// readRows parses test_predictions.csv; an empty cell reads as NaN.
func readRows(t *testing.T, path string) []predRow {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil || len(recs) < 2 {
		t.Fatalf("%s: %d records, %v", path, len(recs), err)
	}
	num := func(s string) float64 {
		if s == "" {
			return math.NaN()
		}
		v, err := strconv.ParseFloat(s, 64)
		if err != nil {
			t.Fatalf("%s: %q: %v", path, s, err)
		}
		return v
	}
	out := make([]predRow, 0, len(recs)-1)
	for _, r := range recs[1:] {
		ts, err := time.Parse(time.RFC3339, r[0])
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, predRow{ts: ts, lastPrice: num(r[3]), realizedReturn: num(r[4]), predictedReturn: num(r[5]),
			realizedVol: num(r[6]), predictedVol: num(r[7]), q10: num(r[8]), q50: num(r[9]), q90: num(r[10]), pUp: num(r[11])})
	}
	return out
}

// rawCloses maps each kline's close time (open time + 1 minute, Unix
// seconds) to its close, straight from the gzip CSV.
func rawCloses(t *testing.T, path string) map[int64]float64 {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	r := csv.NewReader(gz)
	if _, err := r.Read(); err != nil { // open_time_ms,open,high,low,close,volume
		t.Fatal(err)
	}
	out := make(map[int64]float64)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		ms, err1 := strconv.ParseInt(rec[0], 10, 64)
		c, err2 := strconv.ParseFloat(rec[4], 64)
		if err1 != nil || err2 != nil {
			t.Fatalf("kline %v", rec)
		}
		out[ms/1000+60] = c
	}
}

func near(a, b float64) bool { return math.Abs(a-b) <= 1e-9*max(math.Abs(a), math.Abs(b), 1e-12) }
