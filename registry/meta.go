package registry

import (
	"fmt"
	"math"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Meta describes one model version; it is meta.json of the version.
type Meta struct {
	Pair    string `json:"pair"`
	Horizon int    `json:"horizon"`
	// Product is what the version forecasts: "" (the return product, as
	// every version registered before products), vol, quantiles or p_up.
	Product string `json:"product,omitempty"`
	Version int    `json:"version"`
	// Name is the kind of model: the product's baseline (version 0:
	// BaselineOf), a fitted baseline ("har-rv", "har-gaussian",
	// "climatology"), "xgboost" or "xgboost-vol-z".
	Name string `json:"name"`
	// Artifact is the file name of the model bytes in the version
	// ("model.ubj", "model.json"), empty when there are none.
	Artifact string `json:"artifact,omitempty"`
	// SHA256 is the hex SHA-256 of the artifact, set by Register; empty for
	// versions registered before checksums (see Check and RecordChecksum).
	SHA256               string            `json:"sha256,omitempty"`
	FeatureSchemaVersion int               `json:"feature_schema_version"`
	Params               map[string]string `json:"params,omitempty"`
	// Metrics are test-window figures: model_mae, baseline_mae, dir_acc,
	// skill, …. Register drops non-finite values, which JSON cannot hold.
	Metrics     map[string]float64 `json:"metrics,omitempty"`
	DataFrom    time.Time          `json:"data_from,omitzero"`
	DataTo      time.Time          `json:"data_to,omitzero"`
	TestFrom    time.Time          `json:"test_from,omitzero"`
	TestTo      time.Time          `json:"test_to,omitzero"`
	CodeVersion string             `json:"code_version"`
	CreatedAt   time.Time          `json:"created_at"`
	// TrainedAt is the last full training of the version's lineage, for a
	// version that updates a parent incrementally; zero for a full training
	// (CreatedAt is then): see LastFullTraining.
	TrainedAt time.Time `json:"trained_at,omitzero"`
	// Parent is the version an incremental update was made from (its
	// lineage: DataFrom/DataTo are then the rows the update trained on,
	// TrainedAt the parent's LastFullTraining, Params "update_*" the method
	// and row counts); 0 for a full training (version 0, the baseline, is
	// never updated).
	Parent    int    `json:"parent,omitempty"`
	ReportDir string `json:"report_dir,omitempty"`
	// Status is champion, challenger, retired or candidate; Get and List
	// derive it (and Reason, for alias holders) from the current aliases.
	Status string `json:"status,omitempty"`
	Reason string `json:"reason,omitempty"`
}

// LastFullTraining is when the version's model was last trained in full:
// TrainedAt, else CreatedAt. Model ages count from it.
func (m Meta) LastFullTraining() time.Time {
	if m.TrainedAt.IsZero() {
		return m.CreatedAt
	}
	return m.TrainedAt
}

// Statuses of a version, derived from the aliases.
const (
	Champion   = "champion"
	Challenger = "challenger"
	Retired    = "retired"
	Candidate  = "candidate"
)

// maxVersion bounds versions to the six digits of the directory names.
const maxVersion = 999_999

// ParseVersion reads "42", "v42" or "v000042".
func ParseVersion(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimPrefix(strings.ToLower(s), "v"))
	if err != nil || n < 0 || n > maxVersion {
		return 0, fmt.Errorf("version %q: want a number 0..%d, optionally prefixed with v: %w", s, maxVersion, market.ErrInvalid)
	}
	return n, nil
}

// finiteMetrics copies m without NaN and ±Inf (e.g. a skill whose baseline
// MAE is 0), which encoding/json refuses.
func finiteMetrics(m map[string]float64) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		if !math.IsNaN(v) && !math.IsInf(v, 0) {
			out[k] = v
		}
	}
	return out
}

// validArtifactName keeps artifact names plain files beside meta.json.
func validArtifactName(name string) bool {
	return name != "" && name != metaFile && name != aliasesFile &&
		!strings.ContainsAny(name, `/\`) && !strings.HasPrefix(name, ".")
}

// codeVersion is the VCS revision the binary was built from ("+dirty" when
// the tree had changes), or "devel" when the build carries none (go test, go run).
func codeVersion() string {
	info, ok := debug.ReadBuildInfo()
	if !ok {
		return "devel"
	}
	var rev, dirty string
	for _, s := range info.Settings {
		switch {
		case s.Key == "vcs.revision":
			rev = s.Value
		case s.Key == "vcs.modified" && s.Value == "true":
			dirty = "+dirty"
		}
	}
	if rev == "" {
		return "devel"
	}
	return rev + dirty
}
