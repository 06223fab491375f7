package engine

import (
	"errors"
	"unsafe"

	lib "modernc.org/libquickjs"
)

// settlement is a Go result for a pending promise, applied by the VM owner.
type settlement struct {
	id     uint64
	value  any
	err    error
	forget bool
}

// Pending is the Go side of a promise an async op returned. Resolve, Reject
// and Forget may be called from any goroutine, once.
type Pending struct {
	vm *VM
	id uint64
}

// Promise makes the op return a new promise and returns its Go side. The
// op's work then runs elsewhere (a goroutine) and settles it; the VM owner
// applies settlements in Wait or Poll.
func (c *Call) Promise() (*Pending, error) {
	vm := c.vm
	size := 2 * int(unsafe.Sizeof(lib.TJSValue{}))
	funcs := vm.tls.Alloc(size)
	defer vm.tls.Free(size)
	p := lib.XJS_NewPromiseCapability(vm.tls, vm.ctx, funcs)
	if isException(p) {
		return nil, vm.takeException()
	}
	f := (*[2]lib.TJSValue)(cmem(funcs))
	t := &vm.pending
	t.next++
	t.entries[t.next] = pendingEntry{resolve: f[0], reject: f[1]}
	if c.set {
		vm.free(c.result)
	}
	c.result, c.set = p, true
	return &Pending{vm: vm, id: t.next}, nil
}

func (p *Pending) post(s settlement) {
	s.id = p.id
	t := &p.vm.pending
	t.mu.Lock()
	t.done = append(t.done, s)
	t.mu.Unlock()
	select {
	case t.notify <- struct{}{}:
	default:
	}
}

// Resolve fulfils the promise with v, converted as by Call.Return.
func (p *Pending) Resolve(v any) { p.post(settlement{value: v}) }

// Reject rejects the promise with err, converted as an op error is thrown.
func (p *Pending) Reject(err error) { p.post(settlement{err: err}) }

// Forget drops the promise without settling it (a cancelled timer).
func (p *Pending) Forget() { p.post(settlement{forget: true}) }

// Outstanding is the number of async op promises not yet settled.
func (vm *VM) Outstanding() int { return len(vm.pending.entries) }

// ErrIdle is returned by Wait when no async op is outstanding, so waiting
// could never make progress.
var ErrIdle = errors.New("no pending operations")

// Wait blocks until an async op settles or done is closed, applies every
// settlement that arrived and runs microtasks. It returns ErrIdle at once if
// nothing is outstanding, and nil when done is closed.
func (vm *VM) Wait(done <-chan struct{}) error {
	if vm.Outstanding() == 0 {
		return ErrIdle
	}
	select {
	case <-vm.pending.notify:
	case <-done:
		return nil
	}
	return vm.Poll()
}

// Notify returns a channel that receives when a settlement arrives, for
// callers that wait on other events too; call Poll after it fires.
func (vm *VM) Notify() <-chan struct{} { return vm.pending.notify }

// Poll applies settlements that have arrived, without blocking, then runs
// microtasks.
func (vm *VM) Poll() error {
	t := &vm.pending
	t.mu.Lock()
	batch := t.done
	t.done = nil
	t.mu.Unlock()
	if len(batch) > 0 {
		start := vm.enter()
		err := vm.apply(batch)
		vm.leave(start)
		if err != nil {
			return err
		}
	}
	return vm.RunJobs()
}

func (vm *VM) apply(batch []settlement) error {
	size := int(unsafe.Sizeof(lib.TJSValue{}))
	argv := vm.tls.Alloc(size)
	defer vm.tls.Free(size)
	for i, s := range batch {
		e, ok := vm.pending.entries[s.id]
		if !ok {
			continue
		}
		delete(vm.pending.entries, s.id)
		if s.forget {
			vm.free(e.resolve)
			vm.free(e.reject)
			continue
		}
		fn := e.resolve
		var arg lib.TJSValue
		if s.err != nil {
			fn = e.reject
			arg = vm.newError(s.err)
		} else {
			var err error
			arg, err = vm.toJS(s.value)
			if err != nil {
				fn = e.reject
				arg = vm.newError(err)
			}
		}
		*(*lib.TJSValue)(cmem(argv)) = arg
		r := lib.XJS_Call(vm.tls, vm.ctx, fn, jsUndefined, 1, argv)
		vm.free(arg)
		vm.free(e.resolve)
		vm.free(e.reject)
		if isException(r) {
			// Only the engine's own stops escape a resolving function;
			// the rest of the batch is dropped with the VM.
			vm.pending.mu.Lock()
			vm.pending.done = append(batch[i+1:], vm.pending.done...)
			vm.pending.mu.Unlock()
			return vm.takeException()
		}
		vm.free(r)
	}
	return vm.stopped()
}

// RunJobs runs queued microtasks (promise reactions) until none are left.
func (vm *VM) RunJobs() error {
	start := vm.enter()
	defer vm.leave(start)
	pctx := vm.tls.Alloc(8)
	defer vm.tls.Free(8)
	for {
		r := lib.XJS_ExecutePendingJob(vm.tls, vm.rt, pctx)
		if r == 0 {
			return vm.stopped()
		}
		if r < 0 {
			return vm.takeException()
		}
	}
}
