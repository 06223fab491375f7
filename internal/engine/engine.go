// Package engine runs JavaScript in sandboxed QuickJS virtual machines and
// bridges them to Go through a narrow table of host ops.
//
// The engine is written against modernc.org/libquickjs (QuickJS compiled to
// pure Go) rather than the higher-level modernc.org/quickjs wrapper: the
// wrapper converts objects through JSON, has no path for bytes, and registers
// host functions in a process-wide table capped at 32k entries. Here every VM
// owns its own QuickJS runtime (so memory limits are per VM), host ops are
// per-VM closures (no global registry), and bytes cross as ArrayBuffers.
//
// A VM is not safe for concurrent use: one goroutine at a time owns it. Only
// Interrupt and the resolution of pending promises (Pending.Resolve) may be
// called from other goroutines.
package engine

import (
	"errors"
	"fmt"
	"math"
	"sync"
	"sync/atomic"
	"time"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/libquickjs"
)

// Config sets the limits of one VM.
type Config struct {
	// MemoryLimit caps the VM's heap in bytes; 0 means no limit.
	MemoryLimit int64
	// MaxStackSlots caps JS call depth (roughly one slot per JS frame); 0
	// means the library default, which keeps the goroutine stack bounded.
	MaxStackSlots int
	// GCThreshold triggers a collection when the heap grows by this many
	// bytes; 0 keeps the QuickJS default.
	GCThreshold int64
}

// VM is one JavaScript realm with its own heap.
type VM struct {
	tls *libc.TLS
	rt  uintptr
	ctx uintptr

	// Host is free for the embedder: ops reach per-instance state through it.
	Host any

	ops         []Op
	opFn        func(tls *libc.TLS, ctx uintptr, this lib.TJSValue, argc int32, argv uintptr, magic int32) lib.TJSValue
	interruptFn func(tls *libc.TLS, rt, opaque uintptr) int32

	// interrupt state: read by interruptFn on the VM's goroutine, written by
	// Interrupt from anywhere.
	interruptReason atomic.Int32
	deadline        int64 // monotonic ns; 0 means none; only touched by the owner
	firedReason     LimitKind

	// CPU budget accounting (owner goroutine only).
	cpuBudget time.Duration
	cpuUsed   time.Duration
	depth     int

	pending pendingTable

	// errorCtors caches the global error constructors used to throw typed
	// errors from ops.
	errorCtors map[string]lib.TJSValue

	closed bool
}

// epoch anchors the monotonic clock reads of interrupt deadlines.
var epoch = time.Now()

func monotonic() int64 { return int64(time.Since(epoch)) }

// New creates a VM and installs ops as properties of the global object
// named by opsGlobal (the Web API bootstrap captures and deletes it, so user
// code never sees raw ops).
func New(cfg Config, opsGlobal string, ops []Op) (*VM, error) {
	tls := libc.NewTLS()
	rt := lib.XJS_NewRuntime(tls)
	if rt == 0 {
		tls.Close()
		return nil, errors.New("creating JS runtime: out of memory")
	}
	if cfg.MemoryLimit > 0 {
		lib.XJS_SetMemoryLimit(tls, rt, libc.Tsize_t(cfg.MemoryLimit))
	}
	if cfg.GCThreshold > 0 {
		lib.XJS_SetGCThreshold(tls, rt, libc.Tsize_t(cfg.GCThreshold))
	}
	lib.XJS_SetMaxStackSize(tls, rt, libc.Tsize_t(cfg.MaxStackSlots))
	ctx := lib.XJS_NewContext(tls, rt)
	if ctx == 0 {
		lib.XJS_FreeRuntime(tls, rt)
		tls.Close()
		return nil, errors.New("creating JS context: out of memory")
	}
	vm := &VM{tls: tls, rt: rt, ctx: ctx, ops: ops}
	vm.pending.init()
	vm.interruptFn = vm.onInterruptCheck
	vm.opFn = vm.callOp
	lib.XJS_SetInterruptHandler(tls, rt, funcPtr(vm.interruptFn), 0)
	if err := vm.installOps(opsGlobal); err != nil {
		vm.Close()
		return nil, err
	}
	return vm, nil
}

// funcPtr returns the C function pointer ccgo code uses to call f: the data
// word of the interface holding the func value. The func value must stay
// reachable for as long as C may call it; VM keeps it in a field.
func funcPtr(f any) uintptr {
	type iface [2]uintptr
	return (*iface)(unsafe.Pointer(&f))[1]
}

// Close frees the VM. Pending promises are dropped.
func (vm *VM) Close() {
	if vm.closed {
		return
	}
	vm.closed = true
	vm.pending.drop(vm)
	for _, v := range vm.errorCtors {
		vm.free(v)
	}
	vm.errorCtors = nil
	lib.XJS_FreeContext(vm.tls, vm.ctx)
	lib.XJS_FreeRuntime(vm.tls, vm.rt)
	vm.tls.Close()
}

// LimitKind names why the engine stopped a script.
type LimitKind int32

const (
	LimitNone LimitKind = iota
	LimitCPU
	LimitWall
	LimitMemory
	LimitStack
	LimitCanceled
)

func (k LimitKind) String() string {
	switch k {
	case LimitCPU:
		return "exceeded-cpu"
	case LimitWall:
		return "timeout"
	case LimitMemory:
		return "exceeded-memory"
	case LimitStack:
		return "exceeded-stack"
	case LimitCanceled:
		return "canceled"
	}
	return "none"
}

// Interrupt stops the script running in vm as soon as possible, from any
// goroutine. The running call returns a *LimitError with the given kind; the
// VM should then be discarded.
func (vm *VM) Interrupt(kind LimitKind) {
	vm.interruptReason.CompareAndSwap(0, int32(kind))
}

// Interrupted reports the reason passed to Interrupt, if any.
func (vm *VM) Interrupted() LimitKind { return LimitKind(vm.interruptReason.Load()) }

// SetCPUBudget sets how much time the VM may spend executing JavaScript
// before it is stopped with LimitCPU, and resets the time used. Time spent
// waiting for host ops does not count.
func (vm *VM) SetCPUBudget(d time.Duration) {
	vm.cpuBudget = d
	vm.cpuUsed = 0
}

// CPUUsed is the time spent executing JavaScript since SetCPUBudget.
func (vm *VM) CPUUsed() time.Duration { return vm.cpuUsed }

func (vm *VM) onInterruptCheck(tls *libc.TLS, rt, opaque uintptr) int32 {
	if r := vm.interruptReason.Load(); r != 0 {
		vm.firedReason = LimitKind(r)
		return 1
	}
	if vm.deadline != 0 && monotonic() >= vm.deadline {
		vm.firedReason = LimitCPU
		return 1
	}
	return 0
}

// enter and leave bracket every call from Go into JavaScript that is not
// nested in an op; they arm the CPU deadline and account time used.
func (vm *VM) enter() int64 {
	if vm.closed {
		panic("engine: use of closed VM")
	}
	vm.depth++
	if vm.depth > 1 {
		return 0
	}
	now := monotonic()
	if vm.cpuBudget > 0 {
		left := vm.cpuBudget - vm.cpuUsed
		if left <= 0 {
			left = 1
		}
		vm.deadline = now + int64(left)
	} else {
		vm.deadline = 0
	}
	return now
}

func (vm *VM) leave(start int64) {
	vm.depth--
	if vm.depth > 0 {
		return
	}
	vm.cpuUsed += time.Duration(monotonic() - start)
	vm.deadline = 0
}

// stopped returns the limit that fired during the last entry even if the
// script never saw it as an exception: QuickJS turns an interrupt inside a
// promise job into a rejection, which user code may swallow.
func (vm *VM) stopped() error {
	if k := vm.firedReason; k != LimitNone {
		vm.firedReason = LimitNone
		return &LimitError{Kind: k}
	}
	return nil
}

// MemoryUsage reports the VM's heap: bytes allocated and the limit. It
// reads the allocator's running totals, which is cheap enough for every
// invocation; JS_ComputeMemoryUsage walks the whole heap and is not.
func (vm *VM) MemoryUsage() (used, limit int64) {
	ms := &(*lib.TJSRuntime)(cmem(vm.rt)).Fmalloc_ctx.Fmalloc_state
	used, limit = int64(ms.Fmalloc_size), int64(ms.Fmalloc_limit)
	if limit < 0 || uint64(ms.Fmalloc_limit) == ^uint64(0) {
		limit = 0
	}
	return used, limit
}

// SetMemoryLimit changes the heap cap, e.g. when a blank VM made ahead of
// time is given to an app with its own limit; 0 removes the cap.
func (vm *VM) SetMemoryLimit(limit int64) {
	if limit <= 0 {
		limit = -1 // QuickJS: no limit
	}
	lib.XJS_SetMemoryLimit(vm.tls, vm.rt, libc.Tsize_t(limit))
}

// RunGC runs a full garbage collection.
func (vm *VM) RunGC() { lib.XJS_RunGC(vm.tls, vm.rt) }

// Compile compiles a classic script to bytecode that EvalBytecode runs in
// any VM of the same engine version.
func (vm *VM) Compile(filename, source string) ([]byte, error) {
	return vm.compile(filename, source, 0)
}

// CompileStripped is Compile without function source text and debug
// information: Function.prototype.toString shows no body and stack frames
// of this code have no line numbers, in exchange every VM that loads it is
// about 110 KiB smaller and loads faster. For the platform's own library,
// whose frames users do not need to read.
func (vm *VM) CompileStripped(filename, source string) ([]byte, error) {
	return vm.compile(filename, source, lib.MJS_STRIP_SOURCE|lib.MJS_STRIP_DEBUG)
}

func (vm *VM) compile(filename, source string, strip int32) ([]byte, error) {
	lib.XJS_SetStripInfo(vm.tls, vm.rt, strip)
	defer lib.XJS_SetStripInfo(vm.tls, vm.rt, 0)
	start := vm.enter()
	defer vm.leave(start)
	v := vm.eval(filename, source, lib.MJS_EVAL_TYPE_GLOBAL|lib.MJS_EVAL_FLAG_COMPILE_ONLY)
	if isException(v) {
		return nil, vm.takeException()
	}
	defer vm.free(v)
	sizep := vm.tls.Alloc(8)
	defer vm.tls.Free(8)
	buf := lib.XJS_WriteObject(vm.tls, vm.ctx, sizep, v, lib.MJS_WRITE_OBJ_BYTECODE)
	if buf == 0 {
		return nil, fmt.Errorf("compiling %s: %w", filename, vm.takeException())
	}
	n := *(*uint64)(cmem(sizep))
	out := make([]byte, n)
	copy(out, unsafe.Slice((*byte)(cmem(buf)), n))
	lib.Xjs_free(vm.tls, vm.ctx, buf)
	return out, nil
}

// Eval runs a classic script and returns its completion value.
func (vm *VM) Eval(filename, source string) (Value, error) {
	start := vm.enter()
	defer vm.leave(start)
	v := vm.eval(filename, source, lib.MJS_EVAL_TYPE_GLOBAL)
	if isException(v) {
		return Value{}, vm.takeException()
	}
	if err := vm.stopped(); err != nil {
		vm.free(v)
		return Value{}, err
	}
	return Value{vm: vm, v: v}, nil
}

// EvalBytecode runs bytecode produced by Compile and returns its completion
// value.
func (vm *VM) EvalBytecode(code []byte) (Value, error) {
	start := vm.enter()
	defer vm.leave(start)
	if len(code) == 0 {
		return Value{}, errors.New("evaluating bytecode: empty")
	}
	p := libc.Xmalloc(vm.tls, libc.Tsize_t(len(code)))
	if p == 0 {
		return Value{}, errors.New("evaluating bytecode: out of memory")
	}
	copy(unsafe.Slice((*byte)(cmem(p)), len(code)), code)
	fn := lib.XJS_ReadObject(vm.tls, vm.ctx, p, libc.Tsize_t(len(code)), lib.MJS_READ_OBJ_BYTECODE)
	libc.Xfree(vm.tls, p)
	if isException(fn) {
		return Value{}, vm.takeException()
	}
	// JS_EvalFunction takes ownership of fn.
	v := lib.XJS_EvalFunction(vm.tls, vm.ctx, fn)
	if isException(v) {
		return Value{}, vm.takeException()
	}
	if err := vm.stopped(); err != nil {
		vm.free(v)
		return Value{}, err
	}
	return Value{vm: vm, v: v}, nil
}

func (vm *VM) eval(filename, source string, flags int32) lib.TJSValue {
	src := vm.cString(source)
	defer libc.Xfree(vm.tls, src)
	name := vm.cString(filename)
	defer libc.Xfree(vm.tls, name)
	return lib.XJS_Eval(vm.tls, vm.ctx, src, libc.Tsize_t(len(source)), name, flags)
}

// cString copies s into C memory with a terminating NUL; free with Xfree.
func (vm *VM) cString(s string) uintptr {
	p := libc.Xmalloc(vm.tls, libc.Tsize_t(len(s)+1))
	if p == 0 {
		panic("engine: out of memory copying a string")
	}
	b := unsafe.Slice((*byte)(cmem(p)), len(s)+1)
	copy(b, s)
	b[len(s)] = 0
	return p
}

// Global returns the global object's property name.
func (vm *VM) Global(name string) Value {
	g := lib.XJS_GetGlobalObject(vm.tls, vm.ctx)
	defer vm.free(g)
	return Value{vm: vm, v: vm.getProp(g, name)}
}

// SetGlobal sets a property of the global object.
func (vm *VM) SetGlobal(name string, val any) error {
	g := lib.XJS_GetGlobalObject(vm.tls, vm.ctx)
	defer vm.free(g)
	jv, err := vm.toJS(val)
	if err != nil {
		return err
	}
	cname := vm.cString(name)
	defer libc.Xfree(vm.tls, cname)
	if lib.XJS_SetPropertyStr(vm.tls, vm.ctx, g, cname, jv) < 0 {
		return vm.takeException()
	}
	return nil
}

func (vm *VM) getProp(obj lib.TJSValue, name string) lib.TJSValue {
	cname := vm.cString(name)
	defer libc.Xfree(vm.tls, cname)
	return lib.XJS_GetPropertyStr(vm.tls, vm.ctx, obj, cname)
}

func (vm *VM) free(v lib.TJSValue) {
	if v.Ftag < 0 {
		lib.XFreeValue(vm.tls, vm.ctx, v)
	}
}

func (vm *VM) dup(v lib.TJSValue) lib.TJSValue {
	if v.Ftag < 0 {
		return lib.XDupValue(vm.tls, vm.ctx, v)
	}
	return v
}

var (
	jsUndefined = lib.TJSValue{Ftag: lib.EJS_TAG_UNDEFINED}
	jsNull      = lib.TJSValue{Ftag: lib.EJS_TAG_NULL}
)

func isException(v lib.TJSValue) bool { return v.Ftag == lib.EJS_TAG_EXCEPTION }

func jsBool(b bool) lib.TJSValue {
	v := lib.TJSValue{Ftag: lib.EJS_TAG_BOOL}
	if b {
		v.Fu.Fuint641 = 1
	}
	return v
}

func jsInt32(n int32) lib.TJSValue {
	return lib.TJSValue{Ftag: lib.EJS_TAG_INT, Fu: lib.TJSValueUnion{Fuint641: uint64(uint32(n))}}
}

func jsFloat(f float64) lib.TJSValue {
	return lib.TJSValue{Ftag: lib.EJS_TAG_FLOAT64, Fu: lib.TJSValueUnion{Fuint641: math.Float64bits(f)}}
}

func jsNumber(n int64) lib.TJSValue {
	if n >= math.MinInt32 && n <= math.MaxInt32 {
		return jsInt32(int32(n))
	}
	return jsFloat(float64(n))
}

// pendingTable holds the resolving functions of promises that async ops
// returned, until Go settles them. Settlements arrive from any goroutine and
// are applied by the VM's owner in Wait.
type pendingTable struct {
	next    uint64
	entries map[uint64]pendingEntry

	mu     sync.Mutex
	done   []settlement
	notify chan struct{}
}

type pendingEntry struct{ resolve, reject lib.TJSValue }

func (t *pendingTable) init() {
	t.entries = make(map[uint64]pendingEntry)
	t.notify = make(chan struct{}, 1)
}

func (t *pendingTable) drop(vm *VM) {
	for id, e := range t.entries {
		vm.free(e.resolve)
		vm.free(e.reject)
		delete(t.entries, id)
	}
}

// cmem turns an address of C memory (allocated by libc or the engine, never
// by the Go heap) into a pointer.
func cmem(p uintptr) unsafe.Pointer { return unsafe.Add(nil, p) }
