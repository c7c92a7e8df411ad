package history_test

import (
	"testing"
	"time"

	"github.com/tickcast/tickcast/history"
)

func at(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestChunks(t *testing.T) {
	day := 24 * time.Hour
	tests := []struct {
		name     string
		from, to string
		size     time.Duration
		want     [][2]string
	}{
		{"days", "2025-05-20T00:00:00Z", "2025-05-22T12:00:00Z", day, [][2]string{
			{"2025-05-20T00:00:00Z", "2025-05-21T00:00:00Z"}, {"2025-05-21T00:00:00Z", "2025-05-22T00:00:00Z"}, {"2025-05-22T00:00:00Z", "2025-05-22T12:00:00Z"}}},
		{"cut at from, aligned to UTC days", "2025-05-20T13:30:00Z", "2025-05-21T01:00:00Z", day, [][2]string{
			{"2025-05-20T13:30:00Z", "2025-05-21T00:00:00Z"}, {"2025-05-21T00:00:00Z", "2025-05-21T01:00:00Z"}}},
		{"weeks counted from from's day", "2025-05-20T06:00:00Z", "2025-06-05T00:00:00Z", 7 * day, [][2]string{
			{"2025-05-20T06:00:00Z", "2025-05-27T00:00:00Z"}, {"2025-05-27T00:00:00Z", "2025-06-03T00:00:00Z"}, {"2025-06-03T00:00:00Z", "2025-06-05T00:00:00Z"}}},
		{"minutes", "2019-07-01T00:00:03Z", "2019-07-01T00:25:00Z", 10 * time.Minute, [][2]string{
			{"2019-07-01T00:00:03Z", "2019-07-01T00:10:00Z"}, {"2019-07-01T00:10:00Z", "2019-07-01T00:20:00Z"}, {"2019-07-01T00:20:00Z", "2019-07-01T00:25:00Z"}}},
		{"one chunk", "2025-05-20T00:00:00Z", "2025-05-20T00:01:00Z", day, [][2]string{{"2025-05-20T00:00:00Z", "2025-05-20T00:01:00Z"}}},
		{"empty range", "2025-05-20T00:00:00Z", "2025-05-20T00:00:00Z", day, nil},
		{"reversed range", "2025-05-21T00:00:00Z", "2025-05-20T00:00:00Z", day, nil},
		{"no size", "2025-05-20T00:00:00Z", "2025-05-21T00:00:00Z", 0, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := history.Chunks("BTC/USD", at(tt.from), at(tt.to), tt.size)
			if len(got) != len(tt.want) {
				t.Fatalf("%d chunks %v, want %d", len(got), got, len(tt.want))
			}
			for i, w := range tt.want {
				if got[i].Pair != "BTC/USD" || !got[i].From.Equal(at(w[0])) || !got[i].To.Equal(at(w[1])) {
					t.Errorf("chunk %d = %v, want [%s, %s)", i, got[i], w[0], w[1])
				}
			}
		})
	}
}
