package webapi

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

// newLazyTestVM is newTestVM recording, in *loaded, the lazy layers the
// VM loads.
func newLazyTestVM(t testing.TB) (*engine.VM, engine.Value, *Host, *[]string) {
	t.Helper()
	rt, err := NewRuntime()
	if err != nil {
		t.Fatal(err)
	}
	loaded := new([]string)
	for i, op := range rt.ops {
		if op.Name == "op_layer_load" {
			fn := op.Fn
			rt.ops[i].Fn = func(c *engine.Call) error {
				*loaded = append(*loaded, c.String(0))
				return fn(c)
			}
		}
	}
	h := &Host{}
	vm, entry, err := rt.NewVM(engine.Config{MemoryLimit: 64 << 20}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.ResetInvocation(); entry.Free(); vm.Close() })
	return vm, entry, h, loaded
}

// The export list Source reads from each layer is what the layer returns.
// All layers run eagerly here, in order, which must work as well.
func TestLayerExportNames(t *testing.T) {
	var b strings.Builder
	b.WriteString("(function (ops) {\n\"use strict\";\nconst k = Object.create(null);\nconst exported = {};\n")
	for _, l := range layers {
		src, err := readLayer(l.file)
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&b, "exported[%q] = (function (ops, k) {\n%s\n})(ops, k);\nObject.assign(k, exported[%[1]q]);\nexported[%[1]q] = Object.keys(exported[%[1]q]);\n", l.file, src)
	}
	b.WriteString("return JSON.stringify(exported);\n})(globalThis." + opsGlobal + ")\n")
	vm, err := engine.New(engine.Config{}, opsGlobal, Ops())
	if err != nil {
		t.Fatal(err)
	}
	defer vm.Close()
	h := &Host{}
	vm.Host, h.vm = h, vm
	defer h.StopTimers()
	v, err := vm.Eval("layers.js", b.String())
	if err != nil {
		t.Fatal(err)
	}
	var exported map[string][]string
	err = json.Unmarshal([]byte(v.String()), &exported)
	v.Free()
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]string{}
	for _, l := range layers {
		src, _ := readLayer(l.file)
		names, err := exportNames(src)
		if err != nil {
			t.Errorf("%s: %v", l.file, err)
			continue
		}
		if !slices.Equal(names, exported[l.file]) {
			t.Errorf("%s: export list read as %v, the layer returns %v", l.file, names, exported[l.file])
		}
		// A lazy layer's exports are found by name: no two layers may
		// export the same one.
		for _, n := range names {
			if prev, ok := seen[n]; ok {
				t.Errorf("%s and %s both export %s", prev, l.file, n)
			}
			seen[n] = l.file
		}
	}
}

func TestExportNamesParse(t *testing.T) {
	for _, c := range []struct{ src, want string }{
		{"x\nreturn { a, b };", "a b"},
		{"x\nreturn {\n  a, // c, d\n  b: (x, y) => f(x, { c: 1, d }),\n  /* e, */ g() { return { h }; },\n  i: \"j, k\", l,\n};", "a b g i l"},
		{"x\nreturn {};", ""},
	} {
		names, err := exportNames(c.src)
		if err != nil {
			t.Errorf("%q: %v", c.src, err)
			continue
		}
		if got := strings.Join(names, " "); got != c.want {
			t.Errorf("%q: got %q, want %q", c.src, got, c.want)
		}
	}
	if _, err := exportNames("return { a"); err == nil {
		t.Error("no error for a file without a top-level return")
	}
}

// A hello-world app, with the calls most handlers make, loads no lazy
// layer: a warm instance pays for the core only.
func TestLazyLayersUnusedByHelloWorld(t *testing.T) {
	vm, entry, h, loaded := newLazyTestVM(t)
	bundle := `globalThis.__kumo_main = { default: { async fetch(request, env, ctx) {
	  const url = new URL(request.url);
	  const q = url.searchParams.get("name") ?? "world";
	  const body = request.method === "POST" ? await request.text() : "";
	  ctx.waitUntil(Promise.resolve());
	  setTimeout(() => {}, 0);
	  if (url.pathname === "/json") return Response.json({ hello: q, body, ua: request.headers.get("user-agent") });
	  return new Response("Hello, " + q + "!", { headers: { "content-type": "text/plain" } });
	} } };`
	v, err := vm.Eval("bundle.js", bundle)
	if err != nil {
		t.Fatal(err)
	}
	v.Free()
	d := &dispatchVM{t: t, vm: vm, entry: entry, host: h}
	r, err := d.call("init")
	if err != nil {
		t.Fatal(err)
	}
	r.Free()
	r, err = d.call("setEnv", engine.JSON(`{"GREETING":{"kind":"var","value":"hi"}}`))
	if err != nil {
		t.Fatal(err)
	}
	r.Free()
	for _, url := range []string{"http://a.test/?name=kumo", "http://a.test/json"} {
		if s := d.mustServe("GET", url, "user-agent:t\n", nil); s.status != 200 {
			t.Fatalf("%s: status %d", url, s.status)
		}
	}
	if s := d.mustServe("POST", "http://a.test/json", "", io.NopCloser(strings.NewReader("x"))); s.status != 200 {
		t.Fatalf("POST: status %d", s.status)
	}
	p, err := d.call("waitUntil")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.await(p, nil); err != nil {
		t.Fatal(err)
	}
	if len(*loaded) > 0 {
		t.Errorf("lazy layers loaded: %v", *loaded)
	}
}

// A lazy layer's globals are accessors until first read, which loads the
// layer (and the lazy layers it needs) once and turns all of its globals
// into plain values; assigning one first replaces it without loading.
func TestLazyGlobals(t *testing.T) {
	vm, _, _, loaded := newLazyTestVM(t)
	got := evalAsync(t, vm, `(() => {
	  const d = (n) => {
	    const p = Object.getOwnPropertyDescriptor(globalThis, n);
	    return p === undefined ? "none" : "get" in p ? "accessor" : "value:" + p.writable + p.enumerable + p.configurable;
	  };
	  const out = [d("Blob"), d("File"), d("structuredClone")];
	  out.push(typeof Blob, d("Blob"), d("File"), File === globalThis.File, new File(["x"], "f").size);
	  globalThis.fetch = "mine";
	  out.push(d("fetch"), fetch);
	  out.push(Object.keys(globalThis).includes("Blob"), "crypto" in globalThis);
	  return out.join();
	})()`)
	want := "accessor,accessor,accessor,function,value:truefalsetrue,value:truefalsetrue,true,1,value:truefalsetrue,mine,false,true"
	if got != want {
		t.Errorf("got  %s\nwant %s", got, want)
	}
	if !slices.Equal(*loaded, []string{"08_blob.js"}) {
		t.Errorf("loaded %v, want only 08_blob.js", *loaded)
	}
}

// A lazy layer loads once, with the lazy layers it uses while loading
// (WritableStream uses AbortController, an EventTarget).
func TestLazyLayerLoadsOnce(t *testing.T) {
	vm, _, _, loaded := newLazyTestVM(t)
	got := evalAsync(t, vm, `(async () => {
	  const t = new TransformStream();
	  const w = t.writable.getWriter();
	  w.write(new Uint8Array([104, 105]));
	  w.close();
	  const r = new Response(t.readable);
	  return [await r.text(), new ReadableStream() instanceof ReadableStream, typeof WritableStream].join();
	})()`)
	if got != "hi,true,function" {
		t.Errorf("got %q", got)
	}
	slices.Sort(*loaded)
	if want := []string{"02_event.js", "03_abort.js", "06_streams.js", "09_streams_writable.js"}; !slices.Equal(*loaded, want) {
		t.Errorf("loaded %v, want %v", *loaded, want)
	}
}

// An op that throws a DOMException in a VM that has not loaded
// 04_domexception.js: the engine finds the class through the lazy global,
// which loads it from inside the op's error path.
func TestLazyDOMExceptionFromOp(t *testing.T) {
	vm, _, _, loaded := newLazyTestVM(t)
	got := evalAsync(t, vm, `(() => {
	  try { atob("!"); } catch (e) {
	    return [e.name, e instanceof DOMException, e.code, Object.getPrototypeOf(e) === DOMException.prototype].join();
	  }
	})()`)
	if got != "InvalidCharacterError,true,5,true" {
		t.Errorf("got %q", got)
	}
	// atob is 05_encoding.js's.
	if !slices.Equal(*loaded, []string{"05_encoding.js", "04_domexception.js"}) {
		t.Errorf("loaded %v", *loaded)
	}
}

// The global object is an event target however 02_event.js comes to load:
// through the global addEventListener or through EventTarget itself.
func TestLazyGlobalEventTarget(t *testing.T) {
	for _, first := range []string{
		`addEventListener("a", (e) => seen.push("a:" + e.type));`,
		`EventTarget.prototype.addEventListener.call(globalThis, "a", (e) => seen.push("a:" + e.type));`,
		`new CustomEvent("z"); addEventListener("a", (e) => seen.push("a:" + e.type));`,
	} {
		vm, _, _, _ := newLazyTestVM(t)
		got := evalAsync(t, vm, `(() => { const seen = [];
		  `+first+`
		  self.addEventListener("b", (e) => seen.push("b:" + (e.target === globalThis)));
		  dispatchEvent(new Event("a"));
		  globalThis.dispatchEvent(new Event("b"));
		  removeEventListener("b", () => {});
		  return seen.join();
		})()`)
		if got != "a:a,b:true" {
			t.Errorf("%s: got %q", first, got)
		}
	}
}

// What the first use of common APIs loads: each only the layers it needs.
func TestLazyLayerDependencies(t *testing.T) {
	for _, c := range []struct{ expr, want string }{
		{`setTimeout(() => {}, 1); queueMicrotask(() => {}); new Headers({ a: "b" }).get("a")`, ""},
		{`console.log("x")`, "01_console.js"},
		{`crypto.randomUUID()`, "11_crypto.js"},
		{`new FormData().append("a", "b")`, "21_formdata.js"},
		{`new Response(new FormData()).text()`, "21_formdata.js"},
		{`new Blob(["x"]).text()`, "08_blob.js"},
		{`new TextEncoder().encode("x")`, "05_encoding.js"},
		{`typeof fetch`, "26_fetch.js"},
		{`performance.now()`, "02_event.js 13_performance.js"},
		{`new AbortController().abort()`, "02_event.js 03_abort.js 04_domexception.js"},
		{`structuredClone({ a: 1 })`, "04_domexception.js 07_structured_clone.js"},
		{`new ReadableStream()`, "06_streams.js"},
		{`new Response("x").body`, "06_streams.js"},
	} {
		vm, _, _, loaded := newLazyTestVM(t)
		v, err := vm.Eval("test.js", c.expr)
		if err != nil {
			t.Errorf("%s: %v", c.expr, err)
			continue
		}
		v.Free()
		if err := vm.RunJobs(); err != nil {
			t.Errorf("%s: %v", c.expr, err)
		}
		slices.Sort(*loaded)
		if got := strings.Join(*loaded, " "); got != c.want {
			t.Errorf("%s loaded %q, want %q", c.expr, got, c.want)
		}
	}
}
