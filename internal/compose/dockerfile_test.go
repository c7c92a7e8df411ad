package compose

import (
	"bufio"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// The Dockerfile cannot be built here (no Docker engine), so these tests keep
// it from rotting: its Go version is go.mod's, it builds as `make build` does,
// what it copies exists and is in the build context, and temporal-compose.yml
// builds it and mounts the pipelines where the image keeps them.

const (
	root       = "../.."
	modulePath = "github.com/tickcast/tickcast"
	// connectBinary is the image's second binary, `tickcast connect` alone:
	// the stages' entrypoint.
	connectBinary = "tickcast-connect"
)

type instruction struct {
	cmd  string // upper case: FROM, RUN, COPY, ...
	args string
	line int
}

type stage struct {
	image, name string
	instrs      []instruction
}

func TestDockerfile(t *testing.T) {
	stages := loadDockerfile(t)
	if len(stages) != 2 {
		t.Fatalf("want 2 stages (build, runtime), got %d", len(stages))
	}
	build, runtime := stages[0], stages[1]
	goVersion, codename := imageTag(t, build.image, "golang")
	if want := goModVersion(t); goVersion != want {
		t.Errorf("FROM %s: Go %s, want go.mod's %s", build.image, goVersion, want)
	}
	if want := "debian:" + codename + "-slim"; runtime.image != want {
		t.Errorf("runtime FROM %s, want %s (the build stage's Debian release)", runtime.image, want)
	}
	checkBuildCommand(t, build)
	for _, s := range stages {
		checkCopySources(t, s)
	}
	if ep := last(runtime, "ENTRYPOINT"); ep != `["tickcast"]` {
		t.Errorf("ENTRYPOINT %s, want [\"tickcast\"]", ep)
	}
	bins := imageBinaries(runtime)
	for _, b := range []string{"tickcast", connectBinary} {
		if !bins[b] {
			t.Errorf("the runtime stage does not COPY %s from the build stage into /usr/local/bin/", b)
		}
	}
	if u := last(runtime, "USER"); u == "" || u == "root" || strings.HasPrefix(u, "0") {
		t.Errorf("USER %q: want a non-root user", u)
	}
	if !strings.Contains(last(runtime, "VOLUME"), "/data") {
		t.Error("no VOLUME /data")
	}
}

// imageTag splits golang:1.26.8-bookworm into 1.26.8 and bookworm.
func imageTag(t *testing.T, image, repo string) (version, codename string) {
	t.Helper()
	tag, ok := strings.CutPrefix(image, repo+":")
	version, codename, ok2 := strings.Cut(tag, "-")
	if !ok || !ok2 {
		t.Fatalf("build stage FROM %s, want %s:<go version>-<debian codename>", image, repo)
	}
	return version, codename
}

// goModVersion is the toolchain line's version if go.mod has one, else the go line's.
func goModVersion(t *testing.T) string {
	t.Helper()
	var goLine, toolchain string
	for _, l := range readLines(t, filepath.Join(root, "go.mod")) {
		if v, ok := strings.CutPrefix(l, "go "); ok {
			goLine = strings.TrimSpace(v)
		}
		if v, ok := strings.CutPrefix(l, "toolchain go"); ok {
			toolchain = strings.TrimSpace(v)
		}
	}
	if toolchain != "" {
		return toolchain
	}
	if goLine == "" {
		t.Fatal("go.mod has no go line")
	}
	return goLine
}

// checkBuildCommand: the build stage runs the Makefile's build recipe
// ($(GO) build -o $(BIN) ./cmd/tickcast), output path aside, with cgo on.
func checkBuildCommand(t *testing.T, build stage) {
	t.Helper()
	var recipe string
	lines := readLines(t, filepath.Join(root, "Makefile"))
	for i, l := range lines {
		if strings.HasPrefix(l, "build:") {
			for _, r := range lines[i+1:] {
				if strings.HasPrefix(r, "\t") && strings.Contains(r, " build ") {
					recipe = strings.ReplaceAll(strings.TrimSpace(r), "$(GO)", "go")
					break
				}
			}
		}
	}
	if recipe == "" {
		t.Fatal("Makefile: no build recipe under build:")
	}
	var got string
	for _, in := range build.instrs {
		if i := strings.Index(in.args, "go build "); in.cmd == "RUN" && i >= 0 {
			got, _, _ = strings.Cut(in.args[i:], "&&")
		}
	}
	if a, b := normalizeBuild(recipe), normalizeBuild(got); !slices.Equal(a, b) {
		t.Errorf("Dockerfile builds with %q, the Makefile with %q", got, recipe)
	}
	if !slices.ContainsFunc(build.instrs, func(in instruction) bool {
		return in.cmd == "ENV" && slices.Contains(strings.Fields(in.args), "CGO_ENABLED=1")
	}) {
		t.Error("build stage: want ENV CGO_ENABLED=1")
	}
}

// imageBinaries are the files the stage copies from another stage into
// /usr/local/bin (on the PATH), by name.
func imageBinaries(s stage) map[string]bool {
	bins := map[string]bool{}
	for _, in := range s.instrs {
		args := strings.Fields(in.args)
		if in.cmd != "COPY" || !slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--from=") }) {
			continue
		}
		args = slices.DeleteFunc(args, func(a string) bool { return strings.HasPrefix(a, "--") })
		if len(args) < 2 {
			continue
		}
		dst := args[len(args)-1]
		switch {
		case strings.HasSuffix(dst, "/") && path.Clean(dst) == "/usr/local/bin":
			for _, src := range args[:len(args)-1] {
				bins[path.Base(src)] = true
			}
		case path.Dir(dst) == "/usr/local/bin":
			bins[path.Base(dst)] = true
		}
	}
	return bins
}

// normalizeBuild drops the -o value, the only part that may differ.
func normalizeBuild(cmd string) []string {
	f := strings.Fields(cmd)
	if i := slices.Index(f, "-o"); i >= 0 && i+1 < len(f) {
		f[i+1] = "OUT"
	}
	return f
}

// checkCopySources: every COPY from the build context names a file or folder
// of the checkout that .dockerignore does not exclude.
func checkCopySources(t *testing.T, s stage) {
	t.Helper()
	ignore := loadDockerignore(t)
	for _, in := range s.instrs {
		if in.cmd != "COPY" {
			continue
		}
		args := strings.Fields(in.args)
		if slices.ContainsFunc(args, func(a string) bool { return strings.HasPrefix(a, "--from=") }) {
			continue
		}
		args = slices.DeleteFunc(args, func(a string) bool { return strings.HasPrefix(a, "--") })
		if len(args) < 2 {
			t.Errorf("Dockerfile:%d: COPY %s: want sources and a destination", in.line, in.args)
			continue
		}
		for _, src := range args[:len(args)-1] {
			if src == "." {
				continue
			}
			if _, err := os.Stat(filepath.Join(root, src)); err != nil {
				t.Errorf("Dockerfile:%d: COPY source %s: %v", in.line, src, err)
			}
			if ignore.excludes(src) {
				t.Errorf("Dockerfile:%d: COPY source %s is excluded by .dockerignore", in.line, src)
			}
		}
	}
}

// TestDockerignoreKeepsBuildInputs: every file `go build ./cmd/tickcast
// ./cmd/tickcast-connect` reads from this module (Go, cgo and embedded files),
// go.mod and go.sum are in the build context.
func TestDockerignoreKeepsBuildInputs(t *testing.T) {
	ignore := loadDockerignore(t)
	cmd := exec.Command("go", "list", "-deps", "-json=Dir,Module,GoFiles,CgoFiles,CFiles,HFiles,EmbedFiles",
		"./cmd/tickcast", "./cmd/"+connectBinary)
	cmd.Dir = root
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	absRoot, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	files := []string{"go.mod", "go.sum"}
	dec := json.NewDecoder(strings.NewReader(string(out)))
	for {
		var p struct {
			Dir                                           string
			Module                                        *struct{ Path string }
			GoFiles, CgoFiles, CFiles, HFiles, EmbedFiles []string
		}
		if err := dec.Decode(&p); err == io.EOF {
			break
		} else if err != nil {
			t.Fatalf("go list output: %v", err)
		}
		if p.Module == nil || p.Module.Path != modulePath {
			continue
		}
		rel, err := filepath.Rel(absRoot, p.Dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range slices.Concat(p.GoFiles, p.CgoFiles, p.CFiles, p.HFiles, p.EmbedFiles) {
			files = append(files, filepath.ToSlash(filepath.Join(rel, f)))
		}
	}
	if len(files) < 10 {
		t.Fatalf("go list found only %v", files)
	}
	for _, f := range files {
		if ignore.excludes(f) {
			t.Errorf(".dockerignore excludes %s, which the image's go build reads", f)
		}
	}
}

// TestComposeBuildsImage: every service of tickcast:local builds it from the
// Dockerfile, runs its entrypoint or the image's tickcast-connect, and mounts
// the pipelines over the image's copy in its working directory, where the
// stages' relative paths point.
func TestComposeBuildsImage(t *testing.T) {
	stages := loadDockerfile(t)
	workdir := last(stages[len(stages)-1], "WORKDIR")
	if !slices.ContainsFunc(stages[len(stages)-1].instrs, func(in instruction) bool {
		return in.cmd == "COPY" && strings.Fields(in.args)[0] == "connect/pipelines/"
	}) {
		t.Error("the runtime stage does not COPY connect/pipelines/")
	}
	mount := "./connect/pipelines:" + path.Join(workdir, "connect/pipelines") + ":ro"
	f := load(t, "../../temporal-compose.yml")
	for name, s := range f.Services {
		if s.Image != "tickcast:local" {
			continue
		}
		if s.Build == nil || s.Build.Context != "." || s.Build.Dockerfile != "Dockerfile" {
			t.Errorf("%s: build %+v, want {context: ., dockerfile: Dockerfile}", name, s.Build)
		}
		if len(s.Entrypoint) > 0 && !slices.Equal(s.Entrypoint, []string{connectBinary}) {
			t.Errorf("%s: entrypoint %v: want the image's, or [%s]", name, s.Entrypoint, connectBinary)
		}
		if strings.HasPrefix(role(s), "stage-") && !slices.Contains(s.Volumes, mount) {
			t.Errorf("%s: want the volume %s (the image's WORKDIR is %s)", name, mount, workdir)
		}
	}
}

func last(s stage, cmd string) string {
	v := ""
	for _, in := range s.instrs {
		if in.cmd == cmd {
			v = in.args
		}
	}
	return v
}

// loadDockerfile parses ../../Dockerfile into stages: line continuations
// joined, comments dropped.
func loadDockerfile(t *testing.T) []stage {
	t.Helper()
	var stages []stage
	var cur strings.Builder
	start := 0
	for i, l := range readLines(t, filepath.Join(root, "Dockerfile")) {
		trimmed := strings.TrimSpace(l)
		if strings.HasPrefix(trimmed, "#") || (trimmed == "" && cur.Len() == 0) {
			continue
		}
		if cur.Len() == 0 {
			start = i + 1
		}
		body, more := strings.CutSuffix(trimmed, `\`)
		cur.WriteString(body + " ")
		if more {
			continue
		}
		cmd, args, _ := strings.Cut(strings.TrimSpace(cur.String()), " ")
		in := instruction{cmd: strings.ToUpper(cmd), args: strings.Join(strings.Fields(args), " "), line: start}
		cur.Reset()
		if in.cmd == "FROM" {
			f := strings.Fields(in.args)
			s := stage{image: f[0]}
			if len(f) == 3 && strings.EqualFold(f[1], "AS") {
				s.name = f[2]
			}
			stages = append(stages, s)
			continue
		}
		if len(stages) == 0 {
			t.Fatalf("Dockerfile:%d: %s before FROM", in.line, in.cmd)
		}
		stages[len(stages)-1].instrs = append(stages[len(stages)-1].instrs, in)
	}
	return stages
}

// dockerignore holds .dockerignore's patterns with Docker's semantics: a path
// is excluded when the last pattern matching it or one of its parent folders is
// not a negation (!); ** matches any number of folders.
type dockerignore []struct {
	re  *regexp.Regexp
	neg bool
}

func loadDockerignore(t *testing.T) dockerignore {
	t.Helper()
	var d dockerignore
	for _, l := range readLines(t, filepath.Join(root, ".dockerignore")) {
		p := strings.TrimSpace(l)
		if p == "" || strings.HasPrefix(p, "#") {
			continue
		}
		p, neg := strings.CutPrefix(p, "!")
		p = strings.TrimPrefix(path.Clean(strings.TrimSpace(p)), "/")
		d = append(d, struct {
			re  *regexp.Regexp
			neg bool
		}{globRegexp(p), neg})
	}
	return d
}

func globRegexp(p string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("^")
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case strings.HasPrefix(p[i:], "**/"):
			b.WriteString("(.*/)?")
			i += 2
		case strings.HasPrefix(p[i:], "**"):
			b.WriteString(".*")
			i++
		case c == '*':
			b.WriteString("[^/]*")
		case c == '?':
			b.WriteString("[^/]")
		default:
			b.WriteString(regexp.QuoteMeta(string(c)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func (d dockerignore) excludes(file string) bool {
	file = path.Clean(strings.TrimSuffix(file, "/"))
	excluded := false
	for _, p := range d {
		for f := file; ; f = path.Dir(f) {
			if p.re.MatchString(f) {
				excluded = !p.neg
				break
			}
			if !strings.Contains(f, "/") {
				break
			}
		}
	}
	return excluded
}

func TestDockerignoreMatcher(t *testing.T) {
	d := dockerignore{}
	for _, p := range []string{"data", "**/*.test", "**/testdata", "docs", "!docs/keep.md"} {
		neg := strings.HasPrefix(p, "!")
		d = append(d, struct {
			re  *regexp.Regexp
			neg bool
		}{globRegexp(strings.TrimPrefix(p, "!")), neg})
	}
	for file, want := range map[string]bool{
		"data": true, "data/parquet/x.parquet": true, "market/data.go": false,
		"connect.test": true, "a/b/c.test": true, "a/testdata/x.json": true,
		"docs/a.md": true, "docs/keep.md": false, "cmd/tickcast/main.go": false,
	} {
		if got := d.excludes(file); got != want {
			t.Errorf("excludes(%s) = %v, want %v", file, got, want)
		}
	}
}

func readLines(t *testing.T, name string) []string {
	t.Helper()
	f, err := os.Open(name)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var lines []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		lines = append(lines, sc.Text())
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return lines
}
