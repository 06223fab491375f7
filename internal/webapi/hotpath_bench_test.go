package webapi

import (
	"syscall"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/engine"
)

// BenchmarkHotPath times the Web API calls a request handler makes on
// every request, one JavaScript expression per case. The loop runs in
// JavaScript (one Go→JS call per b.N), so ns/call is the cost of the
// expression plus one loop iteration; the "loop" case is that iteration
// alone, and the "ref" cases are engine primitives to compare against.
// Cases whose input includes `+ i` make a new string each time (about
// 0.2µs) so that per-VM caches miss.
//
// The machine is shared and noisy: compare before/after in one session,
// several counts each. cpu-ns/call is the process's CPU time per call
// (user+system, GC included), which other load on the machine disturbs
// less than wall time:
//
//	go test ./internal/webapi/ -run '^$' -bench HotPath -count 5
//	go test ./internal/webapi/ -run '^$' -bench 'HotPath/response' -count 5
//
// The dispatch benchmarks (dispatch_bench_test.go) time whole invocations.
func BenchmarkHotPath(b *testing.B) {
	for _, bc := range []struct{ name, setup, expr string }{
		{"loop", ``, `undefined`},
		{"ref/call", `const f = () => {};`, `f()`},
		{"ref/JSON.stringify", ``, `JSON.stringify({ hello: "world" })`},

		{"response/new", ``, `new Response("Hello")`},
		{"response/status", ``, `new Response("Hello", { status: 201 })`},
		{"response/header", ``, `new Response("Hello", { headers: { "x-a": "y" } })`},
		{"response/headers3", ``, `new Response("Hello", { status: 201, headers: { "content-type": "text/html", "cache-control": "no-store", "x-a": "y" } })`},
		{"response/json", ``, `Response.json({ hello: "world" })`},
		{"response/headers.get", `const r = new Response("Hello");`, `r.headers.get("content-type")`},

		{"headers/new+set", ``, `new Headers().set("x-a", "y")`},
		{"headers/get", `const h = new Headers({ "content-type": "text/plain", "x-a": "y" });`, `h.get("x-a")`},

		{"request/new", ``, `new Request("http://a.b/")`},
		{"request/new+init", ``, `new Request("http://a.b/", { method: "POST", headers: { "x-a": "y" }, body: "hi" })`},

		{"url/miss", ``, `new URL("http://127.0.0.1:8787/?name=kumo" + i)`},
		{"url/miss+searchParams.get", ``, `new URL("http://127.0.0.1:8787/?name=kumo" + i).searchParams.get("name")`},
		{"url/miss-https-path", ``, `new URL("https://api.example.com/v1/users/" + i + "?fields=name&sort=asc")`},
		{"url/hit", ``, `new URL("http://127.0.0.1:8787/?name=kumo")`},
		{"url/hit+searchParams.get", ``, `new URL("http://127.0.0.1:8787/?name=kumo").searchParams.get("name")`},
		{"url/relative-miss", ``, `new URL("/p/" + i, "http://127.0.0.1:8787/")`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			vm, _ := newTestVM(b)
			loop, err := vm.Eval("bench.js", `(function () { `+bc.setup+
				` return function (n) { let r_; for (let i = 0; i < n; i++) r_ = `+bc.expr+`; return r_ } })()`)
			if err != nil {
				b.Fatal(err)
			}
			defer loop.Free()
			b.ResetTimer()
			cpu0 := processCPU()
			r, err := loop.Call(engine.Value{}, b.N)
			if err != nil {
				b.Fatal(err)
			}
			cpu := processCPU() - cpu0
			r.Free()
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N), "ns/call")
			b.ReportMetric(float64(cpu.Nanoseconds())/float64(b.N), "cpu-ns/call")
		})
	}
}

// processCPU returns the CPU time the process has used.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
