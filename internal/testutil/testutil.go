// Package testutil starts the real things other packages' tests run
// against (an embedded store, a standalone NATS server) and waits on
// conditions with deadlines instead of sleeps.
package testutil

import (
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// Logger returns a logger that writes to t's log (shown with -v or when t
// fails). Lines logged after t's cleanups have run are dropped, because
// testing panics on a log call after a test has finished and server
// goroutines may still be winding down.
func Logger(t testing.TB) *slog.Logger {
	w := &testWriter{t: t}
	t.Cleanup(w.finish)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type testWriter struct {
	mu   sync.Mutex
	t    testing.TB
	done bool
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.done {
		w.t.Log(strings.TrimSuffix(string(p), "\n"))
	}
	return len(p), nil
}

func (w *testWriter) finish() {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.done = true
}

// pollInterval is how often Eventually checks its condition: short enough
// to keep tests fast, long enough not to spin a core.
const pollInterval = 5 * time.Millisecond

// Eventually polls cond until it returns true, and fails t if it has not
// within timeout. msgAndArgs, if given, is a format string and its
// arguments describing what was awaited.
func Eventually(t testing.TB, timeout time.Duration, cond func() bool, msgAndArgs ...any) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %s%s", timeout, describe(msgAndArgs))
		}
		<-tick.C
	}
}

// Receive returns the next value from ch, and fails t if none arrives
// within timeout or ch is closed.
func Receive[T any](t testing.TB, ch <-chan T, timeout time.Duration, msgAndArgs ...any) T {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case v, ok := <-ch:
		if !ok {
			t.Fatalf("channel closed%s", describe(msgAndArgs))
		}
		return v
	case <-timer.C:
		t.Fatalf("nothing received within %s%s", timeout, describe(msgAndArgs))
	}
	panic("unreachable")
}

func describe(msgAndArgs []any) string {
	if len(msgAndArgs) == 0 {
		return ""
	}
	format, ok := msgAndArgs[0].(string)
	if !ok {
		return ": " + fmt.Sprint(msgAndArgs...)
	}
	return ": " + fmt.Sprintf(format, msgAndArgs[1:]...)
}
