package duckdb

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/tickcast/tickcast/registry"
)

// modelColumns is the models table: one row per registry version, its
// Meta flattened (params and metrics as maps, the usual metrics also as
// columns; status from the current aliases).
var modelColumns = []col{
	{"pair", tVarchar}, {"horizon", "INTEGER"}, {"version", "INTEGER"}, {"name", tVarchar},
	{"status", tVarchar}, {"reason", tVarchar},
	{"model_mae", tDouble}, {"baseline_mae", tDouble}, {"skill", tDouble}, {"dir_acc", tDouble},
	{"metrics", "MAP(VARCHAR, DOUBLE)"}, {"params", "MAP(VARCHAR, VARCHAR)"},
	{"feature_schema_version", "INTEGER"}, {"artifact", tVarchar}, {"sha256", tVarchar},
	{"data_from", tTime}, {"data_to", tTime}, {"test_from", tTime}, {"test_to", tTime},
	{"created_at", tTime}, {"code_version", tVarchar}, {"report_dir", tVarchar},
}

// loadModels fills the in-memory table models from dataDir's registry
// (empty when it holds none). Only the in-memory database is written.
func (db *DB) loadModels(ctx context.Context, dataDir string) error {
	metas, err := registryMetas(ctx, dataDir)
	if err != nil {
		return fmt.Errorf("read the registry: %w", err)
	}
	defs := make([]string, len(modelColumns))
	for i, c := range modelColumns {
		defs[i] = quote(c.name) + " " + c.typ
	}
	if _, err := db.sql.ExecContext(ctx, "CREATE OR REPLACE TABLE models ("+strings.Join(defs, ", ")+")"); err != nil {
		return fmt.Errorf("create table models: %w", err)
	}
	insert := "INSERT INTO models VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, " +
		"CAST(?::JSON AS MAP(VARCHAR, DOUBLE)), CAST(?::JSON AS MAP(VARCHAR, VARCHAR)), ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
	for _, m := range metas {
		args, err := modelRow(m)
		if err == nil {
			_, err = db.sql.ExecContext(ctx, insert, args...)
		}
		if err != nil {
			return fmt.Errorf("model %s h%d v%d: %w", m.Pair, m.Horizon, m.Version, err)
		}
	}
	return nil
}

func registryMetas(ctx context.Context, dataDir string) ([]registry.Meta, error) {
	reg, err := registry.Open(dataDir)
	if err != nil {
		return nil, err
	}
	series, err := reg.Series(ctx)
	if err != nil {
		return nil, err
	}
	var out []registry.Meta
	for _, s := range series {
		ms, err := reg.ListIn(ctx, s)
		if err != nil {
			return nil, fmt.Errorf("list %s: %w", s, err)
		}
		out = append(out, ms...)
	}
	return out, nil
}

func modelRow(m registry.Meta) ([]any, error) {
	metrics, err := json.Marshal(m.Metrics)
	if err != nil {
		return nil, err
	}
	params, err := json.Marshal(m.Params)
	if err != nil {
		return nil, err
	}
	return []any{m.Pair, m.Horizon, m.Version, m.Name, m.Status, null(m.Reason),
		metric(m, "model_mae"), metric(m, "baseline_mae"), metric(m, "skill"), metric(m, "dir_acc"),
		string(metrics), string(params), m.FeatureSchemaVersion, null(m.Artifact), null(m.SHA256),
		timeOrNull(m.DataFrom), timeOrNull(m.DataTo), timeOrNull(m.TestFrom), timeOrNull(m.TestTo),
		timeOrNull(m.CreatedAt), m.CodeVersion, null(m.ReportDir)}, nil
}

func metric(m registry.Meta, name string) any {
	if v, ok := m.Metrics[name]; ok {
		return v
	}
	return nil
}

func null(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func timeOrNull(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t.UTC()
}
