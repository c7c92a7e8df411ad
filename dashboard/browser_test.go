package dashboard_test

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tickcast/tickcast/api"
	"github.com/tickcast/tickcast/archive"
	"github.com/tickcast/tickcast/dashboard"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/scoring"
	"github.com/tickcast/tickcast/stream"
)

const (
	ethKlines = "binance/klines/ETHUSDT_1m_2025-05-20_2025-08-18.csv.gz"
	btcKlines = "binance/klines/BTCUSDT_1m_2025-05-20_2025-08-18.csv.gz"

	backlog = 400 // ETH candles fed before the page opens (the first 119 rows are cold)
	live    = 30  // ETH candles fed while the page is open
	coldBTC = 50  // BTC candles: too few for a warm row, so BTC answers 503 warming_up
)

// EnvScreenshot names a file for a full-page PNG of the dashboard.
const EnvScreenshot = "TICKCAST_SCREENSHOT"

// TestDashboardInBrowser runs the page in headless Chromium against the
// real API server: a registry with zero-return baselines, online features
// fed by market.Features over real Binance candles, the real scorer and
// hub. It checks that a prediction and a chart with data appear, that
// predictions pushed over the stream update the page, that the data quality
// of a prediction (complete, revision, gap open, degraded) is shown — ETH's
// champion is an artifact XGBoost refuses, so the baseline answers as its
// fallback — and that a 503 (warming up) is shown as a badge, not as a
// blank page.
func TestDashboardInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test against a real API server; skipped with -short")
	}
	chrome := chromium(t)
	eth := lastCandles(t, ethKlines, "ETH/USDT", backlog+live)
	btc := lastCandles(t, btcKlines, "BTC/USDT", 0)
	btc = within(btc, eth[backlog-coldBTC].Start, eth[backlog-1].Start)
	if len(btc) != coldBTC {
		t.Fatalf("real BTC candles at the ETH window: %d, want %d", len(btc), coldBTC)
	}

	env := startServer(t, "ETH/USDT", "BTC/USDT")
	// In time order, as the pipeline emits them: the market clock follows the newest row.
	for i, c := range eth[:backlog] {
		env.feed(t, c)
		if j := i - (backlog - coldBTC); j >= 0 {
			env.feed(t, btc[j])
		}
	}
	env.caughtUp(t, eth[backlog-1].End)

	ctx := browser(t, chrome)
	errs := consoleErrors(t, ctx)
	url := env.url + "/?pair=ETH-USDT&horizon=1"
	if err := chromedp.Do(ctx, chromedp.EmulateViewport(1440, 960), chromedp.Navigate(url)); err != nil {
		t.Fatalf("open %s: %v", url, err)
	}
	first := waitPage(t, ctx, `s.model.startsWith('zero-return v0') && s.state === 'fresh' && s.candles > 0 && s.predicted > 0 && s.conn === 'live'`+
		` && s.degraded && !s.gapOpen && s.quality.startsWith('complete · rev 0') && s.ready === 'degraded'`+
		` && s.band > 0 && s.vol > 0 && s.pup === '50.0%' && s.volText.endsWith(' bps')`)
	t.Logf("page after the backlog: %+v", first)
	if first.Price == "–" || first.Price == "" {
		t.Errorf("no predicted price on the page: %+v", first)
	}

	// Live: candles close while the page is open; predictions reach it over
	// the stream, now with a gap open in the pipeline.
	env.gaps.Set("ETH/USDT", true)
	for _, c := range eth[backlog:] {
		env.feed(t, c)
		time.Sleep(150 * time.Millisecond)
	}
	newest := eth[len(eth)-1].End.UTC().Format("2006-01-02 15:04:05Z")
	after := waitPage(t, ctx, fmt.Sprintf(`s.asof === %q && s.candles >= %d && s.realized > 0 && s.scores > 0 && s.gapOpen && s.quality.includes('gap open')`+
		` && s.productScores.includes('vol MAE') && s.productScores.includes('band coverage')`+
		` && s.prequential.includes('return') && s.prequential.includes('quantiles') && s.prequential.includes('%%')`, newest, first.Candles+live))
	t.Logf("page after %d live candles: %+v", live, after)
	if after.Band <= first.Band || after.Vol <= first.Vol {
		t.Errorf("band points %d → %d, vol points %d → %d: the stream's products did not reach the chart", first.Band, after.Band, first.Vol, after.Vol)
	}
	if after.Predicted <= first.Predicted {
		t.Errorf("predicted points %d after the live candles, %d before: the stream did not reach the chart", after.Predicted, first.Predicted)
	}
	if want := fmt.Sprintf("%.2f", eth[len(eth)-1].Close); !strings.Contains(strings.ReplaceAll(after.Last, ",", ""), want) {
		t.Errorf("last price %q, want the newest real close %s", after.Last, want)
	}
	if path := os.Getenv(EnvScreenshot); path != "" {
		screenshot(t, ctx, path)
	}

	// A refusal is a badge with the API's message, and the rest of the page works.
	if err := chromedp.Do(ctx, chromedp.Navigate(env.url+"/?pair=BTC-USDT&horizon=1")); err != nil {
		t.Fatal(err)
	}
	cold := waitPage(t, ctx, `s.code === 'warming_up' && s.state === 'warming up' && s.candles === `+fmt.Sprint(coldBTC))
	if !strings.Contains(cold.Error, "warming_up") {
		t.Errorf("refusal message %q does not name the code", cold.Error)
	}
	errs.check(t)
}

// env is a running API server over real in-memory stores.
type env struct {
	url    string
	feats  *market.Features
	latest *online.Latest
	recent *online.Candles
	clock  *predict.MarketClock
	gaps   *online.Gaps
}

func startServer(t *testing.T, pairs ...string) *env {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.DiscardHandler)
	dir := t.TempDir()
	reg, err := registry.Open(filepath.Join(dir, "registry"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pairs {
		if _, err := reg.EnsureBaseline(ctx, p, 1); err != nil {
			t.Fatal(err)
		}
	}
	// The first pair also serves the products' baselines: the band and the vol panel.
	for _, product := range []string{registry.ProductVol, registry.ProductQuantiles, registry.ProductPUp} {
		if _, err := reg.EnsureBaselineIn(ctx, registry.Series{Pair: pairs[0], Horizon: 1, Product: product}); err != nil {
			t.Fatal(err)
		}
	}
	// ETH's champion: hand-written bytes XGBoost refuses (a corrupt model).
	bad, err := reg.Register(ctx, registry.Meta{Pair: pairs[0], Horizon: 1, Name: "xgboost"}, []byte("not a model"))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetAlias(ctx, pairs[0], 1, registry.Champion, bad.Version, "test: a corrupt champion"); err != nil {
		t.Fatal(err)
	}
	e := &env{feats: market.NewFeatures(), latest: &online.Latest{}, recent: &online.Candles{}, clock: predict.NewMarketClock(1), gaps: &online.Gaps{}}
	svc, err := predict.New(predict.Config{Registry: reg, Features: e.latest, Clock: e.clock, Gaps: e.gaps, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	if err := svc.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	if d := svc.Degraded(); len(d) != 1 || d[0].Serving != 0 {
		t.Fatalf("degraded %+v, want ETH served by the baseline", d)
	}
	scorer, err := scoring.New(scoring.Config{Dir: filepath.Join(dir, "parquet", "predictions"), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	hub := stream.NewHub(stream.Config{Logger: log})
	srv, err := api.New(api.Config{
		Predictions: svc, Scores: scorer, Hub: hub, Registry: reg, Candles: e.recent,
		Dashboard: dashboard.Handler(), Links: api.Links{TemporalUI: "http://127.0.0.1:8233"}, Logger: log,
	})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e.url = "http://" + ln.Addr().String()
	// Subscribe before the first row so that Follow sees every row, in order.
	rows, unsubscribe, dropped := e.latest.Subscribe(1 << 12)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ctx, ln); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	wg.Go(func() { svc.Follow(ctx, rows, predict.Pushes{Scores: scorer, Hub: hub, Clock: e.clock}) })
	t.Cleanup(func() {
		cancel()
		unsubscribe()
		wg.Wait()
		if n := dropped(); n > 0 {
			t.Errorf("Follow lost %d rows", n)
		}
		if err := svc.Close(); err != nil {
			t.Error(err)
		}
	})
	return e
}

// feed does what the pipeline's features processor does with a closed candle.
func (e *env) feed(t *testing.T, c market.Candle) {
	t.Helper()
	row, err := e.feats.Update(c)
	if err != nil {
		t.Fatalf("features of the real candle %s %s: %v", c.Pair, c.Start, err)
	}
	e.recent.Put(c)
	e.latest.Put(row)
}

// caughtUp waits until Follow has seen the row at ts (the market clock has).
func (e *env) caughtUp(t *testing.T, ts time.Time) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for e.clock.Now().Before(ts) {
		if time.Now().After(deadline) {
			t.Fatalf("Follow did not reach %s in 30s (market clock at %s)", ts, e.clock.Now())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func lastCandles(t *testing.T, rel, pair string, n int) []market.Candle {
	t.Helper()
	cs, _, err := archive.ReadCandles(realdata.Path(t, rel), archive.BinanceKlines, pair)
	if err != nil {
		t.Fatal(err)
	}
	if n > 0 && len(cs) > n {
		cs = cs[len(cs)-n:]
	}
	return cs
}

// within keeps the candles starting in [from, to].
func within(cs []market.Candle, from, to time.Time) []market.Candle {
	var out []market.Candle
	for _, c := range cs {
		if !c.Start.Before(from) && !c.Start.After(to) {
			out = append(out, c)
		}
	}
	return out
}

// chromium finds the browser, or skips (fails with TICKCAST_REQUIRE_SERVICES=1).
func chromium(t *testing.T) string {
	t.Helper()
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "headless-shell"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	msg := "chromium not found: install it (apt-get install chromium) to run the dashboard browser test"
	if os.Getenv("TICKCAST_REQUIRE_SERVICES") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

func browser(t *testing.T, path string) context.Context {
	t.Helper()
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path), chromedp.NoSandbox, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.WindowSize(1440, 960),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	ctx, cancelTimeout := context.WithTimeout(ctx, 2*time.Minute)
	t.Cleanup(func() {
		cancelTimeout()
		cancel()
		cancelAlloc()
	})
	if err := chromedp.Do(ctx); err != nil { // start the browser now: a failure to launch is reported as such
		t.Fatalf("start %s: %v", path, err)
	}
	return ctx
}

// pageState is what the page shows, read from its DOM.
type pageState struct {
	Model     string `json:"model"`
	Price     string `json:"price"`
	Last      string `json:"last"`
	Asof      string `json:"asof"`
	State     string `json:"state"`
	Code      string `json:"code"`
	Error     string `json:"error"`
	Conn      string `json:"conn"`
	Candles   int    `json:"candles"`
	Predicted int    `json:"predicted"`
	Realized  int    `json:"realized"`
	Scores    int    `json:"scores"`
	Quality   string `json:"quality"`
	GapOpen   bool   `json:"gapOpen"`
	Degraded  bool   `json:"degraded"`
	Ready     string `json:"ready"`
	Band      int    `json:"band"`
	Vol       int    `json:"vol"`
	VolText   string `json:"volText"`
	Pup       string `json:"pup"`
	// ProductScores is the products' live scores line under the rolling error.
	ProductScores string `json:"productScores"`
	// Prequential is the text of the 1 h / 1 d skill table.
	Prequential string `json:"prequential"`
}

const readPage = `(() => {
  const t = (id) => document.getElementById(id).textContent.trim();
  const chart = document.getElementById('chart').dataset;
  return {
    model: t('pred-model'), price: t('pred-price'), last: t('pred-last'), asof: t('pred-asof'),
    state: t('pred-state'), code: document.getElementById('pred-state').dataset.code || '',
    error: document.getElementById('pred-error').hidden ? '' : t('pred-error'), conn: t('conn'),
    candles: +(chart.candles || 0), predicted: +(chart.predicted || 0), realized: +(chart.realized || 0),
    scores: document.querySelectorAll('#scores tr:not(:has(.muted))').length,
    quality: t('pred-quality'), gapOpen: document.getElementById('pred-quality').dataset.gapOpen === 'true',
    degraded: document.getElementById('pred-quality').dataset.degraded === 'true', ready: t('ready'),
    band: +(chart.band || 0), vol: +(chart.vol || 0), volText: t('pred-vol'), pup: t('pred-pup'), productScores: t('product-scores'),
    prequential: t('prequential'),
  };
})()`

// waitPage polls the page until cond (JavaScript over s, a pageState) holds.
func waitPage(t *testing.T, ctx context.Context, cond string) pageState {
	t.Helper()
	expr := fmt.Sprintf(`(() => { const s = %s; return (%s) ? s : null; })()`, readPage, cond)
	got, err := chromedp.Run(ctx, chromedp.Poll[pageState](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		now, _ := chromedp.Run(ctx, chromedp.Evaluate[pageState](readPage))
		t.Fatalf("page never satisfied %s: %v\npage: %+v", cond, err, now)
	}
	return got
}

func screenshot(t *testing.T, ctx context.Context, path string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("wrote %s (%d bytes)", path, len(png))
}

// pageErrors collects uncaught exceptions and console errors of the page.
type pageErrors struct {
	mu   sync.Mutex
	msgs []string
}

func consoleErrors(t *testing.T, ctx context.Context) *pageErrors {
	t.Helper()
	pe := &pageErrors{}
	msgs := chromedp.Console(ctx)
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.IsException() || m.Type == "error" {
				pe.mu.Lock()
				pe.msgs = append(pe.msgs, m.String())
				pe.mu.Unlock()
			}
		}
	}()
	return pe
}

// check fails on page errors, except the 503 of the cold pair, which the
// browser logs as a failed resource load and the page shows as a badge.
func (pe *pageErrors) check(t *testing.T) {
	t.Helper()
	pe.mu.Lock()
	defer pe.mu.Unlock()
	for _, m := range pe.msgs {
		if strings.Contains(m, "503") {
			continue
		}
		t.Errorf("page error: %s", m)
	}
}
