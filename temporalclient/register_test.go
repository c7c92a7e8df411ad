package temporalclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/tickcast/tickcast/market"
)

type fakeActivities struct{}

func (fakeActivities) Sentinel(_ context.Context, pair string) (int, error) {
	return 0, fmt.Errorf("pair %q: %w", pair, market.ErrInvalid)
}

func (fakeActivities) Busy(context.Context) error {
	return market.Errorf(market.CodeUnavailable, "store busy")
}

func (fakeActivities) Plain(context.Context) error { return io.ErrUnexpectedEOF }

func (fakeActivities) Fine(_ context.Context, n int) (int, error) { return n + 1, nil }

// Registered activities keep their names and results; their errors leave
// through activities.TemporalError, whatever returned them.
func TestRegisterMapsErrors(t *testing.T) {
	var s testsuite.WorkflowTestSuite
	env := s.NewTestActivityEnvironment()
	registerActivities(env, fakeActivities{})

	v, err := env.ExecuteActivity("Fine", 41)
	var n int
	if err != nil || v.Get(&n) != nil || n != 42 {
		t.Fatalf("Fine: %d, %v", n, err)
	}
	for _, tc := range []struct {
		name, typ string
		args      []any
		retryable bool
	}{
		{"Sentinel", market.CodeInvalid, []any{"X"}, false},
		{"Busy", market.CodeUnavailable, nil, true},
		{"Plain", "", nil, true},
	} {
		_, err := env.ExecuteActivity(tc.name, tc.args...)
		var appErr *temporal.ApplicationError
		if !errors.As(err, &appErr) || (tc.typ != "" && appErr.Type() != tc.typ) || appErr.NonRetryable() == tc.retryable {
			t.Errorf("%s: %v, want type %q, retryable %v", tc.name, err, tc.typ, tc.retryable)
		}
	}
}
