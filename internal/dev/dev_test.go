package dev

import (
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/runtime"
)

func writeFile(t *testing.T, path, src string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
	// Give each edit a distinct modification time even on coarse clocks.
	future := time.Now().Add(time.Duration(len(src)) * time.Millisecond)
	os.Chtimes(path, future, future)
}

func fetch(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestReloadOnChangeKeepsLastGoodVersion(t *testing.T) {
	dir := t.TempDir()
	index := filepath.Join(dir, "index.ts")
	writeFile(t, index, `import { greet } from "./greet"; export default { fetch: () => new Response(greet("a")) }`)
	writeFile(t, filepath.Join(dir, "greet.ts"), `export const greet = (n: string): string => "hello " + n;`)
	rt, err := runtime.New(runtime.Config{ExposeErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	srv, err := New(Config{Dir: dir, Runtime: rt})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	if code, body := fetch(t, hs.URL); code != 200 || body != "hello a" {
		t.Fatalf("first version: %d %q", code, body)
	}
	// An edit to an imported file is served by the next request.
	writeFile(t, filepath.Join(dir, "greet.ts"), `export const greet = (n: string): string => "bonjour " + n;`)
	if code, body := fetch(t, hs.URL); code != 200 || body != "bonjour a" {
		t.Fatalf("after edit: %d %q", code, body)
	}
	// A syntax error is reported with its position; the last good
	// version keeps serving.
	writeFile(t, filepath.Join(dir, "greet.ts"), "export const greet = (n: string): string =>\n  \"hi \" + ;\n")
	if code, body := fetch(t, hs.URL); code != 200 || body != "bonjour a" {
		t.Fatalf("after syntax error: %d %q", code, body)
	}
	srv.mu.Lock()
	buildErr := srv.buildErr
	srv.mu.Unlock()
	if buildErr == nil || !strings.Contains(buildErr.Error(), "greet.ts:2:") {
		t.Fatalf("build error does not name greet.ts:2: %v", buildErr)
	}
	// Fixing it serves the fix.
	writeFile(t, filepath.Join(dir, "greet.ts"), `export const greet = (n: string): string => "hola " + n;`)
	if code, body := fetch(t, hs.URL); code != 200 || body != "hola a" {
		t.Fatalf("after fix: %d %q", code, body)
	}
	if n := srv.Builds(); n != 3 {
		t.Fatalf("builds %d, want 3", n)
	}
}

func TestBrokenFirstBuildAnswersWithTheError(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, filepath.Join(dir, "index.js"), "export default {\n  fetch() { return new Response( }\n}\n")
	rt, err := runtime.New(runtime.Config{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	srv, err := New(Config{Dir: dir, Runtime: rt})
	if err == nil || srv == nil {
		t.Fatalf("want a server and a build error, got %v", err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)
	code, body := fetch(t, hs.URL)
	if code != 500 || !strings.Contains(body, "index.js:2:") {
		t.Fatalf("got %d %q", code, body)
	}
}
