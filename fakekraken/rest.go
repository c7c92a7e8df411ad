package fakekraken

// The REST half of the fake: /0/public/Trades, OHLC, AssetPairs,
// SystemStatus and Time as kraken-api.md describes them (errors in HTTP 200
// bodies, rows of strings, results keyed by the canonical pair name).
//
// History: REST Trades serves every trade of Config.Trades while no
// WebSocket replay has started, and only the trades already published once
// one has (the exchange's past), so that a live client can repair from
// REST what it missed on the WebSocket. A streamed pair (Config.Sources)
// serves its window of the last History published trades: nothing before
// the replay, and a since older than the window answers from the window's
// first trade. Pages hold at most 1,000 rows; "last" (the newest row's
// time in ns) is the next cursor. OHLC is computed from the same trades
// by market.Aggregator, the code the pipeline uses. During an outage
// (Faults.OutageEvery) every endpoint answers HTTP 503.
//
// Not in the data, so placeholders: ord_type is "m" when unknown (as the
// WebSocket fake sends "market"); AssetPairs' lot_decimals (8), ordermin
// and costmin are fixed values; pair_decimals is the most decimals a price
// of the pair has in the data. Trades rebuilt from candles carry misc
// "reconstructed" (kraken.MiscReconstructed), which the real API never sends.

import (
	"cmp"
	"fmt"
	"math"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Kraken's REST error strings (kraken-api.md).
const (
	errTooManyRequests  = "EGeneral:Too many requests"
	ErrRateLimit        = "EAPI:Rate limit exceeded" // RESTFaults.RateLimitWith
	errUnknownPair      = "EQuery:Unknown asset pair"
	errInvalidArguments = "EGeneral:Invalid arguments"
	errUnavailable      = "EService:Unavailable"
)

// REST limits, as Kraken's.
const (
	tradesMaxCount = 1000
	ohlcMaxRows    = 720
	// sinceSecondsBelow tells the units of Trades' since: below it, Unix
	// seconds (ccxt, cryptofeed), at or above it nanoseconds (Kraken's
	// docs, the "last" cursor). 1e12 s is the year 33658 and 1e12 ns is 16
	// minutes after the epoch, so no real trade time is ambiguous.
	sinceSecondsBelow = 1e12
	miscReconstructed = "reconstructed" // kraken.MiscReconstructed
)

// ohlcMinutes are the OHLC intervals served. Kraken also has 10080 and
// 21600 (weeks aligned to Thursdays), which market.Aggregator does not
// build: the fake answers those with EGeneral:Invalid arguments.
var ohlcMinutes = []int{1, 5, 15, 30, 60, 240, 1440}

// RESTFaults are failures of the REST API on demand. "Every N" counts REST
// requests of any endpoint, from 1; 0 turns a fault off.
type RESTFaults struct {
	// RateLimitPerSecond: requests over this rate (a token bucket holding
	// one second of requests, at least one; 5% of an interval of
	// tolerance for arrival jitter) get HTTP 200 and
	// {"error":["EGeneral:Too many requests"]}, as Kraken answers, or
	// RateLimitWith (e.g. "EAPI:Rate limit exceeded", Kraken's other
	// rate-limit error).
	RateLimitPerSecond float64
	RateLimitWith      string
	FailEvery          int    // every FailEvery-th request fails with FailWith
	FailWith           string // a Kraken error string; default EService:Unavailable
	// HTTP5xxEvery: every HTTP5xxEvery-th request gets HTTP 502 with an
	// HTML body, as from Kraken's CDN.
	HTTP5xxEvery int
}

func (f RESTFaults) validate() error {
	if math.IsNaN(f.RateLimitPerSecond) || math.IsInf(f.RateLimitPerSecond, 0) || f.RateLimitPerSecond < 0 ||
		f.FailEvery < 0 || f.HTTP5xxEvery < 0 {
		return fmt.Errorf("fakekraken: REST faults %+v: negative or not finite", f)
	}
	return nil
}

// RESTStats counts the REST requests served and the faults injected.
type RESTStats struct {
	Requests    int64 // all REST requests
	RateLimited int64 // answered EGeneral:Too many requests
	Failed      int64 // answered FailWith
	HTTP5xx     int64 // answered HTTP 502
	Outage      int64 // refused with HTTP 503 during an outage (Faults.OutageEvery)
}

// restState is the REST side's own state; the trades are the Server's.
type restState struct {
	faults  RESTFaults
	limiter bucket
	stats   struct{ requests, limited, failed, http5xx, outage atomic.Int64 }
}

func newRESTState(f RESTFaults) *restState {
	f.FailWith = cmp.Or(f.FailWith, errUnavailable)
	f.RateLimitWith = cmp.Or(f.RateLimitWith, errTooManyRequests)
	r := &restState{faults: f}
	if f.RateLimitPerSecond > 0 {
		r.limiter = bucket{rate: f.RateLimitPerSecond, depth: max(1, math.Ceil(f.RateLimitPerSecond))}
		r.limiter.tokens = r.limiter.depth
	}
	return r
}

// bucket is a plain token bucket: the fake's rate limit, independent of
// the client's (package kraken) so that each checks the other.
type bucket struct {
	mu          sync.Mutex
	rate, depth float64
	tokens      float64
	last        time.Time
}

// take reports whether a request may pass now; refused requests cost
// nothing.
func (b *bucket) take(now time.Time) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if !b.last.IsZero() {
		b.tokens = min(b.depth, b.tokens+now.Sub(b.last).Seconds()*b.rate)
	}
	b.last = now
	if b.tokens < 1-bucketJitter {
		return false
	}
	b.tokens--
	return true
}

// bucketJitter lets a request through up to 5% of an interval early:
// arrival times jitter on the way, so a client at exactly the rate is
// never refused, while one 5% faster is within a few requests.
const bucketJitter = 0.05

// RESTStats returns the REST counters; safe for concurrent use.
func (s *Server) RESTStats() RESTStats {
	st := &s.rest.stats
	return RESTStats{Requests: st.requests.Load(), RateLimited: st.limited.Load(), Failed: st.failed.Load(), HTTP5xx: st.http5xx.Load(), Outage: st.outage.Load()}
}

// RESTURL turns the WebSocket URL Start returns (ws://HOST/v2) into the
// base URL of the REST API on the same listener (http://HOST).
func RESTURL(wsURL string) string {
	u, err := url.Parse(wsURL)
	if err != nil {
		return ""
	}
	return "http://" + u.Host
}

// restHandler answers one endpoint: it returns the result JSON or a
// Kraken error string.
type restHandler func(q url.Values) (result []byte, krakenErr string)

func (s *Server) mountREST(mux *http.ServeMux) {
	mux.HandleFunc("/0/public/Trades", s.serveREST(s.restTrades))
	mux.HandleFunc("/0/public/OHLC", s.serveREST(s.restOHLC))
	mux.HandleFunc("/0/public/AssetPairs", s.serveREST(s.restAssetPairs))
	mux.HandleFunc("/0/public/SystemStatus", s.serveREST(s.restSystemStatus))
	mux.HandleFunc("/0/public/Time", s.serveREST(s.restTime))
}

// serveREST wraps h with the envelope and the injected faults.
func (s *Server) serveREST(h restHandler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet && r.Method != http.MethodPost {
			http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
			return
		}
		if s.refuseInOutage(w) {
			s.rest.stats.requests.Add(1)
			s.rest.stats.outage.Add(1)
			return
		}
		if s.rest.fault(w) {
			return
		}
		if err := r.ParseForm(); err != nil {
			writeEnvelope(w, nil, errInvalidArguments)
			return
		}
		res, krakenErr := h(r.Form)
		writeEnvelope(w, res, krakenErr)
	}
}

// fault answers the request with an injected failure, if one is due.
func (r *restState) fault(w http.ResponseWriter) bool {
	n := r.stats.requests.Add(1)
	f := r.faults
	switch {
	case f.HTTP5xxEvery > 0 && n%int64(f.HTTP5xxEvery) == 0:
		r.stats.http5xx.Add(1)
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n")
	case f.RateLimitPerSecond > 0 && !r.limiter.take(time.Now()):
		r.stats.limited.Add(1)
		writeEnvelope(w, nil, f.RateLimitWith)
	case f.FailEvery > 0 && n%int64(f.FailEvery) == 0:
		r.stats.failed.Add(1)
		writeEnvelope(w, nil, f.FailWith)
	default:
		return false
	}
	return true
}

// writeEnvelope writes {"error":[],"result":...} or, for an error,
// {"error":["..."]} without a result, always with HTTP 200 as Kraken does.
func writeEnvelope(w http.ResponseWriter, result []byte, krakenErr string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	var b []byte
	if krakenErr != "" {
		b = append(append(append(b, `{"error":[`...), strconv.Quote(krakenErr)...), "]}"...)
	} else {
		b = append(append(append(b, `{"error":[],"result":`...), result...), '}')
	}
	w.Write(b) //nolint:errcheck // the client is gone; nothing to do
}

// withTrades runs f under the server's lock on the trades of pair REST
// may serve: those of Config.Trades all before any WebSocket replay, else
// the published ones still in the window (the exchange's past). f must
// not keep trades; it gets t to emit hostile copies.
func (s *Server) withTrades(name string, f func(t *tape, lo int, trades []market.Trade)) (string, bool) {
	pair, err := market.NormalizePair(name)
	if err != nil {
		return "", false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tapes[pair]
	if !ok {
		return "", false
	}
	end := t.restEnd(s.started)
	f(t, t.base, t.originals(t.base, end))
	return pair, true
}

// restTrades serves GET /0/public/Trades?pair=&since=&count=. Trades at
// since are included, so pages overlap at the cursor as Kraken's do.
// Without since, the most recent count trades, as Kraken does. The search
// and last cursor use the trades' true times, the rows the served (maybe
// hostile) values. A since older than a streamed pair's window answers
// from the first trade kept.
func (s *Server) restTrades(q url.Values) ([]byte, string) {
	count, ok := countParam(q.Get("count"))
	if !ok {
		return nil, errInvalidArguments
	}
	since, hasSince := int64(0), q.Has("since")
	if hasSince {
		if since, ok = parseSince(q.Get("since")); !ok {
			return nil, errInvalidArguments
		}
	}
	var rows []market.Trade
	last := since
	pair, ok := s.withTrades(q.Get("pair"), func(t *tape, lo int, trades []market.Trade) {
		i := max(0, len(trades)-count)
		if hasSince {
			i = sort.Search(len(trades), func(i int) bool { return trades[i].TS.UnixNano() >= since })
		}
		j := min(len(trades), i+count)
		if j > i {
			last = trades[j-1].TS.UnixNano()
		}
		rows = t.emit(lo+i, lo+j)
	})
	if !ok {
		return nil, pairError(q.Get("pair"))
	}
	return encodeRESTTrades(restKey(pair), rows, last), ""
}

func pairError(name string) string {
	if strings.TrimSpace(name) == "" {
		return errInvalidArguments
	}
	return errUnknownPair
}

// countParam is Trades' count: default and maximum 1000.
func countParam(s string) (int, bool) {
	if s == "" {
		return tradesMaxCount, true
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, false
	}
	return min(n, tradesMaxCount), true
}

// parseSince reads since in nanoseconds or, below sinceSecondsBelow or
// with a fraction, in Unix seconds; too large means after every trade.
func parseSince(s string) (int64, bool) {
	if whole, frac, ok := strings.Cut(s, "."); ok {
		sec, err1 := strconv.ParseInt(whole, 10, 64)
		ns, err2 := strconv.ParseInt((frac + "000000000")[:9], 10, 64)
		if err1 != nil || err2 != nil || sec < 0 || ns < 0 || strings.Trim(frac, "0123456789") != "" || sec >= sinceSecondsBelow {
			return 0, false
		}
		return secondsToNanos(sec, ns), true
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil || v < 0 {
		return 0, false
	}
	if v < sinceSecondsBelow {
		return secondsToNanos(v, 0), true
	}
	return v, true
}

func secondsToNanos(sec, ns int64) int64 {
	if sec > math.MaxInt64/int64(time.Second)-1 {
		return math.MaxInt64
	}
	return sec*int64(time.Second) + ns
}

// encodeRESTTrades writes {"KEY":[[price,volume,time,side,ord_type,misc,id],...],"last":"ns"}.
func encodeRESTTrades(key string, rows []market.Trade, last int64) []byte {
	b := make([]byte, 0, 64+len(rows)*80)
	b = append(strconv.AppendQuote(append(b, '{'), key), ":["...)
	for i, t := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendTradeRow(b, t)
	}
	b = append(b, `],"last":"`...)
	b = strconv.AppendInt(b, last, 10)
	return append(b, `"}`...)
}

func appendTradeRow(b []byte, t market.Trade) []byte {
	b = append(appendDecimalString(append(b, '['), t.Price, 5), ',')
	b = append(appendDecimalString(b, t.Qty, 8), ',')
	b = appendSeconds(b, t.TS)
	side, ord, misc := "s", "m", ""
	if t.Side == market.SideBuy {
		side = "b"
	}
	if t.OrdType == market.OrdLimit {
		ord = "l"
	}
	if t.Source == market.SourceReconstructed {
		misc = miscReconstructed
	}
	b = append(append(append(b, `,"`...), side...), `","`...)
	b = append(append(append(append(b, ord...), `","`...), misc...), `",`...)
	return append(strconv.AppendInt(b, t.TradeID, 10), ']')
}

// appendDecimalString writes f as a quoted decimal with at least minDec
// decimals, as Kraken pads them ("30243.40000"), and every digit needed to
// read back the same float64.
func appendDecimalString(b []byte, f float64, minDec int) []byte {
	b = append(b, '"')
	start := len(b)
	b = strconv.AppendFloat(b, f, 'f', -1, 64)
	dot := slices.Index(b[start:], '.')
	if dot < 0 {
		b, dot = append(b, '.'), len(b)-start
	}
	for have := len(b) - start - dot - 1; have < minDec; have++ {
		b = append(b, '0')
	}
	return append(b, '"')
}

// appendSeconds writes the time as Kraken does, a JSON number of seconds
// in shortest float64 form (1688669597.8277369): the float64 nearest to
// the exact microsecond time, which reads back to the same microsecond.
func appendSeconds(b []byte, ts time.Time) []byte {
	var tmp [32]byte
	exact := append(strconv.AppendInt(tmp[:0], ts.Unix(), 10), '.')
	us := ts.Nanosecond() / 1000
	for d := 100000; d > 0; d /= 10 {
		exact = append(exact, byte('0'+us/d%10))
	}
	f, _ := strconv.ParseFloat(string(exact), 64) // digits only: cannot fail
	return strconv.AppendFloat(b, f, 'f', -1, 64)
}

// restOHLC serves GET /0/public/OHLC?pair=&interval= (minutes, default 1):
// the last 720 candles of the served trades, the last one open (it holds
// the newest trade), empty intervals present with volume 0. since is
// ignored.
func (s *Server) restOHLC(q url.Values) ([]byte, string) {
	minutes, err := strconv.Atoi(cmp.Or(q.Get("interval"), "1"))
	if err != nil || !slices.Contains(ohlcMinutes, minutes) {
		if _, ok := s.withTrades(q.Get("pair"), func(*tape, int, []market.Trade) {}); !ok {
			return nil, pairError(q.Get("pair"))
		}
		return nil, errInvalidArguments
	}
	var candles []market.Candle
	pair, ok := s.withTrades(q.Get("pair"), func(_ *tape, _ int, trades []market.Trade) {
		candles, err = lastCandles(trades, time.Duration(minutes)*time.Minute, ohlcMaxRows)
	})
	if !ok {
		return nil, pairError(q.Get("pair"))
	}
	if err != nil {
		return nil, errUnavailable // the trades were validated at New: cannot happen
	}
	return encodeOHLC(restKey(pair), candles, s.pairDecimals(pair)), ""
}

// lastCandles aggregates only the trades that the last n candles need,
// plus the one before them, whose close the leading empty candles repeat.
func lastCandles(trades []market.Trade, iv time.Duration, n int) ([]market.Candle, error) {
	if len(trades) == 0 {
		return nil, nil
	}
	cutoff := trades[len(trades)-1].TS.Truncate(iv).Add(-time.Duration(n-1) * iv)
	i := sort.Search(len(trades), func(i int) bool { return !trades[i].TS.Before(cutoff) })
	agg, err := market.NewAggregator(market.AggregatorConfig{Interval: iv})
	if err != nil {
		return nil, err
	}
	var out []market.Candle
	for _, t := range trades[max(0, i-1):] {
		if out, _, err = agg.Add(t, out); err != nil {
			return nil, err
		}
	}
	out = agg.Flush(out)
	return out[max(0, len(out)-n):], nil
}

// encodeOHLC writes {"KEY":[[time,"o","h","l","c","vwap","volume",count],...],"last":time}
// where last is the start of the newest closed candle, Kraken's polling cursor.
func encodeOHLC(key string, candles []market.Candle, priceDec int) []byte {
	b := append(strconv.AppendQuote([]byte{'{'}, key), ":["...)
	for i, c := range candles {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(strconv.AppendInt(append(b, '['), c.Start.Unix(), 10), ',')
		for _, p := range []float64{c.Open, c.High, c.Low, c.Close, c.VWAP} {
			b = append(appendDecimalString(b, p, priceDec), ',')
		}
		b = append(appendDecimalString(b, c.Volume, 8), ',')
		b = append(strconv.AppendInt(b, c.Trades, 10), ']')
	}
	last := int64(0)
	if n := len(candles); n > 0 {
		last = candles[max(0, n-2)].Start.Unix()
	}
	return append(strconv.AppendInt(append(b, `],"last":`...), last, 10), '}')
}

// restAssetPairs serves GET /0/public/AssetPairs[?pair=A,B]: the served
// pairs keyed by canonical name.
func (s *Server) restAssetPairs(q url.Values) ([]byte, string) {
	pairs, errStr := s.assetPairList(q.Get("pair"))
	if errStr != "" {
		return nil, errStr
	}
	b := []byte{'{'}
	for i, p := range pairs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(strconv.AppendQuote(b, restKey(p)), ':')
		b = append(b, assetPairJSON(p, s.pairDecimals(p))...)
	}
	return append(b, '}'), ""
}

func (s *Server) assetPairList(filter string) ([]string, string) {
	s.mu.Lock()
	all := make([]string, 0, len(s.tapes))
	for p := range s.tapes {
		all = append(all, p)
	}
	s.mu.Unlock()
	if filter == "" {
		slices.Sort(all)
		return all, ""
	}
	var out []string
	for _, name := range strings.Split(filter, ",") {
		p, err := market.NormalizePair(name)
		if err != nil || !slices.Contains(all, p) {
			return nil, errUnknownPair
		}
		out = append(out, p)
	}
	return out, ""
}

func assetPairJSON(pair string, priceDec int) string {
	base, quote, _ := strings.Cut(pair, "/")
	tick := strconv.FormatFloat(math.Pow10(-priceDec), 'f', -1, 64)
	return fmt.Sprintf(`{"altname":%q,"wsname":%q,"aclass_base":"currency","base":%q,"aclass_quote":"currency","quote":%q,`+
		`"lot":"unit","cost_decimals":5,"pair_decimals":%d,"lot_decimals":8,"lot_multiplier":1,`+
		`"ordermin":"0.0001","costmin":"0.5","tick_size":%q,"status":"online"}`,
		v1Asset(base)+v1Asset(quote), v1Asset(base)+"/"+v1Asset(quote), assetCode(base), assetCode(quote), priceDec, tick)
}

// pairDecimals is the most decimals a price of pair has in the data
// loaded so far (Kraken's pair_decimals).
func (s *Server) pairDecimals(pair string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tapes[pair]; ok {
		return t.decimals
	}
	return 0
}

// restSystemStatus serves GET /0/public/SystemStatus with the engine
// status the WebSocket side announces (maintenance fault included).
func (s *Server) restSystemStatus(url.Values) ([]byte, string) {
	return fmt.Appendf(nil, `{"status":%q,"timestamp":%q}`, s.system(), s.Now().Format(time.RFC3339)), ""
}

// restTime serves GET /0/public/Time: the exchange clock (Server.Now), as
// {"unixtime":1688669597,"rfc1123":"Thu, 06 Jul 23 18:53:17 +0000"}, the
// layout of Kraken's documented example (RFC1123Z with a two-digit year).
func (s *Server) restTime(url.Values) ([]byte, string) {
	now := s.Now()
	return fmt.Appendf(nil, `{"unixtime":%d,"rfc1123":%q}`, now.Unix(), now.Format(rfc1123Kraken)), ""
}

// rfc1123Kraken is the layout of Time's rfc1123 field as Kraken sends it.
const rfc1123Kraken = "Mon, 02 Jan 06 15:04:05 -0700"

// v1Asset is the name Kraken's REST altname and v1 wsname use.
func v1Asset(a string) string {
	switch a {
	case "BTC":
		return "XBT"
	case "DOGE":
		return "XDG"
	}
	return a
}

// Legacy assets have four-letter X/Z codes (XXBT, XETH, ZUSD); only pairs
// of two legacy assets have the X…Z… key (XXBTZUSD, XETHXXBT), and a few
// mixed ones are listed (USDTZUSD). Everything else is keyed by altname
// (ETHUSDT, XDGUSD, SOLUSD), as on the real API.
var (
	legacyCrypto = []string{"XBT", "ETH", "LTC", "XRP", "XLM", "XMR", "ETC", "ZEC", "REP", "MLN", "XDG"}
	legacyFiat   = []string{"USD", "EUR", "GBP", "CAD", "JPY"}
	mixedKeys    = map[string]string{"USDTUSD": "USDTZUSD"}
	// legacyBases are the legacy assets Kraken still keys X…Z… as a base
	// (DOGE is XXDG as an asset, yet its USD pair is XDGUSD).
	legacyBases = []string{"XBT", "ETH", "LTC", "XRP", "XLM", "XMR", "ETC", "ZEC", "REP", "MLN"}
)

func assetCode(a string) string {
	a = v1Asset(a)
	switch {
	case slices.Contains(legacyCrypto, a):
		return "X" + a
	case slices.Contains(legacyFiat, a):
		return "Z" + a
	}
	return a
}

// restKey is the canonical REST name of a v2 pair: BTC/USD → XXBTZUSD,
// ETH/USD → XETHZUSD, ETH/USDT → ETHUSDT.
func restKey(pair string) string {
	base, quote, _ := strings.Cut(pair, "/")
	b, q := v1Asset(base), v1Asset(quote)
	if k, ok := mixedKeys[b+q]; ok {
		return k
	}
	if slices.Contains(legacyBases, b) && (slices.Contains(legacyFiat, q) || slices.Contains(legacyBases, q)) {
		return assetCode(base) + assetCode(quote)
	}
	return b + q
}
