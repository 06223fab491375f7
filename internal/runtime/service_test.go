package runtime

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// usageLog is a Recorder that keeps every usage.
type usageLog struct {
	mu sync.Mutex
	us []Usage
}

func (l *usageLog) Record(u *Usage) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.us = append(l.us, *u)
}

// find returns the usages of app with handler.
func (l *usageLog) find(app, handler string) []Usage {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []Usage
	for _, u := range l.us {
		if u.App == app && u.Handler == handler {
			out = append(out, u)
		}
	}
	return out
}

// poolService is a binding.Service calling one pool directly (package
// bindings does the same through the node's resolver).
type poolService struct {
	p          *Pool
	entrypoint string
}

func (s poolService) Fetch(ctx context.Context, req *binding.ServiceRequest) (*binding.ServiceResponse, error) {
	if s.p == nil {
		return nil, &binding.ServiceError{App: "missing", Reason: "no-app", Msg: "no such app on this node"}
	}
	return s.p.ServeService(ctx, req)
}

func (s poolService) Call(ctx context.Context, method string, args []byte) ([]byte, error) {
	if s.p == nil {
		return nil, &binding.ServiceError{App: "missing", Reason: "no-app", Msg: "no such app on this node"}
	}
	return s.p.CallService(ctx, s.entrypoint, method, args)
}

// deployApp bundles src as app name and starts its pool.
func deployApp(t *testing.T, rt *Runtime, name, src string, limits Limits, services map[string]binding.Service) *Pool {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	res, err := bundle.Build(bundle.Options{Dir: dir})
	if err != nil {
		t.Fatal(err)
	}
	v, err := rt.Compile(VersionSpec{App: name, ID: res.Hash[:12], Code: res.Code, SourceMap: res.SourceMap, Limits: limits,
		Bindings: &binding.Set{Services: services}})
	if err != nil {
		t.Fatal(err)
	}
	p := rt.NewPool(v)
	t.Cleanup(p.Close)
	return p
}

func newServiceRuntime(t *testing.T) (*Runtime, *usageLog) {
	t.Helper()
	log := &usageLog{}
	rt, err := New(Config{Spares: 2, ExposeErrors: true, Recorder: log, Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	return rt, log
}

// echoApp answers a request with its method, URL and x-test header in
// headers, and its body upper-cased as it streams in.
const echoApp = `export default {
  async fetch(request) {
    const upper = new TransformStream({
      transform(chunk, c) { c.enqueue(new TextEncoder().encode(new TextDecoder().decode(chunk).toUpperCase())); },
    });
    return new Response(request.body.pipeThrough(upper), {
      status: 201,
      headers: { "x-echo": request.headers.get("x-test"), "x-method": request.method, "x-url": request.url },
    });
  },
};`

// TestServiceFetchStreamsBothWays: the caller reads the first chunk of the
// response before it writes the second chunk of the request, which only
// works if neither body is buffered whole on the way.
func TestServiceFetchStreamsBothWays(t *testing.T) {
	rt, usage := newServiceRuntime(t)
	echo := deployApp(t, rt, "echo", echoApp, Limits{}, nil)
	caller := deployApp(t, rt, "caller", `export default {
  async fetch(request, env) {
    const enc = new TextEncoder(), dec = new TextDecoder();
    const { readable, writable } = new TransformStream();
    const w = writable.getWriter();
    const pending = env.ECHO.fetch("http://echo.internal/path?q=1", {
      method: "POST", headers: { "X-Test": "yes" }, body: readable, duplex: "half",
    });
    w.write(enc.encode("one,"));
    const res = await pending;
    const reader = res.body.getReader();
    const first = dec.decode((await reader.read()).value);
    w.write(enc.encode("two"));
    w.close();
    let rest = "";
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += dec.decode(value);
    }
    return Response.json({ status: res.status, statusText: res.statusText, echo: res.headers.get("x-echo"),
      method: res.headers.get("x-method"), url: res.headers.get("x-url"), first, rest });
  },
};`, Limits{}, map[string]binding.Service{"ECHO": poolService{p: echo}})
	_, body := get(t, serve(t, netHTTP, caller)+"/")
	var got map[string]any
	if err := json.Unmarshal([]byte(body), &got); err != nil {
		t.Fatalf("%v: %s", err, body)
	}
	want := map[string]any{"status": 201.0, "statusText": "Created", "echo": "yes", "method": "POST",
		"url": "http://echo.internal/path?q=1", "first": "ONE,", "rest": "TWO"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("got %v\nwant %v", got, want)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(usage.find("echo", "fetch")) == 1 },
		"the callee's usage is recorded under the callee")
	u := usage.find("echo", "fetch")[0]
	if u.Outcome != OutcomeOK || u.Status != 201 || u.BytesIn != int64(len("one,two")) || u.BytesOut != int64(len("ONE,TWO")) ||
		u.Method != "POST" || u.Path != "/path" {
		t.Errorf("callee usage %+v", u)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(usage.find("caller", "fetch")) == 1 })
	if c := usage.find("caller", "fetch")[0]; c.Outcome != OutcomeOK {
		t.Errorf("caller usage %+v", c)
	}
}

// TestServiceFetchWholeBodiesAndErrors: bodies known whole cross as they
// are; a callee that throws fails the caller's fetch with the same error;
// a binding to no app fails at call time with the reason.
func TestServiceFetchWholeBodiesAndErrors(t *testing.T) {
	rt, _ := newServiceRuntime(t)
	callee := deployApp(t, rt, "callee", `export default {
  async fetch(request) {
    const u = new URL(request.url);
    if (u.pathname === "/throw") throw new RangeError("no such page");
    if (u.pathname === "/empty") return new Response(null, { status: 204 });
    return new Response("got " + (await request.text()), { headers: { "content-type": "text/x-test" } });
  },
};`, Limits{}, nil)
	caller := deployApp(t, rt, "caller", `export default {
  async fetch(request, env) {
    const out = [];
    const a = await env.CALLEE.fetch(new Request("http://c/", { method: "PUT", body: "hello" }));
    out.push(a.status, a.headers.get("content-type"), await a.text());
    const b = await env.CALLEE.fetch("http://c/empty");
    out.push(b.status, b.body === null);
    try { await env.CALLEE.fetch("http://c/throw"); out.push("no error"); }
    catch (e) { out.push(e instanceof RangeError, e.message); }
    try { await env.GONE.fetch("http://gone/"); out.push("no error"); }
    catch (e) { out.push(e.name, e.reason, e.message); }
    return new Response(out.join("|"));
  },
};`, Limits{}, map[string]binding.Service{"CALLEE": poolService{p: callee}, "GONE": poolService{}})
	_, body := get(t, serve(t, netHTTP, caller)+"/")
	want := `200|text/x-test|got hello|204|true|true|no such page|Error|no-app|env.GONE.fetch(): app "missing": no such app on this node (no-app)`
	if body != want {
		t.Errorf("got  %s\nwant %s", body, want)
	}
}

// rpcApp is a callee with a default entrypoint and a named one.
const rpcApp = `import { WorkerEntrypoint } from "cloudflare:workers";
class PaymentError extends Error { constructor(m) { super(m); this.name = "PaymentError"; } }
export default class extends WorkerEntrypoint {
  fetch() { return new Response("default fetch " + this.env.WHO); }
  echo(v) { return v; }
  add(a, b) { return a + b; }
  async later(n) { await new Promise((r) => setTimeout(r, 5)); return n * 2; }
  fail(kind) {
    if (kind === "range") throw new RangeError("too big");
    if (kind === "custom") throw new PaymentError("card declined");
    return () => 1; // not cloneable
  }
  spin() { for (;;) {} }
  describe(v) {
    return ["u" in v && v.u === undefined, Object.is(v.negZero, -0), Number.isNaN(v.nan), v.big === 2n ** 70n, v.date instanceof Date,
      v.map.get(v.obj) === v.obj, v.self === v, v.view.buffer === v.f64.buffer].join();
  }
}
export class Billing extends WorkerEntrypoint {
  charge(n) { return { charged: n, currency: "EUR" }; }
}`

// TestServiceRPC: methods of the callee's WorkerEntrypoint classes are
// called with arguments and results copied by structured serialisation,
// every cloneable type included; errors keep their name and message.
func TestServiceRPC(t *testing.T) {
	rt, usage := newServiceRuntime(t)
	callee := deployApp(t, rt, "billing", rpcApp, Limits{}, nil)
	caller := deployApp(t, rt, "shop", `import { WorkerEntrypoint } from "kumo";
function same(a, b, seen = new Map()) {
  if (typeof a !== typeof b) return false;
  if (typeof a !== "object" || a === null) return Object.is(a, b);
  if (seen.has(a)) return seen.get(a) === b;
  seen.set(a, b);
  if (Object.getPrototypeOf(a) !== Object.getPrototypeOf(b)) return false;
  if (a instanceof Date) return Object.is(a.getTime(), b.getTime());
  if (a instanceof RegExp) return a.source === b.source && a.flags === b.flags;
  if (a instanceof ArrayBuffer) return a.byteLength === b.byteLength && new Uint8Array(a).every((x, i) => x === new Uint8Array(b)[i]);
  if (ArrayBuffer.isView(a)) return a.byteOffset === b.byteOffset && a.byteLength === b.byteLength && same(a.buffer, b.buffer, seen);
  if (a instanceof Map) return a.size === b.size && [...a].every(([k, v], i) => same(k, [...b][i][0], seen) && same(v, [...b][i][1], seen));
  if (a instanceof Set) return a.size === b.size && [...a].every((v, i) => same(v, [...b][i], seen));
  if (a instanceof Error) return a.name === b.name && a.message === b.message && same(a.cause, b.cause, seen);
  if (a instanceof Number || a instanceof String || a instanceof Boolean || a instanceof BigInt) return Object.is(a.valueOf(), b.valueOf());
  const ka = Object.keys(a), kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k, i) => k === kb[i] && same(a[k], b[k], seen));
}
export default {
  async fetch(request, env) {
    const out = [];
    const buf = new ArrayBuffer(24);
    new Uint8Array(buf).set([1, 2, 3, 250]);
    const obj = { k: "v" };
    const v = {
      u: undefined, n: null, t: true, s: "snow ☃", i: 42, negZero: -0, nan: NaN, inf: -Infinity, big: 2n ** 70n,
      date: new Date(1700000000000), bad: new Date(NaN), re: /a+b/giu, map: new Map([[obj, obj], ["x", 1]]),
      set: new Set([1, "1", obj]), buf, u8: new Uint8Array(buf, 1, 3), f64: new Float64Array(buf, 8, 2),
      view: new DataView(buf, 4, 8), i64: new BigInt64Array([-1n]), resizable: new ArrayBuffer(2, { maxByteLength: 8 }),
      err: new TypeError("bad", { cause: obj }), plain: new Error("plain"), range: new RangeError("r"),
      boxes: [new Number(-0), new String("s"), new Boolean(false), Object(3n)], holes: [1, , 3], obj, arr: [obj, obj],
      dom: new DOMException("gone", "NotFoundError"),
    };
    v.self = v;
    v.arr.push(v.arr);
    const back = await env.BILLING.echo(v);
    out.push([same(v, back), back !== v, back.self === back, back.u8.buffer === back.buf, back.map.get(back.obj) === back.obj,
      back.resizable.resizable && back.resizable.maxByteLength === 8, back.dom instanceof DOMException && back.dom.name === "NotFoundError",
      1 in back.holes].join());
    out.push(await env.BILLING.describe(v));
    out.push([await env.BILLING.add(40, 2), await env.BILLING.later(21), JSON.stringify(await env.PAY.charge(42))].join());
    console.log(env, JSON.stringify(env)); // neither makes a call (counted below)
    out.push([env.BILLING.then === undefined, await env.BILLING === env.BILLING, typeof env.BILLING.fetch,
      String(env.BILLING), Object.prototype.toString.call(env.PAY)].join());
    out.push(await (await env.BILLING.fetch("http://billing/")).text());
    for (const [label, call] of [
      ["fn arg", () => env.BILLING.echo({ f() {} })],
      ["symbol arg", () => env.BILLING.echo(Symbol("s"))],
      ["request arg", () => env.BILLING.echo(new Request("http://x/"))],
      ["fn result", () => env.BILLING.fail("fn")],
      ["range", () => env.BILLING.fail("range")],
      ["custom", () => env.BILLING.fail("custom")],
      ["missing", () => env.BILLING.nope()],
      ["proto", () => env.BILLING.toString()],
      ["no entrypoint", () => env.PAY.echo(1)],
    ]) {
      try { await call(); out.push(label + ": no error"); }
      catch (e) { out.push(label + ": " + e.constructor.name + " " + e.name + ": " + e.message); }
    }
    return new Response(out.join("\n"));
  },
};`, Limits{}, map[string]binding.Service{
		"BILLING": poolService{p: callee},
		"PAY":     poolService{p: callee, entrypoint: "Billing"},
	})
	_, body := get(t, serve(t, netHTTP, caller)+"/")
	want := strings.Join([]string{
		"true,true,true,true,true,true,true,false",
		"true,true,true,true,true,true,true,true",
		`42,42,{"charged":42,"currency":"EUR"}`,
		"true,true,function,[ServiceBinding BILLING],[object ServiceBinding]",
		"default fetch undefined",
		"fn arg: DOMException DataCloneError: function f could not be cloned.",
		"symbol arg: DOMException DataCloneError: Symbol(s) could not be cloned.",
		"request arg: DOMException DataCloneError: #<Request> could not be cloned.",
		"fn result: DOMException DataCloneError: function could not be cloned.",
		"range: RangeError RangeError: too big",
		"custom: Error PaymentError: card declined",
		`missing: TypeError TypeError: The RPC receiver does not implement the method "nope".`,
		`proto: TypeError TypeError: The RPC receiver does not implement the method "toString".`,
		`no entrypoint: TypeError TypeError: The RPC receiver does not implement the method "echo".`,
	}, "\n")
	if body != want {
		t.Errorf("got\n%s\nwant\n%s", body, want)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(usage.find("billing", "rpc")) == 11 },
		"every call that left the caller is an invocation of the callee")
	for _, u := range usage.find("billing", "rpc") {
		if u.App != "billing" || u.Version == "" || u.Path == "" {
			t.Errorf("rpc usage %+v", u)
		}
	}
}

// TestServiceRPCLimitStopsCalleeOnly: a callee stopped by its CPU limit
// fails the call with the reason; the caller goes on, and both apps'
// usage shows what happened.
func TestServiceRPCLimitStopsCalleeOnly(t *testing.T) {
	rt, usage := newServiceRuntime(t)
	callee := deployApp(t, rt, "billing", rpcApp, Limits{CPU: 20 * time.Millisecond}, nil)
	caller := deployApp(t, rt, "shop", `export default {
  async fetch(request, env) {
    const out = [];
    try { await env.BILLING.spin(); out.push("no error"); }
    catch (e) { out.push(e.name, e.reason, e.message); }
    out.push(await env.BILLING.add(1, 2)); // a fresh instance answers
    return new Response(out.join("|"));
  },
};`, Limits{CPU: time.Second}, map[string]binding.Service{"BILLING": poolService{p: callee}})
	resp, body := get(t, serve(t, netHTTP, caller)+"/")
	want := `Error|exceeded-cpu|env.BILLING.spin(): app "billing": the script exceeded its CPU time limit (exceeded-cpu)|3`
	if resp.StatusCode != http.StatusOK || body != want {
		t.Errorf("got %d %s\nwant %s", resp.StatusCode, body, want)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(usage.find("billing", "rpc")) == 2 })
	var outcomes []Outcome
	for _, u := range usage.find("billing", "rpc") {
		outcomes = append(outcomes, u.Outcome)
	}
	if fmt.Sprint(outcomes) != "[exceeded-cpu ok]" {
		t.Errorf("callee outcomes %v", outcomes)
	}
	testutil.Eventually(t, 5*time.Second, func() bool { return len(usage.find("shop", "fetch")) == 1 })
	if c := usage.find("shop", "fetch")[0]; c.Outcome != OutcomeOK {
		t.Errorf("caller usage %+v", c)
	}
}

// TestServiceCallsAreSubrequests: fetch and RPC through a binding count
// against the caller's subrequest limit.
func TestServiceCallsAreSubrequests(t *testing.T) {
	rt, _ := newServiceRuntime(t)
	callee := deployApp(t, rt, "billing", rpcApp, Limits{}, nil)
	caller := deployApp(t, rt, "shop", `export default {
  async fetch(request, env) {
    await env.BILLING.add(1, 1);
    await env.BILLING.fetch("http://b/");
    try { await env.BILLING.add(1, 1); return new Response("no error"); }
    catch (e) { return new Response(e.name + ": " + e.message); }
  },
};`, Limits{Subrequests: 2}, map[string]binding.Service{"BILLING": poolService{p: callee}})
	_, body := get(t, serve(t, netHTTP, caller)+"/")
	if want := "TypeError: env.BILLING.add(): too many subrequests (limit 2)"; body != want {
		t.Errorf("got %q, want %q", body, want)
	}
}
