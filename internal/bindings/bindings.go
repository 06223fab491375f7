// Package bindings builds a version's env capabilities (binding.Set) from
// its manifest, over the store: KV namespaces, buckets, queue producers,
// service bindings, vars and secrets.
package bindings

import (
	"context"
	"log/slog"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/store"
)

// Deps are what the bindings of every version are built on.
type Deps struct {
	Store  *store.Store
	Logger *slog.Logger
	// Secrets gives the values of the secrets a manifest declares; nil
	// refuses manifests that declare any.
	Secrets SecretSource
	// Services finds the apps service bindings call (the node); nil makes
	// every service call fail with a clear error.
	Services ServiceResolver
}

// Build returns the binding set of one version of appName. Each kind's
// constructor lives in the file of that kind.
func Build(ctx context.Context, d Deps, appName string, m app.Manifest) (*binding.Set, error) {
	set := &binding.Set{Vars: cloneVars(m.Vars)}
	var err error
	if set.Secrets, err = secretValues(ctx, d, appName, m.Secrets); err != nil {
		return nil, err
	}
	if set.Queues, err = queues(ctx, d, appName, m); err != nil {
		return nil, err
	}
	if set.KV, err = kvNamespaces(d, appName, m.KV); err != nil {
		return nil, err
	}
	if set.Buckets, err = buckets(d, appName, m.Buckets); err != nil {
		return nil, err
	}
	set.Services = services(d, m)
	return set, nil
}
