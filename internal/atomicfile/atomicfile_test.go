package atomicfile

import (
	"errors"
	"io"
	"os"
	"path/filepath"
	"testing"
)

func TestWrite(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.json")
	for _, content := range []string{"first", "second, longer"} {
		if err := Write(p, []byte(content)); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(p)
		if err != nil || string(got) != content {
			t.Fatalf("read %q, %v; want %q", got, err, content)
		}
	}
	st, err := os.Stat(p)
	if err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("mode = %v, %v", st.Mode(), err)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestWriteFailsCleanly(t *testing.T) {
	dir := t.TempDir()
	if err := Write(filepath.Join(dir, "missing", "a.json"), []byte("x")); err == nil {
		t.Fatal("write into a missing directory succeeded")
	}
	// A directory in the way of the rename: the old entry stays, no temp file is left.
	target := filepath.Join(dir, "taken")
	if err := os.Mkdir(target, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(target, "keep"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := Write(target, []byte("x")); err == nil {
		t.Fatal("replacing a non-empty directory succeeded")
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*.tmp-*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestWriteFunc(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "data.bin")
	if err := Write(p, []byte("old")); err != nil {
		t.Fatal(err)
	}
	var sawTemp string
	hidden := Options{Temp: ".data.bin.tmp-*", BeforeRename: func(tmp string) error {
		sawTemp = filepath.Base(tmp)
		return nil
	}}
	tests := []struct {
		name  string
		opts  Options
		write func(io.Writer) error
		want  string // the file after the write
	}{
		{"written through a hidden temporary file", hidden, writeString("new"), "new"},
		{"a failing writer keeps the old file", Options{}, func(w io.Writer) error {
			_, err := io.WriteString(w, "half")
			return errors.Join(err, errors.New("disk full"))
		}, "new"},
		{"a failing hook keeps the old file", Options{BeforeRename: func(string) error { return errors.New("crash") }}, writeString("newer"), "new"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := WriteFunc(p, tt.opts, tt.write)
			if got, _ := os.ReadFile(p); string(got) != tt.want {
				t.Errorf("file %q (err %v), want %q", got, err, tt.want)
			}
			if left, _ := filepath.Glob(filepath.Join(dir, "*tmp-*")); len(left) != 0 {
				t.Errorf("temporary files left: %v", left)
			}
		})
	}
	if matched, _ := filepath.Match(".data.bin.tmp-*", sawTemp); !matched {
		t.Errorf("temporary file %q does not follow Options.Temp", sawTemp)
	}
}

func writeString(s string) func(io.Writer) error {
	return func(w io.Writer) error {
		_, err := io.WriteString(w, s)
		return err
	}
}

// What writes killed before their rename left beside a file, under the
// default temporary name or the caller's, is removed; nothing else is.
func TestRemoveTemps(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "a.json")
	for _, name := range []string{"a.json", "a.json.tmp-1", "a.json.tmp-2", ".a.tmp-3", "b.json.tmp-4"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("half"), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	for _, tt := range []struct {
		opts Options
		want []string
	}{
		{Options{}, []string{"a.json.tmp-1", "a.json.tmp-2"}},
		{Options{Temp: ".a.tmp-*"}, []string{".a.tmp-3"}},
	} {
		got, err := RemoveTemps(p, tt.opts)
		if err != nil || len(got) != len(tt.want) {
			t.Fatalf("RemoveTemps(%q) = %q, %v; want %q", tt.opts.Temp, got, err, tt.want)
		}
		for i, g := range got {
			if filepath.Base(g) != tt.want[i] {
				t.Errorf("removed %q, want %q", g, tt.want)
			}
		}
	}
	left, _ := os.ReadDir(dir)
	if len(left) != 2 {
		t.Errorf("%d files left, want a.json and b.json.tmp-4", len(left))
	}
}
