// Package webapi implements the Web platform APIs (fetch, Request, Response,
// URL, streams, encoding, crypto, timers, console...) in JavaScript over a
// narrow set of Go host ops, and creates VMs with them loaded.
package webapi

import (
	"embed"
	"fmt"
	"strings"

	"github.com/kumo-dev/kumo/internal/engine"
)

//go:embed js/*.js
var jsFiles embed.FS

// layers lists the Web API files in load order: each may use what the
// earlier ones export. Each file is the body of a function called with
// (ops, k): ops are the host ops, k the internals exported by earlier
// layers; it returns an object of its exports, merged into k. Exactly one
// file, 99_bootstrap.js, installs globals.
var layers = []string{
	"00_infra.js",
	"01_console.js",
	"02_event.js",
	"03_abort.js",
	"04_domexception.js",
	"05_encoding.js",
	"06_streams.js",
	"07_structured_clone.js",
	"07_structured_serialize.js",
	"08_blob.js",
	"09_streams_writable.js",
	"10_url.js",
	"11_crypto.js",
	"12_timers.js",
	"20_headers.js",
	"21_formdata.js",
	"22_body.js",
	"23_request.js",
	"23_response.js",
	"26_fetch.js",
	"30_kv.js",
	"31_bucket.js",
	"32_queue.js",
	"33_service.js",
	"90_dispatch.js",
	"99_bootstrap.js",
}

// opSets lists the Go halves of the layers, one table per area.
var opSets = []func() []engine.Op{
	infraOps,
	coreOps,
	urlOps,
	bodyOps,
	fetchOps,
	serviceOps,
	queueOps,
	kvOps,
	bucketOps,
}

// opsGlobal is where the engine puts the ops before bootstrap; the
// bootstrap captures and deletes it so user code never reaches raw ops.
const opsGlobal = "__kumo_ops"

// BootstrapFile is the script name stack traces show for Web API frames.
const BootstrapFile = "kumo:webapi"

// Ops returns every host op the Web API layers use.
func Ops() []engine.Op {
	var all []engine.Op
	for _, set := range opSets {
		all = append(all, set()...)
	}
	return all
}

// Source returns the bootstrap script: every layer, in order, in one
// closure. Its completion value is the entry object the runtime dispatches
// through (see 99_bootstrap.js).
func Source() (string, error) {
	var b strings.Builder
	b.WriteString("(function (ops) {\n\"use strict\";\nconst k = Object.create(null);\n")
	for _, name := range layers {
		src, err := jsFiles.ReadFile("js/" + name)
		if err != nil {
			return "", fmt.Errorf("reading web API layer %s: %w", name, err)
		}
		fmt.Fprintf(&b, "// ---- %s\nObject.assign(k, (function (ops, k) {\n%s\n})(ops, k));\n", name, src)
	}
	b.WriteString("return k.entry;\n})(globalThis." + opsGlobal + ")\n")
	return b.String(), nil
}

// Runtime holds the Web API layer compiled once per process, so a new VM
// only loads bytecode.
type Runtime struct {
	bytecode []byte
	ops      []engine.Op
}

// NewRuntime compiles the Web API layer.
func NewRuntime() (*Runtime, error) {
	src, err := Source()
	if err != nil {
		return nil, err
	}
	ops := Ops()
	vm, err := engine.New(engine.Config{}, opsGlobal, nil)
	if err != nil {
		return nil, fmt.Errorf("compiling web APIs: %w", err)
	}
	defer vm.Close()
	code, err := vm.CompileStripped(BootstrapFile, src)
	if err != nil {
		return nil, fmt.Errorf("compiling web APIs: %w", err)
	}
	return &Runtime{bytecode: code, ops: ops}, nil
}

// NewVM creates a VM with the Web APIs installed and host as its
// per-instance state. It returns the entry object of 99_bootstrap.js, which
// the caller must Free before closing the VM.
func (r *Runtime) NewVM(cfg engine.Config, host *Host) (*engine.VM, engine.Value, error) {
	vm, err := engine.New(cfg, opsGlobal, r.ops)
	if err != nil {
		return nil, engine.Value{}, err
	}
	vm.Host = host
	host.vm = vm
	entry, err := vm.EvalBytecode(r.bytecode)
	if err != nil {
		vm.Close()
		return nil, engine.Value{}, fmt.Errorf("loading web APIs: %w", err)
	}
	if err := vm.RunJobs(); err != nil {
		entry.Free()
		vm.Close()
		return nil, engine.Value{}, fmt.Errorf("loading web APIs: %w", err)
	}
	return vm, entry, nil
}
