package webapi

import (
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

func BenchmarkZZNewVM(b *testing.B) {
	rt, err := NewRuntime()
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i++ {
		vm, entry, err := rt.NewVM(engine.Config{}, &Host{})
		if err != nil {
			b.Fatal(err)
		}
		entry.Free()
		vm.Close()
	}
}

func BenchmarkZZHot(b *testing.B) {
	rt, _ := NewRuntime()
	vm, entry, _ := rt.NewVM(engine.Config{}, &Host{})
	defer vm.Close()
	defer entry.Free()
	for _, c := range []struct{ name, src string }{
		{"encode", `new TextEncoder().encode("hello world")`},
		{"decode", `globalThis.__b ??= new TextEncoder().encode("hello world"); new TextDecoder().decode(__b)`},
		{"event", `globalThis.__t ??= (() => { const t = new EventTarget(); t.addEventListener("x", () => {}); return t })(); __t.dispatchEvent(new Event("x"))`},
		{"abortcontroller", `new AbortController().signal`},
		{"stream-read", `(async () => { const r = new ReadableStream({ start(c) { for (let i = 0; i < 10; i++) c.enqueue(i); c.close() } }).getReader(); while (!(await r.read()).done); })()`},
		{"blob", `new Blob(["hello"]).size`},
	} {
		fn, err := vm.Eval("b.js", "(function () { return "+c.src+" })")
		if err != nil {
			b.Fatal(err)
		}
		b.Run(c.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				v, err := fn.Call(engine.Value{})
				if err != nil {
					b.Fatal(err)
				}
				v.Free()
				vm.RunJobs()
			}
		})
		fn.Free()
	}
}
