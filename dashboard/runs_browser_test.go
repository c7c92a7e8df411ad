package dashboard_test

import (
	"context"
	"log/slog"
	"net"
	"net/url"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/tickcast/tickcast/api"
	"github.com/tickcast/tickcast/dashboard"
	"github.com/tickcast/tickcast/online"
	"github.com/tickcast/tickcast/predict"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/scoring"
	"github.com/tickcast/tickcast/stream"
	"github.com/tickcast/tickcast/training/trainingtest"
)

// runsPage is what the runs page shows.
type runsPage struct {
	Rows   int    `json:"rows"`
	View   string `json:"view"`
	Plots  int    `json:"plots"`  // plots drawn (loaded images)
	Differ int    `json:"differ"` // parameter rows marked as differing
	Skills int    `json:"skills"`
	Status string `json:"status"`
}

const readRuns = `(() => ({
  rows: document.querySelectorAll('#runs tr[data-run]').length,
  view: document.getElementById('view').hidden ? '' : (document.getElementById('view').dataset.loaded || ''),
  plots: [...document.querySelectorAll('#view img')].filter((i) => i.complete && i.naturalWidth > 0).length,
  differ: document.querySelectorAll('#view tr.differs').length,
  skills: document.querySelectorAll('#view table').length,
  status: document.getElementById('status').textContent,
}))()`

// TestRunsPageInBrowser opens the training runs page in headless Chromium
// against the real API server over two real runs (trainingtest.Runs): the
// table lists both, and the compare view sets them side by side with their
// plots drawn from the runs' folders.
func TestRunsPageInBrowser(t *testing.T) {
	if testing.Short() {
		t.Skip("browser test against a real API server; skipped with -short")
	}
	chrome := chromium(t)
	dir := t.TempDir()
	ids := trainingtest.Runs(t, dir)
	base := runsServer(t, dir)
	ctx := browser(t, chrome)
	errs := consoleErrors(t, ctx)
	page := base + "/runs?a=" + url.QueryEscape(ids[0]) + "&b=" + url.QueryEscape(ids[1])
	if err := chromedp.Do(ctx, chromedp.Navigate(page)); err != nil {
		t.Fatalf("open %s: %v", page, err)
	}
	cond := `s.rows === 2 && s.view.startsWith('compare') && s.plots >= 8 && s.differ >= 1`
	expr := `(() => { const s = ` + readRuns + `; return (` + cond + `) ? s : null; })()`
	got, err := chromedp.Run(ctx, chromedp.Poll[runsPage](expr, chromedp.WithPollingInterval(100*time.Millisecond), chromedp.WithPollingTimeout(30*time.Second)))
	if err != nil {
		now, _ := chromedp.Run(ctx, chromedp.Evaluate[runsPage](readRuns))
		t.Fatalf("the runs page never showed the comparison (%s): %v\npage: %+v", cond, err, now)
	}
	t.Logf("runs page: %+v", got)
	if path := os.Getenv(EnvScreenshot); path != "" {
		screenshot(t, ctx, path)
	}
	errs.check(t)
}

// runsServer serves the API and the dashboard over data directory dir.
func runsServer(t *testing.T, dir string) string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	log := slog.New(slog.DiscardHandler)
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	svc, err := predict.New(predict.Config{Registry: reg, Features: &online.Latest{}, Clock: predict.NewMarketClock(1), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	scorer, err := scoring.New(scoring.Config{Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	srv, err := api.New(api.Config{Predictions: svc, Scores: scorer, Hub: stream.NewHub(stream.Config{Logger: log}), Registry: reg,
		DataDir: dir, Dashboard: dashboard.Handler(), Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := srv.Serve(ctx, ln); err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
		svc.Close()
	})
	return "http://" + ln.Addr().String()
}
