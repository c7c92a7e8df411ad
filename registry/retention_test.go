package registry

import (
	"context"
	"slices"
	"testing"
	"time"
)

func TestPrunable(t *testing.T) {
	now := time.Date(2025, 3, 30, 0, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	// v1..v10 registered one a day from March 1st; v10 is 20 days old.
	var ms []Meta
	for v := 0; v <= 10; v++ {
		ms = append(ms, Meta{Version: v, CreatedAt: time.Date(2025, 3, v, 0, 0, 0, 0, time.UTC)})
	}
	at := now.Add(-40 * day)
	aliases := func(ops ...[2]int) Aliases { // {0: champion, 1: challenger; version}
		var a Aliases
		for _, o := range ops {
			name := Champion
			if o[0] == 1 {
				name = Challenger
			}
			if _, err := a.set(name, o[1], "", at); err != nil {
				t.Fatal(err)
			}
		}
		return a
	}
	tests := []struct {
		name string
		a    Aliases
		p    Retention
		want []int
	}{
		{"keeps the newest n", aliases([2]int{0, 0}), Retention{KeepLast: 3, KeepFor: -1}, []int{1, 2, 3, 4, 5, 6, 7}},
		{"keeps the young", aliases([2]int{0, 0}), Retention{KeepLast: -1, KeepFor: 24 * day}, []int{1, 2, 3, 4, 5, 6}},
		{"either rule keeps", aliases([2]int{0, 0}), Retention{KeepLast: 6, KeepFor: 25 * day}, []int{1, 2, 3, 4}},
		{"keeps champion, its rollback chain and the challenger", aliases([2]int{0, 0}, [2]int{0, 2}, [2]int{0, 4}, [2]int{1, 6}),
			Retention{KeepLast: -1, KeepFor: -1}, []int{1, 3, 5, 7, 8, 9}},
		{"defaults keep 5 and 14 days", aliases([2]int{0, 0}), Retention{}, []int{1, 2, 3, 4, 5}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got []int
			for _, m := range prunable(tt.a, ms, tt.p.withDefaults(), now) {
				got = append(got, m.Version)
			}
			if !slices.Equal(got, tt.want) {
				t.Errorf("pruned %v, want %v", got, tt.want)
			}
		})
	}
}

func TestPrune(t *testing.T) {
	ctx := context.Background()
	r, _ := openTest(t)
	if _, err := r.EnsureBaseline(ctx, "ETH/USDT", 1); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		mustRegister(t, r, xgbMeta("ETH/USDT", 0.0004), []byte("model"))
	}
	for _, v := range []int{1, 2} {
		if err := r.SetAlias(ctx, "ETH/USDT", 1, Champion, v, "test"); err != nil {
			t.Fatal(err)
		}
	}
	p := Retention{KeepLast: 2, KeepFor: -1}
	dry, err := r.Prune(ctx, "ETH/USDT", 1, p, true)
	if err != nil || len(dry) != 2 || dry[0].Version != 3 || dry[1].Version != 4 {
		t.Fatalf("dry run = %v, %v; want v3 and v4", dry, err)
	}
	if ms, _ := r.List(ctx, "ETH/USDT", 1); len(ms) != 7 {
		t.Fatalf("a dry run deleted something: %d versions left", len(ms))
	}
	if _, err := r.Prune(ctx, "ETH/USDT", 1, p, false); err != nil {
		t.Fatal(err)
	}
	ms, err := r.List(ctx, "ETH/USDT", 1)
	var left []int
	for _, m := range ms {
		left = append(left, m.Version)
	}
	if err != nil || !slices.Equal(left, []int{0, 1, 2, 5, 6}) {
		t.Fatalf("left %v, %v; want 0 1 2 5 6", left, err)
	}
	if m, err := r.Rollback(ctx, "ETH/USDT", 1, Champion); err != nil || m.Version != 1 {
		t.Errorf("rollback after prune = v%d, %v; want v1", m.Version, err)
	}
	next := mustRegister(t, r, xgbMeta("ETH/USDT", 0.0004), []byte("model"))
	if next.Version != 7 {
		t.Errorf("next version after prune = %d, want 7 (numbers are not reused)", next.Version)
	}
}
