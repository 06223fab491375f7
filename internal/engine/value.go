package engine

import (
	"errors"
	"fmt"
	"math"
	"unicode/utf8"
	"unsafe"

	"modernc.org/libc"
	lib "modernc.org/libquickjs"
)

// Value is a reference to a JavaScript value held by Go. It must be freed
// with Free exactly once, before its VM closes, on the VM's goroutine.
type Value struct {
	vm *VM
	v  lib.TJSValue
}

// Undefined is the JavaScript value undefined, as a Go argument.
type Undefined struct{}

// JSON is a Go argument or op result that crosses into JavaScript as the
// value its text parses to.
type JSON string

// Free releases the reference.
func (v Value) Free() {
	if v.vm != nil && !v.vm.closed {
		v.vm.free(v.v)
	}
}

// Dup returns a new reference to the same value.
func (v Value) Dup() Value { return Value{vm: v.vm, v: v.vm.dup(v.v)} }

func (v Value) IsUndefined() bool { return v.v.Ftag == lib.EJS_TAG_UNDEFINED }
func (v Value) IsNull() bool      { return v.v.Ftag == lib.EJS_TAG_NULL }
func (v Value) IsString() bool {
	return v.v.Ftag == lib.EJS_TAG_STRING || v.v.Ftag == lib.EJS_TAG_STRING_ROPE
}
func (v Value) IsObject() bool { return v.v.Ftag == lib.EJS_TAG_OBJECT }
func (v Value) IsFunction() bool {
	return v.vm != nil && lib.XJS_IsFunction(v.vm.tls, v.vm.ctx, v.v) != 0
}

// Get returns the property name of an object value.
func (v Value) Get(name string) Value {
	return Value{vm: v.vm, v: v.vm.getProp(v.v, name)}
}

// String converts the value with ToString.
func (v Value) String() string {
	if v.vm == nil {
		return "undefined"
	}
	s, _ := v.vm.goString(v.v)
	return s
}

// Float converts the value with ToNumber.
func (v Value) Float() float64 {
	return v.vm.toFloat(v.v)
}

// Bool converts the value with ToBoolean.
func (v Value) Bool() bool {
	return lib.XJS_ToBool(v.vm.tls, v.vm.ctx, v.v) == 1
}

// Bytes copies the contents of an ArrayBuffer or typed-array view.
func (v Value) Bytes() ([]byte, bool) { return v.vm.goBytes(v.v) }

// Call calls the function value with this and args, converted as by
// Call.Return. It runs microtasks only if the caller does (see RunJobs).
func (v Value) Call(this Value, args ...any) (Value, error) {
	vm := v.vm
	start := vm.enter()
	defer vm.leave(start)
	n := len(args)
	size := n * int(unsafe.Sizeof(lib.TJSValue{}))
	var argv uintptr
	if n > 0 {
		argv = vm.tls.Alloc(size)
		defer vm.tls.Free(size)
	}
	jsArgs := unsafe.Slice((*lib.TJSValue)(cmem(argv)), n)
	for i, a := range args {
		jv, err := vm.toJS(a)
		if err != nil {
			for _, prev := range jsArgs[:i] {
				vm.free(prev)
			}
			return Value{}, fmt.Errorf("argument %d: %w", i, err)
		}
		jsArgs[i] = jv
	}
	thisV := this.v
	if this.vm == nil {
		thisV = jsUndefined
	}
	r := lib.XJS_Call(vm.tls, vm.ctx, v.v, thisV, int32(n), argv)
	for _, a := range jsArgs {
		vm.free(a)
	}
	if isException(r) {
		return Value{}, vm.takeException()
	}
	if err := vm.stopped(); err != nil {
		vm.free(r)
		return Value{}, err
	}
	return Value{vm: vm, v: r}, nil
}

// PromiseState is the state of a promise value.
type PromiseState int

const (
	NotAPromise PromiseState = iota - 1
	PromisePending
	PromiseFulfilled
	PromiseRejected
)

// PromiseState reports the state of a promise value.
func (v Value) PromiseState() PromiseState {
	s := lib.XJS_PromiseState(v.vm.tls, v.vm.ctx, v.v)
	if s < 0 {
		return NotAPromise
	}
	return PromiseState(s)
}

// PromiseResult returns the settled value or rejection reason of a promise.
func (v Value) PromiseResult() Value {
	return Value{vm: v.vm, v: lib.XJS_PromiseResult(v.vm.tls, v.vm.ctx, v.v)}
}

// AsError converts a thrown or rejected value to a Go *Exception.
func (v Value) AsError() error { return v.vm.exceptionFromValue(v.v) }

func (vm *VM) toJS(a any) (lib.TJSValue, error) {
	switch x := a.(type) {
	case nil:
		return jsNull, nil
	case Undefined:
		return jsUndefined, nil
	case Value:
		if x.vm == nil {
			return jsUndefined, nil
		}
		if x.vm != vm {
			return jsUndefined, errors.New("value belongs to another VM")
		}
		return vm.dup(x.v), nil
	case bool:
		return jsBool(x), nil
	case int:
		return jsNumber(int64(x)), nil
	case int32:
		return jsInt32(x), nil
	case int64:
		return jsNumber(x), nil
	case uint32:
		return jsNumber(int64(x)), nil
	case uint64:
		if x > math.MaxInt64 {
			return jsFloat(float64(x)), nil
		}
		return jsNumber(int64(x)), nil
	case float64:
		return jsFloat(x), nil
	case string:
		return vm.newString(x), nil
	case []byte:
		return vm.newUint8Array(x)
	case JSON:
		return vm.parseJSON(string(x))
	case []string:
		arr := lib.XJS_NewArray(vm.tls, vm.ctx)
		for i, s := range x {
			lib.XJS_SetPropertyUint32(vm.tls, vm.ctx, arr, uint32(i), vm.newString(s))
		}
		return arr, nil
	case []any:
		arr := lib.XJS_NewArray(vm.tls, vm.ctx)
		for i, e := range x {
			ev, err := vm.toJS(e)
			if err != nil {
				vm.free(arr)
				return jsUndefined, err
			}
			lib.XJS_SetPropertyUint32(vm.tls, vm.ctx, arr, uint32(i), ev)
		}
		return arr, nil
	}
	return jsUndefined, fmt.Errorf("cannot pass Go %T to JavaScript", a)
}

func (vm *VM) newString(s string) lib.TJSValue {
	if len(s) == 0 {
		return lib.XJS_NewStringLen(vm.tls, vm.ctx, 0, 0)
	}
	p := vm.tls.Alloc(len(s))
	copy(unsafe.Slice((*byte)(cmem(p)), len(s)), s)
	v := lib.XJS_NewStringLen(vm.tls, vm.ctx, p, libc.Tsize_t(len(s)))
	vm.tls.Free(len(s))
	return v
}

func (vm *VM) newUint8Array(b []byte) (lib.TJSValue, error) {
	var ab lib.TJSValue
	if len(b) == 0 {
		ab = lib.XJS_NewArrayBufferCopy(vm.tls, vm.ctx, 0, 0)
	} else {
		p := libc.Xmalloc(vm.tls, libc.Tsize_t(len(b)))
		if p == 0 {
			return jsUndefined, errors.New("out of memory")
		}
		copy(unsafe.Slice((*byte)(cmem(p)), len(b)), b)
		ab = lib.XJS_NewArrayBufferCopy(vm.tls, vm.ctx, p, libc.Tsize_t(len(b)))
		libc.Xfree(vm.tls, p)
	}
	if isException(ab) {
		return jsUndefined, vm.takeException()
	}
	// The typed array constructor reads offset and length even when argc
	// is 1, so pass them as undefined.
	size := 3 * int(unsafe.Sizeof(lib.TJSValue{}))
	argv := vm.tls.Alloc(size)
	*(*[3]lib.TJSValue)(cmem(argv)) = [3]lib.TJSValue{ab, jsUndefined, jsUndefined}
	u8 := lib.XJS_NewTypedArray(vm.tls, vm.ctx, 3, argv, lib.EJS_TYPED_ARRAY_UINT8)
	vm.tls.Free(size)
	vm.free(ab)
	if isException(u8) {
		return jsUndefined, vm.takeException()
	}
	return u8, nil
}

func (vm *VM) parseJSON(s string) (lib.TJSValue, error) {
	p := vm.cString(s)
	defer libc.Xfree(vm.tls, p)
	name := vm.cString("<json>")
	defer libc.Xfree(vm.tls, name)
	v := lib.XJS_ParseJSON(vm.tls, vm.ctx, p, libc.Tsize_t(len(s)), name)
	if isException(v) {
		return jsUndefined, vm.takeException()
	}
	return v, nil
}

// goString converts with ToString; a lone surrogate becomes U+FFFD.
func (vm *VM) goString(v lib.TJSValue) (string, bool) {
	lenp := vm.tls.Alloc(8)
	defer vm.tls.Free(8)
	p := lib.XJS_ToCStringLen2(vm.tls, vm.ctx, lenp, v, 0)
	if p == 0 {
		vm.clearException()
		return "", false
	}
	n := *(*uint64)(cmem(lenp))
	b := unsafe.Slice((*byte)(cmem(p)), n)
	var s string
	if utf8.Valid(b) {
		s = string(b)
	} else {
		s = replaceSurrogates(b)
	}
	lib.XJS_FreeCString(vm.tls, vm.ctx, p)
	return s, true
}

// replaceSurrogates turns the WTF-8 QuickJS produces for lone surrogates
// (ED A0..BF xx) into one U+FFFD each, as a UTF-16 → UTF-8 conversion must.
func replaceSurrogates(b []byte) string {
	out := make([]byte, 0, len(b))
	for len(b) > 0 {
		if len(b) >= 3 && b[0] == 0xED && b[1] >= 0xA0 && b[1] <= 0xBF {
			out = append(out, "\uFFFD"...)
			b = b[3:]
			continue
		}
		r, size := utf8.DecodeRune(b)
		out = utf8.AppendRune(out, r)
		b = b[size:]
	}
	return string(out)
}

func (vm *VM) toFloat(v lib.TJSValue) float64 {
	switch v.Ftag {
	case lib.EJS_TAG_INT:
		return float64(int32(uint32(v.Fu.Fuint641)))
	case lib.EJS_TAG_FLOAT64:
		return math.Float64frombits(v.Fu.Fuint641)
	}
	p := vm.tls.Alloc(8)
	defer vm.tls.Free(8)
	if lib.XJS_ToFloat64(vm.tls, vm.ctx, p, v) < 0 {
		vm.clearException()
		return math.NaN()
	}
	return *(*float64)(cmem(p))
}

// goBytes copies the bytes of an ArrayBuffer, typed array or DataView.
func (vm *VM) goBytes(v lib.TJSValue) ([]byte, bool) {
	if v.Ftag != lib.EJS_TAG_OBJECT {
		return nil, false
	}
	out := vm.tls.Alloc(24)
	defer vm.tls.Free(24)
	offp, lenp, bpep := out, out+8, out+16
	buf := lib.XJS_GetTypedArrayBuffer(vm.tls, vm.ctx, v, offp, lenp, bpep)
	var off, n uint64
	if isException(buf) {
		vm.clearException()
		buf = vm.dup(v)
	} else {
		off = *(*uint64)(cmem(offp))
		n = *(*uint64)(cmem(lenp))
	}
	defer vm.free(buf)
	p := lib.XJS_GetArrayBuffer(vm.tls, vm.ctx, lenp, buf)
	if p == 0 {
		vm.clearException()
		return nil, false
	}
	if buf.Fu.Fuint641 == v.Fu.Fuint641 { // v itself is the ArrayBuffer
		n = *(*uint64)(cmem(lenp))
	}
	if n == 0 {
		return []byte{}, true
	}
	b := make([]byte, n)
	copy(b, unsafe.Slice((*byte)(cmem(p+uintptr(off))), n))
	return b, true
}
