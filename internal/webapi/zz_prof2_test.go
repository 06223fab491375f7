package webapi

import (
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/engine"
)

func TestZZProf2(t *testing.T) {
	rt, _ := NewRuntime()
	t.Logf("bytecode %d bytes", len(rt.bytecode))
	for i := 0; i < 5; i++ {
		t0 := time.Now()
		vm, _ := engine.New(engine.Config{}, opsGlobal, rt.ops)
		t1 := time.Now()
		vm.Host = &Host{}
		v, err := vm.EvalBytecode(rt.bytecode)
		if err != nil {
			t.Fatal(err)
		}
		t2 := time.Now()
		vm.RunJobs()
		t3 := time.Now()
		v.Free()
		vm.Close()
		t4 := time.Now()
		t.Logf("new %v eval %v jobs %v close %v", t1.Sub(t0), t2.Sub(t1), t3.Sub(t2), t4.Sub(t3))
	}
}
