package webapi

import (
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

func BenchmarkZZURL(b *testing.B) {
	setup := `const u0 = new URL("http://127.0.0.1:8787/?name=kumo"); const sp = u0.searchParams; const sp2 = new URLSearchParams("name=kumo");
	const rec = "\x14\x34\x14\x19" + "\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14\x14" + "\x14\x14\x14\x14" + "http://127.0.0.1:8787/?name=kumo";
	function comp(rec, i) { if (typeof rec !== "string") return rec[i]; return rec.slice(rec.charCodeAt(i + i), rec.charCodeAt(i + i + 1)); }
	const sym = Symbol("u"); const o = { [sym]: rec }; const wr = new WeakRef(o); const sym2 = Symbol("v");
	function brand(v, b, n) { if (v === null || typeof v !== "object" || !(b in v)) throw new TypeError("x") }
	`
	for _, bc := range []struct{ name, expr string }{
		{"loop", `undefined`},
		{"weakref", `new WeakRef(o)`},
		{"weakref deref", `wr.deref()`},
		{"objcreate", `Object.create(URL.prototype)`},
		{"objlit", `({})`},
		{"objcreate+2sym", `(() => { const x = Object.create(URL.prototype); x[sym] = 1; x[sym2] = 2; return x })()`},
		{"objlit proto+2sym", `({ __proto__: URL.prototype, [sym]: 1, [sym2]: 2 })`},
		{"newURL hit", `new URL("http://127.0.0.1:8787/?name=kumo")`},
		{"newURL hit .search", `new URL("http://127.0.0.1:8787/?name=kumo").search`},
		{"newURL hit .searchParams", `new URL("http://127.0.0.1:8787/?name=kumo").searchParams`},
		{"u0.search", `u0.search`},
		{"u0.href", `u0.href`},
		{"u0.toString()", `u0.toString()`},
		{"comp", `comp(rec, 1)`},
		{"charCodeAt", `rec.charCodeAt(3)`},
		{"slice", `rec.slice(20, 25)`},
		{"brand", `brand(o, sym, "U")`},
		{"o[sym]", `o[sym]`},
		{"sp.get", `sp.get("name")`},
		{"sp2.get", `sp2.get("name")`},
		{"new USP", `new URLSearchParams("name=kumo")`},
		{"new USP empty", `new URLSearchParams("")`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			vm, _ := newTestVM(b)
			loop, err := vm.Eval("bench.js", `(function () { `+setup+
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
			b.ReportMetric(float64((processCPU()-cpu0).Nanoseconds())/float64(b.N), "cpu-ns/call")
			r.Free()
		})
	}
}
