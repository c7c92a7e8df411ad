package redis_test

import (
	"flag"
	"log/slog"
	"os"
	"testing"

	"github.com/tickcast/tickcast/redis"
)

func TestMain(m *testing.M) {
	// The failure tests make go-redis complain on purpose; -v shows it.
	flag.Parse()
	if !testing.Verbose() {
		redis.RouteLogs(slog.New(slog.DiscardHandler))
	}
	os.Exit(m.Run())
}
