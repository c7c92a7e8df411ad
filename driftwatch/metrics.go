package driftwatch

import "github.com/prometheus/client_golang/prometheus"

// Metrics are the drift counters, labelled by pair slug.
type Metrics struct {
	fired   *prometheus.CounterVec // pair, kind
	started *prometheus.CounterVec // pair
}

// NewMetrics returns unregistered counters: register Collectors where the
// API's /metrics gathers.
func NewMetrics() *Metrics {
	return &Metrics{
		fired: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tickcast_drift_fired",
			Help: "Drift detector firings, by pair and kind (psi, regime)."}, []string{"pair", "kind"}),
		started: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "tickcast_drift_train_started",
			Help: "Full retrainings started by drift (duplicates of the hour not counted), by pair."}, []string{"pair"}),
	}
}

// Collectors are the counters to register.
func (m *Metrics) Collectors() []prometheus.Collector {
	return []prometheus.Collector{m.fired, m.started}
}
