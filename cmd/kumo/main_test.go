package main

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"
)

// buildKumo builds the binary under test once per test.
func buildKumo(t *testing.T) string {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and runs the kumo binary")
	}
	bin := filepath.Join(t.TempDir(), "kumo")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kumo: %v\n%s", err, out)
	}
	return bin
}

// startDev runs `kumo dev DIR` and returns its address and a channel of its
// output lines.
func startDev(t *testing.T, bin, dir string) (string, <-chan string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := exec.CommandContext(ctx, bin, "dev", dir, "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	lines := make(chan string, 1024)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			select {
			case lines <- sc.Text():
			default: // nobody reads: drop
			}
		}
		close(lines)
	}()
	re := regexp.MustCompile(`serving .* on (http://\S+)`)
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("kumo dev exited before printing its address")
			}
			if m := re.FindStringSubmatch(l); m != nil {
				return m[1], lines
			}
		case <-timeout:
			t.Fatal("kumo dev did not print its address")
		}
	}
}

// TestDevRunsQueueConsumers: kumo dev consumes the queues the app's
// kumo.yaml declares, like a node does.
func TestDevRunsQueueConsumers(t *testing.T) {
	bin := buildKumo(t)
	app := t.TempDir()
	os.WriteFile(filepath.Join(app, "kumo.yaml"), []byte("queues:\n  producers: [ { binding: TASKS, queue: tasks } ]\n  consumers: [ { queue: tasks } ]\n"), 0o644)
	os.WriteFile(filepath.Join(app, "index.js"), []byte(`export default {
		async fetch(req, env) { await env.TASKS.send({ n: 42 }); return new Response("sent") },
		async queue(batch) { for (const m of batch.messages) console.log("consumed " + m.body.n) },
	}`), 0o644)
	addr, lines := startDev(t, bin, app)
	resp, err := http.Get(addr + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case l := <-lines:
			if strings.Contains(l, "consumed 42") {
				return
			}
		case <-deadline:
			t.Fatal("the queue handler did not run under kumo dev")
		}
	}
}

// TestDevServesExampleAndReloads runs the README's first command as a real
// process: `kumo dev` on a copy of examples/hello, then edits the copy.
func TestDevServesExampleAndReloads(t *testing.T) {
	bin := buildKumo(t)
	app := t.TempDir()
	src, err := os.ReadFile("../../examples/hello/index.ts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "index.ts"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	addr, _ := startDev(t, bin, app)

	get := func(path string) string {
		t.Helper()
		resp, err := http.Get(addr + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return string(b)
	}
	if got := get("/?name=kumo"); got != `{"hello":"kumo"}` {
		t.Fatalf("got %q", got)
	}
	edited := strings.Replace(string(src), `hello:`, `bonjour:`, 1)
	later := time.Now().Add(time.Second)
	if err := os.WriteFile(filepath.Join(app, "index.ts"), []byte(edited), 0o644); err != nil {
		t.Fatal(err)
	}
	os.Chtimes(filepath.Join(app, "index.ts"), later, later)
	if got := get("/?name=kumo"); got != `{"bonjour":"kumo"}` {
		t.Fatalf("after edit: %q", got)
	}
}
