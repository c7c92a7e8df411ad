// Package registry keeps trained models: immutable numbered versions of each
// series — a (pair, horizon, product) — with their artifact and metadata, and
// the champion and challenger aliases that say which version serves
// predictions.
//
// # Products
//
// A product is what a series forecasts: "return" (the expected log return,
// the registry's first product, spelled "" in Meta.Product and
// Series.Product), "vol", "quantiles" and "p_up" (Products). Each product of
// a (pair, horizon) is a series of its own: its own versions from 0, its own
// aliases and lock. The (pair, horizon) methods — Get, Version, List,
// EnsureBaseline, SetAlias, Rollback, Aliases, Prune, RecordChecksum — work
// on the return product, as they did before products; each has a variant
// taking a Series for any product (GetIn, VersionIn, ListIn,
// EnsureBaselineIn, SetAliasIn, RollbackIn, AliasesIn, PruneIn,
// RecordChecksumIn). Register and Artifact read the product from the Meta,
// and Series lists the series of every product.
//
// To register a product version and make it champion:
//
//	m, err := reg.Register(ctx, registry.Meta{Pair: "ETH/USDT", Horizon: 5,
//		Product: registry.ProductVol, Name: "xgboost",
//		Params: map[string]string{"vol_target": "log", "vol_scale": "1.02"}}, modelBytes)
//	…
//	err = reg.SetAliasIn(ctx, m.Series(), registry.Champion, m.Version, "gate: skill CI above 0")
//
// A fitted baseline (vol "har-rv", quantiles "har-gaussian", p_up
// "climatology" with its rate) is registered the same way, without
// artifact bytes. Version 0 of each product is its unfitted baseline, written
// by EnsureBaselineIn: zero-return, last-rv, last-rv-gaussian, and
// climatology with Params{"p_up": "0.5"} (the Baseline*Name constants).
//
// # Layout
//
// Everything lives under keys of a Blobs store; the local one (FS) maps a key
// to <dataDir>/<key>, and an object-storage backend would use the keys as
// object names unchanged:
//
//	registry/<pair_slug>/h<h>/v<NNNNNN>/model.ubj   artifact (opaque bytes; or model.json; none for the baseline)
//	registry/<pair_slug>/h<h>/v<NNNNNN>/meta.json   Meta, written last
//	registry/<pair_slug>/h<h>/aliases.json          champion, challenger, history
//	registry/<pair_slug>/h<h>/.lock                 the writers' lock of the series
//	registry/<pair_slug>/h<h>/<product>/…           the same files for vol, quantiles and p_up
//
// pair_slug is market.PairSlug ("ETH-USDT"); NNNNNN is the zero-padded
// version, so names sort in version order. The return product keeps the
// (pair, horizon) directory, so registries written before products read
// unchanged; the other products' directories nest in it, and the return
// series' writers (their sweep of crashed writes included) keep out of
// every directory that is not one of its versions. Version 0 of every
// series is its product's baseline (EnsureBaselineIn); Register assigns 1,
// 2, ….
//
// # Writes
//
// Every write of a series (Register, EnsureBaseline, SetAlias, Rollback, …)
// holds the series lock — an flock on the .lock file, so concurrent
// goroutines, Registry values and processes serialise — and every file is
// written to a temporary name, fsynced and renamed. A version exists once its
// meta.json does: the artifact is written first, so a reader that sees
// meta.json also sees the artifact, and a crash leaves at most a version
// without meta.json, which readers ignore and the next writer deletes (its
// number is then reused, since no reader ever saw it). Versions are never
// rewritten; only aliases.json changes, replaced whole.
//
// # Aliases
//
// aliases.json holds the current champion and challenger (version, since,
// reason) and the append-only history of every change, from which Rollback
// steps an alias back to the version it held before. Promoting the current
// challenger to champion clears the challenger alias. Status and Reason of a
// Meta returned by Get(In) and List(In) are derived from the aliases at read time:
// "champion" or "challenger" (with the reason of that assignment), "retired"
// for a version that held an alias before, "candidate" for one that never did.
//
// Whatever is missing (a series, a version, an alias, an artifact) is a
// *market.Error of code not_found wrapping ErrNotFound, its message naming
// the series and the versions it has.
//
// # Integrity
//
// Register records the SHA-256 of the artifact in meta.json (sha256), and
// Artifact checks the bytes against it: a mismatch wraps ErrCorrupt. Check
// reports a version as ok, none (no artifact), unverified, checksum_mismatch
// or unreadable. Versions registered before checksums are unverified until a
// loader that proved the bytes good (XGBoost accepted them) calls
// RecordChecksum — trust on first use, the only rewrite of a meta.json, which
// only adds the field.
//
// # Retention
//
// Prune deletes the versions a Retention does not keep: version 0, the
// newest version (so that numbers are never reused), the champion, the
// challenger and every version Rollback could move either alias back to are
// always kept, and so are the newest KeepLast others (default 5) and those
// younger than KeepFor (default 14 days). It deletes meta.json first, so a
// pruned version vanishes for readers at once.
package registry
