package bundle

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// writeApp writes files (slash-separated path -> content) into a new temp folder
// and returns the folder.
func writeApp(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func mustBuild(t *testing.T, opts Options) *Result {
	t.Helper()
	res, err := Build(opts)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return res
}

// buildError runs Build, expects an *Error and returns it.
func buildError(t *testing.T, opts Options) *Error {
	t.Helper()
	res, err := Build(opts)
	if err == nil {
		t.Fatalf("Build succeeded, want an error; code:\n%s", res.Code)
	}
	var be *Error
	if !errors.As(err, &be) {
		t.Fatalf("Build error %q (%T) is not a *bundle.Error", err, err)
	}
	return be
}

// lineOf returns the 1-based line and column of the first occurrence of needle
// in code.
func lineOf(t *testing.T, code, needle string) (line, col int) {
	t.Helper()
	for i, l := range strings.Split(code, "\n") {
		if c := strings.Index(l, needle); c >= 0 {
			return i + 1, c + 1
		}
	}
	t.Fatalf("%q not found in code:\n%s", needle, code)
	return 0, 0
}

func TestBuildTypeScriptWithRelativeImport(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.ts": `import { greet } from "./lib/greet";
interface Env { NAME: string }
export default {
  fetch(req: Request, env: Env): Response {
    return new Response(greet(env.NAME));
  },
};
export const answer: number = 42;
`,
		"lib/greet.ts": `export function greet(name: string): string {
  return "hello " + name;
}
`,
		"unused.ts": `export const nope = 1;`,
	})
	res := mustBuild(t, Options{Dir: dir})

	if res.Entry != "index.ts" {
		t.Errorf("Entry = %q, want index.ts", res.Entry)
	}
	if !strings.HasPrefix(res.Code, "var "+GlobalName+" = (() => {\n") {
		t.Errorf("code does not start with the IIFE assignment:\n%s", res.Code)
	}
	if strings.Contains(res.Code, "interface") || strings.Contains(res.Code, ": string") {
		t.Errorf("types were not stripped:\n%s", res.Code)
	}
	if !strings.Contains(res.Code, `return "hello " + name;`) {
		t.Errorf("the imported module is not in the bundle:\n%s", res.Code)
	}
	wantInputs := []string{filepath.Join(dir, "index.ts"), filepath.Join(dir, "lib", "greet.ts")}
	if !slices.Equal(res.Inputs, wantInputs) {
		t.Errorf("Inputs = %q, want %q", res.Inputs, wantInputs)
	}
	sum := sha256.Sum256([]byte(res.Code))
	if res.Hash != hex.EncodeToString(sum[:]) {
		t.Errorf("Hash = %s, want the SHA-256 of Code", res.Hash)
	}
	if res.SourceMap == nil || len(res.SourceMapJSON) == 0 {
		t.Fatal("no source map")
	}
	if strings.Contains(res.Code, "sourceMappingURL") {
		t.Error("code carries a sourceMappingURL comment; the map is external")
	}

	// The same input gives the same bundle: versions are content-addressed.
	if again := mustBuild(t, Options{Dir: dir}); again.Hash != res.Hash {
		t.Errorf("second build hash %s != first %s", again.Hash, res.Hash)
	}
}

func TestBuildTSX(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.tsx": `const React = { createElement: (tag: string, props: any, ...children: any[]) => ({ tag, props, children }) };
export default { fetch() { return <p class="x">hi</p>; } };
`,
	})
	res := mustBuild(t, Options{Dir: dir})
	if res.Entry != "index.tsx" {
		t.Errorf("Entry = %q, want index.tsx", res.Entry)
	}
	if !strings.Contains(res.Code, `React.createElement("p", { class: "x" }, "hi")`) {
		t.Errorf("JSX not compiled to React.createElement:\n%s", res.Code)
	}
}

func TestBuildPackageJSONMain(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"package.json":  `{"name": "app", "main": "./server/app.js"}`,
		"index.ts":      `export default "wrong entry";`,
		"server/app.js": `export default "right entry";`,
	})
	res := mustBuild(t, Options{Dir: dir})
	if res.Entry != "server/app.js" {
		t.Errorf("Entry = %q, want server/app.js", res.Entry)
	}
	if !strings.Contains(res.Code, "right entry") || strings.Contains(res.Code, "wrong entry") {
		t.Errorf("bundled the wrong entry:\n%s", res.Code)
	}
	if !slices.Contains(res.Inputs, filepath.Join(dir, "package.json")) {
		t.Errorf("Inputs %q lack package.json, which picks the entry", res.Inputs)
	}
}

func TestBuildPackageJSONMainMissing(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"package.json": `{"main": "dist/index.js"}`,
		"index.ts":     `export default 1;`,
	})
	_, err := Build(Options{Dir: dir})
	if err == nil || !strings.Contains(err.Error(), `package.json "main" is "dist/index.js" but no such file exists`) {
		t.Fatalf("err = %v, want one about the missing main", err)
	}
}

func TestBuildExplicitEntryWins(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"package.json": `{"main": "index.ts"}`,
		"index.ts":     `export default "index";`,
		"other.mjs":    `export default "other";`,
	})
	res := mustBuild(t, Options{Dir: dir, Entry: "other.mjs"})
	if res.Entry != "other.mjs" || !strings.Contains(res.Code, `"other"`) {
		t.Errorf("Entry = %q, code:\n%s", res.Entry, res.Code)
	}
	if _, err := Build(Options{Dir: dir, Entry: "nope.ts"}); err == nil || !strings.Contains(err.Error(), "entry nope.ts does not exist") {
		t.Errorf("missing explicit entry: err = %v", err)
	}
}

func TestBuildSrcIndexFallback(t *testing.T) {
	dir := writeApp(t, map[string]string{"src/index.js": `export default 1;`})
	if res := mustBuild(t, Options{Dir: dir}); res.Entry != "src/index.js" {
		t.Errorf("Entry = %q, want src/index.js", res.Entry)
	}
}

func TestBuildNPMPackage(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.ts": `import pad from "tiny-pad";
import { VERSION } from "tiny-pad/version";
import data from "./data.json";
import text from "./hello.txt";
export default { fetch() { return new Response(pad("x") + VERSION + data.n + text); } };
`,
		"data.json": `{"n": 7}`,
		"hello.txt": "hello text",
		// "exports" must win over "main", and the "worker" condition over "default".
		"node_modules/tiny-pad/package.json": `{
  "name": "tiny-pad",
  "main": "./cjs/wrong.js",
  "exports": {
    ".": { "worker": "./esm/worker.js", "default": "./esm/index.js" },
    "./version": "./esm/version.js"
  }
}`,
		"node_modules/tiny-pad/esm/worker.js":  `export default function pad(s) { return "[worker " + s + "]"; }`,
		"node_modules/tiny-pad/esm/index.js":   `export default function pad(s) { return "[default " + s + "]"; }`,
		"node_modules/tiny-pad/esm/version.js": `export const VERSION = "v1.2.3";`,
		"node_modules/tiny-pad/cjs/wrong.js":   `module.exports = function () { return "main field"; };`,
	})
	res := mustBuild(t, Options{Dir: dir})
	for _, want := range []string{`"[worker " + s + "]"`, `"v1.2.3"`, `n: 7`, `"hello text"`} {
		if !strings.Contains(res.Code, want) {
			t.Errorf("code lacks %s:\n%s", want, res.Code)
		}
	}
	for _, bad := range []string{"[default ", "main field"} {
		if strings.Contains(res.Code, bad) {
			t.Errorf("code has %q, from the wrong package file", bad)
		}
	}
	want := []string{
		filepath.Join(dir, "data.json"),
		filepath.Join(dir, "hello.txt"),
		filepath.Join(dir, "index.ts"),
		filepath.Join(dir, "node_modules/tiny-pad/esm/version.js"),
		filepath.Join(dir, "node_modules/tiny-pad/esm/worker.js"),
	}
	if !slices.Equal(res.Inputs, want) {
		t.Errorf("Inputs = %q\nwant %q", res.Inputs, want)
	}
	// npm files map back to their node_modules path.
	line, col := lineOf(t, res.Code, `return "[worker "`)
	if file, l, _, ok := res.SourceMap.Lookup(line, col); !ok || file != "node_modules/tiny-pad/esm/worker.js" || l != 1 {
		t.Errorf("Lookup(%d, %d) = %s:%d ok=%v, want node_modules/tiny-pad/esm/worker.js:1", line, col, file, l, ok)
	}
}

func TestBuildMainFieldsPreferModule(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.js":                         `import f from "dual"; export default f();`,
		"node_modules/dual/package.json":   `{"name": "dual", "main": "main.js", "module": "module.js"}`,
		"node_modules/dual/main.js":        `module.exports = () => "from main";`,
		"node_modules/dual/module.js":      `export default () => "from module";`,
		"node_modules/dual/unrelated.json": `{}`,
	})
	res := mustBuild(t, Options{Dir: dir})
	if !strings.Contains(res.Code, "from module") || strings.Contains(res.Code, "from main") {
		t.Errorf("did not pick the module field:\n%s", res.Code)
	}
}

func TestBuildSyntaxErrorPosition(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.ts": `import { a } from "./bad";
export default a;
`,
		// The error is the ";" after "=" on line 3; "é" is two bytes, and the
		// column must count it as one character.
		"bad.ts": `export const a = 1;

const é = 2; let b = ;
`,
	})
	be := buildError(t, Options{Dir: dir})
	want := []Problem{{File: "bad.ts", Line: 3, Column: 22, Text: `Unexpected ";"`, LineText: "const é = 2; let b = ;"}}
	if !slices.Equal(be.Problems, want) {
		t.Errorf("Problems = %#v\nwant %#v", be.Problems, want)
	}
	if got, want := be.Error(), `bad.ts:3:22: Unexpected ";"`; got != want {
		t.Errorf("Error() = %q, want %q", got, want)
	}
}

func TestBuildTypeScriptOnlySyntaxInJS(t *testing.T) {
	// Types in a .js file are a syntax error: the loader follows the extension.
	dir := writeApp(t, map[string]string{"index.js": "export const x: number = 1;\n"})
	be := buildError(t, Options{Dir: dir})
	if len(be.Problems) != 1 || be.Problems[0].File != "index.js" || be.Problems[0].Line != 1 || be.Problems[0].Column != 15 {
		t.Errorf("Problems = %#v, want one at index.js:1:15", be.Problems)
	}
}

func TestBuildUnresolvedImports(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.ts": `import { a } from "./missing";
import left from "left-pad";
export default a + left;
`,
	})
	be := buildError(t, Options{Dir: dir})
	want := "index.ts:1:19: Could not resolve \"./missing\"\n" +
		"index.ts:2:18: Could not resolve \"left-pad\" (is the package installed in node_modules?)"
	if got := be.Error(); got != want {
		t.Errorf("Error() =\n%s\nwant\n%s", got, want)
	}
}

func TestBuildNodeBuiltins(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.ts": `import fs from "fs";
import { readFile } from "node:fs/promises";
export default { fs, readFile };
`,
	})
	be := buildError(t, Options{Dir: dir})
	want := []string{
		`index.ts:1:16: cannot import "fs": Node built-in modules are not available in Kumo (it runs code with Web APIs, like a browser or a Worker)`,
		`index.ts:2:26: cannot import "node:fs/promises": Node built-in modules are not available in Kumo (it runs code with Web APIs, like a browser or a Worker)`,
	}
	if got := strings.Split(be.Error(), "\n"); !slices.Equal(got, want) {
		t.Errorf("Error() lines =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestBuildNoEntry(t *testing.T) {
	dir := writeApp(t, map[string]string{"readme.md": "no code"})
	_, err := Build(Options{Dir: dir})
	want := "bundling " + dir + `: no entry point found: looked for package.json "main", index.ts, index.tsx, index.js, index.mjs, src/index.ts, src/index.js`
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

func TestBuildMinify(t *testing.T) {
	dir := writeApp(t, map[string]string{"index.ts": "export function handler(longName: string) {\n  return longName + longName;\n}\n"})
	res := mustBuild(t, Options{Dir: dir, Minify: true})
	if strings.Contains(res.Code, "longName") || !strings.HasPrefix(res.Code, "var "+GlobalName+"=") {
		t.Errorf("not minified, or the global name was lost:\n%s", res.Code)
	}
}

// TestSourceMapLookupBuilt pins the line and column conventions end to end: a
// throw on a known line of a second file must map back there.
func TestSourceMapLookupBuilt(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.ts": `import { boom } from "./src/boom";
export default { fetch() { return boom(); } };
`,
		"src/boom.ts": `// line 1
type Unused = string;

export function boom(): never {
      throw new Error("x");
}
`,
	})
	res := mustBuild(t, Options{Dir: dir})
	line, col := lineOf(t, res.Code, `throw new Error("x")`)

	// "throw" is at line 5, column 7 of src/boom.ts (1-based).
	file, l, c, ok := res.SourceMap.Lookup(line, col)
	if !ok || file != "src/boom.ts" || l != 5 || c != 7 {
		t.Errorf("Lookup(%d, %d) = %s:%d:%d ok=%v, want src/boom.ts:5:7", line, col, file, l, c, ok)
	}
	// "new Error" starts its own mapping 6 characters later.
	file, l, c, ok = res.SourceMap.Lookup(line, col+6)
	if !ok || file != "src/boom.ts" || l != 5 || c != 13 {
		t.Errorf("Lookup(%d, %d) = %s:%d:%d ok=%v, want src/boom.ts:5:13", line, col+6, file, l, c, ok)
	}
	// The closing "})();" of the IIFE maps to nothing.
	last := strings.Count(strings.TrimRight(res.Code, "\n"), "\n") + 1
	if file, l, c, ok := res.SourceMap.Lookup(last, 1); ok {
		t.Errorf("Lookup of the IIFE's last line = %s:%d:%d, want unmapped", file, l, c)
	}

	stack := "Error: x\n    at boom (bundle.js:" + strconv.Itoa(line) + ":" + strconv.Itoa(col) + ")\n    at bundle.js:" + strconv.Itoa(line) + ":" + strconv.Itoa(col+6) + "\n"
	want := "Error: x\n    at boom (src/boom.ts:5:7)\n    at src/boom.ts:5:13\n"
	if got := res.SourceMap.RewriteStack(stack); got != want {
		t.Errorf("RewriteStack =\n%s\nwant\n%s", got, want)
	}
}

// TestBuildResultIsAScript checks the bundle has no import or export
// statements left: the engine evaluates it as a classic script.
func TestBuildResultIsAScript(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.ts": "export default { a: 1 };\nexport const b = 2;\n",
	})
	res := mustBuild(t, Options{Dir: dir})
	for _, l := range strings.Split(res.Code, "\n") {
		if s := strings.TrimSpace(l); strings.HasPrefix(s, "export ") || strings.HasPrefix(s, "import ") {
			t.Errorf("module syntax left in the bundle: %q", l)
		}
	}
	if !strings.Contains(res.Code, "default: () => index_default") || !strings.Contains(res.Code, "b: () => b") {
		t.Errorf("exports namespace lacks default or b:\n%s", res.Code)
	}
}

// TestRewriteStackQuickJSFrames replays a stack that modernc.org/quickjs
// v0.27.0 printed for this very app (file name replaced by bundle.js): QuickJS
// gives 1-based columns, pointing at the "(" of a call and at "return" for a
// returned call.
func TestRewriteStackQuickJSFrames(t *testing.T) {
	dir := writeApp(t, map[string]string{
		"index.ts": `import { boom } from "./util";
export default {
  fetch(): Response {
    const n: number = 1; return boom(n);
  },
};
`,
		"util.ts": `// comment
export function boom(n: number): never {
  if (n > 0) { throw new Error("x"); }
  throw 1;
}
`,
	})
	res := mustBuild(t, Options{Dir: dir})
	throwLine, throwCol := lineOf(t, res.Code, `throw new Error("x")`)
	retLine, retCol := lineOf(t, res.Code, `return boom(n)`)
	parenCol := throwCol + len(`throw new Error`)

	stack := "Error: x\n" +
		"    at boom (bundle.js:" + strconv.Itoa(throwLine) + ":" + strconv.Itoa(parenCol) + ")\n" +
		"    at fetch (bundle.js:" + strconv.Itoa(retLine) + ":" + strconv.Itoa(retCol) + ")\n" +
		"    at <eval> (<eval>:1:79)\n"
	want := "Error: x\n" +
		"    at boom (util.ts:3:26)\n" + // "Error": the last mapping before "("
		"    at fetch (index.ts:4:26)\n" + // "return"
		"    at <eval> (<eval>:1:79)\n"
	if got := res.SourceMap.RewriteStack(stack); got != want {
		t.Errorf("RewriteStack =\n%s\nwant\n%s", got, want)
	}
}
