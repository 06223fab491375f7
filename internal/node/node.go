// Package node serves the apps deployed in a store on one machine: it
// follows the app records to keep a route table and each app's traffic
// split, loads versions on their first request and drops them when idle,
// and reports usage, logs and metrics through its Telemetry.
package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/bindings"
	"github.com/kumo-dev/kumo/internal/router"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/store"
)

// Config configures a Node.
type Config struct {
	Store     *store.Store
	Runtime   *runtime.Runtime
	Telemetry *Telemetry // the runtime's Recorder and Console
	Logger    *slog.Logger
	// IdleVersion is how long a loaded version may go without a request
	// before it is dropped from memory; default 10 minutes.
	IdleVersion time.Duration
	// LoadTimeout bounds loading one version (read, decode, compile);
	// default 30s.
	LoadTimeout time.Duration
	// AllowPrivateNet lets every app's outbound fetch reach loopback and
	// private addresses.
	AllowPrivateNet bool
	// Secrets gives the values of the secrets versions declare (the
	// store's, decrypted); nil makes such versions fail to load. When an
	// app's secret changes in the store, its loaded versions are reloaded.
	Secrets bindings.SecretSource
	// OnActive, if set, is told each app's active versions whenever its
	// record is applied (nil: the app is gone), from the watch goroutine:
	// it must not block. Package triggers uses it to run queue consumers
	// and crons; see also Node.Invoke.
	OnActive func(app string, active []app.Split)
}

// Defaults of Config.
const (
	DefaultIdleVersion = 10 * time.Minute
	DefaultLoadTimeout = 30 * time.Second
)

// loadRetry is how long a version that failed to load answers with that
// failure before the next request tries again.
const loadRetry = 2 * time.Second

// Node serves HTTP requests for every app in the store.
type Node struct {
	cfg    Config
	log    *slog.Logger
	st     *store.Store
	rt     *runtime.Runtime
	tel    *Telemetry
	router *router.Router[*appState]

	// mu guards apps and each appState's versions map; the watch loop,
	// the janitor and Close take it, requests never do.
	mu   sync.Mutex
	apps map[string]*appState

	// applied is the highest revision of an app record applied so far;
	// appliedCh is closed and replaced whenever it grows.
	appliedMu sync.Mutex
	applied   uint64
	appliedCh chan struct{}

	// touchEvery is how stale a version's lastUsed may be, in nanoseconds:
	// a small fraction of IdleVersion, at most a second.
	touchEvery int64

	cancel    context.CancelFunc
	wg        sync.WaitGroup
	closeOnce sync.Once
	collector prometheus.Collector
}

// appState is one app as the node serves it.
type appState struct {
	name  string
	split atomic.Pointer[split] // nil: the app has no active version
	// versions are the app's versions in its current split, by id;
	// guarded by Node.mu.
	versions map[string]*versionState
}

// split is an app's traffic split, immutable once published.
type split struct {
	entries []splitEntry
	total   int
}

type splitEntry struct {
	v   *versionState
	cum int // cumulative weight up to and including this entry
}

// pick chooses the version for one request, at random by weight.
func (s *split) pick() *versionState {
	if len(s.entries) == 1 {
		return s.entries[0].v
	}
	x := rand.IntN(s.total)
	for _, e := range s.entries {
		if x < e.cum {
			return e.v
		}
	}
	return s.entries[len(s.entries)-1].v
}

// New starts a node: it watches the app records and returns once the
// current ones are applied, so the first request already sees every app.
func New(ctx context.Context, cfg Config) (*Node, error) {
	switch {
	case cfg.Store == nil:
		return nil, errors.New("creating node: Store is required")
	case cfg.Runtime == nil:
		return nil, errors.New("creating node: Runtime is required")
	case cfg.Telemetry == nil:
		return nil, errors.New("creating node: Telemetry is required")
	case cfg.IdleVersion < 0:
		return nil, fmt.Errorf("creating node: IdleVersion %v must be positive", cfg.IdleVersion)
	case cfg.LoadTimeout < 0:
		return nil, fmt.Errorf("creating node: LoadTimeout %v must be positive", cfg.LoadTimeout)
	}
	if cfg.IdleVersion == 0 {
		cfg.IdleVersion = DefaultIdleVersion
	}
	if cfg.LoadTimeout == 0 {
		cfg.LoadTimeout = DefaultLoadTimeout
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	log := cfg.Logger.With("component", "node")
	n := &Node{
		cfg:        cfg,
		log:        log,
		st:         cfg.Store,
		rt:         cfg.Runtime,
		tel:        cfg.Telemetry,
		router:     router.New[*appState](log),
		apps:       make(map[string]*appState),
		appliedCh:  make(chan struct{}),
		touchEvery: int64(min(cfg.IdleVersion/8, time.Second)),
	}
	n.collector = &instancesCollector{n: n}
	if err := n.tel.Registry().Register(n.collector); err != nil {
		return nil, fmt.Errorf("creating node: registering metrics: %w", err)
	}
	life, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	ready := make(chan error, 1)
	n.wg.Add(3)
	go n.watchLoop(life, ready)
	go n.janitor(life)
	go n.watchSecrets(life)
	select {
	case err := <-ready:
		if err != nil {
			n.Close()
			return nil, fmt.Errorf("creating node: %w", err)
		}
	case <-ctx.Done():
		n.Close()
		return nil, fmt.Errorf("creating node: waiting for the app records: %w", ctx.Err())
	}
	return n, nil
}

// Close stops following the store and unloads every version: idle
// instances close now, busy ones when their request finishes. Stop the
// HTTP server first so no new request arrives. Safe to call more than
// once.
func (n *Node) Close() {
	n.closeOnce.Do(func() {
		n.cancel()
		n.wg.Wait()
		n.tel.Registry().Unregister(n.collector)
		n.mu.Lock()
		var gone []*versionState
		for _, a := range n.apps {
			for _, v := range a.versions {
				gone = append(gone, v)
			}
		}
		n.mu.Unlock()
		for _, v := range gone {
			v.remove()
		}
	})
}

// ServeHTTP serves the data plane on net/http.
func (n *Node) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ref, v, refusal := n.route(r.Context(), r.Host, r.URL.Path)
	if ref == nil {
		if refusal.status != 0 {
			platformError(w, refusal.status, refusal.reason, refusal.msg)
		}
		return
	}
	ref.pool.ServeHTTP(w, r)
	// Idle time counts from the end of the last request; while one runs,
	// its reference keeps the version loaded.
	v.touch()
	ref.release()
}

// ServeFastHTTP serves the data plane on fasthttp. An invocation that
// outlives the handler (a streamed body, waitUntil work) keeps its
// instance, not the version's reference: a version unloaded meanwhile
// closes that instance when the invocation ends.
func (n *Node) ServeFastHTTP(ctx *fasthttp.RequestCtx) {
	ref, v, refusal := n.route(context.Background(), string(ctx.Host()), string(ctx.Path()))
	if ref == nil {
		if refusal.status != 0 {
			r := &ctx.Response
			r.Header.Set(runtime.ErrorHeader, refusal.reason)
			r.Header.SetContentType("text/plain; charset=utf-8")
			r.Header.Set("X-Content-Type-Options", "nosniff")
			r.SetStatusCode(refusal.status)
			r.SetBodyString(refusal.msg + "\n")
		}
		return
	}
	ref.pool.ServeFastHTTP(ctx)
	v.touch()
	ref.release()
}

// refusal is a request the node answers itself; status 0 means no answer
// (the client is gone).
type refusal struct {
	status      int
	reason, msg string
}

// route finds the pool for a request and references it; the caller
// releases the reference.
func (n *Node) route(ctx context.Context, host, path string) (*poolRef, *versionState, refusal) {
	// A version removed between the pick and its load (a rollback at
	// that instant) sends the request round again with the new split.
	for range 3 {
		route, _, ok := n.router.Lookup(host, path)
		if !ok {
			name, _ := router.FirstSegment(path)
			if len(name) > 64 {
				name = name[:64]
			}
			n.tel.countRequest("", "no-app")
			return nil, nil, refusal{http.StatusNotFound, "no-app", fmt.Sprintf("no app %q here", name)}
		}
		a := route.Value
		s := a.split.Load()
		if s == nil {
			n.tel.countRequest(a.name, "no-version")
			return nil, nil, refusal{http.StatusServiceUnavailable, "no-version", fmt.Sprintf("app %q has no active version", a.name)}
		}
		v := s.pick()
		ref, err := v.acquire(ctx)
		if errors.Is(err, errRemoved) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				// The client left while the version loaded; nobody to answer.
				return nil, nil, refusal{}
			}
			n.tel.countRequest(v.app, "load-failed")
			return nil, nil, refusal{http.StatusInternalServerError, "load-failed",
				fmt.Sprintf("version %s of app %q could not be loaded", app.ShortID(v.id), v.app)}
		}
		return ref, v, refusal{}
	}
	return nil, nil, refusal{http.StatusServiceUnavailable, "busy", "the app is changing; try again"}
}

// platformError answers a request Kumo itself refuses, with the reason in
// the Kumo-Error header.
func platformError(w http.ResponseWriter, status int, reason, msg string) {
	h := w.Header()
	h.Set(runtime.ErrorHeader, reason)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(msg + "\n"))
}

// Apps lists the apps the node serves, sorted.
func (n *Node) Apps() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	names := make([]string, 0, len(n.apps))
	for name := range n.apps {
		names = append(names, name)
	}
	slices.Sort(names)
	return names
}

// Loaded lists the versions of app that are in memory, sorted.
func (n *Node) Loaded(appName string) []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	a := n.apps[appName]
	if a == nil {
		return nil
	}
	var ids []string
	for id, v := range a.versions {
		if v.cur.Load() != nil {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return ids
}

// WaitApplied waits until the node has applied every app record change up
// to revision rev (the revision a store write of apps.<app> returned), so a
// caller that just changed an app knows the next request sees the change.
func (n *Node) WaitApplied(ctx context.Context, rev uint64) error {
	for {
		n.appliedMu.Lock()
		applied, ch := n.applied, n.appliedCh
		n.appliedMu.Unlock()
		if applied >= rev {
			return nil
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("waiting for revision %d (applied %d): %w", rev, applied, ctx.Err())
		}
	}
}

func (n *Node) setApplied(rev uint64) {
	n.appliedMu.Lock()
	defer n.appliedMu.Unlock()
	if rev > n.applied {
		n.applied = rev
		close(n.appliedCh)
		n.appliedCh = make(chan struct{})
	}
}

// watchLoop follows apps.* and applies every change. If the watch ends
// while the node runs (the store's connection was lost for good), it is
// started again and the fresh snapshot replaces the node's state.
func (n *Node) watchLoop(ctx context.Context, ready chan<- error) {
	defer n.wg.Done()
	first := true
	backoff := 100 * time.Millisecond
	for {
		err := n.watchOnce(ctx, func() {
			if first {
				first = false
				ready <- nil
			}
		})
		if ctx.Err() != nil {
			if first {
				ready <- ctx.Err()
			}
			return
		}
		n.log.Warn("app watch ended; watching again", "error", err, "backoff", backoff)
		select {
		case <-ctx.Done():
			if first {
				ready <- ctx.Err()
			}
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// watchOnce runs one watch: it gathers the initial records, replaces the
// node's state with them, calls synced, then applies changes as they come,
// in batches of whatever is already waiting.
func (n *Node) watchOnce(ctx context.Context, synced func()) error {
	ch, err := n.st.Watch(ctx, app.AppsPrefix+".*")
	if err != nil {
		return err
	}
	var initial []store.Change
	gotSync := false
	for c := range ch {
		if c.Synced {
			gotSync = true
			break
		}
		initial = append(initial, c)
	}
	if !gotSync {
		return errors.New("watch closed before the initial records")
	}
	n.apply(initial, true)
	synced()
	for c := range ch {
		batch := []store.Change{c}
	more:
		for len(batch) < 256 {
			select {
			case c, ok := <-ch:
				if !ok {
					break more
				}
				batch = append(batch, c)
			default:
				break more
			}
		}
		n.apply(batch, false)
	}
	return errors.New("watch closed")
}

// apply makes the node's state follow a batch of app record changes. With
// full set, the batch is every app there is, and apps not in it go.
func (n *Node) apply(changes []store.Change, full bool) {
	records := make(map[string]*app.AppRecord, len(changes)) // nil: deleted
	var maxRev uint64
	for _, c := range changes {
		maxRev = max(maxRev, c.Revision)
		name, ok := strings.CutPrefix(c.Key, app.AppsPrefix+".")
		if !ok || app.ValidName(name) != nil {
			n.log.Warn("ignoring app record with a bad key", "key", c.Key)
			continue
		}
		if c.Deleted {
			records[name] = nil
			continue
		}
		var rec app.AppRecord
		if err := json.Unmarshal(c.Value, &rec); err != nil {
			n.log.Error("ignoring unreadable app record", "app", name, "revision", c.Revision, "error", err)
			continue
		}
		if rec.Deleted {
			records[name] = nil
			continue
		}
		records[name] = &rec
	}

	var (
		routes  []router.Change[*appState]
		gone    []*versionState
		deleted []string
	)
	n.mu.Lock()
	if full {
		for name := range n.apps {
			if _, ok := records[name]; !ok {
				records[name] = nil
			}
		}
	}
	for name, rec := range records {
		a := n.apps[name]
		if rec == nil {
			if a == nil {
				continue
			}
			delete(n.apps, name)
			a.split.Store(nil)
			for _, v := range a.versions {
				gone = append(gone, v)
			}
			routes = append(routes, router.Change[*appState]{Route: router.Route[*appState]{App: name}, Delete: true})
			deleted = append(deleted, name)
			continue
		}
		if a == nil {
			a = &appState{name: name, versions: make(map[string]*versionState)}
			n.apps[name] = a
		}
		gone = append(gone, n.setSplitLocked(a, rec)...)
		routes = append(routes, router.Change[*appState]{Route: router.Route[*appState]{App: name, Hosts: rec.Hosts, Value: a}})
	}
	n.mu.Unlock()

	// Publish the routes before unloading anything, so the requests that
	// come next go to the new versions.
	n.router.Apply(routes...)
	for _, v := range gone {
		v.remove()
	}
	for _, name := range deleted {
		n.tel.forgetApp(name)
		n.log.Info("app removed", "app", name)
	}
	if n.cfg.OnActive != nil {
		for name, rec := range records {
			if rec == nil {
				n.cfg.OnActive(name, nil)
			} else {
				n.cfg.OnActive(name, rec.Active)
			}
		}
	}
	n.setApplied(maxRev)
}

// setSplitLocked publishes rec's traffic split for a and returns the
// versions that left it.
func (n *Node) setSplitLocked(a *appState, rec *app.AppRecord) []*versionState {
	keep := make(map[string]*versionState, len(rec.Active))
	s := &split{}
	for _, e := range rec.Active {
		if !app.ValidVersionID(e.Version) || e.Percent < 0 {
			n.log.Error("ignoring bad split entry", "app", a.name, "version", e.Version, "percent", e.Percent)
			continue
		}
		if e.Percent == 0 && len(rec.Active) > 1 {
			continue
		}
		v := a.versions[e.Version]
		if v == nil {
			v = &versionState{n: n, app: a.name, id: e.Version}
		}
		keep[e.Version] = v
		w := max(e.Percent, 1)
		s.total += w
		s.entries = append(s.entries, splitEntry{v: v, cum: s.total})
	}
	if len(s.entries) == 0 {
		a.split.Store(nil)
	} else {
		a.split.Store(s)
	}
	var gone []*versionState
	for id, v := range a.versions {
		if keep[id] == nil {
			gone = append(gone, v)
		}
	}
	a.versions = keep
	return gone
}

// janitor drops versions that have not served a request for IdleVersion.
func (n *Node) janitor(ctx context.Context) {
	defer n.wg.Done()
	every := min(max(n.cfg.IdleVersion/4, 10*time.Millisecond), 30*time.Second)
	tick := time.NewTicker(every)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			cutoff := now.Add(-n.cfg.IdleVersion).UnixNano()
			var idle []*versionState
			n.mu.Lock()
			for _, a := range n.apps {
				for _, v := range a.versions {
					if v.cur.Load() != nil && v.lastUsed.Load() < cutoff {
						idle = append(idle, v)
					}
				}
			}
			n.mu.Unlock()
			for _, v := range idle {
				if v.unloadIfIdle(cutoff) {
					n.log.Info("version unloaded after idle time", "app", v.app, "version", app.ShortID(v.id))
				}
			}
		}
	}
}

// instancesCollector reports kumo_instances, the live instances per app,
// read from the pools when scraped.
type instancesCollector struct{ n *Node }

var instancesDesc = prometheus.NewDesc("kumo_instances", "Live JavaScript instances (VMs) per app.", []string{"app"}, nil)

func (c *instancesCollector) Describe(ch chan<- *prometheus.Desc) { ch <- instancesDesc }

func (c *instancesCollector) Collect(ch chan<- prometheus.Metric) {
	counts := map[string]int{}
	c.n.mu.Lock()
	var refs []*poolRef
	var apps []string
	for name, a := range c.n.apps {
		for _, v := range a.versions {
			if ref := v.cur.Load(); ref != nil {
				refs = append(refs, ref)
				apps = append(apps, name)
			}
		}
	}
	c.n.mu.Unlock()
	for i, ref := range refs {
		counts[apps[i]] += ref.pool.Stats().Instances
	}
	for name, k := range counts {
		ch <- prometheus.MustNewConstMetric(instancesDesc, prometheus.GaugeValue, float64(k), name)
	}
}

var (
	_ http.Handler         = (*Node)(nil)
	_ prometheus.Collector = (*instancesCollector)(nil)
)
