package redis

import "github.com/prometheus/client_golang/prometheus"

var (
	descBreakerState = prometheus.NewDesc("tickcast_redis_breaker_state",
		"Circuit breaker of the Redis cache: 0 closed (calls go to Redis), 1 open (calls skip it), 2 half-open (a probe in flight).",
		nil, nil)
	descBreakerOpens = prometheus.NewDesc("tickcast_redis_breaker_opens_total",
		"Times the Redis cache's circuit breaker opened.", nil, nil)
	descCacheErrors = prometheus.NewDesc("tickcast_redis_cache_errors_total",
		"Redis cache calls sent that failed or timed out, by op.", []string{"op"}, nil)
	descCacheSkipped = prometheus.NewDesc("tickcast_redis_cache_skipped_total",
		"Redis cache calls not sent because the circuit breaker was open, by op.", []string{"op"}, nil)
)

// Collector returns the client's cache metrics, read at scrape time, for
// the caller's Prometheus registry.
func (c *Client) Collector() prometheus.Collector { return collector{c} }

// Collector is the metrics of the client c belongs to.
func (c *Cache) Collector() prometheus.Collector { return c.c.Collector() }

type collector struct{ c *Client }

func (collector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{descBreakerState, descBreakerOpens, descCacheErrors, descCacheSkipped} {
		ch <- d
	}
}

func (m collector) Collect(ch chan<- prometheus.Metric) {
	state, opens := m.c.Breaker()
	st := &m.c.stats
	ch <- prometheus.MustNewConstMetric(descBreakerState, prometheus.GaugeValue, float64(state))
	ch <- prometheus.MustNewConstMetric(descBreakerOpens, prometheus.CounterValue, float64(opens))
	ch <- prometheus.MustNewConstMetric(descCacheErrors, prometheus.CounterValue, float64(st.getErrors.Load()), "get")
	ch <- prometheus.MustNewConstMetric(descCacheErrors, prometheus.CounterValue, float64(st.setErrors.Load()), "set")
	ch <- prometheus.MustNewConstMetric(descCacheSkipped, prometheus.CounterValue, float64(st.getSkipped.Load()), "get")
	ch <- prometheus.MustNewConstMetric(descCacheSkipped, prometheus.CounterValue, float64(st.setSkipped.Load()), "set")
}
