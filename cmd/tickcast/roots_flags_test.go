package main

import (
	"flag"
	"io"
	"log/slog"
	"slices"
	"testing"
)

// The worker's roots come from its flags: data roots (default: the data
// dir, which the activities apply) and archive dirs (default: none).
func TestWorkerRootsFlags(t *testing.T) {
	e := env{getenv: func(string) string { return "" }, stdout: io.Discard, stderr: io.Discard, logger: slog.New(slog.DiscardHandler)}
	parse := func(args ...string) workerOptions {
		fs := flag.NewFlagSet("worker", flag.ContinueOnError)
		var o workerOptions
		o.register(fs, e.getenv)
		if err := fs.Parse(args); err != nil {
			t.Fatal(err)
		}
		return o
	}
	a, err := newActivities(e, parse("--data-dir", "/srv/data"))
	if err != nil || a.DataDir != "/srv/data" || a.Roots != nil || a.ArchiveRoots != nil {
		t.Fatalf("defaults: %+v, %v; want the data dir alone", a, err)
	}
	a, err = newActivities(e, parse("--data-dir", "/srv/data", "--data-roots", "/srv, /mnt/store", "--archive-dirs", "/archive", "--archive-dirs", "/a2,/a3"))
	if err != nil || !slices.Equal(a.Roots, []string{"/srv", "/mnt/store"}) || !slices.Equal(a.ArchiveRoots, []string{"/archive", "/a2", "/a3"}) {
		t.Fatalf("roots %v, archive roots %v, %v", a.Roots, a.ArchiveRoots, err)
	}
	f, err := parseRunFlags(e, []string{"--archive-dirs", "/archive"})
	if err != nil || !slices.Equal(f.archives, listFlag{"/archive"}) {
		t.Fatalf("run --archive-dirs: %v, %v", f.archives, err)
	}
}
