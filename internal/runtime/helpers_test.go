package runtime

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/bundle"
)

func newTestRuntime(tb testing.TB, spares int) *Runtime {
	tb.Helper()
	rt, err := New(Config{Spares: spares, ExposeErrors: true, JanitorInterval: 20 * time.Millisecond})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(rt.Close)
	return rt
}

// compile bundles src as the index.js of a temporary app folder.
func compile(tb testing.TB, rt *Runtime, limits Limits, src string) *Version {
	tb.Helper()
	return compileSpec(tb, rt, tb.TempDir(), src, VersionSpec{Limits: limits})
}

// compileWith is compile with bindings.
func compileWith(tb testing.TB, rt *Runtime, dir, src string, set *binding.Set) *Version {
	tb.Helper()
	return compileSpec(tb, rt, dir, src, VersionSpec{Bindings: set})
}

func compileSpec(tb testing.TB, rt *Runtime, dir, src string, spec VersionSpec) *Version {
	tb.Helper()
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(src), 0o644); err != nil {
		tb.Fatal(err)
	}
	res, err := bundle.Build(bundle.Options{Dir: dir})
	if err != nil {
		tb.Fatal(err)
	}
	spec.App, spec.ID, spec.Code, spec.SourceMap = "t", res.Hash[:12], res.Code, res.SourceMap
	v, err := rt.Compile(spec)
	if err != nil {
		tb.Fatal(err)
	}
	return v
}

func deploy(tb testing.TB, rt *Runtime, limits Limits, src string) *Pool {
	tb.Helper()
	p := rt.NewPool(compile(tb, rt, limits, src))
	tb.Cleanup(p.Close)
	return p
}

func waitSpares(rt *Runtime, n int) {
	for len(rt.spares) < n {
		time.Sleep(time.Millisecond)
	}
}
