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

// TestDevServesExampleAndReloads runs the README's first command as a real
// process: `kumo dev` on a copy of examples/hello, then edits the copy.
func TestDevServesExampleAndReloads(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the kumo binary")
	}
	bin := filepath.Join(t.TempDir(), "kumo")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("building kumo: %v\n%s", err, out)
	}
	app := t.TempDir()
	src, err := os.ReadFile("../../examples/hello/index.ts")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(app, "index.ts"), src, 0o644); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, "dev", app, "--addr", "127.0.0.1:0")
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cancel(); cmd.Wait() })
	lines := bufio.NewScanner(stdout)
	addr := ""
	re := regexp.MustCompile(`serving .* on (http://\S+)`)
	for lines.Scan() {
		if m := re.FindStringSubmatch(lines.Text()); m != nil {
			addr = m[1]
			break
		}
	}
	if addr == "" {
		t.Fatal("kumo dev did not print its address")
	}
	go io.Copy(io.Discard, stdout)

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
