package node

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/app/appruntime"
	"github.com/kumo-dev/kumo/internal/bindings"
	"github.com/kumo-dev/kumo/internal/runtime"
)

// errRemoved: the version left its app's split (or the app went) while a
// request was about to use it; the request picks again.
var errRemoved = errors.New("version no longer active")

// versionState is one version of one app on this node: its pool when
// loaded, and the bookkeeping to load it once and drop it when idle.
type versionState struct {
	n       *Node
	app, id string

	cur      atomic.Pointer[poolRef] // nil: not loaded
	lastUsed atomic.Int64            // unix nanoseconds of the last request

	mu       sync.Mutex
	loading  *loadCall // the load in progress, shared by its waiters
	failed   error     // the last load's error, answered until failedAt+loadRetry
	failedAt time.Time
	removed  bool
}

// poolRef counts the users of a pool: one reference for being the
// version's current pool, one per request running on it. The pool closes
// when the count drops to zero, so requests in flight when a version is
// retired finish on it.
type poolRef struct {
	pool *runtime.Pool
	refs atomic.Int64
}

// tryRef takes a reference unless the pool is already closing.
func (r *poolRef) tryRef() bool {
	for {
		n := r.refs.Load()
		if n <= 0 {
			return false
		}
		if r.refs.CompareAndSwap(n, n+1) {
			return true
		}
	}
}

func (r *poolRef) release() {
	if r.refs.Add(-1) == 0 {
		r.pool.Close()
	}
}

// loadCall is one load of a version that concurrent first requests wait
// on together.
type loadCall struct {
	done chan struct{}
	ref  *poolRef // set on success, with one reference for each waiter taken by acquire
	err  error
}

// touch records a request. lastUsed is written only when it moved by the
// node's touch granularity, which keeps the hot path from dirtying a shared
// cache line on every request.
func (v *versionState) touch() {
	now := time.Now().UnixNano()
	if now-v.lastUsed.Load() > v.n.touchEvery {
		v.lastUsed.Store(now)
	}
}

// acquire returns the version's pool with a reference the caller releases,
// loading the version if it is not in memory.
func (v *versionState) acquire(ctx context.Context) (*poolRef, error) {
	for {
		if ref := v.cur.Load(); ref != nil {
			if ref.tryRef() {
				return ref, nil
			}
			// Retired between the load and the reference; cur has moved.
			continue
		}
		ref, err := v.load(ctx)
		if err != nil || ref != nil {
			return ref, err
		}
	}
}

// load loads the version, or waits for the load already under way. It
// returns a referenced pool, an error, or neither when the loaded pool was
// retired before this caller could use it (acquire tries again).
func (v *versionState) load(ctx context.Context) (*poolRef, error) {
	v.mu.Lock()
	if ref := v.cur.Load(); ref != nil {
		v.mu.Unlock()
		return nil, nil
	}
	if v.removed {
		v.mu.Unlock()
		return nil, errRemoved
	}
	if v.failed != nil && time.Since(v.failedAt) < loadRetry {
		err := v.failed
		v.mu.Unlock()
		return nil, err
	}
	c := v.loading
	if c == nil {
		c = &loadCall{done: make(chan struct{})}
		v.loading = c
		// The load runs on its own context: a first request that gives up
		// must not fail the others waiting for the same load.
		go v.runLoad(c)
	}
	v.mu.Unlock()
	select {
	case <-c.done:
	case <-ctx.Done():
		return nil, fmt.Errorf("waiting for %s version %s to load: %w", v.app, app.ShortID(v.id), ctx.Err())
	}
	if c.err != nil {
		return nil, c.err
	}
	if c.ref.tryRef() {
		return c.ref, nil
	}
	return nil, nil
}

func (v *versionState) runLoad(c *loadCall) {
	n := v.n
	start := time.Now()
	ctx, cancel := context.WithTimeout(context.Background(), n.cfg.LoadTimeout)
	defer cancel()
	pool, err := n.loadPool(ctx, v.app, v.id)

	v.mu.Lock()
	v.loading = nil
	switch {
	case err != nil:
		v.failed, v.failedAt = err, time.Now()
		c.err = err
	case v.removed:
		c.err = errRemoved
	default:
		v.failed = nil
		c.ref = &poolRef{pool: pool}
		c.ref.refs.Store(1) // the "current pool" reference
		v.lastUsed.Store(time.Now().UnixNano())
		v.cur.Store(c.ref)
	}
	v.mu.Unlock()
	result := "ok"
	if err != nil {
		result = "error"
	}
	n.tel.metrics.versionLoads.WithLabelValues(v.app, result).Inc()
	if err != nil {
		n.log.Error("loading version failed", "app", v.app, "version", app.ShortID(v.id), "error", err)
		n.tel.Event(v.app, v.id, "", "error", "loading version failed: "+err.Error())
	} else if c.err != nil {
		pool.Close()
	} else {
		n.log.Info("version loaded", "app", v.app, "version", app.ShortID(v.id),
			"duration_ms", float64(time.Since(start).Microseconds())/1000)
	}
	close(c.done)
}

// loadPool reads a version's content from the store and compiles it.
func (n *Node) loadPool(ctx context.Context, appName, id string) (*runtime.Pool, error) {
	data, err := n.st.GetBlob(ctx, id)
	if err != nil {
		return nil, fmt.Errorf("loading %s version %s: %w", appName, app.ShortID(id), err)
	}
	if got := app.ContentID(data); got != id {
		return nil, fmt.Errorf("loading %s version %s: content hashes to %s", appName, app.ShortID(id), app.ShortID(got))
	}
	content, err := app.DecodeContent(data)
	if err != nil {
		return nil, fmt.Errorf("loading %s version %s: %w", appName, app.ShortID(id), err)
	}
	// env: the manifest's bindings over the store and this node.
	env, err := bindings.Build(ctx, n.bindingDeps(), appName, content.Manifest)
	if err != nil {
		return nil, fmt.Errorf("loading %s version %s: %w", appName, app.ShortID(id), err)
	}
	spec, err := appruntime.Spec(appName, id, content, env)
	if err != nil {
		return nil, fmt.Errorf("loading %s version %s: %w", appName, app.ShortID(id), err)
	}
	spec.Limits.AllowPrivateNet = n.cfg.AllowPrivateNet
	compiled, err := n.rt.Compile(spec)
	if err != nil {
		return nil, fmt.Errorf("loading %s version %s: %w", appName, app.ShortID(id), err)
	}
	return n.rt.NewPool(compiled), nil
}

// remove retires the version for good: requests that still pick it go
// round again, the ones running on it finish, then its pool closes.
func (v *versionState) remove() {
	v.mu.Lock()
	v.removed = true
	ref := v.cur.Swap(nil)
	v.mu.Unlock()
	if ref != nil {
		ref.release()
	}
}

// unloadIfIdle drops the version's pool if no request used it since
// cutoff (unix nanoseconds) and none is running; the next request loads
// it again.
func (v *versionState) unloadIfIdle(cutoff int64) bool {
	v.mu.Lock()
	ref := v.cur.Load()
	if ref == nil || v.lastUsed.Load() >= cutoff || ref.refs.Load() > 1 {
		v.mu.Unlock()
		return false
	}
	v.cur.Store(nil)
	v.mu.Unlock()
	ref.release()
	return true
}
