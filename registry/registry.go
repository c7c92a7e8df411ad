package registry

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/internal/datadir"
	"github.com/tickcast/tickcast/market"
)

const (
	rootPrefix  = datadir.RegistryName + "/"
	metaFile    = "meta.json"
	aliasesFile = "aliases.json"
	lockFile    = ".lock"
)

// Registry is the model registry of a data directory. It is safe for
// concurrent use, and several processes may share one directory.
type Registry struct {
	blobs Blobs
	now   func() time.Time
	code  string
}

// Open opens the registry kept under dataDir/registry/ (created on the
// first write).
func Open(dataDir string) (*Registry, error) {
	if dataDir == "" {
		return nil, fmt.Errorf("registry: empty data directory: %w", market.ErrInvalid)
	}
	return New(FS{Root: dataDir}), nil
}

// New returns a registry over any Blobs store.
func New(b Blobs) *Registry {
	return &Registry{blobs: b, now: time.Now, code: codeVersion()}
}

// Series is one (pair, horizon, product) of the registry. Product "" is
// the return product: Series{Pair, Horizon} names the series every
// (pair, horizon) method works on.
type Series struct {
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	Product string `json:"product,omitempty"`
}

// Series is the series m belongs to.
func (m Meta) Series() Series { return Series{Pair: m.Pair, Horizon: m.Horizon, Product: m.Product} }

func (s Series) String() string {
	if s.Product == "" {
		return fmt.Sprintf("%s h%d", s.Pair, s.Horizon)
	}
	return fmt.Sprintf("%s h%d %s", s.Pair, s.Horizon, s.Product)
}

// prefix is the directory of the series: the return product's is the
// (pair, horizon) directory, which holds the other products' directories.
func (s Series) prefix() string {
	p := fmt.Sprintf("%s%s/h%d/", rootPrefix, market.PairSlug(s.Pair), s.Horizon)
	if s.Product != "" {
		p += s.Product + "/"
	}
	return p
}

func (s Series) key(v int, file string) string { return fmt.Sprintf("%sv%06d/%s", s.prefix(), v, file) }

// own reports whether key is a file of s itself: directly under its prefix
// or in one of its version directories, not in a product series nested in
// the return series' directory.
func (s Series) own(key string) bool {
	rest, ok := strings.CutPrefix(key, s.prefix())
	if !ok {
		return false
	}
	dir, _, nested := strings.Cut(rest, "/")
	return !nested || isVersionDir(dir)
}

// isVersionDir reports a version directory name, v<NNNNNN>.
func isVersionDir(name string) bool {
	if len(name) != 7 || name[0] != 'v' {
		return false
	}
	for _, c := range name[1:] {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// valid normalizes the pair and the product and checks the horizon.
func (s Series) valid() (Series, error) {
	p, err := market.NormalizePair(s.Pair)
	if err != nil {
		return Series{}, err
	}
	if s.Horizon < 1 {
		return Series{}, fmt.Errorf("horizon %d: want at least 1 candle: %w", s.Horizon, market.ErrInvalid)
	}
	prod, err := NormalizeProduct(s.Product)
	if err != nil {
		return Series{}, err
	}
	return Series{Pair: p, Horizon: s.Horizon, Product: prod}, nil
}

func series(pair string, horizon int) Series { return Series{Pair: pair, Horizon: horizon} }

// Register stores m as the next version of its series (m.Pair, m.Horizon,
// m.Product), with artifact as its model bytes (none for a model without an
// artifact), and returns the stored Meta. It sets Version, CreatedAt (UTC),
// CodeVersion when empty, FeatureSchemaVersion when 0 (to the current one),
// Artifact when empty ("model.ubj") and Product to its stored spelling ("" for
// return); Status starts as candidate — aliases are set by SetAlias(In).
func (r *Registry) Register(ctx context.Context, m Meta, artifact []byte) (Meta, error) {
	s, err := m.Series().valid()
	if err != nil {
		return Meta{}, fmt.Errorf("register: %w", err)
	}
	if err := r.prepare(&m, s, artifact); err != nil {
		return Meta{}, fmt.Errorf("register %s: %w", s, err)
	}
	err = r.locked(ctx, s, func() error {
		vs, err := r.versions(ctx, s)
		if err != nil {
			return err
		}
		m.Version = 1 // 0 is the baseline's
		if len(vs) > 0 {
			m.Version = max(1, vs[len(vs)-1]+1)
		}
		if m.Version > maxVersion {
			return fmt.Errorf("no version numbers left after v%d", maxVersion)
		}
		m.CreatedAt = r.now().UTC()
		return r.write(ctx, s, m, artifact)
	})
	if err != nil {
		return Meta{}, fmt.Errorf("register %s: %w", s, err)
	}
	return m, nil
}

func (r *Registry) prepare(m *Meta, s Series, artifact []byte) error {
	m.Pair, m.Product = s.Pair, s.Product
	if m.Name == "" {
		return fmt.Errorf("empty model name: %w", market.ErrInvalid)
	}
	switch {
	case len(artifact) == 0 && m.Artifact != "":
		return fmt.Errorf("artifact %q named but no bytes given: %w", m.Artifact, market.ErrInvalid)
	case len(artifact) > 0 && m.Artifact == "":
		m.Artifact = "model.ubj"
	}
	if m.Artifact != "" && !validArtifactName(m.Artifact) {
		return fmt.Errorf("artifact name %q: want a plain file name such as model.ubj: %w", m.Artifact, market.ErrInvalid)
	}
	m.SHA256 = ""
	if len(artifact) > 0 {
		m.SHA256 = checksum(artifact)
	}
	if m.FeatureSchemaVersion == 0 {
		m.FeatureSchemaVersion = market.FeatureSchemaVersion
	}
	if m.CodeVersion == "" {
		m.CodeVersion = r.code
	}
	m.Metrics = finiteMetrics(m.Metrics)
	m.Status = Candidate
	return nil
}

// write stores the artifact, then meta.json: the version exists from the
// moment meta.json does.
func (r *Registry) write(ctx context.Context, s Series, m Meta, artifact []byte) error {
	if m.Artifact != "" {
		if err := r.blobs.Put(ctx, s.key(m.Version, m.Artifact), artifact); err != nil {
			return err
		}
	}
	return r.writeMeta(ctx, s, m)
}

func (r *Registry) writeMeta(ctx context.Context, s Series, m Meta) error {
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return fmt.Errorf("encode meta: %w", err)
	}
	return r.blobs.Put(ctx, s.key(m.Version, metaFile), append(data, '\n'))
}

// EnsureBaseline is EnsureBaselineIn of the return product of (pair, horizon).
func (r *Registry) EnsureBaseline(ctx context.Context, pair string, horizon int) (Meta, error) {
	return r.EnsureBaselineIn(ctx, series(pair, horizon))
}

// EnsureBaselineIn registers version 0 of s, its product's baseline (the
// Baseline*Name constants: zero-return, last-rv, last-rv-gaussian,
// climatology at 0.5), if it is missing, and makes it champion if the series
// has no champion. Calling it again changes nothing.
func (r *Registry) EnsureBaselineIn(ctx context.Context, s Series) (Meta, error) {
	s, err := s.valid()
	if err != nil {
		return Meta{}, fmt.Errorf("ensure baseline: %w", err)
	}
	err = r.locked(ctx, s, func() error {
		if _, err := r.readMeta(ctx, s, 0); errors.Is(err, ErrNotFound) {
			b := baselines[s.Product]
			m := Meta{Pair: s.Pair, Horizon: s.Horizon, Product: s.Product, Name: b.name, Params: maps.Clone(b.params),
				FeatureSchemaVersion: market.FeatureSchemaVersion,
				CodeVersion:          r.code, CreatedAt: r.now().UTC(), Status: Champion, Reason: b.reason}
			if err := r.write(ctx, s, m, nil); err != nil {
				return err
			}
		} else if err != nil {
			return err
		}
		return r.updateAliases(ctx, s, func(a *Aliases, at time.Time) (bool, error) {
			if a.Champion != nil {
				return false, nil
			}
			return a.set(Champion, 0, "baseline: no champion yet", at)
		})
	})
	if err != nil {
		return Meta{}, fmt.Errorf("ensure baseline %s: %w", s, err)
	}
	return r.GetIn(ctx, s, "0")
}

// Get is GetIn of the return product of (pair, horizon).
func (r *Registry) Get(ctx context.Context, pair string, horizon int, ref string) (Meta, error) {
	return r.GetIn(ctx, series(pair, horizon), ref)
}

// GetIn returns a version of s by reference: "champion", "challenger",
// "latest" (the highest version), or a number ("42", "v42").
func (r *Registry) GetIn(ctx context.Context, s Series, ref string) (Meta, error) {
	s, err := s.valid()
	if err != nil {
		return Meta{}, err
	}
	a, err := r.readAliases(ctx, s)
	if err != nil {
		return Meta{}, err
	}
	v, err := r.resolve(ctx, s, a, ref)
	if err != nil {
		return Meta{}, err
	}
	m, err := r.readMeta(ctx, s, v)
	if errors.Is(err, ErrNotFound) {
		return Meta{}, r.missing(ctx, s, v)
	}
	if err != nil {
		return Meta{}, err
	}
	m.Status, m.Reason = derive(a, m)
	return m, nil
}

// Version is VersionIn of the return product of (pair, horizon).
func (r *Registry) Version(ctx context.Context, pair string, horizon, v int) (Meta, error) {
	return r.VersionIn(ctx, series(pair, horizon), v)
}

// VersionIn returns version v of s as registered, without reading the
// aliases (Status and Reason are left as stored): what a loader needs when
// the aliases were read already, or cannot be.
func (r *Registry) VersionIn(ctx context.Context, s Series, v int) (Meta, error) {
	s, err := s.valid()
	if err != nil {
		return Meta{}, err
	}
	m, err := r.readMeta(ctx, s, v)
	if errors.Is(err, ErrNotFound) {
		return Meta{}, r.missing(ctx, s, v)
	}
	return m, err
}

func (r *Registry) resolve(ctx context.Context, s Series, a Aliases, ref string) (int, error) {
	switch ref = strings.ToLower(strings.TrimSpace(ref)); ref {
	case Champion, Challenger:
		if v := a.version(ref); v >= 0 {
			return v, nil
		}
		if err := r.exists(ctx, s); err != nil {
			return 0, err
		}
		return 0, notFound("%s has no %s", s, ref)
	case "latest":
		vs, err := r.versions(ctx, s)
		if err != nil {
			return 0, err
		}
		if len(vs) == 0 {
			return 0, r.missing(ctx, s, -1)
		}
		return vs[len(vs)-1], nil
	}
	v, err := ParseVersion(ref)
	if err != nil {
		return 0, fmt.Errorf("model %q: want champion, challenger, latest or a version number: %w", ref, market.ErrInvalid)
	}
	return v, nil
}

// exists reports, as an error, a series without any version.
func (r *Registry) exists(ctx context.Context, s Series) error {
	vs, err := r.versions(ctx, s)
	if err == nil && len(vs) == 0 {
		return r.missing(ctx, s, -1)
	}
	return err
}

// missing is the error for a version (v < 0: any version) that is not there.
func (r *Registry) missing(ctx context.Context, s Series, v int) error {
	vs, err := r.versions(ctx, s)
	switch {
	case err != nil:
		return err
	case len(vs) == 0:
		return notFound("no models registered for %s", s)
	default:
		return notFound("%s has no version %d (versions: %s)", s, v, versionList(vs))
	}
}

func versionList(vs []int) string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = strconv.Itoa(v)
	}
	return strings.Join(parts, ", ")
}

func derive(a Aliases, m Meta) (status, reason string) {
	status, reason = a.status(m.Version)
	if reason == "" {
		reason = m.Reason
	}
	return status, reason
}

// List is ListIn of the return product of (pair, horizon).
func (r *Registry) List(ctx context.Context, pair string, horizon int) ([]Meta, error) {
	return r.ListIn(ctx, series(pair, horizon))
}

// ListIn returns every version of s in version order (none: an empty list
// and no error).
func (r *Registry) ListIn(ctx context.Context, s Series) ([]Meta, error) {
	s, err := s.valid()
	if err != nil {
		return nil, err
	}
	a, err := r.readAliases(ctx, s)
	if err != nil {
		return nil, err
	}
	vs, err := r.versions(ctx, s)
	if err != nil {
		return nil, err
	}
	out := make([]Meta, 0, len(vs))
	for _, v := range vs {
		m, err := r.readMeta(ctx, s, v)
		if err != nil {
			return nil, err
		}
		m.Status, m.Reason = derive(a, m)
		out = append(out, m)
	}
	return out, nil
}

// Series lists the series, of every product, that hold at least one
// version, ordered by pair, horizon, then product (as Products lists them).
func (r *Registry) Series(ctx context.Context) ([]Series, error) {
	keys, err := r.blobs.List(ctx, rootPrefix)
	if err != nil {
		return nil, err
	}
	var out []Series
	for _, k := range keys {
		s, _, ok := parseMetaKey(k)
		if ok && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b Series) int {
		if c := strings.Compare(a.Pair, b.Pair); c != 0 {
			return c
		}
		if a.Horizon != b.Horizon {
			return a.Horizon - b.Horizon
		}
		return productOrder(a.Product) - productOrder(b.Product)
	})
	return out, nil
}

// parseMetaKey reads registry/<slug>/h<h>/v<NNNNNN>/meta.json (a return
// version) and registry/<slug>/h<h>/<product>/v<NNNNNN>/meta.json.
func parseMetaKey(key string) (Series, int, bool) {
	parts := strings.Split(strings.TrimPrefix(key, rootPrefix), "/")
	var product string
	if len(parts) == 5 {
		product = parts[2]
		if p, err := NormalizeProduct(product); err != nil || p != product || p == "" {
			return Series{}, 0, false
		}
		parts = append(parts[:2:2], parts[3:]...)
	}
	if len(parts) != 4 || parts[3] != metaFile || !strings.HasPrefix(parts[1], "h") || !isVersionDir(parts[2]) {
		return Series{}, 0, false
	}
	h, err := strconv.Atoi(parts[1][1:])
	if err != nil {
		return Series{}, 0, false
	}
	s, err := Series{Pair: parts[0], Horizon: h, Product: product}.valid()
	if err != nil {
		return Series{}, 0, false
	}
	v, err := ParseVersion(parts[2])
	return s, v, err == nil
}

// SetAlias is SetAliasIn of the return product of (pair, horizon).
func (r *Registry) SetAlias(ctx context.Context, pair string, horizon int, alias string, version int, reason string) error {
	return r.SetAliasIn(ctx, series(pair, horizon), alias, version, reason)
}

// SetAliasIn points alias (champion or challenger) of s at version and
// records the change with its reason in the history; setting the version
// the alias already holds changes nothing. Promoting the challenger to
// champion clears the challenger alias.
func (r *Registry) SetAliasIn(ctx context.Context, s Series, alias string, version int, reason string) error {
	s, err := s.valid()
	if err != nil {
		return fmt.Errorf("set alias: %w", err)
	}
	if err := checkAlias(alias); err != nil {
		return err
	}
	err = r.locked(ctx, s, func() error {
		if _, err := r.readMeta(ctx, s, version); errors.Is(err, ErrNotFound) {
			return r.missing(ctx, s, version)
		} else if err != nil {
			return err
		}
		return r.updateAliases(ctx, s, func(a *Aliases, at time.Time) (bool, error) {
			return a.set(alias, version, reason, at)
		})
	})
	if err != nil {
		return fmt.Errorf("set %s of %s to v%d: %w", alias, s, version, err)
	}
	return nil
}

// Rollback is RollbackIn of the return product of (pair, horizon).
func (r *Registry) Rollback(ctx context.Context, pair string, horizon int, alias string) (Meta, error) {
	return r.RollbackIn(ctx, series(pair, horizon), alias)
}

// RollbackIn moves alias of s back to the version it held before its
// latest change (again and again, through the history) and returns that
// version; it fails with ErrNotFound when there is none.
func (r *Registry) RollbackIn(ctx context.Context, s Series, alias string) (Meta, error) {
	s, err := s.valid()
	if err != nil {
		return Meta{}, fmt.Errorf("rollback: %w", err)
	}
	if err := checkAlias(alias); err != nil {
		return Meta{}, err
	}
	var v int
	err = r.locked(ctx, s, func() error {
		if err := r.exists(ctx, s); err != nil {
			return err
		}
		return r.updateAliases(ctx, s, func(a *Aliases, at time.Time) (bool, error) {
			var err error
			v, err = a.rollback(alias, at)
			return err == nil, err
		})
	})
	if err != nil {
		return Meta{}, fmt.Errorf("rollback %s of %s: %w", alias, s, err)
	}
	return r.GetIn(ctx, s, strconv.Itoa(v))
}

// Aliases is AliasesIn of the return product of (pair, horizon).
func (r *Registry) Aliases(ctx context.Context, pair string, horizon int) (Aliases, error) {
	return r.AliasesIn(ctx, series(pair, horizon))
}

// AliasesIn returns aliases.json of s (empty when nothing was set).
func (r *Registry) AliasesIn(ctx context.Context, s Series) (Aliases, error) {
	s, err := s.valid()
	if err != nil {
		return Aliases{}, err
	}
	return r.readAliases(ctx, s)
}

// Artifact returns the model bytes of a version, checked against the
// recorded SHA-256: a mismatch wraps ErrCorrupt. A version without a
// checksum (registered before them) is returned unchecked.
func (r *Registry) Artifact(ctx context.Context, m Meta) ([]byte, error) {
	data, err := r.rawArtifact(ctx, m)
	if err != nil {
		return nil, err
	}
	if m.SHA256 != "" && checksum(data) != m.SHA256 {
		return nil, fmt.Errorf("artifact of %s v%d: sha256 %s, registered %s: %w",
			m.Series(), m.Version, checksum(data), m.SHA256, ErrCorrupt)
	}
	return data, nil
}

func (r *Registry) rawArtifact(ctx context.Context, m Meta) ([]byte, error) {
	s, err := m.Series().valid()
	if err != nil {
		return nil, err
	}
	if m.Artifact == "" {
		return nil, notFound("%s v%d (%s) has no artifact", s, m.Version, m.Name)
	}
	data, err := r.blobs.Get(ctx, s.key(m.Version, m.Artifact))
	if err != nil {
		return nil, fmt.Errorf("artifact of %s v%d: %w", s, m.Version, err)
	}
	return data, nil
}

// locked runs fn holding the series lock, after removing what crashed
// writers left: temporary files and versions without meta.json.
func (r *Registry) locked(ctx context.Context, s Series, fn func() error) error {
	unlock, err := r.blobs.Lock(ctx, s.prefix()+lockFile)
	if err != nil {
		return err
	}
	defer unlock()
	if err := r.cleanIncomplete(ctx, s); err != nil {
		return err
	}
	return fn()
}

func (r *Registry) cleanIncomplete(ctx context.Context, s Series) error {
	if sw, ok := r.blobs.(sweeper); ok {
		if err := sw.Sweep(ctx, s.prefix()); err != nil {
			return err
		}
	}
	keys, err := r.blobs.List(ctx, s.prefix())
	if err != nil {
		return err
	}
	keys = slices.DeleteFunc(keys, func(k string) bool { return !s.own(k) })
	complete := map[string]bool{}
	for _, k := range keys {
		if dir, ok := strings.CutSuffix(k, "/"+metaFile); ok {
			complete[dir] = true
		}
	}
	for _, k := range keys {
		dir := k[:strings.LastIndexByte(k, '/')]
		if dir+"/" != s.prefix() && !complete[dir] {
			if err := r.blobs.Delete(ctx, k); err != nil {
				return err
			}
		}
	}
	return nil
}

// versions lists the complete versions (with meta.json) in order.
func (r *Registry) versions(ctx context.Context, s Series) ([]int, error) {
	keys, err := r.blobs.List(ctx, s.prefix())
	if err != nil {
		return nil, err
	}
	var vs []int
	for _, k := range keys {
		if ks, v, ok := parseMetaKey(k); ok && ks == s {
			vs = append(vs, v)
		}
	}
	slices.Sort(vs)
	return vs, nil
}

func (r *Registry) readMeta(ctx context.Context, s Series, v int) (Meta, error) {
	data, err := r.blobs.Get(ctx, s.key(v, metaFile))
	if err != nil {
		return Meta{}, err
	}
	var m Meta
	if err := json.Unmarshal(data, &m); err != nil {
		return Meta{}, fmt.Errorf("decode %s: %w", s.key(v, metaFile), err)
	}
	return m, nil
}

func (r *Registry) readAliases(ctx context.Context, s Series) (Aliases, error) {
	var a Aliases
	data, err := r.blobs.Get(ctx, s.prefix()+aliasesFile)
	if errors.Is(err, ErrNotFound) {
		return a, nil
	}
	if err != nil {
		return a, err
	}
	if err := json.Unmarshal(data, &a); err != nil {
		return a, fmt.Errorf("decode %s: %w", s.prefix()+aliasesFile, err)
	}
	return a, nil
}

// updateAliases is the read-modify-write of aliases.json; callers hold the
// series lock. change reports whether it changed anything.
func (r *Registry) updateAliases(ctx context.Context, s Series, change func(*Aliases, time.Time) (bool, error)) error {
	a, err := r.readAliases(ctx, s)
	if err != nil {
		return err
	}
	changed, err := change(&a, r.now().UTC())
	if err != nil || !changed {
		return err
	}
	data, err := json.MarshalIndent(a, "", "  ")
	if err != nil {
		return fmt.Errorf("encode aliases: %w", err)
	}
	return r.blobs.Put(ctx, s.prefix()+aliasesFile, append(data, '\n'))
}
