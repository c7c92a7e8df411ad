package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/fakekraken"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/replay"
)

// fakeFlags are the fake Kraken's settings, shared by fakekraken and run.
type fakeFlags struct {
	replay           string
	pair             string
	speed            string
	disconnectEvery  int
	disconnects      int
	skipOnDisconnect int
	silenceAfter     int
	maintenanceAfter int
	repeatSnapshot   int
	historyCandles   string
	restRate         float64
	restFailEvery    int
}

func (f *fakeFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.replay, "replay", "", "trade CSV file(s) to replay, comma-separated (real data)")
	fs.StringVar(&f.pair, "pair", "BTC/USD", "pair of the replayed trades (any spelling); several, comma-separated, replay the same file under each name")
	fs.StringVar(&f.speed, "speed", "max", "replay speed: a multiple of real time, or max")
	fs.IntVar(&f.disconnectEvery, "disconnect-every", 0, "fault: drop the connection after this many trades sent")
	fs.IntVar(&f.disconnects, "disconnects", 0, "fault: at most this many drops (0 = unlimited)")
	fs.IntVar(&f.skipOnDisconnect, "skip-on-disconnect", 0, "fault: trades that happen while the client is away")
	fs.IntVar(&f.silenceAfter, "silence-after", 0, "fault: go silent for 6s once after this many trades")
	fs.IntVar(&f.maintenanceAfter, "maintenance-after", 0, "fault: announce maintenance once after this many trades")
	fs.IntVar(&f.repeatSnapshot, "repeat-snapshot-after", 0, "fault: resend the snapshot once after this many trades")
	fs.StringVar(&f.historyCandles, "history-candles", "", "real 1-minute candle CSV file(s), Kraken OHLCVT or Binance klines, comma-separated: "+
		"serve trades reconstructed from them (labelled reconstructed) under --pair, instead of --replay")
	fs.Float64Var(&f.restRate, "rest-rate", 0, "fault: REST requests per second above which the fake answers EGeneral:Too many requests (0 = no limit)")
	fs.IntVar(&f.restFailEvery, "rest-fail-every", 0, "fault: every Nth REST request fails with EService:Unavailable")
}

// silenceFor is how long the silence fault lasts: past Kraken's 5 s dead-connection rule.
const silenceFor = 6 * time.Second

// parseSpeed turns "max" into 0 (as fast as the client reads).
func parseSpeed(s string) (float64, error) {
	if s == "max" || s == "" {
		return 0, nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("speed %q: want a positive number or max", s)
	}
	return v, nil
}

// server builds the fake Kraken from the flags and returns it with the
// pairs it serves and the time of the last trade it replays.
func (f *fakeFlags) server(e env) (*fakekraken.Server, []string, time.Time, error) {
	var last time.Time
	pairs, err := market.SplitPairs(f.pair)
	if err != nil {
		return nil, nil, last, err
	}
	speed, err := parseSpeed(f.speed)
	if err != nil {
		return nil, nil, last, err
	}
	byPair := map[string][]market.Trade{}
	for _, p := range pairs {
		trades, err := f.trades(e, p)
		if err != nil {
			return nil, nil, last, err
		}
		byPair[p] = trades
		if ts := trades[len(trades)-1].TS; ts.After(last) {
			last = ts
		}
	}
	srv, err := f.newServer(e, fakekraken.Config{Trades: byPair, Speed: speed})
	return srv, pairs, last, err
}

// newServer builds the fake Kraken serving what cfg says (Trades or
// Sources, Speed, SnapshotSize) with the flags' faults.
func (f *fakeFlags) newServer(e env, cfg fakekraken.Config) (*fakekraken.Server, error) {
	cfg.Logger = e.logger
	cfg.REST = fakekraken.RESTFaults{RateLimitPerSecond: f.restRate, FailEvery: f.restFailEvery}
	cfg.Faults = fakekraken.Faults{
		DisconnectEvery:     f.disconnectEvery,
		Disconnects:         f.disconnects,
		SkipOnDisconnect:    f.skipOnDisconnect,
		SilenceAfter:        f.silenceAfter,
		SilenceFor:          silenceFor,
		MaintenanceAfter:    f.maintenanceAfter,
		RepeatSnapshotAfter: f.repeatSnapshot,
	}
	return fakekraken.New(cfg)
}

// trades returns the history of pair: reconstructed from --history-candles
// when given (it wins over a --replay that run picked by default), else
// the real trades of --replay.
func (f *fakeFlags) trades(e env, pair string) ([]market.Trade, error) {
	if f.historyCandles == "" {
		return loadReplay(f.replay, pair)
	}
	e.logger.Info("fakekraken: serving trades reconstructed from candles", "files", f.historyCandles, "pair", pair)
	return loadHistoryCandles(f.historyCandles, pair)
}

// loadHistoryCandles reads real candle files (package archive detects the
// format) and rebuilds trades from them (fakekraken.ReconstructTrades).
func loadHistoryCandles(files, pair string) ([]market.Trade, error) {
	candles, err := replay.ReadCandleFiles(strings.Split(files, ","), pair)
	if err != nil {
		return nil, err
	}
	trades := fakekraken.ReconstructTrades(candles, 1)
	if len(trades) == 0 {
		return nil, fmt.Errorf("history candles %s: no candle with volume", files)
	}
	return trades, nil
}

func loadReplay(files, pair string) ([]market.Trade, error) {
	if files == "" {
		return nil, fmt.Errorf("no --replay (or --history-candles) file given")
	}
	var all []market.Trade
	for _, p := range strings.Split(files, ",") {
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("replay: %w", err)
		}
		ts, err := fakekraken.LoadTradesCSV(f, pair, int64(len(all))+1)
		f.Close()
		if err != nil {
			return nil, fmt.Errorf("replay %s: %w", p, err)
		}
		all = append(all, ts...)
	}
	if len(all) == 0 {
		return nil, fmt.Errorf("replay %s: no trades", files)
	}
	return all, nil
}

func cmdFakeKraken(ctx context.Context, e env, args []string) error {
	fs := flag.NewFlagSet("fakekraken", flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	var ff fakeFlags
	ff.register(fs)
	addr := fs.String("addr", "127.0.0.1:8765", "listen address")
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if ff.replay != "" && ff.historyCandles != "" {
		return fmt.Errorf("give --replay or --history-candles, not both: %w", errUsage)
	}
	srv, pairs, _, err := ff.server(e)
	if err != nil {
		return err
	}
	url, err := srv.Start(*addr)
	if err != nil {
		return err
	}
	defer srv.Close()
	source := ff.replay
	if ff.historyCandles != "" {
		source = "trades reconstructed from " + ff.historyCandles
	}
	fmt.Fprintf(e.stdout, "fake Kraken WebSocket v2 at %s, REST at %s, replaying %s for %s (speed %s)\n",
		url, fakekraken.RESTURL(url), source, strings.Join(pairs, ","), ff.speed)
	<-ctx.Done()
	return nil
}
