package bindings

import (
	"context"
	"fmt"

	"github.com/kumo-dev/kumo/internal/app"
	"github.com/kumo-dev/kumo/internal/binding"
)

// ServiceResolver finds the app a service binding calls. The node
// implements it over its route table, so a call follows the called app's
// active version and traffic split at the time of the call.
type ServiceResolver interface {
	// ResolveService returns the version of appName one call goes to, with
	// a function the caller runs once it no longer needs the version kept
	// loaded (when the response head is back: a body still streaming keeps
	// its instance, as a request on the node does). A missing app, an app
	// with no active version or one that cannot load is a
	// *binding.ServiceError.
	ResolveService(ctx context.Context, appName string) (ServiceTarget, func(), error)
}

// ServiceTarget is one loaded version of an app: a *runtime.Pool.
type ServiceTarget interface {
	ServeService(ctx context.Context, req *binding.ServiceRequest) (*binding.ServiceResponse, error)
	CallService(ctx context.Context, entrypoint, method string, args []byte) ([]byte, error)
}

// services makes the service bindings of a manifest. The called apps are
// found at call time: an app missing then fails that call, not the load.
func services(d Deps, m app.Manifest) map[string]binding.Service {
	if len(m.Services) == 0 {
		return nil
	}
	out := make(map[string]binding.Service, len(m.Services))
	for _, sb := range m.Services {
		out[sb.Binding] = &service{r: d.Services, app: sb.App, entrypoint: sb.Entrypoint}
	}
	return out
}

// service is env[Binding] for another app.
type service struct {
	r          ServiceResolver // nil: no node to call through (fails each call)
	app        string
	entrypoint string // "": the default export
}

func (s *service) target(ctx context.Context) (ServiceTarget, func(), error) {
	if s.r == nil {
		return nil, nil, &binding.ServiceError{App: s.app, Reason: "unavailable", Msg: "service bindings are not available here"}
	}
	t, release, err := s.r.ResolveService(ctx, s.app)
	if err != nil {
		return nil, nil, fmt.Errorf("resolving service %q: %w", s.app, err)
	}
	return t, release, nil
}

func (s *service) Fetch(ctx context.Context, req *binding.ServiceRequest) (*binding.ServiceResponse, error) {
	t, release, err := s.target(ctx)
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	defer release()
	return t.ServeService(ctx, req)
}

func (s *service) Call(ctx context.Context, method string, args []byte) ([]byte, error) {
	t, release, err := s.target(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return t.CallService(ctx, s.entrypoint, method, args)
}

var _ binding.Service = (*service)(nil)
