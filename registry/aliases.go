package registry

import (
	"fmt"
	"slices"
	"time"

	"github.com/tickcast/tickcast/market"
)

// Alias is where an alias points now.
type Alias struct {
	Version int       `json:"version"`
	Since   time.Time `json:"since"`
	Reason  string    `json:"reason,omitempty"`
}

// Change is one entry of the alias history: who moved which alias, from
// which version to which, when and why.
type Change struct {
	At     time.Time `json:"at"`
	Alias  string    `json:"alias"`
	Action string    `json:"action"` // set, clear or rollback
	From   *int      `json:"from"`   // null: the alias was unset
	To     *int      `json:"to"`     // null: the alias is now unset
	Reason string    `json:"reason,omitempty"`
}

// Aliases is aliases.json of a series.
type Aliases struct {
	Champion   *Alias   `json:"champion"`
	Challenger *Alias   `json:"challenger"`
	History    []Change `json:"history"`
}

func checkAlias(name string) error {
	if name != Champion && name != Challenger {
		return fmt.Errorf("alias %q: want champion or challenger: %w", name, market.ErrInvalid)
	}
	return nil
}

func (a *Aliases) ptr(name string) **Alias {
	if name == Champion {
		return &a.Champion
	}
	return &a.Challenger
}

// version is the version alias name points at, or -1.
func (a *Aliases) version(name string) int {
	if p := *a.ptr(name); p != nil {
		return p.Version
	}
	return -1
}

// move points alias name at v (-1: unset) and records the change; it
// reports false when the alias already pointed there.
func (a *Aliases) move(name, action string, v int, reason string, at time.Time) bool {
	from := a.version(name)
	if from == v {
		return false
	}
	if v < 0 {
		*a.ptr(name) = nil
	} else {
		*a.ptr(name) = &Alias{Version: v, Since: at, Reason: reason}
	}
	a.History = append(a.History, Change{At: at, Alias: name, Action: action, From: optVersion(from), To: optVersion(v), Reason: reason})
	if name == Champion && a.version(Challenger) == v {
		a.move(Challenger, "clear", -1, fmt.Sprintf("v%d became champion", v), at)
	}
	return true
}

func optVersion(v int) *int {
	if v < 0 {
		return nil
	}
	return &v
}

// set is the SetAlias change: a challenger may not be the champion itself.
func (a *Aliases) set(name string, v int, reason string, at time.Time) (bool, error) {
	if name == Challenger && a.version(Champion) == v {
		return false, fmt.Errorf("v%d is the champion, it cannot be the challenger: %w", v, market.ErrInvalid)
	}
	return a.move(name, "set", v, reason, at), nil
}

// rollback moves alias name back to the version it held before its latest
// still-standing change.
func (a *Aliases) rollback(name string, at time.Time) (int, error) {
	stack := a.stack(name)
	prev, ok := previous(stack)
	if !ok {
		return 0, notFound("%s has no previous version to roll back to", name)
	}
	v := prev[len(prev)-1]
	if name == Challenger && a.version(Champion) == v {
		return 0, fmt.Errorf("rolling the challenger back would make it v%d, the champion: %w", v, market.ErrInvalid)
	}
	reason := "rollback from unset"
	if from := a.version(name); from >= 0 {
		reason = fmt.Sprintf("rollback from v%d", from)
	}
	a.move(name, "rollback", v, reason, at)
	return v, nil
}

// stack replays the history of alias name: every set or clear pushes the
// new version (-1 for unset), every rollback pops back to the one before,
// so repeated rollbacks keep walking back instead of toggling.
func (a *Aliases) stack(name string) []int {
	var s []int
	for _, c := range a.History {
		if c.Alias != name {
			continue
		}
		if c.Action == "rollback" {
			s, _ = previous(s)
			continue
		}
		v := -1
		if c.To != nil {
			v = *c.To
		}
		s = append(s, v)
	}
	return s
}

// previous drops the top of s (the current version) and the entries below
// it that would not change anything: unset states and the current version.
func previous(s []int) ([]int, bool) {
	if len(s) == 0 {
		return s, false
	}
	cur := s[len(s)-1]
	p := s[:len(s)-1]
	for len(p) > 0 && (p[len(p)-1] < 0 || p[len(p)-1] == cur) {
		p = p[:len(p)-1]
	}
	return p, len(p) > 0
}

// status derives what version v is from the aliases.
func (a *Aliases) status(v int) (status, reason string) {
	for _, name := range []string{Champion, Challenger} {
		if p := *a.ptr(name); p != nil && p.Version == v {
			return name, p.Reason
		}
	}
	for _, c := range a.History {
		if c.To != nil && *c.To == v {
			return Retired, ""
		}
	}
	return Candidate, ""
}

// Chain returns the versions Rollback would move alias name back to, the
// next rollback target first, without repeats or the current version.
func (a *Aliases) Chain(name string) []int {
	cur := a.version(name)
	var out []int
	for s := a.stack(name); ; {
		p, ok := previous(s)
		if !ok {
			return out
		}
		if v := p[len(p)-1]; v != cur && !slices.Contains(out, v) {
			out = append(out, v)
		}
		s = p
	}
}
