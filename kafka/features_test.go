package kafka

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

type sink struct {
	mu   sync.Mutex
	rows []market.FeatureRow
}

func (s *sink) Put(r market.FeatureRow) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.rows = append(s.rows, r)
}

func (s *sink) got() []market.FeatureRow {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]market.FeatureRow(nil), s.rows...)
}

// row is a hand-written fixture row (not market data).
func row(pair string, minute, rev int) market.FeatureRow {
	r := market.FeatureRow{Pair: pair, TS: time.Date(2025, 8, 1, 0, minute, 0, 0, time.UTC),
		SchemaVersion: market.FeatureSchemaVersion, Warm: true, Close: 100, Revision: rev}
	return r
}

// An API replica sees every pair's rows from every partition; a repeated
// older revision of a row (at-least-once) and a garbage record are skipped.
func TestFollowFeatures(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "features"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("features"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	produce := func(key string, value []byte) {
		if err := pr.ProduceSync(t.Context(), &kgo.Record{Key: []byte(key), Value: value}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	produce("ETH/USDT", wire.AppendJSON(nil, row("ETH/USDT", 1, 0)))
	produce("BTC/USDT", wire.AppendJSON(nil, row("BTC/USDT", 1, 0)))
	produce("ETH/USDT", wire.AppendJSON(nil, row("ETH/USDT", 2, 1)))
	produce("ETH/USDT", wire.AppendJSON(nil, row("ETH/USDT", 2, 0))) // a redelivered older revision
	produce("ETH/USDT", []byte("garbage"))
	produce("ETH/USDT", wire.AppendJSON(nil, row("ETH/USDT", 3, 0)))

	var s sink
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() {
		done <- FollowFeatures(ctx, FeaturesConfig{Brokers: c.ListenAddrs(), Since: 24 * time.Hour * 365 * 10}, &s)
	}()
	deadline := time.Now().Add(10 * time.Second)
	for len(s.got()) < 4 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond) // anything more would come now
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	got := s.got()
	want := map[string]bool{"BTC/USDT 1 0": true, "ETH/USDT 1 0": true, "ETH/USDT 2 1": true, "ETH/USDT 3 0": true}
	if len(got) != len(want) {
		t.Fatalf("%d rows, want %d: %+v", len(got), len(want), got)
	}
	for _, r := range got {
		if k := r.Pair + " " + itoa(r.TS.Minute()) + " " + itoa(r.Revision); !want[k] {
			t.Errorf("unexpected row %s", k)
		}
	}
}

func itoa(n int) string { return string(rune('0' + n)) }

func TestFollowFeaturesNeedsBrokers(t *testing.T) {
	if err := FollowFeatures(t.Context(), FeaturesConfig{}, &sink{}); err == nil {
		t.Fatal("no brokers accepted")
	}
}
