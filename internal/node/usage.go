package node

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/store"
)

// usageKey names one version of one app; version ids alone are not
// enough, since two apps deploying the same content share an id.
type usageKey struct{ app, version string }

// meter accumulates one version's usage between flushes, and holds the
// Prometheus children its invocations update so the hot path skips the
// label lookups.
type meter struct {
	key                                                                  usageKey
	requests, errors, cpuUs, wallUs, memByteMs, bytesIn, bytesOut, colds atomic.Int64

	okRequests prometheus.Counter
	duration   prometheus.Observer
	coldStarts prometheus.Counter
	// idleFlushes counts flushes in a row that found nothing to write; the
	// meter is dropped after a while so the table does not grow forever.
	idleFlushes int
}

// take returns the counters accumulated since the last take and zeroes
// them. Each field is swapped on its own: an invocation recorded
// concurrently lands whole in this take or the next, never in neither.
func (m *meter) take() app.UsageTotals {
	return app.UsageTotals{
		Requests:   m.requests.Swap(0),
		Errors:     m.errors.Swap(0),
		CPUUs:      m.cpuUs.Swap(0),
		WallUs:     m.wallUs.Swap(0),
		MemByteMs:  m.memByteMs.Swap(0),
		BytesIn:    m.bytesIn.Swap(0),
		BytesOut:   m.bytesOut.Swap(0),
		ColdStarts: m.colds.Swap(0),
	}
}

// giveBack returns a delta that could not be written, for the next flush.
func (m *meter) giveBack(d app.UsageTotals) {
	m.requests.Add(d.Requests)
	m.errors.Add(d.Errors)
	m.cpuUs.Add(d.CPUUs)
	m.wallUs.Add(d.WallUs)
	m.memByteMs.Add(d.MemByteMs)
	m.bytesIn.Add(d.BytesIn)
	m.bytesOut.Add(d.BytesOut)
	m.colds.Add(d.ColdStarts)
}

// meters is a copy-on-write map of meters: Record reads it through an
// atomic pointer without locking; a version seen for the first time takes
// the lock and publishes a new map.
type meters struct {
	cur atomic.Pointer[map[usageKey]*meter]
	mu  sync.Mutex
	// retired meters were dropped from the map but may still be receiving
	// a Record that loaded the old map; they are flushed once more.
	retired  []*meter
	newMeter func(usageKey) *meter
}

func (ms *meters) get(app, version string) *meter {
	k := usageKey{app, version}
	if m := (*ms.cur.Load())[k]; m != nil {
		return m
	}
	ms.mu.Lock()
	defer ms.mu.Unlock()
	old := *ms.cur.Load()
	if m := old[k]; m != nil {
		return m
	}
	next := make(map[usageKey]*meter, len(old)+1)
	for k, m := range old {
		next[k] = m
	}
	m := ms.newMeter(k)
	next[k] = m
	ms.cur.Store(&next)
	return m
}

// record adds one invocation to its version's meter.
func (t *Telemetry) record(u *runtime.Usage) {
	m := t.meters.get(u.App, u.Version)
	m.requests.Add(1)
	if u.Outcome != runtime.OutcomeOK {
		m.errors.Add(1)
	}
	cpuUs, wallUs := u.CPU.Microseconds(), u.Wall.Microseconds()
	m.cpuUs.Add(cpuUs)
	m.wallUs.Add(wallUs)
	if u.MemoryPeak > 0 {
		m.memByteMs.Add(u.MemoryPeak * wallUs / 1000)
	}
	m.bytesIn.Add(u.BytesIn)
	m.bytesOut.Add(u.BytesOut)
	if u.ColdStart {
		m.colds.Add(1)
		m.coldStarts.Inc()
	}
	m.duration.Observe(u.Wall.Seconds())
	if u.Outcome == runtime.OutcomeOK {
		m.okRequests.Inc()
		return
	}
	t.metrics.requests.WithLabelValues(u.App, string(u.Outcome)).Inc()
	if kind := limitKind(u.Outcome); kind != "" {
		t.metrics.limitsHit.WithLabelValues(u.App, kind).Inc()
	}
}

// limitKind is the kumo_limits_hit_total kind of an outcome, or "" when
// the outcome is not a limit.
func limitKind(o runtime.Outcome) string {
	switch o {
	case runtime.OutcomeCPU:
		return "cpu"
	case runtime.OutcomeMemory:
		return "memory"
	case runtime.OutcomeStack:
		return "stack"
	case runtime.OutcomeTimeout:
		return "wall"
	case runtime.OutcomeTooLarge:
		return "request_body"
	case runtime.OutcomeOverload:
		return "instances"
	}
	return ""
}

// idleMeterFlushes is how many empty flushes in a row drop a meter.
const idleMeterFlushes = 60

// maxUpdateTries bounds the read-add-write attempts of one usage key in one
// flush; a delta still unwritten goes back to its meter for the next one.
const maxUpdateTries = 20

// Flush writes the usage accumulated since the last flush to the store,
// adding it to usage.<app>.<version> with optimistic concurrency so that
// several nodes can add to one key without losing an increment. A delta
// that cannot be written is kept for the next flush.
func (t *Telemetry) Flush(ctx context.Context) error {
	t.flushMu.Lock()
	defer t.flushMu.Unlock()

	t.meters.mu.Lock()
	cur := *t.meters.cur.Load()
	retired := t.meters.retired
	t.meters.retired = nil
	t.meters.mu.Unlock()

	var errs []error
	var idle []usageKey
	flush := func(m *meter) {
		d := m.take()
		if d == (app.UsageTotals{}) {
			m.idleFlushes++
			if m.idleFlushes >= idleMeterFlushes {
				idle = append(idle, m.key)
			}
			return
		}
		m.idleFlushes = 0
		if err := t.addUsage(ctx, m.key, d); err != nil {
			m.giveBack(d)
			errs = append(errs, err)
		}
	}
	for _, m := range cur {
		flush(m)
	}
	var lost []*meter
	for _, m := range retired {
		flush(m)
		if m.idleFlushes == 0 {
			// It had something: keep it around one more round.
			lost = append(lost, m)
		}
	}
	t.meters.mu.Lock()
	t.meters.retired = append(t.meters.retired, lost...)
	if len(idle) > 0 {
		old := *t.meters.cur.Load()
		next := make(map[usageKey]*meter, len(old))
		for k, m := range old {
			next[k] = m
		}
		for _, k := range idle {
			if m := next[k]; m != nil && m.idleFlushes >= idleMeterFlushes {
				delete(next, k)
				m.idleFlushes = 0
				t.meters.retired = append(t.meters.retired, m)
			}
		}
		t.meters.cur.Store(&next)
	}
	t.meters.mu.Unlock()
	if len(errs) > 0 {
		t.metrics.usageFlushErrors.Add(float64(len(errs)))
		return fmt.Errorf("flushing usage: %w", errors.Join(errs...))
	}
	return nil
}

// addUsage adds d to the stored totals of k.
func (t *Telemetry) addUsage(ctx context.Context, k usageKey, d app.UsageTotals) error {
	key := app.UsageKey(k.app, k.version)
	for try := range maxUpdateTries {
		var totals app.UsageTotals
		old, rev, err := t.cfg.Store.Get(ctx, key)
		switch {
		case errors.Is(err, store.ErrNotFound):
			rev = 0
		case err != nil:
			return fmt.Errorf("reading usage of %s: %w", key, err)
		default:
			if err := json.Unmarshal(old, &totals); err != nil {
				// A corrupt value would otherwise block this key for good;
				// starting again from zero loses less than stopping.
				t.log.Error("usage value unreadable; restarting its totals", "key", key, "error", err)
				totals = app.UsageTotals{}
			}
		}
		totals.Merge(d)
		val, err := json.Marshal(totals)
		if err != nil {
			return fmt.Errorf("encoding usage of %s: %w", key, err)
		}
		_, err = t.cfg.Store.Update(ctx, key, val, rev)
		if err == nil {
			return nil
		}
		if !errors.Is(err, store.ErrConflict) {
			return fmt.Errorf("writing usage of %s: %w", key, err)
		}
		// Another node wrote in between: read again and add on top.
		select {
		case <-ctx.Done():
			return fmt.Errorf("writing usage of %s: %w", key, ctx.Err())
		case <-time.After(time.Duration(try+1) * time.Millisecond):
		}
	}
	return fmt.Errorf("writing usage of %s: %d conflicting writes in a row: %w", key, maxUpdateTries, store.ErrConflict)
}
