package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gorilla/websocket"
	"github.com/tickcast/tickcast/stream"
)

type wsConfig struct {
	url      string
	clients  int
	duration time.Duration
	dialConc int
}

// WSSummary is the JSON line of the ws mode. Delivery latency is receive
// time minus the frame's published_at (the hub's wall clock at Publish):
// meaningful when loadgen runs on the hub's host or clocks are synced.
type WSSummary struct {
	Mode         string         `json:"mode"`
	URL          string         `json:"url"`
	Clients      int            `json:"clients"`
	Connected    int            `json:"connected"`
	DialErrors   int            `json:"dial_errors"`
	ElapsedS     float64        `json:"elapsed_s"`
	Frames       int64          `json:"frames"`       // prediction frames received, by all clients
	Published    int            `json:"published"`    // distinct predictions seen during the window
	Lost         int64          `json:"lost"`         // deliveries missing: published × connected − received
	Disconnected int            `json:"disconnected"` // clients closed by the server before the end
	CloseCodes   map[string]int `json:"close_codes,omitempty"`
	BadFrames    int64          `json:"bad_frames"`
	LatencyMS    Latency        `json:"latency_ms"`
}

func parseWSFlags(args []string, stderr io.Writer) (wsConfig, error) {
	fs := flag.NewFlagSet("loadgen ws", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c wsConfig
	fs.StringVar(&c.url, "url", "", "stream URL, e.g. ws://127.0.0.1:8080/v1/stream?pairs=ETH-USDT (required)")
	fs.IntVar(&c.clients, "clients", 1000, "concurrent WebSocket clients")
	fs.DurationVar(&c.duration, "duration", time.Minute, "how long to listen once every client is connected")
	fs.IntVar(&c.dialConc, "dial-concurrency", 64, "connections opened at once")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	switch {
	case c.url == "":
		return c, errors.New("ws: --url is required")
	case c.clients <= 0 || c.duration <= 0 || c.dialConc <= 0:
		return c, errors.New("ws: --clients, --duration and --dial-concurrency must be positive")
	}
	return c, nil
}

func runWS(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, err := parseWSFlags(args, stderr)
	if err != nil {
		return err
	}
	s, err := listenWS(ctx, cfg)
	if err != nil {
		return err
	}
	human := fmt.Sprintf("ws: %d/%d clients, %d frames of %d predictions in %.1fs, %d lost, %d disconnected; delivery %s",
		s.Connected, s.Clients, s.Frames, s.Published, s.ElapsedS, s.Lost, s.Disconnected, s.LatencyMS)
	return report(stdout, s, human)
}

// frameKey identifies one published prediction across clients.
type frameKey struct {
	at      int64
	pair    string
	horizon int
}

// wsRun is the shared state of the listening clients.
type wsRun struct {
	from, until time.Time // frames published in [from, until] are expected by every client
	mu          sync.Mutex
	seen        map[frameKey]int
	closeCodes  map[string]int
	frames      atomic.Int64
	bad         atomic.Int64
}

func listenWS(ctx context.Context, cfg wsConfig) (WSSummary, error) {
	s := WSSummary{Mode: "ws", URL: cfg.url, Clients: cfg.clients}
	conns, dialErrs, firstErr := dialAll(ctx, cfg)
	s.Connected, s.DialErrors = len(conns), dialErrs
	if len(conns) == 0 {
		return s, fmt.Errorf("ws: no client connected: %w", firstErr)
	}
	// Frames still in flight at the end are not counted as lost.
	const grace = time.Second
	start := time.Now()
	r := &wsRun{from: start, until: start.Add(cfg.duration - min(grace, cfg.duration/2)),
		seen: map[frameKey]int{}, closeCodes: map[string]int{}}
	lctx, cancel := context.WithTimeout(ctx, cfg.duration)
	defer cancel()
	lats := make([][]time.Duration, len(conns))
	var disconnected atomic.Int64
	var wg sync.WaitGroup
	for i, ws := range conns {
		wg.Go(func() {
			var early bool
			lats[i], early = r.listen(ws)
			if early && lctx.Err() == nil {
				disconnected.Add(1)
			}
		})
	}
	<-lctx.Done()
	for _, ws := range conns {
		ws.Close()
	}
	wg.Wait()
	s.ElapsedS = time.Since(start).Seconds()
	s.Disconnected = int(disconnected.Load())
	s.Frames, s.BadFrames = r.frames.Load(), r.bad.Load()
	s.Published, s.Lost = len(r.seen), r.lost(len(conns))
	if len(r.closeCodes) > 0 {
		s.CloseCodes = r.closeCodes
	}
	var all []time.Duration
	for _, l := range lats {
		all = append(all, l...)
	}
	s.LatencyMS = summarize(all)
	return s, nil
}

func dialAll(ctx context.Context, cfg wsConfig) (conns []*websocket.Conn, errs int, first error) {
	var mu sync.Mutex
	sem := make(chan struct{}, cfg.dialConc)
	var wg sync.WaitGroup
	for range cfg.clients {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ws, err := dial(ctx, cfg.url)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				errs++
				first = cmp.Or(first, err)
				return
			}
			conns = append(conns, ws)
		})
	}
	wg.Wait()
	return conns, errs, first
}

// dial connects; the hub's first frame (the subscription) is skipped by listen.
func dial(ctx context.Context, url string) (*websocket.Conn, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	ws, resp, err := websocket.DefaultDialer.DialContext(dctx, url, nil)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("dial %s: %w (HTTP %s)", url, err, resp.Status)
		}
		return nil, fmt.Errorf("dial %s: %w", url, err)
	}
	resp.Body.Close()
	return ws, nil
}

// listen reads ws until it fails; early reports a close by the server.
func (r *wsRun) listen(ws *websocket.Conn) (lat []time.Duration, early bool) {
	for {
		_, b, err := ws.ReadMessage()
		now := time.Now()
		if err != nil {
			var ce *websocket.CloseError
			if errors.As(err, &ce) {
				r.mu.Lock()
				r.closeCodes[fmt.Sprint(ce.Code)]++
				r.mu.Unlock()
			}
			return lat, true
		}
		var f stream.Frame
		if err := json.Unmarshal(b, &f); err != nil {
			r.bad.Add(1)
			continue
		}
		if f.Type != stream.TypePrediction || f.Prediction == nil {
			continue
		}
		r.frames.Add(1)
		lat = append(lat, now.Sub(f.PublishedAt))
		r.count(frameKey{at: f.PublishedAt.UnixNano(), pair: f.Prediction.Pair, horizon: f.Prediction.Horizon}, f.PublishedAt)
	}
}

func (r *wsRun) count(k frameKey, at time.Time) {
	if at.Before(r.from) || at.After(r.until) {
		return
	}
	r.mu.Lock()
	r.seen[k]++
	r.mu.Unlock()
}

// lost counts deliveries missing among predictions that at least one
// client saw inside the window (every client was subscribed by then).
func (r *wsRun) lost(clients int) int64 {
	var n int64
	for _, got := range r.seen {
		n += int64(clients - got)
	}
	return n
}
