package bundle

import (
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

// TestVirtualModules: "cloudflare:workers" and "kumo" resolve to the
// runtime's global WorkerEntrypoint, read when the bundle runs, from JS and
// TypeScript alike; they are not files to watch.
func TestVirtualModules(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.ts": `import { WorkerEntrypoint } from "cloudflare:workers";
import { WorkerEntrypoint as Same } from "kumo";
import { Billing } from "./billing.js";
export default class extends WorkerEntrypoint {
  fetch(): Response { return new Response("x"); }
}
export { Billing };
export const same: boolean = Same === WorkerEntrypoint;
`,
		"billing.js": `import * as workers from "cloudflare:workers";
export class Billing extends workers.WorkerEntrypoint { charge(n) { return n * 2; } }
`,
	})
	res := mustBuild(t, Options{Dir: dir})
	for _, in := range res.Inputs {
		if strings.Contains(in, "cloudflare") || strings.HasSuffix(in, "kumo") {
			t.Errorf("virtual module listed as an input file: %s", in)
		}
	}
	vm, err := engine.New(engine.Config{}, "__unused", nil)
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	src := `globalThis.WorkerEntrypoint = class WorkerEntrypoint { constructor(ctx, env) { this.env = env; } };
` + res.Code + `
const m = globalThis.__kumo_main;
[m.same, m.default.prototype instanceof WorkerEntrypoint, new m.Billing({}, {}).charge(21)].join(",")`
	v, err := vm.Eval("bundle.js", src)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Free()
	if got := v.String(); got != "true,true,42" {
		t.Errorf("got %q, want true,true,42", got)
	}
}

// TestVirtualModulesOnlyExactNames: other "cloudflare:" modules are not
// provided, and fail as any unresolved import does.
func TestVirtualModulesOnlyExactNames(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.js": `import { connect } from "cloudflare:sockets";
export default { connect };
`,
	})
	be := buildError(t, Options{Dir: dir})
	if !strings.Contains(be.Error(), `Could not resolve "cloudflare:sockets"`) {
		t.Errorf("error = %q", be.Error())
	}
}
