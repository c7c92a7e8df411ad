package scoring

import (
	"fmt"
	"testing"
)

// benchScorer holds what a busy API holds: 20 pairs × 3 horizons with a
// day of predictions each, mostly scored.
func benchScorer(b *testing.B) *Scorer {
	s := newScorer(b, Config{})
	for m := range 1440 {
		for i := range 20 {
			pair := fmt.Sprintf("C%02d-USD", i)
			for _, h := range []int{1, 5, 15} {
				s.Record(pred(pair, h, m, 100, 0.001, 1))
			}
			s.Observe(row(pair, m, 100))
		}
	}
	return s
}

// BenchmarkRecordRepeat is the hot path: a served prediction already recorded.
func BenchmarkRecordRepeat(b *testing.B) {
	s := benchScorer(b)
	p := pred("C07-USD", 5, 1439, 100, 0.001, 1)
	b.ReportAllocs()
	for b.Loop() {
		s.Record(p)
	}
}

func BenchmarkRecordRepeatParallel(b *testing.B) {
	s := benchScorer(b)
	p := pred("C07-USD", 5, 1439, 100, 0.001, 1)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			s.Record(p)
		}
	})
}

// BenchmarkObserve is one candle close of one pair.
func BenchmarkObserve(b *testing.B) {
	s := benchScorer(b)
	b.ReportAllocs()
	m := 1440
	for b.Loop() {
		s.Observe(row("C07-USD", m, 100))
		m++
	}
}
