package engine

import (
	"fmt"
	"math"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/libquickjs"
)

// Op is a host operation callable from JavaScript as ops.<Name>(...).
// Arguments and results are primitives, bytes or JSON; richer state lives in
// per-instance resource tables reached through VM.Host, addressed by integer
// handles (the Deno ops pattern).
type Op struct {
	Name string
	Fn   func(c *Call) error
}

// Call is one invocation of an op. It is valid only during the op.
type Call struct {
	vm     *VM
	argv   uintptr
	argc   int
	result lib.TJSValue
	set    bool
}

// VM returns the VM the op runs in.
func (c *Call) VM() *VM { return c.vm }

// Host returns VM.Host.
func (c *Call) Host() any { return c.vm.Host }

// Len is the number of arguments passed.
func (c *Call) Len() int { return c.argc }

func (c *Call) arg(i int) lib.TJSValue {
	if i < 0 || i >= c.argc {
		return jsUndefined
	}
	return *(*lib.TJSValue)(cmem(c.argv + uintptr(i)*unsafe.Sizeof(lib.TJSValue{})))
}

// Arg returns argument i as a Value owned by the op; it is freed when the op
// returns unless it is Dup'ed.
func (c *Call) Arg(i int) Value { return Value{vm: c.vm, v: c.arg(i)} }

// IsNullish reports whether argument i is missing, undefined or null.
func (c *Call) IsNullish(i int) bool {
	t := c.arg(i).Ftag
	return t == lib.EJS_TAG_UNDEFINED || t == lib.EJS_TAG_NULL
}

// String returns argument i converted with ToString.
func (c *Call) String(i int) string {
	s, _ := c.vm.goString(c.arg(i))
	return s
}

// Float returns argument i converted with ToNumber.
func (c *Call) Float(i int) float64 { return c.vm.toFloat(c.arg(i)) }

// Int returns argument i converted with ToNumber and truncated; NaN is 0.
func (c *Call) Int(i int) int64 {
	f := c.vm.toFloat(c.arg(i))
	if math.IsNaN(f) {
		return 0
	}
	return int64(f)
}

// Bool returns argument i converted with ToBoolean.
func (c *Call) Bool(i int) bool {
	return lib.XJS_ToBool(c.vm.tls, c.vm.ctx, c.arg(i)) == 1
}

// Bytes copies argument i, an ArrayBuffer or typed-array view.
func (c *Call) Bytes(i int) ([]byte, bool) { return c.vm.goBytes(c.arg(i)) }

// Return sets the op's result. v is converted as: nil → null, Undefined,
// bool, integers and float64 → number, string, []byte → Uint8Array, JSON →
// parsed value, []string and []any → arrays, Value → that value.
func (c *Call) Return(v any) error {
	jv, err := c.vm.toJS(v)
	if err != nil {
		return err
	}
	if c.set {
		c.vm.free(c.result)
	}
	c.result, c.set = jv, true
	return nil
}

func (vm *VM) installOps(global string) error {
	obj := lib.XJS_NewObject(vm.tls, vm.ctx)
	fp := funcPtr(vm.opFn)
	for i, op := range vm.ops {
		cname := vm.cString(op.Name)
		fn := lib.XJS_NewCFunction2(vm.tls, vm.ctx, fp, cname, 0, lib.EJS_CFUNC_generic_magic, int32(i))
		if isException(fn) {
			libc.Xfree(vm.tls, cname)
			vm.free(obj)
			return fmt.Errorf("installing op %s: %w", op.Name, vm.takeException())
		}
		lib.XJS_SetPropertyStr(vm.tls, vm.ctx, obj, cname, fn)
		libc.Xfree(vm.tls, cname)
	}
	g := lib.XJS_GetGlobalObject(vm.tls, vm.ctx)
	defer vm.free(g)
	cname := vm.cString(global)
	defer libc.Xfree(vm.tls, cname)
	if lib.XJS_SetPropertyStr(vm.tls, vm.ctx, g, cname, obj) < 0 {
		return fmt.Errorf("installing ops: %w", vm.takeException())
	}
	return nil
}

// callOp is the C entry point of every op; magic is the op's index. A Go
// panic must not unwind through the engine's C frames, so it becomes a JS
// exception here.
func (vm *VM) callOp(tls *libc.TLS, ctx uintptr, this lib.TJSValue, argc int32, argv uintptr, magic int32) (r lib.TJSValue) {
	if int(magic) >= len(vm.ops) {
		return vm.throw(fmt.Errorf("unknown op %d", magic))
	}
	op := vm.ops[magic]
	c := Call{vm: vm, argv: argv, argc: int(argc)}
	defer func() {
		if p := recover(); p != nil {
			if c.set {
				vm.free(c.result)
			}
			r = vm.throw(fmt.Errorf("internal error in %s: %v", op.Name, p))
		}
	}()
	if err := op.Fn(&c); err != nil {
		if c.set {
			vm.free(c.result)
		}
		return vm.throw(err)
	}
	if !c.set {
		return jsUndefined
	}
	return c.result
}
