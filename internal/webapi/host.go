package webapi

import (
	"github.com/kumo-dev/kumo/internal/engine"
)

// Host is the Go state of one instance that the ops reach through
// engine.VM.Host. The runtime sets the per-invocation fields before each
// dispatch.
type Host struct {
	// Log receives console output: level is "debug", "info", "log",
	// "warn" or "error"; msg is already formatted.
	Log func(level, msg string)

	vm *engine.VM
}

// host returns the Host of the VM an op runs in.
func host(c *engine.Call) *Host { return c.Host().(*Host) }
