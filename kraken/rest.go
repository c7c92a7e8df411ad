package kraken

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"math"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/tickcast/tickcast/internal/backoff"
	"github.com/tickcast/tickcast/market"
)

// DefaultRESTURL is Kraken's public REST API.
const DefaultRESTURL = "https://api.kraken.com"

// REST defaults: Kraken's public budget is about one request per second
// per IP (ccxt and hummingbot throttle to that).
const (
	DefaultRESTRate       = 1.0
	DefaultMaxRetries     = 5
	DefaultRESTBackoffMin = time.Second
	DefaultRESTBackoffMax = 30 * time.Second
	DefaultRESTTimeout    = 30 * time.Second
	// TradesPageSize is Kraken's largest Trades `count`, always asked for:
	// a shorter page means the history is caught up.
	TradesPageSize = 1000
)

// maxBody bounds a reply: a Trades page is ~80 kB, AssetPairs ~1 MB.
const maxBody = 64 << 20

// RESTConfig configures a REST client; zero values take the defaults.
type RESTConfig struct {
	BaseURL       string  // default DefaultRESTURL
	RatePerSecond float64 // default 1; < 0 disables the limiter
	// Limiter, when set, is shared with other clients (one global budget
	// per worker) and overrides RatePerSecond.
	Limiter *RateLimiter
	// MaxRetries is the number of retries after the first attempt of a
	// request; default 5, < 0 means none.
	MaxRetries int
	// BackoffMin and BackoffMax bound the exponential backoff between
	// retries (defaults 1 s and 30 s); each wait is jittered in [d/2, d].
	BackoffMin, BackoffMax time.Duration
	HTTPClient             *http.Client // default: DefaultRESTTimeout per request
	Logger                 *slog.Logger // default discards
}

// REST is a client of Kraken's public REST API: rate-limited, retrying
// transient failures, with typed errors (see ErrRateLimited...). Safe for
// concurrent use.
type REST struct {
	base       string
	limiter    *RateLimiter
	http       *http.Client
	log        *slog.Logger
	maxRetries int
	bmin, bmax time.Duration
	stats      struct{ requests, retries atomic.Int64 }
}

// RESTStats counts what a REST client did.
type RESTStats struct {
	Requests int64 // HTTP requests sent, retries included
	Retries  int64 // requests repeated after a transient failure
}

// NewREST checks cfg and returns a client.
func NewREST(cfg RESTConfig) (*REST, error) {
	base := strings.TrimRight(cmp.Or(cfg.BaseURL, DefaultRESTURL), "/")
	if u, err := url.Parse(base); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("kraken: REST base URL %q: want http(s)://host", cfg.BaseURL)
	}
	if math.IsNaN(cfg.RatePerSecond) || cfg.BackoffMin < 0 || cfg.BackoffMax < 0 {
		return nil, errors.New("kraken: REST config: NaN rate or negative backoff")
	}
	c := &REST{base: base, limiter: cfg.Limiter, http: cfg.HTTPClient, log: cfg.Logger, maxRetries: cfg.MaxRetries,
		bmin: cmp.Or(cfg.BackoffMin, DefaultRESTBackoffMin), bmax: cmp.Or(cfg.BackoffMax, DefaultRESTBackoffMax)}
	if c.limiter == nil {
		c.limiter = NewRateLimiter(cmp.Or(cfg.RatePerSecond, DefaultRESTRate), 1)
	}
	if c.http == nil {
		c.http = &http.Client{Timeout: DefaultRESTTimeout}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	c.maxRetries = max(cmp.Or(c.maxRetries, DefaultMaxRetries), 0)
	c.bmax = max(c.bmax, c.bmin)
	return c, nil
}

// Stats returns the counters so far.
func (c *REST) Stats() RESTStats {
	return RESTStats{Requests: c.stats.requests.Load(), Retries: c.stats.retries.Load()}
}

// Altname is the name Kraken REST requests use for a pair given in any
// spelling: BTC/USD → XBTUSD, DOGE/USD → XDGUSD, ETH/USDT → ETHUSDT.
// Replies are keyed by the canonical name (XXBTZUSD) instead.
func Altname(pair string) (string, error) {
	p, err := market.NormalizePair(pair)
	if err != nil {
		return "", err
	}
	base, quote, _ := strings.Cut(p, "/")
	return restAsset(base) + restAsset(quote), nil
}

func restAsset(a string) string {
	switch a {
	case "BTC":
		return "XBT"
	case "DOGE":
		return "XDG"
	}
	return a
}

// TradesPage is one page of REST Trades.
type TradesPage struct {
	Pair   string         // v2 name, e.g. BTC/USD
	Trades []market.Trade // ascending; Source market.SourceKrakenREST
	// Rejected are the page's rows that are not valid trades (malformed, or
	// a negative or zero price, say), in row order, each with its error and
	// its trade id when readable. As on the WebSocket, a bad row does not
	// fail the page (its good rows are not lost with it) and is never
	// dropped silently: callers report it.
	Rejected []Rejected
	Last     int64 // Kraken's cursor: the newest row's time in ns; pass it as since
}

// Trades returns the page of at most TradesPageSize trades from since (ns;
// 0 = from the start of the history; Kraken includes trades at since, so
// consecutive pages overlap).
func (c *REST) Trades(ctx context.Context, pair string, since int64) (TradesPage, error) {
	alt, v2, err := pairNames(pair)
	if err != nil {
		return TradesPage{}, err
	}
	if since < 0 {
		return TradesPage{}, fmt.Errorf("kraken: trades %s: since %d: %w", v2, since, ErrInvalidArguments)
	}
	q := url.Values{"pair": {alt}, "since": {strconv.FormatInt(since, 10)}, "count": {strconv.Itoa(TradesPageSize)}}
	res, err := c.get(ctx, "Trades", q)
	if err != nil {
		return TradesPage{}, fmt.Errorf("kraken: trades %s since %d: %w", v2, since, err)
	}
	page, err := parseRESTTrades(res, v2)
	if err != nil {
		return TradesPage{}, fmt.Errorf("kraken: trades %s since %d: %w", v2, since, err)
	}
	return page, nil
}

// pairNames returns the altname to send and the v2 name to report.
func pairNames(pair string) (alt, v2 string, err error) {
	if v2, err = market.NormalizePair(pair); err != nil {
		return "", "", fmt.Errorf("kraken: %w: %w", ErrInvalidArguments, err)
	}
	alt, _ = Altname(v2)
	return alt, v2, nil
}

// TradesRange pages from `from` (inclusive) until it has every trade with
// ts < to, calling fn per page with the trades of [from, to) not on an
// earlier page (deduplicated by trade_id, which Kraken numbers in time
// order). It stops when caught up (a page shorter than TradesPageSize).
// An error from fn stops it and is returned as is; so does a row that is
// not a valid trade (a backfill must not skip one).
func (c *REST) TradesRange(ctx context.Context, pair string, from, to time.Time, fn func(TradesPage) error) error {
	if !to.After(from) {
		return fmt.Errorf("kraken: trades %s: empty range [%s, %s): %w", pair, from, to, ErrInvalidArguments)
	}
	return c.pages(ctx, pair, cursorOf(from), func(p TradesPage) (bool, error) {
		if len(p.Rejected) > 0 {
			return false, fmt.Errorf("kraken: trades %s: %w", p.Pair, p.Rejected[0].Err)
		}
		more := len(p.Trades) == 0 || p.Trades[len(p.Trades)-1].TS.Before(to)
		p.Trades = slices.DeleteFunc(p.Trades, func(t market.Trade) bool { return t.TS.Before(from) || !t.TS.Before(to) })
		if len(p.Trades) == 0 {
			return more, nil
		}
		return more, fn(p)
	})
}

// TradesAfter returns the trades with trade_id > afterID (gap repair),
// paging from sinceTS, the time of trade afterID (one microsecond earlier,
// in case Kraken rounded it the other way), and the rows in that id range
// that are not valid trades (TradesPage.Rejected; those whose id cannot be
// read too). It stops once it has trade untilID, valid or not, and returns
// nothing above it; untilID 0 means until caught up. A zero sinceTS pages
// from the start of the history: slow on the real API.
func (c *REST) TradesAfter(ctx context.Context, pair string, afterID int64, sinceTS time.Time, untilID int64) (out []market.Trade, rejected []Rejected, err error) {
	top := afterID // the highest id had, valid or not
	err = c.pages(ctx, pair, max(cursorOf(sinceTS)-int64(time.Microsecond), 0), func(p TradesPage) (bool, error) {
		for _, r := range p.Rejected {
			if r.TradeID == 0 || (r.TradeID > afterID && (untilID == 0 || r.TradeID <= untilID)) {
				rejected = append(rejected, r)
				top = max(top, r.TradeID)
			}
		}
		for _, t := range p.Trades {
			if untilID > 0 && t.TradeID > untilID {
				return false, nil
			}
			if t.TradeID > afterID {
				out = append(out, t)
				top = max(top, t.TradeID)
			}
		}
		return untilID == 0 || top < untilID, nil
	})
	return out, rejected, err
}

// TradesUntil returns the trades from sinceTS with trade_id <= untilID, in
// id order, and the rows up to untilID that are not valid trades
// (TradesPage.Rejected); reached reports whether Kraken's history got to
// untilID (it returned untilID or a later trade, valid or not), so that an
// empty result can still be a complete one: no trade between sinceTS and
// untilID.
func (c *REST) TradesUntil(ctx context.Context, pair string, sinceTS time.Time, untilID int64) (out []market.Trade, rejected []Rejected, reached bool, err error) {
	err = c.pages(ctx, pair, cursorOf(sinceTS), func(p TradesPage) (bool, error) {
		for _, r := range p.Rejected {
			reached = reached || r.TradeID >= untilID
			if r.TradeID <= untilID {
				rejected = append(rejected, r)
			}
		}
		for _, t := range p.Trades {
			if t.TradeID >= untilID {
				reached = true
			}
			if t.TradeID > untilID {
				return false, nil
			}
			if !t.TS.Before(sinceTS) {
				out = append(out, t)
			}
		}
		return !reached, nil
	})
	return out, rejected, reached, err
}

// cursorOf is t as a since cursor; times before the epoch mean the start.
func cursorOf(t time.Time) int64 {
	if t.IsZero() || t.Before(time.Unix(0, 0)) {
		return 0
	}
	return t.UnixNano()
}

// pages calls visit with each page from since on, its trades and rejected
// rows reduced to those with a trade_id above every one seen before
// (Kraken's pages overlap at the cursor; a rejected row without an id is
// kept), until visit says stop or a page is short.
func (c *REST) pages(ctx context.Context, pair string, since int64, visit func(TradesPage) (bool, error)) error {
	seen := int64(-1)
	for {
		p, err := c.Trades(ctx, pair, since)
		if err != nil {
			return err
		}
		full := len(p.Trades)+len(p.Rejected) >= TradesPageSize
		before := seen
		p.Trades, seen = freshTrades(p.Trades, seen)
		p.Rejected = slices.DeleteFunc(p.Rejected, func(r Rejected) bool { return r.TradeID != 0 && r.TradeID <= before })
		for _, r := range p.Rejected {
			seen = max(seen, r.TradeID)
		}
		if more, err := visit(p); err != nil || !more || !full {
			return err
		}
		if p.Last <= since {
			return fmt.Errorf("kraken: trades %s: a full page at %d ns: more than %d trades share one time, cannot page past them",
				p.Pair, since, TradesPageSize)
		}
		since = p.Last
	}
}

// freshTrades keeps, in place, the trades whose id is above seen and the
// running maximum; it returns them and the new maximum.
func freshTrades(ts []market.Trade, seen int64) ([]market.Trade, int64) {
	out := ts[:0]
	for _, t := range ts {
		if t.TradeID > seen {
			out, seen = append(out, t), t.TradeID
		}
	}
	return out, seen
}

// AssetPair is one tradable pair of AssetPairs.
type AssetPair struct {
	Key     string // canonical REST key, e.g. XXBTZUSD, ETHUSDT
	Altname string // e.g. XBTUSD
	// WSName is the WebSocket v2 name (BTC/USD): Kraken's wsname still
	// uses v1 names (XBT/USD, XDG/USD), mapped here. Empty when neither
	// wsname nor altname reads as a pair.
	WSName       string
	PairDecimals int
	LotDecimals  int
	Status       string // online, cancel_only, post_only, limit_only, reduce_only
}

// AssetPairs lists every pair Kraken trades, sorted by Key.
func (c *REST) AssetPairs(ctx context.Context) ([]AssetPair, error) {
	res, err := c.get(ctx, "AssetPairs", nil)
	if err != nil {
		return nil, fmt.Errorf("kraken: asset pairs: %w", err)
	}
	pairs, err := parseAssetPairs(res)
	if err != nil {
		return nil, fmt.Errorf("kraken: asset pairs: %w", err)
	}
	return pairs, nil
}

// ohlcIntervals are the intervals Kraken's OHLC serves, in minutes.
var ohlcIntervals = []int{1, 5, 15, 30, 60, 240, 1440, 10080, 21600}

// OHLC returns Kraken's (at most 720) most recent candles of interval. As
// Kraken sends them, intervals without trades are present (volume 0) and
// the last candle is still open: it has Complete=false, the others true.
// Buy/sell volumes and trade ids are not in the reply and stay 0.
func (c *REST) OHLC(ctx context.Context, pair string, interval time.Duration) ([]market.Candle, error) {
	alt, v2, err := pairNames(pair)
	if err != nil {
		return nil, err
	}
	minutes := int(interval / time.Minute)
	if interval%time.Minute != 0 || !slices.Contains(ohlcIntervals, minutes) {
		return nil, fmt.Errorf("kraken: ohlc %s: interval %s not one of %v minutes: %w", v2, interval, ohlcIntervals, ErrInvalidArguments)
	}
	res, err := c.get(ctx, "OHLC", url.Values{"pair": {alt}, "interval": {strconv.Itoa(minutes)}})
	if err != nil {
		return nil, fmt.Errorf("kraken: ohlc %s: %w", v2, err)
	}
	candles, err := parseOHLC(res, v2, interval)
	if err != nil {
		return nil, fmt.Errorf("kraken: ohlc %s: %w", v2, err)
	}
	return candles, nil
}

// SystemStatus returns Kraken's engine status: online, maintenance,
// cancel_only or post_only.
func (c *REST) SystemStatus(ctx context.Context) (string, error) {
	res, err := c.get(ctx, "SystemStatus", nil)
	if err != nil {
		return "", fmt.Errorf("kraken: system status: %w", err)
	}
	status, err := parseSystemStatus(res)
	if err != nil {
		return "", fmt.Errorf("kraken: system status: %w", err)
	}
	return status, nil
}

// Time returns Kraken's clock, result.unixtime: whole seconds, taken as
// truncated like Unix time (unconfirmed), so the true time is within
// [t, t+1s). ClockOffset turns it into the host clock's offset.
func (c *REST) Time(ctx context.Context) (time.Time, error) {
	res, err := c.get(ctx, "Time", nil)
	if err != nil {
		return time.Time{}, fmt.Errorf("kraken: time: %w", err)
	}
	t, err := parseServerTime(res)
	if err != nil {
		return time.Time{}, fmt.Errorf("kraken: time: %w", err)
	}
	return t, nil
}

// get calls a public method and returns the reply's result, retrying
// transient failures with exponential backoff.
func (c *REST) get(ctx context.Context, method string, q url.Values) ([]byte, error) {
	b := backoff.Backoff{Min: c.bmin, Max: c.bmax, Jitter: backoff.Equal}
	for attempt := 0; ; attempt++ {
		res, err := c.attempt(ctx, method, q)
		if err == nil || !retryable(err) || attempt >= c.maxRetries || ctx.Err() != nil {
			return res, err
		}
		d := b.Next()
		c.stats.retries.Add(1)
		c.log.Warn("kraken rest: retrying", "method", method, "attempt", attempt+1, "wait", d, "err", err)
		if serr := backoff.Sleep(ctx, d); serr != nil {
			return nil, fmt.Errorf("%w (last error: %w)", serr, err)
		}
	}
}

// attempt sends one request, after the rate limiter allows it.
func (c *REST) attempt(ctx context.Context, method string, q url.Values) ([]byte, error) {
	if err := c.limiter.Wait(ctx); err != nil {
		return nil, err
	}
	u := c.base + "/0/public/" + method
	if len(q) > 0 {
		u += "?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("User-Agent", "tickcast")
	c.stats.requests.Add(1)
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, noReply(ctx, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	switch {
	case err != nil:
		return nil, noReply(ctx, err)
	case resp.StatusCode != http.StatusOK:
		return nil, &HTTPError{Status: resp.StatusCode, Body: truncate(body, 200)}
	case len(body) > maxBody:
		return nil, fmt.Errorf("%w: reply over %d bytes", ErrMalformed, maxBody)
	}
	return decodeEnvelope(body)
}

// noReply is the error of a request cut short: ctx's own error when the
// caller gave up, else a retryable transport error.
func noReply(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return &transportError{err}
}

// restEnvelope is every REST reply: {"error":[...],"result":{...}}.
type restEnvelope struct {
	Error  []string        `json:"error"`
	Result json.RawMessage `json:"result"`
}

// decodeEnvelope returns the result, or the errors as an *APIError.
// Entries starting with W are warnings (Kraken's severity prefix) and do
// not fail the reply.
func decodeEnvelope(body []byte) ([]byte, error) {
	var env restEnvelope
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("%w: %w (reply %q)", ErrMalformed, err, truncate(body, 120))
	}
	errs := slices.DeleteFunc(env.Error, func(s string) bool { return strings.HasPrefix(s, "W") })
	if len(errs) > 0 {
		return nil, &APIError{Errors: errs}
	}
	if len(env.Result) == 0 || string(env.Result) == "null" {
		return nil, fmt.Errorf("%w: reply without result", ErrMalformed)
	}
	return env.Result, nil
}

// pairResult splits a Trades or OHLC result into the rows under the
// single pair key, whatever its spelling, and the "last" cursor.
func pairResult(res []byte) (rows [][]json.RawMessage, last json.RawMessage, err error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(res, &m); err != nil {
		return nil, nil, fmt.Errorf("%w: result: %w", ErrMalformed, err)
	}
	last, ok := m["last"]
	if !ok || len(m) != 2 {
		return nil, nil, fmt.Errorf("%w: result has keys %v, want one pair and last", ErrMalformed, slices.Sorted(maps.Keys(m)))
	}
	delete(m, "last")
	for key, raw := range m {
		if err := json.Unmarshal(raw, &rows); err != nil {
			return nil, nil, fmt.Errorf("%w: rows of %s: %w", ErrMalformed, key, err)
		}
	}
	return rows, last, nil
}

// MiscReconstructed in a Trades row's misc field marks a trade that the
// fake Kraken reconstructed from candles (fakekraken.ReconstructTrades);
// the real API never sends it. Such trades keep Source
// market.SourceReconstructed, so they are labelled wherever they go.
const MiscReconstructed = "reconstructed"

// parseRESTTrades reads a Trades result: rows [price, volume, time, side,
// ord_type, misc, trade_id], prices and volumes as decimal strings.
func parseRESTTrades(res []byte, pair string) (TradesPage, error) {
	rows, lastRaw, err := pairResult(res)
	if err != nil {
		return TradesPage{}, err
	}
	page := TradesPage{Pair: pair, Trades: make([]market.Trade, 0, len(rows))}
	if page.Last, err = jsonInt("last", lastRaw); err != nil {
		return TradesPage{}, err
	}
	for i, row := range rows {
		t, err := parseTradeRow(row, pair)
		if err != nil {
			page.Rejected = append(page.Rejected, rejectedRow(i, row, err))
			continue
		}
		page.Trades = append(page.Trades, t)
	}
	return page, nil
}

// rejectedRow is row i of a Trades page that is not a valid trade, as
// sent, with its trade id when that field reads as one.
func rejectedRow(i int, row []json.RawMessage, err error) Rejected {
	raw, _ := json.Marshal(row) // each element is valid JSON already
	r := Rejected{Raw: raw[:min(len(raw), maxRejectedRaw)], Err: fmt.Errorf("row %d: %w", i, err)}
	if len(row) == 7 {
		if id, err := jsonInt("trade_id", row[6]); err == nil && id > 0 {
			r.TradeID = id
		}
	}
	return r
}

func parseTradeRow(row []json.RawMessage, pair string) (market.Trade, error) {
	if len(row) != 7 {
		return market.Trade{}, fmt.Errorf("%w: %d fields, want 7 (with trade_id)", ErrMalformed, len(row))
	}
	t := market.Trade{Pair: pair, Source: market.SourceKrakenREST}
	var err error
	if t.Price, err = jsonDecimal("price", row[0]); err != nil {
		return t, err
	}
	if t.Qty, err = jsonDecimal("volume", row[1]); err != nil {
		return t, err
	}
	if t.TS, err = jsonSeconds("time", row[2]); err != nil {
		return t, err
	}
	if t.TradeID, err = jsonInt("trade_id", row[6]); err != nil {
		return t, err
	}
	if err = tradeFlags(&t, row[3], row[4], row[5]); err != nil {
		return t, fmt.Errorf("trade_id %d: %w", t.TradeID, err)
	}
	return t, t.Validate()
}

// tradeFlags sets side ("b"/"s", required), ord_type ("m"/"l"; anything
// else is kept as unknown, as the WebSocket client does) and the source.
func tradeFlags(t *market.Trade, side, ordType, misc json.RawMessage) error {
	s, err := jsonString("side", side)
	if err != nil {
		return err
	}
	if t.Side, err = market.ParseSide(s); err != nil {
		return err
	}
	if o, err := jsonString("ord_type", ordType); err == nil {
		t.OrdType, _ = market.ParseOrdType(o)
	}
	if m, _ := jsonString("misc", misc); m == MiscReconstructed {
		t.Source = market.SourceReconstructed
	}
	return nil
}

// parseOHLC reads an OHLC result: rows [time, open, high, low, close,
// vwap, volume, count], the last one still open.
func parseOHLC(res []byte, pair string, interval time.Duration) ([]market.Candle, error) {
	rows, _, err := pairResult(res)
	if err != nil {
		return nil, err
	}
	out := make([]market.Candle, 0, len(rows))
	for i, row := range rows {
		c, err := parseOHLCRow(row, pair, interval)
		if err != nil {
			return nil, fmt.Errorf("row %d: %w", i, err)
		}
		c.Complete = i < len(rows)-1
		out = append(out, c)
	}
	return out, nil
}

func parseOHLCRow(row []json.RawMessage, pair string, interval time.Duration) (market.Candle, error) {
	if len(row) != 8 {
		return market.Candle{}, fmt.Errorf("%w: %d fields, want 8", ErrMalformed, len(row))
	}
	sec, err := jsonInt("time", row[0])
	if err != nil {
		return market.Candle{}, err
	}
	c := market.Candle{Pair: pair, Start: time.Unix(sec, 0).UTC()}
	c.End = c.Start.Add(interval)
	for i, dst := range []*float64{&c.Open, &c.High, &c.Low, &c.Close, &c.VWAP, &c.Volume} {
		if *dst, err = jsonDecimal(ohlcFields[i], row[i+1]); err != nil {
			return c, err
		}
	}
	if c.Trades, err = jsonInt("count", row[7]); err != nil {
		return c, err
	}
	return c, nil
}

var ohlcFields = [...]string{"open", "high", "low", "close", "vwap", "volume"}

type wireAssetPair struct {
	Altname      string `json:"altname"`
	WSName       string `json:"wsname"`
	PairDecimals int    `json:"pair_decimals"`
	LotDecimals  int    `json:"lot_decimals"`
	Status       string `json:"status"`
}

func parseAssetPairs(res []byte) ([]AssetPair, error) {
	var m map[string]wireAssetPair
	if err := json.Unmarshal(res, &m); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrMalformed, err)
	}
	out := make([]AssetPair, 0, len(m))
	for _, key := range slices.Sorted(maps.Keys(m)) {
		w := m[key]
		out = append(out, AssetPair{Key: key, Altname: w.Altname, WSName: v2Name(w.WSName, w.Altname),
			PairDecimals: w.PairDecimals, LotDecimals: w.LotDecimals, Status: w.Status})
	}
	return out, nil
}

// v2Name maps wsname (v1 names: XBT/USD) to the v2 name (BTC/USD), falling
// back on the altname.
func v2Name(wsname, altname string) string {
	for _, s := range []string{wsname, altname} {
		if p, err := market.NormalizePair(s); err == nil && s != "" {
			return p
		}
	}
	return ""
}

func parseSystemStatus(res []byte) (string, error) {
	var w struct {
		Status string `json:"status"`
	}
	if err := json.Unmarshal(res, &w); err != nil || w.Status == "" {
		return "", fmt.Errorf("%w: system status %s", ErrMalformed, truncate(res, 120))
	}
	return w.Status, nil
}

// parseServerTime reads {"unixtime":1688669448,"rfc1123":"..."}.
func parseServerTime(res []byte) (time.Time, error) {
	var w struct {
		Unixtime json.RawMessage `json:"unixtime"`
	}
	if err := json.Unmarshal(res, &w); err != nil || len(w.Unixtime) == 0 {
		return time.Time{}, fmt.Errorf("%w: server time %s", ErrMalformed, truncate(res, 120))
	}
	sec, err := jsonInt("unixtime", w.Unixtime)
	if err != nil {
		return time.Time{}, err
	}
	if sec <= 0 || sec > maxUnixSeconds {
		return time.Time{}, fmt.Errorf("%w: unixtime %d out of range", ErrMalformed, sec)
	}
	return time.Unix(sec, 0).UTC(), nil
}

// jsonString reads a JSON string, without allocating for the usual
// escape-free case.
func jsonString(name string, raw json.RawMessage) (string, error) {
	if n := len(raw); n >= 2 && raw[0] == '"' && raw[n-1] == '"' && !slices.Contains(raw[1:n-1], '\\') && !slices.Contains(raw[1:n-1], '"') {
		return string(raw[1 : n-1]), nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return "", fmt.Errorf("%w: %s %.40s is not a string", ErrMalformed, name, raw)
	}
	return s, nil
}

// jsonDecimal reads a decimal string such as "30243.40000" exactly (the
// nearest float64 of its full text); hex, exponents, NaN and Inf are refused.
func jsonDecimal(name string, raw json.RawMessage) (float64, error) {
	s, err := jsonString(name, raw)
	if err != nil {
		return 0, err
	}
	if !plainDecimal(s) {
		return 0, fmt.Errorf("%w: %s %q is not a decimal", ErrMalformed, name, s)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %q: %w", market.ErrInvalid, name, s, err)
	}
	return f, nil
}

// plainDecimal: digits with at most one point, at least one digit.
func plainDecimal(s string) bool {
	digits, points := 0, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.':
			points++
		default:
			return false
		}
	}
	return digits > 0 && points <= 1
}

// jsonInt reads an integer given as a JSON number or a string ("last").
func jsonInt(name string, raw json.RawMessage) (int64, error) {
	s := string(raw)
	if len(raw) > 0 && raw[0] == '"' {
		var err error
		if s, err = jsonString(name, raw); err != nil {
			return 0, err
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%w: %s %.40q is not an integer", ErrMalformed, name, s)
	}
	return v, nil
}

// maxUnixSeconds is 9999-12-31T23:59:59Z, the last time RFC3339 can write.
const maxUnixSeconds = 253402300799

// jsonSeconds reads Kraken's trade time, a JSON number of seconds such as
// 1688669597.8277369, rounded to the microsecond from its decimal text: a
// float64 near 1.7e9 s is within 0.12 µs of the true time and its
// shortest text within another 0.12 µs, so rounding recovers the
// microsecond that the WebSocket API reports (truncating would not).
func jsonSeconds(name string, raw json.RawMessage) (time.Time, error) {
	s := string(raw)
	bad := fmt.Errorf("%w: %s %.40q is not positive Unix seconds", ErrMalformed, name, s)
	if strings.ContainsAny(s, "eE") { // not Kraken's form; accepted via float64
		f, err := strconv.ParseFloat(s, 64)
		if err != nil || !(f > 0 && f <= maxUnixSeconds) {
			return time.Time{}, bad
		}
		return time.UnixMicro(int64(math.Round(f * 1e6))).UTC(), nil
	}
	whole, frac, _ := strings.Cut(s, ".")
	if !plainDecimal(s) || whole == "" || len(whole) > 12 {
		return time.Time{}, bad
	}
	sec, _ := strconv.ParseInt(whole, 10, 64) // ≤ 12 digits: cannot fail
	frac = (frac + "0000000")[:7]
	us, _ := strconv.ParseInt(frac, 10, 64) // 7 digits: tenths of a microsecond
	us = (us + 5) / 10
	if sec > maxUnixSeconds || sec == 0 && us == 0 {
		return time.Time{}, bad
	}
	return time.Unix(sec, us*1000).UTC(), nil
}
