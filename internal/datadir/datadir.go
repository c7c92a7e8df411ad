// Package datadir owns the layout of a tickcast data directory: every
// path below it is spelled here and nowhere else.
//
//	<data>/parquet/<dataset>/pair_slug=…/date=…/data.parquet   the offline store
//	<data>/parquet/predictions/…                                scored predictions
//	<data>/quarantine/parquet/…                                 corrupt store files moved aside
//	<data>/registry/…                                           model registry
//	<data>/datasets/…  <data>/reports/…                         training outputs
//	<data>/sources/<dataset>/<PAIR>.json                        backfill source records
//	<data>/late/ <data>/deadletter/ <data>/gaps/                JSONL the pipelines append to
//
// The pipelines' YAML (connect/pipelines) spells the JSONL directories too;
// a test of this package checks that they agree.
package datadir

import "path/filepath"

// Names of the entries directly under a data directory.
const (
	ParquetName    = "parquet"
	QuarantineName = "quarantine"
	RegistryName   = "registry"
	DatasetsName   = "datasets"
	ReportsName    = "reports"
	SourcesName    = "sources"
	LateName       = "late"
	DeadLetterName = "deadletter"
	GapsName       = "gaps"
)

// PredictionsName is the store dataset of scored predictions.
const PredictionsName = "predictions"

// Parquet is the root of the Parquet store.
func Parquet(dataDir string) string { return filepath.Join(dataDir, ParquetName) }

// Predictions is where scored predictions are written (under the store).
func Predictions(dataDir string) string { return filepath.Join(Parquet(dataDir), PredictionsName) }

// Quarantine is where corrupt files are moved aside.
func Quarantine(dataDir string) string { return filepath.Join(dataDir, QuarantineName) }

// Registry is the model registry's directory.
func Registry(dataDir string) string { return filepath.Join(dataDir, RegistryName) }

// Datasets holds the training datasets.
func Datasets(dataDir string) string { return filepath.Join(dataDir, DatasetsName) }

// Reports holds the training reports.
func Reports(dataDir string) string { return filepath.Join(dataDir, ReportsName) }

// Sources holds the backfill's source records.
func Sources(dataDir string) string { return filepath.Join(dataDir, SourcesName) }

// Late holds the late trades (JSONL).
func Late(dataDir string) string { return filepath.Join(dataDir, LateName) }

// DeadLetter holds the dead-lettered messages (JSONL).
func DeadLetter(dataDir string) string { return filepath.Join(dataDir, DeadLetterName) }

// Gaps holds the gap records (JSONL).
func Gaps(dataDir string) string { return filepath.Join(dataDir, GapsName) }

// Appended lists the names of the directories the shipped pipelines append
// JSONL files to: what retention compacts.
func Appended() []string { return []string{LateName, DeadLetterName, GapsName} }
