package cli_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/cli"
	"github.com/kumo-dev/kumo/internal/control"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/secrets"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
)

// controlServer runs a control plane over HTTP on 127.0.0.1 and returns
// its URL, the admin token and the store.
func controlServer(t *testing.T) (url, admin string, st *store.Store) {
	t.Helper()
	st = testutil.Store(t)
	rt, err := runtime.New(runtime.Config{Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rt.Close)
	key, _, err := secrets.EnsureKey(t.Context(), st, filepath.Join(t.TempDir(), secrets.KeyFile))
	if err != nil {
		t.Fatal(err)
	}
	svc, err := control.New(control.Config{Store: st, Runtime: rt, Logger: testutil.Logger(t), Secrets: secrets.NewStore(st, key)})
	if err != nil {
		t.Fatal(err)
	}
	mux := http.NewServeMux()
	control.Mount(mux, svc)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	admin, _, err = control.EnsureAdminToken(t.Context(), st, filepath.Join(t.TempDir(), "admin.token"))
	if err != nil {
		t.Fatal(err)
	}
	return srv.URL, admin, st
}

// kumo runs the command line in process.
func kumo(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(args, &out, &errb)
	return out.String(), errb.String(), code
}

// ok runs kumo and fails the test unless it succeeds.
func ok(t *testing.T, args ...string) string {
	t.Helper()
	out, errOut, code := kumo(t, args...)
	if code != 0 {
		t.Fatalf("kumo %s: exit %d\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, out, errOut)
	}
	return out
}

// fails runs kumo and fails the test unless it exits 1 with want in stderr.
func fails(t *testing.T, want string, args ...string) {
	t.Helper()
	out, errOut, code := kumo(t, args...)
	if code != 1 || !strings.Contains(errOut, want) {
		t.Fatalf("kumo %s: exit %d, want 1 with %q\nstdout: %s\nstderr: %s", strings.Join(args, " "), code, want, out, errOut)
	}
}

func writeApp(t *testing.T, dir, body string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	src := `export default { fetch() { return new Response(` + jsonString(body) + `); } };`
	if err := os.WriteFile(filepath.Join(dir, "index.ts"), []byte(src), 0o644); err != nil {
		t.Fatal(err)
	}
}

func jsonString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

var versionLine = regexp.MustCompile(`id:\s+([0-9a-f]{64})`)

func TestDeployAndManageThroughCLI(t *testing.T) {
	url, admin, st := controlServer(t)
	ctx := t.Context()
	auth := []string{"--server", url, "--token", admin}
	run := func(args ...string) string { return ok(t, append(args, auth...)...) }

	// A folder is bundled locally; the app is named after it.
	dir := filepath.Join(t.TempDir(), "hello")
	writeApp(t, dir, "v1")
	out := run("deploy", dir, "-m", "first", "--host", "hello.example.com")
	m := versionLine.FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, "hello: deployed version") || !strings.Contains(out, "hello.example.com") {
		t.Fatalf("deploy output:\n%s", out)
	}
	v1 := m[1]
	if out := run("deploy", dir); !strings.Contains(out, "unchanged") {
		t.Fatalf("redeploy output:\n%s", out)
	}

	// An archive is bundled by the server; --app names it.
	writeApp(t, dir, "v2")
	tgz := filepath.Join(t.TempDir(), "release.tgz")
	writeTarGz(t, tgz, dir)
	out = run("deploy", tgz, "--app", "hello", "--percent", "10")
	v2 := versionLine.FindStringSubmatch(out)[1]
	if !strings.Contains(out, "bundled by the server") || !strings.Contains(out, v2[:12]+" 10%") || !strings.Contains(out, v1[:12]+" 90%") {
		t.Fatalf("split deploy output:\n%s", out)
	}
	out = run("apps")
	if !strings.Contains(out, "APP") || !regexp.MustCompile(`hello\s+`+v1[:12]+` 90%, `+v2[:12]+` 10%\s+/hello/ hello.example.com`).MatchString(out) {
		t.Fatalf("apps output:\n%s", out)
	}
	out = run("versions", "hello")
	if !regexp.MustCompile(v2[:12]+`.*10%`).MatchString(out) || !regexp.MustCompile(v1[:12]+`.*90%.*first`).MatchString(out) {
		t.Fatalf("versions output:\n%s", out)
	}
	if out := run("deploy", "--promote", "--app", "hello"); !strings.Contains(out, v2[:12]+" 100%") {
		t.Fatalf("promote output:\n%s", out)
	}
	if out := run("rollback", "hello", v1[:8]); !strings.Contains(out, v1[:12]+" 100%") {
		t.Fatalf("rollback output:\n%s", out)
	}

	// Usage and logs as nodes would write them.
	u, _ := json.Marshal(app.UsageTotals{Requests: 42, Errors: 2, CPUUs: 1500, WallUs: 2_000_000})
	if _, err := st.Put(ctx, app.UsageKey("hello", v1), u); err != nil {
		t.Fatal(err)
	}
	out = run("usage", "hello")
	if !regexp.MustCompile(`total\s+42\s+2\s+1\.5ms\s+2s`).MatchString(out) {
		t.Fatalf("usage output:\n%s", out)
	}
	for _, l := range []string{"one", "two", "three"} {
		if err := st.AppendLog(ctx, "hello", []byte(l)); err != nil {
			t.Fatal(err)
		}
	}
	if out := run("logs", "hello", "-n", "2"); out != "two\nthree\n" {
		t.Fatalf("logs output: %q", out)
	}

	// Tokens.
	tok := strings.TrimSpace(run("token", "create", "--app", "hello", "--name", "ci"))
	if !strings.HasPrefix(tok, "kumo_") || strings.Contains(tok, "\n") {
		t.Fatalf("token create output: %q", tok)
	}
	if out := run("token", "list"); !regexp.MustCompile(`ci\s+hello`).MatchString(out) || strings.Contains(out, tok) {
		t.Fatalf("token list output:\n%s", out)
	}
	ok(t, "versions", "hello", "--server", url, "--token", tok)
	fails(t, "scoped to app", "rm", "hello", "--server", url, "--token", tok)
	run("token", "revoke", "ci")
	fails(t, "invalid or revoked token", "versions", "hello", "--server", url, "--token", tok)

	if out := run("rm", "hello"); !strings.Contains(out, "removed (2 versions; released hello.example.com)") {
		t.Fatalf("rm output:\n%s", out)
	}
	if out := run("apps"); !strings.Contains(out, "no apps yet") {
		t.Fatalf("apps after rm:\n%s", out)
	}
}

func TestCLIErrors(t *testing.T) {
	url, admin, _ := controlServer(t)
	dir := filepath.Join(t.TempDir(), "broken")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.js"), []byte("export default {\n  fetch() {\n    return (;\n  }\n};\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fails(t, "index.js:3:", "deploy", dir, "--server", url, "--token", admin)
	fails(t, "no token", "apps", "--server", url, "--token", "")
	fails(t, "choose a name with --app", "deploy", dir, "--app", "Not_Valid", "--server", url, "--token", admin)
	fails(t, "not supported yet", "deploy", "https://github.com/x/y.git", "--server", url, "--token", admin)
	fails(t, "app \"nosuch\" not found", "versions", "nosuch", "--server", url, "--token", admin)
	fails(t, "cannot reach the control plane", "apps", "--server", "http://127.0.0.1:1", "--token", admin)

	// The environment supplies server and token.
	t.Setenv("KUMO_SERVER", url)
	t.Setenv("KUMO_TOKEN", admin)
	ok(t, "apps")
	ok(t, "token", "list")
}

// writeTarGz packs dir's files into a .tar.gz at path.
func writeTarGz(t *testing.T, path, dir string) {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		data, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := tw.WriteHeader(&tar.Header{Name: e.Name(), Mode: 0o644, Size: int64(len(data)), Typeflag: tar.TypeReg}); err != nil {
			t.Fatal(err)
		}
		if _, err := tw.Write(data); err != nil {
			t.Fatal(err)
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}
