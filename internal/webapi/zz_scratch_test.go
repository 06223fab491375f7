package webapi

import (
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

func BenchmarkZZ(b *testing.B) {
	setup := `
	const sym = Symbol("x"), sym2 = Symbol("y");
	class C2 { constructor(a, b) { this.a = a; this.b = b } }
	class C9 { constructor(a) { this.a = a; this.b = null; this.c = null; this.d = -1; this.e = null; this.f = false; this.g = false; this.h = false; this.i = null } }
	class C9d { constructor(a) { this.a = a; } }
	C9d.prototype.b = null; C9d.prototype.c = null; C9d.prototype.d = -1; C9d.prototype.e = null; C9d.prototype.f = false; C9d.prototype.g = false; C9d.prototype.h = false; C9d.prototype.i = null;
	function lit9(a) { return { a, b: null, c: null, d: -1, e: null, f: false, g: false, h: false, i: null } }
	function lit2(a) { return { a, b: null } }
	class S2 { constructor(a) { this[sym] = a; this[sym2] = null } }
	class P2 { #a; #b; constructor(a) { this.#a = a; this.#b = null } }
	class Pub { constructor(a) { this._a = a; this._b = null } }
	const proto = { x: 1 };
	function ocreate(a) { const o = Object.create(proto); o[sym] = a; o[sym2] = null; return o }
	function fa() { return arguments.length }
	function fr(...a) { return a.length }
	function fp(a, b) { return a }
	function fd(a, b = undefined) { return a }
	const s = "content-type";
	const tw = String.prototype.toWellFormed;
	const re = /^[!#$%&'*+\-.^_\x60|~0-9A-Za-z]+$/;
	function reLit(x) { return /[^\x00-\xff]/.test(x) }
	const reH = /[^\x00-\xff]/;
	function reHoist(x) { return reH.test(x) }
	const m = new Map([["content-type", "content-type"]]);
	const obj = { "x-a": "y" };
	const pie = Object.prototype.propertyIsEnumerable;
	const FPCall = Function.prototype.call;
	const pieB = FPCall.bind(pie);
	const arr = ["a", "b"];
	const arr3 = [["content-type", "text/plain"]];
	const joined = "http://127.0.0.1:8787/?name=kumo\0http:\0\0\0127.0.0.1:8787\0127.0.0.1\08787\0/\0?name=kumo\0";
	class WithGet { constructor() { this._x = 1 } get x() { return this._x } }
	const wg = new WithGet();
	`
	for _, bc := range []struct{ name, expr string }{
		{"loop", `undefined`},
		{"new C2", `new C2(1, 2)`},
		{"new C9", `new C9(1)`},
		{"new C9 proto defaults", `new C9d(1)`},
		{"lit9", `lit9(1)`},
		{"lit2", `lit2(1)`},
		{"new S2 sym", `new S2(1)`},
		{"new P2 private", `new P2(1)`},
		{"new Pub", `new Pub(1)`},
		{"Object.create+2sym", `ocreate(1)`},
		{"arguments.length", `fa(1, 2)`},
		{"rest", `fr(1, 2)`},
		{"plain", `fp(1, 2)`},
		{"default param", `fd(1)`},
		{"isWellFormed", `s.isWellFormed()`},
		{"tw.call", `tw.call(s)`},
		{"re.test", `re.test(s)`},
		{"reLit", `reLit(s)`},
		{"reHoist", `reHoist(s)`},
		{"map.get", `m.get(s)`},
		{"toLowerCase", `s.toLowerCase()`},
		{"ownKeys", `Reflect.ownKeys(obj)`},
		{"gOPD", `Reflect.getOwnPropertyDescriptor(obj, "x-a")`},
		{"pie.call", `pie.call(obj, "x-a")`},
		{"pieBound", `pieB(obj, "x-a")`},
		{"Object.keys", `Object.keys(obj)`},
		{"Object.entries", `Object.entries(obj)`},
		{"forin", `(() => { for (const k in obj) {} })()`},
		{"destructure", `(() => { const [a, b] = arr; return a })()`},
		{"index", `(() => { const a = arr[0], b = arr[1]; return a })()`},
		{"array lit", `[1, 2]`},
		{"obj lit empty", `({})`},
		{"split10", `joined.split("\0")`},
		{"instanceof", `wg instanceof WithGet`},
		{"getter", `wg.x`},
		{"sym in", `sym in wg`},
		{"typeof str", `typeof s === "string"`},
		{"concat3", `s + ":" + s + "\n"`},
		{"template", "`${s}:${s}\\n`"},
		{"charCodeAt", `s.charCodeAt(0)`},
		{"indexOf", `s.indexOf("-")`},
		{"slice", `s.slice(1)`},
		{"JSON.stringify", `JSON.stringify({ hello: "world" })`},
		{"Promise.resolve", `Promise.resolve(1)`},
		{"async fn", `(async () => 1)()`},
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
			r, err := loop.Call(engine.Value{}, b.N)
			if err != nil {
				b.Fatal(err)
			}
			r.Free()
		})
	}
}
