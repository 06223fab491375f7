package dev

import (
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/bindings"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// TestManifestAndDevVars serves a folder with a kumo.yaml (main, vars,
// limits, a secret) and its secret from .dev.vars, and follows edits to
// both.
func TestManifestAndDevVars(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	writeFile(t, filepath.Join(dir, "src", "main.ts"), `export default { fetch: (r: Request, env: any) => new Response(env.GREETING + " " + env.API_TOKEN + " " + env.MODE) }`)
	writeFile(t, filepath.Join(dir, "index.ts"), `export default { fetch: () => new Response("detected entry, not main") }`)
	writeFile(t, filepath.Join(dir, "kumo.yaml"), "name: greeter\nmain: src/main.ts\nlimits: { timeout: 5s }\nvars: { GREETING: hello, MODE: prod }\nsecrets: [ API_TOKEN ]\n")
	writeFile(t, filepath.Join(dir, ".dev.vars"), "API_TOKEN=dev-token\nMODE=dev # overrides the var\nUNUSED=x\n")

	rt, err := runtime.New(runtime.Config{ExposeErrors: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	st := testutil.Store(t)
	srv, err := New(Config{Dir: dir, Runtime: rt, Logger: testutil.Logger(t), Bindings: bindings.Deps{Store: st}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(srv.Close)
	hs := httptest.NewServer(srv)
	t.Cleanup(hs.Close)

	if code, body := fetch(t, hs.URL); code != 200 || body != "hello dev-token dev" {
		t.Fatalf("first build: %d %q", code, body)
	}
	if p := srv.pool.Load(); p.Version().App != "greeter" {
		t.Errorf("app name %q, want the manifest's", p.Version().App)
	}
	// An edit to .dev.vars reloads the app.
	writeFile(t, filepath.Join(dir, ".dev.vars"), "API_TOKEN=\"new token\"\n")
	if code, body := fetch(t, hs.URL); code != 200 || body != "hello new token prod" {
		t.Fatalf("after .dev.vars edit: %d %q", code, body)
	}
	// A declared secret without a value is a build error naming it; the
	// last good version keeps serving.
	writeFile(t, filepath.Join(dir, ".dev.vars"), "# emptied\n")
	if code, body := fetch(t, hs.URL); code != 200 || body != "hello new token prod" {
		t.Fatalf("after losing the secret: %d %q", code, body)
	}
	srv.mu.Lock()
	buildErr := srv.buildErr
	srv.mu.Unlock()
	if buildErr == nil || !strings.Contains(buildErr.Error(), "secret API_TOKEN is declared in the manifest but .dev.vars has no value for it") {
		t.Fatalf("build error: %v", buildErr)
	}
	// A manifest error names its line.
	writeFile(t, filepath.Join(dir, "kumo.yaml"), "name: greeter\nmain: src/main.ts\nvar: {}\n")
	fetch(t, hs.URL)
	srv.mu.Lock()
	buildErr = srv.buildErr
	srv.mu.Unlock()
	if buildErr == nil || !strings.Contains(buildErr.Error(), `kumo.yaml:3: unknown key "var" in the top level (did you mean "vars"?)`) {
		t.Fatalf("build error: %v", buildErr)
	}
	// Code that imports .dev.vars is refused.
	writeFile(t, filepath.Join(dir, "kumo.yaml"), "main: src/leak.ts\n")
	writeFile(t, filepath.Join(dir, "src", "leak.ts"), `import v from "../.dev.vars"; export default { fetch: () => new Response(v) }`)
	fetch(t, hs.URL)
	srv.mu.Lock()
	buildErr = srv.buildErr
	srv.mu.Unlock()
	if buildErr == nil || !strings.Contains(buildErr.Error(), ".dev.vars") {
		t.Fatalf("importing .dev.vars: %v", buildErr)
	}
}
