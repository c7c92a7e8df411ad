package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"time"
)

// Latency summarises durations in milliseconds.
type Latency struct {
	P50  float64 `json:"p50"`
	P90  float64 `json:"p90"`
	P99  float64 `json:"p99"`
	P999 float64 `json:"p999"`
	Max  float64 `json:"max"`
}

// summarize sorts ds in place and takes nearest-rank quantiles.
func summarize(ds []time.Duration) Latency {
	if len(ds) == 0 {
		return Latency{}
	}
	slices.Sort(ds)
	q := func(p float64) float64 {
		i := int(math.Ceil(p*float64(len(ds)))) - 1
		return ms(ds[max(i, 0)])
	}
	return Latency{P50: q(0.5), P90: q(0.9), P99: q(0.99), P999: q(0.999), Max: ms(ds[len(ds)-1])}
}

func ms(d time.Duration) float64 { return math.Round(float64(d)/1e3) / 1e3 }

func (l Latency) String() string {
	return fmt.Sprintf("p50 %.3fms p90 %.3fms p99 %.3fms p99.9 %.3fms max %.3fms", l.P50, l.P90, l.P99, l.P999, l.Max)
}

// report writes the JSON line (for scripts) and the human line.
func report(w io.Writer, summary any, human string) error {
	b, err := json.Marshal(summary)
	if err != nil {
		return fmt.Errorf("encode summary: %w", err)
	}
	_, err = fmt.Fprintf(w, "%s\n%s\n", b, human)
	return err
}
