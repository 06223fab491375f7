// Package control is the control plane: the kumo.v1.Control connect-go
// service that deploys apps, manages their versions, host claims and
// tokens, and reads their usage and logs, all over the store.
//
// It writes the records of docs/store-schema.md; nodes watch them. Every
// call is authenticated with a bearer token (see auth.go). Deploys are
// validated completely (unpacked, bundled, compiled and instantiated with
// the process's runtime) before anything is stored.
package control

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"connectrpc.com/connect"

	"github.com/kumo-dev/kumo/internal/runtime"
	"github.com/kumo-dev/kumo/internal/secrets"
	"github.com/kumo-dev/kumo/internal/store"
	"github.com/kumo-dev/kumo/internal/triggers"
	"github.com/kumo-dev/kumo/proto/kumo/v1/kumov1connect"
)

// Defaults for Config's zero fields.
const (
	DefaultMaxVersions      = 20
	DefaultMaxBundleBytes   = 25 << 20
	DefaultMaxArchiveBytes  = 10 << 20
	DefaultMaxUnpackedBytes = 50 << 20
	DefaultMaxFiles         = 10000
	DefaultValidateTimeout  = 10 * time.Second
)

// Config configures a Service.
type Config struct {
	Store   *store.Store     // required
	Runtime *runtime.Runtime // required: deploys are instantiated to be checked
	Logger  *slog.Logger
	// Secrets stores apps' secrets (kumo.v1.Secrets) and lets deploys
	// check that declared secrets are set; nil refuses both.
	Secrets *secrets.Store
	// Triggers runs this node's queue consumers and crons; kumo.v1.Queues
	// fires handlers by hand through it. Nil: queue stats and dead letters
	// still work, manual triggers are refused.
	Triggers *triggers.Manager

	// MaxVersions is how many versions of an app are kept; older inactive
	// ones are deleted after a deploy. Active versions are never deleted.
	MaxVersions int
	// MaxBundleBytes bounds a prebuilt bundle (code plus source map).
	MaxBundleBytes int64
	// MaxArchiveBytes bounds an uploaded archive as sent (compressed).
	MaxArchiveBytes int64
	// MaxUnpackedBytes bounds the total size of an archive's files once
	// unpacked; counted while unpacking, not taken from headers.
	MaxUnpackedBytes int64
	// MaxFiles bounds the number of entries in an archive.
	MaxFiles int
	// ValidateTimeout bounds instantiating a new version to check it.
	ValidateTimeout time.Duration
}

func (c Config) normalize() (Config, error) {
	var errs []error
	if c.Store == nil {
		errs = append(errs, errors.New("control: Store is required"))
	}
	if c.Runtime == nil {
		errs = append(errs, errors.New("control: Runtime is required"))
	}
	if c.Logger == nil {
		c.Logger = slog.Default()
	}
	for _, f := range []struct {
		name string
		v    *int64
		def  int64
	}{
		{"MaxBundleBytes", &c.MaxBundleBytes, DefaultMaxBundleBytes},
		{"MaxArchiveBytes", &c.MaxArchiveBytes, DefaultMaxArchiveBytes},
		{"MaxUnpackedBytes", &c.MaxUnpackedBytes, DefaultMaxUnpackedBytes},
	} {
		if *f.v < 0 {
			errs = append(errs, fmt.Errorf("control: %s %d must not be negative", f.name, *f.v))
		}
		if *f.v == 0 {
			*f.v = f.def
		}
	}
	if c.MaxVersions < 0 || c.MaxFiles < 0 || c.ValidateTimeout < 0 {
		errs = append(errs, errors.New("control: MaxVersions, MaxFiles and ValidateTimeout must not be negative"))
	}
	if c.MaxVersions == 0 {
		c.MaxVersions = DefaultMaxVersions
	}
	if c.MaxFiles == 0 {
		c.MaxFiles = DefaultMaxFiles
	}
	if c.ValidateTimeout == 0 {
		c.ValidateTimeout = DefaultValidateTimeout
	}
	return c, errors.Join(errs...)
}

// Service implements kumo.v1.Control. Its methods are safe for concurrent
// use; all shared state is in the store.
type Service struct {
	cfg Config
	st  *store.Store
	rt  *runtime.Runtime
	log *slog.Logger
}

// New checks cfg and returns the service.
func New(cfg Config) (*Service, error) {
	cfg, err := cfg.normalize()
	if err != nil {
		return nil, err
	}
	return &Service{cfg: cfg, st: cfg.Store, rt: cfg.Runtime, log: cfg.Logger.With("component", "control")}, nil
}

// Handler returns the path to mount the service on and its handler, which
// speaks gRPC, gRPC-Web and Connect (JSON or binary over HTTP/1.1 or 2) and
// authenticates every call. gRPC clients need HTTP/2: serve it with TLS or
// enable unencrypted HTTP/2 (http.Server.Protocols).
func Handler(svc *Service) (string, http.Handler) {
	maxRead := max(svc.cfg.MaxBundleBytes, svc.cfg.MaxArchiveBytes) + 1<<20
	return kumov1connect.NewControlHandler(svc,
		connect.WithInterceptors(&authInterceptor{svc: svc}),
		connect.WithReadMaxBytes(int(maxRead)),
	)
}

// SecretsHandler returns the path and handler of kumo.v1.Secrets, which
// authenticates like the control service.
func SecretsHandler(svc *Service) (string, http.Handler) {
	return kumov1connect.NewSecretsHandler(svc,
		connect.WithInterceptors(&authInterceptor{svc: svc}),
		connect.WithReadMaxBytes(secrets.MaxValueBytes+1<<20),
	)
}

// Mount registers the handlers of the control services on mux:
// kumo.v1.Control, kumo.v1.Secrets and kumo.v1.Queues.
func Mount(mux *http.ServeMux, svc *Service) {
	path, h := Handler(svc)
	mux.Handle(path, h)
	path, h = SecretsHandler(svc)
	mux.Handle(path, h)
	path, h = QueuesHandler(svc)
	mux.Handle(path, h)
	path, h = KVHandler(svc)
	mux.Handle(path, h)
}

// scan returns the current values of the keys matching pattern (see
// store.Watch), read in one pass instead of one Get per key.
func scan(ctx context.Context, st *store.Store, pattern string) (map[string][]byte, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel() // stops the watch; its goroutine ends on ctx
	ch, err := st.Watch(ctx, pattern)
	if err != nil {
		return nil, fmt.Errorf("scanning %s: %w", pattern, err)
	}
	out := make(map[string][]byte)
	for c := range ch {
		if c.Synced {
			return out, nil
		}
		if !c.Deleted {
			out[c.Key] = c.Value
		}
	}
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("scanning %s: %w", pattern, err)
	}
	return nil, fmt.Errorf("scanning %s: %w", pattern, store.ErrClosed)
}

var _ kumov1connect.ControlHandler = (*Service)(nil)
