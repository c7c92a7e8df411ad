package connect

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/internal/atomicfile"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

// fenceDirName is the directory, under the Parquet root, of the per-pair
// fence files; it is no dataset, so readers never look into it.
const fenceDirName = "_fence"

// storeFence keeps, per pair, the highest consumer-group generation that
// wrote the pair's Parquet files (<dir>/<PAIR>.json) and refuses a write of
// a lower one: a replica that lost the pair's partition cannot overwrite
// what the new owner wrote. The check, the fence update and the write run
// under one lock per pair (flock on <dir>/<PAIR>.lock), across processes.
type storeFence struct{ dir string }

type fenceFile struct {
	Pair       string `json:"pair"`
	Generation int64  `json:"generation"`
}

// admit runs write when gen is at least the pair's fence, raising the
// fence to gen first. It returns false, and the fence, when gen is stale.
func (f storeFence) admit(pair string, gen int64, write func() error) (bool, int64, error) {
	if err := os.MkdirAll(f.dir, 0o755); err != nil {
		return false, 0, fmt.Errorf("fence %s: %w", pair, err)
	}
	slug := market.PairSlug(pair)
	unlock, err := lockFence(filepath.Join(f.dir, slug+".lock"))
	if err != nil {
		return false, 0, fmt.Errorf("fence %s: %w", pair, err)
	}
	defer unlock()
	path := filepath.Join(f.dir, slug+".json")
	// A writer killed inside atomicfile.Write left its temporary file; under
	// the lock, no live write owns one.
	if _, err := atomicfile.RemoveTemps(path, atomicfile.Options{}); err != nil {
		return false, 0, fmt.Errorf("fence %s: %w", pair, err)
	}
	held, err := readFence(path)
	if err != nil {
		return false, 0, fmt.Errorf("fence %s: %w", pair, err)
	}
	if gen < held {
		return false, held, nil
	}
	if gen > held {
		body, _ := json.Marshal(fenceFile{Pair: pair, Generation: gen})
		if err := atomicfile.Write(path, append(body, '\n')); err != nil {
			return false, held, fmt.Errorf("fence %s: %w", pair, err)
		}
	}
	return true, gen, write()
}

// readFence returns the generation of a fence file; -1 when there is none.
func readFence(path string) (int64, error) {
	body, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return -1, nil
	}
	if err != nil {
		return 0, err
	}
	var ff fenceFile
	if err := json.Unmarshal(body, &ff); err != nil {
		return 0, fmt.Errorf("read %s: %w", path, err)
	}
	return ff.Generation, nil
}

// fencedWriter is the store output's writer when fence is on: rows are
// buffered per (pair, generation) and each buffer is written by a store of
// its own under the pair's fence, so no row is written outside the lock.
type fencedWriter struct {
	root    string
	opts    parquet.Options
	fence   storeFence
	refused *service.MetricCounter
	log     *service.Logger

	mu   sync.Mutex
	bufs map[fenceKey]*fencedRows
	n    int
}

type fenceKey struct {
	pair string
	gen  int64
}

type fencedRows struct {
	candles  []market.Candle
	features []market.FeatureRow
}

func newFencedWriter(root string, opts parquet.Options, mgr *service.Resources) *fencedWriter {
	return &fencedWriter{root: root, opts: opts, fence: storeFence{dir: filepath.Join(root, fenceDirName)},
		refused: mgr.Metrics().NewCounter("tickcast_store_fenced_rows"), log: mgr.Logger(), bufs: map[fenceKey]*fencedRows{}}
}

// add buffers the batch's candles and feature rows by pair and
// kafka_generation; it reports the messages it cannot store.
func (w *fencedWriter) add(batch service.MessageBatch, keep map[string]bool, skip func(string, error)) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, msg := range batch {
		kind := kindOf(msg)
		if !keep[kind] || (kind != KindCandle && kind != KindFeature) {
			continue
		}
		gen, err := strconv.ParseInt(metaString(msg, MetaKafkaGeneration), 10, 64)
		if err == nil && gen < 0 {
			err = fmt.Errorf("generation %d", gen)
		}
		if err == nil {
			err = w.addOne(kind, gen, msg)
		}
		if err != nil {
			skip(kind, fmt.Errorf("fenced store: %w", err))
		}
	}
}

func (w *fencedWriter) addOne(kind string, gen int64, msg *service.Message) error {
	if kind == KindCandle {
		c, err := decode(msg, wire.DecodeCandle)
		if err == nil {
			b := w.buf(c.Pair, gen)
			b.candles = append(b.candles, c)
		}
		return err
	}
	r, err := decode(msg, wire.DecodeFeatureRow)
	if err == nil {
		b := w.buf(r.Pair, gen)
		b.features = append(b.features, r)
	}
	return err
}

func (w *fencedWriter) buf(pair string, gen int64) *fencedRows {
	if p, err := market.NormalizePair(pair); err == nil {
		pair = p
	}
	k := fenceKey{pair, gen}
	b := w.bufs[k]
	if b == nil {
		b = &fencedRows{}
		w.bufs[k] = b
	}
	w.n++
	return b
}

// fencedMaxPairRows is the most feature rows of one pair that wait for a
// write: a replica that dies loses what it had not written, and the pair's
// new owner emits again only the rows it held (heldRows).
const fencedMaxPairRows = 2 * market.FeatureWindow

// full reports whether some pair has fencedMaxPairRows rows waiting.
func (w *fencedWriter) full() bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	per := map[string]int{}
	for k, b := range w.bufs {
		if per[k.pair] += len(b.features); per[k.pair] >= fencedMaxPairRows {
			return true
		}
	}
	return false
}

// buffered is the number of rows waiting.
func (w *fencedWriter) buffered() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.n
}

// fenceWorkers bounds the pairs written at once.
const fenceWorkers = 8

// flush writes each buffer under its pair's fence, lower generations first;
// a stale one is dropped (counted, logged), a failed one kept for the next
// flush. Pairs are written fenceWorkers at a time (each has its own fence,
// files and locks, and a write mostly waits on fsync): at a window's end
// every pair has rows, and one after the other they would reach the store
// a pair's write time apart.
func (w *fencedWriter) flush(ctx context.Context) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	byPair := map[string][]fenceKey{}
	for _, k := range sortedFenceKeys(w.bufs) {
		byPair[k.pair] = append(byPair[k.pair], k)
	}
	var mu sync.Mutex
	var errs []error
	done := map[fenceKey]bool{}
	sem := make(chan struct{}, fenceWorkers)
	var wg sync.WaitGroup
	for _, keys := range byPair {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			for _, k := range keys { // one pair's generations in order
				err := w.flushOne(ctx, k)
				mu.Lock()
				if err != nil {
					errs = append(errs, err)
				} else {
					done[k] = true
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for k := range done {
		b := w.bufs[k]
		w.n -= len(b.candles) + len(b.features)
		delete(w.bufs, k)
	}
	return errors.Join(errs...)
}

// flushOne writes one buffer under its pair's fence; a stale one is
// dropped (nil error).
func (w *fencedWriter) flushOne(ctx context.Context, k fenceKey) error {
	b := w.bufs[k]
	ok, held, err := w.fence.admit(k.pair, k.gen, func() error { return w.write(ctx, b) })
	if err != nil {
		return err
	}
	if !ok {
		w.refused.Incr(int64(len(b.candles) + len(b.features)))
		w.log.Warnf("store: fenced: %d rows of %s written by generation %d, the pair's files by %d (a newer owner)",
			len(b.candles)+len(b.features), k.pair, k.gen, held)
	}
	return nil
}

// write stores one buffer, closed (flushed) before the fence is released:
// the feature rows first (what serving and the store latency wait for),
// then the candles.
func (w *fencedWriter) write(ctx context.Context, b *fencedRows) error {
	for _, add := range []func(*parquet.Store) error{
		func(st *parquet.Store) error { return st.AddFeatures(b.features) },
		func(st *parquet.Store) error { return st.AddCandles(b.candles) },
	} {
		st, err := parquet.Open(w.root, w.opts)
		if err != nil {
			return err
		}
		if err := add(st); err != nil {
			return err
		}
		if err := st.Close(ctx); err != nil {
			return err
		}
	}
	return nil
}

func sortedFenceKeys(m map[fenceKey]*fencedRows) []fenceKey {
	keys := make([]fenceKey, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b fenceKey) int {
		return cmp.Or(cmp.Compare(a.pair, b.pair), cmp.Compare(a.gen, b.gen))
	})
	return keys
}
