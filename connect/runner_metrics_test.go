package connect

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redpanda-data/benthos/v4/public/service"
)

func TestMetricsShared(t *testing.T) {
	pm := NewMetrics()
	a := pm.NewCounterCtor("tickcast_gaps", "kind", "state")
	b := pm.NewCounterCtor("tickcast_gaps", "kind", "state") // a second pipeline
	a("ids", "open").Incr(2)
	b("ids", "open").Incr(1)
	pm.NewCounterCtor("tickcast_gaps", "other")("x").Incr(1) // clashing labels: dropped, no panic
	pm.NewTimerCtor("processor_latency_ns", "label")("candles").Timing(int64(time.Millisecond))
	pm.NewGaugeCtor("tickcast_kraken_clock_offset_ms")().Set(-12)
	got := scrape(pm)
	for _, want := range []string{`tickcast_gaps{kind="ids",state="open"} 3`, "tickcast_kraken_clock_offset_ms -12",
		`benthos_processor_latency_seconds_count{label="candles"} 1`} {
		if !strings.Contains(got, want+"\n") {
			t.Errorf("no %q in\n%s", want, got)
		}
	}
}

// The in-process pipeline's own metrics reach the registry.
func TestMetricsFromStream(t *testing.T) {
	pm := NewMetrics()
	env, err := NewEnvironment(Deps{})
	if err != nil {
		t.Fatal(err)
	}
	if err := pm.register(env); err != nil {
		t.Fatal(err)
	}
	b := env.NewStreamBuilder()
	if err := b.SetYAML(`
input:
  generate: {mapping: 'root = "x"', count: 3, interval: ""}
output:
  drop: {}
`); err != nil {
		t.Fatal(err)
	}
	if err := b.SetMetricsYAML(metricsYAML); err != nil {
		t.Fatal(err)
	}
	s, err := b.Build()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Run(ctx); err != nil {
		t.Fatal(err)
	}
	if got := scrape(pm); !strings.Contains(got, "benthos_input_received{label=\"\",path=\"root.input\"} 3\n") {
		t.Fatalf("input_received is not 3:\n%s", got)
	}
	var _ service.MetricsExporter = pm
}

func scrape(pm *Metrics) string {
	w := httptest.NewRecorder()
	promhttp.HandlerFor(pm.reg, promhttp.HandlerOpts{}).ServeHTTP(w, httptest.NewRequest("GET", "/metrics", nil))
	return w.Body.String()
}
