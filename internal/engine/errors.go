package engine

import (
	"fmt"
	"strings"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/libquickjs"
)

// Exception is a JavaScript exception that reached Go.
type Exception struct {
	Name    string // e.g. "TypeError"; empty when a non-Error value was thrown
	Message string
	Stack   string
}

func (e *Exception) Error() string {
	if e.Name == "" {
		return "Uncaught " + e.Message
	}
	return e.Name + ": " + e.Message
}

// LimitError reports a script stopped by the engine. The VM that returned
// it must be discarded.
type LimitError struct {
	Kind LimitKind
	// Detail says what the engine saw, for logs.
	Detail string
}

func (e *LimitError) Error() string {
	if e.Detail != "" {
		return e.Kind.String() + ": " + e.Detail
	}
	return e.Kind.String()
}

// JSError is an error an op returns to throw a specific JavaScript error
// class: a global constructor such as "TypeError" or "RangeError", or a
// DOMException with Name set (Class "DOMException").
type JSError struct {
	Class   string
	Name    string // DOMException name, e.g. "AbortError"
	Message string
}

func (e *JSError) Error() string {
	if e.Name != "" {
		return e.Name + ": " + e.Message
	}
	return e.Class + ": " + e.Message
}

// TypeError returns a *JSError thrown as a TypeError.
func TypeError(format string, args ...any) error {
	return &JSError{Class: "TypeError", Message: fmt.Sprintf(format, args...)}
}

// RangeError returns a *JSError thrown as a RangeError.
func RangeError(format string, args ...any) error {
	return &JSError{Class: "RangeError", Message: fmt.Sprintf(format, args...)}
}

// DOMException returns a *JSError thrown as a DOMException with name.
func DOMException(name, format string, args ...any) error {
	return &JSError{Class: "DOMException", Name: name, Message: fmt.Sprintf(format, args...)}
}

func (vm *VM) clearException() {
	vm.free(lib.XJS_GetException(vm.tls, vm.ctx))
}

// takeException converts the pending exception to a Go error, classifying
// the engine's own stops (interrupt, out of memory, stack overflow) as
// *LimitError.
func (vm *VM) takeException() error {
	exc := lib.XJS_GetException(vm.tls, vm.ctx)
	defer vm.free(exc)
	if k := vm.firedReason; k != LimitNone {
		vm.firedReason = LimitNone
		return &LimitError{Kind: k}
	}
	if exc.Ftag == lib.EJS_TAG_NULL {
		// QuickJS throws null when it cannot even allocate the error; a
		// script may also throw null itself, so look at the heap.
		if used, limit := vm.MemoryUsage(); limit > 0 && used >= limit/10*9 {
			return &LimitError{Kind: LimitMemory, Detail: "out of memory"}
		}
	}
	return vm.exceptionFromValue(exc)
}

// classify turns the engine's own InternalErrors into *LimitError: they
// reach Go as exceptions or, from async code, as promise rejections.
func classify(e *Exception) error {
	if e.Name != "InternalError" {
		return e
	}
	switch {
	case strings.Contains(e.Message, "out of memory"):
		return &LimitError{Kind: LimitMemory, Detail: e.Message}
	case strings.Contains(e.Message, "stack overflow"):
		return &LimitError{Kind: LimitStack, Detail: e.Message}
	case e.Message == "interrupted":
		return &LimitError{Kind: LimitCPU}
	}
	return e
}

// maxStackLines bounds the stack kept from an exception: runaway
// recursion produces thousands of identical frames.
const maxStackLines = 40

func trimStack(stack string) string {
	n := 0
	for i := 0; i < len(stack); i++ {
		if stack[i] == '\n' {
			n++
			if n == maxStackLines {
				rest := strings.Count(stack[i+1:], "\n")
				return stack[:i+1] + fmt.Sprintf("    ... %d more frames\n", rest)
			}
		}
	}
	return stack
}

func (vm *VM) exceptionFromValue(v lib.TJSValue) error {
	if v.Ftag == lib.EJS_TAG_OBJECT && lib.XJS_IsError(vm.tls, vm.ctx, v) != 0 {
		e := &Exception{}
		e.Name = vm.propString(v, "name")
		e.Message = vm.propString(v, "message")
		e.Stack = trimStack(vm.propString(v, "stack"))
		return classify(e)
	}
	s, _ := vm.goString(v)
	return &Exception{Message: s}
}

func (vm *VM) propString(obj lib.TJSValue, name string) string {
	p := vm.getProp(obj, name)
	if isException(p) {
		vm.clearException()
		return ""
	}
	defer vm.free(p)
	if p.Ftag == lib.EJS_TAG_UNDEFINED {
		return ""
	}
	s, _ := vm.goString(p)
	return s
}

// throw raises err in JavaScript as the error class it asks for.
func (vm *VM) throw(err error) lib.TJSValue {
	e := vm.newError(err)
	if isException(e) {
		return e
	}
	return lib.XJS_Throw(vm.tls, vm.ctx, e)
}

// newError builds the JavaScript error object for err: a *JSError picks its
// class, anything else becomes a plain Error.
func (vm *VM) newError(err error) lib.TJSValue {
	class, name, msg := "Error", "", err.Error()
	if je, ok := err.(*JSError); ok {
		class, name, msg = je.Class, je.Name, je.Message
	}
	ctor := vm.errorCtor(class)
	if ctor.Ftag != lib.EJS_TAG_OBJECT {
		ctor = vm.errorCtor("Error")
	}
	argc := int32(1)
	if class == "DOMException" {
		argc = 2
	}
	size := 2 * int(unsafe.Sizeof(lib.TJSValue{}))
	argv := vm.tls.Alloc(size)
	defer vm.tls.Free(size)
	args := (*[2]lib.TJSValue)(cmem(argv))
	args[0] = vm.newString(msg)
	args[1] = vm.newString(name)
	e := lib.XJS_CallConstructor(vm.tls, vm.ctx, ctor, argc, argv)
	vm.free(args[0])
	vm.free(args[1])
	return e
}

func (vm *VM) errorCtor(class string) lib.TJSValue {
	if c, ok := vm.errorCtors[class]; ok {
		return c
	}
	g := lib.XJS_GetGlobalObject(vm.tls, vm.ctx)
	defer vm.free(g)
	cname := vm.cString(class)
	defer libc.Xfree(vm.tls, cname)
	c := lib.XJS_GetPropertyStr(vm.tls, vm.ctx, g, cname)
	if c.Ftag != lib.EJS_TAG_OBJECT {
		vm.free(c)
		return jsUndefined
	}
	if vm.errorCtors == nil {
		vm.errorCtors = make(map[string]lib.TJSValue)
	}
	vm.errorCtors[class] = c
	return c
}
