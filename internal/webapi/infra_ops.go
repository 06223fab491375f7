package webapi

import "github.com/kumo-dev/kumo/internal/engine"

func infraOps() []engine.Op {
	return []engine.Op{
		{Name: "op_log", Fn: opLog},
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
