package api

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/tickcast/tickcast/predict"
)

// The champion flips between the zero-return baseline and a real XGBoost
// model through the admin API, over a real loopback server, while clients
// keep asking for uncached predictions: not one request may fail, and both
// models must be seen serving.
func TestHotSwapUnderLoadOverHTTP(t *testing.T) {
	if testing.Short() {
		t.Skip("trains a real XGBoost model and loads a server")
	}
	f := newFixture(t, fixtureOpts{speed: 1})
	f.feed(200) // warm rows
	v1 := f.register()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- f.srv.Serve(ctx, ln) }()
	defer func() {
		cancel()
		if err := <-errc; err != nil {
			t.Errorf("Serve: %v", err)
		}
	}()
	base := "http://" + ln.Addr().String()
	waitHealthy(t, base)

	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 16}, Timeout: 10 * time.Second}
	var (
		stop     atomic.Bool
		requests atomic.Int64
		failures atomic.Int64
		seen     sync.Map // model version → true
		wg       sync.WaitGroup
	)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !stop.Load() {
				req, _ := http.NewRequest(http.MethodGet, base+"/v1/predictions/ETH-USDT?horizon=1", nil)
				req.Header.Set("Cache-Control", "no-cache") // the model on every request
				res, err := client.Do(req)
				requests.Add(1)
				if err != nil {
					failures.Add(1)
					t.Errorf("request: %v", err)
					continue
				}
				body, _ := io.ReadAll(res.Body)
				res.Body.Close()
				var p predict.Prediction
				if res.StatusCode != http.StatusOK || json.Unmarshal(body, &p) != nil {
					failures.Add(1)
					t.Errorf("status %d: %s", res.StatusCode, body)
					continue
				}
				seen.Store(p.Model.Version, true)
			}
		}()
	}
	admin := func(path string) {
		req, _ := http.NewRequest(http.MethodPost, base+path, nil)
		req.Header.Set("Authorization", "Bearer "+adminKey)
		res, err := client.Do(req)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		body, _ := io.ReadAll(res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusOK {
			t.Fatalf("%s: %d %s", path, res.StatusCode, body)
		}
	}
	for range 10 {
		time.Sleep(50 * time.Millisecond)
		admin("/v1/models/" + strconv.Itoa(v1.Version) + "/promote?pair=ETH-USDT&horizon=1")
		time.Sleep(50 * time.Millisecond)
		admin("/v1/models/champion/rollback?pair=ETH-USDT&horizon=1")
	}
	time.Sleep(50 * time.Millisecond)
	stop.Store(true)
	wg.Wait()
	_, sawBaseline := seen.Load(0)
	_, sawModel := seen.Load(v1.Version)
	t.Logf("%d requests during 20 swaps, %d failed", requests.Load(), failures.Load())
	if failures.Load() != 0 || !sawBaseline || !sawModel {
		t.Fatalf("%d of %d requests failed; baseline seen %v, model v%d seen %v",
			failures.Load(), requests.Load(), sawBaseline, v1.Version, sawModel)
	}
}
