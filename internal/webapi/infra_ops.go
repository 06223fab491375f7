package webapi

import (
	"errors"
	"fmt"

	"github.com/kumo-dev/kumo/internal/engine"
)

func infraOps() []engine.Op {
	return []engine.Op{
		{Name: "op_log", Fn: opLog},
		{Name: "op_layer_load", Fn: opLayerLoad},
	}
}

// opLog(level, message) writes one console line.
func opLog(c *engine.Call) error {
	h := host(c)
	if h.Log != nil {
		h.Log(c.String(0), c.String(1))
	}
	return nil
}

// opLayerLoad(file) evaluates the bytecode of lazy layer file (compiled
// once per process by NewRuntime) in the VM and returns the layer's
// function, which 00_infra.js calls with (ops, k). Evaluating it only
// makes the function: the layer's code runs in that call, so its errors
// are JavaScript's own.
func opLayerLoad(c *engine.Call) error {
	file := c.String(0)
	code := host(c).layers[file]
	if code == nil {
		return fmt.Errorf("op_layer_load: no lazy layer %q", file)
	}
	vm := c.VM()
	fn, err := vm.EvalBytecode(code)
	if err != nil {
		// A limit hit here reaches the caller as an ordinary error, which
		// script could catch: stop the VM as the limit would have.
		var le *engine.LimitError
		if errors.As(err, &le) {
			vm.Interrupt(le.Kind)
		}
		return err
	}
	defer fn.Free()
	return c.Return(fn)
}
