package xgboost

import (
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// TestThreadLocalCaches guards against XGBoost 1.7's thread-local prediction
// caches (see thread): boosters are trained on one goroutine, predict a
// shared matrix from a goroutine locked to another OS thread, and are closed
// again, many times over, so that new learners reuse freed ones' addresses.
// Every prediction must equal the cache-free in-place prediction of the same
// model. When the C calls ran on the caller's thread this failed: a new model
// added its trees to the previous model's cached predictions.
func TestThreadLocalCaches(t *testing.T) {
	tr, _, te := realSplits(t, 5000, 5)
	dtrain, dtest := tr.matrix(t), te.matrix(t)

	calls := make(chan func())
	defer close(calls)
	go func() {
		runtime.LockOSThread()
		defer runtime.UnlockOSThread()
		for f := range calls {
			f()
		}
	}()
	onOtherThread := func(f func()) {
		done := make(chan struct{})
		calls <- func() { f(); close(done) }
		<-done
	}

	for i, rounds := range []int{3, 30, 4, 40, 5, 50, 6, 60} {
		p := testParams("hist")
		p["eta"] = strconv.FormatFloat(0.05*float64(1+i), 'g', -1, 64) // different trees each time
		b, _, err := Train(p, dtrain, TrainOptions{Rounds: rounds})
		if err != nil {
			t.Fatal(err)
		}
		var got []float32
		onOtherThread(func() { got, err = b.Predict(dtest) })
		if err != nil {
			t.Fatal(err)
		}
		want, err := b.PredictDense(te.X, te.Rows, te.Cols)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) {
			t.Fatalf("booster %d (%d rounds): Predict differs from in-place prediction", i, rounds)
		}
		if err := b.Close(); err != nil {
			t.Fatal(err)
		}
	}
}

// TestTrainConcurrent trains boosters in parallel on shared matrices (as
// parallel tuning trials do) and gets exactly the serially trained models.
// Closing them returns their OS threads and XGBoost's OpenMP workers: the
// thread count stays flat over repeated rounds.
func TestTrainConcurrent(t *testing.T) {
	tr, va, te := realSplits(t, 10000, 5)
	dtrain, dvalid := tr.matrix(t), va.matrix(t)
	train := func(i int) []float32 {
		p := testParams("hist")
		p["eta"] = strconv.FormatFloat(0.05*float64(1+i), 'g', -1, 64)
		p["nthread"] = "2"
		b, _, err := Train(p, dtrain, TrainOptions{Rounds: 40, EarlyStoppingRounds: 5, Valid: dvalid})
		if err != nil {
			t.Error(err)
			return nil
		}
		defer b.Close()
		out, err := b.PredictDense(te.X, te.Rows, te.Cols)
		if err != nil {
			t.Error(err)
		}
		return out
	}
	const n = 8
	serial := make([][]float32, n)
	for i := range n {
		serial[i] = train(i)
	}
	var threads []int
	for range 4 {
		parallel := make([][]float32, n)
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() { parallel[i] = train(i) })
		}
		wg.Wait()
		for i := range n {
			if !slices.Equal(serial[i], parallel[i]) || len(serial[i]) != te.Rows {
				t.Fatalf("booster %d: parallel training differs from serial", i)
			}
		}
		time.Sleep(100 * time.Millisecond) // exited threads are reaped asynchronously
		threads = append(threads, osThreads(t))
	}
	t.Logf("OS threads after each parallel round: %v", threads)
	if threads[len(threads)-1] > threads[0]+2 {
		t.Fatalf("OS threads grow with closed boosters: %v", threads)
	}
}

func osThreads(t *testing.T) int {
	entries, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Skipf("cannot count threads: %v", err)
	}
	return len(entries)
}

// TestTrainNice: a booster trained with Nice runs on a thread of that
// niceness; without, on a thread of the process's; the caller's thread is
// never changed.
func TestTrainNice(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("thread niceness: Linux only")
	}
	tr, _, _ := realSplits(t, 2000, 5)
	dtrain := tr.matrix(t)
	base, err := threadNice()
	if err != nil {
		t.Fatal(err)
	}
	for _, nice := range []int{0, 10} {
		b, _, err := Train(testParams("hist"), dtrain, TrainOptions{Rounds: 3, Nice: nice})
		if err != nil {
			t.Fatal(err)
		}
		var got int
		if err := b.c.t.run(func() (err error) { got, err = threadNice(); return err }); err != nil {
			t.Fatal(err)
		}
		if want := max(base, nice); got != want {
			t.Errorf("Nice %d: booster thread at nice %d, want %d", nice, got, want)
		}
		b.Close()
	}
	if n, _ := threadNice(); n != base {
		t.Errorf("caller's thread at nice %d, was %d", n, base)
	}
	// With nthread 2 the OpenMP thread XGBoost starts from the booster's
	// thread inherits its niceness: two threads at nice 10 while boosting.
	p := testParams("hist")
	p["nthread"] = "2"
	niced := 0
	b, _, err := Train(p, dtrain, TrainOptions{Rounds: 3, Nice: 10, Progress: func(int, float64) { niced = max(niced, threadsAtNice(t, 10)) }})
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	t.Logf("%d threads at nice 10 while boosting", niced)
	if niced < 2 {
		t.Errorf("%d threads at nice 10 while training with nthread 2, want 2 (the booster's and OpenMP's)", niced)
	}
}

// threadsAtNice counts the process's threads at niceness nice.
func threadsAtNice(t *testing.T, nice int) int {
	tasks, err := os.ReadDir("/proc/self/task")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, task := range tasks {
		stat, err := os.ReadFile("/proc/self/task/" + task.Name() + "/stat")
		if err != nil {
			continue // exited
		}
		s := string(stat)
		fields := strings.Fields(s[strings.LastIndexByte(s, ')')+1:]) // fields 3… of proc_pid_stat(5)
		if len(fields) > 16 && fields[16] == strconv.Itoa(nice) {
			n++
		}
	}
	return n
}
