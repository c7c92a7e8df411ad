package stream

import (
	"bytes"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"
)

// BenchmarkFanout1000 publishes one prediction at a time to 1,000
// loopback clients and waits until every client has it: ns/op is the time
// to fan one frame out to all; the latency metrics are per delivered frame,
// from Publish's published_at to the client's receive.
func BenchmarkFanout1000(b *testing.B) {
	const n = 1000
	s := newServer(b, Config{SendBuffer: 1024, PingInterval: time.Minute})
	conns := dialMany(b, s, n)

	var delivered atomic.Int64
	done := make(chan struct{}, 1)
	lats := make([][]time.Duration, n)
	var readers sync.WaitGroup
	for i, ws := range conns {
		readers.Go(func() {
			for {
				_, msg, err := ws.ReadMessage()
				if err != nil {
					return
				}
				lats[i] = append(lats[i], time.Since(publishedAt(b, msg)))
				if delivered.Add(1)%n == 0 {
					done <- struct{}{}
				}
			}
		})
	}

	seq := 0
	for b.Loop() {
		s.hub.Publish(pred("ETH-USDT", seq))
		seq++
		<-done
	}
	b.StopTimer()
	if s.hub.Dropped() != 0 {
		b.Fatalf("%d clients dropped", s.hub.Dropped())
	}
	for _, ws := range conns {
		ws.Close()
	}
	readers.Wait()

	all := slices.Concat(lats...)
	slices.Sort(all)
	if len(all) != n*seq {
		b.Fatalf("delivered %d frames, want %d", len(all), n*seq)
	}
	q := func(p float64) float64 { return float64(all[int(p*float64(len(all)-1))].Microseconds()) }
	b.ReportMetric(q(0.5), "p50-µs")
	b.ReportMetric(q(0.99), "p99-µs")
	b.ReportMetric(float64(all[len(all)-1].Microseconds()), "max-µs")
}

// dialMany connects n clients subscribed to all pairs, a few at a time.
func dialMany(b *testing.B, s *testServer, n int) []*websocket.Conn {
	conns := make([]*websocket.Conn, n)
	sem := make(chan struct{}, 32)
	var wg sync.WaitGroup
	for i := range conns {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			ws, resp, err := websocket.DefaultDialer.Dial(s.url, nil)
			if err != nil {
				b.Errorf("dial client %d: %v", i, err)
				return
			}
			resp.Body.Close()
			if _, _, err := ws.ReadMessage(); err != nil { // subscribed
				b.Errorf("client %d: %v", i, err)
			}
			conns[i] = ws
		})
	}
	wg.Wait()
	if b.Failed() {
		b.FailNow()
	}
	return conns
}

var publishedKey = []byte(`"published_at":"`)

// publishedAt reads a frame's published_at without decoding the whole
// frame: a full decode on 1,000 readers would dominate what is measured.
func publishedAt(b *testing.B, msg []byte) time.Time {
	i := bytes.Index(msg, publishedKey)
	if i < 0 {
		b.Errorf("frame without published_at: %s", msg)
		return time.Now()
	}
	rest := msg[i+len(publishedKey):]
	t, err := time.Parse(time.RFC3339Nano, string(rest[:bytes.IndexByte(rest, '"')]))
	if err != nil {
		b.Errorf("published_at: %v", err)
	}
	return t
}
