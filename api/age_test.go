package api

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/tickcast/tickcast/registry"
)

// stepClock is a wall clock the test sets.
type stepClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *stepClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *stepClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t
	c.mu.Unlock()
}

// TestModelAge: a prediction names when its model was trained; past
// --model-max-age on the wall clock the baseline answers and /readyz says
// why. Both responses validate against openapi.json.
func TestModelAge(t *testing.T) {
	_, router := loadSpec(t)
	ctx := context.Background()
	wall := &stepClock{t: time.Now()}
	f := newFixture(t, fixtureOpts{maxAge: 72 * time.Hour, wall: wall})
	m := f.register()
	if err := f.reg.SetAlias(ctx, ethPair, 1, registry.Champion, m.Version, "test"); err != nil {
		t.Fatal(err)
	}
	validate := func(target string) {
		req := httptest.NewRequest("GET", target, nil)
		rec := httptest.NewRecorder()
		f.srv.Handler().ServeHTTP(rec, req)
		validateAgainstSpec(t, router, req, rec)
	}
	type prediction struct {
		Model struct {
			Version   int       `json:"version"`
			TrainedAt time.Time `json:"trained_at"`
			UpdatedAt time.Time `json:"updated_at"`
		} `json:"model"`
		Degraded       bool   `json:"degraded"`
		DegradedReason string `json:"degraded_reason"`
	}

	if err := f.pred.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	var p prediction
	f.get("/v1/predictions/ETH-USDT", http.StatusOK, &p)
	if p.Model.Version != m.Version || !p.Model.TrainedAt.Equal(m.CreatedAt) || !p.Model.UpdatedAt.Equal(m.CreatedAt) || p.Degraded {
		t.Errorf("fresh: prediction %+v; want v%d trained and updated at %s", p, m.Version, m.CreatedAt)
	}
	validate("/v1/predictions/ETH-USDT")

	wall.Set(m.CreatedAt.Add(74*time.Hour + 30*time.Minute))
	if err := f.pred.Refresh(ctx); err != nil {
		t.Fatal(err)
	}
	reason := fmt.Sprintf("v%d trained %s, 3d2h ago, past --model-max-age 72h", m.Version, m.CreatedAt.Format(time.RFC3339))
	p = prediction{}
	f.get("/v1/predictions/ETH-USDT", http.StatusOK, &p)
	if p.Model.Version != 0 || !p.Model.TrainedAt.IsZero() || !p.Degraded || p.DegradedReason != reason {
		t.Errorf("expired: prediction %+v; want the baseline, no trained_at, degraded: %q", p, reason)
	}
	var ready statusJSON
	f.get("/readyz", http.StatusOK, &ready)
	if ready.Status != "degraded" || len(ready.Degraded) != 1 || ready.Degraded[0].Reason != reason ||
		ready.Degraded[0].Serving != 0 || ready.Degraded[0].Wanted != m.Version {
		t.Errorf("readyz %+v; want degraded, v0 serving for v%d: %q", ready, m.Version, reason)
	}
	validate("/readyz")
	validate("/v1/predictions/ETH-USDT")
}
