package runtime

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kumo-dev/kumo/internal/engine"
	"github.com/kumo-dev/kumo/internal/webapi"
)

// Pool holds the instances of one version. Each instance runs one
// invocation at a time; the pool runs at most Limits.MaxInstances at once.
type Pool struct {
	rt  *Runtime
	v   *Version
	sem chan struct{} // one token per instance in use

	mu     sync.Mutex
	idle   []*instance // most recently used last, so hot instances stay warm
	live   int
	closed bool

	requests   atomic.Int64
	coldStarts atomic.Int64
}

// Version returns the version the pool runs.
func (p *Pool) Version() *Version { return p.v }

// Stats is a snapshot of a pool.
type Stats struct {
	Requests, ColdStarts int64
	Instances, Idle      int
}

// Stats returns the pool's counters.
func (p *Pool) Stats() Stats {
	p.mu.Lock()
	defer p.mu.Unlock()
	return Stats{Requests: p.requests.Load(), ColdStarts: p.coldStarts.Load(), Instances: p.live, Idle: len(p.idle)}
}

// instance is one VM with the version loaded.
type instance struct {
	pool      *Pool
	vm        *engine.VM
	host      *webapi.Host
	entry     engine.Value
	fetch     engine.Value
	waitUntil engine.Value
	kinds     string
	lastUsed  time.Time
	requestID string
}

var errOverloaded = errors.New("all instances are busy")

// acquire returns an idle instance or starts one, waiting while the pool
// is at its cap.
func (p *Pool) acquire(ctx context.Context, wall *lazyDeadline) (inst *instance, cold bool, err error) {
	select {
	case p.sem <- struct{}{}:
	default:
		var deadline <-chan struct{}
		if wall != nil {
			deadline = wall.done()
		}
		select {
		case p.sem <- struct{}{}:
		case <-ctx.Done():
			return nil, false, errOverloaded
		case <-deadline:
			return nil, false, errOverloaded
		}
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.sem
		return nil, false, errors.New("version unloaded")
	}
	if n := len(p.idle); n > 0 {
		inst = p.idle[n-1]
		p.idle = p.idle[:n-1]
		p.mu.Unlock()
		return inst, false, nil
	}
	p.live++
	p.mu.Unlock()
	inst, err = p.start()
	if err != nil {
		p.mu.Lock()
		p.live--
		p.mu.Unlock()
		<-p.sem
		return nil, true, err
	}
	p.coldStarts.Add(1)
	return inst, true, nil
}

// release returns inst to the pool, or closes it when discard is set (a
// limit was hit, so its heap cannot be trusted) or the pool is closed.
func (p *Pool) release(inst *instance, discard bool) {
	inst.lastUsed = time.Now()
	p.mu.Lock()
	if discard || p.closed {
		p.live--
		p.mu.Unlock()
		inst.close()
	} else {
		p.idle = append(p.idle, inst)
		p.mu.Unlock()
	}
	<-p.sem
}

// start makes an instance: a blank VM, the app's bytecode, its handlers.
func (p *Pool) start() (*instance, error) {
	b, err := p.rt.takeBlank()
	if err != nil {
		return nil, err
	}
	v := p.v
	inst := &instance{pool: p, vm: b.vm, host: b.host, entry: b.entry}
	b.vm.SetMemoryLimit(v.limits.Memory)
	b.vm.SetCPUBudget(v.limits.CPU)
	inst.host.Log = inst.console
	inst.host.AllowPrivateNetwork = v.limits.AllowPrivateNet
	inst.host.MaxSubrequests = v.limits.Subrequests
	inst.host.Bindings = v.bindings
	if err := inst.load(); err != nil {
		inst.close()
		return nil, fmt.Errorf("starting %s: %w", v.App, p.mapError(err))
	}
	// Whatever the top level opened while loading belongs to no request.
	inst.host.ResetInvocation()
	return inst, nil
}

func (inst *instance) load() error {
	vm, v := inst.vm, inst.pool.v
	res, err := vm.EvalBytecode(v.bytecode)
	if err != nil {
		return err
	}
	res.Free()
	if err := vm.RunJobs(); err != nil {
		return err
	}
	initFn := inst.entry.Get("init")
	defer initFn.Free()
	kinds, err := initFn.Call(inst.entry)
	if err != nil {
		return err
	}
	inst.kinds = kinds.String()
	kinds.Free()
	setEnv := inst.entry.Get("setEnv")
	defer setEnv.Free()
	r, err := setEnv.Call(inst.entry, engine.JSON(v.envJSON))
	if err != nil {
		return err
	}
	r.Free()
	inst.fetch = inst.entry.Get("fetch")
	inst.waitUntil = inst.entry.Get("waitUntil")
	return nil
}

func (inst *instance) close() {
	inst.fetch.Free()
	inst.waitUntil.Free()
	inst.entry.Free()
	inst.vm.Close()
}

func (inst *instance) console(level, msg string) {
	p := inst.pool
	line := ConsoleLine{App: p.v.App, Version: p.v.ID, RequestID: inst.requestID, Level: level, Message: msg, Time: time.Now()}
	if p.rt.cfg.Console != nil {
		p.rt.cfg.Console(line)
		return
	}
	p.rt.log.Info(msg, "app", line.App, "version", line.Version, "request_id", line.RequestID, "level", level, "stream", "console")
}

// Handles reports whether the version has a handler of kind ("fetch",
// "scheduled", "queue"), starting an instance if none is running.
func (p *Pool) Handles(ctx context.Context, kind string) (bool, error) {
	inst, _, err := p.acquire(ctx, nil)
	if err != nil {
		return false, err
	}
	defer p.release(inst, false)
	for _, k := range strings.Split(inst.kinds, ",") {
		if k == kind {
			return true, nil
		}
	}
	return false, nil
}

// Close stops the pool: idle instances close now, busy ones when they
// finish.
func (p *Pool) Close() {
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		return
	}
	p.closed = true
	idle := p.idle
	p.idle = nil
	p.live -= len(idle)
	p.mu.Unlock()
	for _, inst := range idle {
		inst.close()
	}
	p.rt.forget(p)
}

// evictIdle closes instances idle for longer than the idle timeout.
func (p *Pool) evictIdle(now time.Time) {
	cutoff := now.Add(-p.v.limits.IdleTimeout)
	p.mu.Lock()
	var old []*instance
	keep := p.idle[:0]
	for _, inst := range p.idle {
		if inst.lastUsed.Before(cutoff) {
			old = append(old, inst)
		} else {
			keep = append(keep, inst)
		}
	}
	p.idle = keep
	p.live -= len(old)
	p.mu.Unlock()
	for _, inst := range old {
		inst.close()
	}
}

// mapError rewrites positions in a JS stack from the bundle to the user's
// source files.
func (p *Pool) mapError(err error) error {
	var exc *engine.Exception
	if errors.As(err, &exc) && p.v.sourceMap != nil && exc.Stack != "" {
		return &engine.Exception{Name: exc.Name, Message: exc.Message, Stack: p.v.sourceMap.RewriteStack(exc.Stack)}
	}
	return err
}
