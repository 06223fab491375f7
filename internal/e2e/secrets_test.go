package e2e

import (
	"bytes"
	"context"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/testutil"
)

// kumoStdin runs a client command of the binary with stdin.
func kumoStdin(t *testing.T, env []string, stdin string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kumoBin, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("kumo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// TestSecretsEndToEnd: a secret put with the CLI reaches the app's env on
// two nodes sharing a key, and its value appears in no command output, no
// log line and nowhere in the store's files.
func TestSecretsEndToEnd(t *testing.T) {
	needBinary(t)
	natsURL, stopNATS := testutil.NATSServer(t)
	a := startServer(t, "", "--nats", natsURL)
	// The second node gets the first one's key, as an operator copies it.
	bData := t.TempDir()
	key, err := os.ReadFile(filepath.Join(a.data, "secrets.key"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bData, "secrets.key"), key, 0o600); err != nil {
		t.Fatal(err)
	}
	b := startServer(t, bData, "--nats", natsURL)
	if !strings.Contains(a.out.String(), "secrets key written to") || strings.Contains(b.out.String(), "secrets key written to") {
		t.Fatalf("key creation:\nA: %s\nB: %s", a.out.String(), b.out.String())
	}
	env := []string{"KUMO_SERVER=" + a.controlURL(), "KUMO_TOKEN=" + a.token()}
	const value = "sk_e2e_v4lue_never_printed"
	var outputs strings.Builder

	outputs.WriteString(kumoStdin(t, env, value+"\n", "secret", "put", "vault", "API_TOKEN"))
	// The app folder (with a .dev.vars that must not travel) lives outside
	// the test's temporary root, which is searched for values below.
	appRoot, err := os.MkdirTemp("", "kumo-e2e-app-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(appRoot) })
	dir := filepath.Join(appRoot, "vault")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	files := map[string]string{
		"kumo.yaml": "name: vault\nvars: { GREETING: hi }\nsecrets: [ API_TOKEN ]\n",
		"index.ts":  `export default { fetch: (r: Request, env: any) => new Response(env.GREETING + " " + env.API_TOKEN.slice(0, 7) + " " + env.API_TOKEN.length) };`,
		".dev.vars": "API_TOKEN=local-only\n",
	}
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	outputs.WriteString(kumo(t, env, "deploy", dir))
	want := "hi " + value[:7] + " " + strconv.Itoa(len(value))
	waitBody(t, a.url("/vault/"), want)
	waitBody(t, b.url("/vault/"), want)
	outputs.WriteString(kumo(t, env, "secret", "list", "vault"))
	outputs.WriteString(kumo(t, env, "versions", "vault"))
	outputs.WriteString(kumo(t, env, "logs", "vault"))
	if !strings.Contains(outputs.String(), "API_TOKEN") {
		t.Fatalf("the listing lacks the name:\n%s", outputs.String())
	}

	// A new value reaches both nodes without a deploy.
	outputs.WriteString(kumoStdin(t, env, "rotated", "secret", "put", "vault", "API_TOKEN"))
	waitBody(t, a.url("/vault/"), "hi rotated 7")
	waitBody(t, b.url("/vault/"), "hi rotated 7")

	a.stop()
	b.stop()
	stopNATS()
	for name, text := range map[string]string{"command output": outputs.String(), "node A's log": a.out.String(), "node B's log": b.out.String()} {
		if strings.Contains(text, value) || strings.Contains(text, "local-only") {
			t.Errorf("%s holds a secret value:\n%s", name, text)
		}
	}
	// Neither the store's files (NATS data: meta, bundles, logs) nor the
	// nodes' data directories hold the value.
	sawRecord := false
	for _, root := range []string{filepath.Dir(a.data)} { // every t.TempDir of this test
		_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			data, err := os.ReadFile(path)
			if err == nil && (bytes.Contains(data, []byte(value)) || bytes.Contains(data, []byte("local-only"))) {
				t.Errorf("%s holds a secret value", path)
			}
			if bytes.Contains(data, []byte("secrets.vault.API_TOKEN")) {
				sawRecord = true
			}
			return nil
		})
	}
	if !sawRecord {
		t.Error("the secret's record was not found in the files searched: the search proves nothing")
	}
}
