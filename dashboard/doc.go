// Package dashboard is tickcast's operator page: static HTML, CSS and
// JavaScript embedded in the binary, with a vendored charting library
// (TradingView Lightweight Charts, assets/vendor). The page reads the JSON
// API and the WebSocket stream of the server that mounts Handler at GET /
// and /assets/*; it makes no other requests and has no build step.
package dashboard
