package redis_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/redistest"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/redis"
)

func TestFeaturesPutGetAll(t *testing.T) {
	addr := redistest.Start(t)
	writer := open(t, addr, redis.Options{}).Features("")
	reader := open(t, addr, redis.Options{}).Features("")
	other := open(t, addr, redis.Options{}).Features("test:other") // another prefix sees nothing
	ctx := ctxT(t)
	eth := realRows(t, binanceETH, "ETH/USDT", 1)[0]
	btc := realRows(t, binanceBTC, "BTC/USDT", 1)[0]
	if got := reader.All(); len(got) != 0 {
		t.Fatalf("empty store: All = %d rows", len(got))
	}
	for _, r := range []market.FeatureRow{eth, btc} {
		if err := writer.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	// A reader that already follows sees Puts shortly; a new one loads them.
	eventually(t, "reader to see both rows", func() bool { return len(reader.All()) == 2 })
	fresh := open(t, addr, redis.Options{}).Features("")
	for _, f := range []*redis.Features{writer, reader, fresh} {
		all := f.All()
		if len(all) != 2 || !sameRow(all[0], btc) || !sameRow(all[1], eth) { // sorted by pair
			t.Errorf("All = %+v", all)
		}
		for _, spelling := range []string{"ETH/USDT", "ETH-USDT", "eth-usdt"} {
			if got, ok := f.Get(spelling); !ok || !sameRow(got, eth) {
				t.Errorf("Get(%q) = %v, %+v", spelling, ok, got)
			}
		}
		if _, ok := f.Get("SOL/USD"); ok {
			t.Error("Get of an unknown pair found a row")
		}
	}
	if got := other.All(); len(got) != 0 {
		t.Errorf("other prefix: All = %d rows", len(got))
	}
}

// TestFeaturesNewerWins: an older row never replaces a newer one; at equal
// ts the later Put wins, as a corrected row should — in Redis, in a
// follower's snapshot, and in a snapshot loaded afterwards.
func TestFeaturesNewerWins(t *testing.T) {
	addr := redistest.Start(t)
	writer := open(t, addr, redis.Options{}).Features("")
	follower := open(t, addr, redis.Options{}).Features("")
	follower.All() // start following before the Puts
	ctx := ctxT(t)
	rows := realRows(t, binanceETH, "ETH/USDT", 3)
	corrected := rows[1]
	corrected.Close *= 1.001 // a hand-made correction of a real row
	later := rows[1]
	later.TS = later.TS.Add(time.Nanosecond) // differs only below the second
	tests := []struct {
		name string
		puts []market.FeatureRow
		want market.FeatureRow
	}{
		{"in order", []market.FeatureRow{rows[0], rows[1], rows[2]}, rows[2]},
		{"older after newer", []market.FeatureRow{rows[2], rows[0]}, rows[2]},
		{"equal ts: later wins", []market.FeatureRow{rows[1], corrected}, corrected},
		{"equal ts: later wins back", []market.FeatureRow{corrected, rows[1]}, rows[1]},
		{"one nanosecond newer", []market.FeatureRow{later, rows[1]}, later},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prefix := "test:" + string(rune('a'+i))
			w, f := writer, follower
			if i > 0 {
				w = open(t, addr, redis.Options{}).Features(prefix)
				f = open(t, addr, redis.Options{}).Features(prefix)
				f.All()
			}
			for _, r := range tt.puts {
				if err := w.Put(ctx, r); err != nil {
					t.Fatal(err)
				}
			}
			// The follower got every accepted Put in order; the last one it
			// holds is the winner, as is what a new reader loads.
			eventually(t, "follower to hold the winner", func() bool {
				got, ok := f.Get("ETH/USDT")
				return ok && sameRow(got, tt.want)
			})
			fresh := open(t, addr, redis.Options{}).Features(map[bool]string{true: "", false: prefix}[i == 0])
			for name, g := range map[string]*redis.Features{"writer": w, "fresh": fresh} {
				if got, ok := g.Get("ETH/USDT"); !ok || !sameRow(got, tt.want) {
					t.Errorf("%s: Get = %v, ts %v close %v; want ts %v close %v", name, ok, got.TS, got.Close, tt.want.TS, tt.want.Close)
				}
			}
		})
	}
}

func TestFeaturesSubscribe(t *testing.T) {
	addr := redistest.Start(t)
	writer := open(t, addr, redis.Options{}).Features("")
	reader := open(t, addr, redis.Options{}).Features("")
	ctx, cancel := context.WithCancel(ctxT(t))
	sub, err := reader.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := realRows(t, binanceETH, "ETH/USDT", 5)
	if err := writer.Put(ctx, rows[4]); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows { // only rows[4] is kept: the rest are older
		if err := writer.Put(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	btc := realRows(t, binanceBTC, "BTC-USDT", 1)[0]
	if err := writer.Put(ctx, btc); err != nil {
		t.Fatal(err)
	}
	for i, want := range []market.FeatureRow{rows[4], rows[4], btc} { // equal ts is kept
		select {
		case got := <-sub:
			if !sameRow(got, want) {
				t.Errorf("update %d: %s %v, want %s %v", i, got.Pair, got.TS, want.Pair, want.TS)
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("update %d: nothing received", i)
		}
	}
	cancel()
	for range sub { // drains, then closes
	}
}

// TestFeaturesServerGone: readers keep serving their snapshot while Redis
// is away, Put fails fast, and after a restart followers and subscribers
// resume by themselves.
func TestFeaturesServerGone(t *testing.T) {
	if testing.Short() {
		t.Skip("stops and restarts a redis-server")
	}
	srv := redistest.StartServer(t)
	o := redis.Options{ReadTimeout: 200 * time.Millisecond}
	writer := open(t, srv.Addr, o).Features("")
	reader := open(t, srv.Addr, o).Features("")
	ctx := ctxT(t)
	sub, err := reader.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := realRows(t, binanceETH, "ETH/USDT", 3)
	if err := writer.Put(ctx, rows[0]); err != nil {
		t.Fatal(err)
	}
	<-sub
	eventually(t, "reader to load", func() bool { _, ok := reader.Get("ETH/USDT"); return ok })

	srv.Pause()
	start := time.Now()
	if err := writer.Put(ctx, rows[1]); err == nil {
		t.Error("put to a paused server succeeded")
	}
	if got, ok := reader.Get("ETH/USDT"); !ok || !sameRow(got, rows[0]) {
		t.Error("paused: the snapshot lost its row")
	}
	if took := time.Since(start); took > 2*time.Second {
		t.Errorf("paused: took %v", took)
	}
	srv.Resume()
	// The timed-out Put was sent: the resumed server applies it.
	eventually(t, "the timed-out put to land", func() bool {
		got, ok := reader.Get("ETH/USDT")
		return ok && sameRow(got, rows[1])
	})

	srv.Restart() // empty: no persistence
	if got, ok := reader.Get("ETH/USDT"); !ok || !sameRow(got, rows[1]) {
		t.Error("stopped: the snapshot lost its row")
	}
	eventually(t, "put after restart", func() bool { return writer.Put(ctx, rows[2]) == nil })
	eventually(t, "reader to follow after restart", func() bool {
		got, ok := reader.Get("ETH/USDT")
		return ok && sameRow(got, rows[2])
	})
	// The subscriber reconnected too: the next Put reaches it.
	eventually(t, "subscriber to resume", func() bool {
		if err := writer.Put(ctx, rows[2]); err != nil {
			return false
		}
		for {
			select {
			case got := <-sub:
				if sameRow(got, rows[2]) {
					return true
				}
			case <-time.After(100 * time.Millisecond):
				return false
			}
		}
	})
}

// TestFeaturesFrozenServer: while Redis hangs (SIGSTOP) the API's reads
// keep answering from the local copy at once, and every call that needs
// Redis (Put, Subscribe, a first read) gives up within a bounded wait; after
// SIGCONT the follower and the subscriber carry on by themselves.
func TestFeaturesFrozenServer(t *testing.T) {
	if testing.Short() {
		t.Skip("freezes a redis-server")
	}
	srv := redistest.StartServer(t)
	writer := open(t, srv.Addr, redis.Options{}).Features("")
	reader := open(t, srv.Addr, redis.Options{}).Features("")
	ctx := ctxT(t)
	sub, err := reader.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	rows := realRows(t, binanceETH, "ETH/USDT", 2)
	if err := writer.Put(ctx, rows[0]); err != nil {
		t.Fatal(err)
	}
	<-sub
	eventually(t, "reader to load", func() bool { _, ok := reader.Get("ETH/USDT"); return ok })
	fresh := open(t, srv.Addr, redis.Options{}).Features("") // reads nothing yet

	srv.Pause()
	bounded := func(what string, limit time.Duration, fn func()) {
		t.Helper()
		start := time.Now()
		fn()
		if took := time.Since(start); took > limit {
			t.Errorf("frozen: %s took %v, want at most %v", what, took, limit)
		}
	}
	// A read that waited on Redis would take at least a read timeout; below
	// it is only a busy machine's scheduling.
	const readLimit = redis.DefaultReadTimeout
	var wg sync.WaitGroup
	for range 4 { // the API's readers
		wg.Go(func() {
			for end := time.Now().Add(1500 * time.Millisecond); time.Now().Before(end); time.Sleep(time.Millisecond) {
				bounded("Get", readLimit, func() {
					if got, ok := reader.Get("ETH-USDT"); !ok || !sameRow(got, rows[0]) {
						t.Error("frozen: the local copy lost its row")
					}
				})
				bounded("All", readLimit, func() { reader.All() })
			}
		})
	}
	// Two tries of a read timeout, and slack for a loaded machine.
	limit := 2*redis.DefaultReadTimeout + time.Second
	bounded("Put", limit, func() {
		if err := writer.Put(context.Background(), rows[1]); err == nil {
			t.Error("put to a frozen server succeeded")
		}
	})
	bounded("Subscribe", limit, func() {
		if _, err := reader.Subscribe(ctx); err == nil {
			t.Error("subscribe to a frozen server succeeded")
		}
	})
	bounded("a first Get", 1500*time.Millisecond, func() { fresh.Get("ETH-USDT") })
	wg.Wait()

	srv.Resume()
	resumed := time.Now()
	eventually(t, "reader to follow after SIGCONT", func() bool {
		got, ok := reader.Get("ETH/USDT")
		return ok && sameRow(got, rows[1]) // the frozen Put landed, or this one
	})
	select {
	case got := <-sub:
		if !sameRow(got, rows[1]) {
			t.Errorf("subscriber got %+v", got)
		}
	case <-time.After(5 * time.Second):
		t.Error("subscriber silent after SIGCONT")
	}
	eventually(t, "a new reader to load", func() bool { _, ok := fresh.Get("ETH/USDT"); return ok })
	t.Logf("followed again %v after SIGCONT", time.Since(resumed).Round(time.Millisecond))
}

// TestFeaturesFirstReadWithoutServer: a first Get against a dead server
// waits at most about a second, later ones not at all.
func TestFeaturesFirstReadWithoutServer(t *testing.T) {
	srv := redistest.StartServer(t)
	f := open(t, srv.Addr, redis.Options{ReadTimeout: 200 * time.Millisecond}).Features("")
	srv.Stop()
	start := time.Now()
	if _, ok := f.Get("ETH/USDT"); ok {
		t.Error("found a row")
	}
	if took := time.Since(start); took > 1500*time.Millisecond {
		t.Errorf("first Get took %v", took)
	}
	start = time.Now()
	f.All()
	if took := time.Since(start); took > 10*time.Millisecond {
		t.Errorf("second read took %v", took)
	}
}

func TestCloseStopsSubscribers(t *testing.T) {
	addr := redistest.Start(t)
	c, err := redis.Open(ctxT(t), addr, redis.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := c.Features("")
	f.All()
	sub, err := f.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan error)
	go func() { done <- c.Close() }()
	select {
	case err := <-done:
		if err != nil {
			t.Error(err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Close hangs")
	}
	if _, ok := <-sub; ok {
		t.Error("subscription still open after Close")
	}
}

func BenchmarkFeaturesGet(b *testing.B) {
	addr := redistest.Start(b)
	f := open(b, addr, redis.Options{}).Features("")
	if err := f.Put(context.Background(), realRows(b, binanceETH, "ETH/USDT", 1)[0]); err != nil {
		b.Fatal(err)
	}
	f.All()
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := f.Get("ETH-USDT"); !ok {
			b.Fatal("no row")
		}
	}
}
