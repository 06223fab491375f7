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
}

// Build returns the binding set of one version of appName. Each kind's
// constructor lives in the file of that kind.
func Build(ctx context.Context, d Deps, appName string, m app.Manifest) (*binding.Set, error) {
	set := &binding.Set{Vars: m.Vars}
	return set, nil
}
