package engine

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func newTestVM(t testing.TB, cfg Config, ops ...Op) *VM {
	t.Helper()
	vm, err := New(cfg, "ops", ops)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(vm.Close)
	return vm
}

func evalString(t *testing.T, vm *VM, src string) string {
	t.Helper()
	v, err := vm.Eval("test.js", src)
	if err != nil {
		t.Fatalf("eval %q: %v", src, err)
	}
	defer v.Free()
	return v.String()
}

func TestEvalAndOps(t *testing.T) {
	echo := Op{Name: "op_echo", Fn: func(c *Call) error {
		b, ok := c.Bytes(1)
		if !ok {
			return TypeError("op_echo: argument 2 is not bytes")
		}
		return c.Return([]any{c.String(0) + "!", c.Float(2) * 2, b, JSON(`{"a":[1,2]}`)})
	}}
	fail := Op{Name: "op_fail", Fn: func(c *Call) error { return RangeError("too far: %d", c.Int(0)) }}
	vm := newTestVM(t, Config{}, echo, fail)
	got := evalString(t, vm, `
		const [s, n, b, j] = ops.op_echo("hé", new Uint8Array([1,2,255]).subarray(1), 21);
		[s, n, b.constructor.name, Array.from(b).join(","), j.a[1]].join("|")`)
	if want := "hé!|42|Uint8Array|2,255|2"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
	got = evalString(t, vm, `try { ops.op_fail(7) } catch (e) { (e instanceof RangeError) + ":" + e.message }`)
	if got != "true:too far: 7" {
		t.Fatalf("got %q", got)
	}
	got = evalString(t, vm, `try { ops.op_echo("x", 1) } catch (e) { e.name + ":" + e.message }`)
	if got != "TypeError:op_echo: argument 2 is not bytes" {
		t.Fatalf("got %q", got)
	}
}

func TestBytecodeRoundTrip(t *testing.T) {
	a := newTestVM(t, Config{})
	code, err := a.Compile("lib.js", `var answer = 6 * 7; function f() { return answer }`)
	if err != nil {
		t.Fatal(err)
	}
	b := newTestVM(t, Config{})
	v, err := b.EvalBytecode(code)
	if err != nil {
		t.Fatal(err)
	}
	v.Free()
	if got := evalString(t, b, `f()`); got != "42" {
		t.Fatalf("got %s", got)
	}
	if _, err := a.Compile("bad.js", "let x = ;"); err == nil || !strings.Contains(err.Error(), "SyntaxError") {
		t.Fatalf("want SyntaxError, got %v", err)
	}
}

func TestAsyncOpsSettleThroughWait(t *testing.T) {
	sleep := Op{Name: "op_sleep", Fn: func(c *Call) error {
		p, err := c.Promise()
		if err != nil {
			return err
		}
		ms := c.Int(0)
		fail := c.Bool(1)
		go func() {
			time.Sleep(time.Duration(ms) * time.Millisecond)
			if fail {
				p.Reject(DOMException("AbortError", "stopped"))
				return
			}
			p.Resolve(ms)
		}()
		return nil
	}}
	vm := newTestVM(t, Config{}, sleep)
	if _, err := vm.Eval("d.js", `globalThis.DOMException = class extends Error { constructor(m, n) { super(m); this.name = n } }`); err != nil {
		t.Fatal(err)
	}
	res, err := vm.Eval("t.js", `globalThis.out = [];
		(async () => {
			out.push(await ops.op_sleep(5, false));
			try { await ops.op_sleep(1, true) } catch (e) { out.push(e.name) }
			return out.join(",");
		})()`)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Free()
	for res.PromiseState() == PromisePending {
		if err := vm.Wait(nil); err != nil {
			t.Fatal(err)
		}
	}
	r := res.PromiseResult()
	defer r.Free()
	if r.String() != "5,AbortError" {
		t.Fatalf("got %q", r.String())
	}
	if vm.Outstanding() != 0 {
		t.Fatalf("outstanding %d", vm.Outstanding())
	}
	if err := vm.Wait(nil); !errors.Is(err, ErrIdle) {
		t.Fatalf("want ErrIdle, got %v", err)
	}
}

func limitKind(err error) LimitKind {
	var le *LimitError
	if errors.As(err, &le) {
		return le.Kind
	}
	return LimitNone
}

func TestHostileScriptsAreStopped(t *testing.T) {
	cases := []struct {
		name, src string
		want      LimitKind
	}{
		{"endless loop", `for (;;) {}`, LimitCPU},
		{"loop in try", `for (;;) { try { for(;;){} } catch (e) {} }`, LimitCPU},
		{"runaway regex", `/(a+)+$/.test("a".repeat(40) + "!")`, LimitCPU},
		{"memory bomb", `const a = []; for (;;) a.push("x".repeat(1000) + a.length)`, LimitMemory},
		{"array bomb", `const a = []; for (;;) a.push(new Array(1e5).fill(a.length))`, LimitMemory},
		{"deep recursion", `function f(n) { return f(n + 1) + 1 } f(0)`, LimitStack},
		{"promise flood", `function f() { Promise.resolve().then(f) } f()`, LimitCPU},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			vm := newTestVM(t, Config{MemoryLimit: 16 << 20})
			budget := 50 * time.Millisecond
			if tc.want == LimitMemory {
				budget = 10 * time.Second // the heap must fill before the budget ends
			}
			vm.SetCPUBudget(budget)
			v, err := vm.Eval("hostile.js", tc.src)
			if err == nil {
				v.Free()
				err = vm.RunJobs()
			}
			if got := limitKind(err); got != tc.want {
				t.Fatalf("got %v (%v), want %v", got, err, tc.want)
			}
		})
	}
}

func TestInterruptFromAnotherGoroutine(t *testing.T) {
	vm := newTestVM(t, Config{})
	go func() {
		time.Sleep(20 * time.Millisecond)
		vm.Interrupt(LimitWall)
	}()
	_, err := vm.Eval("loop.js", `while (true) {}`)
	if limitKind(err) != LimitWall {
		t.Fatalf("got %v", err)
	}
}

func TestCPUBudgetCountsOnlyScriptTime(t *testing.T) {
	vm := newTestVM(t, Config{})
	vm.SetCPUBudget(time.Second)
	v, err := vm.Eval("quick.js", `1+1`)
	if err != nil {
		t.Fatal(err)
	}
	v.Free()
	if used := vm.CPUUsed(); used <= 0 || used > time.Second {
		t.Fatalf("cpu used %v", used)
	}
}

func TestOpPanicBecomesJSError(t *testing.T) {
	vm := newTestVM(t, Config{}, Op{Name: "op_boom", Fn: func(c *Call) error { panic("kaboom") }})
	got := evalString(t, vm, `try { ops.op_boom() } catch (e) { e.message }`)
	if !strings.Contains(got, "kaboom") {
		t.Fatalf("got %q", got)
	}
	if got := evalString(t, vm, `"still " + "alive"`); got != "still alive" {
		t.Fatal(got)
	}
}

func TestLoneSurrogatesBecomeReplacementCharacters(t *testing.T) {
	vm := newTestVM(t, Config{})
	got := evalString(t, vm, `"a\uD800b\uDC00\uD83D\uDE00"`)
	if want := "a\uFFFDb\uFFFD😀"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}
