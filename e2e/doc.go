// Package e2e holds the end-to-end test of the whole system: the tickcast
// binary, built from this repository, run as its own process against a real
// Temporal dev server and a real Redis, replaying real market data. It has
// tests only.
package e2e
