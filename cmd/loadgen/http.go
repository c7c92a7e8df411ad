package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type httpConfig struct {
	url, method string
	header      http.Header
	rate        float64
	duration    time.Duration
	conns       int
	timeout     time.Duration
}

// HTTPSummary is the JSON line of the http mode.
type HTTPSummary struct {
	Mode        string         `json:"mode"`
	URL         string         `json:"url"`
	TargetRate  float64        `json:"target_rate"`
	Conns       int            `json:"conns"`
	Scheduled   int64          `json:"scheduled"`
	Requests    int64          `json:"requests"` // completed, including errors
	Errors      int64          `json:"errors"`   // transport errors and timeouts
	Non2xx      int64          `json:"non_2xx"`
	Status      map[string]int `json:"status"`
	ElapsedS    float64        `json:"elapsed_s"`
	AchievedRPS float64        `json:"achieved_rps"`
	MaxLateMS   float64        `json:"max_late_ms"` // worst start delay behind schedule: > 0 means conns were all busy
	LatencyMS   Latency        `json:"latency_ms"`
}

func parseHTTPFlags(args []string, stderr io.Writer) (httpConfig, error) {
	fs := flag.NewFlagSet("loadgen http", flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := httpConfig{header: http.Header{}}
	fs.StringVar(&c.url, "url", "", "target URL (required)")
	fs.StringVar(&c.method, "method", http.MethodGet, "HTTP method")
	fs.Float64Var(&c.rate, "rate", 5000, "requests per second, scheduled at fixed intervals")
	fs.DurationVar(&c.duration, "duration", 20*time.Second, "how long to send")
	fs.IntVar(&c.conns, "conns", 64, "keep-alive connections (and concurrent requests)")
	fs.DurationVar(&c.timeout, "timeout", 10*time.Second, "per request")
	fs.Func("header", "K:V request header (repeatable)", func(s string) error {
		k, v, ok := strings.Cut(s, ":")
		if !ok || strings.TrimSpace(k) == "" {
			return fmt.Errorf("header %q: want K:V", s)
		}
		c.header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.url == "":
		return c, errors.New("http: --url is required")
	case c.rate <= 0 || c.duration <= 0 || c.conns <= 0:
		return c, errors.New("http: --rate, --duration and --conns must be positive")
	}
	return c, nil
}

func runHTTP(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseHTTPFlags(args, stderr)
	if err != nil {
		return err
	}
	if _, err := http.NewRequest(cfg.method, cfg.url, nil); err != nil {
		return fmt.Errorf("http: %w", err)
	}
	s := loadHTTP(ctx, cfg)
	human := fmt.Sprintf("http: %d requests in %.1fs (%.1f/s of %.0f/s), %d errors, %d non-2xx; latency from schedule %s",
		s.Requests, s.ElapsedS, s.AchievedRPS, s.TargetRate, s.Errors, s.Non2xx, s.LatencyMS)
	return report(stdout, s, human)
}

// httpWorker results, merged after the run.
type httpResults struct {
	lat      []time.Duration
	errors   int64
	status   map[int]int
	maxLate  time.Duration
	lastDone time.Time
}

// loadHTTP is open loop: request i is due at start + i/rate whatever
// happened before, and its latency runs from that due time, so a stalled
// server is charged for the requests it held up (no coordinated omission).
// conns workers take the next due request; when all are busy, requests
// wait and the wait counts.
func loadHTTP(ctx context.Context, cfg httpConfig) HTTPSummary {
	client := &http.Client{Timeout: cfg.timeout, Transport: &http.Transport{
		MaxIdleConns: cfg.conns, MaxIdleConnsPerHost: cfg.conns, MaxConnsPerHost: cfg.conns,
		IdleConnTimeout: time.Minute, DisableCompression: true,
	}}
	defer client.CloseIdleConnections()
	interval := time.Duration(float64(time.Second) / cfg.rate)
	total := int64(cfg.duration / interval)
	start := time.Now()
	var next atomic.Int64
	results := make([]httpResults, cfg.conns)
	var wg sync.WaitGroup
	for w := range results {
		wg.Go(func() {
			r := &results[w]
			r.status = map[int]int{}
			for i := next.Add(1) - 1; i < total; i = next.Add(1) - 1 {
				due := start.Add(time.Duration(i) * interval)
				if !sleepUntil(ctx, due) {
					return
				}
				r.maxLate = max(r.maxLate, time.Since(due))
				code, err := do(ctx, client, cfg)
				r.lastDone = time.Now()
				r.lat = append(r.lat, r.lastDone.Sub(due))
				if err != nil {
					r.errors++
					continue
				}
				r.status[code]++
			}
		})
	}
	wg.Wait()
	return mergeHTTP(cfg, start, min(total, next.Load()), results)
}

func do(ctx context.Context, client *http.Client, cfg httpConfig) (int, error) {
	req, err := http.NewRequestWithContext(ctx, cfg.method, cfg.url, nil)
	if err != nil {
		return 0, err
	}
	req.Header = cfg.header.Clone()
	resp, err := client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	// Drain so the connection goes back to the pool.
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return 0, err
	}
	return resp.StatusCode, nil
}

func sleepUntil(ctx context.Context, t time.Time) bool {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err() == nil
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-timer.C:
		return true
	}
}

func mergeHTTP(cfg httpConfig, start time.Time, scheduled int64, results []httpResults) HTTPSummary {
	s := HTTPSummary{Mode: "http", URL: cfg.url, TargetRate: cfg.rate, Conns: cfg.conns, Scheduled: scheduled, Status: map[string]int{}}
	var lat []time.Duration
	last := start
	var late time.Duration
	for _, r := range results {
		lat = append(lat, r.lat...)
		s.Errors += r.errors
		for code, n := range r.status {
			s.Status[fmt.Sprint(code)] += n
			if code < 200 || code > 299 {
				s.Non2xx += int64(n)
			}
		}
		if r.lastDone.After(last) {
			last = r.lastDone
		}
		late = max(late, r.maxLate)
	}
	s.Requests = int64(len(lat))
	s.ElapsedS = last.Sub(start).Seconds()
	if s.ElapsedS > 0 {
		s.AchievedRPS = float64(s.Requests) / s.ElapsedS
	}
	s.MaxLateMS = ms(late)
	s.LatencyMS = summarize(lat)
	return s
}
