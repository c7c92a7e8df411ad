package predict

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/registry"
)

// TestModelMaxAge steps the wall clock of one service through a champion's
// life: fresh it serves with its training time; past --model-max-age its
// rollback target (as old) and then the baseline serve, degraded with the
// reason; a freshly trained champion promoted serves again. A baseline
// champion never expires, and the market clock plays no part.
func TestModelMaxAge(t *testing.T) {
	ctx := context.Background()
	f, cfg := newFallbackFixture(t)
	if _, err := f.reg.EnsureBaseline(ctx, ethPair, 3); err != nil { // h3: the baseline is champion
		t.Fatal(err)
	}
	vB, err := f.reg.Version(ctx, ethPair, 1, f.vB)
	if err != nil {
		t.Fatal(err)
	}
	vA, err := f.reg.Version(ctx, ethPair, 1, f.vA)
	if err != nil {
		t.Fatal(err)
	}
	t0 := time.Now().UTC()
	wall := &testClock{now: t0}
	cfg.ModelMaxAge, cfg.Wall = 72*time.Hour, wall
	s := newService(t, cfg)
	expiry := func(m registry.Meta) string {
		return fmt.Sprintf("v%d trained %s, 3d1h ago, past --model-max-age 72h", m.Version, m.CreatedAt.Format(time.RFC3339))
	}
	var vC registry.Meta
	steps := []struct {
		name    string
		setup   func(t *testing.T)
		serving func() registry.Meta // what answers h1
		reason  string               // the h1 degradation; "": none
	}{
		{"fresh: the champion serves", func(*testing.T) {}, func() registry.Meta { return vB }, ""},
		{"72h after training: still serves", func(*testing.T) { wall.Set(vA.CreatedAt.Add(72 * time.Hour)) }, func() registry.Meta { return vB }, ""},
		{"expired: the baseline serves", func(*testing.T) { wall.Set(t0.Add(73 * time.Hour)) }, func() registry.Meta { return registry.Meta{Name: registry.BaselineName} },
			expiry(vB) + "; rollback target " + expiry(vA)},
		{"a fresh champion promoted: it serves", func(t *testing.T) {
			vC = registerChampion(t, f.reg, ethPair, 1, trainArtifact(t, 1, "2", 5))
			vC.CreatedAt = t0.Add(72 * time.Hour).Truncate(time.Second) // trained an hour ago on the wall clock
			rewriteMeta(t, f.path(1, vC.Version, "meta.json"), vC)
		}, func() registry.Meta { return vC }, ""},
	}
	for _, st := range steps {
		st.setup(t)
		if err := s.Refresh(ctx); err != nil {
			t.Fatalf("%s: refresh: %v", st.name, err)
		}
		p, err := s.Predict(ctx, "ETH-USDT", 1, Options{})
		if err != nil {
			t.Fatalf("%s: predict: %v", st.name, err)
		}
		want := st.serving()
		if p.Model != NewModelRef(want) || p.Degraded != (st.reason != "") || !strings.HasPrefix(p.DegradedReason, st.reason) {
			t.Errorf("%s: model %+v degraded %v %q; want %+v, reason %q", st.name, p.Model, p.Degraded, p.DegradedReason, NewModelRef(want), st.reason)
		}
		if want.Version != 0 && (!p.Model.TrainedAt.Equal(want.CreatedAt) || !p.Model.UpdatedAt.Equal(want.CreatedAt)) {
			t.Errorf("%s: trained_at %s updated_at %s, want both %s", st.name, p.Model.TrainedAt, p.Model.UpdatedAt, want.CreatedAt)
		}
		var h1 []Degradation
		for _, d := range s.Degraded() {
			if d.Horizon == 3 {
				t.Errorf("%s: the baseline champion of h3 degraded: %+v", st.name, d)
			}
			if d.Horizon == 1 {
				h1 = append(h1, d)
			}
		}
		if st.reason == "" && len(h1) > 0 {
			t.Errorf("%s: h1 degraded %+v", st.name, h1)
		}
		if st.reason != "" && (len(h1) != 1 || h1[0].Reason != st.reason || h1[0].Serving != 0 || h1[0].Wanted != vB.Version) {
			t.Errorf("%s: Degraded h1 = %+v; want serving v0 for v%d: %q", st.name, h1, vB.Version, st.reason)
		}
	}
}

// TestModelMaxAgeOff: 0 is no limit, however old the champion.
func TestModelMaxAgeOff(t *testing.T) {
	f, cfg := newFallbackFixture(t)
	cfg.Wall = &testClock{now: time.Now().Add(1000 * 24 * time.Hour)}
	s := newService(t, cfg)
	p, err := s.Predict(context.Background(), "ETH-USDT", 1, Options{})
	if err != nil || p.Model.Version != f.vB || p.Degraded || len(s.Degraded()) != 0 {
		t.Errorf("%+v, %v, degraded %+v: want v%d serving", p, err, s.Degraded(), f.vB)
	}
}

// TestModelAgeOfUpdate: an incremental update (TrainedAt before CreatedAt)
// ages from the last full training and says when it was updated.
func TestModelAgeOfUpdate(t *testing.T) {
	created := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name      string
		meta      registry.Meta
		now       time.Time
		maxAge    time.Duration
		trainedAt time.Time
		expired   string
	}{
		{"full training, fresh", registry.Meta{Version: 7, CreatedAt: created}, created.Add(time.Hour), 72 * time.Hour, created, ""},
		{"full training, expired", registry.Meta{Version: 7, CreatedAt: created}, created.Add(74*time.Hour + 30*time.Minute), 72 * time.Hour, created,
			"v7 trained 2026-12-04T12:00:00Z, 3d2h ago, past --model-max-age 72h"},
		{"update of an old training", registry.Meta{Version: 8, CreatedAt: created, TrainedAt: created.Add(-80 * time.Hour)}, created, 72 * time.Hour,
			created.Add(-80 * time.Hour), "v8 trained 2026-12-01T04:00:00Z, 3d8h ago, past --model-max-age 72h"},
		{"short limit", registry.Meta{Version: 2, CreatedAt: created}, created.Add(95 * time.Minute), 90 * time.Minute, created,
			"v2 trained 2026-12-04T12:00:00Z, 1h35m ago, past --model-max-age 1h30m"},
		{"baseline never expires", registry.Meta{Version: 0, CreatedAt: created}, created.Add(1000 * time.Hour), time.Hour, time.Time{}, ""},
		{"no limit", registry.Meta{Version: 7, CreatedAt: created}, created.Add(1000 * time.Hour), 0, created, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Service{cfg: Config{ModelMaxAge: tt.maxAge, Wall: &testClock{now: tt.now}}}
			if got := s.expired(tt.meta); got != tt.expired {
				t.Errorf("expired = %q, want %q", got, tt.expired)
			}
			ref := NewModelRef(tt.meta)
			wantUpdated := tt.meta.CreatedAt
			if tt.meta.Version == 0 {
				wantUpdated = time.Time{}
			}
			if !ref.TrainedAt.Equal(tt.trainedAt) || !ref.UpdatedAt.Equal(wantUpdated) {
				t.Errorf("ref %+v, want trained_at %s updated_at %s", ref, tt.trainedAt, wantUpdated)
			}
			b, _ := json.Marshal(ref)
			if has := strings.Contains(string(b), "trained_at"); has != (tt.meta.Version != 0) {
				t.Errorf("json %s: trained_at present %v, want %v", b, has, tt.meta.Version != 0)
			}
		})
	}
}

// rewriteMeta stores m as the meta.json at path, as a training at
// m.CreatedAt would have.
func rewriteMeta(t *testing.T, path string, m registry.Meta) {
	t.Helper()
	m.Status, m.Reason = "", ""
	b, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o644); err != nil {
		t.Fatal(err)
	}
}
