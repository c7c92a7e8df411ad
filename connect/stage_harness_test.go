package connect

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

// The distributed stages' test harness, shared by the failover tests of
// every stage: replicas as processes, their consumer group as the broker
// sees it, and a topic read from its start.

// startReplica runs `tickcast connect run pipelines/<file>` (bin, built by
// buildTickcast) with vars in its environment and an HTTP address of its
// own, until kill, stop or the test's end; when the test fails, the tail of
// its output is logged.
func startReplica(t *testing.T, bin, name, file string, vars map[string]string) *replica {
	t.Helper()
	r := &replica{name: name, log: &lockedBuffer{}, exited: make(chan struct{})}
	r.cmd = exec.Command(bin, "connect", "run", filepath.Join("pipelines", file))
	r.cmd.Env = os.Environ() // the last value of a key wins
	for k, v := range vars {
		r.cmd.Env = append(r.cmd.Env, k+"="+v)
	}
	r.cmd.Env = append(r.cmd.Env, "TICKCAST_CONNECT_HTTP="+freeLoopback(t))
	r.cmd.Stdout, r.cmd.Stderr = r.log, r.log
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { _ = r.cmd.Wait(); close(r.exited) }()
	t.Cleanup(func() {
		r.kill()
		if t.Failed() {
			t.Logf("replica %s log (tail):\n%s", r.name, tailString(r.log.String(), 3000))
		}
	})
	return r
}

// stageTopics creates the stages' topics on brokers, of partitions and
// replication, and returns a client of them (acks from every in-sync
// replica) and its admin.
func stageTopics(t *testing.T, brokers []string, partitions int32, replication int16) (*kgo.Client, *kadm.Client) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if _, err := ApplyKafkaTopics(ctx, brokers, partitions, replication); err != nil {
		t.Fatal(err)
	}
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.RequiredAcks(kgo.AllISRAcks()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(cl.Close)
	return cl, kadm.NewClient(cl)
}

// replica is one `tickcast connect run` process of a stage (startReplica).
type replica struct {
	name   string
	member string
	cmd    *exec.Cmd
	log    *lockedBuffer
	exited chan struct{}
}

func (r *replica) kill() {
	_ = r.cmd.Process.Kill()
	<-r.exited
}

// stop ends the replica as a user would (SIGTERM): it commits and leaves.
func (r *replica) stop() {
	_ = r.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-r.exited:
	case <-time.After(30 * time.Second):
		r.kill()
	}
}

func freeLoopback(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// buildTickcast builds the binary from this repository (as e2e does).
func buildTickcast(t testing.TB) string { return buildCommand(t, "tickcast") }

// buildCommand builds ./cmd/<name> from this repository.
func buildCommand(t testing.TB, name string) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), name)
	b := exec.Command("go", "build", "-o", bin, "./cmd/"+name)
	b.Dir = ".."
	if msg, err := b.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, msg)
	}
	return bin
}

type lockedBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func tailString(s string, n int) string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

// pairPartition is the partition of a pair's records (keyed by pair, as
// the stages write them) in a topic of n partitions.
func pairPartition(pair string, n int) int32 {
	return int32(kgo.StickyKeyPartitioner(nil).ForTopic("").Partition(&kgo.Record{Key: []byte(pair)}, n))
}

// pairsIn names the pairs whose partition of n is in parts.
func pairsIn(pairs []string, parts []int32, n int) []string {
	var out []string
	for _, p := range pairs {
		if slices.Contains(parts, pairPartition(p, n)) {
			out = append(out, p)
		}
	}
	return out
}

// groupMembers returns the partitions of each member of a stable group;
// nil while it is not stable.
func groupMembers(adm *kadm.Client, group string) map[string][]int32 {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	gs, err := adm.DescribeGroups(ctx, group)
	if err != nil || gs[group].State != "Stable" {
		return nil
	}
	out := map[string][]int32{}
	for _, m := range gs[group].Members {
		out[m.MemberID] = nil
		if a, ok := m.Assigned.AsConsumer(); ok {
			for _, tp := range a.Topics {
				out[m.MemberID] = append(out[m.MemberID], tp.Partitions...)
			}
		}
	}
	return out
}

// waitGroupMember waits for a member of group not in known and returns its ID.
func waitGroupMember(t *testing.T, adm *kadm.Client, group string, known []string) (id string) {
	t.Helper()
	waitStageFor(t, 60*time.Second, "a new member of "+group, func() bool {
		for m := range groupMembers(adm, group) {
			if !slices.Contains(known, m) {
				id = m
				return true
			}
		}
		return false
	})
	return id
}

// waitGroupAssignment waits for a stable group of members holding
// partitions in all and returns their partitions, by member.
func waitGroupAssignment(t *testing.T, adm *kadm.Client, group string, members, partitions int) (owned map[string][]int32) {
	t.Helper()
	waitStageFor(t, 60*time.Second, fmt.Sprintf("%d members of %s holding %d partitions", members, group, partitions), func() bool {
		owned = groupMembers(adm, group)
		n := 0
		for _, ps := range owned {
			n += len(ps)
		}
		return len(owned) == members && n == partitions
	})
	return owned
}

// topicLog is every record of one kind (candles, feature rows) read from a
// topic since its start, in arrival order, each keyed by pair and time
// (a candle's start, a row's ts) and revision.
type topicLog[T any] struct {
	kind   string
	decode func([]byte) (T, error)
	key    func(T) (candleKey, int)

	mu   sync.Mutex
	recs []topicRecord[T]
	last map[string]int64 // per pair, the newest time (Unix ns)
}

type topicRecord[T any] struct {
	v    T
	key  candleKey
	rev  int
	body string
	at   time.Time // the record's (produce) timestamp
}

// consumeFeatures reads the features topic from the start until the test ends.
func consumeFeatures(t *testing.T, brokers []string) *topicLog[market.FeatureRow] {
	return consumeTopic(t, brokers, "features", &topicLog[market.FeatureRow]{kind: KindFeature, decode: wire.DecodeFeatureRow,
		key: func(r market.FeatureRow) (candleKey, int) { return candleKey{r.Pair, r.TS.UnixNano()}, r.Revision }})
}

// consumeTopic fills l from topic, read from its start until the test ends.
func consumeTopic[T any](t *testing.T, brokers []string, topic string, l *topicLog[T]) *topicLog[T] {
	t.Helper()
	cl, err := kgo.NewClient(kgo.SeedBrokers(brokers...), kgo.ConsumeTopics(topic),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()), kgo.FetchMaxWait(100*time.Millisecond))
	if err != nil {
		t.Fatal(err)
	}
	l.last = map[string]int64{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		for ctx.Err() == nil {
			cl.PollFetches(ctx).EachRecord(l.add)
		}
	}()
	t.Cleanup(func() { cancel(); <-done; cl.Close() })
	return l
}

func (l *topicLog[T]) add(r *kgo.Record) {
	for _, hd := range r.Headers {
		if hd.Key == MetaKind && string(hd.Value) != l.kind {
			return
		}
	}
	v, err := l.decode(r.Value)
	if err != nil {
		return
	}
	k, rev := l.key(v)
	if k.pair == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.recs = append(l.recs, topicRecord[T]{v, k, rev, string(r.Value), r.Timestamp})
	l.last[k.pair] = max(l.last[k.pair], k.start)
}

// newest is the newest time of pair so far; zero when none.
func (l *topicLog[T]) newest(pair string) time.Time {
	l.mu.Lock()
	defer l.mu.Unlock()
	if ns, ok := l.last[pair]; ok {
		return time.Unix(0, ns).UTC()
	}
	return time.Time{}
}

// topicMark is how many records had arrived and each pair's newest time.
type topicMark struct {
	n    int
	last map[string]int64
}

func (l *topicLog[T]) mark() topicMark {
	l.mu.Lock()
	defer l.mu.Unlock()
	m := topicMark{n: len(l.recs), last: map[string]int64{}}
	for p, ns := range l.last {
		m.last[p] = ns
	}
	return m
}

// resumeAfter: from killed to the first record of a moved pair produced
// after it, and to the first one newer than what that pair had at before.
func (l *topicLog[T]) resumeAfter(killed time.Time, moved []string, before topicMark) (first, fresh time.Duration) {
	l.mu.Lock()
	defer l.mu.Unlock()
	first, fresh = -1, -1
	for _, r := range l.recs[before.n:] {
		if !slices.Contains(moved, r.key.pair) || r.at.Before(killed) {
			continue
		}
		if first < 0 {
			first = r.at.Sub(killed)
		}
		if fresh < 0 && r.key.start > before.last[r.key.pair] {
			fresh = r.at.Sub(killed)
		}
	}
	return first, fresh
}

// reduce keeps the latest revision per (pair, time), as consumers do; it
// counts the records repeating a (pair, time, revision) and reports those
// whose content differs.
func (l *topicLog[T]) reduce() (latest map[candleKey]topicRecord[T], dups int, conflicts []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	type rev struct {
		k   candleKey
		rev int
	}
	seen := map[rev]string{}
	latest = map[candleKey]topicRecord[T]{}
	for _, r := range l.recs {
		k := rev{r.key, r.rev}
		if body, ok := seen[k]; ok {
			dups++
			if body != r.body {
				conflicts = append(conflicts, fmt.Sprintf("%s %v rev %d:\n%s\n%s",
					r.key.pair, time.Unix(0, r.key.start).UTC(), r.rev, body, r.body))
			}
			continue
		}
		seen[k] = r.body
		if old, ok := latest[r.key]; !ok || r.rev >= old.rev {
			latest[r.key] = r
		}
	}
	return latest, dups, conflicts
}
