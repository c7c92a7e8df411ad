package ml

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

func TestWalkForwardHandWorked(t *testing.T) {
	// Hand-worked: n = 40, h = 2, so a range may start at b only when
	// b ≥ (last row of the previous range) + 2h: 3 rows are purged.
	// Final: test = last 8 rows [32,40); valid = 4 rows ending before 32−3;
	// train ends before 25−3.
	// Folds: train+valid = [0,29) in 3 blocks of 9 (the last takes the
	// remainder); valid share 0.1/0.8 of the rows before each fold's test.
	cv, final := WalkForward(40, 2, 2, 0.2, 0.1)
	wantFinal := Split{Train: [2]int{0, 22}, Valid: [2]int{25, 29}, Test: [2]int{32, 40}}
	if final != wantFinal {
		t.Errorf("final %v, want %v", final, wantFinal)
	}
	wantCV := []Split{
		{Train: [2]int{0, 2}, Valid: [2]int{5, 6}, Test: [2]int{9, 18}},
		{Train: [2]int{0, 10}, Valid: [2]int{13, 15}, Test: [2]int{18, 29}},
	}
	if !slices.Equal(cv, wantCV) {
		t.Errorf("folds %v, want %v", cv, wantCV)
	}
}

func TestWalkForwardRejects(t *testing.T) {
	tests := []struct {
		name                string
		n, folds, h         int
		testFrac, validFrac float64
	}{
		{"too few rows", 8, 0, 2, 0.2, 0.1},
		{"too few rows for the folds", 40, 20, 2, 0.2, 0.1},
		{"horizon 0", 100, 1, 0, 0.2, 0.1},
		{"fractions sum to 1", 100, 1, 1, 0.5, 0.5},
		{"zero test", 100, 1, 1, 0, 0.1},
		{"negative folds", 100, -1, 1, 0.2, 0.1},
	}
	for _, tt := range tests {
		cv, final := WalkForward(tt.n, tt.folds, tt.h, tt.testFrac, tt.validFrac)
		if cv != nil || final != (Split{}) {
			t.Errorf("%s: got %v %v, want nothing", tt.name, cv, final)
		}
	}
}

// gapDataset is a dataset of the given minute offsets (features not needed).
func gapDataset(minutes []int, h int) Dataset {
	d := Dataset{Pair: "BTC/USD", Horizon: h, Interval: time.Minute, Cols: 0}
	for _, m := range minutes {
		d.TS = append(d.TS, fxStart.Add(time.Duration(m)*time.Minute))
		d.Y = append(d.Y, 0)
		d.Close = append(d.Close, 1)
	}
	return d
}

func TestWalkForwardPurgesByTime(t *testing.T) {
	// Hand-worked: minutes 0–14, then a 15-minute hole, then 30–34; h = 2.
	// The test starts at minute 30, 16 minutes after the last valid row:
	// the hole already separates them, so no row is purged there (purging by
	// index would drop 3 rows for nothing). Valid and train, on the regular
	// part, are 3 rows apart as on any grid.
	var minutes []int
	for m := range 15 {
		minutes = append(minutes, m)
	}
	minutes = append(minutes, 30, 31, 32, 33, 34)
	d := gapDataset(minutes, 2)
	_, final, err := d.WalkForward(0, 0.25, 0.15)
	if err != nil {
		t.Fatal(err)
	}
	want := Split{Train: [2]int{0, 9}, Valid: [2]int{12, 15}, Test: [2]int{15, 20}}
	if final != want {
		t.Errorf("final %v, want %v", final, want)
	}
	if err := d.CheckSplit(final); err != nil {
		t.Error(err)
	}
	// On a regular grid, a valid range starting 2 rows after train (< 2h) breaks the rule.
	grid := gapDataset([]int{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19}, 2)
	if err := grid.CheckSplit(Split{Train: [2]int{0, 9}, Valid: [2]int{11, 15}, Test: [2]int{18, 20}}); err == nil {
		t.Error("CheckSplit accepted valid starting 2 rows (< 2h) after train")
	}
}

func TestWalkForwardRandomGaps(t *testing.T) {
	// Property over seeded random calendars with holes: every split passes
	// the purge rule, and no range could be extended by one row (the purge
	// is as small as the rule allows).
	rng := rand.New(rand.NewPCG(7, 8))
	for trial := range 200 {
		var minutes []int
		for m := 0; len(minutes) < 300; m++ {
			if rng.IntN(10) == 0 {
				m += rng.IntN(12) // a hole of up to 11 minutes
			}
			minutes = append(minutes, m)
		}
		h := 1 + rng.IntN(6)
		d := gapDataset(minutes, h)
		cv, final, err := d.WalkForward(1+rng.IntN(4), 0.2, 0.1)
		if err != nil {
			t.Fatalf("trial %d: %v", trial, err)
		}
		for _, s := range append(cv, final) {
			if err := d.CheckSplit(s); err != nil {
				t.Fatalf("trial %d h=%d: %v", trial, h, err)
			}
			for _, pair := range [][2][2]int{{s.Train, s.Valid}, {s.Valid, s.Test}} {
				longer := s
				if pair[0] == s.Train {
					longer.Train[1]++
				} else {
					longer.Valid[1]++
				}
				if longer.Train[1] <= longer.Valid[0] && longer.Valid[1] <= longer.Test[0] && d.CheckSplit(longer) == nil {
					t.Fatalf("trial %d: %v purges more than needed", trial, s)
				}
			}
		}
	}
}

func TestWalkForwardRealData(t *testing.T) {
	candles := loadCandles(t, binanceETH, "ETH/USDT", 30000)
	rows := featureRows(t, candles)
	// Remove 200 minutes of candles in the middle: rows there lose their
	// close or their label, and the dataset has a hole in time.
	holed := slices.Delete(slices.Clone(candles), 12000, 12200)
	for _, h := range []int{1, 15} {
		d, err := Build(rows, holed, h)
		if err != nil {
			t.Fatal(err)
		}
		if d.Stats.NoCandle != 200 || d.Stats.NoFuture != 2*h {
			t.Errorf("h=%d: stats %+v, want 200 without candle and %d without future", h, d.Stats, 2*h)
		}
		cv, final, err := d.WalkForward(4, 0.2, 0.1)
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range append(cv, final) {
			if err := d.CheckSplit(s); err != nil {
				t.Errorf("h=%d: %v", h, err)
			}
		}
		if final.Test[1] != d.Len() || len(cv) != 4 || cv[3].Test[1] != final.Valid[1] {
			t.Errorf("h=%d: layout %v / %v does not cover the data as documented", h, final, cv)
		}
	}
}
