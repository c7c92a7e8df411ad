package main

import (
	"bytes"
	"errors"
	"flag"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// parseAdminKey parses args with the serve flags and returns the key, the
// parse error and the log and stderr output.
func parseAdminKey(t *testing.T, env map[string]string, args ...string) (key, logs, stderr string, err error) {
	t.Helper()
	var logBuf, errBuf bytes.Buffer
	e := adminKeyEnv(env, &logBuf)
	fs := flag.NewFlagSet("run", flag.ContinueOnError)
	fs.SetOutput(&errBuf)
	var s serveFlags
	s.register(fs, e)
	err = fs.Parse(args)
	return s.adminKey, logBuf.String(), errBuf.String(), err
}

func adminKeyEnv(vars map[string]string, logs io.Writer) env {
	return env{getenv: func(k string) string { return vars[k] }, stdout: io.Discard, stderr: io.Discard,
		logger: slog.New(slog.NewTextHandler(logs, nil))}
}

func TestAdminKeyPrecedence(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "admin.key")
	if err := os.WriteFile(file, []byte("  from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	env := map[string]string{"TICKCAST_ADMIN_KEY": "from-env"}
	for _, tc := range []struct {
		name string
		env  map[string]string
		args []string
		want string
		warn bool
	}{
		{"none", nil, nil, "", false},
		{"env", env, nil, "from-env", false},
		{"file over env", env, []string{"--admin-key-file", file}, "from-file", false},
		{"flag over env, with a warning", env, []string{"--admin-key", "from-flag"}, "from-flag", true},
		{"file over flag", nil, []string{"--admin-key-file", file, "--admin-key", "from-flag"}, "from-file", true},
		{"file over flag, either order", nil, []string{"--admin-key", "from-flag", "--admin-key-file", file}, "from-file", true},
		{"empty flag disables, no warning", env, []string{"--admin-key="}, "", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			key, logs, _, err := parseAdminKey(t, tc.env, tc.args...)
			if err != nil || key != tc.want {
				t.Fatalf("key %q, err %v; want %q", key, err, tc.want)
			}
			if warned := strings.Contains(logs, "--admin-key-file"); warned != tc.warn {
				t.Errorf("warning %v, want %v: %s", warned, tc.warn, logs)
			}
			if strings.Contains(logs, "from-flag") {
				t.Errorf("the log holds the key: %s", logs)
			}
		})
	}
}

func TestAdminKeyFileErrors(t *testing.T) {
	dir := t.TempDir()
	empty := filepath.Join(dir, "empty.key")
	blank := filepath.Join(dir, "blank.key")
	unreadable := filepath.Join(dir, "unreadable.key")
	mustNoErr(t, os.WriteFile(empty, nil, 0o600))
	mustNoErr(t, os.WriteFile(blank, []byte(" \n\t\n"), 0o600))
	mustNoErr(t, os.WriteFile(unreadable, []byte("s3cret-unreadable"), 0o000))
	cases := map[string]string{
		"missing": filepath.Join(dir, "missing.key"),
		"empty":   empty,
		"blank":   blank,
		"a dir":   dir,
	}
	if os.Geteuid() != 0 { // root reads any file
		cases["unreadable"] = unreadable
	}
	for name, path := range cases {
		t.Run(name, func(t *testing.T) {
			key, _, stderr, err := parseAdminKey(t, map[string]string{"TICKCAST_ADMIN_KEY": "from-env"}, "--admin-key-file", path)
			if err == nil {
				t.Fatalf("accepted, key %q", key)
			}
			if !strings.Contains(stderr, path) || strings.Contains(stderr, "s3cret") {
				t.Errorf("stderr should name the file, not its contents: %s", stderr)
			}
		})
	}
	// Through the command: a usage error before anything starts.
	if _, err := runCmd(t, "serve", "--redis", "127.0.0.1:1", "--admin-key-file", empty); !errors.Is(err, errUsage) {
		t.Errorf("serve with an empty key file: %v, want a usage error", err)
	}
}

func TestAdminKeyNotInHelp(t *testing.T) {
	_, _, stderr, _ := parseAdminKey(t, map[string]string{"TICKCAST_ADMIN_KEY": "s3cret-env"}, "-h")
	if strings.Contains(stderr, "s3cret") || !strings.Contains(stderr, "admin-key-file") {
		t.Errorf("help: %s", stderr)
	}
}

func mustNoErr(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}
