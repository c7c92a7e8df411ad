package market

import (
	"math"
	"slices"
	"time"
)

// OpenOutage records that the input may be missing trades of pair from
// `from` on — until `to`, or open-ended when to is zero — for reasons no
// trade id can show: its connection was lost, or a stream starts and the
// trades before its first one are still being fetched. id names the outage
// for ResolveOutage and AbandonOutage. Windows overlapping it close with
// Complete=false until it is resolved.
//
// For a pair without trades yet, prevClose > 0 (the close before from,
// e.g. the last stored trade's price) starts the pair at the window of
// from, so that trades fetched for it later are corrections rather than
// late; empty windows before the first trade repeat prevClose. With
// prevClose <= 0 the pair starts at its first trade as usual.
func (a *Aggregator) OpenOutage(pair string, id int64, from, to time.Time, prevClose float64) {
	if pair == "" {
		return
	}
	f, t := clampNanos(from), int64(math.MaxInt64)
	if !to.IsZero() {
		t = max(f, clampNanos(to))
	}
	p := a.state(pair)
	if i := outageIndex(p.outages, id); i >= 0 {
		p.outages[i].from, p.outages[i].to = min(p.outages[i].from, f), t
		return
	}
	if !p.started && prevClose > 0 && !math.IsInf(prevClose, 0) {
		p.started, p.base, p.lastClose = true, f-f%a.iv, prevClose
	}
	if len(p.outages) >= a.maxGaps { // the oldest can no longer be resolved
		a.abandon(p, 0)
	}
	p.outages = append(p.outages, tradeGap{lo: id, from: f, to: t})
	a.stats.Outages++
}

// ResolveOutage ends outage id of pair: the input holds every trade of it
// again — it has passed on the trades it got after the outage (a trade_id
// jump among them is a tracked gap, completed by the trades that fill it)
// or fetched the outage's trades. The kept candles that are complete now
// are appended to out, re-emitted. An unknown id changes nothing.
func (a *Aggregator) ResolveOutage(pair string, id int64, out []Candle) []Candle {
	p, ok := a.byPair[pair]
	if !ok {
		return out
	}
	i := outageIndex(p.outages, id)
	if i < 0 {
		return out
	}
	o := p.outages[i]
	p.outages = slices.Delete(p.outages, i, i+1)
	return a.reemit(p, tradeGap{from: o.from, to: math.MaxInt64}, -1, out)
}

// AbandonOutage gives outage id of pair up (its trades could not be
// fetched): what it overlapped stays incomplete for good, as a MarkGap range
// ending at to (zero: at the pair's newest trade).
func (a *Aggregator) AbandonOutage(pair string, id int64, to time.Time) {
	p, ok := a.byPair[pair]
	if !ok {
		return
	}
	if i := outageIndex(p.outages, id); i >= 0 {
		if !to.IsZero() {
			p.outages[i].to = max(p.outages[i].from, clampNanos(to))
		}
		a.abandon(p, i)
	}
}

// OpenOutages returns how many outages of pair are unresolved.
func (a *Aggregator) OpenOutages(pair string) int {
	if p, ok := a.byPair[pair]; ok {
		return len(p.outages)
	}
	return 0
}

// abandon turns p.outages[i] into a mark, and flags the kept windows it
// overlaps so that no later fill makes them complete.
func (a *Aggregator) abandon(p *pairState, i int) {
	o := p.outages[i]
	p.outages = slices.Delete(p.outages, i, i+1)
	if o.to == math.MaxInt64 {
		o.to = max(o.from, p.wm)
	}
	start := p.base - int64(p.closed.n)*a.iv
	for k := range p.closed.n {
		if o.overlaps(start, start+a.iv) {
			p.closed.at(k).marked = true
		}
		start += a.iv
	}
	p.marks = appendBounded(p.marks, tradeGap{lo: 1, hi: 0, from: o.from, to: o.to}, a.maxGaps)
}

func outageIndex(os []tradeGap, id int64) int {
	return slices.IndexFunc(os, func(o tradeGap) bool { return o.lo == id })
}
