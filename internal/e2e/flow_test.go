package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/testutil"
)

// flowApp is the app of the user flow: TypeScript, bundled by the CLI.
const flowApp = `export default {
  async fetch(request: Request, env: { V: string }): Promise<Response> {
    console.log("serving " + new URL(request.url).pathname);
    return new Response(env.V + " " + request.url);
  },
};
`

var versionIDRe = regexp.MustCompile(`(?m)^\s*id:\s+([0-9a-f]{64})$`)

// deployCLI runs `kumo deploy DIR --app NAME` with extra flags and returns
// the new version id.
func deployCLI(t *testing.T, env []string, dir, appName string, extra ...string) string {
	t.Helper()
	out := kumo(t, env, append([]string{"deploy", dir, "--app", appName}, extra...)...)
	m := versionIDRe.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("kumo deploy printed no version id:\n%s", out)
	}
	return m[1]
}

// TestUserFlow is the flow of issue 3 as a user types it: serve, deploy,
// curl, apps, versions, rollback, a split rolled out and promoted, usage,
// logs, restart and serve again, rm.
func TestUserFlow(t *testing.T) {
	needBinary(t)
	s := startServer(t, "")
	if !strings.Contains(s.out.String(), "admin token written to ") {
		t.Fatalf("kumo serve did not say where the admin token is:\n%s", s.out.String())
	}
	env := []string{"KUMO_SERVER=" + s.controlURL(), "KUMO_TOKEN=" + s.token()}
	dir := filepath.Join(t.TempDir(), "hello")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "index.ts"), []byte(flowApp), 0o644); err != nil {
		t.Fatal(err)
	}

	// kumo deploy ./hello --app hello; curl 127.0.0.1:8787/hello/anything
	one := deployCLI(t, env, dir, "hello", "--var", "V=one", "-m", "first")
	// The app sees the URL the client used, prefix and query included.
	waitBody(t, s.url("/hello/anything?q=1"), "one http://"+s.addr+"/hello/anything?q=1")

	// Identical content again: "unchanged", nothing created.
	if out := kumo(t, env, "deploy", dir, "--app", "hello", "--var", "V=one"); !strings.Contains(out, "unchanged") {
		t.Errorf("redeploying the same content:\n%s", out)
	}

	two := deployCLI(t, env, dir, "hello", "--var", "V=two", "-m", "second")
	if code, body := get(t, s.url("/hello/")); code != 200 || !strings.HasPrefix(body, "two ") {
		t.Errorf("after the second deploy, the next request got %d %q", code, body)
	}

	if out := kumo(t, env, "apps"); !strings.Contains(out, "hello") {
		t.Errorf("kumo apps:\n%s", out)
	}
	out := kumo(t, env, "versions", "hello")
	if !strings.Contains(out, one[:12]) || !strings.Contains(out, two[:12]) || !strings.Contains(out, "second") {
		t.Errorf("kumo versions hello:\n%s", out)
	}

	// kumo rollback hello <version>: the next request is served by it.
	kumo(t, env, "rollback", "hello", one[:12])
	if code, body := get(t, s.url("/hello/")); code != 200 || !strings.HasPrefix(body, "one ") {
		t.Errorf("after rollback, the next request got %d %q", code, body)
	}

	// A gradual rollout: 30% to a new version, then promoted.
	three := deployCLI(t, env, dir, "hello", "--var", "V=three", "--percent", "30")
	seen := map[string]int{}
	for range 60 {
		_, body := get(t, s.url("/hello/"))
		v, _, _ := strings.Cut(body, " ")
		seen[v]++
	}
	if seen["three"] == 0 || seen["one"] == 0 || seen["three"]+seen["one"] != 60 {
		t.Errorf("a 30%% split served %v", seen)
	}
	kumo(t, env, "deploy", "--promote", "--app", "hello")
	for range 10 {
		if _, body := get(t, s.url("/hello/")); !strings.HasPrefix(body, "three ") {
			t.Fatalf("after promote, got %q", body)
		}
	}
	_ = three

	// kumo usage hello: flushed by the node every few seconds.
	var usage string
	testutil.Eventually(t, 15*time.Second, func() bool {
		usage = kumo(t, env, "usage", "hello")
		return totalRequests(usage) >= 73
	}, "kumo usage never counted the requests")

	if out := kumo(t, env, "logs", "hello", "-n", "5"); !strings.Contains(out, "serving /hello/") {
		t.Errorf("kumo logs hello:\n%s", out)
	}

	// Restart with the same data directory: everything is still there and
	// serves without a redeploy.
	s.restart()
	if code, body := get(t, s.url("/hello/again")); code != 200 || !strings.HasPrefix(body, "three ") {
		t.Errorf("after restart: %d %q", code, body)
	}
	if out := kumo(t, env, "versions", "hello"); strings.Count(out, "\n") < 4 {
		t.Errorf("after restart, kumo versions hello:\n%s", out)
	}
	if got := totalRequests(kumo(t, env, "usage", "hello")); got < 73 {
		t.Errorf("after restart, usage counts %d requests, want at least 73:\n%s", got, usage)
	}

	// kumo rm hello
	kumo(t, env, "rm", "hello")
	testutil.Eventually(t, 10*time.Second, func() bool {
		code, _ := get(t, s.url("/hello/"))
		return code == 404
	}, "removed app still served")
	if out := kumo(t, env, "apps"); strings.Contains(out, "hello") {
		t.Errorf("kumo apps after rm:\n%s", out)
	}
}

// totalRequests reads the REQUESTS column of the total row (or the sum
// of the version rows) of `kumo usage` output.
func totalRequests(out string) int {
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) < 2 {
		return 0
	}
	sum, total := 0, -1
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) < 2 {
			continue
		}
		n, err := strconv.Atoi(f[1])
		if err != nil {
			continue
		}
		if strings.EqualFold(f[0], "total") {
			total = n
		} else {
			sum += n
		}
	}
	if total >= 0 {
		return total
	}
	return sum
}
