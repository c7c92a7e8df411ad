package memo

import (
	"errors"
	"sync"
	"sync/atomic"
	"testing"
)

func TestLoadsOnceForConcurrentCallers(t *testing.T) {
	var c Cache[string, int]
	c.Size = 2
	var loads atomic.Int32
	release := make(chan struct{})
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			v, err := c.Get("a", func() (int, error) { loads.Add(1); <-release; return 7, nil })
			if v != 7 || err != nil {
				t.Errorf("got %d, %v", v, err)
			}
		}()
	}
	close(release)
	wg.Wait()
	if n := loads.Load(); n != 1 {
		t.Fatalf("%d loads, want 1", n)
	}
}

func TestEvictsLeastRecentlyUsed(t *testing.T) {
	c := Cache[int, int]{Size: 2}
	var loads int
	get := func(k int) {
		if _, err := c.Get(k, func() (int, error) { loads++; return k, nil }); err != nil {
			t.Fatal(err)
		}
	}
	for _, k := range []int{1, 2, 1, 3, 1, 2} { // 3 evicts 2 (1 was used since), 2 reloads
		get(k)
	}
	if loads != 4 {
		t.Fatalf("%d loads, want 4 (1, 2, 3, then 2 again)", loads)
	}
}

func TestForgetsWhatItMustNotKeep(t *testing.T) {
	boom := errors.New("boom")
	c := Cache[string, int]{Size: 4, Keep: func(v int, err error) bool { return err == nil && v < 100 }}
	var loads int
	for _, tc := range []struct {
		v   int
		err error
	}{{0, boom}, {0, boom}, {500, nil}, {500, nil}, {5, nil}, {5, nil}} {
		v, err := c.Get("k", func() (int, error) { loads++; return tc.v, tc.err })
		if v != tc.v || !errors.Is(err, tc.err) {
			t.Fatalf("got %d, %v; want %d, %v", v, err, tc.v, tc.err)
		}
	}
	if loads != 5 { // failures and the oversized value load again; 5 stays
		t.Fatalf("%d loads, want 5", loads)
	}
	if c.Keep = nil; true {
		if _, err := c.Get("e", func() (int, error) { return 0, boom }); !errors.Is(err, boom) {
			t.Fatal(err)
		}
		if _, err := c.Get("e", func() (int, error) { return 1, nil }); err != nil {
			t.Fatal("a failed load stayed cached without Keep")
		}
	}
}
