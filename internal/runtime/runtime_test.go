package runtime

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/engine"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// transport names an HTTP server library the data plane can run on.
type transport string

const (
	netHTTP  transport = "net-http"
	fastHTTP transport = "fasthttp"
)

// bothTransports runs a test once on each HTTP server library.
func bothTransports(t *testing.T, test func(t *testing.T, tr transport)) {
	for _, tr := range []transport{netHTTP, fastHTTP} {
		t.Run(string(tr), func(t *testing.T) { test(t, tr) })
	}
}

// serve starts a real HTTP server on 127.0.0.1 for the pool.
func serve(t *testing.T, tr transport, p *Pool) string {
	t.Helper()
	if tr == fastHTTP {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		srv := &fasthttp.Server{Handler: p.ServeFastHTTP, StreamRequestBody: true, MaxRequestBodySize: 1 << 30}
		go srv.Serve(ln)
		t.Cleanup(func() { srv.Shutdown() })
		return "http://" + ln.Addr().String()
	}
	srv := httptest.NewServer(p)
	t.Cleanup(srv.Close)
	return srv.URL
}

func get(t *testing.T, url string) (*http.Response, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp, string(b)
}

func TestModuleAndServiceWorkerHandlers(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 1)
		mod := serve(t, tr, deploy(t, rt, Limits{}, `export default {
		async fetch(req, env, ctx) {
			const u = new URL(req.url);
			return Response.json({ path: u.pathname, q: u.searchParams.get("q"), m: req.method, ua: req.headers.get("x-test") });
		} }`))
		req, _ := http.NewRequest("GET", mod+"/a/b?q=1", nil)
		req.Header.Set("X-Test", "yes")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got := string(body); got != `{"path":"/a/b","q":"1","m":"GET","ua":"yes"}` {
			t.Fatalf("module: %s", got)
		}
		sw := serve(t, tr, deploy(t, rt, Limits{}, `addEventListener("fetch", (e) => e.respondWith(new Response("sw " + e.request.method, { status: 201, headers: { "x-kind": "sw" } })))`))
		resp, body2 := get(t, sw+"/")
		if resp.StatusCode != 201 || body2 != "sw GET" || resp.Header.Get("X-Kind") != "sw" {
			t.Fatalf("service worker: %d %q %v", resp.StatusCode, body2, resp.Header)
		}
	})
}

func TestWarmInstanceKeepsModuleState(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 1)
		pool := deploy(t, rt, Limits{MaxInstances: 1}, `let n = 0; export default { fetch() { return new Response(String(++n)) } }`)
		url := serve(t, tr, pool)
		for want := 1; want <= 3; want++ {
			if _, body := get(t, url); body != string(rune('0'+want)) {
				t.Fatalf("request %d saw %q: module state not kept", want, body)
			}
		}
		if s := pool.Stats(); s.ColdStarts != 1 || s.Requests != 3 {
			t.Fatalf("stats %+v", s)
		}
	})
}

func TestUncaughtExceptionMapsStackToSource(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 0)
		url := serve(t, tr, deploy(t, rt, Limits{}, "export default {\n  fetch() {\n    throw new Error(\"boom\");\n  },\n};\n"))
		resp, body := get(t, url)
		if resp.StatusCode != 500 || resp.Header.Get(ErrorHeader) != "exception" {
			t.Fatalf("status %d %q", resp.StatusCode, resp.Header.Get(ErrorHeader))
		}
		if !strings.Contains(body, "Error: boom") || !strings.Contains(body, "index.js:3:") {
			t.Fatalf("body does not point at index.js:3: %s", body)
		}
	})
}

// hostile scripts: each must be stopped with its typed reason while a
// neighbour app keeps answering.
func TestHostileScriptsAreContained(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 2)
		limits := Limits{CPU: 50 * time.Millisecond, Memory: 16 << 20, Wall: 2 * time.Second, MaxInstances: 2}
		cases := []struct{ name, src, reason string }{
			{"endless loop", `export default { fetch() { for (;;) {} } }`, "exceeded-cpu"},
			{"loop swallowing errors", `export default { fetch() { for (;;) { try { for (;;) {} } catch {} } } }`, "exceeded-cpu"},
			{"runaway regex", `export default { fetch() { /(a+)+$/.test("a".repeat(40) + "!"); return new Response("x") } }`, "exceeded-cpu"},
			{"memory bomb", `export default { fetch() { const a = []; for (;;) a.push(new Array(1e5).fill(a.length)) } }`, "exceeded-memory"},
			{"unbounded recursion", `function f(n) { return f(n + 1) + 1 } export default { fetch() { return new Response(String(f(0))) } }`, "exceeded-stack"},
			{"promise flood", `export default { fetch() { const f = () => Promise.resolve().then(f); f(); return new Promise(() => {}) } }`, "exceeded-cpu"},
			{"async loop", `export default { async fetch() { for (;;) { await null } } }`, "exceeded-cpu"},
			{"never responds", `export default { fetch() { return new Promise((r) => setTimeout(r, 60000)) } }`, "timeout"},
		}
		neighbour := serve(t, tr, deploy(t, rt, Limits{}, `export default { fetch() { return new Response("ok") } }`))
		stop := make(chan struct{})
		var neighbourOK, neighbourBad atomic.Int64
		var wg sync.WaitGroup
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				resp, err := http.Get(neighbour)
				if err == nil {
					b, _ := io.ReadAll(resp.Body)
					resp.Body.Close()
					if resp.StatusCode == 200 && string(b) == "ok" {
						neighbourOK.Add(1)
						continue
					}
				}
				neighbourBad.Add(1)
			}
		}()
		for _, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				pool := deploy(t, rt, limits, tc.src)
				url := serve(t, tr, pool)
				for i := 0; i < 2; i++ { // the second request gets a fresh instance
					resp, body := get(t, url)
					if resp.StatusCode != 503 || resp.Header.Get(ErrorHeader) != tc.reason {
						t.Fatalf("got %d %q (%s), want 503 %q", resp.StatusCode, resp.Header.Get(ErrorHeader), body, tc.reason)
					}
				}
			})
		}
		close(stop)
		wg.Wait()
		if neighbourBad.Load() != 0 || neighbourOK.Load() == 0 {
			t.Fatalf("neighbour app: %d ok, %d failed while hostile scripts ran", neighbourOK.Load(), neighbourBad.Load())
		}
	})
}

func TestRequestBodyLimit(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 0)
		url := serve(t, tr, deploy(t, rt, Limits{RequestBody: 1024}, `export default { async fetch(r) { return new Response(String((await r.text()).length)) } }`))
		resp, err := http.Post(url, "text/plain", strings.NewReader(strings.Repeat("x", 2048)))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 413 || resp.Header.Get(ErrorHeader) != "request-too-large" {
			t.Fatalf("status %d %q", resp.StatusCode, resp.Header.Get(ErrorHeader))
		}
		resp, err = http.Post(url, "text/plain", strings.NewReader(strings.Repeat("x", 1000)))
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if string(b) != "1000" {
			t.Fatalf("body %q", b)
		}
	})
}

func TestIdleInstancesAreClosed(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 0)
		pool := deploy(t, rt, Limits{IdleTimeout: 50 * time.Millisecond}, `export default { fetch() { return new Response("x") } }`)
		get(t, serve(t, tr, pool))
		testutil.Eventually(t, 5*time.Second, func() bool { return pool.Stats().Instances == 0 }, "idle instance was not closed")
	})
}

func TestConcurrencyIsCappedNotRefused(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 0)
		pool := deploy(t, rt, Limits{MaxInstances: 2}, `export default { async fetch() { await new Promise((r) => setTimeout(r, 20)); return new Response("done") } }`)
		url := serve(t, tr, pool)
		var wg sync.WaitGroup
		var bad atomic.Int64
		for i := 0; i < 8; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				resp, err := http.Get(url)
				if err != nil || resp.StatusCode != 200 {
					bad.Add(1)
					return
				}
				resp.Body.Close()
			}()
		}
		wg.Wait()
		if bad.Load() != 0 {
			t.Fatalf("%d requests failed", bad.Load())
		}
		if s := pool.Stats(); s.ColdStarts > 2 || s.Instances > 2 {
			t.Fatalf("cap exceeded: %+v", s)
		}
	})
}

func TestStreamedResponse(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 0)
		url := serve(t, tr, deploy(t, rt, Limits{}, `export default { fetch() {
		let i = 0;
		const body = new ReadableStream({ pull(c) { if (i === 3) return c.close(); c.enqueue(new TextEncoder().encode("chunk" + i++ + "\n")) } });
		return new Response(body, { headers: { "content-type": "text/plain" } });
	} }`))
		_, body := get(t, url)
		if body != "chunk0\nchunk1\nchunk2\n" {
			t.Fatalf("body %q", body)
		}
	})
}

func TestServiceWorkerListenerErrorFailsRequest(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 0)
		url := serve(t, tr, deploy(t, rt, Limits{}, `addEventListener("fetch", () => { throw new RangeError("listener broke") })`))
		resp, body := get(t, url)
		if resp.StatusCode != 500 || !strings.Contains(body, "RangeError: listener broke") {
			t.Fatalf("got %d %q", resp.StatusCode, body)
		}
	})
}

func TestStreamFailingMidwayAbortsConnection(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 0)
		url := serve(t, tr, deploy(t, rt, Limits{}, `export default { fetch() {
		let i = 0;
		const body = new ReadableStream({ pull(c) { if (i++ === 2) throw new Error("source failed"); c.enqueue(new TextEncoder().encode("part\n")) } });
		return new Response(body);
	} }`))
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		if _, err := io.ReadAll(resp.Body); err == nil {
			t.Fatal("a body cut short by an error read as complete")
		}
	})
}

func TestInvokeScheduledAndEnv(t *testing.T) {
	rt := newTestRuntime(t, 0)
	dir := t.TempDir()
	src := `let seen = [];
	export default {
		async scheduled(controller, env, ctx) {
			seen.push(controller.cron + "@" + controller.scheduledTime + ":" + env.GREETING);
			ctx.waitUntil(new Promise((r) => setTimeout(r, 5)).then(() => seen.push("after")));
		},
		fetch() { return new Response(seen.join(",")) },
	}`
	v := compileWith(t, rt, dir, src, &binding.Set{Vars: map[string]string{"GREETING": "hi"}, Secrets: map[string]string{"TOKEN": "s3cret"}})
	pool := rt.NewPool(v)
	t.Cleanup(pool.Close)
	if _, u, err := pool.Invoke(context.Background(), "scheduled", 1700000000000, "*/5 * * * *"); err != nil || u.Outcome != OutcomeOK {
		t.Fatalf("invoke: %v %+v", err, u)
	}
	url := serve(t, netHTTP, pool)
	if _, body := get(t, url); body != "*/5 * * * *@1700000000000:hi,after" {
		t.Fatalf("state after scheduled: %q", body)
	}
	if _, _, err := pool.Invoke(context.Background(), "queue", "[]"); err == nil {
		t.Fatal("a version without a queue handler accepted a queue invocation")
	}
}

func TestInvokeReportsLimits(t *testing.T) {
	rt := newTestRuntime(t, 0)
	pool := deploy(t, rt, Limits{CPU: 20 * time.Millisecond}, `export default { scheduled() { for (;;) {} }, fetch() { return new Response("x") } }`)
	_, u, err := pool.Invoke(context.Background(), "scheduled", 0, "* * * * *")
	var le *engine.LimitError
	if !errors.As(err, &le) || le.Kind != engine.LimitCPU || u.Outcome != OutcomeCPU {
		t.Fatalf("got %v %q", err, u.Outcome)
	}
}

func TestAbsoluteFormRequestURI(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 0)
		url := serve(t, tr, deploy(t, rt, Limits{}, `export default { fetch(r) { return new Response(new URL(r.url).pathname + new URL(r.url).search) } }`))
		conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		fmt.Fprintf(conn, "GET http://%s/a/b?c=1 HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", strings.TrimPrefix(url, "http://"), strings.TrimPrefix(url, "http://"))
		raw, _ := io.ReadAll(conn)
		if !strings.HasSuffix(string(raw), "/a/b?c=1") {
			t.Fatalf("response %q", raw)
		}
	})
}

func TestRequestBodyStreamsIntoResponse(t *testing.T) {
	bothTransports(t, func(t *testing.T, tr transport) {
		rt := newTestRuntime(t, 0)
		url := serve(t, tr, deploy(t, rt, Limits{}, `export default { fetch(r) { return new Response(r.body) } }`))
		payload := strings.Repeat("0123456789abcdef", 64<<10) // 1 MiB
		resp, err := http.Post(url, "application/octet-stream", strings.NewReader(payload))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		got, err := io.ReadAll(resp.Body)
		if err != nil || string(got) != payload {
			t.Fatalf("echoed %d of %d bytes: %v", len(got), len(payload), err)
		}
	})
}
