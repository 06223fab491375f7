// Package webapi implements the Web platform APIs (fetch, Request, Response,
// URL, streams, encoding, crypto, timers, console...) in JavaScript over a
// narrow set of Go host ops, and creates VMs with them loaded.
package webapi

import (
	"embed"
	"fmt"
	"strconv"
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
//
// A lazy layer is one few requests need. It is compiled as a unit of its
// own and evaluated in a VM only on first use of one of its exports (see
// lazyLayer in 00_infra.js): until then its functions, atoms and objects
// cost the VM nothing. Its exports are found in k (and its globals on the
// global object) from the start, so using one needs no change; but an
// eager layer must not read a lazy layer's export while it loads (that
// would load it in every VM), and code that only asks whether a value is
// of a lazy class (is this body a Blob?) uses k.ifLoaded, which does not
// load: no value of a class whose layer never loaded can exist.
var layers = []layer{
	{file: "00_infra.js"},
	{file: "01_console.js", lazy: true},
	{file: "02_event.js", lazy: true},
	{file: "03_abort.js", lazy: true},
	{file: "04_domexception.js", lazy: true},
	{file: "05_encoding.js", lazy: true},
	{file: "06_streams.js", lazy: true},
	{file: "07_structured_clone.js", lazy: true},
	{file: "07_structured_serialize.js", lazy: true},
	{file: "08_blob.js", lazy: true},
	{file: "09_streams_writable.js", lazy: true},
	{file: "10_url.js"},
	{file: "11_crypto.js", lazy: true},
	{file: "12_timers.js"},
	{file: "13_performance.js", lazy: true},
	{file: "20_headers.js"},
	{file: "21_formdata.js", lazy: true},
	{file: "22_body.js"},
	{file: "23_request.js"},
	{file: "23_response.js"},
	{file: "26_fetch.js", lazy: true},
	{file: "30_kv.js", lazy: true},
	{file: "31_bucket.js", lazy: true},
	{file: "32_queue.js", lazy: true},
	{file: "33_service.js", lazy: true},
	{file: "90_dispatch.js"},
	{file: "99_bootstrap.js"},
}

// layer is one Web API file; see layers.
type layer struct {
	file string
	lazy bool
}

func readLayer(file string) (string, error) {
	src, err := jsFiles.ReadFile("js/" + file)
	if err != nil {
		return "", fmt.Errorf("reading web API layer %s: %w", file, err)
	}
	return string(src), nil
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

// Source returns the bootstrap script: every eager layer, in order, in
// one closure, and for each lazy layer in its place the names it will
// export (k.lazyLayer). Its completion value is the entry object the
// runtime dispatches through (see 99_bootstrap.js).
func Source() (string, error) {
	var b strings.Builder
	b.WriteString("(function (ops) {\n\"use strict\";\nconst k = Object.create(null);\n")
	for _, l := range layers {
		src, err := readLayer(l.file)
		if err != nil {
			return "", err
		}
		if l.lazy {
			names, err := exportNames(src)
			if err != nil {
				return "", fmt.Errorf("web API layer %s: %w", l.file, err)
			}
			quoted := make([]string, len(names))
			for i, n := range names {
				quoted[i] = strconv.Quote(n)
			}
			fmt.Fprintf(&b, "// ---- %s (lazy)\nk.lazyLayer(%q, [%s]);\n", l.file, l.file, strings.Join(quoted, ", "))
			continue
		}
		fmt.Fprintf(&b, "// ---- %s\nObject.assign(k, (function (ops, k) {\n%s\n})(ops, k));\n", l.file, src)
	}
	b.WriteString("return k.entry;\n})(globalThis." + opsGlobal + ")\n")
	return b.String(), nil
}

// lazySource returns the unit of a lazy layer: a script whose completion
// value is the layer's function, which 00_infra.js calls with (ops, k).
func lazySource(file string) (string, error) {
	src, err := readLayer(file)
	if err != nil {
		return "", err
	}
	return "(function (ops, k) {\n\"use strict\";\n" + src + "\n})\n", nil
}

// exportNames returns the names a layer exports: the keys of the object
// literal of its last top-level "return {" statement (shorthand "name",
// "name: value" or "name(...) {...}"). TestLayerExportNames checks them
// against what each layer returns.
func exportNames(src string) ([]string, error) {
	i := strings.LastIndex(src, "\nreturn {")
	if i < 0 {
		return nil, fmt.Errorf("no top-level \"return {\" statement")
	}
	var names []string
	depth := 0
	expectKey := false
	for p := i + len("\nreturn "); p < len(src); {
		c := src[p]
		switch {
		case strings.HasPrefix(src[p:], "//"):
			nl := strings.IndexByte(src[p:], '\n')
			if nl < 0 {
				return nil, fmt.Errorf("unterminated export list")
			}
			p += nl
			continue
		case strings.HasPrefix(src[p:], "/*"):
			end := strings.Index(src[p+2:], "*/")
			if end < 0 {
				return nil, fmt.Errorf("unterminated comment in export list")
			}
			p += end + 4
			continue
		case c == '"' || c == '\'' || c == '`':
			end := p + 1
			for end < len(src) && src[end] != c {
				if src[end] == '\\' {
					end++
				}
				end++
			}
			p = end + 1
			expectKey = false
			continue
		case c == '{' || c == '(' || c == '[':
			depth++
			expectKey = depth == 1
		case c == '}' || c == ')' || c == ']':
			depth--
			if depth == 0 {
				return names, nil
			}
		case c == ',':
			expectKey = depth == 1
		case isIdentByte(c):
			end := p
			for end < len(src) && isIdentByte(src[end]) {
				end++
			}
			if expectKey {
				names = append(names, src[p:end])
				expectKey = false
			}
			p = end
			continue
		case c != ' ' && c != '\t' && c != '\n' && c != '\r':
			expectKey = false
		}
		p++
	}
	return nil, fmt.Errorf("unterminated export list")
}

func isIdentByte(c byte) bool {
	return c == '_' || c == '$' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Runtime holds the Web API layer compiled once per process, so a new VM
// only loads bytecode.
type Runtime struct {
	bytecode []byte
	// lazy holds the bytecode of each lazy layer, by file; op_layer_load
	// evaluates it in the VM that first uses the layer.
	lazy map[string][]byte
	ops  []engine.Op
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
	lazy := make(map[string][]byte)
	for _, l := range layers {
		if !l.lazy {
			continue
		}
		src, err := lazySource(l.file)
		if err != nil {
			return nil, err
		}
		unit, err := vm.CompileStripped(BootstrapFile, src)
		if err != nil {
			return nil, fmt.Errorf("compiling web API layer %s: %w", l.file, err)
		}
		lazy[l.file] = unit
	}
	return &Runtime{bytecode: code, lazy: lazy, ops: ops}, nil
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
	host.layers = r.lazy
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
