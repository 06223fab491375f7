package webapi

import (
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

// BenchmarkBlankVM measures a blank VM: the time to make one (the part of
// a cold start a spare VM saves) and its heap after a collection, as
// QuickJS accounts it (KiB/vm). "bare" is an engine VM with the ops and
// no Web APIs, the floor the Web API layer adds to:
//
//	go test ./internal/webapi/ -run '^$' -bench BlankVM -count 3
func BenchmarkBlankVM(b *testing.B) {
	rt, err := NewRuntime()
	if err != nil {
		b.Fatal(err)
	}
	b.Run("bare", func(b *testing.B) {
		var used int64
		for b.Loop() {
			vm, err := engine.New(engine.Config{}, opsGlobal, rt.ops)
			if err != nil {
				b.Fatal(err)
			}
			vm.RunGC()
			used, _ = vm.MemoryUsage()
			vm.Close()
		}
		b.ReportMetric(float64(used)/1024, "KiB/vm")
	})
	b.Run("webapi", func(b *testing.B) {
		var used int64
		for b.Loop() {
			vm, entry, err := rt.NewVM(engine.Config{}, &Host{})
			if err != nil {
				b.Fatal(err)
			}
			vm.RunGC()
			used, _ = vm.MemoryUsage()
			entry.Free()
			vm.Close()
		}
		b.ReportMetric(float64(used)/1024, "KiB/vm")
	})
}

// BenchmarkLazyLayerLoad measures the first use of a lazy layer (webapi.go
// layers) in a blank VM: the op call, the evaluation of its bytecode and
// of the layers it needs. KiB/vm is the heap the VM has grown by.
//
//	go test ./internal/webapi/ -run '^$' -bench LazyLayerLoad
func BenchmarkLazyLayerLoad(b *testing.B) {
	rt, err := NewRuntime()
	if err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct{ name, expr string }{
		{"console", `console`},
		{"EventTarget", `EventTarget`},
		{"AbortController", `AbortController`},
		{"TextEncoder", `TextEncoder`},
		{"ReadableStream", `ReadableStream`},
		{"WritableStream", `WritableStream`},
		{"Blob", `Blob`},
		{"FormData", `FormData`},
		{"crypto", `crypto`},
		{"structuredClone", `structuredClone`},
		{"fetch", `fetch`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			var grown int64
			for b.Loop() {
				b.StopTimer()
				vm, entry, err := rt.NewVM(engine.Config{}, &Host{})
				if err != nil {
					b.Fatal(err)
				}
				u0, _ := vm.MemoryUsage()
				b.StartTimer()
				v, err := vm.Eval("bench.js", bc.expr)
				b.StopTimer()
				if err != nil {
					b.Fatal(err)
				}
				v.Free()
				vm.RunGC()
				u1, _ := vm.MemoryUsage()
				grown = u1 - u0
				entry.Free()
				vm.Close()
				b.StartTimer()
			}
			b.ReportMetric(float64(grown)/1024, "KiB/vm")
		})
	}
}
