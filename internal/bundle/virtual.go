package bundle

import (
	"regexp"
	"slices"
	"strings"

	"github.com/evanw/esbuild/pkg/api"
)

// virtualNamespace is the esbuild namespace of the modules the runtime
// provides; source maps show them as "kumo:<name>".
const virtualNamespace = "kumo"

// workersModule exports the runtime's global classes, read when the bundle
// runs, so `import { WorkerEntrypoint } from "cloudflare:workers"` gets the
// class the runtime dispatches RPC to (webapi's 33_service.js).
const workersModule = `export const WorkerEntrypoint = globalThis.WorkerEntrypoint;
`

// virtualModules are the module names that resolve to source held here
// rather than to a file: code written for Workers imports
// "cloudflare:workers"; "kumo" is the same module under Kumo's name.
var virtualModules = map[string]string{
	"cloudflare:workers": workersModule,
	"kumo":               workersModule,
}

// virtualModulesPlugin resolves the names in virtualModules, and nothing
// else, to their source.
func virtualModulesPlugin() api.Plugin {
	names := make([]string, 0, len(virtualModules))
	for name := range virtualModules {
		names = append(names, regexp.QuoteMeta(name))
	}
	slices.Sort(names)
	filter := "^(" + strings.Join(names, "|") + ")$"
	return api.Plugin{
		Name: "kumo-virtual-modules",
		Setup: func(b api.PluginBuild) {
			b.OnResolve(api.OnResolveOptions{Filter: filter}, func(args api.OnResolveArgs) (api.OnResolveResult, error) {
				return api.OnResolveResult{Path: args.Path, Namespace: virtualNamespace}, nil
			})
			b.OnLoad(api.OnLoadOptions{Filter: ".*", Namespace: virtualNamespace}, func(args api.OnLoadArgs) (api.OnLoadResult, error) {
				src := virtualModules[args.Path]
				return api.OnLoadResult{Contents: &src, Loader: api.LoaderJS}, nil
			})
		},
	}
}
