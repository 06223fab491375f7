package webapi

import (
	"sort"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/engine"
)

func TestZZGC(t *testing.T) {
	rt, _ := NewRuntime()
	for _, gc := range []bool{false, true} {
		var ds []time.Duration
		for i := 0; i < 30; i++ {
			vm, entry, _ := rt.NewVM(engine.Config{}, &Host{})
			if gc {
				vm.RunGC()
			}
			t0 := time.Now()
			for j := 0; j < 20; j++ {
				v, _ := vm.Eval("x.js", `new Response("hello " + Math.random()).headers; new AbortController(); [1,2,3].map(String)`)
				v.Free()
			}
			ds = append(ds, time.Since(t0))
			entry.Free()
			vm.Close()
		}
		sort.Slice(ds, func(i, j int) bool { return ds[i] < ds[j] })
		t.Logf("gc=%v p50=%v p90=%v max=%v", gc, ds[15], ds[27], ds[29])
	}
}
