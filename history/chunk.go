package history

import (
	"fmt"
	"time"
)

// Chunk is one pair's slice [From, To) of a backfill.
type Chunk struct {
	Pair     string
	From, To time.Time
}

func (c Chunk) String() string {
	return fmt.Sprintf("%s [%s, %s)", c.Pair, c.From.UTC().Format(time.RFC3339), c.To.UTC().Format(time.RFC3339))
}

func (c Chunk) holds(t time.Time) bool { return !t.Before(c.From) && t.Before(c.To) }

// Chunks splits [from, to) into chunks at the multiples of size counted from
// the UTC midnight of from, so that whole-day sizes give chunks aligned to
// UTC days; the first and last chunks are cut at from and to. There are none
// when to is not after from or size is not positive.
func Chunks(pair string, from, to time.Time, size time.Duration) []Chunk {
	if size <= 0 || !to.After(from) {
		return nil
	}
	from, to = from.UTC(), to.UTC()
	origin := from.Truncate(24 * time.Hour) // UTC midnight: Truncate counts from a midnight
	start := origin.Add(from.Sub(origin) / size * size)
	var out []Chunk
	for ; start.Before(to); start = start.Add(size) {
		out = append(out, Chunk{Pair: pair, From: later(start, from), To: earlier(start.Add(size), to)})
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
