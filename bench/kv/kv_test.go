// Package kv benchmarks KV reads and writes through a function (a fetch
// handler calling env.KV.get / env.KV.put) against the same operations
// made directly from Go, in one run on one embedded store:
//
//	path=jetstream  the nats.go jetstream KeyValue client on a plain KV
//	                bucket: the floor, what the store itself costs
//	path=binding    Kumo's KV namespace (internal/bindings) called from Go:
//	                the store plus Kumo's key encoding and record format
//	path=function   an HTTP request served in process (Pool.ServeHTTP, no
//	                socket) by a function that calls env.KV
//	path=noop       the same function answering without touching KV: the
//	                invocation's own cost, to subtract
//
// Each case reports ops/s and the p50 and p99 latency of one operation,
// with conc goroutines issuing operations. Values are 100 bytes; gets
// read one of 1,000 keys written before. Run:
//
//	go test ./bench/kv -run '^$' -bench . -benchtime 20000x
//
// (-benchtime Nx fixes the operation count per case, so that percentiles
// are over the same sample size; add -cpu 1 to pin GOMAXPROCS.)
package kv

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/bindings"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

const (
	numKeys   = 1000
	valueSize = 100
)

var value = []byte(fmt.Sprintf("%0*d", valueSize, 42))

const fn = `
const value = "` + "%s" + `";
export default {
  async fetch(req, env) {
    const u = new URL(req.url);
    const k = u.searchParams.get("k");
    switch (u.pathname) {
      case "/get": return new Response(await env.KV.get(k));
      case "/put": await env.KV.put(k, value); return new Response("ok");
    }
    return new Response("noop");
  },
};
`

// op is one operation of a case; i numbers it.
type op func(ctx context.Context, i int) error

func BenchmarkKV(b *testing.B) {
	st := testutil.OpenStore(b, store.Config{Logger: quiet()})
	ctx := context.Background()

	// path=jetstream: a plain KV bucket.
	js := st.JetStream()
	plain, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "bench_plain", Storage: jetstream.FileStorage})
	if err != nil {
		b.Fatal(err)
	}
	// path=binding and path=function share Kumo's namespace.
	set, err := bindings.Build(ctx, bindings.Deps{Store: st, Logger: quiet()}, "bench", app.Manifest{KV: []app.KVBinding{{Binding: "KV"}}})
	if err != nil {
		b.Fatal(err)
	}
	kv := set.KV["KV"]
	for i := range numKeys {
		if _, err := plain.Put(ctx, key(i), value); err != nil {
			b.Fatal(err)
		}
		if err := kv.Put(ctx, key(i), value, binding.KVPutOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	handler := deploy(b, set)
	call := func(path string) op {
		return func(ctx context.Context, i int) error {
			req := httptest.NewRequestWithContext(ctx, "GET", "http://bench"+path+"?k="+key(i), nil)
			rec := httptest.NewRecorder()
			handler.ServeHTTP(rec, req)
			if rec.Code != http.StatusOK {
				return fmt.Errorf("%s: %d %s", path, rec.Code, rec.Body)
			}
			return nil
		}
	}
	cases := []struct {
		op, path string
		fn       op
	}{
		{"get", "jetstream", func(ctx context.Context, i int) error { _, err := plain.Get(ctx, key(i)); return err }},
		{"get", "binding", func(ctx context.Context, i int) error { _, err := kv.Get(ctx, key(i)); return err }},
		{"get", "function", call("/get")},
		{"put", "jetstream", func(ctx context.Context, i int) error { _, err := plain.Put(ctx, key(i), value); return err }},
		{"put", "binding", func(ctx context.Context, i int) error { return kv.Put(ctx, key(i), value, binding.KVPutOptions{}) }},
		{"put", "function", call("/put")},
		{"none", "noop", call("/noop")},
	}
	for _, conc := range []int{1, 8} {
		for _, c := range cases {
			b.Run(fmt.Sprintf("op=%s,path=%s,conc=%d", c.op, c.path, conc), func(b *testing.B) {
				run(b, conc, c.fn)
			})
		}
	}
}

func key(i int) string { return fmt.Sprintf("user-%04d", i%numKeys) }

// run does b.N operations on conc goroutines and reports ops/s, p50, p99.
func run(b *testing.B, conc int, f op) {
	ctx := context.Background()
	lat := make([][]time.Duration, conc)
	var next atomic.Int64
	var failed atomic.Value
	var wg sync.WaitGroup
	b.ResetTimer()
	start := time.Now()
	for g := range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= b.N {
					return
				}
				t := time.Now()
				if err := f(ctx, i); err != nil {
					failed.Store(err)
					return
				}
				lat[g] = append(lat[g], time.Since(t))
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	b.StopTimer()
	if err, _ := failed.Load().(error); err != nil {
		b.Fatal(err)
	}
	all := slices.Concat(lat...)
	slices.Sort(all)
	pct := func(p float64) float64 {
		return float64(all[min(len(all)-1, int(float64(len(all))*p))].Nanoseconds()) / 1e3
	}
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "ops/s")
	b.ReportMetric(pct(0.50), "p50-µs")
	b.ReportMetric(pct(0.99), "p99-µs")
}

// deploy compiles the benchmark function with set as its env and returns
// its pool.
func deploy(b *testing.B, set *binding.Set) http.Handler {
	dir := b.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(fmt.Sprintf(fn, value)), 0o644); err != nil {
		b.Fatal(err)
	}
	res, err := bundle.Build(bundle.Options{Dir: dir})
	if err != nil {
		b.Fatal(err)
	}
	rt, err := runtime.New(runtime.Config{Logger: quiet()})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(rt.Close)
	v, err := rt.Compile(runtime.VersionSpec{App: "bench", ID: res.Hash, Code: res.Code, Bindings: set})
	if err != nil {
		b.Fatal(err)
	}
	p := rt.NewPool(v)
	b.Cleanup(p.Close)
	return p
}

// quiet is a logger that drops everything below errors.
func quiet() *slog.Logger {
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
}
