package webapi

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

// newFetchVM returns a VM with the Web APIs and its host.
func newFetchVM(t *testing.T, allowPrivate bool) (*engine.VM, *Host) {
	t.Helper()
	rt, err := NewRuntime()
	if err != nil {
		t.Fatal(err)
	}
	h := &Host{AllowPrivateNetwork: allowPrivate, Log: func(level, msg string) { t.Logf("%s: %s", level, msg) }}
	vm, entry, err := rt.NewVM(engine.Config{MemoryLimit: 64 << 20}, h)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.ResetInvocation(); entry.Free(); vm.Close() })
	return vm, h
}

// jsCase is a JS expression (may be a promise) and its expected string.
type jsCase struct{ js, want string }

func runCases(t *testing.T, vm *engine.VM, cases []jsCase) {
	t.Helper()
	for _, c := range cases {
		src := `(async () => { try { return String(await (async () => { ` + c.js + ` })()) } catch (e) { return "threw " + e.name + ": " + e.message } })()`
		if got := evalAsync(t, vm, src); got != c.want {
			t.Errorf("%s\n got  %q\n want %q", c.js, got, c.want)
		}
	}
}

func TestHeaders(t *testing.T) {
	vm, _ := newTestVM(t)
	runCases(t, vm, []jsCase{
		{`const h = new Headers({ "X-A": "  v \t" }); return h.get("x-a") + "|" + h.get("X-A") + "|" + h.has("x-a") + "|" + h.get("nope")`, "v|v|true|null"},
		{`const h = new Headers(); h.append("Accept", "a"); h.append("accept", "b"); return h.get("ACCEPT")`, "a, b"},
		{`const h = new Headers([["b", "2"], ["Set-Cookie", "x=1"], ["a", "1"], ["set-cookie", "y=2"], ["A", "3"]]);
		  return JSON.stringify([...h]) + "|" + JSON.stringify(h.getSetCookie()) + "|" + h.get("set-cookie")`,
			`[["a","1, 3"],["b","2"],["set-cookie","x=1"],["set-cookie","y=2"]]|["x=1","y=2"]|x=1, y=2`},
		{`const h = new Headers({ b: "2", a: "1" }); return [...h.keys()].join() + "|" + [...h.values()].join() + "|" + [...h.entries()].join(";")`, "a,b|1,2|a,1;b,2"},
		{`const h = new Headers({ a: "1", b: "2" }); const out = []; h.forEach((v, n, self) => out.push(n + "=" + v + (self === h))); return out.join()`, "a=1true,b=2true"},
		{`const h = new Headers({ a: "1", b: "2", c: "3" }); h.set("B", "x"); h.delete("c"); return [...h].join(";")`, "a,1;b,x"},
		{`const h = new Headers([["a", "1"], ["a", "2"], ["b", "3"]]); h.set("a", "9"); return [...h].join(";")`, "a,9;b,3"},
		{`new Headers().append("a b", "x")`, `threw TypeError: Failed to execute 'append' on 'Headers': invalid header name "a b".`},
		{`new Headers().set("x", "a\nb")`, `threw TypeError: Failed to execute 'set' on 'Headers': invalid value for header "x".`},
		{`new Headers().set("x", "\u0100")`, `threw TypeError: Failed to execute 'set' on 'Headers': value is not a valid ByteString.`},
		{`new Headers().get("é")`, `threw TypeError: Failed to execute 'get' on 'Headers': invalid header name "é".`},
		{`new Headers([["a"]])`, `threw TypeError: Failed to construct 'Headers': each header init pair must have exactly 2 items, not 1.`},
		{`new Headers(5)`, `threw TypeError: Failed to construct 'Headers': headers init must be a sequence of pairs or a record.`},
		{`new Headers().append("a")`, `threw TypeError: Failed to execute 'append' on 'Headers': 2 arguments required, but only 1 present.`},
		{`Response.error().headers.set("a", "b")`, `threw TypeError: Failed to execute 'set' on 'Headers': headers are immutable.`},
		{`return new Headers(new Headers({ a: "1" })).get("a") + Object.prototype.toString.call(new Headers()) + Object.prototype.toString.call(new Headers().entries())`, "1[object Headers][object Headers Iterator]"},
		// Iteration sees changes made while iterating, as a pair iterator does.
		{`const h = new Headers({ a: "1", c: "3" }); const out = []; for (const [n] of h) { out.push(n); if (n === "a") h.append("b", "2") } return out.join()`, "a,b,c"},
	})
}

func TestRequest(t *testing.T) {
	vm, _ := newTestVM(t)
	runCases(t, vm, []jsCase{
		{`const r = new Request("https://Example.com/a/../b?x#f"); return [r.method, r.url, r.redirect, r.bodyUsed, r.body, r.mode, r.credentials, r.cache, r.destination, r.referrer, r.keepalive].join("|")`,
			"GET|https://example.com/b?x#f|follow|false||cors|same-origin|default||about:client|false"},
		{`return ["post", "Get", "patch", "DELETE", "options", "Custom"].map((m) => new Request("http://x/", { method: m }).method).join()`, "POST,GET,patch,DELETE,OPTIONS,Custom"},
		{`new Request("http://x/", { method: "a b" })`, `threw TypeError: Failed to construct 'Request': 'a b' is not a valid HTTP method.`},
		{`new Request("http://x/", { method: "connect" })`, `threw TypeError: Failed to construct 'Request': 'connect' HTTP method is unsupported.`},
		{`new Request("/relative")`, `threw TypeError: Failed to construct 'Request': Invalid URL "/relative".`},
		{`new Request("http://u:p@x/")`, `threw TypeError: Failed to construct 'Request': Request cannot be constructed from a URL that includes credentials: "http://u:p@x/".`},
		{`new Request("http://x/", { body: "a" })`, `threw TypeError: Failed to construct 'Request': Request with GET/HEAD method cannot have body.`},
		{`new Request("http://x/", { method: "HEAD", body: "a" })`, `threw TypeError: Failed to construct 'Request': Request with GET/HEAD method cannot have body.`},
		{`new Request("http://x/", { redirect: "nope" })`, `threw TypeError: Failed to construct 'Request': The provided value 'nope' is not a valid enum value of type RequestRedirect.`},
		{`new Request("http://x/", { signal: {} })`, `threw TypeError: Failed to construct 'Request': member signal is not of type AbortSignal.`},
		{`new Request()`, `threw TypeError: Failed to construct 'Request': 1 argument required, but only 0 present.`},
		{`const r = new Request("http://x/", { method: "POST", body: "hé", headers: { "X-A": "1" } });
		  return [r.headers.get("content-type"), r.headers.get("x-a"), await r.text(), r.bodyUsed].join("|")`, "text/plain;charset=UTF-8|1|hé|true"},
		{`const r = new Request("http://x/", { method: "POST", body: "{\"a\":1}", headers: { "content-type": "application/json" } });
		  return r.headers.get("content-type") + "|" + (await r.json()).a`, "application/json|1"},
		{`const r = new Request("http://x/", { method: "POST", body: "x" }); await r.text(); return await r.text()`, `threw TypeError: Failed to execute 'text' on 'Request': body stream already read`},
		{`const r = new Request("http://x/", { method: "POST", body: new Uint8Array([1, 2, 3]) });
		  const b = await r.arrayBuffer(); return (b instanceof ArrayBuffer) + ":" + [...new Uint8Array(b)]`, "true:1,2,3"},
		{`const r = new Request("http://x/", { method: "PUT", body: "abc" }); const b = await r.bytes(); return b.constructor.name + ":" + b`, "Uint8Array:97,98,99"},
		{`const a = new Request("http://x/", { method: "POST", body: "abc", redirect: "manual", headers: { h: "1" } });
		  const b = a.clone(); b.headers.set("h", "2");
		  return [await a.text(), await b.text(), a.headers.get("h"), b.headers.get("h"), b.redirect, b.method].join("|")`, "abc|abc|1|2|manual|POST"},
		{`const a = new Request("http://x/", { method: "POST", body: "abc" }); await a.text(); a.clone()`, `threw TypeError: Failed to execute 'clone' on 'Request': Request body is already used.`},
		{`const a = new Request("http://x/", { method: "POST", body: "abc", headers: { h: "1" } });
		  const b = new Request(a, { headers: { h: "2" } });
		  return [a.bodyUsed, b.method, b.url, b.headers.get("h"), await b.text()].join("|")`, "true|POST|http://x/|2|abc"},
		{`const a = new Request("http://x/", { method: "POST", body: "abc" }); await a.text(); new Request(a)`, `threw TypeError: Failed to construct 'Request': Cannot construct a Request with a Request object that has already been used.`},
		{`const a = new Request("http://x/", { method: "POST", body: "abc" }); return new Request(a, { method: "GET" })`, `threw TypeError: Failed to construct 'Request': Request with GET/HEAD method cannot have body.`},
		{`const c = new AbortController(); const r = new Request("http://x/", { signal: c.signal }); const before = r.signal.aborted; c.abort("why"); return before + "|" + r.signal.aborted + "|" + r.signal.reason`, "false|true|why"},
		{`return new Request(new URL("http://x/p")).url`, "http://x/p"},
		{`return Object.prototype.toString.call(new Request("http://x/"))`, "[object Request]"},
	})
}

func TestResponse(t *testing.T) {
	vm, _ := newTestVM(t)
	runCases(t, vm, []jsCase{
		{`const r = new Response(); return [r.status, r.ok, r.statusText, r.type, r.url, r.redirected, r.body, r.bodyUsed, [...r.headers].length].join("|")`, "200|true||default||false||false|0"},
		{`const r = new Response("x", { status: 404, statusText: "Nope", headers: [["a", "1"]] }); return [r.status, r.ok, r.statusText, r.headers.get("a"), r.headers.get("content-type")].join("|")`, "404|false|Nope|1|text/plain;charset=UTF-8"},
		{`new Response("", { status: 199 })`, `threw RangeError: Failed to construct 'Response': The status provided (199) is outside the range [200, 599].`},
		{`new Response("", { status: 600 })`, `threw RangeError: Failed to construct 'Response': The status provided (600) is outside the range [200, 599].`},
		{`new Response("", { statusText: "a\nb" })`, "threw TypeError: Failed to construct 'Response': Invalid statusText \"a\nb\"."},
		{`new Response("x", { status: 204 })`, `threw TypeError: Failed to construct 'Response': Response with null body status (204) cannot have body.`},
		{`return [101, 204, 205, 304].map((s) => { try { new Response("x", { status: s }); return "ok" } catch (e) { return e.name } }).join()`, "RangeError,TypeError,TypeError,TypeError"},
		{`return new Response(null, { status: 304 }).status`, "304"},
		{`const r = Response.error(); return [r.type, r.status, r.ok, r.body].join("|")`, "error|0|false|"},
		{`const r = Response.redirect("http://x/a?b", 301); return [r.status, r.headers.get("location"), r.body].join("|")`, "301|http://x/a?b|"},
		{`return Response.redirect("http://x/").status`, "302"},
		{`Response.redirect("http://x/", 200)`, `threw RangeError: Failed to execute 'redirect' on 'Response': Invalid status code 200 (must be 301, 302, 303, 307 or 308).`},
		{`Response.redirect("nope")`, `threw TypeError: Failed to execute 'redirect' on 'Response': Invalid URL "nope".`},
		{`const r = Response.json({ a: 1 }, { status: 201, headers: { x: "y" } }); return [r.status, r.headers.get("content-type"), r.headers.get("x"), await r.text()].join("|")`, `201|application/json|y|{"a":1}`},
		{`Response.json(undefined)`, `threw TypeError: Failed to execute 'json' on 'Response': The data is not JSON serializable.`},
		{`const a = new Response("abc"); const b = a.clone(); return await a.text() + await b.text()`, "abcabc"},
		{`const a = new Response("abc"); await a.text(); a.clone()`, `threw TypeError: Failed to execute 'clone' on 'Response': Response body is already used.`},
		{`return await new Response(new Uint8Array([0xef, 0xbb, 0xbf, 0x68, 0xff])).text()`, "h\ufffd"},
		{`return (await new Response("hé").bytes()).join()`, "104,195,169"},
		{`return await new Response("{bad").json()`, `threw SyntaxError: expecting property name`},
		{`const r = new Response("x", { headers: { "content-type": "text/x" } }); return r.headers.get("content-type")`, "text/x"},
		{`const r = new Response(new URLSearchParams({ a: "1 2" })); return r.headers.get("content-type") + "|" + await r.text()`, "application/x-www-form-urlencoded;charset=UTF-8|a=1+2"},
		{`return Object.prototype.toString.call(new Response())`, "[object Response]"},
		{`return new Response("x", { status: 65736 }).status`, "200"},
	})
}

func TestResponseStreamsAndBlobs(t *testing.T) {
	vm, _ := newTestVM(t)
	runCases(t, vm, []jsCase{
		{`const r = new Response("abc"); const s = r.body; const same = s === r.body;
		  const reader = s.getReader(); const { value } = await reader.read(); const end = await reader.read();
		  return [same, s instanceof ReadableStream, [...value], end.done, r.bodyUsed].join("|")`, "true|true|97,98,99|true|true"},
		{`const r = new Response("abc"); r.body.getReader(); return await r.text()`, `threw TypeError: Failed to execute 'text' on 'Response': body stream already read`},
		{`const r = new Response(new ReadableStream({ start(c) { c.enqueue(new Uint8Array([104])); c.enqueue(new Uint8Array([105])); c.close() } }));
		  const c = r.clone(); return await r.text() + "|" + await c.text()`, "hi|hi"},
		{`const r = new Response(new ReadableStream({ start(c) { c.enqueue("str"); c.close() } })); return await r.text()`, `threw TypeError: body stream chunk is not a Uint8Array`},
		{`const s = new ReadableStream(); s.getReader(); new Response(s)`, `threw TypeError: Failed to construct 'Response': the ReadableStream body is locked or disturbed.`},
		{`const r = new Response(new Blob(["ab"], { type: "Text/Plain" })); return r.headers.get("content-type") + "|" + await r.text()`, "text/plain|ab"},
		{`const b = await new Response("xyz", { headers: { "content-type": "text/q" } }).blob(); return b.type + "|" + b.size + "|" + await b.text()`, "text/q|3|xyz"},
	})
}

func TestFormData(t *testing.T) {
	vm, _ := newTestVM(t)
	runCases(t, vm, []jsCase{
		{`const f = new FormData(); f.append("a", "1"); f.append("b", "2"); f.append("a", "3");
		  return [f.get("a"), f.getAll("a").join(), f.has("b"), f.has("c"), f.get("c"), [...f.keys()].join(), [...f.values()].join(), [...f].join(";")].join("|")`,
			"1|1,3|true|false||a,b,a|1,2,3|a,1;b,2;a,3"},
		{`const f = new FormData(); f.append("a", "1"); f.append("b", "2"); f.append("a", "3"); f.set("a", "x"); f.delete("b"); return [...f].join(";")`, "a,x"},
		{`const f = new FormData(); f.append("f", new Blob(["abc"], { type: "text/x" }));
		  const v = f.get("f"); return [v instanceof File, v.name, v.type, v.size, await v.text()].join("|")`, "true|blob|text/x|3|abc"},
		{`const f = new FormData(); f.set("f", new File(["abc"], "a.txt"), "b.txt"); return f.get("f").name`, "b.txt"},
		{`const f = new FormData(); f.append("f", "x", "name")`, `threw TypeError: Failed to execute 'append' on 'FormData': parameter 2 is not of type 'Blob'.`},
		{`new FormData({})`, `threw TypeError: Failed to construct 'FormData': parameter 1 is not of type 'HTMLFormElement' (there is no DOM).`},
		{`const f = new FormData(); f.append("a", "1"); f.append("b", "2"); const out = []; f.forEach((v, k) => out.push(k + v)); return out.join()`, "a1,b2"},
		// Round trip through a multipart body.
		{`const f = new FormData(); f.append("a", "1"); f.append("n\"l", "x\ny"); f.append("f", new File(["hello"], "h.txt", { type: "text/plain" }));
		  const r = new Response(f); const g = await r.formData(); const file = g.get("f");
		  return [g.get("a"), JSON.stringify(g.get("n%22l")), file.name, file.type, await file.text()].join("|")`, `1|"x\r\ny"|h.txt|text/plain|hello`},
		{`const r = new Response("a=1&b=x+y&a=%C3%A9", { headers: { "content-type": "application/x-www-form-urlencoded" } }); return [...await r.formData()].join(";")`, "a,1;b,x y;a,é"},
		{`await new Response("x", { headers: { "content-type": "text/plain" } }).formData()`, `threw TypeError: Failed to execute 'formData' on 'Response': content type "text/plain" is neither multipart/form-data nor application/x-www-form-urlencoded.`},
		{`await new Response("x", { headers: { "content-type": "multipart/form-data" } }).formData()`, `threw TypeError: Failed to execute 'formData' on 'Response': multipart/form-data content type has no boundary.`},
		{`await new Response("garbage", { headers: { "content-type": "multipart/form-data; boundary=zz" } }).formData()`, `threw TypeError: Failed to execute 'formData' on 'Response': Failed to parse body as FormData: no multipart boundary "zz"`},
	})
}

// upstream is a test server for outbound fetch.
func upstream(t *testing.T) *httptest.Server {
	t.Helper()
	block := make(chan struct{})
	mux := http.NewServeMux()
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Method", r.Method)
		w.Header().Set("X-Got-Type", r.Header.Get("Content-Type"))
		w.Header().Set("X-Got-A", r.Header.Get("X-A"))
		w.Header().Set("X-Length", strconv.FormatInt(r.ContentLength, 10))
		w.Header().Add("Set-Cookie", "a=1")
		w.Header().Add("Set-Cookie", "b=2")
		w.WriteHeader(http.StatusAccepted)
		w.Write(b)
	})
	mux.HandleFunc("/form", func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseMultipartForm(1 << 20); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		f, fh, err := r.FormFile("file")
		if err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		b, _ := io.ReadAll(f)
		fmt.Fprintf(w, "%s|%s|%s|%s", r.FormValue("a"), fh.Filename, fh.Header.Get("Content-Type"), b)
	})
	mux.HandleFunc("/redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/echo", http.StatusFound)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-block:
		}
	})
	mux.HandleFunc("/slowbody", func(w http.ResponseWriter, r *http.Request) {
		w.Write([]byte("first"))
		w.(http.Flusher).Flush()
		select {
		case <-r.Context().Done():
		case <-block:
		}
	})
	mux.HandleFunc("/big", func(w http.ResponseWriter, r *http.Request) {
		n, _ := strconv.Atoi(r.URL.Query().Get("n"))
		w.Header().Set("Content-Length", strconv.Itoa(n))
		io.Copy(w, &patternReader{left: n})
	})
	mux.HandleFunc("/count", func(w http.ResponseWriter, r *http.Request) {
		n, _ := io.Copy(io.Discard, r.Body)
		fmt.Fprintf(w, "%d|%s|%d", n, r.Host, r.ContentLength)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(func() { close(block); srv.Close() })
	return srv
}

func TestFetchOutbound(t *testing.T) {
	srv := upstream(t)
	vm, h := newFetchVM(t, true)
	u := srv.URL
	runCases(t, vm, []jsCase{
		{`const r = await fetch("` + u + `/echo", { method: "POST", body: "hi", headers: { "X-A": "1" } });
		  return [r.status, r.statusText, r.ok, r.type, r.url, r.redirected, r.headers.get("x-method"), r.headers.get("x-got-type"),
		          r.headers.get("x-got-a"), r.headers.get("x-length"), JSON.stringify(r.headers.getSetCookie()), await r.text()].join("|")`,
			"202|Accepted|true|basic|" + u + "/echo|false|POST|text/plain;charset=UTF-8|1|2|[\"a=1\",\"b=2\"]|hi"},
		{`const r = await fetch("` + u + `/echo"); r.headers.set("a", "b")`, `threw TypeError: Failed to execute 'set' on 'Headers': headers are immutable.`},
		{`const r = await fetch(new Request("` + u + `/echo", { method: "PUT", body: new Uint8Array([1, 2]) })); return r.headers.get("x-method") + "|" + (await r.bytes()).join()`, "PUT|1,2"},
		{`const r = await fetch("` + u + `/echo", { method: "POST", body: new URLSearchParams("a=1") }); return r.headers.get("x-got-type") + "|" + await r.text()`, "application/x-www-form-urlencoded;charset=UTF-8|a=1"},
		{`const r = await fetch("` + u + `/echo", { method: "POST", body: new Blob(["bl", "ob"]) }); return r.headers.get("x-length") + "|" + await r.text()`, "4|blob"},
		{`const r = await fetch("` + u + `/echo", { method: "POST", body: new ReadableStream({ start(c) { c.enqueue(new Uint8Array([65])); c.enqueue(new Uint8Array([66])); c.close() } }) }); return await r.text()`, "AB"},
		{`const r = await fetch("` + u + `/echo", { method: "POST", body: new ReadableStream({ start(c) { c.enqueue(new Uint8Array(3)); c.close() } }) }); return r.headers.get("x-length")`, "-1"},
		{`await fetch("` + u + `/echo", { method: "POST", body: new ReadableStream({ start(c) { c.enqueue("str"); c.close() } }) })`, `threw TypeError: fetch: POST ` + u + `/echo: request body stream chunk is not a Uint8Array`},
		{`const f = new FormData(); f.append("a", "1"); f.append("file", new File(["data"], "d.bin", { type: "application/x-d" }));
		  const r = await fetch("` + u + `/form", { method: "POST", body: f }); return r.status + "|" + await r.text()`, "200|1|d.bin|application/x-d|data"},
		{`const r = await fetch("` + u + `/echo", { method: "HEAD" }); return r.status + "|" + r.body`, "202|null"},
		// Redirect modes.
		{`const r = await fetch("` + u + `/redirect"); return [r.status, r.redirected, r.url].join("|")`, "202|true|" + u + "/echo"},
		{`const r = await fetch("` + u + `/redirect", { redirect: "manual" }); return [r.status, r.redirected, r.headers.get("location"), r.url].join("|")`, "302|false|/echo|" + u + "/redirect"},
		{`await fetch("` + u + `/redirect", { redirect: "error" })`, `threw TypeError: fetch: redirect mode is "error" but ` + u + `/redirect redirected to ` + u + `/echo`},
		{`await fetch("` + u + `/loop")`, `threw TypeError: fetch: too many redirects (more than 20)`},
		// Bad input.
		{`await fetch("ftp://x/")`, `threw TypeError: fetch: URL scheme "ftp" is not supported (only http and https)`},
		{`await fetch("nope")`, `threw TypeError: Failed to construct 'Request': Invalid URL "nope".`},
		{`await fetch()`, `threw TypeError: Failed to execute 'fetch': 1 argument required, but only 0 present.`},
		{`const r = new Request("` + u + `/echo", { method: "POST", body: "x" }); await r.text(); await fetch(r)`, `threw TypeError: Failed to construct 'Request': Cannot construct a Request with a Request object that has already been used.`},
		// Streams of a fetched body.
		{`const r = await fetch("` + u + `/big?n=200000"); const reader = r.body.getReader(); let n = 0, chunks = 0;
		  for (;;) { const { done, value } = await reader.read(); if (done) break; n += value.length; chunks++ }
		  return n + "|" + (chunks > 1) + "|" + r.bodyUsed`, "200000|true|true"},
		{`const r = await fetch("` + u + `/big?n=10"); const c = r.clone(); return (await r.bytes()).join() + "|" + (await c.bytes()).join()`, "0,1,2,3,4,5,6,7,8,9|0,1,2,3,4,5,6,7,8,9"},
	})
	use := h.Usage()
	// 16 fetches reached the network; bodies sent: "hi", [1,2], "a=1",
	// "blob", "AB", 3 zeros and a multipart form; bodies read: 2 + 200000 +
	// 10 + 10 bytes and more.
	if use.Subrequests != 16 || use.BytesIn < 200022 || use.BytesOut < 2+2+3+4+2+100 {
		t.Fatalf("usage %+v", use)
	}
}

func TestFetchAbort(t *testing.T) {
	srv := upstream(t)
	vm, _ := newFetchVM(t, true)
	u := srv.URL
	runCases(t, vm, []jsCase{
		// Aborted before it starts.
		{`const c = new AbortController(); c.abort(); await fetch("` + u + `/echo", { signal: c.signal })`, `threw AbortError: This operation was aborted`},
		{`const c = new AbortController(); c.abort(new RangeError("mine")); await fetch("` + u + `/echo", { signal: c.signal })`, `threw RangeError: mine`},
		// Aborted while waiting for the response head.
		{`const c = new AbortController(); const p = fetch("` + u + `/slow", { signal: c.signal });
		  await fetch("` + u + `/echo"); c.abort(); await p`, `threw AbortError: This operation was aborted`},
		// Aborted while reading the body: the body errors with the reason.
		{`const c = new AbortController(); const r = await fetch("` + u + `/slowbody", { signal: c.signal });
		  const reader = r.body.getReader(); const first = await reader.read();
		  c.abort(new Error("stop")); try { await reader.read(); return "no error" } catch (e) { return new TextDecoder().decode(first.value) + "|" + e.message }`, "first|stop"},
		{`const c = new AbortController(); const r = await fetch("` + u + `/slowbody", { signal: c.signal }); const p = r.text(); c.abort(); await p`, `threw AbortError: This operation was aborted`},
	})
}

func TestFetchEgressPolicy(t *testing.T) {
	srv := upstream(t)
	_, port, _ := net.SplitHostPort(srv.Listener.Addr().String())
	vm, _ := newFetchVM(t, false)
	runCases(t, vm, []jsCase{
		{`await fetch("http://127.0.0.1:` + port + `/echo")`, `threw TypeError: fetch: connection to 127.0.0.1:` + port + ` refused by egress policy (loopback address)`},
		{`await fetch("http://10.0.0.1/")`, `threw TypeError: fetch: connection to 10.0.0.1:80 refused by egress policy (private address)`},
		{`await fetch("http://169.254.169.254/latest/meta-data/")`, `threw TypeError: fetch: connection to 169.254.169.254:80 refused by egress policy (link-local address)`},
		{`await fetch("http://100.64.1.1/")`, `threw TypeError: fetch: connection to 100.64.1.1:80 refused by egress policy (carrier-grade NAT address)`},
		{`await fetch("http://0.0.0.0:` + port + `/")`, `threw TypeError: fetch: connection to 0.0.0.0:` + port + ` refused by egress policy (unspecified address)`},
	})
	// IPv6 loopback: refused by policy, or by a kernel without IPv6 before
	// the policy sees it; never connected.
	got := evalAsync(t, vm, `fetch("http://[::1]:`+port+`/echo").then(() => "connected", (e) => e.message)`)
	if got != `fetch: connection to [::1]:`+port+` refused by egress policy (loopback address)` && !strings.Contains(got, "address family not supported") {
		t.Fatalf("[::1]: %s", got)
	}
	// A name is judged by the address it resolves to (either family).
	got = evalAsync(t, vm, `fetch("http://localhost:`+port+`/echo").then(() => "connected", (e) => e.message)`)
	if got != `fetch: connection to 127.0.0.1:`+port+` refused by egress policy (loopback address)` &&
		got != `fetch: connection to [::1]:`+port+` refused by egress policy (loopback address)` {
		t.Fatalf("localhost: %s", got)
	}
}

func TestEgressBlockedReasons(t *testing.T) {
	for addr, want := range map[string]string{
		"127.0.0.53:53":              "loopback address",
		"[::1]:80":                   "loopback address",
		"[::ffff:127.0.0.1]:80":      "loopback address",
		"192.168.1.1:80":             "private address",
		"172.16.0.1:80":              "private address",
		"[fd00::1]:80":               "private address",
		"[fe80::1]:80":               "link-local address",
		"224.0.0.1:80":               "multicast address",
		"[ff02::1]:80":               "multicast address",
		"100.127.255.255:80":         "carrier-grade NAT address",
		"[::]:80":                    "unspecified address",
		"[64:ff9b::a00:1]:80":        "private address",
		"255.255.255.255:80":         "reserved address",
		"93.184.215.14:443":          "",
		"[2606:4700::6810:84e5]:443": "",
	} {
		err := egressControl("tcp", addr, nil)
		got := ""
		if err != nil {
			got = err.(*EgressError).Reason
		}
		if got != want {
			t.Errorf("%s: got %q, want %q", addr, got, want)
		}
	}
}

func TestFetchSubrequestLimit(t *testing.T) {
	srv := upstream(t)
	vm, h := newFetchVM(t, true)
	got := evalAsync(t, vm, `(async () => {
		for (let i = 0; i < 50; i++) await (await fetch("`+srv.URL+`/echo")).text();
		try { await fetch("`+srv.URL+`/echo") } catch (e) { return e.name + ": " + e.message }
	})()`)
	if got != "TypeError: fetch: too many subrequests (limit 50)" {
		t.Fatal(got)
	}
	h.ResetInvocation()
	h.MaxSubrequests = 1
	got = evalAsync(t, vm, `(async () => {
		await fetch("`+srv.URL+`/echo");
		try { await fetch("`+srv.URL+`/echo") } catch (e) { return e.message }
	})()`)
	if got != "fetch: too many subrequests (limit 1)" {
		t.Fatal(got)
	}
}

// A handler proxying a 20 MB upstream response: the body goes from the
// fetch's resource to the sink in Go.
func TestDispatchProxyFetch(t *testing.T) {
	const size = 20 << 20
	srv := upstream(t)
	d := newDispatchVM(t, moduleBundle(`return fetch("`+srv.URL+`/big?n=`+strconv.Itoa(size)+`")`))
	d.host.AllowPrivateNetwork = true
	d.vm.RunGC()
	base, _ := d.vm.MemoryUsage()
	d.host.ResetInvocation()
	d.host.AllowPrivateNetwork = true
	sink := &fakeSink{}
	d.host.Sink = sink
	p, err := d.call("fetch", "GET", "http://h.test/", "", -1, "r")
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
	if sink.header.Get("Content-Length") != strconv.Itoa(size) || sink.status != 200 {
		t.Fatalf("status %d header %v", sink.status, sink.header)
	}
	if peak > 1<<20 {
		t.Fatalf("JS heap grew by %d bytes proxying %d", peak, size)
	}
	if use := d.host.Usage(); use.BytesIn != size || use.Subrequests != 1 {
		t.Fatalf("usage %+v", use)
	}
}

// The incoming request body is streamed to an upstream by Go.
func TestDispatchRequestBodyToFetch(t *testing.T) {
	const size = 20 << 20
	srv := upstream(t)
	d := newDispatchVM(t, moduleBundle(`
		const r = await fetch("`+srv.URL+`/count", { method: "POST", headers: request.headers, body: request.body });
		return new Response(await r.text() + "|" + request.bodyUsed);`))
	d.host.ResetInvocation()
	d.host.AllowPrivateNetwork = true
	sink := &fakeSink{}
	d.host.Sink = sink
	rid := d.host.AddBody(&patternReader{left: size})
	p, err := d.call("fetch", "POST", "http://h.test/", "host:h.test\ncontent-length:"+strconv.Itoa(size)+"\n", rid, "r")
	if err != nil {
		t.Fatal(err)
	}
	peak := int64(0)
	if _, err := d.await(p, func() {
		used, _ := d.vm.MemoryUsage()
		peak = max(peak, used)
	}); err != nil {
		t.Fatal(err)
	}
	// Host comes from the URL; the announced length is kept (no chunking).
	want := fmt.Sprintf("%d|%s|%d|true", size, srv.Listener.Addr(), size)
	if got := sink.body.String(); got != want {
		t.Fatalf("body %q", got)
	}
	if use := d.host.Usage(); use.BytesOut != size {
		t.Fatalf("usage %+v", use)
	}
	if peak > 8<<20 {
		t.Fatalf("JS heap reached %d bytes", peak)
	}
}

// The fetch and body ops the JS layers call are exactly the ones
// registered, so neither side drifts.
func TestFetchOpsMatchJS(t *testing.T) {
	registered := map[string]bool{}
	for _, set := range []func() []engine.Op{bodyOps, fetchOps} {
		for _, op := range set() {
			registered[op.Name] = true
		}
	}
	used := map[string]bool{}
	re := regexp.MustCompile(`ops\.(op_(?:body|respond|fetch|resource|formdata)\w*)`)
	for _, name := range []string{"20_headers.js", "21_formdata.js", "22_body.js", "23_request.js", "23_response.js", "26_fetch.js", "90_dispatch.js"} {
		src, err := jsFiles.ReadFile("js/" + name)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			used[m[1]] = true
		}
	}
	for name := range used {
		if !registered[name] {
			t.Errorf("JS calls %s, which no op table registers", name)
		}
	}
	for name := range registered {
		if !used[name] {
			t.Errorf("op %s is registered but no JS layer calls it", name)
		}
	}
}
