package webapi

import (
	"encoding/json"
	"sort"
	"fmt"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

func TestZZProf(t *testing.T) {
	var b strings.Builder
	b.WriteString("(function (ops) {\n\"use strict\";\nconst k = Object.create(null);\nconst __t = [];\n")
	for _, name := range layers {
		src, _ := jsFiles.ReadFile("js/" + name)
		fmt.Fprintf(&b, "__t.push([%q, ops.op_timer_now()]);\nObject.assign(k, (function (ops, k) {\n%s\n})(ops, k));\n", name, src)
	}
	b.WriteString("__t.push(['end', ops.op_timer_now()]); globalThis.__t = __t; return k.entry;\n})(globalThis." + opsGlobal + ")\n")
	vm0, _ := engine.New(engine.Config{}, opsGlobal, nil)
	code, err := vm0.Compile(BootstrapFile, b.String())
	if err != nil {
		t.Fatal(err)
	}
	var all []string
	defer func() {
		med := map[string][]float64{}
		var names []string
		for _, a := range all {
			var rows [][]any
			json.Unmarshal([]byte(a), &rows)
			for _, r := range rows {
				n := r[0].(string)
				if _, ok := med[n]; !ok {
					names = append(names, n)
				}
				med[n] = append(med[n], r[1].(float64))
			}
		}
		total := 0.0
		for _, n := range names {
			v := med[n]
			sort.Float64s(v)
			total += v[len(v)/2]
			t.Logf("%-24s %.3f ms", n, v[len(v)/2])
		}
		t.Logf("total %.3f", total)
	}()
	for i := 0; i < 30; i++ {
		vm, _ := engine.New(engine.Config{}, opsGlobal, Ops())
		vm.Host = &Host{}
		v, err := vm.EvalBytecode(code)
		if err != nil {
			t.Fatal(err)
		}
		v.Free()
		r, _ := vm.Eval("x.js", `JSON.stringify(__t.slice(1).map(([n, t], i) => [__t[i][0], t - __t[i][1]]))`)
		all = append(all, r.String())
		r.Free()
	}
}
