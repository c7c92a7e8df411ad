package redis

import (
	"context"
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	goredis "github.com/redis/go-redis/v9"

	"github.com/tickcast/tickcast/internal/backoff"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/wire"
)

// DefaultFeaturesPrefix is the key prefix Features uses for an empty prefix.
const DefaultFeaturesPrefix = "tickcast:features"

// Timings of the feature subscribers.
const (
	// syncWait is how long the first Get or All waits for the snapshot to
	// load; afterwards they never wait (an unreachable Redis leaves the
	// snapshot empty or old, and old rows are refused as stale upstream).
	syncWait = time.Second
	// idlePing is how long a subscriber listens in silence before it PINGs
	// the server, so that a dead connection is noticed.
	idlePing = 15 * time.Second
	// Reconnect backoff of the subscribers.
	minBackoff = 50 * time.Millisecond
	maxBackoff = 2 * time.Second
)

// Features is the online feature store on Redis, the newest row per pair,
// shared by processes: the pipeline Puts, API replicas read. It implements
// predict.Features and is safe for concurrent use.
//
// Layout under prefix P: hash P:rows maps the canonical pair ("ETH/USDT")
// to the row's JSON (market's codec, readable with redis-cli); hash P:meta
// maps the pair to "<ts key> <seq>"; P:seq counts accepted Puts; channel
// P:updates carries "<seq> <row JSON>" for every accepted Put. A Lua script
// makes check, write and publish one atomic step, so seq orders updates
// exactly as Redis applied them.
//
// Get and All read a local snapshot, not Redis: a prediction costs a map
// lookup (tens of ns) instead of a round trip (tens of µs on loopback) and
// has no error path. The snapshot is loaded on first use and then kept
// current by a subscription to P:updates; after a lost connection it
// resubscribes and reloads. While Redis is unreachable the snapshot keeps
// its rows, whose timestamps let the prediction service refuse them as
// stale once they are — the right answer, rather than no answer.
type Features struct {
	c                                 *Client
	rowsKey, metaKey, seqKey, channel string

	startOnce sync.Once
	started   time.Time     // when the follower started; set by startOnce
	synced    chan struct{} // closed once the snapshot first loaded

	mu   sync.RWMutex
	snap map[string]seqRow // nil until the follower starts
}

type seqRow struct {
	seq uint64
	row market.FeatureRow
}

// Features returns the feature store under prefix (empty:
// DefaultFeaturesPrefix). Nothing is read until the first Get or All.
func (c *Client) Features(prefix string) *Features {
	if prefix == "" {
		prefix = DefaultFeaturesPrefix
	}
	return &Features{
		c:       c,
		rowsKey: prefix + ":rows", metaKey: prefix + ":meta", seqKey: prefix + ":seq",
		channel: prefix + ":updates",
		synced:  make(chan struct{}),
	}
}

// putScript keeps ARGV[2] (row JSON) for pair ARGV[1] unless the held row
// is newer (on equal ts the later Put wins, as with online.Latest), and
// publishes it. ARGV[3] is the ts key: 20 digits, compared as two 10-digit
// halves because Lua numbers are doubles. Returns the new seq, or 0.
var putScript = goredis.NewScript(`
local cur = redis.call('HGET', KEYS[2], ARGV[1])
if cur then
  local h, l = tonumber(string.sub(cur, 1, 10)), tonumber(string.sub(cur, 11, 20))
  local nh, nl = tonumber(string.sub(ARGV[3], 1, 10)), tonumber(string.sub(ARGV[3], 11, 20))
  if h > nh or (h == nh and l > nl) then return 0 end
end
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3] .. ' ' .. seq)
redis.call('PUBLISH', ARGV[4], seq .. ' ' .. ARGV[2])
return seq
`)

// Put stores row as its pair's newest unless Redis holds a newer one, and
// publishes it to subscribers.
func (f *Features) Put(ctx context.Context, row market.FeatureRow) error {
	row.Pair = canonical(row.Pair)
	body := wire.AppendJSON(nil, row)
	seq, err := putScript.Run(ctx, f.c.rdb, []string{f.rowsKey, f.metaKey, f.seqKey},
		row.Pair, body, tsKey(row.TS), f.channel).Uint64()
	if err != nil {
		return fmt.Errorf("redis features put %s %s: %w", row.Pair, row.TS.Format(time.RFC3339), err)
	}
	if seq > 0 {
		f.apply(seq, row) // read your own writes before the echo arrives
	}
	return nil
}

// Get returns the newest row of pair, in any spelling.
func (f *Features) Get(pair string) (market.FeatureRow, bool) {
	f.ensureSynced()
	f.mu.RLock()
	defer f.mu.RUnlock()
	r, ok := f.snap[canonical(pair)]
	return r.row, ok
}

// All returns the newest row of every pair, sorted by pair.
func (f *Features) All() []market.FeatureRow {
	f.ensureSynced()
	f.mu.RLock()
	out := make([]market.FeatureRow, 0, len(f.snap))
	for _, r := range f.snap {
		out = append(out, r.row)
	}
	f.mu.RUnlock()
	slices.SortFunc(out, func(a, b market.FeatureRow) int { return strings.Compare(a.Pair, b.Pair) })
	return out
}

// Subscribe returns the rows Put keeps from now on, by any client, until
// ctx ends (then the channel closes). A lost connection is re-established;
// rows put meanwhile are not replayed (All has the current state). A slow
// reader holds back delivery; Redis disconnects a subscriber whose backlog
// exceeds its pubsub output limit, after which this reconnects.
func (f *Features) Subscribe(ctx context.Context) (<-chan market.FeatureRow, error) {
	ps, err := f.subscribe(ctx)
	if err != nil {
		return nil, err
	}
	out := make(chan market.FeatureRow, 64)
	f.c.wg.Add(1)
	go func() {
		defer f.c.wg.Done()
		defer close(out)
		ctx, cancel := mergeDone(ctx, f.c.ctx)
		defer cancel()
		f.listen(ctx, ps, nil, func(_ uint64, row market.FeatureRow) bool {
			select {
			case out <- row:
				return true
			case <-ctx.Done():
				return false
			}
		})
	}()
	return out, nil
}

// ensureSynced starts the follower on first use and waits for its first
// load, at most until syncWait after the start.
func (f *Features) ensureSynced() {
	f.startOnce.Do(func() {
		f.mu.Lock()
		f.snap = make(map[string]seqRow)
		f.mu.Unlock()
		f.started = time.Now()
		f.c.goBackground(func(ctx context.Context) { f.listen(ctx, nil, f.load, f.apply) })
	})
	select {
	case <-f.synced:
		return
	default:
	}
	wait := syncWait - time.Since(f.started)
	if wait <= 0 {
		return
	}
	t := time.NewTimer(wait)
	defer t.Stop()
	select {
	case <-f.synced:
	case <-t.C:
	}
}

// apply keeps row if it is newer than the held one, or as new and later
// applied by Redis (a higher seq). Before the follower starts there is no
// snapshot to keep.
func (f *Features) apply(seq uint64, row market.FeatureRow) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.snap == nil {
		return true
	}
	cur, ok := f.snap[row.Pair]
	if !ok || row.TS.After(cur.row.TS) || (row.TS.Equal(cur.row.TS) && seq > cur.seq) {
		f.snap[row.Pair] = seqRow{seq: seq, row: row}
	}
	return true
}

// load reads every row and its seq in one transaction, after the
// subscription is confirmed and before its messages are applied, so an
// update is either in the load or later on the channel. What Redis holds
// replaces the snapshot's row of the pair: its seq restarts when Redis
// loses its data (a restart without persistence), so only the load can tell.
// Rows Redis no longer holds are kept, their seq reset, to serve until
// they are stale. The first load releases waiting readers.
func (f *Features) load(ctx context.Context) error {
	var rows, meta *goredis.MapStringStringCmd
	_, err := f.c.rdb.TxPipelined(ctx, func(p goredis.Pipeliner) error {
		rows = p.HGetAll(ctx, f.rowsKey)
		meta = p.HGetAll(ctx, f.metaKey)
		return nil
	})
	if err != nil {
		return fmt.Errorf("load %s: %w", f.rowsKey, err)
	}
	loaded := make(map[string]seqRow, len(rows.Val()))
	for pair, body := range rows.Val() {
		seq, err := metaSeq(meta.Val()[pair])
		if err != nil {
			f.c.log.Warn("redis features: skipping row", "pair", pair, "err", err)
			continue
		}
		row, err := wire.DecodeFeatureRow([]byte(body))
		if err != nil {
			f.c.log.Warn("redis features: skipping malformed row", "pair", pair, "err", err)
			continue
		}
		loaded[row.Pair] = seqRow{seq: seq, row: row}
	}
	f.mu.Lock()
	for pair, r := range f.snap {
		if _, ok := loaded[pair]; !ok {
			r.seq = 0
			loaded[pair] = r
		}
	}
	f.snap = loaded
	f.mu.Unlock()
	select {
	case <-f.synced:
	default:
		close(f.synced)
	}
	return nil
}

// subscribe subscribes to the update channel and waits for Redis to confirm.
func (f *Features) subscribe(ctx context.Context) (*goredis.PubSub, error) {
	ps := f.c.rdb.Subscribe(ctx, f.channel)
	if _, err := ps.ReceiveTimeout(ctx, f.c.readTimeout); err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("redis features subscribe %s: %w", f.channel, err)
	}
	return ps, nil
}

// listen delivers updates to each until ctx ends or each returns false,
// resubscribing after errors with backoff. ps, when given, is an already
// confirmed subscription; synced, when given, runs after every
// (re)subscription, before updates are delivered.
func (f *Features) listen(ctx context.Context, ps *goredis.PubSub, synced func(context.Context) error,
	each func(seq uint64, row market.FeatureRow) bool) {
	b := backoff.Backoff{Min: minBackoff, Max: maxBackoff}
	for {
		var err error
		if ps == nil {
			ps, err = f.subscribe(ctx)
		}
		if err == nil && synced != nil {
			err = synced(ctx)
		}
		if err == nil {
			b.Reset()
			var more bool
			more, err = f.receive(ctx, ps, each)
			if !more {
				_ = ps.Close()
				return
			}
		}
		if ps != nil {
			_ = ps.Close()
			ps = nil
		}
		if ctx.Err() != nil {
			return
		}
		f.c.log.Warn("redis features: subscription lost, retrying", "channel", f.channel, "err", err, "backoff", b.Ceiling())
		if b.Wait(ctx) != nil {
			return
		}
	}
}

// receive reads ps until an error (returned with more = true) or until ctx
// ends or each declines (more = false). Silence longer than idlePing is
// answered with a PING; two silent periods in a row mean the connection
// is dead.
func (f *Features) receive(ctx context.Context, ps *goredis.PubSub,
	each func(seq uint64, row market.FeatureRow) bool) (more bool, err error) {
	// A blocked read ignores ctx: closing the subscription ends it.
	stop := context.AfterFunc(ctx, func() { _ = ps.Close() })
	defer stop()
	silent := 0
	for {
		msg, err := ps.ReceiveTimeout(ctx, idlePing)
		if ctx.Err() != nil {
			return false, nil
		}
		var nerr net.Error
		switch {
		case errors.As(err, &nerr) && nerr.Timeout():
			if silent++; silent > 1 {
				return true, fmt.Errorf("no answer to PING within %v", idlePing)
			}
			if err := ps.Ping(ctx); err != nil {
				return true, err
			}
			continue
		case err != nil:
			return true, err
		}
		silent = 0
		m, ok := msg.(*goredis.Message)
		if !ok { // a pong or a subscription confirmation
			continue
		}
		seq, row, err := decodeUpdate(m.Payload)
		if err != nil {
			f.c.log.Warn("redis features: skipping malformed update", "channel", f.channel, "err", err)
			continue
		}
		if !each(seq, row) {
			return false, nil
		}
	}
}

// decodeUpdate parses a "<seq> <row JSON>" message.
func decodeUpdate(payload string) (uint64, market.FeatureRow, error) {
	s, body, ok := strings.Cut(payload, " ")
	if !ok {
		return 0, market.FeatureRow{}, errors.New("update without seq")
	}
	seq, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, market.FeatureRow{}, fmt.Errorf("update seq: %w", err)
	}
	row, err := wire.DecodeFeatureRow([]byte(body))
	return seq, row, err
}

// metaSeq reads the seq of a "<ts key> <seq>" meta value.
func metaSeq(meta string) (uint64, error) {
	_, s, ok := strings.Cut(meta, " ")
	if !ok {
		return 0, fmt.Errorf("meta %q without seq", meta)
	}
	return strconv.ParseUint(s, 10, 64)
}

// tsKey encodes t as 20 digits whose string and numeric order are time
// order: UnixNano with its sign bit flipped (valid for years 1678–2262).
func tsKey(t time.Time) string {
	return fmt.Sprintf("%020d", uint64(t.UnixNano())^(1<<63))
}

// canonical is the v2 pair name; a name that does not parse is kept as is,
// as online.Latest does.
func canonical(pair string) string {
	if p, err := market.NormalizePair(pair); err == nil {
		return p
	}
	return pair
}

// mergeDone returns a context that ends when either a or b does.
func mergeDone(a, b context.Context) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(a)
	stop := context.AfterFunc(b, cancel)
	return ctx, func() { stop(); cancel() }
}
