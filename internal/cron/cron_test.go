package cron

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// runs counts the ticks run, by app, cron and tick time, and by node.
type runs struct {
	mu     sync.Mutex
	byTick map[int64]int
	byNode map[string]int
}

func newRuns() *runs { return &runs{byTick: map[int64]int{}, byNode: map[string]int{}} }

func (r *runs) runner(node string) Runner {
	return func(_ context.Context, t Tick) error {
		r.mu.Lock()
		defer r.mu.Unlock()
		r.byTick[t.Unix]++
		r.byNode[node]++
		return nil
	}
}

func (r *runs) ticks() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.byTick)
}

func newScheduler(t *testing.T, st *store.Store, run Runner) *Scheduler {
	t.Helper()
	s, err := New(t.Context(), Config{Store: st, Run: run, Logger: testutil.Logger(t), Minute: time.Second, AckWait: 3 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(s.Close)
	return s
}

// Two nodes (schedulers on one store) both publish every tick; each tick
// runs once.
func TestEachTickRunsOnceAcrossNodes(t *testing.T) {
	st := testutil.Store(t)
	r := newRuns()
	a := newScheduler(t, st, r.runner("a"))
	b := newScheduler(t, st, r.runner("b"))
	for _, s := range []*Scheduler{a, b} {
		if err := s.Set("app", []string{"* * * * *"}); err != nil {
			t.Fatal(err)
		}
	}
	testutil.Eventually(t, 15*time.Second, func() bool { return r.ticks() >= 4 }, "4 ticks")
	a.Set("app", nil)
	b.Set("app", nil)
	time.Sleep(300 * time.Millisecond) // let a last tick in flight finish
	r.mu.Lock()
	defer r.mu.Unlock()
	for tick, n := range r.byTick {
		if n != 1 {
			t.Errorf("tick %d ran %d times", tick, n)
		}
		if tick%60 != 0 {
			t.Errorf("tick %d is not on a (scaled) minute", tick)
		}
	}
	t.Logf("runs by node: %v", r.byNode)
}

func TestSetReplacesAndRejectsBadCrons(t *testing.T) {
	st := testutil.Store(t)
	s := newScheduler(t, st, newRuns().runner("a"))
	if err := s.Set("app", []string{"not a cron"}); err == nil {
		t.Fatal("bad cron accepted")
	}
	if err := s.Set("app", []string{"*/5 * * * *", "0 * * * *"}); err != nil {
		t.Fatal(err)
	}
	if got := s.Crons("app"); len(got) != 2 {
		t.Fatalf("crons %q", got)
	}
	if err := s.Set("app", nil); err != nil {
		t.Fatal(err)
	}
	if got := s.Crons("app"); got != nil {
		t.Fatalf("crons after removal %q", got)
	}
}

// While every node is down no tick is published, and of the ticks stored
// but not run, only the newest per cron is kept: after a restart at most
// one stale tick runs, not a burst.
func TestMissedTicksAreNotReplayed(t *testing.T) {
	if testing.Short() {
		t.Skip("waits through several scaled cron minutes; skipped with -short")
	}
	st := testutil.Store(t)
	r := newRuns()
	// A node that publishes but whose runner never finishes a tick: the
	// ticks pile up as if no node could run them.
	block := make(chan struct{})
	stuck, err := New(t.Context(), Config{Store: st, Logger: testutil.Logger(t), Minute: time.Second, AckWait: time.Hour,
		Concurrency: 1, Run: func(ctx context.Context, _ Tick) error { <-block; return nil }})
	if err != nil {
		t.Fatal(err)
	}
	if err := stuck.Set("app", []string{"* * * * *"}); err != nil {
		t.Fatal(err)
	}
	time.Sleep(3500 * time.Millisecond) // about 3 ticks: one taken (stuck), the rest waiting
	stuck.Set("app", nil)
	close(block)
	stuck.Close()
	time.Sleep(2 * time.Second) // nobody up: these ticks never exist

	// A fresh node with no crons of its own runs what was stored.
	newScheduler(t, st, r.runner("b"))
	time.Sleep(2 * time.Second)
	if n := r.ticks(); n > 2 {
		// At most the newest waiting tick, plus the one the stuck node had
		// taken if it was redelivered.
		t.Fatalf("%d stale ticks ran after the restart, want at most 2", n)
	}
	t.Logf("stale ticks run after restart: %d", r.ticks())
}

func TestClockScales(t *testing.T) {
	c := newClock(time.Second)
	now := time.Date(2026, 11, 22, 10, 0, 0, 0, time.UTC)
	v := c.virtual(now)
	if back := c.real(v); back.Sub(now).Abs() > time.Microsecond {
		t.Fatalf("round trip %v -> %v -> %v", now, v, back)
	}
	if d := c.virtual(now.Add(time.Second)).Sub(v); d != time.Minute {
		t.Fatalf("a real second is %v of cron time, want a minute", d)
	}
	id := newClock(time.Minute)
	if id.virtual(now) != now || id.real(now) != now {
		t.Fatal("unscaled clock is not the identity")
	}
}
