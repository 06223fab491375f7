package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/store"
)

// TelemetryConfig configures a Telemetry.
type TelemetryConfig struct {
	Store  *store.Store
	Logger *slog.Logger
	// FlushInterval is how often usage is added to the store; default 2s.
	// Only versions used since the last flush are written.
	FlushInterval time.Duration
	// LogBuffer is how many log lines wait for the store before new ones
	// are dropped; default 4096.
	LogBuffer int
}

// Defaults of TelemetryConfig.
const (
	DefaultFlushInterval = 2 * time.Second
	DefaultLogBuffer     = 4096
)

// Telemetry is what a node reports about the invocations it runs: it is
// the runtime's Recorder (usage per app and version, flushed to the store)
// and Console (user console lines, shipped to the app's log stream with the
// platform's own events), and it owns the node's Prometheus registry.
//
// It is created before the runtime, which takes it in runtime.Config, and
// closed after the runtime so the last invocations are flushed.
type Telemetry struct {
	cfg TelemetryConfig
	log *slog.Logger

	meters  meters
	flushMu sync.Mutex
	metrics *metrics

	lines   chan LogLine
	dropped atomic.Int64

	stop      chan struct{}
	wg        sync.WaitGroup
	closeOnce sync.Once
	closeErr  error
}

// LogLine is one line of an app's log stream, stored as JSON.
type LogLine struct {
	Time      time.Time `json:"time"`
	Level     string    `json:"level"`
	App       string    `json:"app"`
	Version   string    `json:"version,omitempty"`
	RequestID string    `json:"request_id,omitempty"`
	Message   string    `json:"message"`
	// Source is "platform" for Kumo's own events (an invocation failed, a
	// version could not be loaded); empty for the app's console output.
	Source string `json:"source,omitempty"`
}

// NewTelemetry checks cfg and starts the usage flusher and the log shipper.
func NewTelemetry(cfg TelemetryConfig) (*Telemetry, error) {
	if cfg.Store == nil {
		return nil, errors.New("creating telemetry: Store is required")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.FlushInterval == 0 {
		cfg.FlushInterval = DefaultFlushInterval
	} else if cfg.FlushInterval < 0 {
		return nil, fmt.Errorf("creating telemetry: FlushInterval %v must be positive", cfg.FlushInterval)
	}
	if cfg.LogBuffer == 0 {
		cfg.LogBuffer = DefaultLogBuffer
	} else if cfg.LogBuffer < 0 {
		return nil, fmt.Errorf("creating telemetry: LogBuffer %d must be positive", cfg.LogBuffer)
	}
	t := &Telemetry{
		cfg:     cfg,
		log:     cfg.Logger.With("component", "telemetry"),
		metrics: newMetrics(),
		lines:   make(chan LogLine, cfg.LogBuffer),
		stop:    make(chan struct{}),
	}
	t.metrics.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{
		Name: "kumo_log_lines_dropped_total",
		Help: "Log lines dropped because the log buffer was full.",
	}, func() float64 { return float64(t.dropped.Load()) }))
	empty := map[usageKey]*meter{}
	t.meters.cur.Store(&empty)
	t.meters.newMeter = func(k usageKey) *meter {
		return &meter{
			key:        k,
			okRequests: t.metrics.requests.WithLabelValues(k.app, string(runtime.OutcomeOK)),
			duration:   t.metrics.duration.WithLabelValues(k.app),
			coldStarts: t.metrics.coldStarts.WithLabelValues(k.app),
		}
	}
	t.wg.Add(2)
	go t.flushLoop()
	go t.shipLogs()
	return t, nil
}

// Record implements runtime.Recorder. It is on every request's path: it
// adds to atomic counters and hands failures to the log shipper, never
// waiting on the store.
func (t *Telemetry) Record(u *runtime.Usage) {
	t.record(u)
	if u.Outcome != runtime.OutcomeOK && u.Outcome != "" {
		msg := "invocation failed: " + string(u.Outcome)
		if u.Error != "" {
			msg += ": " + u.Error
		}
		t.enqueue(LogLine{Time: u.Start, Level: "error", App: u.App, Version: u.Version,
			RequestID: u.RequestID, Message: msg, Source: "platform"})
	}
}

// Console receives user console output (runtime.Config.Console).
func (t *Telemetry) Console(l runtime.ConsoleLine) {
	t.enqueue(LogLine{Time: l.Time, Level: l.Level, App: l.App, Version: l.Version,
		RequestID: l.RequestID, Message: l.Message})
}

// Event logs a platform event to app's log stream.
func (t *Telemetry) Event(app, version, requestID, level, msg string) {
	t.enqueue(LogLine{Time: time.Now(), Level: level, App: app, Version: version,
		RequestID: requestID, Message: msg, Source: "platform"})
}

// enqueue hands a line to the shipper, dropping it (and counting the drop)
// rather than making a request wait for the store.
func (t *Telemetry) enqueue(l LogLine) {
	select {
	case t.lines <- l:
	default:
		if n := t.dropped.Add(1); n&(n-1) == 0 {
			// Powers of two only, so a flood does not flood the node's log.
			t.log.Warn("log buffer full; dropping app log lines", "app", l.App, "dropped", n)
		}
	}
}

// LogsDropped is how many log lines were dropped because the buffer was
// full.
func (t *Telemetry) LogsDropped() int64 { return t.dropped.Load() }

// Registry is the node's Prometheus registry; components add their own
// collectors to it.
func (t *Telemetry) Registry() *prometheus.Registry { return t.metrics.reg }

// MetricsHandler serves the registry in the Prometheus exposition format.
func (t *Telemetry) MetricsHandler() http.Handler {
	return promhttp.HandlerFor(t.metrics.reg, promhttp.HandlerOpts{Registry: t.metrics.reg})
}

// countRequest counts a request the runtime never saw (no app, a version
// that failed to load).
func (t *Telemetry) countRequest(app, outcome string) {
	t.metrics.requests.WithLabelValues(app, outcome).Inc()
}

// forgetApp drops an app's metric series and unflushed usage once the app
// is gone (the control plane deletes its usage keys; a late flush would
// bring them back).
func (t *Telemetry) forgetApp(app string) {
	t.meters.mu.Lock()
	old := *t.meters.cur.Load()
	next := make(map[usageKey]*meter, len(old))
	for k, m := range old {
		if k.app != app {
			next[k] = m
		}
	}
	t.meters.cur.Store(&next)
	t.meters.mu.Unlock()
	l := prometheus.Labels{"app": app}
	t.metrics.requests.DeletePartialMatch(l)
	t.metrics.duration.DeletePartialMatch(l)
	t.metrics.coldStarts.DeletePartialMatch(l)
	t.metrics.limitsHit.DeletePartialMatch(l)
	t.metrics.versionLoads.DeletePartialMatch(l)
}

func (t *Telemetry) flushLoop() {
	defer t.wg.Done()
	tick := time.NewTicker(t.cfg.FlushInterval)
	defer tick.Stop()
	for {
		select {
		case <-t.stop:
			return
		case <-tick.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := t.Flush(ctx); err != nil {
				t.log.Warn("usage flush failed; retrying at the next one", "error", err)
			}
			cancel()
		}
	}
}

// shipLogs appends queued lines to the store until Close, then drains what
// is left.
func (t *Telemetry) shipLogs() {
	defer t.wg.Done()
	for {
		select {
		case l := <-t.lines:
			t.ship(l)
		case <-t.stop:
			for {
				select {
				case l := <-t.lines:
					t.ship(l)
				default:
					return
				}
			}
		}
	}
}

func (t *Telemetry) ship(l LogLine) {
	data, err := json.Marshal(l)
	if err != nil {
		t.log.Error("encoding log line", "app", l.App, "error", err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := t.cfg.Store.AppendLog(ctx, l.App, data); err != nil {
		t.dropped.Add(1)
		t.log.Warn("appending app log line", "app", l.App, "error", err)
	}
}

// Close stops the background work, ships the queued log lines and flushes
// the usage accumulated so far; ctx bounds the final flush. Close it after
// the runtime so no invocation is recorded afterwards. Safe to call more
// than once.
func (t *Telemetry) Close(ctx context.Context) error {
	t.closeOnce.Do(func() {
		close(t.stop)
		t.wg.Wait()
		if err := t.Flush(ctx); err != nil {
			t.closeErr = err
		}
	})
	return t.closeErr
}

// metrics are the node's Prometheus metrics.
type metrics struct {
	reg              *prometheus.Registry
	requests         *prometheus.CounterVec
	duration         *prometheus.HistogramVec
	coldStarts       *prometheus.CounterVec
	limitsHit        *prometheus.CounterVec
	versionLoads     *prometheus.CounterVec
	usageFlushErrors prometheus.Counter
}

func newMetrics() *metrics {
	m := &metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kumo_requests_total",
			Help: "HTTP requests to apps, by app and outcome (ok, exception, exceeded-cpu, ..., no-app, load-failed).",
		}, []string{"app", "outcome"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "kumo_request_duration_seconds",
			Help:    "Wall time of app invocations.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30},
		}, []string{"app"}),
		coldStarts: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kumo_cold_starts_total",
			Help: "Invocations that had to start a new instance.",
		}, []string{"app"}),
		limitsHit: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kumo_limits_hit_total",
			Help: "Invocations stopped by a limit, by kind (cpu, memory, stack, wall, request_body, instances).",
		}, []string{"app", "kind"}),
		versionLoads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "kumo_version_loads_total",
			Help: "Versions loaded into memory (read, decoded, compiled), by app and result (ok, error).",
		}, []string{"app", "result"}),
		usageFlushErrors: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "kumo_usage_flush_errors_total",
			Help: "Usage keys that could not be written at a flush (kept for the next one).",
		}),
	}
	m.reg.MustRegister(m.requests, m.duration, m.coldStarts, m.limitsHit, m.versionLoads, m.usageFlushErrors,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

var _ runtime.Recorder = (*Telemetry)(nil)
