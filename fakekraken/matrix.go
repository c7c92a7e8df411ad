package fakekraken

import "time"

// FaultScenario is one named set of faults for tests in other packages
// (the end-to-end "every trade stored exactly once" test): put Faults,
// REST and Speed into a Config beside the trades.
type FaultScenario struct {
	Name   string
	Seed   uint64 // what any randomness of the scenario was drawn with
	Faults Faults
	REST   RESTFaults
	Speed  float64
}

// Config returns cfg with the scenario's faults and speed.
func (sc FaultScenario) Config(cfg Config) Config {
	cfg.Faults, cfg.REST, cfg.Speed = sc.Faults, sc.REST, sc.Speed
	return cfg
}

// matrixSeed is the seed of the scenarios' randomness (hostile positions).
const matrixSeed = 20190701

// FaultMatrix lists the faults the exchange has, alone and combined, with
// fixed seeds: the same list every call. Sizes are chosen for the real
// hour XBTUSD_trades_2019-07-01T00.csv (2,672 trades, about 0.74 a second
// of market time): drops every 15, 50 and 400 trades, each losing trades
// beyond the 50-trade snapshot (SkipOnDisconnect 80, so REST must repair
// 30 a drop); outages of 1, 3 and 10 s of wall time at Speed 50, during
// which about 37, 111 and 370 trades happen (1 s: the snapshot covers
// them; 3 and 10 s: a trade_id gap); frames before the subscribe reply;
// hostile trades (one of each kind, ids in 100..2000); and all of the
// connection faults together with a REST rate limit and REST failures.
// Drops and the hostile scenario run at max speed (Speed 0).
func FaultMatrix() []FaultScenario {
	drop := func(every int) Faults {
		return Faults{DisconnectEvery: every, Disconnects: 10, SkipOnDisconnect: 80}
	}
	outage := func(d time.Duration) Faults {
		return Faults{OutageEvery: 600, OutageFor: d, Outages: 2}
	}
	combined := Faults{DisconnectEvery: 50, Disconnects: 10, SkipOnDisconnect: 80,
		OutageEvery: 700, OutageFor: 3 * time.Second, Outages: 2, TradesBeforeAck: true}
	return []FaultScenario{
		{Name: "drop every 15", Seed: matrixSeed, Faults: drop(15)},
		{Name: "drop every 50", Seed: matrixSeed, Faults: drop(50)},
		{Name: "drop every 400", Seed: matrixSeed, Faults: drop(400)},
		{Name: "outage 1s", Seed: matrixSeed, Faults: outage(time.Second), Speed: 50},
		{Name: "outage 3s", Seed: matrixSeed, Faults: outage(3 * time.Second), Speed: 50},
		{Name: "outage 10s", Seed: matrixSeed, Faults: outage(10 * time.Second), Speed: 50},
		{Name: "trades before ack", Seed: matrixSeed, Faults: Faults{TradesBeforeAck: true}},
		{Name: "hostile trades", Seed: matrixSeed, Faults: Faults{Hostile: RandomHostile(matrixSeed, len(HostileKinds()), 100, 2000)}},
		{Name: "combined", Seed: matrixSeed, Faults: combined, Speed: 50,
			REST: RESTFaults{RateLimitPerSecond: 20, RateLimitWith: ErrRateLimit, FailEvery: 7}},
	}
}
