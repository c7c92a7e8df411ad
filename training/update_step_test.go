package training

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/ml"
	"github.com/tickcast/tickcast/parquet"
	"github.com/tickcast/tickcast/registry"
)

// stepFixture is a data directory holding the real week of ETH/USDT
// (weekStore) and a registry whose vol h5 champion v1 is the vol booster
// fitted as TrainProducts fits it on rows [0, 3000) (valid [3005, 3500),
// DataTo the last valid row).
type stepFixture struct {
	dir    string
	reg    *registry.Registry
	ds     ml.Dataset // the store's h5 rows
	series registry.Series
	champ  registry.Meta
	model  []byte
}

func newStepFixture(t *testing.T) stepFixture {
	t.Helper()
	dir := weekStore(t)
	store := &parquet.Reader{Root: datadir.Parquet(dir)}
	rows, err := store.Features("ETH/USDT", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	candles, err := store.Candles("ETH/USDT", time.Time{}, time.Time{})
	if err != nil {
		t.Fatal(err)
	}
	ds, err := ml.Build(rows, candles, 5)
	if err != nil {
		t.Fatal(err)
	}
	checkConsecutive(t, ds, 0, 6000)
	model, scale := volChampion(t, ds, candles, Span{0, 3000}, Span{3005, 3500}, 40)
	reg, err := registry.Open(dir)
	if err != nil {
		t.Fatal(err)
	}
	s := registry.Series{Pair: "ETH/USDT", Horizon: 5, Product: ProductVol}
	champ := registerMeta(t, reg, registry.Meta{Pair: s.Pair, Horizon: 5, Product: ProductVol, Name: ml.ModelXGBoost,
		Params:   map[string]string{ParamVolTarget: "log", ParamVolScale: strconv.FormatFloat(scale, 'g', -1, 64)},
		DataFrom: ds.TS[0], DataTo: ds.TS[3499]}, model)
	if err := reg.SetAliasIn(t.Context(), s, registry.Champion, champ.Version, "full training"); err != nil {
		t.Fatal(err)
	}
	return stepFixture{dir: dir, reg: reg, ds: ds, series: s, champ: champ, model: model}
}

func registerMeta(t *testing.T, reg *registry.Registry, m registry.Meta, model []byte) registry.Meta {
	t.Helper()
	got, err := reg.Register(t.Context(), m, model)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// step runs UpdateStep with a leaf refresh on 1,440 rows at now.
func (f stepFixture) step(t *testing.T, s registry.Series, now time.Time) (UpdateStepResult, error) {
	t.Helper()
	return UpdateStep(t.Context(), f.reg, f.dir, UpdateStepRequest{Series: s, Now: now,
		Policy: UpdatePolicy{Method: UpdateRefresh, Window: 1440}})
}

func (f stepFixture) mustStep(t *testing.T, now time.Time, want string) UpdateStepResult {
	t.Helper()
	res, err := f.step(t, f.series, now)
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != want {
		t.Fatalf("step at %s: %+v, want %s", now, res, want)
	}
	t.Logf("%s: %s", now.Format(time.TimeOnly), res.Reason)
	return res
}

func (f stepFixture) version(t *testing.T, v int) registry.Meta {
	t.Helper()
	m, err := f.reg.VersionIn(t.Context(), f.series, v)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// The stateless step on the real week: a first step registers a pending
// child with its lineage; a step with fewer than 60 labelled rows after
// the child's window waits; then the gate judges. To make both verdicts
// certain, the judged children are hand-made: a clearly worse one (a
// booster of the return labels + 3, so it predicts ln vol ≈ 3, a vol ~20×
// the scale: rejected, the champion stays) and the champion's own model
// (the same loss, so not worse: promoted, and the next child is made from
// it). A corrupt champion artifact then fails the step with ErrParentModel.
func TestUpdateStep(t *testing.T) {
	f := newStepFixture(t)
	t1 := f.ds.TS[5000]

	first := f.mustStep(t, t1, UpdateRegistered)
	child := f.version(t, first.Pending)
	switch {
	case child.Parent != f.champ.Version || !child.TrainedAt.Equal(f.champ.LastFullTraining()) || child.Name != ml.ModelXGBoost:
		t.Errorf("child lineage %+v: want parent v%d, trained at %s", child, f.champ.Version, f.champ.LastFullTraining())
	case child.DataTo.After(t1) || !child.DataTo.After(t1.Add(-10*time.Minute)) || child.DataTo.Sub(child.DataFrom) < 1400*time.Minute:
		t.Errorf("child rows %s … %s: want the 1,440 newest labelled before %s", child.DataFrom, child.DataTo, t1)
	case child.Params[paramUpdateMethod] != UpdateRefresh || child.Params[paramUpdateRows] != strconv.Itoa(first.Stats.Rows) ||
		child.Params[ParamVolScale] != f.champ.Params[ParamVolScale] || first.Stats.Rows < 1400:
		t.Errorf("child params %v, stats %+v", child.Params, first.Stats)
	}
	if w := f.mustStep(t, t1.Add(30*time.Minute), UpdateWaiting); w.Pending != child.Version || w.Champion != f.champ.Version {
		t.Errorf("waiting step %+v: want child v%d pending, champion v%d", w, child.Version, f.champ.Version)
	}

	bad := f.champ
	bad.Parent, bad.DataFrom, bad.DataTo, bad.TrainedAt = f.champ.Version, child.DataFrom, child.DataTo, f.champ.CreatedAt
	bad = registerMeta(t, f.reg, bad, trainModel(t, f.ds, 0, 2000, 10, 3))
	rej := f.mustStep(t, t1.Add(80*time.Minute), UpdateRegistered)
	if rej.Judged != bad.Version || rej.Promoted || rej.Champion != f.champ.Version || rej.Gate.Rows != UpdateGate || !(rej.Gate.Child > rej.Gate.Parent) {
		t.Fatalf("worse child: %+v (gate %+v): want v%d rejected", rej, rej.Gate, bad.Version)
	}
	next := f.version(t, rej.Pending)

	same := f.champ
	same.Parent, same.DataFrom, same.DataTo, same.TrainedAt = f.champ.Version, next.DataFrom, next.DataTo, f.champ.CreatedAt
	same = registerMeta(t, f.reg, same, f.model)
	pro := f.mustStep(t, t1.Add(150*time.Minute), UpdateRegistered)
	if pro.Judged != same.Version || !pro.Promoted || pro.Champion != same.Version || pro.Gate.Child != pro.Gate.Parent {
		t.Fatalf("equal child: %+v (gate %+v): want v%d promoted", pro, pro.Gate, same.Version)
	}
	a, err := f.reg.AliasesIn(t.Context(), f.series)
	if err != nil {
		t.Fatal(err)
	}
	if a.Champion.Version != same.Version || !strings.HasPrefix(a.Champion.Reason, "promoted: update v") || a.Challenger != nil {
		t.Errorf("aliases %+v: want champion v%d with the gate's figures, no challenger", a, same.Version)
	}
	if grand := f.version(t, pro.Pending); grand.Parent != same.Version || !grand.TrainedAt.Equal(f.champ.CreatedAt) {
		t.Errorf("child of the promoted update %+v: want parent v%d, trained at %s", grand, same.Version, f.champ.CreatedAt)
	}

	corrupt(t, f.dir, same.Version)
	_, err = f.step(t, f.series, t1.Add(160*time.Minute))
	if !errors.Is(err, ErrParentModel) || market.ErrorCode(err) != market.CodeInvalid {
		t.Errorf("corrupt champion: %v, want ErrParentModel, code invalid", err)
	}
}

// corrupt flips a byte of version v's model.ubj in the registry of dir.
func corrupt(t *testing.T, dir string, v int) {
	t.Helper()
	want := filepath.Join("v"+strconv.Itoa(1_000_000 + v)[1:], modelFile)
	err := filepath.WalkDir(datadir.Registry(dir), func(path string, d fs.DirEntry, err error) error {
		if err != nil || !strings.HasSuffix(path, want) {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b[len(b)/2] ^= 0xff
		return os.WriteFile(path, b, 0o644)
	})
	if err != nil {
		t.Fatal(err)
	}
}

// Skips, logged and no error: a baseline champion, and rows too few — the
// same booster as the champion of h10 (a version without DataTo), 150
// minutes into the store, where fewer than MinUpdateRows rows are warm.
func TestUpdateStepSkips(t *testing.T) {
	f := newStepFixture(t)
	base := registry.Series{Pair: "ETH/USDT", Horizon: 5, Product: ProductPUp}
	if _, err := f.reg.EnsureBaselineIn(t.Context(), base); err != nil {
		t.Fatal(err)
	}
	res, err := f.step(t, base, f.ds.TS[5000])
	if err != nil || res.Status != UpdateSkipped || !strings.Contains(res.Reason, "v0 is climatology") {
		t.Errorf("baseline champion: %+v, %v: want skipped", res, err)
	}
	few := registry.Series{Pair: "ETH/USDT", Horizon: 10, Product: ProductVol}
	m := f.champ
	m.Horizon, m.DataFrom, m.DataTo = 10, time.Time{}, time.Time{}
	m = registerMeta(t, f.reg, m, f.model)
	if err := f.reg.SetAliasIn(t.Context(), few, registry.Champion, m.Version, "test"); err != nil {
		t.Fatal(err)
	}
	res, err = f.step(t, few, f.ds.TS[0].Add(30*time.Minute))
	if err != nil || res.Status != UpdateSkipped || !strings.Contains(res.Reason, "fewer than 240") {
		t.Errorf("too few rows: %+v, %v: want skipped", res, err)
	}
	vs, err := f.reg.ListIn(t.Context(), few)
	if err != nil || len(vs) != 1 {
		t.Errorf("versions after skipping %+v, %v: want the champion alone", vs, err)
	}
}
