// Package triggers runs the triggers of apps that are not HTTP requests on
// this node: the queue consumers and crons of each app's active version,
// started and stopped as versions come and go, and the same handlers fired
// by hand (`kumo trigger`).
//
// An app's triggers come from its primary version: the active version with
// the highest traffic percent (the first listed on a tie, i.e. the one
// being rolled out). Only that version's manifest is consulted and only
// that version runs queue batches and cron ticks, so a traffic split never
// runs a tick twice or consumes one queue with two configurations.
package triggers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/cron"
	"github.com/kumo-dev/kumo/internal/queue"
	"github.com/kumo-dev/kumo/internal/store"
)

// Invoker runs a handler of a version: an entry function of the runtime's
// dispatch layer ("queue", "scheduled") with args, loading the version if
// it is not in memory, and returns what the entry resolved with. The node
// implements it.
type Invoker interface {
	Invoke(ctx context.Context, app, version, handler string, args ...any) (string, error)
}

// Config configures a Manager.
type Config struct {
	Store  *store.Store // required
	Logger *slog.Logger
	// CronMinute scales cron time for tests (see cron.Config.Minute); zero
	// is a real minute.
	CronMinute time.Duration
	// QueueConcurrency is how many batches of one queue this node handles
	// at once; default 2.
	QueueConcurrency int
	// OnEvent, if set, receives notable events per app (a message
	// dead-lettered, a cron or batch that failed) for the app's log.
	OnEvent func(app, version, level, msg string)
}

// Manager keeps this node's queue consumers and crons in step with the
// apps' active versions.
type Manager struct {
	cfg    Config
	log    *slog.Logger
	st     *store.Store
	broker *queue.Broker
	crons  *cron.Scheduler

	inv     atomic.Pointer[invokerBox]
	started chan struct{}

	mu   sync.Mutex
	apps map[string]*appState
	// given holds manifests handed in by SetVersion, by version id, for
	// versions that are not in the store (kumo dev).
	given   map[string]app.Manifest
	pending map[string][]app.Split // app → its active splits; nil: gone
	wake    chan struct{}

	life   context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

type invokerBox struct{ Invoker }

// appState is what runs for one app on this node.
type appState struct {
	name string
	cur  atomic.Pointer[versionInfo]
	// consumers by queue name; only the reconcile goroutine touches them.
	consumers map[string]*queue.Consumer
}

// versionInfo is an app's primary version and its manifest.
type versionInfo struct {
	id       string
	manifest app.Manifest
}

// New provisions the cron stream and returns a Manager that acts on
// SetActive once Start gives it an Invoker.
func New(ctx context.Context, cfg Config) (*Manager, error) {
	if cfg.Store == nil {
		return nil, errors.New("triggers: Store is required")
	}
	if cfg.QueueConcurrency < 0 {
		return nil, fmt.Errorf("triggers: QueueConcurrency %d must not be negative", cfg.QueueConcurrency)
	}
	if cfg.QueueConcurrency == 0 {
		cfg.QueueConcurrency = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	m := &Manager{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "triggers"),
		st:      cfg.Store,
		broker:  queue.NewBroker(cfg.Store, cfg.Logger),
		started: make(chan struct{}),
		apps:    make(map[string]*appState),
		given:   make(map[string]app.Manifest),
		pending: make(map[string][]app.Split),
		wake:    make(chan struct{}, 1),
	}
	var err error
	m.crons, err = cron.New(ctx, cron.Config{Store: cfg.Store, Run: m.runTick, Logger: cfg.Logger, Minute: cfg.CronMinute})
	if err != nil {
		return nil, fmt.Errorf("starting triggers: %w", err)
	}
	m.life, m.cancel = context.WithCancel(context.Background())
	m.wg.Add(1)
	go m.reconcileLoop()
	return m, nil
}

// Broker returns the queue layer the manager consumes through.
func (m *Manager) Broker() *queue.Broker { return m.broker }

// Start lets the manager run handlers through inv; changes given to
// SetActive before are acted on now.
func (m *Manager) Start(inv Invoker) {
	if inv == nil {
		return
	}
	if m.inv.Swap(&invokerBox{inv}) == nil {
		close(m.started)
	}
}

// SetActive tells the manager app's active versions (nil: the app is gone
// or has none). It never blocks: the work happens on the manager's own
// goroutine, so the node may call it from its watch loop.
func (m *Manager) SetActive(appName string, active []app.Split) {
	m.mu.Lock()
	m.pending[appName] = slices.Clone(active)
	m.mu.Unlock()
	select {
	case m.wake <- struct{}{}:
	default:
	}
}

// SetVersion makes version id, whose manifest is mf, the only active
// version of appName, for a version that is not in the store: kumo dev
// builds its versions in memory.
func (m *Manager) SetVersion(appName, id string, mf app.Manifest) {
	m.mu.Lock()
	m.given = map[string]app.Manifest{id: mf}
	m.mu.Unlock()
	m.SetActive(appName, []app.Split{{Version: id, Percent: 100}})
}

// Close stops every consumer and cron of this node, waiting for the
// batches and ticks being run. Safe to call more than once.
func (m *Manager) Close() {
	m.once.Do(func() {
		m.cancel()
		m.wg.Wait()
		m.crons.Close()
		m.mu.Lock()
		apps := m.apps
		m.apps = map[string]*appState{}
		m.mu.Unlock()
		var wg sync.WaitGroup
		for _, a := range apps {
			for _, c := range a.consumers {
				wg.Go(c.Stop)
			}
		}
		wg.Wait()
	})
}

// Primary returns the primary version of an app's split, "" when none.
func Primary(active []app.Split) string {
	best, pct := "", -1
	for _, s := range active {
		if s.Percent > pct {
			best, pct = s.Version, s.Percent
		}
	}
	return best
}

func (m *Manager) reconcileLoop() {
	defer m.wg.Done()
	select {
	case <-m.started:
	case <-m.life.Done():
		return
	}
	retry := time.NewTimer(time.Hour)
	retry.Stop()
	for {
		m.mu.Lock()
		pending := m.pending
		m.pending = make(map[string][]app.Split)
		m.mu.Unlock()
		var failed map[string][]app.Split
		for name, active := range pending {
			if err := m.reconcile(name, active); err != nil {
				if m.life.Err() != nil {
					return
				}
				m.log.Error("starting triggers failed; trying again", "app", name, "error", err)
				if failed == nil {
					failed = make(map[string][]app.Split)
				}
				failed[name] = active
			}
		}
		if len(failed) > 0 {
			m.mu.Lock()
			for name, active := range failed {
				if _, newer := m.pending[name]; !newer {
					m.pending[name] = active
				}
			}
			m.mu.Unlock()
			retry.Reset(2 * time.Second)
		}
		select {
		case <-m.life.Done():
			return
		case <-m.wake:
		case <-retry.C:
		}
	}
}

// reconcile makes app's consumers and crons those of its primary version.
func (m *Manager) reconcile(name string, active []app.Split) error {
	id := Primary(active)
	m.mu.Lock()
	a := m.apps[name]
	if a == nil && id != "" {
		a = &appState{name: name, consumers: make(map[string]*queue.Consumer)}
		m.apps[name] = a
	}
	m.mu.Unlock()
	if a == nil {
		return nil
	}
	if id == "" {
		if err := m.crons.Set(name, nil); err != nil {
			return err
		}
		for q, c := range a.consumers {
			c.Stop()
			delete(a.consumers, q)
		}
		a.cur.Store(nil)
		m.mu.Lock()
		if m.apps[name] == a {
			delete(m.apps, name)
		}
		m.mu.Unlock()
		return nil
	}
	if cur := a.cur.Load(); cur != nil && cur.id == id {
		return nil
	}
	ctx, cancel := context.WithTimeout(m.life, 30*time.Second)
	defer cancel()
	m.mu.Lock()
	mf, given := m.given[id]
	m.mu.Unlock()
	if !given {
		var err error
		if mf, err = LoadManifest(ctx, m.st, id); err != nil {
			return err
		}
	}
	a.cur.Store(&versionInfo{id: id, manifest: mf})

	want := make(map[string]queue.ConsumerConfig)
	for _, c := range mf.Queues.Consumers {
		cfg := queue.ConsumerConfigFor(name, c)
		cfg.Concurrency = m.cfg.QueueConcurrency
		cfg.OnDead = m.onDead(a)
		want[c.Queue] = cfg
	}
	for q, c := range a.consumers {
		if cfg, ok := want[q]; !ok || !sameConsumer(c.Config(), cfg) {
			c.Stop()
			delete(a.consumers, q)
		}
	}
	var errs []error
	for q, cfg := range want {
		if a.consumers[q] != nil {
			continue
		}
		c, err := m.broker.Consume(ctx, cfg, m.queueHandler(a, q))
		if err != nil {
			errs = append(errs, err)
			continue
		}
		a.consumers[q] = c
	}
	if err := m.crons.Set(name, mf.Crons); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		m.log.Info("triggers follow version", "app", name, "version", app.ShortID(id),
			"queues", len(a.consumers), "crons", len(mf.Crons))
	} else {
		// Try the whole app again: the next pass starts what is missing.
		a.cur.Store(nil)
	}
	return errors.Join(errs...)
}

// sameConsumer reports whether two configurations differ only in their
// callbacks.
func sameConsumer(a, b queue.ConsumerConfig) bool {
	return a.App == b.App && a.Queue == b.Queue && a.MaxRetries == b.MaxRetries && a.RetryDelay == b.RetryDelay &&
		a.DeadLetter == b.DeadLetter && a.Batch == b.Batch && a.AckTimeout == b.AckTimeout && a.Concurrency == b.Concurrency
}

func (m *Manager) onDead(a *appState) func(*queue.Message, string) {
	return func(msg *queue.Message, reason string) {
		if m.cfg.OnEvent == nil {
			return
		}
		v := ""
		if cur := a.cur.Load(); cur != nil {
			v = cur.id
		}
		m.cfg.OnEvent(a.name, v, "warn", fmt.Sprintf("queue message %s dead-lettered after %d attempts: %s",
			msg.ID, msg.Attempts, reason))
	}
}

// LoadManifest reads the manifest of version id from the store.
func LoadManifest(ctx context.Context, st *store.Store, id string) (app.Manifest, error) {
	data, err := st.GetBlob(ctx, id)
	if err != nil {
		return app.Manifest{}, fmt.Errorf("reading version %s: %w", app.ShortID(id), err)
	}
	c, err := app.DecodeContent(data)
	if err != nil {
		return app.Manifest{}, fmt.Errorf("reading version %s: %w", app.ShortID(id), err)
	}
	return c.Manifest, nil
}

// ErrNoVersion: the app does not exist or has no active version.
var ErrNoVersion = errors.New("no active version")

// ActiveManifest reads app's record and returns its primary version and
// that version's manifest.
func ActiveManifest(ctx context.Context, st *store.Store, appName string) (string, app.Manifest, error) {
	data, _, err := st.Get(ctx, app.AppKey(appName))
	if errors.Is(err, store.ErrNotFound) {
		return "", app.Manifest{}, fmt.Errorf("app %q: %w", appName, ErrNoVersion)
	}
	if err != nil {
		return "", app.Manifest{}, fmt.Errorf("reading app %q: %w", appName, err)
	}
	var rec app.AppRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return "", app.Manifest{}, fmt.Errorf("reading app %q: %w", appName, err)
	}
	id := Primary(rec.Active)
	if id == "" || rec.Deleted {
		return "", app.Manifest{}, fmt.Errorf("app %q: %w", appName, ErrNoVersion)
	}
	mf, err := LoadManifest(ctx, st, id)
	return id, mf, err
}

// ---- handlers ----

// batchArgs encodes a batch as entry.queue takes it: the queue name, the
// messages' metadata as JSON and their bodies (strings for json and text,
// bytes for bytes).
func batchArgs(b *queue.Batch) []any {
	type meta struct {
		ID       string `json:"id"`
		TS       int64  `json:"ts"`
		Attempts int    `json:"attempts"`
		CT       string `json:"ct"`
	}
	metas := make([]meta, len(b.Messages))
	bodies := make([]any, len(b.Messages))
	for i, msg := range b.Messages {
		metas[i] = meta{ID: msg.ID, TS: msg.Timestamp.UnixMilli(), Attempts: msg.Attempts, CT: msg.ContentType}
		if msg.ContentType == "bytes" {
			bodies[i] = msg.Body
		} else {
			bodies[i] = string(msg.Body)
		}
	}
	data, _ := json.Marshal(metas)
	return []any{b.Queue, string(data), bodies}
}

// queueResult is what entry.queue resolves with.
type queueResult struct {
	D []float64 `json:"d"`
	E *string   `json:"e,omitempty"`
}

// decisions decodes entry.queue's result; a handler that threw comes back
// as decisions and an error.
func decisions(out string, n int) ([]queue.Decision, error) {
	var r queueResult
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		return nil, fmt.Errorf("reading the queue handler's decisions: %w", err)
	}
	if len(r.D) != n {
		return nil, fmt.Errorf("reading the queue handler's decisions: %d for %d messages", len(r.D), n)
	}
	ds := make([]queue.Decision, n)
	for i, d := range r.D {
		switch {
		case d == -2:
		case d == -1:
			ds[i] = queue.Decision{Retry: true, DefaultDelay: true}
		default:
			ds[i] = queue.Decision{Retry: true, Delay: time.Duration(d) * time.Second}
		}
	}
	if r.E != nil {
		return ds, errors.New(*r.E)
	}
	return ds, nil
}

func (m *Manager) invoker() Invoker {
	if b := m.inv.Load(); b != nil {
		return b.Invoker
	}
	return nil
}

// queueHandler runs batches of queue q through a's current version.
func (m *Manager) queueHandler(a *appState, q string) queue.Handler {
	return func(ctx context.Context, b *queue.Batch) ([]queue.Decision, error) {
		cur := a.cur.Load()
		inv := m.invoker()
		if cur == nil || inv == nil {
			return nil, errors.New("the app's version is changing")
		}
		out, err := inv.Invoke(ctx, a.name, cur.id, "queue", batchArgs(b)...)
		if err != nil {
			return nil, err
		}
		return decisions(out, len(b.Messages))
	}
}

// runTick runs one cron tick on the app's current version, if that
// version still has the cron.
func (m *Manager) runTick(ctx context.Context, t cron.Tick) error {
	m.mu.Lock()
	a := m.apps[t.App]
	m.mu.Unlock()
	var cur *versionInfo
	if a != nil {
		cur = a.cur.Load()
	}
	if cur == nil || !slices.Contains(cur.manifest.Crons, t.Cron) {
		// This node does not run the app's current version (yet): read it.
		id, mf, err := ActiveManifest(ctx, m.st, t.App)
		if errors.Is(err, ErrNoVersion) {
			return nil // the app is gone: nothing to run
		}
		if err != nil {
			return err
		}
		if !slices.Contains(mf.Crons, t.Cron) {
			return nil // the cron is gone: nothing to run
		}
		cur = &versionInfo{id: id, manifest: mf}
	}
	err := m.scheduled(ctx, t.App, cur.id, t.Cron, t.Time)
	if err != nil && m.cfg.OnEvent != nil {
		m.cfg.OnEvent(t.App, cur.id, "error", fmt.Sprintf("cron %q at %s failed: %v", t.Cron, t.Time.Format(time.RFC3339), err))
	}
	return err
}

func (m *Manager) scheduled(ctx context.Context, appName, version, expr string, at time.Time) error {
	inv := m.invoker()
	if inv == nil {
		return errors.New("triggers not started")
	}
	_, err := inv.Invoke(ctx, appName, version, "scheduled", float64(at.UnixMilli()), expr)
	return err
}

// ---- manual triggers ----

// CronRun is the outcome of one cron fired by hand.
type CronRun struct {
	Cron  string
	Error error
}

// RunCron fires app's crons by hand now, on this node: the one named
// expr, or every cron of the app's primary version when expr is "". The
// handler gets scheduledTime = now.
func (m *Manager) RunCron(ctx context.Context, appName, expr string) (version string, runs []CronRun, err error) {
	id, mf, err := ActiveManifest(ctx, m.st, appName)
	if err != nil {
		return "", nil, err
	}
	crons := mf.Crons
	if expr != "" {
		if !slices.Contains(crons, expr) {
			return id, nil, fmt.Errorf("app %q has no cron %q (its crons: %q)", appName, expr, crons)
		}
		crons = []string{expr}
	}
	if len(crons) == 0 {
		return id, nil, fmt.Errorf("app %q has no crons", appName)
	}
	now := time.Now()
	for _, c := range crons {
		runs = append(runs, CronRun{Cron: c, Error: m.scheduled(ctx, appName, id, c, now)})
	}
	return id, runs, nil
}

// QueueRun is the outcome of a queue handler fired by hand.
type QueueRun struct {
	Version  string
	ID       string // the message's id
	Decision queue.Decision
	Error    error // what the handler threw, if it did
}

// RunQueue runs app's queue handler by hand on one message with body
// (of contentType "json", "text" or "bytes"), as a batch of queue q, on
// this node, without going through the queue: nothing is stored, and the
// decision is reported, not applied.
func (m *Manager) RunQueue(ctx context.Context, appName, q string, body []byte, contentType string) (*QueueRun, error) {
	if contentType == "" {
		contentType = "json"
	}
	if !slices.Contains(queue.ContentTypes, contentType) {
		return nil, fmt.Errorf("content type %q: must be json, text or bytes", contentType)
	}
	if contentType == "json" && !json.Valid(body) {
		return nil, errors.New("the body is not valid JSON (pass --content-type text for plain text)")
	}
	id, _, err := ActiveManifest(ctx, m.st, appName)
	if err != nil {
		return nil, err
	}
	inv := m.invoker()
	if inv == nil {
		return nil, errors.New("triggers not started")
	}
	msg := &queue.Message{ID: queue.NewID(), Timestamp: time.Now(), Body: body, ContentType: contentType, Attempts: 1}
	b := &queue.Batch{Queue: q, Messages: []*queue.Message{msg}}
	out, err := inv.Invoke(ctx, appName, id, "queue", batchArgs(b)...)
	run := &QueueRun{Version: id, ID: msg.ID}
	if err != nil {
		run.Decision = queue.Decision{Retry: true, DefaultDelay: true}
		run.Error = err
		return run, nil
	}
	ds, herr := decisions(out, 1)
	if ds == nil {
		return nil, herr
	}
	run.Decision, run.Error = ds[0], herr
	return run, nil
}

// FormatDecision describes a decision for people: "ack", "retry" or
// "retry after 5s".
func FormatDecision(d queue.Decision) string {
	switch {
	case !d.Retry:
		return "ack"
	case d.DefaultDelay:
		return "retry"
	}
	return "retry after " + strconv.FormatInt(int64(d.Delay/time.Second), 10) + "s"
}
