package training

import (
	"cmp"
	"fmt"
	"maps"
	"math"
	"slices"

	"github.com/tickcast/tickcast/registry"
)

// RunComparison sets two runs side by side: their parameters, every
// product's skills (with CIs) against every baseline, the gates'
// decisions, and the differences in words.
type RunComparison struct {
	A           RunSummary  `json:"a"`
	B           RunSummary  `json:"b"`
	Params      []ParamPair `json:"params"`
	Skills      []SkillPair `json:"skills"`
	Differences []string    `json:"differences"`
}

// ParamPair is one parameter of both runs ("" where a run lacks it).
type ParamPair struct {
	Name    string `json:"name"`
	A       string `json:"a"`
	B       string `json:"b"`
	Differs bool   `json:"differs"`
}

// SkillPair is one product's skill against one baseline in both runs (nil
// where a run has none).
type SkillPair struct {
	Product  string      `json:"product"`
	Baseline string      `json:"baseline"`
	Metric   string      `json:"metric"`
	A        *Comparison `json:"a"`
	B        *Comparison `json:"b"`
}

// CompareRuns sets a beside b.
func CompareRuns(a, b Run) RunComparison {
	out := RunComparison{A: a.RunSummary, B: b.RunSummary, Params: paramPairs(a.Params, b.Params), Differences: []string{}}
	out.Skills = skillPairs(runSkills(a), runSkills(b))
	if a.Pair != b.Pair || a.Horizon != b.Horizon {
		out.Differences = append(out.Differences, fmt.Sprintf("series: %s h%d vs %s h%d (different test rows: skills compare loosely)",
			a.Pair, a.Horizon, b.Pair, b.Horizon))
	}
	if a.TestFrom != b.TestFrom || a.TestTo != b.TestTo {
		out.Differences = append(out.Differences, fmt.Sprintf("test window: %s → %s vs %s → %s",
			a.TestFrom.Format("2006-01-02 15:04"), a.TestTo.Format("2006-01-02 15:04"),
			b.TestFrom.Format("2006-01-02 15:04"), b.TestTo.Format("2006-01-02 15:04")))
	}
	for _, p := range out.Params {
		if p.Differs {
			out.Differences = append(out.Differences, fmt.Sprintf("param %s: %s → %s", p.Name, orDash(p.A), orDash(p.B)))
		}
	}
	out.Differences = append(out.Differences, gateDifferences(a.Products, b.Products)...)
	return out
}

func paramPairs(a, b map[string]string) []ParamPair {
	names := slices.Sorted(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			names = append(names, k)
		}
	}
	slices.Sort(names)
	out := make([]ParamPair, 0, len(names))
	for _, n := range names {
		out = append(out, ParamPair{Name: n, A: a[n], B: b[n], Differs: a[n] != b[n]})
	}
	return out
}

// skillKey orders skills: product as registry.Products lists them, then baseline.
type skillKey struct{ product, baseline, metric string }

// runSkills is every skill of a run: the return model's against its
// baseline, each product's against each of its baselines.
func runSkills(r Run) map[skillKey]Comparison {
	out := map[skillKey]Comparison{}
	if len(r.Products) > 0 {
		p := r.Products[0]
		out[skillKey{p.Product, p.Baseline, p.Metric}] = Comparison{Baseline: p.Baseline, Metric: p.Metric, Skill: p.Skill,
			Lo: p.Lo, Hi: p.Hi, DMStat: jnum(math.NaN()), DMP: p.DMP, Rows: r.TestRows}
	}
	if d := r.Details; d != nil {
		for product, cs := range map[string][]Comparison{ProductVol: d.Vol.Skills, ProductQuantiles: d.Quantiles.Skills, ProductPUp: d.PUp.Skills} {
			for _, c := range cs {
				out[skillKey{product, c.Baseline, c.Metric}] = c
			}
		}
	}
	return out
}

func skillPairs(a, b map[skillKey]Comparison) []SkillPair {
	keys := slices.Collect(maps.Keys(a))
	for k := range b {
		if _, ok := a[k]; !ok {
			keys = append(keys, k)
		}
	}
	slices.SortFunc(keys, func(x, y skillKey) int {
		if d := slices.Index(registry.Products, x.product) - slices.Index(registry.Products, y.product); d != 0 {
			return d
		}
		return cmp.Or(cmp.Compare(x.baseline, y.baseline), cmp.Compare(x.metric, y.metric))
	})
	out := make([]SkillPair, 0, len(keys))
	for _, k := range keys {
		sp := SkillPair{Product: k.product, Baseline: k.baseline, Metric: k.metric}
		if c, ok := a[k]; ok {
			sp.A = &c
		}
		if c, ok := b[k]; ok {
			sp.B = &c
		}
		out = append(out, sp)
	}
	return out
}

// gateDifferences says, per product, where the gates or the gate-metric
// skills of the two runs differ.
func gateDifferences(a, b []RunProduct) []string {
	var out []string
	for _, pa := range a {
		i := slices.IndexFunc(b, func(p RunProduct) bool { return p.Product == pa.Product })
		if i < 0 {
			out = append(out, pa.Product+": only in the first run")
			continue
		}
		pb := b[i]
		if gate(pa) != gate(pb) {
			out = append(out, fmt.Sprintf("%s gate: %s → %s", pa.Product, gate(pa), gate(pb)))
		}
		out = append(out, fmt.Sprintf("%s %s skill vs %s: %s → %s", pa.Product, pa.Metric, orDash(pb.Baseline),
			SkillCI(pa.Skill, pa.Lo, pa.Hi), SkillCI(pb.Skill, pb.Lo, pb.Hi)))
	}
	for _, pb := range b {
		if !slices.ContainsFunc(a, func(p RunProduct) bool { return p.Product == pb.Product }) {
			out = append(out, pb.Product+": only in the second run")
		}
	}
	return out
}

// gate is a product's decision in a word.
func gate(p RunProduct) string {
	switch {
	case p.Pass == nil && p.Serve != "":
		return p.Serve
	case p.Pass == nil:
		return "not gated in the report"
	case *p.Pass:
		return "pass"
	}
	return "fail (" + p.Serve + " serves)"
}

// GateWord is p's gate decision in a few words.
func (p RunProduct) GateWord() string { return gate(p) }

// SkillCI formats a skill and its 95% CI as percentages.
func SkillCI(skill, lo, hi jnum) string {
	return fmtPct(float64(skill)) + " [" + fmtPct(float64(lo)) + ", " + fmtPct(float64(hi)) + "]"
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
