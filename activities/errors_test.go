package activities_test

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"testing"

	"go.temporal.io/sdk/temporal"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/market"
)

// TemporalError is the one mapping of codes to Temporal application errors.
func TestTemporalError(t *testing.T) {
	for _, tc := range []struct {
		name      string
		err       error
		typ       string // "" = returned as it is
		retryable bool
	}{
		{"invalid", market.Errorf(market.CodeInvalid, "horizon 0"), market.CodeInvalid, false},
		{"the sentinel", fmt.Errorf("pair %q: %w", "X", market.ErrInvalid), market.CodeInvalid, false},
		{"not found", fmt.Errorf("load: %w", market.Errorf(market.CodeNotFound, "no model")), market.CodeNotFound, false},
		{"conflict", market.Errorf(market.CodeConflict, "busy"), market.CodeConflict, false},
		{"unavailable", market.Errorf(market.CodeUnavailable, "kraken: %w", io.ErrUnexpectedEOF), market.CodeUnavailable, true},
		{"internal", market.Errorf(market.CodeInternal, "bug"), "", true},
		{"plain", io.EOF, "", true},
	} {
		got := activities.TemporalError(tc.err)
		var appErr *temporal.ApplicationError
		switch {
		case tc.typ == "" && !errors.Is(got, tc.err):
			t.Errorf("%s: %v, want it returned as it is", tc.name, got)
		case tc.typ == "":
		case !errors.As(got, &appErr) || appErr.Type() != tc.typ || appErr.NonRetryable() == tc.retryable:
			t.Errorf("%s: %v, want type %s, retryable %v", tc.name, got, tc.typ, tc.retryable)
		case appErr.Message() != tc.err.Error():
			t.Errorf("%s: message %q, want %q", tc.name, appErr.Message(), tc.err.Error())
		}
	}
	app := temporal.NewApplicationError("x", "Custom")
	if got := activities.TemporalError(app); !errors.Is(got, app) || activities.TemporalError(nil) != nil {
		t.Error("application errors and nil must pass through")
	}
	types := activities.NonRetryableTypes()
	if !slices.Contains(types, market.CodeInvalid) || slices.Contains(types, market.CodeUnavailable) {
		t.Errorf("non-retryable types %q", types)
	}
}
