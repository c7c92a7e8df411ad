package activities

import "time"

// Kinds of rows a pair's backfill starts from: trades (Kraken REST, trade
// CSVs) are aggregated into candles; candles (OHLCVT, klines) are stored as-is.
const (
	KindTrades  = "trades"
	KindCandles = "candles"
)

// Chunk is one pair's [From, To) of a backfill into a data directory. Only
// this (and file paths) crosses Temporal, never rows.
type Chunk struct {
	DataDir string    `json:"data_dir,omitempty"` // "" = the worker's --data-dir
	Pair    string    `json:"pair"`
	From    time.Time `json:"from"`
	To      time.Time `json:"to"`
}

// ArchiveFile is one archive file as the worker saw it when planning.
type ArchiveFile struct {
	Path     string    `json:"path"`
	Format   string    `json:"format"`
	Exchange string    `json:"exchange,omitempty"`
	Pair     string    `json:"pair,omitempty"` // from the file name; "" when the name does not say
	Kind     string    `json:"kind"`
	Interval string    `json:"interval,omitempty"` // candle files: their bar length
	Rows     int       `json:"rows"`
	First    time.Time `json:"first"` // first candle start or trade time
	Last     time.Time `json:"last"`  // last candle start or trade time
	// FirstID numbers the rows of trade files that carry no trade ids, so that
	// several files of one pair get consecutive ids whatever the chunking.
	FirstID int64 `json:"first_id,omitempty"`
}

// InspectInput lists the archive files of a backfill.
type InspectInput struct {
	Files []string `json:"files"`
	// Pair reads every file as this pair (the request names exactly one);
	// "" reads each as the pair its name says.
	Pair string `json:"pair,omitempty"`
}

// ImportInput is one chunk of archive files for one pair.
type ImportInput struct {
	Chunk
	Files []ArchiveFile `json:"files"`
}

// BuildInput is one chunk of candles and features to build for one pair.
type BuildInput struct {
	Chunk
	Kind     string `json:"kind"`
	Interval string `json:"interval"`
}

// CrossInput is one range of days [From, To) of a backfill whose feature
// rows get their cross-pair features, over all the backfill's pairs of one
// candle interval.
type CrossInput struct {
	DataDir  string    `json:"data_dir,omitempty"` // "" = the worker's --data-dir
	Pairs    []string  `json:"pairs"`
	From     time.Time `json:"from"`
	To       time.Time `json:"to"`
	Interval string    `json:"interval"`
}

// ChunkStats is what an activity did to one chunk.
type ChunkStats struct {
	Pages    int       `json:"pages,omitempty"`
	Trades   int       `json:"trades,omitempty"`
	Candles  int       `json:"candles,omitempty"`
	Features int       `json:"features,omitempty"`
	Empty    int       `json:"empty,omitempty"`   // candles filled for bars without data
	Crossed  int       `json:"crossed,omitempty"` // rows with another pair's row at their ts
	First    time.Time `json:"first,omitzero"`
	Last     time.Time `json:"last,omitzero"`
}

// FetchProgress is FetchTradesChunk's heartbeat: the UI shows it, and a
// retried attempt resumes from its Saved cursor.
type FetchProgress struct {
	Pages  int       `json:"pages"`
	Trades int       `json:"trades"`
	First  time.Time `json:"first,omitzero"`
	LastTS time.Time `json:"last_ts,omitzero"`
	// SavedID and SavedTS are the newest trade already durable in the store,
	// Saved the number of trades up to it; a retry fetches from SavedTS on.
	SavedID int64     `json:"saved_id,omitempty"`
	SavedTS time.Time `json:"saved_ts,omitzero"`
	Saved   int       `json:"saved"`
}
