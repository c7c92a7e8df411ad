package main

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"
	"github.com/twmb/franz-go/pkg/kfake"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/internal/redistest"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/wire"
)

// An API replica of the distributed mode follows the features stage's
// topic (--features-from kafka): it answers from the newest row of every
// partition and streams each new row's prediction; Redis stays its
// prediction cache.
func TestServeReplicaFromKafka(t *testing.T) {
	if testing.Short() {
		t.Skip("integration: Kafka (kfake) + Redis + API")
	}
	ctx := context.Background()
	redisAddr := redistest.Start(t)
	c, err := kfake.NewCluster(kfake.NumBrokers(1), kfake.SeedTopics(3, "features"))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	brokers := strings.Join(c.ListenAddrs(), ",")
	pr, err := kgo.NewClient(kgo.SeedBrokers(c.ListenAddrs()...), kgo.DefaultProduceTopic("features"))
	if err != nil {
		t.Fatal(err)
	}
	defer pr.Close()
	produce := func(r market.FeatureRow) {
		if err := pr.ProduceSync(ctx, &kgo.Record{Key: []byte(r.Pair), Value: wire.AppendJSON(nil, r)}).FirstErr(); err != nil {
			t.Fatal(err)
		}
	}
	dir := t.TempDir()
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := reg.EnsureBaseline(ctx, "ETH/USDT", 1); err != nil {
		t.Fatal(err)
	}
	_, rows := shiftedETH(t, 200)
	for _, r := range rows[len(rows)-5 : len(rows)-1] {
		produce(r)
	}

	addr := freeAddr(t)
	defer startServe(t, "--redis", redisAddr, "--features-from", "kafka", "--kafka-brokers", brokers,
		"--data-dir", dir, "--http", addr, "--replica", "test-k", "--stale-after", "5")()
	base := "http://" + addr
	waitReady(t, base)
	deadline := time.Now().Add(20 * time.Second)
	for {
		code, body := httpGet(base + "/v1/predictions/ETH-USDT")
		var p predict.Prediction
		if code == http.StatusOK && json.Unmarshal(body, &p) == nil && p.AsOf.Equal(rows[len(rows)-2].TS) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no prediction from the topic's newest row: %d %s", code, body)
		}
		time.Sleep(100 * time.Millisecond)
	}

	ws, resp, err := websocket.DefaultDialer.Dial("ws://"+addr+"/v1/stream?pairs=ETH-USDT", nil)
	if err != nil {
		t.Fatalf("dial stream: %v", err)
	}
	resp.Body.Close()
	defer ws.Close()
	readFrame(t, ws, "subscribed")
	newest := rows[len(rows)-1]
	produce(newest)
	for {
		var f struct{ Prediction predict.Prediction }
		readFrame(t, ws, "prediction", &f)
		if f.Prediction.AsOf.Equal(newest.TS) {
			break
		}
	}
}
