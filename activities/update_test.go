package activities_test

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/training"
)

// UpdateProduct maps the step's outcomes: a baseline champion is a skipped
// result, no error; a corrupt champion artifact (its bytes no longer match
// the recorded SHA-256) and a request with updates off fail without retries.
func TestUpdateProduct(t *testing.T) {
	dir := t.TempDir()
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	vol := registry.Series{Pair: "ETH/USDT", Horizon: 5, Product: registry.ProductVol}
	m, err := reg.Register(ctx, registry.Meta{Pair: vol.Pair, Horizon: 5, Product: vol.Product, Name: "xgboost",
		Params: map[string]string{training.ParamVolScale: "1"}}, []byte("hand-written model bytes"))
	if err != nil {
		t.Fatal(err)
	}
	if err := reg.SetAliasIn(ctx, vol, registry.Champion, m.Version, "test"); err != nil {
		t.Fatal(err)
	}
	flipArtifact(t, dir)
	if _, err := reg.EnsureBaselineIn(ctx, registry.Series{Pair: "ETH/USDT", Horizon: 5, Product: registry.ProductPUp}); err != nil {
		t.Fatal(err)
	}
	a := &activities.Activities{DataDir: dir}
	env := newEnv(a)
	in := activities.UpdateInput{Pair: "eth/usdt", Horizon: 5, Product: "p_up", Method: training.UpdateRefresh, Window: 1440, Shadow: 60}
	if res := run[activities.UpdateStepResult](t, env, a.UpdateProduct, in); res.Status != training.UpdateSkipped || !strings.Contains(res.Reason, "climatology") {
		t.Errorf("baseline champion: %+v, want skipped", res)
	}
	corrupt, off := in, in
	corrupt.Product, off.Method = "vol", training.UpdateOff
	for name, in := range map[string]activities.UpdateInput{"corrupt champion": corrupt, "updates off": off} {
		_, err := env.ExecuteActivity(a.UpdateProduct, in)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || !appErr.NonRetryable() || appErr.Type() != market.CodeInvalid {
			t.Errorf("%s: %v, want a non-retryable %s", name, err, market.CodeInvalid)
		}
		if name == "corrupt champion" && !strings.Contains(err.Error(), training.ErrParentModel.Error()) {
			t.Errorf("%s: %v, want %v", name, err, training.ErrParentModel)
		}
	}
}

// flipArtifact flips a byte of the one model.ubj in dir's registry.
func flipArtifact(t *testing.T, dir string) {
	t.Helper()
	err := filepath.WalkDir(datadir.Registry(dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.Name() != "model.ubj" {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b[0] ^= 0xff
		return os.WriteFile(path, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}
