package main

import (
	"context"
	"flag"
	"fmt"
	"strings"

	"github.com/tickcast/tickcast/connect"
)

// cmdTopics manages the Kafka topics of the distributed stages: apply
// (create, idempotent) and list.
func cmdTopics(ctx context.Context, e env, args []string) error {
	if len(args) == 0 {
		fmt.Fprintln(e.stderr, "usage: tickcast topics apply --brokers B [--partitions 6] [--replication 1]\n"+
			"       tickcast topics list --brokers B")
		return errUsage
	}
	fs := flag.NewFlagSet("topics "+args[0], flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	brokers := fs.String("brokers", e.getenv("TICKCAST_KAFKA_BROKERS"), "seed brokers, comma-separated ($TICKCAST_KAFKA_BROKERS)")
	partitions := fs.Int("partitions", 6, "partitions per topic (fixed once created: pairs are placed by murmur2(pair) mod partitions)")
	replication := fs.Int("replication", 1, "replication factor")
	if err := fs.Parse(args[1:]); err != nil || fs.NArg() > 0 {
		return errUsage
	}
	if *brokers == "" {
		return fmt.Errorf("topics: --brokers is required: %w", errUsage)
	}
	seeds := strings.Split(*brokers, ",")
	switch args[0] {
	case "apply":
		if *partitions < 1 || *replication < 1 || *replication > 1<<15-1 || *partitions > 1<<31-1 {
			return fmt.Errorf("topics apply: --partitions and --replication must be positive: %w", errUsage)
		}
		states, err := connect.ApplyKafkaTopics(ctx, seeds, int32(*partitions), int16(*replication))
		if err != nil {
			return fmt.Errorf("topics apply: %w", err)
		}
		printTopics(e, states)
		return nil
	case "list":
		states, err := connect.ListKafkaTopics(ctx, seeds)
		if err != nil {
			return fmt.Errorf("topics list: %w", err)
		}
		printTopics(e, states)
		return nil
	}
	return fmt.Errorf("topics %q: want apply or list: %w", args[0], errUsage)
}

func printTopics(e env, states []connect.KafkaTopicState) {
	fmt.Fprintf(e.stdout, "%-10s %10s %11s %14s %8s %s\n", "TOPIC", "PARTITIONS", "REPLICATION", "RETENTION_MS", "CLEANUP", "")
	for _, s := range states {
		note := ""
		if s.Created {
			note = "created"
		}
		fmt.Fprintf(e.stdout, "%-10s %10d %11d %14s %8s %s\n", s.Name, s.Partitions, s.Replication,
			s.Config["retention.ms"], s.Config["cleanup.policy"], note)
	}
}
