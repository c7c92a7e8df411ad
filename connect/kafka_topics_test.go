package connect

import (
	"context"
	"errors"
	"testing"

	"github.com/twmb/franz-go/pkg/kfake"
)

// apply creates the topics with our retention and cleanup, again changes
// nothing, and other partition counts are refused.
func TestKafkaTopicsApply(t *testing.T) {
	c, err := kfake.NewCluster(kfake.NumBrokers(1))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	seeds, ctx := c.ListenAddrs(), context.Background()
	for range 2 {
		got, err := ApplyKafkaTopics(ctx, seeds, 6, 1)
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 3 || got[0].Name != "trades" || got[0].Partitions != 6 || got[0].Config["retention.ms"] != "259200000" || got[0].Config["cleanup.policy"] != "delete" {
			t.Fatalf("topics %+v", got)
		}
	}
	if _, err := ApplyKafkaTopics(ctx, seeds, 12, 1); !errors.Is(err, ErrKafkaPartitions) {
		t.Fatalf("raising partitions: %v", err)
	}
	if ls, err := ListKafkaTopics(ctx, seeds); err != nil || len(ls) != 3 {
		t.Fatalf("list: %v %v", ls, err)
	}
}
