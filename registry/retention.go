package registry

import (
	"context"
	"fmt"
	"slices"
	"time"
)

// Defaults of Retention.
const (
	DefaultKeepLast = 5
	DefaultKeepFor  = 14 * 24 * time.Hour
)

// Retention says which versions of a series Prune keeps. Whatever it says,
// version 0 (the baseline), the newest version, the champion, the
// challenger and every version either alias could be rolled back to are kept.
type Retention struct {
	KeepLast int           // the newest KeepLast other versions (0: DefaultKeepLast; negative: none)
	KeepFor  time.Duration // versions younger than this (0: DefaultKeepFor; negative: none)
}

func (p Retention) withDefaults() Retention {
	if p.KeepLast == 0 {
		p.KeepLast = DefaultKeepLast
	}
	if p.KeepFor == 0 {
		p.KeepFor = DefaultKeepFor
	}
	return p
}

// Prune is PruneIn of the return product of (pair, horizon).
func (r *Registry) Prune(ctx context.Context, pair string, horizon int, p Retention, dryRun bool) ([]Meta, error) {
	return r.PruneIn(ctx, series(pair, horizon), p, dryRun)
}

// PruneIn deletes the versions of s that p does not keep and returns them
// (in version order); with dryRun it only returns them.
func (r *Registry) PruneIn(ctx context.Context, s Series, p Retention, dryRun bool) ([]Meta, error) {
	s, err := s.valid()
	if err != nil {
		return nil, fmt.Errorf("prune: %w", err)
	}
	var doomed []Meta
	err = r.locked(ctx, s, func() error {
		a, err := r.readAliases(ctx, s)
		if err != nil {
			return err // without the aliases nothing is known to be safe to delete
		}
		ms, err := r.ListIn(ctx, s)
		if err != nil {
			return err
		}
		doomed = prunable(a, ms, p.withDefaults(), r.now())
		if dryRun {
			return nil
		}
		for _, m := range doomed {
			if err := r.deleteVersion(ctx, s, m.Version); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("prune %s: %w", s, err)
	}
	return doomed, nil
}

// prunable picks the versions of ms (in version order) that p lets go.
func prunable(a Aliases, ms []Meta, p Retention, now time.Time) []Meta {
	keep := map[int]bool{0: true, a.version(Champion): true, a.version(Challenger): true}
	for _, name := range []string{Champion, Challenger} {
		for _, v := range a.Chain(name) {
			keep[v] = true
		}
	}
	var out []Meta
	others := 0
	for _, m := range slices.Backward(ms) {
		if keep[m.Version] {
			continue
		}
		others++
		// The newest stays whatever p says: Register numbers after the
		// highest, and no number may be reused.
		if m.Version == ms[len(ms)-1].Version || others <= p.KeepLast || (p.KeepFor > 0 && now.Sub(m.CreatedAt) < p.KeepFor) {
			continue
		}
		out = append(out, m)
	}
	slices.Reverse(out)
	return out
}

// deleteVersion removes meta.json first, so that the version is gone for
// readers at once; a crash leaves files without meta.json, which the next
// writer sweeps (cleanIncomplete).
func (r *Registry) deleteVersion(ctx context.Context, s Series, v int) error {
	if err := r.blobs.Delete(ctx, s.key(v, metaFile)); err != nil {
		return err
	}
	keys, err := r.blobs.List(ctx, s.key(v, ""))
	if err != nil {
		return err
	}
	for _, k := range keys {
		if err := r.blobs.Delete(ctx, k); err != nil {
			return err
		}
	}
	return nil
}

// PruneAll applies p to every series of the registry, returning what it
// deleted (or would delete, with dryRun).
func (r *Registry) PruneAll(ctx context.Context, p Retention, dryRun bool) ([]Meta, error) {
	all, err := r.Series(ctx)
	if err != nil {
		return nil, err
	}
	var out []Meta
	for _, s := range all {
		ms, err := r.PruneIn(ctx, s, p, dryRun)
		if err != nil {
			return out, err
		}
		out = append(out, ms...)
	}
	return out, nil
}
