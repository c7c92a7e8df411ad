package connect

import (
	"context"
	"net/http"
	"strings"
	"sync"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redpanda-data/benthos/v4/public/service"
)

// metricsName is the Benthos metrics exporter that puts the in-process
// pipelines' metrics (tickcast_gaps, tickcast_trades_late, ...,
// and Benthos' own input_received, output_error, ...) on a Prometheus
// registry, served by the API's /metrics beside its own.
const metricsName = "tickcast_prometheus"

// Metrics is a Prometheus registry shared by every pipeline of a process
// (Runner.Metrics): a replay runs one per pair, and their series with
// equal labels add up. It is the Benthos metrics exporter of each.
type Metrics struct {
	reg *prometheus.Registry

	mu         sync.Mutex
	counters   map[string]*prometheus.CounterVec
	gauges     map[string]*prometheus.GaugeVec
	histograms map[string]*prometheus.HistogramVec
}

// NewMetrics returns an empty registry.
func NewMetrics() *Metrics {
	return &Metrics{reg: prometheus.NewRegistry(), counters: map[string]*prometheus.CounterVec{},
		gauges: map[string]*prometheus.GaugeVec{}, histograms: map[string]*prometheus.HistogramVec{}}
}

// Gatherer is the registry, to serve on /metrics.
func (p *Metrics) Gatherer() prometheus.Gatherer { return p.reg }

// register makes the exporter available to env; SetMetricsYAML(metricsYAML), after SetYAML, selects it.
func (p *Metrics) register(env *service.Environment) error {
	return env.RegisterMetricsExporter(metricsName, service.NewConfigSpec().
		Summary("Exports the pipeline's metrics to tickcast's Prometheus /metrics."),
		func(*service.ParsedConfig, *service.Logger) (service.MetricsExporter, error) { return p, nil })
}

const metricsYAML = metricsName + ": {}"

// metricName keeps tickcast's names and prefixes Benthos' own with benthos_.
func metricName(name string) string {
	name = strings.NewReplacer(".", "_", "-", "_").Replace(name)
	if strings.HasPrefix(name, "tickcast_") {
		return name
	}
	return "benthos_" + name
}

func (p *Metrics) NewCounterCtor(name string, labels ...string) service.MetricsExporterCounterCtor {
	p.mu.Lock()
	defer p.mu.Unlock()
	name = metricName(name)
	v, ok := p.counters[name]
	if !ok {
		v = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: "Pipeline counter " + name + "."}, labels)
		if p.reg.Register(v) != nil {
			return func(...string) service.MetricsExporterCounter { return nopMetric{} }
		}
		p.counters[name] = v
	}
	return func(values ...string) service.MetricsExporterCounter {
		c, err := v.GetMetricWithLabelValues(values...)
		if err != nil {
			return nopMetric{}
		}
		return counter{c}
	}
}

func (p *Metrics) NewGaugeCtor(name string, labels ...string) service.MetricsExporterGaugeCtor {
	p.mu.Lock()
	defer p.mu.Unlock()
	name = metricName(name)
	v, ok := p.gauges[name]
	if !ok {
		v = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: "Pipeline gauge " + name + "."}, labels)
		if p.reg.Register(v) != nil {
			return func(...string) service.MetricsExporterGauge { return nopMetric{} }
		}
		p.gauges[name] = v
	}
	return func(values ...string) service.MetricsExporterGauge {
		g, err := v.GetMetricWithLabelValues(values...)
		if err != nil {
			return nopMetric{}
		}
		return gauge{g}
	}
}

// NewTimerCtor makes a histogram in seconds of a Benthos timer (nanoseconds).
func (p *Metrics) NewTimerCtor(name string, labels ...string) service.MetricsExporterTimerCtor {
	p.mu.Lock()
	defer p.mu.Unlock()
	name = strings.TrimSuffix(metricName(name), "_ns") + "_seconds"
	v, ok := p.histograms[name]
	if !ok {
		v = prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: "Pipeline timing " + name + "."}, labels)
		if p.reg.Register(v) != nil {
			return func(...string) service.MetricsExporterTimer { return nopMetric{} }
		}
		p.histograms[name] = v
	}
	return func(values ...string) service.MetricsExporterTimer {
		o, err := v.GetMetricWithLabelValues(values...)
		if err != nil {
			return nopMetric{}
		}
		return timer{o}
	}
}

// HandlerFunc serves the registry in Prometheus' text format: Benthos'
// HTTP server (`tickcast connect run`, http.address) mounts it at /metrics,
// so a stage process run alone is scraped like `tickcast run`'s API.
func (p *Metrics) HandlerFunc() http.HandlerFunc {
	return promhttp.HandlerFor(p.reg, promhttp.HandlerOpts{}).ServeHTTP
}

// RegisterExporter makes the registry available to env as the
// tickcast_prometheus metrics exporter, for pipelines that select it
// (`metrics: {tickcast_prometheus: {}}`, as the stage pipelines do).
func (p *Metrics) RegisterExporter(env *service.Environment) error { return p.register(env) }

// Close keeps the series: the registry outlives each pipeline.
func (p *Metrics) Close(context.Context) error { return nil }

type counter struct{ c prometheus.Counter }

func (c counter) Incr(n int64) { c.c.Add(float64(n)) }

func (c counter) IncrFloat64(n float64) { c.c.Add(n) }

type gauge struct{ g prometheus.Gauge }

func (g gauge) Set(v int64) { g.g.Set(float64(v)) }

func (g gauge) SetFloat64(v float64) { g.g.Set(v) }

type timer struct{ o prometheus.Observer }

func (t timer) Timing(ns int64) { t.o.Observe(float64(ns) / 1e9) }

// nopMetric stands in for a metric whose name or labels clash with an earlier one's.
type nopMetric struct{}

func (nopMetric) Incr(int64)   {}
func (nopMetric) Set(int64)    {}
func (nopMetric) Timing(int64) {}
