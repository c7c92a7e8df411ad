// Package registry keeps trained models: immutable numbered versions of each
// (pair, horizon) with their artifact and metadata, and the champion and
// challenger aliases that say which version serves predictions.
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
//
// pair_slug is market.PairSlug ("ETH-USDT"); NNNNNN is the zero-padded
// version, so names sort in version order. Version 0 of every series is the
// zero-return baseline (EnsureBaseline); Register assigns 1, 2, ….
//
// # Writes
//
// Every write of a series (Register, EnsureBaseline, SetAlias, Rollback)
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
// Meta returned by Get and List are derived from the aliases at read time:
// "champion" or "challenger" (with the reason of that assignment), "retired"
// for a version that held an alias before, "candidate" for one that never did.
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
