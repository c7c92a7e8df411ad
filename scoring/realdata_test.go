package scoring

import (
	"bufio"
	"bytes"
	"math"
	"slices"
	"testing"
	"time"

	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
)

const binanceETH = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"

// realRows returns feature rows of real Binance ETH/USDT minutes: the first
// 14 days (3 under -short). A gap in the file restarts the features.
func realRows(t *testing.T) []market.FeatureRow {
	t.Helper()
	days := 14
	if testing.Short() {
		days = 3
	}
	cs, err := headCandles(realdata.Path(t, binanceETH), days*1440)
	if err != nil {
		t.Fatal(err)
	}
	f := market.NewFeatures()
	rows := make([]market.FeatureRow, 0, len(cs))
	for _, c := range cs {
		r, err := f.Update(c)
		if err != nil { // a gap: start the pair again
			f.Reset(c.Pair)
			if r, err = f.Update(c); err != nil {
				t.Fatal(err)
			}
		}
		rows = append(rows, r)
	}
	return rows
}

// headCandles parses the first n bars of a Binance kline file.
func headCandles(path string, n int) ([]market.Candle, error) {
	rc, err := archive.Open(path)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	var head bytes.Buffer
	sc := bufio.NewScanner(rc)
	for i := 0; i <= n && sc.Scan(); i++ { // the header, then n bars
		head.Write(sc.Bytes())
		head.WriteByte('\n')
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	return archive.ParseCandles(&head, archive.BinanceKlines, "ETH/USDT", time.Minute)
}

// rule is a simple predictor standing in for a model.
type rule struct {
	model   predict.ModelRef
	predict func(r market.FeatureRow, h int) float64
}

var rules = []rule{
	{predict.ModelRef{Name: "zero_return", Version: 0}, func(market.FeatureRow, int) float64 { return 0 }},
	// EMA drift: the close's deviation from its EMA(12), whose mean lag is
	// 5.5 candles, continued h candles.
	{predict.ModelRef{Name: "ema_drift", Version: 1}, func(r market.FeatureRow, h int) float64 {
		return r.Values[market.FEMA12Dev] * float64(h) / 5.5
	}},
}

// TestRealData scores two rules over real minutes and checks the rolling
// and the persisted MAEs against a direct computation from the rows.
func TestRealData(t *testing.T) {
	rows := realRows(t)
	horizons := []int{1, 5, 15}
	closeAt := make(map[time.Time]float64, len(rows))
	for _, r := range rows {
		closeAt[r.TS] = r.Close
	}
	last := rows[len(rows)-1].TS
	baselines := map[int]float64{}
	for _, ru := range rules {
		dir := t.TempDir()
		s := newScorer(t, Config{Dir: dir})
		var preds []predict.Prediction
		for _, r := range rows {
			s.Observe(r)
			if !r.Warm {
				continue
			}
			for _, h := range horizons {
				p := predictionOf(r, h, ru)
				s.Record(p)
				s.Record(p) // served twice
				preds = append(preds, p)
			}
		}
		if err := s.Flush(t.Context()); err != nil {
			t.Fatal(err)
		}
		got := s.Scores()
		if len(got) != len(horizons) {
			t.Fatalf("%s: %d scores, want %d", ru.model.Name, len(got), len(horizons))
		}
		for i, h := range horizons {
			sc := got[i]
			mae, base, n := directMAE(preds, closeAt, h, 60)
			t.Logf("%s h%d: MAE %.6g, baseline %.6g, skill %.4f over %d", ru.model.Name, h, sc.MAE, sc.BaselineMAE, sc.Skill, sc.N)
			if sc.Horizon != h || sc.N != n || !closeTo(sc.MAE, mae) || !closeTo(sc.BaselineMAE, base) || sc.Model != ru.model {
				t.Errorf("%s h%d: score %+v, want N %d MAE %g baseline %g", ru.model.Name, h, sc, n, mae, base)
			}
			if ru.model.Name == "zero_return" && (sc.MAE != sc.BaselineMAE || sc.Skill != 0) {
				t.Errorf("zero_return h%d: MAE %g ≠ baseline %g or skill %g ≠ 0", h, sc.MAE, sc.BaselineMAE, sc.Skill)
			}
			if b, ok := baselines[h]; ok && b != sc.BaselineMAE {
				t.Errorf("%s h%d: baseline MAE %g differs across rules (%g)", ru.model.Name, h, sc.BaselineMAE, b)
			}
			baselines[h] = sc.BaselineMAE
		}
		checkPersisted(t, dir, preds, closeAt, last)
	}
}

func predictionOf(r market.FeatureRow, h int, ru rule) predict.Prediction {
	ret := ru.predict(r, h)
	return predict.Prediction{
		Pair: market.PairSlug(r.Pair), AsOf: r.TS, Horizon: h, TargetTime: r.TS.Add(time.Duration(h) * time.Minute),
		PredictedReturn: ret, PredictedPrice: r.Close * math.Exp(ret), LastPrice: r.Close, Model: ru.model,
	}
}

// directMAE is the MAE of the last `window` predictions of horizon h that
// have a realized close, by target time.
func directMAE(preds []predict.Prediction, closeAt map[time.Time]float64, h, window int) (mae, base float64, n int) {
	var errs, bases []float64
	for _, p := range preds {
		c, ok := closeAt[p.TargetTime]
		if p.Horizon != h || !ok {
			continue
		}
		r := math.Log(c / p.LastPrice)
		errs = append(errs, math.Abs(p.PredictedReturn-r))
		bases = append(bases, math.Abs(r))
	}
	errs, bases = errs[max(0, len(errs)-window):], bases[max(0, len(bases)-window):]
	for i := range errs {
		mae += errs[i]
		base += bases[i]
	}
	return mae / float64(len(errs)), base / float64(len(errs)), len(errs)
}

// checkPersisted: the files hold every prediction with a realized close,
// with its direct error, and those whose target fell in a gap long enough
// ago, unscored.
func checkPersisted(t *testing.T, dir string, preds []predict.Prediction, closeAt map[time.Time]float64, last time.Time) {
	t.Helper()
	rows, err := ReadScored(dir)
	if err != nil {
		t.Fatal(err)
	}
	var wantScored, wantExpired, gotScored, gotExpired int
	for _, p := range preds {
		if _, ok := closeAt[p.TargetTime]; ok {
			wantScored++
		} else if p.TargetTime.Add(ExpireAfter * time.Minute).Before(last) {
			wantExpired++
		}
	}
	for _, r := range rows {
		if r.Served != 2 {
			t.Fatalf("row %+v: served %d, want 2", r.Prediction, r.Served)
		}
		if r.AbsError == nil {
			gotExpired++
			continue
		}
		gotScored++
		want := math.Abs(r.PredictedReturn - math.Log(closeAt[r.TargetTime]/r.LastPrice))
		if !closeTo(*r.AbsError, want) {
			t.Fatalf("row %+v: abs error %g, want %g", r.Prediction, *r.AbsError, want)
		}
	}
	if gotScored != wantScored || gotExpired != wantExpired {
		t.Errorf("persisted %d scored, %d expired; want %d, %d", gotScored, gotExpired, wantScored, wantExpired)
	}
	if !slices.IsSortedFunc(rows, func(a, b Scored) int { return a.AsOf.Compare(b.AsOf) }) {
		t.Error("ReadScored rows are not sorted by as_of")
	}
}

func closeTo(a, b float64) bool { return math.Abs(a-b) <= 1e-12*math.Max(1, math.Abs(b)) }
