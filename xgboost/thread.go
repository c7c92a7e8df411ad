package xgboost

import "runtime"

// thread runs a Booster's C calls on one OS thread of its own.
//
// XGBoost 1.7 keeps a learner's prediction caches in thread-local storage
// keyed by the learner's address: the matrices given to XGBoosterCreate are
// registered on the creating thread (Configure reads the feature count from
// them there), and a learner's destructor clears only the freeing thread's
// entries. Under Go's scheduler, calls from one goroutine land on different
// threads: training then fails with "0 feature is supplied", and a stale
// cache entry left on another thread by a freed learner can be picked up by a
// new learner allocated at the same address, which would silently add its
// trees to the old model's cached predictions. Running every call that
// touches those caches on one dedicated thread, which exits (destroying its
// thread-local storage) when the Booster is closed, rules both out.
//
// A thread started with nice > 0 runs at that niceness (see
// TrainOptions.Nice), as do the OpenMP threads XGBoost starts from it: they
// inherit it when created. It can only lower the thread's priority.
type thread struct {
	calls chan func()
}

func startThread(nice int) *thread {
	t := &thread{calls: make(chan func())}
	go t.loop(nice)
	return t
}

func (t *thread) loop(nice int) {
	// Never unlocked: when the goroutine returns, the OS thread exits with
	// it, so its niceness never reaches other goroutines.
	runtime.LockOSThread()
	if nice > 0 {
		setNice(nice)
	}
	for f := range t.calls {
		f()
	}
}

// run executes f on the thread and returns its error.
func (t *thread) run(f func() error) error {
	errc := make(chan error, 1)
	t.calls <- func() { errc <- f() }
	return <-errc
}

// stop ends the thread once the calls already sent have run.
func (t *thread) stop() { close(t.calls) }
