package workflows_test

import (
	"bufio"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"go.temporal.io/sdk/temporal"
	"go.temporal.io/sdk/testsuite"

	"github.com/tickcast/tickcast/activities"
	"github.com/tickcast/tickcast/temporalclient"
	"github.com/tickcast/tickcast/workflows"
)

// A backfill's failure is in Temporal's history for anyone with access to
// read: it names the file, never what the file holds. The Backfill workflow
// runs here with the real activities over hostile files.
func TestBackfillFailureHoldsNoFileContents(t *testing.T) {
	const secret = "AKIAsecretHunter2"
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	hostile := map[string]string{
		"ETHUSD_1.csv":      "1677628800,1,1,1,1,1," + secret + "\n",                  // an OHLCVT row with a bad count
		"ETHUSD_trades.csv": "time_ms,price,volume\n1561939203172," + secret + ",1\n", // a trade with a bad price
		"ETHUSD_passwd.csv": "root:x:0:0:" + secret + ":/root:/bin/bash\n",            // not an archive
		"ETHUSD_5.csv":      "1677628800,1,1,1,1,1,1\n1677629100,\"" + secret + "\n",  // bad quoting
		"ETHUSDT_1m_x.csv":  "open_time_ms,open,high,low,close,volume\n1747699200000," + secret + ",1,1,1,1\n",
	}
	for name, body := range hostile {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	passwdLine := firstLine(t, "/etc/passwd")
	cases := map[string]struct {
		files   []string
		roots   []string // archive roots
		pair    string
		secrets []string
	}{
		"/etc/passwd, outside the roots": {files: []string{"/etc/passwd"}, pair: "ETH/USD", secrets: []string{passwdLine}},
		"/etc/passwd, inside the roots":  {files: []string{"/etc/passwd"}, roots: []string{"/etc"}, pair: "ETH/USD", secrets: []string{passwdLine}},
		"/etc/passwd by ..":              {files: []string{filepath.Join(dir, "..", "..", "..", "etc", "passwd")}, roots: []string{dir}, pair: "ETH/USD", secrets: []string{passwdLine}},
	}
	for name := range hostile {
		cases[name] = struct {
			files   []string
			roots   []string
			pair    string
			secrets []string
		}{files: []string{filepath.Join(dir, name)}, roots: []string{dir}, secrets: []string{secret}}
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			var s testsuite.WorkflowTestSuite
			s.SetLogger(nopLogger{})
			env := s.NewTestWorkflowEnvironment()
			temporalclient.Register(env, &activities.Activities{DataDir: data, ArchiveRoots: tc.roots})
			req := workflows.BackfillRequest{Source: workflows.SourceArchive, Files: tc.files, DataDir: data}
			if tc.pair != "" {
				req.Pairs = []string{tc.pair}
			}
			env.ExecuteWorkflow(workflows.Backfill, req)
			err := env.GetWorkflowError()
			if err == nil {
				t.Fatal("the backfill completed")
			}
			var appErr *temporal.ApplicationError
			if !errors.As(err, &appErr) || !appErr.NonRetryable() {
				t.Errorf("err = %v, want a non-retryable application error", err)
			}
			msg := err.Error()
			for _, s := range tc.secrets {
				if s != "" && strings.Contains(msg, s) {
					t.Errorf("the failure holds the file's contents %q: %s", s, msg)
				}
			}
			if !strings.Contains(msg, tc.files[0]) && !strings.Contains(msg, filepath.Clean(tc.files[0])) {
				t.Errorf("the failure does not name the file: %s", msg)
			}
			t.Log(msg)
		})
	}
}

func firstLine(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Scan()
	return sc.Text()
}

// nopLogger keeps the test suite's activity error logs (which print the
// same errors) out of the test output.
type nopLogger struct{}

func (nopLogger) Debug(string, ...any) {}
func (nopLogger) Info(string, ...any)  {}
func (nopLogger) Warn(string, ...any)  {}
func (nopLogger) Error(string, ...any) {}
