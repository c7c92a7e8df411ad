package predict_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/scoring"
	"github.com/tickcast/tickcast/stream"
)

// Each row Follow sees is predicted, published to the stream's subscribers
// and recorded, and realises the predictions made before it: a real
// service over the baseline, a real scorer and hub, real ETH/USDT rows.
func TestFollowPublishes(t *testing.T) {
	const pair, slug = "ETH/USDT", "ETH-USDT"
	data := realfeatures.BinanceKlines(t, realdata.BinanceETH90d, pair, 1200)
	ctx := context.Background()
	reg, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.EnsureBaseline(ctx, pair, 1); err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.DiscardHandler)
	latest, clock := &online.Latest{}, predict.NewMarketClock(1)
	svc, err := predict.New(predict.Config{Registry: reg, Features: latest, Clock: clock, Speed: 1, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	if err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	scorer, err := scoring.New(scoring.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hub := stream.NewHub(stream.Config{Logger: log})
	defer hub.Close()
	// feed puts the next real row (warm from 900 on) where the pipeline would.
	next := 900
	feed := func() market.FeatureRow {
		r := data.Rows[next]
		latest.Put(r)
		clock.Observe(r.TS)
		next++
		return r
	}
	feed()

	hs := httptest.NewServer(hub)
	defer hs.Close()
	ws, res, err := websocket.DefaultDialer.Dial("ws"+strings.TrimPrefix(hs.URL, "http")+"/v1/stream?pairs="+slug, nil)
	if res != nil {
		res.Body.Close()
	}
	if err != nil {
		t.Fatalf("dial: %v (%v)", err, res)
	}
	defer ws.Close()
	if err := ws.SetReadDeadline(time.Now().Add(10 * time.Second)); err != nil {
		t.Fatal(err)
	}
	var fr stream.Frame
	if err := ws.ReadJSON(&fr); err != nil || fr.Type != "subscribed" {
		t.Fatalf("first frame %+v, %v", fr, err)
	}

	rows := make(chan market.FeatureRow, 2)
	fctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() { svc.Follow(fctx, rows, predict.Pushes{Scores: scorer, Hub: hub, Clock: clock}); close(done) }()
	r1 := feed()
	rows <- r1
	if err := ws.ReadJSON(&fr); err != nil || fr.Type != "prediction" || fr.Prediction == nil {
		t.Fatalf("frame %+v, %v", fr, err)
	}
	if p := fr.Prediction; !p.AsOf.Equal(r1.TS) || p.Pair != slug || p.Horizon != 1 {
		t.Fatalf("published %+v for row at %s", p, r1.TS)
	}
	r2 := feed() // realizes the h1 prediction made at r1
	rows <- r2
	if err := ws.ReadJSON(&fr); err != nil || !fr.Prediction.AsOf.Equal(r2.TS) {
		t.Fatalf("second frame %+v, %v", fr, err)
	}
	cancel()
	<-done
	hist := scorer.Recent(pair, 1, 0)
	if len(hist) != 2 || hist[0].RealizedPrice == nil || *hist[0].RealizedPrice != r2.Close || hist[1].RealizedPrice != nil {
		t.Fatalf("scorer history %+v", hist)
	}
}

// Follow returns when its rows end.
func TestFollowEndsWithRows(t *testing.T) {
	svc, err := predict.New(predict.Config{Registry: mustRegistry(t), Features: &online.Latest{}})
	if err != nil {
		t.Fatal(err)
	}
	defer svc.Close()
	rows := make(chan market.FeatureRow)
	close(rows)
	done := make(chan struct{})
	go func() { svc.Follow(context.Background(), rows, predict.Pushes{}); close(done) }()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Follow did not return when rows closed")
	}
}

func mustRegistry(t *testing.T) *registry.Registry {
	t.Helper()
	reg, err := registry.Open(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return reg
}
