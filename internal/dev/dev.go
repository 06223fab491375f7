// Package dev serves one app folder for development: it rebuilds the app
// when its files change (its manifest and .dev.vars included) and keeps
// the last good version serving while the new one has errors.
package dev

import (
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"maps"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/app/appruntime"
	"github.com/kumo-dev/kumo/internal/bindings"
	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/manifest"
	"github.com/kumo-dev/kumo/internal/runtime"
)

// Server serves the app in Dir, rebuilding it when a file changes.
type Server struct {
	dir    string
	app    string // from the folder's name; the manifest's name wins
	rt     *runtime.Runtime
	limits runtime.Limits
	deps   bindings.Deps
	log    *slog.Logger

	watch     bool
	onVersion func(app, version string, mf app.Manifest)

	mu       sync.Mutex
	pool     atomic.Pointer[runtime.Pool]
	sig      [32]byte
	buildErr error
	builds   int
}

// Config configures a Server.
type Config struct {
	Dir     string
	Runtime *runtime.Runtime
	// Limits' non-zero fields override the manifest's limits.
	Limits runtime.Limits
	Logger *slog.Logger
	// Bindings are what the app's env is built on: kumo dev opens the
	// store in Dir/.kumo. Bindings.Secrets is not used: secret values come
	// from Dir/.dev.vars.
	Bindings bindings.Deps
	// OnVersion, if set, learns of each version built, with its manifest
	// (kumo dev starts its queue consumers and crons from it).
	OnVersion func(app, version string, mf app.Manifest)
	// NoWatch serves the first build only, without scanning the folder on
	// each request (benchmarks).
	NoWatch bool
}

// New builds the app once; a build error is returned so the caller can
// print it, but the server still starts and keeps retrying on change.
func New(cfg Config) (*Server, error) {
	abs, err := filepath.Abs(cfg.Dir)
	if err != nil {
		return nil, fmt.Errorf("resolving %s: %w", cfg.Dir, err)
	}
	st, err := os.Stat(abs)
	if err != nil {
		return nil, fmt.Errorf("opening app folder: %w", err)
	}
	if !st.IsDir() {
		return nil, fmt.Errorf("app folder %s is not a directory", cfg.Dir)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	if cfg.Bindings.Logger == nil {
		cfg.Bindings.Logger = cfg.Logger
	}
	s := &Server{dir: abs, app: appName(abs), rt: cfg.Runtime, limits: cfg.Limits, deps: cfg.Bindings, log: cfg.Logger,
		watch: !cfg.NoWatch, onVersion: cfg.OnVersion}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.refreshLocked()
	return s, s.buildErr
}

// appName derives an app name from the folder name.
func appName(dir string) string {
	name := strings.ToLower(filepath.Base(dir))
	var b strings.Builder
	for _, r := range name {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-' {
			b.WriteRune(r)
		}
	}
	if b.Len() == 0 {
		return "app"
	}
	return b.String()
}

// Close unloads the app.
func (s *Server) Close() {
	s.mu.Lock()
	defer s.mu.Unlock()
	if p := s.pool.Swap(nil); p != nil {
		p.Close()
	}
}

// ServeHTTP checks the folder for changes, rebuilds if needed, and serves
// the request with the current version.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var buildErr error
	if s.watch {
		s.mu.Lock()
		s.refreshLocked()
		buildErr = s.buildErr
		s.mu.Unlock()
	}
	pool := s.pool.Load()
	if pool == nil {
		w.Header().Set(runtime.ErrorHeader, "build")
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		w.WriteHeader(http.StatusInternalServerError)
		fmt.Fprintf(w, "the app does not build:\n%v\n", buildErr)
		return
	}
	pool.ServeHTTP(w, r)
}

// ServeFastHTTP is ServeHTTP for the fasthttp data plane.
func (s *Server) ServeFastHTTP(ctx *fasthttp.RequestCtx) {
	var buildErr error
	if s.watch {
		s.mu.Lock()
		s.refreshLocked()
		buildErr = s.buildErr
		s.mu.Unlock()
	}
	pool := s.pool.Load()
	if pool == nil {
		ctx.Response.Header.Set(runtime.ErrorHeader, "build")
		ctx.SetContentType("text/plain; charset=utf-8")
		ctx.SetStatusCode(http.StatusInternalServerError)
		fmt.Fprintf(ctx, "the app does not build:\n%v\n", buildErr)
		return
	}
	pool.ServeFastHTTP(ctx)
}

// Builds is how many versions have been built successfully.
func (s *Server) Builds() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.builds
}

// refreshLocked rebuilds when the folder's signature changed. A failed
// build is logged and leaves the current version serving.
func (s *Server) refreshLocked() {
	sig, err := signature(s.dir)
	if err != nil {
		s.buildErr = err
		return
	}
	if sig == s.sig && (s.pool.Load() != nil || s.buildErr != nil) {
		return
	}
	s.sig = sig
	pool, err := s.build()
	if err != nil {
		s.buildErr = err
		s.log.Error("build failed; the previous version keeps serving", "app", s.app, "err", err.Error())
		return
	}
	old := s.pool.Swap(pool)
	s.buildErr = nil
	s.builds++
	if old != nil {
		old.Close()
		s.log.Info("reloaded", "app", s.app, "version", pool.Version().ID)
	}
}

func (s *Server) build() (*runtime.Pool, error) {
	mf, err := manifest.Load(s.dir)
	if err != nil {
		return nil, err
	}
	name, entry := s.app, ""
	var spec app.Manifest
	if mf != nil {
		name, entry, spec = cmp.Or(mf.Name, s.app), mf.Main, mf.App
	}
	deps := s.deps
	if deps.Secrets, spec.Vars, err = s.devVars(spec); err != nil {
		return nil, err
	}
	res, err := bundle.Build(bundle.Options{Dir: s.dir, Entry: entry})
	if err != nil {
		return nil, err
	}
	for _, in := range res.Inputs {
		if filepath.Base(in) == manifest.DevVarsFile {
			return nil, fmt.Errorf("the code imports %s: it holds local secrets and is never bundled; read them from env", in)
		}
	}
	env, err := bindings.Build(context.Background(), deps, name, spec)
	if err != nil {
		return nil, err
	}
	v, err := s.rt.Compile(runtime.VersionSpec{
		App: name, ID: res.Hash[:12], Code: res.Code, SourceMap: res.SourceMap,
		Limits: mergeLimits(appruntime.Limits(spec.Limits), s.limits), Bindings: env,
	})
	if err != nil {
		return nil, err
	}
	pool := s.rt.NewPool(v)
	// Start one instance now so a missing handler or a throwing top level
	// is reported at build time, not on the first request.
	if _, err := pool.Handles(context.Background(), "fetch"); err != nil {
		pool.Close()
		return nil, err
	}
	if s.onVersion != nil {
		s.onVersion(name, v.ID, spec)
	}
	return pool, nil
}

// Invoke runs a handler of the version being served: the queue consumers
// and crons of kumo dev call it (triggers.Invoker). Only the current
// version runs; version is informational here.
func (s *Server) Invoke(ctx context.Context, appName, version, handler string, args ...any) (string, error) {
	pool := s.pool.Load()
	if pool == nil {
		return "", fmt.Errorf("invoking %s of %s: the app does not build", handler, appName)
	}
	out, _, err := pool.Invoke(ctx, handler, args...)
	return out, err
}

// devVars reads Dir/.dev.vars: the values of the manifest's secrets, and
// overrides of its vars. It returns the secrets' source and the vars.
func (s *Server) devVars(spec app.Manifest) (bindings.SecretSource, map[string]string, error) {
	vals := map[string]string{}
	data, err := os.ReadFile(filepath.Join(s.dir, manifest.DevVarsFile))
	switch {
	case err == nil:
		if vals, err = manifest.ParseDevVars(data); err != nil {
			return nil, nil, err
		}
	case !errors.Is(err, fs.ErrNotExist):
		return nil, nil, fmt.Errorf("reading %s: %w", manifest.DevVarsFile, err)
	}
	var vars map[string]string // a copy of spec.Vars once one is overridden
	for k, v := range vals {
		_, isVar := spec.Vars[k]
		switch {
		case slices.Contains(spec.Secrets, k):
		case isVar:
			if vars == nil {
				vars = maps.Clone(spec.Vars)
			}
			vars[k] = v
		default:
			s.log.Warn(manifest.DevVarsFile+" sets a name the manifest declares neither as a secret nor as a var; ignored", "name", k)
		}
	}
	if vars == nil {
		vars = spec.Vars
	}
	return devSecrets(vals), vars, nil
}

// devSecrets are the secret values of a .dev.vars file.
type devSecrets map[string]string

func (d devSecrets) Secrets(_ context.Context, _ string, names []string) (map[string]string, error) {
	out := make(map[string]string, len(names))
	for _, n := range names {
		v, ok := d[n]
		if !ok {
			return nil, fmt.Errorf("secret %s is declared in the manifest but %s has no value for it (add a line %s=...)", n, manifest.DevVarsFile, n)
		}
		out[n] = v
	}
	return out, nil
}

// mergeLimits returns base with the non-zero fields of over.
func mergeLimits(base, over runtime.Limits) runtime.Limits {
	l := base
	if over.CPU != 0 {
		l.CPU = over.CPU
	}
	if over.Wall != 0 {
		l.Wall = over.Wall
	}
	if over.Memory != 0 {
		l.Memory = over.Memory
	}
	if over.Subrequests != 0 {
		l.Subrequests = over.Subrequests
	}
	if over.RequestBody != 0 {
		l.RequestBody = over.RequestBody
	}
	if over.ResponseBody != 0 {
		l.ResponseBody = over.ResponseBody
	}
	if over.MaxInstances != 0 {
		l.MaxInstances = over.MaxInstances
	}
	if over.IdleTimeout != 0 {
		l.IdleTimeout = over.IdleTimeout
	}
	l.AllowPrivateNet = l.AllowPrivateNet || over.AllowPrivateNet
	return l
}

// skipDir lists folders whose changes do not rebuild the app.
func skipDir(name string) bool {
	return name == "node_modules" || name == ".kumo" || strings.HasPrefix(name, ".") && name != "."
}

// signature summarises names, sizes and modification times of the files
// that can affect the build.
func signature(dir string) ([32]byte, error) {
	h := sha256.New()
	var buf [16]byte
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if d.IsDir() {
			if path != dir && skipDir(d.Name()) {
				return filepath.SkipDir
			}
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return nil // removed while walking
		}
		h.Write([]byte(path))
		binary.LittleEndian.PutUint64(buf[:8], uint64(info.Size()))
		binary.LittleEndian.PutUint64(buf[8:], uint64(info.ModTime().UnixNano()))
		h.Write(buf[:])
		return nil
	})
	var sig [32]byte
	if err != nil {
		return sig, fmt.Errorf("scanning %s: %w", dir, err)
	}
	copy(sig[:], h.Sum(nil))
	return sig, nil
}

var _ bindings.SecretSource = devSecrets(nil)
