package webapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/engine"
)

// newURLTestVM returns a VM with the Web APIs loaded whose globals include
// URL and URLSearchParams.
func newURLTestVM(t testing.TB) *engine.VM {
	t.Helper()
	rt, err := NewRuntime()
	if err != nil {
		t.Fatal(err)
	}
	vm, entry, err := rt.NewVM(engine.Config{MemoryLimit: 64 << 20}, &Host{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { entry.Free(); vm.Close() })
	v, err := vm.Eval("check.js", `typeof URL + "," + typeof URLSearchParams`)
	if err != nil {
		t.Fatal(err)
	}
	defer v.Free()
	if got := v.String(); got != "function,function" {
		t.Fatalf("URL globals not installed by 99_bootstrap.js: typeof URL, URLSearchParams = %s", got)
	}
	return vm
}

// wptURLCheck runs a batch of urltestdata.json cases through the JS URL
// class the way WPT's url-constructor.any.js, url-origin.any.js and
// url-statics-*.any.js do, and returns the failures as {key: detail}. A
// case's key is "input|base", with base "" when the case has none (null).
const wptURLCheck = `(function (cases) {
  const fields = ["href", "protocol", "username", "password", "host", "hostname", "port", "pathname", "search", "hash"];
  const failures = {};
  for (const c of cases) {
    const base = c.base === null || c.base === undefined ? undefined : c.base;
    const key = c.input + "|" + (base === undefined ? "" : base);
    const problems = [];
    try {
      if (URL.canParse(c.input, base) !== !c.failure) problems.push("canParse = " + !c.failure + " expected");
      if ((URL.parse(c.input, base) === null) !== !!c.failure) problems.push("URL.parse disagrees with failure");
      if (c.failure) {
        let threw = null;
        try { new URL(c.input, base) } catch (e) { threw = e }
        if (threw === null) problems.push("constructed, expected TypeError");
        else if (!(threw instanceof TypeError)) problems.push("threw " + threw + ", expected TypeError");
      } else {
        const u = new URL(c.input, base);
        for (const f of fields) {
          if (u[f] !== c[f]) problems.push(f + ": got " + JSON.stringify(u[f]) + ", want " + JSON.stringify(c[f]));
        }
        if ("origin" in c && u.origin !== c.origin) problems.push("origin: got " + JSON.stringify(u.origin) + ", want " + JSON.stringify(c.origin));
        if ("searchParams" in c && u.searchParams.toString() !== c.searchParams) {
          problems.push("searchParams: got " + JSON.stringify(u.searchParams.toString()) + ", want " + JSON.stringify(c.searchParams));
        }
        if (u.toString() !== u.href || u.toJSON() !== u.href) problems.push("toString/toJSON differ from href");
      }
    } catch (e) {
      problems.push("threw " + e);
    }
    if (problems.length > 0) failures[key] = problems.join("; ");
  }
  return JSON.stringify(failures);
})`

// TestURLWPT runs every case of WPT's url/resources/urltestdata.json
// (testdata/wpt/url, see SOURCE.md and LICENSE.md there) through the JS URL
// class. Cases expected to fail are listed with the reason in
// testdata/wpt/url/expectations.json; any other failure, and any listed case
// that passes, fails the test.
func TestURLWPT(t *testing.T) {
	raw, err := os.ReadFile("testdata/wpt/url/urltestdata.json")
	if err != nil {
		t.Fatal(err)
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		t.Fatalf("parsing urltestdata.json: %v", err)
	}
	// Keep the raw JSON of each case so that escapes such as lone
	// surrogates reach JavaScript unchanged; skip the comment strings.
	var cases [][]byte
	for _, it := range items {
		if it = bytes.TrimSpace(it); len(it) > 0 && it[0] == '{' {
			cases = append(cases, []byte(it))
		}
	}
	expected := loadURLExpectations(t)

	vm := newURLTestVM(t)
	check, err := vm.Eval("wpt_url.js", wptURLCheck)
	if err != nil {
		t.Fatal(err)
	}
	defer check.Free()

	const batch = 100
	failures := map[string]string{}
	for i := 0; i < len(cases); i += batch {
		chunk := cases[i:min(i+batch, len(cases))]
		arg := engine.JSON("[" + string(bytes.Join(chunk, []byte(","))) + "]")
		res, err := check.Call(engine.Value{}, arg)
		if err != nil {
			t.Fatalf("running cases %d-%d: %v", i, i+len(chunk)-1, err)
		}
		var got map[string]string
		err = json.Unmarshal([]byte(res.String()), &got)
		res.Free()
		if err != nil {
			t.Fatalf("reading results of cases %d-%d: %v", i, i+len(chunk)-1, err)
		}
		for k, v := range got {
			failures[k] = v
		}
	}

	passed := len(cases) - len(failures)
	summary := fmt.Sprintf("WPT url/urltestdata.json through URL: %d/%d passed (%.1f%%), %d expected failures",
		passed, len(cases), 100*float64(passed)/float64(len(cases)), len(expected))
	t.Log(summary)
	fmt.Println(summary) // shown with or without -v

	for key, detail := range failures {
		if _, ok := expected[key]; !ok {
			t.Errorf("unexpected failure <%s>: %s", key, detail)
		}
	}
	for key := range expected {
		if _, failed := failures[key]; !failed {
			t.Errorf("expected failure <%s> passes (or is no longer in the data): remove it from expectations.json", key)
		}
	}
}

// loadURLExpectations reads testdata/wpt/url/expectations.json, a map from
// "input|base" to the reason the case is expected to fail. Every entry must
// give a reason.
func loadURLExpectations(t *testing.T) map[string]string {
	t.Helper()
	raw, err := os.ReadFile("testdata/wpt/url/expectations.json")
	if err != nil {
		t.Fatal(err)
	}
	var exp map[string]string
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&exp); err != nil {
		t.Fatalf("parsing expectations.json: %v", err)
	}
	for k, reason := range exp {
		if strings.TrimSpace(reason) == "" {
			t.Errorf("expectations.json: <%s> has no reason; every expected failure must say why", k)
		}
	}
	return exp
}

// evalURL evaluates src in vm and returns its value as a string.
func evalURL(t *testing.T, vm *engine.VM, src string) string {
	t.Helper()
	v, err := vm.Eval("test.js", src)
	if err != nil {
		t.Fatalf("eval %s: %v", src, err)
	}
	defer v.Free()
	return v.String()
}

func TestURLErrors(t *testing.T) {
	vm := newURLTestVM(t)
	cases := []struct{ src, want string }{
		{`new URL("xyz")`, "TypeError: Failed to construct 'URL': Invalid URL 'xyz'"},
		{`new URL("/a", "nope")`, "TypeError: Failed to construct 'URL': Invalid URL '/a' with base 'nope'"},
		{`new URL()`, "TypeError: Failed to construct 'URL': 1 argument required, but only 0 present."},
		{`new URL("http://a/").href = "::"`, "TypeError: Failed to set the 'href' property on 'URL': Invalid URL '::'"},
		{`new URLSearchParams([["a"]])`, "TypeError: Failed to construct 'URLSearchParams': Sequence initializer must only contain pair elements"},
		{`new URLSearchParams().append("a")`, "TypeError: Failed to execute 'append' on 'URLSearchParams': 2 arguments required, but only 1 present."},
		{`Object.getOwnPropertyDescriptor(URL.prototype, "href").get.call({})`, "TypeError: Illegal invocation: not a URL"},
		{`new URL(Symbol())`, "TypeError: cannot convert symbol to string"},
	}
	for _, c := range cases {
		got := evalURL(t, vm, `try { `+c.src+`; "no error" } catch (e) { e.name + ": " + e.message }`)
		if got != c.want {
			t.Errorf("%s: got %q, want %q", c.src, got, c.want)
		}
	}
	got := evalURL(t, vm, `[URL.canParse("xyz"), URL.canParse("/a", "http://h"), URL.parse("xyz"), URL.parse("b", "http://h/a").href].join()`)
	if got != "false,true,,http://h/b" {
		t.Errorf("canParse/parse: got %q", got)
	}
}

// TestURLSetters checks each setter, including the cases where the spec's
// state override ignores or partly applies the value.
func TestURLSetters(t *testing.T) {
	vm := newURLTestVM(t)
	cases := []struct{ href, setter, value, want string }{
		{"http://example.com/a?b#c", "href", "https://other.org:8443/x", "https://other.org:8443/x"},
		{"http://example.com/", "protocol", "https", "https://example.com/"},
		{"http://example.com/", "protocol", "wss:", "wss://example.com/"},
		{"http://example.com/", "protocol", "foo", "http://example.com/"}, // special to non-special: ignored
		{"foo://example.com/", "protocol", "http", "foo://example.com/"},  // non-special to special: ignored
		{"https://example.com:8080/", "protocol", "http", "http://example.com:8080/"},
		{"http://example.com:443/", "protocol", "https", "https://example.com/"}, // port becomes the default
		{"http://example.com/", "username", "us er", "http://us%20er@example.com/"},
		{"http://u@example.com/", "password", "p:w", "http://u:p%3Aw@example.com/"},
		{"file:///tmp", "username", "u", "file:///tmp"}, // file URLs cannot have credentials
		{"http://example.com/", "host", "other.org:81", "http://other.org:81/"},
		{"http://example.com/", "host", "", "http://example.com/"},                 // special URLs need a host
		{"http://example.com/", "hostname", "other.org:81", "http://example.com/"}, // ":" voids the value
		{"http://example.com/", "hostname", "EXAMPLE.ORG", "http://example.org/"},
		{"http://example.com/", "hostname", "bad host", "http://example.com/"},
		{"http://example.com/", "host", "münchen.de", "http://xn--mnchen-3ya.de/"},
		{"sc:opaque", "host", "x", "sc:opaque"}, // opaque paths have no host
		{"http://example.com/", "port", "8080", "http://example.com:8080/"},
		{"http://example.com/", "port", "8080abc", "http://example.com:8080/"},
		{"http://example.com/", "port", "80", "http://example.com/"},
		{"http://example.com:81/", "port", "", "http://example.com/"},
		{"http://example.com:81/", "port", "99999", "http://example.com:81/"},
		{"http://example.com/", "pathname", "/a b/../c", "http://example.com/c"},
		{"http://example.com/", "pathname", "x?y#z", "http://example.com/x%3Fy%23z"},
		{"sc:opaque", "pathname", "/x", "sc:opaque"},
		{"http://example.com/", "search", "a=b c", "http://example.com/?a=b%20c"},
		{"http://example.com/", "search", "??x", "http://example.com/??x"},
		{"http://example.com/?x#h", "search", "", "http://example.com/#h"},
		{"http://example.com/", "hash", "f g", "http://example.com/#f%20g"},
		{"http://example.com/#f", "hash", "", "http://example.com/"},
		// whatwg/url 6c78200: an opaque path never ends in a literal space,
		// so clearing the fragment or query keeps the URL round-tripping.
		{"sc:space   #hash", "hash", "", "sc:space  %20"},
		{"data:space ?query", "search", "", "data:space%20"},
		{"sc:x", "hash", "y", "sc:x#y"},
	}
	for _, c := range cases {
		src := fmt.Sprintf(`{ const u = new URL(%q); u[%q] = %q; u.href }`, c.href, c.setter, c.value)
		if got := evalURL(t, vm, src); got != c.want {
			t.Errorf("new URL(%q).%s = %q: got %q, want %q", c.href, c.setter, c.value, got, c.want)
		}
	}
	// Getters after a setter reflect the new record.
	got := evalURL(t, vm, `{ const u = new URL("http://a.com/"); u.host = "b.org:99"; [u.host, u.hostname, u.port, u.origin].join() }`)
	if got != "b.org:99,b.org,99,http://b.org:99" {
		t.Errorf("getters after host setter: %q", got)
	}
}

func TestURLOpaquePathTrailingSpace(t *testing.T) {
	vm := newURLTestVM(t)
	got := evalURL(t, vm, `[new URL("non-special:opaque  ?hi").href, new URL("data:a b #f").pathname, new URL("sc:a  ").href].join("|")`)
	if want := "non-special:opaque %20?hi|a b%20|sc:a"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
}

func TestURLOrigin(t *testing.T) {
	vm := newURLTestVM(t)
	got := evalURL(t, vm, `["https://u:p@Example.com:443/x", "http://[::1]:8080/", "file:///etc", "data:,x",
		"blob:https://a.com:8443/uuid", "blob:file:///x", "blob:nothing", "ws://h:80/"].map((s) => new URL(s).origin).join(" ")`)
	want := "https://example.com http://[::1]:8080 null null https://a.com:8443 null null ws://h"
	if got != want {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func TestURLSearchParamsLiveSync(t *testing.T) {
	vm := newURLTestVM(t)
	cases := []struct{ name, src, want string }{
		{"params follow search setter",
			`const u = new URL("http://h/?a=1"); const p = u.searchParams; u.search = "?b=2&c=3"; [p.get("a"), p.get("b"), p.size].join()`,
			",2,2"},
		{"params follow href setter",
			`const u = new URL("http://h/?a=1"); const p = u.searchParams; u.href = "http://h/?z=9"; p.get("z")`,
			"9"},
		{"search follows params",
			`const u = new URL("http://h/p?a=1#f"); u.searchParams.append("b", "x y"); u.searchParams.set("a", "é"); u.href`,
			"http://h/p?a=%C3%A9&b=x+y#f"},
		{"emptying params drops the ?",
			`const u = new URL("http://h/?a=1#f"); u.searchParams.delete("a"); [u.href, u.search].join()`,
			"http://h/#f,"},
		{"same object every time",
			`const u = new URL("http://h/"); u.searchParams === u.searchParams`,
			"true"},
		{"URL.parse results are live too",
			`const u = URL.parse("http://h/?q=1"); u.searchParams.set("q", "2"); u.search = "?r=3"; u.searchParams.get("r") + u.href`,
			"3http://h/?r=3"},
		{"URLs parsed from the same input are independent",
			`const a = new URL("http://h/?q=1"), b = new URL("http://h/?q=1"); a.search = "?z"; a.searchParams.set("y", "2"); b.href + " " + b.searchParams.size`,
			"http://h/?q=1 1"},
		{"setters work on URL.parse results",
			`const u = URL.parse("http://h/"); u.pathname = "/x"; u.href`,
			"http://h/x"},
	}
	for _, c := range cases {
		if got := evalURL(t, vm, "{"+c.src+"}"); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

func TestURLSearchParams(t *testing.T) {
	vm := newURLTestVM(t)
	cases := []struct{ name, src, want string }{
		{"+ is space, %20 is space, %2B is +",
			`const p = new URLSearchParams("a=b+c&d=e%20f&g=h%2Bi"); [p.get("a"), p.get("d"), p.get("g")].join("|")`,
			"b c|e f|h+i"},
		{"serializer writes space as + and escapes the rest",
			`new URLSearchParams({ q: "a b+c&d=e/f~!'()*-._" }).toString()`,
			"q=a+b%2Bc%26d%3De%2Ff%7E%21%27%28%29*-._"},
		{"leading ? is dropped, empty pairs skipped, missing = gives empty value",
			`const p = new URLSearchParams("?&a&&b=1&=2"); JSON.stringify([...p])`,
			`[["a",""],["b","1"],["","2"]]`},
		{"bad percent escapes stay, bad UTF-8 becomes U+FFFD",
			`const p = new URLSearchParams("a=%zz%4&b=%C3%28&c=%E2%82%AC%F0%9F%98%80&d=%ED%A0%80"); [...p.values()].map(encodeURIComponent).join("|")`,
			"%25zz%254|%EF%BF%BD(|%E2%82%AC%F0%9F%98%80|%EF%BF%BD%EF%BF%BD%EF%BF%BD"},
		{"sort is stable and by UTF-16 code units",
			`const p = new URLSearchParams("z=1&\uFFFD=x&a=1&\u{1F600}=y&z=2&a=2&a=3"); p.sort(); p.toString()`,
			"a=1&a=2&a=3&z=1&z=2&%F0%9F%98%80=y&%EF%BF%BD=x"},
		{"sequence and record init",
			`[new URLSearchParams([["a", 1], ["a", 2]]).toString(), new URLSearchParams({ x: "1", y: "2" }).toString(),
			  new URLSearchParams(new URLSearchParams("k=v")).toString()].join("|")`,
			"a=1&a=2|x=1&y=2|k=v"},
		{"lone surrogates become U+FFFD",
			`new URLSearchParams([["\uD800", "\uDC00x"]]).toString()`,
			"%EF%BF%BD=%EF%BF%BDx"},
		{"delete and has with a value",
			`const p = new URLSearchParams("a=1&a=2&b=3"); const h = [p.has("a", "2"), p.has("a", "9")]; p.delete("a", "1"); h.concat(p.toString()).join()`,
			"true,false,a=2&b=3"},
		{"set replaces the first and drops the rest",
			`const p = new URLSearchParams("a=1&b=2&a=3"); p.set("a", "x"); p.toString()`,
			"a=x&b=2"},
		{"getAll, size, forEach, keys",
			`const p = new URLSearchParams("a=1&b=2&a=3"); const seen = []; p.forEach((v, k, o) => seen.push(k + v + (o === p)));
			 [p.getAll("a").join("+"), p.size, seen.join(" "), [...p.keys()].join("")].join("|")`,
			"1+3|3|a1true b2true a3true|aba"},
		{"iterators are live",
			`const p = new URLSearchParams("a=1&b=2"); const out = []; for (const [k] of p) { out.push(k); if (k === "a") p.append("c", "3") } out.join("")`,
			"abc"},
		{"WebIDL members are enumerable",
			`const keys = []; for (const k in URL.prototype) keys.push(k); keys.includes("href") && keys.includes("searchParams") && Object.keys(URL).join()`,
			"parse,canParse"},
		{"iterator prototype",
			`const it = new URLSearchParams().entries(); [Object.prototype.toString.call(it), typeof it[Symbol.iterator], Object.prototype.toString.call(new URLSearchParams())].join()`,
			"[object URLSearchParams Iterator],function,[object URLSearchParams]"},
		{"truncated UTF-8 sequence is one U+FFFD",
			`encodeURIComponent(new URLSearchParams("a=%F0%9F%98A%E2%82").get("a"))`,
			"%EF%BF%BDA%EF%BF%BD"},
		{"names and values holding U+0000 serialize",
			`const p = new URLSearchParams(); p.append("a\0b", "\0"); p.append("c", "d"); p.toString() + "|" + new URLSearchParams(p.toString()).get("a\0b").length`,
			"a%00b=%00&c=d|1"},
		{"record init collapses keys equal after USV conversion",
			`new URLSearchParams({ "\uD800": "1", "x": "2", "\uDC00": "3" }).toString()`,
			"%EF%BF%BD=3&x=2"},
		{"sort keeps the order of equal names over many pairs",
			`const p = new URLSearchParams(); for (let i = 0; i < 50; i++) p.append(i % 2 ? "b" : "a", String(i)); p.sort(); p.getAll("a").join(",") + "|" + p.getAll("b").slice(0, 3).join(",")`,
			"0,2,4,6,8,10,12,14,16,18,20,22,24,26,28,30,32,34,36,38,40,42,44,46,48|1,3,5"},
		{"null and undefined init",
			`[new URLSearchParams(null).toString(), new URLSearchParams(undefined).toString(), new URLSearchParams().size].join("|")`,
			"null=||0"},
	}
	for _, c := range cases {
		if got := evalURL(t, vm, "{"+c.src+"}"); got != c.want {
			t.Errorf("%s: got %q, want %q", c.name, got, c.want)
		}
	}
}

// BenchmarkURLParse measures new URL(...) from JavaScript: the JS wrapper,
// the op call and the Go parser, or the VM's parse cache. The loop runs in
// JavaScript, so ns/op is the time per URL; the cache=miss inputs include a
// string concatenation (about 0.2µs).
//
//	go test ./internal/webapi/ -run '^$' -bench URLParse -benchmem -cpu 1 -count 5
func BenchmarkURLParse(b *testing.B) {
	for _, bc := range []struct{ name, expr string }{
		// A new input each time: every parse reaches the Go parser.
		{"kind=absolute,cache=miss", `new URL("https://example.com/path?x=" + i)`},
		{"kind=relative,cache=miss", `new URL("../img/a.png?v=" + i, "https://example.com/docs/guide/index.html")`},
		// The same input each time: the VM's parse cache answers.
		{"kind=absolute,cache=hit", `new URL("https://example.com/path?x=1")`},
		{"kind=searchParams.get,cache=hit", `new URL("https://example.com/path?x=1&y=2").searchParams.get("y")`},
	} {
		b.Run(bc.name, func(b *testing.B) {
			vm := newURLTestVM(b)
			loop, err := vm.Eval("bench.js", `(function (n) { let r; for (let i = 0; i < n; i++) r = `+bc.expr+`; return r })`)
			if err != nil {
				b.Fatal(err)
			}
			defer loop.Free()
			b.ResetTimer()
			r, err := loop.Call(engine.Value{}, b.N)
			if err != nil {
				b.Fatal(err)
			}
			r.Free()
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "urls/s")
		})
	}
}

// TestURLOpsMatchJS checks that the ops 10_url.js calls are exactly the ops
// urlOps registers.
func TestURLOpsMatchJS(t *testing.T) {
	src, err := jsFiles.ReadFile("js/10_url.js")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`\bops\.(op_\w+)`).FindAllStringSubmatch(string(src), -1) {
		used[m[1]] = true
	}
	registered := map[string]bool{}
	for _, op := range urlOps() {
		registered[op.Name] = true
		if !used[op.Name] {
			t.Errorf("%s is registered but 10_url.js never calls it", op.Name)
		}
	}
	for name := range used {
		if !registered[name] {
			t.Errorf("10_url.js calls %s, which urlOps does not register", name)
		}
	}
}
