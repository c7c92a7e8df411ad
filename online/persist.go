package online

import (
	"encoding/json"
	"fmt"
	"github.com/tickcast/tickcast/internal/atomicfile"
	"math"
	"os"
	"strconv"
	"time"

	"github.com/tickcast/tickcast/market"
)

// fileVersion versions the JSON layout below (not the feature schema).
const fileVersion = 1

type fileJSON struct {
	Version int       `json:"version"`
	Rows    []rowJSON `json:"rows"`
}

// rowJSON names features instead of listing them, so that a file stays
// readable when FeatureNames changes: unknown names are ignored, missing
// ones read as NaN, and SchemaVersion tells consumers which schema it is.
type rowJSON struct {
	Pair          string               `json:"pair"`
	TS            time.Time            `json:"ts"`
	SchemaVersion int                  `json:"schema_version"`
	Warm          bool                 `json:"warm"`
	Close         jsonFloat            `json:"close"`
	Features      map[string]jsonFloat `json:"features"`
}

// Save writes every row to path as JSON, atomically: a temporary file in
// the same directory, fsynced and renamed over path.
func (l *Latest) Save(path string) error {
	f := fileJSON{Version: fileVersion, Rows: []rowJSON{}}
	for _, r := range l.All() {
		f.Rows = append(f.Rows, toJSON(r))
	}
	data, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return fmt.Errorf("save latest features %s: %w", path, err)
	}
	if err := atomicfile.Write(path, append(data, '\n')); err != nil {
		return fmt.Errorf("save latest features: %w", err)
	}
	return nil
}

// LoadLatest reads a file written by Save. A missing file is an error
// that matches fs.ErrNotExist, for callers that start empty.
func LoadLatest(path string) (*Latest, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("load latest features: %w", err)
	}
	var f fileJSON
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, fmt.Errorf("load latest features %s: %w", path, err)
	}
	if f.Version != fileVersion {
		return nil, fmt.Errorf("load latest features %s: version %d, want %d: %w", path, f.Version, fileVersion, market.ErrInvalid)
	}
	l := &Latest{}
	for _, r := range f.Rows {
		l.Put(fromJSON(r))
	}
	return l, nil
}

func toJSON(r market.FeatureRow) rowJSON {
	features := make(map[string]jsonFloat, market.NumFeatures)
	for i, name := range market.FeatureNames {
		features[name] = jsonFloat(r.Values[i])
	}
	return rowJSON{Pair: r.Pair, TS: r.TS.UTC(), SchemaVersion: r.SchemaVersion, Warm: r.Warm,
		Close: jsonFloat(r.Close), Features: features}
}

func fromJSON(j rowJSON) market.FeatureRow {
	r := market.FeatureRow{Pair: j.Pair, TS: j.TS.UTC(), SchemaVersion: j.SchemaVersion, Warm: j.Warm, Close: float64(j.Close)}
	for i, name := range market.FeatureNames {
		v, ok := j.Features[name]
		if !ok {
			v = jsonFloat(math.NaN())
		}
		r.Values[i] = float64(v)
	}
	return r
}

// jsonFloat encodes NaN and ±Inf, which JSON numbers cannot hold and cold
// feature rows do contain, as the strings "NaN", "+Inf" and "-Inf".
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"+Inf"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Inf"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

func (f *jsonFloat) UnmarshalJSON(b []byte) error {
	s := string(b)
	if uq, err := strconv.Unquote(s); err == nil {
		s = uq // ParseFloat reads "NaN", "+Inf" and "-Inf" itself
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return fmt.Errorf("feature value %s: %w", b, market.ErrInvalid)
	}
	*f = jsonFloat(v)
	return nil
}
