package node

import (
	"context"
	"fmt"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// Run: go test -run '^$' -bench 'Load|ColdRequest' -benchmem ./internal/node/
//
// BenchmarkLoadPool is the store-and-compile half of a cold start: read a
// version's content, check and decode it, compile it.
func BenchmarkLoadPool(b *testing.B) {
	st := testutil.Store(b)
	rt, err := runtime.New(runtime.Config{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rt.Close)
	n := &Node{st: st, rt: rt, cfg: Config{}}
	id := putVersion(b, st, "bench", `var __kumo_main = (() => ({ default: { fetch() { return new Response("x") } } }))();`, nil)
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p, err := n.loadPool(context.Background(), "bench", id)
		if err != nil {
			b.Fatal(err)
		}
		p.Close()
	}
}

// BenchmarkColdRequest is a whole cold start in process: the first request
// to a version never loaded, through the node's handler.
func BenchmarkColdRequest(b *testing.B) {
	st := testutil.Store(b)
	f := startBenchNode(b, st)
	for i := 0; i < b.N; i++ {
		name := fmt.Sprintf("cold%d", i)
		deploy(b, st, name, "v1")
	}
	if err := f.n.WaitApplied(context.Background(), 0); err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		// Isolated cold starts: the spares refill between them, as when
		// never-loaded apps get their first requests now and then.
		b.StopTimer()
		time.Sleep(10 * time.Millisecond)
		b.StartTimer()
		req := httptest.NewRequest("GET", fmt.Sprintf("http://node.local/cold%d/", i), nil)
		w := httptest.NewRecorder()
		f.n.ServeHTTP(w, req)
		if w.Code != 200 {
			b.Fatalf("%d %s", w.Code, w.Body)
		}
	}
}

func startBenchNode(b *testing.B, st *store.Store) *fixture {
	rt, err := runtime.New(runtime.Config{Spares: 4})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rt.Close)
	tel, err := NewTelemetry(TelemetryConfig{Store: st, FlushInterval: 1 << 62})
	if err != nil {
		b.Fatal(err)
	}
	n, err := New(b.Context(), Config{Store: st, Runtime: rt, Telemetry: tel})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(n.Close)
	return &fixture{st: st, rt: rt, tel: tel, n: n}
}
