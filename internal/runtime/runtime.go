// Package runtime runs app versions: it keeps pools of JavaScript instances
// per version, dispatches invocations to them under the app's limits, and
// meters each invocation.
package runtime

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/engine"
	"github.com/kumo-dev/kumo/internal/webapi"
)

// Config configures a Runtime.
type Config struct {
	Logger *slog.Logger
	// Spares is how many blank VMs (Web APIs loaded, no app) are kept
	// ready, so a cold start only loads the app's bytecode.
	Spares int
	// Recorder receives the usage of every invocation; may be nil.
	Recorder Recorder
	// Console receives user console output; nil logs it through Logger.
	Console func(c ConsoleLine)
	// ExposeErrors puts uncaught exceptions and their stacks in 500
	// responses (development).
	ExposeErrors bool
	// JanitorInterval is how often idle instances are looked for.
	JanitorInterval time.Duration
}

// ConsoleLine is one line of user console output.
type ConsoleLine struct {
	App, Version, RequestID, Level, Message string
	Time                                    time.Time
}

// Runtime owns the Web API layer, the spare VMs and every pool.
type Runtime struct {
	cfg       Config
	log       *slog.Logger
	web       *webapi.Runtime
	spares    chan *blank
	compilers chan *compiler
	stop      chan struct{}
	wg        sync.WaitGroup

	mu    sync.Mutex
	pools map[*Pool]struct{}

	node   string
	reqSeq atomic.Uint64
}

// blank is a VM with the Web APIs loaded and no app yet.
type blank struct {
	vm    *engine.VM
	entry engine.Value
	host  *webapi.Host
}

// New starts a Runtime: compiles the Web API layer and starts filling the
// spare VMs.
func New(cfg Config) (*Runtime, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Spares < 0 {
		return nil, fmt.Errorf("runtime: spares %d must not be negative", cfg.Spares)
	}
	if cfg.JanitorInterval == 0 {
		cfg.JanitorInterval = time.Second
	}
	web, err := webapi.NewRuntime()
	if err != nil {
		return nil, err
	}
	var id [5]byte
	_, _ = rand.Read(id[:])
	rt := &Runtime{
		cfg:       cfg,
		log:       cfg.Logger.With("component", "runtime"),
		web:       web,
		spares:    make(chan *blank, cfg.Spares),
		compilers: make(chan *compiler, 2),
		stop:      make(chan struct{}),
		pools:     make(map[*Pool]struct{}),
		node:      base32.HexEncoding.WithPadding(base32.NoPadding).EncodeToString(id[:]),
	}
	if cfg.Spares > 0 {
		rt.wg.Add(1)
		go rt.fillSpares()
	}
	rt.wg.Add(1)
	go rt.janitor()
	return rt, nil
}

// Close stops background work and closes every pool and spare VM.
func (rt *Runtime) Close() {
	select {
	case <-rt.stop:
		return
	default:
	}
	close(rt.stop)
	rt.wg.Wait()
	for {
		select {
		case b := <-rt.spares:
			b.close()
			continue
		default:
		}
		break
	}
	for {
		select {
		case c := <-rt.compilers:
			c.vm.Close()
			continue
		default:
		}
		break
	}
	rt.mu.Lock()
	pools := make([]*Pool, 0, len(rt.pools))
	for p := range rt.pools {
		pools = append(pools, p)
	}
	rt.mu.Unlock()
	for _, p := range pools {
		p.Close()
	}
}

func (rt *Runtime) newBlank() (*blank, error) {
	h := &webapi.Host{}
	vm, entry, err := rt.web.NewVM(engine.Config{}, h)
	if err != nil {
		return nil, err
	}
	return &blank{vm: vm, entry: entry, host: h}, nil
}

func (b *blank) close() {
	b.entry.Free()
	b.vm.Close()
}

func (rt *Runtime) fillSpares() {
	defer rt.wg.Done()
	for {
		b, err := rt.newBlank()
		if err != nil {
			rt.log.Error("creating spare VM", "err", err)
			select {
			case <-time.After(time.Second):
				continue
			case <-rt.stop:
				return
			}
		}
		select {
		case rt.spares <- b:
		case <-rt.stop:
			b.close()
			return
		}
		// A spare was just taken by a cold start, which is still running:
		// building the next one now would take the CPU from it (on one core
		// it doubles that request's latency), so wait a little first.
		select {
		case <-time.After(spareRefillDelay):
		case <-rt.stop:
			return
		}
	}
}

// spareRefillDelay is the pause before refilling the spares after one was
// taken; a cold start needs well under this to answer.
const spareRefillDelay = 3 * time.Millisecond

// takeBlank returns a spare VM, or makes one when none is ready.
func (rt *Runtime) takeBlank() (*blank, error) {
	select {
	case b := <-rt.spares:
		return b, nil
	default:
		return rt.newBlank()
	}
}

func (rt *Runtime) janitor() {
	defer rt.wg.Done()
	t := time.NewTicker(rt.cfg.JanitorInterval)
	defer t.Stop()
	for {
		select {
		case <-rt.stop:
			return
		case now := <-t.C:
			rt.mu.Lock()
			pools := make([]*Pool, 0, len(rt.pools))
			for p := range rt.pools {
				pools = append(pools, p)
			}
			rt.mu.Unlock()
			for _, p := range pools {
				p.evictIdle(now)
			}
		}
	}
}

// newRequestID returns an id unique to this node's lifetime and short
// enough for every log line.
func (rt *Runtime) newRequestID() string {
	return rt.node + "-" + strconv.FormatUint(rt.reqSeq.Add(1), 36)
}

// VersionSpec is what Load needs to run a version.
type VersionSpec struct {
	App       string
	ID        string
	Code      string // the bundle, a classic script (see package bundle)
	SourceMap *bundle.SourceMap
	Limits    Limits
	// Bindings is what handlers receive as env; nil means an empty env.
	Bindings *binding.Set
}

// Version is a compiled, runnable version.
type Version struct {
	App, ID   string
	bytecode  []byte
	sourceMap *bundle.SourceMap
	limits    Limits
	bindings  *binding.Set
	envJSON   string // the env descriptor 90_dispatch.js's setEnv takes
}

// envDescriptor describes env for the JavaScript side: every binding by
// name with its kind, and the values of vars and secrets.
func envDescriptor(set *binding.Set) (string, error) {
	type entry struct {
		Kind  binding.Kind `json:"kind"`
		Value string       `json:"value,omitempty"`
	}
	d := make(map[string]entry)
	add := func(name string, e entry) error {
		if _, dup := d[name]; dup {
			return fmt.Errorf("env.%s is bound twice", name)
		}
		d[name] = e
		return nil
	}
	if set != nil {
		for n, v := range set.Vars {
			if err := add(n, entry{Kind: binding.KindVar, Value: v}); err != nil {
				return "", err
			}
		}
		for n, v := range set.Secrets {
			if err := add(n, entry{Kind: binding.KindSecret, Value: v}); err != nil {
				return "", err
			}
		}
		for n := range set.KV {
			if err := add(n, entry{Kind: binding.KindKV}); err != nil {
				return "", err
			}
		}
		for n := range set.Buckets {
			if err := add(n, entry{Kind: binding.KindBucket}); err != nil {
				return "", err
			}
		}
		for n := range set.Queues {
			if err := add(n, entry{Kind: binding.KindQueue}); err != nil {
				return "", err
			}
		}
		for n := range set.Services {
			if err := add(n, entry{Kind: binding.KindService}); err != nil {
				return "", err
			}
		}
	}
	b, err := json.Marshal(d)
	return string(b), err
}

// Compile checks and compiles a version's bundle to bytecode; a syntax
// error comes back with its position in the user's source.
func (rt *Runtime) Compile(spec VersionSpec) (*Version, error) {
	limits := spec.Limits.WithDefaults()
	if err := limits.Validate(); err != nil {
		return nil, err
	}
	c, err := rt.takeCompiler()
	if err != nil {
		return nil, err
	}
	code, err := c.vm.Compile(bundle.BundleFileName, spec.Code)
	rt.putCompiler(c)
	if err != nil {
		var exc *engine.Exception
		if errors.As(err, &exc) && spec.SourceMap != nil {
			return nil, fmt.Errorf("compiling %s: %s", spec.App, spec.SourceMap.RewriteStack(exc.Error()+"\n"+exc.Stack))
		}
		return nil, fmt.Errorf("compiling %s: %w", spec.App, err)
	}
	env, err := envDescriptor(spec.Bindings)
	if err != nil {
		return nil, fmt.Errorf("compiling %s: %w", spec.App, err)
	}
	return &Version{App: spec.App, ID: spec.ID, bytecode: code, sourceMap: spec.SourceMap, limits: limits,
		bindings: spec.Bindings, envJSON: env}, nil
}

// takeCompiler returns a VM to compile with. Compiling runs no script, so
// a VM is reused from compile to compile; making one costs more than most
// compiles.
func (rt *Runtime) takeCompiler() (*compiler, error) {
	select {
	case c := <-rt.compilers:
		return c, nil
	default:
		vm, err := engine.New(engine.Config{}, "__unused", nil)
		if err != nil {
			return nil, err
		}
		return &compiler{vm: vm}, nil
	}
}

// compilerUses bounds how many bundles one compile VM sees: the names a
// compile interns stay in its atom table.
const compilerUses = 256

func (rt *Runtime) putCompiler(c *compiler) {
	c.uses++
	if c.uses < compilerUses {
		select {
		case rt.compilers <- c:
			return
		default:
		}
	}
	c.vm.Close()
}

type compiler struct {
	vm   *engine.VM
	uses int
}

// NewPool makes the instance pool of a compiled version. Instances are
// created on demand.
func (rt *Runtime) NewPool(v *Version) *Pool {
	p := &Pool{rt: rt, v: v, sem: make(chan struct{}, v.limits.MaxInstances)}
	rt.mu.Lock()
	rt.pools[p] = struct{}{}
	rt.mu.Unlock()
	return p
}

func (rt *Runtime) forget(p *Pool) {
	rt.mu.Lock()
	delete(rt.pools, p)
	rt.mu.Unlock()
}
