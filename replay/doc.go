// Package replay plans what a run replays instead of streaming live:
// --replay's list of files per pair (ParseList), each pair's trades as a
// stream that never holds the whole file (Load: real trades, or trades
// reconstructed from candles, split at the streamed part's first candle),
// and the groups of pairs that start together on one market clock
// (GroupSources, Group.SnapshotSizes). It knows nothing of the fake Kraken
// that serves the trades: cmd wires each Source into one.
package replay
