// Package dev serves one app folder for development: it rebuilds the app
// when its files change and keeps the last good version serving while the
// new one has errors.
package dev

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/valyala/fasthttp"

	"github.com/kumo-dev/kumo/internal/bundle"
	"github.com/kumo-dev/kumo/internal/runtime"
)

// Server serves the app in Dir, rebuilding it when a file changes.
type Server struct {
	dir    string
	app    string
	rt     *runtime.Runtime
	limits runtime.Limits
	log    *slog.Logger

	watch bool

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
	Limits  runtime.Limits
	Logger  *slog.Logger
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
	s := &Server{dir: abs, app: appName(abs), rt: cfg.Runtime, limits: cfg.Limits, log: cfg.Logger, watch: !cfg.NoWatch}
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
	res, err := bundle.Build(bundle.Options{Dir: s.dir})
	if err != nil {
		return nil, err
	}
	v, err := s.rt.Compile(runtime.VersionSpec{
		App: s.app, ID: res.Hash[:12], Code: res.Code, SourceMap: res.SourceMap, Limits: s.limits,
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
	return pool, nil
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
