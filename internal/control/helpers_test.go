package control_test

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"connectrpc.com/connect"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/control"
	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/secrets"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/testutil"
	kumov1 "github.com/kumo-dev/kumo/proto/kumo/v1"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// env is a control plane on a real store and runtime, served over real
// HTTP on 127.0.0.1 with HTTP/1.1 and unencrypted HTTP/2 (for gRPC).
type env struct {
	t     *testing.T
	st    *store.Store
	svc   *control.Service
	srv   *httptest.Server
	admin string
	sec   *secrets.Store
}

func newEnv(t *testing.T, cfg control.Config) *env {
	t.Helper()
	st := testutil.Store(t)
	rt, err := runtime.New(runtime.Config{Logger: testutil.Logger(t)})
	if err != nil {
		t.Fatalf("starting runtime: %v", err)
	}
	t.Cleanup(rt.Close)
	if cfg.Secrets == nil {
		key, _, err := secrets.EnsureKey(t.Context(), st, filepath.Join(t.TempDir(), secrets.KeyFile))
		if err != nil {
			t.Fatalf("creating secrets key: %v", err)
		}
		cfg.Secrets = secrets.NewStore(st, key)
	}
	if cfg.Logger == nil {
		cfg.Logger = testutil.Logger(t)
	}
	cfg.Store, cfg.Runtime = st, rt
	svc, err := control.New(cfg)
	if err != nil {
		t.Fatalf("creating service: %v", err)
	}
	mux := http.NewServeMux()
	control.Mount(mux, svc)
	srv := httptest.NewUnstartedServer(mux)
	srv.Config.Protocols = new(http.Protocols)
	srv.Config.Protocols.SetHTTP1(true)
	srv.Config.Protocols.SetUnencryptedHTTP2(true)
	srv.Start()
	t.Cleanup(srv.Close)
	admin, _, err := control.EnsureAdminToken(t.Context(), st, filepath.Join(t.TempDir(), "admin.token"))
	if err != nil {
		t.Fatalf("creating admin token: %v", err)
	}
	return &env{t: t, st: st, svc: svc, srv: srv, admin: admin, sec: cfg.Secrets}
}

// bearer adds a token to every call of a client.
type bearer string

func (b bearer) WrapUnary(next connect.UnaryFunc) connect.UnaryFunc {
	return func(ctx context.Context, req connect.AnyRequest) (connect.AnyResponse, error) {
		if b != "" {
			req.Header().Set("Authorization", "Bearer "+string(b))
		}
		return next(ctx, req)
	}
}

func (b bearer) WrapStreamingClient(next connect.StreamingClientFunc) connect.StreamingClientFunc {
	return func(ctx context.Context, spec connect.Spec) connect.StreamingClientConn {
		conn := next(ctx, spec)
		if b != "" {
			conn.RequestHeader().Set("Authorization", "Bearer "+string(b))
		}
		return conn
	}
}

func (b bearer) WrapStreamingHandler(next connect.StreamingHandlerFunc) connect.StreamingHandlerFunc {
	return next
}

// client returns a client using the given protocol: "grpc" (HTTP/2
// without TLS), "grpcweb", or "json" (the Connect protocol with JSON).
func (e *env) client(protocol, token string) kumov1connect.ControlClient {
	opts := []connect.ClientOption{connect.WithInterceptors(bearer(token))}
	hc := &http.Client{Transport: &http.Transport{}}
	switch protocol {
	case "grpc":
		p := new(http.Protocols)
		p.SetUnencryptedHTTP2(true)
		hc = &http.Client{Transport: &http.Transport{Protocols: p}}
		opts = append(opts, connect.WithGRPC())
	case "grpcweb":
		opts = append(opts, connect.WithGRPCWeb())
	case "json":
		opts = append(opts, connect.WithProtoJSON())
	default:
		e.t.Fatalf("unknown protocol %q", protocol)
	}
	e.t.Cleanup(hc.CloseIdleConnections)
	return kumov1connect.NewControlClient(hc, e.srv.URL, opts...)
}

// handler is the source of an app whose fetch handler answers body.
func handler(body string) string {
	return `export default { fetch(request, env) { return new Response(` + jsString(body) + `); } };`
}

func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

// appDir writes files (path -> content) into a new folder.
func appDir(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// bundleReq builds a deploy request with a prebuilt bundle of src, as
// `kumo deploy DIR` sends it.
func bundleReq(t *testing.T, name, src string) *kumov1.DeployRequest {
	t.Helper()
	res, err := bundle.Build(bundle.Options{Dir: appDir(t, map[string]string{"index.js": src})})
	if err != nil {
		t.Fatalf("bundling: %v", err)
	}
	return &kumov1.DeployRequest{
		App:    name,
		Source: &kumov1.DeployRequest_Bundle{Bundle: &kumov1.Bundle{Code: res.Code, SourceMap: res.SourceMapJSON, Entry: res.Entry}},
	}
}

// tarEntry is one entry of a test archive.
type tarEntry struct {
	name     string
	body     string
	typeflag byte // 0 = regular file
	linkname string
}

func tarGz(t *testing.T, entries ...tarEntry) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	for _, e := range entries {
		hdr := &tar.Header{Name: e.name, Mode: 0o644, Size: int64(len(e.body)), Typeflag: e.typeflag, Linkname: e.linkname, ModTime: time.Unix(0, 0)}
		if e.typeflag == 0 {
			hdr.Typeflag = tar.TypeReg
		}
		if hdr.Typeflag != tar.TypeReg {
			hdr.Size = 0
		}
		if err := tw.WriteHeader(hdr); err != nil {
			t.Fatal(err)
		}
		if hdr.Size > 0 {
			if _, err := tw.Write([]byte(e.body)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := tw.Close(); err != nil {
		t.Fatal(err)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func zipOf(t *testing.T, files map[string]string) []byte {
	t.Helper()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	names := make([]string, 0, len(files))
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		w, err := zw.Create(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]byte(files[n])); err != nil {
			t.Fatal(err)
		}
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func archiveReq(name string, data []byte, format string) *kumov1.DeployRequest {
	return &kumov1.DeployRequest{App: name, Source: &kumov1.DeployRequest_Archive{Archive: &kumov1.Archive{Data: data, Format: format}}}
}

// appRecord reads an app record straight from the store; ok is false
// when there is none.
func (e *env) appRecord(name string) (rec app.AppRecord, rev uint64, ok bool) {
	e.t.Helper()
	data, rev, err := e.st.Get(e.t.Context(), app.AppKey(name))
	if err != nil {
		return rec, 0, false
	}
	if err := json.Unmarshal(data, &rec); err != nil {
		e.t.Fatal(err)
	}
	return rec, rev, true
}

// snapshot is every key and value of the meta store, to assert that a
// refused call changed nothing.
func (e *env) snapshot() map[string]string {
	e.t.Helper()
	keys, err := e.st.Keys(e.t.Context(), "")
	if err != nil {
		e.t.Fatal(err)
	}
	out := make(map[string]string, len(keys))
	for _, k := range keys {
		v, rev, err := e.st.Get(e.t.Context(), k)
		if err != nil {
			e.t.Fatal(err)
		}
		out[k] = fmt.Sprintf("%s@%d", v, rev)
	}
	return out
}

func mustCode(t *testing.T, err error, code connect.Code) {
	t.Helper()
	if err == nil {
		t.Fatalf("call succeeded, want %v", code)
	}
	if got := connect.CodeOf(err); got != code {
		t.Fatalf("code %v (%v), want %v", got, err, code)
	}
}
