package runtime

import (
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

// Run: go test -run '^$' -bench . -benchmem ./internal/runtime/
// Profile: add -cpuprofile /tmp/cpu.out and read it with go tool pprof.

func BenchmarkServeHello(b *testing.B) {
	rt := newTestRuntime(b, 2)
	pool := deploy(b, rt, Limits{}, `export default { fetch() { return new Response("Hello, world!\n") } }`)
	req := httptest.NewRequest("GET", "http://bench.local/", nil)
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		pool.ServeHTTP(w, req)
		if w.Code != http.StatusOK {
			b.Fatalf("status %d: %s", w.Code, w.Body)
		}
	}
}

// BenchmarkColdStart measures a new instance from cached bytecode to its
// first response: a spare VM (Web APIs loaded) takes the app's bytecode.
func BenchmarkColdStart(b *testing.B) {
	for _, spares := range []int{0, 4} {
		b.Run(map[int]string{0: "spares=0", 4: "spares=4"}[spares], func(b *testing.B) {
			rt := newTestRuntime(b, spares)
			v := compile(b, rt, Limits{}, `export default { fetch() { return new Response("cold") } }`)
			req := httptest.NewRequest("GET", "http://bench.local/", nil)
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				pool := rt.NewPool(v)
				w := httptest.NewRecorder()
				pool.ServeHTTP(w, req)
				b.StopTimer()
				if w.Code != 200 {
					b.Fatal(w.Code)
				}
				pool.Close()
				waitSpares(rt, spares)
				b.StartTimer()
			}
		})
	}
}

// BenchmarkWarmInstanceMemory reports the heap of one warm instance after
// a request, as QuickJS accounts it.
func BenchmarkWarmInstanceMemory(b *testing.B) {
	rt := newTestRuntime(b, 0)
	pool := deploy(b, rt, Limits{}, `let n = 0; export default { fetch(req) { n++; return new Response("hi " + n + " " + new URL(req.url).pathname) } }`)
	for i := 0; i < b.N; i++ {
		w := httptest.NewRecorder()
		pool.ServeHTTP(w, httptest.NewRequest("GET", "http://bench.local/x", nil))
		io.Copy(io.Discard, w.Body)
	}
	inst, _, err := pool.acquire(b.Context(), nil)
	if err != nil {
		b.Fatal(err)
	}
	inst.vm.RunGC()
	used, _ := inst.vm.MemoryUsage()
	pool.release(inst, false)
	b.ReportMetric(float64(used)/1024, "KiB/instance")
}

// BenchmarkCompile measures turning a small bundle into bytecode, which a
// never-loaded version pays once per node.
func BenchmarkCompile(b *testing.B) {
	rt := newTestRuntime(b, 0)
	v := compile(b, rt, Limits{}, `export default { fetch(r) { const u = new URL(r.url); return Response.json({ hello: u.searchParams.get("name") ?? "world" }) } }`)
	_ = v
	dir := b.TempDir()
	spec := VersionSpec{App: "t", ID: "x", Code: `var __kumo_main = (() => ({ default: { fetch() { return new Response("x") } } }))();`}
	_ = dir
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := rt.Compile(spec); err != nil {
			b.Fatal(err)
		}
	}
}
