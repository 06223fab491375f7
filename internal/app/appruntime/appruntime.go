// Package appruntime turns the stored app model (package app) into what
// the runtime runs, so that package app stays free of runtime imports and
// the control plane (validating a deploy) and the nodes (serving it) build
// versions the same way.
package appruntime

import (
	"fmt"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/runtime"
)

// Limits converts an app's limits; zero fields stay zero, which the runtime
// reads as its defaults.
func Limits(l app.Limits) runtime.Limits {
	return runtime.Limits{
		CPU:          time.Duration(l.CPUMs) * time.Millisecond,
		Wall:         time.Duration(l.TimeoutMs) * time.Millisecond,
		Memory:       l.MemoryMB << 20,
		Subrequests:  int(l.Subrequests),
		RequestBody:  l.RequestBodyMB << 20,
		ResponseBody: l.ResponseBodyMB << 20,
		MaxInstances: int(l.Instances),
		IdleTimeout:  time.Duration(l.IdleTimeoutMs) * time.Millisecond,
	}
}

// Spec is the runtime spec of version id of appName with content c: the
// code, its parsed source map, the limits and env. env is the version's
// binding set (package bindings builds it from the manifest); nil gives an
// env of the manifest's vars alone, which is enough to check a version.
func Spec(appName, id string, c app.Content, env *binding.Set) (runtime.VersionSpec, error) {
	spec := runtime.VersionSpec{
		App:      appName,
		ID:       id,
		Code:     c.Code,
		Limits:   Limits(c.Manifest.Limits),
		Bindings: env,
	}
	if len(c.SourceMap) > 0 {
		sm, err := bundle.ParseSourceMap(c.SourceMap)
		if err != nil {
			return runtime.VersionSpec{}, fmt.Errorf("parsing source map of %s version %s: %w", appName, app.ShortID(id), err)
		}
		spec.SourceMap = sm
	}
	if env == nil && len(c.Manifest.Vars) > 0 {
		spec.Bindings = &binding.Set{Vars: c.Manifest.Vars}
	}
	return spec, nil
}
