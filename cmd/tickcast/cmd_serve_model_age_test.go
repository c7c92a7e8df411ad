package main

import (
	"errors"
	"testing"
	"time"
)

// TestServeFlagModelMaxAge: serve and run share --model-max-age, 72h unless
// set, 0 for no limit, never negative.
func TestServeFlagModelMaxAge(t *testing.T) {
	parse := map[string]func(args ...string) (time.Duration, error){
		"serve": func(args ...string) (time.Duration, error) {
			f, err := parseServeFlags(testEnv(envOf(nil)), append([]string{"--redis", "127.0.0.1:1"}, args...))
			if err != nil {
				return 0, err
			}
			return f.serve.modelMaxAge, nil
		},
		"run": func(args ...string) (time.Duration, error) {
			f, err := parseRunFlags(testEnv(envOf(nil)), args)
			if err != nil {
				return 0, err
			}
			return f.serve.modelMaxAge, nil
		},
	}
	tests := []struct {
		args []string
		want time.Duration
		bad  bool
	}{
		{nil, 72 * time.Hour, false},
		{[]string{"--model-max-age", "0"}, 0, false},
		{[]string{"--model-max-age", "1h30m"}, 90 * time.Minute, false},
		{[]string{"--model-max-age", "-1h"}, 0, true},
		{[]string{"--model-max-age", "3 days"}, 0, true},
	}
	for cmd, p := range parse {
		for _, tt := range tests {
			got, err := p(tt.args...)
			switch {
			case tt.bad && !errors.Is(err, errUsage):
				t.Errorf("%s %v: %v, want a usage error", cmd, tt.args, err)
			case !tt.bad && (err != nil || got != tt.want):
				t.Errorf("%s %v: %s, %v; want %s", cmd, tt.args, got, err, tt.want)
			}
		}
	}
}
