package redis

import (
	"context"
	"fmt"
	"log/slog"

	goredis "github.com/redis/go-redis/v9"
)

// RouteLogs sends go-redis' own messages (dial failures, pool events),
// which it otherwise prints to stderr, to l at Warn level. go-redis keeps
// one logger per process, so this is for main to call once.
func RouteLogs(l *slog.Logger) { goredis.SetLogger(slogPrintf{l}) }

type slogPrintf struct{ l *slog.Logger }

func (s slogPrintf) Printf(ctx context.Context, format string, v ...any) {
	s.l.WarnContext(ctx, fmt.Sprintf(format, v...), "component", "go-redis")
}
