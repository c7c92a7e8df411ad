package registry

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
)

// ErrCorrupt is wrapped by errors about an artifact whose bytes are not
// the ones registered (SHA-256 mismatch).
var ErrCorrupt = errors.New("corrupt")

// Integrity states of a version's artifact, from Check.
const (
	IntegrityOK         = "ok"
	IntegrityNone       = "none"       // no artifact: the baseline
	IntegrityUnverified = "unverified" // registered before checksums: none recorded yet
	IntegrityMismatch   = "checksum_mismatch"
	IntegrityUnreadable = "unreadable" // missing or unreadable file
)

func checksum(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// Check reads the artifact of m and reports its integrity state; err says
// why for unreadable and checksum_mismatch. It cannot tell whether XGBoost
// accepts the bytes: callers that can load models check that themselves.
func (r *Registry) Check(ctx context.Context, m Meta) (state string, err error) {
	if m.Artifact == "" {
		return IntegrityNone, nil
	}
	data, err := r.rawArtifact(ctx, m)
	switch {
	case err != nil:
		return IntegrityUnreadable, err
	case m.SHA256 == "":
		return IntegrityUnverified, nil
	case checksum(data) != m.SHA256:
		return IntegrityMismatch, fmt.Errorf("sha256 %s, registered %s: %w", checksum(data), m.SHA256, ErrCorrupt)
	}
	return IntegrityOK, nil
}

// RecordChecksum is RecordChecksumIn of the return product of (pair, horizon).
func (r *Registry) RecordChecksum(ctx context.Context, pair string, horizon, v int, data []byte) error {
	return r.RecordChecksumIn(ctx, series(pair, horizon), v, data)
}

// RecordChecksumIn records the SHA-256 of data as the checksum of version v
// of s when it has none: versions registered before checksums get theirs on
// the first load that proved the bytes good (trust on first use). This is
// the one rewrite of a meta.json, and it only adds the field. A recorded
// checksum that differs is an error wrapping ErrCorrupt.
func (r *Registry) RecordChecksumIn(ctx context.Context, s Series, v int, data []byte) error {
	s, err := s.valid()
	if err != nil {
		return fmt.Errorf("record checksum: %w", err)
	}
	sum := checksum(data)
	err = r.locked(ctx, s, func() error {
		m, err := r.readMeta(ctx, s, v)
		switch {
		case err != nil:
			return err
		case m.SHA256 == sum:
			return nil
		case m.SHA256 != "":
			return fmt.Errorf("sha256 %s, registered %s: %w", sum, m.SHA256, ErrCorrupt)
		}
		m.SHA256 = sum
		return r.writeMeta(ctx, s, m)
	})
	if err != nil {
		return fmt.Errorf("record checksum of %s v%d: %w", s, v, err)
	}
	return nil
}
