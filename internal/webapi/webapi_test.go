package webapi

import (
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

// newTestVM returns a VM with the Web APIs loaded and a host whose console
// lines are collected in *logs.
func newTestVM(t testing.TB) (*engine.VM, *[]string) {
	t.Helper()
	rt, err := NewRuntime()
	if err != nil {
		t.Fatal(err)
	}
	logs := new([]string)
	h := &Host{Log: func(level, msg string) { *logs = append(*logs, level+": "+msg) }}
	vm, entry, err := rt.NewVM(engine.Config{MemoryLimit: 64 << 20}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { entry.Free(); vm.Close() })
	return vm, logs
}

// evalAsync evaluates src, whose completion value may be a promise, runs the
// event loop until it settles and returns its string value.
func evalAsync(t *testing.T, vm *engine.VM, src string) string {
	t.Helper()
	v, err := vm.Eval("test.js", src)
	if err != nil {
		t.Fatalf("eval: %v", err)
	}
	defer v.Free()
	if err := vm.RunJobs(); err != nil {
		t.Fatal(err)
	}
	if v.PromiseState() == engine.NotAPromise {
		return v.String()
	}
	for v.PromiseState() == engine.PromisePending {
		if err := vm.Wait(nil); err != nil {
			t.Fatalf("waiting for %q: %v", src, err)
		}
	}
	r := v.PromiseResult()
	defer r.Free()
	if v.PromiseState() == engine.PromiseRejected {
		t.Fatalf("rejected: %v", r.AsError())
	}
	return r.String()
}

func TestOpsHiddenAndConsole(t *testing.T) {
	vm, logs := newTestVM(t)
	if got := evalAsync(t, vm, `typeof __kumo_ops`); got != "undefined" {
		t.Fatalf("raw ops visible to user code: %s", got)
	}
	evalAsync(t, vm, `console.log("hi", 1)`)
	if len(*logs) != 1 || (*logs)[0] != "log: hi 1" {
		t.Fatalf("logs %q", *logs)
	}
}
