package webapi

import "testing"

// The fast paths of the per-request hot paths (hotpath_bench_test.go)
// keep the behaviour of the general ones: header lists as text, responses
// that keep a string body without an InnerBody, URL records.

func TestHeaderListText(t *testing.T) {
	vm, _ := newTestVM(t)
	runCases(t, vm, []jsCase{
		// Names inside values and name prefixes never match.
		{`const h = new Headers({ "x-a": "b:c", b: "1", xa: "2" }); return [h.get("x-a"), h.get("b"), h.get("a"), h.has("a"), h.get("xa"), h.get("c")].join("|")`, "b:c|1||false|2|"},
		// set replaces the first line of a name in place and drops the others.
		{`const h = new Headers([["a", "1"], ["b", "2"], ["a", "3"], ["c", "4"], ["a", "5"]]); h.set("a", "9"); return [...h].join(";") + "|" + h.get("a")`, "a,9;b,2;c,4|9"},
		{`const h = new Headers([["set-cookie", "1"], ["x", "a"], ["set-cookie", "2"], ["x", "b"], ["set-cookie", "3"]]); h.delete("x"); return h.getSetCookie().join() + "|" + [...h].join(";")`, "1,2,3|set-cookie,1;set-cookie,2;set-cookie,3"},
		{`const h = new Headers({ x: "" }); h.append("y", "   "); h.append("z", "a\tb"); return JSON.stringify([...h])`, `[["x",""],["y",""],["z","a\tb"]]`},
		// The name cache never lets an invalid name or value through.
		{`const h = new Headers(); try { h.get("a b") } catch {} return h.get("a b")`, `threw TypeError: Failed to execute 'get' on 'Headers': invalid header name "a b".`},
		{`const h = new Headers(); h.set("x", "1"); h.set("x", "a\nb")`, `threw TypeError: Failed to execute 'set' on 'Headers': invalid value for header "x".`},
		{`const h = new Headers(); h.set("x", "1"); h.set("x", " 2 "); h.set("x", "\u0100")`, `threw TypeError: Failed to execute 'set' on 'Headers': value is not a valid ByteString.`},
		// Conversions before checks: the value's ByteString error comes first.
		{`new Headers({ "a b": "\u0100" })`, `threw TypeError: Failed to construct 'Headers': value is not a valid ByteString.`},
		// A record is read as WebIDL says (once found not iterable): own keys,
		// then each key's [[GetOwnProperty]] and [[Get]] in turn.
		{`const log = []; const t = { a: "1", b: "2" }; Object.defineProperty(t, "h", { value: "x", enumerable: false });
		  const p = new Proxy(t, { ownKeys(t) { log.push("ownKeys"); return Reflect.ownKeys(t) }, getOwnPropertyDescriptor(t, k) { log.push("gopd " + String(k)); return Reflect.getOwnPropertyDescriptor(t, k) }, get(t, k, r) { log.push("get " + String(k)); return Reflect.get(t, k, r) } });
		  const h = new Headers(p); return log.join(",") + "|" + [...h].join(";")`, "get Symbol(Symbol.iterator),ownKeys,gopd a,get a,gopd b,get b,gopd h|a,1;b,2"},
		{`const s = Symbol("s"); return [...new Headers({ a: "1", [s]: "x" })].join(";")`, `threw TypeError: Failed to construct 'Headers': header name is a symbol.`},
		{`const h = new Headers(); for (let i = 0; i < 300; i++) h.append("X-N" + i, String(i)); return h.get("x-n299") + "|" + h.get("X-N0") + "|" + [...h].length`, "299|0|300"},
		// A response's headers and its Headers object share the list.
		{`const r = new Response("x", { headers: { "Content-Type": "text/x", a: "1" } }); r.headers.append("b", "2"); return [...r.headers].join(";")`, "a,1;b,2;content-type,text/x"},
		{`const r = new Response("x", { headers: { "x-content-type": "1" } }); return r.headers.get("content-type")`, "text/plain;charset=UTF-8"},
	})
}

func TestResponseStringBody(t *testing.T) {
	vm, _ := newTestVM(t)
	runCases(t, vm, []jsCase{
		{`const r = new Response("abc"); const c = r.clone(); return [await r.text(), await c.text(), r.bodyUsed, c.bodyUsed].join("|")`, "abc|abc|true|true"},
		{`const r = Response.json({ a: 1 }); const c = r.clone(); return [await c.json().then((v) => v.a), r.bodyUsed, await r.text()].join("|")`, `1|false|{"a":1}`},
		{`const r = new Response("abc"); const rd = r.body.getReader(); const { value } = await rd.read(); return [value.length, r.bodyUsed].join("|")`, "3|true"},
		{`const r = new Response("x", { status: 201 }); return [r.status, await r.text(), r.bodyUsed].join("|")`, "201|x|true"},
		{`const r = new Response("h\u00e9\ud800"); return JSON.stringify(await r.text())`, "\"hé\uFFFD\""},
		{`const r = new Response(""); return [await r.text(), r.bodyUsed, r.body === null].join("|")`, "|true|false"},
		{`const log = []; new Response("x", { get status() { log.push("status"); return 201 }, get statusText() { log.push("statusText"); return "OK" }, get headers() { log.push("headers"); return {} } }); return log.join()`, "status,statusText,headers"},
		{`return [201.5, "202", 65736, { valueOf() { return 203 } }].map((s) => new Response("x", { status: s }).status).join()`, "201,202,200,203"},
		{`new Response("x", { status: -1 })`, `threw RangeError: Failed to construct 'Response': The status provided (65535) is outside the range [200, 599].`},
		{`new Response("x", { status: 204 })`, `threw TypeError: Failed to construct 'Response': Response with null body status (204) cannot have body.`},
	})
}

func TestURLRecordsInJS(t *testing.T) {
	vm, _ := newTestVM(t)
	runCases(t, vm, []jsCase{
		// A URL too long for a record's offsets keeps its components whole.
		{`const u = new URL("http://h/?q=" + "a".repeat(70000) + "#f"); return [u.href.length, u.search.length, u.pathname, u.host, u.hash, u.searchParams.get("q").length].join("|")`, "70014|70003|/|h|#f|70000"},
		{`const u = new URL("http://h/?q=" + "a".repeat(70000)); u.searchParams.set("q", "b"); return u.href`, "http://h/?q=b"},
		// Records are shared through the parse cache, never changed in place.
		{`const a = new URL("http://h/p?a=1"); const b = new URL("http://h/p?a=1"); a.search = "?b=2"; a.searchParams.append("c", "3"); return a.href + "|" + b.href`, "http://h/p?b=2&c=3|http://h/p?a=1"},
		// A URL's params outlive the URL; it needs no update then.
		{`let u = new URL("http://h/?a=1"); const sp = u.searchParams; u = null; for (let i = 0; i < 1000; i++) new URL("http://h/" + i).searchParams; sp.append("b", "2"); return sp.toString()`, "a=1&b=2"},
		{`const u = new URL("http://h/?a=1"); const sp = u.searchParams; for (let i = 0; i < 1000; i++) new URL("http://h/" + i).searchParams; sp.set("a", "9"); return u.href + "|" + (u.searchParams === sp)`, "http://h/?a=9|true"},
		// get compares USVStrings.
		{`const sp = new URLSearchParams([["\ufffd", "x"]]); return [sp.get("\ud800"), sp.get(undefined), new URLSearchParams("undefined=1").get(undefined)].join("|")`, "x||1"},
		{`return new URL("http://u:p@h/").username + "|" + new Request("http://h").url`, "u|http://h/"},
		{`new Request("http://u@h/")`, `threw TypeError: Failed to construct 'Request': Request cannot be constructed from a URL that includes credentials: "http://u@h/".`},
		{`new Request("http://h/\ud800x", 5)`, `threw TypeError: Failed to construct 'Request': Argument 2 can not be converted to a dictionary.`},
		{`return new Request("http://h/\ud800x").url`, "http://h/%EF%BF%BDx"},
		{`new Request("\ud800")`, "threw TypeError: Failed to construct 'Request': Invalid URL \"\uFFFD\"."},
	})
}
