package webapi

import (
	"github.com/kumo-dev/kumo/internal/binding"
	"net/http"

	"github.com/kumo-dev/kumo/internal/engine"
)

// Host is the Go state of one instance that the ops reach through
// engine.VM.Host. The runtime sets the per-invocation fields before each
// dispatch.
type Host struct {
	// Log receives console output: level is "debug", "info", "log",
	// "warn" or "error"; msg is already formatted.
	Log func(level, msg string)

	// Bindings are the version's env capabilities (KV, buckets, queues,
	// services), shared by its instances; binding ops find theirs by the
	// name env gives it.
	Bindings *binding.Set

	// ---- fetch and bodies (fetch_ops.go, body_ops.go) ----

	// Sink receives the HTTP response of the current invocation; the
	// runtime sets it before calling entry.fetch.
	Sink ResponseSink
	// HTTPClient sends outbound fetches. Nil means a shared client whose
	// dialer applies the egress policy (see NewEgressClient); a client set
	// here is used as is, egress policy included.
	HTTPClient *http.Client
	// AllowPrivateNetwork lets fetch reach loopback, private, link-local,
	// CGNAT and other non-public addresses.
	AllowPrivateNetwork bool
	// MaxSubrequests caps fetch calls per invocation; 0 means
	// DefaultMaxSubrequests.
	MaxSubrequests int
	// io is the resource table of bodies, the fetches in flight and the
	// usage counters (body_ops.go).
	io ioState

	// ---- end fetch and bodies ----

	// ---- services (service_ops.go) ----
	svc serviceState
	// ---- end services ----

	// ---- buckets (bucket_ops.go) ----
	uploads uploadTable
	// ---- end buckets ----

	vm *engine.VM

	// layers is the bytecode of the lazy layers, by file (op_layer_load).
	layers map[string][]byte

	// ---- core (core_ops.go: timers, performance.now) ----
	timers timerTable
	// ---- end core ----
}

// host returns the Host of the VM an op runs in.
func host(c *engine.Call) *Host { return c.Host().(*Host) }

// StopTimers cancels every pending timer of the instance (setTimeout,
// setInterval, AbortSignal.timeout), e.g. before the instance is reused
// or closed.
func (h *Host) StopTimers() { h.timers.stop() }
