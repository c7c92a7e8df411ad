package main

import (
	"context"
	"fmt"

	"github.com/tickcast/tickcast/market"
	"github.com/tickcast/tickcast/registry"
	"github.com/tickcast/tickcast/xgboost"
)

// integrityRefused is the integrity state of an artifact whose bytes are
// the registered ones (or unverified) but that XGBoost will not load.
const integrityRefused = "refused"

// modelsChecked is a version with the outcome of its integrity check.
type modelsChecked struct {
	registry.Meta
	Integrity      string `json:"integrity"` // ok, none, unverified, checksum_mismatch, unreadable, refused
	IntegrityError string `json:"integrity_error,omitempty"`
}

func (c modelsChecked) bad() bool {
	switch c.Integrity {
	case registry.IntegrityMismatch, registry.IntegrityUnreadable, integrityRefused:
		return true
	}
	return false
}

// flag is the integrity column: the state, upper-cased with its error when bad.
func (c modelsChecked) flag() string {
	if c.bad() {
		return fmt.Sprintf("BAD %s: %s", c.Integrity, c.IntegrityError)
	}
	return c.Integrity
}

// modelsCheck checks m as serving would load it: the registry's checksum,
// then XGBoost (the model must load and take this build's feature count).
func modelsCheck(ctx context.Context, reg *registry.Registry, m registry.Meta) modelsChecked {
	c := modelsChecked{Meta: m}
	state, err := reg.Check(ctx, m)
	c.Integrity = state
	if err != nil {
		c.IntegrityError = err.Error()
		return c
	}
	if state != registry.IntegrityOK && state != registry.IntegrityUnverified {
		return c
	}
	art, err := reg.Artifact(ctx, m)
	if err == nil {
		err = modelsLoads(art)
	}
	if err != nil {
		c.Integrity, c.IntegrityError = integrityRefused, err.Error()
	}
	return c
}

// modelsLoads reports why XGBoost will not serve art, or nil.
func modelsLoads(art []byte) error {
	b, err := xgboost.Load(art)
	if err != nil {
		return fmt.Errorf("xgboost refuses it: %w", err)
	}
	defer b.Close()
	n, err := b.NumFeatures()
	if err != nil {
		return fmt.Errorf("feature count: %w", err)
	}
	if n != market.NumFeatures {
		return fmt.Errorf("model has %d features, rows have %d", n, market.NumFeatures)
	}
	return nil
}
