package engine

import "testing"

// Run: go test -run '^$' -bench . -benchmem ./internal/engine/

// BenchmarkCall is the floor of one Go→JS call with string arguments.
func BenchmarkCall(b *testing.B) {
	vm := newTestVM(b, Config{})
	fn, err := vm.Eval("f.js", `(function (a, b, c) { return a.length + b })`)
	if err != nil {
		b.Fatal(err)
	}
	defer fn.Free()
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		r, err := fn.Call(Value{}, "GET", 1, "http://example.com/")
		if err != nil {
			b.Fatal(err)
		}
		r.Free()
	}
}

// BenchmarkOp is the floor of one JS→Go op call with bytes.
func BenchmarkOp(b *testing.B) {
	vm := newTestVM(b, Config{}, Op{Name: "op_nop", Fn: func(c *Call) error {
		_, _ = c.Bytes(0)
		return nil
	}})
	fn, err := vm.Eval("f.js", `(function (n) { const b = new Uint8Array(16); for (let i = 0; i < n; i++) ops.op_nop(b) })`)
	if err != nil {
		b.Fatal(err)
	}
	defer fn.Free()
	b.ReportAllocs()
	b.ResetTimer()
	r, err := fn.Call(Value{}, b.N)
	if err != nil {
		b.Fatal(err)
	}
	r.Free()
}

// BenchmarkNewObject measures JS object churn: a class instance with a
// few fields, the shape of a Request or Response.
func BenchmarkNewObject(b *testing.B) {
	vm := newTestVM(b, Config{})
	fn, err := vm.Eval("f.js", `class R { #a; #b; constructor(a) { this.#a = a; this.#b = null } get a() { return this.#a } }
		(function (n) { let x; for (let i = 0; i < n; i++) x = new R(i); return x.a })`)
	if err != nil {
		b.Fatal(err)
	}
	defer fn.Free()
	b.ResetTimer()
	r, err := fn.Call(Value{}, b.N)
	if err != nil {
		b.Fatal(err)
	}
	r.Free()
}

// BenchmarkAsyncOp is one await of an async op whose Go work finishes at
// once on another goroutine: the floor of every KV or fetch call.
func BenchmarkAsyncOp(b *testing.B) {
	vm := newTestVM(b, Config{}, Op{Name: "op_async", Fn: func(c *Call) error {
		p, err := c.Promise()
		if err != nil {
			return err
		}
		go p.Resolve(1)
		return nil
	}})
	fn, err := vm.Eval("f.js", `(async function (n) { let s = 0; for (let i = 0; i < n; i++) s += await ops.op_async(); return s })`)
	if err != nil {
		b.Fatal(err)
	}
	defer fn.Free()
	b.ResetTimer()
	res, err := fn.Call(Value{}, b.N)
	if err != nil {
		b.Fatal(err)
	}
	defer res.Free()
	for res.PromiseState() == PromisePending {
		if err := vm.Wait(nil); err != nil {
			b.Fatal(err)
		}
	}
}
