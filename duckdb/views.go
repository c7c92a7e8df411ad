package duckdb

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
)

// The views of a data directory (OpenDataDir): the offline feature store
// that `tickcast sql` and `tickcast export` query.
const (
	ViewTrades      = "trades"
	ViewCandles     = "candles"
	ViewFeatures    = "features"
	ViewPredictions = "predictions"
	ViewModels      = "models" // a table: the registry's versions, read at open
)

// Views lists the view names in the order they are described.
func Views() []string {
	return []string{ViewTrades, ViewCandles, ViewFeatures, ViewPredictions, ViewModels}
}

// col is a column of a view and its DuckDB type, for the empty view of a
// missing dataset (the files' own schema otherwise).
type col struct{ name, typ string }

// view is one Parquet-backed view: how its files are listed and read.
type view struct {
	name   string
	list   func(db *DB) ([]string, error)
	source func(files []string) string // a SELECT over the files
	schema []col                       // the empty view's columns
}

// viewSet holds the views of a DB and each one's current file list
// (corrupt files left out).
type viewSet struct {
	defs  []view
	mu    sync.Mutex
	files map[string][]string
}

func (s *viewSet) get(name string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.files[name]
}

func (s *viewSet) set(name string, files []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.files[name] = files
}

// OpenDataDir starts an in-memory DuckDB over dataDir's store (the root
// need not exist yet) with the views trades,
// candles, features, predictions and the table models. Each view lists
// the files found at open (a later write is not seen: open again); a
// dataset the store lacks is an empty view with its columns. A corrupt
// file whose footer DuckDB must read to create a view fails the open
// (a *parquet.CorruptError naming it) unless opts.SkipCorrupt. Naming
// views creates only those: a corrupt file of another dataset then cannot
// fail the open.
func OpenDataDir(ctx context.Context, dataDir string, opts Options, views ...string) (*DB, error) {
	db, err := open(ctx, datadir.Parquet(dataDir), opts)
	if err != nil {
		return nil, err
	}
	defs := slices.DeleteFunc(parquetViews(dataDir), func(v view) bool {
		return len(views) > 0 && !slices.Contains(views, v.name)
	})
	db.views = &viewSet{defs: defs, files: make(map[string][]string)}
	for _, v := range db.views.defs {
		files, err := v.list(db)
		if err == nil {
			err = db.createView(ctx, v, files)
		}
		if err != nil {
			db.Close()
			return nil, fmt.Errorf("view %s: %w", v.name, err)
		}
	}
	if len(views) > 0 && !slices.Contains(views, ViewModels) {
		return db, nil
	}
	if err := db.loadModels(ctx, dataDir); err != nil {
		db.Close()
		return nil, err
	}
	return db, nil
}

func parquetViews(dataDir string) []view {
	return []view{
		storeView(ViewTrades, parquet.DatasetTrades, tradeSchema(), nil),
		storeView(ViewCandles, parquet.DatasetCandles, candleSchema(), candleTable().optional),
		storeView(ViewFeatures, parquet.DatasetFeatures, featureSchema(), featureTable().optional),
		predictionsView(datadir.Predictions(dataDir)),
	}
}

// storeView reads one dataset of the store: every column of its files
// (optional ones NULL where a file lacks them) and the partition's date,
// on which a filter skips whole files.
func storeView(name string, d parquet.Dataset, schema []col, optional []col) view {
	return view{
		name: name,
		list: func(db *DB) ([]string, error) {
			parts, err := parquet.Partitions(db.root, d, "", time.Time{}, time.Time{})
			paths := make([]string, len(parts))
			for i, p := range parts {
				paths[i] = p.Path
			}
			return paths, err
		},
		source: func(files []string) string {
			src := readParquet(fileList(files))
			if len(optional) > 0 {
				src = withColumns(src, optional)
			}
			return "SELECT * EXCLUDE (" + parquet.PairKey + ") FROM " + src
		},
		schema: append(schema, col{parquet.DateKey, "DATE"}),
	}
}

// predictionsView reads the scorer's files under dir (any replica), a
// prediction re-scored later as last written, like scoring.ReadScored.
func predictionsView(dir string) view {
	return view{
		name: ViewPredictions,
		list: func(*DB) ([]string, error) { return parquetFiles(dir) },
		source: func(files []string) string {
			return `SELECT * EXCLUDE (filename) FROM read_parquet(` + fileList(files) + `, union_by_name = true, filename = true, hive_partitioning = false) ` +
				`QUALIFY row_number() OVER (PARTITION BY pair, horizon, as_of, model_version ORDER BY filename DESC) = 1`
		},
		schema: predictionSchema(),
	}
}

// parquetFiles lists dir's Parquet files in name order (none when dir is
// missing). Paths with a quote are refused: they are spliced into SQL.
func parquetFiles(dir string) ([]string, error) {
	paths, err := parquet.Files(dir)
	for _, p := range paths {
		if strings.Contains(p, "'") {
			return nil, fmt.Errorf("predictions file %q: a quote in its path: %w", p, market.ErrInvalid)
		}
	}
	return paths, err
}

func fileList(files []string) string {
	quoted := make([]string, len(files))
	for i, f := range files {
		quoted[i] = `'` + filepath.ToSlash(f) + `'`
	}
	return "[" + strings.Join(quoted, ", ") + "]"
}

// emptySelect is a SELECT of no rows with the columns of schema.
func emptySelect(schema []col) string {
	cols := make([]string, len(schema))
	for i, c := range schema {
		cols[i] = "NULL::" + c.typ + " AS " + quote(c.name)
	}
	return "SELECT " + strings.Join(cols, ", ") + " WHERE false"
}

// createView (re)creates v over its files. When DuckDB cannot, the files
// are checked one by one: corrupt ones fail it, or with SkipCorrupt are
// logged, listed in Skipped and left out.
func (db *DB) createView(ctx context.Context, v view, files []string) error {
	for {
		text := emptySelect(v.schema)
		if len(files) > 0 {
			text = v.source(files)
		}
		_, err := db.sql.ExecContext(ctx, "CREATE OR REPLACE VIEW "+quote(v.name)+" AS "+text)
		if err == nil {
			db.views.set(v.name, files)
			return nil
		}
		good, derr := db.dropCorrupt(ctx, files, err)
		if derr != nil {
			return derr
		}
		files = good
	}
}

// each streams the rows of q from the view of t's dataset to fn in time
// order; fn's error stops it. A failure on a corrupt file names it, or with
// SkipCorrupt runs again without it when no row went out yet.
func each[T any](ctx context.Context, db *DB, t table[T], q Query, fn func(T) error) error {
	pair, err := normalize(q.Pair)
	if err != nil {
		return err
	}
	name := string(t.dataset)
	for {
		var delivered bool
		var fnErr error
		err := run(ctx, db, t, quote(name), pair, q, func(v T) error {
			delivered, fnErr = true, fn(v)
			return fnErr
		})
		if err == nil || fnErr != nil || ctx.Err() != nil {
			return err
		}
		if delivered {
			return db.blame(ctx, err)
		}
		if err := db.repair(ctx, err, []string{name}); err != nil {
			return err
		}
	}
}
