package webapi

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

// fakeSink records the response JS sends.
type fakeSink struct {
	mu       sync.Mutex
	status   int
	header   http.Header
	body     bytes.Buffer
	streamed bool
	started  int
	writes   int
	ended    bool
	failAt   int // fail the nth Write (1-based); 0: never
}

func (s *fakeSink) Start(status int, lines HeaderLines, body []byte, streamed bool) error {
	header, err := lines.HTTP()
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.started++
	s.status, s.header, s.streamed = status, header, streamed
	s.body.Write(body)
	if !streamed {
		s.ended = true
	}
	return nil
}

func (s *fakeSink) Write(p []byte) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	if s.failAt != 0 && s.writes == s.failAt {
		return errors.New("client went away")
	}
	s.body.Write(p)
	return nil
}

func (s *fakeSink) End() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	return nil
}

// dispatchVM is a VM with a user bundle loaded and entry.init() run.
type dispatchVM struct {
	t     testing.TB
	vm    *engine.VM
	entry engine.Value
	host  *Host
	logs  *[]string
	kinds string
}

// newDispatchVM loads the Web APIs, runs bundle as the user's classic
// script and calls entry.init().
func newDispatchVM(t testing.TB, bundle string) *dispatchVM {
	t.Helper()
	d, err := tryDispatchVM(t, bundle)
	if err != nil {
		t.Fatalf("init: %v", err)
	}
	return d
}

func tryDispatchVM(t testing.TB, bundle string) (*dispatchVM, error) {
	t.Helper()
	rt, err := NewRuntime()
	if err != nil {
		t.Fatal(err)
	}
	logs := new([]string)
	h := &Host{Log: func(level, msg string) { *logs = append(*logs, level+": "+msg) }}
	vm, entry, err := rt.NewVM(engine.Config{MemoryLimit: 64 << 20}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.ResetInvocation(); entry.Free(); vm.Close() })
	v, err := vm.Eval("bundle.js", bundle)
	if err != nil {
		t.Fatalf("bundle: %v", err)
	}
	v.Free()
	d := &dispatchVM{t: t, vm: vm, entry: entry, host: h, logs: logs}
	r, err := d.call("init")
	if err != nil {
		return d, err
	}
	d.kinds = r.String()
	r.Free()
	return d, nil
}

func (d *dispatchVM) call(method string, args ...any) (engine.Value, error) {
	fn := d.entry.Get(method)
	defer fn.Free()
	return fn.Call(d.entry, args...)
}

// await runs the event loop until p settles; it returns the settled value
// or the rejection as an error. onTick runs after each loop turn.
func (d *dispatchVM) await(p engine.Value, onTick func()) (string, error) {
	d.t.Helper()
	defer p.Free()
	if err := d.vm.RunJobs(); err != nil {
		return "", err
	}
	for p.PromiseState() == engine.PromisePending {
		if err := d.vm.Wait(nil); err != nil {
			return "", fmt.Errorf("waiting: %w", err)
		}
		if onTick != nil {
			onTick()
		}
	}
	r := p.PromiseResult()
	defer r.Free()
	if p.PromiseState() == engine.PromiseRejected {
		return "", r.AsError()
	}
	return r.String(), nil
}

// serve dispatches one request and returns the sink and the error the
// entry.fetch promise rejected with.
func (d *dispatchVM) serve(method, url, headersFlat string, body io.ReadCloser) (*fakeSink, error) {
	d.t.Helper()
	d.host.ResetInvocation()
	sink := &fakeSink{}
	d.host.Sink = sink
	rid := -1
	if body != nil {
		rid = d.host.AddBody(body)
	}
	p, err := d.call("fetch", method, url, headersFlat, rid, "req-1")
	if err != nil {
		return sink, err
	}
	_, err = d.await(p, nil)
	return sink, err
}

func (d *dispatchVM) mustServe(method, url, headersFlat string, body io.ReadCloser) *fakeSink {
	d.t.Helper()
	s, err := d.serve(method, url, headersFlat, body)
	if err != nil {
		d.t.Fatalf("fetch: %v", err)
	}
	return s
}

func moduleBundle(fetchBody string) string {
	return `globalThis.__kumo_main = { default: { async fetch(request, env, ctx) {` + fetchBody + `} } };`
}

func TestDispatchModuleHelloWorld(t *testing.T) {
	d := newDispatchVM(t, `globalThis.__kumo_main = { default: { fetch() { return new Response("hi") } } };`)
	if d.kinds != "fetch" {
		t.Fatalf("kinds %q", d.kinds)
	}
	s := d.mustServe("GET", "http://example.com/", "host:example.com\n", nil)
	if s.status != 200 || s.body.String() != "hi" || s.streamed || s.started != 1 || !s.ended {
		t.Fatalf("sink %+v", s)
	}
	if got := s.header.Get("Content-Type"); got != "text/plain;charset=UTF-8" || len(s.header) != 1 {
		t.Fatalf("header %v", s.header)
	}
	if got := evalAsync(t, d.vm, `typeof __kumo_main`); got != "undefined" {
		t.Fatalf("__kumo_main left behind: %s", got)
	}
}

// The hello-world response costs exactly one op call.
func TestDispatchHelloWorldOneOp(t *testing.T) {
	rt, err := NewRuntime()
	if err != nil {
		t.Fatal(err)
	}
	calls := map[string]int{}
	for i, op := range rt.ops {
		fn := op.Fn
		name := op.Name
		rt.ops[i].Fn = func(c *engine.Call) error { calls[name]++; return fn(c) }
	}
	h := &Host{}
	vm, entry, err := rt.NewVM(engine.Config{}, h)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { entry.Free(); vm.Close() }()
	d := &dispatchVM{t: t, vm: vm, entry: entry, host: h}
	v, err := vm.Eval("bundle.js", `globalThis.__kumo_main = { default: { fetch() { return new Response("hi") } } };`)
	if err != nil {
		t.Fatal(err)
	}
	v.Free()
	r, err := d.call("init")
	if err != nil {
		t.Fatal(err)
	}
	r.Free()
	clear(calls)
	s := d.mustServe("GET", "http://example.com/", "", nil)
	if s.body.String() != "hi" {
		t.Fatalf("body %q", s.body.String())
	}
	if len(calls) != 1 || calls["op_respond"] != 1 {
		t.Fatalf("ops called: %v", calls)
	}
}

func TestDispatchRequestAndEnv(t *testing.T) {
	d := newDispatchVM(t, moduleBundle(`
		const out = [request.method, request.url, request.headers.get("x-a"), request.headers.get("accept"),
			[...request.headers.keys()].join(","), env.NAME, typeof ctx.waitUntil, typeof ctx.passThroughOnException,
			request.bodyUsed, await request.text(), request.bodyUsed, request.redirect, request.signal.aborted];
		return new Response(out.join("|"), { status: 201, statusText: "Made", headers: { "X-Out": "1" } });`))
	d.setEnv(t, `({ NAME: { kind: "var", value: "kumo" } })`)
	s := d.mustServe("POST", "http://h.test/app/x?q=1", "x-a:1\naccept:a\naccept:b\n", io.NopCloser(strings.NewReader("payload")))
	want := "POST|http://h.test/app/x?q=1|1|a, b|accept,x-a|kumo|function|function|false|payload|true|follow|false"
	if s.body.String() != want {
		t.Fatalf("got  %q\nwant %q", s.body.String(), want)
	}
	if s.status != 201 || s.header.Get("X-Out") != "1" || s.header.Get("Content-Type") != "text/plain;charset=UTF-8" {
		t.Fatalf("status %d header %v", s.status, s.header)
	}
}

func (d *dispatchVM) setEnv(t *testing.T, expr string) {
	t.Helper()
	env, err := d.vm.Eval("env.js", expr)
	if err != nil {
		t.Fatal(err)
	}
	defer env.Free()
	r, err := d.call("setEnv", env)
	if err != nil {
		t.Fatal(err)
	}
	r.Free()
}

func TestDispatchResponseBodies(t *testing.T) {
	cases := []struct {
		name, js, body, ctype string
		streamed              bool
	}{
		{"bytes", `return new Response(new Uint8Array([104, 105]))`, "hi", "", false},
		{"null", `return new Response(null, { status: 204 })`, "", "", false},
		{"json", `return Response.json({ a: [1, "x"] })`, `{"a":[1,"x"]}`, "application/json", false},
		{"params", `return new Response(new URLSearchParams("a=1&b=x y"))`, "a=1&b=x+y", "application/x-www-form-urlencoded;charset=UTF-8", false},
		{"blob", `return new Response(new Blob(["ab", new Uint8Array([99])], { type: "text/x" }))`, "abc", "text/x", false},
		{"stream", `return new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([111])); c.enqueue(new Uint8Array([107])); c.close() } }))`, "ok", "", true},
		{"echo", `return new Response(request.body, { headers: { "content-type": request.headers.get("content-type") } })`, "echoed", "text/e", true},
		{"lone surrogate", `return new Response("a\uD800b")`, "a\uFFFDb", "text/plain;charset=UTF-8", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d := newDispatchVM(t, moduleBundle(c.js))
			s := d.mustServe("POST", "http://h.test/", "content-type:text/e\n", io.NopCloser(strings.NewReader("echoed")))
			if s.body.String() != c.body || s.header.Get("Content-Type") != c.ctype || s.streamed != c.streamed || !s.ended {
				t.Fatalf("body %q ctype %q streamed %v ended %v", s.body.String(), s.header.Get("Content-Type"), s.streamed, s.ended)
			}
		})
	}
}

func TestDispatchFormDataResponse(t *testing.T) {
	d := newDispatchVM(t, moduleBundle(`
		const fd = new FormData();
		fd.append("a", "1\n2");
		fd.append("f", new Blob(["xyz"], { type: "text/plain" }), "n\"ame.txt");
		return new Response(fd);`))
	s := d.mustServe("GET", "http://h.test/", "", nil)
	ct := s.header.Get("Content-Type")
	boundary, ok := strings.CutPrefix(ct, "multipart/form-data; boundary=")
	if !ok {
		t.Fatalf("content-type %q", ct)
	}
	want := "--" + boundary + "\r\nContent-Disposition: form-data; name=\"a\"\r\n\r\n1\r\n2\r\n" +
		"--" + boundary + "\r\nContent-Disposition: form-data; name=\"f\"; filename=\"n%22ame.txt\"\r\nContent-Type: text/plain\r\n\r\nxyz\r\n" +
		"--" + boundary + "--\r\n"
	if s.body.String() != want {
		t.Fatalf("got  %q\nwant %q", s.body.String(), want)
	}
}

func TestDispatchNonResponse(t *testing.T) {
	cases := map[string]string{
		`return "hi"`:                  "TypeError: handler returned a string, not a Response",
		`return undefined`:             "TypeError: handler returned undefined, not a Response",
		`return { status: 200 }`:       "TypeError: handler returned an Object, not a Response",
		`throw new RangeError("boom")`: "RangeError: boom",
		`return Response.error()`:      "TypeError: handler returned Response.error()",
		`const r = new Response("x"); await r.text(); return r`: "TypeError: handler returned a Response whose body was already used",
	}
	for js, want := range cases {
		d := newDispatchVM(t, moduleBundle(js))
		_, err := d.serve("GET", "http://h.test/", "", nil)
		if err == nil || err.Error() != want {
			t.Errorf("%s: got %v, want %s", js, err, want)
		}
	}
	// A synchronous throw rejects too.
	d := newDispatchVM(t, `globalThis.__kumo_main = { default: { fetch() { throw new Error("sync") } } };`)
	if _, err := d.serve("GET", "http://h.test/", "", nil); err == nil || err.Error() != "Error: sync" {
		t.Fatalf("got %v", err)
	}
}

func TestDispatchInit(t *testing.T) {
	d := newDispatchVM(t, `globalThis.__kumo_main = { default: { fetch() {}, scheduled() {}, queue() {} } };`)
	if d.kinds != "fetch,scheduled,queue" {
		t.Fatalf("kinds %q", d.kinds)
	}
	d = newDispatchVM(t, `addEventListener("fetch", () => {}); addEventListener("scheduled", () => {});`)
	if d.kinds != "fetch,scheduled" {
		t.Fatalf("kinds %q", d.kinds)
	}
	for _, bundle := range []string{``, `globalThis.__kumo_main = {}`, `globalThis.__kumo_main = { default: { other() {} } }`} {
		_, err := tryDispatchVM(t, bundle)
		want := `TypeError: no handler: export default { fetch(request, env, ctx) { ... } } or addEventListener("fetch", ...)`
		if err == nil || err.Error() != want {
			t.Fatalf("%q: got %v", bundle, err)
		}
	}
}

func TestDispatchServiceWorker(t *testing.T) {
	d := newDispatchVM(t, `
		addEventListener("fetch", (event) => {
			event.waitUntil(Promise.resolve(1));
			event.respondWith((async () => new Response(event.request.method + " " + event.request.url + " " + (event instanceof Event)))());
			try { event.respondWith(new Response("again")) } catch (e) { globalThis.second = e.name }
		});`)
	s := d.mustServe("PUT", "http://h.test/sw", "", nil)
	if s.body.String() != "PUT http://h.test/sw true" {
		t.Fatalf("body %q", s.body.String())
	}
	if got := evalAsync(t, d.vm, `globalThis.second`); got != "InvalidStateError" {
		t.Fatalf("second respondWith: %s", got)
	}
	p, err := d.call("waitUntil")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.await(p, nil); err != nil {
		t.Fatal(err)
	}

	d = newDispatchVM(t, `addEventListener("fetch", (event) => {});`)
	if _, err := d.serve("GET", "http://h.test/", "", nil); err == nil || !strings.Contains(err.Error(), "no response: no \"fetch\" listener called event.respondWith()") {
		t.Fatalf("got %v", err)
	}
}

func TestDispatchWaitUntil(t *testing.T) {
	d := newDispatchVM(t, moduleBundle(`
		globalThis.order = [];
		ctx.waitUntil(new Promise((r) => setTimeout(() => { order.push("slow"); r() }, 20)));
		ctx.waitUntil(Promise.reject(new Error("bad")));
		ctx.waitUntil((async () => { order.push("fast"); ctx.waitUntil(Promise.resolve().then(() => order.push("nested"))) })());
		return new Response("ok");`))
	s := d.mustServe("GET", "http://h.test/", "", nil)
	if s.body.String() != "ok" {
		t.Fatal(s.body.String())
	}
	p, err := d.call("waitUntil")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.await(p, nil); err != nil {
		t.Fatal(err)
	}
	if got := evalAsync(t, d.vm, `order.join(",")`); got != "fast,nested,slow" {
		t.Fatalf("order %s", got)
	}
	found := false
	for _, l := range *d.logs {
		if strings.HasPrefix(l, "error: Uncaught (in waitUntil) Error: bad") {
			found = true
		}
	}
	if !found {
		t.Fatalf("logs %q", *d.logs)
	}
	// Nothing registered: settles at once.
	p, err = d.call("waitUntil")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.await(p, nil); err != nil {
		t.Fatal(err)
	}
}

func TestDispatchScheduled(t *testing.T) {
	d := newDispatchVM(t, `globalThis.__kumo_main = { default: { async scheduled(c, env, ctx) { globalThis.seen = c.cron + "@" + c.scheduledTime } } };`)
	p, err := d.call("scheduled", 1234, "* * * * *")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.await(p, nil); err != nil {
		t.Fatal(err)
	}
	if got := evalAsync(t, d.vm, `seen`); got != "* * * * *@1234" {
		t.Fatal(got)
	}
	d = newDispatchVM(t, `addEventListener("scheduled", (e) => { globalThis.seen = e.cron + "@" + e.scheduledTime })`)
	p, err = d.call("scheduled", 5, "0 * * * *")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.await(p, nil); err != nil {
		t.Fatal(err)
	}
	if got := evalAsync(t, d.vm, `seen`); got != "0 * * * *@5" {
		t.Fatal(got)
	}
}

// patternReader yields n bytes of a repeating pattern in small reads.
type patternReader struct{ left, pos int }

func (r *patternReader) Read(p []byte) (int, error) {
	if r.left == 0 {
		return 0, io.EOF
	}
	n := min(len(p), r.left, 100_000)
	for i := range n {
		p[i] = byte((r.pos + i) % 251)
	}
	r.pos += n
	r.left -= n
	return n, nil
}

func (r *patternReader) Close() error { return nil }

func checkPattern(t *testing.T, b []byte, n int) {
	t.Helper()
	if len(b) != n {
		t.Fatalf("got %d bytes, want %d", len(b), n)
	}
	for i, c := range b {
		if c != byte(i%251) {
			t.Fatalf("byte %d is %d", i, c)
		}
	}
}

// A 20 MB request body streamed to the response: piped by Go when the
// handler passes request.body on, chunked through JS when it transforms
// it; either way the JS heap stays small.
func TestDispatchStreamingBodyHeap(t *testing.T) {
	const size = 20 << 20
	cases := map[string]string{
		"pipe": `return new Response(request.body)`,
		"js chunks": `const reader = request.body.getReader();
			return new Response(new ReadableStream({
				async pull(c) { const { done, value } = await reader.read(); if (done) c.close(); else c.enqueue(value) },
			}, { highWaterMark: 0 }));`,
	}
	for name, js := range cases {
		t.Run(name, func(t *testing.T) {
			d := newDispatchVM(t, moduleBundle(js))
			d.vm.RunGC()
			base, _ := d.vm.MemoryUsage()
			d.host.ResetInvocation()
			sink := &fakeSink{}
			d.host.Sink = sink
			rid := d.host.AddBody(&patternReader{left: size})
			p, err := d.call("fetch", "POST", "http://h.test/", "", rid, "r")
			if err != nil {
				t.Fatal(err)
			}
			peak := int64(0)
			if _, err := d.await(p, func() {
				used, _ := d.vm.MemoryUsage()
				peak = max(peak, used-base)
			}); err != nil {
				t.Fatal(err)
			}
			checkPattern(t, sink.body.Bytes(), size)
			if !sink.streamed || !sink.ended {
				t.Fatalf("streamed %v ended %v", sink.streamed, sink.ended)
			}
			t.Logf("writes %d, peak heap growth %d KiB", sink.writes, peak>>10)
			if peak > 2<<20 {
				t.Fatalf("JS heap grew by %d bytes streaming %d", peak, size)
			}
		})
	}
}

func TestDispatchStreamWriteFailure(t *testing.T) {
	d := newDispatchVM(t, moduleBundle(`
		let i = 0;
		return new Response(new ReadableStream({ pull(c) { c.enqueue(new Uint8Array([i++])) } }));`))
	d.host.ResetInvocation()
	sink := &fakeSink{failAt: 3}
	d.host.Sink = sink
	p, err := d.call("fetch", "GET", "http://h.test/", "", -1, "r")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.await(p, nil); err == nil || err.Error() != "TypeError: sending response body: client went away" {
		t.Fatalf("got %v", err)
	}
	d = newDispatchVM(t, moduleBundle(`return new Response(new ReadableStream({ start(c) { c.enqueue("str") } }))`))
	if _, err := d.serve("GET", "http://h.test/", "", nil); err == nil || err.Error() != "TypeError: response body stream chunk is a string, not a Uint8Array" {
		t.Fatalf("got %v", err)
	}
}

func TestFlattenAndParseHeaders(t *testing.T) {
	h := http.Header{"X-A": {"1", "2"}, "Latin": {"caf\xe9"}}
	flat := FlattenHeaders(h)
	got, err := parseHeadersFlat(flat)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != fmt.Sprint(h) {
		t.Fatalf("round trip %q -> %v", flat, got)
	}
	if !strings.Contains(flat, "latin:café\n") || !strings.Contains(flat, "x-a:1\nx-a:2\n") {
		t.Fatalf("flat %q", flat)
	}
	if _, err := parseHeadersFlat("nocolon\n"); err == nil {
		t.Fatal("want error")
	}
}

// A string response the runtime sent is used afterwards, whether it went
// out without an InnerBody (new Response(string), Response.json) or with
// one (its body read before).
func TestDispatchSentBodyIsUsed(t *testing.T) {
	for _, js := range []string{
		`const r = new Response("sent")`,
		`const r = Response.json("sent")`,
		`const r = new Response("sent", { status: 201 })`,
		`const r = new Response("sent"); r.body`,
	} {
		d := newDispatchVM(t, moduleBundle(js+`;
			ctx.waitUntil(new Promise((resolve) => setTimeout(resolve, 0)).then(async () => {
				globalThis.after = [r.bodyUsed, await r.text().catch((e) => e.name), r.headers.get("content-type")].join("|");
			}));
			return r;`))
		s, err := d.serve("GET", "http://h.test/", "", nil)
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		if !strings.Contains(s.body.String(), "sent") {
			t.Fatalf("%s: body %q", js, s.body.String())
		}
		p, err := d.call("waitUntil")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := d.await(p, nil); err != nil {
			t.Fatal(err)
		}
		if got := evalAsync(t, d.vm, `after`); !strings.HasPrefix(got, "true|TypeError|") {
			t.Errorf("%s: after sending: %s", js, got)
		}
	}
}
