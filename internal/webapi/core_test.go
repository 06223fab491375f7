package webapi

import (
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// coreCase is a script run as the body of an async function, and the
// string it must return; a thrown error becomes "threw <name>: <message>".
type coreCase struct{ src, want string }

func runCore(t *testing.T, cases []coreCase) {
	t.Helper()
	vm, _ := newTestVM(t)
	for _, c := range cases {
		got := evalAsync(t, vm, "(async () => { try {\n"+c.src+"\n} catch (e) { return `threw ${e?.name}: ${e?.message}` } })()")
		if got != c.want {
			t.Errorf("%s\n got  %q\n want %q", c.src, got, c.want)
		}
	}
}

// The ops the JS layers call are exactly the ops registered (STYLE.md 5).
func TestCoreOpsMatchJS(t *testing.T) {
	used := map[string]bool{}
	re := regexp.MustCompile(`\bops\.(op_[a-z0-9_]+)`)
	for _, l := range layers {
		src, err := jsFiles.ReadFile("js/" + l.file)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range re.FindAllStringSubmatch(string(src), -1) {
			used[m[1]] = true
		}
	}
	registered := map[string]bool{}
	for _, op := range Ops() {
		if registered[op.Name] {
			t.Errorf("op %s registered twice", op.Name)
		}
		registered[op.Name] = true
	}
	var missing, unused []string
	for name := range used {
		if !registered[name] {
			missing = append(missing, name)
		}
	}
	for name := range registered {
		if !used[name] {
			unused = append(unused, name)
		}
	}
	sort.Strings(missing)
	sort.Strings(unused)
	if len(missing) > 0 || len(unused) > 0 {
		t.Fatalf("ops used by JS but not registered: %v; registered but unused: %v", missing, unused)
	}
}

func TestCoreGlobals(t *testing.T) {
	runCore(t, []coreCase{
		{`return ["console","Event","EventTarget","CustomEvent","AbortController","AbortSignal","DOMException",
		  "TextEncoder","TextDecoder","atob","btoa","ReadableStream","ReadableStreamDefaultReader","WritableStream",
		  "WritableStreamDefaultWriter","TransformStream","ByteLengthQueuingStrategy","CountQueuingStrategy",
		  "TextEncoderStream","TextDecoderStream","structuredClone","Blob","File","crypto","CryptoKey","SubtleCrypto",
		  "setTimeout","clearTimeout","setInterval","clearInterval","queueMicrotask","performance","reportError",
		  "addEventListener","self"].filter((n) => !(n in globalThis)).join()`, ""},
		// Globals are not enumerable; classes have their tag on the
		// prototype, and methods there, not on instances.
		{`return Object.keys(globalThis).filter((n) => ["Blob","console","crypto","setTimeout"].includes(n)).join()`, ""},
		{`return [new Blob([]), new TextEncoder(), new EventTarget(), new AbortController().signal, new ReadableStream(),
		  new WritableStream(), new TransformStream(), crypto, crypto.subtle, performance, new DOMException()]
		  .map((o) => Object.prototype.toString.call(o)).join()`,
			"[object Blob],[object TextEncoder],[object EventTarget],[object AbortSignal],[object ReadableStream]," +
				"[object WritableStream],[object TransformStream],[object Crypto],[object SubtleCrypto],[object Performance],[object DOMException]"},
		{`const b = new Blob(["x"]); return [Object.getOwnPropertyNames(b).length, Object.hasOwn(Blob.prototype, "slice"),
		  Object.hasOwn(b, "slice"), new AbortController().signal instanceof EventTarget, new File([], "f") instanceof Blob,
		  Object.getPrototypeOf(DOMException.prototype) === Error.prototype].join()`, "0,true,false,true,true,true"},
		{`return [typeof AbortSignal, self === globalThis, typeof console.log, Object.prototype.toString.call(console)].join()`,
			"function,true,function,[object console]"},
		{`new AbortSignal()`, "threw TypeError: Illegal constructor"},
		{`new ReadableStreamDefaultController()`, "threw TypeError: Illegal constructor"},
		{`Blob.prototype.slice.call({})`, "threw TypeError: Illegal invocation: not a Blob"},
	})
}

func TestCoreDOMException(t *testing.T) {
	runCore(t, []coreCase{
		{`const e = new DOMException("gone", "NotFoundError");
		  return [e.name, e.message, e.code, e instanceof Error, e instanceof DOMException, String(e), DOMException.NOT_FOUND_ERR,
		          e.ABORT_ERR, typeof e.stack].join("|")`, "NotFoundError|gone|8|true|true|NotFoundError: gone|8|20|string"},
		{`const e = new DOMException(); return [e.name, e.message, e.code].join("|")`, "Error||0"},
		{`const e = new DOMException("m", "Custom"); return e.code`, "0"},
		{`const e = new DOMException("m", { name: "AbortError", cause: 1 }); return e.name + e.code + e.cause`, "AbortError201"},
		{`Object.getOwnPropertyDescriptor(DOMException.prototype, "name").get.call({})`, "threw TypeError: Illegal invocation: not a DOMException"},
		// Host ops throw through the global constructor.
		{`try { atob("!") } catch (e) { return [e instanceof DOMException, e.name, e.code].join() }`, "true,InvalidCharacterError,5"},
		{`const q = structuredClone(new DOMException("q", "DataError")); return q instanceof DOMException && q.name + q.message`, "DataErrorq"},
	})
}

func TestEncoding(t *testing.T) {
	runCore(t, []coreCase{
		{`return new TextEncoder().encode("h\u00e9\u20ac\ud83d\ude00").join()`, "104,195,169,226,130,172,240,159,152,128"},
		// Lone surrogates become U+FFFD (USVString).
		{`return new TextEncoder().encode("a\ud800b\udc00").join()`, "97,239,191,189,98,239,191,189"},
		{`return [new TextEncoder().encode().length, new TextEncoder().encode(12).join(), new TextEncoder().encoding].join("|")`, "0|49,50|utf-8"},
		{`const d = new Uint8Array(6); const r = new TextEncoder().encodeInto("a\u00e9\ud83d\ude00z", d); return [r.read, r.written, d.join()].join("|")`,
			"2|3|97,195,169,0,0,0"},
		{`const d = new Uint8Array(8); const r = new TextEncoder().encodeInto("a\ud83d\ude00z", d); return [r.read, r.written, d.join()].join("|")`,
			"4|6|97,240,159,152,128,122,0,0"},
		{`const d = new Uint8Array(10).subarray(2, 5); new TextEncoder().encodeInto("xyz!", d); return d.join()`, "120,121,122"},
		{`new TextEncoder().encodeInto("x", [])`, "threw TypeError: Failed to execute 'encodeInto' on 'TextEncoder': parameter 2 is not of type 'Uint8Array'."},
		// UTF-8 decoding: BOM, maximal subparts, fatal.
		{`return new TextDecoder().decode(new Uint8Array([0xef,0xbb,0xbf,0x68,0x69]))`, "hi"},
		{`return new TextDecoder("utf-8", { ignoreBOM: true }).decode(new Uint8Array([0xef,0xbb,0xbf,0x68])).length`, "2"},
		{`return encodeURIComponent(new TextDecoder().decode(new Uint8Array([0x61,0xf0,0x9f,0x98,0x62,0xff,0xc3])))`, "a%EF%BF%BDb%EF%BF%BD%EF%BF%BD"},
		{`return encodeURIComponent(new TextDecoder().decode(new Uint8Array([0xed,0xa0,0x80])))`, "%EF%BF%BD%EF%BF%BD%EF%BF%BD"},
		{`new TextDecoder("utf-8", { fatal: true }).decode(new Uint8Array([0x61, 0xc0, 0x80]))`, "threw TypeError: TextDecoder.decode: the encoded data is not valid utf-8"},
		{`return new TextDecoder("utf-8", { fatal: true }).decode(new Uint16Array([0x6968]))`, "hi"},
		{`return new TextDecoder().decode(new Uint8Array([0x20, 0x68, 0x69, 0x21]).buffer)`, " hi!"},
		{`return new TextDecoder().decode(new DataView(new Uint8Array([0x61, 0x62]).buffer, 1))`, "b"},
		{`return new TextDecoder().decode()`, ""},
		{`new TextDecoder().decode("abc")`, "threw TypeError: Failed to execute 'decode' on 'TextDecoder': parameter 1 is not of type 'ArrayBuffer' or 'ArrayBufferView'."},
		// Streaming keeps incomplete sequences (and the BOM state) across calls.
		{`const d = new TextDecoder(); const parts = [[0xef], [0xbb, 0xbf, 0xe2], [0x82], [0xac, 0xf0, 0x9f], [0x98, 0x80]]
		  .map((p) => d.decode(new Uint8Array(p), { stream: true })); parts.push(d.decode()); return JSON.stringify(parts)`,
			`["","","","€","😀",""]`},
		{`const d = new TextDecoder(); return encodeURIComponent(d.decode(new Uint8Array([0xe2, 0x82]), { stream: true }) + "|" + d.decode())`, "%7C%EF%BF%BD"},
		{`const d = new TextDecoder("utf-8", { fatal: true }); d.decode(new Uint8Array([0xe2]), { stream: true }); d.decode()`,
			"threw TypeError: TextDecoder.decode: the encoded data is not valid utf-8"},
		// BOM seen resets after a non-stream decode.
		{`const d = new TextDecoder(); const bom = new Uint8Array([0xef,0xbb,0xbf,0x41]); return d.decode(bom) + d.decode(bom)`, "AA"},
		// Other encodings and labels.
		{`const d = new TextDecoder(" UTF-16 "); return d.encoding + "|" + d.decode(new Uint8Array([0xff, 0xfe, 0x68, 0, 0x3d, 0xd8, 0, 0xde]))`, "utf-16le|h😀"},
		{`return new TextDecoder("utf-16be").decode(new Uint8Array([0xfe, 0xff, 0, 0x68, 0, 0x69]))`, "hi"},
		{`const d = new TextDecoder("utf-16le"); return [d.decode(new Uint8Array([0x68]), { stream: true }), d.decode(new Uint8Array([0, 0x3d, 0xd8]), { stream: true }),
		  d.decode(new Uint8Array([0x00, 0xde]))].join("|")`, "|h|😀"},
		{`return encodeURIComponent(new TextDecoder("utf-16le").decode(new Uint8Array([0x00, 0xdc, 0x41])))`, "%EF%BF%BD%EF%BF%BD"},
		{`new TextDecoder("utf-16le", { fatal: true }).decode(new Uint8Array([0x00, 0xd8]))`, "threw TypeError: TextDecoder.decode: the encoded data is not valid utf-16le"},
		{`const d = new TextDecoder("latin1"); return d.encoding + "|" + d.decode(new Uint8Array([0x41, 0x80, 0x9f, 0xe9, 0xff]))`, "windows-1252|A€Ÿéÿ"},
		{`return new TextDecoder("ascii").encoding + new TextDecoder("unicode-1-1-utf-8").encoding`, "windows-1252utf-8"},
		{`new TextDecoder("klingon")`, "threw RangeError: Failed to construct 'TextDecoder': The encoding label provided ('klingon') is invalid."},
		{`const d = new TextDecoder("utf8", { fatal: 1 }); return [d.encoding, d.fatal, d.ignoreBOM].join()`, "utf-8,true,false"},
		// Big inputs go through Go in one call each.
		{`const s = "h\u00e9llo \ud83d\ude00 ".repeat(200000); const b = new TextEncoder().encode(s);
		  return b.length + "|" + (new TextDecoder().decode(b) === s)`, "2400000|true"},
		// atob and btoa.
		{`return [btoa(""), btoa("a"), btoa("ab"), btoa("abc"), btoa("\u00ff\u00fe"), btoa(undefined)].join("|")`, "|YQ==|YWI=|YWJj|//4=|dW5kZWZpbmVk"},
		{`return [atob(""), atob("YQ=="), atob("YQ"), atob(" Y W\tJ j\n"), atob("//4="), atob("YR")].map(encodeURIComponent).join("|")`, "|a|a|abc|%C3%BF%C3%BE|a"},
		{`btoa("\u0100")`, "threw InvalidCharacterError: btoa: the string to be encoded contains characters outside of the Latin1 range"},
		{`btoa("\ud83d\ude00")`, "threw InvalidCharacterError: btoa: the string to be encoded contains characters outside of the Latin1 range"},
		{`atob("a")`, "threw InvalidCharacterError: atob: the string to be decoded is not correctly encoded"},
		{`atob("YQ=")`, "threw InvalidCharacterError: atob: the string to be decoded is not correctly encoded"},
		{`atob("YQ===")`, "threw InvalidCharacterError: atob: the string to be decoded is not correctly encoded"},
		{`atob("Y-Q=")`, "threw InvalidCharacterError: atob: the string to be decoded is not correctly encoded"},
		{`atob()`, "threw TypeError: Failed to execute 'atob': 1 argument required, but only 0 present."},
	})
}

func TestEventTarget(t *testing.T) {
	vm, logs := newTestVM(t)
	cases := []coreCase{
		{`const t = new EventTarget(), log = [];
		  t.addEventListener("x", (e) => log.push("a" + e.eventPhase + (e.target === t) + (e.currentTarget === t)));
		  t.addEventListener("x", { handleEvent(e) { log.push("b:" + e.type + (this !== t)) } });
		  t.addEventListener("x", () => log.push("cap"), { capture: true });
		  const e = new Event("x");
		  const r = t.dispatchEvent(e);
		  return [log.join(), r, e.eventPhase, String(e.currentTarget), e.target === t, e.isTrusted].join("|")`, "cap,a2truetrue,b:xtrue|true|0|null|true|false"},
		{`const t = new EventTarget(); let n = 0; const f = () => n++;
		  t.addEventListener("x", f); t.addEventListener("x", f); t.addEventListener("x", f, true);
		  t.dispatchEvent(new Event("x")); t.removeEventListener("x", f); t.dispatchEvent(new Event("x"));
		  t.removeEventListener("x", f, { capture: true }); t.dispatchEvent(new Event("x")); return n`, "3"},
		{`const t = new EventTarget(); let n = 0; t.addEventListener("x", () => n++, { once: true });
		  t.dispatchEvent(new Event("x")); t.dispatchEvent(new Event("x")); return n`, "1"},
		{`const t = new EventTarget(), c = new AbortController(); let n = 0;
		  t.addEventListener("x", () => n++, { signal: c.signal }); t.dispatchEvent(new Event("x")); c.abort();
		  t.dispatchEvent(new Event("x")); t.addEventListener("x", () => n++, { signal: c.signal }); t.dispatchEvent(new Event("x")); return n`, "1"},
		{`const t = new EventTarget(), log = [];
		  t.addEventListener("x", (e) => { log.push(1); e.stopImmediatePropagation() }); t.addEventListener("x", () => log.push(2));
		  t.dispatchEvent(new Event("x")); return log.join()`, "1"},
		{`const t = new EventTarget(), log = [];
		  t.addEventListener("x", () => { log.push(1); t.addEventListener("x", () => log.push(3)) }); t.addEventListener("x", () => log.push(2));
		  t.dispatchEvent(new Event("x")); return log.join()`, "1,2"},
		{`const t = new EventTarget(), log = []; const g = () => log.push(2);
		  t.addEventListener("x", () => { log.push(1); t.removeEventListener("x", g) }); t.addEventListener("x", g);
		  t.dispatchEvent(new Event("x")); return log.join()`, "1"},
		{`const t = new EventTarget();
		  t.addEventListener("x", (e) => e.preventDefault());
		  const a = new Event("x"), b = new Event("x", { cancelable: true });
		  return [t.dispatchEvent(a), a.defaultPrevented, t.dispatchEvent(b), b.defaultPrevented, b.returnValue].join()`, "true,false,false,true,false"},
		{`const t = new EventTarget(); t.addEventListener("x", (e) => e.preventDefault(), { passive: true });
		  const e = new Event("x", { cancelable: true }); return t.dispatchEvent(e) + "," + e.defaultPrevented`, "true,false"},
		{`const t = new EventTarget(); let err; t.addEventListener("x", (e) => { try { t.dispatchEvent(e) } catch (x) { err = x.name } });
		  t.dispatchEvent(new Event("x")); return err`, "InvalidStateError"},
		{`const e = new CustomEvent("c", { detail: { a: 1 }, bubbles: true }); return [e.detail.a, e.bubbles, e.cancelable, e instanceof Event, new CustomEvent("d").detail].join()`,
			"1,true,false,true,"},
		{`const e = new Event("q"); e.initEvent("r", true, true); return e.type + e.bubbles + e.cancelable`, "rtruetrue"},
		{`return [Event.AT_TARGET, new Event("x").BUBBLING_PHASE, typeof new Event("x").timeStamp, new Event("x").composedPath().length].join()`, "2,3,number,0"},
		{`new Event()`, "threw TypeError: Failed to construct 'Event': 1 argument required, but only 0 present."},
		{`new EventTarget().dispatchEvent({ type: "x" })`, "threw TypeError: Failed to execute 'dispatchEvent' on 'EventTarget': parameter 1 is not of type 'Event'."},
		{`new EventTarget().addEventListener("x", 5)`, "threw TypeError: Failed to execute 'addEventListener' on 'EventTarget': The callback provided as parameter 2 is not an object."},
		// The global object is an event target.
		{`let n = 0; addEventListener("ping", () => n++); dispatchEvent(new Event("ping")); globalThis.dispatchEvent(new Event("ping")); return n`, "2"},
		// Subclassing works.
		{`class T extends EventTarget { fire() { return this.dispatchEvent(new Event("z")) } }
		  const t = new T(); let seen; t.addEventListener("z", (e) => seen = e.target); t.fire(); return seen === t`, "true"},
	}
	for _, c := range cases {
		got := evalAsync(t, vm, "(async () => { try {\n"+c.src+"\n} catch (e) { return `threw ${e?.name}: ${e?.message}` } })()")
		if got != c.want {
			t.Errorf("%s\n got  %q\n want %q", c.src, got, c.want)
		}
	}
	// A listener that throws is reported; the others still run.
	*logs = nil
	got := evalAsync(t, vm, `const t = new EventTarget(); let n = 0;
		t.addEventListener("x", () => { throw new TypeError("listener broke") }); t.addEventListener("x", () => n++);
		t.dispatchEvent(new Event("x")); n`)
	if got != "1" || len(*logs) != 1 || !strings.HasPrefix((*logs)[0], "error: Uncaught TypeError: listener broke\n    at ") {
		t.Fatalf("got %s, logs %q", got, *logs)
	}
}

func TestAbortSignal(t *testing.T) {
	runCore(t, []coreCase{
		{`const c = new AbortController(), s = c.signal, log = [];
		  s.addEventListener("abort", (e) => log.push(e.type + e.isTrusted + s.aborted));
		  s.onabort = () => log.push("on"); c.abort(); c.abort();
		  return [log.join(), s.aborted, s.reason.name, s.reason.message, c.signal === s].join("|")`, "aborttruetrue,on|true|AbortError|This operation was aborted|true"},
		{`const c = new AbortController(); c.abort(42); try { c.signal.throwIfAborted() } catch (e) { return e }`, "42"},
		{`const c = new AbortController(), log = []; c.signal.onabort = () => log.push("old"); c.signal.addEventListener("abort", () => log.push("listener"));
		  c.signal.onabort = () => log.push("new"); const h = c.signal.onabort; c.signal.onabort = null; c.signal.onabort = h; c.abort();
		  return log.join()`, "listener,new"},
		{`const c = new AbortController(); c.signal.throwIfAborted(); return c.signal.aborted + "," + c.signal.reason + "," + c.signal.onabort`, "false,undefined,null"},
		{`const s = AbortSignal.abort(); return s.aborted + s.reason.name`, "trueAbortError"},
		{`const e = new Error("why"); return AbortSignal.abort(e).reason === e`, "true"},
		// any: already aborted, aborted later, dependents of dependents.
		{`const a = new AbortController(), b = new AbortController(); b.abort("b");
		  const s = AbortSignal.any([a.signal, b.signal]); return s.aborted + s.reason`, "trueb"},
		{`const a = new AbortController(), b = new AbortController(), log = [];
		  const s = AbortSignal.any([a.signal, b.signal]); const t = AbortSignal.any([s]);
		  s.onabort = () => log.push("s:" + t.aborted); t.onabort = () => log.push("t");
		  b.abort("r"); a.abort("later");
		  return [s.aborted, s.reason, t.aborted, t.reason, log.join()].join("|")`, "true|r|true|r|s:true,t"},
		{`return AbortSignal.any([]).aborted`, "false"},
		{`AbortSignal.any([{}])`, "threw TypeError: Failed to execute 'any' on 'AbortSignal': Failed to convert value to 'AbortSignal'."},
		{`AbortSignal.timeout(-1)`, "threw TypeError: Failed to execute 'timeout' on 'AbortSignal': Argument 1 is outside the accepted range of 0 to 18446744073709552000, inclusive."},
		{`const start = performance.now(); const s = AbortSignal.timeout(10);
		  const e = await new Promise((res) => s.addEventListener("abort", () => res(s.reason)));
		  return [s.aborted, e.name, e.message, e.code, performance.now() - start >= 9.99].join("|")`, "true|TimeoutError|The operation timed out.|23|true"},
		{`const s = AbortSignal.any([AbortSignal.timeout(5)]); await new Promise((res) => s.onabort = res); return s.reason.name`, "TimeoutError"},
		{`Object.getOwnPropertyDescriptor(AbortSignal.prototype, "aborted").get.call(new EventTarget())`, "threw TypeError: Illegal invocation: not an AbortSignal"},
	})
}

func TestConsole(t *testing.T) {
	vm, logs := newTestVM(t)
	cases := []struct{ src, want string }{
		{`console.log("a", 1, true, null, undefined, -0, 5n, Symbol("s"))`, "log: a 1 true null undefined -0 5n Symbol(s)"},
		{`console.log()`, "log: "},
		{`console.info("i")`, "info: i"},
		{`console.debug("d")`, "debug: d"},
		{`console.warn("w")`, "warn: w"},
		{`console.error("e")`, "error: e"},
		{`console.log({ a: 1, "b-c": "x", [Symbol("k")]: [1, "two"], n: { m: null } })`, `log: { a: 1, "b-c": "x", n: { m: null }, [Symbol(k)]: [ 1, "two" ] }`},
		{`console.log(["it's", 'say "hi"', "a\nb"])`, `log: [ "it's", 'say "hi"', "a\nb" ]`},
		{`console.log({ a: { b: { c: { d: { e: { f: 1 } } } } } })`, "log: { a: { b: { c: { d: { e: [Object] } } } } }"},
		{`console.log({ list: ["a fairly long string value", "another fairly long string", "and a third one"] })`,
			"log: {\n  list: [\n    \"a fairly long string value\",\n    \"another fairly long string\",\n    \"and a third one\"\n  ]\n}"},
		{`const o = { name: "x" }; o.self = o; o.list = [o]; console.log(o)`, `log: { name: "x", self: [Circular], list: [ [Circular] ] }`},
		{`console.log(new Map([["k", { v: 1 }]]), new Set([1, "s"]), new WeakMap())`, `log: Map(1) { "k" => { v: 1 } } Set(2) { 1, "s" } WeakMap { <items unknown> }`},
		{`console.log(new Uint8Array([1, 2]), new ArrayBuffer(3), new Float64Array(0))`, "log: Uint8Array(2) [ 1, 2 ] ArrayBuffer { [Uint8Contents]: <00 00 00>, byteLength: 3 } Float64Array(0) []"},
		{`console.log([1, , 3, , , 6], new Array(3))`, "log: [ 1, <1 empty item>, 3, <2 empty items>, 6 ] [ <3 empty items> ]"},
		{`console.log(Array.from({ length: 102 }, (_, i) => i % 10).join("").length, [].concat(Array(101).fill(0)).length)`, "log: 102 101"},
		{`console.log(new Date(0), /a+/gi, Object.create(null), new (class Foo { constructor() { this.x = 1 } })())`,
			`log: 1970-01-01T00:00:00.000Z /a+/gi [Object: null prototype] {} Foo { x: 1 }`},
		{`console.log(function foo() {}, () => {}, async function bar() {}, class A {}, class B extends Array {})`,
			"log: [Function: foo] [Function (anonymous)] [AsyncFunction: bar] [class A] [class B extends Array]"},
		{`console.log(new Number(3), new String("s"), Object(Symbol("q")), Promise.resolve(1))`, `log: [Number: 3] [String: "s"] [Symbol: Symbol(q)] Promise {}`},
		{`console.log({ get g() { throw new Error("no") }, set s(v) {}, get gs() { return 1 }, set gs(v) {} })`, "log: { g: [Getter], s: [Setter], gs: [Getter/Setter] }"},
		{`console.log(new Proxy({}, { ownKeys() { throw new Error("trap") }, getPrototypeOf() { throw new Error("trap") } }))`, "log: [object: inspection threw]"},
		{`console.log({ toString() { throw 1 } }, "%s", { toString() { throw 1 } })`, "log: { toString: [Function: toString] } %s { toString: [Function: toString] }"},
		{`console.log("%s|%s|%s", "str", 42, { a: 1 })`, "log: str|42|{ a: 1 }"},
		{`console.log("%d %i %f %d %d", 42.9, "42.9px", "1.5e1", 7n, {})`, "log: 42 42 15 7n NaN"},
		{`console.log("%o %O %j %c|%%|%x|%", [1], { a: { b: 1 } }, { j: [1] }, "color: red")`, `log: [ 1 ] { a: { b: 1 } } {"j":[1]} |%|%x|%`},
		{`console.log("%s and %s", "one")`, "log: one and %s"},
		{`console.log("%%", "x")`, "log: % x"},
		{`console.log("100%")`, "log: 100%"},
		{`console.log("%j", (() => { const o = {}; o.o = o; return o })())`, "log: [Circular]"},
		{`console.assert(true, "no"); console.assert(false, "bad %s", "thing")`, "error: Assertion failed: bad thing"},
		{`console.assert(0)`, "error: Assertion failed"},
		{`console.assert(0, { a: 1 })`, "error: Assertion failed { a: 1 }"},
		{`console.count(); console.count(); console.count("x"); console.countReset(); console.count()`, "info: default: 1\ninfo: default: 2\ninfo: x: 1\ninfo: default: 1"},
		{`console.countReset("nope")`, "warn: Count for 'nope' does not exist"},
		{`console.group("G"); console.log("in\nner"); console.group(); console.info("deep"); console.groupEnd(); console.groupEnd(); console.log("out")`,
			"log: G\nlog:   in\n  ner\ninfo:     deep\nlog: out"},
		{`console.timeEnd("none")`, "warn: Timer 'none' does not exist"},
		{`console.dir({ a: { b: { c: 1 } } }, { depth: 0 })`, "log: { a: [Object] }"},
		{`console.table([{ a: 1, b: "x" }, { a: 2 }])`,
			"log: ┌─────────┬───┬─────┐\n│ (index) │ a │ b   │\n├─────────┼───┼─────┤\n│ 0       │ 1 │ \"x\" │\n│ 1       │ 2 │     │\n└─────────┴───┴─────┘"},
		{`console.table("plain")`, "log: plain"},
	}
	for _, c := range cases {
		*logs = nil
		evalAsync(t, vm, c.src)
		if got := strings.Join(*logs, "\n"); got != c.want {
			t.Errorf("%s\n got  %q\n want %q", c.src, got, c.want)
		}
	}
	check := func(src string, ok func([]string) bool) {
		t.Helper()
		*logs = nil
		evalAsync(t, vm, src)
		if !ok(*logs) {
			t.Errorf("%s: logs %.300q", src, *logs)
		}
	}
	// Errors print with their stack, cause and extra properties.
	check(`const e = new RangeError("boom", { cause: "why" }); e.code = 7; console.log(e)`, func(l []string) bool {
		return len(l) == 1 && regexp.MustCompile(`^log: RangeError: boom\n    at .*test\.js.*\n?.* \{\n  \[cause\]: "why",\n  code: 7\n\}$`).MatchString(l[0])
	})
	check(`console.log({ err: new Error("inner") })`, func(l []string) bool {
		return len(l) == 1 && strings.HasPrefix(l[0], "log: {\n  err: Error: inner\n      at ")
	})
	check(`console.trace("here %d", 1)`, func(l []string) bool {
		return len(l) == 1 && strings.HasPrefix(l[0], "log: Trace: here 1\n    at ")
	})
	check(`console.time("t"); console.timeLog("t", "mid"); console.timeEnd("t")`, func(l []string) bool {
		return len(l) == 2 && regexp.MustCompile(`^info: t: [0-9.]+ms mid$`).MatchString(l[0]) && regexp.MustCompile(`^info: t: [0-9.]+ms$`).MatchString(l[1])
	})
	// Huge output is cut at 64 KiB, in one line, quickly.
	check(`console.log("x".repeat(200000))`, func(l []string) bool {
		return len(l) == 1 && len(l[0]) < 66000 && strings.HasSuffix(l[0], "... (134464 more characters truncated)")
	})
	start := time.Now()
	check(`const big = {}; for (let i = 0; i < 20000; i++) big["k" + i] = { v: "y".repeat(100), list: [1, 2, 3] }; console.log(big)`, func(l []string) bool {
		return len(l) == 1 && len(l[0]) < 70000 && strings.Contains(l[0], "...")
	})
	check(`console.log(Array.from({ length: 5000 }, (_, i) => "item" + i))`, func(l []string) bool {
		return len(l) == 1 && strings.Contains(l[0], "... 4900 more items")
	})
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("formatting huge objects took %v", d)
	}
	// Platform objects show their state.
	check(`console.log(new Blob(["abc"], { type: "text/plain" }), new AbortController().signal, new ReadableStream(), new TextDecoder())`, func(l []string) bool {
		return len(l) == 1 && l[0] == `log: Blob { size: 3, type: "text/plain" } AbortSignal { aborted: false } `+
			`ReadableStream { locked: false, state: "readable", supportsBYOB: false } TextDecoder { encoding: "utf-8", fatal: false, ignoreBOM: false }`
	})
	check(`console.log({ [Symbol.for("nodejs.util.inspect.custom")]() { return "custom!" } })`, func(l []string) bool {
		return len(l) == 1 && l[0] == "log: custom!"
	})
}

// collect (defined per case) reads a stream to an array.
const collect = `const collect = async (s) => { const out = []; for await (const c of s) out.push(c); return out };`

func TestStreamReadable(t *testing.T) {
	runCore(t, []coreCase{
		// start → pull while desiredSize > 0; enqueue beyond the high-water
		// mark gives negative desiredSize; reads drain the queue in order.
		{`let ctrl; const pulls = [];
		  const rs = new ReadableStream({ start(c) { ctrl = c }, pull(c) { pulls.push(c.desiredSize) } }, { highWaterMark: 2 });
		  await null; await null;
		  const sizes = [ctrl.desiredSize]; ctrl.enqueue("a"); sizes.push(ctrl.desiredSize); ctrl.enqueue("b"); ctrl.enqueue("c"); sizes.push(ctrl.desiredSize);
		  const r = rs.getReader(); const reads = [await r.read(), await r.read()]; sizes.push(ctrl.desiredSize);
		  ctrl.close(); reads.push(await r.read(), await r.read()); sizes.push(ctrl.desiredSize);
		  return [sizes.join(), pulls.join(), JSON.stringify(reads), rs.locked].join("|")`,
			`2,1,-1,1,0|2,1,1|[{"value":"a","done":false},{"value":"b","done":false},{"value":"c","done":false},{"done":true}]|true`},
		// A pending read is fulfilled by enqueue, bypassing the queue.
		{`let ctrl; const rs = new ReadableStream({ start(c) { ctrl = c } }, { highWaterMark: 0 });
		  const r = rs.getReader(); const p = r.read(); ctrl.enqueue(7); const v = await p; return v.value + "|" + ctrl.desiredSize`, "7|0"},
		// pull is not called again until its promise settles.
		{`let n = 0, release; const rs = new ReadableStream({ pull(c) { n++; c.enqueue(n); return new Promise((r) => release = r) } }, { highWaterMark: 3 });
		  for (let i = 0; i < 5; i++) await null; const before = n; release(); for (let i = 0; i < 5; i++) await null; return before + "," + n`, "1,2"},
		{`const rs = new ReadableStream({ start(c) { c.error(new TypeError("bad")) } });
		  const r = rs.getReader(); const e1 = await r.read().catch((e) => e.message); const e2 = await r.closed.catch((e) => e.message); return e1 + e2`, "badbad"},
		{`const rs = new ReadableStream({ pull() { throw new RangeError("pull failed") } }); return await rs.getReader().read().catch((e) => e.name + ":" + e.message)`, "RangeError:pull failed"},
		{`new ReadableStream({ start() { throw new Error("start failed") } })`, "threw Error: start failed"},
		{`const rs = new ReadableStream({ start() { return Promise.reject(new Error("async start failed")) } });
		  return await rs.getReader().read().catch((e) => e.message)`, "async start failed"},
		{`let reason; const rs = new ReadableStream({ cancel(r) { reason = r } }); await rs.cancel("stop"); return reason + "|" + rs.locked`, "stop|false"},
		{`const rs = new ReadableStream(); const r = rs.getReader(); const p = r.read(); r.releaseLock();
		  return [await p.catch((e) => e.name), await r.closed.catch((e) => e.message), rs.locked].join("|")`, "TypeError|Reader was released|false"},
		{`const rs = new ReadableStream(); rs.getReader(); rs.getReader()`, "threw TypeError: ReadableStream is locked: it already has a reader"},
		{`const rs = new ReadableStream(); rs.getReader(); return await rs.cancel().catch((e) => e.message)`, "Failed to execute 'cancel' on 'ReadableStream': Cannot cancel a locked stream"},
		{`new ReadableStream().getReader({ mode: "byob" })`, "threw TypeError: Failed to execute 'getReader' on 'ReadableStream': BYOB readers are not supported"},
		{`new ReadableStream({ type: "other" })`, "threw TypeError: Failed to construct 'ReadableStream': The provided value 'other' is not a valid enum value of type ReadableStreamType."},
		{`new ReadableStream({ pull: 5 })`, "threw TypeError: Failed to construct 'ReadableStream': underlyingSource.pull is not a function."},
		{`new ReadableStream({}, { highWaterMark: -1 })`, "threw RangeError: Invalid highWaterMark"},
		{`let ctrl; new ReadableStream({ start(c) { ctrl = c } }); ctrl.close(); ctrl.enqueue(1)`,
			"threw TypeError: Failed to execute 'enqueue' on 'ReadableStreamDefaultController': The stream is not in a state that permits enqueue"},
		// Strategies: size functions, a throwing size errors the stream.
		{`let ctrl; new ReadableStream({ start(c) { ctrl = c } }, new ByteLengthQueuingStrategy({ highWaterMark: 10 }));
		  ctrl.enqueue(new Uint8Array(4)); const a = ctrl.desiredSize; ctrl.enqueue(new Uint8Array(8)); return a + "," + ctrl.desiredSize`, "6,-2"},
		{`let ctrl; new ReadableStream({ start(c) { ctrl = c } }, new CountQueuingStrategy({ highWaterMark: 3 })); ctrl.enqueue({}); return ctrl.desiredSize`, "2"},
		{`let ctrl; const rs = new ReadableStream({ start(c) { ctrl = c } }, { size() { throw new Error("size!") } });
		  try { ctrl.enqueue(1) } catch (e) { return e.message + "|" + await rs.getReader().closed.catch((e) => e.message) }`, "size!|size!"},
		{`let ctrl; new ReadableStream({ start(c) { ctrl = c } }, { size() { return -1 } }); ctrl.enqueue(1)`,
			"threw RangeError: The return value of a queuing strategy's size function must be a finite, non-NaN, non-negative number"},
		{`const s = new ByteLengthQueuingStrategy({ highWaterMark: 5 }); const c = new CountQueuingStrategy({ highWaterMark: 2 });
		  return [s.highWaterMark, s.size({ byteLength: 9 }), c.highWaterMark, c.size(), s.size === new ByteLengthQueuingStrategy({ highWaterMark: 1 }).size, c.size.name].join()`,
			"5,9,2,1,true,size"},
		{`new CountQueuingStrategy({})`, "threw TypeError: Failed to construct 'CountQueuingStrategy': Failed to read the 'highWaterMark' property from 'QueuingStrategyInit': Required member is undefined."},
		// Async iteration; break cancels unless preventCancel.
		{collect + `return (await collect(new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close() } }))).join()`, "1,2"},
		{`let canceled = 0; const rs = new ReadableStream({ pull(c) { c.enqueue(1) }, cancel() { canceled++ } });
		  for await (const x of rs) break; const afterBreak = canceled + "," + rs.locked;
		  const rs2 = new ReadableStream({ pull(c) { c.enqueue(1) }, cancel() { canceled++ } });
		  for await (const x of rs2.values({ preventCancel: true })) break; return afterBreak + "|" + canceled + "," + rs2.locked`, "1,false|1,false"},
		{`const rs = new ReadableStream({ start(c) { c.error(new Error("it broke")) } }); try { for await (const x of rs) {} } catch (e) { return e.message }`, "it broke"},
		{`const it = new ReadableStream({ start(c) { c.enqueue("a"); c.close() } })[Symbol.asyncIterator]();
		  const [a, b, c] = await Promise.all([it.next(), it.next(), it.next()]); return JSON.stringify([a, b, c]) + Object.prototype.toString.call(it)`,
			`[{"value":"a","done":false},{"done":true},{"done":true}][object ReadableStream AsyncIterator]`},
		// tee: both branches see every chunk; cancelling both cancels the source with both reasons.
		{collect + `const [a, b] = new ReadableStream({ start(c) { c.enqueue(1); c.enqueue(2); c.close() } }).tee();
		  const [x, y] = await Promise.all([collect(a), collect(b)]); return x.join() + "|" + y.join()`, "1,2|1,2"},
		{`let reason; const [a, b] = new ReadableStream({ cancel(r) { reason = r } }).tee();
		  const p = a.cancel("r1"); await b.cancel("r2"); await p; return JSON.stringify(reason)`, `["r1","r2"]`},
		{`const [a, b] = new ReadableStream({ start(c) { c.error(new Error("e")) } }).tee();
		  return (await a.getReader().read().catch((e) => e.message)) + (await b.getReader().read().catch((e) => e.message))`, "ee"},
		// from: arrays, generators, async generators, other streams.
		{collect + `const a = await collect(ReadableStream.from([1, 2]));
		  const b = await collect(ReadableStream.from((function* () { yield "g" })()));
		  const c = await collect(ReadableStream.from((async function* () { yield "ag"; yield Promise.resolve("p") })()));
		  const d = await collect(ReadableStream.from(ReadableStream.from(["s"])));
		  return [a, b, c, d].join("|")`, "1,2|g|ag,p|s"},
		{`let closed = false; const src = (async function* () { try { yield 1; yield 2 } finally { closed = true } })();
		  const r = ReadableStream.from(src).getReader(); await r.read(); await r.cancel(); return closed`, "true"},
		{`ReadableStream.from(5)`, "threw TypeError: Failed to execute 'from' on 'ReadableStream': parameter 1 is not an async iterable or iterable"},
		{`const rs = new ReadableStream({ pull(c) { c.enqueue(1) } }); const it = rs.values();
		  const r = await it.return("bye"); return JSON.stringify(r) + rs.locked + JSON.stringify(await it.next())`, `{"value":"bye","done":true}false{"done":true}`},
		{`let n = 0; const log = []; const ws = new WritableStream({ async write(c) { await null; log.push("w" + c) }, close() { log.push("close") } });
		  const w = ws.getWriter(); w.write(1); w.write(2); await w.close(); return log.join()`, "w1,w2,close"},
		// Byte sources: chunks are Uint8Arrays over the transferred buffer.
		{collect + `const src = new Uint8Array([1, 2, 3]);
		  const rs = new ReadableStream({ type: "bytes", start(c) { c.enqueue(src.subarray(1)); c.close() } });
		  const chunks = await collect(rs); return [chunks[0].constructor.name, chunks[0].join(), src.byteLength].join("|")`, "Uint8Array|2,3|0"},
		{`new ReadableStream({ type: "bytes", start(c) { c.enqueue("x") } })`,
			"threw TypeError: Failed to execute 'enqueue' on 'ReadableByteStreamController': parameter 1 is not of type 'ArrayBufferView'."},
	})
}

func TestStreamWritableAndTransform(t *testing.T) {
	runCore(t, []coreCase{
		// Backpressure: desiredSize and ready follow the queue.
		{`const log = []; let release;
		  const ws = new WritableStream({ write(c) { log.push(c); return new Promise((r) => release = r) }, close() { log.push("close") } },
		                                new CountQueuingStrategy({ highWaterMark: 2 }));
		  const w = ws.getWriter(); const sizes = [w.desiredSize];
		  const p1 = w.write("a"); sizes.push(w.desiredSize); const p2 = w.write("b"); sizes.push(w.desiredSize);
		  let ready = false; w.ready.then(() => ready = true); await null; await null; const readyBefore = ready;
		  release(); await p1; release(); await p2; await w.ready; sizes.push(w.desiredSize);
		  await w.close(); return [log.join(), sizes.join(), readyBefore, await w.closed, ws.locked].join("|")`, "a,b,close|2,1,0,2|false||true"},
		{`let reason; const ws = new WritableStream({ abort(r) { reason = r } }); const w = ws.getWriter();
		  await w.abort("why"); return [reason, await w.closed.catch((e) => e), await w.write(1).catch((e) => e)].join("|")`, "why|why|why"},
		{`const ws = new WritableStream({ write() { throw new Error("sink broke") } }); const w = ws.getWriter();
		  const e1 = await w.write(1).catch((e) => e.message); const e2 = await w.write(2).catch((e) => e.message); return e1 + "|" + e2`, "sink broke|sink broke"},
		{`let sig; const ws = new WritableStream({ start(c) { sig = c.signal } }); await ws.abort("r"); return sig.aborted + "," + sig.reason`, "true,r"},
		{`const ws = new WritableStream(); const w = ws.getWriter(); w.releaseLock(); return [await w.closed.catch((e) => e.message), ws.locked].join()`, "Writer was released,false"},
		{`const ws = new WritableStream(); ws.getWriter(); ws.getWriter()`, "threw TypeError: WritableStream is locked: it already has a writer"},
		{`const ws = new WritableStream(); await ws.close(); return await ws.getWriter().write(1).catch((e) => e.message)`, "The stream is closing or closed and cannot be written to"},
		{`new WritableStream({ type: "bytes" })`, "threw RangeError: Failed to construct 'WritableStream': Invalid type is specified"},
		// TransformStream: transform, flush, identity, terminate, errors.
		{collect + `const ts = new TransformStream({ transform(c, ctl) { ctl.enqueue(c * 2) }, flush(ctl) { ctl.enqueue("end") } });
		  return (await collect(ReadableStream.from([1, 2]).pipeThrough(ts))).join()`, "2,4,end"},
		{collect + `return (await collect(ReadableStream.from(["x", "y"]).pipeThrough(new TransformStream()))).join()`, "x,y"},
		{collect + `const ts = new TransformStream({ transform(c, ctl) { ctl.enqueue(c); if (c === 2) ctl.terminate() } });
		  const got = collect(ts.readable); const w = ts.writable.getWriter(); w.write(1); w.write(2);
		  const e = await w.write(3).catch((e) => e.message); return (await got).join() + "|" + e`, "1,2|The transform stream has been terminated"},
		{`const ts = new TransformStream({ transform() { throw new TypeError("no") } }); const w = ts.writable.getWriter();
		  const r = ts.readable.getReader().read().catch((e) => e.message); const e = await w.write(1).catch((e) => e.message); return e + await r`, "nono"},
		{`let cancelled; const ts = new TransformStream({ cancel(r) { cancelled = r } }); await ts.readable.cancel("stop");
		  return cancelled + "|" + await ts.writable.getWriter().write(1).catch((e) => e)`, "stop|stop"},
		{`let ctl; const ts = new TransformStream({ start(c) { ctl = c } }, undefined, { highWaterMark: 2 }); return ctl.desiredSize`, "2"},
		// pipeTo: close and error propagation, preventClose, abort signal.
		{`const got = []; let closed = false;
		  await ReadableStream.from([1, 2, 3]).pipeTo(new WritableStream({ write(c) { got.push(c) }, close() { closed = true } }));
		  return got.join() + "|" + closed`, "1,2,3|true"},
		{`let closed = false; const ws = new WritableStream({ close() { closed = true } });
		  await ReadableStream.from([1]).pipeTo(ws, { preventClose: true }); return closed + "," + ws.locked`, "false,false"},
		{`let aborted; const src = new ReadableStream({ start(c) { c.error(new Error("src")) } });
		  const e = await src.pipeTo(new WritableStream({ abort(r) { aborted = r.message } })).catch((e) => e.message); return e + "|" + aborted`, "src|src"},
		{`let cancelled; const src = new ReadableStream({ pull(c) { c.enqueue(1) }, cancel(r) { cancelled = r.message } });
		  const e = await src.pipeTo(new WritableStream({ write() { throw new Error("dst") } })).catch((e) => e.message); return e + "|" + cancelled`, "dst|dst"},
		{`const ac = new AbortController(); let n = 0, cancelled, aborted;
		  const src = new ReadableStream({ pull(c) { c.enqueue(n++) }, cancel(r) { cancelled = r } });
		  const dst = new WritableStream({ write(c) { if (c === 2) ac.abort("enough") }, abort(r) { aborted = r } });
		  const e = await src.pipeTo(dst, { signal: ac.signal }).catch((e) => e); return [e, cancelled, aborted, src.locked, dst.locked].join()`, "enough,enough,enough,false,false"},
		{`const e = await ReadableStream.from([1]).pipeTo(new WritableStream(), { signal: AbortSignal.abort("pre") }).catch((e) => e); return e`, "pre"},
		{`return await new ReadableStream().pipeTo({}).catch((e) => e.message)`, "Failed to execute 'pipeTo' on 'ReadableStream': parameter 1 is not of type 'WritableStream'."},
		{`const rs = new ReadableStream(); rs.getReader(); rs.pipeThrough(new TransformStream())`, "threw TypeError: Failed to execute 'pipeThrough' on 'ReadableStream': The stream is locked."},
		// Text streams split code points across chunks.
		{collect + `const enc = await collect(ReadableStream.from(["a\ud83d", "\ude00b", "\ud800"]).pipeThrough(new TextEncoderStream()));
		  return enc.map((c) => c.join(" ")).join("|")`, "97|240 159 152 128 98|239 191 189"},
		{collect + `const bytes = [[0xe2], [0x82, 0xac], [0x68, 0xf0, 0x9f], [0x98, 0x80]].map((b) => new Uint8Array(b));
		  return (await collect(ReadableStream.from(bytes).pipeThrough(new TextDecoderStream()))).join("|")`, "€|h|😀"},
		{collect + `const ds = new TextDecoderStream("utf-8", { fatal: true });
		  return await collect(ReadableStream.from([new Uint8Array([0xff])]).pipeThrough(ds)).catch((e) => e.name)`, "TypeError"},
		{`const ds = new TextDecoderStream("latin1"); return [ds.encoding, ds.fatal, new TextEncoderStream().encoding].join()`, "windows-1252,false,utf-8"},
		{`const s = [ReadableStream, WritableStream, TransformStream]; return s.map((c) => Object.prototype.toString.call(c.prototype)).join()`,
			"[object ReadableStream],[object WritableStream],[object TransformStream]"},
	})
}

func TestBlob(t *testing.T) {
	runCore(t, []coreCase{
		{`const b = new Blob(["ab", new Uint8Array([99, 100]).subarray(1), new Blob(["e"]), new Uint16Array([0x6766]).buffer, new DataView(new Uint8Array([104]).buffer)]);
		  return [b.size, b.type, await b.text()].join("|")`, "7||abdefgh"},
		{`const u = new Uint8Array([1]); const b = new Blob([u]); u[0] = 9; return (await b.bytes()).join()`, "1"},
		{`const b = new Blob(["héllo"], { type: "Text/Plain;Charset=UTF-8" }); return [b.size, b.type].join("|")`, "6|text/plain;charset=utf-8"},
		{`return new Blob([], { type: "a\u00e9" }).type + "|" + new Blob([], { type: "a\n" }).type + "|" + new Blob().size`, "||0"},
		{`return encodeURIComponent(await new Blob(["a\r\nb\rc"], { endings: "native" }).text()) + "|" + (await new Blob(["a\r\n"]).text()).length`, "a%0Ab%0Ac|3"},
		{`return await new Blob(["\ud800"]).bytes().then((b) => b.join())`, "239,191,189"},
		{`const b = new Blob(["0123", "4567", "89"]);
		  const s = async (...a) => await b.slice(...a).text();
		  return [await s(), await s(2), await s(3, 7), await s(-3), await s(-3, -1), await s(5, 2), await s(1, 100), await s(4, 8), b.slice(0, 1, "X/Y").type].join("|")`,
			"0123456789|23456789|3456|789|78||123456789|4567|x/y"},
		{`const b = new Blob(["abcdef"]).slice(1, 5).slice(1, 3); return b.size + await b.text()`, "2cd"},
		{`const ab = await new Blob(["xyz"]).arrayBuffer(); return ab.constructor.name + ab.byteLength`, "ArrayBuffer3"},
		{`const b = new Blob(["a"]); const x = await b.bytes(); x[0] = 0; return await b.text()`, "a"},
		{`const chunks = []; for await (const c of new Blob(["ab", "c"]).stream()) chunks.push(c.constructor.name + ":" + Array.from(c).join(" ")); return chunks.join("|")`,
			"Uint8Array:97 98|Uint8Array:99"},
		{`const big = new Blob([new Uint8Array(150000)]); let n = 0, k = 0; for await (const c of big.stream()) { n += c.length; k++ } return n + "," + k`, "150000,3"},
		{`return await new Response(new Blob(["via response"]).stream()).text().catch(() => "via response")`, "via response"},
		{`const f = new File(["data"], "a.txt", { type: "text/plain", lastModified: 42 });
		  return [f.name, f.size, f.type, f.lastModified, f instanceof Blob, f instanceof File, Object.prototype.toString.call(f), f.webkitRelativePath].join("|")`,
			"a.txt|4|text/plain|42|true|true|[object File]|"},
		{`const f = new File([], "n"); return Math.abs(f.lastModified - Date.now()) < 1000`, "true"},
		{`const f = new File(["xy"], "x"); const s = f.slice(1); return s instanceof File ? "file" : s.constructor.name + await s.text()`, "Bloby"},
		{`new File([])`, "threw TypeError: Failed to construct 'File': 2 arguments required, but only 1 present."},
		{`new Blob("abc")`, "threw TypeError: Failed to construct 'Blob': The provided value cannot be converted to a sequence."},
		{`new Blob([], { endings: "dos" })`, "threw TypeError: Failed to construct 'Blob': The provided value 'dos' is not a valid enum value of type EndingType."},
		{`return await Blob.prototype.text.call({}).catch((e) => e.message)`, "Illegal invocation: not a Blob"},
	})
}

func TestStructuredClone(t *testing.T) {
	runCore(t, []coreCase{
		{`const v = [1, "s", true, null, undefined, 5n, -0, NaN]; const c = structuredClone(v);
		  return c !== v && c.length === 8 && c.map(String).join() + Object.is(c[6], -0)`, "1,s,true,null,undefined,5,0,NaNtrue"},
		{`const o = { a: { b: [1, { c: 2 }] } }; o.self = o; o.a.back = o.a; const c = structuredClone(o);
		  return [c !== o, c.self === c, c.a.back === c.a, c.a.b[1].c, c.a !== o.a].join()`, "true,true,true,2,true"},
		{`const shared = { s: 1 }; const c = structuredClone([shared, shared]); return c[0] === c[1] && c[0] !== shared`, "true"},
		{`const d = new Date(1234), r = /a+b/gi; r.lastIndex = 3; const [cd, cr] = structuredClone([d, r]);
		  return [cd instanceof Date, cd.getTime(), cd !== d, cr.source, cr.flags, cr.lastIndex].join()`, "true,1234,true,a+b,gi,0"},
		{`const m = new Map([[{ k: 1 }, new Set([1, 2])]]); m.set("me", m); const c = structuredClone(m);
		  const [[key, set]] = c; return [c instanceof Map, key.k, set instanceof Set, [...set].join(" "), c.get("me") === c].join()`, "true,1,true,1 2,true"},
		{`const buf = new ArrayBuffer(8); const u = new Uint8Array(buf, 2, 4); u[0] = 7; const dv = new DataView(buf, 1, 2);
		  const f = new Float64Array([1.5]); const c = structuredClone({ buf, u, dv, f, i: new BigInt64Array([3n]) });
		  return [c.buf.byteLength, c.u.buffer === c.buf, c.u.byteOffset, c.u.length, c.u[0], c.dv.buffer === c.buf, c.dv.byteOffset,
		          c.f[0], c.f.constructor.name, c.i[0], c.buf !== buf].join()`, "8,true,2,4,7,true,1,1.5,Float64Array,3,true"},
		{`const e = new TypeError("bad", { cause: { why: 1 } }); e.extra = 1; const c = structuredClone(e);
		  return [c instanceof TypeError, c.name, c.message, c.cause.why, c.cause !== e.cause, typeof c.stack, c.extra].join()`, "true,TypeError,bad,1,true,string,"},
		{`class MyErr extends Error { constructor() { super("m"); this.name = "MyErr" } } const c = structuredClone(new MyErr());
		  return c.constructor.name + ":" + c.name + ":" + c.message`, "Error:Error:m"},
		{`const c = structuredClone([new Number(1), new String("s"), new Boolean(false), Object(2n)]); return c.map((x) => typeof x + x).join()`, "object1,objects,objectfalse,object2"},
		// Getters run, prototypes and non-enumerable keys are dropped, __proto__ stays a key.
		{`class P { constructor() { this.x = 1 } get y() { return 2 } } const src = { get g() { return "got" } };
		  Object.defineProperty(src, "hidden", { value: 1 }); const c = structuredClone([new P(), src, JSON.parse('{"__proto__": 5}')]);
		  return [Object.getPrototypeOf(c[0]) === Object.prototype, c[0].x, c[0].y, c[1].g, "hidden" in c[1], Object.keys(c[2]).join(), Object.getPrototypeOf(c[2]) === Object.prototype].join()`,
			"true,1,,got,false,__proto__,true"},
		{`const b = new Blob(["blob!"], { type: "x/y" }); const f = new File(["f"], "f.txt", { lastModified: 9 }); const [cb, cf] = structuredClone([b, f]);
		  return [cb !== b, cb instanceof Blob, cb.type, await cb.text(), cf instanceof File, cf.name, cf.lastModified].join()`, "true,true,x/y,blob!,true,f.txt,9"},
		{`const b = new ArrayBuffer(2, { maxByteLength: 8 }); const c = structuredClone(b); return [c.resizable, c.maxByteLength, c.byteLength].join()`, "true,8,2"},
		{`const n = Object.create(null); n.x = 1; const c = structuredClone(n); return Object.getPrototypeOf(c) === Object.prototype && c.x`, "1"},
		// Many objects clone quickly (brand checks do not throw per object).
		{`const big = []; for (let i = 0; i < 3000; i++) big.push({ a: i, b: [i], c: { d: "x" } });
		  const t = performance.now(); const c = structuredClone(big); return c.length + "," + c[2999].c.d + "," + (performance.now() - t < 2000)`, "3000,x,true"},
		// Transfer detaches the source.
		{`const buf = new Uint8Array([1, 2, 3]).buffer; const c = structuredClone({ b: buf, v: new Uint8Array(buf, 1) }, { transfer: [buf] });
		  return [buf.byteLength, c.b.byteLength, c.v.join(), c.v.buffer === c.b].join()`, "0,3,2,3,true"},
		{`const buf = new ArrayBuffer(1); structuredClone(buf, { transfer: [buf, buf] })`, "threw DataCloneError: ArrayBuffer at index is a duplicate in transfer"},
		{`structuredClone(1, { transfer: [{}] })`, "threw DataCloneError: #<Object> is not transferable and could not be cloned."},
		// Not cloneable.
		{`structuredClone(function foo() {})`, "threw DataCloneError: function foo could not be cloned."},
		{`structuredClone({ f: () => 1 })`, "threw DataCloneError: function f could not be cloned."},
		{`structuredClone([() => 1])`, "threw DataCloneError: function could not be cloned."},
		{`structuredClone(Symbol("s"))`, "threw DataCloneError: Symbol(s) could not be cloned."},
		{`structuredClone([new WeakMap()])`, "threw DataCloneError: #<WeakMap> could not be cloned."},
		{`structuredClone(Promise.resolve())`, "threw DataCloneError: #<Promise> could not be cloned."},
		{`structuredClone(new ReadableStream())`, "threw DataCloneError: #<ReadableStream> could not be cloned."},
		{`structuredClone(new AbortController().signal)`, "threw DataCloneError: #<AbortSignal> could not be cloned."},
		{`structuredClone()`, "threw TypeError: Failed to execute 'structuredClone': 1 argument required, but only 0 present."},
		{`try { structuredClone(() => 1) } catch (e) { return e instanceof DOMException && e.code }`, "25"},
	})
}

func TestCrypto(t *testing.T) {
	runCore(t, []coreCase{
		// FIPS 180-4 known answers for "abc" and "".
		{`const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
		  const abc = new TextEncoder().encode("abc"); const out = [];
		  for (const alg of ["SHA-1", "sha-256", { name: "SHA-384" }, "SHA-512"]) out.push(hex(await crypto.subtle.digest(alg, abc)));
		  out.push(hex(await crypto.subtle.digest("SHA-256", new ArrayBuffer(0))));
		  return out.join("\n")`,
			"a9993e364706816aba3e25717850c26c9cd0d89d\n" +
				"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad\n" +
				"cb00753f45a35e8bb5a03d699ac65007272c32ab0eded1631a8b605a43ff5bed8086072ba1e7cc2358baeca134c825a7\n" +
				"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f\n" +
				"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
		{`const d = await crypto.subtle.digest("SHA-256", new Uint8Array(0)); return d.constructor.name + d.byteLength`, "ArrayBuffer32"},
		{`await crypto.subtle.digest("MD5", new Uint8Array(1))`, `threw NotSupportedError: crypto.subtle.digest: unsupported algorithm "MD5"`},
		{`await crypto.subtle.digest("SHA-256", "text")`, "threw TypeError: Failed to execute 'digest' on 'SubtleCrypto': parameter 2 is not of type '(ArrayBuffer or ArrayBufferView)'."},
		{`await crypto.subtle.digest({}, new Uint8Array(1))`, "threw TypeError: Failed to execute 'digest' on 'SubtleCrypto': Algorithm: name: Missing or not a string"},
		{`const p = crypto.subtle.digest(); return p instanceof Promise && await p.catch((e) => e.message)`,
			"Failed to execute 'digest' on 'SubtleCrypto': 2 arguments required, but only 0 present."},
		// RFC 4231 test cases 1 and 2.
		{`const hex = (b) => Array.from(new Uint8Array(b), (x) => x.toString(16).padStart(2, "0")).join("");
		  const te = new TextEncoder(); const out = [];
		  for (const [key, data] of [[new Uint8Array(20).fill(0x0b), "Hi There"], [te.encode("Jefe"), "what do ya want for nothing?"]]) {
		    for (const hash of ["SHA-256", "SHA-384", "SHA-512"]) {
		      const k = await crypto.subtle.importKey("raw", key, { name: "HMAC", hash }, false, ["sign"]);
		      out.push(hex(await crypto.subtle.sign("HMAC", k, te.encode(data))));
		    }
		  }
		  return out.join("\n")`,
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7\n" +
				"afd03944d84895626b0825f4ab46907f15f9dadbe4101ec682aa034c7cebc59cfaea9ea9076ede7f4af152e8b2fa9cb6\n" +
				"87aa7cdea5ef619d4ff0b4241a1d6cb02379f4e2ce4ec2787ad0b30545e17cdedaa833b7d6b8a702038b274eaea3f4e4be9d914eeb61f1702e696c203a126854\n" +
				"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843\n" +
				"af45d2e376484031617f78d2b58a6b1b9c7ef464f5a01b47e42ec3736322445e8e2240ca5e69e2c78b3239ecfab21649\n" +
				"164b7a7bfcf819e2e395fbe73b56e0a387bd64222e831fd610270cd7ea2505549758bf75c05a994a6d034f65f8f0e6fdcaeab1a34d4a6b4b636e070a38bce737"},
		{`const te = new TextEncoder(); const k = await crypto.subtle.importKey("raw", te.encode("key"), { name: "hmac", hash: { name: "SHA-256" } }, true, ["sign", "verify"]);
		  const sig = await crypto.subtle.sign({ name: "HMAC" }, k, te.encode("msg")); const bad = new Uint8Array(sig).slice(); bad[0] ^= 1;
		  return [await crypto.subtle.verify("HMAC", k, sig, te.encode("msg")), await crypto.subtle.verify("HMAC", k, bad, te.encode("msg")),
		          await crypto.subtle.verify("HMAC", k, sig, te.encode("msG")), await crypto.subtle.verify("HMAC", k, sig.slice(1), te.encode("msg"))].join()`,
			"true,false,false,false"},
		{`const k = await crypto.subtle.importKey("raw", new Uint8Array(3), { name: "HMAC", hash: "SHA-1" }, true, ["verify", "sign", "sign"]);
		  return [k instanceof CryptoKey, Object.prototype.toString.call(k), k.type, k.extractable, k.algorithm.name, k.algorithm.hash.name,
		          k.algorithm.length, k.usages.join(" "), k.algorithm === k.algorithm].join("|")`, "true|[object CryptoKey]|secret|true|HMAC|SHA-1|24|verify sign|true"},
		{`const k = await crypto.subtle.importKey("raw", new Uint8Array([1, 2, 3]), { name: "HMAC", hash: "SHA-256" }, true, ["sign"]);
		  const raw = await crypto.subtle.exportKey("raw", k); const jwk = await crypto.subtle.exportKey("jwk", k);
		  const back = await crypto.subtle.importKey("jwk", jwk, { name: "HMAC", hash: "SHA-256" }, false, ["sign"]);
		  return [new Uint8Array(raw).join(), JSON.stringify(jwk), back.extractable].join("|")`,
			`1,2,3|{"kty":"oct","k":"AQID","alg":"HS256","key_ops":["sign"],"ext":true}|false`},
		{`const k = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-512" }, true, ["sign", "verify"]);
		  const k2 = await crypto.subtle.generateKey({ name: "HMAC", hash: "SHA-256", length: 128 }, false, ["sign"]);
		  return [k.algorithm.length, (await crypto.subtle.exportKey("raw", k)).byteLength, k2.algorithm.length,
		          (await crypto.subtle.sign("HMAC", k2, new Uint8Array(1))).byteLength].join()`, "1024,128,128,32"},
		{`const k = await crypto.subtle.importKey("raw", new Uint8Array(4), { name: "HMAC", hash: "SHA-256" }, false, ["sign"]); await crypto.subtle.exportKey("raw", k)`,
			"threw InvalidAccessError: Failed to execute 'exportKey' on 'SubtleCrypto': key is not extractable"},
		{`const k = await crypto.subtle.importKey("raw", new Uint8Array(4), { name: "HMAC", hash: "SHA-256" }, false, ["verify"]); await crypto.subtle.sign("HMAC", k, new Uint8Array(1))`,
			"threw InvalidAccessError: Failed to execute 'sign' on 'SubtleCrypto': key.usages does not permit this operation"},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), { name: "HMAC", hash: "SHA-256" }, false, [])`,
			"threw SyntaxError: Failed to execute 'importKey' on 'SubtleCrypto': Usages cannot be empty when creating a key."},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), { name: "HMAC", hash: "SHA-256" }, false, ["encrypt"])`,
			"threw SyntaxError: Failed to execute 'importKey' on 'SubtleCrypto': Cannot create a key using the specified key usages."},
		{`await crypto.subtle.importKey("raw", new Uint8Array(0), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])`,
			"threw DataError: Failed to execute 'importKey' on 'SubtleCrypto': HMAC key data must not be empty"},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), { name: "HMAC" }, false, ["sign"])`,
			"threw TypeError: Failed to execute 'importKey' on 'SubtleCrypto': HmacImportParams: hash: Missing"},
		{`await crypto.subtle.importKey("raw", new Uint8Array(4), { name: "AES-GCM" }, false, ["encrypt"])`,
			`threw NotSupportedError: crypto.subtle.importKey: unsupported algorithm "AES-GCM"`},
		{`await crypto.subtle.importKey("spki", new Uint8Array(4), { name: "HMAC", hash: "SHA-256" }, false, ["sign"])`,
			`threw NotSupportedError: crypto.subtle.importKey: format "spki" is not supported for HMAC`},
		{`await crypto.subtle.encrypt({ name: "AES-GCM" }, null, new Uint8Array(1))`, "threw NotSupportedError: crypto.subtle.encrypt is not supported"},
		// getRandomValues: integer arrays only, at most 65536 bytes, filled in place.
		{`const a = new Uint32Array(16); const r = crypto.getRandomValues(a); const b = new Uint8Array(65536); crypto.getRandomValues(b);
		  const distinct = new Set(b).size; return [r === a, a.some((x) => x !== 0), distinct > 200].join()`, "true,true,true"},
		{`const big = new Uint8Array(100); const view = big.subarray(10, 20); crypto.getRandomValues(view);
		  return big.slice(0, 10).every((x) => x === 0) && big.slice(20).every((x) => x === 0) && view.some((x) => x !== 0)`, "true"},
		{`crypto.getRandomValues(new Uint8Array(65537))`,
			"threw QuotaExceededError: Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length (65537) exceeds the number of bytes of entropy available via this API (65536)."},
		{`crypto.getRandomValues(new Uint32Array(16385))`,
			"threw QuotaExceededError: Failed to execute 'getRandomValues' on 'Crypto': The ArrayBufferView's byte length (65540) exceeds the number of bytes of entropy available via this API (65536)."},
		{`crypto.getRandomValues(new Float64Array(1))`,
			"threw TypeMismatchError: Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is of type 'Float64Array', which is not an integer array type."},
		{`crypto.getRandomValues(new DataView(new ArrayBuffer(4)))`,
			"threw TypeMismatchError: Failed to execute 'getRandomValues' on 'Crypto': The provided ArrayBufferView is of type 'DataView', which is not an integer array type."},
		{`crypto.getRandomValues([1])`, "threw TypeError: Failed to execute 'getRandomValues' on 'Crypto': parameter 1 is not of type 'ArrayBufferView'."},
		{`return [crypto.getRandomValues(new BigUint64Array(2)).length, crypto.getRandomValues(new Uint8Array(0)).length].join()`, "2,0"},
		{`const ids = new Set(); for (let i = 0; i < 100; i++) ids.add(crypto.randomUUID());
		  return ids.size + "|" + [...ids].every((u) => /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/.test(u))`, "100|true"},
		{`const g = crypto.getRandomValues; g(new Uint8Array(1))`, "threw TypeError: Illegal invocation: not a Crypto"},
		{`new Crypto()`, "threw TypeError: Illegal constructor"},
	})
}

func TestTimers(t *testing.T) {
	vm, logs := newTestVM(t)
	run := func(src, want string) {
		t.Helper()
		got := evalAsync(t, vm, "(async () => { try {\n"+src+"\n} catch (e) { return `threw ${e?.name}: ${e?.message}` } })()")
		if got != want {
			t.Errorf("%s\n got  %q\n want %q", src, got, want)
		}
	}
	// Equal delays fire in creation order; each callback's microtasks run
	// before the next callback; a timer cleared by an earlier one never runs.
	run(`const log = [];
	  await new Promise((done) => {
	    for (let i = 0; i < 20; i++) setTimeout(() => { log.push(i); Promise.resolve().then(() => log.push("m" + i)) }, 5);
	    const late = setTimeout(() => log.push("cleared"), 5);
	    setTimeout(() => clearTimeout(late), 0);
	    setTimeout(done, 6);
	  });
	  return log.join()`, Seq(20))
	run(`const log = []; await new Promise((done) => {
	    setTimeout(() => log.push("b"), 40); setTimeout(() => log.push("a"), 20); setTimeout(() => log.push("zero"), 0);
	    setTimeout((x, y) => log.push(x + y), -5, "ar", "gs"); setTimeout(() => log.push("nan"), NaN);
	    setTimeout(done, 50);
	  }); return log.join()`, "zero,args,nan,a,b")
	run(`const id = setTimeout(() => {}, 1); clearTimeout(id); clearTimeout(id); clearTimeout(); clearTimeout("x"); clearInterval(12345);
	  return typeof id + (id > 0)`, "numbertrue")
	run(`let n = 0; await new Promise((done) => { const iv = setInterval((inc) => { n += inc; if (n === 3) { clearInterval(iv); setTimeout(done, 5) } }, 1, 1) });
	  return n`, "3")
	run(`const a = setTimeout(() => {}, 0), b = setInterval(() => {}, 0); clearTimeout(a); clearInterval(b); return b - a`, "1")
	run(`setTimeout("code")`, "threw TypeError: Failed to execute 'setTimeout': parameter 1 is not a function (code strings are not supported).")
	run(`setInterval()`, "threw TypeError: Failed to execute 'setInterval': 1 argument required, but only 0 present.")
	// The callback runs with globalThis as this.
	run(`return await new Promise((res) => setTimeout(function () { res(this === globalThis) }, 0))`, "true")
	// queueMicrotask and performance.
	run(`const log = []; queueMicrotask(() => log.push(1)); Promise.resolve().then(() => log.push(2)); queueMicrotask(() => log.push(3));
	  await null; await null; return log.join()`, "1,2,3")
	run(`queueMicrotask(5)`, "threw TypeError: Failed to execute 'queueMicrotask': parameter 1 is not a function.")
	run(`const a = performance.now(); await new Promise((r) => setTimeout(r, 3)); const b = performance.now();
	  return [typeof a, b > a, b - a >= 2.5, Math.abs(performance.timeOrigin + b - Date.now()) < 50, JSON.stringify(performance.toJSON()) === JSON.stringify({ timeOrigin: performance.timeOrigin })].join()`,
		"number,true,true,true,true")

	// A throwing callback is reported; later timers still run.
	*logs = nil
	run(`await new Promise((done) => { setTimeout(() => { throw new Error("timer broke") }, 0); setTimeout(done, 1) }); return "ok"`, "ok")
	if len(*logs) != 1 || !strings.HasPrefix((*logs)[0], "error: Uncaught Error: timer broke") {
		t.Errorf("logs %q", *logs)
	}
	*logs = nil
	run(`queueMicrotask(() => { throw new Error("micro broke") }); await null; return "ok"`, "ok")
	if len(*logs) != 1 || !strings.HasPrefix((*logs)[0], "error: Uncaught Error: micro broke") {
		t.Errorf("logs %q", *logs)
	}
	*logs = nil
	run(`reportError(new TypeError("reported")); return "ok"`, "ok")
	if len(*logs) != 1 || !strings.HasPrefix((*logs)[0], "error: Uncaught TypeError: reported") {
		t.Errorf("logs %q", *logs)
	}

	// Cleared timers leave nothing outstanding; StopTimers drops the rest.
	if n := vm.Outstanding(); n != 0 {
		t.Fatalf("outstanding ops after the tests: %d", n)
	}
	run(`setTimeout(() => {}, 60000); setInterval(() => {}, 60000); return "armed"`, "armed")
	if n := vm.Outstanding(); n != 2 {
		t.Fatalf("outstanding %d, want 2", n)
	}
	vm.Host.(*Host).StopTimers()
	if err := vm.Poll(); err != nil {
		t.Fatal(err)
	}
	if n := vm.Outstanding(); n != 0 {
		t.Fatalf("outstanding after StopTimers: %d", n)
	}
}

// Seq is the log TestTimers expects: 0,m0,1,m1,... for n timers.
func Seq(n int) string {
	parts := make([]string, 0, 2*n)
	for i := 0; i < n; i++ {
		parts = append(parts, strconv.Itoa(i), "m"+strconv.Itoa(i))
	}
	return strings.Join(parts, ",")
}
