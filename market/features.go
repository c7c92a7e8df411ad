package market

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// Feature design: the window rule.
//
// Every feature at ts is a pure function of the last FeatureWindow candles
// ending at or before ts (fewer while the stream is younger), except the
// long-memory volatilities rvol_120, rvol_240 and rvol_1440: they sum the
// squared one-candle returns of the last 121, 241 and LongWindow+1 candles
// and are missing (NaN) until the stream has given that many, never computed
// over fewer. Nothing else is carried from one candle to the next: the
// candles and their squared returns are kept and every value is recomputed
// from them with sums in a fixed order (no running sum, whose rounding would
// depend on where the stream started). Two properties follow and are tested:
//   - no look-ahead: data after ts cannot change the row at ts;
//   - start independence: once warm, a row does not depend on where the stream
//     started, so a backfill and the live pipeline give bit-identical rows
//     (every value that is not missing; the long ones are missing alike in
//     both until their window is full).
//
// Recursive indicators are therefore truncated at the window. An EMA(p) over a
// window is seeded with the simple average of the window's oldest p closes and
// then follows e += α·(x − e), α = 2/(p+1), up to the window's last candle; it
// is NaN while the window holds fewer than p closes. In a warm window the seed
// weighs (1−α)^(FeatureWindow−p): 7e-4 for EMA(26), 1.5e-8 for EMA(12). The MACD
// line (EMA12 − EMA26) is evaluated at every candle of the window from the
// 26th on, and its signal is the EMA(9) of those values, seeded the same way.
//
// Degenerate inputs get the value that makes sense instead of NaN: empty
// candles (no trades, volume 0) give imbalance 0, a VWAP deviation of 0 when
// the whole VWAP window is empty, a volume z-score of 0 when the volumes do
// not vary, a Bollinger %B of 0.5 when the closes do not vary and an RSI of 50
// when they do not move. A feature is NaN (missing) only when it needs more
// candles than the stream has given, or a field the source lacks (see
// FeatureMayBeMissing: no taker side, no trade count).

// FeatureWindow is how many candles a feature row depends on: every feature
// at ts is a pure function of the last FeatureWindow candles ending at or
// before ts. A row is Warm when its window holds FeatureWindow candles.
const FeatureWindow = 120

// LongWindow is the longest feature window, in one-candle returns: rvol_1440
// sums the squared returns of the last LongWindow candles (a day of 1-minute
// candles), so it needs LongWindow+1 candles. The warm start and each
// backfill chunk are seeded with up to LongWindow stored candles: with their
// first own candle, that is every long feature's window.
const LongWindow = 1440

// FeatureHistory is the most candles a row depends on (the long features'):
// Compute reads the last FeatureHistory candles of its window.
const FeatureHistory = LongWindow + 1

// Indicator periods, in candles.
const (
	emaFast    = 12
	emaSlow    = 26
	macdSignal = 9
	smaPeriod  = 20 // SMA deviation, Bollinger bands, volume z-score, VWAP
	rsiPeriod  = 14
	atrPeriod  = 14
	imbPeriod  = 5
	bandWidth  = 2   // Bollinger bands at ±2σ
	rangeShort = 30  // Parkinson and Garman–Klass
	rangeLong  = 120 // Parkinson
)

// rvolPeriods are the realized-volatility features and their windows, in
// one-candle returns, shortest first.
var rvolPeriods = [...]struct{ feature, returns int }{
	{FRVol5, 5}, {FRVol15, 15}, {FRVol30, 30}, {FRVol60, 60}, {FRVol120, 120}, {FRVol240, 240}, {FRVol1440, LongWindow},
}

// Features turns each pair's candle stream into feature rows. It keeps, per
// pair, fixed rings of the last 2×FeatureWindow candles and of the squared
// returns of the last LongWindow+FeatureWindow candles (pairFeatures, ~113 kB),
// so memory is bounded by the number of pairs, whatever the streams' length:
// the rows of the last FeatureWindow candles can then be recomputed exactly
// when one of them is corrected. The zero value is ready to use; a Features
// is not safe for concurrent use.
type Features struct {
	pairs map[string]*pairFeatures
	rows  []FeatureRow // Correct's result, reused
}

// pairFeatures is what Features keeps of one pair, ~113 kB whatever the
// stream's length: 2 × 240 candles of 168 B (81 kB) with their range terms
// (8 kB) and 2 × 1560 squared returns (25 kB); each ring writes every value
// twice so that what it holds is one contiguous slice.
type pairFeatures struct {
	candles candleRing
	sq      returnRing // sq.held()'s last value is the newest candle's squared return
}

// NewFeatures returns an empty feature calculator.
func NewFeatures() *Features {
	return &Features{pairs: make(map[string]*pairFeatures)}
}

// Update adds the next candle of c.Pair and returns the feature row at c.End.
// The candles of a pair must come in time order, contiguous (c.Start equals
// the previous End) and of one duration; any other candle, including a
// re-emitted or corrected candle for a window already seen (that is
// Correct's job), and a candle with impossible values, is rejected with an
// error wrapping ErrInvalid and the state is left unchanged. Update does not
// allocate once a pair is known.
func (f *Features) Update(c Candle) (FeatureRow, error) {
	if err := validateFeatureCandle(c); err != nil {
		return FeatureRow{}, err
	}
	p := f.pairs[c.Pair]
	if p == nil {
		p = &pairFeatures{}
		if f.pairs == nil {
			f.pairs = make(map[string]*pairFeatures)
		}
		f.pairs[c.Pair] = p
	} else if err := p.candles.follows(c); err != nil {
		return FeatureRow{}, err
	} else {
		p.sq.push(sqReturn(c, p.candles.buf[p.candles.last]))
	}
	p.candles.push(c)
	w, terms := p.candles.window()
	return compute(w, terms, p.sq.held()), nil
}

// Correct replaces the candle of c.Pair with c.Start, one of the pair's last
// FeatureWindow candles (a candle re-emitted after a repair), and returns
// the recomputed rows at it and at every later candle held, oldest first:
// they all depend on it. The rows equal those Update would have returned had
// c come in the first place. A candle that is not held (older than the
// window, newer than the last candle, unknown pair, another duration) or
// has impossible values is rejected with an error wrapping ErrInvalid and
// the state is left unchanged. The returned slice is reused by the next
// Correct; Correct allocates only the first time it returns that many rows.
func (f *Features) Correct(c Candle) ([]FeatureRow, error) {
	if err := validateFeatureCandle(c); err != nil {
		return nil, err
	}
	p := f.pairs[c.Pair]
	if p == nil {
		return nil, featureCandleErr(c, "correction of an unknown pair")
	}
	i, err := p.candles.find(c)
	if err != nil {
		return nil, err
	}
	p.candles.set(i, c)
	p.setReturn(i) // the returns into and out of candle i change with it
	held, terms := p.candles.held()
	if i+1 < len(held) {
		p.setReturn(i + 1)
	}
	sq := p.sq.held()
	f.rows = f.rows[:0]
	for j := i; j < len(held); j++ {
		lo := max(0, j+1-FeatureWindow)
		f.rows = append(f.rows, compute(held[lo:j+1], terms[lo:j+1], sq[:p.returnIndex(j)+1]))
	}
	return f.rows, nil
}

// returnIndex is the index in sq.held() of the squared return of the candle
// at index j of candles.held(), −1 for the pair's first candle (none).
func (p *pairFeatures) returnIndex(j int) int {
	return p.sq.n - p.candles.n + j
}

// setReturn recomputes the squared return of the candle at index j of
// candles.held() from it and the candle before.
func (p *pairFeatures) setReturn(j int) {
	if k := p.returnIndex(j); k >= 0 {
		held, _ := p.candles.held()
		p.sq.set(k, sqReturn(held[j], held[j-1]))
	}
}

// Newest returns the pair's newest candle, false when there is none: a
// candle starting after it is the next one (Update), one starting at or
// before it a correction (Correct).
func (f *Features) Newest(pair string) (Candle, bool) {
	p := f.pairs[pair]
	if p == nil || p.candles.n == 0 {
		return Candle{}, false
	}
	return p.candles.buf[p.candles.last], true
}

// Held returns a copy of the candles held for pair, oldest first (at most
// 2 × FeatureWindow): what a late warm start puts back after the store's.
func (f *Features) Held(pair string) []Candle {
	p := f.pairs[pair]
	if p == nil || p.candles.n == 0 {
		return nil
	}
	held, _ := p.candles.held()
	return slices.Clone(held)
}

// Reset forgets the candles of pair, so that its stream may start again
// anywhere (after an outage that could not be repaired, say). The rows are
// cold again until FeatureWindow candles have arrived.
func (f *Features) Reset(pair string) { delete(f.pairs, pair) }

// Compute is the pure function behind Update: the feature row at the last
// candle of window, which holds one pair's contiguous candles, oldest first.
// The long-memory volatilities use its last FeatureHistory candles (and are
// NaN when it holds fewer than they need), every other feature its last
// FeatureWindow. An empty window gives a row whose values are all NaN.
func Compute(window []Candle) FeatureRow {
	if len(window) > FeatureHistory {
		window = window[len(window)-FeatureHistory:]
	}
	var small [FeatureWindow]float64 // a window's returns without allocating
	sq := small[:0]
	if len(window)-1 > len(small) {
		sq = make([]float64, 0, len(window)-1)
	}
	for i := 1; i < len(window); i++ {
		sq = append(sq, sqReturn(window[i], window[i-1]))
	}
	w := window[max(0, len(window)-FeatureWindow):]
	var terms [FeatureWindow]rangeTerms
	for i := range w {
		terms[i] = rangeTermsOf(w[i])
	}
	return compute(w, terms[:len(w)], sq)
}

// sqReturn is the squared one-candle log return of c after prev.
func sqReturn(c, prev Candle) float64 {
	r := math.Log(c.Close / prev.Close)
	return r * r
}

// rangeTerms are a candle's terms of the range estimators, ln(H/L)² and
// ln(C/O)²: computed once per candle and kept beside it, so that a row
// takes no logarithm of older candles.
type rangeTerms struct{ hl2, co2 float64 }

func rangeTermsOf(c Candle) rangeTerms {
	hl, co := logRatio(c.High, c.Low), logRatio(c.Close, c.Open)
	return rangeTerms{hl * hl, co * co}
}

// compute is the row at the last candle of window (at most FeatureWindow
// candles, terms theirs); sq holds the squared one-candle returns up to
// that candle, oldest first, at least those of window (the long ones read
// further back).
func compute(window []Candle, terms []rangeTerms, sq []float64) FeatureRow {
	row := FeatureRow{SchemaVersion: FeatureSchemaVersion}
	v := &row.Values
	for i := range v {
		v[i] = math.NaN()
	}
	if len(window) == 0 {
		return row
	}
	last := window[len(window)-1]
	row.Pair, row.TS, row.Close = last.Pair, last.End, last.Close
	row.Warm = len(window) == FeatureWindow
	row.Complete, row.Revision = true, 0
	for i := range window {
		row.Complete = row.Complete && window[i].Complete
		row.Revision += window[i].Revision
	}
	returnFeatures(v, window)
	trendFeatures(v, window)
	bandFeatures(v, window)
	volatilityFeatures(v, window, sq)
	rangeFeatures(v, terms)
	flowFeatures(v, window)
	v[FTODSin], v[FTODCos] = timeOfDay(last.End)
	v[FDOWSin], v[FDOWCos] = timeOfWeek(last.End)
	return row
}

// featureHistory is how many candles a pair keeps: the rows of the last
// FeatureWindow candles depend on FeatureWindow−1 more.
const featureHistory = 2 * FeatureWindow

// returnHistory is how many squared returns a pair keeps: the rows of the
// last FeatureWindow candles read up to LongWindow returns each.
const returnHistory = LongWindow + FeatureWindow

// returnRing holds the squared returns of a pair's last returnHistory
// candles (its first candle has none), written twice like candleRing's.
type returnRing struct {
	buf  [2 * returnHistory]float64
	last int // slot in [0, returnHistory) of the newest return
	n    int // returns held, ≤ returnHistory
}

func (r *returnRing) push(x float64) {
	if r.n > 0 {
		r.last = (r.last + 1) % returnHistory
	}
	r.buf[r.last] = x
	r.buf[r.last+returnHistory] = x
	r.n = min(r.n+1, returnHistory)
}

// held returns the squared returns held, oldest first.
func (r *returnRing) held() []float64 {
	end := r.last + 1 + returnHistory
	return r.buf[end-r.n : end]
}

// set replaces the return at index i of held.
func (r *returnRing) set(i int, x float64) {
	slot := (r.last - (r.n - 1 - i) + returnHistory) % returnHistory
	r.buf[slot] = x
	r.buf[slot+returnHistory] = x
}

// candleRing holds the last featureHistory candles of a pair and their range
// terms. Each is written twice, at i and i+featureHistory, so that the
// candles held are always one contiguous slice of buf and compute runs on
// it without copying.
type candleRing struct {
	buf   [2 * featureHistory]Candle
	terms [2 * featureHistory]rangeTerms // terms[i] are buf[i]'s
	last  int                            // slot in [0, featureHistory) of the newest candle
	n     int                            // candles held, ≤ featureHistory
}

func (r *candleRing) push(c Candle) {
	if r.n > 0 {
		r.last = (r.last + 1) % featureHistory
	}
	r.n = min(r.n+1, featureHistory)
	r.set(r.n-1, c)
}

// held returns the candles held and their range terms, oldest first.
func (r *candleRing) held() ([]Candle, []rangeTerms) {
	end := r.last + 1 + featureHistory
	return r.buf[end-r.n : end], r.terms[end-r.n : end]
}

// window returns the last FeatureWindow candles held and their range
// terms, oldest first.
func (r *candleRing) window() ([]Candle, []rangeTerms) {
	h, t := r.held()
	lo := max(0, len(h)-FeatureWindow)
	return h[lo:], t[lo:]
}

// set replaces the candle at index i of held.
func (r *candleRing) set(i int, c Candle) {
	slot := (r.last - (r.n - 1 - i) + featureHistory) % featureHistory
	t := rangeTermsOf(c)
	r.buf[slot], r.buf[slot+featureHistory] = c, c
	r.terms[slot], r.terms[slot+featureHistory] = t, t
}

// find returns the index in held of the candle that c corrects: same start
// and end, among the last FeatureWindow.
func (r *candleRing) find(c Candle) (int, error) {
	w, _ := r.window()
	first, last := w[0], w[len(w)-1]
	d := last.End.Sub(last.Start)
	switch {
	case c.Start.After(last.Start):
		return 0, featureCandleErr(c, "correction of a candle not seen yet: the last one started "+last.Start.UTC().Format(time.RFC3339Nano))
	case c.Start.Before(first.Start):
		return 0, featureCandleErr(c, "correction older than the feature window, which starts "+first.Start.UTC().Format(time.RFC3339Nano))
	case c.End.Sub(c.Start) != d || c.Start.Sub(first.Start)%d != 0:
		return 0, featureCandleErr(c, fmt.Sprintf("correction off the pair's grid of %s candles", d))
	}
	return r.n - len(w) + int(c.Start.Sub(first.Start)/d), nil
}

// follows checks that c is the candle right after the newest one held.
func (r *candleRing) follows(c Candle) error {
	prev := r.buf[r.last]
	switch {
	case !c.End.After(prev.End):
		return featureCandleErr(c, fmt.Sprintf("not after the last candle [%s, %s): duplicate, correction or out of order",
			prev.Start.UTC().Format(time.RFC3339Nano), prev.End.UTC().Format(time.RFC3339Nano)))
	case !c.Start.Equal(prev.End):
		return featureCandleErr(c, "not contiguous: the last candle ended at "+prev.End.UTC().Format(time.RFC3339Nano))
	case c.End.Sub(c.Start) != prev.End.Sub(prev.Start):
		return featureCandleErr(c, fmt.Sprintf("duration %s, the pair's candles last %s", c.End.Sub(c.Start), prev.End.Sub(prev.Start)))
	}
	return nil
}

// validateFeatureCandle rejects candles whose values no market can produce.
func validateFeatureCandle(c Candle) error {
	switch {
	case c.Pair == "":
		return featureCandleErr(c, "empty pair")
	case !c.End.After(c.Start):
		return featureCandleErr(c, "end not after start")
	case !(positive(c.Open) && positive(c.High) && positive(c.Low) && positive(c.Close)):
		return featureCandleErr(c, fmt.Sprintf("price not positive and finite: OHLC %v %v %v %v", c.Open, c.High, c.Low, c.Close))
	case c.Low > min(c.Open, c.Close) || c.High < max(c.Open, c.Close):
		return featureCandleErr(c, fmt.Sprintf("OHLC %v %v %v %v not within [low, high]", c.Open, c.High, c.Low, c.Close))
	case !(nonNegative(c.Volume) && nonNegative(c.BuyVolume) && nonNegative(c.SellVolume)) || c.Trades < 0:
		return featureCandleErr(c, fmt.Sprintf("negative or non-finite volume %v buy %v sell %v trades %d", c.Volume, c.BuyVolume, c.SellVolume, c.Trades))
	}
	return nil
}

func featureCandleErr(c Candle, why string) error {
	return fmt.Errorf("features %s: candle [%s, %s): %s: %w", c.Pair,
		c.Start.UTC().Format(time.RFC3339Nano), c.End.UTC().Format(time.RFC3339Nano), why, ErrInvalid)
}

func positive(x float64) bool    { return x > 0 && !math.IsInf(x, 1) }
func nonNegative(x float64) bool { return x >= 0 && !math.IsInf(x, 1) }

// returnFeatures sets the log returns over 1, 5, 15 and 60 candles.
func returnFeatures(v *[NumFeatures]float64, w []Candle) {
	v[FRet1] = logReturn(w, 1)
	v[FRet5] = logReturn(w, 5)
	v[FRet15] = logReturn(w, 15)
	v[FRet60] = logReturn(w, 60)
}

// logReturn is ln(close / close k candles earlier), NaN without k+1 closes.
func logReturn(w []Candle, k int) float64 {
	n := len(w)
	if n <= k {
		return math.NaN()
	}
	return math.Log(w[n-1].Close / w[n-1-k].Close)
}

// trendFeatures sets the EMA deviations and MACD in one pass over the window.
func trendFeatures(v *[NumFeatures]float64, w []Candle) {
	fast, slow, signal := newSeededEMA(emaFast), newSeededEMA(emaSlow), newSeededEMA(macdSignal)
	for i := range w {
		fast.add(w[i].Close)
		slow.add(w[i].Close)
		if slow.ready() {
			signal.add(fast.value() - slow.value())
		}
	}
	c := w[len(w)-1].Close
	v[FEMA12Dev] = c/fast.value() - 1
	v[FEMA26Dev] = c/slow.value() - 1
	v[FMACD] = (fast.value() - slow.value()) / c
	v[FMACDSignal] = signal.value() / c
	v[FMACDHist] = v[FMACD] - v[FMACDSignal]
}

// seededEMA is an EMA(p) seeded with the simple average of its first p inputs.
type seededEMA struct {
	p     int
	n     int
	alpha float64
	e     float64 // the running sum until p inputs, the EMA afterwards
}

func newSeededEMA(p int) seededEMA { return seededEMA{p: p, alpha: 2 / float64(p+1)} }

func (s *seededEMA) add(x float64) {
	s.n++
	switch {
	case s.n < s.p:
		s.e += x
	case s.n == s.p:
		s.e = (s.e + x) / float64(s.p)
	default:
		s.e += s.alpha * (x - s.e)
	}
}

func (s *seededEMA) ready() bool { return s.n >= s.p }

// value is the EMA, NaN before p inputs.
func (s *seededEMA) value() float64 {
	if !s.ready() {
		return math.NaN()
	}
	return s.e
}

// bandFeatures sets the SMA(20) deviation, Bollinger %B and RSI(14).
func bandFeatures(v *[NumFeatures]float64, w []Candle) {
	v[FRSI14] = rsi(w, rsiPeriod)
	if len(w) < smaPeriod {
		return
	}
	c := w[len(w)-1].Close
	mean, sd := meanStd(w[len(w)-smaPeriod:], candleClose)
	v[FSMA20Dev] = c/mean - 1
	v[FBBPctB20] = 0.5
	if sd > 0 {
		v[FBBPctB20] = (c - (mean - bandWidth*sd)) / (2 * bandWidth * sd)
	}
}

// rsi is Cutler's RSI over the last p close-to-close changes: 100·G/(G+L)
// with G and L the sums of gains and of losses; 50 when nothing moved.
func rsi(w []Candle, p int) float64 {
	n := len(w)
	if n <= p {
		return math.NaN()
	}
	var gain, loss float64
	for i := n - p; i < n; i++ {
		if d := w[i].Close - w[i-1].Close; d > 0 {
			gain += d
		} else {
			loss -= d
		}
	}
	if gain+loss == 0 {
		return 50
	}
	return 100 * gain / (gain + loss)
}

// volatilityFeatures sets ATR(14)/close and the realized volatilities.
func volatilityFeatures(v *[NumFeatures]float64, w []Candle, sq []float64) {
	n := len(w)
	if n > atrPeriod {
		var sum float64
		for i := n - atrPeriod; i < n; i++ {
			sum += trueRange(w[i], w[i-1].Close)
		}
		v[FATR14] = sum / atrPeriod / w[n-1].Close
	}
	realizedVols(v, sq)
}

// realizedVols sets each rvol_k to sqrt(Σ r²) of the last k squared returns
// of sq, leaving it NaN when sq holds fewer. One pass from the newest return
// back, the j-th newest added to partial sum j mod 4: a fixed order, so each
// value depends only on its window's returns (not on where sq starts), and
// four independent chains of additions instead of one.
func realizedVols(v *[NumFeatures]float64, sq []float64) {
	var s0, s1, s2, s3 float64 // the partial sums, in registers
	n, j := len(sq), 0         // j: returns summed, a multiple of 4
	for _, p := range rvolPeriods {
		if p.returns > n {
			return
		}
		for ; j+4 <= p.returns; j += 4 {
			x := sq[n-4-j : n-j : n-j] // x[3] is the j-th newest
			s0, s1, s2, s3 = s0+x[3], s1+x[2], s2+x[1], s3+x[0]
		}
		t := [4]float64{s0, s1, s2, s3} // and the k-th newest for k in [j, p.returns)
		for k := j; k < p.returns; k++ {
			t[k&3] += sq[n-1-k]
		}
		v[p.feature] = math.Sqrt((t[0] + t[1]) + (t[2] + t[3]))
	}
}

// gkCloseWeight is Garman–Klass's weight of ln(C/O)², 2 ln 2 − 1.
const gkCloseWeight = 2*math.Ln2 - 1

// rangeFeatures sets the Parkinson volatilities over 30 and 120 candles and
// Garman–Klass over 30, as sums over the candles (comparable to rvol), from
// the window's range terms.
func rangeFeatures(v *[NumFeatures]float64, terms []rangeTerms) {
	n := len(terms)
	var park30, park120, gk30 float64
	for i := max(0, n-rangeLong); i < n; i++ {
		t := terms[i]
		park120 += t.hl2
		if i >= n-rangeShort {
			park30 += t.hl2
			gk30 += 0.5*t.hl2 - gkCloseWeight*t.co2
		}
	}
	if n >= rangeShort {
		v[FParkinson30] = math.Sqrt(park30 / (4 * math.Ln2))
		v[FGarmanKlass30] = math.Sqrt(max(gk30, 0))
	}
	if n >= rangeLong {
		v[FParkinson120] = math.Sqrt(park120 / (4 * math.Ln2))
	}
}

// logRatio is ln(a/b): 0 for an empty candle's equal prices without a Log.
func logRatio(a, b float64) float64 {
	if a == b {
		return 0
	}
	return math.Log(a / b)
}

func trueRange(c Candle, prevClose float64) float64 {
	return max(c.High-c.Low, math.Abs(c.High-prevClose), math.Abs(c.Low-prevClose))
}

// flowFeatures sets the volume, VWAP, order-flow and trade-count features.
func flowFeatures(v *[NumFeatures]float64, w []Candle) {
	n := len(w)
	last := w[n-1]
	v[FImbalance] = imbalance(w[n-1:])
	if last.Trades > 0 || last.Volume == 0 { // volume without a count: the source has none
		v[FTradeCount] = math.Log1p(float64(last.Trades))
	}
	if n >= imbPeriod {
		v[FImbalance5] = imbalance(w[n-imbPeriod:])
	}
	if n < smaPeriod {
		return
	}
	w = w[n-smaPeriod:]
	v[FVolumeZ20] = 0
	if mean, sd := meanStd(w, candleVolume); sd > 0 {
		v[FVolumeZ20] = (last.Volume - mean) / sd
	}
	v[FVWAPDev20] = 0
	if vwap, ok := windowVWAP(w); ok {
		v[FVWAPDev20] = last.Close/vwap - 1
	}
}

// imbalance is (buy − sell) / (buy + sell) over w's volumes, 0 without
// volume, NaN (missing) when a candle of w has volume but no taker side.
func imbalance(w []Candle) float64 {
	var buy, sell float64
	for i := range w {
		if w[i].Volume > 0 && w[i].BuyVolume+w[i].SellVolume == 0 {
			return math.NaN()
		}
		buy += w[i].BuyVolume
		sell += w[i].SellVolume
	}
	if buy+sell == 0 {
		return 0
	}
	return (buy - sell) / (buy + sell)
}

// windowVWAP is the volume-weighted average price of w, false without volume.
// A candle with volume but no VWAP (≤ 0 or NaN, as from OHLCVT archives that
// lack the column) counts at its typical price (high + low + close) / 3.
func windowVWAP(w []Candle) (float64, bool) {
	var pv, vol float64
	for i := range w {
		c := &w[i]
		if c.Volume == 0 {
			continue
		}
		p := c.VWAP
		if !positive(p) {
			p = (c.High + c.Low + c.Close) / 3
		}
		pv += p * c.Volume
		vol += c.Volume
	}
	return pv / vol, vol > 0
}

func candleClose(c *Candle) float64  { return c.Close }
func candleVolume(c *Candle) float64 { return c.Volume }

// meanStd returns the mean and population standard deviation of x over w.
// It works on differences from the first value (two passes), so that equal
// values give exactly their value and a standard deviation of exactly 0.
func meanStd(w []Candle, x func(*Candle) float64) (mean, sd float64) {
	x0 := x(&w[0])
	var sum float64
	for i := range w {
		sum += x(&w[i]) - x0
	}
	m := sum / float64(len(w))
	var ss float64
	for i := range w {
		d := x(&w[i]) - x0 - m
		ss += d * d
	}
	return x0 + m, math.Sqrt(ss / float64(len(w)))
}

// timeOfDay encodes the UTC time of day of t on the unit circle.
func timeOfDay(t time.Time) (sin, cos float64) {
	t = t.UTC()
	s := float64(t.Hour()*3600+t.Minute()*60+t.Second()) + float64(t.Nanosecond())/1e9
	return math.Sincos(2 * math.Pi * s / 86400)
}

// timeOfWeek encodes the time of t within the UTC week, from Monday 00:00,
// on the unit circle.
func timeOfWeek(t time.Time) (sin, cos float64) {
	const week = 7 * 86400
	// 1970-01-01 was a Thursday: the Monday before began 3 days earlier.
	s := ((t.Unix()+3*86400)%week + week) % week
	return math.Sincos(2 * math.Pi * (float64(s) + float64(t.Nanosecond())/1e9) / week)
}
