package connect

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/kafkatest"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/redistest"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/redis"
)

// The distributed stages on a real Kafka broker (issue #14 goals), measured,
// never asserted: `make bench-distributed` (scripts/bench-distributed.sh) sets
// TICKCAST_BENCH_DISTRIBUTED=1; without it both benchmarks skip, so CI and
// `make bench` never run them. Each sub-run starts its own single KRaft
// broker (internal/kafkatest: scripts/kafka.sh defaults, 512 MiB heap) and
// runs stage-candles.yaml and stage-features.yaml, one replica each, as
// in-process streams. Figures go to docs/benchmarks.md.

func benchDistributedGate(b *testing.B) {
	if os.Getenv("TICKCAST_BENCH_DISTRIBUTED") != "1" {
		b.Skip("set TICKCAST_BENCH_DISTRIBUTED=1 (make bench-distributed)")
	}
}

func benchEnvInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// benchPairs are pair names given to copies of the real BTC/USD trades.
var benchPairs = []string{"BTC/USD", "ETH/USD", "SOL/USD", "XRP/USD", "ADA/USD", "DOT/USD", "LTC/USD", "LINK/USD",
	"AVAX/USD", "ATOM/USD", "UNI/USD", "XLM/USD", "BCH/USD", "ETC/USD", "FIL/USD", "AAVE/USD", "ALGO/USD", "TRX/USD",
	"NEAR/USD", "APT/USD", "OP/USD", "ARB/USD", "SUI/USD", "INJ/USD"}

type benchTrade struct {
	rel   time.Duration // from the file's first trade
	price string
	qty   string
	side  string
}

// benchReadTrades reads the real Kraken trade hour as written in the file
// (prices and quantities kept as their text).
func benchReadTrades(b *testing.B) (start time.Time, out []benchTrade) {
	f, err := os.Open(realdata.Path(b, realdata.KrakenTrades1h))
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	rows, err := csv.NewReader(f).ReadAll()
	if err != nil {
		b.Fatal(err)
	}
	for i, r := range rows[1:] { // time_ms,timestamp_utc,price,volume,side
		ms, _ := strconv.ParseInt(r[0], 10, 64)
		ts := time.UnixMilli(ms).UTC()
		if i == 0 {
			start = ts
		}
		out = append(out, benchTrade{ts.Sub(start), r[2], r[3], r[4]})
	}
	return start, out
}

func benchTradeRecord(pair string, id int64, ts time.Time, tr benchTrade) *kgo.Record {
	return &kgo.Record{Topic: "trades", Key: []byte(pair), Timestamp: ts,
		Value: fmt.Appendf(nil, `{"pair":%q,"trade_id":%d,"price":%s,"qty":%s,"side":%q,"ord_type":"market","ts":%q,"source":"kraken-ws"}`,
			pair, id, tr.price, tr.qty, tr.side, ts.Format(time.RFC3339Nano)),
		Headers: []kgo.RecordHeader{{Key: MetaKind, Value: []byte(KindTrade)}, {Key: MetaPair, Value: []byte(pair)}}}
}

func benchTickRecord(pair string, ts time.Time) *kgo.Record {
	return &kgo.Record{Topic: "trades", Key: []byte(pair), Timestamp: ts,
		Headers: []kgo.RecordHeader{{Key: MetaKind, Value: []byte(KindTick)}, {Key: MetaPair, Value: []byte(pair)},
			{Key: MetaTS, Value: []byte(ts.Format(time.RFC3339Nano))}}}
}

// benchBroker starts a fresh single broker with the three topics.
func benchBroker(b *testing.B, partitions int32) (seeds []string, brokers string) {
	begin := time.Now()
	seeds = kafkatest.StartCluster(b, 1).Brokers
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := ApplyKafkaTopics(ctx, seeds, partitions, 1); err != nil {
		b.Fatal(err)
	}
	b.Logf("broker %v ready in %v; topics trades/candles/features with %d partitions, replication 1",
		seeds, time.Since(begin).Round(10*time.Millisecond), partitions)
	return seeds, strings.Join(seeds, ",")
}

func benchStartStage(b *testing.B, file string, vars map[string]string) {
	sb := stageBuilder(b, file, vars)
	if err := sb.SetLoggerYAML(`level: warn`); err != nil {
		b.Fatal(err)
	}
	s, err := sb.Build()
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- s.Run(context.Background()) }()
	b.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		_ = s.Stop(ctx)
		if err := <-done; err != nil && !errors.Is(err, context.Canceled) {
			b.Logf("%s: %v", file, err)
		}
	})
}

// benchObserver reads topics from their start (no group) and timestamps
// every record as it arrives.
func benchObserver(b *testing.B, brokers string, topics []string, each func(r *kgo.Record, at time.Time)) {
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ConsumeTopics(topics...),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(50*time.Millisecond))
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for ctx.Err() == nil {
			fs := cl.PollFetches(ctx)
			at := time.Now()
			fs.EachRecord(func(r *kgo.Record) { each(r, at) })
		}
	}()
	b.Cleanup(func() { cancel(); wg.Wait(); cl.Close() })
}

// benchProduceBacklog produces hours copies of the real hour under each pair
// name (copy h shifted h hours, trade ids continuing), interleaved by time
// across pairs, and waits until the broker has them all.
func benchProduceBacklog(b *testing.B, brokers string, pairs []string, hours int, start time.Time, file []benchTrade) (int, time.Duration) {
	pcl, err := kgo.NewClient(kgo.SeedBrokers(brokers), kgo.ProducerLinger(5*time.Millisecond),
		kgo.MaxBufferedRecords(100_000))
	if err != nil {
		b.Fatal(err)
	}
	defer pcl.Close()
	var perr atomic.Value
	cb := func(_ *kgo.Record, err error) {
		if err != nil {
			perr.Store(err)
		}
	}
	n := 0
	ctx := context.Background()
	begin := time.Now()
	for h := range hours {
		for i, tr := range file {
			ts := start.Add(time.Duration(h)*time.Hour + tr.rel)
			for _, p := range pairs {
				pcl.Produce(ctx, benchTradeRecord(p, int64(h*len(file)+i+1), ts, tr), cb)
				n++
			}
		}
	}
	if err := pcl.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	took := time.Since(begin)
	if err, _ := perr.Load().(error); err != nil {
		b.Fatal(err)
	}
	return n, took
}

// BenchmarkStagesThroughput: N real trades, one Kafka record each, are
// produced to `trades` first (the producer's rate is reported apart); then
// stage-candles and stage-features drain the backlog. The stream: the real
// Kraken BTC/USD hour (2,672 trades) copied under PAIRS pair names, each
// pair's copy k shifted k hours later (prices, quantities, sides and
// in-hour times unchanged; trade ids continue), HOURS copies per pair,
// interleaved by time across pairs.
func BenchmarkStagesThroughput(b *testing.B) {
	benchDistributedGate(b)
	pairs := benchPairs[:benchEnvInt("TICKCAST_BENCH_PAIRS", 8)]
	hours := benchEnvInt("TICKCAST_BENCH_HOURS", 56)
	parts := int32(benchEnvInt("TICKCAST_BENCH_PARTITIONS", 6))
	flush := os.Getenv("TICKCAST_BENCH_FLUSH") // empty: as stage-features.yaml ships
	start, file := benchReadTrades(b)
	for b.Loop() {
		_, brokers := benchBroker(b, parts)
		n, produced := benchProduceBacklog(b, brokers, pairs, hours, start, file)
		b.Logf("produced %d trade records (%d pairs × %d hours × %d trades) in %v: %.0f records/s",
			n, len(pairs), hours, len(file), produced.Round(time.Millisecond), float64(n)/produced.Seconds())

		// Observe candles and features, then run the two stages.
		var mu sync.Mutex
		var firstCandle, lastFeature time.Time
		var candles, features, dups int
		rows := map[string][]byte{}
		var firstDup string
		benchObserver(b, brokers, []string{"candles", "features"}, func(r *kgo.Record, at time.Time) {
			mu.Lock()
			defer mu.Unlock()
			if len(r.Value) == 0 {
				return
			}
			switch r.Topic {
			case "candles":
				if candles == 0 {
					firstCandle = at
				}
				candles++
			case "features":
				var row struct {
					Pair string    `json:"pair"`
					TS   time.Time `json:"ts"`
				}
				_ = json.Unmarshal(r.Value, &row)
				k := row.Pair + row.TS.String()
				if prev, ok := rows[k]; ok {
					if dups++; firstDup == "" {
						firstDup = fmt.Sprintf("%s at offset %d, same value as before: %v", k, r.Offset, string(prev) == string(r.Value))
					}
					return
				}
				rows[k] = r.Value
				features++
				lastFeature = at
			}
		})
		dir := b.TempDir()
		vars := stageVars(brokers, dir)
		delete(vars, "TICKCAST_FLUSH_INTERVAL")
		if flush != "" {
			vars["TICKCAST_FLUSH_INTERVAL"] = flush
		} else {
			flush = "as shipped"
		}
		stagesStart := time.Now()
		benchStartStage(b, "pipelines/stage-candles.yaml", vars)
		benchStartStage(b, "pipelines/stage-features.yaml", vars)
		// A pair's last window stays open (no later trade or tick).
		want := len(pairs) * (hours*60 - 1)
		lastChange, seen := time.Now(), 0
		for {
			time.Sleep(100 * time.Millisecond)
			mu.Lock()
			f := features
			mu.Unlock()
			if f >= want {
				break
			}
			if f != seen {
				seen, lastChange = f, time.Now()
			} else if time.Since(lastChange) > 30*time.Second {
				b.Logf("features stalled at %d of %d", f, want)
				break
			}
		}
		mu.Lock()
		topicSpan := lastFeature.Sub(firstCandle)
		fromStart := lastFeature.Sub(stagesStart)
		nc, nf, nd := candles, features, dups
		if firstDup != "" {
			b.Logf("first repeated row: %s", firstDup)
		}
		mu.Unlock()
		// The store: every pair's rows in Parquet.
		var stored int
		var storedAt time.Time
		for deadline := time.Now().Add(60 * time.Second); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			stored = 0
			for _, p := range pairs {
				rs, err := parquet.ReadFeatures(datadir.Parquet(dir), p, time.Time{}, time.Time{})
				if err == nil {
					stored += len(rs)
				}
			}
			if stored >= nf {
				storedAt = time.Now()
				break
			}
		}
		b.Logf("stages: %d candles seen so far, %d distinct feature rows on the topic (+%d repeated) (want %d), %d rows in the store", nc, nf, nd, want, stored)
		b.Logf("first candle on `candles` → last row on `features`: %v = %.0f trades/s", topicSpan.Round(time.Millisecond), float64(n)/topicSpan.Seconds())
		b.Logf("stages started → last row on `features`: %v = %.0f trades/s (includes connect + group join)", fromStart.Round(time.Millisecond), float64(n)/fromStart.Seconds())
		if !storedAt.IsZero() {
			s := storedAt.Sub(stagesStart)
			b.Logf("stages started → all rows in the store (polled every 250ms, flush_interval %s): %v = %.0f trades/s", flush, s.Round(time.Millisecond), float64(n)/s.Seconds())
		}
		b.ReportMetric(float64(n)/topicSpan.Seconds(), "trades/s")
		b.ReportMetric(float64(n)/produced.Seconds(), "produced/s")
	}
}

// benchLatencies collects latencies per destination.
type benchLatencies struct {
	mu   sync.Mutex
	seen map[string]map[string]bool // destination → pair+ts seen
	lat  map[string][]time.Duration
}

// add records d for the first arrival of (pair, ts) at dest.
func (l *benchLatencies) add(dest, pair string, ts time.Time, d time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.seen == nil {
		l.seen, l.lat = map[string]map[string]bool{}, map[string][]time.Duration{}
	}
	if l.seen[dest] == nil {
		l.seen[dest] = map[string]bool{}
	}
	k := pair + ts.String()
	if l.seen[dest][k] {
		return
	}
	l.seen[dest][k] = true
	l.lat[dest] = append(l.lat[dest], d)
}

// report logs and reports p50/p90/p99/max of dest.
func (l *benchLatencies) report(b *testing.B, dest, what string) {
	l.mu.Lock()
	got := slices.Clone(l.lat[dest])
	l.mu.Unlock()
	if len(got) == 0 {
		b.Logf("%s: no rows", what)
		return
	}
	slices.Sort(got)
	q := func(p float64) time.Duration { return got[min(len(got)-1, int(p*float64(len(got))))] }
	b.Logf("%d feature rows: window end + grace → %s: p50 %v, p90 %v, p99 %v, max %v, min %v",
		len(got), what, q(0.5).Round(time.Millisecond), q(0.9).Round(time.Millisecond), q(0.99).Round(time.Millisecond),
		got[len(got)-1].Round(time.Millisecond), got[0].Round(time.Millisecond))
	b.ReportMetric(float64(q(0.5).Microseconds())/1000, dest+"-p50-ms")
	b.ReportMetric(float64(q(0.99).Microseconds())/1000, dest+"-p99-ms")
	b.ReportMetric(float64(got[len(got)-1].Microseconds())/1000, dest+"-max-ms")
}

// benchStoreWatcher polls the features Parquet files of pairs every 10 ms
// (a stat each); when a file changed it reads it and calls seen for its
// rows (the caller keeps the first arrival).
func benchStoreWatcher(b *testing.B, root string, pairs []string, seen func(pair string, ts, at time.Time)) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		mod := map[string]time.Time{}
		for ctx.Err() == nil {
			time.Sleep(10 * time.Millisecond)
			for _, p := range pairs {
				dir := parquet.PartitionDir(root, parquet.DatasetFeatures, p, time.Now())
				fi, err := os.Stat(dir + "/data.parquet")
				if err != nil || !fi.ModTime().After(mod[p]) {
					continue
				}
				at := time.Now()
				mod[p] = fi.ModTime()
				rows, err := parquet.ReadFeatures(root, p, time.Now().Add(-time.Hour), time.Time{})
				if err != nil {
					continue
				}
				for _, r := range rows {
					seen(p, r.TS, at)
				}
			}
		}
	}()
	b.Cleanup(func() { cancel(); wg.Wait() })
}

// benchOnlineWatcher follows the Redis online store (the rows PUBLISHed
// as stage-features Puts them; what `tickcast serve` replicas follow).
func benchOnlineWatcher(b *testing.B, addr string, seen func(pair string, ts, at time.Time)) {
	ctx, cancel := context.WithCancel(context.Background())
	cl, err := redis.Open(ctx, addr, redis.Options{})
	if err != nil {
		b.Fatal(err)
	}
	sub, err := cl.Features("").Subscribe(ctx)
	if err != nil {
		b.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for row := range sub {
			seen(row.Pair, row.TS, time.Now())
		}
	}()
	b.Cleanup(func() { cancel(); <-done; _ = cl.Close() })
}

// BenchmarkStagesLatency: a live stream at speed 1 (stream clock = wall
// clock). Each of PAIRS pairs gets COPIES copies of the real trade hour, copy
// c started at a different offset into the hour (evenly spaced, wrapping
// round), their trades merged in time order with new ids; trades are
// produced when their time comes, in batches every 100 ms (as the ingest
// stage's output batches), with a tick per pair every second. For every
// feature row, latency = its first arrival − (window end + 2s grace) on the
// `features` topic, in the Redis online store (stage-features' Put, followed
// by subscription) and in the Parquet store (each pair's file polled every
// 10 ms); the first window (partial) is left out. TICKCAST_BENCH_FLUSH sets
// the store's flush_interval (default: the one stage-features.yaml ships).
func BenchmarkStagesLatency(b *testing.B) {
	benchDistributedGate(b)
	pairs := benchPairs[:benchEnvInt("TICKCAST_BENCH_PAIRS", 20)]
	copies := benchEnvInt("TICKCAST_BENCH_COPIES", 12)
	seconds := benchEnvInt("TICKCAST_BENCH_SECONDS", 180)
	parts := int32(benchEnvInt("TICKCAST_BENCH_PARTITIONS", 6))
	interval := time.Duration(benchEnvInt("TICKCAST_BENCH_INTERVAL_SECONDS", 60)) * time.Second
	_, file := benchReadTrades(b)
	const grace = 2 * time.Second
	for b.Loop() {
		_, brokers := benchBroker(b, parts)
		dir := b.TempDir()
		vars := stageVars(brokers, dir)
		delete(vars, "TICKCAST_FLUSH_INTERVAL")
		if f := os.Getenv("TICKCAST_BENCH_FLUSH"); f != "" {
			vars["TICKCAST_FLUSH_INTERVAL"] = f
		}
		vars["TICKCAST_INTERVAL"] = interval.String()
		vars["TICKCAST_REDIS_ADDR"] = redistest.Start(b)
		benchStartStage(b, "pipelines/stage-candles.yaml", vars)
		benchStartStage(b, "pipelines/stage-features.yaml", vars)
		time.Sleep(5 * time.Second) // connect and join the groups

		dur := time.Duration(seconds) * time.Second
		t0 := time.Now().Truncate(time.Second).Add(2 * time.Second)
		type sched struct {
			ts   time.Time
			pair string
			tr   benchTrade
		}
		var all []sched
		for pi, p := range pairs {
			var mine []sched
			for c := range copies {
				off := time.Duration(pi*copies+c) * time.Hour / time.Duration(len(pairs)*copies)
				for _, tr := range file {
					rel := (tr.rel - off + time.Hour) % time.Hour
					if rel < dur {
						mine = append(mine, sched{t0.Add(rel), p, tr})
					}
				}
			}
			all = append(all, mine...)
		}
		slices.SortStableFunc(all, func(x, y sched) int { return x.ts.Compare(y.ts) })
		b.Logf("candles of %v, grace %v", interval, grace)
		b.Logf("%d trades over %v across %d pairs (%d copies each): %.0f trades/s, plus %d ticks/s",
			len(all), dur, len(pairs), copies, float64(len(all))/dur.Seconds(), len(pairs))

		var lat benchLatencies
		first := t0.Truncate(interval).Add(interval)
		seen := func(dest string) func(pair string, ts, at time.Time) {
			return func(pair string, ts, at time.Time) {
				if ts.After(first) {
					lat.add(dest, pair, ts, at.Sub(ts.Add(grace)))
				}
			}
		}
		topic := seen("topic")
		benchObserver(b, brokers, []string{"features"}, func(r *kgo.Record, at time.Time) {
			var row struct {
				Pair string    `json:"pair"`
				TS   time.Time `json:"ts"`
			}
			if json.Unmarshal(r.Value, &row) == nil {
				topic(row.Pair, row.TS, at)
			}
		})
		benchOnlineWatcher(b, vars["TICKCAST_REDIS_ADDR"], seen("online"))
		benchStoreWatcher(b, datadir.Parquet(dir), pairs, seen("store"))

		pcl, err := kgo.NewClient(kgo.SeedBrokers(brokers))
		if err != nil {
			b.Fatal(err)
		}
		ids := map[string]int64{}
		next, nextTick := 0, t0
		for end := t0.Add(dur); ; {
			now := time.Now()
			if now.After(end) {
				break
			}
			var recs []*kgo.Record
			for ; !nextTick.After(now); nextTick = nextTick.Add(time.Second) {
				for _, p := range pairs {
					recs = append(recs, benchTickRecord(p, nextTick))
				}
			}
			for ; next < len(all) && !all[next].ts.After(now); next++ {
				s := all[next]
				ids[s.pair]++
				recs = append(recs, benchTradeRecord(s.pair, ids[s.pair], s.ts, s.tr))
			}
			for _, r := range recs {
				pcl.Produce(context.Background(), r, nil)
			}
			time.Sleep(100 * time.Millisecond)
		}
		flush := vars["TICKCAST_FLUSH_INTERVAL"]
		if flush == "" {
			flush = "as shipped"
		}
		// The last windows' rows, and a flush after them.
		time.Sleep(3*time.Second + min(benchFlushWait(flush), time.Minute))
		pcl.Close()
		lat.report(b, "topic", "row on `features`")
		lat.report(b, "online", "row in the Redis online store")
		lat.report(b, "store", "row in the Parquet store (flush_interval "+flush+")")
	}
}

// benchFlushWait is how long to wait for a last flush of interval f.
func benchFlushWait(f string) time.Duration {
	d, err := time.ParseDuration(f)
	if err != nil {
		return time.Minute
	}
	return d
}

// BenchmarkStagesRSS: the memory goal (RSS of each stage ≤ 100 MB with 10
// pairs) on whole processes: `tickcast-connect run` (built from this
// repository, as the stages run) of stage-candles.yaml and
// stage-features.yaml (the shipped files and defaults) drain a backlog of
// TICKCAST_BENCH_HOURS (default 24) hours of 10 pairs (the throughput benchmark's stream), then idle at the end of
// the stream for 20 s. VmHWM (peak) and VmRSS are read from /proc.
// TICKCAST_BENCH_GOMEMLIMIT sets GOMEMLIMIT in the stages' environment.
func BenchmarkStagesRSS(b *testing.B) {
	benchDistributedGate(b)
	pairs := benchPairs[:benchEnvInt("TICKCAST_BENCH_PAIRS", 10)]
	hours := benchEnvInt("TICKCAST_BENCH_HOURS", 24)
	pprofDir := os.Getenv("TICKCAST_BENCH_PPROF") // heap profiles half-way, into this directory
	start, file := benchReadTrades(b)
	bin := buildCommand(b, "tickcast-connect")
	for b.Loop() {
		_, brokers := benchBroker(b, 6)
		n, _ := benchProduceBacklog(b, brokers, pairs, hours, start, file)
		var mu sync.Mutex
		rows := map[string]bool{}
		benchObserver(b, brokers, []string{"features"}, func(r *kgo.Record, _ time.Time) {
			var row struct {
				Pair string    `json:"pair"`
				TS   time.Time `json:"ts"`
			}
			if json.Unmarshal(r.Value, &row) == nil {
				mu.Lock()
				rows[row.Pair+row.TS.String()] = true
				mu.Unlock()
			}
		})
		dir := b.TempDir()
		var procs []*exec.Cmd
		var addrs []string
		for _, stage := range []string{"stage-candles.yaml", "stage-features.yaml"} {
			args := []string{"run"}
			if pprofDir != "" {
				args = append(args, "-s", "http.debug_endpoints=true")
			}
			// Extra -s settings for both stages, e.g. "input.tickcast_kafka.fetch_max_partition_bytes=262144".
			for _, set := range strings.Fields(os.Getenv("TICKCAST_BENCH_SET")) {
				args = append(args, "-s", set)
			}
			args = append(args, filepath.Join("pipelines", stage))
			addr := freeLoopback(b)
			addrs = append(addrs, addr)
			cmd := exec.Command(bin, args...)
			cmd.Env = append(os.Environ(), "TICKCAST_KAFKA_BROKERS="+brokers, "TICKCAST_DATA_DIR="+dir,
				"TICKCAST_WARM_START="+dir, "TICKCAST_CONNECT_HTTP="+addr)
			if limit := os.Getenv("TICKCAST_BENCH_GOMEMLIMIT"); limit != "" {
				cmd.Env = append(cmd.Env, "GOMEMLIMIT="+limit) // the Go runtime's soft memory limit
			}
			if err := cmd.Start(); err != nil {
				b.Fatal(err)
			}
			procs = append(procs, cmd)
			b.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
		}
		begin := time.Now()
		want := len(pairs) * (hours*60 - 1)
		profiled := pprofDir == ""
		for deadline := time.Now().Add(10 * time.Minute); time.Now().Before(deadline); time.Sleep(200 * time.Millisecond) {
			mu.Lock()
			got := len(rows)
			mu.Unlock()
			if got >= want {
				break
			}
			if !profiled && got >= want/2 {
				profiled = true
				for i, name := range []string{"candles", "features"} {
					benchHeapProfile(b, addrs[i], filepath.Join(pprofDir, "heap-"+name+".pb.gz"))
				}
			}
		}
		drained := time.Since(begin)
		time.Sleep(20 * time.Second)
		b.Logf("%d trades of %d pairs × %d hours drained in %v (%.0f trades/s, whole processes); then 20 s idle",
			n, len(pairs), hours, drained.Round(time.Millisecond), float64(n)/drained.Seconds())
		for i, name := range []string{"candles", "features"} {
			hwm, rss := procMemory(b, procs[i].Process.Pid)
			b.Logf("stage-%s: peak RSS (VmHWM) %.1f MiB = %.1f MB, RSS at the end %.1f MiB", name,
				float64(hwm)/(1<<20), float64(hwm)/1e6, float64(rss)/(1<<20))
			b.ReportMetric(float64(hwm)/1e6, name+"-peak-MB")
		}
	}
}

// benchHeapProfile saves a stage's /debug/pprof/heap to path.
func benchHeapProfile(b *testing.B, addr, path string) {
	resp, err := http.Get("http://" + addr + "/debug/pprof/heap")
	if err != nil {
		b.Logf("heap profile: %v", err)
		return
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err == nil {
		err = os.WriteFile(path, body, 0o644)
	}
	if err != nil {
		b.Logf("heap profile: %v", err)
	}
}

// procMemory reads VmHWM and VmRSS (bytes) of a process.
func procMemory(b *testing.B, pid int) (hwm, rss int64) {
	body, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(body), "\n") {
		f := strings.Fields(line)
		if len(f) < 2 {
			continue
		}
		v, _ := strconv.ParseInt(f[1], 10, 64)
		switch f[0] {
		case "VmHWM:":
			hwm = v << 10
		case "VmRSS:":
			rss = v << 10
		}
	}
	return hwm, rss
}
