package activities

import (
	"errors"
	"io/fs"
	"path/filepath"
	"slices"
	"strings"
)

// A worker reads and writes inside its roots only, whatever a request says:
// a request is whatever anyone with access to Temporal typed, and an
// activity's errors go into the workflow's history for all to read. Data
// directories must lie in Roots (default: DataDir); archive files in Roots
// or ArchiveRoots. Paths are compared after cleaning ("..") and resolving
// symlinks, and the resolved path is what the activity then opens.

// dataDir resolves a request's data directory ("" = the worker's) inside
// the data roots.
func (a *Activities) dataDir(d string) (string, error) {
	if d == "" {
		d = a.DataDir
	}
	if d == "" {
		return "", invalidf("no data_dir in the request and the worker has no --data-dir")
	}
	return confine("data_dir", d, a.dataRoots())
}

// dataPath resolves a file the workflow passes between activities (a
// dataset, a model, a report folder) inside the data roots.
func (a *Activities) dataPath(what, p string) (string, error) {
	return confine(what, p, a.dataRoots())
}

// archivePath resolves an archive file inside the data roots or ArchiveRoots.
func (a *Activities) archivePath(p string) (string, error) {
	return confine("archive file", p, slices.Concat(a.dataRoots(), a.ArchiveRoots))
}

func (a *Activities) dataRoots() []string {
	if len(a.Roots) > 0 {
		return a.Roots
	}
	if a.DataDir != "" {
		return []string{a.DataDir}
	}
	return nil
}

// confine is p resolved (resolve) when it lies in one of roots (resolved
// too); otherwise a non-retryable error of code invalid naming p — never anything
// read from it.
func confine(what, p string, roots []string) (string, error) {
	if p == "" {
		return "", invalidf("%s: empty path", what)
	}
	real, err := resolve(p)
	if err != nil {
		return "", invalidf("%s %s: %v", what, p, err)
	}
	for _, r := range roots {
		if rr, err := resolve(r); err == nil && within(real, rr) {
			return real, nil
		}
	}
	if len(roots) == 0 {
		return "", invalidf("%s %s: this worker has no data directory to allow anything", what, p)
	}
	return "", invalidf("%s %s is outside this worker's directories (%s)", what, p, strings.Join(roots, ", "))
}

// resolve is p made absolute and cleaned, with every symlink of its longest
// existing prefix resolved, so that a path not created yet (a new data
// directory) resolves too.
func resolve(p string) (string, error) {
	abs, err := filepath.Abs(p)
	if err != nil {
		return "", err
	}
	rest := ""
	for cur := abs; ; {
		real, err := filepath.EvalSymlinks(cur)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		parent := filepath.Dir(cur)
		if parent == cur {
			return abs, nil
		}
		rest = filepath.Join(filepath.Base(cur), rest)
		cur = parent
	}
}

func within(path, root string) bool {
	rel, err := filepath.Rel(root, path)
	return err == nil && rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
