package dashboard

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"encoding/json"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

//go:embed assets
var assets embed.FS

// csp allows only this origin. Inline styles are allowed because the
// charting library sizes its canvases with style attributes and injects
// one <style> element; scripts stay 'self' only.
const csp = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; " +
	"connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"

// file is one embedded asset, ready to serve.
type file struct {
	name  string
	body  []byte
	ctype string
	etag  string
}

type handler struct{ files map[string]file }

// Handler serves the dashboard: the page at / (and /index.html) and its
// files at /assets/<name>. Names carry no content hash, so every answer has
// an ETag and Cache-Control: no-cache (a revalidation costs a 304).
func Handler() http.Handler {
	h := handler{files: make(map[string]file)}
	// The embedded tree is fixed at build time; a walk error is a build bug.
	err := fs.WalkDir(assets, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		body, err := assets.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(body)
		name := strings.TrimPrefix(p, "assets/")
		h.files[name] = file{name: name, body: body, ctype: contentType(name), etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
		return nil
	})
	if err != nil {
		panic("dashboard: embedded assets: " + err.Error())
	}
	return h
}

func (h handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", r.Method+" is not allowed here")
		return
	}
	f, ok := h.files[assetName(r.URL.Path)]
	if !ok {
		writeError(w, http.StatusNotFound, "not_found", "no dashboard asset at "+r.URL.Path)
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", f.ctype)
	hd.Set("ETag", f.etag)
	hd.Set("Cache-Control", "no-cache")
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	if path.Ext(f.name) == ".html" {
		hd.Set("Content-Security-Policy", csp)
		hd.Set("X-Frame-Options", "DENY")
	}
	http.ServeContent(w, r, f.name, time.Time{}, bytes.NewReader(f.body))
}

// pages are the dashboard's pages by their paths: the live page and the
// training runs.
var pages = map[string]string{"/": "index.html", "/index.html": "index.html", "/runs": "runs.html"}

// assetName maps a request path to an embedded name: a page's path to the
// page, /assets/x to x, anything else to "" (none). Cleaning first keeps
// ../ out.
func assetName(p string) string {
	p = path.Clean("/" + p)
	if page, ok := pages[p]; ok {
		return page
	}
	name, ok := strings.CutPrefix(p, "/assets/")
	if !ok || path.Ext(name) == ".html" {
		return "" // the pages live at their paths, their files under /assets/
	}
	return name
}

func contentType(name string) string {
	switch path.Ext(name) {
	case ".html":
		return "text/html; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".png":
		return "image/png"
	case ".svg":
		return "image/svg+xml"
	case ".md":
		return "text/markdown; charset=utf-8"
	default:
		return "text/plain; charset=utf-8"
	}
}

// writeError answers in the JSON error shape of the API that mounts the page.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": code, "message": msg})
}
