package predict

import (
	"fmt"
	"strings"
	"time"

	"github.com/tickcast/tickcast/registry"
)

// expired says why the version meta describes is too old to serve: its
// last full training is more than Config.ModelMaxAge ago on the wall clock.
// "" when it may serve: a baseline (version 0), or no limit set.
func (s *Service) expired(meta registry.Meta) string {
	if s.cfg.ModelMaxAge <= 0 || meta.Version == 0 {
		return ""
	}
	trained := meta.LastFullTraining()
	age := s.cfg.Wall.Now().Sub(trained)
	if age <= s.cfg.ModelMaxAge {
		return ""
	}
	return fmt.Sprintf("v%d trained %s, %s ago, past --model-max-age %s",
		meta.Version, trained.UTC().Format(time.RFC3339), roughAge(age), shortDuration(s.cfg.ModelMaxAge))
}

// roughAge is d in days and hours ("3d2h"), hours and minutes under a day,
// minutes under an hour: a reason that changes at most once a minute (a
// changed reason is logged), hourly at the usual limits of days.
func roughAge(d time.Duration) string {
	days, hours, mins := int(d/(24*time.Hour)), int(d%(24*time.Hour)/time.Hour), int(d%time.Hour/time.Minute)
	switch {
	case days > 0:
		return fmt.Sprintf("%dd%dh", days, hours)
	case hours > 0:
		return fmt.Sprintf("%dh%dm", hours, mins)
	}
	return fmt.Sprintf("%dm", mins)
}

// shortDuration is d as a flag spells it, without zero units: 72h, 1h30m.
func shortDuration(d time.Duration) string {
	s := d.String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}
