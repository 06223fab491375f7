package webapi

import (
	"strconv"
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

// The dispatch benchmarks time one whole invocation as the runtime makes
// it: entry.fetch from Go, the handler, the response sent through
// op_respond to a test sink (which parses the header lines as a server's
// sink must), and the promise settled as the runtime's invocation loop
// does. cpu-ns/op is the process's CPU time per invocation, steadier than
// ns/op on a shared machine (see hotpath_bench_test.go):
//
//	go test ./internal/webapi/ -run '^$' -bench Dispatch -count 5

// benchDispatch runs entry.fetch b.N times; url returns the URL of
// invocation i.
func benchDispatch(b *testing.B, bundle string, url func(i int) string, wantBody string) {
	d := newDispatchVM(b, bundle)
	fn := d.entry.Get("fetch")
	defer fn.Free()
	b.ReportAllocs()
	i := 0
	cpu0 := processCPU()
	for b.Loop() {
		d.host.ResetInvocation()
		sink := &fakeSink{}
		d.host.Sink = sink
		p, err := fn.Call(d.entry, "GET", url(i), "host:127.0.0.1:8787\naccept:*/*\n", -1, "r")
		if err != nil {
			b.Fatal(err)
		}
		if err := settle(d.vm, p); err != nil {
			b.Fatal(err)
		}
		if i == 0 && wantBody != "" && sink.body.String() != wantBody {
			b.Fatalf("body %q, want %q", sink.body.String(), wantBody)
		}
		i++
	}
	b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(i), "cpu-ns/op")
}

// settle runs the event loop until p settles and frees it, as the
// runtime's invocation loop does (it reads no result of a fetch).
func settle(vm *engine.VM, p engine.Value) error {
	defer p.Free()
	for {
		if err := vm.RunJobs(); err != nil {
			return err
		}
		switch p.PromiseState() {
		case engine.PromiseFulfilled, engine.NotAPromise:
			return nil
		case engine.PromiseRejected:
			r := p.PromiseResult()
			defer r.Free()
			return r.AsError()
		}
		if err := vm.Wait(nil); err != nil {
			return err
		}
	}
}

// BenchmarkDispatchHelloWorld: a handler returning new Response("hi").
func BenchmarkDispatchHelloWorld(b *testing.B) {
	benchDispatch(b, `globalThis.__kumo_main = { default: { fetch() { return new Response("hi") } } };`,
		func(int) string { return "http://example.com/" }, "hi")
}

// BenchmarkDispatchHelloWorldAsync: the same handler declared async, so
// entry.fetch waits for its promise.
func BenchmarkDispatchHelloWorldAsync(b *testing.B) {
	benchDispatch(b, `globalThis.__kumo_main = { default: { async fetch() { return new Response("hi") } } };`,
		func(int) string { return "http://example.com/" }, "hi")
}

// BenchmarkDispatchExampleHello: examples/hello's handler, as esbuild
// bundles it. url=same repeats one URL (a load generator's traffic, the
// URL parse cache hits); url=new varies the query each time.
func BenchmarkDispatchExampleHello(b *testing.B) {
	const bundle = `globalThis.__kumo_main = { default: {
  async fetch(request, env, ctx) {
    const url = new URL(request.url);
    return Response.json({ hello: url.searchParams.get("name") ?? "world" });
  },
} };`
	b.Run("url=same", func(b *testing.B) {
		benchDispatch(b, bundle, func(int) string { return "http://127.0.0.1:8787/?name=kumo" }, `{"hello":"kumo"}`)
	})
	b.Run("url=new", func(b *testing.B) {
		benchDispatch(b, bundle, func(i int) string { return "http://127.0.0.1:8787/?name=kumo" + strconv.Itoa(i) }, `{"hello":"kumo0"}`)
	})
}
