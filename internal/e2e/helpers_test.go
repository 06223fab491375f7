package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// The binary is built once, by the first test that needs it, into a
// directory TestMain removes at the end.
var (
	binDir    string
	kumoBin   string
	buildOnce sync.Once
	buildErr  error
)

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "kumo-e2e-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	binDir = dir
	return m.Run()
}

// needBinary skips t under -short and otherwise makes sure the kumo binary
// is built.
func needBinary(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("builds and starts kumo processes; skipped with -short")
	}
	buildOnce.Do(func() {
		kumoBin = filepath.Join(binDir, "kumo")
		out, err := exec.Command("go", "build", "-o", kumoBin, "github.com/kumo-dev/kumo/cmd/kumo").CombinedOutput()
		if err != nil {
			buildErr = fmt.Errorf("building kumo: %v\n%s", err, out)
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
}

// freeAddr returns a 127.0.0.1 address with a port that was free a moment
// ago.
func freeAddr(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// server is one `kumo serve` process.
type server struct {
	t            *testing.T
	cmd          *exec.Cmd
	data         string
	addr, ctlAdr string
	args         []string
	out          *syncBuffer
	exited       chan struct{}
	exitErr      error
}

// syncBuffer collects a process's output for the test log.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startServer runs `kumo serve` with a data directory (made if "") on
// fresh ports, plus extra args, and waits until both planes answer. The
// process is stopped when t ends.
func startServer(t *testing.T, data string, extra ...string) *server {
	t.Helper()
	if data == "" {
		data = t.TempDir()
	}
	s := &server{t: t, data: data, addr: freeAddr(t), ctlAdr: freeAddr(t), out: &syncBuffer{}}
	s.args = append([]string{"serve", "--data", data, "--addr", s.addr, "--control-addr", s.ctlAdr}, extra...)
	s.start()
	t.Cleanup(func() {
		s.stop()
		if t.Failed() || testing.Verbose() {
			t.Logf("kumo %s output:\n%s", strings.Join(s.args, " "), s.out.String())
		}
	})
	return s
}

func (s *server) start() {
	t := s.t
	t.Helper()
	s.cmd = exec.Command(kumoBin, s.args...)
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	s.cmd.Stderr = s.out
	if err := s.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	s.exited = make(chan struct{})
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		once := sync.Once{}
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(s.out, line)
			if strings.HasPrefix(line, "control plane on ") {
				once.Do(func() { close(ready) })
			}
		}
		_, _ = io.Copy(s.out, stdout)
		s.exitErr = s.cmd.Wait()
		close(s.exited)
	}()
	select {
	case <-ready:
	case <-s.exited:
		t.Fatalf("kumo serve exited at start (%v):\n%s", s.exitErr, s.out.String())
	case <-time.After(30 * time.Second):
		t.Fatalf("kumo serve not ready within 30s:\n%s", s.out.String())
	}
}

// stop sends SIGTERM and waits for a clean exit.
func (s *server) stop() {
	t := s.t
	if s.cmd == nil || s.cmd.Process == nil {
		return
	}
	select {
	case <-s.exited:
		return
	default:
	}
	stopStart := time.Now()
	defer func() { t.Logf("kumo serve stopped in %v", time.Since(stopStart)) }()
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.exited:
	case <-time.After(20 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.exited
		t.Errorf("kumo serve did not stop within 20s of SIGTERM")
	}
	if s.exitErr != nil {
		t.Errorf("kumo serve exited with %v", s.exitErr)
	}
}

// restart stops the process and starts it again with the same arguments
// (ports included, which the test owned a moment ago).
func (s *server) restart() {
	s.t.Helper()
	s.stop()
	s.start()
}

func (s *server) url(path string) string { return "http://" + s.addr + path }

func (s *server) controlURL() string { return "http://" + s.ctlAdr }

// token reads the admin token the server wrote.
func (s *server) token() string {
	s.t.Helper()
	data, err := os.ReadFile(filepath.Join(s.data, "admin.token"))
	if err != nil {
		s.t.Fatal(err)
	}
	return strings.TrimSpace(string(data))
}

// client is a control-plane client authenticated with the admin token.
func (s *server) client() kumov1connect.ControlClient {
	return kumov1connect.NewControlClient(http.DefaultClient, s.controlURL(),
		connect.WithInterceptors(bearer(s.token())))
}

// bearer adds a token to every call of a client.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		req.Header().Set("Authorization", "Bearer "+string(b))
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// get fetches url and returns the status and body.
func get(t *testing.T, url string) (int, string) {
	t.Helper()
	res, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	body, err := io.ReadAll(res.Body)
	if err != nil {
		t.Fatal(err)
	}
	return res.StatusCode, string(body)
}

// kumo runs a client command of the binary with env and returns its
// output; it fails t when the command fails.
func kumo(t *testing.T, env []string, args ...string) string {
	t.Helper()
	out, err := kumoErr(env, args...)
	if err != nil {
		t.Fatalf("kumo %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// kumoErr runs a client command and returns its output and error.
func kumoErr(env []string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, kumoBin, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		err = fmt.Errorf("exit code %d", ee.ExitCode())
	}
	return string(out), err
}
