package connect

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redpanda-data/benthos/v4/public/service"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/internal/realdata"
	"github.com/tickcast/tickcast/internal/realfeatures"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/wire"
)

// flush_idle writes a burst of rows once no batch came for that long, long
// before flush_interval; without it the rows wait for the interval.
func TestStoreOutputFlushIdle(t *testing.T) {
	rows := realfeatures.Rows(t, realfeatures.BinanceKlines(t, realdata.BinanceBTC90d, "BTC/USDT", 30).Candles)
	for _, tt := range []struct {
		idle   string
		stored bool // within 2 s
	}{{"50ms", true}, {"0s", false}} {
		t.Run("flush_idle "+tt.idle, func(t *testing.T) {
			dir := t.TempDir()
			env, err := NewEnvironment(Deps{})
			if err != nil {
				t.Fatal(err)
			}
			b := env.NewStreamBuilder()
			push, err := b.AddBatchProducerFunc()
			if err != nil {
				t.Fatal(err)
			}
			if err := b.AddOutputYAML(fmt.Sprintf(`tickcast_store: { data_dir: %q, datasets: [ features ], flush_interval: 1h, flush_idle: %s }`, dir, tt.idle)); err != nil {
				t.Fatal(err)
			}
			if err := b.SetLoggerYAML(`level: warn`); err != nil {
				t.Fatal(err)
			}
			stop := runTestStream(t, b)
			defer stop()
			var batch service.MessageBatch
			for _, r := range rows {
				m := service.NewMessage(wire.AppendJSON(nil, r))
				m.MetaSetMut(MetaKind, KindFeature)
				m.MetaSetMut(MetaPair, r.Pair)
				batch = append(batch, m)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			if err := push(ctx, batch); err != nil {
				t.Fatal(err)
			}
			var got int
			for deadline := time.Now().Add(2 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
				rs, err := parquet.ReadFeatures(datadir.Parquet(dir), "BTC/USDT", time.Time{}, time.Time{})
				if got = len(rs); err == nil && got == len(rows) {
					break
				}
			}
			if stored := got == len(rows); stored != tt.stored {
				t.Errorf("%d of %d rows in the store after 2 s, want stored = %v", got, len(rows), tt.stored)
			}
		})
	}
}
