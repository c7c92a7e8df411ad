package api

import (
	"log/slog"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/scoring"
)

// metrics lives on its own registry: two Servers in one process (tests)
// never collide, and nothing registers behind our back.
type metrics struct {
	reg      *prometheus.Registry
	duration *prometheus.HistogramVec
	cache    *prometheus.CounterVec
}

func newMetrics(s *Server) *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "tickcast_http_request_duration_seconds",
			Help:    "HTTP request duration by route pattern, method and status code.",
			Buckets: []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10},
		}, []string{"route", "method", "code"}),
		cache: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "tickcast_prediction_cache_total",
			Help: "Predictions served over HTTP, by whether the cache answered.",
		}, []string{"result"}),
	}
	m.cache.WithLabelValues("hit")
	m.cache.WithLabelValues("miss")
	m.reg.MustRegister(
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.duration, m.cache,
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tickcast_prediction_cache_errors_total",
			Help: "Prediction cache reads and writes that failed (the request was served uncached).",
		}, func() float64 { return float64(s.cfg.Predictions.CacheErrors()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tickcast_feature_rows_rejected_total",
			Help: "Feature rows not served: ±Inf in a feature, or NaN in one that may not be missing (each row once).",
		}, func() float64 { return float64(s.cfg.Predictions.RejectedRows()) }),
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Name: "tickcast_stream_clients",
			Help: "WebSocket clients connected to /v1/stream.",
		}, func() float64 { return float64(s.cfg.Hub.Clients()) }),
		prometheus.NewCounterFunc(prometheus.CounterOpts{
			Name: "tickcast_stream_dropped_total",
			Help: "WebSocket clients dropped for being too slow.",
		}, func() float64 { return float64(s.cfg.Hub.Dropped()) }),
		stateCollector{s},
	)
	return m
}

// handler serves the API's metrics and more's, what can be gathered even
// when a collector fails: a scrape with a gap beats no scrape.
func (m *metrics) handler(log *slog.Logger, more prometheus.Gatherer) http.Handler {
	var g prometheus.Gatherer = m.reg
	if more != nil {
		g = prometheus.Gatherers{m.reg, more}
	}
	return promhttp.HandlerFor(g, promhttp.HandlerOpts{
		Registry:      m.reg,
		ErrorHandling: promhttp.ContinueOnError,
		ErrorLog:      slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	})
}

func (m *metrics) request(route, method, code string, d time.Duration) {
	m.duration.WithLabelValues(route, method, code).Observe(d.Seconds())
}

func (m *metrics) served(cached bool) {
	if cached {
		m.cache.WithLabelValues("hit").Inc()
	} else {
		m.cache.WithLabelValues("miss").Inc()
	}
}

// stateCollector reads the models, feature ages and scores at scrape time,
// so the gauges never go stale and series of removed models disappear.
type stateCollector struct{ s *Server }

var (
	descModelVersion = prometheus.NewDesc("tickcast_model_version",
		"Version of the champion return model serving a pair and horizon.", []string{"pair", "horizon", "name"}, nil)
	descProductVersion = prometheus.NewDesc("tickcast_product_model_version",
		"Version of the champion model serving a pair, horizon and product other than return (vol, quantiles, p_up).",
		[]string{"pair", "horizon", "product", "name"}, nil)
	descFeatureAge = prometheus.NewDesc("tickcast_feature_age_seconds",
		"Age of the newest feature row of a pair on the market clock.", []string{"pair"}, nil)
	descMAE = prometheus.NewDesc("tickcast_prediction_mae",
		"Rolling mean absolute error of served predictions' log returns, and of the zero-return baseline.",
		[]string{"pair", "horizon", "model"}, nil)
	descSkill = prometheus.NewDesc("tickcast_prediction_skill",
		"Rolling skill of served predictions: 1 - MAE / baseline MAE.", []string{"pair", "horizon"}, nil)
	descScored = prometheus.NewDesc("tickcast_predictions_scored",
		"Predictions in the rolling scoring window.", []string{"pair", "horizon"}, nil)
	descProductScore = prometheus.NewDesc("tickcast_product_score",
		"Rolling live score of a product beside its baseline: vol_mae, vol_baseline_mae (last-rv), band_coverage, "+
			"band_baseline_coverage (last-rv Gaussian), brier, brier_baseline (0.5); only once the product was scored.",
		[]string{"pair", "horizon", "metric"}, nil)
	descPreqSkill = prometheus.NewDesc("tickcast_prequential_skill",
		"Prequential skill of a product over a window of market time (1h, 1d): 1 - model loss / baseline loss; only once scored.",
		[]string{"pair", "horizon", "product", "window"}, nil)
	descPreqN = prometheus.NewDesc("tickcast_prequential_n",
		"Predictions scored for a product in a window of market time (1h, 1d).",
		[]string{"pair", "horizon", "product", "window"}, nil)
	descPreqLoss = prometheus.NewDesc("tickcast_prequential_loss",
		"Mean loss of a product's model and of its baseline over a window of market time: MAE (return, vol), "+
			"pinball (quantiles), Brier (p_up); only once scored.",
		[]string{"pair", "horizon", "product", "window", "model"}, nil)
)

func (stateCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descModelVersion, descProductVersion, descFeatureAge, descMAE, descSkill, descScored, descProductScore,
		descPreqSkill, descPreqN, descPreqLoss} {
		ch <- d
	}
}

func (sc stateCollector) Collect(ch chan<- prometheus.Metric) {
	pairs := map[string]bool{}
	for _, c := range sc.s.cfg.Predictions.Champions() {
		slug := market.PairSlug(c.Pair)
		if c.Product != "" {
			ch <- prometheus.MustNewConstMetric(descProductVersion, prometheus.GaugeValue, float64(c.Meta.Version),
				slug, strconv.Itoa(c.Horizon), c.Product, c.Meta.Name)
			continue
		}
		ch <- prometheus.MustNewConstMetric(descModelVersion, prometheus.GaugeValue, float64(c.Meta.Version),
			slug, strconv.Itoa(c.Horizon), c.Meta.Name)
		if !pairs[c.Pair] {
			pairs[c.Pair] = true
			if age, ok := sc.s.cfg.Predictions.FeatureAge(c.Pair); ok {
				ch <- prometheus.MustNewConstMetric(descFeatureAge, prometheus.GaugeValue, age.Seconds(), slug)
			}
		}
	}
	for _, sc := range sc.s.cfg.Scores.Scores() {
		slug, h := market.PairSlug(sc.Pair), strconv.Itoa(sc.Horizon)
		ch <- prometheus.MustNewConstMetric(descMAE, prometheus.GaugeValue, sc.MAE, slug, h, "champion")
		ch <- prometheus.MustNewConstMetric(descMAE, prometheus.GaugeValue, sc.BaselineMAE, slug, h, "zero_return")
		ch <- prometheus.MustNewConstMetric(descSkill, prometheus.GaugeValue, sc.Skill, slug, h)
		ch <- prometheus.MustNewConstMetric(descScored, prometheus.GaugeValue, float64(sc.N), slug, h)
		productMetrics(ch, sc.Products, slug, h)
		prequentialMetrics(ch, sc.Windows, slug, h)
	}
}

// prequentialMetrics emits every window's n, and the losses and skill of
// the products that have rows.
func prequentialMetrics(ch chan<- prometheus.Metric, ws map[string]scoring.WindowScore, slug, h string) {
	for name, w := range ws {
		for _, p := range w.ByProduct() {
			ch <- prometheus.MustNewConstMetric(descPreqN, prometheus.GaugeValue, float64(p.N), slug, h, p.Product, name)
			if p.N == 0 {
				continue
			}
			ch <- prometheus.MustNewConstMetric(descPreqSkill, prometheus.GaugeValue, p.Skill.Skill, slug, h, p.Product, name)
			ch <- prometheus.MustNewConstMetric(descPreqLoss, prometheus.GaugeValue, p.Loss, slug, h, p.Product, name, "model")
			ch <- prometheus.MustNewConstMetric(descPreqLoss, prometheus.GaugeValue, p.BaselineLoss, slug, h, p.Product, name, "baseline")
		}
	}
}

// productMetrics emits the products' live scores that have rows.
func productMetrics(ch chan<- prometheus.Metric, ps scoring.ProductScore, slug, h string) {
	for _, m := range []struct {
		n      int
		name   string
		values [2]float64
		base   string
	}{
		{ps.VolN, "vol_mae", [2]float64{ps.VolMAE, ps.VolBaselineMAE}, "vol_baseline_mae"},
		{ps.BandN, "band_coverage", [2]float64{ps.BandCoverage, ps.BandBaselineCov}, "band_baseline_coverage"},
		{ps.BrierN, "brier", [2]float64{ps.Brier, ps.BrierBaseline}, "brier_baseline"},
	} {
		if m.n > 0 {
			ch <- prometheus.MustNewConstMetric(descProductScore, prometheus.GaugeValue, m.values[0], slug, h, m.name)
			ch <- prometheus.MustNewConstMetric(descProductScore, prometheus.GaugeValue, m.values[1], slug, h, m.base)
		}
	}
}
