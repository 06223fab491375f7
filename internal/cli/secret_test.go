package cli_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/cli"
)

// kumoIn runs the command line in process with stdin.
func kumoIn(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.MainIO(args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

// TestSecretCommands puts, lists and removes secrets, and checks that no
// output, and no stored bundle, ever holds a value.
func TestSecretCommands(t *testing.T) {
	url, admin, st := controlServer(t)
	auth := []string{"--server", url, "--token", admin}
	const value = "sk_live_do-not-print-42"
	var outputs strings.Builder
	run := func(stdin string, args ...string) (string, string, int) {
		out, errOut, code := kumoIn(t, stdin, append(args, auth...)...)
		outputs.WriteString(out + errOut)
		return out, errOut, code
	}

	// One trailing newline is stripped; the app need not exist yet.
	if out, errOut, code := run(value+"\n", "secret", "put", "shop", "STRIPE_KEY"); code != 0 || out != "shop: secret STRIPE_KEY created\n" {
		t.Fatalf("put: %d %q %q", code, out, errOut)
	}
	if out, _, code := run("second\r\n", "secret", "put", "shop", "STRIPE_KEY"); code != 0 || out != "shop: secret STRIPE_KEY updated\n" {
		t.Fatalf("update: %d %q", code, out)
	}
	if _, _, code := run(value, "secret", "put", "shop", "OTHER"); code != 0 {
		t.Fatal("put OTHER")
	}
	out, _, code := run("", "secret", "list", "shop")
	if code != 0 || !strings.Contains(out, "NAME") || !strings.Contains(out, "STRIPE_KEY") || !strings.Contains(out, "OTHER") {
		t.Fatalf("list: %d %q", code, out)
	}
	// Refusals, each naming the problem.
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{"\n", []string{"secret", "put", "shop", "EMPTY"}, "the secret's value is empty"},
		{value, []string{"secret", "put", "shop", "BAD-NAME"}, `secret name "BAD-NAME" must match`},
		{value, []string{"secret", "put", "Shop", "A"}, `app name "Shop"`},
		{"", []string{"secret", "rm", "shop", "NOPE"}, `app "shop" has no secret "NOPE"`},
	} {
		_, errOut, code := run(tc.stdin, tc.args...)
		if code != 1 || !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, code, errOut, tc.want)
		}
	}

	// A deploy of a manifest that declares a secret not set is refused
	// with the command to run; once set, it deploys.
	dir := filepath.Join(t.TempDir(), "shop")
	writeApp(t, dir, "shop")
	if err := os.WriteFile(filepath.Join(dir, "kumo.yaml"), []byte("secrets: [ STRIPE_KEY, WEBHOOK_KEY ]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, errOut, code := run("", "deploy", dir)
	if code != 1 || !strings.Contains(errOut, `kumo.yaml:1: secrets[1]: secret "WEBHOOK_KEY" of app "shop" is not set: run kumo secret put shop WEBHOOK_KEY`) {
		t.Fatalf("deploy without the secret: %d %q", code, errOut)
	}
	if _, _, code := run(value, "secret", "put", "shop", "WEBHOOK_KEY"); code != 0 {
		t.Fatal("put WEBHOOK_KEY")
	}
	out, errOut, code = run("", "deploy", dir)
	if code != 0 {
		t.Fatalf("deploy: %q", errOut)
	}
	id := versionLine.FindStringSubmatch(out)[1]
	blob, err := st.GetBlob(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Contains(blob, []byte(value)) {
		t.Fatal("the stored bundle holds a secret value")
	}
	if c, err := app.DecodeContent(blob); err != nil || len(c.Manifest.Secrets) != 2 {
		t.Fatalf("stored manifest: %+v %v", c.Manifest, err)
	}

	if out, _, code := run("", "secret", "rm", "shop", "OTHER"); code != 0 || out != "shop: secret OTHER removed\n" {
		t.Fatalf("rm: %d %q", code, out)
	}
	if out, _, _ := run("", "secret", "list", "shop"); strings.Contains(out, "OTHER") {
		t.Fatalf("list after rm: %q", out)
	}
	if strings.Contains(outputs.String(), value) || strings.Contains(outputs.String(), "second") {
		t.Fatalf("a command printed a secret value:\n%s", outputs.String())
	}
}

// TestDeployReadsManifest deploys a folder and an archive whose kumo.yaml
// names the app, its entry, vars and hosts.
func TestDeployReadsManifest(t *testing.T) {
	url, admin, st := controlServer(t)
	auth := []string{"--server", url, "--token", admin}
	run := func(args ...string) string { return ok(t, append(args, auth...)...) }

	dir := filepath.Join(t.TempDir(), "folder-name")
	writeApp(t, dir, "not the entry")
	if err := os.MkdirAll(filepath.Join(dir, "src"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "src", "main.ts"), []byte(`export default { fetch: (r: Request, env: any) => new Response(env.WHO) };`), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kumo.yaml"), []byte("name: named\nmain: src/main.ts\nvars: { WHO: manifest }\nhosts: [ named.example.com ]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := run("deploy", dir, "--var", "EXTRA=1")
	if !strings.Contains(out, "named: deployed version") || !strings.Contains(out, "bundled from src/main.ts") || !strings.Contains(out, "named.example.com") {
		t.Fatalf("deploy output:\n%s", out)
	}
	id := versionLine.FindStringSubmatch(out)[1]
	blob, err := st.GetBlob(t.Context(), id)
	if err != nil {
		t.Fatal(err)
	}
	c, err := app.DecodeContent(blob)
	if err != nil || c.Manifest.Vars["WHO"] != "manifest" || c.Manifest.Vars["EXTRA"] != "1" || c.Manifest.Entry != "src/main.ts" {
		t.Fatalf("stored manifest: %+v %v", c.Manifest, err)
	}
	// --app beats the manifest's name.
	if out := run("deploy", dir, "--app", "other", "--host", "other.example.com"); !strings.Contains(out, "other: deployed version") {
		t.Fatalf("--app output:\n%s", out)
	}
	// An archive's manifest names the app too.
	tgz := filepath.Join(t.TempDir(), "release.tgz")
	flat := filepath.Join(t.TempDir(), "flat")
	writeApp(t, flat, "archived")
	if err := os.WriteFile(filepath.Join(flat, "kumo.yaml"), []byte("name: from-archive\nmain: index.ts\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	writeTarGz(t, tgz, flat)
	if out := run("deploy", tgz); !strings.Contains(out, "from-archive: deployed version") {
		t.Fatalf("archive output:\n%s", out)
	}
	// A manifest error is reported before anything is sent, with its line.
	if err := os.WriteFile(filepath.Join(dir, "kumo.yaml"), []byte("name: named\nkvs: []\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	fails(t, `kumo.yaml:2: unknown key "kvs" in the top level (did you mean "kv"?)`, append([]string{"deploy", dir}, auth...)...)
}
