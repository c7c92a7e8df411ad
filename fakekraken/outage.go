package fakekraken

import (
	"fmt"
	"net/http"
	"time"
)

// outagePage is what Cloudflare answers in front of a Kraken that is down:
// HTTP 503 with an HTML page, for WebSocket upgrades and REST alike.
const outagePage = "<html><head><title>503 Service Temporarily Unavailable</title></head><body>" +
	"<center><h1>503 Service Temporarily Unavailable</h1></center><hr><center>cloudflare</center></body></html>\n"

// countForOutageLocked counts k trades published and starts an outage
// when OutageEvery of them were published since the last one ended.
// Trades published during an outage do not count: the next outage comes
// OutageEvery trades after clients could be back.
func (s *Server) countForOutageLocked(k int) {
	f := s.cfg.Faults
	if f.OutageEvery <= 0 || f.OutageFor <= 0 || s.inOutageLocked(time.Now()) {
		return
	}
	s.sinceOutage += k
	if s.sinceOutage < f.OutageEvery || (f.Outages > 0 && s.outages >= f.Outages) {
		return
	}
	s.sinceOutage = 0
	s.startOutageLocked(f.OutageFor)
}

// startOutageLocked drops every connection abruptly (1006, no close frame)
// and refuses connections and REST for d of wall time. The exchange goes
// on: at Speed > 0 its clock keeps publishing; at max speed, where only
// subscribers drive the replay, SkipOnDisconnect trades of each pair
// happen at once.
func (s *Server) startOutageLocked(d time.Duration) {
	s.outages++
	s.stats.outages.Add(1)
	s.outageUntil = time.Now().Add(d)
	for c := range s.conns {
		c.ws.NetConn().Close()
	}
	for _, t := range s.tapes {
		clear(t.subs)
	}
	s.log.Info("fakekraken: outage", "for", d, "connections", len(s.conns), "exchange_time", s.nowLocked())
	if s.maxSpeed() {
		for _, t := range s.tapes {
			s.publishLocked(t, t.published+s.cfg.Faults.SkipOnDisconnect)
		}
	}
}

func (s *Server) inOutage() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inOutageLocked(time.Now())
}

func (s *Server) inOutageLocked(now time.Time) bool { return now.Before(s.outageUntil) }

// refuseInOutage answers 503 during an outage and reports whether it did.
func (s *Server) refuseInOutage(w http.ResponseWriter) bool {
	if !s.inOutage() {
		return false
	}
	w.Header().Set("Content-Type", "text/html")
	w.Header().Set("Retry-After", "1")
	w.WriteHeader(http.StatusServiceUnavailable)
	fmt.Fprint(w, outagePage)
	return true
}
