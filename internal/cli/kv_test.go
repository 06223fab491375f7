package cli_test

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/kumo-dev/kumo/internal/binding"
	"github.com/kumo-dev/kumo/internal/bindings"
)

// TestKVCommands puts, gets, lists and deletes keys of a deployed app's KV
// namespaces by binding name, and checks that they are the namespaces the
// app's functions use.
func TestKVCommands(t *testing.T) {
	url, admin, st := controlServer(t)
	auth := []string{"--server", url, "--token", admin}
	run := func(stdin string, args ...string) (string, string, int) {
		return kumoIn(t, stdin, append(args, auth...)...)
	}
	ok := func(stdin string, args ...string) (string, string) {
		t.Helper()
		out, errOut, code := run(stdin, args...)
		if code != 0 {
			t.Fatalf("kumo %v: exit %d: %s", args, code, errOut)
		}
		return out, errOut
	}
	fails := func(want string, args ...string) {
		t.Helper()
		out, errOut, code := run("", args...)
		if code != 1 || !strings.Contains(errOut, want) {
			t.Fatalf("kumo %v: exit %d, stdout %q, stderr %q, want %q", args, code, out, errOut, want)
		}
	}

	fails(`app "shop" not found`, "kv", "get", "shop", "USERS", "alice")
	dir := filepath.Join(t.TempDir(), "shop")
	writeApp(t, dir, "shop")
	if err := os.WriteFile(filepath.Join(dir, "kumo.yaml"), []byte("kv: [ { binding: USERS }, { binding: CACHE, namespace: shared } ]\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	ok("", "deploy", dir)

	out, _ := ok("", "kv", "put", "shop", "USERS", "alice", `{"plan":"pro"}`, "--metadata", `{"v": 1}`, "--ttl", "1h")
	if out != "put alice (14 bytes) in KV namespace users of app shop\n" {
		t.Fatalf("put: %q", out)
	}
	out, errOut := ok("", "kv", "get", "shop", "USERS", "alice")
	if out != `{"plan":"pro"}` || !strings.Contains(errOut, `metadata: {"v":1}`) || !strings.Contains(errOut, "expires: ") {
		t.Fatalf("get: %q %q", out, errOut)
	}
	// A value from standard input, bytes as they are, and keys with
	// spaces, slashes and non-ASCII characters.
	bin := "\x00\x01binary\xff\n"
	ok(bin, "kv", "put", "shop", "USERS", "avatars/ünï code", "-")
	if out, _ := ok("", "kv", "get", "shop", "USERS", "avatars/ünï code"); out != bin {
		t.Fatalf("stdin value: %q", out)
	}
	ok("", "kv", "put", "shop", "USERS", "avatars/b", "x")
	ok("", "kv", "put", "shop", "CACHE", "c", "cached")

	// The namespaces are the ones the app's bindings use.
	users, err := bindings.OpenKV(st, "shop", "users")
	if err != nil {
		t.Fatal(err)
	}
	if v, err := users.Get(t.Context(), "alice"); err != nil || v == nil || string(v.Value) != `{"plan":"pro"}` || v.Expiration < time.Now().Unix()+3500 {
		t.Fatalf("namespace users: %+v %v", v, err)
	}
	shared, _ := bindings.OpenKV(st, "shop", "shared")
	if err := shared.Put(t.Context(), "from-app", []byte("hi"), binding.KVPutOptions{}); err != nil {
		t.Fatal(err)
	}
	if out, _ := ok("", "kv", "get", "shop", "CACHE", "from-app"); out != "hi" {
		t.Fatalf("CACHE: %q", out)
	}

	out, _ = ok("", "kv", "list", "shop", "USERS")
	rows := strings.Split(strings.TrimSpace(out), "\n")
	if len(rows) != 4 || !strings.HasPrefix(rows[0], "KEY") || !strings.HasPrefix(rows[1], `"alice"`) || !strings.Contains(rows[1], `{"v":1}`) ||
		!strings.HasPrefix(rows[2], `"avatars/b"`) || !strings.HasPrefix(rows[3], `"avatars/ünï code"`) {
		t.Fatalf("list:\n%s", out)
	}
	out, _ = ok("", "kv", "list", "shop", "USERS", "avatars/")
	if strings.Count(out, "\n") != 3 || strings.Contains(out, "alice") {
		t.Fatalf("list prefix:\n%s", out)
	}
	out, errOut = ok("", "kv", "list", "shop", "USERS", "--limit", "1")
	m := regexp.MustCompile(`--cursor (\S+)`).FindStringSubmatch(errOut)
	if strings.Count(out, "\n") != 2 || m == nil {
		t.Fatalf("list --limit 1: %q %q", out, errOut)
	}
	out, _ = ok("", "kv", "list", "shop", "USERS", "--cursor", m[1])
	if strings.Contains(out, "alice") || !strings.Contains(out, "avatars/b") {
		t.Fatalf("list --cursor:\n%s", out)
	}

	if out, _ := ok("", "kv", "delete", "shop", "USERS", "alice"); out != "deleted alice from KV namespace users of app shop\n" {
		t.Fatalf("delete: %q", out)
	}
	ok("", "kv", "delete", "shop", "USERS", "alice")
	fails(`key "alice" not found in KV namespace users of app shop`, "kv", "get", "shop", "USERS", "alice")

	// Refusals name the problem.
	fails(`app "shop" has no KV binding "NOPE" in its active version; it has USERS, CACHE`, "kv", "get", "shop", "NOPE", "k")
	fails("key of 513 bytes is over the 512-byte limit", "kv", "put", "shop", "USERS", strings.Repeat("k", 513), "v")
	fails("metadata is not valid JSON", "kv", "put", "shop", "USERS", "k", "v", "--metadata", "{")
	fails("--ttl 1.5s: use whole seconds", "kv", "put", "shop", "USERS", "k", "v", "--ttl", "1500ms")
	if _, errOut, code := run(strings.Repeat("x", binding.KVMaxValueBytes+1), "kv", "put", "shop", "USERS", "big", "-"); code != 1 || !strings.Contains(errOut, "over the 25 MiB limit") {
		t.Fatalf("big stdin: %d %q", code, errOut)
	}
	other, _ := ok("", "token", "create", "--app", "other")
	scoped := []string{"--server", url, "--token", strings.TrimSpace(other)}
	if _, errOut, code := kumoIn(t, "", append([]string{"kv", "get", "shop", "USERS", "k"}, scoped...)...); code != 1 || !strings.Contains(errOut, `cannot act on app "shop"`) {
		t.Fatalf("out of scope: %d %q", code, errOut)
	}
	if _, _, code := kumoIn(t, "", "kv", "list", "shop", "USERS", "--server", url, "--token", "kumo_bad"); code != 1 {
		t.Fatal("bad token accepted")
	}
}
